//! Migrations through two emulated HMCs behind real sshds (issue 32 item 6): the lab's second
//! JS22 blade is managed by another HMC, on another loopback address. A move there names that
//! HMC (`migrlpar --ip 127.0.0.3 -u USER`), waits with the fix while the first HMC's key is not
//! authorized on it (`mkauthkeys -g`, HSCL3653), then converges; a partition with a physical
//! I/O slot is refused before any migration starts.
// seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, lines 1504-1518 (`--ip
// [target hmc] -u [remote user]`), lines 1531-1543 (HSCL3653, `mkauthkeys -g --ip ... -u
// hscroot`); lpm-js22-walkthrough.txt, lines 31 and 48 (no physical adapters).

use std::process::{Command, Output};

use super::sshd::Sshd;
use super::support::{Lab, root, text};

/// The HMC managing every frame but the second blade.
const HMC_A: &str = "127.0.0.1";
/// The HMC managing the second blade (`js22_slot14`).
const HMC_B: &str = "127.0.0.3";

/// Two emulated HMCs over one simulated estate, and the controller's state directory.
struct TwoHmcs {
    lab: Lab,
    a: Sshd,
    b: Sshd,
    controller: tempfile::TempDir,
    known_hosts: std::path::PathBuf,
}

fn user() -> String {
    std::env::var("USER").unwrap_or_else(|_| "root".into())
}

/// The lab's inventory with each frame's HMC (`hmc:`), as `edit` changes it further.
fn inventory(edit: impl Fn(String) -> String) -> String {
    let lab = std::fs::read_to_string(root().join("examples/lab/inventory.yaml")).unwrap();
    let docs: Vec<String> = lab
        .split("\n---\n")
        .map(|doc| {
            if !doc.contains("kind: FrameHardware") {
                return doc.to_owned();
            }
            let hmc = if doc.contains("  name: js22_slot14\n") { HMC_B } else { HMC_A };
            doc.replacen("\nspec:\n", &format!("\nspec:\n  hmc: {{address: \"{hmc}\", user: {}}}\n", user()), 1)
        })
        .collect();
    edit(docs.join("\n---\n"))
}

impl TwoHmcs {
    /// The lab with bxaix85 pinned to the second blade, its inventory as `edit` changes it.
    fn new(edit: impl Fn(String) -> String) -> TwoHmcs {
        let lab = Lab::new();
        let path = lab.dir.path().join("inventory.yaml");
        std::fs::write(&path, inventory(edit)).unwrap();
        lab.cmd(&["--inventory", path.to_str().unwrap(), "sim", "init"]).assert().success();
        lab.edit("js22.yaml", "placement: {anyOf: [js22_slot13, js22_slot14]}", "placement: {frame: js22_slot14}");
        let a = Sshd::start_on(HMC_A, &lab.state(), "", &format!("--console {HMC_A}"), &user());
        let b = Sshd::start_on(HMC_B, &lab.state(), "", &format!("--console {HMC_B}"), &user());
        // One identity and one known-hosts file reach both.
        b.authorize(&a);
        let controller = tempfile::tempdir().unwrap();
        let known_hosts = controller.path().join("known_hosts");
        let both = format!(
            "{}\n{}\n",
            std::fs::read_to_string(&a.known_hosts).unwrap().trim(),
            std::fs::read_to_string(&b.known_hosts).unwrap().trim()
        );
        std::fs::write(&known_hosts, both).unwrap();
        TwoHmcs { lab, a, b, controller, known_hosts }
    }

    /// `powerplane --hmc A --hmc B ARGS`.
    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_powerplane"))
            .arg("--state-dir")
            .arg(self.controller.path().join("state"))
            .args(["--hmc", &self.a.url(), "--hmc", &self.b.url()])
            .arg("--ssh-identity")
            .arg(&self.a.key)
            .arg("--ssh-known-hosts")
            .arg(&self.known_hosts)
            .args(args)
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG")
            .output()
            .unwrap()
    }

    fn manifests(&self) -> String {
        self.lab.manifests().to_str().unwrap().to_owned()
    }

    /// The audit records of the controller's state directory.
    fn audit(&self) -> Vec<serde_json::Value> {
        let out = Command::new(env!("CARGO_BIN_EXE_powerplane"))
            .arg("--state-dir")
            .arg(self.controller.path().join("state"))
            .args(["audit", "--json"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)))
}

