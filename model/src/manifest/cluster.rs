//! `kind: Cluster`: partitions that a cluster manager (Veritas Cluster Server, PowerHA
//! SystemMirror, Pacemaker) keeps highly available together, and the commands powerplane runs
//! around the migration of one of them so that its peers do not declare it dead while LPM
//! suspends it.
//!
//! seeds: infoscale-lpm-vcs.txt, lines 91-103: the migrating node is unresponsive for a while;
//! "If that time is less than the default LLT peer inactive timeout of 16 seconds, VCS operates
//! normally. If not, increase the peer inactive timeout to an appropriate value on all the nodes
//! in the cluster before beginning the migration", and "Reset the value back to the default
//! after the migration is complete".

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::names::PartitionName;

/// The cluster manager of a `Cluster` and how long its nodes wait for a silent peer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClusterSpec {
    /// Which cluster manager runs on the members: `vcs`, `powerha`, `pacemaker` or `none`
    /// (only anti-affinity, one migration at a time and the hooks apply).
    pub manager: ClusterManager,
    /// The member partitions, by partition name. A partition belongs to at most one cluster,
    /// and no two members may run on one frame.
    pub members: Vec<PartitionName>,
    /// Veritas Cluster Server: LLT's peer inactive timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vcs: Option<VcsSpec>,
    /// PowerHA SystemMirror: the node failure detection timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub powerha: Option<PowerHaSpec>,
    /// Pacemaker: corosync's token timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pacemaker: Option<PacemakerSpec>,
    /// Site commands run around each member's migration.
    #[serde(default, skip_serializing_if = "Hooks::is_empty")]
    pub hooks: Hooks,
    /// How powerplane reaches the members' operating systems over SSH to run the cluster steps
    /// (`lltconfig`, `clmgr`, `pcs`) when it works through an HMC (`--hmc`): the HMC cannot run
    /// them. Not given: those steps are refused under `--hmc` (the simulator needs none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh: Option<NodeSsh>,
}

/// `ssh:` of a Cluster: the user, key and port the cluster steps log in to every member with,
/// and each member's host where it is not the partition's name. Host keys are always checked
/// (against `--ssh-known-hosts`, else the user's `known_hosts`); no password is ever used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NodeSsh {
    /// The user the steps run as on every member, e.g. `root` (`lltconfig -T` and `clmgr` need
    /// root; `pcs` root or a member of `haclient`).
    pub user: String,
    /// The private key to log in with: an absolute path on the controller's machine (never in
    /// the manifest repository). Not given: OpenSSH's defaults and agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<std::path::PathBuf>,
    /// The members' SSH port; 22 when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Each member's host name or address, where it is not the partition's name, e.g.
    /// `{xray: xray.example.com}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub hosts: BTreeMap<PartitionName, String>,
}

/// The SSH port of a cluster's members when `ssh.port` is not given.
pub const DEFAULT_NODE_SSH_PORT: u16 = 22;

impl NodeSsh {
    /// The host member `node` is reached at: its `hosts` entry, else the partition's name.
    pub fn host_of(&self, node: &PartitionName) -> String {
        self.hosts.get(node).cloned().unwrap_or_else(|| node.to_string())
    }

    /// The members' SSH port.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(DEFAULT_NODE_SSH_PORT)
    }
}

/// Why `word` cannot be given to `ssh` as a user or host (`None`: it can): empty, starting with
/// `-` (ssh would read an option), or holding a blank, a control character, or a character that
/// ssh or a shell acts on (`@`, `/`, quotes, `$`, `;`, `&`, `|`, redirections, brackets of
/// groups, wildcards, `,`).
pub fn ssh_word_problem(word: &str) -> Option<&'static str> {
    if word.is_empty() {
        return Some("it is empty");
    }
    if word.starts_with('-') {
        return Some("it starts with `-`, which ssh would read as an option");
    }
    if word.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("it holds a blank or a control character");
    }
    if word.chars().any(|c| "@/\\'\"`$;&|<>(){}*?!,".contains(c)) {
        return Some("it holds a character ssh or a shell acts on");
    }
    None
}

/// The cluster managers powerplane knows the LPM procedure of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ClusterManager {
    /// Veritas Cluster Server (InfoScale): LLT's `peerinact` is raised on every node around the
    /// migration.
    Vcs,
    /// PowerHA SystemMirror: the migrating node's resource groups are unmanaged around it.
    Powerha,
    /// Pacemaker: the migrating node is put into maintenance mode around it.
    Pacemaker,
    /// No cluster manager powerplane acts on; hooks only.
    None,
}

