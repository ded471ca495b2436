//! The emulated HMC's changing commands, read back into the simulator's operations: the
//! inverse of `Op::command` (`model/src/hmc_command.rs`), so that the line an operator reviewed
//! in `plan --format hmc` is the line the emulator carries out. What a command line does not
//! say (the VLANs of the trunk adapters a `mkvdev -sea` names, the partition's current memory
//! a DLPAR `-q` adds to) is read from the simulated frame, as the HMC reads it from the
//! hypervisor.

use std::collections::BTreeMap;

use powerplane_model::action::{ChangeMethod, PartitionChange};
use powerplane_model::manifest::{NetworkSpec, PartitionSpec, Placement, RunState, StorageVia, TrunkSpec};
use powerplane_model::status::SeaHaMode;
use powerplane_model::storage::ClientAdapter;
use powerplane_model::{
    DeviceName, FrameName, MemoryMb, Op, PartitionName, ProcPoolId, ProcPoolName, ProcUnits, ProfileName, ViosName,
    VlanId,
};

use super::vios_commands::vios_command;
use crate::sim::state::{SimFrame, SimState};

/// Options of one command line: `-x value` and `--flag`.
pub(crate) struct Opts<'a> {
    pub cmd: &'a str,
    values: BTreeMap<&'a str, &'a str>,
    flags: Vec<&'a str>,
}

impl<'a> Opts<'a> {
    /// Reads `words` (the command first), refusing what the command's syntax refuses
    /// (syntax.rs).
    pub(crate) fn parse(words: &'a [String]) -> Result<Self, String> {
        let cmd = words.first().map(String::as_str).unwrap_or("");
        super::syntax::check(words).map_err(|e| e.to_string())?;
        let mut values = BTreeMap::new();
        let mut flags = Vec::new();
        let mut it = words[1..].iter().map(String::as_str);
        while let Some(w) = it.next() {
            if !w.starts_with('-') {
                return Err(format!("{cmd}: unexpected argument \"{w}\""));
            }
            if super::syntax::arity(cmd, w) == Some(super::syntax::Arity::Flag) {
                flags.push(w);
            } else {
                let v = it.next().ok_or_else(|| format!("{cmd}: option {w} needs a value"))?;
                values.insert(w, v);
            }
        }
        Ok(Opts { cmd, values, flags })
    }

    /// The value of option `k`.
    pub(crate) fn get(&self, k: &str) -> Option<&'a str> {
        self.values.get(k).copied()
    }

    /// The value of option `k`, which the command needs.
    pub(crate) fn need(&self, k: &str) -> Result<&'a str, String> {
        self.get(k).ok_or_else(|| format!("{}: the {k} parameter is required", self.cmd))
    }

    /// Every option given, with a value or not.
    pub(crate) fn names(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.values.keys().copied().chain(self.flags.iter().copied())
    }

    /// Whether flag `f` is given.
    pub(crate) fn flag(&self, f: &str) -> bool {
        self.flags.contains(&f)
    }
}

pub(super) fn name<T: std::str::FromStr>(what: &str, v: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    v.parse().map_err(|e| format!("{what} {v:?}: {e}"))
}

pub(super) fn number<T: std::str::FromStr>(what: &str, v: &str) -> Result<T, String> {
    v.parse().map_err(|_| format!("The value \"{v}\" for {what} is not valid."))
}

pub(crate) fn units(what: &str, v: &str) -> Result<ProcUnits, String> {
    v.parse::<f64>()
        .ok()
        .and_then(ProcUnits::from_decimal)
        .ok_or_else(|| format!("The value \"{v}\" for {what} is not valid."))
}

/// `-a "k=v,k=v,\"k=v1,v2\""` / `-i "..."`: the HMC's attribute list.
fn attrs(v: &str) -> Result<BTreeMap<String, String>, String> {
    crate::backend::hmc::parse_line(v, 1).map_err(|e| format!("The attribute list \"{v}\" is not valid: {e}"))
}

