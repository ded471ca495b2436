//! The manifest kinds of DESIGN §2 (and the inventory-only `FrameHardware` of §5), as typed
//! Rust values. Every struct refuses unknown fields so a typo is an error, not a silent no-op.

mod cluster;
mod frame;
mod hardware;
mod mem_pool;
mod partition;
mod proc_pool;
mod sea;
mod settings;
mod vios_pair;
mod window;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

pub use cluster::{
    ClusterManager, ClusterSpec, DEFAULT_COROSYNC_TOKEN_SECONDS, DEFAULT_NODE_SSH_PORT, DEFAULT_PEERINACT_SECONDS,
    DEFAULT_POWERHA_NODE_TIMEOUT_SECONDS, Heartbeat, Hook, HookPoint, Hooks, MAX_HOOK_TIMEOUT_SECONDS, NodeSsh,
    PacemakerSpec, PowerHaSpec, VcsSpec, ssh_word_problem,
};
pub use frame::FrameSpec;
pub use hardware::{AssignedSlot, DiskSpec, FrameHardwareSpec, HmcSpec, ReservePolicy, ViosHardwareSpec};
pub use mem_pool::{PagingDeviceSpec, SharedMemoryPoolSpec};
pub use partition::{
    CompatMode, DEFAULT_UNCAPPED_WEIGHT, MIN_HUNDREDTHS_PER_VIRTUAL_PROCESSOR, MemoryMode, MemorySpec, NetworkSpec,
    PagingIndex, PagingSpec, PartitionSpec, Placement, PlacementSpec, ProcMode, ProcessorsSpec, Redundancy, Selector,
    Sharing, ShutdownPolicy, StorageSpec, StorageVia,
};
pub use proc_pool::SharedProcessorPoolSpec;
pub use sea::{HaMode, SeaSpec, TrunkSpec, load_sharing_split};
pub use settings::SettingsSpec;
pub use vios_pair::{ViosMember, ViosPairSpec};
pub use window::{FrameSelection, MaintenanceWindow, Weekday, Weekly};

/// The only `apiVersion` this release reads.
pub const API_VERSION: &str = "powerplane/v1";

/// The kinds of document powerplane reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Kind {
    /// A managed system.
    Frame,
    /// A shared processor pool on a frame.
    SharedProcessorPool,
    /// The Active Memory Sharing pool of a frame.
    SharedMemoryPool,
    /// The Virtual I/O Servers of a frame.
    ViosPair,
    /// A Shared Ethernet Adapter (failover pair) on a VIOS pair.
    SharedEthernetAdapter,
    /// A client partition.
    Partition,
    /// Partitions a cluster manager keeps highly available together.
    Cluster,
    /// Physical facts of a frame; only in inventories (the simulator's starting point).
    FrameHardware,
    /// Reconciliation settings of the manifest directory (at most one).
    Settings,
}

impl Kind {
    /// Every kind, in the order objects are listed and planned (dependencies first).
    pub const ALL: [Kind; 9] = [
        Kind::Settings,
        Kind::FrameHardware,
        Kind::Frame,
        Kind::SharedProcessorPool,
        Kind::SharedMemoryPool,
        Kind::ViosPair,
        Kind::SharedEthernetAdapter,
        Kind::Partition,
        Kind::Cluster,
    ];

    /// The kinds a desired-state manifest directory may contain.
    pub const MANIFEST: [Kind; 8] = [
        Kind::Settings,
        Kind::Frame,
        Kind::SharedProcessorPool,
        Kind::SharedMemoryPool,
        Kind::ViosPair,
        Kind::SharedEthernetAdapter,
        Kind::Partition,
        Kind::Cluster,
    ];

    /// The kind as written in `kind:`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Frame => "Frame",
            Kind::SharedProcessorPool => "SharedProcessorPool",
            Kind::SharedMemoryPool => "SharedMemoryPool",
            Kind::ViosPair => "ViosPair",
            Kind::SharedEthernetAdapter => "SharedEthernetAdapter",
            Kind::Partition => "Partition",
            Kind::Cluster => "Cluster",
            Kind::FrameHardware => "FrameHardware",
            Kind::Settings => "Settings",
        }
    }

    /// Parses `kind:`; `None` for an unknown kind.
    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `apiVersion: powerplane/v1`; any other version is refused with the one supported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum ApiVersion {
    /// The first and only version.
    #[serde(rename = "powerplane/v1")]
    V1,
}

/// Free-form labels, matched by placement selectors.
pub type Labels = BTreeMap<String, String>;

/// `metadata:` of a document: its name (unique per kind) and labels.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "{N}Metadata")]
pub struct Metadata<N> {
    /// The object's name, unique among objects of its kind.
    pub name: N,
    /// Labels, e.g. `{app: sap}`; frames' labels are what `placement.selector` matches.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: Labels,
}

/// One YAML document: `apiVersion`, `kind`, `metadata`, `spec`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct Document<N, S> {
    pub api_version: ApiVersion,
    pub kind: String,
    pub metadata: Metadata<N>,
    /// Omitted only for kinds whose spec has defaults (`Frame`); the loader reports the rest.
    /// (A missing `Option` field is `None` without `#[serde(default)]`, which would demand
    /// `S: Default`.)
    pub spec: Option<S>,
}

/// Desired or observed run state of a VIOS or partition.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    /// Activated (HMC state `Running`).
    #[default]
    Running,
    /// Shut down (HMC state `Not Activated`).
    Stopped,
}

impl fmt::Display for RunState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RunState::Running => "running",
            RunState::Stopped => "stopped",
        })
    }
}
