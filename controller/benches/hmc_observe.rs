//! Observing a large estate through the HMC backend (issues 16 and 31: 1,000 frames, about 21
//! HMCs of 48 frames, in at most 10 s on a 2-core machine, every `viosvrcmd` charged the RMC
//! round trip a real HMC takes). "ssh-rmc": the generated estate behind `sim hmc-serve
//! --rmc-latency 1` (the emulator's default, an assumption: no published figure was found), 21
//! real `sshd` each managing its 48 frames (`sim hmc-shell --frames`), observed over the
//! system's OpenSSH with the default 24 sessions per HMC. "ssh": the same with no latency, the
//! cost of SSH and the listings alone. "in-process": the listings without SSH, the cost of
//! rendering and reading them. Each is observed once before it is measured: a VIOS's devices
//! are asked in its first `viosvrcmd` once an observation has listed them.

#[path = "../../examples/estate_gen/mod.rs"]
mod estate_gen;
#[path = "../../tests/sshd/mod.rs"]
mod sshd;

use std::process::Command;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use powerplane_controller::backend::Hypervisor;
use powerplane_controller::backend::hmc::Hmc;
use powerplane_controller::backend::hmc::ssh::{Endpoint, Ssh};
use powerplane_controller::sim::hmc_shell::{DEFAULT_RMC_LATENCY_SECS, HmcShell, Local};
use powerplane_controller::sim::{Clock, Simulator, StateDir, open_existing};

const FRAMES_PER_HMC: usize = 48;
/// Sessions per HMC: `--hmc-sessions`'s default.
const HMC_SESSIONS: usize = 24;

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("hmc_observe");
    g.sample_size(10).measurement_time(Duration::from_secs(60));
    let (frames, partitions) = (1_000, 25_000);
    let dir = tempfile::tempdir().unwrap();
    let g_estate = estate_gen::generate(frames, partitions, 42);
    let inv = dir.path().join("inventory");
    std::fs::create_dir_all(&inv).unwrap();
    for (name, text) in &g_estate.inventory {
        std::fs::write(inv.join(name), text).unwrap();
    }
    let state = dir.path().join("state");
    let bin = env!("CARGO_BIN_EXE_powerplane");
    let ok = Command::new(bin)
        .arg("--state-dir")
        .arg(&state)
        .arg("--inventory")
        .arg(&inv)
        .args(["sim", "init"])
        .status()
        .unwrap();
    assert!(ok.success());
    let names = Command::new(bin)
        .arg("--state-dir")
        .arg(&state)
        .args(["sim", "hmc-shell", "lssyscfg -r sys -F name"])
        .output()
        .unwrap();
    let names: Vec<String> = String::from_utf8(names.stdout).unwrap().lines().map(str::to_owned).collect();
    let hmcs: Vec<Vec<String>> = names.chunks(FRAMES_PER_HMC).map(<[String]>::to_vec).collect();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();

    // In process: one simulator, 21 emulated HMCs over it.
    {
        let store = StateDir::open_read_only(&state).unwrap();
        let sim: Simulator = open_existing(&store, Clock::new(0.0)).unwrap().unwrap();
        let local = Hmc::new(
            hmcs.iter()
                .map(|f| Local(HmcShell::new(sim.clone(), Some(f.iter().map(|n| n.parse().unwrap()).collect()))))
                .collect(),
        );
        let seen = rt.block_on(local.observe()).unwrap();
        eprintln!(
            "hmc_observe: {} frames, {} partitions, {} HMCs",
            seen.frames.len(),
            seen.partitions.len(),
            hmcs.len()
        );
        g.bench_with_input(BenchmarkId::new("in-process", frames), &local, |b, h| {
            b.iter(|| rt.block_on(h.observe()).unwrap())
        });
    }

    // Over SSH: the daemon holds the estate (its own sshd is not used); each sshd is one HMC.
    let user = hmc_user(dir.path());
    for (name, latency) in [("ssh", 0.0), ("ssh-rmc", DEFAULT_RMC_LATENCY_SECS)] {
        let daemon = sshd::Sshd::with_daemon_charging(&state, "", latency);
        // The emulated HMC's sessions (as `hscroot`) reach the daemon's socket.
        let _ = Command::new("chmod").arg("a+rwx").arg(state.join("hmc.sock")).status();
        let servers: Vec<sshd::Sshd> = hmcs
            .iter()
            .map(|f| sshd::Sshd::start_as(&state, "", &format!("--frames {}", f.join(",")), &user))
            .collect();
        let hmc = Hmc::new(
            servers
                .iter()
                .map(|s| {
                    let e = Endpoint::parse(&s.url(), Some(s.key.clone()), Some(s.known_hosts.clone())).unwrap();
                    Ssh::new(e, HMC_SESSIONS)
                })
                .collect(),
        );
        let started = std::time::Instant::now();
        let seen = rt.block_on(hmc.observe()).unwrap();
        eprintln!("hmc_observe/{name}: the first observation took {:.2} s", started.elapsed().as_secs_f64());
        assert_eq!(seen.frames.len(), frames);
        assert!(seen.status.unknown_vios.is_empty(), "{:?}", seen.status.unknown_vios);
        g.bench_with_input(BenchmarkId::new(name, frames), &hmc, |b, h| b.iter(|| rt.block_on(h.observe()).unwrap()));
        drop(servers);
        drop(daemon);
    }
    g.finish();
}

/// The user HMC sessions log in as: as root, `hscroot` (created with `/bin/sh` and an empty
/// home, as on an HMC a user whose shell reads no start-up files: a login shell that starts tools such as pyenv at
/// every session would be measured instead of the HMC), else the current user.
fn hmc_user(dir: &std::path::Path) -> String {
    let me = std::env::var("USER").unwrap_or_default();
    let root = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0"));
    if !root {
        return me;
    }
    if !Command::new("id").arg("hscroot").output().is_ok_and(|o| o.status.success()) {
        let made = Command::new("useradd").args(["-m", "-d", "/home/hscroot", "-s", "/bin/sh", "hscroot"]).status();
        if !made.is_ok_and(|s| s.success()) {
            return me;
        }
    }
    // Without PAM, sshd refuses an account whose password is locked (`!`, as useradd leaves
    // it); `*` unlocks it with no password that could ever match: keys only.
    let _ = Command::new("usermod").args(["-p", "*", "-s", "/bin/sh", "-d", "/home/hscroot", "hscroot"]).status();
    let _ = std::fs::create_dir_all("/home/hscroot");
    let _ = Command::new("chown").args(["hscroot", "/home/hscroot"]).status();
    // The emulated HMC's sessions reach the daemon's socket and read the state directory.
    let _ = Command::new("chmod").arg("-R").arg("a+rwX").arg(dir).status();
    "hscroot".into()
}

criterion_group!(benches, bench);
criterion_main!(benches);
