//! A real OpenSSH server for tests and benches: `sshd` on 127.0.0.1 (a free port, generated
//! ed25519 host and user keys) whose every session is `powerplane sim hmc-shell` (its
//! `ForceCommand`) over a state directory. `.ci/run` installs `openssh-server` and
//! `openssh-client` when they are missing.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A running `sshd` whose every session is the emulated HMC over `state`.
pub struct Sshd {
    pub child: Child,
    /// `sim hmc-serve`, when the emulator runs as one process.
    daemon: Option<Child>,
    pub port: u16,
    /// The loopback address it listens on (127.0.0.1, or another for a second HMC).
    pub host: String,
    /// The user sessions log in as.
    pub user: String,
    pub key: PathBuf,
    pub known_hosts: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(d) = self.daemon.as_mut() {
            let _ = d.kill();
            let _ = d.wait();
        }
    }
}

fn tool(name: &str) -> PathBuf {
    for dir in ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"] {
        let p = Path::new(dir).join(name);
        if p.exists() {
            return p;
        }
    }
    panic!("{name} is not installed: install Debian's openssh-server and openssh-client (`.ci/run` does)");
}

fn keygen(path: &Path) {
    let ok = Command::new(tool("ssh-keygen"))
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .status()
        .unwrap()
        .success();
    assert!(ok, "ssh-keygen failed");
}

impl Sshd {
    pub fn start(state: &Path) -> Sshd {
        Sshd::start_with(state, "", "")
    }

    /// The emulator as one process (`sim hmc-serve`, with `global` options such as
    /// `--sim-speedup 10`) behind sshd: sessions run at once.
    /// Every `viosvrcmd` is answered at once (`--rmc-latency 0`): tests check what is listed,
    /// the `hmc_observe` bench charges the latency ([`Sshd::with_daemon_charging`]).
    pub fn with_daemon(state: &Path, global: &str) -> Sshd {
        Sshd::with_daemon_charging(state, global, 0.0)
    }

