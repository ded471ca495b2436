//! The manifests' git commit for the audit trail: the commit checked out in the repository
//! that holds the manifest directory, and whether that directory has uncommitted changes.

use std::path::Path;
use std::process::Command;

/// `(commit, dirty)` of the repository holding `dir`, or `None` outside git.
pub fn provenance(dir: &Path) -> Option<(String, bool)> {
    let run = |args: &[&str]| {
        let out = Command::new("git").arg("-C").arg(dir).args(args).output().ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    let commit = run(&["rev-parse", "HEAD"])?;
    let dirty = !run(&["status", "--porcelain", "--", "."])?.is_empty();
    Some((commit, dirty))
}
