//! `powerplane apply` and `powerplane audit`: convergence, failures and retries, a crash in the
//! middle, tampering, the lock, saved plans.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command};

use predicates::prelude::*;
use serde_json::Value;

use crate::support::Lab;

use super::support::lab_inventory as inventory;

fn init(lab: &Lab) {
    lab.cmd(&["--inventory", &inventory(), "sim", "init"]).assert().success();
}

fn git(lab: &Lab, args: &[&str]) {
    let ok = Command::new("git").arg("-C").arg(lab.manifests()).args(args).output().unwrap();
    assert!(ok.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&ok.stderr));
}

/// Makes the manifest dir a git repository with one commit; returns the commit.
fn commit_manifests(lab: &Lab) -> String {
    git(lab, &["init", "-q", "-b", "main"]);
    git(lab, &["-c", "user.name=t", "-c", "user.email=t@example.invalid", "add", "."]);
    git(lab, &["-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "-m", "lab"]);
    let out = Command::new("git").arg("-C").arg(lab.manifests()).args(["rev-parse", "HEAD"]).output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn audit(lab: &Lab) -> Vec<Value> {
    let out = lab.cmd(&["audit", "--json"]).assert().success().get_output().stdout.clone();
    String::from_utf8(out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// Every intent has exactly one outcome, and every outcome belongs to an intent.
fn one_outcome_per_intent(records: &[Value]) {
    let intents: Vec<u64> =
        records.iter().filter(|r| r["event"] == "intent").map(|r| r["seq"].as_u64().unwrap()).collect();
    let mut outcomes: Vec<u64> =
        records.iter().filter(|r| r["event"] == "outcome").map(|r| r["intent"].as_u64().unwrap()).collect();
    outcomes.sort_unstable();
    assert_eq!(intents, outcomes, "intents and outcomes do not pair up");
}

/// Under `--log-format json`, each action's log lines name the plan and the commit its audit
/// records name, so a log collector can join the two.
#[test]
fn json_log_lines_carry_the_plan_id_and_commit_of_the_audit_records() {
    let lab = Lab::new();
    init(&lab);
    let commit = commit_manifests(&lab);
    let m = lab.manifests();
    let out = lab.cmd(&["--log-format", "json", "apply", m.to_str().unwrap(), "--yes"]).assert().success();
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    let finished: Vec<Value> = stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["message"] == "action finished")
        .collect();
    assert_eq!(finished.len(), 5, "one line per action: {stderr}");
    let records = audit(&lab);
    let plan_id = records.iter().find(|r| r["event"] == "intent").unwrap()["plan_id"].clone();
    assert!(plan_id.as_str().is_some_and(|p| p.starts_with("plan-")), "{plan_id}");
    for line in &finished {
        assert_eq!(line["span"]["plan_id"], plan_id, "{line}");
        assert_eq!(line["span"]["commit"], commit.as_str(), "{line}");
    }
}

#[test]
fn applying_the_lab_converges_and_is_audited() {
    let lab = Lab::new();
    init(&lab);
    let commit = commit_manifests(&lab);
    let m = lab.manifests();
    lab.cmd(&["apply", m.to_str().unwrap(), "--yes"]).assert().success().stdout(
        predicate::str::contains("Applied: 5 succeeded, 0 failed, 0 skipped.")
            .and(predicate::str::contains("Converged")),
    );
    lab.cmd(&["plan", m.to_str().unwrap()]).assert().code(0).stdout(predicate::str::contains("No changes."));
    lab.cmd(&["audit", "verify"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("audit trail intact: 10 records"));
    let records = audit(&lab);
    one_outcome_per_intent(&records);
    let outcomes: Vec<&Value> = records.iter().filter(|r| r["event"] == "outcome").collect();
    assert_eq!(outcomes.len(), 5);
    for r in &outcomes {
        assert_eq!(r["result"], "succeeded");
        assert_eq!(r["commit"], commit.as_str());
        assert_eq!(r["dirty"], false);
        assert!(r["command"].as_str().unwrap().len() > 10 && r["time"].as_str().unwrap().ends_with('Z'));
    }
    let kinds: Vec<&str> = outcomes.iter().map(|r| r["kind"].as_str().unwrap()).collect();
    for k in ["CreateSharedProcessorPool", "SetSeaHaMode", "CreatePartition", "StartPartition"] {
        assert!(kinds.contains(&k), "{kinds:?}");
    }
    // Applying again does nothing.
    lab.cmd(&["apply", m.to_str().unwrap(), "--yes"])
        .assert()
        .success()
        .stdout(predicate::str::contains("No changes."));
    assert_eq!(audit(&lab).len(), 10);
    lab.cmd(&["audit", "--since", "1h"]).assert().success().stdout(predicate::str::contains("StartPartition"));
    lab.cmd(&["audit", "--since", "2999-01-01"])
        .assert()
        .success()
        .stdout(predicate::str::contains("StartPartition").not());
}

/// Issue 13 item 7: VIOS maintenance of p72vio1 under load sharing, then its end, each in one
/// apply: the end starts p72vio1, sets its SEA back from standby to sharing and then chdevs the
/// backup, which asks for load sharing, so the next plan is empty and `sim show` shows the split.
// seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, line 858 ("a chdev must
// occur on the backup SEA for Load sharing to work") and lines 742-750 (the split).
#[test]
fn ending_vios_maintenance_under_load_sharing_converges_in_one_apply() {
    let lab = Lab::new();
    init(&lab);
    let m = lab.manifests();
    let m = m.to_str().unwrap();
    lab.cmd(&["apply", m, "--yes"]).assert().success();
    lab.edit("p72.yaml", "{name: p72vio1, state: running}", "{name: p72vio1, state: stopped}");
    lab.cmd(&["apply", m, "--yes"]).assert().success().stdout(predicate::str::contains("Converged"));
    lab.edit("p72.yaml", "{name: p72vio1, state: stopped}", "{name: p72vio1, state: running}");
    let hmc = lab.cmd(&["plan", m, "--format", "hmc"]).assert().code(2).get_output().stdout.clone();
    let hmc = String::from_utf8(hmc).unwrap();
    let primary =
        hmc.find("-p p72vio1 -c \"chdev -dev ent4 -attr ha_mode=sharing\"").unwrap_or_else(|| panic!("{hmc}"));
    let backup = hmc.find("-p p72vio2 -c \"chdev -dev ent4 -attr ha_mode=sharing\"").unwrap_or_else(|| panic!("{hmc}"));
    assert!(primary < backup, "the primary first, then the backup asks: {hmc}");
    lab.cmd(&["apply", m, "--yes"]).assert().success().stdout(predicate::str::contains("Converged"));
    lab.cmd(&["plan", m]).assert().code(0);
    lab.cmd(&["sim", "show"])
        .assert()
        .success()
        .stdout(predicate::str::contains("PRIMARY_SH").and(predicate::str::contains("BACKUP_SH")));
}

#[test]
fn a_failed_migration_skips_its_dependents_and_lets_the_rest_finish() {
    let lab = Lab::new();
    init(&lab);
    // Move bxaix85 and grow it: the DLPAR depends on the migration.
    lab.edit("js22.yaml", "placement: {anyOf: [js22_slot13, js22_slot14]}", "placement: {frame: js22_slot14}");
    lab.edit("js22.yaml", "desiredMB: 4096, maxMB: 8192", "desiredMB: 6144, maxMB: 8192");
    lab.cmd(&["sim", "fail-next", "MigratePartition"]).assert().success();
    let m = lab.manifests();
    let out = lab.cmd(&["apply", m.to_str().unwrap(), "--yes"]).assert().code(1).get_output().stdout.clone();
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("Applied: 6 succeeded, 1 failed, 1 skipped."), "{out}");
    assert!(out.contains("MigratePartition Partition/bxaix85: HSCLA257 injected failure of MigratePartition"), "{out}");
    assert!(out.contains("(1 attempt)") && !out.contains("(1 attempts)"), "{out}");
    assert!(out.contains("UpdatePartition Partition/bxaix85: skipped because"), "{out}");
    assert!(out.contains("Not converged"), "{out}");
    let records = audit(&lab);
    one_outcome_per_intent(&records);
    assert!(
        records.iter().any(|r| r["event"] == "outcome" && r["kind"] == "MigratePartition" && r["result"] == "failed")
    );
    assert!(records.iter().any(|r| r["event"] == "skip" && r["kind"] == "UpdatePartition" && r["result"] == "skipped"));
    assert!(
        records.iter().any(|r| r["kind"] == "StartPartition" && r["result"] == "succeeded"),
        "independent actions completed"
    );
    lab.cmd(&["audit", "verify"]).assert().success();
    // The fault was one-off: the next apply finishes the job.
    lab.cmd(&["apply", m.to_str().unwrap(), "--yes"]).assert().success().stdout(predicate::str::contains("Converged"));
}

#[test]
fn a_transient_failure_is_retried_and_succeeds() {
    let lab = Lab::new();
    init(&lab);
    lab.cmd(&["sim", "fail-next", "StartPartition", "--transient"]).assert().success();
    let m = lab.manifests();
    lab.cmd(&["apply", m.to_str().unwrap(), "--yes", "--retry-backoff-ms", "10"])
        .assert()
        .success()
        .stderr(predicate::str::contains("transient failure; retrying"));
    let start = audit(&lab).into_iter().find(|r| r["event"] == "outcome" && r["kind"] == "StartPartition").unwrap();
    assert_eq!((start["result"].as_str(), start["attempts"].as_u64()), (Some("succeeded"), Some(2)));
}

/// Starts `apply` on a slowed simulator and returns it once it has started action `id`.
fn apply_until_started(lab: &Lab, id: &str) -> Child {
    let m = lab.manifests();
    let mut child = lab.spawn(&["--sim-speedup", "3", "apply", m.to_str().unwrap(), "--yes"]);
    let stderr = child.stderr.take().unwrap();
    for line in BufReader::new(stderr).lines() {
        let line = line.unwrap();
        if line.contains("action started") && line.contains(&format!("id={id} ")) {
            return child;
        }
    }
    let _ = child.kill();
    let status = child.wait();
    panic!("apply ended ({status:?}) before it started {id}");
}

#[test]
fn after_a_sigkill_mid_apply_the_next_apply_recovers_and_converges() {
    let lab = Lab::new();
    init(&lab);
    // a5 StartPartition takes 30 virtual seconds: 10 real seconds at speed-up 3.
    let mut child = apply_until_started(&lab, "a5");
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let m = lab.manifests();
    lab.cmd(&["apply", m.to_str().unwrap(), "--yes"]).assert().success().stderr(
        predicate::str::contains("a previous run stopped during 1 action(s)")
            .and(predicate::str::contains("took over a stale lock")),
    );
    lab.cmd(&["plan", m.to_str().unwrap()]).assert().code(0);
    lab.cmd(&["audit", "verify"]).assert().success();
    let records = audit(&lab);
    one_outcome_per_intent(&records);
    let interrupted: Vec<&Value> = records.iter().filter(|r| r["result"] == "interrupted").collect();
    assert_eq!(interrupted.len(), 1);
    assert_eq!(interrupted[0]["action"], "a5");
}

#[test]
fn a_second_apply_is_refused_at_once_with_the_holder() {
    let lab = Lab::new();
    init(&lab);
    let mut first = apply_until_started(&lab, "a5");
    let m = lab.manifests();
    lab.cmd(&["apply", m.to_str().unwrap(), "--yes"]).assert().code(1).stderr(
        predicate::str::contains("in use by another powerplane process")
            .and(predicate::str::contains(format!("pid {}, `apply` since", first.id()))),
    );
    first.kill().unwrap();
    first.wait().unwrap();
}

#[test]
fn a_saved_plan_is_applied_exactly_or_refused_when_the_estate_changed() {
    let lab = Lab::new();
    init(&lab);
    let m = lab.manifests();
    let plan = lab.dir.path().join("plan.json");
    lab.cmd(&["plan", m.to_str().unwrap(), "--out", plan.to_str().unwrap()]).assert().code(2);
    lab.cmd(&["sim", "vios-down", "p72", "p72vio2"]).assert().success();
    lab.cmd(&["apply", "--plan", plan.to_str().unwrap(), "--yes"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("the estate changed since").and(predicate::str::contains("nothing was done")));
    assert!(audit(&lab).is_empty(), "nothing was done");
    lab.cmd(&["sim", "vios-up", "p72", "p72vio2"]).assert().success();
    // Back in the state the plan was made against (load sharing negotiated again): accepted.
    lab.cmd(&["apply", "--plan", plan.to_str().unwrap(), "--yes"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Applied: 5 succeeded"));
}

#[test]
fn apply_refuses_without_yes_when_stdin_is_not_a_terminal() {
    let lab = Lab::new();
    init(&lab);
    let m = lab.manifests();
    lab.cmd(&["apply", m.to_str().unwrap()])
        .write_stdin("yes\n")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("stdin is not a terminal; add --yes"));
    assert!(audit(&lab).is_empty());
}

#[test]
fn plan_against_the_stored_snapshot() {
    let lab = Lab::new();
    init(&lab);
    let m = lab.manifests();
    lab.cmd(&["plan", m.to_str().unwrap(), "--refresh=false"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no stored observation"));
    lab.cmd(&["plan", m.to_str().unwrap()]).assert().code(2);
    lab.cmd(&["sim", "vios-down", "IBM_MMA_P6_102615A_SOLCHMS05", "lpar_1_solchio05"]).assert().success();
    // The snapshot predates the failover: no failback is planned from it.
    let out = lab.cmd(&["plan", m.to_str().unwrap(), "--refresh=false", "--format", "json"]).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!v["actions"].as_array().unwrap().iter().any(|a| a["kind"] == "StartVios"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("planning against the observation of"));
}
