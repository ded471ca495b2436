//! The model's own account of what each action does to an estate: the pure counterpart of a
//! backend, used to check that a plan converges (property tests) and to preview its result.

use crate::action::{Action, Op};
use crate::estate::{Estate, Object};
use crate::manifest::{
    HaMode, MemoryMode, Metadata, PagingDeviceSpec, Placement, RunState, SeaSpec, SharedMemoryPoolSpec,
    SharedProcessorPoolSpec,
};
use crate::names::{MemPoolName, ProcPoolObjectName, SeaName};
use crate::status::{
    BridgeMode, LparState, PagingDeviceStatus, PagingStatus, PartitionStatus, SeaHaMode, SeaMemberStatus, SeaState,
};

/// Applies `actions` in order to a copy of `estate`.
pub fn apply(estate: &Estate, actions: &[Action]) -> Estate {
    let mut e = estate.clone();
    for a in actions {
        step(&mut e, &a.op);
    }
    e
}

fn step(e: &mut Estate, op: &Op) {
    match op {
        Op::CreateSharedProcessorPool { frame, pool_id: id, pool, max, reserved }
        | Op::UpdateSharedProcessorPool { frame, pool_id: id, pool, max, reserved } => {
            if !e.status.proc_pool_slots.contains_key(frame) {
                let derived = crate::status::ProcPoolSlots::derived(
                    e.proc_pools.values().filter(|p| &p.spec.frame == frame).map(|p| &p.spec.pool_name),
                );
                e.status.proc_pool_slots.insert(frame.clone(), derived);
            }
            let slots = e.status.proc_pool_slots.get_mut(frame).expect("inserted above");
            slots.unused.retain(|u| u != id);
            slots.ids.insert(pool.clone(), *id);
            let spec = SharedProcessorPoolSpec {
                frame: frame.clone(),
                pool_name: pool.clone(),
                max_proc_units: *max,
                reserved_proc_units: *reserved,
            };
            match e.proc_pools.values_mut().find(|p| &p.spec.frame == frame && &p.spec.pool_name == pool) {
                Some(p) => p.spec = spec,
                None => {
                    let name = ProcPoolObjectName::new(format!("{frame}-{pool}")).expect("valid");
                    e.proc_pools.insert(name.clone(), Object::new(Metadata { name, labels: Default::default() }, spec));
                }
            }
        }
        Op::RemoveSharedProcessorPool { frame, pool_id, pool } => {
            e.proc_pools.retain(|_, p| !(&p.spec.frame == frame && &p.spec.pool_name == pool));
            if let Some(slots) = e.status.proc_pool_slots.get_mut(frame) {
                slots.ids.remove(pool);
                if !slots.unused.contains(pool_id) {
                    slots.unused.push(*pool_id);
                    slots.unused.sort();
                }
            }
        }
        Op::CreateSharedMemoryPool { frame, pool_mem, max_pool_mem, paging_vios } => {
            let name = MemPoolName::new(format!("{frame}-ams")).expect("valid");
            let spec = SharedMemoryPoolSpec {
                frame: frame.clone(),
                pool_mem_mb: *pool_mem,
                max_pool_mem_mb: *max_pool_mem,
                paging_vios: paging_vios.clone(),
                paging_devices: Vec::new(),
            };
            e.mem_pools.insert(name.clone(), Object::new(Metadata { name, labels: Default::default() }, spec));
        }
        Op::UpdateSharedMemoryPool { frame, pool_mem, max_pool_mem } => {
            if let Some(p) = e.mem_pools.values_mut().find(|p| &p.spec.frame == frame) {
                p.spec.pool_mem_mb = *pool_mem;
                p.spec.max_pool_mem_mb = *max_pool_mem;
            }
        }
        Op::AddPagingDevice { frame, vios, device } => {
            let size = e
                .hardware
                .get(frame)
                .and_then(|h| h.spec.vios.iter().find(|v| &v.name == vios))
                .and_then(|v| v.disks.iter().find(|d| &d.name == device))
                .map(|d| d.size_mb)
                .unwrap_or_default();
            if let Some(p) = e.mem_pools.values_mut().find(|p| &p.spec.frame == frame) {
                p.spec.paging_devices.push(PagingDeviceSpec { device: device.clone(), size_mb: size });
            }
            let redundant = redundancy_capable(e, frame, device);
            e.status.paging_devices.entry(frame.clone()).or_default().push(PagingDeviceStatus {
                device: device.clone(),
                size,
                redundant,
                assigned: None,
            });
        }
        Op::RemovePagingDevice { frame, device, .. } => {
            if let Some(p) = e.mem_pools.values_mut().find(|p| &p.spec.frame == frame) {
                p.spec.paging_devices.retain(|d| &d.device != device);
            }
            if let Some(ds) = e.status.paging_devices.get_mut(frame) {
                ds.retain(|d| &d.device != device);
            }
        }
        Op::StartVios { frame, vios, .. } | Op::StopVios { frame, vios } => {
            let up = matches!(op, Op::StartVios { .. });
            e.status
                .vios
                .entry(frame.clone())
                .or_default()
                .insert(vios.clone(), if up { LparState::Running } else { LparState::NotActivated });
            for p in e.vios_pairs.values_mut().filter(|p| &p.spec.frame == frame) {
                for m in p.spec.members.iter_mut().filter(|m| &m.name == vios) {
                    m.state = if up { RunState::Running } else { RunState::Stopped };
                }
            }
            for members in e.status.seas.values_mut() {
                let Some(m) = members.iter_mut().find(|m| &m.vios == vios) else {
                    continue;
                };
                m.state = if up { SeaState::Backup } else { SeaState::Inactive };
                settle(members);
                // Back up in sharing mode, the SEAs negotiate load sharing again by themselves.
                if up && members.len() == 2 && members.iter().all(|m| m.ha_mode == SeaHaMode::Sharing) {
                    share(members);
                }
            }
        }
        Op::CreateSea { frame, vios, real_adapter, trunks, control_channel, ha_mode, priority } => {
            let pair = e.vios_pairs.values().find(|p| &p.spec.frame == frame).map(|p| p.metadata.name.clone());
            let Some(pair) = pair else { return };
            let name = e
                .seas
                .values()
                .find(|s| s.spec.vios_pair == pair)
                .map(|s| s.metadata.name.clone())
                .unwrap_or_else(|| SeaName::new(format!("{frame}-sea")).expect("valid"));
            let mode = match ha_mode {
                SeaHaMode::Sharing => HaMode::Sharing,
                SeaHaMode::Disabled => HaMode::Disabled,
                _ => HaMode::Auto,
            };
            let sea = e.seas.entry(name.clone()).or_insert_with(|| {
                Object::new(
                    Metadata { name: name.clone(), labels: Default::default() },
                    SeaSpec {
                        vios_pair: pair,
                        ha_mode: mode,
                        primary: vios.clone(),
                        real_adapter: real_adapter.clone(),
                        control_channel: control_channel.clone(),
                        trunks: trunks.clone(),
                    },
                )
            });
            if *priority == 1 {
                sea.spec.primary = vios.clone();
            }
            let members = e.status.seas.entry(name).or_default();
            members.push(SeaMemberStatus {
                vios: vios.clone(),
                device: crate::names::DeviceName::new("ent4").expect("valid"),
                ha_mode: *ha_mode,
                priority: *priority,
                state: SeaState::Backup,
                bridge_mode: BridgeMode::None,
                vlans: Vec::new(),
                adapters: trunks.iter().map(|t| t.adapter.clone()).collect(),
                unsaved: Vec::new(),
            });
            members.sort_by_key(|m| m.priority);
            settle(members);
            // The backup's SEA created in sharing mode asks the primary for load sharing.
            if *priority == 2
                && members.len() == 2
                && members.iter().all(|m| m.ha_mode == SeaHaMode::Sharing && m.state != SeaState::Inactive)
            {
                share(members);
            }
        }
        Op::SetSeaHaMode { vios, mode, frame, .. } => {
            for n in seas_on(e, frame) {
                if let Some(members) = e.status.seas.get_mut(&n) {
                    let is_backup = members.iter().any(|m| &m.vios == vios && m.priority == 2);
                    if let Some(m) = members.iter_mut().find(|m| &m.vios == vios) {
                        m.ha_mode = *mode;
                    }
                    let sharing =
                        members.len() == 2 && members.iter().all(|m| m.ha_mode == SeaHaMode::Sharing) && is_backup;
                    settle(members);
                    if sharing {
                        share(members);
                    }
                    let modes: Vec<SeaHaMode> = members.iter().map(|m| m.ha_mode).collect();
                    if let Some(sea) = e.seas.get_mut(&n)
                        && modes.iter().all(|m| *m != SeaHaMode::Standby)
                    {
                        sea.spec.ha_mode =
                            if modes.iter().all(|m| *m == SeaHaMode::Sharing) { HaMode::Sharing } else { HaMode::Auto };
                    }
                }
            }
        }
        // The adapter appears once cfgdev configures it; the model takes both as one.
        Op::AddTrunkAdapter { frame, vios, trunk, .. } => {
            if let Some(h) = e.hardware.get_mut(frame)
                && let Some(v) = h.spec.vios.iter_mut().find(|v| &v.name == vios)
                && !v.ethernet.contains(&trunk.adapter)
            {
                v.ethernet.push(trunk.adapter.clone());
            }
            for n in seas_on(e, frame) {
                if let Some(m) = e.status.seas.get_mut(&n).and_then(|ms| ms.iter_mut().find(|m| &m.vios == vios)) {
                    m.unsaved.push(trunk.adapter.clone());
                }
            }
        }
        Op::ConfigureDevices { frame, vios } => configure_server_adapters(e, frame, vios),
        Op::SetDiskNoReserve { frame, vios, disk, .. } => {
            if let Some(d) = e
                .hardware
                .get_mut(frame)
                .and_then(|h| h.spec.vios.iter_mut().find(|v| &v.name == vios))
                .and_then(|v| v.disks.iter_mut().find(|d| &d.name == disk))
            {
                d.reserve_policy = crate::manifest::ReservePolicy::NoReserve;
            }
        }
        Op::AddServerAdapter { .. }
        | Op::RemoveServerAdapter { .. }
        | Op::MapDisk { .. }
        | Op::UnmapDisk { .. }
        | Op::MapNpiv { .. }
        | Op::UnmapNpiv { .. } => storage_step(e, op),
        Op::SaveProfile { frame, vios, .. } => {
            for n in seas_on(e, frame) {
                if let Some(m) = e.status.seas.get_mut(&n).and_then(|ms| ms.iter_mut().find(|m| &m.vios == vios)) {
                    m.unsaved.clear();
                }
            }
        }
        // A chdev of virt_adapters stops load sharing; the backup's asks for it again, which
        // succeeds once both SEAs bridge the same trunks.
        Op::SetSeaAdapters { frame, vios, trunks, .. } => {
            let names: Vec<_> = trunks.iter().map(|t| t.adapter.clone()).collect();
            for n in seas_on(e, frame) {
                let Some(members) = e.status.seas.get_mut(&n) else { continue };
                let is_backup = members.iter().any(|m| &m.vios == vios && m.priority == 2);
                if let Some(m) = members.iter_mut().find(|m| &m.vios == vios) {
                    m.adapters = names.clone();
                }
                let same = members.iter().all(|m| m.adapters == names);
                settle(members);
                if same
                    && is_backup
                    && members.len() == 2
                    && members.iter().all(|m| m.ha_mode == SeaHaMode::Sharing && m.state != SeaState::Inactive)
                {
                    share(members);
                }
                if same && let Some(sea) = e.seas.get_mut(&n) {
                    sea.spec.trunks = trunks.clone();
                }
            }
        }
        Op::RemoveSea { frame, vios, .. } => {
            for n in seas_on(e, frame) {
                if let Some(members) = e.status.seas.get_mut(&n) {
                    members.retain(|m| &m.vios != vios);
                    if members.is_empty() {
                        e.status.seas.remove(&n);
                        e.seas.remove(&n);
                    }
                }
            }
        }
        Op::CreatePartition { frame, partition, spec, profile, adapters, .. } => {
            if !adapters.is_empty() {
                e.status.client_adapters.insert(partition.clone(), adapters.clone());
            }
            let mut spec = (**spec).clone();
            spec.placement = Placement::Frame(frame.clone());
            spec.state = RunState::Stopped;
            e.partitions.insert(
                partition.clone(),
                Object::new(Metadata { name: partition.clone(), labels: Default::default() }, spec),
            );
            e.status.partitions.insert(
                partition.clone(),
                PartitionStatus {
                    frame: frame.clone(),
                    state: LparState::NotActivated,
                    rmc: false,
                    paging: None,
                    migration: None,
                    below_desired: false,
                    lpar_id: None,
                    profile: Some(profile.clone()),
                    npiv_hidden: false,
                    io_slots: Vec::new(),
                },
            );
        }
        Op::UpdatePartition { partition, change, .. } => {
            if let Some(s) = e.status.partitions.get_mut(partition) {
                s.below_desired = false;
            }
            if let Some(p) = e.partitions.get_mut(partition) {
                if let Some((_, to)) = change.memory {
                    p.spec.memory.desired_mb = to;
                }
                if let Some((_, to)) = change.units {
                    p.spec.processors.units = to;
                }
                if let Some((_, to)) = change.r#virtual {
                    p.spec.processors.r#virtual = Some(to);
                }
                if let Some((primary, secondary)) = &change.paging_vios {
                    let frame = e.status.partitions.get(partition).map(|s| s.frame.clone());
                    let pool = e.mem_pools.values().find(|m| Some(&m.spec.frame) == frame.as_ref());
                    if let (Some(g), Some(i)) = (
                        p.spec.memory.paging.as_mut(),
                        pool.and_then(|m| crate::manifest::PagingIndex::of(primary, &m.spec.paging_vios)),
                    ) {
                        g.primary = i;
                    }
                    if let Some(pg) = e.status.partitions.get_mut(partition).and_then(|s| s.paging.as_mut()) {
                        pg.primary = primary.clone();
                        pg.secondary = Some(secondary.clone());
                    }
                }
            }
        }
        Op::StartPartition { frame, partition, .. } => {
            let paging =
                e.partitions.get(partition).filter(|p| p.spec.memory.mode == MemoryMode::Shared).and_then(|p| {
                    let pool = e.mem_pools.values().find(|m| &m.spec.frame == frame)?;
                    let idx = p
                        .spec
                        .memory
                        .paging
                        .unwrap_or_default()
                        .primary
                        .position()
                        .min(pool.spec.paging_vios.len() - 1);
                    let primary = pool.spec.paging_vios[idx].clone();
                    let redundant =
                        p.spec.memory.paging.unwrap_or_default().redundancy != crate::manifest::Redundancy::None;
                    let secondary =
                        pool.spec.paging_vios.get(1 - idx.min(1)).filter(|v| **v != primary && redundant).cloned();
                    Some(PagingStatus { primary: primary.clone(), secondary, current: Some(primary), device: None })
                });
            if let Some(p) = e.partitions.get_mut(partition) {
                p.spec.state = RunState::Running;
            }
            let shared = paging.is_some();
            if let Some(s) = e.status.partitions.get_mut(partition) {
                s.state = LparState::Running;
                s.rmc = true;
                s.paging = paging;
            }
            if shared {
                assign_device(e, frame, partition);
            }
        }
        Op::StopPartition { partition, .. } => {
            if let Some(p) = e.partitions.get_mut(partition) {
                p.spec.state = RunState::Stopped;
            }
            if let Some(s) = e.status.partitions.get_mut(partition) {
                s.state = LparState::NotActivated;
                s.paging = None;
            }
            release_device(e, partition);
        }
        Op::DeletePartition { partition, .. } => {
            e.status.client_adapters.remove(partition);
            release_device(e, partition);
            e.partitions.remove(partition);
            e.status.partitions.remove(partition);
        }
        Op::SwitchPagingVios { partition, .. } => {
            if let Some(pg) = e.status.partitions.get_mut(partition).and_then(|s| s.paging.as_mut()) {
                let other = if pg.current.as_ref() == Some(&pg.primary) {
                    pg.secondary.clone()
                } else {
                    Some(pg.primary.clone())
                };
                if other.is_some() {
                    pg.current = other;
                }
            }
        }
        Op::ValidateMigration { .. } => {}
        Op::RaisePeerInactive { node, centiseconds, .. } | Op::RestorePeerInactive { node, centiseconds, .. } => {
            if let Some(n) = e.status.nodes.get_mut(node) {
                n.peerinact_centis = Some(*centiseconds);
            }
        }
        Op::UnmanageClusterNode { node, .. } | Op::ManageClusterNode { node, .. } => {
            if let Some(n) = e.status.nodes.get_mut(node) {
                n.unmanaged = matches!(op, Op::UnmanageClusterNode { .. });
            }
        }
        Op::EnterNodeMaintenance { node, .. } | Op::LeaveNodeMaintenance { node, .. } => {
            if let Some(n) = e.status.nodes.get_mut(node) {
                n.maintenance = matches!(op, Op::EnterNodeMaintenance { .. });
            }
        }
        // A hook changes nothing the model knows of.
        Op::RunHook { .. } => {}
        // Profile copies are namesakes: inactive LPARs the estate shows beside its partitions.
        Op::RenameProfileCopy { frame, name, new_name } => {
            for n in e.status.namesakes.iter_mut().filter(|n| &n.frame == frame && &n.name == name) {
                n.name = new_name.clone();
            }
        }
        Op::RestoreProfileCopy { frame, partition, .. } => {
            e.status.namesakes.push(crate::status::Namesake {
                name: partition.clone(),
                frame: frame.clone(),
                lpar_id: 0,
                state: LparState::NotActivated,
            });
        }
        Op::RemoveProfileCopy { frame, name } => {
            e.status.namesakes.retain(|n| !(&n.frame == frame && &n.name == name));
        }
        Op::RecoverMigration { partition, to, .. } => {
            if let Some(s) = e.status.partitions.get_mut(partition)
                && s.migration.take().is_some()
            {
                s.state = match std::mem::replace(&mut s.state, LparState::NotActivated) {
                    LparState::MigratingRunning => LparState::Running,
                    LparState::MigratingNotActivated => LparState::NotActivated,
                    other => other,
                };
            }
            // The target's shell gave its paging device back.
            if let Some(devices) = e.status.paging_devices.get_mut(to) {
                for d in devices.iter_mut().filter(|d| d.assigned.as_ref() == Some(partition)) {
                    d.assigned = None;
                }
            }
        }
        Op::MigratePartition { partition, to, redundant, .. } => {
            let pool = e.mem_pools.values().find(|m| &m.spec.frame == to).map(|p| p.spec.paging_vios.clone());
            if let Some(p) = e.partitions.get_mut(partition) {
                p.spec.placement = Placement::Frame(to.clone());
            }
            if let Some(s) = e.status.partitions.get_mut(partition) {
                s.frame = to.clone();
                if s.paging.is_some()
                    && let Some(pv) = pool
                {
                    let non_redundant =
                        *redundant == Some(crate::action::RedundantPgVios::NonRedundant) || pv.len() < 2;
                    let idx = e
                        .partitions
                        .get(partition)
                        .map_or(0, |p| p.spec.memory.paging.unwrap_or_default().primary.position())
                        .min(pv.len() - 1);
                    let primary = pv[idx].clone();
                    let secondary = if non_redundant { None } else { pv.get(1 - idx).cloned() };
                    s.paging = Some(PagingStatus {
                        primary: primary.clone(),
                        secondary,
                        current: Some(primary),
                        device: None,
                    });
                }
            }
            let paging = e.status.partitions.get(partition).is_some_and(|s| s.paging.is_some());
            release_device(e, partition);
            if paging {
                assign_device(e, to, partition);
            }
        }
    }
}

