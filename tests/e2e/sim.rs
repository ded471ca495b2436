//! `powerplane sim ...` and `powerplane import`: the simulated lab behaves as the seeds say
//! across separate commands, and bad input changes nothing.

use predicates::prelude::*;
use serde_json::Value;

use crate::support::Lab;

use super::support::lab_inventory as inventory;

fn init(lab: &Lab) {
    lab.cmd(&["--inventory", &inventory(), "sim", "init"])
        .assert()
        .success()
        .stdout(predicate::str::contains("4 frames, 2 partitions"));
}

fn show(lab: &Lab) -> Value {
    let out = lab.cmd(&["sim", "show", "--format", "json"]).assert().success().get_output().stdout.clone();
    serde_json::from_slice(&out).unwrap()
}

fn frame<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["frames"].as_array().unwrap().iter().find(|f| f["name"] == name).unwrap()
}

fn sea_states(v: &Value, f: &str) -> Vec<(String, String, Vec<u64>)> {
    frame(v, f)["sea"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["vios"].as_str().unwrap().to_owned(),
                m["state"].as_str().unwrap().to_owned(),
                m["vlans"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap()).collect(),
            )
        })
        .collect()
}

fn current_paging(v: &Value, partition: &str) -> String {
    let p = v["frames"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["partitions"].as_array().unwrap())
        .find(|p| p["name"] == partition)
        .unwrap();
    p["paging_current"].as_str().unwrap().to_owned()
}

