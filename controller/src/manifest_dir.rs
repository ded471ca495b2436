//! Reading a manifest directory (or a single file) into memory for the model: every `*.yaml`
//! and `*.yml` below the root, recursively, in path order; hidden files and directories are
//! skipped, and symbolic links are followed only while they stay inside the root.

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

/// The manifests at `root`, from the working tree or as committed at `git_ref`, with the
/// commit they were read at and the digest of exactly the bytes read (see [`digest`]): what a
/// saved plan is sealed with.
pub fn load_manifests_sealed(
    root: &Path,
    git_ref: Option<&str>,
) -> Result<(Estate, Option<String>, String), Vec<Diagnostic>> {
    let (sources, commit) = match git_ref {
        Some(r) => {
            let commit = crate::git::resolve(root, r)?;
            (crate::git::sources_at(root, &commit)?, Some(commit))
        }
        None => (read_sources(root)?, None),
    };
    let digest = digest(root, &sources);
    Ok((load_sources(&sources, &Kind::MANIFEST)?, commit, digest))
}

/// SHA-256 over every manifest's path (relative to `root`) and content, in path order: equal
/// digests mean the same files with the same bytes.
pub fn digest(root: &Path, sources: &[SourceFile]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for s in sources {
        let rel = s.path.strip_prefix(root).unwrap_or(&s.path);
        let rel = rel.to_string_lossy();
        h.update((rel.len() as u64).to_le_bytes());
        h.update(rel.as_bytes());
        h.update((s.bytes.len() as u64).to_le_bytes());
        h.update(&s.bytes);
    }
    format!("sha256:{}", hex::encode(h.finalize()))
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
    if !meta.is_dir() {
        return read_file(root).map(|s| vec![s]).map_err(|d| vec![d]);
    }
    let canonical_root = fs::canonicalize(root).map_err(|e| vec![unreadable(root, &e.to_string())])?;
    let (files, mut errors) = walk(root, &canonical_root);
    if !errors.is_empty() {
        return Err(errors);
    }
    if files.is_empty() {
        return Err(vec![Diagnostic::new(
            Rule::NoManifests,
            format!("`{}` holds no *.yaml or *.yml file", root.display()),
            "point at the directory that holds the manifests, or add some (`powerplane schema` describes them)",
        )]);
    }
    let mut out = Vec::with_capacity(files.len());
    for f in files {
        match read_file(&f) {
            Ok(s) => out.push(s),
            Err(d) => errors.push(d),
        }
    }
    if errors.is_empty() { Ok(out) } else { Err(errors) }
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

/// The manifest files below `root` (a directory), in path order, with every entry that cannot
/// be read as an error: what such an entry holds would vanish from the desired state, and with
/// `prune` that is a deletion, so nothing is ever skipped silently.
fn walk(root: &Path, canonical_root: &Path) -> (Vec<PathBuf>, Vec<Diagnostic>) {
    let (mut files, mut errors) = (Vec::new(), Vec::new());
    let hidden = |e: &walkdir::DirEntry| e.depth() > 0 && e.file_name().to_str().is_some_and(|n| n.starts_with('.'));
    let mut entries =
        walkdir::WalkDir::new(root).follow_links(true).sort_by_file_name().into_iter().filter_entry(|e| !hidden(e));
    while let Some(entry) = entries.next() {
        let entry = match entry {
            Ok(entry) => entry,
            // A link back to a directory above it: that directory is being read already.
            Err(e) if e.loop_ancestor().is_some() => continue,
            Err(e) => {
                let path = e.path().unwrap_or(root).to_path_buf();
                let why = e.io_error().map_or_else(|| e.to_string(), ToString::to_string);
                let link = fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink());
                errors.push(if link {
                    outside_link(&path, &format!("it points nowhere ({why})"))
                } else {
                    unreadable(&path, &why)
                });
                continue;
            }
        };
        let path = entry.path();
        if entry.path_is_symlink() {
            // A manifest that is not read is a manifest whose objects vanish from the desired
            // state: with `prune`, a deletion. So a link out of the tree is an error, as in
            // Argo CD, never a skipped file.
            let outside = match fs::canonicalize(path) {
                Ok(target) if target.starts_with(canonical_root) => None,
                Ok(target) => Some(format!("it points outside the manifest directory, to `{}`", target.display())),
                Err(e) => Some(format!("it points nowhere ({e})")),
            };
            if let Some(why) = outside {
                if entry.file_type().is_dir() {
                    entries.skip_current_dir();
                    errors.push(outside_link(path, &why));
                } else if is_yaml(path) {
                    errors.push(outside_link(path, &why));
                }
                continue;
            }
        }
        // The type of what the entry is (through a link that stays inside the tree): only
        // directories and regular files are read; a FIFO, socket or device named like a
        // manifest is an error (opening a FIFO blocks until a writer comes).
        if entry.file_type().is_dir() || !is_yaml(path) {
            continue;
        }
        match entry.metadata() {
            Err(e) => errors.push(unreadable(path, &e.io_error().map_or_else(|| e.to_string(), ToString::to_string))),
            Ok(meta) => match not_regular(&meta) {
                None => files.push(path.to_path_buf()),
                Some(what) => errors.push(not_a_file(path, what)),
            },
        }
    }
    (files, errors)
}

