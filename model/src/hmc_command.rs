//! The HMC (and, through `viosvrcmd`, VIOS) command line for each action: what `plan --format
//! hmc` prints and what a real HMC backend will run. The syntax follows the seeds' listings.
//! A name that is an argument of its own is written with `.word()` (quoted by
//! [`crate::hmc_word`] when it holds a space); inside a double-quoted `-i "…"`/`-a "…"`
//! attribute list a name is written as it is.

use crate::action::{ChangeMethod, Op, PartitionChange};
use crate::manifest::{MemoryMode, PartitionSpec, ProcMode, RunState, Sharing, StorageVia};
use crate::names::{FrameName, ProfileName, ViosName};

/// Renders `op` as one command line.
pub(crate) fn render(op: &Op) -> String {
    match op {
        // Pools 0 to 63 always exist: a new pool is an unused one, `SharedPoolNN`, configured
        // and named (`new_name`); a pool is changed by its name. Both forms are attested by
        // public sources (tests/fixtures/hmc/README.md, "Shared processor pools"); the `--poolid`
        // form is not. The maximum is in whole processors.
        Op::CreateSharedProcessorPool { frame, pool_id, pool, max, reserved } => format!(
            "chhwres -r procpool -m {} -o s --poolname {} -a \"new_name={pool},max_pool_proc_units={},reserved_pool_proc_units={reserved}\"",
            frame.word(),
            crate::names::ProcPoolName::unused(*pool_id),
            whole(*max)
        ),
        Op::UpdateSharedProcessorPool { frame, pool, max, reserved, .. } => format!(
            "chhwres -r procpool -m {} -o s --poolname {} -a \"max_pool_proc_units={},reserved_pool_proc_units={reserved}\"",
            frame.word(),
            pool.word(),
            whole(*max)
        ),
        // Unconfigured as the HMC lists an unused pool: maximum 0, named `SharedPoolNN`
        // (tests/fixtures/hmc/README.md, "Shared processor pools": the name back is an
        // assumption that keeps the slot as an HMC shows it before it was configured).
        Op::RemoveSharedProcessorPool { frame, pool_id, pool } => format!(
            "chhwres -r procpool -m {} -o s --poolname {} -a \"new_name={},max_pool_proc_units=0,reserved_pool_proc_units=0\"",
            frame.word(),
            pool.word(),
            crate::names::ProcPoolName::unused(*pool_id)
        ),
        // seeds: ams-dual-vios-and-lpm.txt, Listing 1.
        Op::CreateSharedMemoryPool { frame, pool_mem, max_pool_mem, paging_vios } => format!(
            "chhwres -r mempool -m {} -o a -a \"pool_mem={},max_pool_mem={},\\\"paging_vios_names={}\\\"\"",
            frame.word(),
            pool_mem.0,
            max_pool_mem.0,
            join(paging_vios)
        ),
        Op::UpdateSharedMemoryPool { frame, pool_mem, max_pool_mem } => {
            format!(
                "chhwres -r mempool -m {} -o s -a \"pool_mem={},max_pool_mem={}\"",
                frame.word(),
                pool_mem.0,
                max_pool_mem.0
            )
        }
        Op::AddPagingDevice { frame, vios, device } => {
            format!("chhwres -r mempool -m {} -o a -p {} --rsubtype pgdev --device {device}", frame.word(), vios.word())
        }
        Op::RemovePagingDevice { frame, vios, device } => {
            format!("chhwres -r mempool -m {} -o r -p {} --rsubtype pgdev --device {device}", frame.word(), vios.word())
        }
        // IBM's `chsysstate` man page: "To activate a partition with a profile: chsysstate -m
        // managed-system -r lpar -o on {-n partition-name | --id partition-ID} -f
        // partition-profile-name". The profile is the one observed (`Status::vios_profile`).
        Op::StartVios { frame, vios, profile } => {
            format!("chsysstate -m {} -r lpar -o on -n {} -f {}", frame.word(), vios.word(), profile.word())
        }
        Op::StopVios { frame, vios } => {
            format!("chsysstate -m {} -r lpar -o osshutdown -n {}", frame.word(), vios.word())
        }
        // seeds: powervm-quickstart..., "mkvdev -sea ent0 -vadapter ent1,ent2 -default ent1
        // -defaultid 1 -attr ha_mode=sharing ctl_chan=ent3"
        Op::CreateSea { frame, vios, real_adapter, trunks, control_channel, ha_mode, .. } => {
            let adapters: Vec<String> = trunks.iter().map(|t| t.adapter.to_string()).collect();
            let (default, pvid) = trunks.first().map_or(("", 1), |t| (t.adapter.as_str(), t.pvid.get()));
            let mut attrs = format!("ha_mode={ha_mode}");
            if let Some(cc) = control_channel {
                attrs.push_str(&format!(" ctl_chan={cc}"));
            }
            viosvrcmd(
                frame,
                vios,
                &format!(
                    "mkvdev -sea {real_adapter} -vadapter {} -default {default} -defaultid {pvid} -attr {attrs}",
                    adapters.join(",")
                ),
            )
        }
        Op::SetSeaHaMode { frame, vios, device, mode } => {
            viosvrcmd(frame, vios, &format!("chdev -dev {device} -attr ha_mode={mode}"))
        }
        Op::RemoveSea { frame, vios, device } => viosvrcmd(frame, vios, &format!("rmdev -dev {device}")),
        // The HMC's DLPAR "Create Virtual Adapter": without `-s` it takes the lowest unused
        // virtual slot. seeds: powervm-quickstart..., line 845 (`is_trunk=1,trunk_priority=1,
        // ieee_virtual_eth=1,port_vlan_id=1,...,"addl_vlan_ids=10,11"`) and lines 1049-1070.
        Op::AddTrunkAdapter { frame, vios, trunk, priority } => {
            let mut attrs = format!("ieee_virtual_eth=1,port_vlan_id={}", trunk.pvid);
            if !trunk.vlans.is_empty() {
                let vlans: Vec<String> = trunk.vlans.iter().map(ToString::to_string).collect();
                attrs.push_str(&format!(",\\\"addl_vlan_ids={}\\\"", vlans.join(",")));
            }
            attrs.push_str(&format!(",is_trunk=1,trunk_priority={priority}"));
            format!("chhwres -r virtualio -m {} -o a -p {} --rsubtype eth -a \"{attrs}\"", frame.word(), vios.word())
        }
        // seeds: powervm-quickstart..., line 1083: "run cfgmgr (or cfgdev as padmin) on both vio
        // server".
        Op::ConfigureDevices { frame, vios } => viosvrcmd(frame, vios, "cfgdev"),
        // seeds: powervm-quickstart..., lines 1074-1081: "Save Current Configuration Overwrite
        // Existing Profile" (HMC 7.7.3 and later overwrite; `--force`).
        Op::SaveProfile { frame, vios, profile } => {
            format!("mksyscfg -r prof -m {} -o save -p {} -n {} --force", frame.word(), vios.word(), profile.word())
        }
        // seeds: powervm-quickstart..., line 1102: "chdev -dev ent4 -attr
        // virt_adapters=ent1,ent2,ent5,ent6".
        Op::SetSeaAdapters { frame, vios, device, trunks } => {
            let adapters: Vec<&str> = trunks.iter().map(|t| t.adapter.as_str()).collect();
            viosvrcmd(frame, vios, &format!("chdev -dev {device} -attr virt_adapters={}", adapters.join(",")))
        }
        // Storage provisioning (tests/fixtures/hmc/README.md, "Storage provisioning", gives the
        // sources): a server adapter added by DLPAR in a given slot and paired with the
        // client's, `chhwres -r virtualio -m SYS -o a -p VIOS --rsubtype scsi|fc -s SLOT -a
        // "adapter_type=server,remote_lpar_name=LPAR,remote_slot_num=N"`; removed with `-o r`.
        Op::AddServerAdapter { frame, vios, via, slot, client, client_slot, .. } => format!(
            "chhwres -r virtualio -m {} -o a -p {} --rsubtype {} -s {slot} -a \"adapter_type=server,remote_lpar_name={client},remote_slot_num={client_slot}\"",
            frame.word(),
            vios.word(),
            crate::storage::rsubtype(*via)
        ),
        Op::RemoveServerAdapter { frame, vios, via, slot, .. } => format!(
            "chhwres -r virtualio -m {} -o r -p {} --rsubtype {} -s {slot}",
            frame.word(),
            vios.word(),
            crate::storage::rsubtype(*via)
        ),
        // VIOS `mkvdev -vdev TargetDevice -vadapter VirtualSCSIServerAdapter`, `rmvdev -vdev
        // TargetDevice`, `vfcmap -vadapter VirtualFibreChannelAdapter -fcp FibreChannelPortName`
        // (an empty `-fcp` unmaps).
        Op::MapDisk { frame, vios, disk, adapter, .. } => {
            viosvrcmd(frame, vios, &format!("mkvdev -vdev {disk} -vadapter {adapter}"))
        }
        Op::UnmapDisk { frame, vios, disk, .. } => viosvrcmd(frame, vios, &format!("rmvdev -vdev {disk}")),
        Op::MapNpiv { frame, vios, adapter, port, .. } => {
            viosvrcmd(frame, vios, &format!("vfcmap -vadapter {adapter} -fcp {port}"))
        }
        Op::UnmapNpiv { frame, vios, adapter, .. } => {
            viosvrcmd(frame, vios, &format!("vfcmap -vadapter {adapter} -fcp"))
        }
        // VIOS `chdev -dev Name -attr Attribute=Value` (IBM VIOS command reference, chdev:
        // `chdev -dev Name [-perm] -attr Attribute=Value...`); the seed's own line:
        // powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, line 468. Without
        // `-perm`: the disk is not in use, so the change applies at once.
        Op::SetDiskNoReserve { frame, vios, disk, .. } => {
            viosvrcmd(frame, vios, &format!("chdev -dev {disk} -attr reserve_policy=no_reserve"))
        }
        Op::CreatePartition { frame, partition, spec, paging_vios, profile: prof, adapters } => format!(
            "mksyscfg -r lpar -m {} -i \"{}\"",
            frame.word(),
            profile(partition.as_str(), prof, spec, paging_vios, adapters)
        ),
        // A DLPAR change writes the same desired values into the profile first, so that the
        // next activation keeps them (`ChangeMethod`'s documentation says why alongside, not
        // a save, and why first).
        Op::UpdatePartition { frame, partition, profile, change } => match change.method {
            ChangeMethod::Dlpar => {
                let live = dlpar(&frame.word(), &partition.word(), change);
                let saved = profile_change(&frame.word(), partition.as_str(), profile, change);
                if live.is_empty() { saved } else { format!("{saved}; {live}") }
            }
            ChangeMethod::DlparOnly => dlpar(&frame.word(), &partition.word(), change),
            ChangeMethod::Profile => profile_change(&frame.word(), partition.as_str(), profile, change),
        },
        Op::StartPartition { frame, partition, profile, force } => format!(
            "chsysstate -m {} -r lpar -o on -n {} -f {}{}",
            frame.word(),
            partition.word(),
            profile.word(),
            if *force { " --force" } else { "" }
        ),
        // IBM's `chsysstate` man page: `-o osshutdown` (the operating system's shutdown, over
        // RMC), `-o shutdown` (delayed), `-o shutdown --immed` (immediate): see
        // `ShutdownMethod`. Which one follows the partition's `spec.shutdown` and its RMC.
        Op::StopPartition { frame, partition, how } => {
            format!("chsysstate -m {} -r lpar -o {} -n {}", frame.word(), how.flags(), partition.word())
        }
        Op::DeletePartition { frame, partition } => {
            format!("rmsyscfg -r lpar -m {} -n {}", frame.word(), partition.word())
        }
        // seeds: ams-dual-vios-and-lpm.txt, Listing 2.
        Op::SwitchPagingVios { frame, partition } => {
            format!("chhwres -r mem -m {} -p {} -o so", frame.word(), partition.word())
        }
        // IBM's `migrlpar` man page (POWER7-POWER9 HMCs): `migrlpar -o {m | r | s | v} -m
        // managed-system [-t target-managed-system] [--ip IP-address [-u user-ID]] {-p
        // partition-name | ...} [--redundantvios {0 | 1 | 2}] [--mpio {1 | 2}] ... [-i
        // "input-data"]`, in that order; the redundancy option as the source HMC's version
        // spells it (`crate::console::RedundancyOption`). tests/fixtures/hmc/README.md,
        // "Migrations".
        Op::ValidateMigration { partition, from, to, redundant, msp, remote, mpio, spelling }
        | Op::MigratePartition { partition, from, to, redundant, msp, remote, mpio, spelling } => {
            let o = if op.kind() == crate::ActionKind::ValidateMigration { "v" } else { "m" };
            format!(
                "migrlpar -o {o} -m {} -t {}{} -p {}{}{}{}",
                from.word(),
                to.word(),
                ip(remote.as_ref()),
                partition.word(),
                pgvios(*redundant, *spelling),
                mpio.map(|m| format!(" --mpio {}", m.flag())).unwrap_or_default(),
                msps(msp.as_ref())
            )
        }
        // DESIGN §9: "`-o r` recovers a failed migration".
        Op::RecoverMigration { frame, partition, remote, .. } => {
            format!("migrlpar -o r -m {}{} -p {}", frame.word(), ip(remote.as_ref()), partition.word())
        }
        // VCS's same-name profile procedure (seeds: infoscale-lpm-vcs.txt, lines 111-120;
        // `crate::profile_copy`). IBM's `chsyscfg` man page (POWER9 HMC,
        // https://www.ibm.com/docs/POWER9/p9edm/chsyscfg.html): `chsyscfg -r lpar -m
        // managed-system -i "configuration-data"`, the partition named by `name` (or
        // `lpar_id`), `new_name` its new name.
        Op::RenameProfileCopy { frame, name, new_name } => {
            format!("chsyscfg -r lpar -m {} -i \"name={name},new_name={new_name}\"", frame.word())
        }
        // The backup restored: `mksyscfg -r lpar` as `CreatePartition` renders it, without
        // storage client adapters (no VIOS side is made for a copy that never runs).
        Op::RestoreProfileCopy { frame, partition, spec, paging_vios, profile: prof } => format!(
            "mksyscfg -r lpar -m {} -i \"{}\"",
            frame.word(),
            profile(partition.as_str(), prof, spec, paging_vios, &[])
        ),
        // IBM's `rmsyscfg` man page: `rmsyscfg -r lpar -m managed-system -n partition-name`.
        Op::RemoveProfileCopy { frame, name } => format!("rmsyscfg -r lpar -m {} -n {}", frame.word(), name.word()),
        // seeds: infoscale-lpm-vcs.txt, line 97: "lltconfig -T peerinact:9000", "The value of
        // the peerinact command is in .01 seconds."
        Op::RaisePeerInactive { centiseconds, .. } | Op::RestorePeerInactive { centiseconds, .. } => {
            format!("lltconfig -T peerinact:{centiseconds}")
        }
        // PowerHA SystemMirror 7.2, "Live Partition Mobility": "stopping cluster services with
        // the Unmanage Resource Group option ... on the node in the cluster that LPM is going to
        // be performed on" (https://www.ibm.com/docs/SSPHQG_7.2/admin/ha_admin_live_partition.html).
        Op::UnmanageClusterNode { node, .. } => format!("clmgr stop node {} WHEN=now MANAGE=unmanage", node.word()),
        Op::ManageClusterNode { node, .. } => format!("clmgr start node {} WHEN=now MANAGE=auto", node.word()),
        // Pacemaker Administration 2.1, "Maintenance Mode": "To put all active resources on a
        // specific node into maintenance mode, set the node's maintenance node attribute to
        // true" (https://clusterlabs.org/projects/pacemaker/doc/2.1/Pacemaker_Administration/html/administrative.html).
        Op::EnterNodeMaintenance { node, .. } => format!("pcs node maintenance {}", node.word()),
        Op::LeaveNodeMaintenance { node, .. } => format!("pcs node unmaintenance {}", node.word()),
        Op::RunHook { hook, .. } => shell_words(&hook.command),
    }
}

