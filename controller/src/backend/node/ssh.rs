//! A cluster step over SSH, through the `openssh` crate: the system's OpenSSH client logs in
//! to the node with the cluster's user, key and port (`~/.ssh/config` and the agent apply, as
//! for `ssh`), the host key always checked (`StrictHostKeyChecking=yes`, against
//! `--ssh-known-hosts` when given), never a password (`BatchMode=yes`). One connection per
//! step: steps are few (a handful per migration of a member), and no connection is left to go
//! stale between them.

use std::time::{Duration, Instant};

use openssh::{KnownHosts, SessionBuilder};

use super::access::Access;
use super::classify;
use crate::backend::{BackendError, Completion};

/// How long a login to a node may take.
const CONNECT_LIMIT: Duration = Duration::from_secs(20);
/// How long a step may run on the node (`lltconfig`, `clmgr stop node`, `pcs node
/// maintenance` return in seconds; `clmgr` stopping cluster services can take minutes).
const COMMAND_LIMIT: Duration = Duration::from_secs(600);

/// Runs `command` on the node `a` reaches, as it is (its words were quoted when it was
/// rendered), and says what the node answered.
pub async fn run(a: &Access, command: &str) -> Result<Completion, BackendError> {
    let started = Instant::now();
    let mut b = SessionBuilder::default();
    b.known_hosts_check(KnownHosts::Strict)
        .connect_timeout(CONNECT_LIMIT)
        .server_alive_interval(Duration::from_secs(15))
        .user(a.user.clone())
        .port(a.port);
    if let Some(k) = &a.identity {
        b.keyfile(k);
    }
    if let Some(k) = &a.known_hosts {
        b.user_known_hosts_file(k);
    }
    let session = match b.connect(&a.host).await {
        Ok(s) => s,
        Err(openssh::Error::Connect(e)) => return Err(classify::connect_error(a, &e.to_string())),
        Err(e) => {
            let cause = std::error::Error::source(&e).map(|c| format!(": {c}")).unwrap_or_default();
            return Err(classify::connect_error(a, &format!("{e}{cause}")));
        }
    };
    tracing::info!(node = %a.node, at = %a.describe(), %command, "running a cluster step on its node");
    let ran = tokio::time::timeout(COMMAND_LIMIT, session.raw_command(command).output()).await;
    let outcome = match ran {
        Err(_) => Err(BackendError::Timeout(COMMAND_LIMIT)),
        Ok(Err(e)) => Err(BackendError::Transient(format!(
            "the SSH connection to the cluster node {} ({}) failed while `{command}` ran: {e}",
            a.node,
            a.describe()
        ))),
        Ok(Ok(out)) => {
            let code = out.status.code();
            let alive = code == Some(0) || session.check().await.is_ok();
            classify::answer(
                a,
                command,
                code,
                &String::from_utf8_lossy(&out.stdout),
                &String::from_utf8_lossy(&out.stderr),
                alive,
            )
        }
    };
    let _ = session.close().await;
    let message = outcome?;
    Ok(Completion {
        message: if message.is_empty() { format!("done on {}", a.node) } else { message },
        duration: started.elapsed(),
        suspended: None,
    })
}
