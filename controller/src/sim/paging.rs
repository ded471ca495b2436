//! Active Memory Sharing: paging devices and paging VIOS of shared-memory partitions.
//!
//! At activation a suitable paging device is assigned (best fit, the previous one kept if
//! still free): a common one for a redundant partition, which fails to activate without one
//! unless forced; an independent one for a non-redundant partition, else a common one used
//! through one VIOS. When the current paging VIOS shuts down, paging fails over to the other;
//! when it returns nothing switches back until someone runs `chhwres -o so`.
// seeds: ams-dual-vios-and-lpm.txt, "When a shared memory partition is activated, a suitable
// paging space device will automatically be selected", "After a failover, no automatic switch
// back will occur".

use powerplane_model::manifest::{MemoryMode, Redundancy};
use powerplane_model::status::LparState;
use powerplane_model::{DeviceName, MemoryMb, PartitionName, ViosName};

use super::sea::running;
use super::state::{SimFrame, SimMemPool, SimPaging};
use crate::backend::BackendError;

/// Which VIOS of the pool see the device.
fn seen_by<'a>(frame: &'a SimFrame, pool: &'a SimMemPool, device: &DeviceName) -> Vec<&'a ViosName> {
    let Some(dev) = pool.devices.iter().find(|d| &d.device == device) else {
        return Vec::new();
    };
    pool.paging_vios
        .iter()
        .filter(|v| frame.hw.vios.iter().any(|h| &h.name == *v && h.disks.iter().any(|d| d.lun == dev.lun)))
        .collect()
}

/// The free device to assign: the previous one if still free and large enough, else the
/// smallest large enough (ties by name), among common devices or independent ones.
fn pick(pool: &SimMemPool, need: MemoryMb, common: bool, previous: Option<&DeviceName>) -> Option<DeviceName> {
    let fits = |d: &&super::state::SimPagingDevice| d.assigned.is_none() && d.size >= need && d.redundant == common;
    if let Some(prev) = previous
        && pool.devices.iter().filter(fits).any(|d| &d.device == prev)
    {
        return Some(prev.clone());
    }
    pool.devices
        .iter()
        .filter(fits)
        .min_by(|a, b| a.size.cmp(&b.size).then(a.device.cmp(&b.device)))
        .map(|d| d.device.clone())
}

/// What activation (or arrival by migration) of a shared-memory partition will get.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Assignment {
    /// The paging device.
    pub device: DeviceName,
    /// Whether it is a common device (redundant paging).
    pub redundant: bool,
}

/// Chooses a paging device for a partition with `max_mb` that wants `redundancy`; `force`
/// accepts a non-redundant device for a redundancy-required partition.
pub(crate) fn choose(
    frame: &SimFrame,
    name: &PartitionName,
    max_mb: MemoryMb,
    redundancy: Redundancy,
    force: bool,
    previous: Option<&DeviceName>,
) -> Result<Assignment, BackendError> {
    let pool = frame.mem_pool.as_ref().ok_or_else(|| {
        BackendError::refused_plain(format!(
            "{name} uses shared memory, but the managed system has no shared memory pool."
        ))
    })?;
    let two = pool.paging_vios.len() == 2;
    let common = || pick(pool, max_mb, true, previous).map(|device| Assignment { device, redundant: true });
    let single = |d: Option<DeviceName>| d.map(|device| Assignment { device, redundant: false });
    let independent = || single(pick(pool, max_mb, false, previous));
    let common_alone = || single(pick(pool, max_mb, true, previous));
    let got = match redundancy {
        Redundancy::Required if two => match common() {
            Some(a) => Some(a),
            None if force => independent().or_else(common_alone),
            None => {
                return Err(BackendError::refused_plain(format!(
                    "{name} is configured with redundant paging VIOS partitions, but no free common paging space device of at least {max_mb} is in the shared memory pool, so it fails to activate. Add one, or activate with --force (the partition then has no paging VIOS failover)."
                )));
            }
        },
        Redundancy::Required if !force => {
            return Err(BackendError::refused_plain(format!(
                "{name} requires redundant paging VIOS partitions, but the shared memory pool has one paging VIOS."
            )));
        }
        Redundancy::Preferred if two => common().or_else(independent),
        _ => independent().or_else(common_alone),
    };
    got.ok_or_else(|| {
        BackendError::refused_plain(format!(
            "No suitable paging space device is available for {name}: it needs a free device of at least {max_mb} in the shared memory pool."
        ))
    })
}

/// Assigns the chosen device and sets primary, secondary and current paging VIOS.
pub(crate) fn assign(frame: &mut SimFrame, name: &PartitionName, a: &Assignment) -> Result<(), BackendError> {
    let pool = frame.mem_pool.as_ref().expect("choose() found a pool");
    let part = &frame.partitions[name];
    let idx = part.spec.memory.paging.unwrap_or_default().primary.position().min(pool.paging_vios.len() - 1);
    let (primary, secondary) = if a.redundant {
        (pool.paging_vios[idx].clone(), Some(pool.paging_vios[1 - idx].clone()))
    } else {
        let seen = seen_by(frame, pool, &a.device);
        let pick = if seen.contains(&&pool.paging_vios[idx]) {
            &pool.paging_vios[idx]
        } else {
            seen.first().copied().unwrap_or(&pool.paging_vios[idx])
        };
        (pick.clone(), None)
    };
    let current = [Some(&primary), secondary.as_ref()].into_iter().flatten().find(|v| running(frame, v)).cloned();
    let Some(current) = current else {
        return Err(BackendError::refused_plain(format!(
            "No paging VIOS partition of {name} is running ({primary}{}); start one first.",
            secondary.as_ref().map(|s| format!(", {s}")).unwrap_or_default()
        )));
    };
    let pool = frame.mem_pool.as_mut().expect("checked");
    if let Some(d) = pool.devices.iter_mut().find(|d| d.device == a.device) {
        d.assigned = Some(name.clone());
    }
    let part = frame.partitions.get_mut(name).expect("exists");
    part.paging = Some(SimPaging { primary, secondary, current: Some(current), device: Some(a.device.clone()) });
    part.last_device = Some(a.device.clone());
    Ok(())
}