/// A hook's argument vector as one shell line, each word quoted as a POSIX shell needs.
fn shell_words(words: &[String]) -> String {
    // Validation refuses NUL bytes in hooks, the only thing that cannot be quoted.
    shlex::try_join(words.iter().map(String::as_str)).unwrap_or_else(|_| "<hook with a NUL byte>".to_owned())
}

/// `-i "source_msp_name=...,dest_msp_name=..."` when a pair was chosen.
// seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, lines 1522-1524 (`-i
// "source_msp+name=wilmav2,dest_msp_name=visav2"`, the seed's typo for source_msp_name).
fn msps(m: Option<&crate::action::MspPair>) -> String {
    m.map(|m| format!(" -i \"source_msp_name={},dest_msp_name={}\"", m.source, m.dest)).unwrap_or_default()
}

fn pgvios(r: Option<crate::action::RedundantPgVios>, spelling: crate::console::RedundancyOption) -> String {
    r.map(|r| format!(" {} {}", spelling.flag(), r.flag())).unwrap_or_default()
}

/// ` --ip HMC -u USER` of a migration to a frame another HMC manages (seeds:
/// powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, lines 1506-1507).
fn ip(remote: Option<&crate::console::RemoteHmc>) -> String {
    remote
        .map(|r| {
            let user = r.user.as_ref().map(|u| format!(" -u {}", u.word())).unwrap_or_default();
            format!(" --ip {}{user}", r.ip.word())
        })
        .unwrap_or_default()
}

