//! Shared processor pools and the shared memory pool with its paging devices.

use powerplane_model::{
    DeviceName, MemPoolName, MemoryMb, ProcPoolId, ProcPoolName, ProcPoolObjectName, ProcUnits, ViosName,
};

use super::capacity;
use super::state::{SimFrame, SimMemPool, SimPagingDevice, SimProcPool};
use crate::backend::BackendError;
use powerplane_model::manifest::ReservePolicy;

/// `chhwres -r procpool -o s --poolid N`: configure pool `id`, named `pool` (an unused one is
/// named so, as `new_name` does), with its limits. Pools 1-63 always exist; the HMC names an
/// unused one `SharedPoolNN` and gives it maximum 0.
pub(crate) fn set_proc_pool(
    frame: &mut SimFrame,
    id: ProcPoolId,
    pool: &ProcPoolName,
    max: ProcUnits,
    reserved: ProcUnits,
    name: ProcPoolObjectName,
) -> Result<String, BackendError> {
    if id.0 == 0 || id.0 > ProcPoolId::MAX {
        return Err(BackendError::refused_plain(format!(
            "The shared processor pool ID {id} is not valid: configure a pool from 1 to {}.",
            ProcPoolId::MAX
        )));
    }
    let slots = frame.proc_pool_slots();
    match slots.ids.iter().find(|(_, i)| **i == id) {
        Some((configured, _)) if configured != pool => {
            return Err(BackendError::refused_plain(format!(
                "The shared processor pool with ID {id} is {configured}, not {pool}."
            )));
        }
        None if slots.ids.contains_key(pool) => {
            return Err(BackendError::refused_plain(format!(
                "A shared processor pool named {pool} already exists on the managed system."
            )));
        }
        _ => {}
    }
    if max > frame.hw.proc_units {
        return Err(BackendError::refused_plain(format!(
            "The maximum of {max} processing units is more than the managed system has ({}).",
            frame.hw.proc_units
        )));
    }
    let used = capacity::pool_used(frame, pool);
    if used + reserved > max {
        return Err(BackendError::refused_plain(format!(
            "Partitions entitle {used} processing units in {pool}; the maximum {max} with {reserved} reserved is too small."
        )));
    }
    let reserved_before = frame.proc_pools.get(pool).map(|p| p.reserved).unwrap_or_default();
    let free = capacity::free(frame).procs + reserved_before;
    if reserved > free {
        return Err(BackendError::refused_plain(format!(
            "There are not enough processing units available to reserve {reserved} for {pool}: Obtained: {free}, Required: {reserved}."
        )));
    }
    let entry = frame.proc_pools.entry(pool.clone()).or_insert(SimProcPool { id: id.0, name, max, reserved });
    entry.id = id.0;
    entry.max = max;
    entry.reserved = reserved;
    Ok(format!("{pool} configured"))
}

/// `chhwres -r procpool -o s --poolname P -a "new_name=SharedPoolNN,max_pool_proc_units=0,…"`:
/// pool `id` unconfigured, an unused pool again. Refused while a partition names it (running
/// or not: its profile names the pool), as no partition may be in a pool of maximum 0.
pub(crate) fn unset_proc_pool(
    frame: &mut SimFrame,
    id: ProcPoolId,
    pool: &ProcPoolName,
) -> Result<String, BackendError> {
    if frame.proc_pool_slots().ids.get(pool) != Some(&id) {
        return Err(BackendError::refused_plain(format!(
            "The shared processor pool {pool} with ID {id} is not configured on the managed system."
        )));
    }
    let members: Vec<&str> = frame
        .partitions
        .iter()
        .filter(|(_, p)| p.spec.processors.pool.as_ref() == Some(pool))
        .map(|(n, _)| n.as_str())
        .collect();
    if !members.is_empty() {
        return Err(BackendError::refused_plain(format!(
            "The maximum processing units of {pool} cannot be 0 while partitions are assigned to it: {}.",
            members.join(", ")
        )));
    }
    frame.proc_pools.remove(pool);
    Ok(format!("{pool} unconfigured ({})", ProcPoolName::unused(id)))
}

/// `chhwres -r mempool -o a`: create the shared memory pool.
pub(crate) fn create_mem_pool(
    frame: &mut SimFrame,
    pool_mem: MemoryMb,
    max: MemoryMb,
    paging_vios: &[ViosName],
    name: MemPoolName,
) -> Result<String, BackendError> {
    if let Some(p) = &frame.mem_pool {
        if p.pool_mem == pool_mem && p.max_pool_mem == max && p.paging_vios == paging_vios {
            return Ok("the shared memory pool already exists".to_owned());
        }
        return Err(BackendError::refused_plain("The managed system already has a shared memory pool."));
    }
    if paging_vios.is_empty() || paging_vios.len() > 2 {
        return Err(BackendError::refused_plain("A shared memory pool has one or two paging VIOS partitions."));
    }
    for v in paging_vios {
        if !frame.vios.contains_key(v) {
            return Err(BackendError::refused_plain(format!(
                "{v} is not a Virtual I/O Server of this managed system."
            )));
        }
    }
    if pool_mem > max {
        return Err(BackendError::refused_plain(format!("pool_mem {} is above max_pool_mem {}.", pool_mem.0, max.0)));
    }
    let free = capacity::free(frame);
    if pool_mem > free.memory {
        return Err(capacity::not_enough_memory(free.memory, pool_mem));
    }
    frame.mem_pool =
        Some(SimMemPool { name, pool_mem, max_pool_mem: max, paging_vios: paging_vios.to_vec(), devices: Vec::new() });
    Ok("shared memory pool created".to_owned())
}

