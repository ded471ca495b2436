//! The node transport: the cluster steps of a plan (`lltconfig -T peerinact:N` for VCS,
//! `clmgr` for PowerHA, `pcs node maintenance` for Pacemaker: every action whose
//! [`Op::runs_on`] is a node) run on the member partition's own operating system over SSH, as
//! the `Cluster`'s `ssh:` says ([`access`]), through the system's OpenSSH ([`ssh`]), with what
//! ssh and the node answer classified ([`classify`]). The HMC backend sends them here; the
//! simulator runs them on its simulated nodes.
//!
//! DESIGN §5: "Cluster node steps run over SSH on the nodes, not on the HMC."

pub mod access;
pub mod classify;
pub mod ssh;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::RwLock;

use powerplane_model::manifest::NodeSsh;
use powerplane_model::{Action, ClusterName, Estate, RunsOn};

use self::access::Access;
use super::{BackendError, Completion};

/// How each cluster's members are reached, learnt from the manifests, and the known-hosts file
/// their host keys are checked against.
pub struct Nodes {
    /// Each desired Cluster's `ssh:` (`None`: it gives none).
    clusters: RwLock<BTreeMap<ClusterName, Option<NodeSsh>>>,
    /// `--ssh-known-hosts`, else the user's own `known_hosts`.
    known_hosts: Option<PathBuf>,
}

impl Nodes {
    /// Nodes whose host keys are checked against `known_hosts` (`None`: the user's
    /// `~/.ssh/known_hosts` and the system's, as for `ssh`). No cluster is known until
    /// [`Nodes::adopt`].
    pub fn new(known_hosts: Option<PathBuf>) -> Self {
        Nodes { clusters: Default::default(), known_hosts }
    }

    /// From now on, nodes are reached as `desired`'s Clusters say.
    pub fn adopt(&self, desired: &Estate) {
        let clusters = desired.clusters.iter().map(|(n, c)| (n.clone(), c.spec.ssh.clone())).collect();
        *self.clusters.write().expect("not poisoned") = clusters;
    }

    /// How `action`'s node is reached, or why it cannot be.
    pub fn access(&self, action: &Action) -> Result<Access, BackendError> {
        let RunsOn::Node(node) = action.op.runs_on() else {
            return Err(BackendError::internal(format!("{} does not run on a cluster node", action.id)));
        };
        let cluster = action.op.cluster().ok_or_else(|| {
            BackendError::internal(format!("{} runs on the node {node} but names no cluster", action.id))
        })?;
        let clusters = self.clusters.read().expect("not poisoned");
        access::resolve(cluster, clusters.get(cluster), node, self.known_hosts.as_deref(), &action.op.command())
    }

    /// Runs `action`'s command line on its node and says what the node answered.
    pub async fn execute(&self, action: &Action) -> Result<Completion, BackendError> {
        let access = self.access(action)?;
        ssh::run(&access, &action.op.command()).await
    }
}
