//! `powerplane validate`: the lab is valid; every kind of bad input exits 1, names the file and
//! line, and changes nothing (no state dir, no file touched, nothing on stdout).

use std::fs;

use predicates::prelude::*;

use crate::support::{Lab, root};

/// Line (1-based) of the first occurrence of `needle` in a manifest.
fn line_of(lab: &Lab, file: &str, needle: &str) -> usize {
    let text = fs::read_to_string(lab.path(file)).unwrap();
    let at = text.find(needle).unwrap_or_else(|| panic!("{file} has no {needle:?}"));
    text[..at].matches('\n').count() + 1
}

/// Runs `validate`, expects exit 1 and each `(file, line, code)` in stderr on one line, and
/// checks that nothing else happened.
#[track_caller]
fn assert_rejected(lab: &Lab, expected: &[(&str, usize, &str)]) -> String {
    let before = lab.snapshot();
    let out = lab.validate().assert().code(1).get_output().clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(out.stdout.is_empty(), "stdout: {}", String::from_utf8_lossy(&out.stdout));
    for (file, line, code) in expected {
        let at = format!("{}:{line}:", lab.path(file).display());
        assert!(
            stderr.lines().any(|l| l.starts_with(&at) && l.contains(code)),
            "expected {code} at {at} in:\n{stderr}"
        );
    }
    assert!(stderr.contains("= fix: "), "every finding says what to do:\n{stderr}");
    assert_eq!(lab.snapshot(), before, "validate changed files");
    assert!(!lab.state().exists(), "validate created the state dir");
    stderr
}

#[test]
fn lab_estate_is_valid_with_a_one_line_summary() {
    let out = crate::support::Lab::new()
        .cmd(&["validate", root().join("manifests").to_str().unwrap()])
        .assert()
        .success()
        .get_output()
        .clone();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(
        stdout.contains("valid: 17 objects (4 Frame, 1 SharedProcessorPool, 1 SharedMemoryPool, 4 ViosPair, 4 SharedEthernetAdapter, 3 Partition)"),
        "{stdout}"
    );
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn lab_estate_is_valid_against_its_inventory() {
    let lab = Lab::new();
    let inv = root().join("examples/lab/inventory.yaml");
    lab.cmd(&["--inventory", inv.to_str().unwrap(), "validate", lab.manifests().to_str().unwrap()])
        .assert()
        .success()
        .stdout(predicate::str::contains("valid: 17 objects"));
}

#[test]
fn json_output_for_scripts() {
    let lab = Lab::new();
    lab.edit("p72.yaml", "pool: prodpool", "pool: nopool");
    let m = lab.manifests();
    let out = lab.cmd(&["validate", m.to_str().unwrap(), "--format", "json"]).assert().code(1).get_output().clone();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], false);
    assert_eq!(v["objects"]["Partition"], 3);
    let d = &v["diagnostics"][0];
    assert_eq!(d["code"], "PP-E011");
    assert_eq!(d["rule"], "dangling-reference");
    assert_eq!(d["object"], "Partition/p72_app01");
    assert_eq!(d["line"], line_of(&lab, "p72.yaml", "pool: nopool"));
    assert!(d["file"].as_str().unwrap().ends_with("p72.yaml"));
}

#[test]
fn malformed_yaml() {
    let lab = Lab::new();
    lab.edit("p72.yaml", "  realAdapter: ent0\n", "  realAdapter: [ent0\n");
    let line = line_of(&lab, "p72.yaml", "  controlChannel: ent3");
    assert_rejected(&lab, &[("p72.yaml", line, "PP-E003 yaml-syntax")]);
}

#[test]
fn wrong_indentation() {
    let lab = Lab::new();
    lab.edit("p72.yaml", "  viosPair: p72-vios\n  haMode: sharing", "  viosPair: p72-vios\n haMode: sharing");
    let line = line_of(&lab, "p72.yaml", " haMode: sharing");
    assert_rejected(&lab, &[("p72.yaml", line, "PP-E003 yaml-syntax")]);
}

#[test]
fn unknown_field() {
    let lab = Lab::new();
    lab.edit("p72.yaml", "  state: running\n  processors", "  state: running\n  colour: blue\n  processors");
    let line = line_of(&lab, "p72.yaml", "colour: blue");
    let err = assert_rejected(&lab, &[("p72.yaml", line, "PP-E004 schema")]);
    assert!(err.contains("unknown field `colour`"), "{err}");
}

