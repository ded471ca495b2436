//! Manifests describing an estate, one file per frame: what `import` writes so that a
//! brownfield estate can be adopted (review it, commit it, and `plan` shows no changes).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::estate::{Estate, Object};
use crate::manifest::{ApiVersion, Document, Kind, Placement};
use crate::names::FrameName;
use crate::yaml::to_yaml;

/// The manifests of `estate`, by frame, each a multi-document YAML text with a header line.
pub fn manifests(estate: &Estate, header: &str) -> BTreeMap<FrameName, String> {
    let ix = estate.index();
    let mut out: BTreeMap<FrameName, Vec<String>> = BTreeMap::new();
    for (name, f) in &estate.frames {
        let docs = out.entry(name.clone()).or_default();
        docs.push(doc(Kind::Frame, f));
        for pair in ix.pairs_on(name) {
            docs.push(doc(Kind::ViosPair, pair));
            for sea in ix.seas_of(&pair.metadata.name) {
                docs.push(doc(Kind::SharedEthernetAdapter, sea));
            }
        }
        for pool in estate.proc_pools.values().filter(|p| &p.spec.frame == name) {
            docs.push(doc(Kind::SharedProcessorPool, pool));
        }
        if let Some(pool) = ix.mem_pool_on(name) {
            docs.push(doc(Kind::SharedMemoryPool, pool));
        }
    }
    for p in estate.partitions.values() {
        if let Placement::Frame(f) = &p.spec.placement
            && let Some(docs) = out.get_mut(f)
        {
            docs.push(doc(Kind::Partition, p));
        }
    }
    // A cluster goes with its first member's frame.
    for c in estate.clusters.values() {
        let home = c.spec.members.iter().find_map(|m| match &estate.partitions.get(m)?.spec.placement {
            Placement::Frame(f) => Some(f),
            _ => None,
        });
        if let Some(docs) = home.and_then(|f| out.get_mut(f)) {
            docs.push(doc(Kind::Cluster, c));
        }
    }
    out.into_iter().map(|(f, docs)| (f, format!("{header}\n{}", docs.join("---\n")))).collect()
}

fn doc<N: Serialize + Clone, S: Serialize + Clone>(kind: Kind, o: &Object<N, S>) -> String {
    to_yaml(&Document {
        api_version: ApiVersion::V1,
        kind: kind.as_str().to_owned(),
        metadata: o.metadata.clone(),
        spec: Some(o.spec.clone()),
    })
}

#[cfg(test)]
mod tests {
    use crate::load::load_manifests;
    use crate::source::SourceFile;

    #[test]
    fn exported_manifests_load_back_to_the_same_estate() {
        let text = "apiVersion: powerplane/v1\nkind: Frame\nmetadata: {name: fa, labels: {site: x}}\n---\napiVersion: powerplane/v1\nkind: ViosPair\nmetadata: {name: pa}\nspec: {frame: fa, members: [{name: va1}, {name: va2, state: stopped}]}\n---\napiVersion: powerplane/v1\nkind: Partition\nmetadata: {name: p1}\nspec:\n  placement: {frame: fa}\n  processors: {units: 0.25, virtual: 1}\n  memory: {mode: shared, desiredMB: 1024, maxMB: 2048, paging: {redundancy: required, primary: 2}}\n  network: [{vlan: 10}]\n";
        let e = load_manifests(&[SourceFile::new("a.yaml", text)]).unwrap();
        let files = super::manifests(&e, "# imported");
        assert_eq!(files.len(), 1);
        let out = &files.values().next().unwrap();
        assert!(out.starts_with("# imported\napiVersion: powerplane/v1\nkind: Frame\n"), "{out}");
        let back = load_manifests(&[SourceFile::new("fa.yaml", out.as_bytes().to_vec())]).unwrap();
        assert_eq!(back.partitions.values().next().unwrap().spec, e.partitions.values().next().unwrap().spec);
        assert_eq!(back.vios_pairs.values().next().unwrap().spec, e.vios_pairs.values().next().unwrap().spec);
        assert_eq!(back.frames.values().next().unwrap().metadata, e.frames.values().next().unwrap().metadata);
    }
}
