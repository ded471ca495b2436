//! `kind: Partition`: a client LPAR, where it may run and what it is given.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{Labels, RunState};
use crate::names::{FrameName, Lun, ProcPoolName};
use crate::units::{MemoryMb, ProcUnits, VlanId};

/// A client partition's desired configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PartitionSpec {
    /// Which frames the partition may run on.
    pub placement: Placement,
    /// `running` or `stopped`.
    #[serde(default)]
    pub state: RunState,
    /// Processor configuration.
    pub processors: ProcessorsSpec,
    /// Memory configuration.
    pub memory: MemorySpec,
    /// Virtual ethernet: the VLANs the partition needs bridged on its frame.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub network: Vec<NetworkSpec>,
    /// SAN LUNs the partition uses through the VIOS. The first is its boot disk: mapped first
    /// on each VIOS (the client's first disk), and a partition activated without it mapped
    /// stops in its firmware's SMS menu.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub storage: Vec<StorageSpec>,
    /// Site commands run around this partition's migrations (after its cluster's, if any).
    #[serde(default, skip_serializing_if = "super::Hooks::is_empty")]
    pub hooks: super::Hooks,
    /// How powerplane may shut the partition down when the HMC has no RMC connection to it
    /// (`os`, the default: only through its operating system, so without RMC the stop waits).
    /// The controller's, like `hooks`: no HMC profile has it.
    #[serde(default, skip_serializing_if = "ShutdownPolicy::is_default")]
    pub shutdown: ShutdownPolicy,
}

/// How a partition may be shut down (`spec.shutdown`). IBM's HMC offers four shutdowns
/// (`chsysstate -r lpar -o osshutdown|shutdown [--immed]`, IBM's `chsysstate` man page;
/// IBM/ansible-power-hmc `powervm_lpar_instance.py` `shutdown_option: Delayed | Immediate |
/// OperatingSystem | OSImmediate`): the operating system's own shutdown, which the HMC sends
/// over RMC (pypowervm `tasks/power.py`: "For non-IBMi partitions, RMC must be active"; the HMC
/// refuses it with HSCL0DB4 otherwise), and two that the firmware carries out without RMC: the
/// *delayed* one (the white button: the operating system is told and shuts itself down) and the
/// *immediate* one (operator panel function 8: the processors stop at once, pending I/O is lost).
/// pypowervm's `power_off` falls back from the first to the others when RMC is missing; a
/// manifest says here whether powerplane may.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum ShutdownPolicy {
    /// Only the operating system's shutdown (`-o osshutdown`): without RMC the stop waits,
    /// deferred with the reason, until RMC is back.
    #[default]
    Os,
    /// The operating system's shutdown; without RMC the delayed shutdown (`-o shutdown`).
    OsThenDelayed,
    /// The operating system's shutdown; without RMC the immediate one (`-o shutdown --immed`),
    /// which may lose data the partition has not written.
    OsThenImmediate,
    /// Always the immediate shutdown (`-o shutdown --immed`): for partitions whose loss of
    /// unwritten data does not matter (test, scratch).
    Immediate,
}

impl ShutdownPolicy {
    /// Whether it is the default (`os`), which a manifest need not write.
    pub fn is_default(&self) -> bool {
        *self == ShutdownPolicy::Os
    }

    /// How to shut the partition down now: with `rmc`, an active RMC connection to it. `None`:
    /// not allowed without RMC (the stop waits).
    pub fn method(self, rmc: bool) -> Option<crate::action::ShutdownMethod> {
        use crate::action::ShutdownMethod as M;
        match (self, rmc) {
            (ShutdownPolicy::Immediate, _) => Some(M::Immediate),
            (_, true) => Some(M::Os),
            (ShutdownPolicy::Os, false) => None,
            (ShutdownPolicy::OsThenDelayed, false) => Some(M::Delayed),
            (ShutdownPolicy::OsThenImmediate, false) => Some(M::Immediate),
        }
    }
}

impl fmt::Display for ShutdownPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ShutdownPolicy::Os => "os",
            ShutdownPolicy::OsThenDelayed => "osThenDelayed",
            ShutdownPolicy::OsThenImmediate => "osThenImmediate",
            ShutdownPolicy::Immediate => "immediate",
        })
    }
}

/// Where a partition may run. Exactly one of `frame`, `anyOf`, `selector`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(try_from = "PlacementSpec", into = "PlacementSpec")]
pub enum Placement {
    /// Pinned to one frame.
    Frame(FrameName),
    /// Any of these frames; the partition stays where it is while that is allowed.
    AnyOf(Vec<FrameName>),
    /// Any frame whose labels include all of these.
    Selector(Selector),
}

