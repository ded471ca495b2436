//! HMC command lines over SSH, through the `openssh` crate: it drives the system's OpenSSH
//! client with a multiplexed master connection (`ControlMaster`), so the administrator's
//! `~/.ssh/config`, jump hosts, agent and `known_hosts` apply as they do to `ssh` itself, host
//! keys are always checked (`StrictHostKeyChecking=yes`), and many commands share one
//! authenticated connection. No password is ever passed: authentication is OpenSSH's (keys,
//! agent), never a command-line argument or a log line.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use openssh::{KnownHosts, Session, SessionBuilder};
use tokio::sync::{Mutex, Semaphore};

use super::transport::{ShellOutput, Transport};
use crate::backend::BackendError;

/// How to reach one HMC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `ssh://USER@HOST[:PORT]`, as given.
    pub url: String,
    /// The private key to authenticate with (else OpenSSH's defaults and agent).
    pub identity: Option<PathBuf>,
    /// The known-hosts file to check the HMC's host key against (else the user's).
    pub known_hosts: Option<PathBuf>,
    /// `url` parsed (the `url` crate, WHATWG URL rules; `ssh` is not one of their special
    /// schemes, so the host is kept as written), checked to have a user, a host and nothing
    /// else but a port.
    address: url::Url,
}

impl Endpoint {
    /// Checks `url` is `ssh://USER@HOST[:PORT]`: the form of an SSH URI (RFC 3986 authority,
    /// `ssh://[user@]host[:port]`, as ssh(1) accepts it as its destination), with the user
    /// required and no password (authentication is OpenSSH's).
    pub fn parse(url: &str, identity: Option<PathBuf>, known_hosts: Option<PathBuf>) -> Result<Self, String> {
        let usage = || format!("--hmc {url}: give ssh://USER@HOST[:PORT]");
        let no_password = || {
            format!(
                "--hmc {url}: give ssh://USER@HOST[:PORT] (no password in the address: use a key, --ssh-identity, or the agent)"
            )
        };
        let rest = url.strip_prefix("ssh://").ok_or_else(usage)?;
        let address = match url::Url::parse(url) {
            Ok(address) => address,
            Err(url::ParseError::InvalidPort) => {
                let port = rest.rsplit_once(':').map_or(rest, |(_, p)| p);
                return Err(format!("--hmc {url}: the port {port:?} is not a number"));
            }
            Err(_) if !rest.contains('@') => {
                return Err(format!("--hmc {url}: give the HMC user, ssh://hscroot@{rest}"));
            }
            Err(_) => return Err(no_password()),
        };
        if address.username().is_empty() && !rest.contains('@') {
            return Err(format!("--hmc {url}: give the HMC user, ssh://hscroot@{rest}"));
        }
        let only_host = address.path().is_empty() && address.query().is_none() && address.fragment().is_none();
        let host = address.host_str().unwrap_or_default();
        if address.username().is_empty() || address.password().is_some() || host.is_empty() || !only_host {
            return Err(no_password());
        }
        Ok(Endpoint { url: url.to_owned(), identity, known_hosts, address })
    }

    /// The HMC as the other HMCs reach it (the address's host: what `migrlpar --ip` names) and
    /// the user powerplane works as on it; `None` for a host that is no valid HMC address.
    pub fn console(&self) -> Option<(powerplane_model::HmcAddress, Option<powerplane_model::HmcUser>)> {
        let user = powerplane_model::HmcUser::new(self.address.username()).ok();
        let host = powerplane_model::HmcAddress::new(self.host_port().0).ok()?;
        Some((host, user))
    }

    /// The host and port of the address (22 when it names none; an IPv6 address without its
    /// brackets).
    pub fn host_port(&self) -> (String, u16) {
        let host = match self.address.host() {
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            _ => self.address.host_str().unwrap_or_default().to_owned(),
        };
        (host, self.address.port().unwrap_or(22))
    }
}

/// Why ssh could not connect, when the reason is the HMC's name: it does not resolve (a typo,
/// a name this host's DNS does not know: retrying will not help), or DNS could not answer now
/// (a retry may). `None` when the name resolves, or is an IP address.
async fn name_problem(endpoint: &Endpoint) -> Option<BackendError> {
    let (host, port) = endpoint.host_port();
    if host.parse::<std::net::IpAddr>().is_ok() {
        return None;
    }
    let e = tokio::net::lookup_host((host.as_str(), port)).await.err()?;
    let dns = e.to_string();
    // getaddrinfo's EAI_AGAIN: the resolver did not answer, which a retry may fix.
    if dns.contains("Temporary failure") || dns.contains("try again") {
        return Some(BackendError::Transient(format!(
            "the HMC's name {host} (--hmc {}) could not be resolved just now: DNS did not answer ({dns}); retry, or give the HMC's IP address",
            endpoint.url
        )));
    }
    Some(BackendError::refused_plain(format!(
        "the HMC's name {host} (--hmc {}) does not resolve: DNS knows no such host ({dns}). Check the spelling in --hmc, or give the HMC's IP address",
        endpoint.url
    )))
}

