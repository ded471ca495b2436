//! Convergence under faults (issue "Property tests that prove convergence under faults"): a
//! state machine whose reference is the generated desired state and fault set, and whose system
//! under test is the real executor on the simulated hypervisor with a durable audit trail.
//! Transitions change the desired state, inject or clear faults, or run one reconcile (observe,
//! plan, execute, observe, store). After every transition the invariants below are checked;
//! at the end, with the faults cleared, at most K reconciles must reach an empty plan or a
//! stable set of errors.
//!
//! K = 3: one reconcile applies a plan; a second repairs what the last faults interrupted
//! (a transient failure that ran out of retries, dependents skipped after a failure); the third
//! must find nothing left (or the same errors: an estate a human has to fix).
//!
//! A failure prints the minimal transitions and the inventory and manifests as YAML, replayable
//! with `powerplane --inventory inv.yaml sim init` and `powerplane apply m.yaml --yes`.

use std::collections::BTreeMap;
use std::sync::Arc;

use powerplane_controller::backend::Hypervisor;
use powerplane_controller::engine::{self, Context, Outcome, Progress};
use powerplane_controller::sim::{Clock, FailMode, Simulator, realise};
use powerplane_controller::store::StateDir;
use powerplane_controller::store::audit::{AuditLog, Event};
use powerplane_controller::store::snapshot;
use powerplane_controller::store::writer::AuditWriter;
use powerplane_model::action::RedundantPgVios;
use powerplane_model::manifest::{MemoryMode, Redundancy};
use powerplane_model::status::{LparState, SeaState};
use powerplane_model::testkit::{self, Edit, Fault, FrameGen, PartGen};
use powerplane_model::{Action, ActionKind, Estate, FrameName, Op, PlanOptions, SourceFile, ViosName};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};
use proptest_state_machine::{ReferenceStateMachine, StateMachineTest, prop_state_machine};

const K: usize = 3;

mod clusters;
mod evacuation;

/// The inventory with its frames managed by two HMCs (even frames by `hmc-a`, odd ones by
/// `hmc-b`), each one's key authorized on the other: moves between their frames name the
/// destination HMC (`migrlpar --ip`), which the simulator checks (issue 32 item 6).
fn two_hmcs(inventory: &str) -> String {
    let mut n = 0usize;
    inventory
        .split("\n---\n")
        .map(|doc| {
            if !doc.contains("kind: FrameHardware") {
                return doc.to_owned();
            }
            let (me, other) = if n.is_multiple_of(2) { ("hmc-a", "hmc-b") } else { ("hmc-b", "hmc-a") };
            n += 1;
            doc.replacen("\nspec:\n", &format!("\nspec:\n  hmc: {{address: {me}, authorizedOn: [{other}]}}\n"), 1)
        })
        .collect::<Vec<_>>()
        .join("\n---\n")
}

/// The HMC the inventory gives frame `f{i}`.
fn hmc_of(frame: &FrameName) -> &'static str {
    let i: usize = frame.as_str().trim_start_matches('f').parse().unwrap_or(0);
    if i.is_multiple_of(2) { "hmc-a" } else { "hmc-b" }
}

/// Seeds of every failure found so far, replayed before the random cases (relative to the
/// controller crate, where cargo runs the test).
const REGRESSIONS: &str = "../tests/convergence/proptest-regressions.txt";

#[derive(Clone, Debug)]
struct Reference {
    frames: Vec<FrameGen>,
    parts: Vec<Option<PartGen>>,
    faults: Vec<Fault>,
}

impl Reference {
    fn yaml(&self) -> String {
        format!(
            "# inventory\n{}\n# manifests\n{}\n# active faults: {:?}",
            testkit::hardware(&self.frames),
            testkit::manifests(&self.frames, &self.parts),
            self.faults
        )
    }
}

#[derive(Clone, Debug)]
enum Transition {
    ChangeDesired(Edit),
    InjectFault(Fault),
    ClearFaults,
    Reconcile,
    /// A reconcile whose client dies (SIGKILL) this many real milliseconds into the executor
    /// (60x on the paused clock: up to 4 virtual minutes, longer than a VIOS's activation):
    /// its calls stop mid-way, what the HMC carries out (a migration, an activation, a
    /// shutdown) goes on, and the next process closes the dangling intents and follows it.
    ClientDies(u64),
    /// A reconcile whose client dies this many real milliseconds (60x) after an activation or
    /// a shutdown was first seen under way: the kill lands inside it, or just after.
    ClientDiesMidPower(u64),
    /// The next migration starts and fails half-way, leaving its partition to be recovered.
    MigrationFailsMidway,
}

struct Machine;

impl ReferenceStateMachine for Machine {
    type State = Reference;
    type Transition = Transition;

    fn init_state() -> BoxedStrategy<Reference> {
        testkit::scenario_sized(8, 40)
            .prop_map(|s| Reference {
                frames: s.frames,
                parts: s.parts.into_iter().map(Some).collect(),
                faults: Vec::new(),
            })
            .prop_filter("manifests must load", |r| testkit::load(&testkit::manifests(&r.frames, &r.parts)).is_some())
            .boxed()
    }

    fn transitions(state: &Reference) -> BoxedStrategy<Transition> {
        let n = state.frames.len();
        prop_oneof![
            3 => Just(Transition::Reconcile),
            3 => testkit::edit_gen(n).prop_map(Transition::ChangeDesired),
            2 => testkit::fault_gen(n).prop_map(Transition::InjectFault),
            1 => Just(Transition::ClearFaults),
            1 => (0u64..4_000).prop_map(Transition::ClientDies),
            // Kills inside activations and shutdowns: up to 54 virtual seconds after one was
            // first seen under way (a client reaches Running in 30, a VIOS its RMC in 90, a
            // shutdown takes 20 to 30); and the edits that start and stop partitions and VIOS.
            1 => (0u64..900).prop_map(Transition::ClientDiesMidPower),
            1 => (0..40usize).prop_map(|p| Transition::ChangeDesired(Edit::Toggle(p))),
            1 => (0..n).prop_map(|f| Transition::ChangeDesired(Edit::ViosDown(f))),
            1 => Just(Transition::MigrationFailsMidway),
        ]
        .boxed()
    }

