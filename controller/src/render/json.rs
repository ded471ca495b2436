//! The JSON plan, the contract of DESIGN §4:
//! `{"changes": N, "actions": [{"id", "kind", "object", "frames", "after", "reason",
//! "command"}], "warnings": [..], "errors": [..]}`, plus `objects` (the field-level changes)
//! and `summary`; `estimate` (`seconds`, the makespan under the executor's limits, and
//! `actions`, each action's seconds), each action's `claims` (capacity taken at its start,
//! given back at its end) and the plan's `capacity` (free when it was made).
//!
//! The contract is a type, [`PlanDocument`], so that its JSON Schema (the API's
//! `PlanDocument`) is derived from what is serialized and cannot drift from it.

use powerplane_model::plan::{Claim, Claims, Estimate, ObjectChange, Summary};
use powerplane_model::{Action, ActionKind, Op, Plan, When};
use serde::Serialize;
use serde_json::Value;

/// The JSON plan contract: what `plan --format json` prints (with `held`) and
/// `GET /api/v1/plan` serves (with `scope`).
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlanDocument<'a> {
    /// How many objects differ (unmanaged ones left out).
    pub changes: usize,
    /// The actions, in a valid execution order.
    pub actions: Vec<ActionDocument<'a>>,
    /// Things an operator should know.
    pub warnings: &'a [String],
    /// Why the plan cannot be executed; a plan with errors is never applied.
    pub errors: &'a [String],
    /// Work the backend carries out now (a migration the HMC runs).
    pub in_progress: &'a [String],
    /// Changes a runtime condition holds back, with the reason.
    pub deferred: &'a [String],
    /// What differs, object by object, with the field-level changes.
    pub objects: &'a [ObjectChange],
    /// Object counts by what happens to them.
    pub summary: Summary,
    /// How long the plan takes under the executor's limits, and each action; null when not
    /// estimated.
    pub estimate: Option<&'a Estimate>,
    /// What was free when the plan was made, of every resource an action claims.
    pub capacity: &'a [Claim],
    /// What the plan covered (the API's plans only: `estate` for the whole estate, `change`
    /// for one of a change's objects).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<PlanScope>,
    /// The actions a maintenance window would hold if the plan were applied now
    /// (`plan --format json` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held: Option<Vec<HeldAction>>,
}

/// One action of the plan contract.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActionDocument<'a> {
    /// Its id in the plan, e.g. `a7`.
    pub id: &'a str,
    /// Its kind, e.g. `MigratePartition`.
    pub kind: ActionKind,
    /// The object it changes, `Kind/name`.
    pub object: String,
    /// The frames it touches (source first for migrations).
    pub frames: Vec<&'a str>,
    /// The ids of the actions that must finish first.
    pub after: Vec<&'a str>,
    /// Which change or rule produced it.
    pub reason: &'a str,
    /// The HMC/VIOS command an operator would type for it.
    pub command: String,
    /// What it does, with every argument.
    pub op: &'a Op,
    /// How the outcomes of `after` decide whether it runs; absent for the default (only
    /// when all succeeded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub when: Option<When>,
    /// The capacity it takes when it starts and gives back when it ends; absent when none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claims: Option<&'a Claims>,
    /// Where its command runs when not on the HMC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runs_on: Option<RunsOnDocument<'a>>,
}

/// Where an action's command runs, when not on the HMC: `{"node": PARTITION}` or
/// `"controller"`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum RunsOnDocument<'a> {
    /// On a cluster node: the partition's own operating system.
    Node(&'a str),
    /// On the machine the controller runs on.
    Controller,
}

/// What a plan covered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(rename = "PlanScope")]
#[schema(as = Scope)]
pub enum PlanScope {
    /// The whole estate (a resync, a first reconcile).
    Estate,
    /// The objects a change of the manifests touched.
    Change,
}

/// An action a maintenance window holds (`plan --format json`'s `held`).
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct HeldAction {
    /// The action's id.
    pub id: String,
    /// Which window holds it, and why.
    pub reason: String,
    /// When the window opens (RFC 3339), if it is known.
    pub opens: Option<String>,
}

