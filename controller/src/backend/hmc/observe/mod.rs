//! The observed estate from an HMC's listings: configuration, physical facts and runtime
//! status, as the simulator's observation gives them, from what `lssyscfg`,
//! `lshwres`, `lslparmigr` and the VIOS's `lsdev`, `entstat` and `lsmap` print.
//!
//! What an HMC does not name — the `ViosPair`, `SharedEthernetAdapter`, `SharedMemoryPool`
//! and `SharedProcessorPool` objects, which exist only in manifests — gets a name made from the
//! frame's (`FRAME-vios`, `FRAME-sea`, `FRAME-mempool`, `FRAME-POOL`), which
//! [`powerplane_model::Estate::adopt_names`] replaces with the manifests' own. What it cannot see
//! is left out: frame labels, hooks, clusters (their nodes run inside partitions), whether a
//! frame runs on battery, and inside a VIOS that is down, its adapters and disks.

use std::collections::BTreeMap;

use powerplane_model::status::{LparState, MigrationLimits, Namesake, PartitionStatus, Status};
use powerplane_model::{Estate, FrameName, PartitionName, ViosName};

use super::records::{ParseError, Record};

mod fields;
mod frame;
pub(crate) mod vios;

use fields::num;
use frame::frame;
use vios::ViosListings;

/// Everything listed of one frame.
#[derive(Debug, Default, Clone)]
pub(crate) struct FrameListings {
    /// Its `lssyscfg -r sys` record.
    pub sys: Record,
    /// `lshwres -r mem --level sys`.
    pub sys_mem: Vec<Record>,
    /// `lshwres -r proc --level sys`.
    pub sys_proc: Vec<Record>,
    /// `lssyscfg -r lpar`.
    pub lpar: Vec<Record>,
    /// `lssyscfg -r prof`.
    pub prof: Vec<Record>,
    /// `lshwres -r mem --level lpar`.
    pub lpar_mem: Vec<Record>,
    /// `lshwres -r proc --level lpar`.
    pub lpar_proc: Vec<Record>,
    /// `lshwres -r procpool`.
    pub procpool: Vec<Record>,
    /// `lshwres -r mempool`.
    pub mempool: Vec<Record>,
    /// `lshwres -r mempool --rsubtype pgdev`.
    pub pgdev: Vec<Record>,
    /// `lshwres -r virtualio --rsubtype eth --level lpar`.
    pub veth: Vec<Record>,
    /// `lshwres -r virtualio --rsubtype scsi --level lpar`.
    pub vscsi: Vec<Record>,
    /// `lshwres -r virtualio --rsubtype fc --level lpar` (none on a frame without virtual fibre
    /// channel, which answers HSCLA4C0).
    pub vfc: Vec<Record>,
    /// Whether the virtual SCSI adapters could be listed: otherwise the frame's VIOS storage is
    /// not reported (nothing is provisioned on it).
    pub storage_listed: bool,
    /// `lslparmigr -r lpar`.
    pub lparmigr: Vec<Record>,
    /// `lslparmigr -r sys` (none from a frame that cannot migrate partitions).
    pub lparmigr_sys: Vec<Record>,
    /// What each running VIOS listed.
    pub vios: BTreeMap<ViosName, ViosListings>,
    /// Running VIOS that could not be listed, with why.
    pub vios_unknown: BTreeMap<ViosName, String>,
}

/// A partition one frame lists: what the estate gets if it is *the* partition of its name.
pub(crate) struct Found {
    name: PartitionName,
    frame: FrameName,
    lpar_id: u32,
    /// Its configuration, `None` when it could not be read (`unknown` says why).
    object: Option<powerplane_model::Partition>,
    status: PartitionStatus,
    unknown: Option<String>,
}

/// The observed estate: the frames listed, and those set aside with why. Never fails: a frame
/// whose listings cannot be read is set aside with the reason, the rest is observed.
pub(crate) fn estate(frames: Vec<(FrameName, Result<FrameListings, String>)>, last: Option<&Estate>) -> Estate {
    let mut e = Estate::default();
    let mut status = Status::default();
    let mut found = Vec::new();
    for (fname, l) in frames {
        let l = match l {
            Ok(l) => l,
            Err(why) => {
                status.set_aside.insert(fname, why);
                continue;
            }
        };
        // Read into a scratch estate, so that a frame that fails half-way leaves nothing.
        let (mut fe, mut fs, mut ff) = (Estate::default(), Status::default(), Vec::new());
        match frame(&mut fe, &mut fs, &mut ff, fname.clone(), &l, last) {
            Ok(()) => {
                e.frames.extend(fe.frames);
                e.hardware.extend(fe.hardware);
                e.vios_pairs.extend(fe.vios_pairs);
                e.seas.extend(fe.seas);
                e.mem_pools.extend(fe.mem_pools);
                e.proc_pools.extend(fe.proc_pools);
                status.frames.extend(fs.frames);
                status.vios.extend(fs.vios);
                status.vios_profiles.extend(fs.vios_profiles);
                status.vios_without_rmc.extend(fs.vios_without_rmc);
                status.seas.extend(fs.seas);
                status.paging_devices.extend(fs.paging_devices);
                status.unknown_vios.extend(fs.unknown_vios);
                status.migration_limits.extend(fs.migration_limits);
                status.proc_pool_slots.extend(fs.proc_pool_slots);
                status.vios_storage.extend(fs.vios_storage);
                status.client_adapters.extend(fs.client_adapters);
                found.extend(ff);
            }
            Err(err) => {
                tracing::warn!(frame = %fname, error = %err, "set aside: its listings could not be read");
                status.set_aside.insert(fname, format!("its listings could not be read: {err}"));
            }
        }
    }
    resolve(found, &mut e, &mut status, last);
    e.status = status;
    e
}

