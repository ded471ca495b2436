//! Clusters under faults (issue 14), as a state machine: a two-node cluster (VCS, PowerHA or
//! Pacemaker) on a four-frame estate whose frames go in and out of maintenance, so that its
//! members migrate, while faults hit the migrations (failed, failed half-way and left for
//! recovery) and the node commands, and clients die mid-apply. After every transition:
//! - no planned migration has caused a false failover;
//! - the two members never migrate at the same time (the simulator's `lslparmigr` never lists
//!   both, and in the audit trail no member's migration starts while the other's runs).
//!
//! At the end, with the faults cleared, at most K reconciles reach an empty plan, and every node
//! is as configured: peerinact back at its value, resource groups managed, no node in
//! maintenance.

use std::sync::Arc;

use powerplane_controller::backend::Hypervisor;
use powerplane_controller::engine::{self, Context};
use powerplane_controller::sim::{Clock, FailMode, Simulator, realise};
use powerplane_controller::store::StateDir;
use powerplane_controller::store::audit::{AuditLog, Event};
use powerplane_controller::store::writer::AuditWriter;
use powerplane_model::{ActionKind, PlanOptions, SourceFile};
use proptest::prelude::*;

use proptest::test_runner::{Config, FileFailurePersistence};
use proptest_state_machine::{ReferenceStateMachine, StateMachineTest, prop_state_machine};

use super::{K, Quiet};

/// Seeds of the failures this machine found, replayed before the random cases (relative to the
/// controller crate, where cargo runs the test).
const REGRESSIONS: &str = "../tests/convergence/clusters-regressions.txt";

/// The inventory and the manifests: frames f0..f3, `xray` on f0 and `yankee` on f1 in cluster
/// `hc` of `manager`, whose members are silent `unresponsive` s when they migrate; the frames
/// flagged in `maintenance` are evacuated.
fn estate(manager: &str, unresponsive: u32, maintenance: [bool; 4]) -> (String, String) {
    let mut inv = String::new();
    let mut man = String::new();
    let disks = "{name: hdisk10, lun: L-xray, sizeMB: 20480, reservePolicy: no_reserve}, {name: hdisk11, lun: L-yankee, sizeMB: 20480, reservePolicy: no_reserve}";
    for (i, f) in ["f0", "f1", "f2", "f3"].iter().enumerate() {
        let common = format!(
            "---\napiVersion: powerplane/v1\nkind: ViosPair\nmetadata: {{name: {f}-pair}}\nspec: {{frame: {f}, members: [{{name: {f}va}}, {{name: {f}vb}}]}}\n---\napiVersion: powerplane/v1\nkind: SharedEthernetAdapter\nmetadata: {{name: {f}-sea}}\nspec: {{viosPair: {f}-pair, haMode: auto, primary: {f}va, realAdapter: ent0, controlChannel: ent2, trunks: [{{adapter: ent1, pvid: 1}}]}}\n"
        );
        inv.push_str(&format!(
            "---\napiVersion: powerplane/v1\nkind: FrameHardware\nmetadata: {{name: {f}}}\nspec:\n  serial: \"S{i:05}\"\n  machineType: \"8233-E8B\"\n  memoryMB: 65536\n  procUnits: 8\n  compatModes: [POWER7]\n  vios:\n    - {{name: {f}va, memoryMB: 2048, procUnits: 0.5, msp: true, ethernet: [ent0, ent1, ent2], disks: [{disks}]}}\n    - {{name: {f}vb, memoryMB: 2048, procUnits: 0.5, msp: true, ethernet: [ent0, ent1, ent2], disks: [{disks}]}}\n{common}"
        ));
        man.push_str(&format!(
            "---\napiVersion: powerplane/v1\nkind: Frame\nmetadata: {{name: {f}}}\nspec: {{maintenance: {}}}\n{common}",
            maintenance[i]
        ));
    }
    let spec = |name: &str, placement: &str| {
        format!(
            "---\napiVersion: powerplane/v1\nkind: Partition\nmetadata: {{name: {name}}}\nspec:\n  placement: {placement}\n  state: running\n  processors: {{mode: shared, units: 0.5, virtual: 1, compat: POWER7}}\n  memory: {{mode: dedicated, desiredMB: 4096, maxMB: 4096}}\n  network: [{{vlan: 1}}]\n  storage: [{{lun: L-{name}, via: vscsi}}]\n"
        )
    };
    let settings = match manager {
        "vcs" => format!("vcs: {{peerinactSeconds: 16, unresponsiveSeconds: {unresponsive}}}"),
        "powerha" => format!("powerha: {{nodeTimeoutSeconds: 30, unresponsiveSeconds: {unresponsive}}}"),
        _ => format!("pacemaker: {{tokenSeconds: 3, unresponsiveSeconds: {unresponsive}}}"),
    };
    let cluster = format!(
        "---\napiVersion: powerplane/v1\nkind: Cluster\nmetadata: {{name: hc}}\nspec: {{manager: {manager}, members: [xray, yankee], {settings}}}\n"
    );
    inv.push_str(&spec("xray", "{frame: f0}"));
    inv.push_str(&spec("yankee", "{frame: f1}"));
    inv.push_str(&cluster);
    man.push_str(&spec("xray", "{anyOf: [f0, f1, f2, f3]}"));
    man.push_str(&spec("yankee", "{anyOf: [f0, f1, f2, f3]}"));
    man.push_str(&cluster);
    (inv, man)
}

