//! What the emulated HMC lists: `lssyscfg`, `lshwres`, `lslparmigr` (the VIOS's own listings
//! through `viosvrcmd` are in `vios_listings.rs`), rendered from the simulator's state in the
//! formats the seeds show. Each listing is a list of rows of `(attribute, value)`, printed as
//! `key=value` pairs or, with `-F`, as the values asked for.

use powerplane_model::manifest::{MemoryMode, PartitionSpec, ProcMode, Sharing};
use std::collections::BTreeMap;

use powerplane_model::{DeviceName, FrameName, ProcPoolName, ViosName};

use crate::sim::state::{Migration, SimFrame, SimPartition, SimState};

/// One listed object: its attributes in the HMC's order.
pub(crate) type Row = Vec<(&'static str, String)>;

fn yes(b: bool) -> String {
    if b { "1" } else { "0" }.to_owned()
}

fn or_none(v: Option<impl ToString>) -> String {
    v.map_or_else(|| "none".to_owned(), |v| v.to_string())
}

/// `lssyscfg -r sys`.
pub(crate) fn sys(s: &SimState, managed: &dyn Fn(&FrameName) -> bool) -> Vec<Row> {
    s.frames
        .iter()
        .filter(|(n, _)| managed(n))
        .map(|(n, f)| {
            let modes: Vec<String> = f.hw.compat_modes.iter().map(ToString::to_string).collect();
            vec![
                ("name", n.to_string()),
                ("type_model", f.hw.machine_type.clone()),
                ("serial_num", f.hw.serial.clone()),
                ("state", f.state.as_str().to_owned()),
                ("lpar_proc_compat_modes", modes.join(",")),
            ]
        })
        .collect()
}

/// `lshwres -r mem -m SYS --level sys`.
pub(crate) fn sys_mem(f: &SimFrame) -> Vec<Row> {
    let free = crate::sim::capacity::free(f);
    vec![vec![
        ("configurable_sys_mem", f.hw.memory_mb.0.to_string()),
        ("curr_avail_sys_mem", free.memory.0.to_string()),
    ]]
}

/// `lshwres -r proc -m SYS --level sys`.
pub(crate) fn sys_proc(f: &SimFrame) -> Vec<Row> {
    let free = crate::sim::capacity::free(f);
    vec![vec![
        ("configurable_sys_proc_units", f.hw.proc_units.to_string()),
        ("curr_avail_sys_proc_units", free.procs.to_string()),
    ]]
}

/// Partition ids: the VIOS first, in the inventory's order, then the partitions by name, then
/// the shells of migrations arriving, then the inactive profile copies (last, so that a
/// migration shifts no other id). A real HMC lists a migrating partition on both frames
/// (`lpm-js22-walkthrough.txt`, Figure 13).
pub(crate) fn lpar_ids(f: &SimFrame) -> Vec<(String, u32, Option<&SimPartition>)> {
    let vios = f.hw.vios.iter().map(|v| (v.name.to_string(), None));
    let parts = f.partitions.iter().filter(|(_, p)| !p.is_shell()).map(|(n, p)| (n.to_string(), Some(p)));
    let shells = f.partitions.iter().filter(|(_, p)| p.is_shell()).map(|(n, p)| (n.to_string(), Some(p)));
    let copies = f.copies.iter().map(|(n, p)| (n.to_string(), Some(p)));
    vios.chain(parts).chain(shells).chain(copies).zip(1..).map(|((n, p), id)| (n, id, p)).collect()
}

/// Whether a partition in `state` holds its resources (its current values are what it has;
/// otherwise the HMC lists 0).
fn holds(p: &SimPartition) -> bool {
    crate::sim::capacity::holds_resources(&p.state)
}

pub(super) fn id_of(f: &SimFrame, name: &str) -> u32 {
    lpar_ids(f).into_iter().find(|(n, _, _)| n == name).map_or(0, |(_, id, _)| id)
}

/// `lssyscfg -r lpar -m SYS`.
pub(crate) fn lpar(f: &SimFrame) -> Vec<Row> {
    lpar_ids(f)
        .into_iter()
        .map(|(name, id, p)| {
            let (env, state, rmc, msp, profile) = match p {
                Some(p) => ("aixlinux", p.state.as_str(), p.rmc, false, p.profiles.current.to_string()),
                None => {
                    let v = &f.vios[name.as_str()];
                    let msp = f.hw.vios.iter().any(|h| h.name.as_str() == name && h.msp);
                    ("vioserver", v.state.as_str(), v.rmc, msp, v.profiles.current.to_string())
                }
            };
            vec![
                ("name", name),
                ("lpar_id", id.to_string()),
                ("lpar_env", env.to_owned()),
                ("state", state.to_owned()),
                ("rmc_state", if rmc { "active" } else { "inactive" }.to_owned()),
                ("msp", if env == "vioserver" { yes(msp) } else { "null".to_owned() }),
                // The simulator activates with the one profile it uses: the last activated
                // (`curr_profile`) and the one to activate with (`default_profile`) alike.
                ("curr_profile", profile.clone()),
                ("default_profile", profile),
            ]
        })
        .collect()
}

/// `lssyscfg -r prof -m SYS`: the profile each partition and VIOS uses (for one running below
/// its profile or changed by DLPAR alone, the profile's values, not what it has), then each
/// one's other profiles.
pub(crate) fn prof(f: &SimFrame) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut others: Vec<&[powerplane_model::ProfileName]> = Vec::new();
    for h in &f.hw.vios {
        let profiles = &f.vios[&h.name].profiles;
        others.push(&profiles.others);
        let units = h.proc_units.to_string();
        let mem = h.memory_mb.0.to_string();
        let saved: Vec<String> = trunk_slots(f, &h.name)
            .into_iter()
            .filter(|t| t.saved)
            .map(|t| format!("{}/1/{}//1/0", t.slot, t.pvid))
            .collect();
        rows.push(vec![
            ("lpar_name", h.name.to_string()),
            ("name", profiles.current.to_string()),
            ("min_mem", mem.clone()),
            ("desired_mem", mem.clone()),
            ("max_mem", mem),
            ("mem_mode", "ded".to_owned()),
            ("proc_mode", "shared".to_owned()),
            ("min_proc_units", units.clone()),
            ("desired_proc_units", units.clone()),
            ("max_proc_units", units),
            ("min_procs", "1".to_owned()),
            ("desired_procs", h.proc_units.hundredths().div_ceil(100).max(1).to_string()),
            ("max_procs", h.proc_units.hundredths().div_ceil(100).max(1).to_string()),
            ("sharing_mode", "uncap".to_owned()),
            ("uncap_weight", "255".to_owned()),
            ("shared_proc_pool_name", "DefaultPool".to_owned()),
            ("lpar_proc_compat_mode", "default".to_owned()),
            ("primary_paging_vios_name", "none".to_owned()),
            ("secondary_paging_vios_name", "none".to_owned()),
            ("virtual_eth_adapters", if saved.is_empty() { "none".to_owned() } else { saved.join(",") }),
            // The simulator models no physical slots of a VIOS.
            ("io_slots", "none".to_owned()),
        ]);
    }
    for (name, p) in f.partitions.iter().filter(|(_, p)| !p.is_shell()).chain(&f.copies) {
        others.push(&p.profiles.others);
        let spec: &PartitionSpec = p.profile.as_deref().unwrap_or(&p.spec);
        let m = &spec.memory;
        let pr = &spec.processors;
        let (min_u, units, max_u) = pr.units_range();
        let (min_vp, vp, max_vp) = match pr.mode {
            ProcMode::Shared => pr.virtual_range(),
            ProcMode::Dedicated => (min_u.hundredths() / 100, units.hundredths() / 100, max_u.hundredths() / 100),
        };
        let shared = pr.mode == ProcMode::Shared;
        let paging = p.paging.as_ref();
        let eth: Vec<String> =
            spec.network.iter().enumerate().map(|(i, n)| format!("{}/0/{}//0/0", i + 2, n.vlan)).collect();
        rows.push(vec![
            ("lpar_name", name.to_string()),
            ("name", p.profiles.current.to_string()),
            ("min_mem", m.min_or_default().0.to_string()),
            ("desired_mem", m.desired_mb.0.to_string()),
            ("max_mem", m.max_mb.0.to_string()),
            ("mem_mode", if m.mode == MemoryMode::Shared { "shared" } else { "ded" }.to_owned()),
            ("proc_mode", if shared { "shared" } else { "ded" }.to_owned()),
            ("min_proc_units", if shared { min_u.to_string() } else { "null".to_owned() }),
            ("desired_proc_units", if shared { units.to_string() } else { "null".to_owned() }),
            ("max_proc_units", if shared { max_u.to_string() } else { "null".to_owned() }),
            ("min_procs", min_vp.to_string()),
            ("desired_procs", vp.to_string()),
            ("max_procs", max_vp.to_string()),
            (
                "sharing_mode",
                match (pr.mode, pr.sharing) {
                    (ProcMode::Dedicated, _) => "share_idle_procs",
                    (_, Sharing::Uncapped) => "uncap",
                    (_, Sharing::Capped) => "cap",
                }
                .to_owned(),
            ),
            ("uncap_weight", if shared { pr.uncapped_weight().to_string() } else { "0".to_owned() }),
            ("shared_proc_pool_name", if shared { pr.pool_or_default().to_string() } else { "null".to_owned() }),
            ("lpar_proc_compat_mode", pr.compat.as_ref().map_or_else(|| "default".to_owned(), |c| c.to_string())),
            ("primary_paging_vios_name", or_none(paging.map(|p| &p.primary))),
            ("secondary_paging_vios_name", or_none(paging.and_then(|p| p.secondary.as_ref()))),
            ("virtual_eth_adapters", if eth.is_empty() { "none".to_owned() } else { eth.join(",") }),
            // `io_slots=none` or `DRC/pool/required,…` (tests/fixtures/hmc/lssyscfg-r-prof.power5-v7.txt).
            ("io_slots", {
                let slots: Vec<_> = f.hw.io_slots.iter().filter(|a| &a.partition == name).map(|a| a.slot()).collect();
                powerplane_model::physical_io::render_io_slots(&slots)
            }),
        ]);
    }
    // A partition's or VIOS's other profiles (an inventory's have `backup`), listed after the
    // ones in use: the minimums as desired, no virtual adapters saved (a partition may have
    // several profiles: IBM's `lssyscfg` man page; `tests/fixtures/hmc/
    // lssyscfg-r-prof-F-PROF.power9-v10r3.reconstructed.txt`). The backend must read the one
    // `curr_profile`/`default_profile` names, not the last one listed.
    let more: Vec<Row> =
        rows.iter().zip(others).flat_map(|(row, names)| names.iter().map(|n| other_profile(row, n))).collect();
    rows.extend(more);
    rows
}

