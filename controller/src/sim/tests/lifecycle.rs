//! Partition and VIOS lifecycle: activation against capacity and minimums, DLPAR and profile
//! changes, injected faults, scoped observation.

use super::*;

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