fn frame<'s>(s: &'s SimState, o: &Opts<'_>) -> Result<(FrameName, &'s SimFrame), String> {
    let m: FrameName = name("managed system", o.need("-m")?)?;
    let f = s.frames.get(&m).ok_or_else(|| format!("The managed system {m} was not found."))?;
    Ok((m, f))
}

pub(super) fn sea_mode(v: &str) -> Result<SeaHaMode, String> {
    serde_json::from_value(serde_json::Value::String(v.to_owned()))
        .map_err(|_| format!("\"{v}\" is not a valid value for ha_mode"))
}

/// The trunk adapters named on `vios`, with the VLANs the frame's adapters carry.
pub(super) fn trunks_named(
    f: &SimFrame,
    vios: &ViosName,
    names: &str,
    default_pvid: Option<u16>,
) -> Result<Vec<TrunkSpec>, String> {
    let slots = super::listings::trunk_slots(f, vios);
    names
        .split(',')
        .filter(|n| !n.is_empty())
        .map(|n| {
            let dev: DeviceName = name("adapter", n)?;
            match slots.iter().find(|t| t.device.as_ref() == Some(&dev)) {
                Some(t) => Ok(TrunkSpec { adapter: dev, pvid: t.pvid, vlans: t.vlans.clone() }),
                None => {
                    let pvid = VlanId::new(default_pvid.unwrap_or(1)).map_err(|e| e.to_string())?;
                    Ok(TrunkSpec { adapter: dev, pvid, vlans: Vec::new() })
                }
            }
        })
        .collect()
}

