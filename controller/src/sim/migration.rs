//! Live Partition Mobility: `migrlpar -o v` runs every check of DESIGN §4 rule 4 and fails the
//! way the HMC does, with its codes and messages; `migrlpar -o m` validates, creates the shell
//! partition on the target, copies memory for a virtual time proportional to it, suspends the
//! partition briefly, and frees the source paging device.
// seeds: lpm-js22-walkthrough.txt ("During the validation phase, several configuration checks
// are performed"; "4GB ... roughly two minutes"), powervm-quickstart... (HSCLA304, HSCLA224,
// HSCLA257, HSCLA319, HSCLA356, "Obtained: X, Required: Y").

use std::time::Duration;

use powerplane_model::action::{Mpio, MspPair, RedundantPgVios};
use powerplane_model::console::RemoteHmc;
use powerplane_model::manifest::{CompatMode, MemoryMode, Redundancy, ReservePolicy, StorageVia};
use powerplane_model::status::{FrameState, LparState};
use powerplane_model::{FrameName, PartitionName, ViosName};

use super::paging::{self, Assignment};
use super::state::{Migration, Outbound, SimState};
use super::{capacity, sea};
use crate::backend::BackendError;

/// A migration that passed validation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Validated {
    /// Whether the partition runs (active migration) or not (inactive).
    pub active: bool,
    /// The paging device it will get on the target (shared-memory partitions).
    pub paging: Option<Assignment>,
    /// Virtual time the move takes.
    pub duration: Duration,
    /// Virtual time the partition is suspended.
    pub suspend: Duration,
    /// The mover service partitions of an active migration.
    pub msp: Option<MspPair>,
}

/// The mover service partitions of an active migration from `from` to `to`: the pair asked
/// for, or on each side the one with the fewest migrations in flight. A side without a VIOS
/// that has the attribute is refused as the HMC does (HSCLA297); one whose MSPs all carry
/// [`super::state::Settings::max_migrations_per_msp`] migrations is busy (a retry may pass).
// seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, line 2299 ("the mover
// service partition ... By default, all Virtual I/O Server partitions have this new partition
// attribute set to FALSE"), lines 1575-1577 (HSCLA297), line 1524 (`-i
// "source_msp_name=...,dest_msp_name=..."`).
fn choose_msps(
    s: &SimState,
    from: &FrameName,
    to: &FrameName,
    asked: Option<&MspPair>,
) -> Result<MspPair, BackendError> {
    let mut load: std::collections::BTreeMap<(&FrameName, &ViosName), usize> = Default::default();
    // The migrations in flight, from their index rather than every partition of the estate.
    for (f, n) in &s.outbound {
        if let Some(Migration::Outbound(o)) =
            s.frames.get(f).and_then(|fr| fr.partitions.get(n)).and_then(|q| q.migration.as_ref())
            && !o.failed
        {
            if let Some(m) = &o.source_msp {
                *load.entry((f, m)).or_default() += 1;
            }
            if let Some(m) = &o.dest_msp {
                *load.entry((&o.to, m)).or_default() += 1;
            }
        }
    }
    let max = s.settings.max_migrations_per_msp;
    let pick = |frame: &FrameName, want: Option<&ViosName>| -> Result<ViosName, BackendError> {
        let fr = s.frame(frame)?;
        let usable = |v: &&powerplane_model::manifest::ViosHardwareSpec| {
            v.msp && fr.vios.get(&v.name).is_some_and(|r| r.state.is_running() && r.rmc)
        };
        let msps: Vec<&ViosName> = fr.hw.vios.iter().filter(usable).map(|v| &v.name).collect();
        let first = fr.hw.vios.first().map_or("VIOS".to_owned(), |v| v.name.to_string());
        if msps.is_empty() {
            return Err(BackendError::refused_plain(format!(
                "HSCLA297 The DLPAR Resource Manager (DRM) capability bits 0x0 for mover service partition (MSP) {first} indicate that partition mobility functions are not supported on the partition. (No running Virtual I/O Server of {frame} has the mover service partition attribute set: chsyscfg -r lpar -m {} -i \"name={first},msp=1\".)",
                frame.word()
            )));
        }
        let chosen = match want {
            Some(w) if msps.contains(&w) => w,
            Some(w) => {
                return Err(BackendError::refused_plain(format!(
                    "HSCLA297 The DLPAR Resource Manager (DRM) capability bits 0x0 for mover service partition (MSP) {w} indicate that partition mobility functions are not supported on the partition. (The mover service partitions of {frame} that run are {}.)",
                    msps.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
                )));
            }
            None => *msps
                .iter()
                .min_by_key(|v| (load.get(&(frame, **v)).copied().unwrap_or(0), (**v).clone()))
                .expect("not empty"),
        };
        let n = load.get(&(frame, chosen)).copied().unwrap_or(0);
        if n >= max {
            return Err(BackendError::Transient(format!(
                "the mover service partition {chosen} of {frame} already carries {n} migrations, its maximum (cfg_msp_lpm_ops {max}); the move waits for one to end"
            )));
        }
        Ok(chosen.clone())
    };
    Ok(MspPair { source: pick(from, asked.map(|m| &m.source))?, dest: pick(to, asked.map(|m| &m.dest))? })
}

