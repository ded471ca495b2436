//! The HMC backend through a real OpenSSH server: `sshd` on 127.0.0.1 (a free port, generated
//! host and user keys) runs `powerplane sim hmc-shell` as its `ForceCommand` against a
//! simulated estate, and `powerplane --hmc ssh://...` plans through it. `.ci/run` installs
//! `openssh-server` and `openssh-client` when they are missing.

use std::path::Path;
use std::process::{Command, Stdio};

use super::sshd::Sshd;
use super::support::Lab;

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
    let through = through(&sshd, &controller.path().join("state"), &["plan", m, "--format", "json"]);
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
pub(crate) fn through(sshd: &Sshd, state: &Path, args: &[&str]) -> std::process::Output {
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

/// `powerplane --state-dir S ARGS` without `--hmc`: the controller's own state (its audit).
fn local(state: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_powerplane")).arg("--state-dir").arg(state).args(args).output().unwrap()
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
    let audit = local(&state, &["audit", "--json"]);
    assert_eq!(audit_sequence(&audit), audit_sequence(&direct_audit));
    let verify = local(&state, &["audit", "verify"]);
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stdout));
}

fn audit_records(state: &Path) -> Vec<serde_json::Value> {
    let out = local(state, &["audit", "--json"]);
    String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

use super::support::lab_inventory as inventory;

/// Faults injected on the emulated estate behave through SSH as they do in process: a refused
/// migration fails with its HSCL code (in the output and the audit) and skips what depends on
/// it, the next apply moves it; a paging VIOS that went down and came back is failed back.
#[test]
fn faults_on_the_emulator_behave_through_ssh_as_in_process() {
    let lab = Lab::new();
    lab.cmd(&["--inventory", &inventory(), "sim", "init"]).assert().success();
    let sshd = Sshd::start(&lab.state());
    let controller = tempfile::tempdir().unwrap();
    let state = controller.path().join("state");
    let m = lab.manifests();
    let m = m.to_str().unwrap();
    // Move bxaix85 and grow it: the DLPAR depends on the migration, which the HMC refuses.
    lab.edit("js22.yaml", "placement: {anyOf: [js22_slot13, js22_slot14]}", "placement: {frame: js22_slot14}");
    lab.edit("js22.yaml", "desiredMB: 4096, maxMB: 8192", "desiredMB: 6144, maxMB: 8192");
    lab.cmd(&["sim", "fail-next", "MigratePartition"]).assert().success();
    let out = through(&sshd, &state, &["apply", m, "--yes"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("MigratePartition Partition/bxaix85: HSCLA257"), "{text}");
    assert!(text.contains("UpdatePartition Partition/bxaix85: skipped because"), "{text}");
    let records = audit_records(&state);
    assert!(
        records
            .iter()
            .any(|r| r["kind"] == "MigratePartition" && r["result"] == "failed" && r.to_string().contains("HSCLA257")),
        "the refusal's code is on record: {records:?}"
    );
    let out = through(&sshd, &state, &["apply", m, "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    lab.cmd(&["sim", "show"]).assert().success().stdout(predicates::str::contains("bxaix85"));

    // Paging failover and return: only the failback is planned, and applied.
    let ams = "IBM_MMA_P6_102615A_SOLCHMS05";
    lab.cmd(&["sim", "vios-down", ams, "lpar_1_solchio05"]).assert().success();
    lab.cmd(&["sim", "vios-up", ams, "lpar_1_solchio05"]).assert().success();
    let out = through(&sshd, &state, &["plan", m, "--format", "json"]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let kinds: Vec<&str> = v["actions"].as_array().unwrap().iter().map(|a| a["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["SwitchPagingVios"], "{v}");
    let out = through(&sshd, &state, &["apply", m, "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let out = lab
        .cmd(&["sim", "hmc-shell", &format!("lshwres -r mem -m {ams} --level lpar -F lpar_name,curr_paging_vios_name")])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "lpar_6_sotchax11,lpar_1_solchio05\n");
    let verify = local(&state, &["audit", "verify"]);
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stdout));
}

/// `watch --hmc` heals a VIOS that went down on the emulated estate: with `restartVios` it
/// starts it again through SSH, then fails paging back.
#[test]
fn watch_through_ssh_heals_a_vios_that_went_down() {
    use std::io::BufRead;
    let lab = Lab::new();
    lab.cmd(&["--inventory", &inventory(), "sim", "init"]).assert().success();
    std::fs::write(
        lab.path("settings.yaml"),
        "apiVersion: powerplane/v1\nkind: Settings\nmetadata: {name: lab}\nspec: {restartVios: true}\n",
    )
    .unwrap();
    let sshd = Sshd::start(&lab.state());
    let controller = tempfile::tempdir().unwrap();
    let state = controller.path().join("state");
    let m = lab.manifests();
    let m = m.to_str().unwrap();
    let out = through(&sshd, &state, &["apply", m, "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let mut child = Command::new(env!("CARGO_BIN_EXE_powerplane"))
        .arg("--state-dir")
        .arg(&state)
        .args(sshd.hmc_args())
        .args(["watch", m, "--interval", "1s", "--no-listen"])
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, lines) = std::sync::mpsc::channel::<String>();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let seen = std::cell::RefCell::new(Vec::<String>::new());
    let until = |needles: &[&str]| -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match lines.recv_timeout(left) {
                Ok(l) if needles.iter().all(|n| l.contains(n)) => return l,
                Ok(l) => seen.borrow_mut().push(l),
                Err(_) => {
                    let seen = seen.borrow();
                    panic!(
                        "no log line with {needles:?} in time; the last lines:\n{}",
                        seen[seen.len().saturating_sub(30)..].join("\n")
                    )
                }
            }
        }
    };
    until(&["reconciled: the estate matches the manifests"]);
    lab.cmd(&["sim", "vios-down", "IBM_MMA_P6_102615A_SOLCHMS05", "lpar_1_solchio05"]).assert().success();
    until(&["action finished", "kind=StartVios", "Succeeded"]);
    until(&["action finished", "kind=SwitchPagingVios", "Succeeded"]);
    let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(143));
    let records = audit_records(&state);
    assert!(records.iter().any(|r| r["kind"] == "StartVios" && r["result"] == "succeeded"));
}

/// The SSH connection is killed while `migrlpar -o m` runs: the backend follows the migration
/// with `lslparmigr` over a new connection and finds it ended; nothing is issued twice.
#[test]
fn a_connection_killed_mid_migration_is_followed_never_reissued() {
    use std::io::BufRead;
    let lab = Lab::new();
    lab.cmd(&["--inventory", &inventory(), "sim", "init"]).assert().success();
    // A slower emulator, serving sessions at once: the migration takes about 12 s of real time.
    let mut sshd = Sshd::with_daemon(&lab.state(), "--sim-speedup 10");
    let controller = tempfile::tempdir().unwrap();
    let state = controller.path().join("state");
    let m = lab.manifests();
    let m = m.to_str().unwrap();
    lab.edit("js22.yaml", "placement: {anyOf: [js22_slot13, js22_slot14]}", "placement: {frame: js22_slot14}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_powerplane"))
        .arg("--state-dir")
        .arg(&state)
        .args(sshd.hmc_args())
        .args(["apply", m, "--yes"])
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut log = Vec::new();
    let mut line = String::new();
    while stderr.read_line(&mut line).unwrap_or(0) > 0 {
        let started = line.contains("action started") && line.contains("kind=MigratePartition");
        log.push(std::mem::take(&mut line));
        if started {
            break;
        }
    }
    // The rest of the log is read on, or apply would die writing to a closed pipe.
    let drain = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    assert!(log.last().is_some_and(|l| l.contains("kind=MigratePartition")), "{}", log.concat());
    // Once the emulator carries the migration out, cut every connection sshd holds.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let migr = lab
            .cmd(&["sim", "hmc-shell", "lslparmigr -r lpar -m js22_slot13 -F name,migration_state"])
            .output()
            .unwrap();
        if String::from_utf8_lossy(&migr.stdout).contains("bxaix85,Migration In Progress") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the migration never started: {}", log.concat());
    }
    let killed = Command::new("pkill").arg("-KILL").arg("-P").arg(sshd.child.id().to_string()).status().unwrap();
    assert!(killed.success(), "no sshd connection to kill");
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let rest = drain.join().unwrap();
    assert_eq!(out.status.code(), Some(0), "{text}\n{rest}");
    assert!(text.contains("Converged"), "{text}");
    assert!(rest.contains("following the migration"), "the cut connection was noticed: {rest}");
    let records = audit_records(&state);
    sshd.stop_daemon();
    let migrations: Vec<_> = records.iter().filter(|r| r["kind"] == "MigratePartition").collect();
    assert_eq!(migrations.len(), 2, "one intent and one outcome: {migrations:?}");
    assert!(migrations.iter().any(|r| r["result"] == "succeeded"), "{migrations:?}");
    let events = lab.cmd(&["sim", "events"]).output().unwrap();
    let events = String::from_utf8_lossy(&events.stdout);
    assert_eq!(events.matches("CLIENT_PMIG_STARTED").count(), 1, "migrated once: {events}");
    assert_eq!(events.matches("CLIENT_PMIG_DONE").count(), 1, "{events}");
}

fn virtual_seconds(lab: &Lab) -> u64 {
    let out = lab.cmd(&["sim", "show", "--format", "json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["virtual_seconds"].as_u64().unwrap()
}

/// `apply --rehearse` through SSH: the plan runs on a digital twin of the observed estate
/// first; it converged there, so it runs on the emulated HMC, and the twin's duration is
/// within 10% of the emulator's (both on virtual time: the emulator with no real waits).
#[test]
fn a_rehearsal_that_converges_lets_apply_run_and_estimates_its_duration() {
    let lab = Lab::new();
    lab.cmd(&["--inventory", &inventory(), "sim", "init"]).assert().success();
    lab.edit("js22.yaml", "placement: {anyOf: [js22_slot13, js22_slot14]}", "placement: {frame: js22_slot14}");
    let before = virtual_seconds(&lab);
    let mut sshd = Sshd::with_daemon(&lab.state(), "--sim-speedup 0");
    let controller = tempfile::tempdir().unwrap();
    let state = controller.path().join("state");
    let m = lab.manifests();
    let m = m.to_str().unwrap();
    let out = through(&sshd, &state, &["apply", m, "--yes", "--rehearse"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("Rehearsal on a digital twin of the observed estate: 7 of 7 actions succeeded"), "{text}");
    assert!(text.contains("Converged"), "{text}");
    let records = audit_records(&state);
    let rehearsal = records.iter().find(|r| r["event"] == "rehearsal").expect("the rehearsal is on record");
    assert_eq!(rehearsal["result"], "succeeded");
    // It comes before anything was sent to the HMC.
    let first_intent = records.iter().position(|r| r["event"] == "intent").unwrap();
    assert!(records.iter().position(|r| r["event"] == "rehearsal").unwrap() < first_intent);
    let estimate = rehearsal["duration_ms"].as_u64().unwrap() as f64 / 1000.0;
    sshd.stop_daemon();
    let real = (virtual_seconds(&lab) - before) as f64;
    eprintln!("rehearsal {estimate} s, emulator {real} s");
    assert!(real > 100.0, "the migration took its time on the emulator: {real} s");
    assert!((estimate - real).abs() / real <= 0.10, "rehearsal {estimate} s, emulator {real} s");
}

/// A rehearsal that fails stops `apply --rehearse` before any command reaches the HMC: a
/// cluster member's move needs its nodes' heartbeat timeouts raised, which the twin of an
/// HMC's observation (no node is visible through an HMC) cannot do, nor can the HMC backend.
#[test]
fn a_rehearsal_that_fails_sends_nothing_to_the_hmc() {
    let lab = Lab::new();
    super::cluster::estate(&lab, 40, Some("f2"), Some("f1"), "{peerinactSeconds: 16, unresponsiveSeconds: 40}");
    let sshd = Sshd::start(&lab.state());
    let controller = tempfile::tempdir().unwrap();
    let state = controller.path().join("state");
    let m = lab.manifests();
    let m = m.to_str().unwrap();
    let events_before = lab.cmd(&["sim", "events"]).output().unwrap().stdout;
    let out = through(&sshd, &state, &["apply", m, "--yes", "--rehearse"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    eprintln!("{text}");
    assert!(text.contains("it did NOT converge"), "{text}");
    assert!(text.contains("refused by the simulated HMC"), "{text}");
    assert!(text.contains("The rehearsal did not converge: nothing was sent to the HMC ssh://"), "{text}");
    let records = audit_records(&state);
    assert!(records.iter().any(|r| r["event"] == "rehearsal" && r["result"] == "failed"), "{records:?}");
    assert!(!records.iter().any(|r| r["event"] == "intent"), "no action was started: {records:?}");
    assert_eq!(lab.cmd(&["sim", "events"]).output().unwrap().stdout, events_before, "the emulated estate is untouched");
    let out = lab.cmd(&["sim", "hmc-shell", "lssyscfg -r lpar -m f0 -F name"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("xray"), "xray stayed on f0");
}

/// A generated estate (three frames, brownfield that differs from the manifests: creations,
/// DLPAR, migrations, SEAs to switch to load sharing, shared-memory partitions) planned through
/// SSH gives the plan in process, and applied through SSH converges.
#[test]
fn a_generated_estate_through_ssh_plans_as_in_process_and_converges() {
    let lab = Lab::generated(3, 30, 5);
    let m = lab.manifests();
    let m = m.to_str().unwrap();
    let direct = lab.cmd(&["plan", m, "--format", "json", "--refresh=true"]).output().unwrap();
    assert_eq!(direct.status.code(), Some(2), "{}", String::from_utf8_lossy(&direct.stderr));
    let sshd = Sshd::start(&lab.state());
    let controller = tempfile::tempdir().unwrap();
    let state = controller.path().join("state");
    let through_plan = through(&sshd, &state, &["plan", m, "--format", "json"]);
    assert_eq!(through_plan.status.code(), Some(2), "{}", String::from_utf8_lossy(&through_plan.stderr));
    let doc = |o: &std::process::Output| -> serde_json::Value { serde_json::from_slice(&o.stdout).unwrap() };
    let (a, b) = (doc(&direct), doc(&through_plan));
    for key in ["actions", "changes", "deferred", "errors", "inProgress", "summary", "warnings"] {
        assert_eq!(a.get(key), b.get(key), "`{key}` differs between the plan in process and through SSH");
    }
    let out = through(&sshd, &state, &["apply", m, "--yes"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("Converged"), "{text}");
}

/// A shared-memory partition whose paging redundancy is `preferred` moves, through SSH, to a
/// frame with one paging VIOS non-redundant: the HMC runs the reviewed `migrlpar ...
/// --redundantvios 0` (the emulated HMC is a V10R3), the audit records it, and the partition pages through the target's
/// only paging VIOS afterwards; the plan is then empty.
// seeds: ams-dual-vios-and-lpm.txt ("You can move a shared memory partition running on a
// server with a redundant paging VIOS setup to a server where there is only one paging VIOS
// partition available").
#[test]
fn a_migration_with_redundancy_fallback_runs_through_ssh() {
    let lab = Lab::new();
    super::plan::ams_move_to_p72(&lab, "preferred");
    let sshd = Sshd::start(&lab.state());
    let controller = tempfile::tempdir().unwrap();
    let state = controller.path().join("state");
    let m = lab.manifests();
    let m = m.to_str().unwrap();
    let plan = through(&sshd, &state, &["plan", m, "--format", "json"]);
    assert_eq!(plan.status.code(), Some(2), "{}", String::from_utf8_lossy(&plan.stderr));
    let direct = lab.cmd(&["plan", m, "--format", "json", "--refresh=true"]).output().unwrap();
    let doc = |o: &std::process::Output| -> serde_json::Value { serde_json::from_slice(&o.stdout).unwrap() };
    assert_eq!(doc(&plan)["actions"], doc(&direct)["actions"], "the same plan through SSH as in process");
    let migrate = r#"migrlpar -o m -m IBM_MMA_P6_102615A_SOLCHMS05 -t p72 -p lpar_6_sotchax11 --redundantvios 0 -i "source_msp_name=lpar_1_solchio05,dest_msp_name=p72vio1""#;
    let out = through(&sshd, &state, &["apply", m, "--yes"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("migrated non-redundant (--redundantvios 0)"), "the warning is shown: {text}");
    let records = audit_records(&state);
    assert!(
        records.iter().any(|r| r["event"] == "intent" && r["command"] == migrate),
        "the HMC was sent the reviewed command: {records:#?}"
    );
    assert!(
        records
            .iter()
            .any(|r| r["event"] == "outcome" && r["kind"] == "MigratePartition" && r["result"] == "succeeded"),
        "{records:#?}"
    );
    let out = lab
        .cmd(&["sim", "hmc-shell", "lshwres -r mem -m p72 --level lpar -F lpar_name,curr_paging_vios_name"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("lpar_6_sotchax11,p72vio1\n"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let again = through(&sshd, &state, &["plan", m]);
    assert_eq!(again.status.code(), Some(0), "{}", String::from_utf8_lossy(&again.stdout));
}

/// Issue 33 item 14: a typo in the HMC's name reads as a name that does not resolve, with the
/// fix, not as "temporarily unavailable" (unless this host's resolver cannot answer at all,
/// which is said as such).
#[test]
fn an_hmc_name_that_does_not_resolve_is_said_so() {
    let lab = Lab::new();
    let m = lab.manifests();
    let out = lab.cmd(&["--hmc", "ssh://hscroot@hmc.example.invalid", "plan", m.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let offline = std::net::ToSocketAddrs::to_socket_addrs(&("hmc.example.invalid", 22))
        .err()
        .is_some_and(|e| e.to_string().contains("Temporary failure"));
    if offline {
        assert!(stderr.contains("could not be resolved just now"), "{stderr}");
    } else {
        assert!(
            stderr.contains("the HMC's name hmc.example.invalid") && stderr.contains("does not resolve"),
            "{stderr}"
        );
        assert!(stderr.contains("Check the spelling in --hmc"), "{stderr}");
        assert!(!stderr.contains("temporarily unavailable"), "{stderr}");
    }
}
