//! Where a partition may run and where it will run. Eligibility of a frame for a partition is
//! the static part of DESIGN §4 rule 4 (the LPM checks that do not depend on what else moves);
//! [`Placer::assign`] chooses a frame for every partition: pinned ones where pinned, others
//! stay put while allowed, else the eligible frame with most free memory, ties by name.

use std::collections::BTreeMap;
use std::fmt;

use crate::estate::{Estate, EstateIndex, Partition};
use crate::manifest::{CompatMode, MemoryMode, Placement, ProcMode, Redundancy, ReservePolicy};
use crate::names::{ClusterName, FrameName, Lun, PartitionName, ProcPoolName};
use crate::units::{MemoryMb, ProcUnits, VlanId};

/// Why a frame cannot host a partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ineligible {
    /// No `Frame` manifest of that name.
    UnknownFrame,
    /// The frame is in maintenance.
    Maintenance,
    /// The frame is running on battery.
    OnBattery,
    /// The partition's processor pool does not exist there.
    NoProcPool(ProcPoolName),
    /// Shared memory, but the frame has no shared memory pool.
    NoMemoryPool,
    /// No paging device of the pool is at least the partition's `maxMB`.
    NoPagingDevice {
        /// The partition's maximum memory.
        need: MemoryMb,
        /// The pool's largest device, if any.
        largest: Option<MemoryMb>,
    },
    /// Redundancy `required`, but the pool has one paging VIOS or no common device.
    NoRedundantPaging,
    /// A VLAN no SEA on the frame bridges.
    VlanNotBridged(VlanId),
    /// A LUN no VIOS of the frame sees.
    LunNotVisible(Lun),
    /// A LUN the frame's VIOS see, but none with `reserve_policy=no_reserve`: the partition
    /// cannot migrate there (HSCLA356). Only a move's target is checked; where the partition
    /// runs, the reserve does not matter.
    LunReserved {
        /// The LUN.
        lun: Lun,
        /// The disks that see it, each as `vios/hdiskN`.
        disks: Vec<String>,
    },
    /// The frame does not support the compatibility mode.
    CompatUnsupported(CompatMode),
    /// The backend could not observe the frame (set aside, with why): nothing is placed there
    /// until it can.
    SetAside(String),
    /// A running partition would move there actively, and no running VIOS there has the mover
    /// service partition attribute.
    NoMoverService,
    /// A move's partition has no SAN storage through the VIOS (`storage` is empty): its disks,
    /// rootvg too, would be on a physical adapter or nowhere, and LPM moves neither.
    NoSanStorage,
    /// A move's partition has no virtual network (`network` is empty): its network is not
    /// virtualized through a SEA.
    NoVirtualNetwork,
    /// Not enough free memory.
    Memory {
        /// Free memory on the frame.
        free: MemoryMb,
        /// What the partition needs.
        need: MemoryMb,
    },
    /// Not enough free processing units.
    ProcUnits {
        /// Free units on the frame.
        free: ProcUnits,
        /// What the partition needs.
        need: ProcUnits,
    },
    /// Another member of the partition's cluster is placed there: members run on different
    /// frames, so that one frame failing leaves the cluster a node to fail over to.
    ClusterPeer {
        /// The cluster.
        cluster: ClusterName,
        /// The member placed there.
        peer: PartitionName,
    },
}

