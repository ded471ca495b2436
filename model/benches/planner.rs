//! Load, validate and plan on generated estates of 1k, 10k, 25k and 100k partitions (20 or 25
//! partitions per frame). `cargo bench -p powerplane-model`. Each figure is also given per
//! partition (criterion's throughput): planning is linear when `plan`'s time per partition at
//! 100k stays within 1.3× of its time at 10k. `parse` is the floor of loading: a bare serde
//! YAML parse of the same manifest files into untyped values, what `load` is compared with.

#[path = "../../examples/estate_gen/mod.rs"]
mod estate_gen;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use powerplane_model::status::LparState;
use powerplane_model::{Estate, PlanOptions, SourceFile, load_inventory, load_manifests, plan, validate};

struct Fixture {
    manifests: Vec<SourceFile>,
    desired: Estate,
    observed: Estate,
}

/// The generated estate, with an observed state realised by planning the inventory's
/// brownfield onto its bare hardware and applying that plan with the model's own `apply`.
fn fixture(frames: usize, partitions: usize) -> Fixture {
    let g = estate_gen::generate(frames, partitions, 42);
    let src = |files: &[(String, String)]| {
        files.iter().map(|(n, t)| SourceFile::new(n.as_str(), t.as_bytes().to_vec())).collect::<Vec<_>>()
    };
    let manifests = src(&g.manifests);
    let desired = load_manifests(&manifests).expect("generated manifests are valid");
    let brownfield = load_inventory(&src(&g.inventory)).expect("generated inventory is valid");
    let mut bare = Estate {
        hardware: brownfield.hardware.clone(),
        vios_pairs: brownfield.vios_pairs.clone(),
        ..Default::default()
    };
    for (f, hw) in &bare.hardware.clone() {
        bare.status.vios.insert(f.clone(), hw.spec.vios.iter().map(|v| (v.name.clone(), LparState::Running)).collect());
    }
    let mut as_desired = brownfield.clone();
    as_desired.frames = desired.frames.clone();
    as_desired.hardware.clear();
    let p = plan(&as_desired, &bare, PlanOptions::default());
    assert!(p.errors.is_empty(), "{:?}", &p.errors[..p.errors.len().min(3)]);
    let observed = powerplane_model::plan::apply(&bare, &p.actions);
    Fixture { manifests, desired, observed }
}

fn benches(c: &mut Criterion) {
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
