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

/// `PROPTEST_CASES`, or 256 (what CI runs).
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(256)
}

/// The scenario's hardware with its VIOS running and nothing else: what a fresh backend shows.
fn bare(s: &crate::testkit::Scenario) -> crate::estate::Estate {
    let inv = load_inventory(&[SourceFile::new("inv.yaml", hardware(&s.frames))]).unwrap();
    let mut observed0 = inv.clone();
    for (f, hw) in &inv.hardware {
        observed0
            .status
            .vios
            .insert(f.clone(), hw.spec.vios.iter().map(|v| (v.name.clone(), LparState::Running)).collect());
    }
    observed0
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), max_global_rejects: 100_000, ..ProptestConfig::default() })]

    #[test]
    fn plans_are_ordered_capacity_safe_deterministic_and_converge(s in scenario()) {
        let observed0 = bare(&s);
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

proptest! {
    #![proptest_config(ProptestConfig { cases: cases() / 2, max_global_rejects: 100_000, ..ProptestConfig::default() })]

    /// A migration the backend carries out is never "converged", and one that failed part-way
    /// is recovered first, then planned like any other partition; the plan then converges.
    #[test]
    fn migrations_in_flight_are_not_converged_and_failed_ones_are_recovered_first(s in scenario()) {
        use crate::action::Op;
        use crate::status::{MigrationState, MigrationStatus};
        let observed0 = bare(&s);
        let initial_parts: Vec<Option<PartGen>> = s.parts.iter().cloned().map(Some).collect();
        let Some(initial) = load(&manifests(&s.frames, &initial_parts)) else { return Ok(()) };
        let p0 = plan(&initial, &observed0, PlanOptions::default());
        prop_assume!(p0.errors.is_empty());
        let observed1 = apply(&observed0, &p0.actions);
        let (frames, parts) = edited(&s);
        let Some(desired) = load(&manifests(&frames, &parts)) else { return Ok(()) };
        let p = plan(&desired, &observed1, PlanOptions::default());
        prop_assume!(p.errors.is_empty());
        let Some((name, to)) = p.actions.iter().find_map(|a| match &a.op {
            Op::MigratePartition { partition, to, .. } => Some((partition.clone(), to.clone())),
            _ => None,
        }) else { return Ok(()) };
        let object = format!("Partition/{name}");
        let migrating = |state: MigrationState| {
            let mut o = observed1.clone();
            let st = o.status.partitions.get_mut(&name).unwrap();
            st.state = if st.state == LparState::Running { LparState::MigratingRunning } else { LparState::MigratingNotActivated };
            st.migration = Some(MigrationStatus { to: to.clone(), state, percent: 50, remaining_secs: 30 });
            o
        };
        // In flight: nothing is planned for it, and the plan is not empty.
        let flying = plan(&desired, &migrating(MigrationState::InProgress), PlanOptions::default());
        prop_assert!(!flying.is_empty());
        prop_assert!(flying.in_progress.iter().any(|m| m.starts_with(&object)), "{:?}", flying.in_progress);
        prop_assert!(flying.actions.iter().all(|a| a.op.object() != object));
        // Failed: recovered first, every other action of it after the recovery.
        let failed_state = migrating(MigrationState::Failed);
        let failed = plan(&desired, &failed_state, PlanOptions::default());
        prop_assume!(failed.errors.is_empty());
        let mine: Vec<&crate::action::Action> = failed.actions.iter().filter(|a| a.op.object() == object).collect();
        prop_assert!(matches!(mine.first().map(|a| &a.op), Some(Op::RecoverMigration { .. })), "{:?}", mine);
        let recover = &mine[0].id;
        for a in &mine[1..] {
            prop_assert!(
                crate::plan::fixture::waits_for(&failed.actions, &a.id, recover),
                "{} does not wait for the recovery",
                a.id
            );
        }
        let state = apply(&failed_state, &failed.actions);
        let after = plan(&desired, &state, PlanOptions::default());
        prop_assert!(after.actions.is_empty() && after.in_progress.is_empty(), "{:?}", after.actions);
    }
}
