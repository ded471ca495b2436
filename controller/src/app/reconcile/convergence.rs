//! Whether a reconcile pass converged, and if not what stands in the way: one judgement for
//! `apply`'s exit code and the loop's status, so that neither says "converged" while an
//! action failed, work is held back, or anything is still in flight.

use powerplane_model::Plan;
use powerplane_model::plan::ChangeKind;

use crate::engine::{Outcome, Report};

/// What stands between the estate and its manifests after a pass (all zero: converged).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Convergence {
    /// Actions of the run that did not succeed: failed, skipped, not started, held by the
    /// windows as they became ready, or left running on the backend.
    pub failed: usize,
    /// Work held back before the run: by a maintenance window, a VIOS that went down, or an
    /// object backing off after a failure.
    pub held: usize,
    /// Actions the last plan still has.
    pub remains: usize,
    /// Work the backend still carries out (a migration in flight).
    pub in_flight: usize,
    /// Changes the planner defers (they wait for something else to change first).
    pub deferred: usize,
    /// Errors that keep the plan from running.
    pub errors: usize,
    /// Whether the plan lists changes that no action, no work in flight and no deferral
    /// accounts for.
    pub unaccounted: bool,
}

impl Convergence {
    /// What `plan` (made from an observation) leaves to do.
    pub fn of(plan: &Plan) -> Self {
        let quiet = plan.actions.is_empty() && plan.in_progress.is_empty() && plan.deferred.is_empty();
        Convergence {
            remains: plan.actions.len(),
            in_flight: plan.in_progress.len(),
            deferred: plan.deferred.len(),
            errors: plan.errors.len(),
            unaccounted: quiet && plan.changes.iter().any(|c| c.kind != ChangeKind::Unmanaged),
            ..Convergence::default()
        }
    }

    /// After `plan` ran as `report` says, without planning again: its actions are accounted
    /// for by their outcomes; what it found in flight or deferred still stands.
    pub fn after_run(plan: &Plan, report: &Report) -> Self {
        Convergence { remains: 0, errors: 0, unaccounted: false, ..Convergence::of(plan) }.ran(report)
    }

    /// Counts the actions of `report` that did not succeed.
    pub fn ran(self, report: &Report) -> Self {
        let failed =
            report.results.iter().filter(|(_, o)| !matches!(o, Outcome::Succeeded { .. } | Outcome::NotNeeded)).count();
        Convergence { failed, ..self }
    }

    /// Adds `n` pieces of work held back before the run.
    pub fn held(self, n: usize) -> Self {
        Convergence { held: self.held + n, ..self }
    }

    /// Whether nothing stands in the way.
    pub fn converged(&self) -> bool {
        *self == Convergence::default()
    }
}

#[cfg(test)]
mod tests {
    use powerplane_model::plan::ObjectChange;

    use super::*;

    fn change(kind: ChangeKind) -> ObjectChange {
        ObjectChange {
            kind,
            object: "Partition/p1".into(),
            frame: None,
            fields: vec![],
            observed: None,
            desired: None,
            note: String::new(),
        }
    }

    #[test]
    fn an_empty_plan_converges_and_anything_outstanding_does_not() {
        let mut plan = Plan::default();
        assert!(Convergence::of(&plan).converged());
        plan.in_progress.push("lpm of p1".into());
        assert_eq!(Convergence::of(&plan).in_flight, 1);
        assert!(!Convergence::of(&plan).converged());
        let mut plan = Plan::default();
        plan.changes.push(change(ChangeKind::Update));
        assert!(Convergence::of(&plan).unaccounted);
        assert!(!Convergence::of(&plan).converged());
        plan.changes[0].kind = ChangeKind::Unmanaged;
        assert!(Convergence::of(&plan).converged());
        assert!(!Convergence::of(&plan).held(1).converged());
    }

    #[test]
    fn a_run_counts_what_did_not_succeed_and_keeps_what_is_in_flight() {
        let mut plan = Plan::default();
        plan.deferred.push("later".into());
        let report = Report { results: vec![] };
        let c = Convergence::after_run(&plan, &report);
        assert_eq!((c.failed, c.deferred, c.remains), (0, 1, 0));
        assert!(Convergence::after_run(&Plan::default(), &report).converged());
    }
}
