//! The observed-state store: the last observed estate, one record per object with when it was
//! observed and by which backend call, refreshed by `plan` and `apply` (an unchanged estate
//! only renews the snapshot's confirmation time). It is a cache — it can
//! always be rebuilt by observing again — used by `plan --refresh=false` (like terraform) and by
//! saved plans, which carry the fingerprint of the state they were made against.

use std::collections::BTreeMap;

use powerplane_model::manifest::Kind;
use powerplane_model::status::Status;
use powerplane_model::{Estate, Object};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{StateDir, StoreError};

const TREE: &str = "observed";
const META: &str = "meta";
const STATUS: &str = "status";
const FIX: &str =
    "The snapshot was left as it is; it is a cache: `powerplane plan` (with refresh, the default) rebuilds it";

/// When and how the snapshot was taken.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    /// When (RFC 3339 UTC).
    pub observed_at: String,
    /// The backend call, e.g. `observe (plan)`.
    pub source: String,
    /// SHA-256 of the observed estate.
    pub fingerprint: String,
}

#[derive(Serialize, Deserialize)]
struct Entry<T> {
    observed_at: String,
    source: String,
    value: T,
}

/// The fingerprint of an observed estate: SHA-256 of its canonical JSON (maps are ordered).
pub fn fingerprint(e: &Estate) -> String {
    let bytes = serde_json::to_vec(e).expect("estates serialize");
    crate::digest::sha256_hex(&bytes)
}

/// Replaces the snapshot with `e`, durably; returns its metadata.
pub fn save(dir: &StateDir, e: &Estate, source: &str) -> Result<Meta, StoreError> {
    let tree = dir.tree(TREE)?;
    let meta = Meta { observed_at: crate::time::now(), source: source.to_owned(), fingerprint: fingerprint(e) };
    // Unchanged since the last observation (the steady state of a reconciliation loop): only
    // the time it was confirmed changes; each object keeps when it was last seen to change.
    let stored: Option<Meta> = tree.get(META).map_err(|e| dir.io(&e))?.and_then(|b| serde_json::from_slice(&b).ok());
    if stored.is_some_and(|m| m.fingerprint == meta.fingerprint) {
        tree.insert(META, serde_json::to_vec(&meta).map_err(|e| dir.io(&e))?).map_err(|e| dir.io(&e))?;
        dir.flush()?;
        return Ok(meta);
    }
    let mut batch = sled::Batch::default();
    for k in tree.iter().keys() {
        batch.remove(k.map_err(|e| dir.io(&e))?);
    }
    let entry = |v: &dyn erased::Value| -> Result<Vec<u8>, StoreError> {
        v.to_entry(&meta.observed_at, &meta.source).map_err(|e| dir.io(&e))
    };
    batch.insert(META, serde_json::to_vec(&meta).map_err(|e| dir.io(&e))?);
    batch.insert(STATUS, entry(&e.status)?);
    let mut put = |kind: Kind, name: &str, v: &dyn erased::Value| -> Result<(), StoreError> {
        batch.insert(format!("{kind}/{name}").as_bytes(), entry(v)?);
        Ok(())
    };
    for (n, o) in &e.frames {
        put(Kind::Frame, n.as_str(), o)?;
    }
    for (n, o) in &e.hardware {
        put(Kind::FrameHardware, n.as_str(), o)?;
    }
    for (n, o) in &e.proc_pools {
        put(Kind::SharedProcessorPool, n.as_str(), o)?;
    }
    for (n, o) in &e.mem_pools {
        put(Kind::SharedMemoryPool, n.as_str(), o)?;
    }
    for (n, o) in &e.vios_pairs {
        put(Kind::ViosPair, n.as_str(), o)?;
    }
    for (n, o) in &e.seas {
        put(Kind::SharedEthernetAdapter, n.as_str(), o)?;
    }
    for (n, o) in &e.partitions {
        put(Kind::Partition, n.as_str(), o)?;
    }
    tree.apply_batch(batch).map_err(|e| dir.io(&e))?;
    dir.flush()?;
    Ok(meta)
}

