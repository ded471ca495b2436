//! Names of PowerVM objects as distinct types, so a VIOS name can never be passed where a frame
//! name is expected. Names are checked once, when parsed: they end up inside HMC commands
//! (`chhwres -p NAME`, `"paging_vios_names=a,b"`), so characters that would break those
//! commands are refused.
//!
//! The names the HMC gives (managed systems, partitions, VIOS, profiles, processor pools) and
//! the object names powerplane derives from a frame's name (`FRAME-vios`, `FRAME-sea`) may hold
//! inner spaces, as an HMC allows (`db prod 01`): where such a name is its own word on a
//! command line it is quoted by [`crate::hmc_word`] (`-p "db prod 01"`, [`FrameName::word`]).

use std::borrow::Borrow;
use std::fmt;

/// Longest name the HMC accepts for a managed system or partition.
pub const MAX_NAME_LEN: usize = 47;

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The name is empty.
    #[error("{what} name is empty; give it a name")]
    Empty {
        /// Which kind of name.
        what: &'static str,
    },
    /// The name is longer than the HMC accepts.
    #[error("{what} name `{name}` is {len} characters long; the HMC accepts at most {MAX_NAME_LEN}")]
    TooLong {
        /// Which kind of name.
        what: &'static str,
        /// The refused name.
        name: String,
        /// Its length in characters.
        len: usize,
    },
    /// The name begins or ends with a space: the HMC trims what is typed into its name fields,
    /// and a listing's value would not read back as the name.
    #[error("{what} name `{name}` begins or ends with a space; remove it")]
    EdgeSpace {
        /// Which kind of name.
        what: &'static str,
        /// The refused name.
        name: String,
    },
    /// The name begins with `-`: on a command line it would read as an option
    /// (`chsysstate -n -o`).
    #[error("{what} name `{name}` begins with `-`; on an HMC command line it would read as an option: rename it")]
    LeadingDash {
        /// Which kind of name.
        what: &'static str,
        /// The refused name.
        name: String,
    },
    /// An identifier is longer than any the storage reports.
    #[error("{what} `{name}` is {len} characters long; identifiers have at most {max}")]
    IdTooLong {
        /// Which kind of identifier.
        what: &'static str,
        /// The refused identifier.
        name: String,
        /// Its length in characters.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The name contains a character that breaks HMC command lines.
    #[error(
        "{what} name `{name}` contains {ch:?}; use ASCII letters, digits and `_ - . :` (names go into HMC and shell command lines)"
    )]
    BadChar {
        /// Which kind of name.
        what: &'static str,
        /// The refused name.
        name: String,
        /// The first offending character.
        ch: char,
    },
}

/// Checks a name against the HMC's rules.
pub(crate) fn check_name(what: &'static str, name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty { what });
    }
    let len = name.chars().count();
    if len > MAX_NAME_LEN {
        return Err(NameError::TooLong { what, name: name.to_owned(), len });
    }
    check_chars(what, name, false)
}

/// Checks a name the HMC gives (or one derived from it): as [`check_name`], and inner spaces
/// are allowed.
///
/// The HMC's own help says so for partition profiles: "The partition profile name can consist
/// of uppercase letters (A through Z), lowercase letters (a through z), numerals (0 through 9),
/// spaces, and the following special characters: comma (,), period (.), slash (/), semicolon
/// (;), colon (:), tilde (~), at (@), pound (#), caret (^), hyphen (-), underscore (_), equals
/// (=), plus (+), left brace ({), and right brace (})" (HMC V7R3.4.0 online help, "Partition
/// Migration: Profile Name", `/opt/ccfw/help/iphmc/com/ibm/hmc/ui/lpar/mobility/res/
/// LPARMigration/Mig_Profiles.html` in IBM's `HMC_Update_V7R340_SP3` image, of which public
/// mirrors exist). No independent source was found that states the rule for partition and
/// managed-system names; issue 31 reports spaces there too, and they are taken to follow the
/// profile rule. powerplane keeps its narrower set (no comma, slash, semicolon, `#`…: they
/// would need escaping inside `-i "…"` attribute lists or in a shell) and adds only the space,
/// never leading or trailing.
pub(crate) fn check_hmc_name(what: &'static str, name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty { what });
    }
    let len = name.chars().count();
    if len > MAX_NAME_LEN {
        return Err(NameError::TooLong { what, name: name.to_owned(), len });
    }
    if name.trim_matches(' ') != name {
        return Err(NameError::EdgeSpace { what, name: name.to_owned() });
    }
    check_chars(what, name, true)
}