impl ClusterManager {
    /// The name as written in `manager:`.
    pub fn as_str(self) -> &'static str {
        match self {
            ClusterManager::Vcs => "vcs",
            ClusterManager::Powerha => "powerha",
            ClusterManager::Pacemaker => "pacemaker",
            ClusterManager::None => "none",
        }
    }
}

impl std::fmt::Display for ClusterManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// LLT's default peer inactive timeout, seconds.
// seeds: infoscale-lpm-vcs.txt, line 94: "the default LLT peer inactive timeout of 16 seconds".
pub const DEFAULT_PEERINACT_SECONDS: u32 = 16;

/// `vcs:` of a Cluster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VcsSpec {
    /// LLT's peer inactive timeout the nodes are configured with (`set-timer peerinact:` in
    /// `/etc/llttab`), seconds; 16 by default. It is what is restored after a migration.
    #[serde(default = "default_peerinact")]
    pub peerinact_seconds: u32,
    /// How long a migrating member is unresponsive in this environment, seconds: what the seed
    /// asks the administrator to determine. Not given: assumed not less than `peerinactSeconds`,
    /// so that the timeout is raised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unresponsive_seconds: Option<u32>,
    /// What `peerinact` is raised to for a migration, seconds. Default: twice the unresponsive
    /// time, at least 30 s above it (the seed's example raises it to 90 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raise_to_seconds: Option<u32>,
    /// Whether powerplane raises and restores `peerinact` itself. `false` leaves it to the
    /// site's hooks (the plan warns that nothing of powerplane's protects the migration).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub adjust_peerinact: bool,
}

impl Default for VcsSpec {
    fn default() -> Self {
        VcsSpec {
            peerinact_seconds: DEFAULT_PEERINACT_SECONDS,
            unresponsive_seconds: None,
            raise_to_seconds: None,
            adjust_peerinact: true,
        }
    }
}

impl VcsSpec {
    /// The raised `peerinact`, seconds: above the unresponsive time with a margin.
    pub fn raised_seconds(&self) -> u32 {
        self.raise_to_seconds.unwrap_or_else(|| {
            let u = self.unresponsive_seconds.unwrap_or(self.peerinact_seconds);
            (2 * u).max(u + 30)
        })
    }
}

/// PowerHA's node failure detection timeout when none is given, seconds.
pub const DEFAULT_POWERHA_NODE_TIMEOUT_SECONDS: u32 = 30;

/// `powerha:` of a Cluster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PowerHaSpec {
    /// The cluster's node failure detection timeout, seconds (`clmgr query cluster`,
    /// `NODE_TIMEOUT`).
    #[serde(default = "default_powerha_timeout")]
    pub node_timeout_seconds: u32,
    /// How long a migrating member is unresponsive, seconds; not given: assumed not less than
    /// the timeout, so that the node's resource groups are unmanaged for the move.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unresponsive_seconds: Option<u32>,
}

impl Default for PowerHaSpec {
    fn default() -> Self {
        PowerHaSpec { node_timeout_seconds: DEFAULT_POWERHA_NODE_TIMEOUT_SECONDS, unresponsive_seconds: None }
    }
}

/// corosync's token timeout when none is given, seconds (corosync 3: `token: 3000`).
pub const DEFAULT_COROSYNC_TOKEN_SECONDS: u32 = 3;

/// `pacemaker:` of a Cluster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PacemakerSpec {
    /// corosync's token timeout, seconds: a node silent that long is lost to the membership.
    #[serde(default = "default_token")]
    pub token_seconds: u32,
    /// How long a migrating member is unresponsive, seconds; not given: assumed not less than
    /// the token timeout, so that the node is put into maintenance mode for the move.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unresponsive_seconds: Option<u32>,
}

impl Default for PacemakerSpec {
    fn default() -> Self {
        PacemakerSpec { token_seconds: DEFAULT_COROSYNC_TOKEN_SECONDS, unresponsive_seconds: None }
    }
}

/// How long a cluster's nodes wait for a silent peer and how long a migrating member is silent,
/// whatever the manager calls them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Heartbeat {
    /// The timeout, seconds.
    pub timeout_seconds: u32,
    /// The declared unresponsive time, seconds (`None`: not known).
    pub unresponsive_seconds: Option<u32>,
}

impl Heartbeat {
    /// Whether a migration needs protecting: the unresponsive time is not less than the
    /// timeout, or not known.
    // seeds: infoscale-lpm-vcs.txt, line 94: "If that time is less than the default LLT peer
    // inactive timeout of 16 seconds, VCS operates normally. If not, increase ...".
    pub fn needs_protection(&self) -> bool {
        self.unresponsive_seconds.is_none_or(|u| u >= self.timeout_seconds)
    }
}

