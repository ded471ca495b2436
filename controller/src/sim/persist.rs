//! The simulator's state in the state directory: one key for the estate-wide part (seed,
//! clock, faults, settings) and one per frame. A frame's value is its JSON, VIOS, SEA, pools and
//! partitions together, compressed with zstd, so an estate of tens of thousands of partitions
//! takes a few megabytes. A change is not written here directly. It goes to the journal
//! ([`super::journal`]) as the parts it changed, a frame's own record (without its partitions)
//! or one partition. [`fold`] merges those parts into the frames at a checkpoint. Older releases
//! stored frames uncompressed, with or without their partitions beside them under `lpar/` keys.
//! Such a state is read as it is, and the first simulator that may write rewrites it in this
//! layout.

use std::collections::BTreeMap;

use powerplane_model::FrameName;
use serde::{Deserialize, Serialize};

use super::journal::{Op, TREE};
use super::state::{FORMAT, Faults, Settings, SimFrame, SimState};
use crate::store::{StateDir, StoreError};

const META: &[u8] = b"meta";
const FRAME_PREFIX: &str = "frame/";
const PARTITION_PREFIX: &str = "lpar/";
/// Error-log entries, one key each (`event/00000000000000000042`): appended, never rewritten,
/// the oldest removed beyond [`super::events::KEPT`].
const EVENT_PREFIX: &str = "event/";

fn event_key(seq: u64) -> String {
    format!("{EVENT_PREFIX}{seq:020}")
}

fn partition_key(frame: &FrameName, partition: &powerplane_model::PartitionName) -> String {
    format!("{PARTITION_PREFIX}{frame}/{partition}")
}

/// zstd's frame magic number, which starts every compressed frame (JSON starts with `{`).
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];
/// zstd's level: fast, and a frame's partitions are alike enough to shrink tenfold at it.
const LEVEL: i32 = 3;

fn encode_frame(dir: &StateDir, f: &SimFrame) -> Result<Vec<u8>, StoreError> {
    zstd::bulk::compress(&encode(dir, f)?, LEVEL).map_err(|e| dir.io(&e))
}

/// A stored frame, and whether it was in this release's (compressed) form.
fn decode_frame(dir: &StateDir, name: &str, v: &[u8]) -> Result<(SimFrame, bool), StoreError> {
    let bad = |e: &dyn std::fmt::Display| {
        dir.corrupt(format!("frame {name} of the simulated estate cannot be decoded ({e})"), FIX)
    };
    let compressed = v.starts_with(&ZSTD_MAGIC);
    let json = if compressed { zstd::stream::decode_all(v).map_err(|e| bad(&e))? } else { v.to_vec() };
    Ok((serde_json::from_slice(&json).map_err(|e| bad(&e))?, compressed))
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
        && a.copies == b.copies
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
    /// The number of the last error-log entry logged.
    #[serde(default)]
    next_event: u64,
    /// The HMCs the simulator models.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    consoles: BTreeMap<powerplane_model::HmcAddress, super::consoles::SimConsole>,
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
/// release's layout (partitions inside their frame's key). The journal is replayed first.
pub(crate) fn load_with_clock(dir: &StateDir) -> Result<Option<(SimState, SavedClock, bool)>, StoreError> {
    super::journal::recover(dir)?;
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
        let (frame, compressed) = decode_frame(dir, &name, &v)?;
        let name = FrameName::new(name).map_err(|e| dir.corrupt(e.to_string(), FIX))?;
        legacy |= !compressed;
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
        legacy = true;
        let name = powerplane_model::PartitionName::new(name).map_err(|e| bad(e.to_string()))?;
        f.partitions.insert(name, partition);
    }
    let mut events = std::collections::VecDeque::new();
    for kv in tree.scan_prefix(EVENT_PREFIX) {
        let (k, v) = kv.map_err(|e| dir.io(&e))?;
        let event: super::events::SimEvent = serde_json::from_slice(&v).map_err(|e| {
            dir.corrupt(format!("error-log entry {} cannot be decoded ({e})", String::from_utf8_lossy(&k)), FIX)
        })?;
        events.push_back(event);
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
        powering: Default::default(),
        events,
        next_event: meta.next_event,
        events_saved: meta.next_event,
        consoles: meta.consoles,
    };
    state.index_migrations();
    // A state saved before storage was modelled: its partitions' storage wired as an
    // inventory's is (in memory; saved with the next change).
    super::storage::upgrade(&mut state);
    state.index_power();
    Ok(Some((state, clock, legacy)))
}

