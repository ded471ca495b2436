//! The plan as HMC shell commands, in a valid order, ready to paste; each preceded by a
//! comment with its id and reason.

use powerplane_model::Plan;

/// Renders the plan as an HMC shell script.
pub fn hmc(plan: &Plan, title: &str) -> String {
    let mut out =
        format!("# {title}\n# {} actions; run them in this order and stop at the first failure.\n", plan.actions.len());
    if !plan.errors.is_empty() {
        out.push_str("# THIS PLAN HAS ERRORS AND MUST NOT BE RUN:\n");
        for e in &plan.errors {
            out.push_str(&format!("#   {e}\n"));
        }
    }
    for a in &plan.actions {
        out.push_str(&format!("\n# {} {}: {}\n{}\n", a.id, a.kind(), a.reason.replace('\n', " "), a.op.command()));
    }
    out
}
