//! The seed scenarios, each on the simulator and on virtual time (tokio's paused clock), so
//! the whole suite runs in well under a second.

use std::time::Duration;

use powerplane_model::action::{PartitionChange, RedundantPgVios};
use powerplane_model::manifest::{PartitionSpec, TrunkSpec};
use powerplane_model::status::{BridgeMode, LparState, SeaHaMode, SeaMemberStatus, SeaState};
use powerplane_model::{
    Action, ActionId, DeviceName, Estate, FrameName, MemoryMb, Op, PartitionName, SourceFile, ViosName, VlanId,
};

use super::{Clock, FailMode, LAB_INVENTORY, Simulator, realise};
use crate::backend::{BackendError, Completion, Hypervisor};

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

fn states(m: &[SeaMemberStatus]) -> Vec<(&str, SeaState, BridgeMode, Vec<VlanId>)> {
    m.iter().map(|s| (s.vios.as_str(), s.state, s.bridge_mode, s.vlans.clone())).collect()
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

async fn set_mode(sim: &Simulator, vios: &str, mode: SeaHaMode) {
    run(sim, Op::SetSeaHaMode { frame: f("p72"), vios: v(vios), device: d("ent4"), mode }).await.unwrap();
}

// seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, "Simple test scenario",
// "Some outputs in disaster cases".
#[tokio::test(start_paused = true)]
async fn sea_load_sharing_splits_vlans_fails_over_and_returns() {
    let sim = lab();
    p72_sea(&sim, [SeaHaMode::Sharing, SeaHaMode::Sharing]).await;
    let sharing = vec![
        ("p72vio1", SeaState::PrimarySharing, BridgeMode::Partial, vlans(&[1, 10, 11])),
        ("p72vio2", SeaState::BackupSharing, BridgeMode::Partial, vlans(&[2, 12, 13])),
    ];
    assert_eq!(states(&sea(&sim).await), sharing);

    sim.vios_down(&f("p72"), &v("p72vio1")).await.unwrap();
    assert_eq!(
        states(&sea(&sim).await),
        vec![
            ("p72vio1", SeaState::Inactive, BridgeMode::None, vec![]),
            ("p72vio2", SeaState::Primary, BridgeMode::All, vlans(&[1, 10, 11, 2, 12, 13])),
        ]
    );
    sim.vios_up(&f("p72"), &v("p72vio1")).await.unwrap();
    assert_eq!(states(&sea(&sim).await), sharing, "Power on primary: the split returns");

    sim.vios_down(&f("p72"), &v("p72vio2")).await.unwrap();
    assert_eq!(
        states(&sea(&sim).await)[0],
        ("p72vio1", SeaState::Primary, BridgeMode::All, vlans(&[1, 10, 11, 2, 12, 13]))
    );
    sim.vios_up(&f("p72"), &v("p72vio2")).await.unwrap();
    assert_eq!(states(&sea(&sim).await), sharing, "Power on backup: the split returns");
}

// seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, lines 1034–1042 and
// 1125–1151: with ent1 {1: 10, 11}, ent2 {2: 12, 13}, ent5 {3: 33}, ent6 {4: 44, 333} p72vio1
// is "PRIMARY_SH ... VID shared: 3 4 33 44 333" and p72vio2 "BACKUP_SH ... VID shared: 1 2 10
// 11 12 13" (the rule: `load_sharing_split`).
#[tokio::test(start_paused = true)]
async fn four_trunks_split_as_the_seed_lists_them() {
    let mut inv = powerplane_model::load_inventory(&[SourceFile::new("inventory.yaml", LAB_INVENTORY)]).unwrap();
    inv.seas.retain(|n, _| n.as_str().starts_with("js22"));
    inv.mem_pools.clear();
    inv.partitions.retain(|n, _| n.as_str() == "bxaix85");
    for hw in inv.hardware.values_mut().filter(|h| h.metadata.name.as_str() == "p72") {
        for vios in &mut hw.spec.vios {
            vios.ethernet.extend([d("ent5"), d("ent6")]);
        }
    }
    let sim = Simulator::new(realise(inv, 42).unwrap(), None, Clock::default());
    let trunks = vec![
        TrunkSpec { adapter: d("ent1"), pvid: VlanId::new(1).unwrap(), vlans: vlans(&[10, 11]) },
        TrunkSpec { adapter: d("ent2"), pvid: VlanId::new(2).unwrap(), vlans: vlans(&[12, 13]) },
        TrunkSpec { adapter: d("ent5"), pvid: VlanId::new(3).unwrap(), vlans: vlans(&[33]) },
        TrunkSpec { adapter: d("ent6"), pvid: VlanId::new(4).unwrap(), vlans: vlans(&[44, 333]) },
    ];
    p72_sea_with(&sim, [SeaHaMode::Sharing, SeaHaMode::Sharing], &trunks).await;
    assert_eq!(
        states(&sea(&sim).await),
        vec![
            ("p72vio1", SeaState::PrimarySharing, BridgeMode::Partial, vlans(&[3, 4, 33, 44, 333])),
            ("p72vio2", SeaState::BackupSharing, BridgeMode::Partial, vlans(&[1, 2, 10, 11, 12, 13])),
        ]
    );
    // `sim show` reports what observation does.
    let report = sim.report().await;
    let shown: Vec<_> =
        report.frames.iter().filter_map(|f| f.sea.as_ref()).flat_map(|s| &s.members).map(|m| m.vlans.clone()).collect();
    assert!(
        shown.contains(&vlans(&[3, 4, 33, 44, 333])) && shown.contains(&vlans(&[1, 2, 10, 11, 12, 13])),
        "{shown:?}"
    );
}

/// The seed's four trunks: ent1 {1: 10, 11}, ent2 {2: 12, 13}, ent5 {3: 33}, ent6 {4: 44, 333}.
fn seed_trunks() -> Vec<TrunkSpec> {
    vec![
        TrunkSpec { adapter: d("ent1"), pvid: VlanId::new(1).unwrap(), vlans: vlans(&[10, 11]) },
        TrunkSpec { adapter: d("ent2"), pvid: VlanId::new(2).unwrap(), vlans: vlans(&[12, 13]) },
        TrunkSpec { adapter: d("ent5"), pvid: VlanId::new(3).unwrap(), vlans: vlans(&[33]) },
        TrunkSpec { adapter: d("ent6"), pvid: VlanId::new(4).unwrap(), vlans: vlans(&[44, 333]) },
    ]
}

// seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, lines 1026-1150, the
// "Enhanced test scenario (adding additional trunk adapter dynamically to the SEA)": DLPAR the
// two trunk adapters on both VIOS, save the profiles, cfgdev (line 1092: "ent5 Available
// Virtual I/O Ethernet Adapter (l-lan)"), `chdev -dev ent4 -attr virt_adapters=
// ent1,ent2,ent5,ent6` on p72vio1 then p72vio2 ("ent4 changed"), and the split of lines
// 1125-1151.
#[tokio::test(start_paused = true)]
async fn trunks_are_added_live_and_the_vlans_split_again() {
    let sim = lab();
    p72_sea(&sim, [SeaHaMode::Sharing, SeaHaMode::Sharing]).await;
    let all = seed_trunks();
    for (i, vios) in ["p72vio1", "p72vio2"].into_iter().enumerate() {
        for t in &all[2..] {
            let op = Op::AddTrunkAdapter { frame: f("p72"), vios: v(vios), trunk: t.clone(), priority: i as u8 + 1 };
            let out = run(&sim, op).await.unwrap().message;
            assert!(out.starts_with("virtual ethernet adapter added in slot"), "{out}");
        }
        run(
            &sim,
            Op::SaveProfile { profile: powerplane_model::ProfileName::hmc_default(), frame: f("p72"), vios: v(vios) },
        )
        .await
        .unwrap();
        let out = run(&sim, Op::ConfigureDevices { frame: f("p72"), vios: v(vios) }).await.unwrap().message;
        assert_eq!(
            out,
            "ent5 Available Virtual I/O Ethernet Adapter (l-lan); ent6 Available Virtual I/O Ethernet Adapter (l-lan)"
        );
    }
    // Still the two-trunk split: the SEAs do not bridge the new adapters yet.
    assert_eq!(sea(&sim).await[0].vlans, vlans(&[1, 10, 11]));
    let chdev =
        |vios: &str| Op::SetSeaAdapters { frame: f("p72"), vios: v(vios), device: d("ent4"), trunks: all.clone() };
    assert_eq!(run(&sim, chdev("p72vio1")).await.unwrap().message, "ent4 changed");
    // Between the two chdevs the SEAs bridge different trunks: no load sharing, the primary
    // bridges every VLAN it has.
    let between = sea(&sim).await;
    assert_eq!(between[0].state, SeaState::Primary);
    assert_eq!(between[0].vlans, vlans(&[1, 10, 11, 2, 12, 13, 3, 33, 4, 44, 333]));
    assert_eq!(between[1].adapters, vec![d("ent1"), d("ent2")]);
    let observed = observe(&sim).await;
    assert_eq!(
        observed.seas.values().find(|s| s.metadata.name.as_str() == "p72-sea").unwrap().spec.trunks.len(),
        2,
        "the observed SEA has the trunks both members bridge"
    );
    assert_eq!(run(&sim, chdev("p72vio2")).await.unwrap().message, "ent4 changed");
    assert_eq!(
        states(&sea(&sim).await),
        vec![
            ("p72vio1", SeaState::PrimarySharing, BridgeMode::Partial, vlans(&[3, 4, 33, 44, 333])),
            ("p72vio2", SeaState::BackupSharing, BridgeMode::Partial, vlans(&[1, 2, 10, 11, 12, 13])),
        ],
        "the backup's chdev asks for load sharing again, over four trunks"
    );
    assert!(sea(&sim).await.iter().all(|m| m.unsaved.is_empty() && m.adapters.len() == 4));
}

/// A trunk adapter added by DLPAR and not saved to the profile is gone after the VIOS is
/// activated again, and its SEA stops bridging it; `chdev` refuses an adapter the VIOS lacks.
#[tokio::test(start_paused = true)]
async fn an_unsaved_trunk_adapter_is_lost_when_the_vios_is_activated() {
    let sim = lab();
    p72_sea(&sim, [SeaHaMode::Auto, SeaHaMode::Auto]).await;
    let all = seed_trunks();
    let chdev = |vios: &str, t: &[TrunkSpec]| Op::SetSeaAdapters {
        frame: f("p72"),
        vios: v(vios),
        device: d("ent4"),
        trunks: t.to_vec(),
    };
    let err = refused(&sim, chdev("p72vio1", &all[..3])).await;
    assert!(err.contains("ent5 is not an adapter of p72vio1"), "{err}");
    for (i, vios) in ["p72vio1", "p72vio2"].into_iter().enumerate() {
        let op = Op::AddTrunkAdapter { frame: f("p72"), vios: v(vios), trunk: all[2].clone(), priority: i as u8 + 1 };
        run(&sim, op).await.unwrap();
        run(&sim, Op::ConfigureDevices { frame: f("p72"), vios: v(vios) }).await.unwrap();
    }
    run(
        &sim,
        Op::SaveProfile { profile: powerplane_model::ProfileName::hmc_default(), frame: f("p72"), vios: v("p72vio2") },
    )
    .await
    .unwrap();
    run(&sim, chdev("p72vio1", &all[..3])).await.unwrap();
    run(&sim, chdev("p72vio2", &all[..3])).await.unwrap();
    assert_eq!(sea(&sim).await[0].unsaved, vec![d("ent5")], "p72vio1's profile lacks ent5");
    assert!(sea(&sim).await[1].unsaved.is_empty());
    sim.vios_down(&f("p72"), &v("p72vio1")).await.unwrap();
    sim.vios_up(&f("p72"), &v("p72vio1")).await.unwrap();
    let after = sea(&sim).await;
    assert_eq!(after[0].adapters, vec![d("ent1"), d("ent2")], "ent5 went with the activation");
    assert_eq!(after[1].adapters, vec![d("ent1"), d("ent2"), d("ent5")]);
    let hw = observe(&sim).await;
    let vio1 = hw.hardware[&f("p72")].spec.vios.iter().find(|x| x.name.as_str() == "p72vio1").unwrap().ethernet.clone();
    assert!(!vio1.contains(&d("ent5")), "{vio1:?}");
}

// seeds: "This value must be set on primary SEA first before it is set for the backup SEA,
// because the backup SEA initiates the request for load sharing. If this sequence is not
// followed ... then a chdev must occur on the backup SEA for Load sharing to work."
#[tokio::test(start_paused = true)]
async fn sharing_on_the_backup_first_does_not_start_load_sharing() {
    let sim = lab();
    p72_sea(&sim, [SeaHaMode::Auto, SeaHaMode::Auto]).await;
    set_mode(&sim, "p72vio2", SeaHaMode::Sharing).await;
    set_mode(&sim, "p72vio1", SeaHaMode::Sharing).await;
    let st = sea(&sim).await;
    assert_eq!(st[0].ha_mode, SeaHaMode::Sharing);
    assert_eq!(
        (st[0].state, st[1].state),
        (SeaState::Primary, SeaState::Backup),
        "sharing on both, yet not load sharing"
    );
    set_mode(&sim, "p72vio2", SeaHaMode::Sharing).await;
    let st = sea(&sim).await;
    assert_eq!(
        (st[0].state, st[1].state),
        (SeaState::PrimarySharing, SeaState::BackupSharing),
        "a chdev on the backup starts it"
    );
}

#[tokio::test(start_paused = true)]
async fn primary_first_starts_load_sharing() {
    let sim = lab();
    p72_sea(&sim, [SeaHaMode::Auto, SeaHaMode::Auto]).await;
    assert_eq!(states(&sea(&sim).await)[0].1, SeaState::Primary);
    set_mode(&sim, "p72vio1", SeaHaMode::Sharing).await;
    set_mode(&sim, "p72vio2", SeaHaMode::Sharing).await;
    assert_eq!(sea(&sim).await[1].state, SeaState::BackupSharing);
}

// seeds: "auto is the default ha_mode, standby forces a failover situation"
// (chdev -dev ent4 -attr ha_mode=standby / ha_mode=auto).
#[tokio::test(start_paused = true)]
async fn standby_on_the_primary_fails_over_and_auto_fails_back() {
    let sim = lab();
    p72_sea(&sim, [SeaHaMode::Auto, SeaHaMode::Auto]).await;
    set_mode(&sim, "p72vio1", SeaHaMode::Standby).await;
    let st = sea(&sim).await;
    assert_eq!((st[0].state, st[1].state), (SeaState::Backup, SeaState::Primary));
    assert_eq!(st[1].bridge_mode, BridgeMode::All);
    set_mode(&sim, "p72vio1", SeaHaMode::Auto).await;
    let st = sea(&sim).await;
    assert_eq!((st[0].state, st[1].state), (SeaState::Primary, SeaState::Backup));
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

// seeds: ams-dual-vios-and-lpm.txt, line 5: "when you configure a disk as a common paging space
// device the no_reserve attribute will automatically be set"; line 6: "it will automatically be
// recognized as a common paging space device if the prerequisites mentioned previously are met".
#[tokio::test(start_paused = true)]
async fn a_disk_both_paging_vios_see_becomes_common_and_no_reserve_when_added() {
    use powerplane_model::manifest::{DiskSpec, ReservePolicy};
    let frame = f("IBM_MMA_P6_102615A_SOLCHMS05");
    let mut snap = lab().snapshot().await;
    for vio in &mut snap.frames.get_mut(&frame).unwrap().hw.vios {
        vio.disks.push(DiskSpec {
            name: d("hdisk19"),
            lun: powerplane_model::Lun::new("6005076801203E85-L1D").unwrap(),
            size_mb: MemoryMb(40960),
            reserve_policy: ReservePolicy::SinglePath,
        });
    }
    let sim = Simulator::new(snap, None, Clock::default());
    let pool = Op::CreateSharedMemoryPool {
        frame: frame.clone(),
        pool_mem: MemoryMb(1024),
        max_pool_mem: MemoryMb(4096),
        paging_vios: vec![v("lpar_1_solchio05"), v("lpar_2_solchio06")],
    };
    run(&sim, pool).await.unwrap();
    let out =
        run(&sim, Op::AddPagingDevice { frame: frame.clone(), vios: v("lpar_1_solchio05"), device: d("hdisk19") })
            .await
            .unwrap();
    assert_eq!(out.message, "hdisk19 added (redundant)");
    let seen = observe(&sim).await;
    let device = &seen.status.paging_devices[&frame][0];
    assert!(device.redundant, "common: {device:?}");
    let policies: Vec<ReservePolicy> = seen.hardware[&frame]
        .spec
        .vios
        .iter()
        .flat_map(|v| v.disks.iter().filter(|d| d.name.as_str() == "hdisk19").map(|d| d.reserve_policy))
        .collect();
    assert_eq!(policies, vec![ReservePolicy::NoReserve; 2], "set on both paging VIOS");
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

/// Issue 32 item 8: `chsyscfg -r prof -i "…,primary_paging_vios_name=…"` names a new pair in
/// the profile, which the observation lists; the running partition keeps paging through the
/// VIOS it used until it is switched (seeds: ams-dual-vios-and-lpm.txt, lines 48-52). A pair
/// that is not the pool's is refused.
#[tokio::test(start_paused = true)]
async fn a_profile_names_a_new_primary_paging_vios_and_a_switch_follows() {
    let sim = lab();
    ams_lab(&sim).await;
    let frame = f("IBM_MMA_P6_102615A_SOLCHMS05");
    let change = |a: &str, b: &str| Op::UpdatePartition {
        frame: frame.clone(),
        partition: p("lpar_6_sotchax11"),
        profile: powerplane_model::ProfileName::hmc_default(),
        change: PartitionChange {
            method: powerplane_model::action::ChangeMethod::Profile,
            paging_vios: Some((v(a), v(b))),
            ..Default::default()
        },
    };
    let err = run(&sim, change("lpar_2_solchio06", "p72vio1")).await.unwrap_err();
    assert!(err.to_string().contains("are not the two paging VIOS partitions"), "{err}");
    run(&sim, change("lpar_2_solchio06", "lpar_1_solchio05")).await.unwrap();
    let pg = paging(&sim, "lpar_6_sotchax11").await;
    assert_eq!(
        (pg.primary.as_str(), pg.secondary.as_ref().unwrap().as_str(), pg.current.as_ref().unwrap().as_str()),
        ("lpar_2_solchio06", "lpar_1_solchio05", "lpar_1_solchio05"),
        "the profile's pair is listed; paging stays where it was"
    );
    let spec = &observe(&sim).await.partitions[&p("lpar_6_sotchax11")].spec;
    assert_eq!(spec.memory.paging.unwrap().primary, powerplane_model::manifest::PagingIndex::Two);
    run(&sim, Op::SwitchPagingVios { frame: frame.clone(), partition: p("lpar_6_sotchax11") }).await.unwrap();
    assert_eq!(paging(&sim, "lpar_6_sotchax11").await.current.unwrap().as_str(), "lpar_2_solchio06");
}

// seeds: ams-dual-vios-and-lpm.txt, "Paging VIOS partition failover": "After a failover, no
// automatic switch back will occur when the original paging VIOS partition comes up again",
// and Listing 2 (chhwres -r mem -o so).
#[tokio::test(start_paused = true)]
async fn paging_fails_over_never_back_and_switches_on_request() {
    let sim = lab();
    ams_lab(&sim).await;
    let pg = paging(&sim, "lpar_6_sotchax11").await;
    assert_eq!(
        (pg.primary.as_str(), pg.secondary.as_ref().unwrap().as_str()),
        ("lpar_1_solchio05", "lpar_2_solchio06")
    );
    assert_eq!(pg.current.as_ref().unwrap().as_str(), "lpar_1_solchio05");
    assert_eq!(pg.device.as_ref().unwrap().as_str(), "hdisk17");

    let frame = f("IBM_MMA_P6_102615A_SOLCHMS05");
    sim.vios_down(&frame, &v("lpar_1_solchio05")).await.unwrap();
    assert_eq!(paging(&sim, "lpar_6_sotchax11").await.current.unwrap().as_str(), "lpar_2_solchio06");
    let st = observe(&sim).await.status.partitions[&p("lpar_6_sotchax11")].state.clone();
    assert_eq!(st, LparState::Running, "the failover is transparent");

    sim.vios_up(&frame, &v("lpar_1_solchio05")).await.unwrap();
    assert_eq!(
        paging(&sim, "lpar_6_sotchax11").await.current.unwrap().as_str(),
        "lpar_2_solchio06",
        "no automatic switch back"
    );

    run(&sim, Op::SwitchPagingVios { frame: frame.clone(), partition: p("lpar_6_sotchax11") }).await.unwrap();
    assert_eq!(paging(&sim, "lpar_6_sotchax11").await.current.unwrap().as_str(), "lpar_1_solchio05");

    // Never switch to a VIOS that is down.
    sim.vios_down(&frame, &v("lpar_2_solchio06")).await.unwrap();
    let err =
        run(&sim, Op::SwitchPagingVios { frame: frame.clone(), partition: p("lpar_6_sotchax11") }).await.unwrap_err();
    assert!(err.to_string().contains("lpar_2_solchio06 is not running"), "{err}");

    // Shutdown releases the paging device.
    run(&sim, Op::StopPartition { frame: frame.clone(), partition: p("lpar_6_sotchax11"), how: Default::default() })
        .await
        .unwrap();
    let e = observe(&sim).await;
    assert_eq!(e.status.paging_devices[&frame][0].assigned, None);
    assert!(e.status.partitions[&p("lpar_6_sotchax11")].paging.is_none());
}

const TWO_DEVICES: &str = r#"
apiVersion: powerplane/v1
kind: FrameHardware
metadata: {name: ams}
spec:
  serial: "X1"
  machineType: "8233-E8B"
  memoryMB: 65536
  procUnits: 8
  compatModes: [POWER6, POWER7]
  vios:
    - name: va
      memoryMB: 2048
      procUnits: 0.5
      ethernet: [ent0, ent1, ent2]
      disks:
        - {name: hdisk1, lun: COMMON1, sizeMB: 8192, reservePolicy: no_reserve}
        - {name: hdisk2, lun: ONLYA, sizeMB: 8192, reservePolicy: no_reserve}
    - name: vb
      memoryMB: 2048
      procUnits: 0.5
      ethernet: [ent0, ent1, ent2]
      disks:
        - {name: hdisk1, lun: COMMON1, sizeMB: 8192, reservePolicy: no_reserve}
---
apiVersion: powerplane/v1
kind: SharedMemoryPool
metadata: {name: ams-pool}
spec:
  frame: ams
  poolMemMB: 2048
  maxPoolMemMB: 4096
  pagingVios: [va, vb]
  pagingDevices:
    - {device: hdisk1, sizeMB: 8192}
    - {device: hdisk2, sizeMB: 8192}
"#;

fn ams_spec(redundancy: &str) -> String {
    format!(
        "placement: {{frame: ams}}\nprocessors: {{units: 0.5}}\nmemory: {{mode: shared, desiredMB: 1024, maxMB: 4096, paging: {{redundancy: {redundancy}}}}}\n"
    )
}

// seeds: ams-dual-vios-and-lpm.txt, "If no common paging space device is available, the
// partition will fail to activate ... by using the chsysstate command with the --force option
// ... No failover will be possible in this case." and "If you activate a shared memory
// partition that is not configured with redundant paging VIOS, an independent paging space
// device will be assigned, if possible."
#[tokio::test(start_paused = true)]
async fn activation_picks_common_or_independent_devices() {
    let sim = sim_from(TWO_DEVICES);
    let frame = f("ams");
    let obs = observe(&sim).await;
    let devs = &obs.status.paging_devices[&frame];
    assert_eq!(
        devs.iter().map(|d| (d.device.as_str(), d.redundant)).collect::<Vec<_>>(),
        vec![("hdisk1", true), ("hdisk2", false)]
    );

    create_and_start(&sim, &frame, "solo", &ams_spec("none")).await.unwrap();
    let pg = paging(&sim, "solo").await;
    assert_eq!(
        (pg.device.unwrap().as_str(), pg.secondary),
        ("hdisk2", None),
        "non-redundant prefers the independent device"
    );
    assert_eq!(pg.current.unwrap().as_str(), "va", "the VIOS that sees it");

    create_and_start(&sim, &frame, "red1", &ams_spec("required")).await.unwrap();
    assert_eq!(paging(&sim, "red1").await.device.unwrap().as_str(), "hdisk1");

    run(&sim, Op::StopPartition { frame: frame.clone(), partition: p("solo"), how: Default::default() }).await.unwrap();
    let err = create_and_start(&sim, &frame, "red2", &ams_spec("required")).await.unwrap_err();
    assert!(err.to_string().contains("is configured with redundant paging VIOS partitions"), "{err}");
    assert_eq!(observe(&sim).await.status.partitions[&p("red2")].state, LparState::NotActivated);
    let out = run(
        &sim,
        Op::StartPartition {
            profile: powerplane_model::ProfileName::hmc_default(),
            frame: frame.clone(),
            partition: p("red2"),
            force: true,
        },
    )
    .await
    .unwrap();
    assert!(out.message.contains("activated"));
    let pg = paging(&sim, "red2").await;
    assert_eq!((pg.device.unwrap().as_str(), pg.secondary), ("hdisk2", None), "forced: no failover");
}

#[tokio::test(start_paused = true)]
async fn a_partition_without_a_running_paging_vios_goes_to_error() {
    let sim = sim_from(TWO_DEVICES);
    let frame = f("ams");
    create_and_start(&sim, &frame, "solo", &ams_spec("none")).await.unwrap();
    let events = sim.vios_down(&frame, &v("va")).await.unwrap();
    assert!(events.iter().any(|e| e.contains("no paging VIOS left")), "{events:?}");
    assert_eq!(observe(&sim).await.status.partitions[&p("solo")].state, LparState::Error);
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

// seeds: lpm-js22-walkthrough.txt: bxaix85 (4 GB) moves from the blade in slot 13 to slot 14,
// shows "Migrating - Running" on the target while in flight, takes about two minutes, and is
// suspended for under two seconds.
#[tokio::test(start_paused = true)]
async fn lpm_moves_bxaix85_in_about_two_minutes() {
    let sim = lab();
    run(&sim, validate("bxaix85", "js22_slot13", "js22_slot14", RedundantPgVios::IfPossible)).await.unwrap();
    let bg = sim.clone();
    let task = tokio::spawn(async move {
        run(&bg, migrate("bxaix85", "js22_slot13", "js22_slot14", RedundantPgVios::IfPossible)).await
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mid = observe(&sim).await;
    assert_eq!(mid.status.partitions[&p("bxaix85")].state, LparState::MigratingRunning);
    let snap = sim.snapshot().await;
    assert_eq!(
        snap.frames[&f("js22_slot14")].partitions[&p("bxaix85")].state,
        LparState::MigratingRunning,
        "the shell on the target"
    );
    let out = task.await.unwrap().unwrap();
    assert_eq!(out.duration, Duration::from_millis(121_500));
    assert!(out.message.contains("suspended 1500 ms"), "{}", out.message);
    let after = observe(&sim).await;
    assert_eq!(after.status.partitions[&p("bxaix85")].frame, f("js22_slot14"));
    assert_eq!(after.status.partitions[&p("bxaix85")].state, LparState::Running);
    assert!(
        !sim.snapshot().await.frames[&f("js22_slot13")].partitions.contains_key(&p("bxaix85")),
        "deleted from the source"
    );
}

async fn refused(sim: &Simulator, op: Op) -> String {
    match run(sim, op).await {
        Err(e @ BackendError::Refused { .. }) => e.to_string(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn lpm_checks_fail_like_the_hmc() {
    // Not enough memory: fill the target with a 13 GB partition.
    let sim = lab();
    create_and_start(
        &sim,
        &f("js22_slot14"),
        "big",
        "placement: {frame: js22_slot14}\nprocessors: {units: 0.5}\nmemory: {desiredMB: 13312, maxMB: 13312}\n",
    )
    .await
    .unwrap();
    let e = refused(&sim, validate("bxaix85", "js22_slot13", "js22_slot14", RedundantPgVios::IfPossible)).await;
    assert!(e.contains("There is not enough memory: Obtained: 1024, Required: 4096."), "{e}");

    // Battery.
    let sim = lab();
    sim.battery(&f("js22_slot14"), true).await.unwrap();
    let e = refused(&sim, validate("bxaix85", "js22_slot13", "js22_slot14", RedundantPgVios::IfPossible)).await;
    assert!(e.contains("running on battery power"), "{e}");

    // Compatibility mode.
    let sim = lab();
    create_and_start(
        &sim,
        &f("p72"),
        "p7only",
        "placement: {frame: p72}\nprocessors: {units: 0.5, compat: POWER7}\nmemory: {desiredMB: 1024, maxMB: 2048}\n",
    )
    .await
    .unwrap();
    let e = refused(&sim, validate("p7only", "p72", "js22_slot14", RedundantPgVios::IfPossible)).await;
    assert!(e.starts_with("HSCLA224 Errors:\nHSCLA224 The partition cannot be migrated"), "{e}");

    // A VLAN the target does not bridge, a LUN it does not see, a name already used.
    let sim = lab();
    create_and_start(&sim, &f("p72"), "bxaix85x", "placement: {frame: p72}\nprocessors: {units: 0.5}\nmemory: {desiredMB: 1024, maxMB: 2048}\nnetwork: [{vlan: 10}]\nstorage: [{lun: NOWHERE, via: vscsi}, {lun: NOWHERE2, via: npiv}]\n").await.unwrap();
    let e = refused(&sim, validate("bxaix85x", "p72", "js22_slot14", RedundantPgVios::IfPossible)).await;
    assert!(e.contains("VLAN 10"), "{e}");
    assert!(e.contains("HSCLA356") && e.contains("HSCLA319"), "{e}");
    create_and_start(
        &sim,
        &f("js22_slot14"),
        "bxaix85x2",
        "placement: {frame: js22_slot14}\nprocessors: {units: 0.5}\nmemory: {desiredMB: 1024, maxMB: 2048}\n",
    )
    .await
    .unwrap();
    create_and_start(
        &sim,
        &f("js22_slot13"),
        "bxaix85x2b",
        "placement: {frame: js22_slot13}\nprocessors: {units: 0.5}\nmemory: {desiredMB: 1024, maxMB: 2048}\n",
    )
    .await
    .unwrap();

    // VIOS never migrate; a partition without RMC is not ready (transient).
    let e = refused(&sim, validate("bvio82", "js22_slot13", "js22_slot14", RedundantPgVios::IfPossible)).await;
    assert!(e.contains("VIOS partitions cannot be migrated"), "{e}");
    sim.rmc("bxaix85", false).await.unwrap();
    let err =
        run(&sim, validate("bxaix85", "js22_slot13", "js22_slot14", RedundantPgVios::IfPossible)).await.unwrap_err();
    assert!(err.is_transient() && err.to_string().contains("HSCLA257"), "{err}");
}

// seeds: ams-dual-vios-and-lpm.txt, "You can move a shared memory partition running on a server
// with a redundant paging VIOS setup to a server where there is only one paging VIOS", and
// "After the migration is complete, the paging space device on the source server will be freed".
#[tokio::test(start_paused = true)]
async fn ams_lpm_honours_redundantpgvios_and_frees_the_source_device() {
    let sim = lab();
    ams_lab(&sim).await;
    // Give p72 a one-VIOS shared memory pool with a device, and the VLAN through an SEA.
    run(
        &sim,
        Op::CreateSharedMemoryPool {
            frame: f("p72"),
            pool_mem: MemoryMb(2048),
            max_pool_mem: MemoryMb(4096),
            paging_vios: vec![v("p72vio1")],
        },
    )
    .await
    .unwrap();
    let mut snap = sim.snapshot().await;
    let vio =
        snap.frames.get_mut(&f("p72")).unwrap().hw.vios.iter_mut().find(|x| x.name.as_str() == "p72vio1").unwrap();
    vio.disks.push(powerplane_model::manifest::DiskSpec {
        name: d("hdisk5"),
        lun: powerplane_model::Lun::new("P72PG").unwrap(),
        size_mb: MemoryMb(8192),
        reserve_policy: Default::default(),
    });
    // lpar_6_sotchax11's rootvg, zoned to p72 too, through both VIOS as on its source (else
    // the HMC could not replicate its multipath I/O: HSCLA340).
    let rootvg = powerplane_model::manifest::DiskSpec {
        name: d("hdisk6"),
        lun: powerplane_model::Lun::new("6005076801203E85-L1C").unwrap(),
        size_mb: MemoryMb(30720),
        reserve_policy: powerplane_model::manifest::ReservePolicy::NoReserve,
    };
    vio.disks.push(rootvg.clone());
    for x in snap.frames.get_mut(&f("p72")).unwrap().hw.vios.iter_mut().filter(|x| x.name.as_str() == "p72vio2") {
        x.disks.push(rootvg.clone());
    }
    let sim = Simulator::new(snap, None, Clock::default());
    run(&sim, Op::AddPagingDevice { frame: f("p72"), vios: v("p72vio1"), device: d("hdisk5") }).await.unwrap();
    run(
        &sim,
        Op::CreateSea {
            frame: f("p72"),
            vios: v("p72vio1"),
            real_adapter: d("ent0"),
            trunks: vec![TrunkSpec { adapter: d("ent1"), pvid: VlanId::new(100).unwrap(), vlans: vec![] }],
            control_channel: Some(d("ent3")),
            ha_mode: SeaHaMode::Auto,
            priority: 1,
        },
    )
    .await
    .unwrap();

    let e =
        refused(&sim, validate("lpar_6_sotchax11", "IBM_MMA_P6_102615A_SOLCHMS05", "p72", RedundantPgVios::Required))
            .await;
    assert!(e.starts_with("HSCLA304"), "{e}");
    let out =
        run(&sim, migrate("lpar_6_sotchax11", "IBM_MMA_P6_102615A_SOLCHMS05", "p72", RedundantPgVios::NonRedundant))
            .await
            .unwrap();
    assert!(out.message.contains("paging device hdisk5 (non-redundant)"), "{}", out.message);
    let e = observe(&sim).await;
    let pg = e.status.partitions[&p("lpar_6_sotchax11")].paging.clone().unwrap();
    assert_eq!((pg.current.unwrap().as_str(), pg.secondary), ("p72vio1", None));
    let src = &e.status.paging_devices[&f("IBM_MMA_P6_102615A_SOLCHMS05")];
    assert_eq!(src[0].assigned, None, "hdisk17 freed on the source");
}

#[tokio::test(start_paused = true)]
async fn lifecycle_and_dlpar_respect_capacity_and_limits() {
    let sim = lab();
    let blade = f("js22_slot14");
    // 16 GB blade, 2 GB VIOS: 14 GB free.
    let err = create_and_start(
        &sim,
        &blade,
        "huge",
        // Its minimum is its desired memory: it cannot start below it.
        "placement: {frame: js22_slot14}\nprocessors: {units: 1}\nmemory: {desiredMB: 15360, minMB: 15360, maxMB: 16384}\n",
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("Obtained: 14336, Required: 15360"), "{err}");
    let err = run(
        &sim,
        Op::StartPartition {
            profile: powerplane_model::ProfileName::hmc_default(),
            frame: blade.clone(),
            partition: p("huge"),
            force: false,
        },
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("not enough memory"), "{err}");
    let err = create_and_start(&sim, &blade, "cpu", "placement: {frame: js22_slot14}\nprocessors: {mode: dedicated, units: 4, minUnits: 4}\nmemory: {desiredMB: 1024, maxMB: 2048}\n").await.unwrap_err();
    assert!(err.to_string().contains("processing units"), "{err}");

    create_and_start(
        &sim,
        &blade,
        "app",
        "placement: {frame: js22_slot14}\nprocessors: {units: 1}\nmemory: {desiredMB: 4096, maxMB: 8192}\n",
    )
    .await
    .unwrap();
    let grow = PartitionChange { memory: Some((MemoryMb(4096), MemoryMb(6144))), ..Default::default() };
    run(
        &sim,
        Op::UpdatePartition {
            profile: powerplane_model::ProfileName::hmc_default(),
            frame: blade.clone(),
            partition: p("app"),
            change: grow,
        },
    )
    .await
    .unwrap();
    assert_eq!(observe(&sim).await.partitions[&p("app")].spec.memory.desired_mb, MemoryMb(6144));
    let too_much = PartitionChange { memory: Some((MemoryMb(6144), MemoryMb(9216))), ..Default::default() };
    let err = run(
        &sim,
        Op::UpdatePartition {
            profile: powerplane_model::ProfileName::hmc_default(),
            frame: blade.clone(),
            partition: p("app"),
            change: too_much,
        },
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("above the maximum memory"), "{err}");
    sim.rmc("app", false).await.unwrap();
    let err = run(
        &sim,
        Op::UpdatePartition {
            profile: powerplane_model::ProfileName::hmc_default(),
            frame: blade.clone(),
            partition: p("app"),
            change: PartitionChange::default(),
        },
    )
    .await
    .unwrap_err();
    assert!(err.is_transient(), "{err}");

    let err = run(&sim, Op::DeletePartition { frame: blade.clone(), partition: p("app") }).await.unwrap_err();
    assert!(err.to_string().contains("shut it down"), "{err}");
    // Without RMC its operating system cannot be told to shut down (HSCL0DB4); the
    // immediate shutdown needs no RMC.
    let err = run(&sim, Op::StopPartition { frame: blade.clone(), partition: p("app"), how: Default::default() })
        .await
        .unwrap_err();
    assert!(matches!(&err, BackendError::Refused { code: Some(c), .. } if c == "HSCL0DB4"), "{err}");
    let how = powerplane_model::action::ShutdownMethod::Immediate;
    run(&sim, Op::StopPartition { frame: blade.clone(), partition: p("app"), how }).await.unwrap();
    run(&sim, Op::DeletePartition { frame: blade.clone(), partition: p("app") }).await.unwrap();
    assert!(!observe(&sim).await.partitions.contains_key(&p("app")));
}

#[tokio::test(start_paused = true)]
async fn faults_fail_once_or_hang_until_timeout() {
    let sim = lab();
    let stop = || Op::StopPartition { frame: f("js22_slot13"), partition: p("bxaix85"), how: Default::default() };
    sim.fail_next(powerplane_model::ActionKind::StopPartition, FailMode::Transient).await.unwrap();
    assert!(run(&sim, stop()).await.unwrap_err().is_transient());
    sim.fail_next(powerplane_model::ActionKind::StopPartition, FailMode::Permanent).await.unwrap();
    let e = run(&sim, stop()).await.unwrap_err();
    assert!(!e.is_transient() && e.to_string().contains("injected"), "{e}");
    sim.hang_next(powerplane_model::ActionKind::StopPartition).await.unwrap();
    let before = tokio::time::Instant::now();
    assert!(matches!(run(&sim, stop()).await, Err(BackendError::Timeout(_))));
    assert_eq!(before.elapsed(), Duration::from_secs(30), "30 virtual minutes at 60x");
    run(&sim, stop()).await.unwrap();
    assert_eq!(observe(&sim).await.status.partitions[&p("bxaix85")].state, LparState::NotActivated);
}

#[tokio::test(start_paused = true)]
async fn same_seed_same_estate() {
    let a = lab();
    let b = lab();
    for sim in [&a, &b] {
        p72_sea(sim, [SeaHaMode::Sharing, SeaHaMode::Sharing]).await;
        run(sim, migrate("bxaix85", "js22_slot13", "js22_slot14", RedundantPgVios::IfPossible)).await.unwrap();
    }
    // b ran after a on the one virtual clock: its error log is a's, later by as much.
    let (mut sa, mut sb) = (a.snapshot().await, b.snapshot().await);
    let offset = sb.events[0].at_ms - sa.events[0].at_ms;
    for e in &mut sb.events {
        e.at_ms -= offset;
    }
    assert_eq!(std::mem::take(&mut sa.events), std::mem::take(&mut sb.events));
    assert_eq!(sa, sb);
}

#[tokio::test(start_paused = true)]
async fn state_survives_a_restart_through_the_state_dir() {
    let dir = tempfile::tempdir().unwrap();
    let store = super::StateDir::open(dir.path()).unwrap();
    let inv = powerplane_model::load_inventory(&[SourceFile::new("i.yaml", LAB_INVENTORY)]).unwrap();
    let state = realise(inv, 7).unwrap();
    super::persist::save(&store, &state).unwrap();
    let sim = Simulator::new(state, Some(store.clone()), Clock::default());
    sim.vios_down(&f("p72"), &v("p72vio2")).await.unwrap();
    drop(sim);
    let reloaded = super::persist::load(&store).unwrap().unwrap();
    assert_eq!(reloaded.frames[&f("p72")].vios[&v("p72vio2")].state, LparState::NotActivated);
}

#[tokio::test(start_paused = true)]
async fn shared_processor_pool_limits_are_enforced() {
    let sim = lab();
    let p72 = f("p72");
    let pool = powerplane_model::ProcPoolName::new("prodpool").unwrap();
    let one = powerplane_model::ProcUnits::whole(1);
    run(
        &sim,
        Op::CreateSharedProcessorPool {
            frame: p72.clone(),
            pool_id: powerplane_model::ProcPoolId(1),
            pool: pool.clone(),
            max: one,
            reserved: powerplane_model::ProcUnits::default(),
        },
    )
    .await
    .unwrap();
    let spec = "placement: {frame: p72}\nprocessors: {pool: prodpool, units: 0.75, minUnits: 0.75}\nmemory: {desiredMB: 1024, maxMB: 2048}\n";
    create_and_start(&sim, &p72, "a", spec).await.unwrap();
    let err = create_and_start(&sim, &p72, "b", spec).await.unwrap_err();
    assert!(err.to_string().contains("prodpool cannot supply 0.75 processing units: 0.75 are entitled"), "{err}");
    // Shrinking the pool below what is entitled is refused too.
    let half = powerplane_model::ProcUnits::from_hundredths(50);
    let err = run(
        &sim,
        Op::UpdateSharedProcessorPool {
            frame: p72,
            pool_id: powerplane_model::ProcPoolId(1),
            pool,
            max: half,
            reserved: powerplane_model::ProcUnits::default(),
        },
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("entitle 0.75"), "{err}");
}

/// Issue 13 item 1: p72 has 16 units, its VIOS take 2; a pool reserving 10 leaves 4, so the
/// DefaultPool partitions of 6.5, 7.0 and 0.5 units do not all start, and `sim show` says so.
// seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, line 113: "Reserved
// Capacity - Additional (guaranteed) CPU resources that are assigned to the pool of partitions
// above the desired capacity"; line 114: the pool's entitled capacity "includes ... the
// Reserved pool capacity".
#[tokio::test(start_paused = true)]
async fn a_pools_reserved_capacity_is_taken_from_the_frame() {
    let sim = lab();
    let p72 = f("p72");
    let pool = powerplane_model::ProcPoolName::new("prodpool").unwrap();
    let units = |h| powerplane_model::ProcUnits::from_hundredths(h);
    let create = Op::CreateSharedProcessorPool {
        frame: p72.clone(),
        pool_id: powerplane_model::ProcPoolId(1),
        pool: pool.clone(),
        max: units(1200),
        reserved: units(1000),
    };
    run(&sim, create).await.unwrap();
    let free = |r: &super::report::Report| r.frames.iter().find(|f| f.name == p72).unwrap().proc_units_free;
    assert_eq!(free(&sim.report().await), units(400), "16 - 2 (VIOS) - 10 (reserved)");
    let spec = |u: &str| {
        format!(
            "placement: {{frame: p72}}\nprocessors: {{units: {u}, minUnits: {u}}}\nmemory: {{desiredMB: 1024, maxMB: 2048}}\n"
        )
    };
    let e = create_and_start(&sim, &p72, "a", &spec("6.5")).await.unwrap_err().to_string();
    assert!(e.contains("There are not enough processing units available: Obtained: 4.00, Required: 6.50."), "{e}");
    create_and_start(&sim, &p72, "c", &spec("0.5")).await.unwrap();
    assert_eq!(free(&sim.report().await), units(350));
    // Reserving more than is free is refused; giving the reserve back frees the frame.
    let more = Op::UpdateSharedProcessorPool {
        frame: p72.clone(),
        pool_id: powerplane_model::ProcPoolId(1),
        pool: pool.clone(),
        max: units(1600),
        reserved: units(1400),
    };
    let e = run(&sim, more).await.unwrap_err().to_string();
    assert!(e.contains("not enough processing units available to reserve 14.00 for prodpool: Obtained: 13.50"), "{e}");
    let none = Op::UpdateSharedProcessorPool {
        frame: p72.clone(),
        pool_id: powerplane_model::ProcPoolId(1),
        pool,
        max: units(1200),
        reserved: units(0),
    };
    run(&sim, none).await.unwrap();
    assert_eq!(free(&sim.report().await), units(1350));
}

/// Issue 32 item 2: pools 1-63 always exist and are configured by id. A new pool takes an
/// unused id; an id another pool has, a second pool of a name, or a change to an id that is
/// not configured are refused; the frame lists the pool under its id, the rest unused.
#[tokio::test(start_paused = true)]
async fn shared_processor_pools_are_configured_by_id() {
    let sim = lab();
    let p72 = f("p72");
    let name = |n: &str| powerplane_model::ProcPoolName::new(n).unwrap();
    let id = powerplane_model::ProcPoolId;
    let u = powerplane_model::ProcUnits::whole;
    let create = |i, n: &str| Op::CreateSharedProcessorPool {
        frame: p72.clone(),
        pool_id: id(i),
        pool: name(n),
        max: u(2),
        reserved: u(0),
    };
    run(&sim, create(5, "prodpool")).await.unwrap();
    let e = run(&sim, create(5, "testpool")).await.unwrap_err().to_string();
    assert!(e.contains("ID 5 is prodpool, not testpool"), "{e}");
    let e = run(&sim, create(6, "prodpool")).await.unwrap_err().to_string();
    assert!(e.contains("named prodpool already exists"), "{e}");
    let e = run(&sim, create(64, "testpool")).await.unwrap_err().to_string();
    assert!(e.contains("ID 64 is not valid"), "{e}");
    let update = Op::UpdateSharedProcessorPool {
        frame: p72.clone(),
        pool_id: id(7),
        pool: name("prodpool"),
        max: u(3),
        reserved: u(0),
    };
    let e = run(&sim, update).await.unwrap_err().to_string();
    assert!(e.contains("prodpool with ID 7 is not configured"), "{e}");
    let seen = sim.observe().await.unwrap();
    let slots = &seen.status.proc_pool_slots[&p72];
    assert_eq!(slots.ids.get(&name("prodpool")), Some(&id(5)));
    assert_eq!(slots.unused.len(), 62);
    assert_eq!(slots.unused.first(), Some(&id(1)));
    assert!(!slots.unused.contains(&id(5)));
}

/// Found by the convergence soak: a VIOS started outside powerplane (`sim vios-up`) took
/// processing units the frame no longer had. Activation checks them, as for any partition.
#[tokio::test(start_paused = true)]
async fn a_vios_does_not_start_without_processing_units() {
    let sim = sim_from(
        "apiVersion: powerplane/v1\nkind: FrameHardware\nmetadata: {name: f0}\nspec:\n  serial: S0\n  machineType: 8233-E8B\n  memoryMB: 32768\n  procUnits: 4\n  compatModes: [POWER7]\n  vios:\n    - {name: va, memoryMB: 2048, procUnits: 0.5, ethernet: [ent0]}\n    - {name: vb, memoryMB: 2048, procUnits: 0.5, ethernet: [ent0]}\n",
    );
    sim.vios_down(&f("f0"), &v("vb")).await.unwrap();
    create_and_start(
        &sim,
        &f("f0"),
        "big",
        "placement: {frame: f0}\nprocessors: {units: 3.5}\nmemory: {desiredMB: 1024, maxMB: 2048}\n",
    )
    .await
    .unwrap();
    let e = sim.vios_up(&f("f0"), &v("vb")).await.unwrap_err().to_string();
    assert!(e.contains("There are not enough processing units available: Obtained: 0.00, Required: 0.50."), "{e}");
    assert!(!observe(&sim).await.status.vios[&f("f0")][&v("vb")].is_running());
}

/// Observing some frames and taking that into an older full observation gives the same estate
/// as observing everything again: what changed on those frames (a VIOS down, the paging
/// failover and SEA failover it causes, a partition created) is replaced, the rest kept.
#[tokio::test(start_paused = true)]
async fn observing_some_frames_refreshes_exactly_those_frames() {
    let sim = lab();
    ams_lab(&sim).await;
    let mut cached = observe(&sim).await;
    let frame = f("IBM_MMA_P6_102615A_SOLCHMS05");
    sim.vios_down(&frame, &v("lpar_1_solchio05")).await.unwrap();
    let dedicated = "placement: {frame: IBM_MMA_P6_102615A_SOLCHMS05}\nprocessors: {units: 0.5, compat: POWER6}\nmemory: {desiredMB: 1024, maxMB: 2048}\n";
    create_and_start(&sim, &frame, "lpar_7", dedicated).await.unwrap();
    let frames = std::collections::BTreeSet::from([frame]);
    let fresh = sim.observe_frames(&frames).await.unwrap();
    assert!(fresh.partitions.keys().all(|p| p.as_str().starts_with("lpar_")), "only that frame's partitions");
    assert_ne!(cached, observe(&sim).await);
    cached.replace_frames(&frames, None, fresh);
    assert_eq!(cached, observe(&sim).await);
}

// The HMC runs `migrlpar`, not the client: a migration whose caller went away (a killed
// `apply`) still ends at its scheduled time on the shared timeline, and the next process that
// opens the state dir sees it finished.
#[tokio::test(start_paused = true)]
async fn a_migration_outlives_the_client_that_started_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = super::StateDir::open(dir.path()).unwrap();
    let mut inv = powerplane_model::load_inventory(&[SourceFile::new("i.yaml", LAB_INVENTORY)]).unwrap();
    inv.partitions.retain(|n, _| n.as_str() == "bxaix85");
    let state = realise(inv, 7).unwrap();
    super::persist::save(&store, &state).unwrap();
    let sim = Simulator::new(state, Some(store.clone()), Clock::default());
    let bg = sim.clone();
    let client = tokio::spawn(async move {
        run(&bg, migrate("bxaix85", "js22_slot13", "js22_slot14", RedundantPgVios::IfPossible)).await
    });
    // A virtual minute into the two-minute move, the client is killed.
    tokio::time::sleep(Duration::from_secs(1)).await;
    client.abort();
    let _ = client.await;
    drop((sim, store));
    // A new process sees it still running on the HMC...
    let (reopened, _, _) = super::open_or_create(dir.path(), None, Clock::default()).unwrap_or_else(|e| panic!("{e}"));
    let m = observe(&reopened).await.status.partitions[&p("bxaix85")].migration.clone().expect("still migrating");
    assert_eq!(m.state, powerplane_model::status::MigrationState::InProgress);
    assert_eq!(reopened.report().await.migrations.len(), 1);
    // ...and finished at its time, with nobody driving it.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let seen = observe(&reopened).await;
    let st = &seen.status.partitions[&p("bxaix85")];
    assert_eq!(
        (st.frame.as_str(), st.state.clone(), st.migration.is_none()),
        ("js22_slot14", LparState::Running, true)
    );
    assert!(reopened.report().await.migrations.is_empty());
    // Saved with the next change, both frames together.
    reopened.battery(&f("p72"), false).await.unwrap();
    drop(reopened);
    let saved = super::persist::load(&super::StateDir::open(dir.path()).unwrap()).unwrap().unwrap();
    assert!(saved.frames[&f("js22_slot14")].partitions[&p("bxaix85")].migration.is_none());
    assert!(!saved.frames[&f("js22_slot13")].partitions.contains_key(&p("bxaix85")));
}

// Without real waits (benchmarks, `--sim-speedup 0`), whatever was in flight when the last
// process stopped has had all the time it needed by the time the next one looks.
#[tokio::test(start_paused = true)]
async fn without_real_waits_a_reopened_simulator_finishes_what_was_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let store = super::StateDir::open(dir.path()).unwrap();
    let mut inv = powerplane_model::load_inventory(&[SourceFile::new("i.yaml", LAB_INVENTORY)]).unwrap();
    inv.partitions.retain(|n, _| n.as_str() == "bxaix85");
    let mut state = realise(inv, 7).unwrap();
    let v = super::migration::validate(&state, &p("bxaix85"), &f("js22_slot13"), &f("js22_slot14"), Default::default())
        .unwrap();
    super::migration::begin(&mut state, &p("bxaix85"), &f("js22_slot13"), &f("js22_slot14"), &v, 0, false);
    super::persist::save(&store, &state).unwrap();
    drop(store);
    let (reopened, _, _) = super::open_or_create(dir.path(), None, Clock::new(0.0)).unwrap_or_else(|e| panic!("{e}"));
    let st = observe(&reopened).await.status.partitions[&p("bxaix85")].clone();
    assert_eq!((st.frame.as_str(), st.migration), ("js22_slot14", None));
    assert_eq!(reopened.report().await.virtual_seconds, 121, "the clock moved to the migration's end, not further");
}

// A migration that fails part-way leaves the partition migrating on both frames (its shell
// holding the target's resources) until `migrlpar -o r` recovers it.
#[tokio::test(start_paused = true)]
async fn a_migration_that_fails_midway_waits_for_recovery() {
    let sim = lab();
    sim.fail_next(powerplane_model::ActionKind::MigratePartition, FailMode::Midway).await.unwrap();
    let t = tokio::time::Instant::now();
    let e = run(&sim, migrate("bxaix85", "js22_slot13", "js22_slot14", RedundantPgVios::IfPossible)).await.unwrap_err();
    assert!(e.to_string().contains("migrlpar -o r -m js22_slot13 -p bxaix85"), "{e}");
    // Half of the 121.5 s at 60x (tokio's timer counts whole milliseconds).
    let half = Duration::from_millis(60_750).div_f64(60.0);
    assert!(t.elapsed().abs_diff(half) <= Duration::from_millis(1), "{:?}", t.elapsed());
    let seen = observe(&sim).await;
    let st = &seen.status.partitions[&p("bxaix85")];
    assert_eq!(st.state, LparState::MigratingRunning);
    let m = st.migration.as_ref().unwrap();
    assert_eq!(
        (m.to.as_str(), m.state.clone(), m.percent),
        ("js22_slot14", powerplane_model::status::MigrationState::Failed, 50)
    );
    assert!(sim.snapshot().await.frames[&f("js22_slot14")].partitions[&p("bxaix85")].is_shell());
    // Time alone does not fix it.
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert!(observe(&sim).await.status.partitions[&p("bxaix85")].migration.is_some());
    // Recovery: back on the source, running, the shell gone.
    let recover =
        Op::RecoverMigration { frame: f("js22_slot13"), partition: p("bxaix85"), to: f("js22_slot14"), remote: None };
    assert_eq!(recover.command(), "migrlpar -o r -m js22_slot13 -p bxaix85");
    run(&sim, recover.clone()).await.unwrap();
    let st = observe(&sim).await.status.partitions[&p("bxaix85")].clone();
    assert_eq!((st.frame.as_str(), st.state, st.migration), ("js22_slot13", LparState::Running, None));
    assert!(!sim.snapshot().await.frames[&f("js22_slot14")].partitions.contains_key(&p("bxaix85")));
    // Nothing left to recover: the HMC says so.
    assert!(refused(&sim, recover).await.contains("not in a failed migration"));
    // And the partition migrates normally afterwards.
    run(&sim, migrate("bxaix85", "js22_slot13", "js22_slot14", RedundantPgVios::IfPossible)).await.unwrap();
}

// Concurrent migrations overlap on the timeline: two 2-minute moves side by side take two
// minutes of virtual time, not four.
#[tokio::test(start_paused = true)]
async fn concurrent_actions_overlap_on_the_virtual_clock() {
    let sim = lab();
    let t0 = sim.report().await.virtual_seconds;
    let (a, b) = (sim.clone(), sim.clone());
    let (ra, rb) = tokio::join!(
        run(&a, migrate("bxaix85", "js22_slot13", "js22_slot14", RedundantPgVios::IfPossible)),
        run(
            &b,
            Op::StartVios {
                profile: powerplane_model::ProfileName::hmc_default(),
                frame: f("p72"),
                vios: v("p72vio1")
            }
        ),
    );
    ra.unwrap();
    let _ = rb;
    let elapsed = sim.report().await.virtual_seconds - t0;
    assert!((121..=122).contains(&elapsed), "{elapsed}");
}

// seeds: powervm-quickstart..., "the minimal allocation is 1/10th of a CPU for each virtual CPU".
#[tokio::test(start_paused = true)]
async fn an_entitlement_its_virtual_processors_cannot_carry_is_refused() {
    let sim = lab();
    let p72 = f("p72");
    let thin =
        "placement: {frame: p72}\nprocessors: {units: 0.2, virtual: 4}\nmemory: {desiredMB: 1024, maxMB: 2048}\n";
    let err = create_and_start(&sim, &p72, "thin", thin).await.unwrap_err();
    assert!(err.to_string().contains("0.20 processing units cannot be spread over 4 virtual processors"), "{err}");
    assert!(!observe(&sim).await.partitions.contains_key(&p("thin")), "nothing was created");
    let ok = "placement: {frame: p72}\nprocessors: {units: 0.4, virtual: 4}\nmemory: {desiredMB: 1024, maxMB: 2048}\n";
    create_and_start(&sim, &p72, "four", ok).await.unwrap();
    let u = powerplane_model::ProcUnits::from_hundredths;
    let shrink = PartitionChange { memory: None, units: Some((u(40), u(30))), r#virtual: None, ..Default::default() };
    let err = run(
        &sim,
        Op::UpdatePartition {
            profile: powerplane_model::ProfileName::hmc_default(),
            frame: p72.clone(),
            partition: p("four"),
            change: shrink,
        },
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("each needs at least 0.10"), "{err}");
}

/// Issue 13 item 4: DLPAR needs a running partition; a stopped one changes its profile. A
/// running one changed through its profile keeps what it has until its next activation
/// (issue 32 item 3: the profile and what the partition has are apart on a real HMC).
#[tokio::test(start_paused = true)]
async fn dlpar_needs_a_running_partition_and_a_profile_change_a_stopped_one() {
    use powerplane_model::action::ChangeMethod;
    let sim = lab();
    let slot13 = f("js22_slot13");
    let bigger =
        |method| PartitionChange { memory: Some((MemoryMb(4096), MemoryMb(6144))), method, ..Default::default() };
    let update = |method| Op::UpdatePartition {
        profile: powerplane_model::ProfileName::hmc_default(),
        frame: slot13.clone(),
        partition: p("bxaix85"),
        change: bigger(method),
    };
    run(&sim, update(ChangeMethod::Profile)).await.unwrap();
    let seen = observe(&sim).await;
    assert_eq!(seen.partitions[&p("bxaix85")].spec.memory.desired_mb, MemoryMb(4096), "running, it keeps what it has");
    run(&sim, Op::StopPartition { frame: slot13.clone(), partition: p("bxaix85"), how: Default::default() })
        .await
        .unwrap();
    let seen = observe(&sim).await;
    assert_eq!(seen.partitions[&p("bxaix85")].spec.memory.desired_mb, MemoryMb(6144), "stopped, its profile's");
    let back = PartitionChange {
        memory: Some((MemoryMb(6144), MemoryMb(4096))),
        method: ChangeMethod::Profile,
        ..Default::default()
    };
    run(
        &sim,
        Op::UpdatePartition {
            profile: powerplane_model::ProfileName::hmc_default(),
            frame: slot13.clone(),
            partition: p("bxaix85"),
            change: back,
        },
    )
    .await
    .unwrap();
    let e = run(&sim, update(ChangeMethod::Dlpar)).await.unwrap_err().to_string();
    assert!(e.contains("dynamic logical partitioning needs a running partition"), "{e}");
    run(&sim, update(ChangeMethod::Profile)).await.unwrap();
    run(
        &sim,
        Op::StartPartition {
            profile: powerplane_model::ProfileName::hmc_default(),
            frame: slot13.clone(),
            partition: p("bxaix85"),
            force: false,
        },
    )
    .await
    .unwrap();
    let seen = observe(&sim).await;
    assert_eq!(seen.partitions[&p("bxaix85")].spec.memory.desired_mb, MemoryMb(6144), "activated with the new profile");
}

/// Issue 13 item 3: a `preferred` partition has a redundant profile; with hdisk17 (the one
/// common device) taken it does not activate unless forced, and forced it runs on an
/// independent device with no secondary paging VIOS.
// seeds: ams-dual-vios-and-lpm.txt, lines 11-15: "If no common paging space device is
// available, the partition will fail to activate. It is still possible to activate a partition
// in this situation by using the chsysstate command with the --force option ... No failover
// will be possible in this case."
#[tokio::test(start_paused = true)]
async fn a_redundant_profile_without_a_common_device_activates_only_when_forced() {
    let frame = f("IBM_MMA_P6_102615A_SOLCHMS05");
    let mut snap = lab().snapshot().await;
    let vio = snap.frames.get_mut(&frame).unwrap().hw.vios.iter_mut().find(|x| x.name.as_str() == "lpar_1_solchio05");
    vio.unwrap().disks.push(powerplane_model::manifest::DiskSpec {
        name: d("hdisk20"),
        lun: powerplane_model::Lun::new("6005076801203E85-L20").unwrap(),
        size_mb: MemoryMb(8192),
        reserve_policy: Default::default(),
    });
    let sim = Simulator::new(snap, None, Clock::default());
    ams_lab(&sim).await;
    let out =
        run(&sim, Op::AddPagingDevice { frame: frame.clone(), vios: v("lpar_1_solchio05"), device: d("hdisk20") })
            .await
            .unwrap();
    assert_eq!(out.message, "hdisk20 added", "independent: only lpar_1_solchio05 sees it");
    let preferred = AMS_PARTITION.replace("redundancy: required", "redundancy: preferred");
    let e = create_and_start(&sim, &frame, "lpar_7", &preferred).await.unwrap_err().to_string();
    assert!(e.contains("no free common paging space device") && e.contains("--force"), "{e}");
    run(
        &sim,
        Op::StartPartition {
            profile: powerplane_model::ProfileName::hmc_default(),
            frame: frame.clone(),
            partition: p("lpar_7"),
            force: true,
        },
    )
    .await
    .unwrap();
    let pg = paging(&sim, "lpar_7").await;
    assert_eq!((pg.secondary, pg.device.as_ref().map(|d| d.as_str())), (None, Some("hdisk20")), "no failover");
}

/// The errpt entries of the seed's "Some outputs in disaster cases", in order.
// seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, lines 945-1024: shutdown
// primary: p72vio2 "E136EAFA ... I H ent4 BECOME PRIMARY"; power on primary: p72vio1 "E136EAFA
// ... BECOME PRIMARY", p72vio2 "40D97644 ... BECOME BACKUP"; shutdown backup: nothing; power on
// backup: p72vio2 "40D97644 ... BECOME BACKUP".
async fn sea_entries(sim: &Simulator, after: u64) -> Vec<String> {
    sim.snapshot()
        .await
        .events
        .iter()
        .filter(|e| e.seq > after)
        .map(|e| {
            assert_eq!((e.class, e.resource.as_str()), ('H', "ent4"), "{e:?}");
            format!("{} {} {}", e.logged_by.clone().unwrap(), e.identifier.clone().unwrap(), e.description)
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn sea_failovers_log_the_seeds_errpt_entries() {
    let sim = lab();
    p72_sea(&sim, [SeaHaMode::Sharing, SeaHaMode::Sharing]).await;
    let mark = sim.snapshot().await.next_event;
    sim.vios_down(&f("p72"), &v("p72vio1")).await.unwrap();
    assert_eq!(sea_entries(&sim, mark).await, ["p72vio2 E136EAFA BECOME PRIMARY"], "shutdown primary");
    let mark = sim.snapshot().await.next_event;
    sim.vios_up(&f("p72"), &v("p72vio1")).await.unwrap();
    assert_eq!(
        sea_entries(&sim, mark).await,
        ["p72vio1 E136EAFA BECOME PRIMARY", "p72vio2 40D97644 BECOME BACKUP"],
        "power on primary"
    );
    let mark = sim.snapshot().await.next_event;
    sim.vios_down(&f("p72"), &v("p72vio2")).await.unwrap();
    assert!(sea_entries(&sim, mark).await.is_empty(), "shutdown backup: the primary keeps its role");
    let mark = sim.snapshot().await.next_event;
    sim.vios_up(&f("p72"), &v("p72vio2")).await.unwrap();
    assert_eq!(sea_entries(&sim, mark).await, ["p72vio2 40D97644 BECOME BACKUP"], "power on backup");
    let line = sim.snapshot().await.events.back().unwrap().errpt_line();
    assert!(line.starts_with("40D97644 +") && line.ends_with(" I H ent4     BECOME BACKUP"), "{line}");
}

/// A paging VIOS failover is logged by the HMC (it is transparent to the partition), and so is
/// a switch back; a migration logs its phases in the client's and the MSP's logs.
// seeds: ams-dual-vios-and-lpm.txt, line 57; lpm-js22-walkthrough.txt, lines 105-110.
#[tokio::test(start_paused = true)]
async fn paging_failovers_and_migration_phases_are_logged() {
    let sim = lab();
    ams_lab(&sim).await;
    let frame = f("IBM_MMA_P6_102615A_SOLCHMS05");
    let mark = sim.snapshot().await.next_event;
    sim.vios_down(&frame, &v("lpar_1_solchio05")).await.unwrap();
    let seen = sim.snapshot().await;
    let paging: Vec<&str> =
        seen.events.iter().filter(|e| e.seq > mark && e.logged_by.is_none()).map(|e| e.description.as_str()).collect();
    assert_eq!(
        paging,
        ["paging VIOS failover: lpar_1_solchio05 stopped, lpar_6_sotchax11 pages through lpar_2_solchio06"]
    );
    let mark = seen.next_event;
    run(&sim, migrate("bxaix85", "js22_slot13", "js22_slot14", RedundantPgVios::IfPossible)).await.unwrap();
    let seen = sim.snapshot().await;
    let lpm: Vec<(String, Option<&str>)> = seen
        .events
        .iter()
        .filter(|e| e.seq > mark)
        .map(|e| (format!("{} {}", e.logged_by.as_deref().unwrap_or("HMC"), e.description), e.identifier.as_deref()))
        .collect();
    assert_eq!(
        lpm,
        [
            (
                "bxaix85 CLIENT_PMIG_STARTED Client Partition Migration Started (to js22_slot14)".to_owned(),
                Some("08917DC6")
            ),
            ("bvio82 Client partition suspend issued (bxaix85)".to_owned(), None),
            (
                "bvio82 MVR_MIG_COMPLETED Migration completed successfully (bxaix85 to js22_slot14)".to_owned(),
                Some("3EB09F5A")
            ),
            ("bxaix85 CLIENT_PMIG_DONE Client Partition Migration Completed".to_owned(), Some("A5E6DB96")),
        ]
    );
}

/// Issue 13 items 11 and 12: an active migration needs a mover service partition on each side
/// (the attribute is FALSE by default; without it the HMC answers HSCLA297); `lslparmigr`
/// shows the pair, the state and the bytes copied and left while it runs.
// seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, line 2299 (the attribute),
// lines 1575-1577 (HSCLA297), line 1524 (`-i "source_msp_name=...,dest_msp_name=..."`);
// lpm-js22-walkthrough.txt, Figure 15 ("Total Bytes to Transfer", "Bytes Left to Transfer").
#[tokio::test(start_paused = true)]
async fn active_migrations_need_mover_service_partitions_and_lslparmigr_shows_them() {
    let mut snap = lab().snapshot().await;
    let slot14 = f("js22_slot14");
    snap.frames.get_mut(&slot14).unwrap().hw.vios[0].msp = false;
    let sim = Simulator::new(snap.clone(), None, Clock::default());
    let e = refused(&sim, migrate("bxaix85", "js22_slot13", "js22_slot14", RedundantPgVios::IfPossible)).await;
    assert!(e.contains("HSCLA297") && e.contains("(MSP) bvio83") && e.contains("msp=1"), "{e}");
    // An inactive migration needs none.
    run(&sim, Op::StopPartition { frame: f("js22_slot13"), partition: p("bxaix85"), how: Default::default() })
        .await
        .unwrap();
    run(&sim, migrate("bxaix85", "js22_slot13", "js22_slot14", RedundantPgVios::IfPossible)).await.unwrap();

    snap.frames.get_mut(&slot14).unwrap().hw.vios[0].msp = true;
    let sim = Simulator::new(snap, None, Clock::default());
    let wrong = Op::MigratePartition {
        partition: p("bxaix85"),
        from: f("js22_slot13"),
        to: slot14.clone(),
        redundant: None,
        msp: Some(powerplane_model::action::MspPair { source: v("bvio82"), dest: v("bvio99") }),
        remote: None,
        mpio: None,
        spelling: Default::default(),
    };
    let e = refused(&sim, wrong).await;
    assert!(e.contains("HSCLA297") && e.contains("(MSP) bvio99") && e.contains("are bvio83"), "{e}");
    let moving = {
        let sim = sim.clone();
        tokio::spawn(async move {
            run(&sim, migrate("bxaix85", "js22_slot13", "js22_slot14", RedundantPgVios::IfPossible)).await
        })
    };
    // One second at the default 60x: a minute of the two the 4 GB take.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let report = sim.report().await;
    let line = report.migrations[0].lslparmigr();
    assert!(
        line.starts_with("name=bxaix85,migration_state=Migration In Progress,migration_type=active,dest_sys_name=js22_slot14,source_msp_name=bvio82,dest_msp_name=bvio83,bytes_transmitted="),
        "{line}"
    );
    let m = &report.migrations[0];
    assert_eq!(m.bytes_transmitted + m.bytes_remaining, 4096 * 1024 * 1024);
    assert!(m.bytes_transmitted > 0 && m.bytes_remaining > 0, "{line}");
    moving.await.unwrap().unwrap();
    assert!(sim.report().await.migrations.is_empty());
}

/// A mover service partition carries at most `cfg_msp_lpm_ops` migrations at once; one more
/// is busy (transient: it may pass once one ends).
// seeds: lpm-js22-walkthrough.txt, line 9 ("all network connectivity from the LPAR must be
// virtualized"), line 10 ("all storage connected to the mobile LPAR must be on the SAN, even the
// operating system"), line 48 ("Checking there are no dedicated physical adapters assigned to
// the LPAR"): a partition without virtual storage or without a virtual network fails
// validation, active or inactive.
#[tokio::test(start_paused = true)]
async fn a_partition_without_san_storage_or_virtual_network_does_not_migrate() {
    let sim = lab();
    let slot13 = f("js22_slot13");
    let base = "placement: {frame: js22_slot13}\nprocessors: {units: 0.5}\nmemory: {desiredMB: 1024, maxMB: 2048}\n";
    create_and_start(&sim, &slot13, "nodisk", &format!("{base}network: [{{vlan: 1}}]\n")).await.unwrap();
    create_and_start(&sim, &slot13, "nonet", &format!("{base}storage: [{{lun: 75DS81001002, via: vscsi}}]\n"))
        .await
        .unwrap();
    let e = refused(&sim, validate("nodisk", "js22_slot13", "js22_slot14", RedundantPgVios::IfPossible)).await;
    assert!(e.contains("nodisk has no virtual SCSI or virtual fibre channel adapter"), "{e}");
    let e = refused(&sim, validate("nonet", "js22_slot13", "js22_slot14", RedundantPgVios::IfPossible)).await;
    assert!(e.contains("nonet has no virtual Ethernet adapter: its network is not virtualized"), "{e}");
    run(&sim, Op::StopPartition { frame: slot13.clone(), partition: p("nonet"), how: Default::default() })
        .await
        .unwrap();
    let e = refused(&sim, migrate("nonet", "js22_slot13", "js22_slot14", RedundantPgVios::IfPossible)).await;
    assert!(e.contains("no virtual Ethernet adapter"), "inactive too: {e}");
    // bxaix85 has both, and moves.
    run(&sim, validate("bxaix85", "js22_slot13", "js22_slot14", RedundantPgVios::IfPossible)).await.unwrap();
}

// seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, lines 94-97: the minimum
// is what a partition needs to start, it may start "closer to the minimum value" than desired,
// the maximum bounds DLPAR, and the desired virtual processors are always received.
#[tokio::test(start_paused = true)]
async fn a_short_frame_activates_a_partition_below_desired_down_to_its_minimum() {
    let sim = lab();
    let slot14 = f("js22_slot14");
    // 16 GB and 4 units; the VIOS holds 2 GB and 0.5: 14 GB and 3.5 units are free.
    let big = "placement: {frame: js22_slot14}\nprocessors: {units: 3.0, virtual: 4, minUnits: 1.0, maxUnits: 4.0}\nmemory: {desiredMB: 12288, minMB: 8192, maxMB: 16384}\nnetwork: [{vlan: 1}]\n";
    create_and_start(
        &sim,
        &slot14,
        "first",
        "placement: {frame: js22_slot14}\nprocessors: {units: 1.0}\nmemory: {desiredMB: 4096, maxMB: 4096}\n",
    )
    .await
    .unwrap();
    let out = create_and_start(&sim, &slot14, "big", big).await.unwrap().message;
    assert_eq!(
        out,
        "big activated below its desired values, the managed system being short: 10240 MB of 12288 (minimum 8192), 2.50 processing units of 3.00 (minimum 1.00)"
    );
    let seen = observe(&sim).await;
    assert!(seen.status.partitions[&p("big")].below_desired);
    assert_eq!(seen.partitions[&p("big")].spec.memory.desired_mb, MemoryMb(10240), "observed: what it got");
    let shown = sim.report().await;
    let big = shown.frames.iter().flat_map(|f| &f.partitions).find(|x| x.name.as_str() == "big").unwrap();
    assert_eq!(big.below_desired, Some((MemoryMb(12288), powerplane_model::ProcUnits::from_hundredths(300))));
    // DLPAR stays within the profile's limits.
    let up = |units: u32| Op::UpdatePartition {
        profile: powerplane_model::ProfileName::hmc_default(),
        frame: slot14.clone(),
        partition: p("big"),
        change: PartitionChange {
            units: Some((
                powerplane_model::ProcUnits::from_hundredths(250),
                powerplane_model::ProcUnits::from_hundredths(units),
            )),
            ..Default::default()
        },
    };
    let e = refused(&sim, up(450)).await;
    assert!(e.contains("outside the minimum 1.00 and maximum 4.00 of big"), "{e}");
    // Shut down, it asks for its desired values again; with the room back it gets them.
    run(&sim, Op::StopPartition { frame: slot14.clone(), partition: p("big"), how: Default::default() }).await.unwrap();
    run(&sim, Op::StopPartition { frame: slot14.clone(), partition: p("first"), how: Default::default() })
        .await
        .unwrap();
    let out = run(
        &sim,
        Op::StartPartition {
            profile: powerplane_model::ProfileName::hmc_default(),
            frame: slot14.clone(),
            partition: p("big"),
            force: false,
        },
    )
    .await
    .unwrap();
    assert_eq!(out.message, "big activated");
    assert!(!observe(&sim).await.status.partitions[&p("big")].below_desired);
    // Below even the minimum, the activation is refused as the HMC refuses it.
    let e = create_and_start(&sim, &slot14, "huge", "placement: {frame: js22_slot14}\nprocessors: {units: 0.5}\nmemory: {desiredMB: 4096, minMB: 3072, maxMB: 4096}\n")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("There is not enough memory: Obtained: 2048, Required: 4096"), "{e}");
}

#[tokio::test(start_paused = true)]
async fn a_mover_service_partition_carries_a_bounded_number_of_migrations() {
    let mut snap = lab().snapshot().await;
    snap.settings.max_migrations_per_msp = 1;
    let sim = Simulator::new(snap, None, Clock::default());
    let slot13 = f("js22_slot13");
    let small = "placement: {frame: js22_slot13}\nprocessors: {units: 0.5}\nmemory: {desiredMB: 1024, maxMB: 2048}\nnetwork: [{vlan: 1}]\nstorage: [{lun: 75DS81001002, via: vscsi}]\n";
    create_and_start(&sim, &slot13, "lp2", small).await.unwrap();
    let first = {
        let sim = sim.clone();
        tokio::spawn(async move {
            run(&sim, migrate("bxaix85", "js22_slot13", "js22_slot14", RedundantPgVios::IfPossible)).await
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let e = run(&sim, migrate("lp2", "js22_slot13", "js22_slot14", RedundantPgVios::IfPossible)).await.unwrap_err();
    assert!(e.is_transient() && e.to_string().contains("bvio82 of js22_slot13 already carries 1 migrations"), "{e}");
    first.await.unwrap().unwrap();
    run(&sim, migrate("lp2", "js22_slot13", "js22_slot14", RedundantPgVios::IfPossible)).await.unwrap();
}

// seeds: infoscale-lpm-vcs.txt, line 116: a profile of the partition's name on the destination
// (a cluster manager's copy, for one) fails the validation.
#[tokio::test(start_paused = true)]
async fn a_partition_of_the_same_name_on_the_destination_fails_the_validation() {
    let sim = lab();
    let spec = "placement: {frame: js22_slot14}\nprocessors: {units: 0.5}\nmemory: {desiredMB: 1024, maxMB: 2048}\n";
    let spec: PartitionSpec = powerplane_model::from_yaml(spec).unwrap();
    run(
        &sim,
        Op::CreatePartition {
            profile: powerplane_model::ProfileName::hmc_default(),
            adapters: vec![],
            frame: f("js22_slot14"),
            partition: p("bxaix85"),
            spec: Box::new(spec),
            paging_vios: vec![],
        },
    )
    .await
    .unwrap();
    let e = refused(&sim, validate("bxaix85", "js22_slot13", "js22_slot14", RedundantPgVios::IfPossible)).await;
    assert!(
        e.contains("A partition named bxaix85 already exists on the destination managed system js22_slot14"),
        "{e}"
    );
}

// A member whose migration failed part-way is "Migrating - Running" until it is recovered: its
// operating system runs on the source all along, so its node takes commands (the restore of a
// timeout raised for the move, for one); a partition that is not activated takes none.
#[tokio::test(start_paused = true)]
async fn a_node_awaiting_recovery_still_takes_commands() {
    let cluster = "---\napiVersion: powerplane/v1\nkind: Cluster\nmetadata: {name: sap}\nspec: {manager: vcs, members: [bxaix85, lpar_6_sotchax11], vcs: {peerinactSeconds: 16, unresponsiveSeconds: 40}}\n";
    let inv = powerplane_model::load_inventory(&[
        SourceFile::new("inventory.yaml", LAB_INVENTORY),
        SourceFile::new("cluster.yaml", cluster),
    ])
    .unwrap();
    let sim = Simulator::new(realise(inv, 42).unwrap(), None, Clock::default());
    let node = |n: &str, centis: u32, frame: &str| Op::RestorePeerInactive {
        cluster: "sap".parse().unwrap(),
        node: p(n),
        frame: f(frame),
        centiseconds: centis,
    };
    run(&sim, node("bxaix85", 8000, "js22_slot13")).await.unwrap();
    sim.fail_next(powerplane_model::ActionKind::MigratePartition, FailMode::Midway).await.unwrap();
    run(&sim, migrate("bxaix85", "js22_slot13", "js22_slot14", RedundantPgVios::IfPossible)).await.unwrap_err();
    let seen = observe(&sim).await;
    assert_eq!(seen.status.partitions[&p("bxaix85")].state, LparState::MigratingRunning);
    run(&sim, node("bxaix85", 1600, "js22_slot14")).await.unwrap();
    assert_eq!(observe(&sim).await.status.nodes[&p("bxaix85")].peerinact_centis, Some(1600));
    let other = seen.status.partitions[&p("lpar_6_sotchax11")].frame.clone();
    run(&sim, Op::StopPartition { frame: other.clone(), partition: p("lpar_6_sotchax11"), how: Default::default() })
        .await
        .unwrap();
    let e = refused(&sim, node("lpar_6_sotchax11", 1600, other.as_str())).await;
    assert!(e.contains("the partition is Not Activated (a node command needs it running)"), "{e}");
}

/// Issue 32 item 3: a state persisted before profiles were kept (no `profiles` anywhere) still
/// reads, every partition and VIOS with `default_profile`, which the HMC gives the partitions
/// it creates; the inventory's own have `default_profile` and `backup`.
#[tokio::test]
async fn a_state_persisted_before_profile_names_reads_with_default_profile() {
    use powerplane_model::ProfileName;
    let state = lab().snapshot().await;
    for f in state.frames.values() {
        for p in f.partitions.values() {
            assert_eq!(p.profiles.current, ProfileName::hmc_default());
            assert_eq!(p.profiles.others, vec![ProfileName::new("backup").unwrap()]);
        }
    }
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                m.remove("profiles");
                m.values_mut().for_each(strip);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut old = serde_json::to_value(&state).unwrap();
    strip(&mut old);
    assert!(!old.to_string().contains("\"profiles\""));
    let read: super::state::SimState = serde_json::from_value(old).expect("an older state reads");
    let mut seen = 0;
    for f in read.frames.values() {
        for v in f.vios.values() {
            assert_eq!((&v.profiles.current, v.profiles.others.len()), (&ProfileName::hmc_default(), 0));
        }
        for p in f.partitions.values() {
            assert_eq!((&p.profiles.current, p.profiles.others.len()), (&ProfileName::hmc_default(), 0));
            seen += 1;
        }
    }
    assert!(seen > 0);
}

/// Issue 32 item 4 on the simulator backend: a partition with vSCSI and NPIV storage is
/// created (client adapters), its VIOS side provisioned (server adapters, cfgdev, mkvdev,
/// vfcmap, the profile saved) and started; `plan` is then empty. Deleted by prune, its mappings
/// and server adapters go first; `plan` is empty again. Activated with its boot disk unmapped,
/// it stays in Open Firmware and the start fails saying why.
#[tokio::test(start_paused = true)]
async fn storage_is_provisioned_started_and_removed() {
    use powerplane_model::manifest::Metadata;
    use powerplane_model::{Object, PlanOptions, plan};
    let sim = lab();
    let desired_with = |observed: &Estate, state: &str| {
        let mut d = observed.clone();
        d.status = Default::default();
        let spec: PartitionSpec = powerplane_model::from_yaml(&format!(
            "placement: {{frame: js22_slot13}}\nstate: {state}\nprocessors: {{units: 0.5, virtual: 1}}\nmemory: {{desiredMB: 1024, maxMB: 2048}}\nnetwork: [{{vlan: 1}}]\nstorage: [{{lun: 75DS81001002, via: vscsi}}, {{lun: 75DS81001001, via: npiv}}]\n"
        ))
        .unwrap();
        d.partitions
            .insert(p("storlpar"), Object::new(Metadata { name: p("storlpar"), labels: Default::default() }, spec));
        d
    };
    let apply = |desired: Estate, opts: PlanOptions| {
        let sim = sim.clone();
        async move {
            let observed = observe(&sim).await;
            let pl = plan(&desired, &observed, opts);
            assert!(pl.errors.is_empty(), "{:?}", pl.errors);
            for a in &pl.actions {
                run(&sim, a.op.clone()).await.unwrap_or_else(|e| panic!("{}: {e}", a.op.command()));
            }
            let again = plan(&desired, &observe(&sim).await, opts);
            assert!(again.actions.is_empty() && again.deferred.is_empty(), "{:#?}", again.actions);
            pl
        }
    };
    let base = observe(&sim).await;
    let pl = apply(desired_with(&base, "running"), PlanOptions::default()).await;
    let kinds: Vec<_> = pl.actions.iter().map(|a| a.kind().as_str()).collect();
    for k in ["CreatePartition", "AddServerAdapter", "ConfigureDevices", "MapDisk", "MapNpiv", "SaveProfile"] {
        assert!(kinds.contains(&k), "{k} in {kinds:?}");
    }
    let now = observe(&sim).await;
    assert_eq!(now.status.partitions[&p("storlpar")].state, LparState::Running);
    let adapters = &now.status.vios_storage[&f("js22_slot13")][&v("bvio82")].adapters;
    let mine: Vec<_> = adapters.iter().filter(|a| a.client == p("storlpar")).collect();
    assert_eq!(mine.len(), 2, "{adapters:?}");
    assert!(
        mine.iter().any(|a| a.luns == ["75DS81001002".parse().unwrap()]) && mine.iter().any(|a| a.fc_port.is_some())
    );

    // Deleted by prune.
    let prune = PlanOptions { prune: true, ..Default::default() };
    let mut gone = observe(&sim).await;
    gone.status = Default::default();
    gone.partitions.remove(&p("storlpar"));
    apply(gone, prune).await;
    let now = observe(&sim).await;
    assert!(!now.partitions.contains_key(&p("storlpar")));
    assert!(
        now.status.vios_storage[&f("js22_slot13")][&v("bvio82")].adapters.iter().all(|a| a.client != p("storlpar"))
    );

    // Created stopped, its boot disk unmapped by hand, then activated: Open Firmware.
    apply(desired_with(&now, "stopped"), PlanOptions::default()).await;
    run(
        &sim,
        Op::UnmapDisk {
            frame: f("js22_slot13"),
            vios: v("bvio82"),
            disk: d("hdisk3"),
            lun: "75DS81001002".parse().unwrap(),
            client: p("storlpar"),
        },
    )
    .await
    .unwrap();
    let start = Op::StartPartition {
        frame: f("js22_slot13"),
        partition: p("storlpar"),
        profile: powerplane_model::ProfileName::hmc_default(),
        force: false,
    };
    let e = run(&sim, start).await.unwrap_err().to_string();
    assert!(e.contains("Open Firmware") && e.contains("75DS81001002"), "{e}");
    let now = observe(&sim).await;
    assert_eq!(now.status.partitions[&p("storlpar")].state, LparState::OpenFirmware);
    let pl = plan(&desired_with(&now, "running"), &now, PlanOptions::default());
    assert!(pl.deferred.iter().any(|d| d.contains("Open Firmware")), "{:?}", pl.deferred);
}

/// A server adapter added by DLPAR and not saved to the VIOS's profile is gone after the VIOS's
/// next activation, with its mappings; saved, it stays.
#[tokio::test(start_paused = true)]
async fn an_unsaved_server_adapter_is_lost_when_the_vios_is_activated() {
    use powerplane_model::manifest::StorageVia;
    let sim = lab();
    let (js, vio) = (f("js22_slot13"), v("bvio82"));
    let add = |slot: u16| Op::AddServerAdapter {
        frame: js.clone(),
        vios: vio.clone(),
        via: StorageVia::Vscsi,
        slot,
        client: p("bxaix85"),
        client_slot: 20 + slot - 120,
        device: d("vhost1"),
    };
    run(&sim, add(120)).await.unwrap();
    run(&sim, Op::ConfigureDevices { frame: js.clone(), vios: vio.clone() }).await.unwrap();
    let slots = |e: &Estate| -> Vec<u16> {
        e.status
            .vios_storage
            .get(&js)
            .and_then(|m| m.get(&vio))
            .map(|v| v.adapters.iter().map(|a| a.slot).collect())
            .unwrap_or_default()
    };
    assert_eq!(slots(&observe(&sim).await), [100, 120]);
    sim.vios_down(&js, &vio).await.unwrap();
    sim.vios_up(&js, &vio).await.unwrap();
    assert_eq!(slots(&observe(&sim).await), [100], "the profile did not have it");
    run(&sim, add(120)).await.unwrap();
    run(
        &sim,
        Op::SaveProfile { frame: js.clone(), vios: vio.clone(), profile: powerplane_model::ProfileName::hmc_default() },
    )
    .await
    .unwrap();
    sim.vios_down(&js, &vio).await.unwrap();
    sim.vios_up(&js, &vio).await.unwrap();
    assert_eq!(slots(&observe(&sim).await), [100, 120], "saved, it stays");
}
