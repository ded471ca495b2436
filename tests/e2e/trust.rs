//! Trust III (issue 33): what a FIFO in the manifest tree, refused manifests under a running
//! `watch`, and flags without a floor used to get wrong. Every command that could hang runs
//! with a timeout, so a regression fails instead of hanging the suite.

use std::path::Path;
use std::time::Duration;

use predicates::prelude::*;
use serde_json::Value;

use crate::api::Api;
use crate::support::Lab;
use crate::watch::{Watch, init};

/// How long a command that must not block may take before the test fails.
const NO_HANG: Duration = Duration::from_secs(30);

fn m(lab: &Lab) -> String {
    lab.manifests().to_str().unwrap().to_owned()
}

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo").arg(path).status().expect("mkfifo (coreutils) runs");
    assert!(status.success(), "mkfifo {}", path.display());
}

/// `validate` and `plan` with a FIFO named like a manifest: exit 1 at once, naming the file,
/// what it is and the fix — never a hang in `open()`. Given as the path itself, the same.
#[test]
fn a_fifo_in_the_manifest_tree_is_an_error_not_a_hang() {
    let lab = Lab::new();
    std::fs::create_dir(lab.path("sub")).unwrap();
    mkfifo(&lab.path("sub/pipe.yaml"));
    let expect = || {
        predicate::str::contains("sub/pipe.yaml")
            .and(predicate::str::contains("is a FIFO (named pipe), not a regular file"))
            .and(predicate::str::contains("fix: remove it from the manifest tree"))
    };
    lab.validate().timeout(NO_HANG).assert().code(1).stderr(expect());
    lab.cmd(&["plan", &m(&lab)]).timeout(NO_HANG).assert().code(1).stderr(expect());
    lab.cmd(&["validate", lab.path("sub/pipe.yaml").to_str().unwrap()])
        .timeout(NO_HANG)
        .assert()
        .code(1)
        .stderr(expect());
    // Nor does a FIFO given as a saved plan block `apply --plan`.
    lab.cmd(&["apply", "--plan", lab.path("sub/pipe.yaml").to_str().unwrap(), "--yes"])
        .timeout(NO_HANG)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("it is a FIFO (named pipe), not a regular file"));
    // A FIFO not named like a manifest is not a manifest: ignored, as a README is.
    std::fs::remove_file(lab.path("sub/pipe.yaml")).unwrap();
    mkfifo(&lab.path("sub/pipe"));
    lab.validate().timeout(NO_HANG).assert().success();
}

/// Under `watch`, a FIFO that appears in the tree is reported with its path and the loop goes
/// on: it still answers `/readyz`, and applies the next edit once the FIFO is gone.
#[test]
fn a_fifo_under_watch_is_reported_and_the_loop_goes_on() {
    let lab = Lab::new();
    init(&lab);
    let mut w = Watch::start(&lab, &["--interval", "1h", "--listen", "127.0.0.1:0"]);
    let api = Api::of(&mut w);
    w.until(&["reconciled: applied"]);
    mkfifo(&lab.path("pipe.yaml"));
    let line = w.until(&["invalid manifests", "pipe.yaml"]);
    assert!(line.contains("FIFO"), "{line}");
    let (code, body) = api.get("/readyz");
    assert_eq!(code, 200, "{body}");
    std::fs::remove_file(lab.path("pipe.yaml")).unwrap();
    lab.edit("p72.yaml", "desiredMB: 16384, maxMB: 32768", "desiredMB: 20480, maxMB: 32768");
    w.until(&["action finished", "kind=UpdatePartition", "Succeeded"]);
    w.until(&["reconciled: applied"]);
    assert_eq!(w.terminate().code(), Some(143), "SIGTERM: exit 143");
}

/// `GET /api/v1/status` through `status --format json`.
fn status(lab: &Lab) -> (Option<i32>, Value, String) {
    let out = lab.cmd(&["status", "--format", "json"]).timeout(NO_HANG).output().unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    let text = lab.cmd(&["status"]).timeout(NO_HANG).output().unwrap();
    (out.status.code(), json, String::from_utf8_lossy(&text.stdout).into_owned())
}