/// What a `migrlpar -o v|m` asks beyond the partition and the frames.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Asked<'a> {
    /// `--redundantvios` / `--redundantpgvios`.
    pub redundant: Option<RedundantPgVios>,
    /// `-i "source_msp_name=…,dest_msp_name=…"`.
    pub msp: Option<&'a MspPair>,
    /// `--ip`/`-u`.
    pub remote: Option<&'a RemoteHmc>,
    /// `--mpio`.
    pub mpio: Option<Mpio>,
}

impl<'a> Asked<'a> {
    /// What a migration or validation op asks.
    pub(crate) fn of(op: &'a powerplane_model::Op) -> Self {
        match op {
            powerplane_model::Op::ValidateMigration { redundant, msp, remote, mpio, .. }
            | powerplane_model::Op::MigratePartition { redundant, msp, remote, mpio, .. } => {
                Asked { redundant: *redundant, msp: msp.as_ref(), remote: remote.as_ref(), mpio: *mpio }
            }
            _ => Asked::default(),
        }
    }
}

/// `migrlpar -o v`: every check, all failures reported together like the HMC's "Errors:" list.
pub(crate) fn validate(
    s: &SimState,
    name: &PartitionName,
    from: &FrameName,
    to: &FrameName,
    asked: Asked<'_>,
) -> Result<Validated, BackendError> {
    let Asked { redundant, msp, remote, mpio } = asked;
    // The HMC managing the source reaches the destination's (`--ip`), with its keys.
    super::consoles::check_remote(s, from, to, remote)?;
    let src = s.frame(from)?;
    if src.vios.contains_key(name.as_str()) {
        return Err(BackendError::refused_plain(format!(
            "{name} is a Virtual I/O Server partition; VIOS partitions cannot be migrated."
        )));
    }
    let p = src.partitions.get(name).filter(|p| !p.is_shell()).ok_or_else(|| {
        BackendError::refused_plain(format!("The partition {name} was not found on the managed system {from}."))
    })?;
    let dst = s.frame(to)?;
    if from == to {
        return Err(BackendError::refused_plain(format!("{name} is already on {to}.")));
    }
    if p.migration.is_some() {
        return Err(BackendError::Transient(format!("{name} is already being migrated")));
    }
    // seeds: infoscale-lpm-vcs.txt, line 116: "LPM validation fails if it finds the profile with
    // same LPAR name on the destination managed physical system".
    if dst.partitions.contains_key(name) || dst.copies.contains_key(name) {
        return Err(BackendError::refused_plain(format!(
            "A partition named {name} already exists on the destination managed system {to}: rename or remove it there (a cluster manager's copy of the profile is the usual cause), then validate again."
        )));
    }
    let active = match &p.state {
        LparState::Running => true,
        LparState::NotActivated => false,
        LparState::Error => {
            return Err(BackendError::refused_plain(format!(
                "The partition {name} is in the Error state and cannot be migrated. Recover it first."
            )));
        }
        other => {
            return Err(BackendError::Transient(format!("{name} is {other}; try again when it settles")));
        }
    };
    if active && !p.rmc {
        // seeds: "HSCLA257 The migrating partition has returned a failure response to the HMC's
        // request to perform a check for migration readiness."
        return Err(BackendError::Transient(format!(
            "HSCLA257 The migrating partition has returned a failure response to the HMC's request to perform a check for migration readiness. The migrating partition is not ready for migration at this time. Try the operation again later. (no RMC connection to {name})"
        )));
    }
    let reachable = |f: &super::state::SimFrame| f.vios.values().any(|v| v.state.is_running() && v.rmc);
    if !reachable(src) || !reachable(dst) {
        let (which, f) = if !reachable(src) { (from, src) } else { (to, dst) };
        // The HMC names the partition it cannot reach (seed lines 1769 and 1811: "...to the
        // partition visav2."): the frame's first VIOS.
        let vios = f.vios.keys().next().map_or_else(|| which.to_string(), ToString::to_string);
        return Err(BackendError::Transient(format!(
            "HSCLA246 The HMC cannot communicate migration commands to the partition {vios}. Either the network connection is not available or the partition does not have a level of software that is capable of supporting partition migration. Verify the correct network and migration setup of the partition, and try the operation again."
        )));
    }
    // seeds: an inactive migration does not use mover service partitions.
    let msp = if active { Some(choose_msps(s, from, to, msp)?) } else { None };
    let mut errors: Vec<String> = Vec::new();
    if dst.state != FrameState::Operating {
        errors.push(format!("The destination managed system {to} is in the {} state.", dst.state));
    }
    if dst.hw.on_battery {
        errors.push(format!(
            "The destination managed system {to} is running on battery power; it is not a valid migration target."
        ));
    }
    if dst.partitions.contains_key(name) || dst.vios.contains_key(name.as_str()) {
        errors.push(format!("The partition name {name} is already in use on the destination managed system {to}."));
    }
    if let Some(c) = &p.spec.processors.compat
        && *c != CompatMode::Default
        && !dst.hw.compat_modes.contains(c)
    {
        errors.push("HSCLA224 The partition cannot be migrated because it has been designated to use a processor compatibility level that is not supported by the destination managed system. Use the HMC to configure a level that is compatible with the destination managed system.".to_owned());
    }
    if active && let Err(e) = capacity::check_fits(dst, &p.spec, true) {
        errors.push(e.to_string());
    }
    let mut assignment = None;
    if p.spec.memory.mode == MemoryMode::Shared {
        // Without the option the HMC keeps the redundancy if it can (as `2`).
        let want = match redundant.unwrap_or(RedundantPgVios::IfPossible) {
            RedundantPgVios::NonRedundant => Redundancy::None,
            RedundantPgVios::Required => Redundancy::Required,
            RedundantPgVios::IfPossible => Redundancy::Preferred,
        };
        match paging::choose(dst, name, p.spec.memory.max_mb, want, false, None) {
            Ok(a) => assignment = Some(a),
            Err(_) => errors.push("HSCLA304 A suitable shared memory pool for the mobile partition was not found on the destination managed system. In order to support the mobile partition, the destination managed system must have a shared memory pool that can accommodate the partition's entitled and maximum memory values, as well as its redundant paging requirements. If the destination managed system has a shared memory pool, inability to support the mobile shared memory partition can be due to lack of sufficient memory in the pool, or lack of a paging space device in the pool that meets the mobile partition's redundancy and size requirements.".to_owned()),
        }
    }
    // seeds: lpm-js22-walkthrough.txt, lines 9-10 (network virtualized through the VIOS, all
    // storage on the SAN, "even the operating system"), line 48 (no dedicated physical adapters).
    if p.spec.storage.is_empty() {
        errors.push(format!(
            "The partition {name} has no virtual SCSI or virtual fibre channel adapter: its disks are not SAN LUNs served by a Virtual I/O Server. All storage of a mobile partition, the operating system too, must be on SAN disks that the Virtual I/O Servers of both managed systems see."
        ));
    }
    if p.spec.network.is_empty() {
        errors.push(format!(
            "The partition {name} has no virtual Ethernet adapter: its network is not virtualized. All network connectivity of a mobile partition must go through a Virtual I/O Server's Shared Ethernet Adapter."
        ));
    }
    for n in &p.spec.network {
        if !sea::bridges(dst, n.vlan) {
            errors.push(format!(
                "The migrating partition's virtual Ethernet adapter on VLAN {} cannot be bridged on the destination managed system: no Shared Ethernet Adapter there bridges VLAN {}.",
                n.vlan, n.vlan
            ));
        }
    }
    // seeds: lpm-js22-walkthrough.txt, lines 31 and 48 (no physical adapters); no public source
    // records the HSCL code the HMC prints, so the refusal has none
    // (tests/fixtures/hmc/README.md, "Migrations").
    let slots: Vec<String> =
        src.hw.io_slots.iter().filter(|a| &a.partition == name).map(|a| a.slot().to_string()).collect();
    if !slots.is_empty() {
        errors.push(format!(
            "The partition {name} has physical I/O slots assigned ({}). A partition with physical adapters cannot be migrated: remove them from the partition and its profile.",
            slots.join(", ")
        ));
    }
    // seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, lines 1741-1782: a
    // partition whose disks go through both VIOS of the source (MPIO) needs two VIOS on the
    // destination that can host them, unless `--mpio 2` lets it go through one.
    let serving = |f: &super::state::SimFrame, lun: &powerplane_model::Lun| {
        f.hw.vios
            .iter()
            .filter(|v| sea::running(f, &v.name))
            .filter(|v| v.disks.iter().any(|d| &d.lun == lun && d.reserve_policy == ReservePolicy::NoReserve))
            .count()
    };
    let mpio_lost = p
        .spec
        .storage
        .iter()
        .any(|st| st.via == StorageVia::Vscsi && serving(src, &st.lun) >= 2 && serving(dst, &st.lun) == 1);
    if mpio_lost && mpio != Some(Mpio::IfPossible) {
        errors.push(HSCLA340.to_owned());
    }
    for (i, st) in p.spec.storage.iter().enumerate() {
        let ok = dst.hw.vios.iter().any(|v| {
            sea::running(dst, &v.name)
                && v.disks.iter().any(|d| d.lun == st.lun && d.reserve_policy == ReservePolicy::NoReserve)
        });
        if !ok {
            let slot = i + 3;
            let vios = dst.hw.vios.first().map(|v| v.name.to_string()).unwrap_or_default();
            errors.push(match st.via {
                StorageVia::Vscsi => format!(
                    "HSCLA356 The RMC command issued to partition {vios} failed. This means that destination VIOS partition {vios} cannot host the virtual adapter {slot} on the migrating partition. (LUN {} is not visible there with reserve_policy=no_reserve)",
                    st.lun
                ),
                StorageVia::Npiv => format!(
                    "HSCLA319 The migrating partition's virtual fibre channel client adapter {slot} cannot be hosted by the existing Virtual I/O Server (VIOS) partitions on the destination managed system. To migrate the partition, set up the necessary VIOS host on the destination managed system, then try the operation again. (LUN {})",
                    st.lun
                ),
            });
        }
    }
    if !errors.is_empty() {
        let code = errors[0].split_whitespace().next().filter(|w| w.starts_with("HSCL")).map(str::to_owned);
        return Err(BackendError::Refused { code, message: format!("Errors:\n{}", errors.join("\n")) });
    }
    let gb = p.spec.memory.desired_mb.0.div_ceil(1024);
    let (duration, suspend) = if active {
        let suspend = Duration::from_millis(s.settings.lpm_suspend_ms);
        (Duration::from_secs(gb * s.settings.lpm_seconds_per_gb) + suspend, suspend)
    } else {
        (Duration::from_secs(powerplane_model::plan::Rates::default().inactive_migration_secs), Duration::ZERO)
    };
    Ok(Validated { active, paging: assignment, duration, suspend, msp })
}

