//! Placement rules: every partition needs a frame that can host it (pool, paging device,
//! VLANs, LUNs, compatibility mode, not in maintenance), and each frame's shared memory pool
//! needs a paging device per running shared-memory partition, common ones for those that
//! require redundancy.

use std::collections::BTreeMap;

use super::finding;
use crate::diagnostic::{Diagnostic, Rule};
use crate::estate::{Estate, Partition};
use crate::manifest::{Kind, MemoryMode, PagingIndex, Placement, Redundancy, RunState};
use crate::names::FrameName;
use crate::names::PartitionName;
use crate::placement::{Eligibility, Ineligible, Placer};

pub(super) fn check(
    e: &Estate,
    placer: &Placer<'_>,
    assignment: &BTreeMap<PartitionName, Eligibility>,
    out: &mut Vec<Diagnostic>,
) {
    let ix = placer.index();
    for (name, p) in &e.partitions {
        if placer.candidates(p).is_empty() {
            out.push(finding(
                Rule::NoEligibleFrame,
                Kind::Partition,
                p,
                &["spec", "placement", "selector"],
                "the placement selector matches no frame".to_owned(),
                format!("label a Frame with {:?}, or change the selector", selector_labels(p)),
            ));
            continue;
        }
        match &assignment[name] {
            Eligibility::Placed(f) => {
                let current = placer.current_frame(name);
                let _ = current;
                for why in placer.static_reasons(p, f) {
                    // A frame on battery is a runtime condition, not a manifest error: the
                    // planner defers the move towards it until utility power returns.
                    if why == Ineligible::OnBattery {
                        continue;
                    }
                    // A pool defined nowhere is already a dangling reference.
                    if let Ineligible::NoProcPool(pool) = &why
                        && !e.proc_pools.values().any(|pp| pp.spec.pool_name == *pool)
                    {
                        continue;
                    }
                    if let Some(d) = reason_finding(p, f, &why) {
                        out.push(d);
                    }
                }
                if ix.pairs_on(f).iter().any(|p| p.spec.members.iter().any(|m| m.name.as_str() == name.as_str())) {
                    out.push(finding(
                        Rule::NameConflict,
                        Kind::Partition,
                        p,
                        &["metadata", "name"],
                        format!("frame `{f}` already has a VIOS named `{name}`; LPAR names are unique per frame"),
                        "rename the partition",
                    ));
                }
                if let (MemoryMode::Shared, Some(pool)) = (p.spec.memory.mode, ix.mem_pool_on(f)) {
                    let paging = p.spec.memory.paging.unwrap_or_default();
                    if paging.primary == PagingIndex::Two && pool.spec.paging_vios.len() < 2 {
                        out.push(finding(
                            Rule::PagingRedundancy,
                            Kind::Partition,
                            p,
                            &["spec", "memory", "paging", "primary"],
                            format!("paging VIOS 2 is primary, but the pool on frame `{f}` has one paging VIOS"),
                            "set `paging.primary: 1`, or add a second paging VIOS to the pool",
                        ));
                    }
                }
            }
            Eligibility::Unplaceable(rejected) => {
                if rejected.iter().all(|(_, why)| why.contains(&Ineligible::UnknownFrame)) {
                    continue; // already a dangling reference
                }
                if rejected.iter().any(|(_, why)| why == &[Ineligible::OnBattery]) {
                    continue; // only a runtime condition stands in the way: the planner defers
                }
                let reasons: Vec<String> = rejected
                    .iter()
                    .map(|(f, why)| {
                        let w: Vec<String> = why.iter().map(ToString::to_string).collect();
                        format!("`{f}`: {}", w.join("; "))
                    })
                    .collect();
                out.push(finding(
                    Rule::NoEligibleFrame,
                    Kind::Partition,
                    p,
                    &["spec", "placement"],
                    format!("no allowed frame can host the partition ({})", reasons.join(" | ")),
                    "allow another frame, or fix what rules out the listed frames",
                ));
            }
        }
    }
    check_paging_devices(e, placer, assignment, out);
}

fn selector_labels(p: &Partition) -> crate::manifest::Labels {
    match &p.spec.placement {
        Placement::Selector(s) => s.labels.clone(),
        _ => Default::default(),
    }
}