/// Reads one changing command into the operation it carries out, as an HMC at `version` takes
/// it (`migrlpar`'s options differ by version: [`super::migrlpar`]).
pub(crate) fn parse_for(
    s: &SimState,
    words: &[String],
    version: &powerplane_model::console::HmcVersion,
) -> Result<Op, String> {
    let o = Opts::parse(words)?;
    let is_vios = |f: &SimFrame, n: &str| f.hw.vios.iter().any(|h| h.name.as_str() == n);
    match o.cmd {
        "viosvrcmd" => {
            let (m, f) = frame(s, &o)?;
            let vios: ViosName = name("partition", o.need("-p")?)?;
            if !is_vios(f, vios.as_str()) {
                return Err(format!("The partition {vios} is not a Virtual I/O Server partition."));
            }
            let inner = shlex::split(o.need("-c")?)
                .ok_or_else(|| "viosvrcmd: the -c command is not quoted correctly".to_owned())?;
            vios_command(f, m, vios, &inner)
        }
        "chsysstate" => {
            let (m, f) = frame(s, &o)?;
            let n = o.need("-n")?;
            // `-f PROFILE`; without it the HMC activates with the current configuration (IBM's
            // `chsysstate` man page), which in the simulator is the profile in use.
            let given: Option<ProfileName> = o.get("-f").map(|p| name("profile", p)).transpose()?;
            match (o.need("-o")?, is_vios(f, n)) {
                ("on", true) => {
                    let vios: ViosName = name("partition", n)?;
                    let profile = given
                        .or_else(|| f.vios.get(&vios).map(|v| v.profiles.current.clone()))
                        .unwrap_or_else(ProfileName::hmc_default);
                    Ok(Op::StartVios { frame: m, vios, profile })
                }
                ("on", false) => {
                    let partition: PartitionName = name("partition", n)?;
                    let profile = given
                        .or_else(|| f.partitions.get(&partition).map(|p| p.profiles.current.clone()))
                        .unwrap_or_else(ProfileName::hmc_default);
                    Ok(Op::StartPartition { frame: m, partition, profile, force: o.flag("--force") })
                }
                // powerplane shuts a VIOS down through its operating system only (its SEA
                // failover and paging switch come first, over RMC).
                ("osshutdown", true) if !o.flag("--immed") => {
                    Ok(Op::StopVios { frame: m, vios: name("partition", n)? })
                }
                ("osshutdown" | "shutdown", true) => Err(format!(
                    "chsysstate: the emulated HMC shuts a Virtual I/O Server down with -o osshutdown only, not -o {}",
                    o.need("-o")?
                )),
                // IBM's `chsysstate` man page: `-o osshutdown` (the operating system's, `--immed`
                // its immediate one), `-o shutdown` (delayed), `-o shutdown --immed`.
                (op @ ("osshutdown" | "shutdown"), false) => {
                    use powerplane_model::action::ShutdownMethod as M;
                    let how = match (op, o.flag("--immed")) {
                        ("osshutdown", false) => M::Os,
                        ("osshutdown", true) => M::OsImmediate,
                        ("shutdown", false) => M::Delayed,
                        _ => M::Immediate,
                    };
                    Ok(Op::StopPartition { frame: m, partition: name("partition", n)?, how })
                }
                (op, _) => Err(format!("chsysstate: the operation {op} is not supported here")),
            }
        }
        "rmsyscfg" => {
            let (m, f) = frame(s, &o)?;
            let n: PartitionName = name("partition", o.need("-n")?)?;
            // An inactive profile copy is an LPAR like any: removed alike.
            if f.copies.contains_key(&n) {
                return Ok(Op::RemoveProfileCopy { frame: m, name: n });
            }
            Ok(Op::DeletePartition { frame: m, partition: n })
        }
        "mksyscfg" => {
            let (m, f) = frame(s, &o)?;
            match (o.need("-r")?, o.get("-o")) {
                ("prof", Some("save")) => Ok(Op::SaveProfile {
                    frame: m,
                    vios: name("partition", o.need("-p")?)?,
                    profile: name("profile", o.need("-n")?)?,
                }),
                // An LPAR with the name of a partition on another frame is a profile copy
                // (VCS's procedure restoring the one a migration took).
                ("lpar", None) => match create(m, f, &attrs(o.need("-i")?)?)? {
                    Op::CreatePartition { frame, partition, spec, paging_vios, profile, .. }
                        if s.frames.iter().any(|(n, other)| {
                            n != &frame && other.partitions.get(&partition).is_some_and(|p| !p.is_shell())
                        }) =>
                    {
                        Ok(Op::RestoreProfileCopy { frame, partition, spec, paging_vios, profile })
                    }
                    op => Ok(op),
                },
                (r, op) => Err(format!("mksyscfg: -r {r} {} is not supported here", op.unwrap_or(""))),
            }
        }
        "chsyscfg" => {
            let (m, f) = frame(s, &o)?;
            let a = attrs(o.need("-i")?)?;
            // `-r lpar -i "name=X,new_name=Y"`: a rename (of a profile copy, here).
            if o.need("-r")? == "lpar" {
                let need = |k: &str| a.get(k).ok_or_else(|| format!("chsyscfg: the attribute {k} is required here"));
                return Ok(Op::RenameProfileCopy {
                    frame: m,
                    name: name("partition", need("name")?)?,
                    new_name: name("partition", need("new_name")?)?,
                });
            }
            let lpar: PartitionName = name("partition", a.get("lpar_name").map_or("", String::as_str))?;
            let p = f.partitions.get(&lpar).ok_or_else(|| format!("The partition {lpar} was not found."))?;
            let profile: ProfileName = name("profile", a.get("name").map_or("", String::as_str))?;
            let pr = &p.spec.processors;
            let mut change = PartitionChange { method: ChangeMethod::Profile, ..Default::default() };
            if let Some(v) = a.get("desired_mem") {
                change.memory = Some((p.spec.memory.desired_mb, MemoryMb(number("desired_mem", v)?)));
            }
            if let Some(v) = a.get("desired_proc_units") {
                change.units = Some((pr.units, units("desired_proc_units", v)?));
            }
            if let Some(v) = a.get("desired_procs") {
                change.r#virtual = Some((pr.virtual_processors(), number("desired_procs", v)?));
            }
            match (a.get("primary_paging_vios_name"), a.get("secondary_paging_vios_name")) {
                (None, None) => {}
                (Some(p), Some(s)) => change.paging_vios = Some((name("paging VIOS", p)?, name("paging VIOS", s)?)),
                _ => {
                    return Err(
                        "chsyscfg: primary_paging_vios_name and secondary_paging_vios_name are changed together here"
                            .to_owned(),
                    );
                }
            }
            Ok(Op::UpdatePartition { frame: m, partition: lpar, profile, change })
        }
        "chhwres" => chhwres(s, &o),
        "migrlpar" => super::migrlpar::parse(s, &o, version),
        other => Err(format!("{other}: not a changing command")),
    }
}

