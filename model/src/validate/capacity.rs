//! Capacity after placement: frame memory and processing units (with physical facts), shared
//! processor pool limits (from manifests alone), and the limits the seeds state: 64 shared
//! processor pools per frame, each with at least one processor, and 1,000 partitions per shared
//! memory pool.

use std::collections::BTreeMap;

use super::finding;
use crate::diagnostic::{Diagnostic, Rule};
use crate::estate::Estate;
use crate::manifest::{Kind, MemoryMode, ProcMode, RunState};
use crate::names::{PartitionName, ProcPoolName};
use crate::placement::{Eligibility, Placer};
use crate::units::ProcUnits;

pub(super) fn check(
    e: &Estate,
    placer: &Placer<'_>,
    assignment: &BTreeMap<PartitionName, Eligibility>,
    observed: Option<&Estate>,
    out: &mut Vec<Diagnostic>,
) {
    for (frame, u) in placer.usage(assignment) {
        let Some(fr) = e.frames.get(&frame) else {
            continue;
        };
        let at = |rule, msg: String, hint: &str| finding(rule, Kind::Frame, fr, &["metadata", "name"], msg, hint);
        if u.memory_used() > u.memory {
            out.push(at(
                Rule::FrameMemoryCapacity,
                format!(
                    "frame `{frame}` has {} of memory but would need {} (VIOS {}, shared memory pool {}, running partitions {})",
                    u.memory,
                    u.memory_used(),
                    u.vios_memory,
                    u.pool_memory,
                    u.partition_memory
                ),
                "lower partitions' desiredMB, stop or move partitions, or shrink the shared memory pool",
            ));
        }
        if u.procs_used() > u.procs {
            out.push(at(
                Rule::FrameProcessorCapacity,
                format!(
                    "frame `{frame}` has {} processing units but would need {} (VIOS {}, running partitions {}{})",
                    u.procs,
                    u.procs_used(),
                    u.vios_procs,
                    u.partition_procs,
                    if u.pool_reserved_procs > ProcUnits::default() {
                        format!(", reserved by its shared processor pools {}", u.pool_reserved_procs)
                    } else {
                        String::new()
                    }
                ),
                "lower partitions' processing units or the pools' reservedProcUnits, or stop or move partitions",
            ));
        }
    }
    let mut in_pool: BTreeMap<(&crate::names::FrameName, ProcPoolName), ProcUnits> = BTreeMap::new();
    for (name, el) in assignment {
        let p = &e.partitions[name];
        if let Eligibility::Placed(f) = el
            && p.spec.state == RunState::Running
            && p.spec.processors.mode == ProcMode::Shared
        {
            *in_pool.entry((f, p.spec.processors.pool_or_default())).or_default() += p.spec.processors.units;
        }
    }
    for pool in e.proc_pools.values() {
        let sp = &pool.spec;
        let at = |rule, path: &[&str], msg: String, hint: &str| {
            finding(rule, Kind::SharedProcessorPool, pool, path, msg, hint)
        };
        // The HMC takes a pool's maximum in whole processors (its help: "This number must be a
        // whole number"; HMC V7R3.4.0 `ModifyShareProcAttributePanel.MaxCapEditBox`; PowerCampus
        // "Multiple Shared Processor Pools": "must be an integer").
        // (Below one processor the rule below says what to do.)
        if sp.max_proc_units.hundredths() > 100 && !sp.max_proc_units.hundredths().is_multiple_of(100) {
            out.push(at(
                Rule::ProcessorPoolLimits,
                &["spec", "maxProcUnits"],
                format!(
                    "maxProcUnits {} is not a whole number; the HMC takes a pool's maximum in whole processors",
                    sp.max_proc_units
                ),
                "round maxProcUnits to a whole number",
            ));
        }
        if sp.reserved_proc_units > sp.max_proc_units {
            out.push(at(
                Rule::ProcessorPoolLimits,
                &["spec", "reservedProcUnits"],
                format!("reservedProcUnits {} is above maxProcUnits {}", sp.reserved_proc_units, sp.max_proc_units),
                "lower reservedProcUnits or raise maxProcUnits",
            ));
        }
        if let Some(hw) = observed.and_then(|o| o.hardware.get(&sp.frame))
            && sp.max_proc_units > hw.spec.proc_units
        {
            out.push(at(
                Rule::ProcessorPoolLimits,
                &["spec", "maxProcUnits"],
                format!(
                    "maxProcUnits {} is above the {} processing units of frame `{}`",
                    sp.max_proc_units, hw.spec.proc_units, sp.frame
                ),
                "lower maxProcUnits to what the frame has",
            ));
        }
        let used = in_pool.get(&(&sp.frame, sp.pool_name.clone())).copied().unwrap_or_default();
        if used + sp.reserved_proc_units > sp.max_proc_units {
            out.push(at(
                Rule::ProcessorPoolCapacity,
                &["spec", "maxProcUnits"],
                format!(
                    "running partitions entitle {used} processing units in pool `{}` on frame `{}`, plus {} reserved, above its maximum of {}",
                    sp.pool_name, sp.frame, sp.reserved_proc_units, sp.max_proc_units
                ),
                "raise maxProcUnits, or lower the entitlements of the pool's partitions",
            ));
        }
    }
    limits(e, assignment, out);
}

