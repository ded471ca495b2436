//! The simulator's whole state: one serialisable value, so that it can be persisted between
//! commands and compared in tests.

use std::collections::{BTreeMap, BTreeSet};

use powerplane_model::manifest::{FrameHardwareSpec, Labels, PartitionSpec, Placement, RunState, TrunkSpec};
use powerplane_model::status::{FrameState, LparState, SeaHaMode};
use powerplane_model::{
    ActionKind, DeviceName, FrameName, Lun, MemPoolName, MemoryMb, PartitionName, ProcPoolName, ProcPoolObjectName,
    ProcUnits, ProfileName, SeaName, ViosName, ViosPairName,
};
use serde::{Deserialize, Serialize};

/// Version of the persisted format; a state of another version is refused.
pub(crate) const FORMAT: u32 = 1;

/// Everything the simulated hypervisor knows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimState {
    /// Persisted format version.
    pub format: u32,
    /// The seed the estate was created with.
    pub seed: u64,
    /// Deterministic random generator state (xorshift64*).
    pub rng: u64,
    /// Virtual time in milliseconds since `sim init`, as of the last time it was set; the
    /// timeline of the open simulator is the authority.
    pub now_ms: u64,
    /// Frames by name.
    pub frames: BTreeMap<FrameName, SimFrame>,
    /// Injected faults.
    pub faults: Faults,
    /// Tunables.
    pub settings: Settings,
    /// Where the migrations in flight or awaiting recovery are (source frame, partition): an
    /// index over `frames`, rebuilt at load, so that moving the timeline on costs nothing when
    /// nothing migrates.
    #[serde(skip)]
    pub(crate) outbound: BTreeSet<(FrameName, PartitionName)>,
    /// The partitions and VIOS whose activation or shutdown is under way (frame, which): an
    /// index over `frames` like `outbound`, rebuilt at load.
    #[serde(skip)]
    pub(crate) powering: BTreeSet<(FrameName, super::power::Powered)>,
    /// The error-log entries kept, oldest first (at most [`super::events::KEPT`]).
    #[serde(default, skip_serializing_if = "std::collections::VecDeque::is_empty")]
    pub events: std::collections::VecDeque<super::events::SimEvent>,
    /// The number of the last entry logged.
    #[serde(default)]
    pub next_event: u64,
    /// The number of the last entry the store has.
    #[serde(skip)]
    pub(crate) events_saved: u64,
    /// The HMCs the inventory names (`FrameHardware.spec.hmc`), by address: empty when it names
    /// none (one HMC manages every frame).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub consoles: BTreeMap<powerplane_model::HmcAddress, super::consoles::SimConsole>,
}

/// Tunables of the simulation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Virtual seconds to copy one GB of partition memory during LPM.
    // seeds: lpm-js22-walkthrough.txt, "The migration took roughly two minutes ... 4GB"
    pub lpm_seconds_per_gb: u64,
    /// Virtual milliseconds the partition is suspended at the end of LPM.
    // seeds: lpm-js22-walkthrough.txt, "The 'suspend' of the LPAR itself lasted no more than
    // two seconds."
    pub lpm_suspend_ms: u64,
    /// Concurrent migrations a mover service partition (VIOS) handles: the VIOS's
    /// `cfg_msp_lpm_ops`, 8 by default (`lsattr -El vioslpm0`).
    pub max_migrations_per_msp: usize,
    /// How long a hung action waits before it times out (virtual seconds).
    pub hang_timeout_secs: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { lpm_seconds_per_gb: 30, lpm_suspend_ms: 1_500, max_migrations_per_msp: 8, hang_timeout_secs: 1_800 }
    }
}

/// One managed system.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimFrame {
    /// Physical facts (memory, processors, VIOS hardware, battery).
    pub hw: FrameHardwareSpec,
    /// Labels (as the inventory gave them).
    pub labels: Labels,
    /// Frame state.
    pub state: FrameState,
    /// Name of the ViosPair object describing the VIOS.
    pub vios_pair: ViosPairName,
    /// VIOS runtime by name.
    pub vios: BTreeMap<ViosName, SimVios>,
    /// The SEA, when configured.
    pub sea: Option<SimSea>,
    /// The shared memory pool, when configured.
    pub mem_pool: Option<SimMemPool>,
    /// Shared processor pools configured beyond DefaultPool.
    pub proc_pools: BTreeMap<ProcPoolName, SimProcPool>,
    /// Client partitions on this frame (including a migrating one's shell on the target).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub partitions: BTreeMap<PartitionName, SimPartition>,
    /// Inactive LPARs that hold a client partition's profile under its name, or under the name
    /// VCS's same-name profile procedure set them aside as (`NAME_vcs`): the copies VCS keeps
    /// on every frame of an LPAR resource's system list (seeds: infoscale-lpm-vcs.txt, lines
    /// 111-120; `powerplane_model::profile_copy`). Never activated; listed like any LPAR.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub copies: BTreeMap<PartitionName, SimPartition>,
}