/// Longest LUN identifier powerplane reads: a disk's `unique_id` on a SAN-attached VIOS is 46 to
/// 51 characters (`3321360050768019B0241D80000000000015D04214503IBMfcp`, see
/// `tests/fixtures/hmc/vios/README.md`), an NPIV or NVMe identifier may be longer; the HMC's
/// 47-character limit is for the names it assigns, not for identifiers the storage reports.
pub const MAX_LUN_LEN: usize = 128;

/// Checks a LUN identifier: the storage's own, so not the HMC's name length, but the same
/// characters (it goes into VIOS command lines).
pub(crate) fn check_lun(what: &'static str, name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty { what });
    }
    let len = name.chars().count();
    if len > MAX_LUN_LEN {
        return Err(NameError::IdTooLong { what, name: name.to_owned(), len, max: MAX_LUN_LEN });
    }
    // A Hitachi disk's `unique_id` holds a space (`240C50 13413252806OPEN-V07HITACHIfcp`,
    // `tests/fixtures/hmc/vios/lsdev-dev-hdisk-attr.hitachi.published.txt`); an identifier is
    // never rendered into a command line, so an inner space is kept.
    if name.trim() != name {
        return Err(NameError::BadChar { what, name: name.to_owned(), ch: ' ' });
    }
    check_chars(what, name, true)
}

/// The characters every name and identifier may have (and the space where `space`), and never a
/// leading `-`.
fn check_chars(what: &'static str, name: &str, space: bool) -> Result<(), NameError> {
    if name.starts_with('-') {
        return Err(NameError::LeadingDash { what, name: name.to_owned() });
    }
    // What the message promises, and nothing a shell or an HMC command line treats specially
    // inside double quotes: names end up in `chhwres -p NAME` (quoted when they hold a space,
    // `crate::hmc_word`) and inside `-i "name=NAME,…"`.
    if let Some(ch) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':') || (space && *c == ' ')))
    {
        return Err(NameError::BadChar { what, name: name.to_owned(), ch });
    }
    Ok(())
}