    fn apply(mut state: Reference, t: &Transition) -> Reference {
        match t {
            Transition::ChangeDesired(e) => {
                let (frames, parts) = testkit::apply_edits(&state.frames, state.parts.clone(), std::slice::from_ref(e));
                state.frames = frames;
                state.parts = parts;
            }
            Transition::InjectFault(f) => state.faults.push(f.clone()),
            Transition::ClearFaults => state.faults.clear(),
            Transition::Reconcile
            | Transition::ClientDies(_)
            | Transition::ClientDiesMidPower(_)
            | Transition::MigrationFailsMidway => {}
        }
        state
    }

    fn preconditions(state: &Reference, t: &Transition) -> bool {
        match t {
            Transition::ChangeDesired(_) => {
                let next = Self::apply(state.clone(), t);
                testkit::load(&testkit::manifests(&next.frames, &next.parts)).is_some()
            }
            _ => true,
        }
    }
}

struct Quiet;
impl Progress for Quiet {
    fn started(&self, _: &Action) {}
    fn finished(&self, _: &Action, _: &Outcome) {}
}

struct System {
    rt: tokio::runtime::Runtime,
    sim: Simulator,
    _dir: tempfile::TempDir,
    state_dir: StateDir,
    log: AuditLog,
    writer: AuditWriter,
    /// Every executed action with its outcome, in order.
    executed: Vec<(Action, Outcome)>,
    /// The desired estate of the last reconcile (for the redundancy check).
    last_desired: Option<Estate>,
    last_errors: Vec<String>,
    reconciles: usize,
    /// Kills that left an activation or shutdown under way, by what was under way
    /// (`CONVERGENCE_STATS`).
    kills_mid_power: BTreeMap<String, usize>,
    /// Actions running at once (the executor's default, or 1 for the determinism property).
    parallel: usize,
    /// Partitions that were activating when an injected fault took a VIOS of their frame down:
    /// the firmware may not find the boot disk and stop in the SMS menu, where a partition
    /// stays until someone restarts it (no OS runs there to tell it is stuck: the plan defers
    /// it with the restart to run, never calls it converged).
    stranded: std::collections::BTreeSet<String>,
}

impl System {
    /// What the simulated hypervisor shows now.
    fn observe(&self) -> Estate {
        self.rt.block_on(self.sim.observe()).unwrap()
    }

    /// The executor's settings for a reconcile, and its context.
    fn run_settings(&self) -> (engine::Settings, Context) {
        let settings = engine::Settings {
            backoff: std::time::Duration::from_millis(1),
            attempts: 3,
            parallel: self.parallel,
            per_frame: self.parallel.min(4),
            ..Default::default()
        };
        (settings, Context { plan_id: format!("r{}", self.reconciles), ..Default::default() })
    }

    /// The desired state, the observation and the plan a reconcile starts from.
    fn start_reconcile(&mut self, reference: &Reference) -> (Estate, Estate, powerplane_model::Plan) {
        self.reconciles += 1;
        let desired = testkit::load(&testkit::manifests(&reference.frames, &reference.parts))
            .expect("preconditions keep manifests valid");
        let observed = self.observe();
        let plan = powerplane_model::plan(&desired, &observed, PlanOptions::default());
        (desired, observed, plan)
    }

    /// A reconcile whose client is killed `after_ms` into executing its plan, then the start
    /// of the next process: the audit writer's queue drained, dangling intents closed.
    /// With `mid_power`, the `after_ms` count from the moment an activation or shutdown is
    /// first seen under way (if one ever is: else the reconcile runs to its end).
    fn reconcile_killed(&mut self, reference: &Reference, after_ms: u64, mid_power: bool) {
        let (desired, _, plan) = self.start_reconcile(reference);
        if plan.errors.is_empty() && !plan.actions.is_empty() {
            let (settings, ctx) = self.run_settings();
            let run = engine::execute(self.sim.clone(), &plan, &ctx, settings, &self.writer, Arc::new(Quiet));
            let sim = self.sim.clone();
            let kill = async move {
                if mid_power {
                    loop {
                        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                        if sim.observe().await.is_ok_and(|e| in_flight(&e, None).is_some()) {
                            break;
                        }
                    }
                }
                tokio::time::sleep(std::time::Duration::from_millis(after_ms)).await;
            };
            let finished = self.rt.block_on(async {
                tokio::select! {
                    report = run => Some(report),
                    () = kill => None,
                }
            });
            match finished {
                Some(report) => self.executed.extend(report.unwrap().results),
                None => {
                    if let Some(what) = self.power_in_flight() {
                        let stage = what.split_once(" is ").map_or("without RMC", |(_, s)| s).to_owned();
                        *self.kills_mid_power.entry(stage).or_default() += 1;
                    }
                }
            }
        }
        // The next process: records already handed to the writer are written (its queue is
        // FIFO), then every intent left without an outcome is closed as interrupted.
        self.rt.block_on(self.writer.write(Vec::new())).unwrap();
        self.rt.block_on(engine::close_dangling(&self.log, &self.writer)).unwrap();
        self.last_desired = Some(desired);
    }

    /// A partition or VIOS whose activation or shutdown is under way, or a VIOS running
    /// without RMC yet, as the HMC lists it now.
    fn power_in_flight(&self) -> Option<String> {
        in_flight(&self.observe(), None)
    }

    fn reconcile(&mut self, reference: &Reference) -> powerplane_model::Plan {
        let (desired, observed, plan) = self.start_reconcile(reference);
        // Nothing the manifests manage is converged while its activation or shutdown is under
        // way (or a VIOS's RMC has not come): the plan made then says so.
        if let Some(what) = in_flight(&observed, Some(&desired))
            && plan.errors.is_empty()
        {
            assert!(!plan.is_empty(), "the plan was empty (converged) while {what}\n{}", reference.yaml());
        }
        if plan.errors.is_empty() && !plan.actions.is_empty() {
            let (settings, ctx) = self.run_settings();
            let report = self
                .rt
                .block_on(engine::execute(self.sim.clone(), &plan, &ctx, settings, &self.writer, Arc::new(Quiet)))
                .unwrap();
            self.executed.extend(report.results);
            self.check_sea_order(&plan, &observed, &ctx.plan_id, reference);
        }
        let after = self.observe();
        snapshot::save(&self.state_dir, &after, "reconcile").unwrap();
        // The observed-state store equals a fresh observation after each reconcile.
        let stored = snapshot::load(&self.state_dir).unwrap().expect("just saved").1;
        let fresh = self.observe();
        assert_eq!(stored, fresh, "the observed-state store differs from a fresh observation\n{}", reference.yaml());
        self.last_desired = Some(desired);
        self.last_errors = plan.errors.clone();
        plan
    }