/// A frame's migration limits from its `lslparmigr -r sys` record.
pub(crate) fn migration_limits(r: &Record) -> Result<MigrationLimits, ParseError> {
    const MIGR: &str = "migration capability";
    Ok(MigrationLimits {
        active: num(r, MIGR, "num_active_migrations_supported")?,
        active_in_progress: num(r, MIGR, "num_active_migrations_in_progress")?,
        inactive: num(r, MIGR, "num_inactive_migrations_supported")?,
        inactive_in_progress: num(r, MIGR, "num_inactive_migrations_in_progress")?,
    })
}

impl Found {
    /// This listing as a namesake: a copy under the name, not the partition.
    fn namesake(self) -> Namesake {
        Namesake { name: self.name, frame: self.frame, lpar_id: self.lpar_id, state: self.status.state }
    }
}

/// Puts each partition name once into the estate. The same name on several frames is a
/// profile copy kept on every frame of a cluster (seed `infoscale-lpm-vcs.txt`) or the shell a
/// migration creates on its target: the partition is the one whose source frame's
/// `lslparmigr` names the other as its destination, else the one that is active, else the one
/// on the frame it was last observed on; the others are namesakes. Two inactive copies with no
/// earlier observation to tell them apart make the name unknown. An inactive LPAR named as
/// VCS's same-name profile procedure sets a copy aside (`NAME_vcs`,
/// [`powerplane_model::profile_copy::set_aside_name`]) while `NAME` is listed too is that
/// copy: a namesake under its set-aside name, not a partition.
fn resolve(found: Vec<Found>, e: &mut Estate, status: &mut Status, last: Option<&Estate>) {
    let mut by_name: BTreeMap<PartitionName, Vec<Found>> = BTreeMap::new();
    for f in found {
        by_name.entry(f.name.clone()).or_default().push(f);
    }
    // The set-aside names of the names listed, each other than the name itself.
    let set_aside: std::collections::BTreeSet<PartitionName> = by_name
        .keys()
        .filter_map(|k| Some(powerplane_model::profile_copy::set_aside_name(k)).filter(|a| a != k))
        .collect();
    for (name, mut all) in by_name {
        if set_aside.contains(&name) && all.iter().all(|f| f.status.state == LparState::NotActivated) {
            status.namesakes.extend(all.into_iter().map(Found::namesake));
            continue;
        }
        let pick = if all.len() == 1 {
            Some(0)
        } else {
            let migrating_to = |f: &Found| f.status.migration.as_ref().map(|m| m.to.clone());
            let source = all.iter().position(|f| {
                migrating_to(f).is_some_and(|to| all.iter().any(|g| g.frame == to && g.frame != f.frame))
            });
            let active: Vec<usize> = (0..all.len())
                .filter(|&i| !matches!(all[i].status.state, LparState::NotActivated | LparState::Other(_)))
                .collect();
            let before = last.and_then(|l| l.status.partitions.get(&name)).map(|s| &s.frame);
            source
                .or_else(|| (active.len() == 1).then(|| active[0]))
                .or_else(|| before.and_then(|b| all.iter().position(|f| &f.frame == b)))
        };
        let Some(i) = pick else {
            let where_: Vec<String> =
                all.iter().map(|f| format!("{} (id {}, {})", f.frame, f.lpar_id, f.status.state)).collect();
            status.unknown_partitions.insert(
                name.clone(),
                format!(
                    "it is listed on {} and nothing tells which is the partition; rename or remove the copies",
                    where_.join(" and ")
                ),
            );
            status.namesakes.extend(all.into_iter().map(Found::namesake));
            continue;
        };
        let chosen = all.remove(i);
        status.namesakes.extend(all.into_iter().map(Found::namesake));
        if let Some(why) = &chosen.unknown {
            status.unknown_partitions.insert(name.clone(), why.clone());
        }
        if let Some(o) = chosen.object {
            e.partitions.insert(name.clone(), o);
            status.partitions.insert(name, chosen.status);
        }
    }
}