/// Another profile, `name`, of a partition whose profile row is `p`.
fn other_profile(p: &Row, name: &powerplane_model::ProfileName) -> Row {
    let get = |k: &str| p.iter().find(|(a, _)| *a == k).map(|(_, v)| v.clone()).unwrap_or_default();
    p.iter()
        .map(|(k, v)| {
            let v = match *k {
                "name" => name.to_string(),
                "desired_mem" => get("min_mem"),
                "desired_proc_units" => get("min_proc_units"),
                "desired_procs" => get("min_procs"),
                "virtual_eth_adapters" => "none".to_owned(),
                _ => v.clone(),
            };
            (*k, v)
        })
        .collect()
}

/// `lshwres -r mem -m SYS --level lpar`: partitions only (the VIOS's memory is their
/// profile's); one not activated has 0 (IBM's `lshwres` man page;
/// `tests/fixtures/hmc/lshwres-r-mem-level-lpar.power5-v7.txt`).
pub(crate) fn lpar_mem(f: &SimFrame) -> Vec<Row> {
    lpar_ids(f)
        .into_iter()
        .filter_map(|(n, id, p)| Some((n, id, p?)))
        .filter(|(_, _, p)| !p.is_shell())
        .map(|(n, id, p)| {
            let mem = if holds(p) { p.spec.memory.desired_mb.0 } else { 0 };
            vec![
                ("lpar_name", n),
                ("lpar_id", id.to_string()),
                ("curr_mem", mem.to_string()),
                ("curr_paging_vios_name", or_none(p.paging.as_ref().and_then(|pg| pg.current.as_ref()))),
            ]
        })
        .collect()
}