/// Sessions one master connection carries at once: OpenSSH's sshd allows ten per connection
/// unless configured otherwise (`MaxSessions`, sshd_config(5)); two are left for the master's
/// own checks.
pub const SESSIONS_PER_CONNECTION: usize = 8;

/// Commands to one HMC over multiplexed SSH connections, at most `parallel` at a time: as many
/// master connections as that takes at [`SESSIONS_PER_CONNECTION`] sessions each.
pub struct Ssh {
    endpoint: Endpoint,
    connections: Vec<Connection>,
    parallel: usize,
}

/// One master connection and the sessions it may carry.
struct Connection {
    session: Mutex<Option<Arc<Session>>>,
    permits: Semaphore,
}

impl Ssh {
    /// Connects lazily, on the first command.
    pub fn new(endpoint: Endpoint, parallel: usize) -> Self {
        let parallel = parallel.max(1);
        let connections = (0..parallel.div_ceil(SESSIONS_PER_CONNECTION))
            .map(|i| {
                let n = SESSIONS_PER_CONNECTION.min(parallel - i * SESSIONS_PER_CONNECTION);
                Connection { session: Mutex::new(None), permits: Semaphore::new(n) }
            })
            .collect();
        Ssh { endpoint, connections, parallel }
    }

    async fn session(&self, c: &Connection) -> Result<Arc<Session>, BackendError> {
        let mut s = c.session.lock().await;
        if let Some(s) = s.as_ref() {
            return Ok(s.clone());
        }
        let mut b = SessionBuilder::default();
        b.known_hosts_check(KnownHosts::Strict)
            .connect_timeout(Duration::from_secs(20))
            .server_alive_interval(Duration::from_secs(15));
        if let Some(k) = &self.endpoint.identity {
            b.keyfile(k);
        }
        if let Some(k) = &self.endpoint.known_hosts {
            b.user_known_hosts_file(k);
        }
        let session = match b.connect(&self.endpoint.url).await {
            Ok(s) => s,
            // ssh says only that it could not connect: a name that does not resolve is said
            // so (checked after ssh failed, so that a Host alias of ssh_config still works).
            Err(e) => {
                return Err(match name_problem(&self.endpoint).await {
                    Some(named) => named,
                    None => BackendError::Transient(format!(
                        "cannot connect to {}: {e}; check the address, the key (--ssh-identity) and the host key (--ssh-known-hosts)",
                        self.endpoint.url
                    )),
                });
            }
        };
        let session = Arc::new(session);
        *s = Some(session.clone());
        Ok(session)
    }

    /// Forgets every master connection, so that the next commands connect again: when one
    /// fails the others are suspect too (an HMC restarted, a network cut, sshd's sessions
    /// killed), and a command sent over a dead master fails instead of being carried out.
    /// Commands running on one that is alive keep it until they end.
    async fn forget(&self) {
        for c in &self.connections {
            c.session.lock().await.take();
        }
    }
}

impl Transport for Ssh {
    async fn run(&self, script: &str) -> Result<ShellOutput, BackendError> {
        // The connection with the most sessions free (the first while none is busy, so that a
        // small estate opens one).
        let c = self
            .connections
            .iter()
            .rev()
            .max_by_key(|c| c.permits.available_permits())
            .expect("at least one connection");
        let _permit = c.permits.acquire().await.map_err(|_| BackendError::internal("closed"))?;
        let session = self.session(c).await?;
        // The script is the remote command line as it is: its words were quoted when it was
        // built, and names cannot hold what a shell acts on (`names.rs`).
        match session.raw_command(script).output().await {
            Ok(out) => match out.status.code() {
                // 255 is ssh's own failure (the connection), not the HMC's answer.
                Some(255) | None => {
                    self.forget().await;
                    Err(BackendError::Transient(format!(
                        "the SSH connection to {} failed: {}",
                        self.endpoint.url,
                        String::from_utf8_lossy(&out.stderr).trim()
                    )))
                }
                // A master connection that died answers every command with an error of its
                // own: forget it, so that the next command connects again.
                Some(code) if code != 0 && session.check().await.is_err() => {
                    self.forget().await;
                    Err(BackendError::Transient(format!("the SSH connection to {} was lost", self.endpoint.url)))
                }
                Some(code) => Ok(ShellOutput {
                    stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                    stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
                    code,
                }),
            },
            Err(e) => {
                self.forget().await;
                let cause = std::error::Error::source(&e).map(|c| format!(" ({c})")).unwrap_or_default();
                Err(BackendError::Transient(format!("the SSH connection to {} failed: {e}{cause}", self.endpoint.url)))
            }
        }
    }