fn join(v: &[ViosName]) -> String {
    v.iter().map(ViosName::as_str).collect::<Vec<_>>().join(",")
}

/// `viosvrcmd -m FRAME -p VIOS -c "CMD"`: the frame and VIOS quoted as words, the VIOS command
/// (device names and flags only) inside the double quotes. The HMC backend lists with the same.
pub fn viosvrcmd(frame: &FrameName, vios: &ViosName, cmd: &str) -> String {
    format!("viosvrcmd -m {} -p {} -c \"{cmd}\"", frame.word(), vios.word())
}

/// A pool maximum as the HMC takes it: whole processors (`8`); one that is not whole (which
/// validation refuses) is written as it is, for the HMC to refuse, never rounded.
fn whole(u: crate::units::ProcUnits) -> String {
    if u.hundredths().is_multiple_of(100) { (u.hundredths() / 100).to_string() } else { u.to_string() }
}

/// The `mksyscfg -i` attributes of a partition and its profile `prof`.
fn profile(
    name: &str,
    prof: &ProfileName,
    spec: &PartitionSpec,
    paging_vios: &[ViosName],
    adapters: &[crate::storage::ClientAdapter],
) -> String {
    let mem = &spec.memory;
    let mut a = vec![
        format!("name={name}"),
        format!("profile_name={prof}"),
        "lpar_env=aixlinux".to_owned(),
        format!("min_mem={}", mem.min_or_default().0),
        format!("desired_mem={}", mem.desired_mb.0),
        format!("max_mem={}", mem.max_mb.0),
    ];
    match mem.mode {
        MemoryMode::Dedicated => a.push("mem_mode=ded".to_owned()),
        MemoryMode::Shared => {
            a.push("mem_mode=shared".to_owned());
            let paging = mem.paging.unwrap_or_default();
            let i = paging.primary.position();
            if let Some(p) = paging_vios.get(i) {
                a.push(format!("primary_paging_vios_name={p}"));
            }
            if paging.redundancy != crate::manifest::Redundancy::None
                && let Some(s) = paging_vios.get(1 - i)
            {
                a.push(format!("secondary_paging_vios_name={s}"));
            }
        }
    }
    // seeds: powervm-quickstart..., lines 93-99: minimum (what the partition needs to start),
    // desired, maximum (the DLPAR limit) for processing units and virtual processors; capped or
    // uncapped; the uncapped weight, 0-255, 128 by default.
    let p = &spec.processors;
    let (min_u, units, max_u) = p.units_range();
    match p.mode {
        ProcMode::Shared => {
            let (min_vp, vp, max_vp) = p.virtual_range();
            a.push("proc_mode=shared".to_owned());
            a.push(format!("min_proc_units={min_u}"));
            a.push(format!("desired_proc_units={units}"));
            a.push(format!("max_proc_units={max_u}"));
            a.push(format!("min_procs={min_vp}"));
            a.push(format!("desired_procs={vp}"));
            a.push(format!("max_procs={max_vp}"));
            match p.sharing {
                Sharing::Uncapped => {
                    a.push("sharing_mode=uncap".to_owned());
                    a.push(format!("uncap_weight={}", p.uncapped_weight()));
                }
                Sharing::Capped => a.push("sharing_mode=cap".to_owned()),
            }
            a.push(format!("shared_proc_pool_name={}", p.pool_or_default()));
        }
        ProcMode::Dedicated => {
            let n = |u: crate::units::ProcUnits| u.hundredths() / 100;
            a.push("proc_mode=ded".to_owned());
            a.push(format!("min_procs={},desired_procs={},max_procs={}", n(min_u), n(units), n(max_u)));
        }
    }
    if let Some(c) = &p.compat {
        a.push(format!("lpar_proc_compat_mode={c}"));
    }
    if !spec.network.is_empty() {
        // slot/ieee/pvid/vlans/trunk/required, one virtual adapter per VLAN from slot 2 on. Not
        // required (`is_required=0`, as the seed's `lshwres -r virtualio` lists its adapters:
        // powervm-quickstart..., line 845), so that DLPAR may remove it and LPM may move it.
        let eth: Vec<String> =
            spec.network.iter().enumerate().map(|(i, n)| format!("{}/0/{}//0/0", i + 2, n.vlan)).collect();
        a.push(format!("\\\"virtual_eth_adapters={}\\\"", eth.join(",")));
    }
    // tests/fixtures/hmc/README.md, "Storage provisioning": `slot/client//VIOS/remote_slot/
    // is_required` and, for virtual fibre channel, `slot/client//VIOS/remote_slot/wwpns/
    // is_required` with the WWPNs left for the HMC to generate. Not required, like the
    // ethernet adapters, so that LPM may move them.
    for via in [StorageVia::Vscsi, StorageVia::Npiv] {
        let list: Vec<String> = adapters
            .iter()
            .filter(|c| c.via == via)
            .map(|c| match via {
                StorageVia::Vscsi => format!("{}/client//{}/{}/0", c.slot, c.vios, c.server_slot),
                StorageVia::Npiv => format!("{}/client//{}/{}//0", c.slot, c.vios, c.server_slot),
            })
            .collect();
        if !list.is_empty() {
            let attr = match via {
                StorageVia::Vscsi => "virtual_scsi_adapters",
                StorageVia::Npiv => "virtual_fc_adapters",
            };
            a.push(format!("\\\"{attr}={}\\\"", list.join(",")));
        }
    }
    if spec.state == RunState::Stopped {
        a.push("boot_mode=norm".to_owned());
    }
    a.join(",")
}

