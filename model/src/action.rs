//! Actions: the steps of a plan, each one change a backend makes, with the HMC/VIOS command an
//! operator would type for it (see `hmc_command`).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::console::{RedundancyOption, RemoteHmc};
use crate::plan::capacity::Claims;

use crate::manifest::{Hook, HookPoint, Kind, PartitionSpec, StorageVia, TrunkSpec};
use crate::names::{
    ClusterName, DeviceName, FrameName, Lun, PartitionName, ProcPoolId, ProcPoolName, ProfileName, ViosName,
};
use crate::status::SeaHaMode;
use crate::storage::ClientAdapter;
use crate::units::{MemoryMb, ProcUnits};

/// An action's id within its plan, e.g. `a7`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct ActionId(pub String);

impl fmt::Display for ActionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! action_kinds {
    ($($(#[$doc:meta])* $kind:ident,)*) => {
        /// The kinds of action (DESIGN §4); stable names used in JSON plans and `sim fail-next`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
        pub enum ActionKind {
            $($(#[$doc])* $kind,)*
        }

        impl ActionKind {
            /// Every kind.
            pub const ALL: &'static [ActionKind] = &[$(ActionKind::$kind,)*];

            /// The kind's name, e.g. `MigratePartition`.
            pub fn as_str(self) -> &'static str {
                match self { $(ActionKind::$kind => stringify!($kind),)* }
            }
        }
    };
}

action_kinds! {
    /// Configure a shared processor pool.
    CreateSharedProcessorPool,
    /// Change a shared processor pool's limits.
    UpdateSharedProcessorPool,
    /// Unconfigure a shared processor pool no partition uses: its maximum and reserve back to
    /// 0, its name back to `SharedPoolNN` (pools 1-63 always exist; none is deleted).
    RemoveSharedProcessorPool,
    /// Create the frame's shared memory pool.
    CreateSharedMemoryPool,
    /// Change the shared memory pool's memory.
    UpdateSharedMemoryPool,
    /// Add a paging device to the pool.
    AddPagingDevice,
    /// Remove a paging device from the pool.
    RemovePagingDevice,
    /// Activate a VIOS.
    StartVios,
    /// Shut a VIOS down.
    StopVios,
    /// Create the SEA on one VIOS.
    CreateSea,
    /// Set one SEA's `ha_mode`.
    SetSeaHaMode,
    /// Remove the SEA from one VIOS.
    RemoveSea,
    /// Add a trunk (virtual ethernet) adapter to a running VIOS by DLPAR.
    AddTrunkAdapter,
    /// Configure new devices on a VIOS (`cfgdev`), which names a DLPAR-added adapter `entN`.
    ConfigureDevices,
    /// Save a VIOS's current configuration over its profile, so that a DLPAR change survives
    /// its next activation.
    SaveProfile,
    /// Set the trunk adapters one SEA bridges (`chdev -attr virt_adapters=`).
    SetSeaAdapters,
    /// Add a virtual SCSI or virtual fibre channel server adapter for a client partition to a
    /// running VIOS by DLPAR (`chhwres -r virtualio --rsubtype scsi|fc -o a -s SLOT`).
    AddServerAdapter,
    /// Remove a client's server adapter from a running VIOS by DLPAR (`chhwres … -o r -s SLOT`),
    /// once nothing is mapped to it.
    RemoveServerAdapter,
    /// Map a disk to a client's virtual SCSI server adapter (`mkvdev -vdev hdiskN -vadapter
    /// vhostN`).
    MapDisk,
    /// Remove a disk's mapping (`rmvdev -vdev hdiskN`).
    UnmapDisk,
    /// Map a client's virtual fibre channel server adapter to a physical port (`vfcmap
    /// -vadapter vfchostN -fcp fcsN`).
    MapNpiv,
    /// Unmap a virtual fibre channel server adapter from its port (`vfcmap -vadapter vfchostN
    /// -fcp`).
    UnmapNpiv,
    /// Lift a SCSI reserve on a VIOS's disk before a move to its frame (`chdev -dev hdiskN
    /// -attr reserve_policy=no_reserve`), the seed's remedy for HSCLA356.
    SetDiskNoReserve,
    /// Create a partition.
    CreatePartition,
    /// Change a running partition's memory or processors (DLPAR) or a stopped one's profile.
    UpdatePartition,
    /// Activate a partition.
    StartPartition,
    /// Shut a partition down.
    StopPartition,
    /// Delete a partition.
    DeletePartition,
    /// Switch a partition's current paging VIOS to the other one.
    SwitchPagingVios,
    /// Check that a migration would succeed (`migrlpar -o v`).
    ValidateMigration,
    /// Migrate a partition (`migrlpar -o m`).
    MigratePartition,
    /// Recover a migration that failed part-way (`migrlpar -o r`): the partition is back on
    /// its source frame, the target's reservation is released.
    RecoverMigration,
    /// Raise LLT's peer inactive timeout on one VCS node before a member migrates
    /// (`lltconfig -T peerinact:N`, on the node).
    RaisePeerInactive,
    /// Set LLT's peer inactive timeout on one VCS node back to its configured value after the
    /// migration, whether it succeeded or not.
    RestorePeerInactive,
    /// Stop PowerHA cluster services on the migrating node, leaving its resource groups
    /// unmanaged (`clmgr stop node N MANAGE=unmanage`, on the node).
    UnmanageClusterNode,
    /// Start PowerHA cluster services on the node again, managing its resource groups
    /// (`clmgr start node N MANAGE=auto`).
    ManageClusterNode,
    /// Put the migrating Pacemaker node into maintenance mode (`pcs node maintenance N`).
    EnterNodeMaintenance,
    /// Take the Pacemaker node out of maintenance mode (`pcs node unmaintenance N`).
    LeaveNodeMaintenance,
    /// Rename an inactive LPAR that holds a partition's name on another frame (a VCS profile
    /// copy), so that a migration there validates, or rename it back when the move is no
    /// longer wanted (`chsyscfg -r lpar -m F -i "name=X,new_name=Y"`; [`crate::profile_copy`]).
    RenameProfileCopy,
    /// Recreate a migrated partition's inactive profile copy on the frame it left, from its
    /// profile as observed before the move: VCS needs one on every frame of the resource's
    /// system list (`mksyscfg -r lpar`, never activated, no VIOS-side storage).
    RestoreProfileCopy,
    /// Remove the renamed profile copy from the frame the partition moved to
    /// (`rmsyscfg -r lpar -m F -n Y`).
    RemoveProfileCopy,
    /// Run a site hook (`preMigrate`, `postMigrate`, `onFailure`) on the controller's machine.
    RunHook,
}

impl ActionKind {
    /// Parses a kind name (exact, as in JSON plans).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for ActionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `--redundantpgvios`: what a migrated shared-memory partition gets on the target (`None` in
/// an op: not a shared-memory partition, the option is not given).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub enum RedundantPgVios {
    /// `0`: non-redundant.
    NonRedundant,
    /// `1`: redundant, or fail.
    Required,
    /// `2`: redundant if possible.
    IfPossible,
}

impl RedundantPgVios {
    /// The option's value.
    pub fn flag(self) -> u8 {
        match self {
            RedundantPgVios::NonRedundant => 0,
            RedundantPgVios::Required => 1,
            RedundantPgVios::IfPossible => 2,
        }
    }
}

/// `migrlpar --mpio`: whether the destination must keep the partition's multipath I/O through
/// two Virtual I/O Servers. IBM's `migrlpar` man pages (POWER7-POWER9 HMCs): `[--mpio {1 | 2}]`;
/// IBM's REST `Migrate_LogicalPartition` job calls it `MultipathIOOverride`. The seed: "Use
/// --mpio 2 with the migrlpar command. By using this, we may lose dual VIOS setup for MPIO
/// disks. Generally this is not a recommended solution by PowerVM." (powervm-quickstart...,
/// line 1782, the answer to HSCLA340).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub enum Mpio {
    /// `1`: keep the multipath configuration, or fail (HSCLA340).
    Required,
    /// `2`: keep it if possible, else go through one VIOS.
    IfPossible,
}

impl Mpio {
    /// The option's value.
    pub fn flag(self) -> u8 {
        match self {
            Mpio::Required => 1,
            Mpio::IfPossible => 2,
        }
    }
}

/// The mover service partitions an active migration uses: `migrlpar -i
/// "source_msp_name=...,dest_msp_name=..."`. Without a choice the HMC picks a pair.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MspPair {
    /// The source frame's MSP.
    pub source: ViosName,
    /// The destination frame's MSP.
    pub dest: ViosName,
}

/// A DLPAR or profile change of a partition; `None` leaves a value alone.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PartitionChange {
    /// Memory: (from, to).
    pub memory: Option<(MemoryMb, MemoryMb)>,
    /// Processing units: (from, to).
    pub units: Option<(ProcUnits, ProcUnits)>,
    /// Virtual processors: (from, to).
    pub r#virtual: Option<(u32, u32)>,
    /// The paging VIOS the profile names afterwards, (primary, secondary): a redundant
    /// shared-memory partition whose primary changes. Only its profile changes (`chsyscfg`):
    /// "the partition needs to be reactivated to pick up the changes", and the paging VIOS of
    /// a running one is switched meanwhile with `chhwres -o so` (seeds: ams-dual-vios-and-lpm.txt,
    /// lines 48-52), which the paging failback plans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paging_vios: Option<(ViosName, ViosName)>,
    /// How the change reaches the partition: DLPAR while it runs (and its profile alongside),
    /// its profile while it is stopped.
    #[serde(default)]
    pub method: ChangeMethod,
}

