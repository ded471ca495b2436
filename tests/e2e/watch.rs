//! `powerplane watch`: edits are applied and audited, broken manifests never apply, drift made
//! outside git is detected, audited and healed (a VIOS that went down is not restarted: the
//! failback waits for it), /metrics and /healthz answer, SIGTERM stops it cleanly.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStderr, Command};

use serde_json::Value;

use crate::api::Api;
use crate::support::{Lab, root};

pub(crate) struct Watch {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
    pub(crate) seen: Vec<String>,
}

/// How long a log line may take to appear before the test fails instead of hanging.
const DEADLINE: std::time::Duration = std::time::Duration::from_secs(60);

impl Watch {
    pub(crate) fn start(lab: &Lab, extra: &[&str]) -> Watch {
        let m = lab.manifests();
        Watch::of(lab.spawn(&[&["watch", m.to_str().unwrap()], extra].concat()))
    }

    /// Follows the log of a `watch` already started.
    pub(crate) fn of(mut child: Child) -> Watch {
        let stderr: ChildStderr = child.stderr.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Watch { child, lines, seen: Vec::new() }
    }

    /// Reads log lines until one contains every needle, within [`DEADLINE`]; returns it.
    pub(crate) fn until(&mut self, needles: &[&str]) -> String {
        let end = std::time::Instant::now() + DEADLINE;
        loop {
            let left = end.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if needles.iter().all(|n| line.contains(n)) {
                        return line;
                    }
                }
                Err(e) => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    panic!(
                        "watch logged no line with {needles:?} ({e:?} within {DEADLINE:?}); it logged:\n{}",
                        self.seen.join("\n")
                    );
                }
            }
        }
    }

    /// SIGTERM, then the exit status.
    pub(crate) fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        self.until(&["stopped"]);
        self.child.wait().unwrap()
    }

    /// SIGTERM, then the exit status and every line it logged.
    pub(crate) fn terminate_logged(mut self) -> (std::process::ExitStatus, Vec<String>) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        self.until(&["the controller stopped"]);
        let status = self.child.wait().unwrap();
        self.seen.extend(self.lines.try_iter());
        (status, self.seen)
    }
}

