//! Client partition lifecycle and DLPAR: create, activate, shut down, change, delete, with
//! capacity enforced at every step.

use powerplane_model::action::{ChangeMethod, PartitionChange};
use powerplane_model::manifest::{PagingIndex, PagingSpec, PartitionSpec, Placement, Redundancy, RunState};
use powerplane_model::status::LparState;
use powerplane_model::{FrameName, PartitionName, ProfileName, ViosName};

use super::capacity;
use super::paging;
use super::state::{Profiles, SimFrame, SimPartition};
use crate::backend::BackendError;

fn get<'a>(frame: &'a SimFrame, name: &PartitionName) -> Result<&'a SimPartition, BackendError> {
    frame.partitions.get(name).filter(|p| !p.is_shell()).ok_or_else(|| {
        BackendError::refused_plain(format!("The partition {name} was not found on this managed system."))
    })
}

/// `mksyscfg -r lpar`: define the partition (not activated) with `profiles` (the one
/// `profile_name=` names; an inventory's partition has `Profiles::inventory`).
pub(crate) fn create(
    frame_name: &FrameName,
    frame: &mut SimFrame,
    name: &PartitionName,
    spec: &PartitionSpec,
    profiles: Profiles,
) -> Result<String, BackendError> {
    if let Some(existing) = frame.partitions.get(name) {
        let mut want = spec.clone();
        want.placement = Placement::Frame(frame_name.clone());
        want.state = existing.spec.state;
        if existing.spec == want && existing.profiles.current == profiles.current {
            return Ok(format!("{name} already exists"));
        }
        return Err(BackendError::refused_plain(format!(
            "A partition named {name} already exists on this managed system."
        )));
    }
    if frame.vios.contains_key(name.as_str()) {
        return Err(BackendError::refused_plain(format!(
            "The name {name} is used by a Virtual I/O Server of this managed system."
        )));
    }
    entitlement_fits(&spec.processors)?;
    let pool = spec.processors.pool_or_default();
    if pool != powerplane_model::ProcPoolName::default_pool() && !frame.proc_pools.contains_key(&pool) {
        return Err(BackendError::refused_plain(format!(
            "The shared processor pool {pool} does not exist on this managed system."
        )));
    }
    if spec.memory.mode == powerplane_model::manifest::MemoryMode::Shared && frame.mem_pool.is_none() {
        return Err(BackendError::refused_plain(
            "The managed system has no shared memory pool; create it before shared memory partitions.",
        ));
    }
    frame.partitions.insert(name.clone(), SimPartition::defined(frame_name, spec, profiles));
    Ok(format!("{name} created"))
}

/// `chsysstate -o on -f PROFILE`: activate with its profile, with capacity and a paging
/// device; a profile it does not have (or, in the simulator, not the one it uses) is refused.
pub(crate) fn start(
    frame: &mut SimFrame,
    name: &PartitionName,
    profile: &ProfileName,
    force: bool,
) -> Result<String, BackendError> {
    let p = get(frame, name)?;
    p.profiles.check(name.as_str(), profile)?;
    match &p.state {
        LparState::Running => return Ok(format!("{name} is already running")),
        LparState::NotActivated | LparState::Error => {}
        other => {
            return Err(BackendError::Transient(format!("{name} is {other}; try again when it settles")));
        }
    }
    let Some(got) = capacity::activation(frame, &p.spec) else {
        // Not even the minimum: the HMC's refusal names what the desired values need.
        return Err(capacity::check_fits(frame, &p.spec, false).err().unwrap_or_else(|| {
            BackendError::refused_plain(format!("{name} cannot be activated with the resources available."))
        }));
    };
    paging::activate(frame, name, force)?;
    // Without its boot disk it stops in its firmware's SMS menu (`super::storage`).
    let sms = super::storage::no_boot_disk(frame, name);
    let p = frame.partitions.get_mut(name).expect("checked");
    let short = got.memory.desired_mb != p.spec.memory.desired_mb || got.processors.units != p.spec.processors.units;
    let message = if short {
        let text = format!(
            "{name} activated below its desired values, the managed system being short: {} MB of {} (minimum {}), {} processing units of {} (minimum {})",
            got.memory.desired_mb.0,
            p.spec.memory.desired_mb.0,
            p.spec.memory.min_or_default().0,
            got.processors.units,
            p.spec.processors.units,
            p.spec.processors.units_range().0
        );
        p.profile = Some(Box::new(p.spec.clone()));
        p.spec.memory.desired_mb = got.memory.desired_mb;
        p.spec.processors.units = got.processors.units;
        text
    } else {
        format!("{name} activated")
    };
    p.state = LparState::Running;
    p.rmc = true;
    p.spec.state = RunState::Running;
    if let Some(why) = sms {
        p.state = LparState::OpenFirmware;
        p.rmc = false;
        return Ok(format!("{message}; it stopped in Open Firmware (SMS): {why}"));
    }
    Ok(message)
}