fn reason_finding(p: &Partition, f: &FrameName, why: &Ineligible) -> Option<Diagnostic> {
    let part =
        |rule, path: &[&str], msg: String, hint: String| Some(finding(rule, Kind::Partition, p, path, msg, hint));
    match why {
        // A pinned member beside a peer is the cluster's own finding (PP-E072).
        // A frame set aside is a runtime condition the plan holds, not a manifest error.
        Ineligible::UnknownFrame
        | Ineligible::SetAside(_)
        | Ineligible::Memory { .. }
        | Ineligible::ProcUnits { .. }
        | Ineligible::ClusterPeer { .. } => None,
        Ineligible::Maintenance => part(
            Rule::FrameInMaintenance,
            &["spec", "placement", "frame"],
            format!("frame `{f}` is in maintenance; no partition may stay on it"),
            "pin the partition to another frame (or use anyOf), or end the frame's maintenance".into(),
        ),
        Ineligible::OnBattery => part(
            Rule::NoEligibleFrame,
            &["spec", "placement"],
            format!("frame `{f}` is running on battery and is no migration target"),
            "wait until utility power returns, or place the partition elsewhere".into(),
        ),
        Ineligible::NoProcPool(pool) => part(
            Rule::ProcessorPoolMissing,
            &["spec", "processors", "pool"],
            format!("frame `{f}` has no shared processor pool `{pool}`"),
            format!("add a SharedProcessorPool on `{f}` with `poolName: {pool}`, or use another pool"),
        ),
        Ineligible::NoMemoryPool => part(
            Rule::NoMemoryPool,
            &["spec", "memory", "mode"],
            format!("the partition uses shared memory, but frame `{f}` has no shared memory pool"),
            format!("add a SharedMemoryPool on `{f}`, or use `memory.mode: dedicated`"),
        ),
        Ineligible::NoPagingDevice { .. } => part(
            Rule::PagingDeviceTooSmall,
            &["spec", "memory", "maxMB"],
            format!("on frame `{f}`, {why}; a paging device must be at least the partition's maximum memory"),
            "add a larger paging device to the pool, or lower maxMB".into(),
        ),
        Ineligible::NoRedundantPaging => part(
            Rule::PagingRedundancy,
            &["spec", "memory", "paging", "redundancy"],
            format!("redundant paging is required, but on frame `{f}` {why}"),
            "give the pool two paging VIOS and a common paging device, or set `redundancy: preferred`".into(),
        ),
        Ineligible::VlanNotBridged(v) => {
            let i = p.spec.network.iter().position(|n| n.vlan == *v).unwrap_or(0).to_string();
            part(
                Rule::VlanNotBridged,
                &["spec", "network", &i, "vlan"],
                format!("VLAN {v} is not bridged by any SEA on frame `{f}`"),
                format!("add VLAN {v} to a trunk of the frame's SEA, or remove it from the partition"),
            )
        }
        Ineligible::LunNotVisible(lun) => {
            let i = p.spec.storage.iter().position(|s| &s.lun == lun).unwrap_or(0).to_string();
            part(
                Rule::StorageNotVisible,
                &["spec", "storage", &i, "lun"],
                format!("LUN {lun} is not visible to any VIOS of frame `{f}`"),
                "zone and map the LUN to the frame's VIOS (reserve_policy=no_reserve for LPM)".into(),
            )
        }
        Ineligible::LunReserved { lun, disks } => {
            let i = p.spec.storage.iter().position(|s| &s.lun == lun).unwrap_or(0).to_string();
            part(
                Rule::StorageNotVisible,
                &["spec", "storage", &i, "lun"],
                format!(
                    "LUN {lun} has no reserve_policy=no_reserve on the VIOS of frame `{f}` ({}): the migration would fail with HSCLA356",
                    disks.join(", ")
                ),
                format!(
                    "on the target VIOS, `chdev -dev {} -attr reserve_policy=no_reserve` (the LPM checklist: no_reserve on the target VIOS), or `setNoReserve: true` in the Settings to let the move do it (on disks no client maps there)",
                    disks.first().and_then(|d| d.split('/').nth(1)).unwrap_or("hdiskN")
                ),
            )
        }
        Ineligible::NoMoverService => part(
            Rule::MoverServicePartition,
            &["spec", "placement"],
            format!(
                "frame `{f}` has no running VIOS with the mover service partition attribute, which an active migration needs (the HMC refuses it with HSCLA297)"
            ),
            format!(
                "set it on a VIOS of {f} (`chsyscfg -r lpar -m {} -i \"name=VIOS,msp=1\"`, `msp: true` in the inventory), or stop the partition so that it moves inactive",
                f.word()
            ),
        ),
        Ineligible::NoSanStorage => part(
            Rule::PartitionNotMobile,
            &["spec", "storage"],
            format!("the partition must move to `{f}`, but it has no SAN storage through the VIOS: LPM moves only partitions whose disks, rootvg too, are SAN LUNs both VIOS see"),
            "list its SAN LUNs under `storage` (mapped through the VIOS of both frames, reserve_policy=no_reserve), or keep it where it is".into(),
        ),
        Ineligible::NoVirtualNetwork => part(
            Rule::PartitionNotMobile,
            &["spec", "network"],
            format!("the partition must move to `{f}`, but it has no virtual network: LPM moves only partitions whose network is all virtual, through a SEA"),
            "give it its VLANs under `network` (virtual ethernet bridged by the SEAs of both frames), or keep it where it is".into(),
        ),
        Ineligible::CompatUnsupported(c) => part(
            Rule::CompatModeUnsupported,
            &["spec", "processors", "compat"],
            format!("frame `{f}` does not support processor compatibility mode {c}"),
            "choose a mode the frame lists, or another frame".into(),
        ),
    }
}

