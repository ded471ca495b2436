//! One frame's listings read into its frame, partitions, VIOS pairs, pools and their status.
//!
//! Long file: `frame` reads one frame's listings in a single pass whose steps share the
//! partitions, profiles and VIOS records it has indexed; split, each part would take them all.

use std::collections::{BTreeMap, BTreeSet};

use powerplane_model::manifest::{
    CompatMode, FrameHardwareSpec, FrameSpec, MemoryMode, Metadata, NetworkSpec, PagingDeviceSpec, PartitionSpec,
    Placement, ProcMode, RunState, SeaSpec, SharedMemoryPoolSpec, SharedProcessorPoolSpec, StorageSpec, StorageVia,
    TrunkSpec, ViosHardwareSpec, ViosMember, ViosPairSpec,
};
use powerplane_model::status::{
    BridgeMode, FrameState, LparState, MigrationState, MigrationStatus, PagingDeviceStatus, PagingStatus,
    PartitionStatus, ProcPoolSlots, SeaHaMode, SeaMemberStatus, SeaState, Status,
};
use powerplane_model::{
    DeviceName, Estate, FrameName, Lun, MemPoolName, MemoryMb, Object, PartitionName, ProcPoolId, ProcPoolName,
    ProcPoolObjectName, ProcUnits, SeaName, ViosName, ViosPairName, VlanId,
};

use crate::backend::hmc::records::{ParseError, Record};

use super::fields::{bad, get, named, num, opt_name, units, vlan, vlans, word};
use super::vios::{attr_table, entstat_lines, entstat_priority, sea_ha_mode, vios_devices, virtual_slot};
use super::{Found, FrameListings, migration_limits};