/// The stored snapshot, if any.
pub fn load(dir: &StateDir) -> Result<Option<(Meta, Estate)>, StoreError> {
    let tree = dir.tree(TREE)?;
    let Some(meta) = tree.get(META).map_err(|e| dir.io(&e))? else { return Ok(None) };
    let bad = |what: &str, e: &dyn std::fmt::Display| {
        dir.corrupt(format!("the observed snapshot's {what} cannot be decoded ({e})"), FIX)
    };
    let meta: Meta = serde_json::from_slice(&meta).map_err(|e| bad("metadata", &e))?;
    let mut e = Estate::default();
    if let Some(v) = tree.get(STATUS).map_err(|e| dir.io(&e))? {
        e.status = serde_json::from_slice::<Entry<Status>>(&v).map_err(|err| bad("status", &err))?.value;
    }
    e.frames = objects(dir, &tree, Kind::Frame)?;
    e.hardware = objects(dir, &tree, Kind::FrameHardware)?;
    e.proc_pools = objects(dir, &tree, Kind::SharedProcessorPool)?;
    e.mem_pools = objects(dir, &tree, Kind::SharedMemoryPool)?;
    e.vios_pairs = objects(dir, &tree, Kind::ViosPair)?;
    e.seas = objects(dir, &tree, Kind::SharedEthernetAdapter)?;
    e.partitions = objects(dir, &tree, Kind::Partition)?;
    if fingerprint(&e) != meta.fingerprint {
        return Err(dir.corrupt("the observed snapshot does not match its fingerprint".into(), FIX));
    }
    Ok(Some((meta, e)))
}

fn objects<N, S>(dir: &StateDir, tree: &sled::Tree, kind: Kind) -> Result<BTreeMap<N, Object<N, S>>, StoreError>
where
    N: DeserializeOwned + Ord + Clone,
    S: DeserializeOwned,
{
    let prefix = format!("{kind}/");
    let mut out = BTreeMap::new();
    for kv in tree.scan_prefix(prefix.as_bytes()) {
        let (k, v) = kv.map_err(|e| dir.io(&e))?;
        let entry: Entry<Object<N, S>> = serde_json::from_slice(&v).map_err(|e| {
            dir.corrupt(format!("the observed snapshot's {} cannot be decoded ({e})", String::from_utf8_lossy(&k)), FIX)
        })?;
        out.insert(entry.value.metadata.name.clone(), entry.value);
    }
    Ok(out)
}

/// Serialising heterogeneous values into entries without generics at each call.
mod erased {
    use serde::Serialize;

    pub trait Value {
        fn to_entry(&self, at: &str, source: &str) -> serde_json::Result<Vec<u8>>;
    }

    impl<T: Serialize> Value for T {
        fn to_entry(&self, at: &str, source: &str) -> serde_json::Result<Vec<u8>> {
            serde_json::to_vec(&super::Entry { observed_at: at.to_owned(), source: source.to_owned(), value: self })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_fingerprint() {
        let d = tempfile::tempdir().unwrap();
        let dir = StateDir::open(d.path()).unwrap();
        assert!(load(&dir).unwrap().is_none());
        let inv = powerplane_model::load_inventory(&[powerplane_model::SourceFile::new(
            "i.yaml",
            crate::backend::sim::LAB_INVENTORY,
        )])
        .unwrap();
        let meta = save(&dir, &inv, "test").unwrap();
        let (back_meta, back) = load(&dir).unwrap().unwrap();
        assert_eq!(back_meta, meta);
        assert_eq!(back, inv);
        assert_eq!(fingerprint(&back), meta.fingerprint);
        // Damage is reported, with the way out.
        dir.tree(TREE).unwrap().insert("Partition/bxaix85", &b"garbage"[..]).unwrap();
        let err = load(&dir).unwrap_err().to_string();
        assert!(err.contains("cache") && err.contains("Partition/bxaix85"), "{err}");
    }
}