impl Placement {
    /// Whether `frame` (with `labels`) is allowed by this placement.
    pub fn allows(&self, frame: &FrameName, labels: &Labels) -> bool {
        match self {
            Placement::Frame(f) => f == frame,
            Placement::AnyOf(fs) => fs.contains(frame),
            Placement::Selector(sel) => sel.matches(labels),
        }
    }
}

/// The manifest form of [`Placement`], as written in YAML.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PlacementSpec {
    /// Pin to this frame.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame: Option<FrameName>,
    /// Allow any of these frames.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub any_of: Option<Vec<FrameName>>,
    /// Allow frames whose labels match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<Selector>,
}

impl TryFrom<PlacementSpec> for Placement {
    type Error = String;
    fn try_from(p: PlacementSpec) -> Result<Self, String> {
        match (p.frame, p.any_of, p.selector) {
            (Some(f), None, None) => Ok(Placement::Frame(f)),
            (None, Some(fs), None) if fs.is_empty() => {
                Err("placement.anyOf is empty; list at least one frame".to_owned())
            }
            (None, Some(fs), None) => Ok(Placement::AnyOf(fs)),
            (None, None, Some(s)) if s.labels.is_empty() => {
                Err("placement.selector.labels is empty, which would match every frame; name at least one label"
                    .to_owned())
            }
            (None, None, Some(s)) => Ok(Placement::Selector(s)),
            _ => Err("placement needs exactly one of `frame`, `anyOf` or `selector`".to_owned()),
        }
    }
}

impl From<Placement> for PlacementSpec {
    fn from(p: Placement) -> Self {
        match p {
            Placement::Frame(f) => PlacementSpec { frame: Some(f), ..Default::default() },
            Placement::AnyOf(fs) => PlacementSpec { any_of: Some(fs), ..Default::default() },
            Placement::Selector(s) => PlacementSpec { selector: Some(s), ..Default::default() },
        }
    }
}

/// A label selector over frames' labels.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Selector {
    /// Every one of these labels must be on the frame with this value.
    pub labels: Labels,
}

impl Selector {
    /// Whether a frame with `labels` matches.
    pub fn matches(&self, labels: &Labels) -> bool {
        self.labels.iter().all(|(k, v)| labels.get(k) == Some(v))
    }
}

/// Processor configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ProcessorsSpec {
    /// `shared` (micro-partition) or `dedicated` (whole processors).
    #[serde(default)]
    pub mode: ProcMode,
    /// Shared processor pool (`poolName`); omitted means the frame's `DefaultPool`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<ProcPoolName>,
    /// Entitled processing units (shared) or number of processors (dedicated).
    pub units: ProcUnits,
    /// Virtual processors (shared mode); defaults to the units rounded up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#virtual: Option<u32>,
    /// Processor compatibility mode; the target frame must support it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compat: Option<CompatMode>,
    /// Minimum entitlement (`min_proc_units`), or processors when dedicated (`min_procs`): the
    /// least the partition starts with when its frame is short of `units`. Default: 0.10 per
    /// minimum virtual processor (shared), one processor (dedicated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_units: Option<ProcUnits>,
    /// Maximum entitlement (`max_proc_units`), or processors when dedicated (`max_procs`): the
    /// most DLPAR can add. Default: one processor per maximum virtual processor (shared),
    /// `units` (dedicated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_units: Option<ProcUnits>,
    /// Minimum virtual processors (`min_procs`, shared); default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_virtual: Option<u32>,
    /// Maximum virtual processors (`max_procs`, shared); default the desired number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_virtual: Option<u32>,
    /// `uncapped` (the default: may use idle pool capacity up to its virtual processors) or
    /// `capped` (never beyond its entitlement); shared only (`sharing_mode`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub sharing: Sharing,
    /// The uncapped weight (`uncap_weight`), 0–255, default 128: an uncapped partition's share
    /// of contended pool capacity; 0 behaves as capped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<u8>,
}

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// Whether a micro-partition may use more than its entitlement.
// seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, line 90: "An uncapped
// partition can only consume up to the number of virtual processors that it has ... A capped
// partition can only consume up to its entitled CPU value."
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Sharing {
    /// `sharing_mode=uncap`.
    #[default]
    Uncapped,
    /// `sharing_mode=cap`.
    Capped,
}

/// The uncapped weight a partition gets when none is given.
// seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, line 99: "The uncapped
// weight is a value from 0 to 255 ... The default priority for this value is 128."
pub const DEFAULT_UNCAPPED_WEIGHT: u8 = 128;