/// `chsyscfg -r prof` of the partition's profile `prof`: the desired values its next
/// activation gets. `frame` is a quoted word, `lpar` and `prof` go inside the attribute list
/// as they are.
fn profile_change(frame: &str, lpar: &str, prof: &ProfileName, change: &PartitionChange) -> String {
    let mut attrs = vec![format!("name={prof}"), format!("lpar_name={lpar}")];
    if let Some((_, to)) = change.memory {
        attrs.push(format!("desired_mem={}", to.0));
    }
    if let Some((_, to)) = change.units {
        attrs.push(format!("desired_proc_units={to}"));
    }
    if let Some((_, to)) = change.r#virtual {
        attrs.push(format!("desired_procs={to}"));
    }
    // The profile attributes `mksyscfg` creates a shared-memory partition with (AP
    // `PRIMARY_PAGING_VIOS_NAME`, `SECONDARY_PAGING_VIOS_NAME`).
    if let Some((primary, secondary)) = &change.paging_vios {
        attrs.push(format!("primary_paging_vios_name={primary},secondary_paging_vios_name={secondary}"));
    }
    format!("chsyscfg -r prof -m {frame} -i \"{}\"", attrs.join(","))
}

/// DLPAR: `chhwres -o a|r` with the difference, memory and processors as separate commands;
/// `frame` and `lpar` are quoted words.
fn dlpar(frame: &str, lpar: &str, change: &PartitionChange) -> String {
    let mut cmds = Vec::new();
    if let Some((from, to)) = change.memory {
        let (op, q) = if to >= from { ("a", to.0 - from.0) } else { ("r", from.0 - to.0) };
        cmds.push(format!("chhwres -r mem -m {frame} -o {op} -p {lpar} -q {q}"));
    }
    let units = change.units.map(|(f, t)| (f.hundredths(), t.hundredths()));
    let vps = change.r#virtual;
    if units.is_some() || vps.is_some() {
        let mut c = String::new();
        let (op_u, du) = units.map_or(("a", 0), |(f, t)| if t >= f { ("a", t - f) } else { ("r", f - t) });
        let (op_v, dv) = vps.map_or(("a", 0), |(f, t)| if t >= f { ("a", t - f) } else { ("r", f - t) });
        if units.is_some() && vps.is_some() && op_u != op_v {
            // Opposite directions need two commands.
            c.push_str(&format!(
                "chhwres -r proc -m {frame} -o {op_u} -p {lpar} --procunits {}; chhwres -r proc -m {frame} -o {op_v} -p {lpar} --procs {dv}",
                crate::units::ProcUnits::from_hundredths(du)
            ));
        } else {
            let op = if units.is_some() { op_u } else { op_v };
            c.push_str(&format!("chhwres -r proc -m {frame} -o {op} -p {lpar}"));
            if units.is_some() {
                c.push_str(&format!(" --procunits {}", crate::units::ProcUnits::from_hundredths(du)));
            }
            if vps.is_some() {
                c.push_str(&format!(" --procs {dv}"));
            }
        }
        cmds.push(c);
    }
    cmds.join("; ")
}

#[cfg(test)]
mod tests {
    use crate::action::{ChangeMethod, Op, PartitionChange, RedundantPgVios};
    use crate::manifest::TrunkSpec;
    use crate::names::*;
    use crate::status::SeaHaMode;
    use crate::units::*;

    fn f(s: &str) -> FrameName {
        FrameName::new(s).unwrap()
    }
    fn v(s: &str) -> ViosName {
        ViosName::new(s).unwrap()
    }

