//! The seed scenarios, each on the simulator and on virtual time (tokio's paused clock), so
//! the whole suite runs in well under a second. One file per concern; the helpers they share
//! are here.

use std::time::Duration;

use powerplane_model::action::{PartitionChange, RedundantPgVios};
use powerplane_model::manifest::{PartitionSpec, TrunkSpec};
use powerplane_model::status::{BridgeMode, LparState, SeaHaMode, SeaMemberStatus, SeaState};
use powerplane_model::{
    Action, ActionId, DeviceName, Estate, FrameName, MemoryMb, Op, PartitionName, SourceFile, ViosName, VlanId,
};

use super::{Clock, FailMode, LAB_INVENTORY, Simulator, realise};
use crate::backend::{BackendError, Completion, Hypervisor};

mod lifecycle;
mod lpm;
mod paging;
mod persist;
mod pools;
mod sea;
mod storage;

fn f(s: &str) -> FrameName {
    FrameName::new(s).unwrap()
}

fn v(s: &str) -> ViosName {
    ViosName::new(s).unwrap()
}

fn p(s: &str) -> PartitionName {
    PartitionName::new(s).unwrap()
}

fn d(s: &str) -> DeviceName {
    DeviceName::new(s).unwrap()
}

fn vlans(ns: &[u16]) -> Vec<VlanId> {
    ns.iter().map(|n| VlanId::new(*n).unwrap()).collect()
}

fn sim_from(inventory: &str) -> Simulator {
    let inv = powerplane_model::load_inventory(&[SourceFile::new("inventory.yaml", inventory)]).unwrap();
    Simulator::new(realise(inv, 42).unwrap(), None, Clock::default())
}

/// The lab without its brownfield configuration (the p72 and SOLCHMS05 SEAs, the AMS pool,
/// lpar_6_sotchax11): each scenario builds what it needs, as the seeds do.
fn lab() -> Simulator {
    let mut inv = powerplane_model::load_inventory(&[SourceFile::new("inventory.yaml", LAB_INVENTORY)]).unwrap();
    inv.seas.retain(|n, _| n.as_str().starts_with("js22"));
    inv.mem_pools.clear();
    inv.partitions.retain(|n, _| n.as_str() == "bxaix85");
    Simulator::new(realise(inv, 42).unwrap(), None, Clock::default())
}

async fn run(sim: &Simulator, op: Op) -> Result<Completion, BackendError> {
    let started = matches!(op, Op::StartPartition { .. });
    let done = sim
        .execute(&Action {
            id: ActionId("t".into()),
            op,
            after: vec![],
            when: Default::default(),
            reason: "test".into(),
            claims: Default::default(),
        })
        .await;
    // A start is done at `Running`; what these tests do next (DLPAR, LPM, an OS shutdown)
    // needs the RMC connection that comes a minute later: they wait for it, as an operator
    // does (`a_start_is_followed_to_running_and_rmc_comes_later` checks the wait itself).
    if started && done.is_ok() {
        sim.sleep_virtual(Duration::from_millis(super::power::LPAR_ACTIVATION.rmc_ms)).await;
    }
    done
}

async fn observe(sim: &Simulator) -> Estate {
    sim.observe().await.unwrap()
}

async fn sea(sim: &Simulator) -> Vec<SeaMemberStatus> {
    observe(sim).await.status.seas.values().find(|m| m[0].vios.as_str().starts_with("p72")).cloned().unwrap()
}

/// The p72 SEA of the seed, created on both VIOS in `mode`, primary (p72vio1) first.
async fn p72_sea(sim: &Simulator, modes: [SeaHaMode; 2]) {
    let trunks = vec![
        TrunkSpec { adapter: d("ent1"), pvid: VlanId::new(1).unwrap(), vlans: vlans(&[10, 11]) },
        TrunkSpec { adapter: d("ent2"), pvid: VlanId::new(2).unwrap(), vlans: vlans(&[12, 13]) },
    ];
    for out in p72_sea_with(sim, modes, &trunks).await {
        assert_eq!(out, "ent4 Available", "the seed's mkvdev answer");
    }
}

