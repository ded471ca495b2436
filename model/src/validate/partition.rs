//! Partition settings the HMC would refuse: memory limits, processor settings, AMS prerequisites.

use super::finding;
use crate::diagnostic::{Diagnostic, Rule};
use crate::estate::Estate;
use crate::manifest::{Kind, MemoryMode, ProcMode};
use crate::units::ProcUnits;

pub(super) fn check(e: &Estate, out: &mut Vec<Diagnostic>) {
    for p in e.partitions.values() {
        let sp = &p.spec;
        let part = |rule, path: &[&str], msg: String, hint: &str| finding(rule, Kind::Partition, p, path, msg, hint);
        let mem = &sp.memory;
        if mem.desired_mb > mem.max_mb {
            out.push(part(
                Rule::MemoryLimits,
                &["spec", "memory", "desiredMB"],
                format!("desiredMB {} is above maxMB {}", mem.desired_mb.0, mem.max_mb.0),
                "raise maxMB (needs a reactivation) or lower desiredMB",
            ));
        }
        if mem.desired_mb.0 == 0 {
            out.push(part(
                Rule::MemoryLimits,
                &["spec", "memory", "desiredMB"],
                "desiredMB is 0".to_owned(),
                "give the partition memory",
            ));
        }
        // seeds: DESIGN §9, "Shared-memory partitions use shared processors and only virtual
        // adapters."
        if mem.mode == MemoryMode::Shared && sp.processors.mode == ProcMode::Dedicated {
            out.push(part(
                Rule::SharedMemoryNeedsSharedProcessors,
                &["spec", "processors", "mode"],
                "a shared-memory partition must use shared processors".to_owned(),
                "set `processors.mode: shared`, or `memory.mode: dedicated`",
            ));
        }
        if mem.mode == MemoryMode::Dedicated && mem.paging.is_some() {
            out.push(part(
                Rule::PagingWithoutSharedMemory,
                &["spec", "memory", "paging"],
                "paging settings only apply to shared memory".to_owned(),
                "remove `paging`, or set `memory.mode: shared`",
            ));
        }
        let procs = &sp.processors;
        if procs.units == ProcUnits::default() {
            out.push(part(
                Rule::ProcessorSettings,
                &["spec", "processors", "units"],
                "processors.units is 0".to_owned(),
                "give the partition processing units, e.g. `units: 0.5`",
            ));
        }
        match procs.mode {
            ProcMode::Dedicated => {
                if procs.units.hundredths() % 100 != 0 {
                    out.push(part(
                        Rule::ProcessorSettings,
                        &["spec", "processors", "units"],
                        format!("dedicated processors come whole, not {}", procs.units),
                        "use a whole number, or `mode: shared`",
                    ));
                }
                if procs.pool.is_some() || procs.r#virtual.is_some() {
                    out.push(part(
                        Rule::ProcessorSettings,
                        &["spec", "processors", "mode"],
                        "`pool` and `virtual` only apply to shared processors".to_owned(),
                        "remove them, or use `mode: shared`",
                    ));
                }
            }
            ProcMode::Shared => {
                if let Some(fits) = procs.virtual_processors_out_of_range() {
                    let vp = procs.virtual_processors();
                    let (path, hint) = if fits.is_empty() {
                        ("units", "give it at least 0.10 processing units".to_owned())
                    } else {
                        ("virtual", format!("use between {} and {} virtual processors", fits.start(), fits.end()))
                    };
                    out.push(part(
                        Rule::ProcessorSettings,
                        &["spec", "processors", path],
                        format!(
                            "{vp} virtual processors cannot carry {} processing units: each takes between 0.10 and 1.00 (the seeds: \"the minimal allocation is 1/10th of a CPU for each virtual CPU\")",
                            procs.units
                        ),
                        &hint,
                    ));
                }
            }
        }
    }
}