/// Saves the whole simulated estate (replacing any other), durably, with its virtual time
/// standing still until a simulator opens it.
pub fn save(dir: &StateDir, s: &SimState) -> Result<(), StoreError> {
    save_at(dir, s, super::Clock::new(0.0))
}

/// [`save`], with the virtual time moving on at `clock`'s pace while the simulator is closed.
pub(crate) fn save_at(dir: &StateDir, s: &SimState, clock: super::Clock) -> Result<(), StoreError> {
    // Whatever the journal holds is folded in first, so that no later replay brings it back.
    super::journal::recover(dir)?;
    let tree = dir.tree(TREE)?;
    tree.clear().map_err(|e| dir.io(&e))?;
    let mut batch = sled::Batch::default();
    batch.insert(META, encode(dir, &meta(s, clock))?);
    for (name, f) in &s.frames {
        batch.insert(format!("{FRAME_PREFIX}{name}").as_bytes(), encode_frame(dir, f)?);
    }
    for e in &s.events {
        batch.insert(event_key(e.seq).as_bytes(), encode(dir, e)?);
    }
    tree.apply_batch(batch).map_err(|e| dir.io(&e))?;
    dir.flush()
}

fn meta(s: &SimState, clock: super::Clock) -> Meta {
    Meta {
        format: s.format,
        seed: s.seed,
        rng: s.rng,
        now_ms: s.now_ms,
        wall_ms: Some(super::clock::wall_ms()),
        speedup: clock.speedup(),
        faults: s.faults.clone(),
        settings: s.settings.clone(),
        next_event: s.next_event,
        consoles: s.consoles.clone(),
    }
}

/// What a frame was before a change, as far as the store is concerned.
#[derive(Debug)]
pub(crate) enum Before<'a> {
    /// As stored: only what differs from it is written.
    Stored(Option<&'a SimFrame>),
    /// Not known (changed in memory since it was last saved): written whole.
    Unknown,
    /// As stored, for a change of one partition: the frame's own part as it was, and the
    /// partition as it was (`None`: it did not exist). The frame's other partitions are as
    /// they were.
    Partition {
        shell: &'a SimFrame,
        name: &'a powerplane_model::PartitionName,
        old: Option<&'a super::state::SimPartition>,
    },
}

