//! Planning (DESIGN §4): compare the desired estate with the observed one and produce an
//! ordered, explained [`Plan`] — a DAG of [`Action`]s, each with the rule or change that
//! produced it and the HMC command it stands for. Pure: the same inputs give the same plan.
//!
//! `build` turns differences into steps with structural dependencies (primary SEA first, VIOS
//! maintenance order, validate before migrate, pools before the partitions that need them,
//! deletions last); `schedule` orders them so that no intermediate state exceeds a frame's or
//! pool's capacity, or says why no such order exists; `apply` is the model of what each action
//! does, used to check that a plan converges.

mod apply;
pub(crate) mod capacity;
mod change;
mod compare;
mod dispatch;
mod estimate;
#[cfg(test)]
pub(crate) mod fixture;
pub mod migration_bound;
mod rules;
pub mod run;
mod schedule;
mod scope;
mod step;
#[cfg(test)]
mod tests;
mod unobserved;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use apply::apply;
pub use capacity::{Claim, Claims, Ledger, Resource};
pub use change::{ChangeKind, FieldChange, ObjectChange};
pub use compare::compare;
pub use dispatch::{Dispatch, Limits};
pub use estimate::{Estimate, Rates, about, typical_secs};
pub use scope::{Scope, Ties, plan_scoped};

use crate::action::{Action, ActionKind};
use crate::diagnostic::Diagnostic;
use crate::estate::Estate;

/// Settings of a plan.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PlanOptions {
    /// Delete observed objects that no manifest describes (default: report them only).
    pub prune: bool,
    /// How long actions take on the backend, for the estimate.
    pub rates: Rates,
    /// The executor's limits, for the estimate.
    pub limits: Limits,
}

/// An ordered, explained plan.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Plan {
    /// What differs, object by object.
    pub changes: Vec<ObjectChange>,
    /// The actions, in a valid execution order (a topological order of `after`).
    pub actions: Vec<Action>,
    /// Things an operator should know (a partition migrated without redundant paging, a
    /// failback that waits for a VIOS).
    pub warnings: Vec<String>,
    /// Why the plan cannot be executed; a plan with errors is never applied.
    pub errors: Vec<String>,
    /// Work the backend is carrying out now (a migration the HMC runs): the estate is not
    /// converged until it ends, even when no action is planned.
    #[serde(default)]
    pub in_progress: Vec<String>,
    /// Changes a runtime condition holds back (a migration target on battery, a partition
    /// without RMC connection): the rest of the plan runs; these wait, with the reason, and
    /// the estate is not converged until they have run.
    #[serde(default)]
    pub deferred: Vec<String>,
    /// What was free when the plan was made, of every resource an action claims: the
    /// executor's ledger starts from it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capacity: Vec<Claim>,
    /// Migrations each frame had room to start when the plan was made (`lslparmigr -r sys`'s
    /// supported less in progress): the executor and the estimate start no more on it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub migration_room: BTreeMap<crate::names::FrameName, u32>,
    /// How long it takes under the executor's limits, and each action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimate: Option<Estimate>,
    /// The validation findings behind `errors` and `warnings`, with their positions in the
    /// manifests, for a compiler-style report.
    #[serde(skip)]
    pub findings: Vec<Diagnostic>,
}

impl Plan {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
            && self.in_progress.is_empty()
            && self.deferred.is_empty()
            && self.changes.iter().all(|c| c.kind == ChangeKind::Unmanaged)
    }

    /// `(create, change, migrate, delete)` counts of objects, for the summary line.
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.changes {
            match c.kind {
                ChangeKind::Create => s.create += 1,
                ChangeKind::Update | ChangeKind::Drift => s.change += 1,
                ChangeKind::Migrate => s.migrate += 1,
                ChangeKind::Delete => s.delete += 1,
                ChangeKind::Unmanaged => s.unmanaged += 1,
            }
        }
        s.actions = self.actions.len();
        s
    }

    /// Number of actions of a kind.
    pub fn count(&self, kind: ActionKind) -> usize {
        self.actions.iter().filter(|a| a.kind() == kind).count()
    }
}

