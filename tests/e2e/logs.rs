//! `--log-format json`: every line a command writes on stderr is one flat JSON object
//! (`timestamp`, `level`, `message`, …) — its log lines, and what it says besides them: notes,
//! warnings, errors with their fix, findings, "listening on", what a signal does.

use serde_json::Value;

use crate::support::{Lab, text};
use crate::watch::Watch;

/// Every stderr line parsed as a JSON object with a level and a message; fails naming the
/// line that is not.
#[track_caller]
fn json_lines(stderr: &[u8]) -> Vec<Value> {
    let stderr = String::from_utf8_lossy(stderr);
    stderr
        .lines()
        .map(|l| {
            let v: Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}\nstderr:\n{stderr}"));
            assert!(v.is_object() && v["level"].is_string() && v["message"].is_string(), "{l}");
            assert!(v["timestamp"].as_str().is_some_and(|t| t.parse::<jiff::Timestamp>().is_ok()), "{l}");
            v
        })
        .collect()
}

/// The line whose message contains `needle`.
#[track_caller]
fn message<'a>(lines: &'a [Value], needle: &str) -> &'a Value {
    lines.iter().find(|v| v["message"].as_str().unwrap().contains(needle)).unwrap_or_else(|| {
        panic!("no line says {needle:?}: {lines:#?}");
    })
}

#[test]
fn apply_plan_and_validate_write_only_json_lines_on_stderr_under_log_format_json() {
    let lab = Lab::new();
    let m = lab.manifests();
    let m = m.to_str().unwrap();
    // No simulated estate yet: apply notes that it creates one, logs each action, and the
    // text mode's "note: …" is an INFO line without its prefix.
    let out = lab.cmd(&["--log-format", "json", "apply", m, "--yes"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let lines = json_lines(&out.stderr);
    let created = message(&lines, "had no simulated estate yet; created one");
    assert_eq!(created["level"], "INFO");
    assert!(!created["message"].as_str().unwrap().starts_with("note:"), "{created}");
    message(&lines, "action finished");
    // An error and its fix: each its own line, the error at level ERROR.
    let out = lab.cmd(&["--log-format", "json", "plan", m, "--refresh=false"]).output().unwrap();
    let lines = json_lines(&out.stderr);
    assert!(out.status.success() || out.status.code() == Some(2), "{}", text(&out));
    message(&lines, "planning against the observation of");
    std::fs::write(lab.path("broken.yaml"), "apiVersion: powerplane/v1\nkind: [\n").unwrap();
    let out = lab.cmd(&["--log-format", "json", "plan", m]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let lines = json_lines(&out.stderr);
    message(&lines, "broken.yaml");
    message(&lines, "invalid manifests: nothing was planned");
    let out = lab.cmd(&["--log-format", "json", "validate", m]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    message(&json_lines(&out.stderr), "invalid");
    let out = lab.cmd(&["--log-format", "json", "plan", m]).env("POWERPLANE_NOW", "Wednesday").output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let lines = json_lines(&out.stderr);
    assert_eq!(message(&lines, "POWERPLANE_NOW=Wednesday")["level"], "ERROR");
    message(&lines, "fix: ");
}

#[test]
fn watch_says_where_it_listens_and_what_a_signal_does_in_json_lines() {
    let lab = Lab::new();
    crate::watch::init(&lab);
    let m = lab.manifests();
    let child = lab.spawn(&[
        "--log-format",
        "json",
        "watch",
        m.to_str().unwrap(),
        "--interval",
        "1h",
        "--listen",
        "127.0.0.1:0",
    ]);
    let mut w = Watch::of(child);
    w.until(&["listening on"]);
    w.until(&["reconciled: applied"]);
    let (status, seen) = w.terminate_logged();
    assert_eq!(status.code(), Some(143));
    let seen = seen.join("\n");
    let lines = json_lines(seen.as_bytes());
    message(&lines, "listening on 127.0.0.1:");
    message(&lines, "SIGTERM: starting no new action");
    message(&lines, "SIGTERM: the controller stopped");
}