    /// A SEA change never acts on the backup before the primary: within one plan, for each
    /// frame and `ha_mode` (or `virt_adapters` list), the primary's call starts (its intent is
    /// written) before the backup's.
    fn check_sea_order(&self, plan: &powerplane_model::Plan, observed: &Estate, plan_id: &str, reference: &Reference) {
        let seq: BTreeMap<String, u64> = self
            .log
            .records()
            .unwrap()
            .into_iter()
            .filter(|r| r.event == Event::Intent && r.draft.plan_id == plan_id)
            .map(|r| (r.draft.action.clone(), r.seq))
            .collect();
        let priority =
            |vios: &ViosName| observed.status.seas.values().flatten().find(|m| &m.vios == vios).map(|m| m.priority);
        // (frame, mode) -> (primary's intent, backup's intent)
        let mut calls: BTreeMap<(String, String), (Option<u64>, Option<u64>)> = BTreeMap::new();
        for a in &plan.actions {
            let (frame, prio, mode) = match &a.op {
                Op::CreateSea { frame, priority, ha_mode, .. } => {
                    (frame, Some(*priority), format!("ha_mode={ha_mode}"))
                }
                Op::SetSeaHaMode { frame, vios, mode, .. } if mode.as_str() != "standby" => {
                    (frame, priority(vios), format!("ha_mode={mode}"))
                }
                Op::SetSeaAdapters { frame, vios, trunks, .. } => {
                    let list: Vec<&str> = trunks.iter().map(|t| t.adapter.as_str()).collect();
                    (frame, priority(vios), format!("virt_adapters={}", list.join(",")))
                }
                _ => continue,
            };
            let (Some(prio), Some(s)) = (prio, seq.get(&a.id.0)) else { continue };
            let entry = calls.entry((frame.to_string(), mode)).or_default();
            if prio == 1 { entry.0 = Some(*s) } else { entry.1 = Some(*s) }
        }
        for ((frame, mode), calls) in calls {
            if let (Some(p), Some(b)) = calls {
                assert!(
                    p < b,
                    "{frame}: {mode} reached the backup SEA (intent {b}) before the primary (intent {p})\n{}",
                    reference.yaml()
                );
            }
        }
    }

    fn fault(&mut self, f: &Fault, reference: &Reference) {
        let frame = |i: usize| FrameName::new(format!("f{}", i % reference.frames.len().max(1))).unwrap();
        let r = match f {
            Fault::ViosDown(i, a) => {
                let vios = ViosName::new(format!("{}v{}", frame(*i), if *a { 'a' } else { 'b' })).unwrap();
                let booting = self.observe().status.partitions.into_iter().filter(|(_, st)| {
                    st.frame == frame(*i) && matches!(st.state, LparState::Starting | LparState::OpenFirmware)
                });
                self.stranded.extend(booting.map(|(n, _)| n.to_string()));
                self.rt.block_on(self.sim.vios_down(&frame(*i), &vios)).map(drop)
            }
            Fault::FailNext(k, transient) => {
                let kind = ActionKind::ALL[k % ActionKind::ALL.len()];
                let mode = if *transient { FailMode::Transient } else { FailMode::Permanent };
                self.rt.block_on(self.sim.fail_next(kind, mode)).map(drop)
            }
            Fault::Battery(i) => self.rt.block_on(self.sim.battery(&frame(*i), true)),
            Fault::RmcLost(i) => {
                let names: Vec<String> = self.observe().partitions.keys().map(|p| p.to_string()).collect();
                match names.get(i % names.len().max(1)) {
                    Some(n) => self.rt.block_on(self.sim.rmc(n, false)),
                    None => Ok(()),
                }
            }
        };
        // A fault may not apply (the VIOS is already down): that is fine.
        let _ = r;
    }

    /// Clears every fault the simulator can clear: VIOS up, off battery, RMC back, no armed
    /// failures.
    fn clear_faults(&mut self, reference: &Reference) {
        for i in 0..reference.frames.len() {
            let f = FrameName::new(format!("f{i}")).unwrap();
            let _ = self.rt.block_on(self.sim.vios_up(&f, &ViosName::new(format!("{f}vb")).unwrap()));
            let _ = self.rt.block_on(self.sim.vios_up(&f, &ViosName::new(format!("{f}va")).unwrap()));
            let _ = self.rt.block_on(self.sim.battery(&f, false));
        }
        let names: Vec<String> = self.observe().partitions.keys().map(|p| p.to_string()).collect();
        for n in names {
            let _ = self.rt.block_on(self.sim.rmc(&n, true));
        }
        self.rt.block_on(self.sim.clear_faults()).unwrap();
    }
}

struct ConvergenceTest;

impl StateMachineTest for ConvergenceTest {
    type SystemUnderTest = System;
    type Reference = Machine;

    fn init_test(reference: &Reference) -> System {
        let inv = powerplane_model::load_inventory(&[SourceFile::new(
            "inv.yaml",
            two_hmcs(&testkit::hardware(&reference.frames)),
        )])
        .unwrap();
        let state = realise(inv, 1).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let state_dir = StateDir::open(dir.path()).unwrap();
        let log = AuditLog::open(&state_dir).unwrap();
        let writer = AuditWriter::start(log.clone());
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
        System {
            rt,
            sim: Simulator::new(state, None, Clock::default()),
            _dir: dir,
            state_dir,
            log,
            writer,
            executed: Vec::new(),
            last_desired: None,
            last_errors: Vec::new(),
            reconciles: 0,
            kills_mid_power: BTreeMap::new(),
            parallel: engine::Settings::default().parallel,
            stranded: Default::default(),
        }
    }