/// Whether a device is seen by both paging VIOS of the frame's pool with `no_reserve` (the
/// hardware facts of the estate say), so the pool counts it as common.
fn redundancy_capable(e: &Estate, frame: &crate::names::FrameName, device: &crate::names::DeviceName) -> bool {
    let Some(pool) = e.mem_pools.values().find(|p| &p.spec.frame == frame) else { return false };
    let Some(hw) = e.hardware.get(frame) else { return false };
    let disks: Vec<_> = pool
        .spec
        .paging_vios
        .iter()
        .map(|v| hw.spec.vios.iter().find(|h| &h.name == v).map(|h| h.disks.as_slice()).unwrap_or_default())
        .collect();
    pool.spec.paging_vios.len() == 2 && crate::placement::seen_by_all(device, &disks)
}

/// Activation or arrival: the smallest free paging device large enough (best fit), common or
/// independent as the partition's redundancy asks.
// seeds: ams-dual-vios-and-lpm.txt, "If the shared memory partition has been configured to use
// redundant paging VIOS partitions, a common paging space device will be assigned ... If you
// activate a shared memory partition that is not configured with redundant paging VIOS, an
// independent paging space device will be assigned, if possible."
fn assign_device(e: &mut Estate, frame: &crate::names::FrameName, partition: &crate::names::PartitionName) {
    use crate::manifest::Redundancy;
    let (need, redundancy) = e
        .partitions
        .get(partition)
        .map(|p| (p.spec.memory.max_mb, p.spec.memory.paging.unwrap_or_default().redundancy))
        .unwrap_or((crate::units::MemoryMb(0), Redundancy::None));
    let two = e.mem_pools.values().find(|p| &p.spec.frame == frame).is_some_and(|p| p.spec.paging_vios.len() == 2);
    // Device classes in the order the hypervisor tries them: common first or independent first.
    let order: &[bool] = match redundancy {
        Redundancy::Required if two => &[true],
        Redundancy::Preferred if two => &[true, false],
        _ => &[false, true],
    };
    let chosen = e.status.paging_devices.get(frame).and_then(|devs| {
        order.iter().find_map(|common| {
            devs.iter()
                .enumerate()
                .filter(|(_, d)| d.assigned.is_none() && d.size >= need && d.redundant == *common)
                .min_by(|(_, a), (_, b)| a.size.cmp(&b.size).then(a.device.cmp(&b.device)))
                .map(|(i, _)| i)
        })
    });
    if let Some(i) = chosen
        && let Some(d) = e.status.paging_devices.get_mut(frame).and_then(|devs| devs.get_mut(i))
    {
        d.assigned = Some(partition.clone());
        let device = d.device.clone();
        if let Some(pg) = e.status.partitions.get_mut(partition).and_then(|s| s.paging.as_mut()) {
            pg.device = Some(device);
        }
    }
}