/// HSCLA340 as the seed prints it (powervm-quickstart..., lines 1746-1753).
const HSCLA340: &str = "HSCLA340 The HMC may not be able to replicate the source multipath I/O configuration for the migrating partition's virtual I/O adapters on the destination. This means one or both of the following: (1) Client adapters that are assigned to different source VIOS hosts may be assigned to a single VIOS host on the destination; (2) Client adapters that are assigned to a single source VIOS host may be assigned to different VIOS hosts on the destination. You can review the complete list of HMC-chosen mappings by issuing the command to list the virtual I/O mappings for the migrating partition.";

/// Starts a validated migration at virtual `now_ms`: the partition shows "Migrating -
/// Running" on both frames and a shell on the target holds its resources and paging device.
/// With `midway`, it will fail half-way (an injected fault). Returns when it ends (or fails).
pub(crate) fn begin(
    s: &mut SimState,
    name: &PartitionName,
    from: &FrameName,
    to: &FrameName,
    v: &Validated,
    now_ms: u64,
    midway: bool,
) -> u64 {
    let state = if v.active { LparState::MigratingRunning } else { LparState::MigratingNotActivated };
    let ends_ms = now_ms + v.duration.as_millis() as u64;
    let fails_at_ms = midway.then(|| now_ms + v.duration.as_millis() as u64 / 2);
    let src = s.frames.get_mut(from).expect("validated");
    let p = src.partitions.get_mut(name).expect("validated");
    p.state = state;
    p.migration = Some(Migration::Outbound(Box::new(Outbound {
        to: to.clone(),
        started_ms: now_ms,
        ends_ms,
        fails_at_ms,
        failed: false,
        active: v.active,
        paging: v.paging.clone(),
        suspend_ms: v.suspend.as_millis() as u64,
        source_msp: v.msp.as_ref().map(|m| m.source.clone()),
        dest_msp: v.msp.as_ref().map(|m| m.dest.clone()),
    })));
    let mut shell = p.clone();
    shell.migration = Some(Migration::Inbound { from: from.clone() });
    shell.paging = None;
    shell.last_device = None;
    let dst = s.frames.get_mut(to).expect("validated");
    if let (Some(a), Some(pool)) = (&v.paging, dst.mem_pool.as_mut())
        && let Some(d) = pool.devices.iter_mut().find(|d| d.device == a.device)
    {
        d.assigned = Some(name.clone());
    }
    dst.partitions.insert(name.clone(), shell);
    s.outbound.insert((from.clone(), name.clone()));
    if v.active {
        super::events::migration_started(s, name, from, to);
    }
    fails_at_ms.unwrap_or(ends_ms)
}

