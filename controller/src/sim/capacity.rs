//! Frame and pool capacity: what is free on a frame and whether a partition fits. Activated
//! partitions (and a migration's shell on its target) hold their dedicated memory and
//! processing units; shared-memory partitions draw on the pool, which may be overcommitted; a
//! shared processor pool's reserved capacity is guaranteed to it and so taken from the frame.

use powerplane_model::manifest::{MemoryMode, PartitionSpec, ProcMode};
use powerplane_model::status::LparState;
use powerplane_model::{MemoryMb, ProcPoolName, ProcUnits};

use super::state::{SimFrame, SimPartition};
use crate::backend::BackendError;

/// Free resources of a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Free {
    pub memory: MemoryMb,
    pub procs: ProcUnits,
}

/// Whether a partition in this state holds resources.
pub(crate) fn holds_resources(state: &LparState) -> bool {
    !matches!(state, LparState::NotActivated | LparState::MigratingNotActivated | LparState::Error)
}

/// Dedicated memory and processing units a running partition holds.
pub(crate) fn demand(spec: &PartitionSpec) -> (MemoryMb, ProcUnits) {
    let mem = match spec.memory.mode {
        MemoryMode::Dedicated => spec.memory.desired_mb,
        MemoryMode::Shared => MemoryMb(0),
    };
    (mem, spec.processors.units)
}

/// What is free on the frame now.
pub(crate) fn free(frame: &SimFrame) -> Free {
    let mut memory = frame.hw.memory_mb;
    let mut procs = frame.hw.proc_units;
    for v in &frame.hw.vios {
        if frame.vios.get(&v.name).is_some_and(|s| holds_resources(&s.state)) {
            memory = memory.saturating_sub(v.memory_mb);
            procs = procs.saturating_sub(v.proc_units);
        }
    }
    if let Some(pool) = &frame.mem_pool {
        memory = memory.saturating_sub(pool.pool_mem);
    }
    for p in frame.partitions.values().filter(|p| holds_resources(&p.state)) {
        let (m, c) = demand(&p.spec);
        memory = memory.saturating_sub(m);
        procs = procs.saturating_sub(c);
    }
    // seeds: powervm-quickstart..., line 113: "Reserved Capacity - Additional (guaranteed) CPU
    // resources that are assigned to the pool of partitions above the desired capacity".
    for pool in frame.proc_pools.values() {
        procs = procs.saturating_sub(pool.reserved);
    }
    Free { memory, procs }
}

/// Processing units entitled in a shared processor pool by activated partitions.
pub(crate) fn pool_used(frame: &SimFrame, pool: &ProcPoolName) -> ProcUnits {
    frame
        .partitions
        .values()
        .filter(|p| holds_resources(&p.state) && p.spec.processors.mode == ProcMode::Shared)
        .filter(|p| &p.spec.processors.pool_or_default() == pool)
        .map(|p| p.spec.processors.units)
        .sum()
}

/// The seed's HMC message for a frame without enough memory.
// seeds: powervm-quickstart..., "There is not enough memory: Obtained: 2816, Required: 4608."
pub(crate) fn not_enough_memory(obtained: MemoryMb, required: MemoryMb) -> BackendError {
    BackendError::refused_plain(format!(
        "There is not enough memory: Obtained: {}, Required: {}.  Check that there is enough memory available to activate the partition. If not, create a new profile or modify the existing profile with the available resources, then activate the partition. If the partition must be activated with these resources, deactivate any running partition or partitions using the resource, then activate this partition.",
        obtained.0, required.0
    ))
}

