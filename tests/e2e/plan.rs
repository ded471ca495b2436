//! `powerplane plan`: the ordering rules of DESIGN §4 on seed situations of the lab estate,
//! the renderings, and the exit codes.

use predicates::prelude::*;
use serde_json::Value;

use crate::support::{Lab, replaced};

use super::support::lab_inventory as inventory;

fn init(lab: &Lab, inventory: &str) {
    lab.cmd(&["--inventory", inventory, "sim", "init"]).assert().success();
}

/// `plan --format json` with its exit code.
fn plan_json(lab: &Lab, dir: &std::path::Path) -> (Value, i32) {
    let out = lab.cmd(&["plan", dir.to_str().unwrap(), "--format", "json"]).output().unwrap();
    let v: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    (v, out.status.code().unwrap())
}

/// Plans the lab's manifests and expects a refusal: exit 1, no actions, and a first error that
/// says every one of `needles`.
fn refused(lab: &Lab, needles: &[&str]) {
    let (v, code) = plan_json(lab, &lab.manifests());
    assert_eq!(code, 1, "{v:#}");
    assert!(v["actions"].as_array().unwrap().is_empty(), "{v:#}");
    let e = v["errors"][0].as_str().unwrap();
    assert!(needles.iter().all(|n| e.contains(n)), "{e}");
}

fn actions(v: &Value) -> Vec<(String, String, String)> {
    v["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (a["id"].as_str().unwrap().into(), a["kind"].as_str().unwrap().into(), a["object"].as_str().unwrap().into())
        })
        .collect()
}

fn find<'a>(v: &'a Value, kind: &str, object: &str) -> &'a Value {
    v["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == kind && a["object"] == object)
        .unwrap_or_else(|| panic!("no {kind} {object} in {:#?}", actions(v)))
}

fn after(a: &Value) -> Vec<String> {
    a["after"].as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_owned()).collect()
}

/// Whether action `a` waits for `b`, directly or through others (`after` is transitively
/// reduced).
fn waits_for(v: &Value, a: &Value, b: &str) -> bool {
    let mut todo = after(a);
    let mut seen = Vec::new();
    while let Some(x) = todo.pop() {
        if x == b {
            return true;
        }
        if !seen.contains(&x) {
            let action = v["actions"].as_array().unwrap().iter().find(|y| y["id"] == x.as_str()).unwrap();
            todo.extend(after(action));
            seen.push(x);
        }
    }
    false
}

fn pos(v: &Value, id: &str) -> usize {
    v["actions"].as_array().unwrap().iter().position(|a| a["id"] == id).unwrap()
}