impl fmt::Display for Ineligible {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ineligible::UnknownFrame => write!(f, "no Frame manifest has that name"),
            Ineligible::Maintenance => write!(f, "the frame is in maintenance"),
            Ineligible::OnBattery => write!(f, "the frame is running on battery"),
            Ineligible::SetAside(why) => write!(f, "the frame could not be observed ({why})"),
            Ineligible::NoProcPool(p) => write!(f, "it has no shared processor pool `{p}`"),
            Ineligible::NoMemoryPool => write!(f, "it has no shared memory pool"),
            Ineligible::NoPagingDevice { need, largest: Some(l) } => {
                write!(f, "its largest paging device is {l}, the partition's maxMB is {need}")
            }
            Ineligible::NoPagingDevice { need, largest: None } => {
                write!(f, "its shared memory pool has no paging device (needs one of at least {need})")
            }
            Ineligible::NoRedundantPaging => {
                write!(f, "it cannot give redundant paging (one paging VIOS or no common paging device)")
            }
            Ineligible::VlanNotBridged(v) => write!(f, "no SEA there bridges VLAN {v}"),
            Ineligible::LunNotVisible(l) => write!(f, "no VIOS there sees LUN {l}"),
            Ineligible::NoSanStorage => write!(
                f,
                "the partition has no SAN storage through the VIOS, so it cannot migrate there (its disks, rootvg too, must be SAN LUNs both VIOS see)"
            ),
            Ineligible::NoVirtualNetwork => write!(
                f,
                "the partition has no virtual network, so it cannot migrate there (all its network must be virtual, bridged by a SEA)"
            ),
            Ineligible::NoMoverService => {
                write!(f, "no running VIOS there is a mover service partition, which an active migration needs")
            }
            Ineligible::LunReserved { lun, disks } => write!(
                f,
                "LUN {lun} is reserved there ({} without reserve_policy=no_reserve), so the partition cannot migrate to it",
                disks.join(", ")
            ),
            Ineligible::CompatUnsupported(c) => {
                write!(f, "it does not support compatibility mode {c}")
            }
            Ineligible::Memory { free, need } => write!(f, "free memory {free}, needed {need}"),
            Ineligible::ProcUnits { free, need } => {
                write!(f, "free processing units {free}, needed {need}")
            }
            Ineligible::ClusterPeer { cluster, peer } => {
                write!(f, "`{peer}`, a member of the same cluster `{cluster}`, is placed there")
            }
        }
    }
}

/// The outcome of placing one partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Eligibility {
    /// The partition goes (or stays) on this frame.
    Placed(FrameName),
    /// No allowed frame can host it; each candidate with its reasons.
    Unplaceable(Vec<(FrameName, Vec<Ineligible>)>),
}

/// Free resources of one frame while partitions are assigned.
#[derive(Clone, Copy, Debug)]
struct Room {
    memory: MemoryMb,
    procs: ProcUnits,
}

/// Places partitions of a desired estate, using physical facts and current locations from an
/// observed estate when there is one.
pub struct Placer<'a> {
    desired: &'a Estate,
    ix: EstateIndex<'a>,
    observed: Option<&'a Estate>,
    facts: Option<EstateIndex<'a>>,
    /// VLANs the SEAs of each frame bridge, computed once.
    bridged: BTreeMap<&'a FrameName, Vec<VlanId>>,
    /// The cluster of each member partition, and its members.
    clusters: BTreeMap<&'a PartitionName, (&'a ClusterName, &'a [PartitionName])>,
    /// Processing units the shared processor pools of each frame reserve, summed once (summing
    /// them per frame over every pool made `usage` quadratic in the frames).
    reserved_procs: BTreeMap<&'a FrameName, ProcUnits>,
}

impl<'a> Placer<'a> {
    /// A placer for `desired`; `observed` supplies hardware facts and where partitions run now.
    pub fn new(desired: &'a Estate, observed: Option<&'a Estate>) -> Self {
        let ix = desired.index();
        let bridged = desired
            .frames
            .keys()
            .map(|f| (f, ix.seas_on(f).flat_map(|s| s.spec.trunks.iter().flat_map(|t| t.all_vlans())).collect()))
            .collect();
        let clusters = desired
            .clusters
            .values()
            .flat_map(|c| c.spec.members.iter().map(move |m| (m, (&c.metadata.name, c.spec.members.as_slice()))))
            .collect();
        let mut reserved_procs: BTreeMap<&'a FrameName, ProcUnits> = BTreeMap::new();
        for p in desired.proc_pools.values() {
            *reserved_procs.entry(&p.spec.frame).or_default() += p.spec.reserved_proc_units;
        }
        Placer { desired, ix, observed, facts: observed.map(Estate::index), bridged, clusters, reserved_procs }
    }

    /// The cluster `name` is a member of, with all its members.
    pub fn cluster_of(&self, name: &PartitionName) -> Option<(&'a ClusterName, &'a [PartitionName])> {
        self.clusters.get(name).copied()
    }

    /// A member of `name`'s cluster that `assignment` places on `frame`.
    pub(crate) fn peer_on(
        &self,
        name: &PartitionName,
        frame: &FrameName,
        assignment: &BTreeMap<PartitionName, Eligibility>,
    ) -> Option<Ineligible> {
        let (cluster, members) = self.cluster_of(name)?;
        members
            .iter()
            .filter(|m| *m != name)
            .find(|m| matches!(assignment.get(*m), Some(Eligibility::Placed(f)) if f == frame))
            .map(|peer| Ineligible::ClusterPeer { cluster: cluster.clone(), peer: peer.clone() })
    }