/// How a partition's memory or processors are changed.
///
/// A DLPAR change (`chhwres`) changes what the running partition has, never its profile: an
/// activation from the profile (a shutdown and start, a restart after a frame's power loss)
/// would undo it. IBM, "Managing processor resources dynamically" (POWER9 documentation,
/// `p9hat_dlparprocpowerp6.htm`): a change made dynamically is temporary and not reflected in
/// the partition profile, lost at the profile's next activation, unless one changes the profile
/// or saves the configuration to a profile. So powerplane changes the profile **alongside**
/// (`chsyscfg -r prof -i "name=PROFILE,lpar_name=…,desired_…"`, before the `chhwres`) rather
/// than saving the current configuration over it (`mksyscfg -r prof -o save`, or the
/// partition's `sync_curr_profile`): a save copies everything the partition has now, which on
/// a partition the HMC activated below its desired values (a frame short of them) would write
/// the reduced values into the profile as desired; the alongside change writes exactly the
/// values the manifest asks for and nothing else. Profile first, so that a DLPAR that fails
/// leaves a running partition the next plan still sees to be changed (and changes the profile
/// again, to the same values); the other order would leave a changed partition with a stale
/// profile that no plan sees.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ChangeMethod {
    /// Dynamic LPAR on the running partition, over RMC, with the same desired values written
    /// into the profile it runs with first (`chsyscfg -r prof …; chhwres -o a|r …`), so that
    /// its next activation keeps them.
    #[default]
    Dlpar,
    /// The partition's profile (`chsyscfg -r prof`), which its next activation uses: DLPAR
    /// needs a running partition.
    Profile,
    /// DLPAR alone (`chhwres -o a|r`), the profile left as it is: what a bare `chhwres` typed
    /// at an HMC does (the emulator reads one as this). powerplane never plans it: the next
    /// activation would undo it.
    #[serde(rename = "dlpar-only")]
    DlparOnly,
}