/// `chhwres -r mempool -o s`: resize the pool.
pub(crate) fn update_mem_pool(frame: &mut SimFrame, pool_mem: MemoryMb, max: MemoryMb) -> Result<String, BackendError> {
    let free = capacity::free(frame);
    let pool = frame
        .mem_pool
        .as_mut()
        .ok_or_else(|| BackendError::refused_plain("The managed system has no shared memory pool."))?;
    if pool_mem > max {
        return Err(BackendError::refused_plain(format!("pool_mem {} is above max_pool_mem {}.", pool_mem.0, max.0)));
    }
    if pool_mem > pool.pool_mem && pool_mem - pool.pool_mem > free.memory {
        return Err(capacity::not_enough_memory(free.memory, pool_mem - pool.pool_mem));
    }
    pool.pool_mem = pool_mem;
    pool.max_pool_mem = max;
    Ok("shared memory pool changed".to_owned())
}

/// `chhwres -r mempool --rsubtype pgdev -o a`: add a paging device. A disk both paging VIOS see
/// (by its LUN) is recognised as common, whichever VIOS was named, and its `reserve_policy` is
/// set to `no_reserve` on both.
// seeds: ams-dual-vios-and-lpm.txt, "When adding a common paging space device using the
// chhwres command, you only need to specify one paging VIOS partition"; line 5: "when you
// configure a disk as a common paging space device the no_reserve attribute will automatically
// be set"; line 6: "it will automatically be recognized as a common paging space device if the
// prerequisites mentioned previously are met".
pub(crate) fn add_device(frame: &mut SimFrame, vios: &ViosName, device: &DeviceName) -> Result<String, BackendError> {
    let hw = &frame.hw;
    let pool = frame
        .mem_pool
        .as_ref()
        .ok_or_else(|| BackendError::refused_plain("The managed system has no shared memory pool."))?;
    if !pool.paging_vios.contains(vios) {
        return Err(BackendError::refused_plain(format!(
            "{vios} is not a paging VIOS partition of the shared memory pool."
        )));
    }
    let disk = hw
        .vios
        .iter()
        .find(|v| &v.name == vios)
        .and_then(|v| v.disks.iter().find(|d| &d.name == device))
        .ok_or_else(|| BackendError::refused_plain(format!("The device {device} was not found on {vios}.")))?
        .clone();
    if pool.devices.iter().any(|d| d.lun == disk.lun) {
        return Ok(format!("{device} is already a paging space device"));
    }
    let redundant = pool.paging_vios.len() == 2
        && pool
            .paging_vios
            .iter()
            .all(|pv| hw.vios.iter().any(|v| &v.name == pv && v.disks.iter().any(|d| d.lun == disk.lun)));
    if redundant {
        let paging_vios = pool.paging_vios.clone();
        for v in frame.hw.vios.iter_mut().filter(|v| paging_vios.contains(&v.name)) {
            for d in v.disks.iter_mut().filter(|d| d.lun == disk.lun) {
                d.reserve_policy = ReservePolicy::NoReserve;
            }
        }
    }
    let pool = frame.mem_pool.as_mut().expect("checked");
    pool.devices.push(SimPagingDevice {
        device: device.clone(),
        lun: disk.lun,
        size: disk.size_mb,
        redundant,
        assigned: None,
    });
    Ok(format!("{device} added{}", if redundant { " (redundant)" } else { "" }))
}

/// `chhwres -r mempool --rsubtype pgdev -o r`: remove a free paging device.
pub(crate) fn remove_device(frame: &mut SimFrame, device: &DeviceName) -> Result<String, BackendError> {
    let pool = frame
        .mem_pool
        .as_mut()
        .ok_or_else(|| BackendError::refused_plain("The managed system has no shared memory pool."))?;
    let Some(i) = pool.devices.iter().position(|d| &d.device == device) else {
        return Ok(format!("{device} is not in the pool"));
    };
    if let Some(p) = &pool.devices[i].assigned {
        return Err(BackendError::refused_plain(format!("The paging space device {device} is in use by {p}.")));
    }
    pool.devices.remove(i);
    Ok(format!("{device} removed"))
}