    fn apply(mut sys: System, reference: &Reference, t: Transition) -> System {
        match &t {
            Transition::ChangeDesired(_) => {}
            Transition::InjectFault(f) => sys.fault(f, reference),
            Transition::ClearFaults => sys.clear_faults(reference),
            Transition::Reconcile => {
                sys.reconcile(reference);
            }
            Transition::ClientDies(ms) => sys.reconcile_killed(reference, *ms, false),
            Transition::ClientDiesMidPower(ms) => sys.reconcile_killed(reference, *ms, true),
            Transition::MigrationFailsMidway => {
                sys.rt.block_on(sys.sim.fail_next(ActionKind::MigratePartition, FailMode::Midway)).unwrap();
            }
        }
        sys
    }

    fn check_invariants(sys: &System, reference: &Reference) {
        let observed = sys.observe();
        let yaml = || reference.yaml();
        // No frame or pool capacity is ever exceeded.
        if let Some(over) = testkit::over_capacity(&observed) {
            panic!("capacity exceeded: {over}\n{}", yaml());
        }
        // No partition pages through a VIOS that is down while another paging VIOS is up.
        for (name, st) in &observed.status.partitions {
            let Some(pg) = &st.paging else { continue };
            let running = |v: &ViosName| {
                observed.status.vios.get(&st.frame).and_then(|m| m.get(v)).is_some_and(|s| s.is_running())
            };
            if let Some(cur) = &pg.current
                && st.state.is_running()
                && !running(cur)
            {
                let other_up = [Some(&pg.primary), pg.secondary.as_ref()].into_iter().flatten().any(running);
                assert!(
                    !other_up,
                    "{name} pages through {cur}, which is down, while another paging VIOS runs\n{}",
                    yaml()
                );
            }
        }
        // SEA changes act on the primary before the backup; a redundancy-required partition is
        // never migrated non-redundant; nothing was switched towards a VIOS that was down.
        let records = sys.log.records().unwrap();
        for (a, o) in &sys.executed {
            match &a.op {
                Op::MigratePartition { from, to, remote, .. } if hmc_of(from) != hmc_of(to) => {
                    assert_eq!(
                        remote.as_ref().map(|r| r.ip.as_str()),
                        Some(hmc_of(to)),
                        "a move from {from} to {to} names the destination's HMC\n{}",
                        yaml()
                    );
                }
                _ => {}
            }
            match &a.op {
                Op::MigratePartition { partition, redundant, .. } => {
                    let required =
                        sys.last_desired.as_ref().and_then(|d| d.partitions.get(partition)).is_some_and(|p| {
                            p.spec.memory.mode == MemoryMode::Shared
                                && p.spec.memory.paging.unwrap_or_default().redundancy == Redundancy::Required
                        });
                    assert!(
                        !(required && *redundant == Some(RedundantPgVios::NonRedundant)),
                        "{partition} requires redundancy but was migrated with --redundantpgvios 0\n{}",
                        yaml()
                    );
                }
                Op::SwitchPagingVios { partition, .. } => {
                    if let Outcome::Failed { error, .. } = o {
                        assert!(
                            !error.contains("is not running") && !error.contains("HSCLA29A"),
                            "{partition} was switched towards a VIOS that was down or without RMC: {error}\n{}",
                            yaml()
                        );
                    }
                }
                // A start or stop under way (a killed client's) is followed, never issued again:
                // the HMC would refuse the second `chsysstate`.
                Op::StartVios { .. } | Op::StopVios { .. } | Op::StartPartition { .. } | Op::StopPartition { .. } => {
                    if let Outcome::Failed { error, .. } = o {
                        assert!(
                            !error.contains("activation or shutdown is under way")
                                && !error.contains("try again when it settles"),
                            "`{}` was issued again while one was under way: {error}\n{}",
                            a.op.command(),
                            yaml()
                        );
                    }
                }
                _ => {}
            }
        }
        for (frame, members) in observed.status.seas.iter().map(|(n, m)| (n.to_string(), m)) {
            let sharing = members
                .iter()
                .filter(|m| matches!(m.state, SeaState::PrimarySharing | SeaState::BackupSharing))
                .count();
            assert!(sharing == 0 || sharing == 2, "SEA {frame}: one side in load sharing, the other not\n{}", yaml());
        }
        // Every backend call has exactly one intent and one outcome; the chain is intact.
        assert!(sys.log.dangling_intents().unwrap().is_empty(), "an intent without outcome");
        let mut outcome_intents: Vec<u64> =
            records.iter().filter(|r| r.event == Event::Outcome).filter_map(|r| r.draft.intent).collect();
        let n = outcome_intents.len();
        outcome_intents.sort_unstable();
        outcome_intents.dedup();
        assert_eq!(outcome_intents.len(), n, "an intent with two outcomes");
        let scan = sys.log.scan(None).unwrap();
        assert!(scan.intact(), "audit trail damaged: {:?}", scan.damage);
    }