/// `lshwres -r proc -m SYS --level lpar`; 0 for a partition not activated.
pub(crate) fn lpar_proc(f: &SimFrame) -> Vec<Row> {
    lpar_ids(f)
        .into_iter()
        .filter_map(|(n, id, p)| Some((n, id, p?)))
        .filter(|(_, _, p)| !p.is_shell())
        .map(|(n, id, p)| {
            let pr = &p.spec.processors;
            let procs = match pr.mode {
                ProcMode::Shared => pr.virtual_processors(),
                ProcMode::Dedicated => pr.units.hundredths() / 100,
            };
            let (units, procs) =
                if holds(p) { (pr.units.to_string(), procs.to_string()) } else { ("0.0".to_owned(), "0".to_owned()) };
            vec![("lpar_name", n), ("lpar_id", id.to_string()), ("curr_proc_units", units), ("curr_procs", procs)]
        })
        .collect()
}

/// `lshwres -r procpool -m SYS`: all 64 pools of a frame, `DefaultPool` (id 0, no maximum:
/// `null`) and `SharedPool01`..`SharedPool63`; the configured ones carry their names (ids from
/// 1, in name order), the unused ones maximum 0 (pypowervm `tests/data/shrprocpool.txt`;
/// `tests/fixtures/hmc/lshwres-r-procpool.power9-64.reconstructed.txt`).
pub(crate) fn procpool(f: &SimFrame) -> Vec<Row> {
    let default = vec![
        ("name", "DefaultPool".to_owned()),
        ("shared_proc_pool_id", "0".to_owned()),
        ("max_pool_proc_units", "null".to_owned()),
        ("curr_reserved_pool_proc_units", "null".to_owned()),
    ];
    let slots = f.proc_pool_slots();
    let by_id: BTreeMap<u8, (&ProcPoolName, &crate::sim::state::SimProcPool)> =
        slots.ids.iter().filter_map(|(n, id)| Some((id.0, (n, f.proc_pools.get(n)?)))).collect();
    std::iter::once(default)
        .chain((1..64).map(|id| match by_id.get(&id) {
            Some((n, p)) => vec![
                ("name", n.to_string()),
                ("shared_proc_pool_id", id.to_string()),
                ("max_pool_proc_units", p.max.to_string()),
                ("curr_reserved_pool_proc_units", p.reserved.to_string()),
            ],
            None => vec![
                ("name", format!("SharedPool{id:02}")),
                ("shared_proc_pool_id", id.to_string()),
                ("max_pool_proc_units", "0".to_owned()),
                ("curr_reserved_pool_proc_units", "0.0".to_owned()),
            ],
        }))
        .collect()
}

