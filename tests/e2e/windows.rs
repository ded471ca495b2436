//! Maintenance windows (issue 15): `Sat 22:00-Sun 04:00` in Europe/Berlin governs the
//! migration that evacuates f0 (a 32 GB partition: about 16 min). Outside the window nothing
//! disruptive runs and the plan says when it will; ten minutes before it closes the migration
//! is still held; inside it, it runs; `--ignore-windows` runs it outside and is on record.
//! The clock is set with `POWERPLANE_NOW`.

use std::fs;

use predicates::prelude::*;
use serde_json::Value;

use crate::support::Lab;

/// f0 (in maintenance) and f1; `big` (32 GB) on f0, and `n - 1` more like it (`big1`..);
/// the window of the module's doc.
fn estate_of(lab: &Lab, n: usize) {
    let mut inv = String::new();
    let mut man = String::new();
    let names: Vec<String> = (0..n).map(|i| if i == 0 { "big".to_owned() } else { format!("big{i}") }).collect();
    let disks = names
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{{name: hdisk{}, lun: L-{p}, sizeMB: 20480, reservePolicy: no_reserve}}", 10 + i))
        .collect::<Vec<_>>()
        .join(", ");
    for (i, f) in ["f0", "f1"].iter().enumerate() {
        let common = format!(
            "---\napiVersion: powerplane/v1\nkind: ViosPair\nmetadata: {{name: {f}-pair}}\nspec: {{frame: {f}, members: [{{name: {f}va}}, {{name: {f}vb}}]}}\n---\napiVersion: powerplane/v1\nkind: SharedEthernetAdapter\nmetadata: {{name: {f}-sea}}\nspec: {{viosPair: {f}-pair, haMode: auto, primary: {f}va, realAdapter: ent0, controlChannel: ent2, trunks: [{{adapter: ent1, pvid: 1}}]}}\n"
        );
        inv.push_str(&format!(
            "---\napiVersion: powerplane/v1\nkind: FrameHardware\nmetadata: {{name: {f}}}\nspec:\n  serial: \"S{i:05}\"\n  machineType: \"8233-E8B\"\n  memoryMB: 65536\n  procUnits: 8\n  compatModes: [POWER7]\n  vios:\n    - {{name: {f}va, memoryMB: 2048, procUnits: 0.5, msp: true, ethernet: [ent0, ent1, ent2], disks: [{disks}]}}\n    - {{name: {f}vb, memoryMB: 2048, procUnits: 0.5, msp: true, ethernet: [ent0, ent1, ent2], disks: [{disks}]}}\n{common}"
        ));
        man.push_str(&format!(
            "---\napiVersion: powerplane/v1\nkind: Frame\nmetadata: {{name: {f}}}\nspec: {{maintenance: {}}}\n{common}",
            i == 0
        ));
    }
    let big = |name: &str, placement: &str| {
        format!(
            "---\napiVersion: powerplane/v1\nkind: Partition\nmetadata: {{name: {name}}}\nspec:\n  placement: {placement}\n  state: running\n  processors: {{mode: shared, units: 0.5, virtual: 1, compat: POWER7}}\n  memory: {{mode: dedicated, desiredMB: {}, maxMB: 32768}}\n  network: [{{vlan: 1}}]\n  storage: [{{lun: L-{name}, via: vscsi}}]\n",
            if n == 1 { 32768 } else { 12288 }
        )
    };
    for p in &names {
        inv.push_str(&big(p, "{frame: f0}"));
        man.push_str(&big(p, "{anyOf: [f0, f1]}"));
    }
    man.push_str("---\napiVersion: powerplane/v1\nkind: Settings\nmetadata: {name: estate}\nspec:\n  maintenanceWindows:\n    - name: sat-night\n      schedule: \"Sat 22:00-Sun 04:00\"\n      timezone: Europe/Berlin\n");
    lab.replace_estate(&inv, &man);
}

/// The estate of the module's doc, with one 32 GB partition to move.
pub(crate) fn estate(lab: &Lab) {
    estate_of(lab, 1);
}

fn m(lab: &Lab) -> String {
    lab.manifests().to_str().unwrap().to_owned()
}

fn big_is_on(lab: &Lab) -> String {
    let out = lab.cmd(&["sim", "show", "--format", "json"]).output().unwrap();
    let show: Value = serde_json::from_slice(&out.stdout).unwrap();
    for f in show["frames"].as_array().unwrap() {
        if f["partitions"].as_array().unwrap().iter().any(|p| p["name"] == "big" && p["state"] == "Running") {
            return f["name"].as_str().unwrap().to_owned();
        }
    }
    panic!("big runs nowhere: {show}");
}