/// A p72 SEA with `trunks`, created on both VIOS in `mode`, primary (p72vio1) first; the
/// answers of the two `mkvdev`s.
async fn p72_sea_with(sim: &Simulator, modes: [SeaHaMode; 2], trunks: &[TrunkSpec]) -> Vec<String> {
    let mut answers = Vec::new();
    for (i, vios) in ["p72vio1", "p72vio2"].into_iter().enumerate() {
        let op = Op::CreateSea {
            frame: f("p72"),
            vios: v(vios),
            real_adapter: d("ent0"),
            trunks: trunks.to_vec(),
            control_channel: Some(d("ent3")),
            ha_mode: modes[i],
            priority: i as u8 + 1,
        };
        answers.push(run(sim, op).await.unwrap().message);
    }
    answers
}

/// The AMS frame of the seed: pool, common device hdisk17, lpar_6_sotchax11 activated.
async fn ams_lab(sim: &Simulator) {
    let frame = f("IBM_MMA_P6_102615A_SOLCHMS05");
    run(
        sim,
        Op::CreateSharedMemoryPool {
            frame: frame.clone(),
            pool_mem: MemoryMb(1024),
            max_pool_mem: MemoryMb(4096),
            paging_vios: vec![v("lpar_1_solchio05"), v("lpar_2_solchio06")],
        },
    )
    .await
    .unwrap();
    // seeds: "the lshwres command shows hdisk17 as redundant, although the chhwres command only
    // specified lpar_2_solchio06 as the paging VIOS partition."
    let out = run(sim, Op::AddPagingDevice { frame: frame.clone(), vios: v("lpar_2_solchio06"), device: d("hdisk17") })
        .await
        .unwrap();
    assert_eq!(out.message, "hdisk17 added (redundant)");
    create_and_start(sim, &frame, "lpar_6_sotchax11", AMS_PARTITION).await.unwrap();
}

const AMS_PARTITION: &str = "placement: {frame: IBM_MMA_P6_102615A_SOLCHMS05}\nprocessors: {units: 0.5, compat: POWER6}\nmemory: {mode: shared, desiredMB: 2048, maxMB: 4096, paging: {redundancy: required, primary: 1}}\nnetwork: [{vlan: 100}]\nstorage: [{lun: 6005076801203E85-L1C, via: vscsi}]\n";

async fn create_and_start(
    sim: &Simulator,
    frame: &FrameName,
    name: &str,
    spec_yaml: &str,
) -> Result<Completion, BackendError> {
    let spec: PartitionSpec = powerplane_model::from_yaml(spec_yaml).unwrap();
    run(
        sim,
        Op::CreatePartition {
            profile: powerplane_model::ProfileName::hmc_default(),
            adapters: vec![],
            frame: frame.clone(),
            partition: p(name),
            spec: Box::new(spec),
            paging_vios: vec![],
        },
    )
    .await?;
    run(
        sim,
        Op::StartPartition {
            profile: powerplane_model::ProfileName::hmc_default(),
            frame: frame.clone(),
            partition: p(name),
            force: false,
        },
    )
    .await
}

async fn paging(sim: &Simulator, name: &str) -> powerplane_model::status::PagingStatus {
    observe(sim).await.status.partitions[&p(name)].paging.clone().unwrap()
}

fn migrate(name: &str, from: &str, to: &str, redundant: RedundantPgVios) -> Op {
    Op::MigratePartition {
        partition: p(name),
        from: f(from),
        to: f(to),
        redundant: Some(redundant),
        msp: None,
        remote: None,
        mpio: None,
        spelling: Default::default(),
    }
}

fn validate(name: &str, from: &str, to: &str, redundant: RedundantPgVios) -> Op {
    Op::ValidateMigration {
        partition: p(name),
        from: f(from),
        to: f(to),
        redundant: Some(redundant),
        msp: None,
        remote: None,
        mpio: None,
        spelling: Default::default(),
    }
}

async fn refused(sim: &Simulator, op: Op) -> String {
    match run(sim, op).await {
        Err(e @ BackendError::Refused { .. }) => e.to_string(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}
