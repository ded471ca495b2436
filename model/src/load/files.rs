//! Manifests kept file by file: a change to one file re-parses that file only and replaces its
//! objects in the desired state, so the controller loop reloads a one-file edit of a large
//! estate in about a millisecond. An update is all or nothing: when a changed file does not
//! parse, or names an object another file already defines, the set keeps its previous content.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use super::{AnyObject, insert, load};
use crate::diagnostic::{Invalid, Rule};
use crate::estate::Estate;
use crate::manifest::Kind;
use crate::names::PartitionName;
use crate::source::SourceFile;

/// Applies `$m!(field, Kind)` to every kind an estate holds objects of.
macro_rules! each_kind {
    ($m:ident) => {
        $m!(frames, Frame);
        $m!(proc_pools, SharedProcessorPool);
        $m!(mem_pools, SharedMemoryPool);
        $m!(vios_pairs, ViosPair);
        $m!(seas, SharedEthernetAdapter);
        $m!(partitions, Partition);
        $m!(hardware, FrameHardware);
        $m!(settings, Settings);
        $m!(clusters, Cluster);
    };
}

/// The desired state with the objects each file contributed.
#[derive(Debug, Default)]
pub struct ManifestSet {
    estate: Estate,
    files: BTreeMap<PathBuf, Vec<(Kind, String)>>,
}

/// What an update changed: the objects added, edited or removed, by kind and name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changed(pub BTreeSet<(Kind, String)>);

impl Changed {
    /// The changed partitions, when partitions are all that changed (the case the controller
    /// re-plans in a scope); `None` when any other kind changed.
    pub fn partitions_only(&self) -> Option<BTreeSet<PartitionName>> {
        self.0
            .iter()
            .map(|(k, n)| if *k == Kind::Partition { PartitionName::new(n.as_str()).ok() } else { None })
            .collect()
    }

    /// The objects that differ between two estates (added, removed or edited; where they were
    /// loaded from does not count).
    pub fn between(old: &Estate, new: &Estate) -> Changed {
        let mut changed = BTreeSet::new();
        macro_rules! compare {
            ($field:ident, $kind:ident) => {
                for (name, o) in &old.$field {
                    if new.$field.get(name) != Some(o) {
                        changed.insert((Kind::$kind, name.to_string()));
                    }
                }
                for name in new.$field.keys() {
                    if !old.$field.contains_key(name) {
                        changed.insert((Kind::$kind, name.to_string()));
                    }
                }
            };
        }
        each_kind!(compare);
        Changed(changed)
    }

    /// Whether nothing changed (a file saved unchanged, or only comments edited).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl ManifestSet {
    /// A set over an estate loaded from files; each object is attributed to the file of its
    /// origin.
    pub fn new(estate: Estate) -> Self {
        let mut files: BTreeMap<PathBuf, Vec<(Kind, String)>> = BTreeMap::new();
        macro_rules! attribute {
            ($field:ident, $kind:ident) => {
                for (name, o) in &estate.$field {
                    if let Some(origin) = &o.origin {
                        files.entry(origin.file().to_path_buf()).or_default().push((Kind::$kind, name.to_string()));
                    }
                }
            };
        }
        each_kind!(attribute);
        ManifestSet { estate, files }
    }

    /// The desired state.
    pub fn estate(&self) -> &Estate {
        &self.estate
    }

    /// The desired state, taken out of the set.
    pub fn into_estate(self) -> Estate {
        self.estate
    }

