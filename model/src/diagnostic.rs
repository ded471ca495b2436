//! Findings about manifests: which rule, where, about which object, and what to do. Loading and
//! validation both report every finding they can, never just the first.

use std::fmt;

use serde::Serialize;

use crate::manifest::Kind;
use crate::source::Location;

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The manifests cannot be planned.
    Error,
    /// Plannable, but an operator should know.
    Warning,
}

macro_rules! rules {
    ($($(#[$doc:meta])* $variant:ident = $code:literal, $name:literal;)*) => {
        /// A named rule with a stable code, like the HMC's `HSCLA304`: scripts may match on the
        /// code, people read the name.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Rule {
            $($(#[$doc])* $variant,)*
        }

        impl Rule {
            /// Every rule, in code order.
            pub const ALL: &'static [Rule] = &[$(Rule::$variant,)*];

            /// The stable code, e.g. `PP-E011`.
            pub fn code(self) -> &'static str {
                match self { $(Rule::$variant => $code,)* }
            }

            /// The rule's name, e.g. `dangling-reference`.
            pub fn name(self) -> &'static str {
                match self { $(Rule::$variant => $name,)* }
            }
        }
    };
}

rules! {
    /// A file could not be read.
    UnreadableFile = "PP-E001", "unreadable-file";
    /// A file is not UTF-8 text (a binary file named `.yaml`).
    NotUtf8 = "PP-E002", "not-utf8";
    /// The YAML does not parse.
    YamlSyntax = "PP-E003", "yaml-syntax";
    /// A document does not match its kind's schema: unknown field, wrong type, missing field.
    Schema = "PP-E004", "schema";
    /// `kind:` names no kind powerplane knows.
    UnknownKind = "PP-E005", "unknown-kind";
    /// A kind that does not belong in this kind of file (hardware in desired state).
    KindNotAllowed = "PP-E006", "kind-not-allowed";
    /// The directory holds no manifest.
    NoManifests = "PP-E007", "no-manifests";
    /// The manifest directory does not exist or is not a directory.
    NoSuchDirectory = "PP-E008", "no-such-directory";
    /// A symbolic link in the manifest tree points outside it, or nowhere: what it describes
    /// would silently be missing from the desired state (and pruned).
    LinkOutsideTree = "PP-E013", "link-outside-tree";
    /// A manifest is larger, or nests deeper, than powerplane reads.
    TooLarge = "PP-E014", "too-large";
    /// More than one `Settings` document.
    SettingsCount = "PP-E009", "one-settings";
    /// Two objects of one kind share a name.
    DuplicateName = "PP-E010", "duplicate-name";
    /// A reference names an object that does not exist.
    DanglingReference = "PP-E011", "dangling-reference";
    /// Two partitions on one frame would share an LPAR name, or a VIOS is in two pairs.
    NameConflict = "PP-E012", "name-conflict";
    /// A VIOS pair has not one or two distinct members.
    ViosPairMembers = "PP-E020", "vios-pair-members";
    /// More than one SEA on one VIOS pair.
    SeaPerViosPair = "PP-E021", "sea-per-vios-pair";
    /// SEA trunk priorities: the primary must be a member, failover needs two members.
    SeaPriority = "PP-E022", "sea-priority";
    /// SEA adapters: failover needs a control channel, and no adapter may serve twice.
    SeaAdapters = "PP-E023", "sea-adapters";
    /// Load sharing needs two members and at least two trunks.
    LoadSharingPrerequisites = "PP-E024", "load-sharing-prerequisites";
    /// A VLAN on two trunks of one SEA.
    VlanOnTwoTrunks = "PP-E025", "vlan-on-two-trunks";
    /// More than one shared memory pool on a frame.
    MemoryPoolPerFrame = "PP-E030", "memory-pool-per-frame";
    /// A shared memory pool needs one or two paging VIOS, of its frame.
    PagingViosCount = "PP-E031", "paging-vios-count";
    /// A paging device is smaller than a partition's maximum memory.
    PagingDeviceTooSmall = "PP-E032", "paging-device-too-small";
    /// Fewer common paging devices than partitions that require redundancy.
    CommonPagingDevices = "PP-E033", "common-paging-devices";
    /// Fewer paging devices than running shared-memory partitions.
    PagingDeviceCount = "PP-E034", "paging-device-count";
    /// Pool memory above its maximum.
    MemoryPoolLimits = "PP-E035", "memory-pool-limits";
    /// A paging device the paging VIOS cannot see.
    PagingDeviceNotVisible = "PP-E036", "paging-device-not-visible";
    /// Redundant paging asked of a pool with one paging VIOS.
    PagingRedundancy = "PP-E037", "paging-redundancy";
    /// A shared-memory partition on a frame without a shared memory pool.
    NoMemoryPool = "PP-E038", "no-memory-pool";
    /// More partitions assigned to a shared memory pool than it can serve (1,000).
    MemoryPoolPartitions = "PP-E039", "memory-pool-partitions";
    /// Desired memory above maximum, or zero.
    MemoryLimits = "PP-E040", "memory-limits";
    /// Shared memory needs shared processors.
    SharedMemoryNeedsSharedProcessors = "PP-E041", "shared-memory-needs-shared-processors";
    /// Paging settings on a partition with dedicated memory.
    PagingWithoutSharedMemory = "PP-E042", "paging-without-shared-memory";
    /// Processor settings that the HMC refuses.
    ProcessorSettings = "PP-E043", "processor-settings";
    /// No frame can host the partition.
    NoEligibleFrame = "PP-E044", "placement-no-eligible-frame";
    /// A partition pinned to a frame in maintenance.
    FrameInMaintenance = "PP-E045", "frame-in-maintenance";
    /// The partition's processor pool does not exist on its frame.
    ProcessorPoolMissing = "PP-E046", "processor-pool-missing";
    /// The frame does not support the partition's compatibility mode.
    CompatModeUnsupported = "PP-E047", "compat-mode-unsupported";
    /// A frame's memory is overcommitted.
    FrameMemoryCapacity = "PP-E050", "frame-memory-capacity";
    /// A frame's processing units are overcommitted.
    FrameProcessorCapacity = "PP-E051", "frame-processor-capacity";
    /// A shared processor pool's maximum is exceeded.
    ProcessorPoolCapacity = "PP-E052", "processor-pool-capacity";
    /// A shared processor pool's own limits are inconsistent.
    ProcessorPoolLimits = "PP-E053", "processor-pool-limits";
    /// More shared processor pools on a frame than it can have (64, with DefaultPool).
    ProcessorPoolCount = "PP-E054", "processor-pool-count";
    /// A partition's VLAN is bridged by no SEA on its frame.
    VlanNotBridged = "PP-E060", "vlan-not-bridged";
    /// A partition's LUN is not visible to the VIOS of its frame.
    StorageNotVisible = "PP-E061", "storage-not-visible";
    /// The backend has no such frame or VIOS.
    UnknownToBackend = "PP-E062", "unknown-to-backend";
    /// An SEA adapter the VIOS does not have.
    AdapterMissing = "PP-E063", "adapter-missing";
    /// An active migration's frame without a running mover service partition.
    MoverServicePartition = "PP-E064", "mover-service-partition";
    /// A partition that must move lacks what LPM needs of it: SAN storage through the VIOS and
    /// an all-virtual network.
    PartitionNotMobile = "PP-E065", "partition-not-mobile";
    /// A cluster with fewer than two members, a member listed twice, or a partition in two
    /// clusters.
    ClusterMembers = "PP-E070", "cluster-members";
    /// Settings of one cluster manager on a cluster of another.
    ClusterManagerSettings = "PP-E071", "cluster-manager-settings";
    /// Two members of one cluster pinned to one frame: a cluster on one frame is no cluster.
    ClusterAntiAffinity = "PP-E072", "cluster-anti-affinity";
    /// A hook without a command, with a NUL byte, or with a timeout out of range.
    Hooks = "PP-E073", "hooks";
    /// A cluster's `ssh:` that cannot reach its members: an empty or unusable user or host, a
    /// key that is not an absolute path, port 0, or a host for a partition that is no member.
    ClusterNodeAccess = "PP-E074", "cluster-node-access";
    /// A maintenance window's time zone is not in the time-zone database.
    UnknownTimeZone = "PP-E080", "unknown-time-zone";
    /// A partition that prefers redundant paging will run without it.
    NoPagingRedundancy = "PP-W001", "no-paging-redundancy";
}

impl Rule {
    /// Whether findings of this rule are errors or warnings.
    pub fn severity(self) -> Severity {
        if self.code().starts_with("PP-W") { Severity::Warning } else { Severity::Error }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code(), self.name())
    }
}

