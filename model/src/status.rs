//! Runtime state a backend reports beside configuration: frame, partition and VIOS states, SEA
//! failover states with the VLANs each side bridges, the current paging VIOS of every
//! shared-memory partition, paging device assignments. Desired states have none of it.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::manifest::ClusterManager;
use crate::names::{ClusterName, DeviceName, FrameName, PartitionName, ProfileName, SeaName, ViosName};
use crate::units::{MemoryMb, VlanId};

/// All runtime status of an observed estate.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(rename = "EstateStatus")]
pub struct Status {
    /// Frame states.
    pub frames: BTreeMap<FrameName, FrameState>,
    /// VIOS states by frame.
    pub vios: BTreeMap<FrameName, BTreeMap<ViosName, LparState>>,
    /// The profile each VIOS runs with (`curr_profile`) or, not activated, activates with
    /// (`default_profile`), by frame: the profile a VIOS's activation and profile save name.
    /// A VIOS missing here was not reported by its backend (see [`Status::vios_profile`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub vios_profiles: BTreeMap<FrameName, BTreeMap<ViosName, ProfileName>>,
    /// VIOS that run (`Running`) without an active RMC connection to the HMC
    /// (`lssyscfg -F rmc_state` other than `active`), by frame: an activation whose RMC comes
    /// some time after `Running` (IBM/ansible-power-hmc `hmc_resource.py`
    /// `checkForOSToBootUpFully` polls `rmc_state` until `active`), or RMC lost. Nothing that
    /// goes through RMC (`viosvrcmd`, a paging VIOS switch, a mover service partition) may use
    /// them, and nothing is converged while one should run.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub vios_without_rmc: BTreeMap<FrameName, std::collections::BTreeSet<ViosName>>,
    /// Each SEA's members, primary (priority 1) first.
    pub seas: BTreeMap<SeaName, Vec<SeaMemberStatus>>,
    /// Client partitions.
    pub partitions: BTreeMap<PartitionName, PartitionStatus>,
    /// Paging devices of each frame's shared memory pool.
    pub paging_devices: BTreeMap<FrameName, Vec<PagingDeviceStatus>>,
    /// Cluster members, as their cluster manager reports them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub nodes: BTreeMap<PartitionName, NodeStatus>,
    /// Whether the backend sees inside partitions, so that a partition missing from `nodes`
    /// runs no cluster manager (the simulator); an HMC sees no further than the partition.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub nodes_observed: bool,
    /// Frames the backend lists but could not observe, with why (a state other than
    /// `Operating`, an `HSCL` error when listing it): what is on them is unknown, so nothing is
    /// planned on them, and what the manifests place there waits (DESIGN §5).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub set_aside: BTreeMap<FrameName, String>,
    /// VIOS whose own listings (`viosvrcmd`) failed, with why: their adapters and disks are
    /// unknown, never empty, and changes that need them wait.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unknown_vios: BTreeMap<FrameName, BTreeMap<ViosName, String>>,
    /// Partitions the backend lists that powerplane could not read, with why (a value this
    /// version does not know): nothing is planned against them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unknown_partitions: BTreeMap<PartitionName, String>,
    /// Other partitions with the name of one of the estate's, on other frames: a profile copy
    /// kept on every frame a cluster may use (seed `infoscale-lpm-vcs.txt`), or the shell a
    /// migration creates on its target. Shown, never planned against.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namesakes: Vec<Namesake>,
    /// How many partition migrations each frame takes at once, and how many run now, as the
    /// HMC lists them (`lslparmigr -r sys`): the executor starts no more than a frame has room
    /// for. A frame missing here has no published limit (the executor's own applies).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub migration_limits: BTreeMap<FrameName, MigrationLimits>,
    /// The shared processor pools each frame has, by id (`lshwres -r procpool`): a pool is
    /// configured, and created, by its id. A frame missing here lists none (no multiple shared
    /// processor pools).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub proc_pool_slots: BTreeMap<FrameName, ProcPoolSlots>,
    /// The HMCs managing the frames, their versions and whether each may run migration
    /// commands on the others ([`crate::console`]): a move to another HMC's frame names that
    /// HMC (`--ip`), and waits while the source HMC's key is not authorized there. Empty from a
    /// backend that names no HMC.
    #[serde(default, skip_serializing_if = "crate::console::Consoles::is_empty")]
    pub consoles: crate::console::Consoles,
    /// Each VIOS's server adapters and their mappings, by frame (`lshwres -r virtualio
    /// --rsubtype scsi|fc`, `lsmap`). A frame missing here was not reported: powerplane then
    /// provisions no storage on it (it cannot tell free slots nor what is mapped).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub vios_storage: BTreeMap<FrameName, BTreeMap<ViosName, crate::storage::ViosStorage>>,
    /// Each partition's storage client adapters (its profile's `virtual_scsi_adapters` and
    /// `virtual_fc_adapters`), on frames [`Status::vios_storage`] reports.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub client_adapters: BTreeMap<PartitionName, Vec<crate::storage::ClientAdapter>>,
}