    /// Replaces the objects of each file in `changes` with those of its new content (`None`:
    /// the file was deleted). On any error nothing changes and every finding is returned.
    pub fn update(&mut self, changes: Vec<(PathBuf, Option<SourceFile>)>) -> Result<Changed, Invalid> {
        let mut diags = Vec::new();
        let mut parsed: Vec<(PathBuf, Estate)> = Vec::new();
        for (path, source) in changes {
            let estate = match source {
                None => Estate::default(),
                Some(src) => match load(std::slice::from_ref(&src), &Kind::MANIFEST, 1) {
                    Ok(e) => e,
                    // A file emptied of documents contributes nothing; that is not an error
                    // while other files hold manifests.
                    Err(Invalid(d)) if d.iter().all(|d| d.rule == Rule::NoManifests) => Estate::default(),
                    Err(Invalid(d)) => {
                        diags.extend(d);
                        continue;
                    }
                },
            };
            parsed.push((path, estate));
        }
        // The changed files' objects together, and which file holds which.
        let mut new = Estate::default();
        let mut keys: Vec<(PathBuf, Vec<(Kind, String)>)> = Vec::with_capacity(parsed.len());
        for (path, e) in parsed {
            let objs = objects(e);
            keys.push((path, objs.iter().map(|o| (o.kind(), o.name())).collect()));
            diags.extend(objs.into_iter().filter_map(|o| insert(&mut new, o).err()));
        }
        if !diags.is_empty() {
            return Err(Invalid(diags));
        }
        let mut old = Estate::default();
        for (path, _) in &keys {
            for (kind, name) in self.files.get(path).into_iter().flatten() {
                take(&mut self.estate, &mut old, *kind, name);
            }
        }
        let mut added: Vec<(Kind, String)> = Vec::new();
        for obj in objects(new.clone()) {
            let key = (obj.kind(), obj.name());
            match insert(&mut self.estate, obj) {
                Ok(()) => added.push(key),
                Err(d) => diags.push(d),
            }
        }
        if diags.is_empty() && self.estate.is_empty() {
            diags.push(crate::diagnostic::Diagnostic::new(
                Rule::NoManifests,
                "no YAML documents left: the change removes every manifest",
                "restore the manifests; an empty desired state is never applied",
            ));
        }
        if !diags.is_empty() {
            for (kind, name) in &added {
                take(&mut self.estate, &mut Estate::default(), *kind, name);
            }
            for obj in objects(old) {
                let _ = insert(&mut self.estate, obj);
            }
            return Err(Invalid(diags));
        }
        let changed = Changed::between(&old, &new);
        for (path, keys) in keys {
            if keys.is_empty() {
                self.files.remove(&path);
            } else {
                self.files.insert(path, keys);
            }
        }
        Ok(changed)
    }
}

/// Moves the object `kind`/`name` from `from` to `to`, if `from` has it.
fn take(from: &mut Estate, to: &mut Estate, kind: Kind, name: &str) {
    macro_rules! take_kind {
        ($field:ident, $k:ident) => {
            if kind == Kind::$k
                && let Some(o) = from.$field.remove(name)
            {
                to.$field.insert(o.metadata.name.clone(), o);
            }
        };
    }
    each_kind!(take_kind);
}

