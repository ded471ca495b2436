//! Who uses the state directory. Every process that opens it takes an exclusive OS lock on
//! `powerplane.lock` (before the database), and, while holding it, writes into that file who it
//! is: pid, command line, since when, and where it serves HTTP (`watch --listen`). So a refused
//! process always learns the *live* holder — a record left by a holder that died is never
//! shown as the holder, it is reported as taken over by the next process — and never sees the
//! storage library's own words.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{StateDir, StoreError};

const FILE: &str = "powerplane.lock";

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Holder {
    pid: u32,
    command: String,
    since: String,
    /// Where the holder serves HTTP (`watch --listen`): other commands forward to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    listen: Option<String>,
}

impl Holder {
    fn describe(&self) -> String {
        let kind = if self.command.starts_with("watch") {
            "the controller loop (`watch`), which runs until stopped; stop it, or run this command through it"
        } else {
            "a short command; wait for it to finish"
        };
        format!("pid {}, `{}` since {}: {kind}", self.pid, self.command, self.since)
    }
}

/// The OS lock on the state directory, held while any clone lives.
#[derive(Clone, Debug)]
pub(crate) struct Flock {
    file: Arc<LockFile>,
    /// The record of a previous holder that died without releasing the directory.
    pub took_over: Option<String>,
    /// The lock file's bytes as this process found them.
    found: Arc<Vec<u8>>,
}

/// The open lock file. A writer's record is cleared when the last handle goes, so that the next
/// process does not take a finished command (a `plan` that refreshed the store) for a dead one.
#[derive(Debug)]
struct LockFile {
    file: File,
    /// Whether dropping it clears the record: taken exclusively and not given back as found.
    clear: std::sync::atomic::AtomicBool,
}

impl Drop for LockFile {
    fn drop(&mut self) {
        if self.clear.load(std::sync::atomic::Ordering::Relaxed) {
            let _ = write_record(&self.file, None);
        }
    }
}

impl LockFile {
    fn new(file: File, clear: bool) -> Arc<Self> {
        Arc::new(LockFile { file, clear: clear.into() })
    }
}

impl Flock {
    /// Takes the lock of the state directory at `dir` (which exists), or says who holds it.
    pub(crate) fn take(dir: &Path) -> Result<Self, StoreError> {
        let io = |e: &dyn std::fmt::Display| StoreError::Io { path: dir.to_path_buf(), detail: e.to_string() };
        let path = dir.join(FILE);
        let file =
            OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(|e| io(&e))?;
        // Readers (which hold the lock shared, for a moment) are waited for; a writer is not.
        let mut waited = Duration::ZERO;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) if only_readers(&path) && waited < READER_WAIT => {
                    std::thread::sleep(Duration::from_millis(20));
                    waited += Duration::from_millis(20);
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    let holder = if only_readers(&path) {
                        "read-only powerplane commands (audit, sim show, drift, plan --refresh=false) that are still reading it; try again in a moment".into()
                    } else {
                        live_holder(&path)
                    };
                    return Err(StoreError::Locked { path: dir.to_path_buf(), holder });
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(io(&e)),
            }
        }
        let mut found = Vec::new();
        (&file).read_to_end(&mut found).map_err(|e| io(&e))?;
        let previous = serde_json::from_slice::<Holder>(&found).ok().filter(|h| h.pid != std::process::id());
        let command = std::env::args().skip(1).collect::<Vec<_>>();
        let me = Holder {
            pid: std::process::id(),
            command: short_command(&command),
            since: crate::time::now(),
            listen: None,
        };
        write_record(&file, Some(&me)).map_err(|e| io(&e))?;
        Ok(Flock { file: LockFile::new(file, true), took_over: previous.map(|h| h.describe()), found: Arc::new(found) })
    }

    /// Takes the lock shared, for a command that only reads: it writes no record (the state
    /// directory stays byte for byte as it was) and excludes writers while it reads. A state
    /// directory without a lock file (never opened by a writer) needs no lock.
    pub(crate) fn shared(dir: &Path) -> Result<Option<Self>, StoreError> {
        let path = dir.join(FILE);
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StoreError::Io { path: dir.to_path_buf(), detail: e.to_string() }),
        };
        match file.try_lock_shared() {
            Ok(()) => Ok(Some(Flock { file: LockFile::new(file, false), took_over: None, found: Default::default() })),
            Err(std::fs::TryLockError::WouldBlock) => {
                Err(StoreError::Locked { path: dir.to_path_buf(), holder: live_holder(&path) })
            }
            Err(std::fs::TryLockError::Error(e)) => {
                Err(StoreError::Io { path: dir.to_path_buf(), detail: e.to_string() })
            }
        }
    }

    /// No lock (a reader of a state directory that has no lock file): a handle on /dev/null.
    pub(crate) fn none() -> std::io::Result<Self> {
        Ok(Flock { file: LockFile::new(File::open("/dev/null")?, false), took_over: None, found: Default::default() })
    }

    /// Clears this process's record (it gives the directory up without having used it).
    pub(crate) fn release(&self) {
        self.file.clear.store(false, std::sync::atomic::Ordering::Relaxed);
        let mut f: &File = &self.file.file;
        let _ = f.set_len(0).and_then(|()| f.seek(SeekFrom::Start(0))).and_then(|_| f.write_all(&self.found));
    }

    fn rewrite(&self, holder: Option<&Holder>) -> std::io::Result<()> {
        write_record(&self.file.file, holder)
    }
}