pub(super) fn frame(
    e: &mut Estate,
    status: &mut Status,
    found: &mut Vec<Found>,
    fname: FrameName,
    l: &FrameListings,
    last: Option<&Estate>,
) -> Result<(), ParseError> {
    const SYS: &str = "managed system";
    let meta = |n: &FrameName| Metadata { name: n.clone(), labels: Default::default() };
    if let Some(r) = l.lparmigr_sys.first() {
        status.migration_limits.insert(fname.clone(), migration_limits(r)?);
    }
    // An unknown mode is kept as its text (`CompatMode::Other`).
    let compat_modes = l
        .sys
        .get("lpar_proc_compat_modes")
        .map(String::as_str)
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty() && *m != "null" && *m != "unavailable")
        .map(CompatMode::parse)
        .collect();
    status.frames.insert(fname.clone(), FrameState::parse(get(&l.sys, SYS, "state")?));
    let mem = l.sys_mem.first().ok_or_else(|| bad(SYS, "configurable_sys_mem", "was not listed"))?;
    let proc = l.sys_proc.first().ok_or_else(|| bad(SYS, "configurable_sys_proc_units", "was not listed"))?;

    // Partitions and VIOS, by name (unique on a frame), with the profile each runs or
    // activates with.
    const LPAR: &str = "partition";
    let by_id: BTreeMap<u32, &str> =
        l.lpar.iter().filter_map(|r| Some((r.get("lpar_id")?.parse().ok()?, r.get("name")?.as_str()))).collect();
    // Every profile of the frame by partition, once (a partition may have several).
    let mut profiles: BTreeMap<&str, Vec<&Record>> = BTreeMap::new();
    for p in &l.prof {
        if let Some(n) = p.get("lpar_name") {
            profiles.entry(n.as_str()).or_default().push(p);
        }
    }
    let mut vios_hw = Vec::new();
    let mut vios_state = BTreeMap::new();
    let mut vios_profiles: BTreeMap<ViosName, &Record> = BTreeMap::new();
    let mut unknown_vios: BTreeMap<ViosName, String> = l.vios_unknown.clone();
    let last_vios = |v: &ViosName| -> Option<ViosHardwareSpec> {
        last?.hardware.get(&fname)?.spec.vios.iter().find(|h| &h.name == v).cloned()
    };
    for r in l.lpar.iter().filter(|r| r.get("lpar_env").map(String::as_str) == Some("vioserver")) {
        let name: ViosName = named(LPAR, "name", get(r, LPAR, "name")?)?;
        let state = LparState::parse(get(r, LPAR, "state")?);
        if !state.is_plannable() {
            unknown_vios.entry(name.clone()).or_insert_with(|| format!("its state is {:?}", state.as_str()));
        }
        if state == LparState::Running && r.get("rmc_state").map(String::as_str) != Some("active") {
            status.vios_without_rmc.entry(fname.clone()).or_default().insert(name.clone());
        }
        vios_state.insert(name.clone(), state);
        let prof = profile_of(&profiles, r).ok_or_else(|| bad(LPAR, "profile", format!("of {name} was not listed")))?;
        vios_profiles.insert(name.clone(), prof);
        // The profile its activation and profile save name (issue 32 item 3).
        if let Some(p) = prof.get("name").and_then(|p| powerplane_model::ProfileName::new(p.as_str()).ok()) {
            status.vios_profiles.entry(fname.clone()).or_default().insert(name.clone(), p);
        }
        let v = l.vios.get(&name).filter(|_| !unknown_vios.contains_key(&name));
        let (ethernet, disks) = match v {
            Some(v) => vios_devices(v).unwrap_or_else(|why| {
                unknown_vios.insert(name.clone(), why);
                (Vec::new(), Vec::new())
            }),
            None => (Vec::new(), Vec::new()),
        };
        // What a VIOS that could not be listed had when it last answered: its devices are
        // unknown now, never empty (the plan holds what needs them).
        let (ethernet, disks) = match (unknown_vios.contains_key(&name), last_vios(&name)) {
            (true, Some(then)) => (then.ethernet, then.disks),
            _ => (ethernet, disks),
        };
        vios_hw.push(ViosHardwareSpec {
            name,
            memory_mb: MemoryMb(num(prof, "profile", "desired_mem")?),
            proc_units: units(prof, "profile", "desired_proc_units")?,
            ethernet,
            disks,
            msp: r.get("msp").is_some_and(|m| m == "1"),
        });
    }
    if !unknown_vios.is_empty() {
        status.unknown_vios.insert(fname.clone(), unknown_vios.clone());
    }
    let mut hw_sorted = vios_hw.clone();
    hw_sorted.sort_by(|a, b| a.name.cmp(&b.name));
    e.frames.insert(fname.clone(), Object::new(meta(&fname), FrameSpec::default()));
    e.hardware.insert(
        fname.clone(),
        Object::new(
            meta(&fname),
            FrameHardwareSpec {
                serial: get(&l.sys, SYS, "serial_num")?.to_owned(),
                machine_type: get(&l.sys, SYS, "type_model")?.to_owned(),
                memory_mb: MemoryMb(num(mem, SYS, "configurable_sys_mem")?),
                proc_units: units(proc, SYS, "configurable_sys_proc_units")?,
                compat_modes,
                on_battery: false,
                vios: hw_sorted,
                // In the status: the HMC managing it (`Status::consoles`), each partition's
                // slots (`PartitionStatus::io_slots`).
                hmc: None,
                io_slots: Vec::new(),
                // Listed as namesakes (`Status::namesakes`).
                profile_copies: Vec::new(),
            },
        ),
    );
    status.vios.insert(fname.clone(), vios_state.clone());
    let pair = ViosPairName::new(format!("{fname}-vios")).map_err(|e| bad(SYS, "name", e.to_string()))?;
    if !vios_state.is_empty() {
        let members = vios_hw
            .iter()
            .map(|h| ViosMember {
                name: h.name.clone(),
                state: if vios_state[&h.name].is_running() { RunState::Running } else { RunState::Stopped },
            })
            .collect();
        e.vios_pairs.insert(
            pair.clone(),
            Object::new(
                Metadata { name: pair.clone(), labels: Default::default() },
                ViosPairSpec { frame: fname.clone(), members },
            ),
        );
    }

    // Virtual ethernet: trunk adapters by VIOS and slot; client adapters by partition.
    const VETH: &str = "virtual ethernet adapter";
    let mut trunks: BTreeMap<(&str, u16), (VlanId, Vec<VlanId>, u8)> = BTreeMap::new();
    let mut client_eth: BTreeMap<&str, Vec<(u16, VlanId)>> = BTreeMap::new();
    for r in &l.veth {
        let lpar = get(r, VETH, "lpar_name")?;
        let slot: u16 = num(r, VETH, "slot_num")?;
        let pvid = vlan(VETH, "port_vlan_id", get(r, VETH, "port_vlan_id")?)?;
        if get(r, VETH, "is_trunk")? == "1" {
            let addl = vlans(VETH, "addl_vlan_ids", r.get("addl_vlan_ids").map_or("", String::as_str))?;
            trunks.insert((lpar, slot), (pvid, addl, num(r, VETH, "trunk_priority")?));
        } else {
            client_eth.entry(lpar).or_default().push((slot, pvid));
        }
    }
    // The trunk a VIOS's adapter `dev` is: its slot from `lsdev`, its VLANs from the HMC.
    let trunk_of = |vios: &ViosName, dev: &DeviceName| -> Option<TrunkSpec> {
        let slot = l
            .vios
            .get(vios)?
            .adapter_lines()
            .find(|(n, _, _)| *n == dev.as_str())
            .and_then(|(_, loc, _)| virtual_slot(loc))?;
        let (pvid, vlans, _) = trunks.get(&(vios.as_str(), slot))?;
        Some(TrunkSpec { adapter: dev.clone(), pvid: *pvid, vlans: vlans.clone() })
    };

    // The SEA: one device on each VIOS that has one.
    const SEA: &str = "shared ethernet adapter";
    let mut members: Vec<(SeaMemberStatus, DeviceName, Option<DeviceName>, Vec<TrunkSpec>)> = Vec::new();
    for h in &vios_hw {
        if status.vios_unknown(&fname, &h.name) {
            continue;
        }
        let Some(v) = l.vios.get(&h.name) else { continue };
        for dev in v.sea_devices() {
            let Some(attrs) = v.attrs.get(&dev) else { continue };
            let a = attr_table(attrs);
            let stat = v.entstat.get(&dev).map(|t| entstat_lines(t)).unwrap_or_default();
            // A value this version does not know makes the VIOS unknown, named.
            let ha_text = a.get("ha_mode").copied().unwrap_or("");
            let state_text = stat.get("State").copied().unwrap_or("INACTIVE");
            let (Ok(ha_mode), Ok(state)) =
                (word::<SeaHaMode>(SEA, "ha_mode", ha_text), word::<SeaState>(SEA, "State", state_text))
            else {
                status.unknown_vios.entry(fname.clone()).or_default().insert(
                    h.name.clone(),
                    format!("its SEA {dev} has ha_mode {ha_text:?} and state {state_text:?}, which powerplane does not both know"),
                );
                continue;
            };
            let adapters: Vec<DeviceName> = a
                .get("virt_adapters")
                .copied()
                .unwrap_or("")
                .split(',')
                .filter(|s| !s.is_empty())
                .map(|s| named(SEA, "virt_adapters", s))
                .collect::<Result<_, _>>()?;
            let sea_trunks: Vec<TrunkSpec> = adapters.iter().filter_map(|d| trunk_of(&h.name, d)).collect();
            let real: DeviceName = named(SEA, "real_adapter", a.get("real_adapter").copied().unwrap_or(""))?;
            let cc: Option<DeviceName> =
                a.get("ctl_chan").filter(|c| !c.is_empty()).map(|c| named(SEA, "ctl_chan", c)).transpose()?;
            let bridge_mode = match stat.get("Bridge Mode").copied() {
                Some("All") => BridgeMode::All,
                Some("Partial") => BridgeMode::Partial,
                _ => BridgeMode::None,
            };
            let priority = entstat_priority(&stat).or_else(|| {
                sea_trunks.first().and_then(|t| {
                    let slot = v
                        .adapter_lines()
                        .find(|(n, _, _)| *n == t.adapter.as_str())
                        .and_then(|(_, loc, _)| virtual_slot(loc))?;
                    trunks.get(&(h.name.as_str(), slot)).map(|t| t.2)
                })
            });
            let unsaved = profile_slots(vios_profiles.get(&h.name).copied())
                .map(|saved| {
                    h.ethernet
                        .iter()
                        .filter(|d| {
                            v.adapter_lines()
                                .find(|(n, _, _)| *n == d.as_str())
                                .and_then(|(_, loc, _)| virtual_slot(loc))
                                .is_some_and(|s| trunks.contains_key(&(h.name.as_str(), s)) && !saved.contains(&s))
                        })
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            members.push((
                SeaMemberStatus {
                    vios: h.name.clone(),
                    device: dev.clone(),
                    ha_mode,
                    priority: priority.unwrap_or(1),
                    state,
                    bridge_mode,
                    vlans: match stat.get("VID shared") {
                        Some(v) => vlans(SEA, "VID shared", v)?,
                        // Outside load sharing `entstat` prints no "VID shared": a SEA bridging
                        // everything bridges every VLAN of its trunks (seed lines 742-755, 953).
                        None if bridge_mode == BridgeMode::All => sea_trunks
                            .iter()
                            .flat_map(|t| std::iter::once(t.pvid).chain(t.vlans.iter().copied()))
                            .collect(),
                        None => Vec::new(),
                    },
                    adapters,
                    unsaved,
                },
                real,
                cc,
                sea_trunks,
            ));
        }
    }
    if !members.is_empty() {
        members.sort_by_key(|m| m.0.priority);
        let sea = SeaName::new(format!("{fname}-sea")).map_err(|e| bad(SYS, "name", e.to_string()))?;
        let statuses: Vec<SeaMemberStatus> = members.iter().map(|m| m.0.clone()).collect();
        let ha_mode = sea_ha_mode(&statuses);
        let first = &members[0];
        let pair_members: Vec<ViosName> = vios_hw.iter().map(|h| h.name.clone()).collect();
        let primary = SeaMemberStatus::primary_of(&statuses, &pair_members).unwrap_or_else(|| first.0.vios.clone());
        // The trunks every member bridges.
        let common: Vec<TrunkSpec> =
            first.3.iter().filter(|t| members.iter().all(|m| m.3.contains(t))).cloned().collect();
        e.seas.insert(
            sea.clone(),
            Object::new(
                Metadata { name: sea.clone(), labels: Default::default() },
                SeaSpec {
                    vios_pair: pair.clone(),
                    ha_mode,
                    primary,
                    real_adapter: first.1.clone(),
                    control_channel: first.2.clone(),
                    trunks: common,
                },
            ),
        );
        status.seas.insert(sea, statuses);
    }

    // The shared memory pool and its paging devices.
    const POOL: &str = "shared memory pool";
    if let Some(m) = l.mempool.first() {
        let paging_vios = m
            .get("paging_vios_names")
            .map_or("", String::as_str)
            .split(',')
            .filter(|v| !v.is_empty())
            .map(|v| named(POOL, "paging_vios_names", v))
            .collect::<Result<_, _>>()?;
        let mut devices = Vec::new();
        let mut dev_status = Vec::new();
        for r in &l.pgdev {
            const PG: &str = "paging device";
            let device: DeviceName = named(PG, "device_name", get(r, PG, "device_name")?)?;
            let size = MemoryMb(num(r, PG, "size")?);
            devices.push(PagingDeviceSpec { device: device.clone(), size_mb: size });
            dev_status.push(PagingDeviceStatus {
                device,
                size,
                redundant: r.get("is_redundant").is_some_and(|v| v == "1"),
                assigned: opt_name(r, PG, "lpar_name")?,
            });
        }
        let name = MemPoolName::new(format!("{fname}-mempool")).map_err(|e| bad(SYS, "name", e.to_string()))?;
        e.mem_pools.insert(
            name.clone(),
            Object::new(
                Metadata { name, labels: Default::default() },
                SharedMemoryPoolSpec {
                    frame: fname.clone(),
                    pool_mem_mb: MemoryMb(num(m, POOL, "curr_pool_mem")?),
                    max_pool_mem_mb: MemoryMb(num(m, POOL, "curr_max_pool_mem")?),
                    paging_vios,
                    paging_devices: devices,
                },
            ),
        );
        status.paging_devices.insert(fname.clone(), dev_status);
    }

    // Shared processor pools (not the HMC's DefaultPool, which every frame has).
    // Its pools by id (none listed: a frame without multiple shared processor pools).
    let mut slots = ProcPoolSlots::default();
    for r in &l.procpool {
        const PP: &str = "shared processor pool";
        let pool: ProcPoolName = named(PP, "name", get(r, PP, "name")?)?;
        if pool == ProcPoolName::default_pool() {
            continue;
        }
        let id: u8 = num(r, PP, "shared_proc_pool_id")?;
        // Pools 1-63 always exist; an unused one has maximum 0 (`SharedPoolNN`): not a pool
        // anyone configured (pypowervm `tests/data/shrprocpool.txt`), but one a new pool takes.
        let max = units(r, PP, "max_pool_proc_units")?;
        if max == ProcUnits::default() {
            slots.unused.push(ProcPoolId(id));
            continue;
        }
        slots.ids.insert(pool.clone(), ProcPoolId(id));
        let name = ProcPoolObjectName::new(format!("{fname}-{pool}")).map_err(|e| bad(PP, "name", e.to_string()))?;
        e.proc_pools.insert(
            name.clone(),
            Object::new(
                Metadata { name, labels: Default::default() },
                SharedProcessorPoolSpec {
                    frame: fname.clone(),
                    pool_name: pool,
                    max_proc_units: max,
                    reserved_proc_units: units(r, PP, "curr_reserved_pool_proc_units")?,
                },
            ),
        );
    }
    slots.unused.sort();
    status.proc_pool_slots.insert(fname.clone(), slots);

    // Storage: each running VIOS's server adapters (`lshwres -r virtualio --rsubtype scsi|fc`:
    // slot, client, client slot), their devices (`lsdev`: `vhostN`/`vfchostN` and the slot in
    // their location code) and what is mapped to them (`lsmap`: the disks of each `vhost`, by
    // their LUN; the port of each `vfchost`); each partition's client adapters; the LUNs
    // mapped to a client, through its server adapters (an `lsmap` client id is 0 while the
    // client does not run). A listing from before `svsa` was asked names the client by id.
    const VSTORAGE: &str = "virtual storage adapter";
    let mut storage: BTreeMap<String, Vec<StorageSpec>> = BTreeMap::new();
    let mut servers: BTreeMap<(String, u16), (StorageVia, String, u16)> = BTreeMap::new();
    let mut clients: BTreeMap<String, Vec<powerplane_model::storage::ClientAdapter>> = BTreeMap::new();
    for (rows, via) in [(&l.vscsi, StorageVia::Vscsi), (&l.vfc, StorageVia::Npiv)] {
        for r in rows {
            let lpar = get(r, VSTORAGE, "lpar_name")?.to_owned();
            let slot: u16 = num(r, VSTORAGE, "slot_num")?;
            let remote = get(r, VSTORAGE, "remote_lpar_name")?.to_owned();
            let remote_slot: u16 = num(r, VSTORAGE, "remote_slot_num")?;
            match get(r, VSTORAGE, "adapter_type")? {
                "server" => {
                    servers.insert((lpar, slot), (via, remote, remote_slot));
                }
                "client" => {
                    let Ok(vios) = ViosName::new(remote.as_str()) else { continue };
                    clients.entry(lpar).or_default().push(powerplane_model::storage::ClientAdapter {
                        via,
                        slot,
                        vios,
                        server_slot: remote_slot,
                    });
                }
                _ => {}
            }
        }
    }
    let mut vios_storage: BTreeMap<ViosName, powerplane_model::storage::ViosStorage> = BTreeMap::new();
    for h in &vios_hw {
        let Some(v) = l.vios.get(&h.name).filter(|_| !status.vios_unknown(&fname, &h.name)) else { continue };
        let slot_of: BTreeMap<&str, u16> =
            v.adapter_lines().filter_map(|(n, loc, _)| Some((n, virtual_slot(loc)?))).collect();
        let mut vs = powerplane_model::storage::ViosStorage {
            fc_ports: v
                .adapter_lines()
                .filter(|(n, _, _)| n.starts_with("fcs"))
                .filter_map(|(n, _, _)| DeviceName::new(n).ok())
                .collect(),
            ..Default::default()
        };
        let mut used: BTreeSet<u16> = [0, 1].into();
        used.extend(
            l.veth
                .iter()
                .filter(|r| r.get("lpar_name") == Some(&h.name.to_string()))
                .filter_map(|r| r.get("slot_num")?.parse::<u16>().ok()),
        );
        for ((lpar, slot), (via, client, client_slot)) in &servers {
            if lpar != h.name.as_str() {
                continue;
            }
            used.insert(*slot);
            let Ok(client) = PartitionName::new(client.as_str()) else { continue };
            let device = slot_of
                .iter()
                .find(|(n, s)| **s == *slot && n.starts_with(powerplane_model::storage::server_prefix(*via)))
                .and_then(|(n, _)| DeviceName::new(*n).ok());
            vs.adapters.push(powerplane_model::storage::ServerAdapter {
                via: *via,
                slot: *slot,
                device,
                client,
                client_slot: *client_slot,
                luns: Vec::new(),
                fc_port: None,
            });
        }
        for line in v.vscsi.lines() {
            let fields: Vec<&str> = line.split(':').map(str::trim).collect();
            let Some(first) = fields.first() else { continue };
            let (adapter, id, disks) = if first.starts_with("vhost") {
                (Some(*first), fields.get(1).copied(), fields.get(2..).unwrap_or_default())
            } else {
                (None, Some(*first), fields.get(1..).unwrap_or_default())
            };
            let luns: Vec<Lun> = disks
                .iter()
                .filter_map(|d| h.disks.iter().find(|k| k.name.as_str() == *d).map(|k| k.lun.clone()))
                .collect();
            let client: Option<String> = match adapter {
                Some(a) => {
                    vs.adapters.iter_mut().find(|x| x.device.as_ref().is_some_and(|d| d.as_str() == a)).map(|x| {
                        x.luns = luns.clone();
                        x.client.to_string()
                    })
                }
                None => id
                    .and_then(|i| u32::from_str_radix(i.trim_start_matches("0x"), 16).ok())
                    .and_then(|i| by_id.get(&i))
                    .map(|c| (*c).to_owned()),
            };
            let Some(client) = client else { continue };
            let list = storage.entry(client).or_default();
            for lun in luns {
                let s = StorageSpec { lun, via: StorageVia::Vscsi };
                if !list.contains(&s) {
                    list.push(s);
                }
            }
        }
        for line in v.npiv.lines() {
            let fields: Vec<&str> = line.split(':').map(str::trim).collect();
            let (Some(name), Some(fc)) = (fields.first(), fields.get(4)) else { continue };
            if let Some(x) = vs.adapters.iter_mut().find(|x| x.device.as_ref().is_some_and(|d| d.as_str() == *name))
                && !fc.is_empty()
            {
                x.fc_port = DeviceName::new(*fc).ok();
            }
        }
        vs.used_slots = used.into_iter().collect();
        vios_storage.insert(h.name.clone(), vs);
    }
    if l.storage_listed {
        status.vios_storage.insert(fname.clone(), vios_storage);
        for (lpar, mut list) in clients {
            let Ok(name) = PartitionName::new(lpar) else { continue };
            if by_id.values().any(|n| *n == name.as_str()) && !vios_hw.iter().any(|h| h.name.as_str() == name.as_str())
            {
                list.sort_by_key(|c| c.slot);
                status.client_adapters.insert(name, list);
            }
        }
    }

    // Client partitions.
    let current_mem: BTreeMap<&str, &Record> =
        l.lpar_mem.iter().filter_map(|r| r.get("lpar_name").map(|n| (n.as_str(), r))).collect();
    let current_proc: BTreeMap<&str, &Record> =
        l.lpar_proc.iter().filter_map(|r| r.get("lpar_name").map(|n| (n.as_str(), r))).collect();
    let migrations: BTreeMap<&str, &Record> =
        l.lparmigr.iter().filter_map(|r| r.get("name").map(|n| (n.as_str(), r))).collect();
    let pool_vios: Vec<ViosName> =
        e.mem_pools.values().find(|p| p.spec.frame == fname).map(|p| p.spec.paging_vios.clone()).unwrap_or_default();
    for r in l.lpar.iter().filter(|r| r.get("lpar_env").map(String::as_str) != Some("vioserver")) {
        let n = get(r, LPAR, "name")?;
        let name: PartitionName = match named(LPAR, "name", n) {
            Ok(name) => name,
            Err(e) => {
                tracing::warn!(frame = %fname, partition = n, error = %e, "a partition powerplane cannot name is left out");
                continue;
            }
        };
        let lpar_id: u32 = num(r, LPAR, "lpar_id")?;
        let state = LparState::parse(get(r, LPAR, "state")?);
        let base = PartitionStatus {
            frame: fname.clone(),
            state: state.clone(),
            rmc: r.get("rmc_state").is_some_and(|s| s == "active"),
            paging: None,
            migration: None,
            below_desired: false,
            lpar_id: Some(lpar_id),
            profile: None,
            npiv_hidden: true,
            io_slots: Vec::new(),
        };
        let read = || -> Result<(PartitionSpec, PartitionStatus), ParseError> {
            let prof =
                profile_of(&profiles, r).ok_or_else(|| bad(LPAR, "profile", format!("of {name} was not listed")))?;
            // An inactive partition's current resources read 0: what it will get is its
            // profile's (IBM's `lshwres` man page; `tests/fixtures/hmc/lshwres-r-mem-level-lpar.power5-v7.txt`).
            let holds = matches!(
                state,
                LparState::Running
                    | LparState::MigratingRunning
                    | LparState::OpenFirmware
                    | LparState::Starting
                    | LparState::ShuttingDown
            );
            let (cm, cp) =
                if holds { (current_mem.get(n).copied(), current_proc.get(n).copied()) } else { (None, None) };
            let (profile, mut spec) = partition_spec(&fname, prof, cm, cp, &pool_vios)?;
            spec.state = if state.is_running() { RunState::Running } else { RunState::Stopped };
            let mut eth = client_eth.get(n).cloned().unwrap_or_default();
            eth.sort();
            spec.network = eth.into_iter().map(|(_, vlan)| NetworkSpec { vlan }).collect();
            spec.storage = storage.get(n).cloned().unwrap_or_default();
            let below_desired =
                spec.memory.desired_mb < profile.memory.desired_mb || spec.processors.units < profile.processors.units;
            let paging = match spec.memory.mode {
                MemoryMode::Shared => match opt_name::<ViosName>(prof, "profile", "primary_paging_vios_name")? {
                    Some(primary) => Some(PagingStatus {
                        primary,
                        secondary: opt_name(prof, "profile", "secondary_paging_vios_name")?,
                        current: match current_mem.get(n).filter(|_| holds) {
                            Some(m) => opt_name(m, "memory", "curr_paging_vios_name")?,
                            None => None,
                        },
                        device: l
                            .pgdev
                            .iter()
                            .find(|d| d.get("lpar_name").map(String::as_str) == Some(n))
                            .and_then(|d| d.get("device_name"))
                            .and_then(|d| DeviceName::new(d.as_str()).ok()),
                    }),
                    None => None,
                },
                MemoryMode::Dedicated => None,
            };
            let migration = match migrations.get(n) {
                Some(m) => migration(m)?,
                None => None,
            };
            let profile_name = prof.get("name").and_then(|p| powerplane_model::ProfileName::new(p.as_str()).ok());
            // An HMC whose listing lacks the attribute (`null`) has no slots to report.
            let io_slots =
                powerplane_model::physical_io::parse_io_slots(prof.get("io_slots").map_or("", String::as_str))
                    .map_err(|e| bad("profile", "io_slots", e.to_string()))?;
            Ok((
                spec,
                PartitionStatus { paging, migration, below_desired, profile: profile_name, io_slots, ..base.clone() },
            ))
        };
        let meta = Metadata { name: name.clone(), labels: Default::default() };
        found.push(match read() {
            Ok((spec, st)) => Found {
                name,
                frame: fname.clone(),
                lpar_id,
                object: Some(Object::new(meta, spec)),
                status: st,
                unknown: None,
            },
            Err(err) => Found {
                name,
                frame: fname.clone(),
                lpar_id,
                object: None,
                status: base,
                unknown: Some(format!("its listing on {fname} could not be read: {err}")),
            },
        });
    }
    Ok(())
}

/// The profile a partition runs with (`curr_profile`) or, never activated, the one it
/// activates with (`default_profile`); a partition with a single profile has that one.
pub(super) fn profile_of<'l>(profiles: &BTreeMap<&str, Vec<&'l Record>>, lpar: &Record) -> Option<&'l Record> {
    let mine = profiles.get(lpar.get("name")?.as_str())?;
    let wanted = ["curr_profile", "default_profile"]
        .iter()
        .filter_map(|k| lpar.get(*k))
        .find(|v| !v.is_empty() && *v != "null" && *v != "none");
    let only = || (mine.len() == 1).then(|| mine[0]);
    match wanted {
        Some(w) => mine.iter().copied().find(|p| p.get("name") == Some(w)).or_else(only),
        None => only(),
    }
}

