//! Property tests of the planner on generated estates: the action order is a topological order
//! of `after`; no intermediate state exceeds a frame's or pool's capacity; planning is
//! deterministic; applying a plan without errors (with the model's own `apply`) reaches a state
//! whose plan is empty.

use proptest::prelude::*;

use super::{PlanOptions, apply, plan};
use crate::testkit::{
    FrameGen, PartGen, bare, edited, fit, frame_gen, load, manifests, over_capacity, part_gen, scenario,
};

/// `PROPTEST_CASES`, or 256 (what CI runs).
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(256)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), max_global_rejects: 100_000, ..ProptestConfig::default() })]

    #[test]
    fn plans_are_ordered_capacity_safe_deterministic_and_converge(s in scenario()) {
        let observed0 = bare(&s.frames);
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
    #![proptest_config(ProptestConfig { cases: cases(), max_global_rejects: 100_000, ..ProptestConfig::default() })]

    /// Issue 15: a plan run the way the executor runs it — ready actions admitted by the
    /// dispatch within its limits and the capacity they claim, ending in any order, some
    /// failing — never has more running than the estate, as the model's `apply` leaves it after
    /// what ended, can hold; and it never stalls: whenever nothing runs, nothing that may still
    /// run waits for capacity. Both the plan that builds the estate from bare hardware (every
    /// partition created and started: the frames fill up) and the plan of an edit.
    #[test]
    fn claimed_capacity_holds_under_any_completion_order_and_failures(
        s in crate::testkit::scenario_sized(3, 30),
        seed in any::<u64>(),
        fail_percent in prop_oneof![Just(0u64), 0u64..40],
    ) {
        let observed0 = bare(&s.frames);
        let initial_parts: Vec<Option<PartGen>> = s.parts.iter().cloned().map(Some).collect();
        let Some(initial) = load(&manifests(&s.frames, &initial_parts)) else { return Ok(()) };
        let p0 = plan(&initial, &observed0, PlanOptions::default());
        prop_assume!(p0.errors.is_empty());
        run_concurrently(&initial, &observed0, &p0, seed, fail_percent)?;
        let observed1 = apply(&observed0, &p0.actions);
        let (frames, parts) = edited(&s);
        let Some(desired) = load(&manifests(&frames, &parts)) else { return Ok(()) };
        let p = plan(&desired, &observed1, PlanOptions::default());
        if p.errors.is_empty() {
            run_concurrently(&desired, &observed1, &p, seed.rotate_left(17), fail_percent)?;
        }
    }
}

