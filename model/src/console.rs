//! The HMCs (management consoles) of an estate: which one manages each frame, the version each
//! runs (`lshmc -V`), and whether each may act on the others over SSH (`mkauthkeys`). A
//! partition moved to a frame another HMC manages is migrated by the source frame's HMC with
//! `--ip OTHER -u USER`, and only once that HMC's SSH key is authorized on the other
//! (`mkauthkeys -g`); the spelling of the paging-redundancy option follows the HMC's version.
//!
//! Sources (tests/fixtures/hmc/README.md, "Migrations"):
//! - seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, lines 1504-1518 (`migrlpar
//!   ... --ip [target hmc] -u [remote user]` "to validate the LPM in the Remote HMC"), lines
//!   1531-1543 (HSCL3653 when "the appropriate authorization between HMCs" is missing, fixed by
//!   `mkauthkeys -g --ip hmc-arizona -u hscroot`), line 1522 (`--redundantpgvios 0`);
//! - IBM's `migrlpar` man pages for POWER7, POWER8 and POWER9 HMCs: `[--ip IP-address [-u
//!   user-ID]]`, `[--redundantvios {0 | 1 | 2}] [--mpio {1 | 2}]`; IBM's IVM `migrlpar` (POWER6):
//!   `-redundantpgvios { 0 | 1 | 2 }`;
//! - IBM/ansible-power-hmc @ 0af0a1fb, `plugins/modules/powervm_lpar_migration.py` lines 77-82
//!   (`remote_ip`) and 267-282 (`mkauthkeys --ip REMOTE --test` fails with HSCL3653 when the
//!   keys are missing, then `mkauthkeys -g --ip REMOTE -u USER --passwd ...`),
//!   `plugins/module_utils/hmc_resource.py` lines 512-522;
//! - pypowervm @ 8613035a, `pypowervm/tasks/migration.py` lines 34-35 (`TargetRemoteHMCIPAddress`,
//!   `TargetRemoteHMCUserID`).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::names::{FrameName, HmcAddress, HmcUser};

/// An HMC's version as `lshmc -V` names it in `base_version` (`V8R8.2.0`, `V7R7.9.0`, `V10R3`):
/// the version and the dotted release.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(try_from = "String", into = "String")]
pub struct HmcVersion {
    /// `V<version>`.
    pub version: u16,
    /// `R<release>` and its dotted parts (`8.2.0` for V8R8.2.0; `3` for V10R3).
    pub release: Vec<u16>,
}

/// Why a version was not read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an HMC version as `lshmc -V` names it (`V10R3`, `V8R8.2.0`): give it as V<version>R<release>")]
pub struct VersionError(pub String);

impl HmcVersion {
    /// Reads `V<version>R<release>` (`V10R3`, `V8R8.2.0`, `V7R7.9.0`), case-insensitive.
    pub fn parse(text: &str) -> Result<Self, VersionError> {
        let bad = || VersionError(text.to_owned());
        let t = text.trim();
        let rest = t.strip_prefix(['V', 'v']).ok_or_else(bad)?;
        let (v, r) = rest.split_once(['R', 'r']).ok_or_else(bad)?;
        let version = v.parse().map_err(|_| bad())?;
        let release = r.split('.').map(|p| p.parse::<u16>().map_err(|_| bad())).collect::<Result<Vec<_>, _>>()?;
        Ok(HmcVersion { version, release })
    }

    /// Whether this HMC is at `version`R`release` or later.
    pub fn at_least(&self, version: u16, release: u16) -> bool {
        (self.version, self.release.first().copied().unwrap_or(0)) >= (version, release)
    }
}

impl fmt::Display for HmcVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r: Vec<String> = self.release.iter().map(ToString::to_string).collect();
        write!(f, "V{}R{}", self.version, r.join("."))
    }
}

impl TryFrom<String> for HmcVersion {
    type Error = VersionError;
    fn try_from(s: String) -> Result<Self, VersionError> {
        HmcVersion::parse(&s)
    }
}

impl From<HmcVersion> for String {
    fn from(v: HmcVersion) -> String {
        v.to_string()
    }
}