fn chhwres(s: &SimState, o: &Opts<'_>) -> Result<Op, String> {
    let (m, f) = frame(s, o)?;
    let op = o.need("-o")?;
    match (o.need("-r")?, o.get("--rsubtype")) {
        // `-o s {--poolname NAME | --poolid N} -a "[new_name=…,]max_pool_proc_units=…,…"`:
        // pools 1-63 always exist; an unused one (maximum 0) is configured by its id and named
        // with `new_name` (IBM's `chhwres` man page).
        ("procpool", _) => {
            if op != "s" {
                return Err(format!("chhwres: the operation {op} is not valid for shared processor pools; use -o s"));
            }
            let slots = f.proc_pool_slots();
            let a = attrs(o.need("-a")?)?;
            let (id, current) = match (o.get("--poolid"), o.get("--poolname")) {
                (Some(_), Some(_)) => return Err("chhwres: --poolname and --poolid are mutually exclusive".to_owned()),
                (Some(id), None) => {
                    let id = id
                        .parse::<u8>()
                        .ok()
                        .filter(|i| (1..=ProcPoolId::MAX).contains(i))
                        .map(ProcPoolId)
                        .ok_or_else(|| format!("The shared processor pool ID {id} is not valid."))?;
                    (id, slots.ids.iter().find(|(_, i)| **i == id).map(|(n, _)| n.clone()))
                }
                (None, Some(n)) => {
                    let n = name("pool", n)?;
                    match (slots.ids.get(&n), slots.unused.iter().find(|u| ProcPoolName::unused(**u) == n)) {
                        (Some(id), _) => (*id, Some(n)),
                        // An unused pool goes by the name the HMC gives it, `SharedPoolNN`.
                        (None, Some(id)) => (*id, None),
                        (None, None) => {
                            return Err(format!(
                                "The shared processor pool {n} could not be found on the managed system."
                            ));
                        }
                    }
                }
                (None, None) => return Err("chhwres: the --poolname or --poolid parameter is required".to_owned()),
            };
            let new_name = a.get("new_name").map(|n| name("pool", n)).transpose()?;
            let max = units("max_pool_proc_units", a.get("max_pool_proc_units").map_or("", String::as_str))?;
            // In whole processors, as the HMC's help says of a pool's maximum.
            if !max.hundredths().is_multiple_of(100) {
                return Err(format!(
                    "The maximum processing units of a shared processor pool must be a whole number, not {max}."
                ));
            }
            let reserved = a
                .get("reserved_pool_proc_units")
                .map_or(Ok(ProcUnits::from_hundredths(0)), |v| units("reserved_pool_proc_units", v))?;
            // Maximum 0: unconfigured, an unused pool again, under the name the HMC gives one.
            if max == ProcUnits::default() {
                return match (current, new_name) {
                    (Some(pool), None) => Ok(Op::RemoveSharedProcessorPool { frame: m, pool_id: id, pool }),
                    (Some(pool), Some(n)) if n == ProcPoolName::unused(id) => {
                        Ok(Op::RemoveSharedProcessorPool { frame: m, pool_id: id, pool })
                    }
                    (Some(_), Some(n)) => Err(format!(
                        "chhwres: an unconfigured pool goes back to its name {}, not {n}",
                        ProcPoolName::unused(id)
                    )),
                    (None, _) => Err(format!("The shared processor pool with ID {id} is not configured.")),
                };
            }
            match (current, new_name) {
                (Some(pool), None) => Ok(Op::UpdateSharedProcessorPool { frame: m, pool_id: id, pool, max, reserved }),
                (Some(pool), Some(n)) if n == pool => {
                    Ok(Op::UpdateSharedProcessorPool { frame: m, pool_id: id, pool, max, reserved })
                }
                (Some(pool), Some(n)) => Err(format!(
                    "chhwres: renaming the shared processor pool {pool} to {n} is not supported by this emulator"
                )),
                (None, Some(pool)) => Ok(Op::CreateSharedProcessorPool { frame: m, pool_id: id, pool, max, reserved }),
                (None, None) => Err(format!(
                    "The shared processor pool with ID {id} is not configured: name it with new_name to configure it."
                )),
            }
        }
        ("mempool", Some("pgdev")) => {
            let vios = name("partition", o.need("-p")?)?;
            let device = name("device", o.need("--device")?)?;
            match op {
                "a" => Ok(Op::AddPagingDevice { frame: m, vios, device }),
                "r" => Ok(Op::RemovePagingDevice { frame: m, vios, device }),
                _ => Err(format!("chhwres: the operation {op} is not supported for paging devices")),
            }
        }
        ("mempool", None) => {
            let a = attrs(o.need("-a")?)?;
            let mb =
                |k: &str| -> Result<MemoryMb, String> { Ok(MemoryMb(number(k, a.get(k).map_or("", String::as_str))?)) };
            match op {
                "a" => {
                    let paging_vios = a
                        .get("paging_vios_names")
                        .map_or("", String::as_str)
                        .split(',')
                        .filter(|v| !v.is_empty())
                        .map(|v| name("paging VIOS", v))
                        .collect::<Result<_, _>>()?;
                    Ok(Op::CreateSharedMemoryPool {
                        frame: m,
                        pool_mem: mb("pool_mem")?,
                        max_pool_mem: mb("max_pool_mem")?,
                        paging_vios,
                    })
                }
                "s" => Ok(Op::UpdateSharedMemoryPool {
                    frame: m,
                    pool_mem: mb("pool_mem")?,
                    max_pool_mem: mb("max_pool_mem")?,
                }),
                _ => Err(format!("chhwres: the operation {op} is not supported for the memory pool")),
            }
        }
        ("virtualio", Some("eth")) => {
            let vios: ViosName = name("partition", o.need("-p")?)?;
            let a = attrs(o.need("-a")?)?;
            let pvid = VlanId::new(number("port_vlan_id", a.get("port_vlan_id").map_or("", String::as_str))?)
                .map_err(|e| e.to_string())?;
            let vlans = a
                .get("addl_vlan_ids")
                .map_or("", String::as_str)
                .split(',')
                .filter(|v| !v.is_empty())
                .map(|v| number::<u16>("addl_vlan_ids", v).and_then(|n| VlanId::new(n).map_err(|e| e.to_string())))
                .collect::<Result<Vec<_>, _>>()?;
            let priority = number("trunk_priority", a.get("trunk_priority").map_or("1", String::as_str))?;
            // The adapter's name is the one `cfgdev` will give it; the hypervisor only knows its slot.
            let next = DeviceName::ent(DeviceName::next_ent(
                f.hw.vios.iter().filter(|h| h.name == vios).flat_map(|h| &h.ethernet),
            ));
            Ok(Op::AddTrunkAdapter { frame: m, vios, trunk: TrunkSpec { adapter: next, pvid, vlans }, priority })
        }
        // `chhwres -r virtualio -m SYS -o a|r -p VIOS --rsubtype scsi|fc -s SLOT [-a
        // "adapter_type=server,remote_lpar_name=…,remote_slot_num=…"]`: a VIOS's server adapter
        // (tests/fixtures/hmc/README.md, "Storage provisioning").
        ("virtualio", Some(sub @ ("scsi" | "fc"))) => {
            let via = if sub == "scsi" { StorageVia::Vscsi } else { StorageVia::Npiv };
            let vios: ViosName = name("partition", o.need("-p")?)?;
            if !f.hw.vios.iter().any(|h| h.name == vios) {
                return Err(format!(
                    "chhwres: {vios} is not a Virtual I/O Server; powerplane's emulator adds server adapters only"
                ));
            }
            let slot: u16 = number("-s", o.need("-s")?)?;
            match op {
                "a" => {
                    let a = attrs(o.need("-a")?)?;
                    if a.get("adapter_type").map(String::as_str) != Some("server") {
                        return Err("chhwres: adapter_type=server is required here".to_owned());
                    }
                    let client: PartitionName =
                        name("remote_lpar_name", a.get("remote_lpar_name").map_or("", String::as_str))?;
                    let client_slot: u16 =
                        number("remote_slot_num", a.get("remote_slot_num").map_or("", String::as_str))?;
                    let used: Vec<DeviceName> = f
                        .vios
                        .get(&vios)
                        .map(|v| v.storage.iter().filter(|s| s.via == via).filter_map(|s| s.device.clone()).collect())
                        .unwrap_or_default();
                    let device = powerplane_model::storage::next_server_device(via, &used);
                    Ok(Op::AddServerAdapter { frame: m, vios, via, slot, client, client_slot, device })
                }
                "r" => {
                    let client = f
                        .vios
                        .get(&vios)
                        .and_then(|v| v.storage.iter().find(|s| s.slot == slot))
                        .map(|s| s.client.clone())
                        .ok_or_else(|| format!("There is no virtual I/O adapter in slot {slot} of {vios}."))?;
                    Ok(Op::RemoveServerAdapter { frame: m, vios, via, slot, client })
                }
                _ => Err(format!("chhwres: the operation {op} is not supported for virtual {sub} adapters")),
            }
        }
        ("mem", _) if op == "so" => Ok(Op::SwitchPagingVios { frame: m, partition: name("partition", o.need("-p")?)? }),
        ("mem", _) => {
            let lpar: PartitionName = name("partition", o.need("-p")?)?;
            let p = f.partitions.get(&lpar).ok_or_else(|| format!("The partition {lpar} was not found."))?;
            let q: u64 = number("-q", o.need("-q")?)?;
            let from = p.spec.memory.desired_mb;
            let to = if op == "r" { MemoryMb(from.0.saturating_sub(q)) } else { MemoryMb(from.0 + q) };
            // A bare `chhwres` changes what the partition has, not its profile.
            Ok(Op::UpdatePartition {
                frame: m,
                partition: lpar,
                profile: p.profiles.current.clone(),
                change: PartitionChange {
                    memory: Some((from, to)),
                    method: ChangeMethod::DlparOnly,
                    ..Default::default()
                },
            })
        }
        ("proc", _) => {
            let lpar: PartitionName = name("partition", o.need("-p")?)?;
            let p = f.partitions.get(&lpar).ok_or_else(|| format!("The partition {lpar} was not found."))?;
            let pr = &p.spec.processors;
            let mut change = PartitionChange { method: ChangeMethod::DlparOnly, ..Default::default() };
            if let Some(u) = o.get("--procunits") {
                let d = units("--procunits", u)?;
                let to = if op == "r" {
                    pr.units.saturating_sub(d)
                } else {
                    ProcUnits::from_hundredths(pr.units.hundredths() + d.hundredths())
                };
                change.units = Some((pr.units, to));
            }
            if let Some(n) = o.get("--procs") {
                let d: u32 = number("--procs", n)?;
                let from = pr.virtual_processors();
                change.r#virtual = Some((from, if op == "r" { from.saturating_sub(d) } else { from + d }));
            }
            Ok(Op::UpdatePartition { frame: m, partition: lpar, profile: p.profiles.current.clone(), change })
        }
        (r, sub) => Err(format!(
            "chhwres: -r {r}{} is not supported here",
            sub.map(|s| format!(" --rsubtype {s}")).unwrap_or_default()
        )),
    }
}