impl SimFrame {
    /// Its shared processor pools by id: each configured pool's own id (one saved without, the
    /// lowest free ids in name order), the rest of 1 to 63 unused.
    pub(crate) fn proc_pool_slots(&self) -> powerplane_model::status::ProcPoolSlots {
        use powerplane_model::ProcPoolId;
        let mut ids: BTreeMap<ProcPoolName, ProcPoolId> =
            self.proc_pools.iter().filter(|(_, p)| p.id != 0).map(|(n, p)| (n.clone(), ProcPoolId(p.id))).collect();
        let free: Vec<u8> = (1..=ProcPoolId::MAX).filter(|i| !ids.values().any(|t| t.0 == *i)).collect();
        let unnumbered = self.proc_pools.iter().filter(|(_, p)| p.id == 0).map(|(n, _)| n.clone());
        ids.extend(unnumbered.zip(free).map(|(n, i)| (n, ProcPoolId(i))));
        let unused = (1..=ProcPoolId::MAX).filter(|i| !ids.values().any(|t| t.0 == *i)).map(ProcPoolId).collect();
        powerplane_model::status::ProcPoolSlots { ids, unused }
    }

    /// Everything of the frame but its partitions.
    pub(crate) fn shell(&self) -> SimFrame {
        SimFrame {
            hw: self.hw.clone(),
            labels: self.labels.clone(),
            state: self.state.clone(),
            vios_pair: self.vios_pair.clone(),
            vios: self.vios.clone(),
            sea: self.sea.clone(),
            mem_pool: self.mem_pool.clone(),
            proc_pools: self.proc_pools.clone(),
            partitions: BTreeMap::new(),
            copies: self.copies.clone(),
        }
    }
}

/// A VIOS at run time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimVios {
    /// Running or not.
    pub state: LparState,
    /// RMC connection to the HMC.
    pub rmc: bool,
    /// Virtual ethernet adapters added by DLPAR since the inventory, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dlpar_eth: Vec<DlparEth>,
    /// Its profiles: the one it runs and activates with, then its others (see
    /// [`Profiles`]). A state persisted before profiles were kept has `default_profile` alone.
    #[serde(default)]
    pub profiles: Profiles,
    /// Its server adapters for client storage and what is mapped to them
    /// ([`super::storage`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub storage: Vec<powerplane_model::storage::ServerAdapter>,
    /// The slots of server adapters added by DLPAR that its profile lacks (not saved since):
    /// an activation from the profile drops them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unsaved_slots: Vec<u16>,
    /// Its activation or shutdown under way, if one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power: Option<super::power::Power>,
}

/// A partition's or VIOS's profile names, as the HMC keeps them: the one it runs with
/// (`curr_profile`) and activates with (`default_profile`) — one name in the simulator — and
/// others it has but does not use (IBM's `lssyscfg` man page: a partition may have several
/// profiles). An inventory's partitions and VIOS have `default_profile` (what the HMC names the
/// profile of a partition it creates: IBM/ansible-power-hmc `hmc_resource.py`) and a second,
/// `backup`; a partition created by `mksyscfg -r lpar` has the one `profile_name=` named.
/// Only the one in use carries values: the others are listed with its minimums as desired
/// (`listings::prof`), and the emulator's change commands name the one in use.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profiles {
    /// The profile it runs and activates with.
    pub current: ProfileName,
    /// Its other profiles, listed after the current one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub others: Vec<ProfileName>,
}

impl Default for Profiles {
    /// `default_profile` alone: what a state persisted before profiles were kept reads as.
    fn default() -> Self {
        Profiles { current: ProfileName::hmc_default(), others: Vec::new() }
    }
}

impl Profiles {
    /// What an inventory's partition or VIOS has: `default_profile`, and `backup`.
    pub(crate) fn inventory() -> Self {
        Profiles {
            current: ProfileName::hmc_default(),
            others: vec![ProfileName::new(BACKUP_PROFILE).expect("a valid profile name")],
        }
    }

