//! Capacity after placement: frame memory and processing units (with physical facts), shared
//! processor pool limits (from manifests alone).

use std::collections::BTreeMap;

use super::finding;
use crate::diagnostic::{Diagnostic, Rule};
use crate::estate::Estate;
use crate::manifest::{Kind, ProcMode, RunState};
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
                    "frame `{frame}` has {} processing units but would need {} (VIOS {}, running partitions {})",
                    u.procs,
                    u.procs_used(),
                    u.vios_procs,
                    u.partition_procs
                ),
                "lower partitions' processing units, or stop or move partitions",
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
}
