//! `kind: FrameHardware`: the physical facts of a frame, from the backend (or, for the
//! simulator, from its inventory). Never part of the desired state.

use serde::{Deserialize, Serialize};

use super::CompatMode;
use crate::names::{DeviceName, HmcAddress, HmcUser, Lun, PartitionName, ViosName};
use crate::units::{MemoryMb, ProcUnits};

/// What a frame physically is and has.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FrameHardwareSpec {
    /// Serial number, e.g. `100302P`.
    pub serial: String,
    /// Type-model, e.g. `8233-E8B`.
    pub machine_type: String,
    /// Installed memory usable by partitions.
    #[serde(rename = "memoryMB")]
    pub memory_mb: MemoryMb,
    /// Processing units (processors) usable by partitions.
    pub proc_units: ProcUnits,
    /// Processor compatibility modes the frame supports.
    pub compat_modes: Vec<CompatMode>,
    /// Running on battery (utility power lost): not a valid migration target.
    #[serde(default)]
    pub on_battery: bool,
    /// The VIOS partitions installed on the frame.
    #[serde(default)]
    pub vios: Vec<ViosHardwareSpec>,
    /// The HMC that manages the frame, for a simulator that models several (an inventory's
    /// fact; an HMC backend learns it from which `--hmc` lists the frame).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hmc: Option<HmcSpec>,
    /// Physical I/O slots the frame assigns to its client partitions (`io_slots` of their
    /// profiles): a partition with any cannot be migrated ([`crate::physical_io`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub io_slots: Vec<AssignedSlot>,
    /// Client partitions of other frames whose inactive same-name copy (their profile) this
    /// frame holds, as VCS keeps one on every frame of an LPAR resource's system list (a
    /// simulator inventory's fact; an HMC backend lists them as namesakes). seeds:
    /// infoscale-lpm-vcs.txt, lines 111-120.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub profile_copies: Vec<PartitionName>,
}

/// The HMC managing a frame, as a simulator's inventory describes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HmcSpec {
    /// Its address, as the other HMCs (and `migrlpar --ip`) reach it.
    pub address: HmcAddress,
    /// Its version as `lshmc -V` names it (`V10R3`, `V8R8.2.0`); `V10R3` when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub version: Option<crate::console::HmcVersion>,
    /// The user migrations from other HMCs name on it (`-u`); `hscroot` when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<HmcUser>,
    /// The HMCs on which this one's SSH key is authorized already (`mkauthkeys -g` was run
    /// there for their user).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authorized_on: Vec<HmcAddress>,
}

/// A physical I/O slot of a frame assigned to one of its partitions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AssignedSlot {
    /// The partition it is assigned to.
    pub partition: PartitionName,
    /// The slot's DRC index, e.g. `21010002`.
    pub drc_index: String,
    /// Required by the partition's profile.
    #[serde(default = "yes")]
    pub required: bool,
}

fn yes() -> bool {
    true
}

impl AssignedSlot {
    /// The slot as the partition's profile lists it.
    pub fn slot(&self) -> crate::physical_io::IoSlot {
        crate::physical_io::IoSlot { drc_index: self.drc_index.clone(), required: self.required }
    }
}

/// A VIOS partition's resources and devices.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ViosHardwareSpec {
    /// The VIOS partition's name.
    pub name: ViosName,
    /// Its (dedicated) memory.
    #[serde(rename = "memoryMB")]
    pub memory_mb: MemoryMb,
    /// Its processing units.
    pub proc_units: ProcUnits,
    /// Ethernet adapters it has, physical and virtual (`ent0`, ...).
    #[serde(default)]
    pub ethernet: Vec<DeviceName>,
    /// Disks it sees.
    #[serde(default)]
    pub disks: Vec<DiskSpec>,
    /// The mover service partition attribute: an active migration needs a VIOS with it set on
    /// the source and on the destination. FALSE by default, as on the HMC.
    // seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, line 2299: "a new
    // partition attribute, called the mover service partition ... By default, all Virtual I/O
    // Server partitions have this new partition attribute set to FALSE."
    #[serde(default)]
    pub msp: bool,
}

/// A disk as one VIOS sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DiskSpec {
    /// Device name on this VIOS, e.g. `hdisk17`.
    pub name: DeviceName,
    /// The SAN LUN behind it; the same LUN on two VIOS is the same disk.
    pub lun: Lun,
    /// Size.
    #[serde(rename = "sizeMB")]
    pub size_mb: MemoryMb,
    /// SCSI reserve policy; `no_reserve` is needed for common paging devices and LPM.
    #[serde(default)]
    pub reserve_policy: ReservePolicy,
}

/// The disk's `reserve_policy` attribute. The VIOS spells the persistent reserves `PR_shared`
/// and `PR_exclusive` (IBM's AIX/VIOS MPIO documentation; `tests/fixtures/hmc/vios/README.md`):
/// both spellings are read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReservePolicy {
    /// Shareable between VIOS.
    NoReserve,
    /// Reserved by one host.
    #[default]
    SinglePath,
    /// Persistent reserve, shared.
    #[serde(alias = "PR_shared")]
    PrShared,
    /// Persistent reserve, exclusive.
    #[serde(alias = "PR_exclusive")]
    PrExclusive,
}

impl ReservePolicy {
    /// Reads the attribute as the VIOS prints it; `None` for a value this version does not
    /// know.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "no_reserve" => Some(ReservePolicy::NoReserve),
            "single_path" => Some(ReservePolicy::SinglePath),
            "pr_shared" => Some(ReservePolicy::PrShared),
            "pr_exclusive" => Some(ReservePolicy::PrExclusive),
            _ => None,
        }
    }

    /// As the VIOS prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            ReservePolicy::NoReserve => "no_reserve",
            ReservePolicy::SinglePath => "single_path",
            ReservePolicy::PrShared => "PR_shared",
            ReservePolicy::PrExclusive => "PR_exclusive",
        }
    }
}