/// Issue 33 item 10: a name that begins with `-` would read as an option on an HMC command
/// line (`chsysstate -m p72 -r lpar -o on -n -o -f default`): refused where it is written, for
/// a partition, a frame it is placed on, and a VIOS.
#[test]
fn names_that_would_read_as_options_are_refused() {
    let lab = Lab::new();
    lab.edit("p72.yaml", "name: p72_app01", "name: \"-o\"");
    lab.edit("p72.yaml", "- {name: p72vio2, state: running}", "- {name: \"--force\", state: running}");
    let p = line_of(&lab, "p72.yaml", "name: \"-o\"");
    let v = line_of(&lab, "p72.yaml", "--force");
    let err = assert_rejected(&lab, &[("p72.yaml", p, "PP-E004 schema"), ("p72.yaml", v, "PP-E004 schema")]);
    assert!(err.contains("begins with `-`"), "{err}");
    // Nothing was rendered or run: plan refuses the same way.
    let m = lab.manifests();
    lab.cmd(&["plan", m.to_str().unwrap()]).assert().code(1).stderr(predicate::str::contains("begins with `-`"));
}

#[test]
fn wrong_type() {
    let lab = Lab::new();
    lab.edit("js22.yaml", "desiredMB: 4096", "desiredMB: lots");
    let line = line_of(&lab, "js22.yaml", "desiredMB: lots");
    let err = assert_rejected(&lab, &[("js22.yaml", line, "PP-E004 schema")]);
    assert!(err.contains("spec.memory.desiredMB") && err.contains("a whole number of megabytes"), "{err}");
    assert!(err.contains("Partition/bxaix85"), "{err}");
}

#[test]
fn missing_required_field() {
    let lab = Lab::new();
    lab.edit("p72.yaml", "  realAdapter: ent0\n", "");
    let line = line_of(&lab, "p72.yaml", "spec:\n  viosPair: p72-vios");
    let err = assert_rejected(&lab, &[("p72.yaml", line + 1, "PP-E004 schema")]);
    assert!(err.contains("missing field `realAdapter`"), "{err}");
}

#[test]
fn duplicate_name_across_two_files() {
    let lab = Lab::new();
    fs::create_dir_all(lab.path("more")).unwrap();
    fs::write(lab.path("more/copy.yaml"), "apiVersion: powerplane/v1\nkind: Frame\nmetadata:\n  name: p72\n").unwrap();
    // Files load in path order, so `more/copy.yaml` comes first and `p72.yaml` is the duplicate.
    let line = line_of(&lab, "p72.yaml", "  name: p72");
    let err = assert_rejected(&lab, &[("p72.yaml", line, "PP-E010 duplicate-name")]);
    let other = format!("the other definition is at {}:4:3", lab.path("more/copy.yaml").display());
    assert!(err.contains(&other), "names the other definition:\n{err}");
}

#[test]
fn dangling_frame_vios_and_pool_references() {
    let lab = Lab::new();
    lab.edit("js22.yaml", "anyOf: [js22_slot13, js22_slot14]", "anyOf: [js22_slot13, js22_slot99]");
    lab.edit(
        "solchms05.yaml",
        "pagingVios: [lpar_1_solchio05, lpar_2_solchio06]",
        "pagingVios: [lpar_1_solchio05, lpar_9_nowhere]",
    );
    lab.edit("p72.yaml", "pool: prodpool", "pool: nopool");
    assert_rejected(
        &lab,
        &[
            (
                "js22.yaml",
                line_of(&lab, "js22.yaml", "anyOf: [js22_slot13, js22_slot99]"),
                "PP-E011 dangling-reference",
            ),
            ("solchms05.yaml", line_of(&lab, "solchms05.yaml", "pagingVios:"), "PP-E011 dangling-reference"),
            ("p72.yaml", line_of(&lab, "p72.yaml", "pool: nopool"), "PP-E011 dangling-reference"),
        ],
    );
}

#[test]
fn three_paging_vios() {
    let lab = Lab::new();
    lab.edit("solchms05.yaml", "    - {name: lpar_2_solchio06, state: running}", "    - {name: lpar_2_solchio06, state: running}\n---\napiVersion: powerplane/v1\nkind: ViosPair\nmetadata: {name: solchms05-vios-b}\nspec: {frame: IBM_MMA_P6_102615A_SOLCHMS05, members: [{name: lpar_3_solchio07}]}");
    lab.edit(
        "solchms05.yaml",
        "pagingVios: [lpar_1_solchio05, lpar_2_solchio06]",
        "pagingVios: [lpar_1_solchio05, lpar_2_solchio06, lpar_3_solchio07]",
    );
    let err = assert_rejected(
        &lab,
        &[("solchms05.yaml", line_of(&lab, "solchms05.yaml", "pagingVios:"), "PP-E031 paging-vios-count")],
    );
    assert!(err.contains("one or two paging VIOS, this one lists 3"), "{err}");
}

#[test]
fn two_seas_on_one_vios_pair() {
    let lab = Lab::new();
    lab.append(
        "p72.yaml",
        "apiVersion: powerplane/v1\nkind: SharedEthernetAdapter\nmetadata:\n  name: p72-sea2\nspec:\n  viosPair: p72-vios\n  haMode: auto\n  primary: p72vio1\n  realAdapter: ent5\n  controlChannel: ent6\n  trunks: [{adapter: ent7, pvid: 7}]\n",
    );
    let line = line_of(&lab, "p72.yaml", "  name: p72-sea2") + 2;
    let err = assert_rejected(&lab, &[("p72.yaml", line, "PP-E021 sea-per-vios-pair")]);
    assert!(err.contains("already has SEA `p72-sea`"), "{err}");
}

