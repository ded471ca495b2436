//! The simulator's state in the state directory: one key for the estate-wide part (seed,
//! clock, faults, settings) and one per frame, so that an action rewrites only the frames it
//! touches, not the whole estate.

use std::collections::BTreeMap;

use powerplane_model::FrameName;
use serde::{Deserialize, Serialize};

use super::state::{FORMAT, Faults, Settings, SimFrame, SimState};
use crate::store::{StateDir, StoreError};

const TREE: &str = "sim";
const META: &[u8] = b"meta";
const FRAME_PREFIX: &str = "frame/";
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
    Ok(load_with_clock(dir)?.map(|(s, _)| s))
}

/// The saved simulated estate with the clock it was saved with.
pub(crate) fn load_with_clock(dir: &StateDir) -> Result<Option<(SimState, SavedClock)>, StoreError> {
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
    let mut frames = BTreeMap::new();
    for kv in tree.scan_prefix(FRAME_PREFIX) {
        let (k, v) = kv.map_err(|e| dir.io(&e))?;
        let name = String::from_utf8_lossy(&k[FRAME_PREFIX.len()..]).into_owned();
        let frame: SimFrame = serde_json::from_slice(&v)
            .map_err(|e| dir.corrupt(format!("frame {name} of the simulated estate cannot be decoded ({e})"), FIX))?;
        let name = FrameName::new(name).map_err(|e| dir.corrupt(e.to_string(), FIX))?;
        frames.insert(name, frame);
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
    Ok(Some((state, clock)))
}

/// Saves the whole simulated estate (replacing any other), durably, with its virtual time
/// standing still until a simulator opens it.
pub fn save(dir: &StateDir, s: &SimState) -> Result<(), StoreError> {
    let tree = dir.tree(TREE)?;
    tree.clear().map_err(|e| dir.io(&e))?;
    save_frames(dir, s, s.frames.keys(), super::Clock::new(0.0))
}

/// Saves the estate-wide part and the named frames, durably; `s.now_ms` is the virtual time
/// now, which moves on at `clock`'s pace while the simulator is closed.
pub(crate) fn save_frames<'a>(
    dir: &StateDir,
    s: &SimState,
    frames: impl IntoIterator<Item = &'a FrameName>,
    clock: super::Clock,
) -> Result<(), StoreError> {
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
    batch.insert(META, serde_json::to_vec(&meta).map_err(|e| dir.io(&e))?);
    for f in frames {
        let key = format!("{FRAME_PREFIX}{f}");
        match s.frames.get(f) {
            Some(frame) => batch.insert(key.as_bytes(), serde_json::to_vec(frame).map_err(|e| dir.io(&e))?),
            None => batch.remove(key.as_bytes()),
        }
    }
    tree.apply_batch(batch).map_err(|e| dir.io(&e))?;
    dir.flush()
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
