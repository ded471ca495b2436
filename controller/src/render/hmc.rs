//! The plan as HMC shell commands, in a valid order, ready to paste; each preceded by a
//! comment with its id and reason. Commands that do not run on the HMC (a cluster node's
//! `lltconfig`, a site hook on the controller's machine) are shown commented out, saying where
//! they run, so that pasting the script into the HMC never runs them there.

use powerplane_model::{Plan, RunsOn};

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
        let command = match a.op.runs_on() {
            RunsOn::Hmc => a.op.command(),
            RunsOn::Node(node) => format!("# on the cluster node {node}, not on the HMC:\n#   {}", a.op.command()),
            RunsOn::Controller => {
                format!("# on the machine powerplane runs on, not on the HMC:\n#   {}", a.op.command())
            }
        };
        out.push_str(&format!("\n# {} {}: {}\n{command}\n", a.id, a.kind(), a.reason.replace('\n', " ")));
    }
    out
}