/// `chsysstate -o osshutdown`: shut down and release the paging device.
pub(crate) fn stop(frame: &mut SimFrame, name: &PartitionName) -> Result<String, BackendError> {
    let p = get(frame, name)?;
    if p.state == LparState::NotActivated {
        return Ok(format!("{name} is already shut down"));
    }
    if p.migration.is_some() {
        return Err(BackendError::Transient(format!("{name} is migrating; shut it down when the migration ends")));
    }
    paging::release(frame, name);
    let p = frame.partitions.get_mut(name).expect("checked");
    p.state = LparState::NotActivated;
    p.rmc = false;
    // Shut down, it holds nothing: its next activation asks for the profile's desired values.
    if let Some(profile) = p.profile.take() {
        p.spec.memory.desired_mb = profile.memory.desired_mb;
        p.spec.processors.units = profile.processors.units;
        p.spec.processors.r#virtual = profile.processors.r#virtual;
    }
    p.spec.state = RunState::Stopped;
    Ok(format!("{name} shut down"))
}

/// `rmsyscfg -r lpar`: delete a partition that is not running.
pub(crate) fn delete(frame: &mut SimFrame, name: &PartitionName) -> Result<String, BackendError> {
    let Ok(p) = get(frame, name) else {
        return Ok(format!("{name} does not exist"));
    };
    if p.state != LparState::NotActivated && p.state != LparState::Error {
        return Err(BackendError::refused_plain(format!(
            "The partition {name} is {}; shut it down before deleting it.",
            p.state
        )));
    }
    paging::release(frame, name);
    frame.partitions.remove(name);
    Ok(format!("{name} deleted"))
}

/// A change of a partition's memory or processors, values within its profile's limits:
/// - [`ChangeMethod::DlparOnly`], `chhwres -r mem|proc` on a running partition (needs RMC):
///   what it has now; its profile keeps its values, so its next activation undoes the change
///   (IBM, "Managing processor resources dynamically", POWER9 documentation: not reflected in
///   the partition profile);
/// - [`ChangeMethod::Profile`], `chsyscfg -r prof -i "name=PROFILE,…"`: the profile its next
///   activation uses (a stopped partition has nothing else; a running one keeps what it has);
/// - [`ChangeMethod::Dlpar`], both: what powerplane plans for a running partition.
///
/// A profile change names `profile`, which must be the one the partition uses.
pub(crate) fn update(
    frame: &mut SimFrame,
    name: &PartitionName,
    profile: &ProfileName,
    change: &PartitionChange,
) -> Result<String, BackendError> {
    if let Some((primary, secondary)) = &change.paging_vios {
        get(frame, name)?.profiles.check(name.as_str(), profile)?;
        paging_vios(frame, name, primary, secondary)?;
    }
    let p = get(frame, name)?;
    let running = capacity::holds_resources(&p.state);
    if change.method != ChangeMethod::DlparOnly {
        p.profiles.check(name.as_str(), profile)?;
    }
    if change.method == ChangeMethod::Profile && running {
        return profile_only(frame, name, change);
    }
    if !running && change.method != ChangeMethod::Profile {
        return Err(BackendError::refused_plain(format!(
            "{name} is {}: dynamic logical partitioning needs a running partition. Change its profile instead (chsyscfg -r prof -i \"name={},lpar_name={name},...\"); its next activation uses it.",
            p.state, p.profiles.current
        )));
    }
    if running && !p.rmc {
        // seeds: powervm-quickstart..., HSCLA29A "The RMC command issued to partition ... failed"
        return Err(BackendError::Transient(format!(
            "HSCLA29A The RMC command issued to partition {name} failed: no RMC connection; DLPAR is not possible until it returns"
        )));
    }
    let mut spec = p.spec.clone();
    if let Some((_, to)) = change.memory {
        if to > spec.memory.max_mb {
            return Err(BackendError::refused_plain(format!(
                "{to} is above the maximum memory {} of {name}; raising the maximum needs a profile change and reactivation.",
                spec.memory.max_mb
            )));
        }
        spec.memory.desired_mb = to;
    }
    // seeds: powervm-quickstart..., line 96: "Maximum: This is the maximum amount of physical
    // CPU resources that can be DLPARed into the partition"; line 97: the virtual processors'
    // "minimum and maximum numbers are effectively limits on DLPAR operations".
    let (min_u, _, max_u) = p.spec.processors.units_range();
    let (min_vp, _, max_vp) = p.spec.processors.virtual_range();
    if let Some((_, to)) = change.units {
        if running && (to > max_u || to < min_u) {
            return Err(BackendError::refused_plain(format!(
                "{to} processing units are outside the minimum {min_u} and maximum {max_u} of {name}; changing the limits needs a profile change and reactivation."
            )));
        }
        spec.processors.units = to;
    }
    if let Some((_, to)) = change.r#virtual {
        if running && (to > max_vp || to < min_vp) {
            return Err(BackendError::refused_plain(format!(
                "{to} virtual processors are outside the minimum {min_vp} and maximum {max_vp} of {name}; changing the limits needs a profile change and reactivation."
            )));
        }
        spec.processors.r#virtual = Some(to);
    }
    entitlement_fits(&spec.processors)?;
    if running {
        let (mem, procs) = capacity::demand(&spec);
        capacity::check_growth(frame, p, mem, procs)?;
    }
    let p = frame.partitions.get_mut(name).expect("checked");
    if change.method == ChangeMethod::DlparOnly {
        // The profile keeps what it had: kept aside as it was, unless it already was.
        if p.profile.is_none() {
            p.profile = Some(Box::new(p.spec.clone()));
        }
        p.spec = spec;
        settle_profile(p);
        return Ok(format!("{name} changed"));
    }
    if running && let Some(prof) = p.profile.as_deref_mut() {
        // DLPAR and the profile alongside: the profile gets the changed values, and keeps the
        // others it had (a partition activated short of its desired memory stays short of it).
        apply_desired(prof, change);
    }
    p.spec = spec;
    settle_profile(p);
    Ok(format!("{name} changed"))
}