/// Moves every migration on to virtual time `s.now_ms`: those due complete, those whose
/// injected failure is due fail and wait for recovery. Returns the frames it changed, which
/// must be saved together.
pub(crate) fn settle(s: &mut SimState) -> Vec<FrameName> {
    let now = s.now_ms;
    let mut due: Vec<(FrameName, PartitionName, Outbound)> = Vec::new();
    let mut gone = Vec::new();
    for (f, n) in &s.outbound {
        let Some(p) = s.frames.get_mut(f).and_then(|fr| fr.partitions.get_mut(n)) else {
            gone.push((f.clone(), n.clone()));
            continue;
        };
        match &mut p.migration {
            Some(Migration::Outbound(o)) if !o.failed => match o.fails_at_ms {
                Some(at) if at <= now => {
                    o.failed = true;
                    due.push((f.clone(), n.clone(), (**o).clone()));
                }
                None if o.ends_ms <= now => due.push((f.clone(), n.clone(), (**o).clone())),
                _ => {}
            },
            Some(Migration::Outbound(_)) => {}
            _ => gone.push((f.clone(), n.clone())),
        }
    }
    for g in gone {
        s.outbound.remove(&g);
    }
    // In the order they ended, so that their error-log entries are too.
    due.sort_by_key(|(f, n, o)| (o.fails_at_ms.unwrap_or(o.ends_ms), f.clone(), n.clone()));
    let mut touched = Vec::new();
    for (from, name, o) in due {
        if o.failed {
            super::events::migration_failed(s, &name, &from, &o.to, o.fails_at_ms.unwrap_or(now));
        } else {
            let backup = (s.frames[&from].clone(), s.frames[&o.to].clone());
            if finish(s, &name, &from, &o).is_ok() {
                s.outbound.remove(&(from.clone(), name.clone()));
                if o.active {
                    super::events::migration_done(s, &name, &from, &o);
                    // The switch-over suspends it: its cluster's peers hear nothing meanwhile.
                    touched.extend(super::cluster::suspended(s, &name, &o.to, o.suspend_ms));
                }
            } else {
                // No paging VIOS runs on the target at the switch-over: the migration fails
                // there and waits for recovery.
                s.frames.insert(from.clone(), backup.0);
                s.frames.insert(o.to.clone(), backup.1);
                if let Some(Migration::Outbound(out)) =
                    s.frames.get_mut(&from).and_then(|f| f.partitions.get_mut(&name)).and_then(|p| p.migration.as_mut())
                {
                    out.failed = true;
                    out.fails_at_ms = Some(now);
                }
                super::events::migration_failed(s, &name, &from, &o.to, now);
            }
        }
        touched.push(from);
        touched.push(o.to);
    }
    touched
}

