//! What could not be observed is held, never guessed (DESIGN §5): a frame the backend lists but
//! cannot observe (a state other than `Operating`, an `HSCL` error), a VIOS whose own listings
//! failed, a partition whose state this version does not know. Nothing is planned against
//! them, and the plan says so in `deferred`, so that `plan`, `drift` and `status` exit 2 with the
//! value named until they can be observed.
//!
//! Two places: [`hold`] takes out of the desired estate what lives on a set-aside frame, and
//! the partitions that may be there or are unknown (so that validation does not report a frame
//! as missing and the planner does not create a partition that may exist where it cannot see);
//! [`Held::filter`] removes every step that touches what is unknown, and what waits for such a
//! step.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use super::step::Step;
use crate::action::Op;
use crate::estate::Estate;
use crate::manifest::Placement;
use crate::names::{FrameName, PartitionName, ViosName};

/// The estates to plan with once the unobserved is held, and what is held.
pub(crate) struct Held<'a> {
    /// The desired estate without what waits.
    pub desired: Cow<'a, Estate>,
    /// Frames set aside.
    frames: BTreeSet<FrameName>,
    /// VIOS whose devices are unknown, with their frame.
    vios: BTreeSet<(FrameName, ViosName)>,
    /// Partitions nothing is planned against.
    partitions: BTreeSet<PartitionName>,
    /// What the plan reports as deferred.
    pub notes: Vec<String>,
}