    fn teardown(mut sys: System, reference: Reference) {
        // `CONVERGENCE_STATS=1 cargo test --test convergence -- --nocapture`: which actions the
        // cases exercised (a property that never migrates proves nothing about migrations).
        if std::env::var_os("CONVERGENCE_STATS").is_some() {
            let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
            for (a, _) in &sys.executed {
                *kinds.entry(format!("{:?}", a.kind())).or_default() += 1;
            }
            let kinds: Vec<String> = kinds.iter().map(|(k, n)| format!("{k}={n}")).collect();
            eprintln!(
                "STATS reconciles={} kills_mid_power={:?} {}",
                sys.reconciles,
                sys.kills_mid_power,
                kinds.join(" ")
            );
        }
        // Liveness: faults cleared, at most K reconciles reach an empty plan or stable errors.
        sys.clear_faults(&reference);
        let mut converged = false;
        let mut errors: Option<Vec<String>> = None;
        let mut last = String::new();
        for _ in 0..K {
            // Whatever the HMC still carries out for a killed client ends first (an apply
            // waits for it too): an hour of real time is 60 of virtual time.
            sys.rt.block_on(async { tokio::time::sleep(std::time::Duration::from_secs(3600)).await });
            let plan = sys.reconcile(&reference);
            if plan.errors.is_empty() && plan.is_empty() {
                converged = true;
                break;
            }
            // An hour after the faults cleared, a partition a VIOS fault caught mid-boot and
            // still in Open Firmware waits in its SMS menu: deferred with the restart, which
            // only a person (or a shutdown policy) may do. Anything else deferred must clear.
            let stranded_only = !plan.deferred.is_empty()
                && plan.deferred.iter().all(|d| {
                    d.split_once(" is in Open Firmware on ").is_some_and(|(o, rest)| {
                        rest.contains("with its boot disk")
                            && rest.contains("restart it")
                            && o.strip_prefix("Partition/").is_some_and(|n| sys.stranded.contains(n))
                    })
                });
            if plan.errors.is_empty() && plan.actions.is_empty() && plan.in_progress.is_empty() && stranded_only {
                converged = true;
                break;
            }
            last = format!(
                "actions {:?}, in progress {:?}, deferred {:?}, changes {:?}",
                plan.actions.iter().map(|a| a.op.command()).collect::<Vec<_>>(),
                plan.in_progress,
                plan.deferred,
                plan.changes
                    .iter()
                    .filter(|c| c.kind != powerplane_model::plan::ChangeKind::Unmanaged)
                    .map(|c| (&c.object, c.kind, &c.fields))
                    .collect::<Vec<_>>()
            );
            if !plan.errors.is_empty() {
                if errors.as_ref() == Some(&plan.errors) {
                    converged = true;
                    break;
                }
                errors = Some(plan.errors.clone());
            }
        }
        assert!(
            converged,
            "no convergence in {K} reconciles after the faults were cleared; errors: {:?}; the last plan: {last}\n{}",
            sys.last_errors,
            reference.yaml()
        );
        // Stable errors must be explained: each names the object a human has to fix (a
        // validation finding, or the planner's refusal with the object and the way out), and
        // none is powerplane admitting a bug.
        let kinds = [
            "Partition/",
            "Frame/",
            "ViosPair/",
            "SharedEthernetAdapter/",
            "SharedMemoryPool/",
            "SharedProcessorPool/",
        ];
        for e in errors.iter().flatten() {
            assert!(
                kinds.iter().any(|k| e.contains(k)) && !e.contains("bug in powerplane"),
                "after the faults were cleared, the plan fails without naming what to fix: {e}\n{}",
                reference.yaml()
            );
        }
        // Idempotence: one more reconcile does nothing.
        if errors.is_none() {
            let again = sys.reconcile(&reference);
            assert!(again.actions.is_empty(), "a second reconcile was not empty");
        }
    }
}

prop_state_machine! {
    #![proptest_config(Config { cases: cases(), max_shrink_iters: 2048, failure_persistence: Some(Box::new(FileFailurePersistence::Direct(REGRESSIONS))), ..Config::default() })]
    #[test]
    fn reconciles_converge_under_faults(sequential 1..24 => ConvergenceTest);
}

proptest! {
    #![proptest_config(Config { cases: cases() / 4, failure_persistence: Some(Box::new(FileFailurePersistence::Direct(REGRESSIONS))), ..Config::default() })]
    /// Determinism: the same generated estate and transitions (the same seed) give the same
    /// audit sequence, record for record, apart from wall-clock times and the hashes over them.
    /// Actions run one at a time: with several in flight, which of two simultaneous actions is
    /// recorded first depends on the audit writer's thread, and so does which one an armed
    /// "fail the next X" fault hits.
    #[test]
    fn the_same_seed_gives_the_same_audit_sequence((init, transitions, _) in Machine::sequential_strategy(1..24)) {
        // Where a kill lands depends on how long the audit writer's thread takes, which the
        // paused clock does not see: here a kill is a whole reconcile (the kills are covered
        // by the property above).
        let transitions: Vec<Transition> = transitions
            .into_iter()
            .map(|t| if matches!(t, Transition::ClientDies(_) | Transition::ClientDiesMidPower(_)) { Transition::Reconcile } else { t })
            .collect();
        let first = audit_sequence(&init, &transitions);
        let second = audit_sequence(&init, &transitions);
        if let Some(i) = (0..first.len().max(second.len())).find(|&i| first.get(i) != second.get(i)) {
            prop_assert!(false, "the audit sequences differ at record {}:\n  {:?}\n  {:?}\n{}", i + 1, first.get(i), second.get(i), init.yaml());
        }
    }
}

/// The shrunk counterexamples of the bugs this test found, replayed as plain tests so that they
/// survive changes to the generators (the seeds in the regressions file do not).
mod found {
    use super::*;

    fn frame(smp_vios: u8) -> FrameGen {
        FrameGen { smp: Some((smp_vios, 1)), ..FrameGen::plain(32, 4) }
    }

    fn shared(frame: usize, running: bool) -> Option<PartGen> {
        Some(PartGen {
            frame,
            any_of: None,
            mem: 1024,
            max: 2048,
            units: 25,
            shared_mem: true,
            redundancy: 0,
            pool: false,
            vlan: false,
            running,
        })
    }

    fn replay(init: Reference, transitions: Vec<Transition>) {
        ConvergenceTest::test_sequential(Config::default(), init, transitions, None);
    }

    /// Issue 13 item 6: two trunks appended to a load-sharing SEA, once straight through and
    /// once with a client killed part-way and the primary's VIOS down in between. Every chdev
    /// reaches the primary before the backup (`check_sea_order`), and the estate converges.
    #[test]
    fn trunks_are_appended_to_a_running_sea_and_converge() {
        let sea = FrameGen { sea: Some(true), ..frame(2) };
        let init = Reference { frames: vec![sea], parts: vec![shared(0, true)], faults: vec![] };
        let add = Transition::ChangeDesired(Edit::AddTrunk(0));
        let records = audit_sequence(&init, &[Transition::Reconcile, add.clone(), add.clone(), Transition::Reconcile]);
        let r2: Vec<(&str, &str, &str)> = records
            .iter()
            .filter(|r| r["event"] == "outcome" && r["plan_id"] == "r2")
            .map(|r| (r["kind"].as_str().unwrap(), r["object"].as_str().unwrap(), r["result"].as_str().unwrap()))
            .collect();
        let count = |k: &str| r2.iter().filter(|(kind, _, res)| *kind == k && *res == "succeeded").count();
        assert_eq!(
            (count("AddTrunkAdapter"), count("SaveProfile"), count("ConfigureDevices"), count("SetSeaAdapters")),
            (4, 2, 2, 2),
            "{r2:#?}"
        );
        replay(init.clone(), vec![Transition::Reconcile, add.clone(), add.clone(), Transition::Reconcile]);
        replay(
            init,
            vec![
                Transition::Reconcile,
                add.clone(),
                Transition::ClientDies(5),
                Transition::InjectFault(Fault::ViosDown(0, true)),
                Transition::Reconcile,
                add,
                Transition::ClearFaults,
                Transition::Reconcile,
            ],
        );
    }