/// How a migration the caller started stands now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Progress {
    /// It completed: the partition is on the target.
    Done,
    /// It failed part-way and waits for recovery.
    Failed,
    /// Still copying; it ends at this virtual time.
    Running(u64),
    /// The partition is no longer in this migration (someone recovered or removed it).
    Gone,
}

/// Where the migration of `name` from `from` to `to` stands (after [`settle`]).
pub(crate) fn progress(s: &SimState, name: &PartitionName, from: &FrameName, to: &FrameName) -> Progress {
    let on = |f: &FrameName| s.frames.get(f).and_then(|fr| fr.partitions.get(name));
    match on(from).and_then(|p| p.migration.as_ref()) {
        Some(Migration::Outbound(o)) if &o.to == to => {
            if o.failed {
                Progress::Failed
            } else {
                Progress::Running(o.fails_at_ms.unwrap_or(o.ends_ms))
            }
        }
        _ if on(to).is_some_and(|p| p.migration.is_none()) => Progress::Done,
        _ => Progress::Gone,
    }
}

/// Stops a migration in flight where it is: it then waits for recovery, like one that failed.
pub(crate) fn abort(s: &mut SimState, name: &PartitionName, from: &FrameName) -> Result<String, BackendError> {
    let now = s.now_ms;
    let p = s.frame_mut(from)?.partitions.get_mut(name).filter(|p| !p.is_shell());
    match p.and_then(|p| p.migration.as_mut()) {
        Some(Migration::Outbound(o)) if !o.failed => {
            o.failed = true;
            o.fails_at_ms = Some(now);
            let (to, percent) = (o.to.clone(), o.percent(now));
            super::events::migration_failed(s, name, from, &to, now);
            Ok(format!(
                "The migration of {name} from {from} to {to} was stopped at {percent}%; recover it with migrlpar -o r -m {} -p {}.",
                from.word(),
                name.word()
            ))
        }
        _ => Err(BackendError::refused_plain(format!("No migration of {name} is in progress."))),
    }
}