/// Runs `plan` from `observed` as the executor would (see the property above), completions in
/// an order drawn from `seed`, each failing with `fail_percent` % chance.
fn run_concurrently(
    desired: &crate::estate::Estate,
    observed: &crate::estate::Estate,
    p: &super::Plan,
    seed: u64,
    fail_percent: u64,
) -> Result<(), TestCaseError> {
    use crate::action::When;
    use crate::plan::{Dispatch, Limits};
    use std::collections::{BTreeMap, BTreeSet};
    let n = p.actions.len();
    let index: BTreeMap<_, _> = p.actions.iter().enumerate().map(|(i, a)| (a.id.clone(), i)).collect();
    let deps: Vec<Vec<usize>> = p.actions.iter().map(|a| a.after.iter().map(|d| index[d]).collect()).collect();
    let mut dependents = vec![Vec::new(); n];
    for (i, d) in deps.iter().enumerate() {
        for &j in d {
            dependents[j].push(i);
        }
    }
    let limits = Limits { parallel: 1 + (seed % 8) as usize, per_frame: 1 + (seed / 8 % 4) as usize, per_msp: 8 };
    let millis = p.estimate.as_ref().unwrap().millis(p);
    let mut dispatch = Dispatch::new(&p.actions, &deps, &millis, &p.capacity, limits);
    let mut rng = seed | 1;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut indegree: Vec<usize> = deps.iter().map(Vec::len).collect();
    // None: not ended; Some(true): succeeded (or not needed); Some(false): failed or skipped.
    let mut ended: Vec<Option<bool>> = vec![None; n];
    let mut ready: BTreeSet<_> = (0..n).filter(|i| indegree[*i] == 0).map(|i| dispatch.key(i)).collect();
    let mut running: Vec<usize> = Vec::new();
    let mut state = observed.clone();
    loop {
        // onFailure steps are not needed when all they follow succeeded, and run otherwise.
        let instant: Vec<usize> = ready
            .iter()
            .map(|(_, i)| *i)
            .filter(|i| p.actions[*i].when == When::Failed && deps[*i].iter().all(|d| ended[*d] == Some(true)))
            .collect();
        let mut finished: Vec<(usize, bool)> = instant.iter().map(|i| (*i, true)).collect();
        for i in &instant {
            ready.remove(&dispatch.key(*i));
        }
        if finished.is_empty() {
            for i in dispatch.admit(ready.iter().map(|(_, i)| *i).collect::<Vec<_>>()) {
                ready.remove(&dispatch.key(i));
                running.push(i);
            }
            // What runs fits in what the estate has free now.
            let free = crate::plan::schedule::initial_free(&state);
            let mut taken: BTreeMap<&crate::plan::Resource, u64> = BTreeMap::new();
            for &i in &running {
                for c in &p.actions[i].claims.take {
                    *taken.entry(&c.resource).or_default() += c.amount;
                }
            }
            for (r, t) in &taken {
                prop_assert!(
                    free.get(*r).is_none_or(|f| f >= t),
                    "{} running take {t} of the {r}, and {:?} is free",
                    running.len(),
                    free.get(*r)
                );
            }
            if running.is_empty() {
                prop_assert!(
                    ready.is_empty(),
                    "stalled: {:?} wait and nothing runs",
                    ready.iter().map(|(_, i)| (p.actions[*i].id.0.clone(), dispatch.short_of(*i))).collect::<Vec<_>>()
                );
                break;
            }
            let k = (next() % running.len() as u64) as usize;
            let i = running.swap_remove(k);
            let ok = next() % 100 >= fail_percent;
            if ok {
                state = apply(&state, std::slice::from_ref(&p.actions[i]));
            }
            dispatch.ended(i, ok);
            finished.push((i, ok));
        }
        // Dependents: skipped when they need a success that did not come, else released.
        while let Some((i, ok)) = finished.pop() {
            ended[i] = Some(ok);
            for &d in &dependents[i] {
                if ended[d].is_some() {
                    continue;
                }
                if p.actions[d].when == When::Succeeded && !ok {
                    ready.remove(&dispatch.key(d));
                    finished.push((d, false));
                } else {
                    indegree[d] -= 1;
                    if indegree[d] == 0 {
                        ready.insert(dispatch.key(d));
                    }
                }
            }
        }
    }
    if fail_percent == 0 {
        prop_assert!(ended.iter().all(|e| *e == Some(true)), "every action ran");
        prop_assert!(plan(desired, &state, PlanOptions::default()).actions.is_empty(), "and the estate converged");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), max_global_rejects: 100_000, ..ProptestConfig::default() })]

    /// Issue 33 item 13: a shared-memory partition's migration to a frame with exactly the
    /// paging devices it needs fails half-way — its shell holds the target's last free device —
    /// and the plan of the same desired state exists, begins with the recovery (which gives
    /// the device back), stays within capacity and converges.
    #[test]
    fn a_migration_failed_half_way_to_a_full_target_is_recovered_first(
        gen_frames in prop::collection::vec(frame_gen(), 2..=3),
        vios in 1u8..=2,
        gen_parts in prop::collection::vec(part_gen(3), 1..=8),
        pick in any::<prop::sample::Index>(),
        to in any::<prop::sample::Index>(),
    ) {
        // Frames alike (a partition renders the same on each), each with a memory pool.
        let n = gen_frames.len();
        let first = gen_frames[0].clone();
        let frames: Vec<FrameGen> = gen_frames
            .into_iter()
            .map(|f| FrameGen { sea: first.sea, spp: first.spp, smp: Some((vios, 3)), ..f })
            .collect();
        let mut parts: Vec<PartGen> = gen_parts.into_iter().map(|p| PartGen { frame: p.frame % n, any_of: None, ..p }).collect();
        let x = pick.index(parts.len());
        parts[x].shared_mem = true;
        parts[x].running = true;
        let parts = fit(&frames, parts);
        prop_assume!(parts[x].running);
        let from = parts[x].frame;
        let target = (from + 1 + to.index(n - 1)) % n;
        // The target's pool has one device more than its running shared-memory partitions use.
        let used = parts.iter().filter(|p| p.running && p.shared_mem && p.frame == target).count();
        prop_assume!(used < 3);
        let mut frames = frames;
        frames[target].smp = Some((vios, used as u8 + 1));

        let slots: Vec<Option<PartGen>> = parts.iter().cloned().map(Some).collect();
        let Some(initial) = load(&manifests(&frames, &slots)) else { return Ok(()) };
        let p0 = plan(&initial, &bare(&frames), PlanOptions::default());
        prop_assume!(p0.errors.is_empty());
        let built = apply(&bare(&frames), &p0.actions);
        let name: crate::names::PartitionName = format!("lp{x}").parse().unwrap();
        let target_name: crate::names::FrameName = format!("f{target}").parse().unwrap();
        prop_assume!(built.status.partitions.get(&name).is_some_and(|s| s.state == crate::status::LparState::Running));
        let free_devices = |e: &crate::estate::Estate| {
            e.status.paging_devices.get(&target_name).into_iter().flatten().filter(|d| d.assigned.is_none()).count()
        };
        prop_assert_eq!(free_devices(&built), 1, "the target keeps exactly one device free");

        // The move is planned and started; it fails half-way with the shell on the target
        // holding the device the migration took.
        let mut moved = slots.clone();
        if let Some(Some(p)) = moved.get_mut(x) {
            p.frame = target;
        }
        let Some(desired) = load(&manifests(&frames, &moved)) else { return Ok(()) };
        let pm = plan(&desired, &built, PlanOptions::default());
        prop_assume!(pm.errors.is_empty());
        prop_assume!(pm.actions.iter().any(|a| matches!(&a.op, crate::action::Op::MigratePartition { partition, .. } if *partition == name)));
        let arrived = apply(&built, &pm.actions);
        let device = arrived.status.paging_devices[&target_name]
            .iter()
            .find(|d| d.assigned.as_ref() == Some(&name))
            .map(|d| d.device.clone());
        prop_assume!(device.is_some());
        let mut failed = built.clone();
        let st = failed.status.partitions.get_mut(&name).unwrap();
        st.state = crate::status::LparState::MigratingRunning;
        st.migration = Some(crate::status::MigrationStatus {
            to: target_name.clone(),
            state: crate::status::MigrationState::Failed,
            percent: 50,
            remaining_secs: 0,
        });
        for d in failed.status.paging_devices.get_mut(&target_name).unwrap() {
            if Some(&d.device) == device.as_ref() {
                d.assigned = Some(name.clone());
            }
        }
        prop_assert_eq!(free_devices(&failed), 0);

        let p = plan(&desired, &failed, PlanOptions::default());
        prop_assert!(p.errors.is_empty(), "no plan after a failed migration: {:?}", p.errors);
        let recover = p.actions.first();
        prop_assert!(
            recover.is_some_and(|a| matches!(&a.op, crate::action::Op::RecoverMigration { partition, .. } if *partition == name)),
            "the plan does not begin with the recovery: {:?}",
            p.actions.iter().map(|a| a.op.command()).collect::<Vec<_>>()
        );
        let gives_device = recover.unwrap().claims.give.iter().any(|c| c.resource == super::Resource::Devices(target_name.clone()));
        prop_assert!(gives_device, "the recovery gives the shell's paging device back: {:?}", recover.unwrap().claims);
        let mut state = failed.clone();
        for a in &p.actions {
            state = apply(&state, std::slice::from_ref(a));
            prop_assert_eq!(over_capacity(&state), None, "capacity exceeded after {} {}", a.id, a.op.command());
        }
        let after = plan(&desired, &state, PlanOptions::default());
        prop_assert!(after.errors.is_empty() && after.actions.is_empty(), "did not converge: {:?} {:?}", after.errors, after.actions);
    }
}