/// The least entitlement each virtual processor needs, in hundredths of a processor.
// seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt line 90, "Allocations are
// in increments of 1/100th of a CPU, the minimal allocation is 1/10th of a CPU for each virtual
// CPU".
pub const MIN_HUNDREDTHS_PER_VIRTUAL_PROCESSOR: u32 = 10;

impl ProcessorsSpec {
    /// The pool this partition draws from, `DefaultPool` when none is named.
    pub fn pool_or_default(&self) -> ProcPoolName {
        self.pool.clone().unwrap_or_else(ProcPoolName::default_pool)
    }

    /// The same profile with every limit that equals its default left out: the minimum and
    /// maximum entitlement and virtual processors, the pool and the uncapped weight. A profile
    /// read back from an HMC (every value listed) and a manifest (defaults left out) then
    /// compare equal when they are the same profile.
    pub fn with_defaults_elided(&self) -> ProcessorsSpec {
        let mut p = self.clone();
        let vp = self.virtual_processors();
        let default_min_u = |min_vp: u32| match self.mode {
            ProcMode::Shared => {
                ProcUnits::from_hundredths((min_vp * MIN_HUNDREDTHS_PER_VIRTUAL_PROCESSOR).min(self.units.hundredths()))
            }
            ProcMode::Dedicated => ProcUnits::whole(1).min(self.units),
        };
        let (min_vp, _, max_vp) = self.virtual_range();
        let default_max_u = match self.mode {
            ProcMode::Shared => ProcUnits::whole(max_vp).max(self.units),
            ProcMode::Dedicated => self.units,
        };
        if p.min_units == Some(default_min_u(min_vp)) {
            p.min_units = None;
        }
        if p.max_units == Some(default_max_u) {
            p.max_units = None;
        }
        if p.min_virtual == Some(1.min(vp)) {
            p.min_virtual = None;
        }
        if p.max_virtual == Some(vp) {
            p.max_virtual = None;
        }
        if p.pool.as_ref().is_some_and(|n| *n == ProcPoolName::default_pool()) {
            p.pool = None;
        }
        if p.weight == Some(DEFAULT_UNCAPPED_WEIGHT) {
            p.weight = None;
        }
        p
    }

    /// Virtual processors of a shared partition: as given, else the units rounded up.
    pub fn virtual_processors(&self) -> u32 {
        self.r#virtual.unwrap_or_else(|| self.units.hundredths().div_ceil(100).max(1))
    }

    /// The profile's minimum, desired and maximum virtual processors (shared).
    pub fn virtual_range(&self) -> (u32, u32, u32) {
        let vp = self.virtual_processors();
        (self.min_virtual.unwrap_or(1).min(vp), vp, self.max_virtual.unwrap_or(vp).max(vp))
    }

    /// The profile's minimum, desired and maximum entitlement (shared: processing units) or
    /// processors (dedicated, in whole units).
    pub fn units_range(&self) -> (ProcUnits, ProcUnits, ProcUnits) {
        let units = self.units;
        match self.mode {
            ProcMode::Shared => {
                let (min_vp, _, max_vp) = self.virtual_range();
                let min = self.min_units.unwrap_or_else(|| {
                    ProcUnits::from_hundredths((min_vp * MIN_HUNDREDTHS_PER_VIRTUAL_PROCESSOR).min(units.hundredths()))
                });
                let max = self.max_units.unwrap_or_else(|| ProcUnits::whole(max_vp).max(units));
                (min, units, max)
            }
            ProcMode::Dedicated => {
                (self.min_units.unwrap_or(ProcUnits::whole(1).min(units)), units, self.max_units.unwrap_or(units))
            }
        }
    }

    /// The uncapped weight: as given, else 128 (capped partitions have none).
    pub fn uncapped_weight(&self) -> u8 {
        self.weight.unwrap_or(DEFAULT_UNCAPPED_WEIGHT)
    }

    /// Whether a shared partition's virtual processors can carry its entitlement: each takes
    /// at least 0.10 processing units and at most one whole processor. `None` when they can (or
    /// the processors are dedicated); otherwise the range of virtual processors that would
    /// (empty when none would: fewer than 0.10 units in all).
    pub fn virtual_processors_out_of_range(&self) -> Option<std::ops::RangeInclusive<u32>> {
        if self.mode != ProcMode::Shared {
            return None;
        }
        let vp = self.virtual_processors();
        let units = self.units.hundredths();
        let fits = vp > 0 && units <= vp * 100 && units >= vp * MIN_HUNDREDTHS_PER_VIRTUAL_PROCESSOR;
        (!fits).then(|| units.div_ceil(100).max(1)..=units / MIN_HUNDREDTHS_PER_VIRTUAL_PROCESSOR)
    }
}

