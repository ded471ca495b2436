//! The simulator's state in the state directory: one key for the estate-wide part (seed,
//! clock, faults, settings), one per frame (VIOS, SEA, pools) and one per partition, so that an
//! action rewrites only what it changed — a partition created, a SEA's mode — not its frame.
//! (Older releases kept a frame's partitions inside the frame's key; such a state is read as
//! it is and rewritten in this layout by the first simulator that may write.)

use std::collections::BTreeMap;

use powerplane_model::FrameName;
use serde::{Deserialize, Serialize};

use super::state::{FORMAT, Faults, Settings, SimFrame, SimState};
use crate::store::{StateDir, StoreError};

const TREE: &str = "sim";
const META: &[u8] = b"meta";
const FRAME_PREFIX: &str = "frame/";
const PARTITION_PREFIX: &str = "lpar/";

fn partition_key(frame: &FrameName, partition: &powerplane_model::PartitionName) -> String {
    format!("{PARTITION_PREFIX}{frame}/{partition}")
}

/// A frame as stored: everything but its partitions.
fn frame_record(f: &SimFrame) -> SimFrame {
    SimFrame {
        hw: f.hw.clone(),
        labels: f.labels.clone(),
        state: f.state,
        vios_pair: f.vios_pair.clone(),
        vios: f.vios.clone(),
        sea: f.sea.clone(),
        mem_pool: f.mem_pool.clone(),
        proc_pools: f.proc_pools.clone(),
        partitions: BTreeMap::new(),
    }
}

fn same_but_partitions(a: &SimFrame, b: &SimFrame) -> bool {
    a.hw == b.hw
        && a.labels == b.labels
        && a.state == b.state
        && a.vios_pair == b.vios_pair
        && a.vios == b.vios
        && a.sea == b.sea
        && a.mem_pool == b.mem_pool
        && a.proc_pools == b.proc_pools
}
const FIX: &str = "The simulated estate was left as it is; `powerplane sim init --force` replaces it with a new one (the audit trail is kept)";

#[derive(Serialize, Deserialize)]
struct Meta {
    format: u32,
    seed: u64,
    rng: u64,
    now_ms: u64,
    /// Wall-clock time (Unix ms) at which `now_ms` was the virtual time.
    #[serde(default)]
    wall_ms: Option<u64>,
    /// Virtual seconds per real second while the simulator is closed (0: none pass).
    #[serde(default)]
    speedup: f64,
    faults: Faults,
    settings: Settings,
}

/// The saved virtual time and its pace, for [`super::clock::resumed_at`].
pub(crate) struct SavedClock {
    pub now_ms: u64,
    pub wall_ms: Option<u64>,
    pub speedup: f64,
}

/// The saved simulated estate, if there is one.
pub fn load(dir: &StateDir) -> Result<Option<SimState>, StoreError> {
    Ok(load_with_clock(dir)?.map(|(s, _, _)| s))
}

/// The saved simulated estate with the clock it was saved with, and whether it is in an older
/// release's layout (partitions inside their frame's key).
pub(crate) fn load_with_clock(dir: &StateDir) -> Result<Option<(SimState, SavedClock, bool)>, StoreError> {
    let tree = dir.tree(TREE)?;
    let Some(bytes) = tree.get(META).map_err(|e| dir.io(&e))? else {
        if !tree.is_empty() {
            // Data without the estate-wide key: written by an older powerplane, or damaged.
            return Err(dir.corrupt("the simulated estate is in an older or unknown format".into(), FIX));
        }
        return Ok(None);
    };
    let meta: Meta = serde_json::from_slice(&bytes)
        .map_err(|e| dir.corrupt(format!("the simulated estate cannot be decoded ({e})"), FIX))?;
    if meta.format != FORMAT {
        return Err(dir.corrupt(
            format!("the simulated estate has format {} and this powerplane reads {FORMAT}", meta.format),
            FIX,
        ));
    }
    let mut frames: BTreeMap<FrameName, SimFrame> = BTreeMap::new();
    let mut legacy = false;
    for kv in tree.scan_prefix(FRAME_PREFIX) {
        let (k, v) = kv.map_err(|e| dir.io(&e))?;
        let name = String::from_utf8_lossy(&k[FRAME_PREFIX.len()..]).into_owned();
        let frame: SimFrame = serde_json::from_slice(&v)
            .map_err(|e| dir.corrupt(format!("frame {name} of the simulated estate cannot be decoded ({e})"), FIX))?;
        let name = FrameName::new(name).map_err(|e| dir.corrupt(e.to_string(), FIX))?;
        legacy |= !frame.partitions.is_empty();
        frames.insert(name, frame);
    }
    for kv in tree.scan_prefix(PARTITION_PREFIX) {
        let (k, v) = kv.map_err(|e| dir.io(&e))?;
        let key = String::from_utf8_lossy(&k[PARTITION_PREFIX.len()..]).into_owned();
        let bad = |why: String| dir.corrupt(format!("partition {key} of the simulated estate {why}"), FIX);
        let (frame, name) = key.split_once('/').ok_or_else(|| bad("has a malformed key".into()))?;
        let partition: super::state::SimPartition =
            serde_json::from_slice(&v).map_err(|e| bad(format!("cannot be decoded ({e})")))?;
        let f = frames.get_mut(frame).ok_or_else(|| bad("belongs to a frame the estate does not have".into()))?;
        let name = powerplane_model::PartitionName::new(name).map_err(|e| bad(e.to_string()))?;
        f.partitions.insert(name, partition);
    }
    let clock = SavedClock { now_ms: meta.now_ms, wall_ms: meta.wall_ms, speedup: meta.speedup };
    let mut state = SimState {
        format: meta.format,
        seed: meta.seed,
        rng: meta.rng,
        now_ms: meta.now_ms,
        frames,
        faults: meta.faults,
        settings: meta.settings,
        outbound: Default::default(),
    };
    state.index_migrations();
    Ok(Some((state, clock, legacy)))
}

