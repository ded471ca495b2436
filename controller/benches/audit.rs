//! The audit trail: `audit verify` of 100,000 records (target: ≤ 1 s), and appending batches
//! with their fdatasync (group commit, as the executor's writer does).
//! `cargo bench -p powerplane-controller --bench audit`.

use criterion::{Criterion, criterion_group, criterion_main};
use powerplane_controller::store::StateDir;
use powerplane_controller::store::audit::{self, AuditLog, Draft, Event, Keep};

fn draft(i: usize) -> Draft {
    Draft {
        plan_id: "plan-5e1c0ffee000".into(),
        action: format!("a{i}"),
        kind: "CreatePartition".into(),
        object: format!("Partition/f{:04}p{:02}", i / 25, i % 25),
        command: format!(
            "mksyscfg -r lpar -m f{:04} -i \"name=f{:04}p{:02},profile_name=default,lpar_env=aixlinux,min_mem=1024,desired_mem=16384,max_mem=32768,mem_mode=ded,proc_mode=shared,desired_proc_units=1.50\"",
            i / 25,
            i / 25,
            i % 25
        ),
        commit: Some("4f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6".into()),
        dirty: Some(false),
        ..Default::default()
    }
}

/// A trail of `n` records in batches of 32, as a 25,000-partition apply writes it.
fn trail(n: usize) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let dir = StateDir::open(d.path()).unwrap();
    let log = AuditLog::open(&dir).unwrap();
    for start in (0..n).step_by(32) {
        log.append((start..(start + 32).min(n)).map(|i| (Event::Intent, draft(i))).collect()).unwrap();
    }
    log.sync_head().unwrap();
    d
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("audit");
    g.sample_size(10);
    let d = trail(100_000);
    let bytes: u64 =
        std::fs::read_dir(d.path().join(audit::DIR)).unwrap().map(|e| e.unwrap().metadata().unwrap().len()).sum();
    eprintln!("audit/verify: 100,000 records, {bytes} bytes");
    g.bench_function("verify/100000", |b| {
        b.iter(|| {
            let scan = audit::read(d.path(), || Ok(audit::Untrailed::default()), None, Keep::Verdict).unwrap();
            assert!(scan.intact() && scan.records == 100_000);
        })
    });
    g.bench_function("append/10000-in-batches-of-16", |b| {
        b.iter_with_setup(
            || {
                let d = tempfile::tempdir().unwrap();
                let dir = StateDir::open(d.path()).unwrap();
                (AuditLog::open(&dir).unwrap(), dir, d)
            },
            |(log, _dir, _d)| {
                for start in (0..10_000).step_by(16) {
                    log.append((start..start + 16).map(|i| (Event::Intent, draft(i))).collect()).unwrap();
                }
                log.sync_head().unwrap();
            },
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