/// How an HMC spells `migrlpar`'s paging-VIOS redundancy option.
///
/// The seed (2012, an HMC V7) and IBM's IVM page for POWER6 spell it `--redundantpgvios`
/// (`-redundantpgvios`); IBM's HMC `migrlpar` man pages for POWER7 (the HMC V7R7 Knowledge
/// Center), POWER8 (V8) and POWER9 (V9) document `--redundantvios {0|1|2}` and no
/// `--redundantpgvios`. **Assumption**: the release that renamed it was not found in any source;
/// powerplane takes V7R7 (the oldest level whose man page was found with `--redundantvios`) as
/// the first, and does not rely on a newer HMC still accepting the old spelling as an alias.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum RedundancyOption {
    /// `--redundantpgvios`: HMCs before V7R7, and an HMC whose version is not known (what
    /// powerplane rendered before it read versions; the seed's spelling).
    #[default]
    PgVios,
    /// `--redundantvios`: V7R7 and later.
    Vios,
}

impl RedundancyOption {
    /// The spelling the HMC at `version` takes (`None`: not known).
    pub fn for_version(version: Option<&HmcVersion>) -> Self {
        match version {
            Some(v) if v.at_least(7, 7) => RedundancyOption::Vios,
            _ => RedundancyOption::PgVios,
        }
    }

    /// The option, `--redundantvios` or `--redundantpgvios`.
    pub fn flag(self) -> &'static str {
        match self {
            RedundancyOption::PgVios => "--redundantpgvios",
            RedundancyOption::Vios => "--redundantvios",
        }
    }

    /// Whether this is the default spelling (serialised plans leave it out).
    pub fn is_default(&self) -> bool {
        *self == RedundancyOption::PgVios
    }
}

/// Whether an HMC's SSH key is authorized on another HMC for the user that runs migrations
/// there, as `mkauthkeys --ip OTHER --test` answers on it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum KeyExchange {
    /// The test passed: the HMC can run migration commands on the other.
    Authorized,
    /// The test failed (HSCL3653 and the HMC's words).
    Missing {
        /// What the HMC answered.
        message: String,
    },
}

/// One HMC of the estate.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Console {
    /// The user powerplane works as on it: the `-u` a migration from another HMC names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<HmcUser>,
    /// Its version (`lshmc -V`), when it was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<HmcVersion>,
    /// For each other HMC of the estate that was tested, whether this one's key is authorized
    /// there (`mkauthkeys --ip OTHER --test`, run on this one).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub keys: BTreeMap<HmcAddress, KeyExchange>,
}

/// The HMCs of an estate and the frames each manages. Empty from a backend that manages every
/// frame through one HMC it does not name (the simulator without HMCs in its inventory).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Consoles {
    /// The HMC managing each frame (the one that lists it in `lssyscfg -r sys`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub managed_by: BTreeMap<FrameName, HmcAddress>,
    /// Each HMC.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub hmcs: BTreeMap<HmcAddress, Console>,
}

/// The destination HMC of a migration to a frame another HMC manages: `migrlpar --ip IP -u
/// USER`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RemoteHmc {
    /// `--ip`: the destination frame's HMC.
    pub ip: HmcAddress,
    /// `-u`: the user on it (without one, the HMC takes the local user's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<HmcUser>,
}

/// Why a migration to another HMC's frame cannot start yet, with the command that fixes it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "the HMC {from} manages the source frame and {to} the target: {from} must be authorized to run migration commands on {to} for user {user}, and `mkauthkeys --ip {to} --test` on {from} says it is not ({message}); run `{fix}` on {from} (it asks for {user}'s password on {to}), then plan again"
)]
pub struct KeysMissing {
    /// The source frame's HMC.
    pub from: HmcAddress,
    /// The target frame's HMC.
    pub to: HmcAddress,
    /// The user on `to`.
    pub user: String,
    /// What the test answered.
    pub message: String,
    /// The command to run on `from`.
    pub fix: String,
}

impl Consoles {
    /// Whether nothing is known of the estate's HMCs.
    pub fn is_empty(&self) -> bool {
        self.managed_by.is_empty() && self.hmcs.is_empty()
    }

    /// The HMC managing `frame`, when known.
    pub fn manager(&self, frame: &FrameName) -> Option<&HmcAddress> {
        self.managed_by.get(frame)
    }

    /// The version of the HMC managing `frame`, when known.
    pub fn version_for(&self, frame: &FrameName) -> Option<&HmcVersion> {
        self.manager(frame).and_then(|h| self.hmcs.get(h)).and_then(|c| c.version.as_ref())
    }

