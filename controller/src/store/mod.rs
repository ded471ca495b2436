//! The state directory (DESIGN §6): one sled database with trees for the simulator and the
//! observed snapshot, the audit trail's segment files (`audit/`), the simulator's journal, and
//! a lock file saying who uses it. A directory that is not ours is never written to; a second
//! process is refused at once (sled locks the database file) and told who holds it.

/// The audit trail.
pub mod audit;
/// Who uses the state directory.
pub mod lock;
/// The observed-state snapshot.
pub mod snapshot;
/// The one durable writer (group commit): the audit trail, its HEAD, the simulator's journal.
pub mod writer;

use std::path::{Path, PathBuf};

const MAGIC_KEY: &[u8] = b"magic";
const MAGIC: &[u8] = b"powerplane-state v1";
/// The `meta` key that records since when the database has known its state directory's audit
/// trail (when the trail was started, or when this release first opened an older state
/// directory): a trail missing where this is set was deleted or moved.
const TRAIL_KEY: &[u8] = b"audit-trail-started";
/// The `meta` key that records that a writer with a key signed the trail (the key, hex): a
/// trail without any signature where this is set had its signatures removed.
const SIGNED_KEY: &[u8] = b"audit-trail-signed-by";

/// What in `db` shows that its state directory has had an audit trail, if anything: the
/// record of it (see [`TRAIL_KEY`]), and the observed snapshot as further history.
fn trail_evidence(db: &sled::Db) -> sled::Result<Option<String>> {
    let meta = db.open_tree("meta")?;
    let Some(started) = meta.get(TRAIL_KEY)? else { return Ok(None) };
    let mut evidence =
        format!("its database has recorded since {} that it has an audit trail", String::from_utf8_lossy(&started));
    if let Some(snapshot) = snapshot::describe(db)? {
        evidence.push_str(&format!(" and holds {snapshot}"));
    }
    Ok(Some(evidence))
}

/// Refuses a state directory whose trail is gone (checked on the copy of its database, so
/// that a refusal changes nothing): absent where the database records that there was one and
/// has no older release's trail to move out.
fn require_trail(db: &sled::Db, path: &Path) -> Result<(), StoreError> {
    let audit = path.join(audit::DIR);
    if audit.is_dir() {
        return Ok(());
    }
    let io = |e: &dyn std::fmt::Display| StoreError::Io { path: path.to_path_buf(), detail: e.to_string() };
    if !db.open_tree(audit::LEGACY_TREE).map_err(|e| io(&e))?.is_empty() {
        return Ok(());
    }
    match trail_evidence(db).map_err(|e| io(&e))? {
        Some(evidence) => Err(StoreError::AuditMissing {
            path: path.to_path_buf(),
            detail: format!("{} is gone, yet {evidence}", audit.display()),
        }),
        None => Ok(()),
    }
}

/// Refuses a database whose `db` file was deleted (sled writes `conf` and `db` together, and
/// would make a new, empty `db`): neither a reader nor a writer creates it again.
fn require_database_file(path: &Path) -> Result<(), StoreError> {
    if path.join("conf").exists() && !path.join("db").exists() {
        return Err(StoreError::DatabaseMissing { path: path.to_path_buf() });
    }
    Ok(())
}

