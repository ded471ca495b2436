//! The HMC backend against the emulator in process: what it observes through the listings is
//! what the simulator observes directly, less what an HMC cannot see.

use powerplane_model::status::LparState;

use super::*;
use crate::sim::hmc_shell::{HmcShell, Local};
use crate::sim::{self, Clock, Simulator};

fn lab() -> Simulator {
    let state = sim::build(None, 0).expect("the lab builds");
    Simulator::new(state, None, Clock::new(0.0))
}

/// What an HMC cannot see of an observed estate (the simulator's own observation).
pub(crate) fn hmc_view(mut e: Estate) -> Estate {
    e.clusters.clear();
    e.status.nodes.clear();
    e.status.nodes_observed = false;
    for f in e.frames.values_mut() {
        f.metadata.labels.clear();
    }
    for h in e.hardware.values_mut() {
        h.metadata.labels.clear();
        h.spec.on_battery = false;
    }
    for (n, p) in e.partitions.iter_mut() {
        // `preferred` is a manifest's wish: a profile has a secondary paging VIOS (required) or
        // none.
        if let Some(pg) = p.spec.memory.paging.as_mut()
            && pg.redundancy == powerplane_model::manifest::Redundancy::Preferred
        {
            let secondary =
                e.status.partitions.get(n).and_then(|s| s.paging.as_ref()).and_then(|g| g.secondary.as_ref());
            pg.redundancy = match secondary {
                Some(_) => powerplane_model::manifest::Redundancy::Required,
                None => powerplane_model::manifest::Redundancy::None,
            };
        }
        p.spec.hooks = Default::default();
        // NPIV LUNs are zoned to the client's own ports: no VIOS listing names them.
        p.spec.storage.retain(|s| s.via != powerplane_model::manifest::StorageVia::Npiv);
        p.spec.processors = p.spec.processors.with_defaults_elided();
        p.spec.memory = p.spec.memory.with_defaults_elided();
    }
    for s in e.status.partitions.values_mut() {
        if let Some(m) = s.migration.as_mut() {
            m.remaining_secs = 0;
        }
        s.npiv_hidden = true;
    }
    // An in-process emulator that is none of the simulator's HMCs has no address: what the
    // backend learns of the HMCs is tested apart (`two_hmcs_*`).
    e.status.consoles = Default::default();
    e
}

/// The HMC's observation of `sim` equals the simulator's own, less what an HMC cannot see.
async fn same_through_the_emulator(sim: &Simulator, hmc: &Hmc<Local>) {
    let direct = hmc_view(sim.observe().await.unwrap());
    hmc.adopt_names(&direct);
    let mut seen = hmc.observe().await.unwrap();
    for s in seen.status.partitions.values_mut() {
        if let Some(m) = s.migration.as_mut() {
            m.remaining_secs = 0;
        }
    }
    let (a, b) = (serde_json::to_value(&direct).unwrap(), serde_json::to_value(&seen).unwrap());
    if a != b {
        let (a, b) = (serde_json::to_string_pretty(&a).unwrap(), serde_json::to_string_pretty(&b).unwrap());
        let diff = similar::TextDiff::from_lines(&a, &b);
        panic!("{}", diff.unified_diff().context_radius(3));
    }
}

#[tokio::test]
async fn the_lab_through_the_emulator_is_the_lab() {
    let sim = lab();
    let hmc = Hmc::new(vec![Local(HmcShell::new(sim.clone(), None))]);
    same_through_the_emulator(&sim, &hmc).await;
}

