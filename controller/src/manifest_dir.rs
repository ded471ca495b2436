//! Reading a manifest directory (or a single file) into memory for the model: every `*.yaml`
//! and `*.yml` below the root, recursively, in path order; hidden files and directories are
//! skipped, and symbolic links are followed only while they stay inside the root.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use powerplane_model::manifest::Kind;
use powerplane_model::{Diagnostic, Estate, Invalid, Location, Rule, SourceFile};

/// Reads and loads the manifests at `root` (desired state), parsing on every core.
pub fn load_manifests(root: &Path) -> Result<Estate, Vec<Diagnostic>> {
    load_kinds(root, &Kind::MANIFEST)
}

/// Reads and loads an inventory (a file or directory) at `root`.
pub fn load_inventory(root: &Path) -> Result<Estate, Vec<Diagnostic>> {
    load_kinds(root, &Kind::ALL)
}

fn load_kinds(root: &Path, kinds: &[Kind]) -> Result<Estate, Vec<Diagnostic>> {
    load_sources(&read_sources(root)?, kinds)
}

fn load_sources(sources: &[SourceFile], kinds: &[Kind]) -> Result<Estate, Vec<Diagnostic>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    powerplane_model::load(sources, kinds, threads).map_err(|Invalid(d)| d)
}

/// The manifests at `root` as committed at `git_ref` (uncommitted edits ignored), with the
/// commit.
pub fn load_manifests_at(root: &Path, git_ref: &str) -> Result<(Estate, String), Vec<Diagnostic>> {
    let commit = crate::git::resolve(root, git_ref)?;
    let sources = crate::git::sources_at(root, &commit)?;
    Ok((load_sources(&sources, &Kind::MANIFEST)?, commit))
}

/// Reads the manifests at `root` (a directory or one file). Every unreadable file is reported;
/// a directory without manifests is an error, so a typo in a path never plans "delete nothing".
pub fn read_sources(root: &Path) -> Result<Vec<SourceFile>, Vec<Diagnostic>> {
    let meta = match fs::metadata(root) {
        Ok(m) => m,
        Err(e) => {
            return Err(vec![Diagnostic::new(
                Rule::NoSuchDirectory,
                format!("`{}` cannot be opened: {e}", root.display()),
                "give the path of the manifest directory (for the bundled lab: manifests/lab)",
            )]);
        }
    };
    if meta.is_file() {
        return read_file(root).map(|s| vec![s]).map_err(|d| vec![d]);
    }
    let canonical_root = fs::canonicalize(root).map_err(|e| vec![unreadable(root, &e.to_string())])?;
    let mut walk = Walk { root: canonical_root, files: Vec::new(), errors: Vec::new(), visited: BTreeSet::new() };
    walk.dir(root);
    if !walk.errors.is_empty() {
        return Err(walk.errors);
    }
    if walk.files.is_empty() {
        return Err(vec![Diagnostic::new(
            Rule::NoManifests,
            format!("`{}` holds no *.yaml or *.yml file", root.display()),
            "point at the directory that holds the manifests, or add some (`powerplane schema` describes them)",
        )]);
    }
    let mut out = Vec::with_capacity(walk.files.len());
    for f in walk.files {
        match read_file(&f) {
            Ok(s) => out.push(s),
            Err(d) => walk.errors.push(d),
        }
    }
    if walk.errors.is_empty() { Ok(out) } else { Err(walk.errors) }
}

/// The current content of files that changed (`None`: the file is gone), for a reload of those
/// files only. A file that exists but cannot be read is an error.
pub fn read_changed(paths: &[PathBuf]) -> Result<Vec<(PathBuf, Option<SourceFile>)>, Vec<Diagnostic>> {
    let mut out = Vec::with_capacity(paths.len());
    let mut errors = Vec::new();
    for p in paths {
        match fs::metadata(p) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => out.push((p.clone(), None)),
            _ => match read_file(p) {
                Ok(s) => out.push((p.clone(), Some(s))),
                Err(d) => errors.push(d),
            },
        }
    }
    if errors.is_empty() { Ok(out) } else { Err(errors) }
}