/// Every object of an estate (without its status), in kind order.
fn objects(e: Estate) -> Vec<AnyObject> {
    let mut out = Vec::with_capacity(e.len());
    out.extend(e.frames.into_values().map(AnyObject::Frame));
    out.extend(e.proc_pools.into_values().map(AnyObject::ProcPool));
    out.extend(e.mem_pools.into_values().map(AnyObject::MemPool));
    out.extend(e.vios_pairs.into_values().map(AnyObject::ViosPair));
    out.extend(e.seas.into_values().map(AnyObject::Sea));
    out.extend(e.partitions.into_values().map(AnyObject::Partition));
    out.extend(e.hardware.into_values().map(AnyObject::Hardware));
    out.extend(e.settings.into_values().map(AnyObject::Settings));
    out.extend(e.clusters.into_values().map(AnyObject::Cluster));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::load_manifests;

    const FRAME: &str = "apiVersion: powerplane/v1\nkind: Frame\nmetadata: {name: f0}\n";

    fn part(name: &str, mem: u32) -> String {
        format!(
            "---\napiVersion: powerplane/v1\nkind: Partition\nmetadata: {{name: {name}}}\nspec:\n  placement: {{frame: f0}}\n  processors: {{units: 0.5}}\n  memory: {{desiredMB: {mem}, maxMB: 8192}}\n"
        )
    }

    fn set() -> ManifestSet {
        let files = vec![
            SourceFile::new("m/frame.yaml", FRAME),
            SourceFile::new("m/a.yaml", part("lpa", 1024) + &part("lpb", 1024)),
            SourceFile::new("m/c.yaml", part("lpc", 1024)),
        ];
        ManifestSet::new(load_manifests(&files).unwrap())
    }

    fn change(path: &str, text: Option<String>) -> Vec<(PathBuf, Option<SourceFile>)> {
        vec![(PathBuf::from(path), text.map(|t| SourceFile::new(path, t)))]
    }

    fn keys(v: &[(Kind, &str)]) -> Changed {
        Changed(v.iter().map(|(k, n)| (*k, (*n).to_owned())).collect())
    }

    /// Every kind an edited file holds is kept: a cluster beside the edited partition stays in
    /// the desired state and is not reported as changed (it was dropped, and every edit to a
    /// file with clusters was planned in full).
    #[test]
    fn an_edit_keeps_the_clusters_of_its_file() {
        let cluster = "---\napiVersion: powerplane/v1\nkind: Cluster\nmetadata: {name: cl}\nspec: {manager: none, members: [lpa, lpc]}\n";
        let files = vec![
            SourceFile::new("m/frame.yaml", FRAME),
            SourceFile::new("m/a.yaml", part("lpa", 1024) + cluster),
            SourceFile::new("m/c.yaml", part("lpc", 1024)),
        ];
        let mut s = ManifestSet::new(load_manifests(&files).unwrap());
        let c = s.update(change("m/a.yaml", Some(part("lpa", 2048) + cluster))).unwrap();
        assert_eq!(c, keys(&[(Kind::Partition, "lpa")]));
        assert!(c.partitions_only().is_some(), "a partition-only edit");
        assert_eq!(s.estate().clusters.len(), 1, "the cluster is still desired");
        let fresh = load_manifests(&[
            SourceFile::new("m/frame.yaml", FRAME),
            SourceFile::new("m/a.yaml", part("lpa", 2048) + cluster),
            SourceFile::new("m/c.yaml", part("lpc", 1024)),
        ])
        .unwrap();
        assert_eq!(s.estate(), &fresh);
    }

    #[test]
    fn a_changed_file_replaces_its_objects_only() {
        let mut s = set();
        let c = s.update(change("m/a.yaml", Some(part("lpa", 2048) + &part("lpd", 512)))).unwrap();
        assert_eq!(c, keys(&[(Kind::Partition, "lpa"), (Kind::Partition, "lpb"), (Kind::Partition, "lpd")]));
        let names: Vec<&str> = s.estate().partitions.keys().map(|n| n.as_str()).collect();
        assert_eq!(names, ["lpa", "lpc", "lpd"]);
        assert_eq!(s.estate().partitions.values().next().unwrap().spec.memory.desired_mb.0, 2048);
        assert_eq!(c.partitions_only().unwrap().len(), 3);
        // Saved again unchanged (or only a comment edited): nothing changed.
        let c = s.update(change("m/a.yaml", Some(format!("# note\n{}", part("lpa", 2048) + &part("lpd", 512)))));
        assert!(c.unwrap().is_empty());
        // The loaded set and a fresh load of the same files agree.
        let fresh = load_manifests(&[
            SourceFile::new("m/frame.yaml", FRAME),
            SourceFile::new("m/a.yaml", part("lpa", 2048) + &part("lpd", 512)),
            SourceFile::new("m/c.yaml", part("lpc", 1024)),
        ])
        .unwrap();
        assert_eq!(s.estate(), &fresh);
    }

    #[test]
    fn deleting_a_file_removes_its_objects_and_other_kinds_are_reported() {
        let mut s = set();
        let c = s.update(change("m/c.yaml", None)).unwrap();
        assert_eq!(c, keys(&[(Kind::Partition, "lpc")]));
        let c = s.update(change("m/frame.yaml", Some(FRAME.replace("f0", "f1")))).unwrap();
        assert_eq!(c, keys(&[(Kind::Frame, "f0"), (Kind::Frame, "f1")]));
        assert_eq!(c.partitions_only(), None);
        let c = s.update(change("m/new.yaml", Some(part("lpc", 1024)))).unwrap();
        assert_eq!(c, keys(&[(Kind::Partition, "lpc")]));
    }

    #[test]
    fn a_bad_change_keeps_everything_as_it_was() {
        let mut s = set();
        let before = s.estate().clone();
        // Does not parse: the finding names the file and line.
        let e =
            s.update(change("m/a.yaml", Some(part("lpa", 1024) + "---\nkind: Partition\nmetadata: [\n"))).unwrap_err();
        assert_eq!(e.0[0].location.as_ref().unwrap().file, PathBuf::from("m/a.yaml"));
        assert_eq!(s.estate(), &before);
        // Defines an object another file defines: both places named, nothing changed.
        let e = s.update(change("m/a.yaml", Some(part("lpa", 4096) + &part("lpc", 1024)))).unwrap_err();
        assert_eq!(e.0[0].rule, Rule::DuplicateName);
        assert!(e.0[0].message.contains("m/c.yaml"), "{}", e.0[0].message);
        assert_eq!(s.estate(), &before);
        assert_eq!(s.estate().partitions.values().next().unwrap().spec.memory.desired_mb.0, 1024);
        // Removes every manifest.
        let mut all = change("m/a.yaml", None);
        all.extend(change("m/c.yaml", None));
        all.extend(change("m/frame.yaml", None));
        assert_eq!(s.update(all).unwrap_err().0[0].rule, Rule::NoManifests);
        assert_eq!(s.estate(), &before);
        // And the set still works afterwards.
        assert_eq!(s.update(change("m/c.yaml", None)).unwrap(), keys(&[(Kind::Partition, "lpc")]));
    }
}
