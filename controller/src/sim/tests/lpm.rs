//! Live Partition Mobility: the HMC's validation and its refusals, timing on the virtual
//! clock, mover service partitions, failure part-way and recovery.

use super::*;

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

// The HMC runs `migrlpar`, not the client: a migration whose caller went away (a killed
// `apply`) still ends at its scheduled time on the shared timeline, and the next process that
// opens the state dir sees it finished.
#[tokio::test(start_paused = true)]
async fn a_migration_outlives_the_client_that_started_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = crate::sim::StateDir::open(dir.path()).unwrap();
    let mut inv = powerplane_model::load_inventory(&[SourceFile::new("i.yaml", LAB_INVENTORY)]).unwrap();
    inv.partitions.retain(|n, _| n.as_str() == "bxaix85");
    let state = realise(inv, 7).unwrap();
    crate::sim::persist::save(&store, &state).unwrap();
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
    let (reopened, _, _) =
        crate::sim::open_or_create(dir.path(), None, Clock::default()).unwrap_or_else(|e| panic!("{e}"));
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
    let saved = crate::sim::persist::load(&crate::sim::StateDir::open(dir.path()).unwrap()).unwrap().unwrap();
    assert!(saved.frames[&f("js22_slot14")].partitions[&p("bxaix85")].migration.is_none());
    assert!(!saved.frames[&f("js22_slot13")].partitions.contains_key(&p("bxaix85")));
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
