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
        let old = refresh(desired, cache, ties, &new, &fresh);
        // Nothing of these frames is in `before` and `after` yet: replacing adds them.
        before.replace_frames(&new, None, old);
        after.replace_frames(&new, None, fresh);
        seen.extend(new);
    }
}

/// Takes a fresh observation of `frames` into `cache` and `ties`; returns what it replaced.
/// The ties account for everything the cache held, so frames observed as the cache had them
/// tie nothing new: only an observation that differs is taken into the ties partition by
/// partition (which, on a large estate, costs more than the rest of a scoped replan).
pub fn refresh(
    desired: &Estate,
    cache: &mut Estate,
    ties: &mut Ties,
    frames: &BTreeSet<FrameName>,
    fresh: &Estate,
) -> Estate {
    ties.learn_objects(fresh);
    let (partitions, objects) = (ties.counted_on(frames), ties.objects_on(frames));
    let old = cache.replace_frames(frames, Some((&partitions, &objects)), fresh.clone());
    if old != *fresh {
        ties.update(desired, cache, fresh.partitions.keys().chain(old.partitions.keys()));
    }
    old
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use powerplane_model::manifest::Placement;
    use powerplane_model::plan::{Ties, apply, plan};
    use powerplane_model::testkit::{FrameGen, PartGen, bare, load, manifests};
    use powerplane_model::{Estate, FrameName, PartitionName, PlanOptions};

    /// Frames observed as the cache had them leave the ties as they were; an observation that
    /// differs (a partition moved outside powerplane) is taken in, and the partition's scope
    /// follows it to where it runs now.
    #[test]
    fn only_an_observation_that_differs_changes_the_ties() {
        let frames = vec![FrameGen::plain(64, 8), FrameGen::plain(64, 8), FrameGen::plain(64, 8)];
        let desired =
            load(&manifests(&frames, &[Some(PartGen::small(0, Some(1))), Some(PartGen::small(2, None))])).unwrap();
        let bare = bare(&frames);
        let observed = apply(&bare, &plan(&desired, &bare, PlanOptions::default()).actions);
        let f = |n: &str| FrameName::new(n).unwrap();
        let lp0 = BTreeSet::from([PartitionName::new("lp0").unwrap()]);
        let both = BTreeSet::from([f("f0"), f("f1")]);
        let part_of = |e: &Estate| e.clone().replace_frames(&both, None, Estate::default());
        let mut ties = Ties::new(&desired, &observed);
        assert_eq!(ties.scope(&desired, &lp0).frames, BTreeSet::from([f("f0")]), "lp0 may stay on f0");

        let mut cache = observed.clone();
        let old = super::refresh(&desired, &mut cache, &mut ties, &both, &part_of(&observed));
        assert_eq!(old, part_of(&observed));
        assert_eq!(cache, observed);
        assert_eq!(ties.scope(&desired, &lp0).frames, BTreeSet::from([f("f0")]));

        // lp0 now runs on f1: moved by someone on the HMC.
        let mut moved = observed.clone();
        let name = PartitionName::new("lp0").unwrap();
        moved.partitions.get_mut(&name).unwrap().spec.placement = Placement::Frame(f("f1"));
        moved.status.partitions.get_mut(&name).unwrap().frame = f("f1");
        super::refresh(&desired, &mut cache, &mut ties, &both, &part_of(&moved));
        assert_eq!(cache, moved);
        assert!(ties.scope(&desired, &lp0).frames.contains(&f("f1")), "the scope follows lp0 to f1");
    }
}