/// The move to the other HMC's blade waits, with the command that fixes it, while HMC A's key
/// is not authorized on HMC B: `plan` exits 2 and `apply` 1 (not converged), nothing is
/// migrated. Once the fix has run on HMC A the plan renders `--ip 127.0.0.3 -u USER`, `apply`
/// converges and `plan` is then empty.
#[test]
fn a_move_to_another_hmcs_frame_waits_for_its_keys_then_converges() {
    let t = TwoHmcs::new(|i| i);
    let m = t.manifests();
    let fix = format!("mkauthkeys -g --ip {HMC_B} -u {}", user());
    let plan = t.run(&["plan", &m, "--format", "json"]);
    assert_eq!(plan.status.code(), Some(2), "{}\n{}", text(&plan), String::from_utf8_lossy(&plan.stderr));
    let v = json(&plan);
    let deferred = v["deferred"].as_array().unwrap();
    assert!(
        deferred.iter().any(|d| {
            let d = d.as_str().unwrap();
            d.contains("Partition/bxaix85") && d.contains(&format!("run `{fix}` on {HMC_A}")) && d.contains("HSCL3653")
        }),
        "{deferred:#?}"
    );
    assert!(v["actions"].as_array().unwrap().iter().all(|a| a["kind"] != "MigratePartition"), "{v:#}");
    let apply = t.run(&["apply", &m, "--yes"]);
    let out = text(&apply);
    assert_eq!(apply.status.code(), Some(1), "{out}\n{}", String::from_utf8_lossy(&apply.stderr));
    assert!(out.contains("Not converged") && out.contains(&fix), "{out}");
    assert!(t.audit().iter().all(|r| r["kind"] != "MigratePartition"), "nothing was migrated");

    // The fix, on HMC A, as an administrator types it (the emulator asks for no password).
    let done = t.a.ssh(&format!("{fix} --passwd abc123"));
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));

    let migrate = format!("migrlpar -o m -m js22_slot13 -t js22_slot14 --ip {HMC_B} -u {} -p bxaix85", user());
    let plan = t.run(&["plan", &m, "--format", "json"]);
    assert_eq!(plan.status.code(), Some(2), "{}", text(&plan));
    let v = json(&plan);
    assert!(v["deferred"].as_array().unwrap().is_empty(), "{v:#}");
    let commands: Vec<&str> = v["actions"].as_array().unwrap().iter().filter_map(|a| a["command"].as_str()).collect();
    assert!(commands.contains(&migrate.as_str()), "{commands:#?}");
    let apply = t.run(&["apply", &m, "--yes"]);
    let out = text(&apply);
    assert_eq!(apply.status.code(), Some(0), "{out}\n{}", String::from_utf8_lossy(&apply.stderr));
    assert!(out.contains("Converged"), "{out}");
    assert!(
        t.audit().iter().any(|r| r["event"] == "intent" && r["command"] == migrate.as_str()),
        "HMC A was sent the reviewed command"
    );
    let again = t.run(&["plan", &m]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    // HMC B lists the partition on its blade now.
    let listed = t.b.ssh("lssyscfg -r lpar -m js22_slot14 -F name");
    assert!(String::from_utf8_lossy(&listed.stdout).lines().any(|l| l == "bxaix85"), "{listed:?}");
}

/// A partition with a physical I/O slot is refused with the slot named, before any migration
/// starts: `plan` and `apply` exit 1 and no `migrlpar` reaches either HMC.
#[test]
fn a_partition_with_physical_io_is_refused_before_any_migration() {
    let t = TwoHmcs::new(|i| {
        // HMC A's key is authorized on B already: only the slot stands in the way.
        let i = i.replacen(
            &format!("hmc: {{address: \"{HMC_A}\", user: {}}}", user()),
            &format!("hmc: {{address: \"{HMC_A}\", user: {}, authorizedOn: [\"{HMC_B}\"]}}", user()),
            usize::MAX,
        );
        let blade = "  name: js22_slot13\n  labels: {site: lab}\nspec:\n";
        assert!(i.contains(blade), "the lab inventory names the first blade so");
        i.replacen(blade, &format!("{blade}  ioSlots: [{{partition: bxaix85, drcIndex: \"21010002\"}}]\n"), 1)
    });
    let m = t.manifests();
    let plan = t.run(&["plan", &m, "--format", "json"]);
    assert_eq!(plan.status.code(), Some(1), "{}\n{}", text(&plan), String::from_utf8_lossy(&plan.stderr));
    let v = json(&plan);
    let errors = v["errors"].as_array().unwrap();
    assert!(
        errors.iter().any(|e| {
            let e = e.as_str().unwrap();
            e.contains("Partition/bxaix85 has physical I/O slots (21010002 (required))")
                && e.contains("no dedicated physical adapters")
        }),
        "{errors:#?}"
    );
    let apply = t.run(&["apply", &m, "--yes"]);
    assert_eq!(apply.status.code(), Some(1), "{}", text(&apply));
    assert!(t.audit().iter().all(|r| r["kind"] != "MigratePartition" && r["kind"] != "ValidateMigration"));
}