/// `chsyscfg -r prof -i "…,primary_paging_vios_name=A,secondary_paging_vios_name=B"`: the
/// paging VIOS a redundant shared-memory partition's profile names. The partition keeps paging
/// through the VIOS it pages through now (`chhwres -o so` switches it); the HMC lists the
/// profile's pair, which its next activation uses (seeds: ams-dual-vios-and-lpm.txt, lines
/// 48-52).
fn paging_vios(
    frame: &mut SimFrame,
    name: &PartitionName,
    primary: &ViosName,
    secondary: &ViosName,
) -> Result<(), BackendError> {
    let pool: Vec<ViosName> = frame.mem_pool.as_ref().map(|m| m.paging_vios.clone()).unwrap_or_default();
    let index = PagingIndex::of(primary, &pool);
    if primary == secondary || index.is_none() || !pool.contains(secondary) {
        return Err(BackendError::refused_plain(format!(
            "{primary} and {secondary} are not the two paging VIOS partitions of the shared memory pool."
        )));
    }
    let p = frame
        .partitions
        .get_mut(name)
        .ok_or_else(|| BackendError::refused_plain(format!("The partition {name} was not found.")))?;
    let Some(g) = p.spec.memory.paging.filter(|g| g.redundancy != Redundancy::None) else {
        return Err(BackendError::refused_plain(format!(
            "{name} is not a shared memory partition with redundant paging VIOS partitions."
        )));
    };
    let g = PagingSpec { primary: index.expect("checked"), ..g };
    p.spec.memory.paging = Some(g);
    if let Some(prof) = p.profile.as_deref_mut() {
        prof.memory.paging = Some(g);
    }
    if let Some(pg) = p.paging.as_mut() {
        pg.primary = primary.clone();
        pg.secondary = Some(secondary.clone());
    }
    Ok(())
}

/// `chsyscfg -r prof` of a running partition: its profile's desired values change, what it
/// has does not (its next activation uses them).
fn profile_only(frame: &mut SimFrame, name: &PartitionName, change: &PartitionChange) -> Result<String, BackendError> {
    let p = frame.partitions.get_mut(name).expect("checked");
    let mut prof = p.profile.as_deref().unwrap_or(&p.spec).clone();
    apply_desired(&mut prof, change);
    if prof.memory.desired_mb > prof.memory.max_mb {
        return Err(BackendError::refused_plain(format!(
            "{} is above the maximum memory {} of the profile of {name}.",
            prof.memory.desired_mb, prof.memory.max_mb
        )));
    }
    entitlement_fits(&prof.processors)?;
    p.profile = Some(Box::new(prof));
    settle_profile(p);
    Ok(format!("{name}'s profile changed"))
}

/// The desired values `change` asks for, set in `spec`.
fn apply_desired(spec: &mut PartitionSpec, change: &PartitionChange) {
    if let Some((_, to)) = change.memory {
        spec.memory.desired_mb = to;
    }
    if let Some((_, to)) = change.units {
        spec.processors.units = to;
    }
    if let Some((_, to)) = change.r#virtual {
        spec.processors.r#virtual = Some(to);
    }
}

/// Forgets the profile's values once they are what the partition has.
fn settle_profile(p: &mut SimPartition) {
    if p.profile.as_deref().is_some_and(|prof| {
        prof.memory.desired_mb == p.spec.memory.desired_mb
            && prof.processors.units == p.spec.processors.units
            && prof.processors.virtual_processors() == p.spec.processors.virtual_processors()
    }) {
        p.profile = None;
    }
}

/// The HMC refuses an entitlement its virtual processors cannot carry.
// seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt line 90, "the minimal
// allocation is 1/10th of a CPU for each virtual CPU".
fn entitlement_fits(p: &powerplane_model::manifest::ProcessorsSpec) -> Result<(), BackendError> {
    match p.virtual_processors_out_of_range() {
        None => Ok(()),
        Some(_) => Err(BackendError::refused_plain(format!(
            "{} processing units cannot be spread over {} virtual processors: each needs at least 0.10 and at most 1.00 processing units.",
            p.units,
            p.virtual_processors()
        ))),
    }
}