/// Checks that `spec` can be activated (or arrive) on `frame` now.
pub(crate) fn check_fits(frame: &SimFrame, spec: &PartitionSpec, migrating: bool) -> Result<(), BackendError> {
    let free = free(frame);
    let (mem, procs) = demand(spec);
    if mem > free.memory {
        return Err(not_enough_memory(free.memory, mem));
    }
    if procs > free.procs {
        return Err(if migrating {
            BackendError::refused_plain(
                "The partition cannot be migrated because the processing resources it requires exceeds the available processing resources in the destination managed system's shared processor pool. If possible, free up processing resources from that shared processor pool and try the operation again.",
            )
        } else {
            BackendError::refused_plain(format!(
                "There are not enough processing units available: Obtained: {}, Required: {}.",
                free.procs, procs
            ))
        });
    }
    if spec.processors.mode == ProcMode::Shared {
        let pool = spec.processors.pool_or_default();
        if pool != ProcPoolName::default_pool() {
            let Some(sp) = frame.proc_pools.get(&pool) else {
                return Err(BackendError::refused_plain(format!(
                    "The shared processor pool {pool} does not exist on this managed system."
                )));
            };
            let used = pool_used(frame, &pool);
            if used + sp.reserved + procs > sp.max {
                return Err(BackendError::refused_plain(format!(
                    "The shared processor pool {pool} cannot supply {procs} processing units: {used} are entitled and {} reserved of its maximum {}.",
                    sp.reserved, sp.max
                )));
            }
        }
    }
    Ok(())
}

/// What an activation gets when the frame is short of the profile's desired values: the
/// desired memory and entitlement, each cut to what is free but not below the profile's
/// minimum (and, shared, not below 0.10 per virtual processor, which it always gets). `None`
/// when even the minimum does not fit; the spec unchanged when the desired values do.
// seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, line 94: "Minimum: The
// minimum physical CPU resource required for this partition to start"; line 95: "The CPU
// entitlement can be ... less if the LPAR started closer to the minimum value"; line 97: "the
// desired number [of virtual CPUs] is always received upon startup".
pub(crate) fn activation(frame: &SimFrame, spec: &PartitionSpec) -> Option<PartitionSpec> {
    if check_fits(frame, spec, false).is_ok() {
        return Some(spec.clone());
    }
    let free = free(frame);
    let mut got = spec.clone();
    if spec.memory.mode == MemoryMode::Dedicated {
        got.memory.desired_mb = spec.memory.desired_mb.min(free.memory);
        if got.memory.desired_mb < spec.memory.min_or_default() {
            return None;
        }
    }
    let (min_units, units, _) = spec.processors.units_range();
    let mut room = free.procs;
    if spec.processors.mode == ProcMode::Shared {
        let pool = spec.processors.pool_or_default();
        if let Some(sp) = frame.proc_pools.get(&pool) {
            room = room.min(sp.max.saturating_sub(sp.reserved + pool_used(frame, &pool)));
        }
    }
    let floor = match spec.processors.mode {
        ProcMode::Shared => min_units.max(ProcUnits::from_hundredths(
            spec.processors.virtual_processors() * powerplane_model::manifest::MIN_HUNDREDTHS_PER_VIRTUAL_PROCESSOR,
        )),
        ProcMode::Dedicated => min_units,
    };
    let mut take = units.min(room);
    if spec.processors.mode == ProcMode::Dedicated {
        take = ProcUnits::whole(take.hundredths() / 100);
    }
    if take < floor {
        return None;
    }
    got.processors.units = take;
    check_fits(frame, &got, false).is_ok().then_some(got)
}

/// A DLPAR change of a running partition's memory or processing units fits.
pub(crate) fn check_growth(
    frame: &SimFrame,
    p: &SimPartition,
    mem: MemoryMb,
    procs: ProcUnits,
) -> Result<(), BackendError> {
    let free = free(frame);
    let (cur_mem, cur_procs) = demand(&p.spec);
    if mem > cur_mem && mem - cur_mem > free.memory {
        return Err(not_enough_memory(free.memory, mem - cur_mem));
    }
    if procs > cur_procs && procs.saturating_sub(cur_procs) > free.procs {
        return Err(BackendError::refused_plain(format!(
            "There are not enough processing units available: Obtained: {}, Required: {}.",
            free.procs,
            procs.saturating_sub(cur_procs)
        )));
    }
    Ok(())
}
