//! Reloading the desired state. File events reload only the files that changed; a directory
//! change, a lost event, a new commit (`--git-ref`) or the start reload everything. Invalid
//! manifests are logged with their positions and the last valid desired state is kept.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use notify_debouncer_full::DebouncedEvent;
use notify_debouncer_full::notify::EventKind;
use powerplane_model::{Changed, Diagnostic, ManifestSet};

use super::{Config, State};
use crate::status::live::InvalidManifests;

/// What a reload did to the desired state.
pub(super) enum Reload {
    /// Nothing changed: the files say what they said.
    Kept,
    /// The manifests are invalid (logged, and kept in [`State::invalid`]): the last valid
    /// desired state is kept.
    Invalid,
    /// The desired state was replaced; these objects changed.
    Changed(Changed),
    /// The manifests were refused and are valid again, saying what the desired state already
    /// says: nothing changed, but the condition is cleared, so the loop reconciles to say so.
    Recovered,
}

/// The revision of manifests read now: the commit (`--git-ref`), else the time they were read
/// and the commit the working tree is on (with whether it has uncommitted edits).
fn revision(cfg: &Config, commit: Option<&str>) -> String {
    let at = crate::time::now();
    match commit {
        Some(c) => format!("commit {} (read at {at})", &c[..c.len().min(12)]),
        None => match crate::git::provenance(&cfg.dir) {
            Some((c, dirty)) => format!(
                "the working tree at {at} (on commit {}{})",
                &c[..c.len().min(12)],
                if dirty { ", with uncommitted edits" } else { "" }
            ),
            None => format!("the working tree at {at}"),
        },
    }
}

/// The revision of a valid desired state just taken: its commit, else when it was read (no
/// git call on the fast path of an edit; the commit is asked for only when it is refused).
fn taken(commit: Option<&str>) -> String {
    match commit {
        Some(c) => format!("commit {} (read at {})", &c[..c.len().min(12)], crate::time::now()),
        None => format!("the working tree at {}", crate::time::now()),
    }
}

/// Records refused manifests as the loop's condition: the last applied revision, the one
/// refused, and the first finding with its `file:line:column`.
fn refuse(cfg: &Config, state: &mut State, commit: Option<&str>, diags: &[Diagnostic]) {
    use powerplane_model::Severity;
    let first = diags.iter().find(|d| d.severity() == Severity::Error).or(diags.first());
    let first_error = first.map_or_else(String::new, |d| d.to_string().lines().next().unwrap_or_default().to_owned());
    let since = state.invalid.as_ref().map_or_else(crate::time::now, |i| i.since.clone());
    state.invalid = Some(InvalidManifests {
        since,
        last_applied: state.manifests.as_ref().and(state.revision.clone()),
        failing: revision(cfg, commit),
        first_error,
        errors: diags.iter().filter(|d| d.severity() == Severity::Error).count().max(1),
    });
}

/// The manifest files file-system events touched, named as the loader names them (the root as
/// given, joined with the path below it). `None` when only a full reload is safe: a directory
/// was created, removed or renamed, or the watcher lost events.
pub(super) fn changed_files(root: &Path, events: &[DebouncedEvent]) -> Option<Vec<PathBuf>> {
    let canonical = std::fs::canonicalize(root).ok();
    let absolute = std::path::absolute(root).ok();
    let mut files = BTreeSet::new();
    for e in events.iter().filter(|e| !matches!(e.kind, EventKind::Access(_))) {
        if e.need_rescan() {
            return None;
        }
        for p in &e.paths {
            let rel = [canonical.as_deref(), absolute.as_deref(), Some(root)]
                .into_iter()
                .flatten()
                .find_map(|r| p.strip_prefix(r).ok())?;
            if rel.components().any(|c| c.as_os_str().to_string_lossy().starts_with('.')) {
                continue;
            }
            match p.extension().and_then(|e| e.to_str()) {
                Some("yaml" | "yml") => {
                    files.insert(root.join(rel));
                }
                // A directory (or what was one): its files are not named in the events.
                None if !rel.as_os_str().is_empty() => return None,
                _ => {}
            }
        }
    }
    Some(files.into_iter().collect())
}