/// Saves the whole simulated estate (replacing any other), durably, with its virtual time
/// standing still until a simulator opens it.
pub fn save(dir: &StateDir, s: &SimState) -> Result<(), StoreError> {
    save_at(dir, s, super::Clock::new(0.0))
}

/// [`save`], with the virtual time moving on at `clock`'s pace while the simulator is closed.
pub(crate) fn save_at(dir: &StateDir, s: &SimState, clock: super::Clock) -> Result<(), StoreError> {
    let tree = dir.tree(TREE)?;
    tree.clear().map_err(|e| dir.io(&e))?;
    let everything: Vec<(FrameName, Before<'_>)> = s.frames.keys().map(|f| (f.clone(), Before::Stored(None))).collect();
    write_changes(dir, s, &everything, clock)?;
    dir.flush()
}

/// What a frame was before a change, as far as the store is concerned.
#[derive(Debug)]
pub(crate) enum Before<'a> {
    /// As stored: only what differs from it is written.
    Stored(Option<&'a SimFrame>),
    /// Not known (changed in memory since it was last saved): written whole.
    Unknown,
}

/// Writes the estate-wide part and what changed in the named frames since `before`, without waiting for it to be durable (the
/// caller does, with [`StateDir::flush_group`]); `s.now_ms` is the virtual time now, which
/// moves on at `clock`'s pace while the simulator is closed.
pub(crate) fn write_changes(
    dir: &StateDir,
    s: &SimState,
    before: &[(FrameName, Before<'_>)],
    clock: super::Clock,
) -> Result<(), StoreError> {
    let batch = changes(dir, s, before, clock)?;
    apply(dir, batch)
}

/// Applies a batch made by [`changes`] (batches must be applied in the order they were made).
pub(crate) fn apply(dir: &StateDir, batch: sled::Batch) -> Result<(), StoreError> {
    dir.tree(TREE)?.apply_batch(batch).map_err(|e| dir.io(&e))
}

/// The batch that [`write_changes`] applies: made while the state is held, applied after.
pub(crate) fn changes(
    dir: &StateDir,
    s: &SimState,
    before: &[(FrameName, Before<'_>)],
    clock: super::Clock,
) -> Result<sled::Batch, StoreError> {
    let tree = dir.tree(TREE)?;
    let mut batch = sled::Batch::default();
    let meta = Meta {
        format: s.format,
        seed: s.seed,
        rng: s.rng,
        now_ms: s.now_ms,
        wall_ms: Some(super::clock::wall_ms()),
        speedup: clock.speedup(),
        faults: s.faults.clone(),
        settings: s.settings.clone(),
    };
    batch.insert(META, encode(dir, &meta)?);
    for (f, old) in before {
        let key = format!("{FRAME_PREFIX}{f}");
        let old = match old {
            Before::Stored(old) => *old,
            Before::Unknown => {
                for k in tree.scan_prefix(format!("{PARTITION_PREFIX}{f}/")).keys() {
                    batch.remove(k.map_err(|e| dir.io(&e))?);
                }
                None
            }
        };
        let Some(frame) = s.frames.get(f) else {
            batch.remove(key.as_bytes());
            for k in tree.scan_prefix(format!("{PARTITION_PREFIX}{f}/")).keys() {
                batch.remove(k.map_err(|e| dir.io(&e))?);
            }
            continue;
        };
        if old.is_none_or(|o| !same_but_partitions(o, frame)) {
            batch.insert(key.as_bytes(), encode(dir, &frame_record(frame))?);
        }
        for (name, p) in &frame.partitions {
            if old.and_then(|o| o.partitions.get(name)) != Some(p) {
                batch.insert(partition_key(f, name).as_bytes(), encode(dir, p)?);
            }
        }
        if let Some(o) = old {
            for name in o.partitions.keys().filter(|n| !frame.partitions.contains_key(*n)) {
                batch.remove(partition_key(f, name).as_bytes());
            }
        }
    }
    Ok(batch)
}

fn encode<T: Serialize>(dir: &StateDir, v: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(v).map_err(|e| dir.io(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_in_the_sim_tree_is_reported_as_damage() {
        let d = tempfile::tempdir().unwrap();
        let s = StateDir::open(d.path()).unwrap();
        s.tree(TREE).unwrap().insert(META, &b"{not json"[..]).unwrap();
        let err = load(&s).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains("sim init"));
    }
}
