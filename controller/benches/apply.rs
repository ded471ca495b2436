//! Apply of partition creations on the zero-latency simulator, with the durable audit trail
//! (every record flushed before its action is reported; records batched by group commit).
//! `cargo bench -p powerplane-controller --bench apply`.

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
use powerplane_model::{Action, Plan, PlanOptions, SourceFile, load_inventory, load_manifests, plan};

struct Quiet;
impl Progress for Quiet {
    fn started(&self, _: &Action) {}
    fn finished(&self, _: &Action, _: &Outcome) {}
}

/// The generated estate's hardware with nothing created yet, and the plan that creates (and
/// starts) every partition.
fn fixture(frames: usize, partitions: usize) -> (powerplane_controller::sim::SimState, Plan) {
    let g = estate_gen::generate(frames, partitions, 7);
    let no_partitions = |t: &str| {
        // Without its partitions, the inventory holds no clusters of them either.
        t.split("---\n")
            .filter(|d| !d.contains("kind: Partition") && !d.contains("kind: Cluster"))
            .collect::<Vec<_>>()
            .join("---\n")
    };
    let inv: Vec<SourceFile> = g.inventory.iter().map(|(n, t)| SourceFile::new(n.as_str(), no_partitions(t))).collect();
    let state = realise(load_inventory(&inv).unwrap(), 7).unwrap();
    let manifests: Vec<SourceFile> =
        g.manifests.iter().map(|(n, t)| SourceFile::new(n.as_str(), t.as_bytes().to_vec())).collect();
    let desired = load_manifests(&manifests).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let observed = rt.block_on(Simulator::new(state.clone(), None, Clock::new(0.0)).observe()).unwrap();
    let p = plan(&desired, &observed, PlanOptions::default());
    assert!(p.errors.is_empty(), "{:?}", &p.errors[..p.errors.len().min(3)]);
    (state, p)
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("apply");
    g.sample_size(10);
    for (frames, partitions) in [(100, 2_500), (1_000, 25_000)] {
        let (state, p) = fixture(frames, partitions);
        let creates = p.actions.iter().filter(|a| a.kind() == powerplane_model::ActionKind::CreatePartition).count();
        eprintln!("apply/{partitions}: {} actions, {creates} partition creations", p.actions.len());
        // "create": the simulator in memory; "create-persisted": as `apply` runs it, every
        // change durable in the state directory before the call returns, and the state folded
        // into the database at the end.
        for (name, persisted) in [("create", false), ("create-persisted", true)] {
            g.bench_with_input(BenchmarkId::new(name, partitions), &p, |b, p| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let dir = tempfile::tempdir().unwrap();
                        let state_dir = StateDir::open(dir.path()).unwrap();
                        let writer = AuditWriter::start(AuditLog::open(&state_dir).unwrap());
                        if persisted {
                            powerplane_controller::sim::save_state(&state_dir, &state).unwrap();
                        }
                        let sim = Simulator::new(state.clone(), persisted.then(|| state_dir.clone()), Clock::new(0.0));
                        let rt =
                            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
                        let start = Instant::now();
                        let report = rt
                            .block_on(engine::execute(
                                sim,
                                p,
                                &Context::default(),
                                engine::Settings::default(),
                                &writer,
                                Arc::new(Quiet),
                            ))
                            .unwrap();
                        drop(rt);
                        total += start.elapsed();
                        assert!(report.all_succeeded());
                    }
                    total
                })
            });
        }
    }
    g.finish();
}

criterion_group!(apply, bench);
criterion_main!(apply);