/// Refuses an `audit` that is there but is not a directory.
fn require_trail_directory(path: &Path) -> Result<(), StoreError> {
    let audit = path.join(audit::DIR);
    match std::fs::symlink_metadata(&audit) {
        Ok(_) if audit.is_dir() => Ok(()),
        Ok(_) => Err(StoreError::AuditMissing {
            path: path.to_path_buf(),
            detail: format!("{} is not a directory but a file: the trail was replaced", audit.display()),
        }),
        Err(_) => Ok(()),
    }
}

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
    #[error("the state directory {path} is damaged: {detail}. {fix}")]
    Corrupt {
        /// The state dir.
        path: PathBuf,
        /// What is wrong.
        detail: String,
        /// How to recover.
        fix: &'static str,
    },
    /// The database cannot be read (sled found it damaged); what sled said is the source.
    #[error("the state directory {path} is damaged: its database ({path}/db) cannot be read. {fix}")]
    DatabaseDamaged {
        /// The state dir.
        path: PathBuf,
        /// How to recover.
        fix: &'static str,
        /// What sled found, in words.
        #[source]
        cause: DatabaseCause,
    },
    /// The database file is gone while the rest of the database is there: it was deleted.
    #[error(
        "the state directory {path} has lost its database file: {path}/db is missing, while the rest of the database (conf) is there. Nothing was created or changed. Restore {path}/db from a backup of the state directory; to start a new database knowingly, move what is left of it aside (`mkdir {path}/damaged && mv {path}/conf {path}/snap.* {path}/blobs {path}/damaged/`), then `powerplane sim init` starts a new simulated estate and the audit trail continues"
    )]
    DatabaseMissing {
        /// The state dir.
        path: PathBuf,
    },
    /// The audit trail is damaged: nothing is appended to it until the operator has looked.
    #[error(
        "the audit trail in {path} is damaged: {first} ({} in all; `powerplane audit verify` lists {}). Nothing was appended to it; {fix}",
        crate::words::count(*.count as u64, "problem"),
        if *.count == 1 { "it" } else { "them" }
    )]
    AuditDamaged {
        /// The trail's directory.
        path: PathBuf,
        /// The first problem, located.
        first: String,
        /// How many problems there are.
        count: usize,
        /// What to do.
        fix: String,
    },
    /// A signed trail and a writer without the key: only the key's holder appends to it.
    #[error(
        "the audit trail in {path} is signed ({detail}), and a signed trail is only appended to by a writer with its key: nothing was appended to it. Run again with POWERPLANE_AUDIT_KEY=FILE (or --audit-key FILE), FILE being the private key whose public half verifies the trail (`powerplane audit verify --pubkey FILE.pub`)"
    )]
    AuditNeedsKey {
        /// The trail's directory.
        path: PathBuf,
        /// What shows that it is signed.
        detail: String,
    },
    /// The trail is gone although the state directory shows it had one.
    #[error(
        "the audit trail of {path} is missing: {detail}. Nothing was changed, and nothing is written to this state directory without its trail. Restore {path}/audit from a backup of the state directory (`powerplane audit verify` then checks it); to start over knowingly, move the state directory away and keep it for the investigation (`mv {path} {path}.without-trail`): the next command starts a new one"
    )]
    AuditMissing {
        /// The state directory.
        path: PathBuf,
        /// What is there instead, and what shows that a trail existed.
        detail: String,
    },
    /// The trail carries no signature, yet the database records that it was signed.
    #[error(
        "the audit trail in {path} carries no signature ({records} and HEAD), yet the state directory's database records that a writer with key {key} signed it: its checkpoints and HEAD's signature were removed and the chain recomputed, or the trail was replaced. Nothing was appended to it; keep a copy of the state directory and investigate (`powerplane audit verify --pubkey FILE.pub` reports every record as unsigned), then `powerplane --state-dir {state} audit set-aside {segment}` moves the first segment aside (and so on for each segment `audit verify` lists)"
    )]
    AuditStripped {
        /// The trail's directory.
        path: PathBuf,
        /// The state directory.
        state: PathBuf,
        /// The records, e.g. "records 1–20".
        records: String,
        /// The key the database names (hex).
        key: String,
        /// The first segment holding them.
        segment: String,
    },
    /// `audit set-aside` named a segment or HEAD that is not damaged.
    #[error(
        "{what} is not damaged ({detail}): nothing to set aside, nothing was changed. `audit set-aside` moves only a damaged segment or HEAD; `powerplane --state-dir {state} audit verify` names where the damage is"
    )]
    NotDamaged {
        /// The state directory.
        state: PathBuf,
        /// What was named.
        what: String,
        /// What the trail says of it.
        detail: String,
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

/// What sled reported of a database it cannot read, said in words (sled's own message carries
/// its internal offsets as Rust `Debug` text); the error itself is kept, for `Debug` and for a
/// caller that downcasts to it.
#[derive(Debug, thiserror::Error)]
#[error("{}", describe_sled(.0))]
pub struct DatabaseCause(pub sled::Error);

/// [`DatabaseCause`]'s words.
fn describe_sled(e: &sled::Error) -> String {
    match e {
        sled::Error::Corruption { at: Some(ptr), .. } => {
            format!("sled found corrupted data at offset {} of its log", ptr.lid())
        }
        sled::Error::Corruption { at: None, .. } => "sled found corrupted data in its log".into(),
        sled::Error::Io(io) => format!("reading it failed: {io}"),
        other => format!("sled could not open it ({other})"),
    }
}

/// An open state directory.
#[derive(Clone, Debug)]
pub struct StateDir {
    path: PathBuf,
    db: sled::Db,
    lock: lock::Flock,
    /// Read-only opens: the copy of the database that sled opened (sled writes on every open,
    /// so the state directory's own files are never handed to it).
    scratch: Option<std::sync::Arc<tempfile::TempDir>>,
}

/// The files of the sled database in a state directory (everything else is ours).
fn is_database_file(name: &str) -> bool {
    name == "conf" || name == "db" || name == "blobs" || name.starts_with("snap.")
}

/// The database's settings: sled's page cache (1 GiB by default) is kept to 64 MiB, which
/// holds the working set of an estate of tens of thousands of partitions.
fn database(path: &Path) -> sled::Config {
    sled::Config::new().path(path).cache_capacity(64 << 20)
}

/// Opens a private copy of the state directory's database (sled writes whenever it opens
/// one, even to read): a damaged database is reported without being touched.
fn open_copy(path: &Path) -> Result<(sled::Db, tempfile::TempDir), StoreError> {
    let io = |e: &dyn std::fmt::Display| StoreError::Io { path: path.to_path_buf(), detail: e.to_string() };
    let scratch = tempfile::Builder::new().prefix("powerplane-read-").tempdir().map_err(|e| io(&e))?;
    for e in std::fs::read_dir(path).map_err(|e| io(&e))? {
        let e = e.map_err(|e| io(&e))?;
        if is_database_file(&e.file_name().to_string_lossy()) {
            copy_tree(&e.path(), &scratch.path().join(e.file_name())).map_err(|e| io(&e))?;
        }
    }
    let db = database(scratch.path()).flush_every_ms(None).open().map_err(|e| match e {
        sled::Error::Corruption { .. } => {
            StoreError::DatabaseDamaged { path: path.to_path_buf(), fix: DAMAGED_DATABASE, cause: DatabaseCause(e) }
        }
        other => io(&other),
    })?;
    Ok((db, scratch))
}

/// Whether `db` carries powerplane's marker (`false`: a new, empty database, not marked yet);
/// a database another program wrote is refused.
fn marked(db: &sled::Db, path: &Path) -> Result<bool, StoreError> {
    let io = |e: &dyn std::fmt::Display| StoreError::Io { path: path.to_path_buf(), detail: e.to_string() };
    let meta = db.open_tree("meta").map_err(|e| io(&e))?;
    match meta.get(MAGIC_KEY).map_err(|e| io(&e))? {
        Some(m) if m.as_ref() == MAGIC => Ok(true),
        Some(m) => Err(StoreError::NotOurs {
            path: path.to_path_buf(),
            detail: format!("its marker is {:?}", String::from_utf8_lossy(&m)),
        }),
        None if db.tree_names().len() > 2 || !db.is_empty() => {
            Err(StoreError::NotOurs { path: path.to_path_buf(), detail: "a sled database of another program".into() })
        }
        None => Ok(false),
    }
}

/// What to do about a damaged database (found on a copy, so nothing was changed).
const DAMAGED_DATABASE: &str = "It was found on a copy, so nothing in the state directory was changed. The audit trail (audit/) is kept apart from the database and `powerplane audit verify` checks it. To go on, move the database files (conf, db, snap.*, blobs) into a new folder inside the state directory, e.g. `mkdir STATE/damaged && mv STATE/conf STATE/db STATE/snap.* STATE/blobs STATE/damaged/`: `powerplane sim init` then starts a new simulated estate, the audit trail continues, and the next `plan` rebuilds the observation";

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    if from.is_dir() {
        std::fs::create_dir_all(to)?;
        for e in std::fs::read_dir(from)? {
            let e = e?;
            copy_tree(&e.path(), &to.join(e.file_name()))?;
        }
        Ok(())
    } else {
        std::fs::copy(from, to).map(drop)
    }
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
            // Ours: a database, or an audit trail whose database was moved aside.
            if !empty && !path.join("conf").exists() && !path.join(audit::DIR).join("HEAD").exists() {
                return Err(StoreError::NotOurs {
                    path: path.to_path_buf(),
                    detail: "it holds other files and no powerplane database".into(),
                });
            }
        }
        require_trail_directory(path)?;
        require_database_file(path)?;
        std::fs::create_dir_all(path).map_err(|e| io(&e))?;
        // Our own lock first: a second powerplane process is refused here, told who holds the
        // directory, before the database is touched.
        let flock = lock::Flock::take(path)?;
        if path.join("db").exists() {
            // A damaged database is found on a copy first: sled's recovery would change it.
            // Refused, this process leaves the lock file as it found it.
            // So is a trail that is gone: nothing is written without it.
            if let Err(e) = open_copy(path).and_then(|(db, _scratch)| marked(&db, path).and(require_trail(&db, path))) {
                flock.release();
                return Err(e);
            }
        }
        let db = database(path).open().map_err(|e| match e {
            sled::Error::Io(ref ioe) if ioe.kind() == std::io::ErrorKind::WouldBlock || ioe.to_string().contains("lock") => {
                StoreError::Locked {
                    path: path.to_path_buf(),
                    holder: "a process that is not a powerplane command holds its database open".into(),
                }
            }
            sled::Error::Corruption { .. } => StoreError::DatabaseDamaged {
                path: path.to_path_buf(),
                cause: DatabaseCause(e),
                fix: "sled may have changed the database while it tried to recover it (a copy of it opened cleanly a moment before). The audit trail (audit/) is kept apart from the database; move the database files (conf, db, snap.*, blobs) into a new folder inside the state directory, then `powerplane sim init` starts a new simulated estate",
            },
            other => io(&other),
        })?;
        if !marked(&db, path)? {
            let meta = db.open_tree("meta").map_err(|e| io(&e))?;
            meta.insert(MAGIC_KEY, MAGIC).map_err(|e| io(&e))?;
            db.flush().map_err(|e| io(&e))?;
        }
        let dir = StateDir { path: path.to_path_buf(), db, lock: flock, scratch: None };
        // The first writer of this release moves an older release's audit tree into segment
        // files (readers read it where it is).
        if let Some(n) = audit::migrate_legacy(&dir)? {
            tracing::warn!(
                records = n,
                "moved the audit trail out of the database into audit/ (same records and hashes)"
            );
        }
        // Every state directory has its trail from the start, and its database records that
        // it does: a trail deleted later is damage, not a new beginning.
        if !path.join(audit::DIR).is_dir() {
            audit::create(path).map_err(|e| io(&e))?;
        }
        let meta = dir.tree("meta")?;
        if !meta.contains_key(TRAIL_KEY).map_err(|e| io(&e))? {
            meta.insert(TRAIL_KEY, crate::time::now().as_bytes()).map_err(|e| io(&e))?;
            dir.flush()?;
        }
        Ok(dir)
    }

    /// Opens an existing state directory for a command that only reads (`audit`, `sim show`,
    /// `drift`, `plan --refresh=false`): every byte of it stays as it is, damaged or not. The
    /// lock is taken shared (no record written), and sled — which writes whenever it opens a
    /// database — is given a private copy of the database files.
    pub fn open_read_only(path: &Path) -> Result<Self, StoreError> {
        require_existing(path)?;
        let io = |e: &dyn std::fmt::Display| StoreError::Io { path: path.to_path_buf(), detail: e.to_string() };
        if !path.is_dir() {
            return Err(StoreError::NotOurs {
                path: path.to_path_buf(),
                detail: "it is a file, not a directory".into(),
            });
        }
        if !path.join("conf").exists() {
            return Err(StoreError::NotOurs {
                path: path.to_path_buf(),
                detail: "it holds no powerplane database".into(),
            });
        }
        require_database_file(path)?;
        let flock = lock::Flock::shared(path)?;
        let (db, scratch) = open_copy(path)?;
        if !marked(&db, path)? {
            return Err(StoreError::NotOurs {
                path: path.to_path_buf(),
                detail: "a sled database without powerplane's marker".into(),
            });
        }
        let lock = match flock {
            Some(l) => l,
            None => lock::Flock::none().map_err(|e| io(&e))?,
        };
        Ok(StateDir { path: path.to_path_buf(), db, lock, scratch: Some(std::sync::Arc::new(scratch)) })
    }

    /// The audit records of an older release, still in the database (not migrated yet), as
    /// stored; `None` when there are none.
    pub fn legacy_audit_lines(&self) -> Result<Option<Vec<Vec<u8>>>, StoreError> {
        let tree = self.tree(audit::LEGACY_TREE)?;
        if tree.is_empty() {
            return Ok(None);
        }
        audit::legacy_lines(&tree).map(Some).map_err(|e| self.io(&e))
    }

    /// What shows that this state directory has had an audit trail (see [`StoreError::AuditMissing`]),
    /// if anything.
    pub fn trail_evidence(&self) -> Result<Option<String>, StoreError> {
        trail_evidence(&self.db).map_err(|e| self.io(&e))
    }

    /// The key that signed this state directory's trail, as its database recorded when a writer
    /// with it first wrote a batch (hex); `None` when no signed batch was ever written here.
    pub fn trail_signed_by(&self) -> Result<Option<String>, StoreError> {
        let meta = self.tree("meta")?;
        Ok(meta.get(SIGNED_KEY).map_err(|e| self.io(&e))?.map(|k| String::from_utf8_lossy(&k).into_owned()))
    }

    /// Records that a writer with `key` (hex) signed this state directory's trail.
    pub(crate) fn record_trail_signed_by(&self, key: &str) -> Result<(), StoreError> {
        let meta = self.tree("meta")?;
        meta.insert(SIGNED_KEY, key.as_bytes()).map_err(|e| self.io(&e))?;
        self.flush()
    }

    /// Whether this was opened with [`StateDir::open_read_only`].
    pub fn is_read_only(&self) -> bool {
        self.scratch.is_some()
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

    /// Removes a tree (an older release's audit tree, once migrated).
    pub(crate) fn drop_tree(&self, name: &str) -> Result<(), StoreError> {
        self.db.drop_tree(name).map(drop).map_err(|e| self.io(&e))
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