    /// `--ip`/`-u` of a migration from `from` to `to`: `None` when one HMC manages both (or
    /// either is not known), the destination HMC otherwise — or, when the source HMC's key is
    /// known not to be authorized there, why the migration waits and how to fix it. The user is
    /// the one powerplane works as on the destination HMC (else on the source: the seed's
    /// `hscroot` on both).
    pub fn remote(&self, from: &FrameName, to: &FrameName) -> Result<Option<RemoteHmc>, KeysMissing> {
        let (Some(src), Some(dst)) = (self.manager(from), self.manager(to)) else { return Ok(None) };
        if src == dst {
            return Ok(None);
        }
        let user =
            self.hmcs.get(dst).and_then(|c| c.user.clone()).or_else(|| self.hmcs.get(src).and_then(|c| c.user.clone()));
        if let Some(KeyExchange::Missing { message }) = self.hmcs.get(src).and_then(|c| c.keys.get(dst)) {
            let u = user.as_ref().map_or_else(|| "USER".to_owned(), ToString::to_string);
            return Err(KeysMissing {
                from: src.clone(),
                to: dst.clone(),
                user: u.clone(),
                message: message.clone(),
                fix: keys_fix(dst, &u),
            });
        }
        Ok(Some(RemoteHmc { ip: dst.clone(), user }))
    }
}

/// The command that authorizes an HMC's key on `to` for `user` (seeds:
/// powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, line 1543).
pub fn keys_fix(to: &HmcAddress, user: &str) -> String {
    format!("mkauthkeys -g --ip {} -u {}", to.word(), crate::hmc_word(user))
}

/// The command that tests whether an HMC's key is authorized on `to` (IBM/ansible-power-hmc
/// `hmc_resource.py` line 517: `mkauthkeys --ip REMOTE --test`).
pub fn keys_test(to: &HmcAddress) -> String {
    format!("mkauthkeys --ip {} --test", to.word())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> HmcAddress {
        HmcAddress::new(s).unwrap()
    }
    fn f(s: &str) -> FrameName {
        FrameName::new(s).unwrap()
    }

    #[test]
    fn versions_read_as_lshmc_names_them() {
        let v = HmcVersion::parse("V8R8.2.0").unwrap();
        assert_eq!((v.version, v.release.clone()), (8, vec![8, 2, 0]));
        assert_eq!(v.to_string(), "V8R8.2.0");
        assert_eq!(HmcVersion::parse("V10R3").unwrap().to_string(), "V10R3");
        assert!(HmcVersion::parse("10.3").is_err());
        assert!(HmcVersion::parse("V10").is_err());
        assert!(HmcVersion::parse("VxR1").is_err());
    }

    /// The seed's spelling before V7R7 (and when the version is not known), the man pages'
    /// from V7R7 on.
    #[test]
    fn the_redundancy_option_follows_the_version() {
        let o = |v: &str| RedundancyOption::for_version(Some(&HmcVersion::parse(v).unwrap())).flag();
        assert_eq!(o("V7R3.4.0"), "--redundantpgvios");
        assert_eq!(o("V7R7.9.0"), "--redundantvios");
        assert_eq!(o("V8R8.2.0"), "--redundantvios");
        assert_eq!(o("V10R3"), "--redundantvios");
        assert_eq!(RedundancyOption::for_version(None).flag(), "--redundantpgvios");
    }

    #[test]
    fn a_move_across_hmcs_names_the_destination_hmc_or_waits_for_its_keys() {
        let mut c = Consoles::default();
        c.managed_by.insert(f("a"), a("hmc1"));
        c.managed_by.insert(f("b"), a("hmc1"));
        c.managed_by.insert(f("c"), a("hmc2"));
        c.hmcs.insert(a("hmc1"), Console { user: Some(HmcUser::new("hscroot").unwrap()), ..Default::default() });
        c.hmcs.insert(a("hmc2"), Console { user: Some(HmcUser::new("hscpe").unwrap()), ..Default::default() });
        assert_eq!(c.remote(&f("a"), &f("b")), Ok(None), "one HMC manages both");
        assert_eq!(c.remote(&f("a"), &f("x")), Ok(None), "a frame no HMC is known for");
        let r = c.remote(&f("a"), &f("c")).unwrap().unwrap();
        assert_eq!((r.ip.as_str(), r.user.unwrap().as_str()), ("hmc2", "hscpe"));
        c.hmcs.get_mut(&a("hmc1")).unwrap().keys.insert(a("hmc2"), KeyExchange::Missing { message: "HSCL3653".into() });
        let e = c.remote(&f("a"), &f("c")).unwrap_err();
        assert_eq!(e.fix, "mkauthkeys -g --ip hmc2 -u hscpe");
        assert!(e.to_string().contains("run `mkauthkeys -g --ip hmc2 -u hscpe` on hmc1"), "{e}");
        // The other way round is hmc2's key on hmc1: not tested, so not held.
        assert!(c.remote(&f("c"), &f("a")).unwrap().is_some());
    }
}