/// `Kind/name`, the way messages name an object.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectRef {
    /// The kind.
    pub kind: Kind,
    /// The name.
    pub name: String,
}

impl ObjectRef {
    /// `kind/name`.
    pub fn new(kind: Kind, name: impl fmt::Display) -> Self {
        ObjectRef { kind, name: name.to_string() }
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind, self.name)
    }
}

impl Serialize for ObjectRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One finding: rule, place, object, what is wrong and how to fix it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The rule broken.
    pub rule: Rule,
    /// Where, when the finding concerns a file.
    pub location: Option<Location>,
    /// Which object, when known.
    pub object: Option<ObjectRef>,
    /// What is wrong, in an administrator's words.
    pub message: String,
    /// What to do about it.
    pub hint: String,
}

impl Diagnostic {
    /// A finding of `rule`.
    pub fn new(rule: Rule, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Diagnostic { rule, location: None, object: None, message: message.into(), hint: hint.into() }
    }

    /// Sets the location.
    pub fn at(mut self, location: Location) -> Self {
        self.location = Some(location);
        self
    }

    /// Sets the location when there is one.
    pub fn at_opt(mut self, location: Option<Location>) -> Self {
        self.location = location;
        self
    }

    /// Sets the object.
    pub fn on(mut self, object: ObjectRef) -> Self {
        self.object = Some(object);
        self
    }

