//! Checking a plan before it runs ([`check_plan`]): a DAG of unique ids, or why not
//! ([`MalformedPlan`]).

use std::collections::BTreeMap;

use powerplane_model::{Action, ActionId};

/// Why a plan cannot be executed as it stands: an `after` naming an action that is not in
/// the plan, two actions with one id, or a cycle. The planner never makes such a plan; a plan
/// file edited by hand can.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MalformedPlan {
    /// Two actions share an id.
    #[error("two actions have the id {0}")]
    DuplicateId(ActionId),
    /// An `after` names an action the plan does not have.
    #[error("action {action} runs after {missing}, which is not in the plan")]
    UnknownDependency {
        /// The action.
        action: ActionId,
        /// The id it names.
        missing: ActionId,
    },
    /// The dependencies form a cycle, so some actions could never start.
    #[error("actions {} wait for each other in a cycle and could never start", .0.iter().map(|a| a.0.as_str()).collect::<Vec<_>>().join(", "))]
    Cycle(Vec<ActionId>),
}

/// Checks that `actions` form a DAG of unique ids; returns each action's dependencies as
/// indexes.
pub fn check_plan(actions: &[Action]) -> Result<Vec<Vec<usize>>, MalformedPlan> {
    let mut index: BTreeMap<&ActionId, usize> = BTreeMap::new();
    for (i, a) in actions.iter().enumerate() {
        if index.insert(&a.id, i).is_some() {
            return Err(MalformedPlan::DuplicateId(a.id.clone()));
        }
    }
    let mut deps = Vec::with_capacity(actions.len());
    for a in actions {
        let mut d = Vec::with_capacity(a.after.len());
        for id in &a.after {
            let Some(&j) = index.get(id) else {
                return Err(MalformedPlan::UnknownDependency { action: a.id.clone(), missing: id.clone() });
            };
            d.push(j);
        }
        d.sort_unstable();
        d.dedup();
        deps.push(d);
    }
    // Kahn's algorithm: whatever never becomes ready is on (or behind) a cycle.
    let mut indegree: Vec<usize> = deps.iter().map(Vec::len).collect();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); actions.len()];
    for (i, d) in deps.iter().enumerate() {
        for &j in d {
            dependents[j].push(i);
        }
    }
    let mut ready: Vec<usize> = (0..actions.len()).filter(|i| indegree[*i] == 0).collect();
    let mut seen = 0;
    while let Some(i) = ready.pop() {
        seen += 1;
        for &k in &dependents[i] {
            indegree[k] -= 1;
            if indegree[k] == 0 {
                ready.push(k);
            }
        }
    }
    if seen < actions.len() {
        let stuck = (0..actions.len()).filter(|i| indegree[*i] > 0).map(|i| actions[i].id.clone()).collect();
        return Err(MalformedPlan::Cycle(stuck));
    }
    Ok(deps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::run_tests::start;

    #[test]
    fn malformed_plans_are_named() {
        assert_eq!(
            check_plan(&[start(1, "fa", "p", &[]), start(1, "fa", "q", &[])]),
            Err(MalformedPlan::DuplicateId(ActionId("a1".into())))
        );
        assert!(matches!(
            check_plan(&[start(1, "fa", "p", &[7])]),
            Err(MalformedPlan::UnknownDependency { missing, .. }) if missing.0 == "a7"
        ));
        let cycle = check_plan(&[start(1, "fa", "p", &[2]), start(2, "fa", "q", &[1]), start(3, "fa", "r", &[])]);
        assert_eq!(cycle, Err(MalformedPlan::Cycle(vec![ActionId("a1".into()), ActionId("a2".into())])));
        assert!(check_plan(&[start(1, "fa", "p", &[]), start(2, "fa", "q", &[1, 1])]).is_ok());
    }
}