/// The parts that record the estate-wide part and what changed in the named frames since
/// `before`, for the journal. `s.now_ms` is the virtual time now, which moves on at `clock`'s
/// pace while the simulator is closed.
pub(crate) fn changes(
    dir: &StateDir,
    s: &SimState,
    before: &[(FrameName, Before<'_>)],
    clock: super::Clock,
) -> Result<Vec<Op>, StoreError> {
    let mut ops = vec![Op::Put(META.to_vec(), encode(dir, &meta(s, clock))?)];
    for e in s.events.iter().filter(|e| e.seq > s.events_saved) {
        ops.push(Op::Put(event_key(e.seq).into_bytes(), encode(dir, e)?));
        if let Some(old) = e.seq.checked_sub(super::events::KEPT as u64).filter(|o| *o > 0) {
            ops.push(Op::Remove(event_key(old).into_bytes()));
        }
    }
    for (f, old) in before {
        let key = format!("{FRAME_PREFIX}{f}");
        let old = match old {
            Before::Stored(old) => *old,
            Before::Unknown => {
                // Written whole: what is stored of it goes first.
                ops.push(Op::Remove(key.clone().into_bytes()));
                None
            }
            Before::Partition { shell, name, old } => {
                // Only the frame's own part and the one partition can differ.
                let Some(frame) = s.frames.get(f) else {
                    ops.push(Op::Remove(key.into_bytes()));
                    continue;
                };
                if !same_but_partitions(shell, frame) {
                    ops.push(Op::Put(key.into_bytes(), encode(dir, &frame.shell())?));
                }
                match frame.partitions.get(*name) {
                    Some(p) if *old != Some(p) => {
                        ops.push(Op::Put(partition_key(f, name).into_bytes(), encode(dir, p)?))
                    }
                    None if old.is_some() => ops.push(Op::Remove(partition_key(f, name).into_bytes())),
                    _ => {}
                }
                continue;
            }
        };
        let Some(frame) = s.frames.get(f) else {
            ops.push(Op::Remove(key.into_bytes()));
            continue;
        };
        if old.is_none_or(|o| !same_but_partitions(o, frame)) {
            ops.push(Op::Put(key.into_bytes(), encode(dir, &frame.shell())?));
        }
        for (name, p) in &frame.partitions {
            if old.and_then(|o| o.partitions.get(name)) != Some(p) {
                ops.push(Op::Put(partition_key(f, name).into_bytes(), encode(dir, p)?));
            }
        }
        if let Some(o) = old {
            for name in o.partitions.keys().filter(|n| !frame.partitions.contains_key(*n)) {
                ops.push(Op::Remove(partition_key(f, name).into_bytes()));
            }
        }
    }
    Ok(ops)
}

/// Merges journaled parts, in order, into the stored frames: the writes that bring the tree up
/// to date. A frame's own record replaces everything of it but its partitions; removing it
/// removes the frame; a partition's record is put into or removed from its frame. Folding the
/// same parts twice gives what folding them once does (a replay after a crash).
pub(crate) fn fold<'a>(dir: &StateDir, ops: impl IntoIterator<Item = &'a Op>) -> Result<sled::Batch, StoreError> {
    let tree = dir.tree(TREE)?;
    let mut batch = sled::Batch::default();
    // Each frame touched: its state as the parts so far leave it (None: removed).
    let mut frames: BTreeMap<String, Option<SimFrame>> = BTreeMap::new();
    let stored = |name: &str| -> Result<Option<SimFrame>, StoreError> {
        match tree.get(format!("{FRAME_PREFIX}{name}")).map_err(|e| dir.io(&e))? {
            Some(v) => Ok(Some(decode_frame(dir, name, &v)?.0)),
            None => Ok(None),
        }
    };
    let bad = |key: &[u8], why: &str| {
        dir.corrupt(format!("the simulator's journal writes {} {why}", String::from_utf8_lossy(key)), FIX)
    };
    for op in ops {
        let key = match op {
            Op::Put(k, _) | Op::Remove(k) => k,
        };
        if key == META || key.starts_with(EVENT_PREFIX.as_bytes()) {
            match op {
                Op::Put(k, v) => batch.insert(&k[..], &v[..]),
                Op::Remove(k) => batch.remove(&k[..]),
            }
            continue;
        }
        let text = String::from_utf8_lossy(key).into_owned();
        if let Some(name) = text.strip_prefix(FRAME_PREFIX) {
            if !frames.contains_key(name) {
                frames.insert(name.to_owned(), stored(name)?);
            }
            let slot = frames.get_mut(name).expect("just inserted");
            match op {
                Op::Remove(_) => *slot = None,
                Op::Put(_, v) => {
                    let shell: SimFrame =
                        serde_json::from_slice(v).map_err(|e| bad(key, &format!("undecodable ({e})")))?;
                    let partitions = slot.take().map(|f| f.partitions).unwrap_or_default();
                    *slot = Some(SimFrame { partitions, ..shell });
                }
            }
        } else if let Some((frame, name)) = text.strip_prefix(PARTITION_PREFIX).and_then(|k| k.split_once('/')) {
            if !frames.contains_key(frame) {
                frames.insert(frame.to_owned(), stored(frame)?);
            }
            // A part of a frame that is gone: a replay over a tree that already has everything
            // the journal holds (a crash between a checkpoint's flush and the journal's
            // truncation), in which a later record of the journal removed the frame.
            let Some(f) = frames.get_mut(frame).expect("just inserted").as_mut() else { continue };
            let name = powerplane_model::PartitionName::new(name).map_err(|e| bad(key, &e.to_string()))?;
            match op {
                Op::Remove(_) => {
                    f.partitions.remove(&name);
                }
                Op::Put(_, v) => {
                    let p = serde_json::from_slice(v).map_err(|e| bad(key, &format!("undecodable ({e})")))?;
                    f.partitions.insert(name, p);
                }
            }
        } else {
            return Err(bad(key, "under an unknown key"));
        }
    }
    for (name, f) in frames {
        let key = format!("{FRAME_PREFIX}{name}");
        match f {
            Some(f) => batch.insert(key.as_bytes(), encode_frame(dir, &f)?),
            None => batch.remove(key.as_bytes()),
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
