//! Clusters under faults (issue 14): two frames of a four-frame estate are evacuated, each
//! holding one member of a two-node cluster (VCS, PowerHA or Pacemaker), while faults hit the
//! migrations and the node commands. Whatever happens:
//! - no planned migration causes a false failover;
//! - the two members never migrate at the same time;
//! - once the plans end (faults cleared, at most K reconciles), every node is as configured:
//!   peerinact back at its value, resource groups managed, no node in maintenance.

use std::sync::Arc;

use powerplane_controller::backend::Hypervisor;
use powerplane_controller::backend::sim::{Clock, FailMode, Simulator, realise};
use powerplane_controller::executor::{self, AuditWriter, Context};
use powerplane_controller::store::StateDir;
use powerplane_controller::store::audit::{AuditLog, Event};
use powerplane_model::{ActionKind, PlanOptions, SourceFile};
use proptest::prelude::*;

use super::{K, Quiet};

/// The inventory and the manifests: frames f0..f3, `xray` on f0 and `yankee` on f1 in cluster
/// `hc` of `manager`, whose members are silent `unresponsive` s when they migrate; f0 and f1
/// are in maintenance, so both members move.
fn estate(manager: &str, unresponsive: u32) -> (String, String) {
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
            i < 2
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

/// A fault armed before the first reconcile.
#[derive(Clone, Copy, Debug)]
enum Hit {
    None,
    /// The next action of this kind fails (permanently, transiently or, for a migration,
    /// half-way).
    Fail(ActionKind, FailMode),
}

fn hits() -> impl Strategy<Value = Vec<Hit>> {
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
    proptest::collection::vec(
        prop_oneof![1 => Just(Hit::None), 4 => (kinds, modes).prop_map(|(k, m)| Hit::Fail(k, m))],
        0..3,
    )
}

fn run_case(manager: &str, unresponsive: u32, hits: &[Hit]) -> Result<(), TestCaseError> {
    let (inv, man) = estate(manager, unresponsive);
    let inventory = powerplane_model::load_inventory(&[SourceFile::new("inv.yaml", inv)]).unwrap();
    let desired = powerplane_model::load_manifests(&[SourceFile::new("m.yaml", man)]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state_dir = StateDir::open(dir.path()).unwrap();
    let log = AuditLog::open(&state_dir).unwrap();
    let writer = AuditWriter::start(log.clone());
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
    let sim = Simulator::new(realise(inventory, 1).unwrap(), None, Clock::default());
    for h in hits {
        if let Hit::Fail(kind, mode) = h {
            rt.block_on(sim.fail_next(*kind, *mode)).unwrap();
        }
    }
    let settings =
        executor::Settings { backoff: std::time::Duration::from_millis(1), attempts: 3, ..Default::default() };
    let mut converged = false;
    for round in 0..=K + 1 {
        if round == 1 {
            rt.block_on(sim.clear_faults()).unwrap();
        }
        // What a failed migration left running ends first.
        rt.block_on(async { tokio::time::sleep(std::time::Duration::from_secs(3600)).await });
        let observed = rt.block_on(sim.observe()).unwrap();
        for (name, n) in &observed.status.nodes {
            prop_assert!(n.failovers.is_empty(), "a planned migration failed {name}'s groups over: {n:?}");
        }
        let plan = powerplane_model::plan(&desired, &observed, PlanOptions::default());
        prop_assert!(plan.errors.is_empty(), "{:?}", plan.errors);
        if plan.is_empty() {
            for (name, n) in &observed.status.nodes {
                prop_assert!(
                    n.peerinact_centis.is_none_or(|p| p == 1600) && !n.unmanaged && !n.maintenance,
                    "{name} is not as configured once the plans ended: {n:?}"
                );
            }
            converged = true;
            break;
        }
        let ctx = Context { plan_id: format!("r{round}"), ..Default::default() };
        rt.block_on(executor::execute(sim.clone(), &plan, &ctx, settings, &writer, Arc::new(Quiet))).unwrap();
    }
    prop_assert!(converged, "no convergence in {} reconciles with the faults cleared after the first", K + 1);
    // One member at a time: no member's migration starts before the other's has ended.
    rt.block_on(writer.sync()).unwrap();
    let records = log.records().unwrap();
    let moves = records.iter().filter(|r| r.draft.kind == "MigratePartition" && r.event == Event::Intent).count();
    prop_assert!(moves >= 2, "both members migrated (a property without migrations proves nothing): {moves}");
    let protected = records
        .iter()
        .any(|r| matches!(r.draft.kind.as_str(), "RaisePeerInactive" | "UnmanageClusterNode" | "EnterNodeMaintenance"));
    let timeout = match manager {
        "vcs" => 16,
        "powerha" => 30,
        _ => 3,
    };
    prop_assert_eq!(protected, unresponsive >= timeout, "protected exactly when the silence reaches the timeout");
    let mut open: Option<String> = None;
    for r in records.iter().filter(|r| r.draft.kind == "MigratePartition") {
        match r.event {
            Event::Intent => {
                prop_assert!(open.is_none(), "{} migrates while {open:?} does", r.draft.object);
                open = Some(r.draft.object.clone());
            }
            Event::Outcome => open = None,
            _ => {}
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: super::cases() / 8 + 4, ..ProptestConfig::default() })]
    #[test]
    fn cluster_members_migrate_without_false_failover_and_nodes_end_as_configured(
        manager in prop_oneof![Just("vcs"), Just("powerha"), Just("pacemaker")],
        unresponsive in prop_oneof![Just(2u32), Just(40u32)],
        hits in hits(),
    ) {
        run_case(manager, unresponsive, &hits)?;
    }
}