impl Held<'_> {
    /// Whether nothing is held (the common case: the estates are used as they are).
    pub fn is_empty(&self) -> bool {
        self.notes.is_empty()
    }

    /// Whether `partition` is held.
    pub fn holds_partition(&self, partition: &PartitionName) -> bool {
        self.partitions.contains(partition)
    }

    /// Why `op` must wait, if it touches what is held.
    fn why(&self, op: &Op) -> Option<String> {
        if let Some(f) = op.frames().into_iter().find(|f| self.frames.contains(*f)) {
            return Some(format!("frame {f} is set aside"));
        }
        if let Some(p) = op.partition().filter(|p| self.partitions.contains(*p)) {
            return Some(format!("partition {p} is not known well enough to act on"));
        }
        for (f, v) in &self.vios {
            let named = op.vios().contains(&v);
            // What lands on the frame needs its VIOS: its network, storage and paging.
            let arrives = match op {
                Op::CreatePartition { frame, .. } | Op::SwitchPagingVios { frame, .. } => frame == f,
                Op::ValidateMigration { to, .. } | Op::MigratePartition { to, .. } => to == f,
                _ => false,
            };
            // The pair acts as one: a SEA failover pair, paging through both, the last VIOS
            // running. While one member is unknown, nothing is done to the other either (a SEA
            // switched on one side only, the partner stopped while this one may be down).
            let pair_level = !op.vios().is_empty();
            if (named || arrives || pair_level) && op.frames().contains(&f) {
                return Some(format!("VIOS {v} on {f} could not be listed"));
            }
        }
        None
    }

    /// Removes the steps that touch what is held, and every step that waits for one, noting
    /// each; the dependencies of the rest are renumbered.
    pub fn filter(&self, steps: Vec<Step>, deferred: &mut Vec<String>) -> Vec<Step> {
        if self.is_empty() {
            return steps;
        }
        let mut why: Vec<Option<String>> = steps.iter().map(|s| self.why(&s.op)).collect();
        // What waits for a held step waits too (dependencies may point either way in push
        // order, so until nothing changes).
        loop {
            let mut changed = false;
            for (i, s) in steps.iter().enumerate() {
                if why[i].is_none()
                    && let Some(d) = s.deps.iter().find(|d| why[**d].is_some())
                {
                    why[i] = Some(format!("it waits for `{}`, which is held", steps[*d].op.command()));
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        let mut renumber = vec![None; steps.len()];
        let mut kept = Vec::with_capacity(steps.len());
        for (i, (s, w)) in steps.into_iter().zip(why).enumerate() {
            match w {
                Some(w) => deferred.push(format!("{}: `{}` waits: {w}", s.op.object(), s.op.command())),
                None => {
                    renumber[i] = Some(kept.len());
                    kept.push(s);
                }
            }
        }
        for s in &mut kept {
            s.deps = s.deps.iter().filter_map(|d| renumber[*d]).collect();
        }
        kept
    }
}

/// Takes out of `desired` what cannot be planned because `observed` could not see it, and
/// says why.
pub(crate) fn hold<'a>(desired: &'a Estate, observed: &Estate) -> Held<'a> {
    let st = &observed.status;
    let mut held = Held {
        desired: Cow::Borrowed(desired),
        frames: st.set_aside.keys().cloned().collect(),
        vios: BTreeSet::new(),
        partitions: BTreeSet::new(),
        notes: Vec::new(),
    };
    if !st.has_unknowns() {
        return held;
    }
    for (f, why) in &st.set_aside {
        held.notes.push(format!(
            "Frame/{f}: set aside, not observed ({why}); nothing is planned on it until it can be observed"
        ));
    }
    for (f, vios) in &st.unknown_vios {
        for (v, why) in vios {
            held.vios.insert((f.clone(), v.clone()));
            held.notes.push(format!(
                "VIOS {v} on {f}: its adapters and disks could not be listed ({why}); changes that need it wait"
            ));
        }
    }
    let mut unknown: BTreeMap<&PartitionName, String> =
        st.unknown_partitions.iter().map(|(n, why)| (n, why.clone())).collect();
    for (n, p) in &st.partitions {
        if !p.state.is_plannable() {
            unknown.entry(n).or_insert_with(|| format!("its state on {} is {:?}", p.frame, p.state.as_str()));
        } else if let Some(m) = p.migration.as_ref().filter(|m| !m.state.is_known()) {
            unknown.entry(n).or_insert_with(|| format!("its migration state is {:?}", m.state.as_str()));
        }
    }
    for (n, why) in &unknown {
        held.partitions.insert((*n).clone());
        held.notes.push(format!("Partition/{n}: {why}, which powerplane does not know; nothing is planned against it"));
    }
    // Desired partitions that may be on a set-aside frame, or move to one.
    let aside = &st.set_aside;
    for (n, p) in &desired.partitions {
        if held.partitions.contains(n) {
            continue;
        }
        let seen = st.partitions.get(n).filter(|_| observed.partitions.contains_key(n));
        let pinned_aside = match &p.spec.placement {
            Placement::Frame(f) => aside.contains_key(f).then_some(f),
            _ => None,
        };
        let why = match (seen, pinned_aside) {
            (None, Some(f)) => format!("it is placed on {f}, which is set aside: it may exist there"),
            (Some(s), Some(f)) => format!("it would move from {} to {f}, which is set aside", s.frame),
            (None, None) if !aside.is_empty() => format!(
                "it is observed nowhere, and it may be on {}, set aside; it is not created until that can be observed",
                aside.keys().map(ToString::to_string).collect::<Vec<_>>().join(", ")
            ),
            _ => continue,
        };
        held.partitions.insert(n.clone());
        held.notes.push(format!("Partition/{n}: waits: {why}"));
    }
    let touches_aside = |f: &FrameName| aside.contains_key(f);
    let pairs_aside: BTreeSet<_> =
        desired.vios_pairs.values().filter(|p| touches_aside(&p.spec.frame)).map(|p| p.metadata.name.clone()).collect();
    let clusters_held: BTreeSet<_> = desired
        .clusters
        .values()
        .filter(|c| c.spec.members.iter().any(|m| held.partitions.contains(m)))
        .map(|c| c.metadata.name.clone())
        .collect();
    for c in &clusters_held {
        held.notes.push(format!("Cluster/{c}: waits: a member is held"));
    }
    if aside.is_empty()
        && held.partitions.iter().all(|p| !desired.partitions.contains_key(p))
        && clusters_held.is_empty()
    {
        return held;
    }
    let mut d = desired.clone();
    d.proc_pools.retain(|_, p| !touches_aside(&p.spec.frame));
    d.mem_pools.retain(|_, p| !touches_aside(&p.spec.frame));
    d.vios_pairs.retain(|n, _| !pairs_aside.contains(n));
    d.seas.retain(|_, s| !pairs_aside.contains(&s.spec.vios_pair));
    d.partitions.retain(|n, _| !held.partitions.contains(n));
    d.clusters.retain(|n, _| !clusters_held.contains(n));
    held.desired = Cow::Owned(d);
    held
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{frame, lab_converged, lab_desired, lab_observed, partition};
    use super::super::{PlanOptions, plan};
    use crate::names::ViosName;
    use crate::status::LparState;

    /// The converged lab, with the lab's desired state that the simulator starts from.
    fn lab() -> (crate::estate::Estate, crate::estate::Estate) {
        (lab_desired(), lab_converged())
    }

    #[test]
    fn a_set_aside_frame_is_named_and_nothing_is_planned_on_it() {
        let (desired, mut observed) = lab();
        let js = frame("js22_slot13");
        // What an HMC shows of a frame in No Connection: its name and why, nothing of it.
        observed.status.set_aside.insert(js.clone(), "its state is No Connection".into());
        observed.hardware.remove(&js);
        observed.frames.remove(&js);
        observed.vios_pairs.retain(|_, p| p.spec.frame != js);
        observed.seas.retain(|_, s| observed.vios_pairs.contains_key(&s.spec.vios_pair));
        let gone: Vec<_> =
            observed.status.partitions.iter().filter(|(_, s)| s.frame == js).map(|(n, _)| n.clone()).collect();
        for n in &gone {
            observed.partitions.remove(n);
            observed.status.partitions.remove(n);
        }
        assert!(!gone.is_empty(), "the frame had partitions");
        let p = plan(&desired, &observed, PlanOptions::default());
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert!(
            p.deferred.iter().any(|d| d.starts_with("Frame/js22_slot13: set aside") && d.contains("No Connection"))
        );
        for n in &gone {
            assert!(p.deferred.iter().any(|d| d.contains(n.as_str())), "{n} waits: {:?}", p.deferred);
        }
        assert!(p.actions.iter().all(|a| !a.op.frames().contains(&&js)), "{:?}", p.actions);
        assert!(!p.is_empty(), "a plan that holds something is not empty");
    }

    #[test]
    fn an_unknown_vios_holds_what_names_it_and_what_waits_for_that() {
        // The lab as it starts: p72's SEA goes to load sharing, primary (p72vio1) first.
        let (desired, mut observed) = (lab_desired(), lab_observed());
        let p72 = frame("p72");
        let vio2 = ViosName::new("p72vio2").unwrap();
        observed.status.unknown_vios.entry(p72.clone()).or_default().insert(vio2.clone(), "HSCL2970".into());
        let before = plan(&desired, &lab_observed(), PlanOptions::default());
        let after = plan(&desired, &observed, PlanOptions::default());
        assert!(after.errors.is_empty(), "{:?}", after.errors);
        assert!(after.deferred.iter().any(|d| d.contains("p72vio2") && d.contains("HSCL2970")), "{:?}", after.deferred);
        // Every action naming the VIOS is held, and so is every action after one.
        assert!(after.actions.iter().all(|a| !a.op.command().contains("p72vio2")), "{:?}", after.actions);
        let held: Vec<_> = before.actions.iter().filter(|a| a.op.command().contains("p72vio2")).collect();
        assert!(!held.is_empty(), "the lab plans something on p72vio2");
        // Its partner's half of the SEA change waits too: the pair acts as one.
        assert!(before.actions.iter().any(|a| a.op.command().contains("p72vio1")));
        assert!(after.actions.iter().all(|a| !a.op.command().contains("p72vio1")), "{:?}", after.actions);
        for h in held {
            assert!(after.deferred.iter().any(|d| d.contains(&h.op.command())), "{} is said to wait", h.op.command());
        }
    }

    #[test]
    fn a_partition_in_an_unknown_state_is_never_acted_on() {
        let (mut desired, mut observed) = lab();
        let name = partition("bxaix85");
        observed.status.partitions.get_mut(&name).unwrap().state = LparState::Other("Hibernating".into());
        // Even a change the manifests ask for waits.
        desired.partitions.get_mut(&name).unwrap().spec.state = crate::manifest::RunState::Stopped;
        let p = plan(&desired, &observed, PlanOptions::default());
        assert!(p.actions.iter().all(|a| !a.op.object().ends_with("/bxaix85")), "{:?}", p.actions);
        assert!(p.deferred.iter().any(|d| d.contains("bxaix85") && d.contains("Hibernating")), "{:?}", p.deferred);
        // Known again: the stop is planned.
        observed.status.partitions.get_mut(&name).unwrap().state = LparState::Running;
        let p = plan(&desired, &observed, PlanOptions::default());
        assert!(p.actions.iter().any(|a| a.op.object().ends_with("/bxaix85")));
    }
}