    fn describe(&self) -> String {
        self.endpoint.url.clone()
    }

    fn console(&self) -> Option<(powerplane_model::HmcAddress, Option<powerplane_model::HmcUser>)> {
        self.endpoint.console()
    }

    fn sessions(&self) -> usize {
        self.parallel
    }
}

#[cfg(test)]
mod tests {
    use super::{BackendError, Endpoint, Ssh, Transport};

    #[test]
    fn the_host_and_port_are_read_from_the_address() {
        let at = |u: &str| Endpoint::parse(u, None, None).unwrap().host_port();
        assert_eq!(at("ssh://hscroot@hmc1"), ("hmc1".into(), 22));
        assert_eq!(at("ssh://hscroot@hmc1.example.com:2222"), ("hmc1.example.com".into(), 2222));
        assert_eq!(at("ssh://hscroot@[::1]:2022"), ("::1".into(), 2022));
    }

    /// Issue 33 item 14: a name under `.invalid` never resolves (RFC 6761): the error says
    /// that the name does not resolve, not "temporarily unavailable", and is not retried —
    /// unless this host's resolver cannot answer at all, which is said as such.
    #[tokio::test]
    async fn a_name_that_does_not_resolve_is_said_so() {
        let e = Endpoint::parse("ssh://hscroot@hmc.example.invalid", None, None).unwrap();
        let err = Ssh::new(e, 1).run("lshmc -V").await.unwrap_err();
        let text = err.to_string();
        let offline = tokio::net::lookup_host(("hmc.example.invalid", 22))
            .await
            .err()
            .is_some_and(|e| e.to_string().contains("Temporary failure"));
        if offline {
            assert!(text.contains("could not be resolved just now") && err.is_transient(), "{text}");
        } else {
            assert!(matches!(err, BackendError::Refused { code: None, .. }), "{err:?}");
            assert!(text.contains("the HMC's name hmc.example.invalid") && text.contains("does not resolve"), "{text}");
            assert!(text.contains("Check the spelling in --hmc"), "{text}");
            assert!(!text.contains("temporarily unavailable"), "{text}");
        }
    }

    #[test]
    fn addresses_are_checked() {
        assert!(Endpoint::parse("ssh://hscroot@hmc1", None, None).is_ok());
        assert!(Endpoint::parse("ssh://hscroot@127.0.0.1:2222", None, None).is_ok());
        for bad in ["hmc1", "ssh://hmc1", "ssh://hscroot:secret@hmc1", "ssh://hscroot@hmc1:x", "ssh://@hmc1"] {
            assert!(Endpoint::parse(bad, None, None).is_err(), "{bad}");
        }
    }

    #[test]
    fn each_refusal_says_what_to_give() {
        let refused = |u: &str| Endpoint::parse(u, None, None).unwrap_err();
        assert_eq!(refused("hmc1"), "--hmc hmc1: give ssh://USER@HOST[:PORT]");
        assert_eq!(refused("ssh://hmc1"), "--hmc ssh://hmc1: give the HMC user, ssh://hscroot@hmc1");
        assert_eq!(refused("ssh://hscroot@hmc1:x"), "--hmc ssh://hscroot@hmc1:x: the port \"x\" is not a number");
        assert_eq!(
            refused("ssh://hscroot@hmc1:70000"),
            "--hmc ssh://hscroot@hmc1:70000: the port \"70000\" is not a number"
        );
        for bad in ["ssh://hscroot:secret@hmc1", "ssh://@hmc1", "ssh://hscroot@hmc1/x", "ssh://hscroot@hmc1/"] {
            assert!(
                refused(bad).ends_with("(no password in the address: use a key, --ssh-identity, or the agent)"),
                "{bad}"
            );
        }
        let e = Endpoint::parse("ssh://hscroot@hmc1.example.com:2222", None, None).unwrap();
        assert_eq!(e.url, "ssh://hscroot@hmc1.example.com:2222", "kept as given");
        let (host, user) = e.console().unwrap();
        assert_eq!(
            (host.to_string(), user.map(|u| u.to_string())),
            ("hmc1.example.com".into(), Some("hscroot".into()))
        );
    }
}