/// `mksyscfg -r lpar -i "name=...,..."`: the partition its profile describes.
fn create(frame: FrameName, f: &SimFrame, a: &BTreeMap<String, String>) -> Result<Op, String> {
    let get = |k: &str| a.get(k).map(String::as_str);
    let need = |k: &str| get(k).ok_or_else(|| format!("mksyscfg: the attribute {k} is required"));
    let partition: PartitionName = name("partition", need("name")?)?;
    let pool_vios: Vec<ViosName> = f.mem_pool.as_ref().map(|m| m.paging_vios.clone()).unwrap_or_default();
    let (processors, memory) = powerplane_model::read_profile(get, &pool_vios)
        .map_err(|e| format!("mksyscfg: the attribute {} {}", e.attribute, e.problem))?;
    let primary: Option<ViosName> = get("primary_paging_vios_name").map(|v| name("paging VIOS", v)).transpose()?;
    let secondary: Option<ViosName> = get("secondary_paging_vios_name").map(|v| name("paging VIOS", v)).transpose()?;
    let network = match get("virtual_eth_adapters") {
        None | Some("none") => Vec::new(),
        Some(v) => v
            .split(',')
            .map(|e| {
                let vlan = e.split('/').nth(2).unwrap_or("");
                Ok(NetworkSpec { vlan: VlanId::new(number("virtual_eth_adapters", vlan)?).map_err(|e| e.to_string())? })
            })
            .collect::<Result<_, String>>()?,
    };
    let spec = PartitionSpec {
        placement: Placement::Frame(frame.clone()),
        state: if get("boot_mode") == Some("norm") { RunState::Stopped } else { RunState::Running },
        processors,
        memory,
        network,
        storage: Vec::new(),
        hooks: Default::default(),
        shutdown: Default::default(),
    };
    let paging_vios = [primary, secondary].into_iter().flatten().collect();
    let profile = name("profile", need("profile_name")?)?;
    let mut adapters = client_adapters(f, get("virtual_scsi_adapters"), StorageVia::Vscsi)?;
    adapters.extend(client_adapters(f, get("virtual_fc_adapters"), StorageVia::Npiv)?);
    Ok(Op::CreatePartition { frame, partition, spec: Box::new(spec), paging_vios, profile, adapters })
}

