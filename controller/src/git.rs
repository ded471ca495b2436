//! Git as the source of truth: the manifests' commit for the audit trail, and the manifests as
//! committed at a ref (`--git-ref`), read with the git command line so that uncommitted edits
//! are ignored.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use powerplane_model::{Diagnostic, Rule, SourceFile};

/// `(commit, dirty)` of the repository holding `dir`, or `None` outside git.
pub(crate) fn provenance(dir: &Path) -> Option<(String, bool)> {
    let commit = run(dir, &["rev-parse", "HEAD"]).ok()?;
    let dirty = !run(dir, &["status", "--porcelain", "--", "."]).ok()?.is_empty();
    Some((commit, dirty))
}

fn run(dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git").arg("-C").arg(dir).args(args).output().map_err(|e| format!("cannot run git: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
    }
}

fn problem(message: String) -> Vec<Diagnostic> {
    vec![Diagnostic::new(Rule::UnreadableFile, message, "check the repository, the ref and `git fetch`")]
}

/// `git fetch` in the repository holding `dir`.
pub(crate) fn fetch(dir: &Path) -> Result<(), Vec<Diagnostic>> {
    run(dir, &["fetch", "--quiet"]).map(drop).map_err(|e| problem(format!("git fetch failed: {e}")))
}

/// The commit `git_ref` names in the repository holding `dir`.
pub(crate) fn resolve(dir: &Path, git_ref: &str) -> Result<String, Vec<Diagnostic>> {
    run(dir, &["rev-parse", "--verify", "--quiet", &format!("{git_ref}^{{commit}}")])
        .map_err(|_| problem(format!("`{git_ref}` names no commit in the repository holding {}", dir.display())))
}

/// The manifests below `dir` as committed at `commit` (`*.yaml`/`*.yml`, hidden paths skipped),
/// read in one `git cat-file --batch`.
pub(crate) fn sources_at(dir: &Path, commit: &str) -> Result<Vec<SourceFile>, Vec<Diagnostic>> {
    let listing = run(dir, &["ls-tree", "-r", "--name-only", commit, "--", "."])
        .map_err(|e| problem(format!("git ls-tree failed: {e}")))?;
    let paths: Vec<&str> = listing
        .lines()
        .filter(|p| p.ends_with(".yaml") || p.ends_with(".yml"))
        .filter(|p| !p.split('/').any(|c| c.starts_with('.')))
        .collect();
    if paths.is_empty() {
        return Err(vec![Diagnostic::new(
            Rule::NoManifests,
            format!("commit {commit} has no *.yaml or *.yml file below {}", dir.display()),
            "commit the manifests, or give the ref that has them",
        )]);
    }
    let mut child = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["cat-file", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| problem(format!("cannot run git: {e}")))?;
    let mut stdin = child.stdin.take().expect("piped");
    let names: String = paths.iter().map(|p| format!("{commit}:./{p}\n")).collect();
    let writer = std::thread::spawn(move || stdin.write_all(names.as_bytes()));
    let mut out = BufReader::new(child.stdout.take().expect("piped"));
    let mut sources = Vec::with_capacity(paths.len());
    for p in &paths {
        let mut header = String::new();
        out.read_line(&mut header).map_err(|e| problem(format!("git cat-file failed: {e}")))?;
        let size: usize = header
            .split_whitespace()
            .nth(2)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| problem(format!("git cat-file: unexpected answer {header:?} for {p}")))?;
        let mut bytes = vec![0; size + 1];
        out.read_exact(&mut bytes).map_err(|e| problem(format!("git cat-file failed: {e}")))?;
        bytes.pop();
        sources.push(SourceFile::new(dir.join(p), bytes));
    }
    let _ = writer.join();
    let _ = child.wait();
    Ok(sources)
}
