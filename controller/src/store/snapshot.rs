//! The observed-state store: the last observed estate and when and by which backend call it
//! was observed, refreshed by `plan` and `apply` (an unchanged estate only renews the
//! snapshot's confirmation time). The estate is one record: its canonical JSON, compressed
//! with zstd. The fingerprint is taken over the same bytes, so a load checks them without
//! serializing again. An estate of tens of thousands of partitions is a few megabytes. Older
//! releases wrote one record per object, and those are still read. It is a cache, and can always be
//! rebuilt by observing again. `plan --refresh=false` reads it (like terraform), and so do saved
//! plans, which carry the fingerprint of the state they were made against.

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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = SnapshotMeta)]
pub struct Meta {
    /// When (RFC 3339 UTC).
    pub observed_at: String,
    /// The backend call, e.g. `observe (plan)`.
    pub source: String,
    /// SHA-256 of the observed estate.
    pub fingerprint: String,
}

/// A stored observation with its metadata, as `GET /api/v1/estate` serves it.
#[derive(Debug, Deserialize)]
pub struct Stored {
    /// When and how it was taken.
    pub meta: Meta,
    /// What was observed.
    pub estate: Estate,
}

/// An object as older releases stored it.
#[derive(Deserialize)]
struct Entry<T> {
    value: T,
}

/// The fingerprint of an observed estate: SHA-256 of its canonical JSON (maps are ordered).
pub fn fingerprint(e: &Estate) -> String {
    let bytes = serde_json::to_vec(e).expect("estates serialize");
    crate::digest::sha256_hex(&bytes)
}

/// The key of the compressed estate.
const ESTATE: &str = "estate";
/// zstd's level: fast, and an estate's JSON is repetitive enough to shrink tenfold at it.
const LEVEL: i32 = 3;

/// Replaces the snapshot with `e`, durably; returns its metadata.
pub fn save(dir: &StateDir, e: &Estate, source: &str) -> Result<Meta, StoreError> {
    save_json(dir, e, source).map(|(meta, _)| meta)
}

/// [`save`], also returning the estate's JSON as it was stored (what the API serves).
pub fn save_json(dir: &StateDir, e: &Estate, source: &str) -> Result<(Meta, Vec<u8>), StoreError> {
    let tree = dir.tree(TREE)?;
    let json = serde_json::to_vec(e).map_err(|e| dir.io(&e))?;
    let meta = Meta {
        observed_at: crate::time::now(),
        source: source.to_owned(),
        fingerprint: crate::digest::sha256_hex(&json),
    };
    // Unchanged since the last observation (the steady state of a reconciliation loop): only
    // the time it was confirmed changes.
    let stored: Option<Meta> = tree.get(META).map_err(|e| dir.io(&e))?.and_then(|b| serde_json::from_slice(&b).ok());
    if stored.is_some_and(|m| m.fingerprint == meta.fingerprint) && tree.contains_key(ESTATE).map_err(|e| dir.io(&e))? {
        tree.insert(META, serde_json::to_vec(&meta).map_err(|e| dir.io(&e))?).map_err(|e| dir.io(&e))?;
        dir.flush()?;
        return Ok((meta, json));
    }
    let compressed = zstd::bulk::compress(&json, LEVEL).map_err(|e| dir.io(&e))?;
    let mut batch = sled::Batch::default();
    for k in tree.iter().keys() {
        batch.remove(k.map_err(|e| dir.io(&e))?);
    }
    batch.insert(META, serde_json::to_vec(&meta).map_err(|e| dir.io(&e))?);
    batch.insert(ESTATE, compressed);
    tree.apply_batch(batch).map_err(|e| dir.io(&e))?;
    dir.flush()?;
    Ok((meta, json))
}

/// Renews the confirmation time of the stored snapshot when it still holds the estate of
/// `fingerprint`, without serializing the estate again: the watch loop's path after a change
/// whose scoped observation found its frames as the snapshot has them (serializing and hashing
/// the whole observed estate for that was most of the loop's CPU on a large estate). `None`
/// when the snapshot holds another estate (or none): the caller saves it whole.
pub fn confirm(dir: &StateDir, fingerprint: &str, source: &str) -> Result<Option<Meta>, StoreError> {
    let tree = dir.tree(TREE)?;
    let stored: Option<Meta> = tree.get(META).map_err(|e| dir.io(&e))?.and_then(|b| serde_json::from_slice(&b).ok());
    if stored.is_none_or(|m| m.fingerprint != fingerprint) || !tree.contains_key(ESTATE).map_err(|e| dir.io(&e))? {
        return Ok(None);
    }
    let meta = Meta { observed_at: crate::time::now(), source: source.to_owned(), fingerprint: fingerprint.to_owned() };
    tree.insert(META, serde_json::to_vec(&meta).map_err(|e| dir.io(&e))?).map_err(|e| dir.io(&e))?;
    dir.flush()?;
    Ok(Some(meta))
}

/// What the snapshot in `db` says of itself (`observe (plan)` at a time), when there is one:
/// evidence that the state directory has history.
pub(crate) fn describe(db: &sled::Db) -> sled::Result<Option<String>> {
    let tree = db.open_tree(TREE)?;
    let Some(meta) = tree.get(META)? else { return Ok(None) };
    Ok(Some(match serde_json::from_slice::<Meta>(&meta) {
        Ok(m) => format!("an observed snapshot of the estate ({} at {})", m.source, m.observed_at),
        Err(_) => "an observed snapshot of the estate".to_owned(),
    }))
}