#[test]
fn sim_show_prints_the_lab() {
    let lab = Lab::new();
    init(&lab);
    let out = lab.cmd(&["sim", "show"]).assert().success().get_output().stdout.clone();
    let text = String::from_utf8(out).unwrap();
    for needle in [
        "Frame IBM_MMA_P6_102615A_SOLCHMS05  9117-MMA 102615A  Operating",
        "Frame p72  8233-E8B 100302P",
        "p72vio1            ent4 ha_mode=auto     priority 1  PRIMARY    bridge All  VLANs 1 10 11 2 12 13",
        "hdisk17            40960 MB common       -> lpar_6_sotchax11",
        "paging via lpar_1_solchio05 (primary lpar_1_solchio05, secondary lpar_2_solchio06)",
        "Partition   bxaix85            Running                4096 MB  1.00 units",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}

// seeds: powervm-quickstart... (SEA failover and failback in auto mode) and
// ams-dual-vios-and-lpm.txt ("no automatic switch back").
#[test]
fn vios_down_and_up_across_commands_behave_like_the_seeds() {
    let lab = Lab::new();
    init(&lab);
    let all = vec![1, 10, 11, 2, 12, 13];
    assert_eq!(
        sea_states(&show(&lab), "p72"),
        vec![("p72vio1".into(), "PRIMARY".into(), all.clone()), ("p72vio2".into(), "BACKUP".into(), vec![])]
    );
    lab.cmd(&["sim", "vios-down", "p72", "p72vio1"]).assert().success().stdout("p72vio1 shut down\n");
    assert_eq!(
        sea_states(&show(&lab), "p72"),
        vec![("p72vio1".into(), "INACTIVE".into(), vec![]), ("p72vio2".into(), "PRIMARY".into(), all.clone())]
    );
    lab.cmd(&["sim", "vios-up", "p72", "p72vio1"]).assert().success();
    assert_eq!(sea_states(&show(&lab), "p72")[0], ("p72vio1".into(), "PRIMARY".into(), all), "auto fails back");

    let ams = "IBM_MMA_P6_102615A_SOLCHMS05";
    assert_eq!(current_paging(&show(&lab), "lpar_6_sotchax11"), "lpar_1_solchio05");
    lab.cmd(&["sim", "vios-down", ams, "lpar_1_solchio05"]).assert().success().stdout(predicate::str::contains(
        "lpar_6_sotchax11: paging failed over from lpar_1_solchio05 to lpar_2_solchio06",
    ));
    assert_eq!(current_paging(&show(&lab), "lpar_6_sotchax11"), "lpar_2_solchio06");
    lab.cmd(&["sim", "vios-up", ams, "lpar_1_solchio05"]).assert().success();
    assert_eq!(current_paging(&show(&lab), "lpar_6_sotchax11"), "lpar_2_solchio06", "no automatic switch back");
}

#[test]
fn first_use_creates_the_builtin_lab_with_one_notice() {
    let lab = Lab::new();
    // A read-only command never creates a state directory...
    lab.cmd(&["sim", "show"]).assert().code(1).stderr(
        predicate::str::contains("there is no powerplane state directory")
            .and(predicate::str::contains("nothing was created")),
    );
    assert!(!lab.state().exists(), "sim show created the state dir");
    // ...the first command that uses the backend does.
    lab.cmd(&["sim", "battery", "p72", "off"]).assert().success().stderr(
        predicate::str::contains("created one from the built-in lab inventory")
            .and(predicate::function(|s: &str| s.lines().count() == 1)),
    );
    lab.cmd(&["sim", "show"]).assert().success().stderr("");
}

#[test]
fn faults_are_armed_from_the_command_line() {
    let lab = Lab::new();
    init(&lab);
    lab.cmd(&["sim", "fail-next", "MigratePartition"])
        .assert()
        .success()
        .stdout("the next MigratePartition will fail\n");
    lab.cmd(&["sim", "fail-next", "StopPartition", "--transient"]).assert().success();
    lab.cmd(&["sim", "battery", "js22_slot14", "on"]).assert().success();
    assert_eq!(frame(&show(&lab), "js22_slot14")["on_battery"], true);
    lab.cmd(&["sim", "rmc", "bxaix85", "off"]).assert().success();
    lab.cmd(&["sim", "fail-next", "Teleport"]).assert().code(1).stderr(
        predicate::str::contains("unknown action kind `Teleport`").and(predicate::str::contains("MigratePartition")),
    );
}

/// Issue 33 item 14: one injection is pending per kind; a second `fail-next` of the same kind
/// replaces the first and says so, and one of another kind replaces nothing.
#[test]
fn a_second_fail_next_of_a_kind_says_it_replaces_the_pending_one() {
    let lab = Lab::new();
    init(&lab);
    lab.cmd(&["sim", "fail-next", "MigratePartition", "--midway"])
        .assert()
        .success()
        .stdout("the next MigratePartition will fail half-way, leaving it to be recovered\n");
    lab.cmd(&["sim", "fail-next", "MigratePartition", "--transient"]).assert().success().stdout(
        "the next MigratePartition will fail (transient)\nthis replaces the pending injection for MigratePartition (it was to fail half-way, leaving it to be recovered); one is pending per kind\n",
    );
    lab.cmd(&["sim", "fail-next", "StopPartition"]).assert().success().stdout("the next StopPartition will fail\n");
}

#[test]
fn unknown_frame_or_vios_changes_nothing() {
    let lab = Lab::new();
    init(&lab);
    let before = show(&lab);
    lab.cmd(&["sim", "vios-down", "p99", "p72vio1"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("The managed system p99 was not found").and(predicate::str::contains("p72")));
    lab.cmd(&["sim", "vios-down", "p72", "p72vio9"]).assert().code(1).stderr(
        predicate::str::contains("p72vio9 is not a Virtual I/O Server")
            .and(predicate::str::contains("p72vio1, p72vio2")),
    );
    lab.cmd(&["sim", "battery", "nowhere", "on"]).assert().code(1);
    assert_eq!(show(&lab), before);
}

#[test]
fn a_bad_inventory_is_reported_with_file_and_line_and_keeps_the_old_estate() {
    let lab = Lab::new();
    init(&lab);
    let before = show(&lab);
    let bad = lab.dir.path().join("bad-inventory.yaml");
    let text = std::fs::read_to_string(inventory()).unwrap().replacen("memoryMB: 65536", "memoryMB: lots", 1);
    let line = text[..text.find("memoryMB: lots").unwrap()].matches('\n').count() + 1;
    std::fs::write(&bad, text).unwrap();
    lab.cmd(&["--inventory", bad.to_str().unwrap(), "sim", "init", "--force"]).assert().code(1).stderr(
        predicate::str::contains(format!("{}:{line}:", bad.display()))
            .and(predicate::str::contains("nothing was created")),
    );
    assert_eq!(show(&lab), before);
    lab.cmd(&["--inventory", &inventory(), "sim", "init"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("add --force"));
}

#[test]
fn a_state_dir_that_is_not_ours_is_refused_untouched() {
    let lab = Lab::new();
    std::fs::create_dir_all(lab.state()).unwrap();
    std::fs::write(lab.state().join("thesis.tex"), "precious").unwrap();
    lab.cmd(&["sim", "show"]).assert().code(1).stderr(
        predicate::str::contains("is not a powerplane state directory")
            .and(predicate::str::contains("nothing was changed")),
    );
    let names: Vec<_> = std::fs::read_dir(lab.state()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, vec!["thesis.tex"]);
    assert_eq!(std::fs::read_to_string(lab.state().join("thesis.tex")).unwrap(), "precious");
}

#[test]
fn import_writes_manifests_that_validate() {
    let lab = Lab::new();
    init(&lab);
    let out = lab.dir.path().join("imported");
    lab.cmd(&["import", "--out", out.to_str().unwrap()])
        .assert()
        .success()
        .stdout(predicate::str::contains("wrote 4 manifests"));
    let mut files: Vec<_> =
        std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    files.sort();
    assert_eq!(files, vec!["IBM_MMA_P6_102615A_SOLCHMS05.yaml", "js22_slot13.yaml", "js22_slot14.yaml", "p72.yaml"]);
    let p72 = std::fs::read_to_string(out.join("p72.yaml")).unwrap();
    assert!(p72.contains("haMode: auto") && p72.contains("kind: SharedEthernetAdapter"), "{p72}");
    lab.cmd(&["validate", out.to_str().unwrap()]).assert().success().stdout(predicate::str::contains(
        "valid: 15 objects (4 Frame, 1 SharedMemoryPool, 4 ViosPair, 4 SharedEthernetAdapter, 2 Partition)",
    ));
    lab.cmd(&["--inventory", &inventory(), "validate", out.to_str().unwrap()]).assert().success();
    // A second import does not overwrite without --force.
    lab.cmd(&["import", "--out", out.to_str().unwrap()])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("already exists; nothing was written"));
}

/// Issue 13 item 14: `sim events` lists the errpt entries of a SEA failover across separate
/// commands (the entries are stored), `--since` gives only the newer ones, `sim show --format
/// json` has them too, and reading them writes nothing.
// seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, lines 945-975.
#[test]
fn sim_events_lists_the_errpt_entries_of_a_failover() {
    let lab = Lab::new();
    init(&lab);
    lab.cmd(&["sim", "vios-down", "p72", "p72vio1"]).assert().success();
    lab.cmd(&["sim", "vios-up", "p72", "p72vio1"]).assert().success();
    let before = lab.snapshot();
    let out = lab.cmd(&["sim", "events", "--format", "json"]).assert().success().get_output().stdout.clone();
    assert_eq!(lab.snapshot(), before, "sim events writes nothing");
    let events: Value = serde_json::from_slice(&out).unwrap();
    let sea: Vec<String> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["frame"] == "p72")
        .map(|e| {
            format!(
                "{} {} {}",
                e["logged_by"].as_str().unwrap(),
                e["identifier"].as_str().unwrap(),
                e["description"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        sea,
        ["p72vio2 E136EAFA BECOME PRIMARY", "p72vio1 E136EAFA BECOME PRIMARY", "p72vio2 40D97644 BECOME BACKUP"],
        "{events:#}"
    );
    let last_but_one = events.as_array().unwrap().iter().rev().nth(1).unwrap()["seq"].as_u64().unwrap();
    lab.cmd(&["sim", "events", "--since", &last_but_one.to_string()]).assert().success().stdout(
        predicate::str::contains("40D97644")
            .and(predicate::str::contains("BECOME BACKUP"))
            .and(predicate::str::contains("BECOME PRIMARY").not()),
    );
    assert_eq!(show(&lab)["events"], events, "sim show --format json has them");
}
