//! The plan's DAG in Graphviz `dot`: one node per action, one edge per `after`.

use powerplane_model::Plan;

fn quote(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Renders the plan as a `digraph`.
pub fn dot(plan: &Plan) -> String {
    let mut out = String::from("digraph plan {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];\n");
    for a in &plan.actions {
        let label = format!("{} {}\\n{}", a.id, a.kind(), quote(&a.op.object()));
        out.push_str(&format!("  {} [label=\"{label}\"];\n", a.id));
    }
    for a in &plan.actions {
        for b in &a.after {
            out.push_str(&format!("  {b} -> {};\n", a.id));
        }
    }
    out.push_str("}\n");
    out
}
