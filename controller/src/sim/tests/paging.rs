//! Active Memory Sharing: common and independent paging devices, paging VIOS failover and
//! the switch on request, activation with and without a redundant device.

use super::*;

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