/// Which of the HMC's partition shutdowns a stop uses (`chsysstate -r lpar -o … -n NAME`).
/// Sources: IBM's `chsysstate` man page (`-o osshutdown` "using the shutdown command on the
/// client operating system", `-o shutdown` "delayed ... (white button shut down)", `-o shutdown
/// --immed` "immediate ... (operator panel function 8)"; `--immed` with `osshutdown` is the
/// operating system's immediate shutdown); IBM/ansible-power-hmc
/// `module_utils/hmc_rest_client.py` `poweroffPartition` (OperatingSystem, OSImmediate,
/// Delayed, Immediate: `operation` `osshutdown`/`shutdown` with `immediate` false/true);
/// pypowervm `tasks/power.py` `PowerOp.stop` (the OS shutdowns need RMC, the others do not).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum ShutdownMethod {
    /// `-o osshutdown`: the operating system shuts itself down; needs RMC.
    #[default]
    Os,
    /// `-o osshutdown --immed`: the operating system's immediate shutdown; needs RMC.
    OsImmediate,
    /// `-o shutdown`: delayed, the firmware tells the operating system (no RMC needed).
    Delayed,
    /// `-o shutdown --immed`: the processors stop at once (no RMC needed; unwritten data is
    /// lost).
    Immediate,
}

impl ShutdownMethod {
    /// The `chsysstate` operation and flag: `osshutdown`, `osshutdown --immed`, `shutdown`,
    /// `shutdown --immed`.
    pub fn flags(self) -> &'static str {
        match self {
            ShutdownMethod::Os => "osshutdown",
            ShutdownMethod::OsImmediate => "osshutdown --immed",
            ShutdownMethod::Delayed => "shutdown",
            ShutdownMethod::Immediate => "shutdown --immed",
        }
    }

    /// Whether it is the default, the operating system's shutdown (which a plan need not
    /// write).
    pub fn is_os(&self) -> bool {
        *self == ShutdownMethod::Os
    }

    /// Whether the HMC needs an RMC connection to the partition for it.
    pub fn needs_rmc(self) -> bool {
        matches!(self, ShutdownMethod::Os | ShutdownMethod::OsImmediate)
    }
}

