//! `sim show`'s text: the simulated estate as an operator reads it, frame by frame.

use std::io::Write;

use powerplane_model::status::{LparState, SeaState};

use crate::sim::Report;

pub(super) fn show(out: &mut dyn Write, r: &Report) -> std::io::Result<()> {
    let t = r.virtual_seconds;
    writeln!(out, "Simulated estate (seed {}, virtual time {}:{:02}:{:02})", r.seed, t / 3600, t / 60 % 60, t % 60)?;
    for f in &r.frames {
        writeln!(out)?;
        writeln!(
            out,
            "Frame {}  {} {}  {}{}  memory {} of {} MB free  processing units {} of {} free",
            f.name,
            f.machine_type,
            f.serial,
            f.state,
            if f.on_battery { " ON BATTERY" } else { "" },
            f.memory_free_mb.0,
            f.memory_mb.0,
            f.proc_units_free,
            f.proc_units
        )?;
        let vios: Vec<String> = f
            .vios
            .iter()
            .map(|v| format!("{} {}{}", v.name, v.state, if v.state.is_running() && !v.rmc { " (no RMC)" } else { "" }))
            .collect();
        writeln!(out, "  VIOS        {}", vios.join(", "))?;
        if let Some(sea) = &f.sea {
            writeln!(out, "  SEA {}", sea.name)?;
            for m in &sea.members {
                let vlans: Vec<String> = m.vlans.iter().map(ToString::to_string).collect();
                let bridged = if m.state == SeaState::Inactive || vlans.is_empty() {
                    String::new()
                } else {
                    format!("  VLANs {}", vlans.join(" "))
                };
                let adapters: Vec<&str> = m.adapters.iter().map(|a| a.as_str()).collect();
                let unsaved: Vec<&str> = m.unsaved.iter().map(|a| a.as_str()).collect();
                let bridged = format!(
                    "{bridged}  virt_adapters={}{}",
                    adapters.join(","),
                    if unsaved.is_empty() {
                        String::new()
                    } else {
                        format!(" (not in the profile: {})", unsaved.join(","))
                    }
                );
                writeln!(
                    out,
                    "    {:<18} {} ha_mode={:<8} priority {}  {:<10} bridge {:?}{bridged}",
                    m.vios.as_str(),
                    m.device,
                    m.ha_mode.as_str(),
                    m.priority,
                    m.state.as_str(),
                    m.bridge_mode
                )?;
            }
        }
        if let Some(pool) = &f.memory_pool {
            let pv: Vec<&str> = pool.paging_vios.iter().map(|v| v.as_str()).collect();
            writeln!(
                out,
                "  Memory pool {} of max {} MB, paging VIOS {}",
                pool.pool_mem_mb.0,
                pool.max_pool_mem_mb.0,
                pv.join(", ")
            )?;
            for d in &pool.devices {
                writeln!(
                    out,
                    "    {:<18} {} MB {}  {}",
                    d.device.as_str(),
                    d.size.0,
                    if d.redundant { "common     " } else { "independent" },
                    d.assigned.as_ref().map_or("free".to_owned(), |p| format!("-> {p}"))
                )?;
            }
        }
        for p in &f.partitions {
            let paging = match (&p.paging_current, &p.paging_primary) {
                (Some(c), Some(pri)) => format!(
                    "  paging via {c} (primary {pri}{})",
                    p.paging_secondary.as_ref().map(|s| format!(", secondary {s}")).unwrap_or_default()
                ),
                (None, Some(_)) => "  paging: no paging VIOS".to_owned(),
                _ => String::new(),
            };
            let state = if p.state == LparState::Running && !p.rmc {
                "Running (no RMC)".to_owned()
            } else {
                p.state.to_string()
            };
            let short = p
                .below_desired
                .map(|(m, u)| format!("  (activated below its desired {} MB, {u} units: the frame was short)", m.0))
                .unwrap_or_default();
            writeln!(
                out,
                "  Partition   {:<18} {:<22} {} MB{}  {} units{paging}{short}",
                p.name.as_str(),
                state,
                p.memory_mb.0,
                if p.shared_memory { " shared" } else { "" },
                p.proc_units
            )?;
        }
    }
    if !r.cluster_nodes.is_empty() {
        writeln!(out, "\nCluster nodes")?;
        for n in &r.cluster_nodes {
            let st = &n.status;
            let mut what = vec![format!("{} {}", st.manager, st.cluster)];
            if let Some(p) = st.peerinact_centis {
                what.push(format!("peerinact {p} (.01 s)"));
            }
            if st.unmanaged {
                what.push("resource groups UNMANAGED".into());
            }
            if st.maintenance {
                what.push("MAINTENANCE".into());
            }
            what.push(if st.online.is_empty() {
                "no group online".into()
            } else {
                format!("online: {}", st.online.join(", "))
            });
            what.extend(st.failovers.iter().map(|f| format!("FALSE FAILOVER: {f}")));
            writeln!(out, "  {:<18} on {:<14} {}", n.partition.as_str(), n.frame.as_str(), what.join("  "))?;
        }
    }
    if let Some(last) = r.events.last() {
        writeln!(
            out,
            "\nError log: {} entries kept, the last number {} (`powerplane sim events` lists them)",
            r.events.len(),
            last.seq
        )?;
    }
    if !r.migrations.is_empty() {
        writeln!(out, "\nMigrations (lslparmigr -r lpar)")?;
        for m in &r.migrations {
            let st = &m.status;
            let left =
                if st.remaining_secs > 0 { format!(", about {} s left", st.remaining_secs) } else { String::new() };
            let fix = if st.state == powerplane_model::status::MigrationState::Failed {
                format!("  recover: migrlpar -o r -m {} -p {}", m.from.word(), m.partition.word())
            } else {
                String::new()
            };
            writeln!(
                out,
                "  {:<18} {} -> {}  {}  {}% copied{left}{fix}",
                m.partition.as_str(),
                m.from,
                st.to,
                st.state,
                st.percent
            )?;
            writeln!(out, "    {}", m.lslparmigr())?;
        }
    }
    Ok(())
}