    /// As [`Sshd::with_daemon`], each `viosvrcmd` taking `rmc_latency` seconds.
    pub fn with_daemon_charging(state: &Path, global: &str, rmc_latency: f64) -> Sshd {
        let mut d = Command::new(env!("CARGO_BIN_EXE_powerplane"));
        d.arg("--state-dir").arg(state).args(global.split_whitespace()).args(["sim", "hmc-serve", "--rmc-latency"]);
        d.arg(rmc_latency.to_string());
        let mut daemon = d.stderr(Stdio::piped()).stdout(Stdio::null()).spawn().unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(daemon.stderr.as_mut().unwrap()), &mut line).unwrap();
        assert!(line.contains("serving HMC sessions"), "{line}");
        let mut sshd = Sshd::start_with(state, global, "");
        sshd.daemon = Some(daemon);
        sshd
    }

    /// Stops the emulator's daemon (SIGTERM), which releases the state directory.
    pub fn stop_daemon(&mut self) {
        if let Some(mut d) = self.daemon.take() {
            let _ = Command::new("kill").arg("-TERM").arg(d.id().to_string()).status();
            assert!(d.wait().unwrap().success());
        }
    }

    /// With `global` options for the emulator (`--sim-speedup 10`) and options of `sim
    /// hmc-shell` (`--frames a,b`: the frames this HMC manages).
    pub fn start_with(state: &Path, global: &str, shell: &str) -> Sshd {
        Sshd::start_as(state, global, shell, &std::env::var("USER").unwrap_or_else(|_| "root".into()))
    }

    /// As [`Sshd::start_with`], sessions logging in as `user`.
    pub fn start_as(state: &Path, global: &str, shell: &str, user: &str) -> Sshd {
        Sshd::start_on("127.0.0.1", state, global, shell, user)
    }

    /// As [`Sshd::start_as`], listening on the loopback address `host` (Linux routes all of
    /// 127.0.0.0/8 to the loopback interface): a second emulated HMC with an address of its own,
    /// which `migrlpar --ip` and `mkauthkeys --ip` name.
    pub fn start_on(host: &str, state: &Path, global: &str, shell: &str, user: &str) -> Sshd {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        keygen(&d.join("host"));
        keygen(&d.join("user"));
        std::fs::copy(d.join("user.pub"), d.join("authorized_keys")).unwrap();
        // sshd needs its privilege separation directory.
        let _ = std::fs::create_dir_all("/run/sshd");
        let port = std::net::TcpListener::bind((host, 0)).unwrap().local_addr().unwrap().port();
        let force = format!(
            "{} --state-dir {} {global} sim hmc-shell --rmc-latency 0 {shell}",
            env!("CARGO_BIN_EXE_powerplane"),
            state.display()
        );
        let config = format!(
            "Port {port}\nListenAddress {host}\nHostKey {hostkey}\nAuthorizedKeysFile {keys}\nPidFile {pid}\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n\
             PermitRootLogin prohibit-password\nAllowUsers {user}\nMaxSessions 32\nMaxStartups 64\n\
             ForceCommand {force}\nSetEnv NO_COLOR=1\nLogLevel ERROR\n",
            hostkey = d.join("host").display(),
            keys = d.join("authorized_keys").display(),
            pid = d.join("sshd.pid").display(),
        );
        std::fs::write(d.join("sshd_config"), config).unwrap();
        if std::env::var("USER").map_or(true, |me| me != user) {
            // sshd reads the authorized keys as the user who logs in.
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
            std::fs::set_permissions(d.join("authorized_keys"), std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        let child = spawn_sshd(&d.join("sshd_config"));
        let hostkey = std::fs::read_to_string(d.join("host.pub")).unwrap();
        let known_hosts = d.join("known_hosts");
        std::fs::write(&known_hosts, format!("[{host}]:{port} {hostkey}")).unwrap();
        wait_listening(host, port);
        Sshd {
            child,
            daemon: None,
            port,
            host: host.to_owned(),
            user: user.to_owned(),
            key: d.join("user"),
            known_hosts,
            _dir: dir,
        }
    }

    pub fn url(&self) -> String {
        format!("ssh://{}@{}:{}", self.user, self.host, self.port)
    }

    /// Lets sessions log in with `other`'s key too (one `--ssh-identity` for two emulated HMCs).
    pub fn authorize(&self, other: &Sshd) {
        use std::io::Write;
        let key = std::fs::read_to_string(other.key.with_extension("pub")).unwrap();
        let mut f = std::fs::OpenOptions::new().append(true).open(self._dir.path().join("authorized_keys")).unwrap();
        f.write_all(key.as_bytes()).unwrap();
    }

    /// `ssh -p PORT ... COMMAND`, as an administrator would type it.
    pub fn ssh(&self, command: &str) -> std::process::Output {
        let user = &self.user;
        Command::new(tool("ssh"))
            .args(["-F", "/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-p"])
            .arg(self.port.to_string())
            .arg("-i")
            .arg(&self.key)
            .arg("-o")
            .arg(format!("UserKnownHostsFile={}", self.known_hosts.display()))
            .arg(format!("{user}@{}", self.host))
            .arg(command)
            .output()
            .unwrap()
    }

    pub fn hmc_args(&self) -> Vec<String> {
        vec![
            "--hmc".into(),
            self.url(),
            "--ssh-identity".into(),
            self.key.display().to_string(),
            "--ssh-known-hosts".into(),
            self.known_hosts.display().to_string(),
        ]
    }
}

/// A real `sshd` answering as the simulated cluster nodes of a state directory: each node on a
/// loopback address of its own (127.0.0.2, 127.0.0.3, ...), all on one port, every session
/// `powerplane sim node-shell NODE` (a `ForceCommand` per `Match LocalAddress`), which runs
/// `SSH_ORIGINAL_COMMAND` on that node as its shell would.
pub struct NodeSshd {
    pub child: Child,
    pub port: u16,
    /// The user sessions log in as.
    pub user: String,
    /// The private key the nodes accept.
    pub key: PathBuf,
    /// A known_hosts file holding every node's host key.
    pub known_hosts: PathBuf,
    /// Each node and its address.
    pub hosts: Vec<(String, String)>,
    _dir: tempfile::TempDir,
}

impl Drop for NodeSshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl NodeSshd {
    /// The nodes `nodes` of the simulated estate in `state`.
    pub fn start(state: &Path, nodes: &[&str]) -> NodeSshd {
        let user = std::env::var("USER").unwrap_or_else(|_| "root".into());
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        keygen(&d.join("host"));
        keygen(&d.join("user"));
        std::fs::copy(d.join("user.pub"), d.join("authorized_keys")).unwrap();
        let _ = std::fs::create_dir_all("/run/sshd");
        let hosts: Vec<(String, String)> =
            nodes.iter().enumerate().map(|(i, n)| ((*n).to_owned(), format!("127.0.0.{}", i + 2))).collect();
        // A port free on every address the nodes listen on.
        let port = loop {
            let port = std::net::TcpListener::bind("127.0.0.2:0").unwrap().local_addr().unwrap().port();
            if hosts.iter().all(|(_, h)| std::net::TcpListener::bind((h.as_str(), port)).is_ok()) {
                break port;
            }
        };
        let mut config = format!(
            "Port {port}\nHostKey {host}\nAuthorizedKeysFile {keys}\nPidFile {pid}\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n\
             PermitRootLogin prohibit-password\nAllowUsers {user}\nMaxSessions 32\nMaxStartups 64\n\
             SetEnv NO_COLOR=1\nLogLevel ERROR\n",
            host = d.join("host").display(),
            keys = d.join("authorized_keys").display(),
            pid = d.join("sshd.pid").display(),
        );
        for (_, h) in &hosts {
            config.push_str(&format!("ListenAddress {h}\n"));
        }
        for (n, h) in &hosts {
            config.push_str(&format!(
                "Match LocalAddress {h}\n  ForceCommand {} --state-dir {} sim node-shell {n}\n",
                env!("CARGO_BIN_EXE_powerplane"),
                state.display()
            ));
        }
        std::fs::write(d.join("sshd_config"), config).unwrap();
        let child = spawn_sshd(&d.join("sshd_config"));
        let key = std::fs::read_to_string(d.join("host.pub")).unwrap();
        let known_hosts = d.join("known_hosts");
        let lines: String = hosts.iter().map(|(_, h)| format!("[{h}]:{port} {key}")).collect();
        std::fs::write(&known_hosts, lines).unwrap();
        for (_, h) in &hosts {
            wait_listening(h, port);
        }
        NodeSshd { child, port, user, key: d.join("user"), known_hosts, hosts, _dir: dir }
    }

    /// The Cluster's `ssh:` that reaches these nodes, as YAML (flow style).
    pub fn cluster_ssh(&self) -> String {
        let hosts: Vec<String> = self.hosts.iter().map(|(n, h)| format!("{n}: {h}")).collect();
        format!(
            "{{user: {}, identity: {}, port: {}, hosts: {{{}}}}}",
            self.user,
            self.key.display(),
            self.port,
            hosts.join(", ")
        )
    }
}

/// `sshd -D -e -f CONFIG`, in the foreground, quiet.
fn spawn_sshd(config: &Path) -> Child {
    Command::new(tool("sshd"))
        .arg("-D")
        .arg("-e")
        .arg("-f")
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Returns once `host:port` accepts connections (sshd is ready), or after about five seconds.
fn wait_listening(host: &str, port: u16) {
    for _ in 0..500 {
        if std::net::TcpStream::connect((host, port)).is_ok() {
            return;
        }
        std::thread::yield_now();
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}