#[derive(Clone, Debug)]
struct Reference {
    manager: &'static str,
    unresponsive: u32,
    maintenance: [bool; 4],
}

#[derive(Clone, Debug)]
enum Transition {
    Reconcile,
    /// A frame goes into or out of maintenance.
    Maintenance(usize),
    /// The next action of this kind fails (permanently, transiently, or half-way for a
    /// migration).
    Fail(ActionKind, FailMode),
    ClearFaults,
    /// A reconcile whose client dies this many real milliseconds into the executor.
    ClientDies(u64),
}

struct Machine;

impl ReferenceStateMachine for Machine {
    type State = Reference;
    type Transition = Transition;

    fn init_state() -> BoxedStrategy<Reference> {
        (prop_oneof![Just("vcs"), Just("powerha"), Just("pacemaker")], prop_oneof![Just(2u32), Just(40u32)])
            .prop_map(|(manager, unresponsive)| Reference {
                manager,
                unresponsive,
                maintenance: [true, false, false, false],
            })
            .boxed()
    }

    fn transitions(_: &Reference) -> BoxedStrategy<Transition> {
        let kinds = prop_oneof![
            Just(ActionKind::MigratePartition),
            Just(ActionKind::ValidateMigration),
            Just(ActionKind::RaisePeerInactive),
            Just(ActionKind::RestorePeerInactive),
            Just(ActionKind::UnmanageClusterNode),
            Just(ActionKind::ManageClusterNode),
            Just(ActionKind::EnterNodeMaintenance),
            Just(ActionKind::LeaveNodeMaintenance),
        ];
        let modes = prop_oneof![Just(FailMode::Permanent), Just(FailMode::Transient), Just(FailMode::Midway)];
        prop_oneof![
            4 => Just(Transition::Reconcile),
            2 => (0usize..4).prop_map(Transition::Maintenance),
            2 => (kinds, modes).prop_map(|(k, m)| Transition::Fail(k, m)),
            1 => Just(Transition::ClearFaults),
            1 => (0u64..3_000).prop_map(Transition::ClientDies),
        ]
        .boxed()
    }

    fn apply(mut state: Reference, t: &Transition) -> Reference {
        if let Transition::Maintenance(f) = t {
            state.maintenance[*f] = !state.maintenance[*f];
        }
        state
    }

    fn preconditions(state: &Reference, t: &Transition) -> bool {
        // Two frames stay out of maintenance: the members have somewhere to go, apart.
        !matches!(t, Transition::Maintenance(_))
            || Self::apply(state.clone(), t).maintenance.iter().filter(|m| !**m).count() >= 2
    }
}

struct System {
    rt: tokio::runtime::Runtime,
    sim: Simulator,
    _dir: tempfile::TempDir,
    log: AuditLog,
    writer: AuditWriter,
    reconciles: usize,
}

impl System {
    fn settings() -> engine::Settings {
        engine::Settings { backoff: std::time::Duration::from_millis(1), attempts: 3, ..Default::default() }
    }

    fn plan(&mut self, r: &Reference) -> powerplane_model::Plan {
        self.reconciles += 1;
        let (_, man) = estate(r.manager, r.unresponsive, r.maintenance);
        let desired = powerplane_model::load_manifests(&[SourceFile::new("m.yaml", man)]).unwrap();
        let observed = self.rt.block_on(self.sim.observe()).unwrap();
        powerplane_model::plan(&desired, &observed, PlanOptions::default())
    }

    fn reconcile(&mut self, r: &Reference, die_after_ms: Option<u64>) -> powerplane_model::Plan {
        let plan = self.plan(r);
        assert!(plan.errors.is_empty(), "{:?}", plan.errors);
        if !plan.actions.is_empty() {
            let ctx = Context { plan_id: format!("r{}", self.reconciles), ..Default::default() };
            let run = engine::execute(self.sim.clone(), &plan, &ctx, Self::settings(), &self.writer, Arc::new(Quiet));
            match die_after_ms {
                None => {
                    self.rt.block_on(run).unwrap();
                }
                Some(ms) => {
                    let _ = self
                        .rt
                        .block_on(async { tokio::time::timeout(std::time::Duration::from_millis(ms), run).await });
                    self.rt.block_on(self.writer.write(Vec::new())).unwrap();
                    self.rt.block_on(engine::close_dangling(&self.log, &self.writer)).unwrap();
                }
            }
        }
        plan
    }
}