/// Shutdown or departure: the paging device is freed.
fn release_device(e: &mut Estate, partition: &crate::names::PartitionName) {
    for devs in e.status.paging_devices.values_mut() {
        for d in devs.iter_mut().filter(|d| d.assigned.as_ref() == Some(partition)) {
            d.assigned = None;
        }
    }
}

/// The SEAs of a frame's VIOS pairs.
fn seas_on(e: &Estate, frame: &crate::names::FrameName) -> Vec<SeaName> {
    e.seas
        .iter()
        .filter(|(_, s)| e.vios_pairs.get(&s.spec.vios_pair).is_some_and(|p| &p.spec.frame == frame))
        .map(|(n, _)| n.clone())
        .collect()
}

/// Load sharing negotiated: primary (first) and backup share the VLANs.
fn share(members: &mut [SeaMemberStatus]) {
    members[0].state = SeaState::PrimarySharing;
    members[1].state = SeaState::BackupSharing;
}

/// SEA states after a change: the running member with the better rank is primary.
fn settle(members: &mut [SeaMemberStatus]) {
    let up: Vec<usize> = (0..members.len()).filter(|i| members[*i].state != SeaState::Inactive).collect();
    let best = up.iter().copied().min_by_key(|i| (members[*i].ha_mode == SeaHaMode::Standby, members[*i].priority));
    for i in up {
        members[i].state = if Some(i) == best { SeaState::Primary } else { SeaState::Backup };
    }
}