#[test]
fn paging_device_smaller_than_max_memory() {
    let lab = Lab::new();
    lab.edit("solchms05.yaml", "maxMB: 4096", "maxMB: 81920");
    let err = assert_rejected(
        &lab,
        &[("solchms05.yaml", line_of(&lab, "solchms05.yaml", "maxMB: 81920"), "PP-E032 paging-device-too-small")],
    );
    assert!(err.contains("40960 MB"), "{err}");
}

#[test]
fn fewer_common_paging_devices_than_required_partitions() {
    let lab = Lab::new();
    lab.append(
        "solchms05.yaml",
        "apiVersion: powerplane/v1\nkind: Partition\nmetadata: {name: lpar_7_sotchax12}\nspec:\n  placement: {frame: IBM_MMA_P6_102615A_SOLCHMS05}\n  processors: {units: 0.5}\n  memory: {mode: shared, desiredMB: 1024, maxMB: 4096, paging: {redundancy: required}}\n",
    );
    let err = assert_rejected(
        &lab,
        &[("solchms05.yaml", line_of(&lab, "solchms05.yaml", "  pagingDevices:"), "PP-E033 common-paging-devices")],
    );
    assert!(err.contains("2 partitions require redundant paging (lpar_6_sotchax11, lpar_7_sotchax12) but the pool has 1 common paging devices"), "{err}");
}

#[test]
fn empty_directory() {
    let lab = Lab::new();
    let empty = lab.dir.path().join("empty");
    fs::create_dir(&empty).unwrap();
    lab.cmd(&["validate", empty.to_str().unwrap()])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains("PP-E007 no-manifests").and(predicate::str::contains("holds no *.yaml")));
    assert!(!lab.state().exists());
}

#[test]
fn directory_that_does_not_exist() {
    let lab = Lab::new();
    let missing = lab.dir.path().join("nope");
    lab.cmd(&["validate", missing.to_str().unwrap()])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains("PP-E008 no-such-directory").and(predicate::str::contains("nope")));
    assert!(!lab.state().exists());
}

#[test]
fn binary_file_named_yaml() {
    let lab = Lab::new();
    fs::write(lab.path("blob.yaml"), [b'k', b'i', b'n', b'd', b'\n', 0x00, 0xff, 0xfe, 0x89, b'P', b'N', b'G'])
        .unwrap();
    let err = assert_rejected(&lab, &[("blob.yaml", 2, "PP-E002 not-utf8")]);
    assert!(err.contains("binary"), "{err}");
}

#[test]
fn several_errors_in_one_run_are_all_reported() {
    let lab = Lab::new();
    lab.edit("js22.yaml", "desiredMB: 4096", "desiredMB: lots");
    lab.edit("p72.yaml", "  state: running\n  processors", "  state: running\n  colour: blue\n  processors");
    lab.edit("solchms05.yaml", "  realAdapter: ent0\n", "  realAdapter: [ent0\n");
    let err = assert_rejected(
        &lab,
        &[
            ("js22.yaml", line_of(&lab, "js22.yaml", "desiredMB: lots"), "PP-E004"),
            ("p72.yaml", line_of(&lab, "p72.yaml", "colour: blue"), "PP-E004"),
            ("solchms05.yaml", line_of(&lab, "solchms05.yaml", "  controlChannel: ent2"), "PP-E003"),
        ],
    );
    assert!(err.contains("invalid: 3 errors"), "{err}");
}

#[test]
fn semantic_errors_are_all_reported_too() {
    let lab = Lab::new();
    lab.edit("solchms05.yaml", "maxMB: 4096", "maxMB: 81920");
    lab.edit("p72.yaml", "vlans: [12, 13]", "vlans: [11, 13]");
    lab.edit("js22.yaml", "    - vlan: 1\n", "    - vlan: 77\n");
    assert_rejected(
        &lab,
        &[
            ("solchms05.yaml", line_of(&lab, "solchms05.yaml", "maxMB: 81920"), "PP-E032"),
            ("p72.yaml", line_of(&lab, "p72.yaml", "{adapter: ent2"), "PP-E025"),
            ("js22.yaml", line_of(&lab, "js22.yaml", "placement: {anyOf"), "PP-E044"),
        ],
    );
}

#[test]
fn usage_errors_exit_1_not_2() {
    let lab = Lab::new();
    lab.cmd(&["validate"]).assert().code(1);
    lab.cmd(&["frobnicate"]).assert().code(1);
    lab.cmd(&["--help"]).assert().success();
}