    /// Only `name`: a partition `mksyscfg -r lpar` created.
    pub(crate) fn only(name: ProfileName) -> Self {
        Profiles { current: name, others: Vec::new() }
    }

    /// Every profile, the current one first.
    pub(crate) fn all(&self) -> impl Iterator<Item = &ProfileName> {
        std::iter::once(&self.current).chain(&self.others)
    }

    /// `Ok` when `name` is the profile a command of the emulator may name for `lpar`: the one
    /// it runs and activates with. Otherwise the refusal. No HMC message code for an unknown
    /// profile was found in an independent source (IBM's man pages, IBM/ansible-power-hmc,
    /// pypowervm, the fixtures' sources), so the refusal is a plain message naming the
    /// profiles there are.
    pub(crate) fn check(&self, lpar: &str, name: &ProfileName) -> Result<(), crate::backend::BackendError> {
        if *name == self.current {
            return Ok(());
        }
        let all: Vec<&str> = self.all().map(ProfileName::as_str).collect();
        Err(crate::backend::BackendError::refused_plain(if self.others.contains(name) {
            format!(
                "The partition profile {name} of {lpar} is not the one it runs with ({}); powerplane's simulator changes and activates a partition only with that one.",
                self.current
            )
        } else {
            format!(
                "The partition profile {name} was not found for the partition {lpar}. Its profiles: {}.",
                all.join(", ")
            )
        }))
    }
}

/// The name of the second profile an inventory's partitions and VIOS have.
pub(crate) const BACKUP_PROFILE: &str = "backup";

/// A virtual ethernet adapter added to a running VIOS (`chhwres -r virtualio -o a`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DlparEth {
    /// Its virtual slot.
    pub slot: u16,
    /// Port VLAN id.
    pub pvid: powerplane_model::VlanId,
    /// Additional (tagged) VLANs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vlans: Vec<powerplane_model::VlanId>,
    /// Trunk priority (the adapter is a trunk: "Access External Networks").
    pub trunk_priority: u8,
    /// The `entN` name `cfgdev` gave it; `None` until the VIOS configured it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<DeviceName>,
    /// Whether the VIOS's profile has it (saved after the DLPAR change). An activation from
    /// the profile drops an adapter that is not.
    pub saved: bool,
}

/// The SEA of a VIOS pair: shared configuration plus each member's device and attributes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimSea {
    /// Object name.
    pub name: SeaName,
    /// Physical adapter.
    pub real_adapter: DeviceName,
    /// Control channel.
    pub control_channel: Option<DeviceName>,
    /// Trunks in `mkvdev` order.
    pub trunks: Vec<TrunkSpec>,
    /// The SEA device on each VIOS that has one.
    pub members: BTreeMap<ViosName, SeaMember>,
    /// Whether the backup's load-sharing request was granted by the primary.
    pub sharing_negotiated: bool,
}

/// One VIOS's SEA device.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeaMember {
    /// Device name, e.g. `ent4`.
    pub device: DeviceName,
    /// Its `ha_mode` attribute.
    pub ha_mode: SeaHaMode,
    /// Trunk priority: 1 primary, 2 backup.
    pub priority: u8,
    /// Its own `virt_adapters` while they differ from the SEA's trunks (a `chdev` on one
    /// member, not yet on the other); `None`: the SEA's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trunks: Option<Vec<TrunkSpec>>,
}

impl SeaMember {
    /// The trunks this member bridges: its `virt_adapters`.
    pub(crate) fn virt_adapters<'a>(&'a self, sea: &'a SimSea) -> &'a [TrunkSpec] {
        self.trunks.as_deref().unwrap_or(&sea.trunks)
    }
}

/// The shared memory pool.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimMemPool {
    /// Object name.
    pub name: MemPoolName,
    /// Physical memory of the pool.
    pub pool_mem: MemoryMb,
    /// Maximum pool memory.
    pub max_pool_mem: MemoryMb,
    /// Paging VIOS 1 and (optionally) 2.
    pub paging_vios: Vec<ViosName>,
    /// Paging devices.
    pub devices: Vec<SimPagingDevice>,
}

/// A paging device.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimPagingDevice {
    /// Device name on the paging VIOS.
    pub device: DeviceName,
    /// The SAN LUN.
    pub lun: Lun,
    /// Size.
    pub size: MemoryMb,
    /// Seen by both paging VIOS with no_reserve (common).
    pub redundant: bool,
    /// The partition it serves.
    pub assigned: Option<PartitionName>,
}