/// A frame's shared processor pools by id: the configured ones by name, and the ids of those
/// not configured (maximum 0, named `SharedPoolNN`), which a new pool takes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ProcPoolSlots {
    /// Each configured pool's id.
    pub ids: BTreeMap<crate::names::ProcPoolName, crate::names::ProcPoolId>,
    /// The ids not configured, lowest first.
    pub unused: Vec<crate::names::ProcPoolId>,
}

impl ProcPoolSlots {
    /// The slots of a frame whose ids were not listed (an estate written by hand, a snapshot
    /// from before ids were read): its pools take ids 1, 2, … in name order, the rest are
    /// unused.
    pub fn derived<'a>(configured: impl IntoIterator<Item = &'a crate::names::ProcPoolName>) -> Self {
        let mut names: Vec<&crate::names::ProcPoolName> = configured.into_iter().collect();
        names.sort();
        names.dedup();
        let ids: BTreeMap<_, _> = names
            .into_iter()
            .zip(1..=crate::names::ProcPoolId::MAX)
            .map(|(n, id)| (n.clone(), crate::names::ProcPoolId(id)))
            .collect();
        let taken = ids.len() as u8;
        ProcPoolSlots {
            ids,
            unused: (taken + 1..=crate::names::ProcPoolId::MAX).map(crate::names::ProcPoolId).collect(),
        }
    }

    /// Whether the frame has multiple shared processor pools at all (a POWER5 has only the
    /// default one, and lists none).
    pub fn has_pools(&self) -> bool {
        !self.ids.is_empty() || !self.unused.is_empty()
    }
}

/// A frame's limits on partition migrations (`lslparmigr -r sys`: IBM's `lslparmigr` man page;
/// pypowervm's `MaximumActiveMigrations` and `NumberOfActiveMigrationsInProgress`, 16 and 0 on
/// its POWER7 sample, `tests/fixtures/hmc/lslparmigr-r-sys.power8-values.reconstructed.txt`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MigrationLimits {
    /// Active (running partition) migrations it supports at once.
    pub active: u32,
    /// Active migrations in progress now.
    pub active_in_progress: u32,
    /// Inactive migrations it supports at once.
    pub inactive: u32,
    /// Inactive migrations in progress now.
    pub inactive_in_progress: u32,
}

impl MigrationLimits {
    /// Migrations it has room to start now (powerplane migrates running partitions: active).
    pub fn room(&self) -> u32 {
        self.active.saturating_sub(self.active_in_progress)
    }
}

impl Status {
    /// Whether anything of the estate could not be observed or read.
    pub fn has_unknowns(&self) -> bool {
        !self.set_aside.is_empty()
            || !self.unknown_vios.is_empty()
            || !self.unknown_partitions.is_empty()
            || self.partitions.values().any(|p| !p.is_plannable())
    }