/// `lshwres -r mempool -m SYS`: nothing when the frame has no shared memory pool.
pub(crate) fn mempool(f: &SimFrame) -> Vec<Row> {
    f.mem_pool
        .iter()
        .map(|m| {
            let vios: Vec<&str> = m.paging_vios.iter().map(ViosName::as_str).collect();
            vec![
                ("curr_pool_mem", m.pool_mem.0.to_string()),
                ("curr_max_pool_mem", m.max_pool_mem.0.to_string()),
                ("paging_vios_names", vios.join(",")),
            ]
        })
        .collect()
}

/// `lshwres -r mempool -m SYS --rsubtype pgdev`, with the seed's fields: a common device under
/// the pool's first paging VIOS with the second as its redundant side, an independent one under
/// the VIOS that sees it.
// seeds: ams-dual-vios-and-lpm.txt, Listing 1 (line 41).
pub(crate) fn pgdev(f: &SimFrame) -> Vec<Row> {
    let Some(m) = &f.mem_pool else { return Vec::new() };
    let id = |v: &ViosName| id_of(f, v.as_str()).to_string();
    let sees = |v: &ViosName, lun: &powerplane_model::Lun| {
        f.hw.vios.iter().any(|h| &h.name == v && h.disks.iter().any(|d| &d.lun == lun))
    };
    let loc = |d: &DeviceName, port: u8| {
        format!("U789D.001.{}-P1-C{port}-T1-L{}", f.hw.serial, d.as_str().trim_start_matches("hdisk"))
    };
    m.devices
        .iter()
        .map(|d| {
            let active = d.assigned.as_ref().and_then(|p| f.partitions.get(p)).is_some_and(|p| p.state.is_running());
            let state = if active { "Active" } else { "Inactive" };
            let vios = if d.redundant {
                m.paging_vios.first()
            } else {
                m.paging_vios.iter().find(|v| sees(v, &d.lun)).or(m.paging_vios.first())
            };
            let other = m.paging_vios.get(1).filter(|_| d.redundant);
            let none = || "none".to_owned();
            vec![
                ("device_name", d.device.to_string()),
                ("paging_vios_name", or_none(vios)),
                ("paging_vios_id", vios.map_or_else(none, id)),
                ("size", d.size.0.to_string()),
                ("type", "phys".to_owned()),
                ("state", state.to_owned()),
                ("phys_loc", loc(&d.device, 1)),
                ("is_redundant", yes(d.redundant)),
                ("redundant_device_name", other.map_or_else(none, |_| d.device.to_string())),
                ("redundant_paging_vios_name", or_none(other)),
                ("redundant_paging_vios_id", other.map_or_else(none, id)),
                ("redundant_state", other.map_or_else(none, |_| state.to_owned())),
                ("redundant_phys_loc", other.map_or_else(none, |_| loc(&d.device, 2))),
                ("lpar_name", or_none(d.assigned.as_ref())),
            ]
        })
        .collect()
}