/// Object counts by what happens to them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Summary {
    /// Objects created.
    pub create: usize,
    /// Objects changed in place (including runtime drift such as a paging failback).
    pub change: usize,
    /// Partitions migrated.
    pub migrate: usize,
    /// Objects deleted.
    pub delete: usize,
    /// Observed objects no manifest describes (left alone unless pruning).
    pub unmanaged: usize,
    /// Actions in all.
    pub actions: usize,
}

/// Plans the changes that take `observed` to `desired`. Validation findings that are errors
/// become plan errors (and no actions are planned); warnings are kept.
pub fn plan(desired: &Estate, observed: &Estate, options: PlanOptions) -> Plan {
    let options = PlanOptions { prune: options.prune || desired.prune(), ..options };
    let held = unobserved::hold(desired, observed);
    let desired = held.desired.as_ref();
    let placer = crate::placement::Placer::new(desired, Some(observed));
    let assignment = placer.assign();
    let findings = crate::validate::validate_with(desired, Some(observed), &placer, &assignment);
    let (errors, warnings): (Vec<&Diagnostic>, Vec<&Diagnostic>) = findings.iter().partition(|d| d.is_error());
    let mut p = Plan { warnings: warnings.iter().map(|d| one_line(d)).collect(), ..Default::default() };
    if !errors.is_empty() {
        p.errors = errors.iter().map(|d| one_line(d)).collect();
        p.findings = findings;
        return p;
    }
    p.findings = findings;
    let built = rules::build(desired, observed, options, &placer, &assignment);
    p.changes = built.changes;
    p.warnings.extend(built.warnings);
    p.errors = built.errors;
    p.in_progress = built.in_progress;
    p.deferred = held.notes.clone();
    p.deferred.extend(built.deferred);
    p.changes.retain(|c| c.kind != ChangeKind::Unmanaged || !held_partition(&held, &c.object));
    if !p.errors.is_empty() {
        return p;
    }
    let steps = held.filter(built.steps, &mut p.deferred);
    match schedule::schedule(steps, observed) {
        Ok((actions, capacity)) => {
            p.actions = actions;
            p.capacity = capacity;
            p.migration_room = observed.status.migration_limits.iter().map(|(f, l)| (f.clone(), l.room())).collect();
            p.estimate = Some(estimate::estimate(&p, observed, &options.rates, options.limits));
        }
        Err(e) => p.errors.push(e),
    }
    p
}

/// What differs between `desired` and `observed`, object by object (the changes of the plan,
/// without ordering it).
pub fn diff(desired: &Estate, observed: &Estate, options: PlanOptions) -> Vec<ObjectChange> {
    let options = PlanOptions { prune: options.prune || desired.prune(), ..options };
    let held = unobserved::hold(desired, observed);
    let desired = held.desired.as_ref();
    let placer = crate::placement::Placer::new(desired, Some(observed));
    let assignment = placer.assign();
    let mut changes = rules::build(desired, observed, options, &placer, &assignment).changes;
    changes.retain(|c| c.kind != ChangeKind::Unmanaged || !held_partition(&held, &c.object));
    changes
}

/// Whether a change's object (`Partition/NAME`) is a partition the plan holds.
fn held_partition(held: &unobserved::Held<'_>, object: &str) -> bool {
    object
        .strip_prefix("Partition/")
        .and_then(|n| crate::names::PartitionName::new(n).ok())
        .is_some_and(|n| held.holds_partition(&n))
}

fn one_line(d: &Diagnostic) -> String {
    let mut s = format!("[{}]", d.rule);
    if let Some(o) = &d.object {
        s.push_str(&format!(" {o}"));
    }
    s.push_str(&format!(": {}", d.message));
    if let Some(l) = &d.location {
        s.push_str(&format!(" ({l})"));
    }
    s
}