    /// The observed estate's index, when there is an observed estate.
    pub fn facts(&self) -> Option<&EstateIndex<'a>> {
        self.facts.as_ref()
    }

    /// The desired estate's index.
    pub fn index(&self) -> &EstateIndex<'a> {
        &self.ix
    }

    /// The frames a partition's placement allows, in name order.
    pub fn candidates(&self, p: &Partition) -> Vec<FrameName> {
        match &p.spec.placement {
            Placement::Frame(f) => vec![f.clone()],
            Placement::AnyOf(fs) => {
                let mut fs = fs.clone();
                fs.sort();
                fs.dedup();
                fs
            }
            Placement::Selector(sel) => self
                .desired
                .frames
                .values()
                .filter(|f| sel.matches(&f.metadata.labels))
                .map(|f| f.metadata.name.clone())
                .collect(),
        }
    }

    /// The frames a partition's placement allows, borrowed from the manifests.
    pub(crate) fn candidate_refs(&self, p: &'a Partition) -> Vec<&'a FrameName> {
        match &p.spec.placement {
            Placement::Frame(f) => vec![f],
            Placement::AnyOf(fs) => fs.iter().collect(),
            Placement::Selector(sel) => self
                .desired
                .frames
                .values()
                .filter(|f| sel.matches(&f.metadata.labels))
                .map(|f| &f.metadata.name)
                .collect(),
        }
    }

    /// Why `frame` cannot host `p`, ignoring capacity; empty when it can.
    pub fn static_reasons(&self, p: &Partition, frame: &FrameName) -> Vec<Ineligible> {
        let mut why = Vec::new();
        let Some(fr) = self.desired.frames.get(frame) else {
            return vec![Ineligible::UnknownFrame];
        };
        if fr.spec.maintenance {
            why.push(Ineligible::Maintenance);
        }
        if let Some(aside) = self.facts.as_ref().and_then(|f| f.estate().status.set_aside.get(frame)) {
            why.push(Ineligible::SetAside(aside.clone()));
        }
        let hw = self.facts.as_ref().and_then(|f| f.hardware(frame));
        if hw.is_some_and(|h| h.spec.on_battery) {
            why.push(Ineligible::OnBattery);
        }
        let spec = &p.spec;
        if spec.processors.mode == ProcMode::Shared {
            let pool = spec.processors.pool_or_default();
            if self.ix.proc_pool_on(frame, &pool).is_none() {
                why.push(Ineligible::NoProcPool(pool));
            }
        }
        if spec.memory.mode == MemoryMode::Shared {
            match self.ix.mem_pool_on(frame) {
                None => why.push(Ineligible::NoMemoryPool),
                Some(pool) => {
                    let largest = pool.spec.paging_devices.iter().map(|d| d.size_mb).max();
                    if largest.is_none_or(|l| l < spec.memory.max_mb) {
                        why.push(Ineligible::NoPagingDevice { need: spec.memory.max_mb, largest });
                    }
                    let redundancy = spec.memory.paging.unwrap_or_default().redundancy;
                    if redundancy == Redundancy::Required && self.common_devices(frame).is_empty() {
                        why.push(Ineligible::NoRedundantPaging);
                    }
                }
            }
        }
        let bridged = self.bridged.get(frame).map_or(&[][..], Vec::as_slice);
        for n in &spec.network {
            if !bridged.contains(&n.vlan) {
                why.push(Ineligible::VlanNotBridged(n.vlan));
            }
        }
        let moving_here = self.current_frame(&p.metadata.name).is_some_and(|cur| cur != frame);
        // The LPM prerequisites the HMC's validation checks of the partition itself.
        // seeds: lpm-js22-walkthrough.txt, line 9 ("all network connectivity from the LPAR must
        // be virtualized, meaning it must communicate using a VIOS"), line 10 ("all storage
        // connected to the mobile LPAR must be on the SAN, even the operating system"), line 48
        // ("Checking there are no dedicated physical adapters assigned to the LPAR").
        if moving_here && spec.storage.is_empty() {
            why.push(Ineligible::NoSanStorage);
        }
        if moving_here && spec.network.is_empty() {
            why.push(Ineligible::NoVirtualNetwork);
        }
        if let Some(hw) = hw {
            // A move's target must see each LUN without a SCSI reserve; where the partition
            // runs (or is created) a reserve does not matter.
            // seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, line 1673 ("Also
            // make sure disks are not reserved"); HSCLA356 (lines 1613-1621).
            // seeds: powervm-quickstart..., line 2299: a VIOS is a mover service partition
            // only with the attribute set (FALSE by default); inactive moves need none.
            let active = spec.state == crate::manifest::RunState::Running
                && self
                    .observed
                    .and_then(|o| o.status.partitions.get(&p.metadata.name))
                    .is_some_and(|st| st.state.is_running());
            let vios_up = |v: &crate::names::ViosName| {
                self.observed
                    .and_then(|o| o.status.vios.get(frame))
                    .and_then(|m| m.get(v))
                    .is_some_and(|s| s.is_running())
            };
            if moving_here && active && !hw.spec.vios.iter().any(|v| v.msp && vios_up(&v.name)) {
                why.push(Ineligible::NoMoverService);
            }
            for s in &spec.storage {
                let disks = self.facts.as_ref().map_or(&[][..], |f| f.disks_with_lun(frame, &s.lun));
                if disks.is_empty() {
                    why.push(Ineligible::LunNotVisible(s.lun.clone()));
                } else if moving_here
                    && !disks.iter().any(|(_, d)| d.reserve_policy == ReservePolicy::NoReserve)
                    && !self.reserve_liftable(frame, &s.lun)
                {
                    let disks = disks.iter().map(|(v, d)| format!("{v}/{}", d.name)).collect();
                    why.push(Ineligible::LunReserved { lun: s.lun.clone(), disks });
                }
            }
            if let Some(c) = &spec.processors.compat
                && *c != CompatMode::Default
                && !hw.spec.compat_modes.contains(c)
            {
                why.push(Ineligible::CompatUnsupported(c.clone()));
            }
        }
        why
    }

    /// Whether a move to `frame` may lift the SCSI reserve on `lun` itself: the settings allow
    /// it (`setNoReserve`) and a VIOS there sees the LUN without mapping it to a client (an
    /// open disk's attributes do not change until a reboot). The planner then sets
    /// `reserve_policy=no_reserve` before the move (`plan/rules/reserve_policy.rs`).
    pub(crate) fn reserve_liftable(&self, frame: &FrameName, lun: &Lun) -> bool {
        let (Some(observed), Some(facts)) = (self.observed, self.facts.as_ref()) else { return false };
        self.desired.set_no_reserve()
            && facts.disks_with_lun(frame, lun).iter().any(|(v, _)| !observed.status.lun_mapped(frame, v, lun))
    }

    /// Paging devices of the frame's pool that are redundancy capable: seen by both paging VIOS
    /// (adding them sets `no_reserve`). Without hardware facts, every device of a two-VIOS pool
    /// counts.
    // seeds: ams-dual-vios-and-lpm.txt, "The physical disks must be assigned to both paging VIOS
    // partitions ... The reserve policy attribute of the disks must be set to no_reserve.
    // Actually, when you configure a disk as a common paging space device the no_reserve
    // attribute will automatically be set".
    pub fn common_devices(&self, frame: &FrameName) -> Vec<&'a crate::manifest::PagingDeviceSpec> {
        let Some(pool) = self.ix.mem_pool_on(frame) else {
            return Vec::new();
        };
        if pool.spec.paging_vios.len() != 2 {
            return Vec::new();
        }
        let Some(facts) = &self.facts else {
            return pool.spec.paging_devices.iter().collect();
        };
        let disks: Vec<_> = pool
            .spec
            .paging_vios
            .iter()
            .map(|v| facts.vios_hardware(frame, v).map(|h| h.disks.as_slice()).unwrap_or_default())
            .collect();
        pool.spec.paging_devices.iter().filter(|dev| seen_by_all(&dev.device, &disks)).collect()
    }

    /// Where the partition runs now, according to the observed estate.
    pub fn current_frame(&self, name: &PartitionName) -> Option<&'a FrameName> {
        match &self.observed?.partitions.get(name)?.spec.placement {
            Placement::Frame(f) => Some(f),
            _ => None,
        }
    }

    /// Whether a partition that is not pinned stays on `current`: its placement allows that
    /// frame and nothing there rules it out. Such a partition takes no other frame's capacity.
    pub(crate) fn may_stay(&self, p: &Partition, current: &FrameName) -> bool {
        p.spec.placement.allows(current, self.labels(current)) && self.static_reasons(p, current).is_empty()
    }

    /// Room left on each frame with hardware facts before any partition is placed: memory
    /// minus VIOS and shared memory pool, processing units minus VIOS and pool reserves.
    fn initial_room(&self) -> BTreeMap<FrameName, Room> {
        self.usage(&BTreeMap::new())
            .into_iter()
            .map(|(f, u)| {
                let room = Room {
                    memory: u.memory.saturating_sub(u.memory_used()),
                    procs: u.procs.saturating_sub(u.procs_used()),
                };
                (f, room)
            })
            .collect()
    }

    /// Chooses a frame for every partition. Pinned partitions and those that may stay where
    /// they run are placed first (they take capacity whether it suffices or not, so validation
    /// can report the overcommit); the rest go, in name order, to the eligible frame with most
    /// free memory, ties by name.
    pub fn assign(&self) -> BTreeMap<PartitionName, Eligibility> {
        let mut room = self.initial_room();
        let mut out = BTreeMap::new();
        let mut movers = Vec::new();
        // Pinned partitions first, so that a cluster member staying where it runs never takes
        // the frame a peer is pinned to.
        let (pinned, free): (Vec<_>, Vec<_>) =
            self.desired.partitions.iter().partition(|(_, p)| matches!(p.spec.placement, Placement::Frame(_)));
        for (name, p) in pinned.into_iter().chain(free) {
            let fixed = match &p.spec.placement {
                Placement::Frame(f) => Some(f.clone()),
                _ => self
                    .current_frame(name)
                    .filter(|cur| self.may_stay(p, cur) && self.peer_on(name, cur, &out).is_none())
                    .cloned(),
            };
            match fixed {
                Some(f) => {
                    if let Some(r) = room.get_mut(&f) {
                        let (m, c) = demand(p);
                        r.memory = r.memory.saturating_sub(m);
                        r.procs = r.procs.saturating_sub(c);
                    }
                    out.insert(name.clone(), Eligibility::Placed(f));
                }
                None => movers.push(p),
            }
        }
        for p in movers {
            let (mem, procs) = demand(p);
            let mut rejected = Vec::new();
            let mut best: Option<(FrameName, MemoryMb)> = None;
            for f in self.candidates(p) {
                let mut why = self.static_reasons(p, &f);
                why.extend(self.peer_on(&p.metadata.name, &f, &out));
                let free = room.get(&f).copied();
                if let Some(r) = free {
                    if r.memory < mem {
                        why.push(Ineligible::Memory { free: r.memory, need: mem });
                    }
                    if r.procs < procs {
                        why.push(Ineligible::ProcUnits { free: r.procs, need: procs });
                    }
                }
                if !why.is_empty() {
                    rejected.push((f, why));
                    continue;
                }
                let free_mem = free.map_or(MemoryMb(0), |r| r.memory);
                if best.as_ref().is_none_or(|(_, m)| free_mem > *m) {
                    best = Some((f, free_mem));
                }
            }
            let e = match best {
                Some((f, _)) => {
                    if let Some(r) = room.get_mut(&f) {
                        r.memory = r.memory.saturating_sub(mem);
                        r.procs = r.procs.saturating_sub(procs);
                    }
                    Eligibility::Placed(f)
                }
                None => Eligibility::Unplaceable(rejected),
            };
            out.insert(p.metadata.name.clone(), e);
        }
        out
    }

    /// What each frame with hardware facts has and what the assignment asks of it.
    pub fn usage(&self, assignment: &BTreeMap<PartitionName, Eligibility>) -> BTreeMap<FrameName, FrameUsage> {
        let Some(facts) = &self.facts else {
            return BTreeMap::new();
        };
        let mut usage: BTreeMap<FrameName, FrameUsage> = facts
            .estate()
            .hardware
            .values()
            .map(|hw| {
                let name = &hw.metadata.name;
                let u = FrameUsage {
                    memory: hw.spec.memory_mb,
                    procs: hw.spec.proc_units,
                    vios_memory: hw.spec.vios.iter().map(|v| v.memory_mb).sum(),
                    vios_procs: hw.spec.vios.iter().map(|v| v.proc_units).sum(),
                    pool_memory: self.ix.mem_pool_on(name).map(|p| p.spec.pool_mem_mb).unwrap_or_default(),
                    partition_memory: MemoryMb(0),
                    partition_procs: ProcUnits::default(),
                    pool_reserved_procs: self.reserved_procs.get(name).copied().unwrap_or_default(),
                };
                (name.clone(), u)
            })
            .collect();
        for (name, e) in assignment {
            if let (Eligibility::Placed(f), Some(p)) = (e, self.desired.partitions.get(name))
                && let Some(u) = usage.get_mut(f)
            {
                let (m, c) = demand(p);
                u.partition_memory += m;
                u.partition_procs += c;
            }
        }
        usage
    }

    fn labels(&self, frame: &FrameName) -> &'a crate::manifest::Labels {
        static EMPTY: std::sync::OnceLock<crate::manifest::Labels> = std::sync::OnceLock::new();
        self.desired.frames.get(frame).map_or_else(|| EMPTY.get_or_init(Default::default), |f| &f.metadata.labels)
    }
}

