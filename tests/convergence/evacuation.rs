//! Evacuations as fast as the limits allow (issue 15): generated evacuations of 10 to 200
//! partitions, planned and run by the real executor on the simulator, on tokio's paused clock.
//! For each, the makespan on the simulator's virtual timeline is compared with the lower
//! bound `max(longest move, Σ moves on the frame left / per-frame limit)` (a move is its
//! validation and its migration: both take one of the frame's slots) and with the plan's
//! estimate. The distribution is printed (`--nocapture`).

use std::sync::Arc;

use powerplane_controller::backend::Hypervisor;
use powerplane_controller::engine::{self, Context};
use powerplane_controller::sim::{Clock, Simulator, realise};
use powerplane_controller::store::StateDir;
use powerplane_controller::store::audit::AuditLog;
use powerplane_controller::store::writer::AuditWriter;
use powerplane_model::{ActionKind, Op, PlanOptions, SourceFile, load_inventory, load_manifests};

use super::Quiet;

#[path = "../../examples/estate_gen/mod.rs"]
mod estate_gen;

/// One evacuation: (makespan, the bound, the best whole-move schedule when few, estimate),
/// virtual seconds.
fn evacuate(partitions: usize, seed: u64) -> (f64, f64, f64, f64) {
    let g = estate_gen::evacuation(partitions, seed);
    let files =
        |v: &[(String, String)]| v.iter().map(|(n, t)| SourceFile::new(n.as_str(), t.as_str())).collect::<Vec<_>>();
    let inventory = load_inventory(&files(&g.inventory)).unwrap();
    let desired = load_manifests(&files(&g.manifests)).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
    let sim = Simulator::new(realise(inventory, seed).unwrap(), None, Clock::default());
    let settings = engine::Settings { backoff: std::time::Duration::from_millis(1), ..Default::default() };
    let observed = rt.block_on(sim.observe()).unwrap();
    let options = PlanOptions { rates: rt.block_on(sim.rates()), limits: settings.limits(), ..Default::default() };
    let plan = powerplane_model::plan(&desired, &observed, options);
    assert!(plan.errors.is_empty(), "{:?}", plan.errors);
    assert_eq!(plan.count(ActionKind::MigratePartition), partitions);
    let estimate = plan.estimate.clone().unwrap();
    // The bound, from the durations the simulator takes (its rates are the estimate's).
    let secs = |kind: ActionKind, name: &str| {
        plan.actions
            .iter()
            .find(|a| a.kind() == kind && a.op.object() == name)
            .map(|a| estimate.actions[&a.id])
            .unwrap()
    };
    let moves: Vec<f64> = plan
        .actions
        .iter()
        .filter_map(|a| match &a.op {
            Op::MigratePartition { partition, .. } => {
                let object = format!("Partition/{partition}");
                Some(secs(ActionKind::ValidateMigration, &object) + secs(ActionKind::MigratePartition, &object))
            }
            _ => None,
        })
        .collect();
    let longest = moves.iter().copied().fold(0.0, f64::max);
    let m = settings.per_frame;
    let bound = longest.max(moves.iter().sum::<f64>() / m as f64);
    // For a few moves, the best schedule that keeps each move on one slot (branch and bound):
    // the bound is not always reachable with 10 moves on 4 slots.
    let best = if moves.len() <= 12 { optimum(&moves, m) } else { bound };
    let dir = tempfile::tempdir().unwrap();
    let writer = AuditWriter::start(AuditLog::open(&StateDir::open(dir.path()).unwrap()).unwrap());
    let start = sim.now_ms();
    let report = rt
        .block_on(engine::execute(sim.clone(), &plan, &Context::default(), settings, &writer, Arc::new(Quiet)))
        .unwrap();
    assert!(report.all_succeeded(), "{:?}", report.counts());
    let makespan = (sim.now_ms() - start) as f64 / 1000.0;
    (makespan, bound, best, estimate.seconds as f64)
}

/// The least makespan of `jobs` on `slots` identical slots, each job whole on one slot.
fn optimum(jobs: &[f64], slots: usize) -> f64 {
    fn place(jobs: &[f64], loads: &mut Vec<f64>, best: &mut f64) {
        let Some((first, rest)) = jobs.split_first() else {
            *best = best.min(loads.iter().copied().fold(0.0, f64::max));
            return;
        };
        for k in 0..loads.len() {
            // Slots with the same load are the same choice.
            if loads[..k].contains(&loads[k]) || loads[k] + first >= *best {
                continue;
            }
            loads[k] += first;
            place(rest, loads, best);
            loads[k] -= first;
        }
    }
    let mut sorted = jobs.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let mut best = f64::INFINITY;
    place(&sorted, &mut vec![0.0; slots], &mut best);
    best
}

#[test]
fn evacuations_run_close_to_the_bound_and_as_estimated() {
    let mut rows = Vec::new();
    for partitions in [10usize, 20, 50, 100, 200] {
        for seed in 1..=4u64 {
            let (makespan, bound, best, estimate) = evacuate(partitions, seed);
            let error = (estimate - makespan).abs() / makespan;
            rows.push((partitions, seed, makespan / bound, makespan / best, error));
            eprintln!(
                "evacuation of {partitions:>3} (seed {seed}): makespan {makespan:>7.1} s, bound {bound:>7.1} s (ratio {:.3}), best whole-move schedule {best:>7.1} s (ratio {:.3}); estimate {estimate:>6} s ({:+.1}%)",
                makespan / bound,
                makespan / best,
                (estimate - makespan) / makespan * 100.0
            );
        }
    }
    for (partitions, seed, ratio, best_ratio, error) in &rows {
        assert!(
            *error <= 0.10,
            "evacuation of {partitions} (seed {seed}): the estimate is off by {:.1}%",
            error * 100.0
        );
        // With 10 moves on 4 slots the bound cannot always be reached (the best
        // schedule itself is up to 8% above it): there the schedule is held to the best one.
        assert!(
            *ratio <= 1.05 || (*partitions < 20 && *best_ratio <= 1.05),
            "evacuation of {partitions} (seed {seed}): makespan {ratio:.3}x the bound, {best_ratio:.3}x the best schedule"
        );
    }
}