    /// Error or warning.
    pub fn severity(&self) -> Severity {
        self.rule.severity()
    }

    /// Whether this finding blocks planning.
    pub fn is_error(&self) -> bool {
        self.severity() == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(loc) = &self.location {
            write!(f, "{loc}: ")?;
        }
        let sev = match self.severity() {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{sev}[{}]", self.rule)?;
        if let Some(obj) = &self.object {
            write!(f, " {obj}")?;
        }
        write!(f, ": {}", self.message)?;
        if !self.hint.is_empty() {
            write!(f, "\n  = fix: {}", self.hint)?;
        }
        Ok(())
    }
}

impl Serialize for Diagnostic {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Diagnostic", 9)?;
        st.serialize_field("severity", &self.severity())?;
        st.serialize_field("code", self.rule.code())?;
        st.serialize_field("rule", self.rule.name())?;
        st.serialize_field("file", &self.location.as_ref().map(|l| l.file.display().to_string()))?;
        st.serialize_field("line", &self.location.as_ref().map(|l| l.line))?;
        st.serialize_field("column", &self.location.as_ref().map(|l| l.column))?;
        st.serialize_field("object", &self.object)?;
        st.serialize_field("message", &self.message)?;
        st.serialize_field("hint", &self.hint)?;
        st.end()
    }
}

/// Manifests that cannot be used, with every finding that says why.
#[derive(Debug, thiserror::Error)]
#[error("{} error(s) in the manifests", .0.iter().filter(|d| d.is_error()).count())]
pub struct Invalid(pub Vec<Diagnostic>);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_are_unique() {
        let mut codes: Vec<_> = Rule::ALL.iter().map(|r| r.code()).collect();
        let mut names: Vec<_> = Rule::ALL.iter().map(|r| r.name()).collect();
        codes.sort();
        names.sort();
        let n = codes.len();
        codes.dedup();
        names.dedup();
        assert_eq!(codes.len(), n);
        assert_eq!(names.len(), n);
    }

    #[test]
    fn renders_like_a_compiler() {
        let d = Diagnostic::new(Rule::DanglingReference, "frame `p9` is not defined", "add it")
            .at(Location { file: "m/a.yaml".into(), line: 7, column: 5 })
            .on(ObjectRef::new(Kind::Partition, "x"));
        assert_eq!(
            d.to_string(),
            "m/a.yaml:7:5: error[PP-E011 dangling-reference] Partition/x: frame `p9` is not defined\n  = fix: add it"
        );
        assert_eq!(Rule::NoPagingRedundancy.severity(), Severity::Warning);
    }
}
