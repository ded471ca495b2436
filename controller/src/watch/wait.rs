//! Actions the loop holds back, with everything that depends on them: those of objects whose
//! last attempts failed (per-object exponential backoff, reset on success), and the start of a
//! VIOS that went down outside powerplane (its heal waits for the VIOS to come back, unless the
//! settings say `restartVios: true`).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use powerplane_model::status::LparState;
use powerplane_model::{ActionId, Estate, FrameName, Op, Plan, ViosName};

/// Objects whose actions failed: how often in a row, and when they may be tried again.
#[derive(Debug, Default)]
pub(super) struct Backoff(BTreeMap<String, (u32, Instant)>);

impl Backoff {
    /// Objects still waiting at `now`.
    fn waiting(&self, now: Instant) -> BTreeSet<String> {
        self.0.iter().filter(|(_, (_, until))| *until > now).map(|(o, _)| o.clone()).collect()
    }

    /// A success clears the object's backoff.
    pub(super) fn succeeded(&mut self, object: &str) {
        self.0.remove(object);
    }

    /// A failure doubles the object's wait, from one interval to at most an hour; returns it.
    pub(super) fn failed(&mut self, object: String, interval: Duration, now: Instant) -> Duration {
        let n = self.0.get(&object).map_or(1, |(n, _)| n + 1);
        let wait = interval.saturating_mul(1 << (n - 1).min(8)).min(Duration::from_secs(3600));
        self.0.insert(object, (n, now + wait));
        wait
    }
}

/// VIOS that went down outside powerplane and stay down until someone starts them.
#[derive(Debug, Default)]
pub(super) struct HeldVios(BTreeSet<(FrameName, ViosName)>);

impl HeldVios {
    /// Learns from two successive observations: a VIOS that was running and is not any more
    /// went down outside powerplane (powerplane's own stops are in the observation it saved);
    /// a VIOS seen running again is released.
    pub(super) fn observe(&mut self, before: &Estate, after: &Estate) -> Vec<(FrameName, ViosName)> {
        let mut went_down = Vec::new();
        for (frame, vios) in &after.status.vios {
            for (name, state) in vios {
                let key = (frame.clone(), name.clone());
                if state.is_running() {
                    self.0.remove(&key);
                    continue;
                }
                let was: Option<LparState> = before.status.vios.get(frame).and_then(|v| v.get(name)).cloned();
                if was.as_ref().is_some_and(LparState::is_running) && self.0.insert(key.clone()) {
                    went_down.push(key);
                }
            }
        }
        went_down
    }

    /// The loop's first observation: a VIOS that is down then went down before this loop
    /// watched it (a crash, someone on the HMC, an `apply` that was stopped), so it is held
    /// like one that goes down under the loop's eyes. Returns those newly held.
    pub(super) fn first(&mut self, observed: &Estate) -> Vec<(FrameName, ViosName)> {
        let mut held = Vec::new();
        for (frame, vios) in &observed.status.vios {
            for (name, state) in vios {
                if !state.is_running() && self.0.insert((frame.clone(), name.clone())) {
                    held.push((frame.clone(), name.clone()));
                }
            }
        }
        held
    }

    /// Forgets the VIOS of frames whose pair the manifests just changed: a committed decision
    /// about a VIOS replaces the hold.
    pub(super) fn release_frames(&mut self, frames: &BTreeSet<FrameName>) {
        self.0.retain(|(f, _)| !frames.contains(f));
    }

    fn holds(&self, op: &Op) -> bool {
        matches!(op, Op::StartVios { frame, vios, .. } if self.0.contains(&(frame.clone(), vios.clone())))
    }
}

/// What the loop leaves out of a plan this time, and why.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Held {
    /// Objects in backoff.
    pub backing_off: Vec<String>,
    /// VIOS starts held back.
    pub vios: Vec<String>,
    /// Actions left out in all (with their dependents).
    pub actions: usize,
}

/// The plan without the held actions and everything that depends on them.
pub(super) fn without_held(mut plan: Plan, backoff: &Backoff, vios: Option<&HeldVios>, now: Instant) -> (Plan, Held) {
    let waiting = backoff.waiting(now);
    let mut held = Held { backing_off: waiting.iter().cloned().collect(), ..Default::default() };
    let mut dropped: BTreeSet<ActionId> = BTreeSet::new();
    // Actions are in a topological order: a dependent comes after what it depends on.
    for a in &plan.actions {
        let vios_held = vios.is_some_and(|v| v.holds(&a.op));
        if vios_held {
            held.vios.push(a.op.object());
        }
        if vios_held || waiting.contains(&a.op.object()) || a.after.iter().any(|d| dropped.contains(d)) {
            dropped.insert(a.id.clone());
        }
    }
    held.actions = dropped.len();
    held.backing_off.retain(|o| plan.actions.iter().any(|a| &a.op.object() == o));
    plan.actions.retain(|a| !dropped.contains(&a.id));
    (plan, held)
}