/// Invalid manifests under a running `watch` are a condition everywhere: the status document
/// (API and `status --format json`) names the failing revision with the first error's
/// `file:line` and the revision still applied, `status` exits 2 and says so, the last
/// reconcile is not converged, the metrics gauge is 1 — until the fix, when all of it clears.
#[test]
fn invalid_manifests_under_watch_are_a_condition_everywhere() {
    let lab = Lab::new();
    init(&lab);
    lab.cmd(&["apply", &m(&lab), "--yes"]).assert().success();
    let mut w = Watch::start(&lab, &["--interval", "1h", "--listen", "127.0.0.1:0"]);
    let api = Api::of(&mut w);
    w.until(&["reconciled: the estate matches the manifests"]);
    let (code, s, _) = status(&lab);
    assert_eq!(code, Some(0), "converged first: {s}");
    assert!(s["invalidManifests"].is_null(), "{s}");
    let success = s["lastSuccess"].clone();
    assert!(success.is_string(), "{s}");
    let mut events = api.events();
    lab.edit("p72.yaml", "units: 1.5", "units: lots");
    w.until(&["invalid manifests"]);
    let ended = events.until("reconcileEnded", |d| d["result"] == "notConverged");
    assert!(ended["detail"].as_str().unwrap().contains("p72.yaml:"), "{ended}");
    let (code, s, text) = status(&lab);
    assert_eq!(code, Some(2), "invalid manifests are not converged: {s}");
    let invalid = &s["invalidManifests"];
    let first = invalid["firstError"].as_str().unwrap();
    assert!(first.contains("p72.yaml:57:"), "file:line of the first error: {s}");
    assert!(invalid["failing"].as_str().unwrap().contains("the working tree at"), "{s}");
    assert!(invalid["lastApplied"].as_str().unwrap().contains("the working tree at"), "{s}");
    assert_eq!(s["lastReconcile"]["result"], "notConverged", "{s}");
    assert!(text.contains("manifests: INVALID since") && text.contains("p72.yaml:57:"), "{text}");
    let (code, api_status) = api.get("/api/v1/status");
    assert_eq!(code, 200);
    let api_status: Value = serde_json::from_str(&api_status).unwrap();
    assert_eq!(api_status["invalidManifests"]["firstError"], invalid["firstError"]);
    let metrics = api.get("/metrics").1;
    assert!(metrics.contains("powerplane_manifests_invalid 1"), "{metrics}");
    // The UI renders the condition from the status document.
    let ui = api.get("/ui/app.js").1;
    assert!(ui.contains("invalidManifests") && ui.contains("invalid manifests ("), "the UI names the condition");
    // A resync while they are invalid does not converge either.
    let token = std::fs::read_to_string(lab.state().join("api-token")).unwrap();
    let (code, body) = api.post("/api/v1/sync", Some(token.trim()), String::new());
    assert_eq!(code, 202, "{body}");
    let resync = events.until("reconcileEnded", |d| d["reason"] == "sync requested");
    assert_eq!(resync["result"], "notConverged", "{resync}");
    assert!(resync["detail"].as_str().unwrap().contains("invalid manifests"), "{resync}");
    let after: Value = serde_json::from_str(&api.get("/api/v1/status").1).unwrap();
    assert_eq!(after["lastSuccess"], success, "no success while the manifests are invalid");
    // The fix clears the condition.
    lab.edit("p72.yaml", "units: lots", "units: 1.5");
    events.until("reconcileEnded", |d| d["result"] == "converged");
    let (code, s, _) = status(&lab);
    assert_eq!(code, Some(0), "{s}");
    assert!(s["invalidManifests"].is_null(), "{s}");
    assert!(api.get("/metrics").1.contains("powerplane_manifests_invalid 0"));
    assert_eq!(w.terminate().code(), Some(143), "SIGTERM: exit 143");
}

/// Every tuning flag and variable has a range, written in its help, and a usage error outside
/// it that names the range; nothing is written to the state directory.
#[test]
fn flags_and_variables_outside_their_range_are_usage_errors() {
    let lab = Lab::new();
    let dir = m(&lab);
    let before = lab.snapshot();
    let refused = |args: &[&str], needle: &str| {
        lab.cmd(args).timeout(NO_HANG).assert().code(1).stderr(predicate::str::contains(needle));
    };
    for i in ["1ns", "99ms", "8d"] {
        refused(&["watch", &dir, "--interval", i], "from 100ms to 7d");
    }
    for f in ["nan", "inf", "-inf", "1e308", "-1", "0.0001", "fast"] {
        refused(&[&format!("--sim-speedup={f}"), "validate", &dir], "0 (no real waits) or from 0.001 to 1000000");
    }
    refused(&["apply", &dir, "--yes", "--parallel", "0"], "1..=1024");
    refused(&["apply", &dir, "--yes", "--per-frame", "0"], "1..=256");
    refused(&["apply", &dir, "--yes", "--parallel", "5000"], "1..=1024");
    refused(&["watch", &dir, "--per-frame", "0"], "1..=256");
    for (var, value, range) in [
        ("POWERPLANE_MAX_MANIFEST_BYTES", "lots", "from 1 to"),
        ("POWERPLANE_MAX_MANIFEST_BYTES", "0", "from 1 to"),
        ("POWERPLANE_SIM_JOURNAL_BYTES", "-1", "from 4096 to"),
        ("POWERPLANE_SIM_JOURNAL_BYTES", "lots", "from 4096 to"),
        ("POWERPLANE_AUDIT_SEGMENT_BYTES", "lots", "from 256 to"),
        ("POWERPLANE_AUDIT_SEGMENT_BYTES", "10", "from 256 to"),
        ("POWERPLANE_NOW", "Wednesday", "RFC 3339"),
    ] {
        lab.validate()
            .env(var, value)
            .timeout(NO_HANG)
            .assert()
            .code(1)
            .stderr(predicate::str::contains(format!("{var}=")).and(predicate::str::contains(range)));
    }
    assert_eq!(before, lab.snapshot(), "refused input leaves everything as it was");
    // The ranges are documented in the help.
    let help = |args: &[&str]| String::from_utf8(lab.cmd(args).assert().success().get_output().stdout.clone()).unwrap();
    let watch = help(&["watch", "--help"]);
    assert!(watch.contains("from 100ms to 7d"), "{watch}");
    assert!(watch.contains("1 to 1024") && watch.contains("1 to 256"), "the loop takes apply's limits: {watch}");
    let apply = help(&["apply", "--help"]);
    assert!(apply.contains("1 to 1024") && apply.contains("1 to 256"), "{apply}");
    let top = help(&["--help"]);
    assert!(top.contains("from 0.001 to 1000000, or 0 for no real waits"), "{top}");
    // Within the ranges, all is well.
    lab.cmd(&["--sim-speedup", "0", "validate", &dir])
        .env("POWERPLANE_MAX_MANIFEST_BYTES", "1048576")
        .assert()
        .success();
}