fn audit(lab: &Lab) -> Vec<Value> {
    let out = lab.cmd(&["audit", "--json"]).assert().success().get_output().stdout.clone();
    String::from_utf8(out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

pub(crate) fn init(lab: &Lab) {
    let inv = root().join("examples/lab/inventory.yaml");
    lab.cmd(&["--inventory", inv.to_str().unwrap(), "sim", "init"]).assert().success();
}

#[test]
fn edits_apply_broken_manifests_do_not_and_a_fix_does() {
    let lab = Lab::new();
    init(&lab);
    let mut w = Watch::start(&lab, &["--interval", "1h", "--no-listen"]);
    w.until(&["reconciled: applied"]);
    lab.edit("p72.yaml", "desiredMB: 16384, maxMB: 32768", "desiredMB: 20480, maxMB: 32768");
    // Only the edited file is reloaded and only its partition's frame observed and planned.
    let planned = w.until(&["planned the change in its scope"]);
    assert!(planned.contains("frames=1") && planned.contains("partitions=1"), "{planned}");
    w.until(&["action finished", "kind=UpdatePartition", "Succeeded"]);
    w.until(&["reconciled: applied"]);
    // A partition-only change with an error: the scope's plan is replaced by the full plan, whose
    // message knows the pool exists, on another frame.
    let pooled = "processors: {mode: shared, pool: prodpool, units: 1.0, virtual: 2, compat: POWER6}";
    lab.edit("js22.yaml", "processors: {mode: shared, units: 1.0, virtual: 2, compat: POWER6}", pooled);
    w.until(&["the change has errors: planning the whole estate"]);
    let error = w.until(&["bxaix85"]);
    assert!(error.contains("prodpool") && !error.contains("not defined on any frame"), "{error}");
    lab.edit("js22.yaml", pooled, "processors: {mode: shared, units: 1.0, virtual: 2, compat: POWER6}");
    std::fs::write(lab.path("broken.yaml"), "apiVersion: powerplane/v1\nkind: [\n").unwrap();
    let err = w.until(&["invalid manifests"]);
    assert!(err.contains("broken.yaml:3:1") || err.contains("broken.yaml:2"), "{err}");
    std::fs::remove_file(lab.path("broken.yaml")).unwrap();
    lab.edit("p72.yaml", "desiredMB: 20480, maxMB: 32768", "desiredMB: 24576, maxMB: 32768");
    w.until(&["action finished", "kind=UpdatePartition", "Succeeded"]);
    assert_eq!(w.terminate().code(), Some(143), "SIGTERM: exit 143");
    let updates: Vec<Value> =
        audit(&lab).into_iter().filter(|r| r["event"] == "outcome" && r["kind"] == "UpdatePartition").collect();
    assert_eq!(updates.len(), 2, "the broken manifest applied nothing");
    assert!(updates.iter().all(|r| r["result"] == "succeeded"));
    lab.cmd(&["audit", "verify"]).assert().success();
    let m = lab.manifests();
    lab.cmd(&["plan", m.to_str().unwrap()]).assert().code(0);
}

#[test]
fn drift_outside_git_is_detected_audited_and_healed_and_metrics_answer() {
    let lab = Lab::new();
    init(&lab);
    let m = lab.manifests();
    lab.cmd(&["apply", m.to_str().unwrap(), "--yes"]).assert().success();
    let mut w = Watch::start(&lab, &["--interval", "1s", "--listen", "127.0.0.1:0"]);
    let api = Api::of(&mut w);
    let addr = api.addr.clone();
    w.until(&["reconciled: the estate matches the manifests"]);
    assert_eq!(api.get("/healthz"), (200, "ok\n".to_owned()));
    assert!(api.get("/readyz").1.starts_with("ready: the backend was observed at"));
    let mut events = api.events();
    // The primary paging VIOS goes down outside git: paging fails over. The loop holds the state
    // directory, so the command is forwarded to it.
    let out = lab.cmd(&["sim", "vios-down", "IBM_MMA_P6_102615A_SOLCHMS05", "lpar_1_solchio05"]).assert().success();
    let (stdout, stderr) =
        (String::from_utf8_lossy(&out.get_output().stdout), String::from_utf8_lossy(&out.get_output().stderr));
    assert!(stdout.contains("paging failed over from lpar_1_solchio05 to lpar_2_solchio06"), "{stdout}");
    assert!(stderr.contains(&format!("forwarded to the running `watch` at {addr}")), "{stderr}");
    // A VIOS the frame does not have: refused by the loop, exit 1.
    lab.cmd(&["sim", "vios-down", "IBM_MMA_P6_102615A_SOLCHMS05", "nosuchvios"]).assert().code(1);
    let drift = w.until(&["drift: the estate changed outside powerplane"]);
    assert!(drift.contains("PartitionStatus/lpar_6_sotchax11"), "{drift}");
    let found = events.until("driftFound", |d| d["objects"].to_string().contains("lpar_6_sotchax11"));
    assert!(found["objects"].as_array().is_some_and(|o| !o.is_empty()), "{found}");
    // The VIOS went down outside powerplane: it is not restarted, the failback waits (once in
    // the log, not at every resync).
    let waiting = w.until(&["heal waiting"]);
    assert!(waiting.contains("Vios/IBM_MMA_P6_102615A_SOLCHMS05:lpar_1_solchio05"), "{waiting}");
    // Someone starts it again: paging fails back to it, automatically.
    let up = r#"{"fault":"viosUp","frame":"IBM_MMA_P6_102615A_SOLCHMS05","vios":"lpar_1_solchio05"}"#;
    let token = std::fs::read_to_string(lab.state().join("api-token")).unwrap();
    let (code, body) = api.post("/api/v1/sim/faults", Some(token.trim()), up.into());
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("lpar_1_solchio05"), "{body}");
    events.until("actionFinished", |d| d["kind"] == "SwitchPagingVios" && d["outcome"] == "succeeded");
    // The counters are updated when the reconcile ends, before it is announced.
    events.until("reconcileEnded", |d| d["result"] == "converged");
    let metrics = api.get("/metrics").1;
    for needle in [
        "powerplane_reconcile_total ",
        "powerplane_actions_total{kind=\"SwitchPagingVios\",outcome=\"succeeded\"} 1",
        "powerplane_last_success_timestamp_seconds",
    ] {
        assert!(metrics.contains(needle), "missing {needle} in\n{metrics}");
    }
    assert_eq!(w.seen.iter().filter(|l| l.contains("heal waiting")).count(), 1, "said once");
    assert_eq!(w.terminate().code(), Some(143), "SIGTERM: exit 143");
    let records = audit(&lab);
    assert!(
        records.iter().any(|r| r["kind"] == "Drift" && r["message"].as_str().unwrap().contains("lpar_6_sotchax11"))
    );
    // Drift is a finding of its own, not an action skipped.
    assert!(records.iter().filter(|r| r["kind"] == "Drift").all(|r| r["event"] == "drift" && r["result"].is_null()));
    assert!(records.iter().any(|r| r["kind"] == "SwitchPagingVios" && r["result"] == "succeeded"));
    assert!(!records.iter().any(|r| r["kind"] == "StartVios"), "the VIOS was not restarted by powerplane");
    lab.cmd(&["audit", "verify"]).assert().success();
}

/// With `restartVios: true` the loop starts the VIOS again itself, then fails paging back.
#[test]
fn restart_vios_setting_lets_the_loop_start_a_vios_that_went_down() {
    let lab = Lab::new();
    init(&lab);
    std::fs::write(
        lab.path("settings.yaml"),
        "apiVersion: powerplane/v1\nkind: Settings\nmetadata: {name: lab}\nspec: {restartVios: true}\n",
    )
    .unwrap();
    let m = lab.manifests();
    lab.cmd(&["apply", m.to_str().unwrap(), "--yes"]).assert().success();
    let mut w = Watch::start(&lab, &["--interval", "1s", "--listen", "127.0.0.1:0"]);
    w.until(&["reconciled: the estate matches the manifests"]);
    lab.cmd(&["sim", "vios-down", "IBM_MMA_P6_102615A_SOLCHMS05", "lpar_1_solchio05"]).assert().success();
    w.until(&["action finished", "kind=StartVios", "Succeeded"]);
    w.until(&["action finished", "kind=SwitchPagingVios", "Succeeded"]);
    assert!(!w.seen.iter().any(|l| l.contains("heal waiting")));
    assert_eq!(w.terminate().code(), Some(143), "SIGTERM: exit 143");
    lab.cmd(&["audit", "verify"]).assert().success();
}

#[test]
fn dry_run_reports_and_never_applies() {
    let lab = Lab::new();
    init(&lab);
    let mut w = Watch::start(&lab, &["--interval", "1h", "--no-listen", "--dry-run"]);
    w.until(&["would run (dry run)", "SetSeaHaMode"]);
    w.until(&["drift reported, not healed (dry run)"]);
    assert_eq!(w.terminate().code(), Some(143), "SIGTERM: exit 143");
    assert!(audit(&lab).iter().all(|r| r["event"] != "intent"), "nothing was executed");
}

fn git(lab: &Lab, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(lab.manifests())
        .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn git_ref_mode_applies_commits_and_ignores_uncommitted_edits() {
    let lab = Lab::new();
    init(&lab);
    git(&lab, &["init", "-q", "-b", "main"]);
    git(&lab, &["add", "."]);
    git(&lab, &["commit", "-q", "-m", "lab"]);
    let mut w = Watch::start(&lab, &["--interval", "200ms", "--git-ref", "main", "--no-listen"]);
    w.until(&["reconciled: applied"]);
    // An uncommitted edit, then a commit of another file.
    lab.edit("js22.yaml", "desiredMB: 4096, maxMB: 8192", "desiredMB: 6144, maxMB: 8192");
    lab.edit("p72.yaml", "desiredMB: 16384, maxMB: 32768", "desiredMB: 20480, maxMB: 32768");
    git(&lab, &["commit", "-q", "-m", "grow p72_app01", "--", "p72.yaml"]);
    let commit = git(&lab, &["rev-parse", "HEAD"]);
    w.until(&["manifests read at commit", &commit]);
    w.until(&["action finished", "kind=UpdatePartition", "Succeeded"]);
    w.until(&["reconciled: applied"]);
    assert_eq!(w.terminate().code(), Some(143), "SIGTERM: exit 143");
    let updates: Vec<Value> =
        audit(&lab).into_iter().filter(|r| r["event"] == "outcome" && r["kind"] == "UpdatePartition").collect();
    assert_eq!(updates.len(), 1, "{updates:#?}");
    assert_eq!(updates[0]["object"], "Partition/p72_app01");
    assert_eq!(updates[0]["commit"], commit.as_str());
    assert_eq!(updates[0]["dirty"], false);
    // The committed state is converged; the working tree still has the uncommitted edit.
    let m = lab.manifests();
    lab.cmd(&["plan", m.to_str().unwrap(), "--git-ref", "main"]).assert().code(0);
    lab.cmd(&["plan", m.to_str().unwrap()]).assert().code(2);
    lab.cmd(&["plan", m.to_str().unwrap(), "--git-ref", "no-such-branch"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("`no-such-branch` names no commit"));
}

/// A VIOS that went down before the loop started (while an apply ran, or after a `plan`
/// recorded it) is not restarted either, unless `restartVios: true`; and a predecessor killed
/// mid-call leaves no dangling intent once the loop has started.
#[test]
fn a_vios_down_before_the_loop_starts_is_not_restarted_and_dangling_intents_are_closed() {
    let lab = Lab::new();
    init(&lab);
    let m = lab.manifests();
    lab.cmd(&["apply", m.to_str().unwrap(), "--yes"]).assert().success();
    // A killed apply leaves an intent without its outcome.
    lab.edit("p72.yaml", "desiredMB: 16384", "desiredMB: 12288");
    let mut killed = lab.spawn(&["--sim-speedup", "0.5", "apply", m.to_str().unwrap(), "--yes"]);
    let stderr = killed.stderr.take().unwrap();
    for line in BufReader::new(stderr).lines() {
        if line.unwrap().contains("action started") {
            break;
        }
    }
    killed.kill().unwrap();
    killed.wait().unwrap();
    lab.cmd(&["sim", "vios-down", "IBM_MMA_P6_102615A_SOLCHMS05", "lpar_1_solchio05"]).assert().success();
    // Someone's `plan` saw it down and stored that observation.
    lab.cmd(&["plan", m.to_str().unwrap()]).assert().code(2);
    let mut w = Watch::start(&lab, &["--interval", "1s", "--no-listen"]);
    w.until(&["recorded them as interrupted"]);
    w.until(&["VIOS is down at the controller's start"]);
    w.until(&["heal waiting", "lpar_1_solchio05"]);
    assert_eq!(w.terminate().code(), Some(143));
    let records = audit(&lab);
    assert!(
        !records.iter().any(|r| r["kind"] == "StartVios" && r["plan_id"].as_str().unwrap_or("").starts_with("watch")),
        "the VIOS was not restarted by the loop"
    );
    let intents = records.iter().filter(|r| r["event"] == "intent").count();
    let outcomes = records.iter().filter(|r| r["event"] == "outcome").count();
    assert_eq!(intents, outcomes, "every intent has its outcome");
    lab.cmd(&["audit", "verify"]).assert().success();
}

// Issue 15, and Argo CD's argo-cd#21692 (sync windows that do not fire when they open): the
// loop holds the migration outside the window and runs it when the window opens, without a
// resync or an edit to trigger it. The clock is set five minutes before the opening and runs
// with the simulator's (600x: a virtual minute in 0.1 s).
#[test]
fn watch_starts_held_work_when_the_window_opens() {
    let lab = Lab::new();
    crate::windows::estate(&lab);
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_powerplane"))
        .arg("--state-dir")
        .arg(lab.state())
        .args(["--sim-speedup", "600", "watch", lab.manifests().to_str().unwrap(), "--interval", "24h", "--no-listen"])
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .env("POWERPLANE_NOW", "2026-12-05T20:55:00Z")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut w = Watch::of(child);
    w.until(&["held for a maintenance window", "MigratePartition Partition/big", "opens Sat 2026-12-05 22:00 CET"]);
    w.until(&["action finished", "MigratePartition", "Succeeded"]);
    w.until(&["reconciled: applied", "a maintenance window opened"]);
    assert_eq!(w.terminate().code(), Some(143), "SIGTERM: exit 143");
    let records = audit(&lab);
    assert!(records.iter().any(|r| r["kind"] == "MigratePartition" && r["result"] == "succeeded"));
}
