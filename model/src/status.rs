//! Runtime state a backend reports beside configuration: frame, partition and VIOS states, SEA
//! failover states with the VLANs each side bridges, the current paging VIOS of every
//! shared-memory partition, paging device assignments. Desired states have none of it.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::manifest::ClusterManager;
use crate::names::{ClusterName, DeviceName, FrameName, PartitionName, SeaName, ViosName};
use crate::units::{MemoryMb, VlanId};

/// All runtime status of an observed estate.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// Frame states.
    pub frames: BTreeMap<FrameName, FrameState>,
    /// VIOS states by frame.
    pub vios: BTreeMap<FrameName, BTreeMap<ViosName, LparState>>,
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
}

/// A cluster member as its cluster manager sees it: its heartbeat timeout, whether the manager
/// watches it now, the service groups online on it, and failovers that took groups away from it
/// while it was migrating.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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

/// A managed system's state as the HMC shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FrameState {
    /// Powered on and running.
    Operating,
    /// Powered on, no partitions started.
    Standby,
    /// Powered off.
    #[serde(rename = "Power Off")]
    PowerOff,
    /// In error.
    Error,
    /// The HMC cannot reach it.
    #[serde(rename = "No Connection")]
    NoConnection,
}

/// A partition's (or VIOS's) state as the HMC shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LparState {
    /// Activated and running.
    Running,
    /// Being activated.
    Starting,
    /// In firmware.
    #[serde(rename = "Open Firmware")]
    OpenFirmware,
    /// Defined, not running.
    #[serde(rename = "Not Activated")]
    NotActivated,
    /// Being shut down.
    #[serde(rename = "Shutting Down")]
    ShuttingDown,
    /// In error.
    Error,
    /// Being migrated while running (both frames show it).
    #[serde(rename = "Migrating - Running")]
    MigratingRunning,
    /// Being migrated while not activated.
    #[serde(rename = "Migrating - Not Activated")]
    MigratingNotActivated,
}

impl LparState {
    /// The HMC's text (`lssyscfg -F state`).
    pub fn as_str(self) -> &'static str {
        match self {
            LparState::Running => "Running",
            LparState::Starting => "Starting",
            LparState::OpenFirmware => "Open Firmware",
            LparState::NotActivated => "Not Activated",
            LparState::ShuttingDown => "Shutting Down",
            LparState::Error => "Error",
            LparState::MigratingRunning => "Migrating - Running",
            LparState::MigratingNotActivated => "Migrating - Not Activated",
        }
    }

    /// Whether the partition is up (running, or migrating while running).
    pub fn is_running(self) -> bool {
        matches!(self, LparState::Running | LparState::MigratingRunning)
    }
}

impl fmt::Display for LparState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FrameState {
    /// The HMC's text (`lssyscfg -r sys -F state`).
    pub fn as_str(self) -> &'static str {
        match self {
            FrameState::Operating => "Operating",
            FrameState::Standby => "Standby",
            FrameState::PowerOff => "Power Off",
            FrameState::Error => "Error",
            FrameState::NoConnection => "No Connection",
        }
    }
}

impl fmt::Display for FrameState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `ha_mode` attribute of one SEA device (`lsattr -El ent4`), including `standby`, which
/// an operator sets to force a failover.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BridgeMode {
    /// Every VLAN of every trunk.
    All,
    /// Its share under load sharing.
    Partial,
    /// None.
    None,
}

/// One SEA device on one VIOS.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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

/// A client partition's runtime state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
}

/// A partition's migration as the HMC reports it (`lslparmigr -r lpar -m SYS`): where it goes,
/// how far it got, and whether it still runs or needs `migrlpar -o r` to recover.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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

/// Where a migration is. Both mean the partition is not settled: nothing is converged while a
/// migration is in flight or awaits recovery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MigrationState {
    /// The HMC is copying memory; it completes on its own, whatever the client does.
    #[serde(rename = "Migration In Progress")]
    InProgress,
    /// It failed part-way: the partition still shows a migrating state on both frames until
    /// `migrlpar -o r -m SRC -p LPAR` recovers it.
    #[serde(rename = "Migration Failed")]
    Failed,
}

impl MigrationState {
    /// As `lslparmigr` prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            MigrationState::InProgress => "Migration In Progress",
            MigrationState::Failed => "Migration Failed",
        }
    }
}

impl fmt::Display for MigrationState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The three paging VIOS the hypervisor keeps per shared-memory partition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
