//! The run state of a plan being executed, as a pure state machine (issue 34): which actions
//! may start now and what an ended action makes ready or skipped. The engine
//! (`powerplane_controller::engine`) does the I/O around it — backend calls, audit records,
//! progress — in the shape of raft-rs's `Ready`/`advance`: it asks [`Run::ready`] what to
//! start (and what was settled without running), starts those, and reports each end with
//! [`Run::advance`]. Nothing here does I/O or reads a clock.
//!
//! An action's `when` says what its prerequisites' outcomes must be ([`When`]): the default
//! needs them all to have succeeded, and is skipped (naming the failed action) otherwise;
//! clean-up ([`When::Ended`]) follows them however they ended, also while the controller
//! drains; an `onFailure` step ([`When::Failed`]) runs only when one of them failed or was
//! skipped, and is not needed when all succeeded. Ready actions start by rank and within the
//! limits and the capacity ([`Dispatch`]); what waits for capacity that nothing running gives
//! back is held, with the reason.

use std::cmp::Reverse;
use std::collections::BTreeSet;

use super::dispatch::Dispatch;
use crate::action::{Action, ActionId, When};

/// How an action that started ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ran {
    /// It succeeded.
    Succeeded,
    /// It failed (refused, or still failing after its retries).
    Failed,
    /// The controller stopped waiting for it; the backend may still be carrying it out.
    LeftRunning,
}

/// How an action ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum End {
    /// It started and ended so.
    Ran(Ran),
    /// An `onFailure` step whose prerequisites all succeeded.
    NotNeeded,
    /// It needed success of a prerequisite that did not succeed; `because` is the action
    /// that failed (or was held, or left running) at the root.
    Skipped {
        /// The root cause.
        because: ActionId,
    },
    /// Not started: the controller was stopping, or what it follows was not started.
    NotStarted,
    /// Held back: the caller's gate said so (a maintenance window it would overrun), or the
    /// capacity it waits for is not given back by anything running.
    Held {
        /// Why.
        reason: String,
    },
}

impl End {
    /// Whether a dependant that needs success may go ahead after this.
    fn ok(&self) -> bool {
        matches!(self, End::Ran(Ran::Succeeded) | End::NotNeeded)
    }
}

/// What may start now: everything, only clean-up (a drain), or nothing (abandoning, or the
/// audit trail cannot be written).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Admit {
    /// Whatever is ready.
    #[default]
    All,
    /// Only clean-up (`when` other than [`When::Succeeded`]); the rest is not started.
    CleanUpOnly,
    /// Nothing; what is ready is not started.
    Nothing,
}

/// What one call to [`Run::ready`] decided.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ready {
    /// Actions settled without starting, in the order they were settled (each with what it
    /// made of its dependants after it).
    pub settled: Vec<(usize, End)>,
    /// Actions to start now (indexes into the plan's actions), highest rank first.
    pub start: Vec<usize>,
}

/// The run state of a plan: how each action ended, what is ready, what runs.
#[derive(Clone, Debug)]
pub struct Run<'a> {
    actions: &'a [Action],
    deps: Vec<Vec<usize>>,
    dependents: Vec<Vec<usize>>,
    /// Prerequisites of each that have not ended yet.
    waiting: Vec<usize>,
    ends: Vec<Option<End>>,
    /// Ready to start, in the dispatch's order.
    ready: BTreeSet<(Reverse<u64>, usize)>,
    /// The ready `onFailure` steps (also in `ready`): the only ready actions a run that
    /// admits all may settle without starting, so [`Run::ready`] need not scan the rest.
    ready_on_failure: BTreeSet<(Reverse<u64>, usize)>,
    dispatch: Dispatch,
}

/// A caller's check of whether an action may start now: `Some(reason)` holds it.
pub type Gate<'g> = &'g dyn Fn(&Action) -> Option<String>;