/// A misspelt time zone in `Settings.maintenanceWindows` is refused by `validate` (exit 1)
/// with `file:line:column` of the `timezone:` field, the rule and the fix — as `plan` refuses
/// it, now with the same position; a known zone is valid.
#[test]
fn validate_refuses_an_unknown_time_zone_with_its_position_as_plan_does() {
    let lab = Lab::new();
    let settings = "apiVersion: powerplane/v1\nkind: Settings\nmetadata: {name: estate}\nspec:\n  maintenanceWindows:\n    - name: sat-night\n      schedule: \"Sat 22:00-Sun 04:00\"\n      timezone: Europe/Berlln\n";
    std::fs::write(lab.path("settings.yaml"), settings).unwrap();
    let at = "settings.yaml:8:7";
    lab.validate().timeout(NO_HANG).assert().code(1).stderr(
        predicate::str::contains(at)
            .and(predicate::str::contains("PP-E080 unknown-time-zone"))
            .and(predicate::str::contains("Settings/estate"))
            .and(predicate::str::contains("`Europe/Berlln` is not a time zone"))
            .and(predicate::str::contains("fix: use an IANA time-zone name")),
    );
    let json = lab.cmd(&["validate", &m(&lab), "--format", "json"]).timeout(NO_HANG).assert().code(1);
    let doc: Value = serde_json::from_slice(&json.get_output().stdout).unwrap();
    assert_eq!(doc["valid"], false, "{doc}");
    lab.cmd(&["plan", &m(&lab)]).timeout(NO_HANG).assert().code(1).stderr(predicate::str::contains(at));
    lab.edit("settings.yaml", "Europe/Berlln", "Europe/Berlin");
    lab.validate().timeout(NO_HANG).assert().success();
}

/// The value of a metric line `name value` in the OpenMetrics text.
fn metric(text: &str, name: &str) -> f64 {
    let line =
        text.lines().find(|l| l.starts_with(&format!("{name} "))).unwrap_or_else(|| panic!("no {name} in\n{text}"));
    line[name.len() + 1..].trim().parse().unwrap()
}

/// A resync's reconcile lasts what its work lasts (a few milliseconds on the lab), not the idle
/// interval before it (2 s here): in the status, the duration gauge and the histogram.
#[test]
fn reconcile_durations_count_the_work_not_the_idle_wait_before_it() {
    let lab = Lab::new();
    init(&lab);
    lab.cmd(&["apply", &m(&lab), "--yes"]).assert().success();
    let mut w = Watch::start(&lab, &["--interval", "2s", "--listen", "127.0.0.1:0"]);
    let api = Api::of(&mut w);
    let mut events = api.events();
    // The first resync may have run before the stream was followed: take the next two, each
    // after an idle wait of most of the interval.
    for _ in 0..2 {
        let ended = events.until("reconcileEnded", |d| d["reason"] == "resync");
        assert_eq!(ended["result"], "converged", "{ended}");
        let ms = ended["durationMs"].as_u64().unwrap();
        assert!(ms < 1000, "a resync of the lab took {ms} ms: the idle interval was counted: {ended}");
        let text = api.get("/metrics").1;
        let last = metric(&text, "powerplane_last_reconcile_duration_seconds");
        assert!(last < 1.0, "the gauge says {last} s");
        let (count, under) = (
            metric(&text, "powerplane_reconcile_duration_seconds_count"),
            metric(&text, "powerplane_reconcile_duration_seconds_bucket{le=\"1.28\"}"),
        );
        assert_eq!(count, under, "every reconcile took under 1.28 s:\n{text}");
    }
    let (_, s, _) = status(&lab);
    assert!(s["lastReconcile"]["durationMs"].as_u64().unwrap() < 1000, "{s}");
    assert_eq!(w.terminate().code(), Some(143), "SIGTERM: exit 143");
}