/// Processor sharing mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProcMode {
    /// Micro-partition drawing from a shared processor pool.
    #[default]
    Shared,
    /// Whole dedicated processors.
    Dedicated,
}

/// Processor compatibility mode (`lssyscfg -r sys -F lpar_proc_compat_modes`, a profile's
/// `lpar_proc_compat_mode`).
///
/// The HMC spells two of them in mixed case, `POWER6_Plus` and `POWER9_base` (IBM's
/// `lssyscfg` and `chsyscfg` man pages; pypowervm's `LPARCompat`, which also lists
/// `POWER6_Plus_Enhanced` and `POWER7_Plus`): that spelling is what powerplane reads, renders
/// and writes, and the upper-case spellings earlier versions wrote (`POWER6_PLUS`,
/// `POWER9_BASE`) are read as the same modes. A mode this version does not know is kept as
/// its text ([`CompatMode::Other`]): a frame listing it still observes, and a partition asking
/// for it is placed only where a frame lists the same text.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CompatMode {
    /// Whatever the frame runs natively.
    Default,
    /// POWER6.
    Power6,
    /// POWER6+ (`POWER6_Plus`).
    Power6Plus,
    /// POWER6+ enhanced (`POWER6_Plus_Enhanced`).
    Power6PlusEnhanced,
    /// POWER7.
    Power7,
    /// POWER7+ (`POWER7_Plus`).
    Power7Plus,
    /// POWER8.
    Power8,
    /// POWER9 base (`POWER9_base`).
    Power9Base,
    /// POWER9.
    Power9,
    /// Power10.
    Power10,
    /// Power11.
    Power11,
    /// A mode this version does not know, as the HMC or the manifest spelt it.
    Other(String),
}

impl CompatMode {
    /// The known modes with the HMC's spelling of each.
    const KNOWN: [(CompatMode, &'static str); 11] = [
        (CompatMode::Default, "default"),
        (CompatMode::Power6, "POWER6"),
        (CompatMode::Power6Plus, "POWER6_Plus"),
        (CompatMode::Power6PlusEnhanced, "POWER6_Plus_Enhanced"),
        (CompatMode::Power7, "POWER7"),
        (CompatMode::Power7Plus, "POWER7_Plus"),
        (CompatMode::Power8, "POWER8"),
        (CompatMode::Power9Base, "POWER9_base"),
        (CompatMode::Power9, "POWER9"),
        (CompatMode::Power10, "POWER10"),
        (CompatMode::Power11, "POWER11"),
    ];

    /// Reads a mode in any of its spellings; case is ignored, as the HMC's own spellings
    /// differ between versions. Never fails: an unknown mode is [`CompatMode::Other`].
    pub fn parse(text: &str) -> CompatMode {
        let t = text.trim();
        // IVM and older HMCs print `POWER6+` (tests/fixtures/hmc/README.md).
        let plus = t.strip_suffix('+').map(|base| format!("{base}_Plus"));
        let t = plus.as_deref().unwrap_or(t);
        Self::KNOWN
            .iter()
            .find(|(_, s)| s.eq_ignore_ascii_case(t))
            .map_or_else(|| CompatMode::Other(t.to_owned()), |(m, _)| m.clone())
    }

    /// The HMC's spelling.
    pub fn as_str(&self) -> &str {
        match self {
            CompatMode::Other(s) => s,
            known => Self::KNOWN.iter().find(|(m, _)| m == known).map_or("", |(_, s)| s),
        }
    }

    /// Whether this version knows the mode.
    pub fn is_known(&self) -> bool {
        !matches!(self, CompatMode::Other(_))
    }
}

impl fmt::Display for CompatMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for CompatMode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for CompatMode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s.trim().is_empty() {
            return Err(serde::de::Error::custom("a processor compatibility mode is empty"));
        }
        Ok(CompatMode::parse(&s))
    }
}

impl schemars::JsonSchema for CompatMode {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "CompatMode".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let known: Vec<&str> = Self::KNOWN.iter().map(|(_, s)| *s).collect();
        schemars::json_schema!({
            "type": "string",
            "description": "Processor compatibility mode, as the HMC spells it; case is ignored (POWER9_BASE is POWER9_base).",
            "examples": known,
        })
    }
}