    #[test]
    fn seed_listings_are_reproduced() {
        let frame = f("IBM_MMA_P6_102615A_SOLCHMS05");
        let pool = Op::CreateSharedMemoryPool {
            frame: frame.clone(),
            pool_mem: MemoryMb(1024),
            max_pool_mem: MemoryMb(4096),
            paging_vios: vec![v("lpar_1_solchio05"), v("lpar_2_solchio06")],
        };
        assert_eq!(
            pool.command(),
            r#"chhwres -r mempool -m IBM_MMA_P6_102615A_SOLCHMS05 -o a -a "pool_mem=1024,max_pool_mem=4096,\"paging_vios_names=lpar_1_solchio05,lpar_2_solchio06\"""#
        );
        let dev = Op::AddPagingDevice {
            frame: frame.clone(),
            vios: v("lpar_2_solchio06"),
            device: DeviceName::new("hdisk17").unwrap(),
        };
        assert_eq!(
            dev.command(),
            "chhwres -r mempool -m IBM_MMA_P6_102615A_SOLCHMS05 -o a -p lpar_2_solchio06 --rsubtype pgdev --device hdisk17"
        );
        let so = Op::SwitchPagingVios { frame, partition: PartitionName::new("lpar_6_sotchax11").unwrap() };
        assert_eq!(so.command(), "chhwres -r mem -m IBM_MMA_P6_102615A_SOLCHMS05 -p lpar_6_sotchax11 -o so");
        let vlan = |n| VlanId::new(n).unwrap();
        let sea = Op::CreateSea {
            frame: f("p72"),
            vios: v("p72vio1"),
            real_adapter: DeviceName::new("ent0").unwrap(),
            trunks: vec![
                TrunkSpec { adapter: DeviceName::new("ent1").unwrap(), pvid: vlan(1), vlans: vec![vlan(10), vlan(11)] },
                TrunkSpec { adapter: DeviceName::new("ent2").unwrap(), pvid: vlan(2), vlans: vec![vlan(12), vlan(13)] },
            ],
            control_channel: Some(DeviceName::new("ent3").unwrap()),
            ha_mode: SeaHaMode::Sharing,
            priority: 1,
        };
        assert_eq!(
            sea.command(),
            r#"viosvrcmd -m p72 -p p72vio1 -c "mkvdev -sea ent0 -vadapter ent1,ent2 -default ent1 -defaultid 1 -attr ha_mode=sharing ctl_chan=ent3""#
        );
        let chdev = Op::SetSeaHaMode {
            frame: f("p72"),
            vios: v("p72vio1"),
            device: DeviceName::new("ent4").unwrap(),
            mode: SeaHaMode::Standby,
        };
        assert_eq!(chdev.command(), r#"viosvrcmd -m p72 -p p72vio1 -c "chdev -dev ent4 -attr ha_mode=standby""#);
        let mig = Op::MigratePartition {
            partition: PartitionName::new("bxaix85").unwrap(),
            from: f("js22_slot13"),
            to: f("js22_slot14"),
            redundant: Some(RedundantPgVios::NonRedundant),
            msp: None,
            remote: None,
            mpio: None,
            spelling: Default::default(),
        };
        assert_eq!(mig.command(), "migrlpar -o m -m js22_slot13 -t js22_slot14 -p bxaix85 --redundantpgvios 0");
        // seeds: line 1524, `-i "source_msp+name=wilmav2,dest_msp_name=visav2"`.
        let chosen = Op::ValidateMigration {
            partition: PartitionName::new("upt07").unwrap(),
            from: f("wilma"),
            to: f("visa"),
            redundant: Some(RedundantPgVios::NonRedundant),
            msp: Some(crate::action::MspPair { source: v("wilmav2"), dest: v("visav2") }),
            remote: None,
            mpio: None,
            spelling: Default::default(),
        };
        assert_eq!(
            chosen.command(),
            r#"migrlpar -o v -m wilma -t visa -p upt07 --redundantpgvios 0 -i "source_msp_name=wilmav2,dest_msp_name=visav2""#
        );
    }

    /// A move to another HMC's frame (seeds: powervm-quickstart..., lines 1561-1562: `migrlpar
    /// -o v -m wilma -t visa --ip destiny4 -u hscroot -p upt0060 --mpio 2`), with the man page's
    /// `--redundantvios` of a V7R7+ HMC; a recovery names the destination HMC too.
    #[test]
    fn a_move_across_hmcs_renders_as_the_man_page_orders_it() {
        use crate::action::Mpio;
        use crate::console::{RedundancyOption, RemoteHmc};
        let remote = Some(RemoteHmc {
            ip: crate::names::HmcAddress::new("destiny4").unwrap(),
            user: Some(crate::names::HmcUser::new("hscroot").unwrap()),
        });
        let v = Op::ValidateMigration {
            partition: PartitionName::new("upt0060").unwrap(),
            from: f("wilma"),
            to: f("visa"),
            redundant: None,
            msp: None,
            remote: remote.clone(),
            mpio: Some(Mpio::IfPossible),
            spelling: RedundancyOption::Vios,
        };
        assert_eq!(v.command(), "migrlpar -o v -m wilma -t visa --ip destiny4 -u hscroot -p upt0060 --mpio 2");
        let m = Op::MigratePartition {
            partition: PartitionName::new("upt07").unwrap(),
            from: f("wilma"),
            to: f("visa"),
            redundant: Some(RedundantPgVios::IfPossible),
            msp: None,
            remote: remote.clone(),
            mpio: None,
            spelling: RedundancyOption::Vios,
        };
        assert_eq!(m.command(), "migrlpar -o m -m wilma -t visa --ip destiny4 -u hscroot -p upt07 --redundantvios 2");
        let r = Op::RecoverMigration {
            frame: f("wilma"),
            partition: PartitionName::new("upt07").unwrap(),
            to: f("visa"),
            remote,
        };
        assert_eq!(r.command(), "migrlpar -o r -m wilma --ip destiny4 -u hscroot -p upt07");
    }

    fn prof(s: &str) -> ProfileName {
        ProfileName::new(s).unwrap()
    }

    /// The DLPAR change itself, and (issue 32 item 3) the profile changed alongside, first.
    #[test]
    fn dlpar_renders_the_difference() {
        let p = PartitionName::new("x").unwrap();
        let up = Op::UpdatePartition {
            frame: f("p72"),
            partition: p.clone(),
            profile: prof("default_profile"),
            change: PartitionChange { memory: Some((MemoryMb(4096), MemoryMb(6144))), ..Default::default() },
        };
        assert_eq!(
            up.command(),
            "chsyscfg -r prof -m p72 -i \"name=default_profile,lpar_name=x,desired_mem=6144\"; chhwres -r mem -m p72 -o a -p x -q 2048"
        );
        let down = Op::UpdatePartition {
            frame: f("p72"),
            partition: p,
            profile: prof("default_profile"),
            change: PartitionChange {
                units: Some((ProcUnits::from_hundredths(150), ProcUnits::from_hundredths(100))),
                r#virtual: Some((2, 1)),
                method: ChangeMethod::DlparOnly,
                ..Default::default()
            },
        };
        assert_eq!(down.command(), "chhwres -r proc -m p72 -o r -p x --procunits 0.50 --procs 1");
    }

    /// Issue 32 item 3: a start, a resize (stopped and running) and a VIOS profile save of
    /// partitions observed with profile `prod` name `prod`, never `default`.
    #[test]
    fn commands_name_the_observed_profile() {
        use crate::status::{LparState, PartitionStatus, Status};
        let (fr, lp, vi) = (f("p72"), PartitionName::new("x").unwrap(), v("p72vio1"));
        let mut status = Status::default();
        status.partitions.insert(
            lp.clone(),
            PartitionStatus {
                frame: fr.clone(),
                state: LparState::NotActivated,
                rmc: false,
                paging: None,
                migration: None,
                below_desired: false,
                lpar_id: Some(3),
                profile: Some(prof("prod")),
                npiv_hidden: false,
                io_slots: Vec::new(),
            },
        );
        status.vios_profiles.entry(fr.clone()).or_default().insert(vi.clone(), prof("prod"));
        let profile = status.partition_profile(&lp);
        let start =
            Op::StartPartition { frame: fr.clone(), partition: lp.clone(), profile: profile.clone(), force: false };
        assert_eq!(start.command(), "chsysstate -m p72 -r lpar -o on -n x -f prod");
        let mem = Some((MemoryMb(4096), MemoryMb(6144)));
        let stopped = Op::UpdatePartition {
            frame: fr.clone(),
            partition: lp.clone(),
            profile: profile.clone(),
            change: PartitionChange { memory: mem, method: ChangeMethod::Profile, ..Default::default() },
        };
        assert_eq!(stopped.command(), "chsyscfg -r prof -m p72 -i \"name=prod,lpar_name=x,desired_mem=6144\"");
        let running = Op::UpdatePartition {
            frame: fr.clone(),
            partition: lp.clone(),
            profile,
            change: PartitionChange { memory: mem, method: ChangeMethod::Dlpar, ..Default::default() },
        };
        assert!(
            running.command().starts_with("chsyscfg -r prof -m p72 -i \"name=prod,lpar_name=x,"),
            "{}",
            running.command()
        );
        let save = Op::SaveProfile { frame: fr.clone(), vios: vi.clone(), profile: status.vios_profile(&fr, &vi) };
        assert_eq!(save.command(), "mksyscfg -r prof -m p72 -o save -p p72vio1 -n prod --force");
        let vios_start = Op::StartVios { frame: fr.clone(), vios: vi.clone(), profile: status.vios_profile(&fr, &vi) };
        assert_eq!(vios_start.command(), "chsysstate -m p72 -r lpar -o on -n p72vio1 -f prod");
        // Not reported by the backend: the HMC's own name for a partition's profile.
        let other = PartitionName::new("y").unwrap();
        assert_eq!(status.partition_profile(&other), prof("default_profile"));
        assert_eq!(status.vios_profile(&fr, &v("p72vio2")), prof("default_profile"));
    }

    /// Issue 13 item 4: a stopped partition's change is a profile change, as the issue gives it:
    /// `chsyscfg -r prof -m SYS -i "name=PROFILE,lpar_name=X,desired_mem=…"` (the profile
    /// observed, issue 32 item 3).
    #[test]
    fn a_stopped_partition_changes_its_profile() {
        let op = Op::UpdatePartition {
            frame: f("p72"),
            partition: PartitionName::new("x").unwrap(),
            profile: prof("default_profile"),
            change: PartitionChange {
                memory: Some((MemoryMb(4096), MemoryMb(6144))),
                units: Some((ProcUnits::from_hundredths(150), ProcUnits::from_hundredths(100))),
                r#virtual: Some((2, 1)),
                method: ChangeMethod::Profile,
                paging_vios: None,
            },
        };
        assert_eq!(
            op.command(),
            "chsyscfg -r prof -m p72 -i \"name=default_profile,lpar_name=x,desired_mem=6144,desired_proc_units=1.00,desired_procs=1\""
        );
    }

    /// An op, the (flag, name) word pairs its lines must hold, and text its attribute lists hold.
    type Expected = (Op, Vec<(&'static str, &'static str)>, Vec<&'static str>);

    /// Issue 31 item 3: with names that hold spaces, every `Op` renders command lines a shell
    /// (`shlex`, as the emulator and the HMC's rbash split them) reads back into the intended
    /// words: each name is one word after its flag, or whole inside the attribute list.
    #[test]
    fn spaced_names_read_back_as_one_word_each() {
        use crate::action::{ActionKind, MspPair};
        use crate::manifest::{Hook, HookPoint};
        let (fr, to, vi, vi2, lp, pool) = (
            f("p9 lab"),
            f("p10 dr site"),
            v("vios 1"),
            v("vios 2"),
            PartitionName::new("db prod 01").unwrap(),
            ProcPoolName::new("prod pool").unwrap(),
        );
        let cl = ClusterName::new("dbclus").unwrap();
        let pr = ProfileName::new("normal profile").unwrap();
        let dev = |s: &str| DeviceName::new(s).unwrap();
        let vlan = |n| VlanId::new(n).unwrap();
        let trunk = TrunkSpec { adapter: dev("ent1"), pvid: vlan(1), vlans: vec![vlan(10), vlan(11)] };
        let u = ProcUnits::from_hundredths;
        let spec: crate::manifest::PartitionSpec = crate::from_yaml(
            "placement: {frame: p9 lab}\nprocessors: {units: 0.5, pool: prod pool}\nmemory: {mode: shared, desiredMB: 2048, maxMB: 4096, paging: {redundancy: required}}\nnetwork: [{vlan: 10}]\n",
        )
        .unwrap();
        let msp = Some(MspPair { source: vi.clone(), dest: v("dr vios 1") });
        // Each op with the (flag, name) words its lines must hold, and text the attribute list holds.
        let ops: Vec<Expected> = vec![
            (
                Op::CreateSharedProcessorPool {
                    frame: fr.clone(),
                    pool_id: crate::names::ProcPoolId(1),
                    pool: pool.clone(),
                    max: u(200),
                    reserved: u(0),
                },
                vec![("-m", "p9 lab"), ("--poolname", "SharedPool01")],
                vec!["new_name=prod pool,max_pool_proc_units=2,"],
            ),
            (
                Op::UpdateSharedProcessorPool {
                    frame: fr.clone(),
                    pool_id: crate::names::ProcPoolId(1),
                    pool: pool.clone(),
                    max: u(200),
                    reserved: u(0),
                },
                vec![("-m", "p9 lab"), ("--poolname", "prod pool")],
                vec![],
            ),
            (
                Op::RemoveSharedProcessorPool {
                    frame: fr.clone(),
                    pool_id: crate::names::ProcPoolId(1),
                    pool: pool.clone(),
                },
                vec![("-m", "p9 lab"), ("--poolname", "prod pool")],
                vec![],
            ),
            (
                Op::CreateSharedMemoryPool {
                    frame: fr.clone(),
                    pool_mem: MemoryMb(1024),
                    max_pool_mem: MemoryMb(4096),
                    paging_vios: vec![vi.clone(), vi2.clone()],
                },
                vec![("-m", "p9 lab")],
                vec!["\"paging_vios_names=vios 1,vios 2\""],
            ),
            (
                Op::UpdateSharedMemoryPool {
                    frame: fr.clone(),
                    pool_mem: MemoryMb(1024),
                    max_pool_mem: MemoryMb(4096),
                },
                vec![("-m", "p9 lab")],
                vec![],
            ),
            (
                Op::AddPagingDevice { frame: fr.clone(), vios: vi.clone(), device: dev("hdisk5") },
                vec![("-m", "p9 lab"), ("-p", "vios 1")],
                vec![],
            ),
            (
                Op::RemovePagingDevice { frame: fr.clone(), vios: vi.clone(), device: dev("hdisk5") },
                vec![("-m", "p9 lab"), ("-p", "vios 1")],
                vec![],
            ),
            (
                Op::StartVios { frame: fr.clone(), vios: vi.clone(), profile: pr.clone() },
                vec![("-m", "p9 lab"), ("-n", "vios 1"), ("-f", "normal profile")],
                vec![],
            ),
            (Op::StopVios { frame: fr.clone(), vios: vi.clone() }, vec![("-m", "p9 lab"), ("-n", "vios 1")], vec![]),
            (
                Op::AddServerAdapter {
                    frame: fr.clone(),
                    vios: vi.clone(),
                    via: crate::manifest::StorageVia::Vscsi,
                    slot: 100,
                    client: lp.clone(),
                    client_slot: 10,
                    device: dev("vhost0"),
                },
                vec![("-m", "p9 lab"), ("-p", "vios 1"), ("--rsubtype", "scsi"), ("-s", "100")],
                vec!["adapter_type=server,remote_lpar_name=db prod 01,remote_slot_num=10"],
            ),
            (
                Op::RemoveServerAdapter {
                    frame: fr.clone(),
                    vios: vi.clone(),
                    via: crate::manifest::StorageVia::Npiv,
                    slot: 101,
                    client: lp.clone(),
                },
                vec![("-m", "p9 lab"), ("-p", "vios 1"), ("--rsubtype", "fc"), ("-o", "r"), ("-s", "101")],
                vec![],
            ),
            (
                Op::MapDisk {
                    frame: fr.clone(),
                    vios: vi.clone(),
                    disk: dev("hdisk4"),
                    lun: "L1".parse().unwrap(),
                    adapter: dev("vhost0"),
                    client: lp.clone(),
                },
                vec![("-m", "p9 lab"), ("-p", "vios 1"), ("-c", "mkvdev -vdev hdisk4 -vadapter vhost0")],
                vec![],
            ),
            (
                Op::UnmapDisk {
                    frame: fr.clone(),
                    vios: vi.clone(),
                    disk: dev("hdisk4"),
                    lun: "L1".parse().unwrap(),
                    client: lp.clone(),
                },
                vec![("-m", "p9 lab"), ("-p", "vios 1"), ("-c", "rmvdev -vdev hdisk4")],
                vec![],
            ),
            (
                Op::MapNpiv {
                    frame: fr.clone(),
                    vios: vi.clone(),
                    adapter: dev("vfchost0"),
                    port: dev("fcs0"),
                    client: lp.clone(),
                },
                vec![("-m", "p9 lab"), ("-p", "vios 1"), ("-c", "vfcmap -vadapter vfchost0 -fcp fcs0")],
                vec![],
            ),
            (
                Op::UnmapNpiv { frame: fr.clone(), vios: vi.clone(), adapter: dev("vfchost0"), client: lp.clone() },
                vec![("-m", "p9 lab"), ("-p", "vios 1"), ("-c", "vfcmap -vadapter vfchost0 -fcp")],
                vec![],
            ),
            (
                Op::SetDiskNoReserve {
                    frame: fr.clone(),
                    vios: vi.clone(),
                    disk: dev("hdisk4"),
                    lun: "L1".parse().unwrap(),
                },
                vec![("-m", "p9 lab"), ("-p", "vios 1"), ("-c", "chdev -dev hdisk4 -attr reserve_policy=no_reserve")],
                vec![],
            ),
            (
                Op::CreateSea {
                    frame: fr.clone(),
                    vios: vi.clone(),
                    real_adapter: dev("ent0"),
                    trunks: vec![trunk.clone()],
                    control_channel: Some(dev("ent3")),
                    ha_mode: SeaHaMode::Auto,
                    priority: 1,
                },
                vec![("-m", "p9 lab"), ("-p", "vios 1")],
                vec![],
            ),
            (
                Op::SetSeaHaMode { frame: fr.clone(), vios: vi.clone(), device: dev("ent4"), mode: SeaHaMode::Standby },
                vec![("-m", "p9 lab"), ("-p", "vios 1")],
                vec![],
            ),
            (
                Op::RemoveSea { frame: fr.clone(), vios: vi.clone(), device: dev("ent4") },
                vec![("-m", "p9 lab"), ("-p", "vios 1")],
                vec![],
            ),
            (
                Op::AddTrunkAdapter { frame: fr.clone(), vios: vi.clone(), trunk: trunk.clone(), priority: 1 },
                vec![("-m", "p9 lab"), ("-p", "vios 1")],
                vec![],
            ),
            (
                Op::ConfigureDevices { frame: fr.clone(), vios: vi.clone() },
                vec![("-m", "p9 lab"), ("-p", "vios 1")],
                vec![],
            ),
            (
                Op::SaveProfile { frame: fr.clone(), vios: vi.clone(), profile: pr.clone() },
                vec![("-m", "p9 lab"), ("-p", "vios 1"), ("-n", "normal profile")],
                vec![],
            ),
            (
                Op::SetSeaAdapters {
                    frame: fr.clone(),
                    vios: vi.clone(),
                    device: dev("ent4"),
                    trunks: vec![trunk.clone()],
                },
                vec![("-m", "p9 lab"), ("-p", "vios 1")],
                vec![],
            ),
            (
                Op::CreatePartition {
                    frame: fr.clone(),
                    partition: lp.clone(),
                    spec: Box::new(spec.clone()),
                    paging_vios: vec![vi.clone(), vi2.clone()],
                    profile: pr.clone(),
                    adapters: vec![
                        crate::storage::ClientAdapter {
                            via: crate::manifest::StorageVia::Vscsi,
                            slot: 10,
                            vios: vi.clone(),
                            server_slot: 100,
                        },
                        crate::storage::ClientAdapter {
                            via: crate::manifest::StorageVia::Npiv,
                            slot: 12,
                            vios: vi2.clone(),
                            server_slot: 101,
                        },
                    ],
                },
                vec![("-m", "p9 lab")],
                vec![
                    "\"virtual_scsi_adapters=10/client//vios 1/100/0\"",
                    "\"virtual_fc_adapters=12/client//vios 2/101//0\"",
                    "name=db prod 01,",
                    "profile_name=normal profile,",
                    "primary_paging_vios_name=vios 1,",
                    "secondary_paging_vios_name=vios 2,",
                    "shared_proc_pool_name=prod pool",
                ],
            ),
            (
                Op::UpdatePartition {
                    frame: fr.clone(),
                    partition: lp.clone(),
                    profile: pr.clone(),
                    change: PartitionChange {
                        memory: Some((MemoryMb(2048), MemoryMb(4096))),
                        units: Some((u(150), u(100))),
                        r#virtual: Some((1, 2)),
                        method: ChangeMethod::Dlpar,
                        paging_vios: None,
                    },
                },
                vec![("-m", "p9 lab"), ("-p", "db prod 01")],
                vec!["name=normal profile,lpar_name=db prod 01,"],
            ),
            (
                Op::UpdatePartition {
                    frame: fr.clone(),
                    partition: lp.clone(),
                    profile: pr.clone(),
                    change: PartitionChange {
                        memory: Some((MemoryMb(2048), MemoryMb(4096))),
                        method: ChangeMethod::Profile,
                        ..Default::default()
                    },
                },
                vec![("-m", "p9 lab")],
                vec!["name=normal profile,lpar_name=db prod 01,"],
            ),
            (
                Op::StartPartition { frame: fr.clone(), partition: lp.clone(), profile: pr.clone(), force: true },
                vec![("-m", "p9 lab"), ("-n", "db prod 01"), ("-f", "normal profile")],
                vec![],
            ),
            (
                Op::StopPartition { frame: fr.clone(), partition: lp.clone(), how: Default::default() },
                vec![("-m", "p9 lab"), ("-n", "db prod 01")],
                vec![],
            ),
            (
                Op::StopPartition {
                    frame: fr.clone(),
                    partition: lp.clone(),
                    how: crate::action::ShutdownMethod::Immediate,
                },
                vec![("-m", "p9 lab"), ("-n", "db prod 01")],
                vec![],
            ),
            (
                Op::DeletePartition { frame: fr.clone(), partition: lp.clone() },
                vec![("-m", "p9 lab"), ("-n", "db prod 01")],
                vec![],
            ),
            (
                Op::SwitchPagingVios { frame: fr.clone(), partition: lp.clone() },
                vec![("-m", "p9 lab"), ("-p", "db prod 01")],
                vec![],
            ),
            (
                Op::ValidateMigration {
                    partition: lp.clone(),
                    from: fr.clone(),
                    to: to.clone(),
                    redundant: Some(RedundantPgVios::Required),
                    msp: msp.clone(),
                    remote: None,
                    mpio: None,
                    spelling: Default::default(),
                },
                vec![("-m", "p9 lab"), ("-t", "p10 dr site"), ("-p", "db prod 01")],
                vec!["source_msp_name=vios 1,dest_msp_name=dr vios 1"],
            ),
            (
                Op::MigratePartition {
                    partition: lp.clone(),
                    from: fr.clone(),
                    to: to.clone(),
                    redundant: None,
                    msp: msp.clone(),
                    remote: None,
                    mpio: None,
                    spelling: Default::default(),
                },
                vec![("-m", "p9 lab"), ("-t", "p10 dr site"), ("-p", "db prod 01")],
                vec!["source_msp_name=vios 1,dest_msp_name=dr vios 1"],
            ),
            (
                Op::RecoverMigration { frame: fr.clone(), partition: lp.clone(), to: to.clone(), remote: None },
                vec![("-m", "p9 lab"), ("-p", "db prod 01")],
                vec![],
            ),
            (
                Op::RaisePeerInactive { cluster: cl.clone(), node: lp.clone(), frame: fr.clone(), centiseconds: 9000 },
                vec![],
                vec![],
            ),
            (
                Op::RestorePeerInactive {
                    cluster: cl.clone(),
                    node: lp.clone(),
                    frame: fr.clone(),
                    centiseconds: 3200,
                },
                vec![],
                vec![],
            ),
            (
                Op::UnmanageClusterNode { cluster: cl.clone(), node: lp.clone(), frame: fr.clone() },
                vec![("node", "db prod 01")],
                vec![],
            ),
            (
                Op::ManageClusterNode { cluster: cl.clone(), node: lp.clone(), frame: fr.clone() },
                vec![("node", "db prod 01")],
                vec![],
            ),
            (
                Op::EnterNodeMaintenance { cluster: cl.clone(), node: lp.clone(), frame: fr.clone() },
                vec![("maintenance", "db prod 01")],
                vec![],
            ),
            (
                Op::LeaveNodeMaintenance { cluster: cl.clone(), node: lp.clone(), frame: fr.clone() },
                vec![("unmaintenance", "db prod 01")],
                vec![],
            ),
            (
                Op::RenameProfileCopy {
                    frame: fr.clone(),
                    name: lp.clone(),
                    new_name: crate::profile_copy::set_aside_name(&lp),
                },
                vec![("-m", "p9 lab")],
                vec!["name=db prod 01,new_name=db prod 01_vcs"],
            ),
            (
                Op::RestoreProfileCopy {
                    frame: fr.clone(),
                    partition: lp.clone(),
                    spec: Box::new(spec),
                    paging_vios: vec![vi.clone(), vi2.clone()],
                    profile: pr.clone(),
                },
                vec![("-m", "p9 lab")],
                vec!["name=db prod 01,", "profile_name=normal profile,"],
            ),
            (
                Op::RemoveProfileCopy { frame: fr.clone(), name: crate::profile_copy::set_aside_name(&lp) },
                vec![("-m", "p9 lab"), ("-n", "db prod 01_vcs")],
                vec![],
            ),
            (
                Op::RunHook {
                    point: HookPoint::PreMigrate,
                    partition: lp.clone(),
                    from: fr.clone(),
                    to: to.clone(),
                    cluster: None,
                    hook: Hook { command: vec!["/bin/notify".into(), "db prod 01".into()], timeout_seconds: 30 },
                },
                vec![("/bin/notify", "db prod 01")],
                vec![],
            ),
        ];
        let covered: std::collections::BTreeSet<&str> = ops.iter().map(|(op, _, _)| op.kind().as_str()).collect();
        let all: std::collections::BTreeSet<&str> = ActionKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(covered, all, "every kind of action is rendered with spaced names");
        for (op, pairs, inside) in ops {
            let line = op.command();
            // A DLPAR of memory and processors is several commands, as the backend runs them.
            let lines: Vec<Vec<String>> =
                line.split("; ").map(|l| shlex::split(l).unwrap_or_else(|| panic!("{l:?} does not split"))).collect();
            for words in &lines {
                for (flag, name) in &pairs {
                    if let Some(i) = words.iter().position(|w| w == flag) {
                        assert_eq!(words.get(i + 1).map(String::as_str), Some(*name), "{flag} in {line}");
                    }
                }
                // No name was split into words of its own.
                assert!(
                    !words.iter().any(|w| matches!(
                        w.as_str(),
                        "db" | "prod" | "p9" | "p10" | "lab" | "dr" | "site" | "vios" | "pool"
                    )),
                    "{line}: {words:?}"
                );
            }
            for (flag, name) in &pairs {
                assert!(
                    lines.iter().any(|w| w
                        .iter()
                        .position(|x| x == flag)
                        .is_some_and(|i| w.get(i + 1).map(String::as_str) == Some(*name))),
                    "{flag} {name:?} in {line}"
                );
            }
            for text in inside {
                assert!(
                    lines.iter().flatten().any(|w| w.contains(text)),
                    "{text:?} inside an attribute list of {line}"
                );
            }
        }
    }

    fn create(yaml: &str) -> String {
        let spec: crate::manifest::PartitionSpec = crate::from_yaml(yaml).unwrap();
        Op::CreatePartition {
            frame: f("p72"),
            partition: PartitionName::new("x").unwrap(),
            spec: Box::new(spec),
            paging_vios: vec![],
            profile: ProfileName::hmc_default(),
            adapters: vec![],
        }
        .command()
    }

    /// Issue 13 item 13: a complete profile. Minimum, desired and maximum memory, entitlement and
    /// virtual processors; uncapped with its weight (128 unless given) or capped; virtual
    /// ethernet not required (`is_required=0`).
    // seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, lines 90-99 and 845.
    #[test]
    fn mksyscfg_carries_the_whole_profile() {
        let uncapped = create(
            "placement: {frame: p72}\nprocessors: {units: 1.5, virtual: 2, maxVirtual: 4, minUnits: 0.5, maxUnits: 3.0}\nmemory: {desiredMB: 8192, minMB: 4096, maxMB: 16384}\nnetwork: [{vlan: 10}]\n",
        );
        assert_eq!(
            uncapped,
            "mksyscfg -r lpar -m p72 -i \"name=x,profile_name=default_profile,lpar_env=aixlinux,min_mem=4096,desired_mem=8192,max_mem=16384,mem_mode=ded,proc_mode=shared,min_proc_units=0.50,desired_proc_units=1.50,max_proc_units=3.00,min_procs=1,desired_procs=2,max_procs=4,sharing_mode=uncap,uncap_weight=128,shared_proc_pool_name=DefaultPool,\\\"virtual_eth_adapters=2/0/10//0/0\\\"\""
        );
        let capped = create(
            "placement: {frame: p72}\nprocessors: {units: 0.5, sharing: capped}\nmemory: {desiredMB: 2048, maxMB: 2048}\n",
        );
        assert!(capped.contains(",min_proc_units=0.10,desired_proc_units=0.50,max_proc_units=1.00,min_procs=1,desired_procs=1,max_procs=1,sharing_mode=cap,shared_proc_pool_name=DefaultPool"), "{capped}");
        assert!(!capped.contains("uncap_weight"), "{capped}");
        let weighted = create(
            "placement: {frame: p72}\nprocessors: {units: 0.5, weight: 200}\nmemory: {desiredMB: 2048, maxMB: 2048}\n",
        );
        assert!(weighted.contains("sharing_mode=uncap,uncap_weight=200"), "{weighted}");
        let dedicated = create(
            "placement: {frame: p72}\nprocessors: {mode: dedicated, units: 2, maxUnits: 4}\nmemory: {desiredMB: 2048, maxMB: 2048}\n",
        );
        assert!(dedicated.contains("proc_mode=ded,min_procs=1,desired_procs=2,max_procs=4"), "{dedicated}");
    }
}

/// Why a profile's attributes could not be read: the attribute, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileError {
    /// The attribute, e.g. `desired_mem`.
    pub attribute: String,
    /// What is wrong.
    pub problem: String,
}

/// Reads a partition profile's processor and memory attributes — as `mksyscfg -r lpar -i`
/// gives them and `lssyscfg -r prof` lists them — back into their specs, defaults left out.
/// `get` answers an attribute (`none`, `null` and empty count as absent); `pool_vios` are the
/// frame's paging VIOS, which say whether the profile's primary paging VIOS is the first or
/// the second. The inverse of the profile [`render`] writes.
pub fn read_profile<'a>(
    get: impl Fn(&str) -> Option<&'a str>,
    pool_vios: &[ViosName],
) -> Result<(crate::manifest::ProcessorsSpec, crate::manifest::MemorySpec), ProfileError> {
    use crate::manifest::{MemorySpec, PagingIndex, PagingSpec, ProcessorsSpec, Redundancy};
    use crate::units::{MemoryMb, ProcUnits};
    let bad = |k: &str, p: String| ProfileError { attribute: k.to_owned(), problem: p };
    let opt = |k: &str| get(k).filter(|v| !matches!(*v, "" | "none" | "null"));
    let need = |k: &str| opt(k).ok_or_else(|| bad(k, "is missing".into()));
    let num = |k: &str| -> Result<u64, ProfileError> {
        let v = need(k)?;
        v.parse().map_err(|_| bad(k, format!("is {v:?}, not a number")))
    };
    let units = |k: &str| -> Result<ProcUnits, ProfileError> {
        let v = need(k)?;
        v.parse::<f64>()
            .ok()
            .and_then(ProcUnits::from_decimal)
            .ok_or_else(|| bad(k, format!("is {v:?}, not processing units")))
    };
    let whole = |k: &str| -> Result<u32, ProfileError> { num(k).map(|n| n as u32) };
    let vios = |k: &str| opt(k).map(|v| ViosName::new(v).map_err(|e| bad(k, e.to_string()))).transpose();
    let shared_mem = opt("mem_mode") == Some("shared");
    let (primary, secondary) = (vios("primary_paging_vios_name")?, vios("secondary_paging_vios_name")?);
    let memory = MemorySpec {
        mode: if shared_mem { MemoryMode::Shared } else { MemoryMode::Dedicated },
        desired_mb: MemoryMb(num("desired_mem")?),
        max_mb: MemoryMb(num("max_mem")?),
        min_mb: Some(MemoryMb(num("min_mem")?)),
        paging: shared_mem.then(|| PagingSpec {
            redundancy: if secondary.is_some() { Redundancy::Required } else { Redundancy::None },
            primary: if primary.is_some() && pool_vios.get(1) == primary.as_ref() {
                PagingIndex::Two
            } else {
                PagingIndex::One
            },
        }),
    }
    .with_defaults_elided();
    // An unknown mode is kept as its text (`CompatMode::Other`), never an error.
    let compat = match opt("lpar_proc_compat_mode") {
        None | Some("default" | "") => None,
        Some(c) => Some(crate::manifest::CompatMode::parse(c)),
    };
    let processors = if opt("proc_mode") != Some("ded") {
        let capped = opt("sharing_mode") == Some("cap");
        ProcessorsSpec {
            mode: ProcMode::Shared,
            pool: opt("shared_proc_pool_name")
                .map(|p| crate::names::ProcPoolName::new(p).map_err(|e| bad("shared_proc_pool_name", e.to_string())))
                .transpose()?,
            units: units("desired_proc_units")?,
            r#virtual: Some(whole("desired_procs")?),
            compat,
            min_units: Some(units("min_proc_units")?),
            max_units: Some(units("max_proc_units")?),
            min_virtual: Some(whole("min_procs")?),
            max_virtual: Some(whole("max_procs")?),
            sharing: if capped { Sharing::Capped } else { Sharing::Uncapped },
            weight: if capped {
                None
            } else {
                opt("uncap_weight").map(|_| num("uncap_weight").map(|w| w as u8)).transpose()?
            },
        }
    } else {
        ProcessorsSpec {
            mode: ProcMode::Dedicated,
            pool: None,
            units: ProcUnits::whole(whole("desired_procs")?),
            r#virtual: None,
            compat,
            min_units: Some(ProcUnits::whole(whole("min_procs")?)),
            max_units: Some(ProcUnits::whole(whole("max_procs")?)),
            min_virtual: None,
            max_virtual: None,
            sharing: Sharing::Uncapped,
            weight: None,
        }
    }
    .with_defaults_elided();
    Ok((processors, memory))
}
