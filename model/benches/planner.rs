//! Load, validate and plan on generated estates of 1k, 10k, 25k and 100k partitions (20 or 25
//! partitions per frame). `cargo bench -p powerplane-model`. Each figure is also given per
//! partition (criterion's throughput): planning is linear when `plan`'s time per partition at
//! 100k stays within 1.3× of its time at 10k. `parse` is the floor of loading: a bare serde
//! YAML parse of the same manifest files into untyped values, what `load` is compared with.
//! It runs on the `powerplane` binary's allocator and its options (`controller/src/allocator.rs`).

#[path = "../../examples/estate_gen/mod.rs"]
mod estate_gen;
#[path = "realised/mod.rs"]
mod realised;
// The `powerplane` binary's allocator, so that the bench measures what runs.
#[path = "../../controller/src/allocator.rs"]
mod allocator;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use powerplane_model::{PlanOptions, load_manifests, plan, validate};
use realised::fixture;

fn benches(c: &mut Criterion) {
    allocator::configure();
    let mut g = c.benchmark_group("planner");
    g.sample_size(10);
    for (frames, partitions) in [(50, 1_000), (500, 10_000), (1_000, 25_000), (4_000, 100_000)] {
        let fx = fixture(frames, partitions);
        g.throughput(Throughput::Elements(partitions as u64));
        g.bench_with_input(BenchmarkId::new("parse", partitions), &fx, |b, fx| {
            b.iter(|| {
                fx.manifests
                    .iter()
                    .map(|f| {
                        let text = std::str::from_utf8(&f.bytes).expect("generated manifests are UTF-8");
                        serde_yaml::Deserializer::from_str(text)
                            .map(|d| <serde_yaml::Value as serde::Deserialize>::deserialize(d).unwrap())
                            .collect::<Vec<_>>()
                            .len()
                    })
                    .sum::<usize>()
            })
        });
        g.bench_with_input(BenchmarkId::new("load", partitions), &fx, |b, fx| {
            b.iter(|| load_manifests(&fx.manifests).unwrap())
        });
        g.bench_with_input(BenchmarkId::new("validate", partitions), &fx, |b, fx| {
            b.iter(|| validate(&fx.desired, Some(&fx.observed)))
        });
        g.bench_with_input(BenchmarkId::new("diff", partitions), &fx, |b, fx| {
            b.iter(|| powerplane_model::plan::diff(&fx.desired, &fx.observed, PlanOptions::default()))
        });
        g.bench_with_input(BenchmarkId::new("plan", partitions), &fx, |b, fx| {
            b.iter(|| {
                let p = plan(&fx.desired, &fx.observed, PlanOptions::default());
                assert!(p.errors.is_empty());
                p
            })
        });
    }
    g.finish();
}

criterion_group!(planner, benches);
criterion_main!(planner);