/// What an action does, with everything the backend needs to do it. (Field names follow the
/// HMC's: `frame` is `-m`, `partition`/`vios` is `-p`, `from`/`to` are `migrlpar -m`/`-t`.)
#[allow(missing_docs)]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "op", rename_all = "camelCase")]
pub enum Op {
    /// See [`ActionKind::CreateSharedProcessorPool`].
    CreateSharedProcessorPool {
        frame: FrameName,
        /// The unused pool (`SharedPoolNN`) it configures.
        pool_id: ProcPoolId,
        pool: ProcPoolName,
        max: ProcUnits,
        reserved: ProcUnits,
    },
    /// See [`ActionKind::UpdateSharedProcessorPool`].
    UpdateSharedProcessorPool {
        frame: FrameName,
        pool_id: ProcPoolId,
        pool: ProcPoolName,
        max: ProcUnits,
        reserved: ProcUnits,
    },
    /// See [`ActionKind::RemoveSharedProcessorPool`].
    RemoveSharedProcessorPool { frame: FrameName, pool_id: ProcPoolId, pool: ProcPoolName },
    /// See [`ActionKind::CreateSharedMemoryPool`].
    CreateSharedMemoryPool { frame: FrameName, pool_mem: MemoryMb, max_pool_mem: MemoryMb, paging_vios: Vec<ViosName> },
    /// See [`ActionKind::UpdateSharedMemoryPool`].
    UpdateSharedMemoryPool { frame: FrameName, pool_mem: MemoryMb, max_pool_mem: MemoryMb },
    /// See [`ActionKind::AddPagingDevice`].
    AddPagingDevice { frame: FrameName, vios: ViosName, device: DeviceName },
    /// See [`ActionKind::RemovePagingDevice`].
    RemovePagingDevice { frame: FrameName, vios: ViosName, device: DeviceName },
    /// See [`ActionKind::StartVios`]. `profile` is the profile it activates with (`-f`).
    StartVios {
        frame: FrameName,
        vios: ViosName,
        #[serde(default = "ProfileName::hmc_default")]
        profile: ProfileName,
    },
    /// See [`ActionKind::StopVios`].
    StopVios { frame: FrameName, vios: ViosName },
    /// See [`ActionKind::CreateSea`].
    CreateSea {
        frame: FrameName,
        vios: ViosName,
        real_adapter: DeviceName,
        trunks: Vec<TrunkSpec>,
        control_channel: Option<DeviceName>,
        ha_mode: SeaHaMode,
        /// Trunk priority on this VIOS: 1 primary, 2 backup.
        priority: u8,
    },
    /// See [`ActionKind::SetSeaHaMode`].
    SetSeaHaMode { frame: FrameName, vios: ViosName, device: DeviceName, mode: SeaHaMode },
    /// See [`ActionKind::RemoveSea`].
    RemoveSea { frame: FrameName, vios: ViosName, device: DeviceName },
    /// See [`ActionKind::AddTrunkAdapter`]. `trunk.adapter` is the name `cfgdev` will give it.
    AddTrunkAdapter {
        frame: FrameName,
        vios: ViosName,
        trunk: TrunkSpec,
        /// Trunk priority on this VIOS: 1 primary, 2 backup.
        priority: u8,
    },
    /// See [`ActionKind::ConfigureDevices`].
    ConfigureDevices { frame: FrameName, vios: ViosName },
    /// See [`ActionKind::SaveProfile`]. `profile` is the profile saved over (`-n`): the one the
    /// VIOS runs with.
    SaveProfile {
        frame: FrameName,
        vios: ViosName,
        #[serde(default = "ProfileName::hmc_default")]
        profile: ProfileName,
    },
    /// See [`ActionKind::SetSeaAdapters`]: every trunk the SEA bridges afterwards, in
    /// `virt_adapters` order.
    SetSeaAdapters { frame: FrameName, vios: ViosName, device: DeviceName, trunks: Vec<TrunkSpec> },
    /// See [`ActionKind::AddServerAdapter`]: in `slot` of `vios`, paired with the client's
    /// adapter in `client_slot`. `device` is the name `cfgdev` will give it (`vhostN`,
    /// `vfchostN`), which later mappings name.
    AddServerAdapter {
        frame: FrameName,
        vios: ViosName,
        via: StorageVia,
        slot: u16,
        client: PartitionName,
        client_slot: u16,
        device: DeviceName,
    },
    /// See [`ActionKind::RemoveServerAdapter`].
    RemoveServerAdapter { frame: FrameName, vios: ViosName, via: StorageVia, slot: u16, client: PartitionName },
    /// See [`ActionKind::MapDisk`]: `disk` is the VIOS's name for `lun`.
    MapDisk { frame: FrameName, vios: ViosName, disk: DeviceName, lun: Lun, adapter: DeviceName, client: PartitionName },
    /// See [`ActionKind::UnmapDisk`].
    UnmapDisk { frame: FrameName, vios: ViosName, disk: DeviceName, lun: Lun, client: PartitionName },
    /// See [`ActionKind::MapNpiv`].
    MapNpiv { frame: FrameName, vios: ViosName, adapter: DeviceName, port: DeviceName, client: PartitionName },
    /// See [`ActionKind::UnmapNpiv`].
    UnmapNpiv { frame: FrameName, vios: ViosName, adapter: DeviceName, client: PartitionName },
    /// See [`ActionKind::SetDiskNoReserve`]: `disk` is `vios`'s name for `lun`.
    SetDiskNoReserve { frame: FrameName, vios: ViosName, disk: DeviceName, lun: Lun },
    /// See [`ActionKind::CreatePartition`]. `profile` is the name of the profile it is created
    /// with (`profile_name=`): powerplane plans [`ProfileName::hmc_default`].
    CreatePartition {
        frame: FrameName,
        partition: PartitionName,
        spec: Box<PartitionSpec>,
        paging_vios: Vec<ViosName>,
        #[serde(default = "ProfileName::hmc_default")]
        profile: ProfileName,
        /// Its storage client adapters (`virtual_scsi_adapters`, `virtual_fc_adapters`), each
        /// paired with a server adapter a later [`Op::AddServerAdapter`] adds.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        adapters: Vec<ClientAdapter>,
    },
    /// See [`ActionKind::UpdatePartition`]. `profile` is the profile changed (`name=`): the one
    /// it runs with, or, stopped, activates with (unused by [`ChangeMethod::DlparOnly`]).
    UpdatePartition {
        frame: FrameName,
        partition: PartitionName,
        #[serde(default = "ProfileName::hmc_default")]
        profile: ProfileName,
        change: PartitionChange,
    },
    /// See [`ActionKind::StartPartition`]. `profile` is the profile it activates with (`-f`).
    /// `force` activates a redundant shared-memory partition without a common paging device
    /// (then it has no failover).
    StartPartition {
        frame: FrameName,
        partition: PartitionName,
        #[serde(default = "ProfileName::hmc_default")]
        profile: ProfileName,
        force: bool,
    },
    /// See [`ActionKind::StopPartition`]. `how` is the shutdown the HMC runs (the operating
    /// system's, the default, needs RMC; see [`ShutdownMethod`]).
    StopPartition {
        frame: FrameName,
        partition: PartitionName,
        #[serde(default, skip_serializing_if = "ShutdownMethod::is_os")]
        how: ShutdownMethod,
    },
    /// See [`ActionKind::DeletePartition`].
    DeletePartition { frame: FrameName, partition: PartitionName },
    /// See [`ActionKind::SwitchPagingVios`].
    SwitchPagingVios { frame: FrameName, partition: PartitionName },
    /// See [`ActionKind::ValidateMigration`].
    ValidateMigration {
        partition: PartitionName,
        from: FrameName,
        to: FrameName,
        redundant: Option<RedundantPgVios>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        msp: Option<MspPair>,
        /// `--ip`/`-u`: the destination frame's HMC, when another HMC than the source's
        /// manages it ([`crate::console`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        remote: Option<RemoteHmc>,
        /// `--mpio`, when given.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mpio: Option<Mpio>,
        /// How the source frame's HMC spells the redundancy option (its version).
        #[serde(default, skip_serializing_if = "RedundancyOption::is_default")]
        spelling: RedundancyOption,
    },
    /// See [`ActionKind::MigratePartition`].
    MigratePartition {
        partition: PartitionName,
        from: FrameName,
        to: FrameName,
        redundant: Option<RedundantPgVios>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        msp: Option<MspPair>,
        /// `--ip`/`-u`: the destination frame's HMC, when another HMC than the source's
        /// manages it ([`crate::console`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        remote: Option<RemoteHmc>,
        /// `--mpio`, when given.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mpio: Option<Mpio>,
        /// How the source frame's HMC spells the redundancy option (its version).
        #[serde(default, skip_serializing_if = "RedundancyOption::is_default")]
        spelling: RedundancyOption,
    },
    /// See [`ActionKind::RecoverMigration`]. `frame` is the source (`-m`), `to` the frame the
    /// failed migration reserved resources on.
    RecoverMigration {
        frame: FrameName,
        partition: PartitionName,
        to: FrameName,
        /// `--ip`/`-u` when another HMC manages `to` (IBM's `migrlpar` man page: "A recover
        /// operation should be issued, if possible, on the management console that is managing
        /// the source managed system").
        #[serde(default, skip_serializing_if = "Option::is_none")]
        remote: Option<RemoteHmc>,
    },
    /// See [`ActionKind::RaisePeerInactive`]. `frame` is where the node runs then.
    RaisePeerInactive { cluster: ClusterName, node: PartitionName, frame: FrameName, centiseconds: u32 },
    /// See [`ActionKind::RestorePeerInactive`].
    RestorePeerInactive { cluster: ClusterName, node: PartitionName, frame: FrameName, centiseconds: u32 },
    /// See [`ActionKind::UnmanageClusterNode`].
    UnmanageClusterNode { cluster: ClusterName, node: PartitionName, frame: FrameName },
    /// See [`ActionKind::ManageClusterNode`].
    ManageClusterNode { cluster: ClusterName, node: PartitionName, frame: FrameName },
    /// See [`ActionKind::EnterNodeMaintenance`].
    EnterNodeMaintenance { cluster: ClusterName, node: PartitionName, frame: FrameName },
    /// See [`ActionKind::LeaveNodeMaintenance`].
    LeaveNodeMaintenance { cluster: ClusterName, node: PartitionName, frame: FrameName },
    /// See [`ActionKind::RenameProfileCopy`]: the inactive LPAR `name` of `frame` becomes
    /// `new_name`.
    RenameProfileCopy { frame: FrameName, name: PartitionName, new_name: PartitionName },
    /// See [`ActionKind::RestoreProfileCopy`]: `partition`'s inactive copy on `frame`, with
    /// profile `profile` holding `spec` (its paging VIOS `paging_vios`, for shared memory).
    RestoreProfileCopy {
        frame: FrameName,
        partition: PartitionName,
        spec: Box<PartitionSpec>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        paging_vios: Vec<ViosName>,
        profile: ProfileName,
    },
    /// See [`ActionKind::RemoveProfileCopy`]: the inactive LPAR `name` of `frame` is removed.
    RemoveProfileCopy { frame: FrameName, name: PartitionName },
    /// See [`ActionKind::RunHook`]: `hook` runs at `point` of the move of `partition` from
    /// `from` to `to`; `cluster` says whose hook it is (the partition's own when `None`).
    RunHook {
        point: HookPoint,
        partition: PartitionName,
        from: FrameName,
        to: FrameName,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cluster: Option<ClusterName>,
        hook: Hook,
    },
}