/// The command words without option values that say nothing (`apply m --yes`).
fn short_command(args: &[String]) -> String {
    let mut words: Vec<&str> = Vec::new();
    let mut skip = false;
    for a in args {
        if skip {
            skip = false;
            continue;
        }
        const VALUED: [&str; 6] =
            ["--state-dir", "--inventory", "--log-format", "--sim-speedup", "--ssh-identity", "--ssh-known-hosts"];
        if VALUED.contains(&a.as_str()) {
            skip = true;
            continue;
        }
        if VALUED.iter().any(|o| a.strip_prefix(o).is_some_and(|rest| rest.starts_with('='))) {
            continue;
        }
        words.push(a);
    }
    let s = words.join(" ");
    if s.chars().count() > 120 { format!("{}…", s.chars().take(120).collect::<String>()) } else { s }
}

fn write_record(mut f: &File, holder: Option<&Holder>) -> std::io::Result<()> {
    let text = match holder {
        Some(h) => serde_json::to_vec(h).map_err(std::io::Error::other)?,
        None => Vec::new(),
    };
    f.set_len(0)?;
    f.seek(SeekFrom::Start(0))?;
    f.write_all(&text)?;
    f.sync_data()
}

/// How long a writer waits for readers to finish.
const READER_WAIT: Duration = Duration::from_secs(5);

/// Whether the lock is held only shared (by readers): a shared lock can still be taken.
fn only_readers(path: &Path) -> bool {
    File::open(path).is_ok_and(|f| f.try_lock_shared().is_ok())
}

/// Who holds the lock: the record the live holder wrote. A record whose process is gone was
/// left by a dead holder and is not yet replaced by the live one (it is between taking the
/// lock and writing its record): read again for a moment.
fn live_holder(path: &Path) -> String {
    for _ in 0..40 {
        if let Ok(mut f) = File::open(path) {
            let mut text = Vec::new();
            if f.read_to_end(&mut text).is_ok()
                && let Ok(h) = serde_json::from_slice::<Holder>(&text)
                && Path::new(&format!("/proc/{}", h.pid)).exists()
            {
                return h.describe();
            }
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    "a powerplane process that is starting up and has not recorded itself yet; try again in a moment".into()
}

/// Marks this process as the state directory's user for `command`, with where it serves
/// HTTP, if it does; the mark goes when the guard is dropped.
#[derive(Debug)]
pub struct LockGuard {
    lock: Flock,
    /// The holder taken over, when a previous one died without releasing the directory.
    pub took_over: Option<String>,
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        let _ = self.lock.rewrite(None);
    }
}

/// Records this process as the state directory's user, and where it serves HTTP, if it does.
pub fn acquire(dir: &StateDir, command: &str, listen: Option<std::net::SocketAddr>) -> Result<LockGuard, StoreError> {
    let holder = Holder {
        pid: std::process::id(),
        command: command.to_owned(),
        since: crate::time::now(),
        listen: listen.map(|a| a.to_string()),
    };
    dir.lock.rewrite(Some(&holder)).map_err(|e| dir.io(&e))?;
    let took_over = dir.lock.took_over.clone();
    if let Some(old) = &took_over {
        tracing::warn!(previous = %old, "took over a stale lock: its process ended without releasing the state directory");
    }
    Ok(LockGuard { lock: dir.lock.clone(), took_over })
}

/// Where the process holding the state directory serves HTTP, if it does.
pub fn listener(state_dir: &Path) -> Option<String> {
    let text = std::fs::read(state_dir.join(FILE)).ok()?;
    serde_json::from_slice::<Holder>(&text).ok()?.listen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_opener_is_told_the_live_holder_and_a_dead_ones_record_is_taken_over() {
        let d = tempfile::tempdir().unwrap();
        // A record left by a process that died (pid 0 never exists as a user process).
        std::fs::write(d.path().join(FILE), r#"{"pid":4000000,"command":"apply m","since":"then"}"#).unwrap();
        let first = Flock::take(d.path()).unwrap();
        assert!(first.took_over.as_deref().unwrap().contains("pid 4000000"));
        // Within one process the OS lock is per open file description: a second take refuses.
        let err = Flock::take(d.path()).unwrap_err().to_string();
        assert!(err.contains(&format!("pid {}", std::process::id())), "{err}");
        assert!(!err.contains("WouldBlock") && !err.contains("Resource temporarily unavailable"), "{err}");
        drop(first);
        let again = Flock::take(d.path()).unwrap();
        assert!(again.took_over.is_none(), "our own record is not a dead holder's");
    }

    /// Issue 33 item 14: the record a process writes the moment it takes the lock (before it
    /// names its command) never shows the state directory's path or another option's value.
    #[test]
    fn the_first_record_names_the_command_not_the_state_dir() {
        let args = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(short_command(&args(&["--state-dir", "/srv/pp/state", "apply", "m", "--yes"])), "apply m --yes");
        assert_eq!(short_command(&args(&["--state-dir=/srv/pp/state", "-v", "watch", "m"])), "-v watch m");
        assert_eq!(short_command(&args(&["--ssh-identity", "/root/.ssh/id", "plan", "m"])), "plan m");
    }

    #[test]
    fn watch_holders_are_told_apart_from_short_commands() {
        let h = |c: &str| Holder { pid: 1, command: c.into(), since: "now".into(), listen: None }.describe();
        assert!(h("watch m").contains("controller loop"));
        assert!(h("apply m --yes").contains("short command"));
    }
}
