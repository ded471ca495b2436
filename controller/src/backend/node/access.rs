//! Where and as whom a cluster step logs in: the `Cluster`'s `ssh:` (user, key, port) and the
//! member's host (its `hosts` entry, else the partition's name).

use std::path::{Path, PathBuf};

use powerplane_model::manifest::{NodeSsh, ssh_word_problem};
use powerplane_model::{ClusterName, PartitionName};

use crate::backend::BackendError;

/// How one cluster node is reached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Access {
    /// The cluster.
    pub cluster: ClusterName,
    /// The member partition.
    pub node: PartitionName,
    /// The user the step runs as.
    pub user: String,
    /// The host name or address.
    pub host: String,
    /// The SSH port.
    pub port: u16,
    /// The private key, else OpenSSH's defaults and agent.
    pub identity: Option<PathBuf>,
    /// The known-hosts file the host key is checked against, else the user's.
    pub known_hosts: Option<PathBuf>,
}

impl Access {
    /// `root@xray.example.com port 22`, for messages.
    pub fn describe(&self) -> String {
        format!("{}@{} port {}", self.user, self.host, self.port)
    }

    /// The known-hosts file, for messages.
    pub fn known_hosts_file(&self) -> String {
        self.known_hosts.as_ref().map_or("~/.ssh/known_hosts".to_owned(), |p| p.display().to_string())
    }
}

/// How `node` of `cluster` (whose `ssh:` is `ssh`; `None` when the manifests have no such
/// cluster) is reached to run `command`, or why it cannot be: the cluster gives no `ssh:`, or
/// a user or host that ssh cannot be given (validation refuses those first).
pub fn resolve(
    cluster: &ClusterName,
    ssh: Option<&Option<NodeSsh>>,
    node: &PartitionName,
    known_hosts: Option<&Path>,
    command: &str,
) -> Result<Access, BackendError> {
    let ssh = match ssh {
        Some(Some(s)) => s,
        Some(None) => {
            return Err(BackendError::refused_plain(format!(
                "`{command}` runs on the cluster node {node}, and Cluster/{cluster} says no way to reach its members: add `ssh: {{user: root}}` to its spec (with `identity`, `port` and `hosts` as needed; see the README, \"Cluster nodes under --hmc\"); nothing was run"
            )));
        }
        None => {
            return Err(BackendError::refused_plain(format!(
                "`{command}` runs on the cluster node {node}, but the manifests have no Cluster/{cluster} to say how to reach it: run it on {node} yourself, or restore the cluster's manifest; nothing was run"
            )));
        }
    };
    let host = ssh.host_of(node);
    for (what, word) in [("user", ssh.user.as_str()), ("host", host.as_str())] {
        if let Some(why) = ssh_word_problem(word) {
            return Err(BackendError::refused_plain(format!(
                "the node {what} {word:?} of Cluster/{cluster} cannot be given to ssh: {why}; fix its `ssh:` (`powerplane validate` says where); nothing was run"
            )));
        }
    }
    Ok(Access {
        cluster: cluster.clone(),
        node: node.clone(),
        user: ssh.user.clone(),
        host,
        port: ssh.port(),
        identity: ssh.identity.clone(),
        known_hosts: known_hosts.map(Path::to_path_buf),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ssh() -> NodeSsh {
        NodeSsh {
            user: "root".into(),
            identity: None,
            port: None,
            hosts: [(PartitionName::new("xray").unwrap(), "10.0.0.5".to_owned())].into(),
        }
    }

    #[test]
    fn a_member_is_reached_at_its_host_or_its_name() {
        let c = ClusterName::new("sapvcs").unwrap();
        let at = |n: &str| resolve(&c, Some(&Some(ssh())), &PartitionName::new(n).unwrap(), None, "x").unwrap();
        assert_eq!(at("xray").describe(), "root@10.0.0.5 port 22");
        assert_eq!(at("yankee").describe(), "root@yankee port 22");
        assert_eq!(at("yankee").known_hosts_file(), "~/.ssh/known_hosts");
    }

    #[test]
    fn a_cluster_without_ssh_is_refused_with_what_to_do() {
        let c = ClusterName::new("sapvcs").unwrap();
        let n = PartitionName::new("xray").unwrap();
        let e = resolve(&c, Some(&None), &n, None, "lltconfig -T peerinact:8000").unwrap_err();
        assert!(!e.is_transient());
        let text = e.to_string();
        assert!(text.contains("add `ssh: {user: root}`") && text.contains("nothing was run"), "{text}");
        let e = resolve(&c, None, &n, None, "lltconfig -T peerinact:8000").unwrap_err();
        assert!(e.to_string().contains("no Cluster/sapvcs"), "{e}");
        let bad = NodeSsh { user: "-oProxyCommand=sh".into(), ..ssh() };
        let e = resolve(&c, Some(&Some(bad)), &n, None, "x").unwrap_err();
        assert!(e.to_string().contains("starts with `-`"), "{e}");
    }
}
