//! Virtual storage: server adapters, mappings and their removal, boot from a mapped disk.

use super::*;

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