/// Where an action's command runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunsOn<'a> {
    /// On the HMC (or the VIOS through it).
    Hmc,
    /// On a cluster node: the partition's own operating system.
    Node(&'a PartitionName),
    /// On the machine the controller runs on.
    Controller,
}

impl Op {
    /// The action kind.
    pub fn kind(&self) -> ActionKind {
        match self {
            Op::CreateSharedProcessorPool { .. } => ActionKind::CreateSharedProcessorPool,
            Op::UpdateSharedProcessorPool { .. } => ActionKind::UpdateSharedProcessorPool,
            Op::RemoveSharedProcessorPool { .. } => ActionKind::RemoveSharedProcessorPool,
            Op::CreateSharedMemoryPool { .. } => ActionKind::CreateSharedMemoryPool,
            Op::UpdateSharedMemoryPool { .. } => ActionKind::UpdateSharedMemoryPool,
            Op::AddPagingDevice { .. } => ActionKind::AddPagingDevice,
            Op::RemovePagingDevice { .. } => ActionKind::RemovePagingDevice,
            Op::StartVios { .. } => ActionKind::StartVios,
            Op::StopVios { .. } => ActionKind::StopVios,
            Op::CreateSea { .. } => ActionKind::CreateSea,
            Op::SetSeaHaMode { .. } => ActionKind::SetSeaHaMode,
            Op::RemoveSea { .. } => ActionKind::RemoveSea,
            Op::AddTrunkAdapter { .. } => ActionKind::AddTrunkAdapter,
            Op::ConfigureDevices { .. } => ActionKind::ConfigureDevices,
            Op::SaveProfile { .. } => ActionKind::SaveProfile,
            Op::SetSeaAdapters { .. } => ActionKind::SetSeaAdapters,
            Op::AddServerAdapter { .. } => ActionKind::AddServerAdapter,
            Op::RemoveServerAdapter { .. } => ActionKind::RemoveServerAdapter,
            Op::MapDisk { .. } => ActionKind::MapDisk,
            Op::UnmapDisk { .. } => ActionKind::UnmapDisk,
            Op::MapNpiv { .. } => ActionKind::MapNpiv,
            Op::UnmapNpiv { .. } => ActionKind::UnmapNpiv,
            Op::SetDiskNoReserve { .. } => ActionKind::SetDiskNoReserve,
            Op::CreatePartition { .. } => ActionKind::CreatePartition,
            Op::UpdatePartition { .. } => ActionKind::UpdatePartition,
            Op::StartPartition { .. } => ActionKind::StartPartition,
            Op::StopPartition { .. } => ActionKind::StopPartition,
            Op::DeletePartition { .. } => ActionKind::DeletePartition,
            Op::SwitchPagingVios { .. } => ActionKind::SwitchPagingVios,
            Op::ValidateMigration { .. } => ActionKind::ValidateMigration,
            Op::MigratePartition { .. } => ActionKind::MigratePartition,
            Op::RecoverMigration { .. } => ActionKind::RecoverMigration,
            Op::RaisePeerInactive { .. } => ActionKind::RaisePeerInactive,
            Op::RestorePeerInactive { .. } => ActionKind::RestorePeerInactive,
            Op::UnmanageClusterNode { .. } => ActionKind::UnmanageClusterNode,
            Op::ManageClusterNode { .. } => ActionKind::ManageClusterNode,
            Op::EnterNodeMaintenance { .. } => ActionKind::EnterNodeMaintenance,
            Op::LeaveNodeMaintenance { .. } => ActionKind::LeaveNodeMaintenance,
            Op::RenameProfileCopy { .. } => ActionKind::RenameProfileCopy,
            Op::RestoreProfileCopy { .. } => ActionKind::RestoreProfileCopy,
            Op::RemoveProfileCopy { .. } => ActionKind::RemoveProfileCopy,
            Op::RunHook { .. } => ActionKind::RunHook,
        }
    }