/// A VIOS that is down answers nothing inside it: its devices and SEA device are those of the
/// last observation, the SEA device inactive; the primary stays the priority-1 member.
#[tokio::test]
async fn a_vios_that_is_down_keeps_what_it_had_when_last_seen() {
    let sim = lab();
    let hmc = Hmc::new(vec![Local(HmcShell::new(sim.clone(), None))]);
    same_through_the_emulator(&sim, &hmc).await;
    let f = FrameName::new("p72").unwrap();
    sim.vios_down(&f, &ViosName::new("p72vio1").unwrap()).await.unwrap();
    same_through_the_emulator(&sim, &hmc).await;
    sim.vios_down(&f, &ViosName::new("p72vio2").unwrap()).await.unwrap();
    same_through_the_emulator(&sim, &hmc).await;
    sim.vios_up(&f, &ViosName::new("p72vio1").unwrap()).await.unwrap();
    same_through_the_emulator(&sim, &hmc).await;
    // A fresh process remembers the state directory's snapshot instead.
    let earlier = hmc.observe().await.unwrap();
    sim.vios_down(&f, &ViosName::new("p72vio1").unwrap()).await.unwrap();
    let fresh = Hmc::new(vec![Local(HmcShell::new(sim.clone(), None))]);
    fresh.remember(earlier);
    same_through_the_emulator(&sim, &fresh).await;
}

/// Issue 31 item 3: an estate whose frame, VIOS and partition names hold spaces
/// (`tests/fixtures/spaced-names`, and again with two spaces in a row in the frame's name) reads
/// back through the emulator's listings as the simulator has it, and a resize rendered with
/// those names (quoted) is carried out.
#[tokio::test]
async fn names_with_spaces_read_back_and_change_through_the_emulator() {
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/spaced-names");
    for frame in ["p9 lab 1", "p9  lab  1"] {
        let dir = tempfile::tempdir().unwrap();
        for (from, to) in [("hardware.yaml", "hardware.yaml"), ("manifests/estate.yaml", "estate.yaml")] {
            let text = std::fs::read_to_string(fixture.join(from)).unwrap();
            std::fs::write(dir.path().join(to), text.replace("p9 lab 1", frame)).unwrap();
        }
        let sim = Simulator::new(sim::build(Some(dir.path()), 0).expect("the fixture builds"), None, Clock::new(0.0));
        let hmc = Hmc::new(vec![Local(HmcShell::new(sim.clone(), None))]);
        same_through_the_emulator(&sim, &hmc).await;
        let seen = hmc.observe().await.unwrap();
        let db = powerplane_model::PartitionName::new("db prod 01").unwrap();
        assert!(seen.partitions.contains_key(&db), "{:?}", seen.partitions.keys().collect::<Vec<_>>());
        let op = Op::UpdatePartition {
            profile: powerplane_model::ProfileName::hmc_default(),
            frame: FrameName::new(frame).unwrap(),
            partition: db.clone(),
            change: powerplane_model::action::PartitionChange {
                memory: Some((powerplane_model::MemoryMb(8192), powerplane_model::MemoryMb(12288))),
                ..Default::default()
            },
        };
        assert_eq!(
            op.command(),
            format!(
                r#"chsyscfg -r prof -m "{frame}" -i "name=default_profile,lpar_name=db prod 01,desired_mem=12288"; chhwres -r mem -m "{frame}" -o a -p "db prod 01" -q 4096"#
            )
        );
        let action = Action {
            id: powerplane_model::ActionId("a1".into()),
            op,
            after: Vec::new(),
            when: Default::default(),
            reason: "resize".into(),
            claims: Default::default(),
        };
        hmc.execute(&action).await.expect("the resize runs");
        let after = hmc.observe().await.unwrap();
        assert_eq!(after.partitions[&db].spec.memory.desired_mb, powerplane_model::MemoryMb(12288));
        same_through_the_emulator(&sim, &hmc).await;
    }
}

/// A transport that refuses scripts longer than Linux takes as one argument (128 KiB).
struct ArgLimited(Local);

impl Transport for ArgLimited {
    async fn run(&self, script: &str) -> Result<super::transport::ShellOutput, BackendError> {
        if script.len() > 128 * 1024 {
            return Err(BackendError::Transient("Argument list too long".into()));
        }
        self.0.run(script).await
    }
    fn describe(&self) -> String {
        "a transport with an argument limit".into()
    }
}