impl<'a> PlanDocument<'a> {
    /// The contract of `plan`, without `scope` or `held`.
    pub fn of(plan: &'a Plan) -> PlanDocument<'a> {
        let managed = plan.changes.iter().filter(|c| c.kind != powerplane_model::plan::ChangeKind::Unmanaged).count();
        PlanDocument {
            changes: managed,
            actions: plan.actions.iter().map(ActionDocument::of).collect(),
            warnings: &plan.warnings,
            errors: &plan.errors,
            in_progress: &plan.in_progress,
            deferred: &plan.deferred,
            objects: &plan.changes,
            summary: plan.summary(),
            estimate: plan.estimate.as_ref(),
            capacity: &plan.capacity,
            scope: None,
            held: None,
        }
    }

    /// As a JSON value (its keys sorted, as the contract has always been printed).
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("a plan serializes")
    }
}

impl<'a> ActionDocument<'a> {
    fn of(a: &'a Action) -> ActionDocument<'a> {
        ActionDocument {
            id: &a.id.0,
            kind: a.kind(),
            object: a.op.object(),
            frames: a.op.frames().iter().map(|f| f.as_str()).collect(),
            after: a.after.iter().map(|i| i.0.as_str()).collect(),
            reason: &a.reason,
            command: a.op.command(),
            op: &a.op,
            // Only where they differ from "after all succeeded" and "on the HMC", so that the
            // contract of every other action stays as it was.
            when: (!a.when.is_default()).then_some(a.when),
            claims: (!a.claims.is_empty()).then_some(&a.claims),
            runs_on: match a.op.runs_on() {
                powerplane_model::RunsOn::Hmc => None,
                powerplane_model::RunsOn::Node(n) => Some(RunsOnDocument::Node(n.as_str())),
                powerplane_model::RunsOn::Controller => Some(RunsOnDocument::Controller),
            },
        }
    }
}

/// Renders the plan as the JSON contract.
pub fn json(plan: &Plan) -> Value {
    PlanDocument::of(plan).to_value()
}

#[cfg(test)]
mod tests {
    use powerplane_model::plan::plan;
    use powerplane_model::testkit::{FrameGen, PartGen, bare, load, manifests};
    use powerplane_model::{PlanOptions, When};
    use serde_json::json as j;

    /// The contract as it was written by hand before it was a type: the type renders it the
    /// same, key for key.
    fn by_hand(plan: &powerplane_model::Plan) -> serde_json::Value {
        let actions: Vec<serde_json::Value> = plan
            .actions
            .iter()
            .map(|a| {
                let mut v = j!({
                    "id": a.id.0, "kind": a.kind().as_str(), "object": a.op.object(),
                    "frames": a.op.frames().iter().map(|f| f.as_str()).collect::<Vec<_>>(),
                    "after": a.after.iter().map(|i| i.0.as_str()).collect::<Vec<_>>(),
                    "reason": a.reason, "command": a.op.command(), "op": a.op,
                });
                if !a.when.is_default() {
                    v["when"] = j!(a.when);
                }
                if !a.claims.is_empty() {
                    v["claims"] = j!(a.claims);
                }
                v
            })
            .collect();
        let managed = plan.changes.iter().filter(|c| c.kind != powerplane_model::plan::ChangeKind::Unmanaged).count();
        j!({
            "changes": managed, "actions": actions, "warnings": plan.warnings, "errors": plan.errors,
            "inProgress": plan.in_progress, "deferred": plan.deferred, "objects": plan.changes,
            "summary": plan.summary(), "estimate": plan.estimate, "capacity": plan.capacity,
        })
    }

    #[test]
    fn the_typed_contract_renders_what_the_hand_written_one_did() {
        let frames = vec![FrameGen::plain(64, 8), FrameGen::plain(64, 8)];
        let desired =
            load(&manifests(&frames, &[Some(PartGen::small(0, Some(1))), Some(PartGen::small(1, None))])).unwrap();
        let mut p = plan(&desired, &bare(&frames), PlanOptions::default());
        assert!(p.actions.len() > 1, "{p:?}");
        p.actions[1].when = When::Ended;
        p.warnings.push("a warning".into());
        let typed = serde_json::to_string(&super::json(&p)).unwrap();
        for key in ["\"claims\"", "\"when\":\"ended\"", "\"estimate\":{", "\"capacity\":[{"] {
            assert!(typed.contains(key), "{key} is not exercised: {typed}");
        }
        assert_eq!(typed, serde_json::to_string(&by_hand(&p)).unwrap());
        let no_estimate = powerplane_model::Plan { estimate: None, ..p.clone() };
        assert_eq!(super::json(&no_estimate), by_hand(&no_estimate));
    }
}