struct Walk {
    root: PathBuf,
    files: Vec<PathBuf>,
    errors: Vec<Diagnostic>,
    visited: BTreeSet<PathBuf>,
}

impl Walk {
    fn dir(&mut self, dir: &Path) {
        if let Ok(c) = fs::canonicalize(dir)
            && !self.visited.insert(c)
        {
            return; // a link back to a directory already read
        }
        let entries = match fs::read_dir(dir) {
            Ok(rd) => rd,
            Err(e) => return self.errors.push(unreadable(dir, &e.to_string())),
        };
        let mut entries: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        entries.sort();
        for path in entries {
            let hidden = path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.'));
            if hidden {
                continue;
            }
            let Ok(link_meta) = fs::symlink_metadata(&path) else {
                continue;
            };
            if link_meta.file_type().is_symlink() {
                match fs::canonicalize(&path) {
                    Ok(target) if target.starts_with(&self.root) => {}
                    Ok(target) => {
                        tracing::warn!(link = %path.display(), target = %target.display(), "skipping a symbolic link that leaves the manifest directory");
                        continue;
                    }
                    Err(_) => {
                        tracing::warn!(link = %path.display(), "skipping a dangling symbolic link");
                        continue;
                    }
                }
            }
            if path.is_dir() {
                self.dir(&path);
            } else if is_yaml(&path) {
                self.files.push(path);
            }
        }
    }
}

fn is_yaml(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
}

fn read_file(path: &Path) -> Result<SourceFile, Diagnostic> {
    fs::read(path).map(|bytes| SourceFile::new(path, bytes)).map_err(|e| unreadable(path, &e.to_string()))
}

fn unreadable(path: &Path, why: &str) -> Diagnostic {
    Diagnostic::new(Rule::UnreadableFile, format!("cannot read: {why}"), "check the path and its permissions")
        .at(Location { file: path.to_path_buf(), line: 1, column: 1 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_yaml_recursively_in_order_skipping_hidden() {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir_all(d.path().join("b/c")).unwrap();
        fs::create_dir_all(d.path().join(".git")).unwrap();
        fs::write(d.path().join("b/c/z.yml"), "a: 1").unwrap();
        fs::write(d.path().join("a.yaml"), "a: 1").unwrap();
        fs::write(d.path().join("notes.txt"), "x").unwrap();
        fs::write(d.path().join(".hidden.yaml"), "x").unwrap();
        fs::write(d.path().join(".git/x.yaml"), "x").unwrap();
        let files: Vec<_> = read_sources(d.path())
            .unwrap()
            .into_iter()
            .map(|s| s.path.strip_prefix(d.path()).unwrap().to_path_buf())
            .collect();
        assert_eq!(files, vec![PathBuf::from("a.yaml"), PathBuf::from("b/c/z.yml")]);
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_stay_inside_the_tree() {
        let outside = tempfile::tempdir().unwrap();
        fs::write(outside.path().join("secret.yaml"), "x").unwrap();
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("a.yaml"), "a: 1").unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret.yaml"), d.path().join("out.yaml")).unwrap();
        std::os::unix::fs::symlink(d.path().join("a.yaml"), d.path().join("in.yaml")).unwrap();
        std::os::unix::fs::symlink(d.path(), d.path().join("loop")).unwrap();
        let names: Vec<_> = read_sources(d.path())
            .unwrap()
            .into_iter()
            .map(|s| s.path.file_name().unwrap().to_str().unwrap().to_owned())
            .collect();
        assert_eq!(names, vec!["a.yaml", "in.yaml"]);
    }

    #[test]
    fn missing_and_empty_directories_are_errors() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(read_sources(d.path()).unwrap_err()[0].rule, Rule::NoManifests);
        assert_eq!(read_sources(&d.path().join("nope")).unwrap_err()[0].rule, Rule::NoSuchDirectory);
    }
}
