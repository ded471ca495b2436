//! The state directory (DESIGN §6): one sled database with trees for the simulator, the
//! observed snapshot and the audit trail, plus a lock file saying who uses it. A directory that
//! is not ours is never written to; a second process is refused at once (sled locks the
//! database file) and told who holds it.

/// The audit trail.
pub mod audit;
/// Who uses the state directory.
pub mod lock;
/// The observed-state snapshot.
pub mod snapshot;

use std::path::{Path, PathBuf};

const MAGIC_KEY: &[u8] = b"magic";
const MAGIC: &[u8] = b"powerplane-state v1";

/// Why the state directory cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A command that only reads was pointed at a state directory that does not exist.
    #[error(
        "there is no powerplane state directory at {path}: nothing was created. Check --state-dir, or create one with `powerplane plan DIR` or `powerplane sim init`"
    )]
    Missing {
        /// The path given.
        path: PathBuf,
    },
    /// Another process has it open.
    #[error(
        "the state directory {path} is in use by another powerplane process ({holder}); or use another --state-dir"
    )]
    Locked {
        /// The state dir.
        path: PathBuf,
        /// Who holds it (from the lock file), or what sled said.
        holder: String,
    },
    /// It exists but was not created by powerplane.
    #[error(
        "{path} is not a powerplane state directory ({detail}); nothing was changed. Point --state-dir at an empty or new directory"
    )]
    NotOurs {
        /// The path.
        path: PathBuf,
        /// Why it is not ours.
        detail: String,
    },
    /// It is ours but cannot be read.
    #[error("the state directory {path} is damaged: {detail}. Nothing was changed; {fix}")]
    Corrupt {
        /// The state dir.
        path: PathBuf,
        /// What is wrong.
        detail: String,
        /// How to recover.
        fix: &'static str,
    },
    /// A read or write failed.
    #[error("the state directory {path} cannot be used: {detail}")]
    Io {
        /// The state dir.
        path: PathBuf,
        /// The error.
        detail: String,
    },
}

/// An open state directory.
#[derive(Clone, Debug)]
pub struct StateDir {
    path: PathBuf,
    db: sled::Db,
    lock: lock::Flock,
}

impl StateDir {
    /// Opens (creating when absent) the state directory at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let io = |e: &dyn std::fmt::Display| StoreError::Io { path: path.to_path_buf(), detail: e.to_string() };
        if path.exists() {
            if !path.is_dir() {
                return Err(StoreError::NotOurs {
                    path: path.to_path_buf(),
                    detail: "it is a file, not a directory".into(),
                });
            }
            let empty = std::fs::read_dir(path)
                .map_err(|e| io(&e))?
                .filter_map(Result::ok)
                .all(|e| e.file_name() == "powerplane.lock");
            if !empty && !path.join("conf").exists() {
                return Err(StoreError::NotOurs {
                    path: path.to_path_buf(),
                    detail: "it holds other files and no powerplane database".into(),
                });
            }
        }
        std::fs::create_dir_all(path).map_err(|e| io(&e))?;
        // Our own lock first: a second powerplane process is refused here, told who holds the
        // directory, before the database is touched.
        let flock = lock::Flock::take(path)?;
        let db = sled::open(path).map_err(|e| match e {
            sled::Error::Io(ref ioe) if ioe.kind() == std::io::ErrorKind::WouldBlock || ioe.to_string().contains("lock") => {
                StoreError::Locked {
                    path: path.to_path_buf(),
                    holder: "a process that is not a powerplane command holds its database open".into(),
                }
            }
            sled::Error::Corruption { .. } => StoreError::Corrupt {
                path: path.to_path_buf(),
                detail: e.to_string(),
                fix: "move it aside; `powerplane sim init` starts a new simulated estate and the observed snapshot is rebuilt by the next plan",
            },
            other => io(&other),
        })?;
        let meta = db.open_tree("meta").map_err(|e| io(&e))?;
        match meta.get(MAGIC_KEY).map_err(|e| io(&e))? {
            Some(m) if m.as_ref() == MAGIC => {}
            Some(m) => {
                return Err(StoreError::NotOurs {
                    path: path.to_path_buf(),
                    detail: format!("its marker is {:?}", String::from_utf8_lossy(&m)),
                });
            }
            None if db.tree_names().len() > 2 || !db.is_empty() => {
                return Err(StoreError::NotOurs {
                    path: path.to_path_buf(),
                    detail: "a sled database of another program".into(),
                });
            }
            None => {
                meta.insert(MAGIC_KEY, MAGIC).map_err(|e| io(&e))?;
                db.flush().map_err(|e| io(&e))?;
            }
        }
        Ok(StateDir { path: path.to_path_buf(), db, lock: flock })
    }

    /// Opens an existing state directory; a missing one is an error, never created, so that a
    /// mistyped `--state-dir` cannot make a read-only command report "intact: 0 records".
    pub fn open_existing(path: &Path) -> Result<Self, StoreError> {
        require_existing(path)?;
        Self::open(path)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A tree of the database.
    pub(crate) fn tree(&self, name: &str) -> Result<sled::Tree, StoreError> {
        self.db.open_tree(name).map_err(|e| self.io(&e))
    }

    /// Makes every write so far durable.
    pub(crate) fn flush(&self) -> Result<(), StoreError> {
        self.db.flush().map(drop).map_err(|e| self.io(&e))
    }

    pub(crate) fn io(&self, e: &dyn std::fmt::Display) -> StoreError {
        StoreError::Io { path: self.path.clone(), detail: e.to_string() }
    }

    pub(crate) fn corrupt(&self, detail: String, fix: &'static str) -> StoreError {
        StoreError::Corrupt { path: self.path.clone(), detail, fix }
    }
}

/// Refuses a path that holds no powerplane state directory (without touching it).
pub fn require_existing(path: &Path) -> Result<(), StoreError> {
    let empty = std::fs::read_dir(path).map(|mut d| d.next().is_none()).unwrap_or(true);
    if empty { Err(StoreError::Missing { path: path.to_path_buf() }) } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_a_directory_that_is_not_ours_and_touches_nothing() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("notes.txt"), "mine").unwrap();
        assert!(matches!(StateDir::open(d.path()), Err(StoreError::NotOurs { .. })));
        let names: Vec<_> = std::fs::read_dir(d.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec!["notes.txt"]);
        let f = d.path().join("file");
        std::fs::write(&f, "x").unwrap();
        assert!(matches!(StateDir::open(&f), Err(StoreError::NotOurs { .. })));
    }
}
