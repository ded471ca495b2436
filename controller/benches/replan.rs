//! The controller loop's fast path: from a one-file change on disk to a ready plan, on the
//! generated estate (the debounce delay excluded). Timed: reading the changed file, replacing
//! its objects in the desired state, observing the frames the change can affect, and planning
//! them. For comparison, the full plan of the same estate. `cargo bench -p
//! powerplane-controller --bench replan`.

#[path = "../../examples/estate_gen/mod.rs"]
mod estate_gen;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use powerplane_controller::backend::Hypervisor;
use powerplane_controller::manifest_dir;
use powerplane_controller::sim::{Clock, Simulator, realise};
use powerplane_controller::watch::scoped;
use powerplane_model::plan::Ties;
use powerplane_model::{Estate, ManifestSet, PlanOptions, SourceFile, load_inventory, plan};

struct Fixture {
    dir: tempfile::TempDir,
    files: Vec<(PathBuf, String)>,
    desired: ManifestSet,
    sim: Simulator,
    cache: Estate,
    ties: Ties,
}

fn fixture(frames: usize, partitions: usize) -> Fixture {
    let g = estate_gen::generate(frames, partitions, 42);
    let inv: Vec<SourceFile> = g.inventory.iter().map(|(n, t)| SourceFile::new(n.as_str(), t.as_str())).collect();
    let sim = Simulator::new(realise(load_inventory(&inv).unwrap(), 42).unwrap(), None, Clock::new(0.0));
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (name, text) in &g.manifests {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        files.push((path, text.clone()));
    }
    let desired = ManifestSet::new(manifest_dir::load_manifests(dir.path()).unwrap());
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let cache = rt.block_on(sim.observe()).unwrap();
    let full = plan(desired.estate(), &cache, PlanOptions::default());
    assert!(full.errors.is_empty(), "{:?}", &full.errors[..full.errors.len().min(3)]);
    let ties = Ties::new(desired.estate(), &cache);
    Fixture { dir, files, desired, sim, cache, ties }
}

/// The file's text with its first partition's desired memory lowered by 256 MB (or restored).
fn edited(text: &str, lower: bool) -> String {
    let at = text.find("kind: Partition").unwrap();
    let start = at + text[at..].find("desiredMB: ").unwrap() + "desiredMB: ".len();
    let end = start + text[start..].find(|c: char| !c.is_ascii_digit()).unwrap();
    let mb: u64 = text[start..end].parse().unwrap();
    let mb = if lower { mb - 256 } else { mb };
    format!("{}{mb}{}", &text[..start], &text[end..])
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("replan");
    g.sample_size(20);
    for (frames, partitions) in [(100, 2_500), (1_000, 25_000)] {
        let mut fx = fixture(frames, partitions);
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let mut n = 0usize;
        let mut actions = 0;
        g.bench_function(BenchmarkId::new("one_file_change", partitions), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let (path, text) = &fx.files[n % fx.files.len()];
                    let text = edited(text, (n / fx.files.len()).is_multiple_of(2));
                    std::fs::write(path, text).unwrap();
                    n += 1;
                    let start = Instant::now();
                    let changes = manifest_dir::read_changed(std::slice::from_ref(path)).unwrap();
                    let changed = fx.desired.update(changes).unwrap();
                    let partitions: BTreeSet<_> = changed.partitions_only().unwrap();
                    let seen = rt
                        .block_on(scoped::observe_scope(
                            &fx.sim,
                            fx.desired.estate(),
                            &mut fx.cache,
                            &mut fx.ties,
                            &partitions,
                        ))
                        .unwrap();
                    let p = seen.scope.plan(fx.desired.estate(), &fx.cache, PlanOptions::default());
                    total += start.elapsed();
                    assert!(p.errors.is_empty(), "{:?}", p.errors);
                    actions += p.actions.len();
                }
                total
            })
        });
        eprintln!("replan/{partitions}: {n} changes planned, {actions} actions in all ({})", fx.dir.path().display());
        g.bench_function(BenchmarkId::new("full_plan", partitions), |b| {
            b.iter(|| plan(fx.desired.estate(), &fx.cache, PlanOptions::default()))
        });
    }
    g.finish();
}

criterion_group!(replan, bench);
criterion_main!(replan);