impl<'a> Run<'a> {
    /// The run of `actions`, whose prerequisites (as indexes) are `deps` (a DAG, as the
    /// engine's plan check gives it), started within `dispatch`'s limits and capacity.
    pub fn new(actions: &'a [Action], deps: Vec<Vec<usize>>, dispatch: Dispatch) -> Self {
        let waiting: Vec<usize> = deps.iter().map(Vec::len).collect();
        let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); actions.len()];
        for (i, d) in deps.iter().enumerate() {
            for &j in d {
                dependents[j].push(i);
            }
        }
        let mut run = Run {
            actions,
            deps,
            dependents,
            waiting,
            ends: vec![None; actions.len()],
            ready: BTreeSet::new(),
            ready_on_failure: BTreeSet::new(),
            dispatch,
        };
        for i in 0..actions.len() {
            if run.waiting[i] == 0 {
                run.make_ready(i);
            }
        }
        run
    }

    /// What to do now: settles the ready actions that do not run (an `onFailure` step that is
    /// not needed; under `admit`, what may not start; what `gate` holds, with its reason;
    /// what waits for capacity nothing running gives back), and hands out those that start
    /// (counted as running until [`Run::advance`] or [`Run::lost`]). Each call looks at
    /// every ready action only when there is a gate or a drain; otherwise at the ready
    /// `onFailure` steps and at what the dispatch admits, so a run of thousands of ready
    /// actions stays linear.
    pub fn ready(&mut self, admit: Admit, gate: Option<Gate<'_>>) -> Ready {
        let mut settled = Vec::new();
        loop {
            self.settle_unneeded(admit, &mut settled);
            if let Some(gate) = gate {
                let held: Vec<(usize, String)> =
                    self.ready_now().filter_map(|i| gate(&self.actions[i]).map(|r| (i, r))).collect();
                if !held.is_empty() {
                    for (i, reason) in held {
                        self.settle(i, End::Held { reason }, &mut settled);
                    }
                    continue;
                }
            }
            let start = self.dispatch.admit(self.ready.iter().map(|(_, i)| *i));
            if start.is_empty() && self.dispatch.running() == 0 && !self.ready.is_empty() {
                // Nothing runs that could give capacity back: what waits for it is held.
                for i in self.ready_now().collect::<Vec<_>>() {
                    let short = self.dispatch.short_of(i).unwrap_or_else(|| "its capacity".to_owned());
                    let reason = format!(
                        "not started: waiting for capacity that no running action gives back ({short}); what a failed action took stays taken until the next plan observes it"
                    );
                    self.settle(i, End::Held { reason }, &mut settled);
                }
                continue;
            }
            for &i in &start {
                self.unready(i);
            }
            return Ready { settled, start };
        }
    }

    /// Action `i`, handed out by [`Run::ready`], ended as `ran`. Returns its dependants
    /// settled by that (skipped, or not started), in order; what it made ready is handed out
    /// by the next [`Run::ready`].
    pub fn advance(&mut self, i: usize, ran: Ran) -> Vec<(usize, End)> {
        self.dispatch.ended(i, ran == Ran::Succeeded);
        self.ends[i] = Some(End::Ran(ran));
        let mut settled = Vec::new();
        self.release(i, &mut settled);
        settled
    }

    /// Action `i`, handed out by [`Run::ready`], ended without a known outcome (it could not
    /// be recorded): what it ran on is free again; nothing after it is released.
    pub fn lost(&mut self, i: usize) {
        self.dispatch.ended(i, false);
    }

    /// How each action has ended so far (`None`: not yet, or never reached).
    pub fn ends(&self) -> &[Option<End>] {
        &self.ends
    }

    /// The actions running (handed out, not yet advanced).
    pub fn running(&self) -> usize {
        self.dispatch.running()
    }

    fn ready_now(&self) -> impl Iterator<Item = usize> + '_ {
        self.ready.iter().map(|(_, i)| *i)
    }

    /// Settles, until none is left, the ready actions that are settled without running: an
    /// onFailure step whose prerequisites all succeeded, and what `admit` does not let start.
    fn settle_unneeded(&mut self, admit: Admit, settled: &mut Vec<(usize, End)>) {
        loop {
            // Admitting all, only an onFailure step can be settled here.
            let candidates = match admit {
                Admit::All => &self.ready_on_failure,
                Admit::CleanUpOnly | Admit::Nothing => &self.ready,
            };
            let settle: Vec<(usize, End)> = candidates
                .iter()
                .map(|(_, i)| *i)
                .filter_map(|i| {
                    let cleanup = self.actions[i].when != When::Succeeded;
                    if admit == Admit::Nothing || (admit == Admit::CleanUpOnly && !cleanup) {
                        return Some((i, End::NotStarted));
                    }
                    if self.actions[i].when != When::Failed {
                        return None;
                    }
                    let end = |d: &usize| self.ends[*d].as_ref();
                    if self.deps[i].iter().all(|d| end(d).is_some_and(End::ok)) {
                        return Some((i, End::NotNeeded));
                    }
                    // What it follows was stopped, not failed: no failure to act on.
                    let failed = self.deps[i]
                        .iter()
                        .any(|d| matches!(end(d), Some(End::Ran(Ran::Failed) | End::Skipped { .. })));
                    (!failed).then_some((i, End::NotStarted))
                })
                .collect();
            if settle.is_empty() {
                return;
            }
            for (i, end) in settle {
                self.settle(i, end, settled);
            }
        }
    }

    /// Settles ready action `i` without running it, then its dependants.
    fn settle(&mut self, i: usize, end: End, settled: &mut Vec<(usize, End)>) {
        self.unready(i);
        self.ends[i] = Some(end.clone());
        settled.push((i, end));
        self.release(i, settled);
    }

    /// After action `i` ended: a dependant that needs success is skipped when `i` did not
    /// succeed (and so on downstream); any other counts `i` as ended and is ready once all
    /// its prerequisites have.
    fn release(&mut self, i: usize, settled: &mut Vec<(usize, End)>) {
        let mut stack = vec![i];
        while let Some(j) = stack.pop() {
            let Some(end) = self.ends[j].clone() else { continue };
            // Why a dependant that needs success is skipped: the action that failed.
            let because = match &end {
                End::Skipped { because } => Some(because.clone()),
                End::NotStarted => None,
                _ => Some(self.actions[j].id.clone()),
            };
            for k in 0..self.dependents[j].len() {
                let d = self.dependents[j][k];
                if self.ends[d].is_some() {
                    continue;
                }
                if self.actions[d].when == When::Succeeded && !end.ok() {
                    let skipped = match &because {
                        Some(b) => End::Skipped { because: b.clone() },
                        None => End::NotStarted,
                    };
                    self.ends[d] = Some(skipped.clone());
                    self.unready(d);
                    settled.push((d, skipped));
                    stack.push(d);
                } else {
                    self.waiting[d] -= 1;
                    if self.waiting[d] == 0 {
                        self.make_ready(d);
                    }
                }
            }
        }
    }

    /// Action `i` is ready: all its prerequisites have ended.
    fn make_ready(&mut self, i: usize) {
        let key = self.dispatch.key(i);
        self.ready.insert(key);
        if self.actions[i].when == When::Failed {
            self.ready_on_failure.insert(key);
        }
    }

    /// Action `i` is no longer ready: it started or was settled.
    fn unready(&mut self, i: usize) {
        let key = self.dispatch.key(i);
        self.ready.remove(&key);
        self.ready_on_failure.remove(&key);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;
    use crate::action::Op;
    use crate::names::{FrameName, PartitionName, ProfileName};
    use crate::plan::Limits;

    fn action(i: usize, frame: &str, after: &[usize], when: When) -> Action {
        Action {
            id: ActionId(format!("a{i}")),
            op: Op::StartPartition {
                profile: ProfileName::hmc_default(),
                frame: FrameName::new(frame).unwrap(),
                partition: PartitionName::new(format!("p{i}")).unwrap(),
                force: false,
            },
            after: after.iter().map(|a| ActionId(format!("a{a}"))).collect(),
            when,
            reason: "test".into(),
            claims: Default::default(),
        }
    }

    fn deps(actions: &[Action]) -> Vec<Vec<usize>> {
        let index: BTreeMap<&ActionId, usize> = actions.iter().enumerate().map(|(i, a)| (&a.id, i)).collect();
        actions.iter().map(|a| a.after.iter().map(|id| index[id]).collect()).collect()
    }

    fn run(actions: &[Action], limits: Limits) -> Run<'_> {
        let deps = deps(actions);
        let dispatch = Dispatch::new(actions, &deps, &vec![0; actions.len()], &[], limits);
        Run::new(actions, deps, dispatch)
    }

    #[test]
    fn a_failure_skips_what_needs_success_and_runs_clean_up_and_on_failure() {
        let actions = vec![
            action(0, "fa", &[], When::Succeeded),
            action(1, "fa", &[0], When::Succeeded),
            action(2, "fa", &[1], When::Succeeded),
            action(3, "fa", &[0], When::Ended),
            action(4, "fa", &[0], When::Failed),
        ];
        let mut run = run(&actions, Limits::default());
        assert_eq!(run.ready(Admit::All, None).start, vec![0]);
        let skipped = run.advance(0, Ran::Failed);
        let because = End::Skipped { because: ActionId("a0".into()) };
        assert_eq!(skipped, vec![(1, because.clone()), (2, because)]);
        let mut next = run.ready(Admit::All, None).start;
        next.sort();
        assert_eq!(next, vec![3, 4]);
        run.advance(3, Ran::Succeeded);
        run.advance(4, Ran::Succeeded);
        assert_eq!(run.ready(Admit::All, None), Ready::default());
        assert_eq!(run.running(), 0);
    }

    #[test]
    fn a_success_leaves_the_on_failure_step_not_needed() {
        let actions = vec![action(0, "fa", &[], When::Succeeded), action(1, "fa", &[0], When::Failed)];
        let mut run = run(&actions, Limits::default());
        run.ready(Admit::All, None);
        assert!(run.advance(0, Ran::Succeeded).is_empty());
        assert_eq!(run.ready(Admit::All, None), Ready { settled: vec![(1, End::NotNeeded)], start: vec![] });
    }

    #[test]
    fn a_drain_starts_only_clean_up_and_a_gate_holds() {
        let actions = vec![
            action(0, "fa", &[], When::Succeeded),
            action(1, "fa", &[], When::Ended),
            action(2, "fa", &[0], When::Succeeded),
        ];
        let mut run = run(&actions, Limits::default());
        let ready = run.ready(Admit::CleanUpOnly, None);
        assert_eq!(ready.start, vec![1]);
        assert_eq!(ready.settled, vec![(0, End::NotStarted), (2, End::NotStarted)]);
        let actions = vec![action(0, "fa", &[], When::Succeeded), action(1, "fa", &[0], When::Succeeded)];
        let mut run = super::tests::run(&actions, Limits::default());
        let ready = run.ready(Admit::All, Some(&|a: &Action| (a.id.0 == "a0").then(|| "window".to_owned())));
        let held = End::Held { reason: "window".into() };
        assert_eq!(ready.settled, vec![(0, held), (1, End::Skipped { because: ActionId("a0".into()) })]);
        assert!(ready.start.is_empty());
    }

    /// A random plan: each action after some earlier ones, on one of three frames, with a
    /// random `when`, and how it would end if it ran.
    fn plans() -> impl Strategy<Value = (Vec<Action>, Vec<Ran>)> {
        let whens = prop_oneof![4 => Just(When::Succeeded), 1 => Just(When::Ended), 1 => Just(When::Failed)];
        let rans = prop_oneof![3 => Just(Ran::Succeeded), 1 => Just(Ran::Failed), 1 => Just(Ran::LeftRunning)];
        prop::collection::vec(
            (prop::collection::vec(any::<prop::sample::Index>(), 0..3), 0..3usize, whens, rans),
            1..14,
        )
        .prop_map(|specs| {
            let mut actions = Vec::new();
            let mut rans = Vec::new();
            for (i, (after, frame, when, ran)) in specs.into_iter().enumerate() {
                let mut after: Vec<usize> = if i == 0 { vec![] } else { after.iter().map(|x| x.index(i)).collect() };
                after.sort_unstable();
                after.dedup();
                let when = if after.is_empty() { When::Succeeded } else { when };
                actions.push(action(i, ["fa", "fb", "fc"][frame], &after, when));
                rans.push(ran);
            }
            (actions, rans)
        })
    }

    proptest! {
        /// Every action is started at most once and ends exactly once (started ones as they
        /// ran, the others settled); nothing starts before its prerequisites have ended; the
        /// limits are never exceeded; a dependant needing success starts only after success,
        /// is skipped otherwise, and an onFailure step runs only after a failure; what the
        /// gate holds never starts.
        #[test]
        fn every_action_ends_once_in_order_and_within_the_limits(
            (actions, rans) in plans(),
            parallel in 1..4usize,
            per_frame in 1..3usize,
            picks in prop::collection::vec(any::<prop::sample::Index>(), 64),
            drain_at in prop::option::of(0..20usize),
            gated in prop::collection::vec(prop::bool::weighted(0.15), 14),
            with_gate in any::<bool>(),
        ) {
            let gate = |a: &Action| {
                let i: usize = a.id.0[1..].parse().unwrap();
                gated[i].then(|| "window".to_owned())
            };
            let gated: Vec<bool> = gated.iter().map(|g| *g && with_gate).collect();
            let limits = Limits { parallel, per_frame, per_msp: 8 };
            let deps = deps(&actions);
            let mut run = run(&actions, limits);
            let mut started = vec![false; actions.len()];
            let mut running: Vec<usize> = Vec::new();
            let mut settled_ends: Vec<Option<End>> = vec![None; actions.len()];
            let mut step = 0;
            loop {
                let admit = if drain_at.is_some_and(|d| step >= d) { Admit::CleanUpOnly } else { Admit::All };
                let ready = run.ready(admit, with_gate.then_some(&gate as Gate<'_>));
                for (i, end) in ready.settled {
                    prop_assert!(settled_ends[i].is_none() && !started[i], "a{i} settled twice");
                    settled_ends[i] = Some(end);
                }
                for &i in &ready.start {
                    prop_assert!(!started[i] && settled_ends[i].is_none(), "a{i} started twice");
                    prop_assert!(deps[i].iter().all(|d| run.ends()[*d].is_some()), "a{i} started before its after");
                    if admit == Admit::CleanUpOnly {
                        prop_assert!(actions[i].when != When::Succeeded, "a{i} started while draining");
                    }
                    started[i] = true;
                    running.push(i);
                }
                prop_assert!(running.len() <= parallel);
                for f in ["fa", "fb", "fc"] {
                    let on = running.iter().filter(|i| actions[**i].op.frames().iter().any(|x| x.as_str() == f)).count();
                    prop_assert!(on <= per_frame, "{on} on {f}");
                }
                if running.is_empty() {
                    break;
                }
                let i = running.remove(picks[step % picks.len()].index(running.len()));
                for (d, end) in run.advance(i, rans[i]) {
                    prop_assert!(settled_ends[d].is_none() && !started[d], "a{d} settled twice");
                    settled_ends[d] = Some(end);
                }
                step += 1;
            }
            for (i, a) in actions.iter().enumerate() {
                let end = run.ends()[i].clone();
                prop_assert!(end.is_some(), "a{i} never ended");
                let end = end.unwrap();
                prop_assert_eq!(started[i], matches!(end, End::Ran(_)), "a{}: {:?}", i, end);
                if started[i] {
                    prop_assert_eq!(&end, &End::Ran(rans[i]));
                } else {
                    prop_assert_eq!(settled_ends[i].as_ref(), Some(&end));
                }
                if gated[i] {
                    prop_assert!(!started[i], "a{i} started through a closed gate");
                    continue;
                }
                if drain_at.is_some() {
                    continue;
                }
                let prior: Vec<&End> = deps[i].iter().map(|d| run.ends()[*d].as_ref().unwrap()).collect();
                let all_ok = prior.iter().all(|e| e.ok());
                match a.when {
                    When::Succeeded => prop_assert_eq!(started[i], all_ok, "a{}: {:?} after {:?}", i, end, prior),
                    When::Ended => prop_assert!(started[i], "a{i}: clean-up always runs: {end:?}"),
                    When::Failed => {
                        let failed = prior.iter().any(|e| matches!(e, End::Ran(Ran::Failed) | End::Skipped { .. }));
                        prop_assert_eq!(started[i], !all_ok && failed, "a{}: {:?} after {:?}", i, end, prior);
                        if all_ok {
                            prop_assert_eq!(end, End::NotNeeded);
                        }
                    }
                }
            }
        }
    }
}
