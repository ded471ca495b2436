//! The state directory: one sled database (DESIGN §6). This module opens it safely and keeps
//! the simulator's tree; later the observed snapshot, the audit log and saved plans live
//! beside it. A directory that is not ours is never written to.

use std::path::{Path, PathBuf};

use super::state::{FORMAT, SimState};

const MAGIC_KEY: &[u8] = b"magic";
const MAGIC: &[u8] = b"powerplane-state v1";
const SIM_TREE: &str = "sim";
const SIM_KEY: &[u8] = b"state";

/// Why the state directory cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process has it open.
    #[error(
        "the state directory {path} is in use by another powerplane process ({detail}); wait for it to finish, or use another --state-dir"
    )]
    Locked {
        /// The state dir.
        path: PathBuf,
        /// What sled said.
        detail: String,
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
            let empty = std::fs::read_dir(path).map_err(|e| io(&e))?.next().is_none();
            if !empty && !path.join("conf").exists() {
                return Err(StoreError::NotOurs {
                    path: path.to_path_buf(),
                    detail: "it holds other files and no powerplane database".into(),
                });
            }
        }
        let db = sled::open(path).map_err(|e| match e {
            sled::Error::Io(ref ioe)
                if ioe.kind() == std::io::ErrorKind::WouldBlock || ioe.to_string().contains("lock") =>
            {
                StoreError::Locked { path: path.to_path_buf(), detail: ioe.to_string() }
            }
            sled::Error::Corruption { .. } => StoreError::Corrupt {
                path: path.to_path_buf(),
                detail: e.to_string(),
                fix: "move it aside and run `powerplane sim init` to start a new simulated estate",
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
        Ok(StateDir { path: path.to_path_buf(), db })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The simulator's saved state, if a simulated estate exists.
    pub fn load_sim(&self) -> Result<Option<SimState>, StoreError> {
        let tree = self.db.open_tree(SIM_TREE).map_err(|e| self.io(&e))?;
        let Some(bytes) = tree.get(SIM_KEY).map_err(|e| self.io(&e))? else {
            return Ok(None);
        };
        let corrupt = |detail: String| StoreError::Corrupt {
            path: self.path.clone(),
            detail,
            fix: "run `powerplane sim init --inventory PATH` to recreate the simulated estate",
        };
        let state: SimState = serde_json::from_slice(&bytes)
            .map_err(|e| corrupt(format!("the simulated estate cannot be decoded ({e})")))?;
        if state.format != FORMAT {
            return Err(corrupt(format!(
                "the simulated estate has format {} and this powerplane reads {FORMAT}",
                state.format
            )));
        }
        Ok(Some(state))
    }

    /// Saves the simulator's state durably (flushed before returning).
    pub fn save_sim(&self, state: &SimState) -> Result<(), StoreError> {
        let tree = self.db.open_tree(SIM_TREE).map_err(|e| self.io(&e))?;
        let bytes = serde_json::to_vec(state).map_err(|e| self.io(&e))?;
        tree.insert(SIM_KEY, bytes).map_err(|e| self.io(&e))?;
        self.db.flush().map_err(|e| self.io(&e))?;
        Ok(())
    }

    fn io(&self, e: &dyn std::fmt::Display) -> StoreError {
        StoreError::Io { path: self.path.clone(), detail: e.to_string() }
    }
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

    #[test]
    fn garbage_in_the_sim_tree_is_reported_as_damage() {
        let d = tempfile::tempdir().unwrap();
        let s = StateDir::open(d.path()).unwrap();
        s.db.open_tree(SIM_TREE).unwrap().insert(SIM_KEY, &b"{not json"[..]).unwrap();
        let err = s.load_sim().unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains("sim init"));
    }
}