impl ClusterSpec {
    /// The heartbeat settings of the cluster's manager (`None` for `manager: none`).
    pub fn heartbeat(&self) -> Option<Heartbeat> {
        match self.manager {
            ClusterManager::Vcs => {
                let v = self.vcs.clone().unwrap_or_default();
                Some(Heartbeat { timeout_seconds: v.peerinact_seconds, unresponsive_seconds: v.unresponsive_seconds })
            }
            ClusterManager::Powerha => {
                let p = self.powerha.clone().unwrap_or_default();
                Some(Heartbeat {
                    timeout_seconds: p.node_timeout_seconds,
                    unresponsive_seconds: p.unresponsive_seconds,
                })
            }
            ClusterManager::Pacemaker => {
                let p = self.pacemaker.clone().unwrap_or_default();
                Some(Heartbeat { timeout_seconds: p.token_seconds, unresponsive_seconds: p.unresponsive_seconds })
            }
            ClusterManager::None => None,
        }
    }

    /// The VCS settings, defaults filled in.
    pub fn vcs_or_default(&self) -> VcsSpec {
        self.vcs.clone().unwrap_or_default()
    }
}

/// Commands the controller runs around a migration, on the machine it runs on, with the
/// partition, source and target frame in the environment (`POWERPLANE_PARTITION`,
/// `POWERPLANE_SOURCE_FRAME`, `POWERPLANE_TARGET_FRAME`, `POWERPLANE_CLUSTER`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Hooks {
    /// Before the migration; a failing one stops that migration (what needs it is skipped).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pre_migrate: Vec<Hook>,
    /// After a migration that succeeded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub post_migrate: Vec<Hook>,
    /// After a migration that failed or did not start because its preparation failed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub on_failure: Vec<Hook>,
}

impl Hooks {
    /// Whether no hook is defined.
    pub fn is_empty(&self) -> bool {
        self.pre_migrate.is_empty() && self.post_migrate.is_empty() && self.on_failure.is_empty()
    }
}

/// The longest a hook may run, seconds.
pub const MAX_HOOK_TIMEOUT_SECONDS: u32 = 3600;

/// One hook: a program and its arguments (no shell, so that no name or value is ever
/// interpreted), and how long it may run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Hook {
    /// The program and its arguments, e.g. `[/usr/local/bin/notify, lpm-start]`.
    pub command: Vec<String>,
    /// Seconds it may run before it is killed and counted as failed; 300 by default.
    #[serde(default = "default_hook_timeout")]
    pub timeout_seconds: u32,
}

/// When a hook runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum HookPoint {
    /// Before the migration.
    PreMigrate,
    /// After it succeeded.
    PostMigrate,
    /// After it failed.
    OnFailure,
}

impl HookPoint {
    /// The name as written under `hooks:`.
    pub fn as_str(self) -> &'static str {
        match self {
            HookPoint::PreMigrate => "preMigrate",
            HookPoint::PostMigrate => "postMigrate",
            HookPoint::OnFailure => "onFailure",
        }
    }
}

impl std::fmt::Display for HookPoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

fn default_peerinact() -> u32 {
    DEFAULT_PEERINACT_SECONDS
}
fn default_powerha_timeout() -> u32 {
    DEFAULT_POWERHA_NODE_TIMEOUT_SECONDS
}
fn default_token() -> u32 {
    DEFAULT_COROSYNC_TOKEN_SECONDS
}
fn default_hook_timeout() -> u32 {
    300
}
fn yes() -> bool {
    true
}
fn is_true(b: &bool) -> bool {
    *b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_raise_is_above_the_unresponsive_time_with_a_margin() {
        let v = |u| VcsSpec { unresponsive_seconds: u, ..VcsSpec::default() };
        assert_eq!(v(Some(40)).raised_seconds(), 80);
        assert_eq!(v(Some(10)).raised_seconds(), 40);
        assert_eq!(v(None).raised_seconds(), 46);
        assert_eq!(VcsSpec { raise_to_seconds: Some(90), ..v(Some(40)) }.raised_seconds(), 90);
    }

    #[test]
    fn protection_follows_the_seed() {
        let h = |u| Heartbeat { timeout_seconds: 16, unresponsive_seconds: u };
        assert!(!h(Some(5)).needs_protection(), "less than peerinact: VCS operates normally");
        assert!(h(Some(16)).needs_protection(), "not less: raise");
        assert!(h(Some(40)).needs_protection());
        assert!(h(None).needs_protection(), "unknown: protect");
    }
}
