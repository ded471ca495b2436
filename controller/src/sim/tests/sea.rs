//! Shared Ethernet Adapters: load sharing and its VLAN split, failover and failback, trunk
//! adapters added live, the seeds' errpt entries.

use super::*;

fn states(m: &[SeaMemberStatus]) -> Vec<(&str, SeaState, BridgeMode, Vec<VlanId>)> {
    m.iter().map(|s| (s.vios.as_str(), s.state, s.bridge_mode, s.vlans.clone())).collect()
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