/// A paging device per running shared-memory partition, at least its `maxMB`; a common one
/// for each partition that requires redundancy.
// seeds: ams-dual-vios-and-lpm.txt, "make sure the number of common paging space devices
// matches the number of redundant shared memory partitions."
fn check_paging_devices(
    e: &Estate,
    placer: &Placer<'_>,
    assignment: &BTreeMap<PartitionName, Eligibility>,
    out: &mut Vec<Diagnostic>,
) {
    let mut by_frame: BTreeMap<&FrameName, Vec<&Partition>> = BTreeMap::new();
    for (name, p) in &e.partitions {
        if let Eligibility::Placed(f) = &assignment[name]
            && p.spec.memory.mode == MemoryMode::Shared
            && p.spec.state == RunState::Running
        {
            by_frame.entry(f).or_default().push(p);
        }
    }
    for (frame, parts) in by_frame {
        let Some(pool) = placer.index().mem_pool_on(frame) else {
            continue;
        };
        let devices = &pool.spec.paging_devices;
        let names = |ps: &[&Partition]| ps.iter().map(|p| p.metadata.name.to_string()).collect::<Vec<_>>().join(", ");
        let at = |rule, msg: String, hint: &str| {
            finding(rule, Kind::SharedMemoryPool, pool, &["spec", "pagingDevices"], msg, hint)
        };
        if parts.len() > devices.len() {
            out.push(at(
                Rule::PagingDeviceCount,
                format!(
                    "{} running shared-memory partitions on frame `{frame}` ({}) but {} paging devices; each needs its own",
                    parts.len(),
                    names(&parts),
                    devices.len()
                ),
                "add paging devices to the pool, or stop or move partitions",
            ));
        } else {
            let mut need: Vec<_> = parts.iter().map(|p| p.spec.memory.max_mb).collect();
            let mut have: Vec<_> = devices.iter().map(|d| d.size_mb).collect();
            need.sort_unstable_by(|a, b| b.cmp(a));
            have.sort_unstable_by(|a, b| b.cmp(a));
            // A partition larger than every device is reported on the partition itself.
            let each_fits = need.first().zip(have.first()).is_none_or(|(n, h)| h >= n);
            if let Some((n, h)) = need.iter().zip(&have).find(|(n, h)| h < n).filter(|_| each_fits) {
                out.push(at(
                    Rule::PagingDeviceTooSmall,
                    format!(
                        "the paging devices do not fit the partitions' maxMB: a partition with maxMB {} would get a device of {}",
                        n.0, h.0
                    ),
                    "add a paging device at least as large as each partition's maxMB",
                ));
            }
        }
        let redundancy = |p: &&Partition| p.spec.memory.paging.unwrap_or_default().redundancy;
        let required: Vec<&Partition> =
            parts.iter().copied().filter(|p| redundancy(p) == Redundancy::Required).collect();
        let common = placer.common_devices(frame).len();
        if required.len() > common && pool.spec.paging_vios.len() == 2 {
            out.push(at(
                Rule::CommonPagingDevices,
                format!(
                    "{} partitions require redundant paging ({}) but the pool has {common} common paging devices",
                    required.len(),
                    names(&required)
                ),
                "add common paging devices (SAN disks seen by both paging VIOS, reserve_policy=no_reserve), or set `redundancy: preferred`",
            ));
        }
        let spare = common.saturating_sub(required.len());
        for p in parts.iter().filter(|p| redundancy(p) == Redundancy::Preferred).skip(spare) {
            out.push(finding(
                Rule::NoPagingRedundancy,
                Kind::Partition,
                p,
                &["spec", "memory", "paging", "redundancy"],
                format!("on frame `{frame}` no common paging device is left for this partition; it will page through one VIOS, without failover"),
                "add a common paging device to the pool if the partition should survive a paging VIOS outage",
            ));
        }
    }
}
