//! The fast path of the loop: after a change to a few partitions, observe only the frames the
//! change can affect (the model's [`Scope`]), take them into the cached observation, and plan
//! that scope. The full resync on the interval covers everything else.

use std::collections::BTreeSet;

use powerplane_model::plan::{Scope, Ties};
use powerplane_model::{Estate, FrameName, PartitionName};

use crate::backend::{BackendError, Hypervisor};

/// A scope observed afresh: the scope, and for drift detection what the cache said about its
/// frames before and what the backend says now.
pub struct Observed {
    /// The frames and partitions planned.
    pub scope: Scope,
    /// The cached observation of those frames, replaced.
    pub before: Estate,
    /// The fresh observation of those frames.
    pub after: Estate,
}

/// Observes the frames a change to `changed` can affect and takes them into `cache`; `ties`
/// (kept by the loop, see [`Ties`]) learns the changed partitions and those observed again. A
/// fresh observation can tie more frames (a partition moved meanwhile); the scope grows until
/// it holds still.
pub async fn observe_scope<H: Hypervisor>(
    backend: &H,
    desired: &Estate,
    cache: &mut Estate,
    ties: &mut Ties,
    changed: &BTreeSet<PartitionName>,
) -> Result<Observed, BackendError> {
    ties.update(desired, cache, changed);
    let mut seen: BTreeSet<FrameName> = BTreeSet::new();
    let mut before = Estate::default();
    let mut after = Estate::default();
    loop {
        let scope = ties.scope(desired, changed);
        let new: BTreeSet<FrameName> = scope.frames.difference(&seen).cloned().collect();
        if new.is_empty() {
            return Ok(Observed { scope, before, after });
        }
        let fresh = backend.observe_frames(&new).await?;
        let old = refresh(desired, cache, ties, &new, fresh.clone());
        // Nothing of these frames is in `before` and `after` yet: replacing adds them.
        before.replace_frames(&new, None, old);
        after.replace_frames(&new, None, fresh);
        seen.extend(new);
    }
}

/// Takes a fresh observation of `frames` into `cache` and `ties`; returns what it replaced.
pub fn refresh(
    desired: &Estate,
    cache: &mut Estate,
    ties: &mut Ties,
    frames: &BTreeSet<FrameName>,
    fresh: Estate,
) -> Estate {
    let names: BTreeSet<PartitionName> = fresh.partitions.keys().cloned().collect();
    let old = cache.replace_frames(frames, Some(&ties.counted_on(frames)), fresh);
    ties.update(desired, cache, names.iter().chain(old.partitions.keys()));
    old
}