impl SimPagingDevice {
    /// What the HMC reports of the device.
    pub fn status(&self) -> powerplane_model::status::PagingDeviceStatus {
        powerplane_model::status::PagingDeviceStatus {
            device: self.device.clone(),
            size: self.size,
            redundant: self.redundant,
            assigned: self.assigned.clone(),
        }
    }
}

/// A shared processor pool.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimProcPool {
    /// Its id on the frame (1 to 63); 0 in a state saved before ids were kept, when
    /// [`SimFrame::proc_pool_slots`] gives it one.
    #[serde(default)]
    pub id: u8,
    /// Object name.
    pub name: ProcPoolObjectName,
    /// Maximum processing units.
    pub max: ProcUnits,
    /// Reserved processing units.
    pub reserved: ProcUnits,
}

/// A client partition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimPartition {
    /// Its configuration (placement pinned to the frame it is on).
    pub spec: PartitionSpec,
    /// HMC state.
    pub state: LparState,
    /// RMC connection.
    pub rmc: bool,
    /// Paging VIOS of a shared-memory partition while it has some.
    pub paging: Option<SimPaging>,
    /// The paging device it had last, kept if still free at the next activation.
    pub last_device: Option<DeviceName>,
    /// Set while a migration is in flight.
    pub migration: Option<Migration>,
    /// The values of its current profile while they differ from what it runs with: activated
    /// below its desired values (a frame short of them), or changed by DLPAR alone (a bare
    /// `chhwres`, which changes no profile: IBM, "Managing processor resources dynamically").
    /// `spec` then holds what it has; `None`: the profile's values are `spec`'s. Its next
    /// activation uses the profile's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<Box<PartitionSpec>>,
    /// The cluster manager it runs, when it is a cluster member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<Box<super::cluster::SimNode>>,
    /// Its profile names. A state persisted before profiles were kept has `default_profile`
    /// alone.
    #[serde(default)]
    pub profiles: Profiles,
    /// Its storage client adapters (its profile's `virtual_scsi_adapters`,
    /// `virtual_fc_adapters`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub client_adapters: Vec<powerplane_model::storage::ClientAdapter>,
    /// The LUN it boots from, once known: its manifest's first, or the first disk mapped to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot: Option<Lun>,
    /// Its activation or shutdown under way, if one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power: Option<super::power::Power>,
}

/// A migration in flight, as each frame sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Migration {
    /// The partition itself, leaving for `to`.
    Outbound(Box<Outbound>),
    /// The shell on the target that reserves resources for the arriving partition.
    Inbound {
        /// The source frame.
        from: FrameName,
    },
}

/// A migration the HMC carries out: it ends at `ends_ms` on the simulator's timeline whatever
/// happens to the client that started it, or fails part-way at `fails_at_ms` and then waits for
/// `migrlpar -o r`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outbound {
    /// The target frame.
    pub to: FrameName,
    /// Virtual time it started.
    pub started_ms: u64,
    /// Virtual time it completes.
    pub ends_ms: u64,
    /// Virtual time it fails part-way (an injected fault), if it does.
    pub fails_at_ms: Option<u64>,
    /// It failed: the partition stays migrating on both frames until it is recovered.
    pub failed: bool,
    /// An active (running) migration, or an inactive one.
    pub active: bool,
    /// The paging device reserved on the target.
    pub paging: Option<super::paging::Assignment>,
    /// How long the partition is suspended at the end, in virtual milliseconds.
    pub suspend_ms: u64,
    /// The source frame's mover service partition (active migrations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_msp: Option<powerplane_model::ViosName>,
    /// The destination frame's mover service partition (active migrations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dest_msp: Option<powerplane_model::ViosName>,
}

impl Outbound {
    /// What `lslparmigr` reports of it at virtual time `now_ms`.
    pub fn status(&self, now_ms: u64) -> powerplane_model::status::MigrationStatus {
        use powerplane_model::status::MigrationState;
        powerplane_model::status::MigrationStatus {
            to: self.to.clone(),
            state: if self.failed { MigrationState::Failed } else { MigrationState::InProgress },
            percent: self.percent(now_ms),
            remaining_secs: if self.failed { 0 } else { self.ends_ms.saturating_sub(now_ms).div_ceil(1000) },
        }
    }

    /// Percent of the memory copied at virtual time `now_ms`.
    /// Bytes of partition memory copied of `total` at virtual time `now_ms`, in proportion to
    /// the time elapsed (the copy runs at a steady rate in the simulation).
    pub fn bytes_copied(&self, now_ms: u64, total: u64) -> u64 {
        let end = if self.failed { self.fails_at_ms.unwrap_or(self.ends_ms) } else { now_ms.min(self.ends_ms) };
        let span = self.ends_ms.saturating_sub(self.started_ms).max(1);
        (u128::from(total) * u128::from(end.saturating_sub(self.started_ms).min(span)) / u128::from(span)) as u64
    }