    /// A stopped shared-memory partition had to move to a frame whose only paging device a
    /// running partition held: the planner planned the move and the HMC refused it (HSCLA304)
    /// on every reconcile. Now the move reserves a device and the plan says none is free.
    #[test]
    fn an_inactive_move_needs_a_free_paging_device() {
        let init = Reference {
            frames: vec![frame(2), FrameGen { mem_gb: 128, procs: 16, ..frame(2) }],
            parts: vec![shared(1, false), shared(0, true)],
            faults: vec![],
        };
        replay(init, vec![Transition::Reconcile, Transition::ChangeDesired(Edit::Maintenance(1))]);
    }

    /// Found when the generator started mixing common and independent paging devices: two
    /// `preferred` partitions activated first took both common devices (a preferred partition
    /// takes a common one when it can), and the `required` one then failed to activate, at
    /// every reconcile. Now partitions that require redundancy activate first on their frame.
    /// (Without the order the planner now reports the stable error "needs common paging
    /// devices of f0 (free 0, needs 1)", which the liveness check accepts; so this test checks
    /// the audit: every action succeeds, the `required` one activates first.)
    #[test]
    fn required_redundancy_activates_before_preferred() {
        let with = |redundancy| Some(PartGen { redundancy, ..shared(0, true).unwrap() });
        let init = Reference {
            frames: vec![FrameGen { smp: Some((2, 3)), ..frame(2) }],
            parts: vec![with(1), with(1), with(2)],
            faults: vec![],
        };
        let records = audit_sequence(&init, &[Transition::Reconcile]);
        let starts: Vec<(&str, &str)> = records
            .iter()
            .filter(|r| r["event"] == "outcome" && r["kind"] == "StartPartition")
            .map(|r| (r["object"].as_str().unwrap(), r["result"].as_str().unwrap()))
            .collect();
        assert_eq!(
            starts,
            [("Partition/lp2", "succeeded"), ("Partition/lp0", "succeeded"), ("Partition/lp1", "succeeded")],
            "{records:#?}"
        );
        replay(init, vec![Transition::Reconcile]);
    }

    /// Found by the 10,000-case soak with mixed paging devices: VIOS a went down (paging failed
    /// over to b) and the manifests then put VIOS b in maintenance. The plan started a, failed
    /// paging back to it, and — for b's maintenance — switched the same partitions again;
    /// `chhwres -o so` toggles, so the second switch sent them back to b, which was stopping.
    /// Now a partition is switched at most once per plan.
    #[test]
    fn a_failback_and_a_maintenance_switch_are_one_switch() {
        let dedicated = |running| Some(PartGen { shared_mem: false, ..shared(0, running).unwrap() });
        let preferred = Some(PartGen { redundancy: 1, ..shared(0, true).unwrap() });
        let init = Reference {
            frames: vec![FrameGen { smp: Some((2, 3)), ..frame(2) }],
            parts: vec![dedicated(true), preferred.clone(), preferred],
            faults: vec![],
        };
        let transitions = vec![
            Transition::Reconcile,
            Transition::InjectFault(Fault::ViosDown(0, true)),
            Transition::ChangeDesired(Edit::ViosDown(0)),
            Transition::Reconcile,
        ];
        let records = audit_sequence(&init, &transitions);
        let outcomes: Vec<(&str, &str, &str)> = records
            .iter()
            .filter(|r| r["event"] == "outcome" && r["plan_id"] == "r2")
            .map(|r| (r["kind"].as_str().unwrap(), r["object"].as_str().unwrap(), r["result"].as_str().unwrap()))
            .collect();
        let switches = outcomes.iter().filter(|(k, _, _)| *k == "SwitchPagingVios").count();
        assert_eq!(switches, 2, "one switch for each of lp1 and lp2: {outcomes:#?}");
        assert!(outcomes.iter().all(|(_, _, r)| *r == "succeeded"), "{outcomes:#?}");
        replay(init, transitions);
    }

    /// Found by the 10,000-case soak: a move into room that another move frees had its
    /// validation run before that room was free (only the migration waited), so the HMC
    /// refused it and every reconcile retried one step further. Now validation waits too.
    #[test]
    fn a_validation_waits_for_the_room_a_move_frees() {
        let small = FrameGen::plain(32, 4);
        // Three full frames and an empty one; each partition moves one frame up, into the
        // room the next one leaves: without the wait, each reconcile got one move further.
        let full = |frame| Some(PartGen { units: 300, shared_mem: false, ..shared(frame, true).unwrap() });
        let init = Reference { frames: vec![small; 4], parts: vec![full(0), full(1), full(2)], faults: vec![] };
        replay(
            init,
            vec![
                Transition::Reconcile,
                Transition::ChangeDesired(Edit::Move(2, 3)),
                Transition::ChangeDesired(Edit::Move(1, 2)),
                Transition::ChangeDesired(Edit::Move(0, 1)),
            ],
        );
    }