/// `cfgdev` on a VIOS: each server adapter not yet configured gets the lowest free `vhostN` or
/// `vfchostN`, in slot order.
fn configure_server_adapters(e: &mut Estate, frame: &crate::names::FrameName, vios: &crate::names::ViosName) {
    let Some(vs) = e.status.vios_storage.get_mut(frame).and_then(|m| m.get_mut(vios)) else { return };
    let mut pending: Vec<usize> = (0..vs.adapters.len()).filter(|i| vs.adapters[*i].device.is_none()).collect();
    pending.sort_by_key(|i| vs.adapters[*i].slot);
    for i in pending {
        let via = vs.adapters[i].via;
        let d = crate::storage::next_server_device(via, vs.devices(via));
        vs.adapters[i].device = Some(d);
    }
}

/// A VIOS-side storage action: the server adapters and mappings of `Status::vios_storage` (the
/// planner reads storage drift from them, not from the client's observed `storage`).
fn storage_step(e: &mut Estate, op: &Op) {
    let (frame, vios) = match op.vios().first() {
        Some(v) => (op.frames()[0].clone(), (*v).clone()),
        None => return,
    };
    let Some(vs) = e.status.vios_storage.get_mut(&frame).and_then(|m| m.get_mut(&vios)) else { return };
    let by_device = |vs: &mut crate::storage::ViosStorage, d: &crate::names::DeviceName| {
        vs.adapters.iter().position(|a| a.device.as_ref() == Some(d))
    };
    match op {
        Op::AddServerAdapter { via, slot, client, client_slot, .. } if !vs.adapters.iter().any(|a| a.slot == *slot) => {
            vs.adapters.push(crate::storage::ServerAdapter {
                via: *via,
                slot: *slot,
                device: None,
                client: client.clone(),
                client_slot: *client_slot,
                luns: Vec::new(),
                fc_port: None,
            });
            vs.adapters.sort_by_key(|a| a.slot);
        }
        Op::RemoveServerAdapter { slot, .. } => vs.adapters.retain(|a| a.slot != *slot),
        Op::MapDisk { lun, adapter, .. } => {
            if let Some(i) = by_device(vs, adapter)
                && !vs.adapters[i].luns.contains(lun)
            {
                vs.adapters[i].luns.push(lun.clone());
            }
        }
        Op::UnmapDisk { lun, .. } => {
            for a in &mut vs.adapters {
                a.luns.retain(|l| l != lun);
            }
        }
        Op::MapNpiv { adapter, port, .. } => {
            if let Some(i) = by_device(vs, adapter) {
                vs.adapters[i].fc_port = Some(port.clone());
            }
        }
        Op::UnmapNpiv { adapter, .. } => {
            if let Some(i) = by_device(vs, adapter) {
                vs.adapters[i].fc_port = None;
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use crate::plan::fixture::{lab_converged, lab_desired, lab_desired_with, lab_observed, render_status, replace};
    use crate::plan::{PlanOptions, apply, plan};

    /// The lab's first plan, applied by the model: the p72 SEAs share the VLANs, the new
    /// partition runs, lpar_6_sotchax11 pages through its primary on the common device.
    #[test]
    fn the_lab_plan_reaches_the_lab_state() {
        let observed = lab_observed();
        let p = plan(&lab_desired(), &observed, PlanOptions::default());
        insta::assert_snapshot!(render_status(&apply(&observed, &p.actions)));
    }

    /// VIOS maintenance of lpar_1_solchio05 applied: paging on the secondary, the SEA failed
    /// over to the backup, the VIOS down.
    #[test]
    fn vios_maintenance_fails_paging_and_the_sea_over() {
        let observed = lab_converged();
        let down = lab_desired_with(replace(
            "solchms05.yaml",
            "{name: lpar_1_solchio05, state: running}",
            "{name: lpar_1_solchio05, state: stopped}",
        ));
        let p = plan(&down, &observed, PlanOptions::default());
        insta::assert_snapshot!(render_status(&apply(&observed, &p.actions)));
    }
}
