//! Partition settings the HMC would refuse: memory limits, processor settings, AMS prerequisites.

use super::finding;
use crate::diagnostic::{Diagnostic, Rule};
use crate::estate::Estate;
use crate::manifest::MIN_HUNDREDTHS_PER_VIRTUAL_PROCESSOR;
use crate::manifest::{Kind, MemoryMode, ProcMode, Sharing};
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
        if let Some(min) = mem.min_mb
            && min > mem.desired_mb
        {
            out.push(part(
                Rule::MemoryLimits,
                &["spec", "memory", "minMB"],
                format!("minMB {} is above desiredMB {}", min.0, mem.desired_mb.0),
                "the minimum is what the partition needs to start: lower minMB or raise desiredMB",
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
                if procs.pool.is_some()
                    || procs.r#virtual.is_some()
                    || procs.min_virtual.is_some()
                    || procs.max_virtual.is_some()
                    || procs.weight.is_some()
                    || procs.sharing != Sharing::Uncapped
                {
                    out.push(part(
                        Rule::ProcessorSettings,
                        &["spec", "processors", "mode"],
                        "`pool`, `virtual`, `minVirtual`, `maxVirtual`, `sharing` and `weight` only apply to shared processors".to_owned(),
                        "remove them, or use `mode: shared`",
                    ));
                }
                for (field, v) in [("minUnits", procs.min_units), ("maxUnits", procs.max_units)] {
                    if v.is_some_and(|u| u.hundredths() % 100 != 0) {
                        out.push(part(
                            Rule::ProcessorSettings,
                            &["spec", "processors", field],
                            format!("dedicated processors come whole, not {}", v.unwrap_or_default()),
                            "use a whole number",
                        ));
                    }
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
                // seeds: powervm-quickstart..., line 90: "the minimal allocation is 1/10th of a
                // CPU for each virtual CPU"; an uncapped partition uses at most one processor
                // per virtual processor.
                let (min_vp, _, max_vp) = procs.virtual_range();
                let max_u = procs.units_range().2;
                if let Some(m) = procs.min_units
                    && m.hundredths() < min_vp * MIN_HUNDREDTHS_PER_VIRTUAL_PROCESSOR
                {
                    out.push(part(
                        Rule::ProcessorSettings,
                        &["spec", "processors", "minUnits"],
                        format!("minUnits {m} cannot carry {min_vp} virtual processors at 0.10 each"),
                        &format!(
                            "raise minUnits to {} or lower minVirtual",
                            ProcUnits::from_hundredths(min_vp * MIN_HUNDREDTHS_PER_VIRTUAL_PROCESSOR)
                        ),
                    ));
                }
                if procs.max_units.is_some_and(|m| m.hundredths() > max_vp * 100) {
                    out.push(part(
                        Rule::ProcessorSettings,
                        &["spec", "processors", "maxUnits"],
                        format!(
                            "maxUnits {max_u} is more than {max_vp} virtual processors can use (one processor each)"
                        ),
                        "lower maxUnits or raise maxVirtual",
                    ));
                }
                if procs.weight.is_some() && procs.sharing == Sharing::Capped {
                    out.push(part(
                        Rule::ProcessorSettings,
                        &["spec", "processors", "weight"],
                        "an uncapped weight on a capped partition has no effect".to_owned(),
                        "remove `weight`, or use `sharing: uncapped`",
                    ));
                }
            }
        }
        // Minimum <= desired <= maximum, as the HMC requires of a profile.
        let (min_u, units, max_u) = procs.units_range();
        let mut order = vec![
            ("minUnits", min_u > units, format!("minUnits {min_u} is above units {units}")),
            ("maxUnits", max_u < units, format!("maxUnits {max_u} is below units {units}")),
        ];
        if procs.mode == ProcMode::Shared {
            let (min_vp, vp, max_vp) = (procs.min_virtual, procs.virtual_processors(), procs.max_virtual);
            order.push((
                "minVirtual",
                min_vp.is_some_and(|m| m > vp || m == 0),
                format!("minVirtual {} is not between 1 and the {vp} virtual processors", min_vp.unwrap_or_default()),
            ));
            order.push((
                "maxVirtual",
                max_vp.is_some_and(|m| m < vp),
                format!("maxVirtual {} is below the {vp} virtual processors", max_vp.unwrap_or_default()),
            ));
        }
        for (field, _, text) in order.into_iter().filter(|(_, bad, _)| *bad) {
            out.push(part(
                Rule::ProcessorSettings,
                &["spec", "processors", field],
                text,
                "a profile needs minimum <= desired (`units`, `virtual`) <= maximum",
            ));
        }
    }
}