    /// The profile a command on `vios` of `frame` names: the observed one, or, from a backend
    /// that does not report it, [`ProfileName::hmc_default`] (what the HMC names the profile
    /// of a partition it creates).
    pub fn vios_profile(&self, frame: &FrameName, vios: &ViosName) -> ProfileName {
        self.vios_profiles.get(frame).and_then(|m| m.get(vios)).cloned().unwrap_or_else(ProfileName::hmc_default)
    }

    /// The profile a command on partition `p` names: the observed one (`curr_profile`, else
    /// `default_profile`), or, for a partition not observed or from a backend that does not
    /// report it, [`ProfileName::hmc_default`], the name powerplane creates partitions with.
    pub fn partition_profile(&self, p: &PartitionName) -> ProfileName {
        self.partitions.get(p).and_then(|s| s.profile.clone()).unwrap_or_else(ProfileName::hmc_default)
    }

    /// Whether `vios` on `frame` runs without an active RMC connection.
    pub fn vios_lacks_rmc(&self, frame: &FrameName, vios: &ViosName) -> bool {
        self.vios_without_rmc.get(frame).is_some_and(|s| s.contains(vios))
    }

    /// Whether `vios` on `frame` maps `lun` to a client (the disk is open there, so its
    /// attributes cannot change without `chdev -perm` and a reboot). A frame whose storage is
    /// not reported counts as mapping it: nothing is known to be free.
    pub fn lun_mapped(&self, frame: &FrameName, vios: &ViosName, lun: &crate::names::Lun) -> bool {
        match self.vios_storage.get(frame) {
            None => true,
            Some(m) => m.get(vios).is_some_and(|v| v.adapters.iter().any(|a| a.luns.contains(lun))),
        }
    }

    /// Whether `vios` on `frame` could not be listed.
    pub fn vios_unknown(&self, frame: &FrameName, vios: &ViosName) -> bool {
        self.unknown_vios.get(frame).is_some_and(|m| m.contains_key(vios))
    }
}

/// A partition that shares its name with one of the estate's but is not it: where it is, its
/// id there, and its state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Namesake {
    /// Its name.
    pub name: PartitionName,
    /// Its frame.
    pub frame: FrameName,
    /// Its partition id on that frame.
    pub lpar_id: u32,
    /// Its state.
    pub state: LparState,
}

/// A cluster member as its cluster manager sees it: its heartbeat timeout, whether the manager
/// watches it now, the service groups online on it, and failovers that took groups away from it
/// while it was migrating.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NodeStatus {
    /// The cluster.
    pub cluster: ClusterName,
    /// Its manager.
    pub manager: ClusterManager,
    /// VCS: LLT's current peer inactive timeout in 0.01 s (`lltconfig -T query`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peerinact_centis: Option<u32>,
    /// PowerHA: cluster services stopped with the resource groups unmanaged.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unmanaged: bool,
    /// Pacemaker: the node is in maintenance mode.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub maintenance: bool,
    /// Service groups (resource groups) online on it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub online: Vec<String>,
    /// Groups its peers failed over away from it while it was unresponsive (a false failover
    /// during a migration), until they are online on it again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failovers: Vec<Failover>,
}

impl fmt::Display for Failover {
    /// `sapvcs_sg moved to yankee (40.0 s unresponsive, timeout 16.00 s)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} moved to {} ({:.1} s unresponsive, timeout {:.2} s)",
            self.group,
            self.to,
            self.unresponsive_ms as f64 / 1000.0,
            f64::from(self.timeout_centis) / 100.0
        )
    }
}

/// A service group a cluster moved to another node because it declared this one dead.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Failover {
    /// The service group.
    pub group: String,
    /// The node it went to.
    pub to: PartitionName,
    /// How long the node was unresponsive, milliseconds.
    pub unresponsive_ms: u64,
    /// The timeout its peer declared it dead after, 0.01 s.
    pub timeout_centis: u32,
}