macro_rules! name_type {
    ($(#[$doc:meta])* $ty:ident, $what:literal) => {
        name_type!($(#[$doc])* $ty, $what, check_name);
    };
    ($(#[$doc:meta])* $ty:ident, $what:literal, $check:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
        #[serde(try_from = "String", into = "String")]
        pub struct $ty(String);

        impl $ty {
            /// Checks `name` and wraps it.
            pub fn new(name: impl Into<String>) -> Result<Self, NameError> {
                let name = name.into();
                $check($what, &name)?;
                Ok(Self(name))
            }

            /// The name as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The name as one word of an HMC command line (`-p "db prod 01"`), quoted by
            /// [`crate::hmc_word`] when it needs it; a name without a space is unchanged.
            pub fn word(&self) -> std::borrow::Cow<'_, str> {
                crate::hmc_word(&self.0)
            }
        }

        impl TryFrom<String> for $ty {
            type Error = NameError;
            fn try_from(s: String) -> Result<Self, NameError> {
                Self::new(s)
            }
        }

        impl std::str::FromStr for $ty {
            type Err = NameError;
            fn from_str(s: &str) -> Result<Self, NameError> {
                Self::new(s)
            }
        }

        impl From<$ty> for String {
            fn from(n: $ty) -> String {
                n.0
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }

        impl Borrow<str> for $ty {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
    };
}

name_type!(
    /// A managed system (frame, CEC), e.g. `p72` or `IBM_MMA_P6_102615A_SOLCHMS05`; an HMC
    /// name, so it may hold inner spaces (`p9 lab 1`), never a leading or trailing one.
    FrameName, "frame", check_hmc_name
);
name_type!(
    /// A Virtual I/O Server partition, e.g. `p72vio1`; an HMC name (inner spaces allowed).
    ViosName, "VIOS", check_hmc_name
);
name_type!(
    /// A `ViosPair` object; observation names it after its frame (`FRAME-vios`), so it allows
    /// what a frame name allows.
    ViosPairName, "VIOS pair", check_hmc_name
);
name_type!(
    /// A client partition (LPAR), e.g. `lpar_6_sotchax11` or `db prod 01`; an HMC name (inner
    /// spaces allowed).
    PartitionName, "partition", check_hmc_name
);
name_type!(
    /// A `SharedProcessorPool` object (the manifest's name, not the HMC pool name); named after
    /// its frame and pool (`FRAME-POOL`), so it allows what those allow.
    ProcPoolObjectName, "shared processor pool object", check_hmc_name
);
name_type!(
    /// A shared processor pool as the HMC names it on a frame (`poolName`, e.g. `prodpool`);
    /// partitions reference this, so the reference resolves on whichever frame they run. An HMC
    /// name (inner spaces allowed).
    ProcPoolName, "shared processor pool", check_hmc_name
);
name_type!(
    /// A `SharedMemoryPool` object; named after its frame (`FRAME-ams`), so it allows what a
    /// frame name allows.
    MemPoolName, "shared memory pool", check_hmc_name
);
name_type!(
    /// A `SharedEthernetAdapter` object; named after its frame (`FRAME-sea`), so it allows what
    /// a frame name allows.
    SeaName, "shared ethernet adapter", check_hmc_name
);
name_type!(
    /// A `Settings` object.
    SettingsName, "settings"
);
name_type!(
    /// A `Cluster` object: the cluster managers' own name for it (`haclus -value ClusterName`,
    /// `clmgr query cluster`, `pcs cluster status`).
    ClusterName, "cluster"
);
name_type!(
    /// A VIOS device, e.g. `hdisk17` or `ent4`.
    DeviceName, "device"
);
name_type!(
    /// A SAN logical unit identifier, e.g. `6005076801203E85-L1B`, as the VIOS sees it
    /// (`unique_id`): the storage's identifier, up to 128 characters (`MAX_LUN_LEN`).
    Lun, "LUN", check_lun
);
name_type!(
    /// A partition profile, e.g. `default_profile` (what the HMC names the profile of a
    /// partition it creates) or `normal`; a partition may have several. An HMC name (inner
    /// spaces allowed).
    ProfileName, "profile", check_hmc_name
);

name_type!(
    /// An HMC as the other HMCs of an estate reach it: its host name or IP address, the value of
    /// `migrlpar --ip` and `mkauthkeys --ip` (IBM's `migrlpar` man page: `[--ip IP-address [-u
    /// user-ID]]`; IBM/ansible-power-hmc `powervm_lpar_migration.py`: "the IP address or host
    /// name of the management console that is managing the destination managed system").
    HmcAddress, "HMC address"
);
name_type!(
    /// A user of an HMC, e.g. `hscroot`: the `-u` of `migrlpar` and `mkauthkeys` (seeds:
    /// powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, line 1543).
    HmcUser, "HMC user"
);

impl DeviceName {
    /// The number of an ethernet device, `4` for `ent4`.
    pub fn ent_number(&self) -> Option<u32> {
        self.0.strip_prefix("ent").and_then(|n| n.parse().ok())
    }

    /// The number the VIOS's configuration manager gives the next ethernet device: one past the
    /// highest `entN` in `used` (`ent4` after `ent0`..`ent3`, `ent5` after a SEA `ent4`).
    pub fn next_ent<'a>(used: impl IntoIterator<Item = &'a DeviceName>) -> u32 {
        used.into_iter().filter_map(DeviceName::ent_number).max().map_or(0, |n| n + 1)
    }

    /// `entN`.
    pub fn ent(n: u32) -> Self {
        Self(format!("ent{n}"))
    }
}

/// A shared processor pool's id on its frame: `DefaultPool` is 0, `SharedPool01`..`SharedPool63`
/// are 1 to 63. Every frame with multiple shared processor pools has all 64; "creating" a pool
/// configures an unused one by its id (IBM's `chhwres`/`lshwres` man pages; pypowervm's
/// `tests/data/shrprocpool.txt`: 64 pools).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct ProcPoolId(pub u8);

impl ProcPoolId {
    /// The highest id a frame has.
    pub const MAX: u8 = 63;
}

impl fmt::Display for ProcPoolId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl ProfileName {
    /// `default_profile`: the name the HMC gives the profile of a partition it creates, and
    /// the name powerplane gives the profile of a partition it creates (`mksyscfg -r lpar -i
    /// "profile_name=default_profile,..."`), so that every partition of an estate built either
    /// way answers to the same name. Also the name a command uses for a partition whose
    /// profile the backend does not report. Source: IBM/ansible-power-hmc,
    /// `plugins/module_utils/hmc_resource.py` (`profile_name = 'default_profile'`, and
    /// `'PROFILE_NAME': 'default_profile'` in the partition's mandatory configuration) and
    /// `plugins/modules/vios.py` ("Default profile name 'default_profile'").
    pub fn hmc_default() -> Self {
        Self("default_profile".to_owned())
    }
}

impl ProcPoolName {
    /// The name the HMC gives the unused pool `id`: `SharedPool01` … `SharedPool63`
    /// (pypowervm's `tests/data/shrprocpool.txt`).
    pub fn unused(id: ProcPoolId) -> Self {
        ProcPoolName(format!("SharedPool{:02}", id.0))
    }

    /// The pool every frame has and that partitions use when they name none.
    pub fn default_pool() -> Self {
        Self("DefaultPool".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ethernet_devices_are_numbered_as_cfgdev_numbers_them() {
        let d = |s: &str| DeviceName::new(s).unwrap();
        assert_eq!(d("ent4").ent_number(), Some(4));
        assert_eq!(d("hdisk4").ent_number(), None);
        assert_eq!(DeviceName::next_ent(&[d("ent0"), d("ent3"), d("hdisk9")]), 4);
        assert_eq!(DeviceName::next_ent(&[]), 0);
        assert_eq!(DeviceName::ent(5), d("ent5"));
    }

    #[test]
    fn accepts_seed_names() {
        for n in ["IBM_MMA_P6_102615A_SOLCHMS05", "lpar_6_sotchax11", "p72vio1", "bxaix85"] {
            assert!(FrameName::new(n).is_ok(), "{n}");
        }
    }

    #[test]
    fn refuses_what_breaks_hmc_commands() {
        assert!(matches!(PartitionName::new(""), Err(NameError::Empty { .. })));
        assert!(matches!(DeviceName::new("a b"), Err(NameError::BadChar { ch: ' ', .. })));
        assert!(matches!(ClusterName::new("a b"), Err(NameError::BadChar { ch: ' ', .. })));
        assert!(matches!(PartitionName::new("a,b"), Err(NameError::BadChar { ch: ',', .. })));
        assert!(matches!(PartitionName::new("x".repeat(48)), Err(NameError::TooLong { len: 48, .. })));
        assert!(PartitionName::new("x".repeat(47)).is_ok());
        // Nothing a shell would act on gets into a command line an operator pastes.
        for bad in ["a$b", "a;b", "a|b", "a&b", "a(b", "a)b", "a`b", "a'b", "a\"b", "a\\b", "a/b", "a\nb", "ä"] {
            assert!(matches!(PartitionName::new(bad), Err(NameError::BadChar { .. })), "{bad:?}");
        }
        assert!(PartitionName::new("Server-8233-E8B-SN100302P.lab:1").is_ok());
    }

    #[test]
    fn serde_checks_names() {
        let err = serde_yaml::from_str::<DeviceName>("\"a b\"").unwrap_err();
        assert!(err.to_string().contains("contains ' '"), "{err}");
        let err = serde_yaml::from_str::<FrameName>("\"a b \"").unwrap_err();
        assert!(err.to_string().contains("begins or ends with a space"), "{err}");
        assert_eq!(serde_yaml::from_str::<PartitionName>("db prod 01").unwrap().as_str(), "db prod 01");
    }

    /// Issue 31 item 3: the names the HMC gives hold inner spaces; never a leading or trailing
    /// one, and every other refusal stands (and device names never hold one).
    #[test]
    fn hmc_names_hold_inner_spaces() {
        assert!(PartitionName::new("db prod 01").is_ok());
        assert!(PartitionName::new("two  spaces").is_ok());
        assert!(FrameName::new("Server-9009-42A-SN7800F0X p9 lab").is_ok());
        assert!(ViosName::new("vios 1").is_ok());
        assert!(ProfileName::new("normal profile").is_ok());
        assert!(ProcPoolName::new("prod pool").is_ok());
        // Object names derived from a frame's name allow what it allows.
        assert!(ViosPairName::new("p9 lab-vios").is_ok());
        assert!(SeaName::new("p9 lab-sea").is_ok());
        assert!(MemPoolName::new("p9 lab-ams").is_ok());
        assert!(ProcPoolObjectName::new("p9 lab-DefaultPool").is_ok());
        for edge in [" db", "db ", " ", "  "] {
            assert!(matches!(PartitionName::new(edge), Err(NameError::EdgeSpace { .. })), "{edge:?}");
        }
        assert!(matches!(PartitionName::new("db\tprod"), Err(NameError::BadChar { ch: '\t', .. })));
        assert!(matches!(PartitionName::new("db prod,01"), Err(NameError::BadChar { ch: ',', .. })));
        assert!(matches!(PartitionName::new("-db prod"), Err(NameError::LeadingDash { .. })));
        assert!(matches!(PartitionName::new("db \"prod\""), Err(NameError::BadChar { ch: '"', .. })));
        assert!(matches!(PartitionName::new("db $prod"), Err(NameError::BadChar { ch: '$', .. })));
        assert!(matches!(
            PartitionName::new(format!("db {}", "x".repeat(45))),
            Err(NameError::TooLong { len: 48, .. })
        ));
        assert!(matches!(DeviceName::new("hdisk 3"), Err(NameError::BadChar { ch: ' ', .. })));
        assert!(matches!(SettingsName::new("a b"), Err(NameError::BadChar { ch: ' ', .. })));
    }
}