/// Whether `device` (named as one paging VIOS names it) is a disk every paging VIOS sees, by
/// its LUN: a common paging device once it is in the pool, whatever its `reserve_policy` was,
/// since adding it sets `no_reserve`. `disks` holds each paging VIOS's disks.
// seeds: ams-dual-vios-and-lpm.txt, line 5: "when you configure a disk as a common paging space
// device the no_reserve attribute will automatically be set"; line 6: "it will automatically
// be recognized as a common paging space device if the prerequisites mentioned previously are
// met".
pub(crate) fn seen_by_all(device: &crate::names::DeviceName, disks: &[&[crate::manifest::DiskSpec]]) -> bool {
    let lun = disks.iter().flat_map(|d| d.iter()).find(|d| &d.name == device).map(|d| &d.lun);
    lun.is_some_and(|lun| disks.iter().all(|vd| vd.iter().any(|d| &d.lun == lun)))
}

/// A frame's capacity and what is asked of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameUsage {
    /// Installed memory.
    pub memory: MemoryMb,
    /// Installed processing units.
    pub procs: ProcUnits,
    /// Memory of the VIOS.
    pub vios_memory: MemoryMb,
    /// Processing units of the VIOS.
    pub vios_procs: ProcUnits,
    /// Physical memory of the shared memory pool.
    pub pool_memory: MemoryMb,
    /// Dedicated memory of running partitions.
    pub partition_memory: MemoryMb,
    /// Processing units of running partitions.
    pub partition_procs: ProcUnits,
    /// Processing units the frame's shared processor pools reserve (guaranteed to each pool
    /// beyond its partitions' entitlements).
    // seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, lines 113-114
    // (Reserved Capacity; the pool's entitled capacity includes it).
    pub pool_reserved_procs: ProcUnits,
}

