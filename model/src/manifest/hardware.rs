//! `kind: FrameHardware`: the physical facts of a frame, from the backend (or, for the
//! simulator, from its inventory). Never part of the desired state.

use serde::{Deserialize, Serialize};

use super::CompatMode;
use crate::names::{DeviceName, Lun, ViosName};
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