fn log_invalid(diags: &[Diagnostic], keeping: bool) {
    for d in diags {
        tracing::error!(finding = %d, "invalid manifests: nothing is applied until they are fixed");
    }
    if keeping {
        tracing::warn!("keeping the last valid manifests");
    }
}

/// Reloads `files` only (the fast path of an edit), with the files of earlier invalid
/// reloads: an update is all or nothing, so a good edit saved together with a broken file
/// waits with it, and is taken when the broken one is fixed or removed.
pub(super) fn files(cfg: &Config, state: &mut State, files: &[PathBuf]) -> Reload {
    let Some(set) = &mut state.manifests else {
        return all(cfg, state);
    };
    state.pending.extend(files.iter().cloned());
    let files: Vec<PathBuf> = state.pending.iter().cloned().collect();
    let result = crate::manifest_dir::read_changed(&files)
        .and_then(|changes| set.update(changes).map_err(|powerplane_model::Invalid(d)| d));
    match result {
        Ok(changed) => {
            state.pending.clear();
            let was_invalid = state.invalid.take().is_some();
            if changed.is_empty() {
                return if was_invalid { Reload::Recovered } else { Reload::Kept };
            }
            state.revision = Some(taken(None));
            state.reported.clear();
            state.desired_published = false;
            Reload::Changed(changed)
        }
        Err(diags) => {
            log_invalid(&diags, true);
            refuse(cfg, state, None, &diags);
            Reload::Invalid
        }
    }
}