/// A batch longer than one remote command line may be goes as several, in order.
#[tokio::test]
async fn long_batches_are_split_and_stay_in_order() {
    let t = ArgLimited(Local(HmcShell::new(lab(), None)));
    let cmds: Vec<String> = (0..6000).map(|i| format!("echo {i}")).collect();
    let out = run_batch(&t, &cmds).await.unwrap();
    assert_eq!(out.len(), 6000);
    assert!(out.iter().enumerate().all(|(i, o)| o.code == 0 && o.stdout == format!("{i}\n")));
}

/// An emulated HMC that runs `sessions` scripts at once, every `viosvrcmd` taking a second.
struct Sessions(Local, usize, tokio::sync::Semaphore);

impl Sessions {
    fn new(sim: Simulator, sessions: usize) -> Self {
        let shell = HmcShell::new(sim, None).with_rmc_latency(Duration::from_secs(1));
        Sessions(Local(shell), sessions, tokio::sync::Semaphore::new(sessions))
    }
}

impl Transport for Sessions {
    async fn run(&self, script: &str) -> Result<super::transport::ShellOutput, BackendError> {
        let _one = self.2.acquire().await.expect("never closed");
        self.0.run(script).await
    }
    fn describe(&self) -> String {
        format!("an emulated HMC taking {} sessions", self.1)
    }
    fn sessions(&self) -> usize {
        self.1
    }
}

/// Issue 31 item 6, counted in RMC round trips on virtual time: every VIOS is asked in one
/// chained `viosvrcmd` once its devices are known (two the first time: its devices are listed
/// before they are asked of), and the VIOS are spread over the sessions the HMC takes, so an
/// observation waits `ceil(VIOS / sessions)` round trips, not one per listing or per disk.
#[tokio::test(start_paused = true)]
async fn an_observation_waits_one_rmc_round_trip_per_vios_per_session() {
    let sim = lab();
    let running = sim
        .observe()
        .await
        .unwrap()
        .status
        .vios
        .values()
        .flat_map(|v| v.values())
        .filter(|s| **s == powerplane_model::status::LparState::Running)
        .count();
    assert!(running >= 4, "the lab runs {running} VIOS");
    for sessions in [1, 3, running] {
        let hmc = Hmc::new(vec![Sessions::new(sim.clone(), sessions)]);
        let rounds = running.div_ceil(sessions) as u64;
        let t = tokio::time::Instant::now();
        let first = hmc.observe().await.unwrap();
        let first_took = t.elapsed().as_secs();
        assert!(first.status.unknown_vios.is_empty(), "{:?}", first.status.unknown_vios);
        let t = tokio::time::Instant::now();
        let again = hmc.observe().await.unwrap();
        let again_took = t.elapsed().as_secs();
        assert_eq!(again_took, rounds, "{sessions} sessions, {running} VIOS: one round trip each");
        assert!(first_took <= 3 * rounds && first_took >= 2 * rounds, "{sessions} sessions: {first_took} s");
        assert_eq!(serde_json::to_value(&first).unwrap(), serde_json::to_value(&again).unwrap());
    }
}

/// An emulated HMC whose answers to `lssyscfg … -F state,rmc_state` are the states a real HMC
/// lists while a partition starts or stops (the last one repeats), everything else the
/// emulator's; it counts the `chsysstate` commands it is sent.
struct States {
    hmc: Local,
    states: std::sync::Mutex<std::collections::VecDeque<&'static str>>,
    issued: std::sync::atomic::AtomicUsize,
}

