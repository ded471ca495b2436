//! The HMC backend through a real OpenSSH server: `sshd` on 127.0.0.1 (a free port, generated
//! host and user keys) runs `powerplane sim hmc-shell` as its `ForceCommand` against a
//! simulated estate, and `powerplane --hmc ssh://...` plans through it. `.ci/run` installs
//! `openssh-server` and `openssh-client` when they are missing.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::support::Lab;

/// A running `sshd` whose every session is the emulated HMC over `state`.
struct Sshd {
    child: Child,
    port: u16,
    key: PathBuf,
    known_hosts: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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
    fn start(state: &Path) -> Sshd {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        keygen(&d.join("host"));
        keygen(&d.join("user"));
        std::fs::copy(d.join("user.pub"), d.join("authorized_keys")).unwrap();
        // sshd needs its privilege separation directory.
        let _ = std::fs::create_dir_all("/run/sshd");
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let user = std::env::var("USER").unwrap_or_else(|_| "root".into());
        let force = format!("{} --state-dir {} sim hmc-shell", env!("CARGO_BIN_EXE_powerplane"), state.display());
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {host}\nAuthorizedKeysFile {keys}\nPidFile {pid}\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n\
             PermitRootLogin prohibit-password\nAllowUsers {user}\nMaxSessions 32\nMaxStartups 64\n\
             ForceCommand {force}\nSetEnv NO_COLOR=1\nLogLevel ERROR\n",
            host = d.join("host").display(),
            keys = d.join("authorized_keys").display(),
            pid = d.join("sshd.pid").display(),
        );
        std::fs::write(d.join("sshd_config"), config).unwrap();
        let child = Command::new(tool("sshd"))
            .arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(d.join("sshd_config"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let host = std::fs::read_to_string(d.join("host.pub")).unwrap();
        let known_hosts = d.join("known_hosts");
        std::fs::write(&known_hosts, format!("[127.0.0.1]:{port} {host}")).unwrap();
        // Ready when it accepts connections.
        for _ in 0..500 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::yield_now();
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        Sshd { child, port, key: d.join("user"), known_hosts, _dir: dir }
    }

    fn url(&self) -> String {
        let user = std::env::var("USER").unwrap_or_else(|_| "root".into());
        format!("ssh://{user}@127.0.0.1:{}", self.port)
    }

    /// `ssh -p PORT ... COMMAND`, as an administrator would type it.
    fn ssh(&self, command: &str) -> std::process::Output {
        let user = std::env::var("USER").unwrap_or_else(|_| "root".into());
        Command::new(tool("ssh"))
            .args(["-F", "/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-p"])
            .arg(self.port.to_string())
            .arg("-i")
            .arg(&self.key)
            .arg("-o")
            .arg(format!("UserKnownHostsFile={}", self.known_hosts.display()))
            .arg(format!("{user}@127.0.0.1"))
            .arg(command)
            .output()
            .unwrap()
    }

    fn hmc_args(&self) -> Vec<String> {
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

/// The emulated HMC answers an administrator's `ssh` in the seed's format.
// seeds: ams-dual-vios-and-lpm.txt, Listing 2.
#[test]
fn ssh_to_the_emulator_answers_as_an_hmc() {
    let lab = Lab::new();
    lab.cmd(&["sim", "init"]).assert().success();
    let sshd = Sshd::start(&lab.state());
    let out =
        sshd.ssh("lshwres -r mem -m IBM_MMA_P6_102615A_SOLCHMS05 --level lpar -F lpar_name,curr_paging_vios_name");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "lpar_6_sotchax11,lpar_1_solchio05\n");
    // Only the HMC's commands run, as in its restricted shell.
    let out = sshd.ssh("cat /etc/passwd");
    assert_eq!(out.status.code(), Some(127), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty());
}

/// The same estate planned through SSH and in process gives the same plan.
#[test]
fn a_plan_through_ssh_is_the_plan_in_process() {
    let lab = Lab::new();
    let m = lab.manifests();
    let m = m.to_str().unwrap();
    let direct = lab.cmd(&["plan", m, "--format", "json"]).output().unwrap();
    assert_eq!(direct.status.code(), Some(2), "{}", String::from_utf8_lossy(&direct.stderr));
    let sshd = Sshd::start(&lab.state());
    let controller = tempfile::tempdir().unwrap();
    let mut args = sshd.hmc_args();
    args.extend(["plan".into(), m.into(), "--format".into(), "json".into()]);
    let through = Command::new(env!("CARGO_BIN_EXE_powerplane"))
        .arg("--state-dir")
        .arg(controller.path().join("state"))
        .args(&args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(through.status.code(), Some(2), "{}", String::from_utf8_lossy(&through.stderr));
    let doc = |o: &std::process::Output| -> serde_json::Value { serde_json::from_slice(&o.stdout).unwrap() };
    let (a, b) = (doc(&direct), doc(&through));
    for key in [
        "actions",
        "capacity",
        "changes",
        "deferred",
        "errors",
        "estimate",
        "held",
        "inProgress",
        "summary",
        "warnings",
    ] {
        assert_eq!(a.get(key), b.get(key), "`{key}` differs between the plan in process and through SSH");
    }
    assert!(a["actions"].as_array().is_some_and(|a| !a.is_empty()), "the lab plan has actions");
}

/// `powerplane --state-dir S --hmc ... ARGS` through `sshd`.
fn through(sshd: &Sshd, state: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_powerplane"))
        .arg("--state-dir")
        .arg(state)
        .args(sshd.hmc_args())
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

/// `(event, kind, object, command, result)` of each audit record: what ran, in order of
/// intent and outcome per action (times, hashes and the invocation differ by design).
fn audit_sequence(out: &std::process::Output) -> Vec<(String, String, String, String, String)> {
    let mut seq: Vec<_> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let s = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_owned();
            (s("event"), s("kind"), s("object"), s("command"), s("result"))
        })
        .collect();
    // Concurrent actions record in the order they ran, which differs between runs.
    seq.sort();
    seq
}

/// The lab applied through SSH converges as it does in process, with the same audit records;
/// the plan afterwards is empty through SSH too.
#[test]
fn apply_through_ssh_converges_with_the_same_audit_as_in_process() {
    let direct = Lab::new();
    let m = direct.manifests();
    let m = m.to_str().unwrap();
    let a = direct.cmd(&["apply", m, "--yes"]).output().unwrap();
    assert_eq!(a.status.code(), Some(0), "{}", String::from_utf8_lossy(&a.stdout));
    let direct_audit = direct.cmd(&["audit", "--json"]).output().unwrap();

    let emulated = Lab::new();
    emulated.cmd(&["sim", "init"]).assert().success();
    let sshd = Sshd::start(&emulated.state());
    let controller = tempfile::tempdir().unwrap();
    let state = controller.path().join("state");
    let out = through(&sshd, &state, &["apply", m, "--yes"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("Converged: the estate matches the manifests and nothing is in flight."), "{text}");
    assert!(text.contains("on the HMC ssh://"), "the title names the HMC: {text}");
    let again = through(&sshd, &state, &["plan", m]);
    assert_eq!(again.status.code(), Some(0), "{}", String::from_utf8_lossy(&again.stdout));
    let audit = Command::new(env!("CARGO_BIN_EXE_powerplane"))
        .arg("--state-dir")
        .arg(&state)
        .args(["audit", "--json"])
        .output()
        .unwrap();
    assert_eq!(audit_sequence(&audit), audit_sequence(&direct_audit));
    let verify = Command::new(env!("CARGO_BIN_EXE_powerplane"))
        .arg("--state-dir")
        .arg(&state)
        .args(["audit", "verify"])
        .output()
        .unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stdout));
}