/// A trunk adapter of a VIOS: its slot, VLANs and whether the profile has it.
pub(crate) struct TrunkSlot {
    pub slot: u16,
    pub device: Option<DeviceName>,
    pub pvid: powerplane_model::VlanId,
    pub vlans: Vec<powerplane_model::VlanId>,
    pub priority: u8,
    pub saved: bool,
}

/// The trunk adapters of `vios`: the inventory's (slot 2 on, in the order of its adapters)
/// that its SEA bridges or that a SEA on the frame names, and those DLPAR added.
pub(crate) fn trunk_slots(f: &SimFrame, vios: &ViosName) -> Vec<TrunkSlot> {
    let mut out = Vec::new();
    let Some(hw) = f.hw.vios.iter().find(|h| &h.name == vios) else { return out };
    let dlpar = f.vios.get(vios).map(|v| v.dlpar_eth.as_slice()).unwrap_or_default();
    let member = f.sea.as_ref().and_then(|s| s.members.get(vios).map(|m| (s, m)));
    let priority = member.map_or(1, |(_, m)| m.priority);
    for (i, dev) in hw.ethernet.iter().enumerate() {
        if dlpar.iter().any(|a| a.device.as_ref() == Some(dev)) {
            continue;
        }
        let trunk = f.sea.as_ref().and_then(|s| {
            s.members
                .get(vios)
                .map(|m| m.virt_adapters(s))
                .into_iter()
                .flatten()
                .chain(&s.trunks)
                .find(|t| &t.adapter == dev)
        });
        if let Some(t) = trunk {
            out.push(TrunkSlot {
                slot: 2 + i as u16,
                device: Some(dev.clone()),
                pvid: t.pvid,
                vlans: t.vlans.clone(),
                priority,
                saved: true,
            });
        }
    }
    for a in dlpar {
        out.push(TrunkSlot {
            slot: a.slot,
            device: a.device.clone(),
            pvid: a.pvid,
            vlans: a.vlans.clone(),
            priority: a.trunk_priority,
            saved: a.saved,
        });
    }
    out.sort_by_key(|t| t.slot);
    out
}

/// The columns every virtual adapter listing (`lshwres -r virtualio --rsubtype eth|scsi|fc
/// --level lpar`) begins with, in the recorded listings' order: the partition, the slot, and a
/// configured, not required adapter (tests/fixtures/hmc/README.md; seeds:
/// powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, lines 844-853).
pub(crate) fn adapter_columns(lpar: String, id: u32, slot: u16) -> Row {
    vec![
        ("lpar_name", lpar),
        ("lpar_id", id.to_string()),
        ("slot_num", slot.to_string()),
        ("state", "1".to_owned()),
        ("is_required", "0".to_owned()),
    ]
}