/// Memory configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MemorySpec {
    /// `dedicated` or `shared` (Active Memory Sharing).
    #[serde(default)]
    pub mode: MemoryMode,
    /// Desired memory (`desired_mem`).
    #[serde(rename = "desiredMB")]
    pub desired_mb: MemoryMb,
    /// Maximum memory (`max_mem`); a shared-memory partition's paging device must be at least
    /// this large.
    #[serde(rename = "maxMB")]
    pub max_mb: MemoryMb,
    /// Minimum memory (`min_mem`): the least the partition starts with when its frame is short
    /// of `desiredMB`. Default: `desiredMB`, at most 1024 MB.
    #[serde(default, rename = "minMB", skip_serializing_if = "Option::is_none")]
    pub min_mb: Option<MemoryMb>,
    /// Paging VIOS redundancy, for `shared` mode only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paging: Option<PagingSpec>,
}

impl MemorySpec {
    /// The same profile with a minimum that equals its default left out (see
    /// [`ProcessorsSpec::with_defaults_elided`]).
    pub fn with_defaults_elided(&self) -> MemorySpec {
        let mut m = self.clone();
        if m.min_mb == Some(MemoryMb(self.desired_mb.0.min(1024))) {
            m.min_mb = None;
        }
        m
    }

    /// The profile's minimum memory.
    pub fn min_or_default(&self) -> MemoryMb {
        self.min_mb.unwrap_or(MemoryMb(self.desired_mb.0.min(1024)))
    }
}

/// Memory mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MemoryMode {
    /// Dedicated physical memory.
    #[default]
    Dedicated,
    /// Active Memory Sharing: memory from the frame's shared memory pool, backed by a paging
    /// device.
    Shared,
}

/// Paging VIOS choice of a shared-memory partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PagingSpec {
    /// Whether redundant paging VIOS are `required`, `preferred` or not wanted (`none`).
    #[serde(default = "Redundancy::default_for_shared")]
    pub redundancy: Redundancy,
    /// Which of the pool's `pagingVios` is primary: 1 or 2. An index, not a name, so it survives
    /// a migration to a frame whose VIOS have other names.
    #[serde(default)]
    pub primary: PagingIndex,
}

impl Default for PagingSpec {
    fn default() -> Self {
        PagingSpec { redundancy: Redundancy::default_for_shared(), primary: PagingIndex::One }
    }
}

/// Paging VIOS redundancy of a shared-memory partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Redundancy {
    /// Must have two paging VIOS and a common paging device; never migrated non-redundant.
    Required,
    /// Redundant when the target allows it, else non-redundant with a warning.
    Preferred,
    /// One paging VIOS.
    None,
}

impl Redundancy {
    fn default_for_shared() -> Self {
        Redundancy::Preferred
    }
}

/// Index into a shared memory pool's `pagingVios`: paging VIOS 1 or 2.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub enum PagingIndex {
    /// Paging VIOS 1 (the pool's first).
    #[default]
    One,
    /// Paging VIOS 2.
    Two,
}

impl PagingIndex {
    /// 0-based position in `pagingVios`.
    pub fn position(self) -> usize {
        match self {
            PagingIndex::One => 0,
            PagingIndex::Two => 1,
        }
    }

    /// The index of `vios` in a pool's `pagingVios`, if it is one of its first two.
    pub fn of<T: PartialEq>(vios: &T, paging_vios: &[T]) -> Option<Self> {
        match paging_vios.iter().position(|v| v == vios) {
            Some(0) => Some(PagingIndex::One),
            Some(1) => Some(PagingIndex::Two),
            _ => None,
        }
    }
}

impl TryFrom<u8> for PagingIndex {
    type Error = String;
    fn try_from(v: u8) -> Result<Self, String> {
        match v {
            1 => Ok(PagingIndex::One),
            2 => Ok(PagingIndex::Two),
            _ => Err(format!("paging.primary is {v}; it indexes the pool's pagingVios, so it is 1 or 2")),
        }
    }
}

impl From<PagingIndex> for u8 {
    fn from(p: PagingIndex) -> u8 {
        p.position() as u8 + 1
    }
}

impl schemars::JsonSchema for PagingIndex {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "PagingIndex".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "integer", "enum": [1, 2]})
    }
}

/// A VLAN the partition's virtual ethernet needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    /// The VLAN id.
    pub vlan: VlanId,
}

/// A SAN LUN of the partition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StorageSpec {
    /// The LUN id as the VIOS see it.
    pub lun: Lun,
    /// Virtual SCSI or NPIV.
    pub via: StorageVia,
}

/// How a LUN reaches the partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum StorageVia {
    /// Virtual SCSI mapping on the VIOS.
    Vscsi,
    /// N_Port ID virtualisation.
    Npiv,
}