/// Declares an HMC state enumeration: its known values with the HMC's spelling, and
/// `Other(String)` for any value this version does not know, kept as its text so that an
/// observation never aborts on it (the object it belongs to is *unknown*: nothing is planned
/// against it). Serialised as the HMC's text.
macro_rules! hmc_states {
    ($(#[$doc:meta])* $ty:ident { $($(#[$vdoc:meta])* $var:ident => $text:literal,)* }) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
        #[serde(from = "String", into = "String")]
        pub enum $ty {
            $($(#[$vdoc])* $var,)*
            /// A value this version does not know, as the HMC printed it.
            Other(String),
        }

        impl $ty {
            /// The HMC's text.
            pub fn as_str(&self) -> &str {
                match self {
                    $($ty::$var => $text,)*
                    $ty::Other(s) => s,
                }
            }

            /// Reads the HMC's text; never fails (an unknown value is `Other`).
            pub fn parse(text: &str) -> Self {
                match text.trim() {
                    $($text => $ty::$var,)*
                    other => $ty::Other(other.to_owned()),
                }
            }

            /// Whether this version knows the value.
            pub fn is_known(&self) -> bool {
                !matches!(self, $ty::Other(_))
            }
        }

        impl From<String> for $ty {
            fn from(s: String) -> Self {
                $ty::parse(&s)
            }
        }

        impl From<$ty> for String {
            fn from(s: $ty) -> String {
                s.as_str().to_owned()
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

hmc_states! {
    /// A managed system's state as the HMC shows it (`lssyscfg -r sys -F state`). Sources: IBM's
    /// `lssyscfg` man page; pypowervm's `ManagedSystem` states; `tests/fixtures/hmc/README.md`.
    /// Only an `Operating` frame is observed; any other is set aside with its state as the
    /// reason.
    FrameState {
        /// Powered on and running.
        Operating => "Operating",
        /// Powered on, no partitions started.
        Standby => "Standby",
        /// Powered off.
        PowerOff => "Power Off",
        /// Being powered off.
        PowerOffInProgress => "Power Off In Progress",
        /// Powering on.
        Initializing => "Initializing",
        /// In error.
        Error => "Error",
        /// The HMC cannot reach it.
        NoConnection => "No Connection",
        /// The HMC could not read everything it needs from it.
        Incomplete => "Incomplete",
        /// The HMC's access password for it is wrong.
        FailedAuthentication => "Failed Authentication",
        /// Its partition data is being recovered.
        Recovery => "Recovery",
    }
}

hmc_states! {
    /// A partition's (or VIOS's) state as the HMC shows it (`lssyscfg -r lpar -F state`).
    /// Sources: IBM's `lssyscfg` man page; pypowervm's `LPARState`;
    /// `tests/fixtures/hmc/README.md`.
    LparState {
        /// Activated and running.
        Running => "Running",
        /// Being activated.
        Starting => "Starting",
        /// In firmware.
        OpenFirmware => "Open Firmware",
        /// Defined, not running.
        NotActivated => "Not Activated",
        /// Being shut down.
        ShuttingDown => "Shutting Down",
        /// In error.
        Error => "Error",
        /// Being migrated while running (both frames show it).
        MigratingRunning => "Migrating - Running",
        /// Being migrated while not activated.
        MigratingNotActivated => "Migrating - Not Activated",
        /// The HMC cannot tell (the frame lost its connection, or is not operating): the
        /// partition is *unknown*.
        NotAvailable => "Not Available",
        /// The hypervisor is discovering its hardware.
        HardwareDiscovery => "Hardware Discovery",
        /// Being suspended.
        Suspending => "Suspending",
        /// Suspended.
        Suspended => "Suspended",
        /// Being resumed.
        Resuming => "Resuming",
    }
}

impl LparState {
    /// Whether the partition is up (running, or migrating while running).
    pub fn is_running(&self) -> bool {
        matches!(self, LparState::Running | LparState::MigratingRunning)
    }

    /// Whether an activation or a shutdown is under way: `Starting`, `Open Firmware`,
    /// `Shutting Down` (the states IBM's `lssyscfg` lists between `Not Activated` and
    /// `Running`; `tests/fixtures/hmc/README.md`, "Partition state").
    pub fn is_changing_power(&self) -> bool {
        matches!(self, LparState::Starting | LparState::OpenFirmware | LparState::ShuttingDown)
    }

    /// Whether powerplane can plan against a partition in this state: not when its state is
    /// unknown to this version, or the HMC itself cannot tell (`Not Available`).
    pub fn is_plannable(&self) -> bool {
        !matches!(self, LparState::Other(_) | LparState::NotAvailable)
    }
}

/// The `ha_mode` attribute of one SEA device (`lsattr -El ent4`), including `standby`, which
/// an operator sets to force a failover.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SeaHaMode {
    /// Classic failover.
    Auto,
    /// Load sharing.
    Sharing,
    /// Forced backup: yields to a partner in `auto` or `sharing`.
    Standby,
    /// No failover.
    Disabled,
}

impl SeaHaMode {
    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            SeaHaMode::Auto => "auto",
            SeaHaMode::Sharing => "sharing",
            SeaHaMode::Standby => "standby",
            SeaHaMode::Disabled => "disabled",
        }
    }
}

impl fmt::Display for SeaHaMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<crate::manifest::HaMode> for SeaHaMode {
    fn from(m: crate::manifest::HaMode) -> Self {
        match m {
            crate::manifest::HaMode::Auto => SeaHaMode::Auto,
            crate::manifest::HaMode::Sharing => SeaHaMode::Sharing,
            crate::manifest::HaMode::Disabled => SeaHaMode::Disabled,
        }
    }
}

/// A SEA's failover state (`entstat -d`, "State:").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub enum SeaState {
    /// Bridging every VLAN; the partner waits.
    #[serde(rename = "PRIMARY")]
    Primary,
    /// Waiting to take over.
    #[serde(rename = "BACKUP")]
    Backup,
    /// Load sharing, primary side.
    #[serde(rename = "PRIMARY_SH")]
    PrimarySharing,
    /// Load sharing, backup side.
    #[serde(rename = "BACKUP_SH")]
    BackupSharing,
    /// No failover configured: bridging alone.
    #[serde(rename = "STANDALONE")]
    Standalone,
    /// The VIOS is down.
    #[serde(rename = "INACTIVE")]
    Inactive,
}

impl SeaState {
    /// As `entstat` prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            SeaState::Primary => "PRIMARY",
            SeaState::Backup => "BACKUP",
            SeaState::PrimarySharing => "PRIMARY_SH",
            SeaState::BackupSharing => "BACKUP_SH",
            SeaState::Standalone => "STANDALONE",
            SeaState::Inactive => "INACTIVE",
        }
    }
}

impl fmt::Display for SeaState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which VLANs a SEA bridges (`entstat -d`, "Bridge Mode:").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub enum BridgeMode {
    /// Every VLAN of every trunk.
    All,
    /// Its share under load sharing.
    Partial,
    /// None.
    None,
}

/// One SEA device on one VIOS.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SeaMemberStatus {
    /// The VIOS.
    pub vios: ViosName,
    /// The SEA device on it, e.g. `ent4`.
    pub device: DeviceName,
    /// Its `ha_mode` attribute.
    pub ha_mode: SeaHaMode,
    /// Trunk priority: 1 primary, 2 backup.
    pub priority: u8,
    /// Its failover state.
    pub state: SeaState,
    /// Its bridge mode.
    pub bridge_mode: BridgeMode,
    /// The VLANs it bridges now (`VID shared`).
    pub vlans: Vec<VlanId>,
    /// Its trunk adapters (`virt_adapters`), in order. Both members list the same ones except
    /// while trunks are being added live; empty from a backend that does not say.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub adapters: Vec<DeviceName>,
    /// Trunk adapters added to this VIOS by DLPAR that its profile lacks: activating the VIOS
    /// from its profile would lose them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unsaved: Vec<DeviceName>,
}