/// A profile's `virtual_scsi_adapters` (`slot/client/remote_lpar_id/remote_lpar_name/
/// remote_slot_num/is_required`) or `virtual_fc_adapters` (`…/remote_slot_num/wwpns/
/// is_required`) client adapters: the VIOS by name, or by id when the name is empty
/// (tests/fixtures/hmc/README.md, "Storage provisioning").
fn client_adapters(f: &SimFrame, list: Option<&str>, via: StorageVia) -> Result<Vec<ClientAdapter>, String> {
    let attr = match via {
        StorageVia::Vscsi => "virtual_scsi_adapters",
        StorageVia::Npiv => "virtual_fc_adapters",
    };
    let Some(list) = list.filter(|l| *l != "none") else { return Ok(Vec::new()) };
    let ids = super::listings::lpar_ids(f);
    list.split(',')
        .map(|item| {
            let w: Vec<&str> = item.split('/').collect();
            let fields = match via {
                StorageVia::Vscsi => 6,
                StorageVia::Npiv => 7,
            };
            if w.len() != fields || w[1] != "client" {
                return Err(format!("The value \"{item}\" for {attr} is not valid."));
            }
            let remote = match (w[3], w[2]) {
                ("", id) => ids
                    .iter()
                    .find(|(_, i, _)| i.to_string() == id)
                    .map(|(n, _, _)| n.clone())
                    .ok_or_else(|| format!("The value \"{item}\" for {attr} names no partition."))?,
                (n, _) => n.to_owned(),
            };
            let vios: ViosName = name("remote_lpar_name", &remote)?;
            if !f.hw.vios.iter().any(|h| h.name == vios) {
                return Err(format!("The partition {vios} named in {attr} is not a Virtual I/O Server partition."));
            }
            Ok(ClientAdapter { via, slot: number(attr, w[0])?, vios, server_slot: number(attr, w[4])? })
        })
        .collect()
}