fn outside_link(path: &Path, why: &str) -> Diagnostic {
    Diagnostic::new(
        Rule::LinkOutsideTree,
        format!("the symbolic link `{}` is not read: {why}", path.display()),
        "copy the manifest into the tree, or remove the link; powerplane reads only what lies inside the manifest directory",
    )
    .at(Location { file: path.to_path_buf(), line: 1, column: 1 })
}

fn is_yaml(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
}

/// The largest manifest file read, in bytes (`POWERPLANE_MAX_MANIFEST_BYTES` overrides it):
/// a desired-state file of this size is a mistake, and reading it without bound is a way to
/// exhaust memory.
pub const MAX_MANIFEST_BYTES: u64 = crate::env::MAX_MANIFEST_BYTES.default;

fn max_manifest_bytes() -> Result<u64, crate::env::EnvError> {
    crate::env::values().map(|v| v.max_manifest_bytes).map_err(Clone::clone)
}

/// What a file that is not a regular file is (`None`: a regular file).
pub(crate) fn not_regular(meta: &fs::Metadata) -> Option<&'static str> {
    let t = meta.file_type();
    if t.is_file() {
        return None;
    }
    if t.is_dir() {
        return Some("a directory");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return Some("a FIFO (named pipe)");
        }
        if t.is_socket() {
            return Some("a socket");
        }
        if t.is_char_device() {
            return Some("a character device");
        }
        if t.is_block_device() {
            return Some("a block device");
        }
    }
    Some("a special file")
}

fn not_a_file(path: &Path, what: &str) -> Diagnostic {
    Diagnostic::new(
        Rule::UnreadableFile,
        format!("`{}` is {what}, not a regular file: a manifest is never read from it", path.display()),
        "remove it from the manifest tree, or rename it so that it does not end in .yaml or .yml; manifests are regular files",
    )
    .at(Location { file: path.to_path_buf(), line: 1, column: 1 })
}

/// Opens `path` without blocking: a FIFO (or a device) opens at once in non-blocking mode,
/// and is refused by its type, checked on the open file (no race between check and open).
fn open_nonblocking(path: &Path) -> std::io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    options.open(path)
}

fn read_file(path: &Path) -> Result<SourceFile, Diagnostic> {
    use std::io::Read;
    let limit = max_manifest_bytes().map_err(|e| {
        Diagnostic::new(Rule::TooLarge, e.to_string(), e.fix()).at(Location {
            file: path.to_path_buf(),
            line: 1,
            column: 1,
        })
    })?;
    // Checked before the open too (a FIFO's open would block without O_NONBLOCK)...
    let meta = fs::metadata(path).map_err(|e| unreadable(path, &e.to_string()))?;
    if let Some(what) = not_regular(&meta) {
        return Err(not_a_file(path, what));
    }
    let file = open_nonblocking(path).map_err(|e| unreadable(path, &e.to_string()))?;
    // ... and on the open file, which is what is read (the path may have been replaced).
    let meta = file.metadata().map_err(|e| unreadable(path, &e.to_string()))?;
    if let Some(what) = not_regular(&meta) {
        return Err(not_a_file(path, what));
    }
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes).map_err(|e| unreadable(path, &e.to_string()))?;
    if bytes.len() as u64 > limit {
        return Err(Diagnostic::new(
            Rule::TooLarge,
            format!("the file is larger than {limit} bytes"),
            "split it into smaller manifests, or raise the limit with POWERPLANE_MAX_MANIFEST_BYTES",
        )
        .at(Location { file: path.to_path_buf(), line: 1, column: 1 }));
    }
    Ok(SourceFile::new(path, bytes))
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
        let errors = read_sources(d.path()).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].rule, Rule::LinkOutsideTree);
        assert!(errors[0].message.contains("out.yaml") && errors[0].message.contains("secret.yaml"), "{errors:?}");
        fs::remove_file(d.path().join("out.yaml")).unwrap();
        std::os::unix::fs::symlink(d.path().join("gone.yaml"), d.path().join("dangling.yaml")).unwrap();
        assert_eq!(read_sources(d.path()).unwrap_err()[0].rule, Rule::LinkOutsideTree);
        fs::remove_file(d.path().join("dangling.yaml")).unwrap();
        let names: Vec<_> = read_sources(d.path())
            .unwrap()
            .into_iter()
            .map(|s| s.path.file_name().unwrap().to_str().unwrap().to_owned())
            .collect();
        assert_eq!(names, vec!["a.yaml", "in.yaml"]);
    }

    /// A directory linked from elsewhere in the tree is read through each of its paths, as
    /// a file linked inside the tree is (two definitions of one object are then reported as
    /// such), never dropped silently because it was seen once already.
    #[cfg(unix)]
    #[test]
    fn a_directory_linked_inside_the_tree_is_read_through_the_link_too() {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir_all(d.path().join("a")).unwrap();
        fs::write(d.path().join("a/x.yaml"), "a: 1").unwrap();
        std::os::unix::fs::symlink(d.path().join("a"), d.path().join("b")).unwrap();
        let files: Vec<_> = read_sources(d.path())
            .unwrap()
            .into_iter()
            .map(|s| s.path.strip_prefix(d.path()).unwrap().to_path_buf())
            .collect();
        assert_eq!(files, vec![PathBuf::from("a/x.yaml"), PathBuf::from("b/x.yaml")]);
    }

    #[test]
    fn missing_and_empty_directories_are_errors() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(read_sources(d.path()).unwrap_err()[0].rule, Rule::NoManifests);
        assert_eq!(read_sources(&d.path().join("nope")).unwrap_err()[0].rule, Rule::NoSuchDirectory);
    }
}