impl SeaMemberStatus {
    /// The primary VIOS of a SEA whose devices are `members`, in a pair of VIOS `pair`: the one
    /// whose trunk adapters have priority 1. When none does (only the backup's SEA exists: the
    /// primary's VIOS was down when it was made, or its SEA is gone) and exactly one VIOS of
    /// the pair has no SEA, that one is the primary: its SEA is the one still to be made, with
    /// priority 1. A backup is never called primary because it is the only one listed.
    // seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, line 437: "one should
    // have a higher priority (lower number) for the 'Trunk priority' option"; lines 845-853
    // (`trunk_priority=1` on p72vio1, `trunk_priority=2` on p72vio2).
    pub fn primary_of(members: &[SeaMemberStatus], pair: &[ViosName]) -> Option<ViosName> {
        if let Some(m) = members.iter().find(|m| m.priority == 1) {
            return Some(m.vios.clone());
        }
        let without: Vec<&ViosName> = pair.iter().filter(|v| !members.iter().any(|m| &m.vios == *v)).collect();
        match without.as_slice() {
            [only] if !members.is_empty() => Some((*only).clone()),
            _ => members.iter().min_by_key(|m| m.priority).map(|m| m.vios.clone()),
        }
    }
}

/// A client partition's runtime state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PartitionStatus {
    /// The frame it is on (the source frame while migrating).
    pub frame: FrameName,
    /// Its state.
    pub state: LparState,
    /// Whether the HMC has an RMC connection to it (needed for DLPAR and LPM).
    pub rmc: bool,
    /// Paging VIOS of a shared-memory partition.
    pub paging: Option<PagingStatus>,
    /// A migration the HMC is carrying out, or one that failed part-way and awaits recovery
    /// (`lslparmigr -r lpar`). `None`: not migrating.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migration: Option<MigrationStatus>,
    /// Activated below its profile's desired memory or entitlement, the frame being short
    /// (down to the profile's minimum); the observed values are what it got.
    // seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, line 95: "less if the
    // LPAR started closer to the minimum value".
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub below_desired: bool,
    /// Its partition id on its frame (`lpar_id`): with the frame, what identifies it on an HMC
    /// (names may repeat across frames). `None` from a backend that does not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lpar_id: Option<u32>,
    /// The profile it runs with (`curr_profile`) or, not activated, the one it activates with
    /// (`default_profile`): the profile every later command names. `None` from a backend that
    /// does not say (commands then name `default_profile`: [`Status::partition_profile`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<ProfileName>,
    /// Its NPIV LUNs cannot be seen by this backend: they are zoned to the client's own WWPNs,
    /// which no VIOS listing names (IBM's `lsmap -npiv` has no backing device;
    /// `tests/fixtures/hmc/vios/README.md`). An HMC observation reports no NPIV storage and
    /// sets this, so the planner does not read their absence as a change.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub npiv_hidden: bool,
    /// The physical I/O slots its profile assigns it (`io_slots`): a partition with any cannot
    /// be migrated ([`crate::physical_io`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub io_slots: Vec<crate::physical_io::IoSlot>,
}

