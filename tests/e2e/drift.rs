//! `powerplane drift`: exit 0 none, 2 drift, 1 error; what changed outside git is named.

use predicates::prelude::*;
use serde_json::Value;

use crate::support::{Lab, root};

#[test]
fn drift_exit_codes_and_report() {
    let lab = Lab::new();
    let inventory = root().join("examples/lab/inventory.yaml");
    lab.cmd(&["--inventory", inventory.to_str().unwrap(), "sim", "init"]).assert().success();
    let m = lab.manifests();
    let m = m.to_str().unwrap();
    // Before anything is applied, the estate differs from the manifests.
    lab.cmd(&["drift", m]).assert().code(2).stdout(predicate::str::contains("Drift from"));
    lab.cmd(&["apply", m, "--yes"]).assert().success();
    lab.cmd(&["drift", m]).assert().code(0).stdout(predicate::str::starts_with("No drift"));
    // A failover made outside git.
    lab.cmd(&["sim", "vios-down", "IBM_MMA_P6_102615A_SOLCHMS05", "lpar_1_solchio05"]).assert().success();
    let out = lab.cmd(&["drift", m, "--format", "json"]).assert().code(2).get_output().stdout.clone();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["drift"], true);
    let since: Vec<&str> = v["since_last_observation"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["object"].as_str().unwrap())
        .collect();
    assert!(
        since.contains(&"PartitionStatus/lpar_6_sotchax11") && since.contains(&"SeaStatus/solchms05-sea"),
        "{since:?}"
    );
    let objects: Vec<&str> = v["objects"].as_array().unwrap().iter().map(|c| c["object"].as_str().unwrap()).collect();
    assert!(objects.contains(&"Partition/lpar_6_sotchax11"), "{objects:?}");
    // Invalid manifests are an error, not drift.
    lab.edit("p72.yaml", "pool: prodpool", "pool: nopool");
    lab.cmd(&["drift", m]).assert().code(1).stderr(predicate::str::contains("PP-E011"));
}
