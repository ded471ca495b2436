//! Who uses the state directory. sled holds an exclusive lock on the database for as long as a
//! process has it open, so two powerplane processes can never use one state directory at
//! once; the lock file adds *who* (pid, command, since when) for the refusal message. A lock
//! file found when the database opened is stale (its process died without cleaning up): it is
//! taken over, and the previous holder is named.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{StateDir, StoreError};

const FILE: &str = "powerplane.lock";

#[derive(Debug, Serialize, Deserialize)]
struct Holder {
    pid: u32,
    command: String,
    since: String,
    /// Where the holder serves HTTP (`watch --listen`): other commands forward to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    listen: Option<String>,
}

/// Holds the lock file while alive; removes it when dropped.
#[derive(Debug)]
pub struct LockGuard {
    path: PathBuf,
    /// The holder taken over, when the lock was stale.
    pub took_over: Option<String>,
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Records this process as the state directory's user, and where it serves HTTP, if it does.
pub fn acquire(dir: &StateDir, command: &str, listen: Option<std::net::SocketAddr>) -> Result<LockGuard, StoreError> {
    let path = dir.path().join(FILE);
    let took_over = describe_holder(dir.path());
    let holder = Holder {
        pid: std::process::id(),
        command: command.to_owned(),
        since: crate::time::now(),
        listen: listen.map(|a| a.to_string()),
    };
    let text = serde_json::to_vec(&holder).map_err(|e| dir.io(&e))?;
    std::fs::write(&path, text).map_err(|e| dir.io(&e))?;
    if let Some(old) = &took_over {
        tracing::warn!(previous = %old, "took over a stale lock: its process ended without releasing the state directory");
    }
    Ok(LockGuard { path, took_over })
}

/// Where the process holding the state directory serves HTTP, if it does.
pub fn listener(state_dir: &Path) -> Option<String> {
    let text = std::fs::read(state_dir.join(FILE)).ok()?;
    serde_json::from_slice::<Holder>(&text).ok()?.listen
}

/// `pid 4242, \`apply\` since 2026-11-21T23:25:00Z` from the lock file, if there is one.
pub fn describe_holder(state_dir: &Path) -> Option<String> {
    let text = std::fs::read(state_dir.join(FILE)).ok()?;
    let h: Holder = serde_json::from_slice(&text).ok()?;
    Some(format!("pid {}, `{}` since {}", h.pid, h.command, h.since))
}