    /// Issue 32 item 5: a client killed 4 s into a VIOS's activation (after the VIOS went down
    /// and paging failed over). The next reconcile finds it `Starting`: it issues no second
    /// start and plans no paging failback onto it (a real HMC refuses one towards a VIOS that
    /// is not running or has no RMC yet); the plan is not empty meanwhile. Once the activation
    /// has ended, the failback is planned and the estate converges.
    #[test]
    fn a_client_killed_during_a_vios_activation_recovers_by_following_it() {
        let preferred = Some(PartGen { redundancy: 1, ..shared(0, true).unwrap() });
        let init = Reference {
            frames: vec![FrameGen { smp: Some((2, 3)), ..frame(2) }],
            parts: vec![preferred],
            faults: vec![],
        };
        let transitions = vec![
            Transition::Reconcile,
            Transition::InjectFault(Fault::ViosDown(0, true)),
            // 4 virtual seconds (at 60x) into the plan, whose first action is the VIOS's start.
            Transition::ClientDies(4_000 / 60),
            Transition::Reconcile,
        ];
        let records = audit_sequence(&init, &transitions);
        let outcomes = |plan: &str| -> Vec<(String, String)> {
            records
                .iter()
                .filter(|r| r["event"] == "outcome" && r["plan_id"] == plan)
                .map(|r| (r["kind"].as_str().unwrap().to_owned(), r["result"].as_str().unwrap().to_owned()))
                .collect()
        };
        let killed = outcomes("r2");
        assert!(killed.iter().all(|(k, _)| k == "StartVios"), "only the start had begun: {killed:?}");
        let next = outcomes("r3");
        assert!(
            next.iter().all(|(k, _)| k != "StartVios" && k != "SwitchPagingVios"),
            "the activation under way is followed, not issued again, and nothing goes through the VIOS before it is ready: {next:?}"
        );
        replay(init, transitions);
    }

    /// A partition whose only paging VIOS went down is in the Error state, which cannot be
    /// migrated: the planner planned the move anyway, on every reconcile. Now it shuts the
    /// partition down first.
    #[test]
    fn a_partition_in_error_is_shut_down_before_it_moves() {
        let init = Reference { frames: vec![frame(1), frame(1)], parts: vec![shared(1, true)], faults: vec![] };
        replay(
            init,
            vec![
                Transition::Reconcile,
                Transition::InjectFault(Fault::ViosDown(1, true)),
                Transition::ChangeDesired(Edit::Move(0, 0)),
                Transition::ChangeDesired(Edit::Maintenance(1)),
            ],
        );
    }

    /// A client killed 169 ms (10 virtual seconds) into the first reconcile of a running
    /// partition with a boot disk, then moved to another frame: the soak found it left in Open
    /// Firmware without its boot disk, deferred for a human on every reconcile.
    #[test]
    fn a_kill_during_the_first_activation_leaves_no_partition_in_its_sms_menu() {
        let sea = FrameGen { sea: Some(true), spp: Some(4), ..FrameGen::plain(128, 4) };
        let part = PartGen { vlan: true, running: true, shared_mem: false, units: 25, ..shared(1, true).unwrap() };
        let init = Reference {
            frames: vec![sea.clone(), FrameGen { mem_gb: 64, ..sea }],
            parts: vec![Some(part)],
            faults: vec![],
        };
        let transitions =
            vec![Transition::ClientDies(169), Transition::ChangeDesired(Edit::Move(4, 0)), Transition::Reconcile];
        let records = audit_sequence(&init, &transitions);
        let r2: Vec<String> = records
            .iter()
            .filter(|r| r["event"] == "outcome" && r["plan_id"] == "r2" && r["result"] == "succeeded")
            .map(|r| r["kind"].as_str().unwrap().to_owned())
            .collect();
        let at = |k: &str| r2.iter().position(|x| x == k).unwrap_or_else(|| panic!("no {k} in {r2:?}"));
        assert!(
            at("MapDisk") < at("ValidateMigration") && at("MigratePartition") < at("StartPartition"),
            "the boot disk is mapped on the source before the move, the start comes after it: {r2:?}"
        );
        replay(init, transitions);
    }

    /// RMC lost on a partition while its activation was under way (a client killed in it),
    /// then its frame put in maintenance: the soak found the move deferred for want of RMC
    /// after every fault was cleared.
    #[test]
    fn rmc_lost_during_an_activation_comes_back_when_the_faults_clear() {
        let sea = |mem_gb: u64, msp: bool| FrameGen {
            sea: Some(false),
            smp: Some((1, 2)),
            msp,
            ..FrameGen::plain(mem_gb, 8)
        };
        let part = PartGen { running: true, shared_mem: false, ..shared(0, true).unwrap() };
        let init = Reference { frames: vec![sea(32, true), sea(64, false)], parts: vec![Some(part)], faults: vec![] };
        replay(
            init,
            vec![
                Transition::ClientDiesMidPower(251),
                Transition::InjectFault(Fault::RmcLost(11)),
                Transition::ChangeDesired(Edit::Maintenance(3)),
                Transition::ChangeDesired(Edit::Toggle(0)),
            ],
        );
    }

    /// One VIOS down (a fault), the other stopped by the manifests, clients killed twice: the
    /// soak (release, parallel executor) once found the partition left in its SMS menu with its
    /// boot disk mapped. The failure depended on where the kills landed in real time; its cause
    /// was found later (the next test) and this sequence stays as its record.
    #[test]
    fn a_partition_is_not_activated_while_no_vios_serves_its_boot_disk() {
        let f = FrameGen { msp: false, ..FrameGen::plain(32, 4) };
        let part = PartGen { running: true, shared_mem: false, ..shared(0, true).unwrap() };
        let init = Reference { frames: vec![f], parts: vec![Some(part)], faults: vec![] };
        let transitions = vec![
            Transition::InjectFault(Fault::ViosDown(0, true)),
            Transition::ChangeDesired(Edit::ViosDown(0)),
            Transition::ClientDies(1),
            Transition::ClientDies(237),
            Transition::ClearFaults,
            Transition::Reconcile,
        ];
        replay(init, transitions);
    }