fn audit(lab: &Lab) -> Vec<Value> {
    let out = lab.cmd(&["audit", "--json"]).output().unwrap();
    String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn outside_the_window_nothing_disruptive_runs_and_the_plan_says_when_it_will() {
    let lab = Lab::new();
    estate(&lab);
    // Wednesday noon.
    let wed = "2026-12-02T12:00:00Z";
    lab.cmd(&["plan", &m(&lab)])
        .env("POWERPLANE_NOW", wed)
        .assert()
        .code(2)
        .stdout(predicate::str::contains("Held for maintenance windows if applied now (2 action(s))"))
        .stdout(predicate::str::contains("opens Sat 2026-12-05 22:00 CET"));
    let out = lab.cmd(&["plan", &m(&lab), "--format", "json"]).env("POWERPLANE_NOW", wed).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let held = v["held"].as_array().unwrap();
    assert_eq!(held.len(), 2, "the validation and the migration: {held:?}");
    assert!(held.iter().any(|h| h["opens"] == "2026-12-05T21:00:00Z"), "{held:?}");
    lab.cmd(&["--sim-speedup", "0", "apply", &m(&lab), "--yes"])
        .env("POWERPLANE_NOW", wed)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("Not converged: everything left is held for a maintenance window"));
    assert_eq!(big_is_on(&lab), "f0");
    assert!(!audit(&lab).iter().any(|r| r["kind"] == "MigratePartition"), "nothing was attempted");
}

#[test]
fn a_sixteen_minute_migration_is_held_ten_minutes_before_the_window_closes_and_runs_inside_it() {
    let lab = Lab::new();
    estate(&lab);
    // Sunday 03:50 in Berlin: the window closes in ten minutes.
    lab.cmd(&["--sim-speedup", "0", "apply", &m(&lab), "--yes"])
        .env("POWERPLANE_NOW", "2026-12-06T02:50:00Z")
        .assert()
        .code(1)
        .stdout(predicate::str::contains("closes at 2026-12-06 04:00 CET").and(predicate::str::contains("16 min")));
    assert_eq!(big_is_on(&lab), "f0");
    // Sunday 02:00 in Berlin: two hours left.
    lab.cmd(&["--sim-speedup", "0", "apply", &m(&lab), "--yes"])
        .env("POWERPLANE_NOW", "2026-12-06T01:00:00Z")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("Converged"));
    assert_eq!(big_is_on(&lab), "f1");
}

#[test]
fn ignore_windows_runs_the_held_work_and_is_on_record() {
    let lab = Lab::new();
    estate(&lab);
    lab.cmd(&["--sim-speedup", "0", "apply", &m(&lab), "--yes", "--ignore-windows"])
        .env("POWERPLANE_NOW", "2026-12-02T12:00:00Z")
        .assert()
        .code(0)
        .stderr(predicate::str::contains("--ignore-windows: 2 action(s) run outside their maintenance windows"));
    assert_eq!(big_is_on(&lab), "f1");
    let records = audit(&lab);
    let o = records.iter().find(|r| r["event"] == "override").expect("the override is on record");
    assert_eq!(o["kind"], "IgnoreWindows");
    assert!(o["object"].as_str().unwrap().contains("sat-night"), "{o}");
    assert!(o["message"].as_str().unwrap().contains("a1, a2"), "{o}");
    lab.cmd(&["audit", "verify"]).assert().success();
}

#[test]
fn an_unknown_time_zone_is_refused_with_the_fix() {
    let lab = Lab::new();
    estate(&lab);
    let file = lab.manifests().join("estate.yaml");
    fs::write(&file, fs::read_to_string(&file).unwrap().replace("Europe/Berlin", "Europe/Atlantis")).unwrap();
    lab.cmd(&["plan", &m(&lab)])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("`Europe/Atlantis` is not a time zone").and(predicate::str::contains("IANA")));
}

/// Four 12 GB moves (about 6 min each with the validation), one at a time, begun 25 minutes
/// before the window closes: three fit, the executor starts no fourth that would overrun the
/// window, and says so.
#[test]
fn an_evacuation_longer_than_the_window_stops_starting_moves_before_it_closes() {
    let lab = Lab::new();
    estate_of(&lab, 4);
    let out = lab
        .cmd(&["--sim-speedup", "0", "apply", &m(&lab), "--yes", "--per-frame", "1"])
        .env("POWERPLANE_NOW", "2026-12-06T02:35:00Z")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{text}");
    let records = audit(&lab);
    let migrated = records.iter().filter(|r| r["kind"] == "MigratePartition" && r["result"] == "succeeded").count();
    assert_eq!(migrated, 3, "{text}");
    let held: Vec<&Value> = records
        .iter()
        .filter(|r| {
            r["event"] == "skip" && r["message"].as_str().is_some_and(|m| m.contains("closes at 2026-12-06 04:00 CET"))
        })
        .collect();
    assert!(!held.is_empty(), "the fourth move is held with the reason: {text}");
    assert!(text.contains("closes at 2026-12-06 04:00 CET"), "{text}");
}

/// Ten minutes before the window opens, `apply --wait-for-window` holds the move, waits for
/// the opening (on the simulator's virtual time: 1 s at 600x), then applies it and converges.
#[test]
fn apply_can_wait_for_the_window_to_open() {
    let lab = Lab::new();
    estate(&lab);
    lab.cmd(&["--sim-speedup", "600", "apply", &m(&lab), "--yes", "--wait-for-window"])
        .env("POWERPLANE_NOW", "2026-12-05T20:50:00Z")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("Waiting for the maintenance window that opens at 2026-12-05T21:00:00Z"))
        .stdout(predicate::str::contains("Converged"));
    assert_eq!(big_is_on(&lab), "f1");
}
