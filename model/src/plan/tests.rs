//! Property tests of the planner on generated estates: the action order is a topological order
//! of `after`; no intermediate state exceeds a frame's or pool's capacity; planning is
//! deterministic; applying a plan without errors (with the model's own `apply`) reaches a state
//! whose plan is empty.

use proptest::prelude::*;

use super::{PlanOptions, apply, plan};
use crate::load::load_inventory;
use crate::source::SourceFile;
use crate::status::LparState;
use crate::testkit::{PartGen, edited, hardware, load, manifests, over_capacity, scenario};

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, max_global_rejects: 100_000, ..ProptestConfig::default() })]

    #[test]
    fn plans_are_ordered_capacity_safe_deterministic_and_converge(s in scenario()) {
        let inv = load_inventory(&[SourceFile::new("inv.yaml", hardware(&s.frames))]).unwrap();
        let mut observed0 = inv.clone();
        // The inventory's VIOS run.
        for (f, hw) in &inv.hardware {
            observed0.status.vios.insert(f.clone(), hw.spec.vios.iter().map(|v| (v.name.clone(), LparState::Running)).collect());
        }
        let initial_parts: Vec<Option<PartGen>> = s.parts.iter().cloned().map(Some).collect();
        let Some(initial) = load(&manifests(&s.frames, &initial_parts)) else { return Ok(()) };
        let p0 = plan(&initial, &observed0, PlanOptions::default());
        prop_assume!(p0.errors.is_empty());
        let observed1 = apply(&observed0, &p0.actions);
        prop_assert_eq!(over_capacity(&observed1), None);
        let again = plan(&initial, &observed1, PlanOptions::default());
        prop_assert!(again.actions.is_empty(), "realising the initial state did not converge: {:#?}", again.actions);

        let (frames, parts) = edited(&s);
        let Some(desired) = load(&manifests(&frames, &parts)) else { return Ok(()) };
        let p = plan(&desired, &observed1, PlanOptions::default());
        prop_assert_eq!(&p, &plan(&desired, &observed1, PlanOptions::default()), "planning is deterministic");
        if !p.errors.is_empty() {
            prop_assert!(p.actions.is_empty(), "a plan with errors has no actions");
            return Ok(());
        }
        for (i, a) in p.actions.iter().enumerate() {
            prop_assert_eq!(&a.id.0, &format!("a{}", i + 1));
            for dep in &a.after {
                let j = p.actions.iter().position(|b| &b.id == dep);
                prop_assert!(j.is_some_and(|j| j < i), "{} runs after {} which is not earlier", a.id, dep);
            }
        }
        let mut state = observed1.clone();
        for a in &p.actions {
            state = apply(&state, std::slice::from_ref(a));
            prop_assert_eq!(over_capacity(&state), None, "capacity exceeded after {} {}", a.id, a.op.command());
        }
        let after = plan(&desired, &state, PlanOptions::default());
        prop_assert!(after.errors.is_empty(), "{:#?}", after.errors);
        prop_assert!(after.actions.is_empty(), "the plan did not converge; left: {:#?}", after.actions.iter().map(|a| (a.kind(), a.op.object(), a.reason.clone())).collect::<Vec<_>>());
    }
}
