//! What ssh and a node answered, as an outcome: a command the node refused (a non-zero exit
//! status) is a permanent failure with the node's own message; a host key that is unknown or
//! changed, a login refused, or a host name that does not resolve are permanent too, each with
//! what to do; a connection that could not be made or was lost is transient (a retry may
//! succeed).

use super::access::Access;
use crate::backend::BackendError;

/// Why ssh could not log in to the node, from what ssh printed (`stderr`).
pub fn connect_error(a: &Access, stderr: &str) -> BackendError {
    let said = stderr.trim().replace("\r\n", "; ").replace('\n', "; ");
    let node = &a.node;
    if said.contains("Host key verification failed")
        || said.contains("host key is known")
        || said.contains("HOST IDENTIFICATION HAS CHANGED")
        || said.contains("Host key for")
    {
        let file = a.known_hosts_file();
        return BackendError::refused_plain(format!(
            "the host key of the cluster node {node} ({}) is not in {file}, or differs from the one there, so ssh did not log in and nothing was run on it (ssh: {said}). Read the node's key fingerprint on its console (`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`), then add its key: `ssh-keyscan -p {} {} >> {file}` and compare the fingerprints (`ssh-keygen -lf {file}`); give the file with --ssh-known-hosts",
            a.describe(),
            a.port,
            a.host,
        ));
    }
    if said.contains("Permission denied") || said.contains("Too many authentication failures") {
        let key = a.identity.as_ref().map_or("your key (OpenSSH's defaults or the agent)".to_owned(), |k| {
            format!("the public key of {}", k.display())
        });
        return BackendError::refused_plain(format!(
            "the cluster node {node} refused the login of {} (ssh: {said}); nothing was run on it. Add {key} to {}'s ~/.ssh/authorized_keys on {node}, or set `ssh.user`/`ssh.identity` of Cluster/{}",
            a.describe(),
            a.user,
            a.cluster,
        ));
    }
    if said.contains("Could not resolve hostname") {
        if said.contains("Temporary failure") {
            return BackendError::Transient(format!(
                "the host {} of the cluster node {node} could not be resolved just now (ssh: {said}); retry, or give its address under `ssh.hosts` of Cluster/{}",
                a.host, a.cluster
            ));
        }
        return BackendError::refused_plain(format!(
            "the host {} of the cluster node {node} does not resolve (ssh: {said}); nothing was run on it. Give the node's host name or address under `ssh.hosts` of Cluster/{} (the partition's name is used when none is given)",
            a.host, a.cluster
        ));
    }
    BackendError::Transient(format!(
        "cannot connect to the cluster node {node} ({}): {said}; nothing was run on it. Check that the node runs and its sshd listens there",
        a.describe()
    ))
}

/// The outcome of `command` on the node: its output when it exited 0. `code` is the exit
/// status (`None`: killed by a signal); `alive` whether the connection was still up after it
/// (ssh's own failures also exit 255).
pub fn answer(
    a: &Access,
    command: &str,
    code: Option<i32>,
    stdout: &str,
    stderr: &str,
    alive: bool,
) -> Result<String, BackendError> {
    if code == Some(0) {
        return Ok(stdout.trim().to_owned());
    }
    let node = &a.node;
    if !alive {
        return Err(BackendError::Transient(format!(
            "the SSH connection to the cluster node {node} ({}) was lost while `{command}` ran: {}; whether it took effect is learnt when it runs again",
            a.describe(),
            stderr.trim()
        )));
    }
    let said = if stderr.trim().is_empty() { stdout.trim() } else { stderr.trim() };
    let status = code.map_or("killed by a signal".to_owned(), |c| format!("exit status {c}"));
    Err(BackendError::refused_plain(format!(
        "`{command}` failed on the cluster node {node} ({status}): {}",
        if said.is_empty() { "it printed nothing" } else { said }
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use powerplane_model::{ClusterName, PartitionName};

    fn access() -> Access {
        Access {
            cluster: ClusterName::new("sapvcs").unwrap(),
            node: PartitionName::new("xray").unwrap(),
            user: "root".into(),
            host: "127.0.0.2".into(),
            port: 2222,
            identity: None,
            known_hosts: Some("/etc/powerplane/known_hosts".into()),
        }
    }

    /// OpenSSH 9's words when the key is unknown under StrictHostKeyChecking=yes.
    #[test]
    fn an_unknown_host_key_is_refused_with_what_to_do() {
        let e = connect_error(
            &access(),
            "No ED25519 host key is known for [127.0.0.2]:2222 and you have requested strict checking.\r\nHost key verification failed.\r\n",
        );
        assert!(!e.is_transient(), "{e:?}");
        let t = e.to_string();
        assert!(t.contains("host key of the cluster node xray"), "{t}");
        assert!(t.contains("ssh-keyscan -p 2222 127.0.0.2 >> /etc/powerplane/known_hosts"), "{t}");
        assert!(t.contains("nothing was run"), "{t}");
    }

    #[test]
    fn a_refused_login_and_an_unknown_name_are_permanent_a_refused_connection_transient() {
        let e = connect_error(&access(), "root@127.0.0.2: Permission denied (publickey).");
        assert!(!e.is_transient() && e.to_string().contains("authorized_keys"), "{e}");
        let e = connect_error(&access(), "ssh: Could not resolve hostname xray: Name or service not known");
        assert!(!e.is_transient() && e.to_string().contains("ssh.hosts"), "{e}");
        let e = connect_error(&access(), "ssh: connect to host 127.0.0.2 port 2222: Connection refused");
        assert!(e.is_transient(), "{e}");
    }

    #[test]
    fn a_command_the_node_refuses_is_permanent_with_its_message() {
        let a = access();
        assert_eq!(answer(&a, "lltconfig -T peerinact:8000", Some(0), "done\n", "", true), Ok("done".into()));
        let e = answer(&a, "lltconfig -T peerinact:8000", Some(1), "", "lltconfig: LLT is not running\n", true)
            .unwrap_err();
        assert!(!e.is_transient());
        assert_eq!(
            e.to_string(),
            "`lltconfig -T peerinact:8000` failed on the cluster node xray (exit status 1): lltconfig: LLT is not running"
        );
        let e = answer(&a, "lltconfig -T peerinact:8000", Some(255), "", "", false).unwrap_err();
        assert!(e.is_transient(), "{e}");
    }
}