impl States {
    fn new(sim: Simulator, states: &[&'static str]) -> Self {
        States {
            hmc: Local(HmcShell::new(sim, None)),
            states: std::sync::Mutex::new(states.iter().copied().collect()),
            issued: Default::default(),
        }
    }
}

impl Transport for States {
    async fn run(&self, script: &str) -> Result<super::transport::ShellOutput, BackendError> {
        if script.contains("-F state,rmc_state") {
            let mut q = self.states.lock().unwrap();
            let next = if q.len() > 1 { q.pop_front().unwrap() } else { q[0] };
            let stdout = format!("{next}\n{} 0 0\n", super::transport::MARK);
            return Ok(super::transport::ShellOutput { stdout, stderr: String::new(), code: 0 });
        }
        if script.starts_with("chsysstate") {
            self.issued.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        self.hmc.run(script).await
    }
    fn describe(&self) -> String {
        "an emulated HMC listing scripted states".into()
    }
}

fn stop(partition: &str) -> Action {
    Action {
        id: powerplane_model::ActionId("a1".into()),
        op: Op::StopPartition {
            frame: FrameName::new("IBM_MMA_P6_102615A_SOLCHMS05").unwrap(),
            partition: powerplane_model::PartitionName::new(partition).unwrap(),
            how: Default::default(),
        },
        after: Vec::new(),
        when: Default::default(),
        reason: String::new(),
        claims: Default::default(),
    }
}

/// Issue 32 item 5: `chsysstate` returns once the HMC has begun; the backend follows
/// `lssyscfg` until the partition is where the action wants it (the state it started from and
/// the states on the way tolerated), on virtual time, polling every `poll`.
#[tokio::test(start_paused = true)]
async fn a_stop_is_followed_until_the_partition_is_not_activated() {
    let states = ["Running,active", "Running,active", "Shutting Down,inactive", "Not Activated,inactive"];
    let hmc = Hmc::new(vec![States::new(lab(), &states)]).with_poll(Duration::from_secs(5));
    hmc.observe().await.unwrap();
    let t = tokio::time::Instant::now();
    let done = hmc.execute(&stop("lpar_6_sotchax11")).await.unwrap();
    assert_eq!(t.elapsed(), Duration::from_secs(10), "two polls after the first answer");
    assert!(done.message.contains("lpar_6_sotchax11 is Not Activated"), "{}", done.message);
    assert_eq!(hmc.hmcs[0].issued.load(std::sync::atomic::Ordering::SeqCst), 1);
}

/// A stop already under way (a retry after a lost connection) is followed, not issued again;
/// a state that is not on the way ends it as a refusal naming the state; one that never
/// arrives ends at the bound, never by issuing the command again.
#[tokio::test(start_paused = true)]
async fn a_stop_under_way_is_followed_a_failed_one_named_and_a_stuck_one_bounded() {
    let under_way = Hmc::new(vec![States::new(lab(), &["Shutting Down,inactive", "Not Activated,inactive"])]);
    under_way.observe().await.unwrap();
    let done = under_way.execute(&stop("lpar_6_sotchax11")).await.unwrap();
    assert!(done.message.contains("already under way"), "{}", done.message);
    assert_eq!(under_way.hmcs[0].issued.load(std::sync::atomic::Ordering::SeqCst), 0, "never issued again");

    let failed = Hmc::new(vec![States::new(lab(), &["Running,active", "Error,inactive"])]);
    failed.observe().await.unwrap();
    let e = failed.execute(&stop("lpar_6_sotchax11")).await.unwrap_err().to_string();
    assert!(e.contains("is Error after `chsysstate`, not Not Activated") && e.contains("lsrefcode"), "{e}");

    let stuck = Hmc::new(vec![States::new(lab(), &["Running,active", "Shutting Down,inactive"])]);
    stuck.observe().await.unwrap();
    let t = tokio::time::Instant::now();
    let e = stuck.execute(&stop("lpar_6_sotchax11")).await.unwrap_err();
    assert!(matches!(e, BackendError::Timeout(_)), "{e:?}");
    assert!(t.elapsed() >= Duration::from_secs(15 * 60) && t.elapsed() < Duration::from_secs(16 * 60));
    assert_eq!(stuck.hmcs[0].issued.load(std::sync::atomic::Ordering::SeqCst), 1);
}

/// Issue 32 item 5: through the emulator's listings, a VIOS being activated is `Starting`, then
/// runs without RMC (`vios_without_rmc`, and its adapters unknown: `viosvrcmd` cannot reach it),
/// then with RMC; and a start the backend sends is followed until its RMC is active.
#[tokio::test(start_paused = true)]
async fn a_vios_activation_is_observed_stage_by_stage_and_followed_to_its_rmc() {
    let state = sim::build(None, 0).expect("the lab builds");
    let sim = Simulator::new(state, None, Clock::default());
    let (f, v) = (FrameName::new("p72").unwrap(), ViosName::new("p72vio2").unwrap());
    sim.vios_down(&f, &v).await.unwrap();
    let hmc = Hmc::new(vec![Local(HmcShell::new(sim.clone(), None))]).with_poll(Duration::from_secs(5));
    let start = Action {
        id: powerplane_model::ActionId("a1".into()),
        op: Op::StartVios { frame: f.clone(), vios: v.clone(), profile: powerplane_model::ProfileName::hmc_default() },
        after: Vec::new(),
        when: Default::default(),
        reason: String::new(),
        claims: Default::default(),
    };
    hmc.observe().await.unwrap();
    let bg = std::sync::Arc::new(hmc);
    let follower = bg.clone();
    let follow = tokio::spawn(async move { follower.execute(&start).await });
    // Virtual time runs at 60x: 5 s in, it starts; 50 s in, it runs without RMC.
    tokio::time::sleep(Duration::from_millis(5_000 / 60)).await;
    let seen = bg.observe().await.unwrap();
    assert_eq!(seen.status.vios[&f][&v], LparState::Starting);
    tokio::time::sleep(Duration::from_millis(45_000 / 60)).await;
    let seen = bg.observe().await.unwrap();
    assert_eq!(seen.status.vios[&f][&v], LparState::Running);
    assert!(seen.status.vios_lacks_rmc(&f, &v), "{:?}", seen.status.vios_without_rmc);
    assert!(seen.status.vios_unknown(&f, &v), "viosvrcmd cannot reach it: {:?}", seen.status.unknown_vios);
    let done = follow.await.unwrap().unwrap();
    assert!(done.message.contains("p72vio2 is running with RMC active"), "{}", done.message);
    let seen = bg.observe().await.unwrap();
    assert!(!seen.status.vios_lacks_rmc(&f, &v) && !seen.status.vios_unknown(&f, &v));
}

// The generator is shared with the examples and benches, where its items are public.
#[allow(unreachable_pub)]
#[path = "../../../../examples/estate_gen/mod.rs"]
mod estate_gen;

mod generated {
    //! Random estates through the emulator's listings read back as the simulator has them.

    use proptest::prelude::*;

    use super::*;

    fn simulator(frames: usize, partitions: usize, seed: u64) -> Simulator {
        let g = super::estate_gen::generate(frames, partitions, seed);
        let dir = tempfile::tempdir().unwrap();
        for (n, t) in &g.inventory {
            std::fs::write(dir.path().join(n), t).unwrap();
        }
        let state = sim::build(Some(dir.path()), seed).expect("a generated inventory builds");
        Simulator::new(state, None, Clock::new(0.0))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        /// Generated estates (frames, VIOS pairs, SEAs in auto or sharing mode, shared memory
        /// pools, running and stopped partitions) are rendered by the emulator in the HMC's and
        /// VIOS's formats and read back by the backend equal, less what an HMC cannot see.
        #[test]
        fn generated_estates_read_back_through_the_listings(frames in 1usize..5, partitions in 0usize..30, seed in any::<u64>()) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let sim = simulator(frames, partitions, seed);
            let hmc = Hmc::new(vec![Local(HmcShell::new(sim.clone(), None))]);
            rt.block_on(same_through_the_emulator(&sim, &hmc));
        }
    }
}