    /// The soak's minimal case behind the test above (seed in proptest-regressions.txt): the
    /// manifests stop one VIOS, a fault takes the other down, a client is killed while that one
    /// activates, and the next reconcile ran while it was still starting: it activated the
    /// partition with no VIOS to serve its boot disk, and the partition stopped in its SMS menu
    /// for good. The first reconcile had also made the SEA on the VIOS it was stopping, and
    /// failed. Now the SEA is made on the VIOS that stays up (`sea_primary_first`), and an
    /// activation waits for a VIOS that serves the boot disk (`boot_disk_first`). Here the
    /// partition is stopped at first, and then wanted running, so that the reconcile that
    /// meets the VIOS still starting is the one asked to activate it.
    #[test]
    fn no_activation_before_a_vios_serves_the_boot_disk() {
        let f = FrameGen { sea: Some(false), ..FrameGen::plain(32, 4) };
        let part = PartGen { running: false, shared_mem: false, vlan: false, ..shared(0, false).unwrap() };
        let init = Reference { frames: vec![f], parts: vec![Some(part)], faults: vec![] };
        let transitions = vec![
            Transition::ChangeDesired(Edit::ViosDown(0)),
            Transition::Reconcile,
            Transition::InjectFault(Fault::ViosDown(0, true)),
            Transition::ChangeDesired(Edit::Toggle(0)),
            Transition::ClientDiesMidPower(0),
            Transition::Reconcile,
        ];
        let records = audit_sequence(&init, &transitions);
        let outcomes: Vec<(&str, &str, &str)> = records
            .iter()
            .filter(|r| r["event"] == "outcome")
            .map(|r| (r["plan_id"].as_str().unwrap(), r["kind"].as_str().unwrap(), r["result"].as_str().unwrap()))
            .collect();
        assert!(
            outcomes.contains(&("r2", "StartVios", "interrupted")),
            "the second reconcile is killed while the VIOS activates: {outcomes:?}"
        );
        assert!(
            !outcomes.iter().any(|(_, kind, result)| *result == "failed" && *kind != "StartVios"),
            "no step fails against the plan's own VIOS stop or a VIOS still starting: {outcomes:?}"
        );
        assert!(
            !outcomes.iter().any(|(plan, kind, _)| *plan == "r3" && *kind == "StartPartition"),
            "no activation while the only VIOS that may serve the boot disk is starting: {outcomes:?}"
        );
        replay(init, transitions);
    }

    /// The soak's case after the SEA change above (seed in proptest-regressions.txt): a fault
    /// took VIOS a down, so the SEA was made on b alone; once the manifests stopped b, every
    /// plan was refused ("no backup SEA is running") with a's SEA never made. b's SEA, the only
    /// one, reports PRIMARY, and the observation called b the SEA's primary, so the planner saw
    /// the primary changed and planned nothing for it. Now the primary is the VIOS of trunk
    /// priority 1 whether its SEA exists or not: a's SEA is created, b's fails over to it, and
    /// b stops.
    #[test]
    fn a_vios_with_the_only_sea_stops_after_its_partner_sea_is_made() {
        let f = FrameGen { sea: Some(false), msp: false, ..FrameGen::plain(32, 4) };
        let init = Reference { frames: vec![f], parts: vec![], faults: vec![] };
        let transitions = vec![
            Transition::InjectFault(Fault::ViosDown(5, true)),
            Transition::ClientDiesMidPower(0),
            Transition::Reconcile,
            Transition::ChangeDesired(Edit::ViosDown(5)),
        ];
        // The liveness check accepts stable errors that name an object: here the estate must
        // converge with none.
        let mut reference = init.clone();
        let mut sys = ConvergenceTest::init_test(&init);
        for t in &transitions {
            reference = Machine::apply(reference, t);
            sys = ConvergenceTest::apply(sys, &reference, t.clone());
        }
        sys.rt.block_on(async { tokio::time::sleep(std::time::Duration::from_secs(3600)).await });
        let p = sys.reconcile(&reference);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let kinds: Vec<String> = p.actions.iter().map(|a| a.op.command()).collect();
        assert_eq!(p.actions.len(), 3, "create a's SEA, fail b's over, stop b: {kinds:?}");
        let sea = sys.observe().status.seas.into_values().next().unwrap_or_default();
        assert!(
            sea.iter().any(|m| m.vios.as_str() == "f0va" && m.state == powerplane_model::status::SeaState::Primary),
            "{sea:?}"
        );
        assert!(sys.reconcile(&reference).is_empty(), "converged");
        replay(init, transitions);
    }
}

/// A partition or VIOS of `observed` (those `desired` manages, when given) whose activation or
/// shutdown is under way, or a VIOS running without RMC yet.
fn in_flight(observed: &Estate, desired: Option<&Estate>) -> Option<String> {
    let st = &observed.status;
    let managed_lpar = |n: &powerplane_model::PartitionName| desired.is_none_or(|d| d.partitions.contains_key(n));
    let managed_vios = |v: &ViosName| {
        desired.is_none_or(|d| d.vios_pairs.values().any(|p| p.spec.members.iter().any(|m| &m.name == v)))
    };
    let lpar = st
        .partitions
        .iter()
        .find(|(n, p)| p.state.is_changing_power() && managed_lpar(n))
        .map(|(n, p)| format!("{n} is {}", p.state));
    let vios = st
        .vios
        .values()
        .flatten()
        .find(|(v, s)| s.is_changing_power() && managed_vios(v))
        .map(|(n, s)| format!("{n} is {s}"));
    let rmc = st.vios_without_rmc.values().flatten().find(|v| managed_vios(v)).map(|v| format!("{v} runs without RMC"));
    lpar.or(vios).or(rmc)
}

/// Runs the transitions on a fresh system and returns its audit trail without times and hashes.
fn audit_sequence(init: &Reference, transitions: &[Transition]) -> Vec<serde_json::Value> {
    let mut reference = init.clone();
    let mut sys = ConvergenceTest::init_test(init);
    sys.parallel = 1;
    for t in transitions {
        reference = Machine::apply(reference, t);
        sys = ConvergenceTest::apply(sys, &reference, t.clone());
    }
    let records = sys.log.records().unwrap();
    assert!(records.len() >= sys.executed.len(), "every executed action leaves audit records");
    records
        .into_iter()
        .map(|r| {
            let mut v = serde_json::to_value(&r).unwrap();
            for volatile in ["time", "duration_ms", "hash", "prev_hash"] {
                v.as_object_mut().unwrap().remove(volatile);
            }
            v
        })
        .collect()
}

/// `PROPTEST_CASES`, or 256 (CI's budget on two cores: about a minute in a debug build).
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(256)
}