impl FrameUsage {
    /// Memory asked of the frame in all.
    pub fn memory_used(&self) -> MemoryMb {
        self.vios_memory + self.pool_memory + self.partition_memory
    }

    /// Processing units asked of the frame in all.
    pub fn procs_used(&self) -> ProcUnits {
        self.vios_procs + self.partition_procs + self.pool_reserved_procs
    }
}

/// What a partition takes from its frame while running: dedicated memory (shared memory comes
/// from the pool) and processing units. A stopped partition takes nothing.
pub(crate) fn demand(p: &Partition) -> (MemoryMb, ProcUnits) {
    if p.spec.state == crate::manifest::RunState::Stopped {
        return (MemoryMb(0), ProcUnits::default());
    }
    let mem = match p.spec.memory.mode {
        MemoryMode::Dedicated => p.spec.memory.desired_mb,
        MemoryMode::Shared => MemoryMb(0),
    };
    (mem, p.spec.processors.units)
}

#[cfg(test)]
mod tests {
    use super::Placer;
    use crate::plan::fixture::{lab_converged, lab_desired_with, replace};

    /// Where each lab partition is placed, and why a frame is not eligible: bxaix85 stays where
    /// it runs while its blade is allowed; a POWER7-only partition has nowhere on the blades.
    #[test]
    fn placements_of_the_lab() {
        let observed = lab_converged();
        let render = |desired: &crate::estate::Estate| {
            let placer = Placer::new(desired, Some(&observed));
            placer.assign().iter().map(|(p, e)| format!("{p}: {e:?}\n")).collect::<String>()
        };
        let lab = lab_desired_with(|_, t| t.to_owned());
        let p7 = lab_desired_with(replace(
            "js22.yaml",
            "units: 1.0, virtual: 2, compat: POWER6",
            "units: 1.0, virtual: 2, compat: POWER7",
        ));
        let away = lab_desired_with(replace(
            "js22.yaml",
            "  name: js22_slot13\n  labels: {site: lab, chassis: bch1, generation: power6}\n",
            "  name: js22_slot13\n  labels: {site: lab, chassis: bch1, generation: power6}\nspec: {maintenance: true}\n",
        ));
        insta::assert_snapshot!(format!(
            "lab:\n{}\nPOWER7:\n{}\nslot 13 in maintenance:\n{}",
            render(&lab),
            render(&p7),
            render(&away)
        ));
    }
}