#[cfg(test)]
mod tests {
    use powerplane_model::{Action, PartitionName};

    use super::*;

    fn frame() -> FrameName {
        FrameName::new("f").unwrap()
    }

    fn start(id: &str, partition: &str, after: &[&str]) -> Action {
        Action {
            id: ActionId(id.into()),
            op: Op::StartPartition {
                profile: powerplane_model::ProfileName::hmc_default(),
                frame: frame(),
                partition: PartitionName::new(partition).unwrap(),
                force: false,
            },
            after: after.iter().map(|a| ActionId((*a).into())).collect(),
            when: Default::default(),
            reason: String::new(),
            claims: Default::default(),
        }
    }

    #[test]
    fn backed_off_objects_and_their_dependents_wait() {
        let plan = Plan {
            actions: vec![
                start("a1", "pa", &[]),
                start("a2", "pb", &["a1"]),
                start("a3", "pc", &[]),
                start("a4", "pd", &["a2", "a3"]),
            ],
            ..Default::default()
        };
        let now = Instant::now();
        let mut backoff = Backoff::default();
        assert_eq!(backoff.failed("Partition/pa".into(), Duration::from_secs(30), now), Duration::from_secs(30));
        assert_eq!(backoff.failed("Partition/pa".into(), Duration::from_secs(30), now), Duration::from_secs(60));
        backoff.failed("Partition/pc".into(), Duration::from_secs(30), now - Duration::from_secs(31));
        let (left, held) = without_held(plan, &backoff, None, now);
        let ids: Vec<&str> = left.actions.iter().map(|a| a.id.0.as_str()).collect();
        assert_eq!(ids, vec!["a3"], "pa waits, pb and pd depend on it; pc's backoff expired");
        assert_eq!(held.backing_off, vec!["Partition/pa".to_owned()]);
        assert_eq!(held.actions, 3);
        backoff.succeeded("Partition/pa");
        assert!(backoff.waiting(now).is_empty());
    }

    fn vios_state(state: LparState) -> Estate {
        let mut e = Estate::default();
        e.status.vios.insert(frame(), BTreeMap::from([(ViosName::new("va").unwrap(), state)]));
        e
    }

    /// A VIOS seen going down is held: its start and the failback after it wait; seen running
    /// again (someone started it), it is released.
    #[test]
    fn a_vios_that_went_down_outside_is_not_restarted() {
        let va = ViosName::new("va").unwrap();
        let plan = Plan {
            actions: vec![
                Action {
                    id: ActionId("a1".into()),
                    op: Op::StartVios {
                        profile: powerplane_model::ProfileName::hmc_default(),
                        frame: frame(),
                        vios: va.clone(),
                    },
                    after: vec![],
                    when: Default::default(),
                    reason: String::new(),
                    claims: Default::default(),
                },
                start("a2", "pb", &["a1"]),
                start("a3", "pc", &[]),
            ],
            ..Default::default()
        };
        let mut vios = HeldVios::default();
        let went = vios.observe(&vios_state(LparState::Running), &vios_state(LparState::NotActivated));
        assert_eq!(went, vec![(frame(), va.clone())]);
        assert!(vios.observe(&vios_state(LparState::NotActivated), &vios_state(LparState::NotActivated)).is_empty());
        let (left, held) = without_held(plan.clone(), &Backoff::default(), Some(&vios), Instant::now());
        assert_eq!(left.actions.iter().map(|a| a.id.0.as_str()).collect::<Vec<_>>(), vec!["a3"]);
        assert_eq!(held.vios, vec!["Vios/f:va".to_owned()]);
        // `restartVios: true`: nothing held.
        assert_eq!(without_held(plan.clone(), &Backoff::default(), None, Instant::now()).0.actions.len(), 3);
        vios.observe(&vios_state(LparState::NotActivated), &vios_state(LparState::Running));
        assert_eq!(without_held(plan.clone(), &Backoff::default(), Some(&vios), Instant::now()).0.actions.len(), 3);
        // Held again, then the pair's manifest changes: released.
        vios.observe(&vios_state(LparState::Running), &vios_state(LparState::NotActivated));
        vios.release_frames(&BTreeSet::from([frame()]));
        assert_eq!(without_held(plan, &Backoff::default(), Some(&vios), Instant::now()).0.actions.len(), 3);
    }
}