    /// Points a cluster node's command at the frame the node runs on now (a backend that
    /// reaches nodes through their frame looks them up first); other ops are left alone.
    pub fn set_node_frame(&mut self, to: FrameName) {
        if let Op::RaisePeerInactive { frame, .. }
        | Op::RestorePeerInactive { frame, .. }
        | Op::UnmanageClusterNode { frame, .. }
        | Op::ManageClusterNode { frame, .. }
        | Op::EnterNodeMaintenance { frame, .. }
        | Op::LeaveNodeMaintenance { frame, .. } = self
        {
            *frame = to;
        }
    }

    /// Where the action's command runs: most on the HMC, cluster commands on the node, hooks
    /// on the controller's machine.
    pub fn runs_on(&self) -> RunsOn<'_> {
        match self {
            Op::RaisePeerInactive { node, .. }
            | Op::RestorePeerInactive { node, .. }
            | Op::UnmanageClusterNode { node, .. }
            | Op::ManageClusterNode { node, .. }
            | Op::EnterNodeMaintenance { node, .. }
            | Op::LeaveNodeMaintenance { node, .. } => RunsOn::Node(node),
            Op::RunHook { .. } => RunsOn::Controller,
            _ => RunsOn::Hmc,
        }
    }

    /// The frames the action touches (source first for migrations).
    pub fn frames(&self) -> Vec<&FrameName> {
        match self {
            Op::ValidateMigration { from, to, .. }
            | Op::MigratePartition { from, to, .. }
            | Op::RecoverMigration { frame: from, to, .. } => {
                vec![from, to]
            }
            Op::CreateSharedProcessorPool { frame, .. }
            | Op::UpdateSharedProcessorPool { frame, .. }
            | Op::RemoveSharedProcessorPool { frame, .. }
            | Op::CreateSharedMemoryPool { frame, .. }
            | Op::UpdateSharedMemoryPool { frame, .. }
            | Op::AddPagingDevice { frame, .. }
            | Op::RemovePagingDevice { frame, .. }
            | Op::StartVios { frame, .. }
            | Op::StopVios { frame, .. }
            | Op::CreateSea { frame, .. }
            | Op::SetSeaHaMode { frame, .. }
            | Op::RemoveSea { frame, .. }
            | Op::AddTrunkAdapter { frame, .. }
            | Op::ConfigureDevices { frame, .. }
            | Op::SaveProfile { frame, .. }
            | Op::SetSeaAdapters { frame, .. }
            | Op::AddServerAdapter { frame, .. }
            | Op::RemoveServerAdapter { frame, .. }
            | Op::MapDisk { frame, .. }
            | Op::UnmapDisk { frame, .. }
            | Op::MapNpiv { frame, .. }
            | Op::UnmapNpiv { frame, .. }
            | Op::SetDiskNoReserve { frame, .. }
            | Op::CreatePartition { frame, .. }
            | Op::UpdatePartition { frame, .. }
            | Op::StartPartition { frame, .. }
            | Op::StopPartition { frame, .. }
            | Op::DeletePartition { frame, .. }
            | Op::SwitchPagingVios { frame, .. }
            | Op::RaisePeerInactive { frame, .. }
            | Op::RestorePeerInactive { frame, .. }
            | Op::UnmanageClusterNode { frame, .. }
            | Op::ManageClusterNode { frame, .. }
            | Op::EnterNodeMaintenance { frame, .. }
            | Op::LeaveNodeMaintenance { frame, .. }
            | Op::RenameProfileCopy { frame, .. }
            | Op::RestoreProfileCopy { frame, .. }
            | Op::RemoveProfileCopy { frame, .. } => vec![frame],
            // A hook runs on the controller's machine: it takes no frame's slot.
            Op::RunHook { .. } => Vec::new(),
        }
    }

    /// The object the action changes, as `Kind/name` (VIOS and SEA devices as
    /// `ViosPair/frame:vios`-style names are not manifest objects, so they use the frame).
    pub fn object(&self) -> String {
        match self {
            Op::CreateSharedProcessorPool { frame, pool, .. }
            | Op::UpdateSharedProcessorPool { frame, pool, .. }
            | Op::RemoveSharedProcessorPool { frame, pool, .. } => {
                format!("{}/{frame}:{pool}", Kind::SharedProcessorPool)
            }
            Op::CreateSharedMemoryPool { frame, .. }
            | Op::UpdateSharedMemoryPool { frame, .. }
            | Op::AddPagingDevice { frame, .. }
            | Op::RemovePagingDevice { frame, .. } => format!("{}/{frame}", Kind::SharedMemoryPool),
            Op::StartVios { frame, vios, .. }
            | Op::StopVios { frame, vios }
            | Op::AddTrunkAdapter { frame, vios, .. }
            | Op::ConfigureDevices { frame, vios }
            | Op::SaveProfile { frame, vios, .. }
            | Op::AddServerAdapter { frame, vios, .. }
            | Op::RemoveServerAdapter { frame, vios, .. }
            | Op::MapDisk { frame, vios, .. }
            | Op::UnmapDisk { frame, vios, .. }
            | Op::MapNpiv { frame, vios, .. }
            | Op::UnmapNpiv { frame, vios, .. }
            | Op::SetDiskNoReserve { frame, vios, .. } => {
                format!("Vios/{frame}:{vios}")
            }
            Op::CreateSea { frame, vios, .. }
            | Op::SetSeaHaMode { frame, vios, .. }
            | Op::SetSeaAdapters { frame, vios, .. }
            | Op::RemoveSea { frame, vios, .. } => {
                format!("{}/{frame}:{vios}", Kind::SharedEthernetAdapter)
            }
            Op::CreatePartition { partition, .. }
            | Op::UpdatePartition { partition, .. }
            | Op::StartPartition { partition, .. }
            | Op::StopPartition { partition, .. }
            | Op::DeletePartition { partition, .. }
            | Op::SwitchPagingVios { partition, .. }
            | Op::ValidateMigration { partition, .. }
            | Op::MigratePartition { partition, .. }
            | Op::RecoverMigration { partition, .. }
            | Op::RunHook { partition, .. } => format!("{}/{partition}", Kind::Partition),
            // The copy is named for the partition it copies, wherever it is.
            Op::RenameProfileCopy { frame, name, .. } | Op::RemoveProfileCopy { frame, name } => {
                format!("{}/{frame}:{name}", Kind::Partition)
            }
            Op::RestoreProfileCopy { frame, partition, .. } => format!("{}/{frame}:{partition}", Kind::Partition),
            Op::RaisePeerInactive { cluster, node, .. }
            | Op::RestorePeerInactive { cluster, node, .. }
            | Op::UnmanageClusterNode { cluster, node, .. }
            | Op::ManageClusterNode { cluster, node, .. }
            | Op::EnterNodeMaintenance { cluster, node, .. }
            | Op::LeaveNodeMaintenance { cluster, node, .. } => format!("{}/{cluster}:{node}", Kind::Cluster),
        }
    }

    /// The partition the action acts on (a cluster step's node included).
    pub fn partition(&self) -> Option<&PartitionName> {
        match self {
            Op::CreatePartition { partition, .. }
            | Op::UpdatePartition { partition, .. }
            | Op::StartPartition { partition, .. }
            | Op::StopPartition { partition, .. }
            | Op::DeletePartition { partition, .. }
            | Op::SwitchPagingVios { partition, .. }
            | Op::ValidateMigration { partition, .. }
            | Op::MigratePartition { partition, .. }
            | Op::RecoverMigration { partition, .. }
            | Op::RunHook { partition, .. } => Some(partition),
            Op::RaisePeerInactive { node, .. }
            | Op::RestorePeerInactive { node, .. }
            | Op::UnmanageClusterNode { node, .. }
            | Op::ManageClusterNode { node, .. }
            | Op::EnterNodeMaintenance { node, .. }
            | Op::LeaveNodeMaintenance { node, .. } => Some(node),
            _ => None,
        }
    }

    /// The cluster a cluster node step is for.
    pub fn cluster(&self) -> Option<&ClusterName> {
        match self {
            Op::RaisePeerInactive { cluster, .. }
            | Op::RestorePeerInactive { cluster, .. }
            | Op::UnmanageClusterNode { cluster, .. }
            | Op::ManageClusterNode { cluster, .. }
            | Op::EnterNodeMaintenance { cluster, .. }
            | Op::LeaveNodeMaintenance { cluster, .. } => Some(cluster),
            _ => None,
        }
    }

    /// The client partition a VIOS-side storage action is for (its server adapter or mapping).
    pub fn storage_client(&self) -> Option<&PartitionName> {
        match self {
            Op::AddServerAdapter { client, .. }
            | Op::RemoveServerAdapter { client, .. }
            | Op::MapDisk { client, .. }
            | Op::UnmapDisk { client, .. }
            | Op::MapNpiv { client, .. }
            | Op::UnmapNpiv { client, .. } => Some(client),
            _ => None,
        }
    }

    /// The VIOS the action names (a pool's or a new partition's paging VIOS included).
    pub fn vios(&self) -> Vec<&ViosName> {
        match self {
            Op::AddPagingDevice { vios, .. }
            | Op::RemovePagingDevice { vios, .. }
            | Op::StartVios { vios, .. }
            | Op::StopVios { vios, .. }
            | Op::CreateSea { vios, .. }
            | Op::SetSeaHaMode { vios, .. }
            | Op::RemoveSea { vios, .. }
            | Op::AddTrunkAdapter { vios, .. }
            | Op::ConfigureDevices { vios, .. }
            | Op::SaveProfile { vios, .. }
            | Op::SetSeaAdapters { vios, .. }
            | Op::AddServerAdapter { vios, .. }
            | Op::RemoveServerAdapter { vios, .. }
            | Op::MapDisk { vios, .. }
            | Op::UnmapDisk { vios, .. }
            | Op::MapNpiv { vios, .. }
            | Op::UnmapNpiv { vios, .. }
            | Op::SetDiskNoReserve { vios, .. } => vec![vios],
            Op::CreateSharedMemoryPool { paging_vios, .. } | Op::CreatePartition { paging_vios, .. } => {
                paging_vios.iter().collect()
            }
            _ => Vec::new(),
        }
    }

    /// The HMC/VIOS command an operator would type for this step.
    pub fn command(&self) -> String {
        crate::hmc_command::render(self)
    }
}