/// A dry run that reports work left is not a success: `lastSuccess` stays unset, the
/// last-success gauge 0, and `status` exits 2.
#[test]
fn a_dry_run_with_work_left_is_no_success() {
    let lab = Lab::new();
    init(&lab);
    let mut w = Watch::start(&lab, &["--interval", "1h", "--listen", "127.0.0.1:0", "--dry-run"]);
    let api = Api::of(&mut w);
    w.until(&["drift reported, not healed (dry run)"]);
    let (code, s, _) = status(&lab);
    assert_eq!(s["lastReconcile"]["result"], "reported", "{s}");
    assert!(s["lastSuccess"].is_null(), "work is left: no success: {s}");
    assert_eq!(code, Some(2), "{s}");
    let text = api.get("/metrics").1;
    assert_eq!(metric(&text, "powerplane_last_success_timestamp_seconds"), 0.0, "{text}");
    assert_eq!(metric(&text, "powerplane_reconcile_failures_total"), 1.0, "{text}");
    assert_eq!(w.terminate().code(), Some(143), "SIGTERM: exit 143");
}

/// A saved plan whose digest was recomputed after an edit (`startVios p72vio2` made
/// `stopVios p72vio1`: the last running VIOS of p72's pair, under a running partition) is
/// derived again from the manifests and the estate it was sealed against, and refused naming
/// the first differing action; nothing runs. The unedited plan applies.
#[test]
fn a_resealed_plan_that_does_not_follow_from_the_manifests_is_refused() {
    let lab = Lab::new();
    init(&lab);
    lab.cmd(&["apply", &m(&lab), "--yes"]).assert().success();
    lab.cmd(&["sim", "vios-down", "p72", "p72vio2"]).assert().success();
    let file = lab.dir.path().join("plan.json");
    lab.cmd(&["plan", &m(&lab), "--out", file.to_str().unwrap()]).assert().code(2);
    let forged = lab.dir.path().join("forged.json");
    std::fs::copy(&file, &forged).unwrap();
    crate::safety::reseal(&forged, |p| {
        let actions = p["plan"]["actions"].as_array_mut().unwrap();
        let start = actions.iter_mut().find(|a| a["op"] == "startVios").expect("the plan starts p72vio2");
        start["op"] = "stopVios".into();
        start["vios"] = "p72vio1".into();
    });
    let before = audit_len(&lab);
    lab.cmd(&["apply", "--plan", forged.to_str().unwrap(), "--yes"]).timeout(NO_HANG).assert().code(1).stderr(
        predicate::str::contains("action 1 of the plan file, a1 StopVios Vios/p72:p72vio1")
            .and(predicate::str::contains("a1 StartVios Vios/p72:p72vio2"))
            .and(predicate::str::contains("nothing was done"))
            .and(predicate::str::contains("not a signature")),
    );
    assert_eq!(audit_len(&lab), before, "nothing ran");
    let show = lab.cmd(&["sim", "show"]).assert().success().get_output().stdout.clone();
    let show = String::from_utf8(show).unwrap();
    assert!(show.contains("p72vio1 Running, p72vio2 Not Activated"), "{show}");
    // Order matters too: an extra action appended is refused as well.
    let extra = lab.dir.path().join("extra.json");
    std::fs::copy(&file, &extra).unwrap();
    crate::safety::reseal(&extra, |p| {
        let actions = p["plan"]["actions"].as_array_mut().unwrap();
        let mut stop = actions[0].clone();
        stop["id"] = "a2".into();
        stop["op"] = "stopVios".into();
        stop["vios"] = "p72vio1".into();
        actions.push(stop);
    });
    lab.cmd(&["apply", "--plan", extra.to_str().unwrap(), "--yes"])
        .timeout(NO_HANG)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("the plan file has 2 action(s), the manifests and the estate give 1"));
    // The plan as made applies.
    lab.cmd(&["--sim-speedup", "400", "apply", "--plan", file.to_str().unwrap(), "--yes"]).assert().success();
}

/// How many records the audit trail holds.
fn audit_len(lab: &Lab) -> usize {
    let out = lab.cmd(&["audit", "--json"]).assert().success().get_output().stdout.clone();
    String::from_utf8(out).unwrap().lines().count()
}