/// Loads every manifest (from the working tree, or as committed at the ref).
pub(super) fn all(cfg: &Config, state: &mut State) -> Reload {
    let mut attempted = None;
    let loaded = match &cfg.git_ref {
        None => crate::manifest_dir::load_manifests(&cfg.dir).map(|e| (e, None)),
        Some(r) => {
            if cfg.fetch
                && let Err(d) = crate::git::fetch(&cfg.dir)
            {
                d.iter().for_each(|d| tracing::warn!(finding = %d, "git fetch failed; using what is here"));
            }
            match crate::git::resolve(&cfg.dir, r) {
                Ok(c) if state.commit.as_deref() == Some(c.as_str()) && state.manifests.is_some() => {
                    return Reload::Kept;
                }
                // The same refused commit: nothing new to say.
                Ok(c)
                    if state
                        .invalid
                        .as_ref()
                        .is_some_and(|i| i.failing.starts_with(&format!("commit {}", &c[..c.len().min(12)]))) =>
                {
                    return Reload::Invalid;
                }
                Ok(c) => {
                    attempted = Some(c.clone());
                    crate::manifest_dir::load_manifests_at(&cfg.dir, &c).map(|(e, c)| (e, Some(c)))
                }
                Err(d) => Err(d),
            }
        }
    };
    match loaded {
        Ok((e, commit)) => {
            if let Some(c) = &commit {
                tracing::info!(commit = %c, "manifests read at commit");
            }
            let changed =
                Changed::between(state.manifests.as_ref().map(ManifestSet::estate).unwrap_or(&Default::default()), &e);
            state.manifests = Some(ManifestSet::new(e));
            state.pending.clear();
            state.revision = Some(taken(commit.as_deref()));
            let was_invalid = state.invalid.take().is_some();
            state.commit = commit;
            state.reported.clear();
            state.desired_published = false;
            if changed.is_empty() && was_invalid { Reload::Recovered } else { Reload::Changed(changed) }
        }
        Err(diags) => {
            log_invalid(&diags, state.manifests.is_some());
            refuse(cfg, state, attempted.as_deref(), &diags);
            Reload::Invalid
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use notify_debouncer_full::notify::event::{AccessKind, CreateKind, ModifyKind};
    use notify_debouncer_full::notify::{Event, EventKind};

    use super::*;

    fn ev(kind: EventKind, path: PathBuf) -> DebouncedEvent {
        DebouncedEvent::new(Event::new(kind).add_path(path), Instant::now())
    }

    fn part(name: &str, mem: u32) -> String {
        format!(
            "---\napiVersion: powerplane/v1\nkind: Partition\nmetadata: {{name: {name}}}\nspec:\n  placement: {{frame: f0}}\n  processors: {{units: 0.5}}\n  memory: {{desiredMB: {mem}, maxMB: 8192}}\n"
        )
    }

    /// A good edit saved together with a broken file is not lost: it is taken with the fix.
    #[test]
    fn a_good_edit_waits_for_the_broken_file_saved_with_it() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().to_path_buf();
        std::fs::write(root.join("frame.yaml"), "apiVersion: powerplane/v1\nkind: Frame\nmetadata: {name: f0}\n")
            .unwrap();
        std::fs::write(root.join("a.yaml"), part("lpa", 1024)).unwrap();
        let cfg = Config {
            dir: root.clone(),
            interval: std::time::Duration::from_secs(30),
            dry_run: true,
            debounce: std::time::Duration::from_millis(300),
            settings: Default::default(),
            git_ref: None,
            fetch: false,
            signer: None,
            clock: Default::default(),
        };
        let mut state = State::default();
        assert!(matches!(all(&cfg, &mut state), Reload::Changed(_)));
        let mem = |s: &State| {
            s.manifests.as_ref().unwrap().estate().partitions.values().next().unwrap().spec.memory.desired_mb.0
        };
        // One batch: a good edit of a.yaml and a broken new file.
        std::fs::write(root.join("a.yaml"), part("lpa", 2048)).unwrap();
        std::fs::write(root.join("broken.yaml"), "apiVersion: powerplane/v1\nkind: [\n").unwrap();
        assert!(matches!(files(&cfg, &mut state, &[root.join("a.yaml"), root.join("broken.yaml")]), Reload::Invalid));
        assert_eq!(mem(&state), 1024, "all or nothing: the last valid state is kept");
        let invalid = state.invalid.as_ref().expect("the refusal is the loop's condition");
        assert!(invalid.first_error.contains("broken.yaml:"), "{invalid:?}");
        assert!(invalid.last_applied.is_some() && invalid.failing.contains("the working tree at"), "{invalid:?}");
        // The broken file is removed: the next reload takes a.yaml's edit too.
        std::fs::remove_file(root.join("broken.yaml")).unwrap();
        let Reload::Changed(changed) = files(&cfg, &mut state, &[root.join("broken.yaml")]) else {
            panic!("the good edit was lost")
        };
        assert_eq!(changed.partitions_only().unwrap().len(), 1);
        assert_eq!(mem(&state), 2048);
        assert!(state.pending.is_empty());
        assert!(state.invalid.is_none(), "valid again: the condition is cleared");
    }

    #[test]
    fn events_name_the_manifest_files_to_reload_or_ask_for_everything() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        let modify = EventKind::Modify(ModifyKind::Any);
        std::fs::create_dir(root.join("sub")).unwrap();
        let events = vec![
            ev(modify, root.join("a.yaml")),
            ev(modify, root.join("sub/b.yml")),
            ev(modify, root.join("a.yaml")),
            ev(modify, root.join("README.md")),
            ev(modify, root.join(".git/HEAD.yaml")),
            ev(modify, root.join(".a.yaml.swp")),
            ev(EventKind::Access(AccessKind::Any), root.join("c.yaml")),
        ];
        assert_eq!(changed_files(root, &events), Some(vec![root.join("a.yaml"), root.join("sub/b.yml")]));
        // A directory created (or renamed, removed): its files are not in the events.
        let dir = vec![ev(EventKind::Create(CreateKind::Folder), root.join("sub"))];
        assert_eq!(changed_files(root, &dir), None);
        // Outside the root: cannot be named, so everything is reloaded.
        assert_eq!(changed_files(root, &[ev(modify, PathBuf::from("/elsewhere/x.yaml"))]), None);
        // The watcher lost events.
        let mut rescan = Event::new(EventKind::Other);
        rescan = rescan.set_flag(notify_debouncer_full::notify::event::Flag::Rescan);
        assert_eq!(changed_files(root, &[DebouncedEvent::new(rescan, Instant::now())]), None);
    }
}
