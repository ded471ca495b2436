//! Opening the simulator of a state directory, creating it on first use from an inventory or
//! from the lab inventory built into the binary.

use std::path::Path;

use powerplane_model::{Diagnostic, Invalid, SourceFile};

use super::{Clock, LAB_INVENTORY, SimState, Simulator, StateDir, StoreError, realise};

/// Why no simulator could be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The state directory is unusable.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The inventory has errors.
    #[error("the inventory is invalid ({} errors)", .0.len())]
    Inventory(Vec<Diagnostic>),
}

/// Where a freshly created estate came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Created {
    /// It existed already.
    Existing,
    /// Created from this inventory path.
    FromInventory(String),
    /// Created from the built-in lab inventory.
    FromBuiltinLab,
}

/// Reads and realises an inventory (a file or directory), or the built-in lab when `None`.
pub fn build(inventory: Option<&Path>, seed: u64) -> Result<SimState, Vec<Diagnostic>> {
    let inv = match inventory {
        Some(p) => crate::manifest_dir::load_inventory(p)?,
        None => powerplane_model::load_inventory(&[SourceFile::new("<built-in lab inventory>", LAB_INVENTORY)])
            .map_err(|Invalid(d)| d)?,
    };
    realise(inv, seed)
}

/// Opens the simulator in `state_dir`; when it has none yet, creates one from `inventory` (or
/// the built-in lab) and says which.
pub fn open_or_create(
    state_dir: &Path,
    inventory: Option<&Path>,
    clock: Clock,
) -> Result<(Simulator, Created, StateDir), OpenError> {
    let store = StateDir::open(state_dir)?;
    if let Some(sim) = open_existing(&store, clock)? {
        return Ok((sim, Created::Existing, store));
    }
    let state = build(inventory, 0).map_err(OpenError::Inventory)?;
    super::persist::save(&store, &state)?;
    let created = match inventory {
        Some(p) => Created::FromInventory(p.display().to_string()),
        None => Created::FromBuiltinLab,
    };
    Ok((Simulator::new(state, Some(store.clone()), clock), created, store))
}

/// The simulator saved in `store`, if any, at the virtual time now; it persists its changes
/// there unless `store` was opened read-only.
pub fn open_existing(store: &StateDir, clock: Clock) -> Result<Option<Simulator>, StoreError> {
    let Some((mut state, saved, legacy)) = super::persist::load_with_clock(store)? else { return Ok(None) };
    state.now_ms = super::clock::resumed_at(saved.now_ms, saved.wall_ms, saved.speedup, pending_end(&state));
    let persist = (!store.is_read_only()).then(|| store.clone());
    if legacy && let Some(store) = &persist {
        // An older release's layout: rewritten once, so that a partition's own key is the only
        // place it lives.
        super::persist::save_at(store, &state, clock)?;
    }
    Ok(Some(Simulator::new(state, persist, clock)))
}

/// When the last operation in flight ends (or fails), on the virtual timeline.
fn pending_end(s: &SimState) -> u64 {
    s.outbound
        .iter()
        .filter_map(|(f, n)| s.frames.get(f)?.partitions.get(n))
        .filter_map(|p| match &p.migration {
            Some(super::state::Migration::Outbound(o)) if !o.failed => Some(o.fails_at_ms.unwrap_or(o.ends_ms)),
            _ => None,
        })
        .chain(super::power::pending_ends(s))
        .max()
        .unwrap_or(0)
}