/// The virtual slots a VIOS's profile keeps (`virtual_eth_adapters`), `None` when none was
/// listed.
pub(super) fn profile_slots(prof: Option<&Record>) -> Option<BTreeSet<u16>> {
    let v = prof?.get("virtual_eth_adapters")?;
    Some(v.split(',').filter_map(|e| e.split('/').next()?.parse().ok()).collect())
}

/// A partition's profile and the configuration it runs with now (its profile's, with the
/// memory and processors it has).
pub(super) fn partition_spec(
    frame: &FrameName,
    prof: &Record,
    mem: Option<&Record>,
    proc: Option<&Record>,
    pool_vios: &[ViosName],
) -> Result<(PartitionSpec, PartitionSpec), ParseError> {
    let (processors, memory) = powerplane_model::read_profile(|k| prof.get(k).map(String::as_str), pool_vios)
        .map_err(|e| ParseError::Field { record: "profile", key: e.attribute, problem: e.problem })?;
    let profile = PartitionSpec {
        placement: Placement::Frame(frame.clone()),
        state: RunState::Running,
        processors,
        memory,
        network: Vec::new(),
        storage: Vec::new(),
        hooks: Default::default(),
        shutdown: Default::default(),
    };
    let mut now = profile.clone();
    if let Some(m) = mem {
        now.memory.desired_mb = MemoryMb(num(m, "memory", "curr_mem")?);
    }
    if let Some(p) = proc {
        now.processors.units = match now.processors.mode {
            ProcMode::Shared => units(p, "processors", "curr_proc_units")?,
            ProcMode::Dedicated => ProcUnits::whole(num(p, "processors", "curr_procs")?),
        };
        if now.processors.mode == ProcMode::Shared {
            now.processors.r#virtual = Some(num(p, "processors", "curr_procs")?);
        }
    }
    Ok((profile, now))
}

/// `lslparmigr` of one partition: `None` when it is not migrating.
pub(super) fn migration(r: &Record) -> Result<Option<MigrationStatus>, ParseError> {
    const M: &str = "migration";
    let state = match get(r, M, "migration_state")? {
        "Not Migrating" => return Ok(None),
        s => word::<MigrationState>(M, "migration_state", s)?,
    };
    let failed = state == MigrationState::Failed;
    let sent: u64 = r.get("bytes_transmitted").and_then(|v| v.parse().ok()).unwrap_or(0);
    let left: u64 = r.get("bytes_remaining").and_then(|v| v.parse().ok()).unwrap_or(0);
    let total = (sent + left).max(1);
    Ok(Some(MigrationStatus {
        to: named(M, "dest_sys_name", get(r, M, "dest_sys_name")?)?,
        state,
        percent: (sent * 100 / total).min(100) as u8,
        // The HMC gives bytes, not time: the rest at the rate of the default estimate.
        remaining_secs: if failed {
            0
        } else {
            (left as f64 / (1u64 << 30) as f64 * powerplane_model::plan::Rates::default().lpm_seconds_per_gb as f64)
                .ceil() as u64
        },
    }))
}