/// The second blade's VIOS sees bxaix85's rootvg LUN with a single-path SCSI reserve: the move
/// is refused at plan time (exit 1) with the remedy, and nothing is sent. With `setNoReserve`
/// the plan lifts the reserve on that VIOS first (`viosvrcmd … chdev -dev hdisk1 -attr
/// reserve_policy=no_reserve`), the move converges, and `plan` is then empty.
// seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, lines 465-468, 1613-1621.
#[test]
fn a_reserved_lun_on_the_target_is_lifted_when_the_settings_allow() {
    let t = TwoHmcs::new(|i| {
        let i = i.replacen(
            &format!("hmc: {{address: \"{HMC_A}\", user: {}}}", user()),
            &format!("hmc: {{address: \"{HMC_A}\", user: {}, authorizedOn: [\"{HMC_B}\"]}}", user()),
            usize::MAX,
        );
        let (first, second) = i.split_once("  name: js22_slot14\n").expect("the lab has the second blade");
        let disk = "{name: hdisk1, lun: \"75DS81001000\", sizeMB: 30720, reservePolicy: no_reserve}";
        assert!(second.contains(disk), "the second blade's VIOS sees rootvg");
        let second = second.replacen(disk, &disk.replace("no_reserve", "single_path"), 1);
        format!("{first}  name: js22_slot14\n{second}")
    });
    let m = t.manifests();
    let plan = t.run(&["plan", &m, "--format", "json"]);
    assert_eq!(plan.status.code(), Some(1), "{}\n{}", text(&plan), String::from_utf8_lossy(&plan.stderr));
    let v = json(&plan);
    assert!(
        v["errors"].as_array().unwrap().iter().any(|e| {
            let e = e.as_str().unwrap();
            e.contains("75DS81001000") && e.contains("reserve_policy=no_reserve") && e.contains("HSCLA356")
        }),
        "{v:#}"
    );
    let human = t.run(&["plan", &m]);
    assert_eq!(human.status.code(), Some(1));
    let out = format!("{}{}", text(&human), String::from_utf8_lossy(&human.stderr));
    assert!(out.contains("chdev -dev hdisk1 -attr reserve_policy=no_reserve") && out.contains("setNoReserve"), "{out}");

    std::fs::write(
        t.lab.manifests().join("settings.yaml"),
        "apiVersion: powerplane/v1\nkind: Settings\nmetadata: {name: lab}\nspec: {setNoReserve: true}\n",
    )
    .unwrap();
    let plan = t.run(&["plan", &m, "--format", "json"]);
    assert_eq!(plan.status.code(), Some(2), "{}\n{}", text(&plan), String::from_utf8_lossy(&plan.stderr));
    let v = json(&plan);
    let commands: Vec<&str> = v["actions"].as_array().unwrap().iter().filter_map(|a| a["command"].as_str()).collect();
    let chdev = commands
        .iter()
        .position(|c| {
            c.starts_with("viosvrcmd -m js22_slot14 ")
                && c.ends_with("\"chdev -dev hdisk1 -attr reserve_policy=no_reserve\"")
        })
        .unwrap_or_else(|| panic!("{commands:#?}"));
    let validate = commands.iter().position(|c| c.starts_with("migrlpar -o v")).unwrap();
    assert!(chdev < validate, "{commands:#?}");
    let apply = t.run(&["apply", &m, "--yes"]);
    let out = text(&apply);
    assert_eq!(apply.status.code(), Some(0), "{out}\n{}", String::from_utf8_lossy(&apply.stderr));
    assert!(out.contains("Converged"), "{out}");
    let again = t.run(&["plan", &m]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    let listed = t.b.ssh("lssyscfg -r lpar -m js22_slot14 -F name");
    assert!(String::from_utf8_lossy(&listed.stdout).lines().any(|l| l == "bxaix85"), "{listed:?}");
}