/// One step of a plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Action {
    /// Its id in the plan.
    pub id: ActionId,
    /// What it does.
    #[serde(flatten)]
    pub op: Op,
    /// Actions that must finish first.
    pub after: Vec<ActionId>,
    /// How the outcomes of `after` decide whether it runs: by default only when all
    /// succeeded.
    #[serde(default, skip_serializing_if = "When::is_default")]
    pub when: When,
    /// Which change or rule produced it.
    pub reason: String,
    /// The capacity it takes when it starts and gives back when it ends: the executor starts
    /// it only when what it takes is free.
    #[serde(default, skip_serializing_if = "Claims::is_empty")]
    pub claims: Claims,
}

/// When an action runs, given how the actions of its `after` ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum When {
    /// Only when every one succeeded; a failure skips it.
    #[default]
    Succeeded,
    /// Once every one has ended, however: clean-up that must follow an attempt whatever its
    /// outcome (a raised cluster timeout restored after a migration). It also runs while the
    /// controller drains, once they have ended.
    Ended,
    /// Once every one has ended and one of them did not succeed (failed, or skipped); when all
    /// succeeded it is not needed and does not run.
    Failed,
}

impl When {
    /// Whether this is the default, [`When::Succeeded`].
    pub fn is_default(&self) -> bool {
        *self == When::Succeeded
    }
}

impl Action {
    /// The action kind.
    pub fn kind(&self) -> ActionKind {
        self.op.kind()
    }
}