impl PartitionStatus {
    /// Whether powerplane can plan against it: its state and its migration's state are known.
    pub fn is_plannable(&self) -> bool {
        self.state.is_plannable() && self.migration.as_ref().is_none_or(|m| m.state.is_known())
    }
}

/// A partition's migration as the HMC reports it (`lslparmigr -r lpar -m SYS`): where it goes,
/// how far it got, and whether it still runs or needs `migrlpar -o r` to recover.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MigrationStatus {
    /// The destination managed system.
    pub to: FrameName,
    /// Running, or failed and waiting for recovery.
    pub state: MigrationState,
    /// Percent of the partition's memory copied so far.
    pub percent: u8,
    /// Virtual seconds until the HMC expects it to end (0 once failed).
    pub remaining_secs: u64,
}

hmc_states! {
    /// Where a migration is (`lslparmigr -r lpar -F migration_state`). Neither in flight nor
    /// failed means the partition is settled: nothing is converged while a migration is in
    /// flight or awaits recovery. Sources: IBM's `lslparmigr` man page; pypowervm's
    /// `MigrationState`; `tests/fixtures/hmc/README.md`.
    MigrationState {
        /// The HMC is starting it.
        Starting => "Migration Starting",
        /// The HMC is copying memory; it completes on its own, whatever the client does.
        InProgress => "Migration In Progress",
        /// Being stopped (`migrlpar -o s`).
        Stopping => "Migration Stopping",
        /// Being recovered (`migrlpar -o r`).
        Recovering => "Migration Recovery In Progress",
        /// It failed part-way: the partition still shows a migrating state on both frames until
        /// `migrlpar -o r -m SRC -p LPAR` recovers it.
        Failed => "Migration Failed",
    }
}