struct ClusterTest;

impl StateMachineTest for ClusterTest {
    type SystemUnderTest = System;
    type Reference = Machine;

    fn init_test(r: &Reference) -> System {
        let (inv, _) = estate(r.manager, r.unresponsive, r.maintenance);
        let inventory = powerplane_model::load_inventory(&[SourceFile::new("inv.yaml", inv)]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let state_dir = StateDir::open(dir.path()).unwrap();
        let log = AuditLog::open(&state_dir).unwrap();
        let writer = AuditWriter::start(log.clone());
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
        let sim = Simulator::new(realise(inventory, 1).unwrap(), None, Clock::default());
        System { rt, sim, _dir: dir, log, writer, reconciles: 0 }
    }

    fn apply(mut sys: System, r: &Reference, t: Transition) -> System {
        match t {
            Transition::Reconcile => {
                sys.reconcile(r, None);
            }
            Transition::ClientDies(ms) => {
                sys.reconcile(r, Some(ms));
            }
            Transition::Fail(kind, mode) => {
                sys.rt.block_on(sys.sim.fail_next(kind, mode)).unwrap();
            }
            Transition::ClearFaults => sys.rt.block_on(sys.sim.clear_faults()).unwrap(),
            Transition::Maintenance(_) => {}
        }
        sys
    }

    fn check_invariants(sys: &System, r: &Reference) {
        let observed = sys.rt.block_on(sys.sim.observe()).unwrap();
        for (name, n) in &observed.status.nodes {
            assert!(n.failovers.is_empty(), "a planned migration failed {name}'s groups over: {n:?} ({r:?})");
        }
        let migrating: Vec<_> =
            observed.status.partitions.iter().filter(|(_, s)| s.migration.is_some()).map(|(n, _)| n.clone()).collect();
        assert!(migrating.len() <= 1, "both members are migrating: {migrating:?}");
        let records = sys.log.records().unwrap();
        let mut open: Option<(String, u64)> = None;
        for rec in records.iter().filter(|x| x.draft.kind == "MigratePartition") {
            match rec.event {
                Event::Intent => {
                    assert!(open.is_none(), "{} starts migrating while {open:?} does", rec.draft.object);
                    open = Some((rec.draft.object.clone(), rec.seq));
                }
                Event::Outcome => open = None,
                _ => {}
            }
        }
    }

    fn teardown(mut sys: System, r: Reference) {
        sys.rt.block_on(sys.sim.clear_faults()).unwrap();
        let mut converged = false;
        for _ in 0..K {
            // What a dead client or a failed migration left running ends first.
            sys.rt.block_on(async { tokio::time::sleep(std::time::Duration::from_secs(3600)).await });
            let plan = sys.reconcile(&r, None);
            if plan.is_empty() {
                converged = true;
                break;
            }
        }
        let observed = sys.rt.block_on(sys.sim.observe()).unwrap();
        let last = sys.plan(&r);
        assert!(converged && last.is_empty(), "no convergence in {K} reconciles ({r:?}): {:?}", last.actions);
        for (name, n) in &observed.status.nodes {
            assert!(
                n.peerinact_centis.is_none_or(|p| p == 1600)
                    && !n.unmanaged
                    && !n.maintenance
                    && n.failovers.is_empty(),
                "{name} is not as configured once the plans ended: {n:?} ({r:?})"
            );
        }
        // Protected exactly when the silence reaches the timeout: with it, node commands ran
        // around the migrations; without it, none did.
        let records = sys.log.records().unwrap();
        let moved = records.iter().any(|x| x.draft.kind == "MigratePartition" && x.event == Event::Outcome);
        let protected = records.iter().any(|x| {
            matches!(x.draft.kind.as_str(), "RaisePeerInactive" | "UnmanageClusterNode" | "EnterNodeMaintenance")
        });
        let timeout = match r.manager {
            "vcs" => 16,
            "powerha" => 30,
            _ => 3,
        };
        if moved && r.unresponsive < timeout {
            assert!(!protected, "node commands for a silence shorter than the timeout ({r:?})");
        }
        if moved && r.unresponsive >= timeout {
            assert!(protected, "a migration needing protection had none ({r:?})");
        }
    }
}

prop_state_machine! {
    #![proptest_config(Config { cases: super::cases() / 4 + 8, max_shrink_iters: 1024, failure_persistence: Some(Box::new(FileFailurePersistence::Direct(REGRESSIONS))), ..Config::default() })]
    #[test]
    fn cluster_members_migrate_without_false_failover_and_nodes_end_as_configured(sequential 1..20 => ClusterTest);
}