/// The stored snapshot, if any.
pub fn load(dir: &StateDir) -> Result<Option<(Meta, Estate)>, StoreError> {
    let tree = dir.tree(TREE)?;
    let Some(meta) = tree.get(META).map_err(|e| dir.io(&e))? else { return Ok(None) };
    let bad = |what: &str, e: &dyn std::fmt::Display| undecodable(dir, what, e);
    let meta: Meta = serde_json::from_slice(&meta).map_err(|e| bad("metadata", &e))?;
    let Some(compressed) = tree.get(ESTATE).map_err(|e| dir.io(&e))? else {
        return load_per_object(dir, &tree, meta).map(Some);
    };
    let json = zstd::stream::decode_all(&compressed[..]).map_err(|e| bad("estate", &e))?;
    if crate::digest::sha256_hex(&json) != meta.fingerprint {
        return Err(mismatched(dir));
    }
    let e: Estate = serde_json::from_slice(&json).map_err(|e| bad("estate", &e))?;
    Ok(Some((meta, e)))
}

fn undecodable(dir: &StateDir, what: &str, e: &dyn std::fmt::Display) -> StoreError {
    dir.corrupt(format!("the observed snapshot's {what} cannot be decoded ({e})"), FIX)
}

fn mismatched(dir: &StateDir) -> StoreError {
    dir.corrupt("the observed snapshot does not match its fingerprint".into(), FIX)
}

/// A snapshot written by an older release: one record per object.
fn load_per_object(dir: &StateDir, tree: &sled::Tree, meta: Meta) -> Result<(Meta, Estate), StoreError> {
    let bad = |what: &str, e: &dyn std::fmt::Display| undecodable(dir, what, e);
    let mut e = Estate::default();
    if let Some(v) = tree.get(STATUS).map_err(|e| dir.io(&e))? {
        e.status = serde_json::from_slice::<Entry<Status>>(&v).map_err(|err| bad("status", &err))?.value;
    }
    e.frames = objects(dir, tree, Kind::Frame)?;
    e.hardware = objects(dir, tree, Kind::FrameHardware)?;
    e.proc_pools = objects(dir, tree, Kind::SharedProcessorPool)?;
    e.mem_pools = objects(dir, tree, Kind::SharedMemoryPool)?;
    e.vios_pairs = objects(dir, tree, Kind::ViosPair)?;
    e.seas = objects(dir, tree, Kind::SharedEthernetAdapter)?;
    e.partitions = objects(dir, tree, Kind::Partition)?;
    if fingerprint(&e) != meta.fingerprint {
        return Err(mismatched(dir));
    }
    Ok((meta, e))
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
        let entry: Entry<Object<N, S>> =
            serde_json::from_slice(&v).map_err(|e| undecodable(dir, &String::from_utf8_lossy(&k), &e))?;
        out.insert(entry.value.metadata.name.clone(), entry.value);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_fingerprint() {
        let d = tempfile::tempdir().unwrap();
        let dir = StateDir::open(d.path()).unwrap();
        assert!(load(&dir).unwrap().is_none());
        let inv =
            powerplane_model::load_inventory(&[powerplane_model::SourceFile::new("i.yaml", crate::sim::LAB_INVENTORY)])
                .unwrap();
        let meta = save(&dir, &inv, "test").unwrap();
        let (back_meta, back) = load(&dir).unwrap().unwrap();
        assert_eq!(back_meta, meta);
        assert_eq!(back, inv);
        assert_eq!(fingerprint(&back), meta.fingerprint);
        // Damage is reported, with the way out.
        let tree = dir.tree(TREE).unwrap();
        let mut stored = tree.get(ESTATE).unwrap().unwrap().to_vec();
        let n = stored.len();
        stored[n / 2] ^= 0x40;
        tree.insert(ESTATE, stored).unwrap();
        let err = load(&dir).unwrap_err().to_string();
        assert!(err.contains("cache") && err.contains("snapshot"), "{err}");
    }

    #[test]
    fn a_snapshot_of_one_record_per_object_from_an_older_release_is_read() {
        let d = tempfile::tempdir().unwrap();
        let dir = StateDir::open(d.path()).unwrap();
        let inv =
            powerplane_model::load_inventory(&[powerplane_model::SourceFile::new("i.yaml", crate::sim::LAB_INVENTORY)])
                .unwrap();
        let tree = dir.tree(TREE).unwrap();
        let meta = Meta {
            observed_at: "2026-11-01T00:00:00.000Z".into(),
            source: "observe (plan)".into(),
            fingerprint: fingerprint(&inv),
        };
        tree.insert(META, serde_json::to_vec(&meta).unwrap()).unwrap();
        let entry = |v: serde_json::Value| {
            serde_json::to_vec(&serde_json::json!({"observed_at": meta.observed_at, "source": meta.source, "value": v}))
                .unwrap()
        };
        tree.insert(STATUS, entry(serde_json::to_value(&inv.status).unwrap())).unwrap();
        let all = serde_json::to_value(&inv).unwrap();
        for (kind, section) in [
            (Kind::Frame, "frames"),
            (Kind::FrameHardware, "hardware"),
            (Kind::SharedProcessorPool, "proc_pools"),
            (Kind::SharedMemoryPool, "mem_pools"),
            (Kind::ViosPair, "vios_pairs"),
            (Kind::SharedEthernetAdapter, "seas"),
            (Kind::Partition, "partitions"),
        ] {
            for (name, o) in all[section].as_object().unwrap_or_else(|| panic!("{section} in {all}")) {
                tree.insert(format!("{kind}/{name}"), entry(o.clone())).unwrap();
            }
        }
        let (back_meta, back) = load(&dir).unwrap().unwrap();
        assert_eq!(back_meta, meta);
        assert_eq!(back, inv);
        // The next save writes the compressed record in its place.
        save(&dir, &inv, "test").unwrap();
        assert_eq!(tree.len(), 2);
        assert_eq!(load(&dir).unwrap().unwrap().1, inv);
    }
}