/// Activation of a shared-memory partition: choose and assign.
pub(crate) fn activate(frame: &mut SimFrame, name: &PartitionName, force: bool) -> Result<(), BackendError> {
    let p = &frame.partitions[name];
    if p.spec.memory.mode != MemoryMode::Shared {
        return Ok(());
    }
    // `required` and `preferred` are one and the same redundant profile (a primary and a
    // secondary paging VIOS) to the hypervisor: without a free common device it does not
    // activate unless forced, and forced it runs without failover.
    // seeds: ams-dual-vios-and-lpm.txt, lines 11-15: "If the shared memory partition has been
    // configured to use redundant paging VIOS partitions, a common paging space device will be
    // assigned. If no common paging space device is available, the partition will fail to
    // activate. It is still possible to activate a partition in this situation by using the
    // chsysstate command with the --force option ... No failover will be possible in this case."
    // With one paging VIOS the profile of a `preferred` partition names no secondary: it is not
    // a redundant profile.
    let two = frame.mem_pool.as_ref().is_some_and(|pool| pool.paging_vios.len() == 2);
    let redundancy = match p.spec.memory.paging.unwrap_or_default().redundancy {
        Redundancy::Preferred if two => Redundancy::Required,
        other => other,
    };
    let a = choose(frame, name, p.spec.memory.max_mb, redundancy, force, p.last_device.as_ref())?;
    assign(frame, name, &a)
}

/// Shutdown (or departure): the paging device is released; the hypervisor forgets the
/// current paging VIOS.
pub(crate) fn release(frame: &mut SimFrame, name: &PartitionName) {
    if let Some(pool) = frame.mem_pool.as_mut() {
        for d in pool.devices.iter_mut().filter(|d| d.assigned.as_ref() == Some(name)) {
            d.assigned = None;
        }
    }
    if let Some(p) = frame.partitions.get_mut(name) {
        p.paging = None;
    }
}

/// A paging VIOS went down: its partitions fail over to their other paging VIOS; one with no
/// running paging VIOS left cannot page and goes to Error. Returns what happened.
pub(crate) fn vios_down(frame: &mut SimFrame, vios: &ViosName) -> Vec<String> {
    let mut events = Vec::new();
    let up: Vec<ViosName> = frame.vios.iter().filter(|(_, v)| v.state.is_running()).map(|(n, _)| n.clone()).collect();
    for (name, p) in frame.partitions.iter_mut() {
        let Some(paging) = p.paging.as_mut() else {
            continue;
        };
        if paging.current.as_ref() != Some(vios) {
            continue;
        }
        let other = [Some(&paging.primary), paging.secondary.as_ref()]
            .into_iter()
            .flatten()
            .find(|v| *v != vios && up.contains(v))
            .cloned();
        match other {
            Some(o) => {
                events.push(format!("{name}: paging failed over from {vios} to {o}"));
                paging.current = Some(o);
            }
            None => {
                events.push(format!("{name}: no paging VIOS left; the partition is in error"));
                paging.current = None;
                p.state = LparState::Error;
            }
        }
    }
    events
}

/// `chhwres -r mem -o so`: switch the current paging VIOS to the other one.
pub(crate) fn switch(frame: &mut SimFrame, name: &PartitionName) -> Result<String, BackendError> {
    let p = frame
        .partitions
        .get(name)
        .ok_or_else(|| BackendError::refused_plain(format!("The partition {name} was not found.")))?;
    if !p.state.is_running() {
        return Err(BackendError::refused_plain(format!("The partition {name} is not running ({}).", p.state)));
    }
    let paging = p
        .paging
        .as_ref()
        .ok_or_else(|| BackendError::refused_plain(format!("{name} is not a shared memory partition.")))?;
    let Some(secondary) = &paging.secondary else {
        return Err(BackendError::refused_plain(format!(
            "{name} has no secondary paging VIOS partition; it cannot switch."
        )));
    };
    let target =
        if paging.current.as_ref() == Some(&paging.primary) { secondary.clone() } else { paging.primary.clone() };
    if !running(frame, &target) {
        return Err(BackendError::refused_plain(format!(
            "The paging VIOS partition {target} is not running; the paging VIOS of {name} cannot be switched to it."
        )));
    }
    // The HMC sets up the paging VIOS over RMC, as it reaches every VIOS for what it does
    // there (seed lpm-js22-walkthrough.txt, line 50: RMC connections to the VIOS are a
    // prerequisite): a VIOS whose RMC is not active yet after its activation is refused. That
    // the switch itself needs RMC is an assumption (no source says so or otherwise).
    if frame.vios.get(&target).is_some_and(|v| !v.rmc) {
        return Err(super::power::no_rmc(target.as_str(), "a paging VIOS switch (chhwres -r mem -o so)"));
    }
    let p = frame.partitions.get_mut(name).expect("checked");
    p.paging.as_mut().expect("checked").current = Some(target.clone());
    Ok(format!("{name} now pages through {target}"))
}