#[test]
fn lab_plan_on_a_fresh_simulator_is_what_an_administrator_expects() {
    let lab = Lab::new();
    init(&lab, &inventory());
    let (v, code) = plan_json(&lab, &lab.manifests());
    assert_eq!(code, 2, "changes");
    assert_eq!(v["errors"].as_array().unwrap().len(), 0, "{v:#}");
    assert_eq!(
        actions(&v),
        vec![
            ("a1".into(), "CreateSharedProcessorPool".into(), "SharedProcessorPool/p72:prodpool".into()),
            ("a2".into(), "SetSeaHaMode".into(), "SharedEthernetAdapter/p72:p72vio1".into()),
            ("a3".into(), "SetSeaHaMode".into(), "SharedEthernetAdapter/p72:p72vio2".into()),
            ("a4".into(), "CreatePartition".into(), "Partition/p72_app01".into()),
            ("a5".into(), "StartPartition".into(), "Partition/p72_app01".into()),
        ]
    );
    assert_eq!(v["changes"], 3);
    let a = &v["actions"][1];
    assert_eq!(a["command"], r#"viosvrcmd -m p72 -p p72vio1 -c "chdev -dev ent4 -attr ha_mode=sharing""#);
    assert_eq!(a["frames"], serde_json::json!(["p72"]));
    assert!(a["reason"].as_str().unwrap().contains("primary first"));
    // The text view: markers, field diffs and the summary line.
    let out = lab.cmd(&["plan", lab.manifests().to_str().unwrap()]).assert().code(2).get_output().stdout.clone();
    let text = String::from_utf8(out).unwrap();
    for needle in [
        "  + SharedProcessorPool/p72-prodpool  on p72",
        "  ~ SharedEthernetAdapter/p72-sea  on p72",
        "      ~ p72vio1.ha_mode: auto -> sharing",
        "      +   desiredMB: 16384",
        "Plan: 2 to create, 1 to change, 0 to migrate, 0 to delete (5 actions, about 38 s).",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    assert!(!text.contains('\u{1b}'), "no colour when not a terminal");
}

// seeds: powervm-quickstart..., "you have to change ha_mode on the primary SEA first before
// changing ha_mode on the backup SEA."
#[test]
fn sea_auto_to_sharing_acts_on_the_primary_first() {
    let lab = Lab::new();
    init(&lab, &inventory());
    let (v, _) = plan_json(&lab, &lab.manifests());
    let primary = find(&v, "SetSeaHaMode", "SharedEthernetAdapter/p72:p72vio1");
    let backup = find(&v, "SetSeaHaMode", "SharedEthernetAdapter/p72:p72vio2");
    assert!(after(backup).contains(&primary["id"].as_str().unwrap().to_owned()));
    assert!(pos(&v, primary["id"].as_str().unwrap()) < pos(&v, backup["id"].as_str().unwrap()));
}

// DESIGN §4 rule 2, seeds: ams-dual-vios-and-lpm.txt ("By using a dual Virtual I/O Server
// configuration, you can take down a Virtual I/O Server while your shared memory partitions stay
// online").
#[test]
fn stopping_a_paging_vios_switches_paging_then_fails_the_sea_over_then_stops() {
    let lab = Lab::new();
    init(&lab, &inventory());
    lab.edit(
        "solchms05.yaml",
        "    - {name: lpar_1_solchio05, state: running}",
        "    - {name: lpar_1_solchio05, state: stopped}",
    );
    let (v, code) = plan_json(&lab, &lab.manifests());
    assert_eq!(code, 2);
    let switch = find(&v, "SwitchPagingVios", "Partition/lpar_6_sotchax11");
    let standby = find(&v, "SetSeaHaMode", "SharedEthernetAdapter/IBM_MMA_P6_102615A_SOLCHMS05:lpar_1_solchio05");
    let stop = find(&v, "StopVios", "Vios/IBM_MMA_P6_102615A_SOLCHMS05:lpar_1_solchio05");
    assert!(standby["command"].as_str().unwrap().ends_with(r#"-c "chdev -dev ent3 -attr ha_mode=standby""#));
    assert_eq!(switch["command"], "chhwres -r mem -m IBM_MMA_P6_102615A_SOLCHMS05 -p lpar_6_sotchax11 -o so");
    let (s, b, t) = (switch["id"].as_str().unwrap(), standby["id"].as_str().unwrap(), stop["id"].as_str().unwrap());
    assert!(pos(&v, s) < pos(&v, b) && pos(&v, b) < pos(&v, t));
    assert!(waits_for(&v, stop, s) && after(stop).contains(&b.to_owned()));
    assert!(after(standby).contains(&s.to_owned()));
}

// DESIGN §4 rule 3, seeds: ams-dual-vios-and-lpm.txt, "no automatic switch back".
#[test]
fn after_a_paging_vios_failover_and_return_only_the_failback_is_planned() {
    let lab = Lab::new();
    init(&lab, &inventory());
    let imported = lab.dir.path().join("imported");
    lab.cmd(&["import", "--out", imported.to_str().unwrap()]).assert().success();
    // The import round trip: nothing to do.
    lab.cmd(&["plan", imported.to_str().unwrap()]).assert().code(0).stdout(predicate::str::contains("No changes."));
    let ams = "IBM_MMA_P6_102615A_SOLCHMS05";
    lab.cmd(&["sim", "vios-down", ams, "lpar_1_solchio05"]).assert().success();
    lab.cmd(&["sim", "vios-up", ams, "lpar_1_solchio05"]).assert().success();
    let (v, code) = plan_json(&lab, &imported);
    assert_eq!(code, 2);
    assert_eq!(actions(&v), vec![("a1".into(), "SwitchPagingVios".into(), "Partition/lpar_6_sotchax11".into())]);
    assert!(
        v["actions"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("paging failback from lpar_2_solchio06 to its primary paging VIOS lpar_1_solchio05")
    );
}

#[test]
fn a_failback_to_a_vios_that_stays_down_is_not_planned() {
    let lab = Lab::new();
    init(&lab, &inventory());
    lab.edit(
        "solchms05.yaml",
        "    - {name: lpar_1_solchio05, state: running}",
        "    - {name: lpar_1_solchio05, state: stopped}",
    );
    let ams = "IBM_MMA_P6_102615A_SOLCHMS05";
    lab.cmd(&["sim", "vios-down", ams, "lpar_1_solchio05"]).assert().success();
    let (v, _) = plan_json(&lab, &lab.manifests());
    assert!(!actions(&v).iter().any(|(_, k, _)| k == "SwitchPagingVios" || k == "StartVios"), "{:#?}", actions(&v));
}

#[test]
fn moving_bxaix85_to_the_second_blade_validates_then_migrates() {
    let lab = Lab::new();
    init(&lab, &inventory());
    lab.edit("js22.yaml", "placement: {anyOf: [js22_slot13, js22_slot14]}", "placement: {frame: js22_slot14}");
    let (v, code) = plan_json(&lab, &lab.manifests());
    assert_eq!(code, 2);
    let validate = find(&v, "ValidateMigration", "Partition/bxaix85");
    let migrate = find(&v, "MigratePartition", "Partition/bxaix85");
    assert_eq!(validate["command"], "migrlpar -o v -m js22_slot13 -t js22_slot14 -p bxaix85");
    assert_eq!(migrate["command"], "migrlpar -o m -m js22_slot13 -t js22_slot14 -p bxaix85");
    assert_eq!(after(migrate), vec![validate["id"].as_str().unwrap().to_owned()]);
    assert_eq!(migrate["frames"], serde_json::json!(["js22_slot13", "js22_slot14"]));
}

#[test]
fn frame_maintenance_evacuates_every_partition() {
    let lab = Lab::new();
    init(&lab, &inventory());
    lab.edit(
        "js22.yaml",
        "  name: js22_slot13\n  labels: {site: lab, chassis: bch1, generation: power6}\n",
        "  name: js22_slot13\n  labels: {site: lab, chassis: bch1, generation: power6}\nspec: {maintenance: true}\n",
    );
    let (v, _) = plan_json(&lab, &lab.manifests());
    let m = find(&v, "MigratePartition", "Partition/bxaix85");
    assert_eq!(m["frames"], serde_json::json!(["js22_slot13", "js22_slot14"]));
    assert!(m["reason"].as_str().unwrap().contains("frame js22_slot13 is in maintenance"));
    // A partition pinned to a frame in maintenance cannot stay: the plan says why.
    lab.edit(
        "solchms05.yaml",
        "  labels: {site: lab, generation: power6}\nspec:\n  maintenance: false",
        "  labels: {site: lab, generation: power6}\nspec:\n  maintenance: true",
    );
    refused(&lab, &["frame-in-maintenance"]);
}

/// Issue 13 item 2: js22_slot13 in maintenance while bvio83 holds bxaix85's rootvg LUN with a
/// SCSI reserve: no migration is proposed (the HMC would fail it with HSCLA356); `validate` and
/// `plan` say which disk needs `no_reserve`, and where the partition runs the reserve does not
/// matter.
// seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, lines 1613-1621 (HSCLA356)
// and 1672-1673 ("Make sure destination MSP has access to same vSCSI disks as source MSP. Also
// make sure disks are not reserved").
#[test]
fn a_reserved_lun_on_the_target_vios_is_refused_before_planning() {
    let lab = Lab::new();
    let inv = lab.dir.path().join("inventory.yaml");
    let text = std::fs::read_to_string(inventory()).unwrap();
    let bvio83 = text.find("    - name: bvio83").unwrap();
    let (head, tail) = text.split_at(bvio83);
    let tail = tail.replacen(
        "{name: hdisk1, lun: \"75DS81001000\", sizeMB: 30720, reservePolicy: no_reserve}",
        "{name: hdisk1, lun: \"75DS81001000\", sizeMB: 30720, reservePolicy: single_path}",
        1,
    );
    assert_ne!(tail, text.split_at(bvio83).1, "bvio83's hdisk1 is in the lab inventory");
    std::fs::write(&inv, format!("{head}{tail}")).unwrap();
    init(&lab, inv.to_str().unwrap());
    let (v, code) = plan_json(&lab, &lab.manifests());
    assert_eq!(code, 2, "where bxaix85 runs the reserve does not matter: {v:#}");
    lab.edit(
        "js22.yaml",
        "  name: js22_slot13\n  labels: {site: lab, chassis: bch1, generation: power6}\n",
        "  name: js22_slot13\n  labels: {site: lab, chassis: bch1, generation: power6}\nspec: {maintenance: true}\n",
    );
    refused(&lab, &["bxaix85", "LUN 75DS81001000 is reserved there (bvio83/hdisk1 without reserve_policy=no_reserve)"]);
    lab.cmd(&["--inventory", inv.to_str().unwrap(), "validate", lab.manifests().to_str().unwrap()])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("bvio83/hdisk1").and(predicate::str::contains("reserve_policy=no_reserve")));
}

/// The lab with a one-VIOS shared memory pool on p72 (its disk added to the inventory),
/// lpar_6_sotchax11's rootvg LUN zoned to p72 and VLAN 100 bridged there, and lpar_6_sotchax11
/// pinned to p72 with `redundancy`.
pub(crate) fn ams_move_to_p72(lab: &Lab, redundancy: &str) {
    let inv = lab.dir.path().join("inventory.yaml");
    let text = replaced(
        &std::fs::read_to_string(inventory()).unwrap(),
        "    - {name: p72vio1, memoryMB: 4096, procUnits: 1.0, ethernet: [ent0, ent1, ent2, ent3], msp: true}",
        "    - {name: p72vio1, memoryMB: 4096, procUnits: 1.0, ethernet: [ent0, ent1, ent2, ent3], msp: true, disks: [{name: hdisk5, lun: P72PG, sizeMB: 8192}, {name: hdisk6, lun: \"6005076801203E85-L1C\", sizeMB: 30720, reservePolicy: no_reserve}]}",
    );
    // Through both VIOS of p72, as on its source: else the HMC could not replicate its
    // multipath I/O (HSCLA340).
    let text = replaced(
        &text,
        "    - {name: p72vio2, memoryMB: 4096, procUnits: 1.0, ethernet: [ent0, ent1, ent2, ent3], msp: true}",
        "    - {name: p72vio2, memoryMB: 4096, procUnits: 1.0, ethernet: [ent0, ent1, ent2, ent3], msp: true, disks: [{name: hdisk6, lun: \"6005076801203E85-L1C\", sizeMB: 30720, reservePolicy: no_reserve}]}",
    );
    let text = replaced(
        &text,
        "    - {adapter: ent2, pvid: 2, vlans: [12, 13]}",
        "    - {adapter: ent2, pvid: 2, vlans: [12, 13, 100]}",
    );
    std::fs::write(&inv, text).unwrap();
    init(lab, inv.to_str().unwrap());
    lab.edit(
        "p72.yaml",
        "    - {adapter: ent2, pvid: 2, vlans: [12, 13]}",
        "    - {adapter: ent2, pvid: 2, vlans: [12, 13, 100]}",
    );
    lab.append("p72.yaml", "apiVersion: powerplane/v1\nkind: SharedMemoryPool\nmetadata: {name: p72-ams}\nspec:\n  frame: p72\n  poolMemMB: 2048\n  maxPoolMemMB: 4096\n  pagingVios: [p72vio1]\n  pagingDevices: [{device: hdisk5, sizeMB: 8192}]\n");
    lab.edit("solchms05.yaml", "placement: {frame: IBM_MMA_P6_102615A_SOLCHMS05}", "placement: {frame: p72}");
    lab.edit(
        "solchms05.yaml",
        "paging: {redundancy: required, primary: 1}",
        &format!("paging: {{redundancy: {redundancy}, primary: 1}}"),
    );
}

// DESIGN §4 rule 4; seeds: ams-dual-vios-and-lpm.txt ("You can move a shared memory partition
// running on a server with a redundant paging VIOS setup to a server where there is only one
// paging VIOS partition available") and the seed's `--redundantpgvios 0`, spelt
// `--redundantvios 0` as the simulated HMC's version (V10R3) takes it (IBM's `migrlpar` man
// pages; `powerplane_model::console::RedundancyOption`).
#[test]
fn a_preferred_partition_moves_non_redundant_with_a_warning() {
    let lab = Lab::new();
    ams_move_to_p72(&lab, "preferred");
    let (v, code) = plan_json(&lab, &lab.manifests());
    assert_eq!(code, 2, "{v:#}");
    let m = find(&v, "MigratePartition", "Partition/lpar_6_sotchax11");
    // Both frames have two mover service partitions: the plan names the pair it spreads its
    // moves over.
    assert_eq!(
        m["command"],
        r#"migrlpar -o m -m IBM_MMA_P6_102615A_SOLCHMS05 -t p72 -p lpar_6_sotchax11 --redundantvios 0 -i "source_msp_name=lpar_1_solchio05,dest_msp_name=p72vio1""#
    );
    let pool = find(&v, "AddPagingDevice", "SharedMemoryPool/p72");
    assert!(
        pos(&v, pool["id"].as_str().unwrap()) < pos(&v, m["id"].as_str().unwrap()),
        "the pool before the partition that needs it"
    );
    let warnings = v["warnings"].as_array().unwrap();
    assert!(
        warnings.iter().any(|w| w.as_str().unwrap().contains("migrated non-redundant (--redundantvios 0)")),
        "{warnings:#?}"
    );
    // Applied, the partition pages non-redundant on p72, which `preferred` accepts there.
    let m = lab.manifests();
    let out = lab.cmd(&["apply", m.to_str().unwrap(), "--yes"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let (v, code) = plan_json(&lab, &m);
    assert_eq!(code, 0, "{v:#}");
}

#[test]
fn a_required_partition_towards_one_paging_vios_fails_with_the_reason() {
    let lab = Lab::new();
    ams_move_to_p72(&lab, "required");
    refused(&lab, &["paging-redundancy", "Partition/lpar_6_sotchax11", "redundant paging is required"]);
}

#[test]
fn a_two_frame_swap_with_no_spare_room_is_reported_not_attempted() {
    let lab = Lab::new();
    let inv = lab.dir.path().join("inventory.yaml");
    let big = "memory: {mode: dedicated, desiredMB: 10240, maxMB: 12288}";
    let mut text = replaced(
        &std::fs::read_to_string(inventory()).unwrap(),
        "memory: {mode: dedicated, desiredMB: 4096, maxMB: 8192}",
        big,
    );
    text.push_str("---\napiVersion: powerplane/v1\nkind: Partition\nmetadata: {name: bxaix86}\nspec:\n  placement: {frame: js22_slot14}\n  processors: {units: 1.0}\n  memory: {desiredMB: 10240, maxMB: 12288}\n  network: [{vlan: 1}]\n  storage: [{lun: 75DS81001002, via: vscsi}]\n");
    std::fs::write(&inv, text).unwrap();
    init(&lab, inv.to_str().unwrap());
    lab.edit("js22.yaml", "placement: {anyOf: [js22_slot13, js22_slot14]}", "placement: {frame: js22_slot14}");
    lab.edit("js22.yaml", "memory: {mode: dedicated, desiredMB: 4096, maxMB: 8192}", big);
    lab.append("js22.yaml", "apiVersion: powerplane/v1\nkind: Partition\nmetadata: {name: bxaix86}\nspec:\n  placement: {frame: js22_slot13}\n  processors: {units: 1.0}\n  memory: {desiredMB: 10240, maxMB: 12288}\n  network: [{vlan: 1}]\n  storage: [{lun: 75DS81001002, via: vscsi}]\n");
    refused(&lab, &["no capacity-safe order exists", "bxaix85", "bxaix86", "swap"]);
}

/// Issue 13 item 4: DLPAR needs a running partition. bxaix85 stopped and resized: it is shut
/// down, then its profile changes (`chsyscfg -r prof`), and the apply converges; resized while
/// it runs, it is a DLPAR change (`chhwres`), its profile changed alongside first (issue 32).
#[test]
fn a_stopped_partition_changes_its_profile_not_by_dlpar() {
    let lab = Lab::new();
    init(&lab, &inventory());
    lab.edit(
        "js22.yaml",
        "  state: running\n  processors: {mode: shared, units: 1.0, virtual: 2, compat: POWER6}   # invented\n  memory: {mode: dedicated, desiredMB: 4096, maxMB: 8192}",
        "  state: stopped\n  processors: {mode: shared, units: 1.0, virtual: 2, compat: POWER6}   # invented\n  memory: {mode: dedicated, desiredMB: 6144, maxMB: 8192}",
    );
    let hmc = lab
        .cmd(&["plan", lab.manifests().to_str().unwrap(), "--format", "hmc"])
        .assert()
        .code(2)
        .get_output()
        .stdout
        .clone();
    let hmc = String::from_utf8(hmc).unwrap();
    let shutdown =
        hmc.find("chsysstate -m js22_slot13 -r lpar -o osshutdown -n bxaix85").unwrap_or_else(|| panic!("{hmc}"));
    let profile = hmc
        .find("chsyscfg -r prof -m js22_slot13 -i \"name=default_profile,lpar_name=bxaix85,desired_mem=6144\"")
        .unwrap_or_else(|| panic!("{hmc}"));
    assert!(shutdown < profile, "shut down first: {hmc}");
    assert!(!hmc.contains("chhwres -r mem -m js22_slot13"), "no DLPAR on a stopped partition: {hmc}");
    lab.cmd(&["apply", lab.manifests().to_str().unwrap(), "--yes"]).assert().success();
    lab.cmd(&["plan", lab.manifests().to_str().unwrap()]).assert().code(0);
    // Running again and resized: DLPAR.
    lab.edit("js22.yaml", "  state: stopped\n", "  state: running\n");
    lab.edit("js22.yaml", "desiredMB: 6144, maxMB: 8192", "desiredMB: 4096, maxMB: 8192");
    lab.cmd(&["apply", lab.manifests().to_str().unwrap(), "--yes"]).assert().success();
    lab.edit("js22.yaml", "desiredMB: 4096, maxMB: 8192", "desiredMB: 5120, maxMB: 8192");
    lab.cmd(&["plan", lab.manifests().to_str().unwrap(), "--format", "hmc"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains(
            "chsyscfg -r prof -m js22_slot13 -i \"name=default_profile,lpar_name=bxaix85,desired_mem=5120\"; chhwres -r mem -m js22_slot13 -o a -p bxaix85 -q 1024",
        ));
}

#[test]
fn hmc_and_dot_renderings() {
    let lab = Lab::new();
    init(&lab, &inventory());
    let hmc = lab
        .cmd(&["plan", lab.manifests().to_str().unwrap(), "--format", "hmc"])
        .assert()
        .code(2)
        .get_output()
        .stdout
        .clone();
    let hmc = String::from_utf8(hmc).unwrap();
    let commands: Vec<&str> = hmc.lines().filter(|l| !l.starts_with('#') && !l.is_empty()).collect();
    assert_eq!(commands.len(), 5);
    assert!(commands[1].contains("p72vio1") && commands[2].contains("p72vio2"), "{hmc}");
    let dot = lab
        .cmd(&["plan", lab.manifests().to_str().unwrap(), "--format", "dot"])
        .assert()
        .code(2)
        .get_output()
        .stdout
        .clone();
    let dot = String::from_utf8(dot).unwrap();
    assert!(dot.starts_with("digraph plan {") && dot.contains("a2 -> a3;"), "{dot}");
}

#[test]
fn plan_of_invalid_manifests_exits_1_and_changes_nothing() {
    let lab = Lab::new();
    init(&lab, &inventory());
    lab.edit("p72.yaml", "pool: prodpool", "pool: nopool");
    let before = lab.cmd(&["sim", "show", "--format", "json"]).output().unwrap().stdout;
    lab.cmd(&["plan", lab.manifests().to_str().unwrap()])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains("PP-E011").and(predicate::str::contains("nothing was planned")));
    assert_eq!(lab.cmd(&["sim", "show", "--format", "json"]).output().unwrap().stdout, before);
}

#[test]
fn unmanaged_partitions_are_reported_and_deleted_only_with_prune() {
    let lab = Lab::new();
    init(&lab, &inventory());
    // bxaix85 leaves the manifests: reported, left alone.
    let js22 = std::fs::read_to_string(lab.path("js22.yaml")).unwrap();
    let cut = js22.find("---\napiVersion: powerplane/v1\nkind: Partition").unwrap();
    std::fs::write(lab.path("js22.yaml"), &js22[..cut]).unwrap();
    let (v, _) = plan_json(&lab, &lab.manifests());
    assert!(!actions(&v).iter().any(|(_, _, o)| o == "Partition/bxaix85"));
    let unmanaged = v["objects"].as_array().unwrap().iter().find(|o| o["object"] == "Partition/bxaix85").unwrap();
    assert_eq!(unmanaged["kind"], "Unmanaged");
    let text = lab.cmd(&["plan", lab.manifests().to_str().unwrap()]).output().unwrap().stdout;
    assert!(String::from_utf8(text).unwrap().contains("  ? Partition/bxaix85  on js22_slot13"));
    // With `prune`, it is stopped and deleted, last.
    std::fs::write(
        lab.path("settings.yaml"),
        "apiVersion: powerplane/v1\nkind: Settings\nmetadata: {name: lab}\nspec: {prune: true}\n",
    )
    .unwrap();
    let (v, code) = plan_json(&lab, &lab.manifests());
    assert_eq!(code, 2);
    let stop = find(&v, "StopPartition", "Partition/bxaix85");
    let delete = find(&v, "DeletePartition", "Partition/bxaix85");
    // After the stop, through its storage's teardown (issue 32 item 4): unmapped, its server
    // adapter removed, the VIOS profile saved.
    assert!(waits_for(&v, delete, stop["id"].as_str().unwrap()), "the deletion waits for the stop");
    for kind in ["UnmapDisk", "RemoveServerAdapter", "SaveProfile"] {
        let a = v["actions"].as_array().unwrap().iter().find(|a| a["kind"] == kind).unwrap_or_else(|| panic!("{kind}"));
        assert!(waits_for(&v, delete, a["id"].as_str().unwrap()), "the deletion waits for {kind}");
    }
    assert_eq!(v["actions"].as_array().unwrap().last().unwrap()["id"], delete["id"], "deletions last");
    assert_eq!(delete["command"], "rmsyscfg -r lpar -m js22_slot13 -n bxaix85");
}