/// `lshwres -r virtualio --rsubtype eth -m SYS --level lpar`: the VIOS's trunk adapters, their
/// SEA control channel (`is_trunk=0`, no `trunk_priority`), and each partition's adapters (one
/// per VLAN, slot 2 on), with the seed's attributes in its order.
// seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, lines 844-853.
pub(crate) fn veth(f: &SimFrame) -> Vec<Row> {
    let vlans = |v: &[powerplane_model::VlanId]| v.iter().map(ToString::to_string).collect::<Vec<_>>().join(",");
    let mac = |id: u32, slot: u16| {
        format!(
            "76{:02X}{:02X}{:04X}{:02X}",
            f.hw.serial.len() % 256,
            id % 256,
            f.hw.serial.bytes().fold(0u16, |h, b| h.wrapping_mul(31).wrapping_add(u16::from(b))),
            slot % 256
        )
    };
    let row = |lpar: String, id: u32, slot: u16, trunk: Option<u8>, ieee: bool, pvid: String, addl: String| {
        let mut r = adapter_columns(lpar, id, slot);
        r.push(("is_trunk", yes(trunk.is_some())));
        if let Some(p) = trunk {
            r.push(("trunk_priority", p.to_string()));
        }
        r.extend([
            ("ieee_virtual_eth", yes(ieee)),
            ("port_vlan_id", pvid),
            ("vswitch", "ETHERNET0".to_owned()),
            ("addl_vlan_ids", addl),
            ("mac_addr", mac(id, slot)),
            ("allowed_os_mac_addrs", "all".to_owned()),
            ("qos_priority", "none".to_owned()),
        ]);
        r
    };
    let mut rows = Vec::new();
    for h in &f.hw.vios {
        let id = id_of(f, h.name.as_str());
        for t in trunk_slots(f, &h.name) {
            rows.push(row(h.name.to_string(), id, t.slot, Some(t.priority), true, t.pvid.to_string(), vlans(&t.vlans)));
        }
        let cc = f.sea.as_ref().filter(|s| s.members.contains_key(&h.name)).and_then(|s| s.control_channel.as_ref());
        if let Some(i) = cc.and_then(|cc| h.ethernet.iter().position(|d| d == cc)) {
            rows.push(row(h.name.to_string(), id, 2 + i as u16, None, false, "99".to_owned(), String::new()));
        }
    }
    for (n, id, p) in lpar_ids(f) {
        let Some(p) = p.filter(|p| !p.is_shell()) else { continue };
        for (i, net) in p.spec.network.iter().enumerate() {
            rows.push(row(n.clone(), id, (i + 2) as u16, None, false, net.vlan.to_string(), String::new()));
        }
    }
    rows
}

/// `lslparmigr -r sys -m SYS`: the frame's migration capability and what runs now.
pub(crate) fn lparmigr_sys(s: &SimState, f: &SimFrame) -> Vec<Row> {
    let l = crate::sim::observe::migration_limits(s, f);
    vec![vec![
        ("inactive_lpar_mobility_capable", "1".to_owned()),
        ("num_inactive_migrations_supported", l.inactive.to_string()),
        ("num_inactive_migrations_in_progress", l.inactive_in_progress.to_string()),
        ("active_lpar_mobility_capable", "1".to_owned()),
        ("num_active_migrations_supported", l.active.to_string()),
        ("num_active_migrations_in_progress", l.active_in_progress.to_string()),
    ]]
}

/// `lslparmigr -r lpar -m SYS`.
pub(crate) fn lparmigr(s: &SimState, f: &SimFrame) -> Vec<Row> {
    f.partitions
        .iter()
        .chain(&f.copies)
        .map(|(n, p)| {
            let mut row = vec![("name", n.to_string())];
            // The shell on the target lists the migration as its source does.
            let source = match &p.migration {
                Some(Migration::Inbound { from }) => s.frames.get(from).and_then(|src| src.partitions.get(n)),
                _ => Some(p),
            };
            match source.and_then(|p| p.migration.as_ref().map(|m| (p, m))) {
                Some((p, Migration::Outbound(o))) => {
                    let total = p.spec.memory.desired_mb.0 * 1024 * 1024;
                    let copied = o.bytes_copied(s.now_ms, total);
                    let st = o.status(s.now_ms);
                    row.extend([
                        ("migration_state", st.state.as_str().to_owned()),
                        ("migration_type", if o.active { "active" } else { "inactive" }.to_owned()),
                        ("dest_sys_name", o.to.to_string()),
                        ("source_msp_name", o.source_msp.as_ref().map(ToString::to_string).unwrap_or_default()),
                        ("dest_msp_name", o.dest_msp.as_ref().map(ToString::to_string).unwrap_or_default()),
                        ("bytes_transmitted", copied.to_string()),
                        ("bytes_remaining", total.saturating_sub(copied).to_string()),
                    ]);
                }
                _ => row.extend([
                    ("migration_state", "Not Migrating".to_owned()),
                    ("migration_type", String::new()),
                    ("dest_sys_name", String::new()),
                    ("source_msp_name", String::new()),
                    ("dest_msp_name", String::new()),
                    ("bytes_transmitted", String::new()),
                    ("bytes_remaining", String::new()),
                ]),
            }
            row
        })
        .collect()
}

pub(super) fn frame_name(s: &SimState, f: &SimFrame) -> FrameName {
    s.frames.iter().find(|(_, x)| std::ptr::eq(*x, f)).map(|(n, _)| n.clone()).expect("the frame is in the state")
}