/// The three paging VIOS the hypervisor keeps per shared-memory partition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PagingStatus {
    /// Primary paging VIOS (from the profile).
    pub primary: ViosName,
    /// Secondary, `None` for a non-redundant partition.
    pub secondary: Option<ViosName>,
    /// The one paging now (`curr_paging_vios_name`); `None` while not activated.
    pub current: Option<ViosName>,
    /// The paging device assigned at activation.
    pub device: Option<DeviceName>,
}

/// A paging device of a shared memory pool.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PagingDeviceStatus {
    /// The device name.
    pub device: DeviceName,
    /// Its size.
    pub size: MemoryMb,
    /// Seen by both paging VIOS with `no_reserve`: usable for redundant partitions.
    pub redundant: bool,
    /// The partition it serves, if any.
    pub assigned: Option<PartitionName>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(vios: &str, priority: u8, state: SeaState) -> SeaMemberStatus {
        SeaMemberStatus {
            vios: vios.parse().unwrap(),
            device: "ent4".parse().unwrap(),
            ha_mode: SeaHaMode::Auto,
            priority,
            state,
            bridge_mode: BridgeMode::All,
            vlans: Vec::new(),
            adapters: Vec::new(),
            unsaved: Vec::new(),
        }
    }

    /// The seed's pair: p72vio1 has trunk priority 1 and is the primary whichever member is
    /// listed first or bridges now; with only p72vio2's SEA made, p72vio1 is still the
    /// primary (its SEA is the one missing), though p72vio2's reports PRIMARY.
    #[test]
    fn the_primary_is_the_vios_of_trunk_priority_one() {
        let pair: Vec<ViosName> = vec!["p72vio1".parse().unwrap(), "p72vio2".parse().unwrap()];
        let both = [member("p72vio2", 2, SeaState::Primary), member("p72vio1", 1, SeaState::Backup)];
        assert_eq!(SeaMemberStatus::primary_of(&both, &pair).unwrap().as_str(), "p72vio1");
        let backup_only = [member("p72vio2", 2, SeaState::Primary)];
        assert_eq!(SeaMemberStatus::primary_of(&backup_only, &pair).unwrap().as_str(), "p72vio1");
        // A pair of one (no failover): its only SEA is the primary, whatever its priority.
        assert_eq!(SeaMemberStatus::primary_of(&backup_only, &pair[1..]).unwrap().as_str(), "p72vio2");
        assert_eq!(SeaMemberStatus::primary_of(&[], &pair), None);
    }
}