/// `migrlpar -o r -m SRC -p LPAR`: a migration that failed part-way is undone; the partition
/// is back on its source in the state it had, the target's shell and its paging device are
/// released.
pub(crate) fn recover(s: &mut SimState, name: &PartitionName, from: &FrameName) -> Result<String, BackendError> {
    let src = s.frame_mut(from)?;
    let p = src.partitions.get_mut(name).filter(|p| !p.is_shell()).ok_or_else(|| {
        BackendError::refused_plain(format!("The partition {name} was not found on the managed system {from}."))
    })?;
    let o = match &p.migration {
        Some(Migration::Outbound(o)) if o.failed => (**o).clone(),
        Some(Migration::Outbound(_)) => {
            return Err(BackendError::refused_plain(format!(
                "The migration of {name} is in progress; it cannot be recovered. Wait for it to end, or stop it with migrlpar -o s."
            )));
        }
        _ => {
            return Err(BackendError::refused_plain(format!(
                "The partition {name} is not in a failed migration; there is nothing to recover."
            )));
        }
    };
    p.migration = None;
    p.state = if o.active { LparState::Running } else { LparState::NotActivated };
    s.outbound.remove(&(from.clone(), name.clone()));
    let dst = s.frame_mut(&o.to)?;
    if dst.partitions.get(name).is_some_and(|sh| sh.is_shell()) {
        dst.partitions.remove(name);
    }
    if let Some(pool) = dst.mem_pool.as_mut() {
        for d in pool.devices.iter_mut().filter(|d| d.assigned.as_ref() == Some(name)) {
            d.assigned = None;
        }
    }
    Ok(format!("The migration of {name} from {from} to {} was recovered; {name} is on {from}.", o.to))
}

/// Completes a migration: the partition runs on the target, its source paging device is
/// freed, and the source forgets it.
// seeds: ams-dual-vios-and-lpm.txt, "After the migration is complete, the paging space device
// on the source server will be freed and becomes available for use by other partitions."
fn finish(s: &mut SimState, name: &PartitionName, from: &FrameName, o: &Outbound) -> Result<(), BackendError> {
    let to = &o.to;
    let src = s.frames.get_mut(from).expect("migrating from an existing frame");
    paging::release(src, name);
    src.partitions.remove(name);
    let dst = s.frames.get_mut(to).expect("migrating to an existing frame");
    let p = dst.partitions.get_mut(name).expect("the shell exists while migrating");
    p.migration = None;
    p.state = if o.active { LparState::Running } else { LparState::NotActivated };
    p.spec.placement = powerplane_model::manifest::Placement::Frame(to.clone());
    // LPM creates its VIOS side on the target and removes it from the source.
    super::storage::migrated(s, name, from, to);
    let dst = s.frames.get_mut(to).expect("migrating to an existing frame");
    if let Some(a) = &o.paging
        && o.active
    {
        paging::assign(dst, name, a)?;
    } else if let (Some(a), Some(pool)) = (&o.paging, dst.mem_pool.as_mut()) {
        // Inactive: the device is chosen again at activation.
        for d in pool.devices.iter_mut().filter(|d| d.device == a.device) {
            d.assigned = None;
        }
    }
    Ok(())
}