/// Shared processor pools a frame can have, DefaultPool included.
// seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, line 110: "Power 6 systems
// can have up to 64 SPPs. (The limit is set to 64 because the largest Power 6 system has 64
// processors, and a SPP must have at least 1 CPU assigned to it.)"
pub(crate) const MAX_PROC_POOLS_PER_FRAME: usize = 64;

/// Partitions one shared memory pool can serve.
// seeds: ams-overview-de.txt, line 12: "Im Prinzip können dann fast beliebig viele LPARs (maximal
// 1000) dem Shared Memory Pool zugewiesen werden."
pub(crate) const MAX_PARTITIONS_PER_MEMORY_POOL: usize = 1000;

/// The limits the seeds state for pools.
fn limits(e: &Estate, assignment: &BTreeMap<PartitionName, Eligibility>, out: &mut Vec<Diagnostic>) {
    let mut pools_on: BTreeMap<&crate::names::FrameName, Vec<&crate::estate::ProcPool>> = BTreeMap::new();
    for pool in e.proc_pools.values() {
        pools_on.entry(&pool.spec.frame).or_default().push(pool);
        if pool.spec.max_proc_units < ProcUnits::whole(1) {
            out.push(finding(
                Rule::ProcessorPoolLimits,
                Kind::SharedProcessorPool,
                pool,
                &["spec", "maxProcUnits"],
                format!(
                    "maxProcUnits {} is below one processor; a shared processor pool must have at least 1 CPU assigned to it",
                    pool.spec.max_proc_units
                ),
                "give the pool at least one processor: `maxProcUnits: 1`",
            ));
        }
    }
    for (frame, pools) in pools_on {
        // DefaultPool (SPP 0) is always there and counts.
        let named = pools.iter().filter(|p| p.spec.pool_name != ProcPoolName::default_pool()).count();
        if named + 1 > MAX_PROC_POOLS_PER_FRAME {
            let last = pools.last().expect("a frame listed has pools");
            out.push(finding(
                Rule::ProcessorPoolCount,
                Kind::SharedProcessorPool,
                last,
                &["spec", "frame"],
                format!(
                    "frame `{frame}` would have {} shared processor pools with DefaultPool; Power 6 systems can have up to {MAX_PROC_POOLS_PER_FRAME} SPPs",
                    named + 1
                ),
                format!("merge pools, or move some to another frame (at most {} besides DefaultPool)", MAX_PROC_POOLS_PER_FRAME - 1),
            ));
        }
    }
    let mut shared_on: BTreeMap<&crate::names::FrameName, usize> = BTreeMap::new();
    for (name, el) in assignment {
        if let Eligibility::Placed(f) = el
            && e.partitions[name].spec.memory.mode == MemoryMode::Shared
        {
            *shared_on.entry(f).or_default() += 1;
        }
    }
    for pool in e.mem_pools.values() {
        let n = shared_on.get(&pool.spec.frame).copied().unwrap_or(0);
        if n > MAX_PARTITIONS_PER_MEMORY_POOL {
            out.push(finding(
                Rule::MemoryPoolPartitions,
                Kind::SharedMemoryPool,
                pool,
                &["metadata", "name"],
                format!(
                    "{n} shared-memory partitions are assigned to the shared memory pool of frame `{}`; a pool serves at most {MAX_PARTITIONS_PER_MEMORY_POOL} (\"maximal 1000\")",
                    pool.spec.frame
                ),
                "give some of them dedicated memory, or place them on another frame",
            ));
        }
    }
}
