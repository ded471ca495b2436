//! Evacuations (issue 15): a frame of 20 or 200 partitions put into maintenance, planned and
//! run by the executor on the simulator, on tokio's paused clock. Criterion times the
//! executor's own work (wall time per evacuation); the schedule's quality is printed once per
//! size: the makespan on the simulator's virtual timeline against the lower bound
//! `max(longest move, Σ moves / per-frame limit)` and against the plan's estimate.
//! `cargo bench -p powerplane-controller --bench evacuation`.

#[path = "../../examples/estate_gen/mod.rs"]
mod estate_gen;

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use powerplane_controller::backend::Hypervisor;
use powerplane_controller::engine::{self, Context, Outcome, Progress};
use powerplane_controller::sim::{Clock, Simulator, realise};
use powerplane_controller::store::StateDir;
use powerplane_controller::store::audit::AuditLog;
use powerplane_controller::store::writer::AuditWriter;
use powerplane_model::{Action, ActionKind, Plan, PlanOptions, SourceFile, load_inventory, load_manifests};

struct Quiet;
impl Progress for Quiet {
    fn started(&self, _: &Action) {}
    fn finished(&self, _: &Action, _: &Outcome) {}
}

/// The simulator of the evacuation's estate and its plan.
fn fixture(partitions: usize) -> (powerplane_controller::sim::SimState, Plan) {
    let g = estate_gen::evacuation(partitions, 1);
    let files =
        |v: &[(String, String)]| v.iter().map(|(n, t)| SourceFile::new(n.as_str(), t.as_str())).collect::<Vec<_>>();
    let state = realise(load_inventory(&files(&g.inventory)).unwrap(), 1).unwrap();
    let desired = load_manifests(&files(&g.manifests)).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let sim = Simulator::new(state.clone(), None, Clock::new(0.0));
    let observed = rt.block_on(sim.observe()).unwrap();
    let options = PlanOptions { rates: rt.block_on(sim.rates()), ..Default::default() };
    let plan = powerplane_model::plan(&desired, &observed, options);
    assert!(plan.errors.is_empty(), "{:?}", plan.errors);
    (state, plan)
}

/// Runs the evacuation once; returns the wall time and the virtual makespan, s.
fn run(state: &powerplane_controller::sim::SimState, plan: &Plan) -> (Duration, f64) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
    let sim = Simulator::new(state.clone(), None, Clock::default());
    let dir = tempfile::tempdir().unwrap();
    let writer = AuditWriter::start(AuditLog::open(&StateDir::open(dir.path()).unwrap()).unwrap());
    let settings = engine::Settings::default();
    let start = (Instant::now(), sim.now_ms());
    let report = rt
        .block_on(engine::execute(sim.clone(), plan, &Context::default(), settings, &writer, Arc::new(Quiet)))
        .unwrap();
    assert!(report.all_succeeded());
    (start.0.elapsed(), (sim.now_ms() - start.1) as f64 / 1000.0)
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("evacuation");
    g.sample_size(10);
    for partitions in [20usize, 200] {
        let (state, plan) = fixture(partitions);
        let e = plan.estimate.clone().unwrap();
        let moves: Vec<f64> = plan
            .actions
            .iter()
            .filter(|a| a.kind() == ActionKind::MigratePartition)
            .map(|m| {
                let v = plan
                    .actions
                    .iter()
                    .find(|v| v.kind() == ActionKind::ValidateMigration && v.op.object() == m.op.object())
                    .unwrap();
                e.actions[&v.id] + e.actions[&m.id]
            })
            .collect();
        let per_frame = engine::Settings::default().per_frame as f64;
        let bound = moves.iter().copied().fold(0.0, f64::max).max(moves.iter().sum::<f64>() / per_frame);
        let (_, makespan) = run(&state, &plan);
        eprintln!(
            "evacuation/{partitions}: makespan {makespan:.1} s, bound {bound:.1} s, ratio {:.3}; estimate {} s",
            makespan / bound,
            e.seconds
        );
        g.bench_with_input(BenchmarkId::new("execute", partitions), &(state, plan), |b, (state, plan)| {
            b.iter_custom(|iters| (0..iters).map(|_| run(state, plan).0).sum());
        });
    }
    g.finish();
}

criterion_group!(evacuation, bench);
criterion_main!(evacuation);