    /// Percent copied at virtual time `now_ms`.
    pub fn percent(&self, now_ms: u64) -> u8 {
        let end = if self.failed { self.fails_at_ms.unwrap_or(self.ends_ms) } else { now_ms.min(self.ends_ms) };
        let total = self.ends_ms.saturating_sub(self.started_ms).max(1);
        (end.saturating_sub(self.started_ms) * 100 / total).min(100) as u8
    }
}

/// The hypervisor's paging VIOS record of a partition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimPaging {
    /// Primary paging VIOS.
    pub primary: ViosName,
    /// Secondary paging VIOS (redundant partitions only).
    pub secondary: Option<ViosName>,
    /// The one paging now.
    pub current: Option<ViosName>,
    /// The assigned paging device.
    pub device: Option<DeviceName>,
}

/// Injected faults.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Faults {
    /// The next action of each kind fails.
    pub fail_next: BTreeMap<ActionKind, FailMode>,
    /// The next action of each kind hangs until it times out.
    pub hang_next: BTreeSet<ActionKind>,
}

/// How an injected failure fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FailMode {
    /// A refusal: retrying does not help.
    Permanent,
    /// A transient error: the retry succeeds.
    Transient,
    /// A migration starts and fails half-way, leaving the partition to be recovered
    /// (`migrlpar -o r`); for other kinds, the same as `Permanent`.
    Midway,
}

impl SimState {
    /// Rebuilds [`SimState::outbound`] from the frames.
    pub(crate) fn index_migrations(&mut self) {
        self.outbound = self
            .frames
            .iter()
            .flat_map(|(f, fr)| {
                fr.partitions
                    .iter()
                    .filter(|(_, p)| matches!(p.migration, Some(Migration::Outbound(_))))
                    .map(move |(n, _)| (f.clone(), n.clone()))
            })
            .collect();
    }

    /// Next deterministic random number (xorshift64*), for MAC addresses, jitter and the like.
    pub fn next_random(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// The frame, or a refusal naming the frames there are.
    pub fn frame(&self, name: &FrameName) -> Result<&SimFrame, crate::backend::BackendError> {
        self.frames.get(name).ok_or_else(|| unknown_frame(self, name))
    }

    /// The frame, mutably.
    pub fn frame_mut(&mut self, name: &FrameName) -> Result<&mut SimFrame, crate::backend::BackendError> {
        if !self.frames.contains_key(name) {
            return Err(unknown_frame(self, name));
        }
        Ok(self.frames.get_mut(name).expect("checked"))
    }

    /// Where a partition is (its frame), ignoring a migration's shell on the target.
    pub fn locate(&self, p: &PartitionName) -> Option<&FrameName> {
        self.frames.iter().find(|(_, f)| f.partitions.get(p).is_some_and(|sp| !sp.is_shell())).map(|(n, _)| n)
    }
}

impl SimPartition {
    /// A partition just defined on `frame` (`mksyscfg -r lpar`) from `spec`, with `profiles`:
    /// `Not Activated`, no RMC, no paging device or adapters yet. The HMC keeps neither the
    /// controller's hooks nor its shutdown policy.
    pub(crate) fn defined(frame: &FrameName, spec: &PartitionSpec, profiles: Profiles) -> Self {
        let mut spec = spec.clone();
        spec.placement = Placement::Frame(frame.clone());
        spec.state = RunState::Stopped;
        spec.hooks = Default::default();
        spec.shutdown = Default::default();
        SimPartition {
            spec,
            state: LparState::NotActivated,
            rmc: false,
            paging: None,
            last_device: None,
            migration: None,
            profile: None,
            node: None,
            profiles,
            client_adapters: Vec::new(),
            boot: None,
            power: None,
        }
    }

    /// A migration's target-side shell, not yet the partition itself.
    pub fn is_shell(&self) -> bool {
        matches!(self.migration, Some(Migration::Inbound { .. }))
    }
}

fn unknown_frame(s: &SimState, name: &FrameName) -> crate::backend::BackendError {
    let known: Vec<&str> = s.frames.keys().map(FrameName::as_str).collect();
    crate::backend::BackendError::refused_plain(format!(
        "The managed system {name} was not found. Known managed systems: {}",
        known.join(", ")
    ))
}
