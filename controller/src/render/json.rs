//! The JSON plan, the contract of DESIGN §4:
//! `{"changes": N, "actions": [{"id", "kind", "object", "frames", "after", "reason",
//! "command"}], "warnings": [..], "errors": [..]}`, plus `objects` (the field-level changes)
//! and `summary`; `estimate` (`seconds`, the makespan under the executor's limits, and
//! `actions`, each action's seconds), each action's `claims` (capacity taken at its start,
//! given back at its end) and the plan's `capacity` (free when it was made).

use powerplane_model::Plan;
use serde_json::{Value, json as j};

/// Renders the plan as the JSON contract.
pub fn json(plan: &Plan) -> Value {
    let actions: Vec<Value> = plan
        .actions
        .iter()
        .map(|a| {
            let mut v = j!({
                "id": a.id.0,
                "kind": a.kind().as_str(),
                "object": a.op.object(),
                "frames": a.op.frames().iter().map(|f| f.as_str()).collect::<Vec<_>>(),
                "after": a.after.iter().map(|i| i.0.as_str()).collect::<Vec<_>>(),
                "reason": a.reason,
                "command": a.op.command(),
                "op": a.op,
            });
            // Only where they differ from "after all succeeded" and "on the HMC", so that the
            // contract of every other action stays as it was.
            if !a.when.is_default() {
                v["when"] = j!(a.when);
            }
            if !a.claims.is_empty() {
                v["claims"] = j!(a.claims);
            }
            match a.op.runs_on() {
                powerplane_model::RunsOn::Hmc => {}
                powerplane_model::RunsOn::Node(n) => v["runsOn"] = j!({"node": n.as_str()}),
                powerplane_model::RunsOn::Controller => v["runsOn"] = j!("controller"),
            }
            v
        })
        .collect();
    let managed = plan.changes.iter().filter(|c| c.kind != powerplane_model::plan::ChangeKind::Unmanaged).count();
    j!({
        "changes": managed,
        "actions": actions,
        "warnings": plan.warnings,
        "errors": plan.errors,
        "inProgress": plan.in_progress,
        "deferred": plan.deferred,
        "objects": plan.changes,
        "summary": plan.summary(),
        "estimate": plan.estimate,
        "capacity": plan.capacity,
    })
}
