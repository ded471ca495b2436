//! Issue 31 through a real OpenSSH server: an estate written to match the HMC conformance corpus
//! (`tests/fixtures/p9-estate`) plans no changes through `--hmc`, and what an HMC cannot observe
//! (a frame that is not Operating, a VIOS without RMC) is set aside and named, never an
//! aborted observation.

use super::hmc_ssh::through;
use super::sshd::Sshd;
use super::support::{Lab, text};

/// The POWER9/Power10 estate: its hardware and, as brownfield, its manifests realised by
/// `sim init`. An inventory says where a partition runs now: aix-prod, which may run on either
/// frame, runs on the POWER9.
pub(crate) fn power9_estate() -> Lab {
    Lab::from_fixture("p9-estate", |estate| {
        super::support::replaced(&estate, "placement: {anyOf: [p9-sys, p10-sys]}", "placement: {frame: p9-sys}")
    })
}

/// POWER9_base and the other spellings of the corpus, 51-character disk ids, a stopped
/// partition (listed with 0 MB) and an NPIV client: no changes in process, and none through
/// the HMC emulator behind sshd; `import` through the HMC writes the stopped partition with its
/// profile's memory.
#[test]
fn a_power9_estate_written_to_match_the_corpus_plans_no_changes_through_the_hmc() {
    let lab = power9_estate();
    let m = lab.manifests();
    let m = m.to_str().unwrap();
    let direct = lab.cmd(&["plan", m]).output().unwrap();
    assert_eq!(direct.status.code(), Some(0), "{}", text(&direct));
    let sshd = Sshd::start(&lab.state());
    let controller = tempfile::tempdir().unwrap();
    let state = controller.path().join("state");
    let out = through(&sshd, &state, &["plan", m]);
    assert_eq!(out.status.code(), Some(0), "no changes through the HMC: {}", text(&out));
    let drift = through(&sshd, &state, &["drift", m]);
    assert_eq!(drift.status.code(), Some(0), "{}", text(&drift));
    let imported = controller.path().join("imported");
    let out = through(&sshd, &state, &["import", "--out", imported.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let mut all = String::new();
    for f in std::fs::read_dir(&imported).unwrap() {
        all.push_str(&std::fs::read_to_string(f.unwrap().path()).unwrap());
    }
    let Some(test) = all.split("---").find(|d| d.contains("name: aix-test")) else {
        panic!("aix-test is imported: {all}\n{}", text(&out));
    };
    assert!(test.contains("desiredMB: 16384"), "the stopped partition keeps its profile's memory: {test}");
    assert!(test.contains("state: stopped"), "{test}");
    assert!(all.contains("POWER9_base"), "the HMC's spelling: {all}");
}

/// A frame in `No Connection`, a VIOS whose RMC connection is lost and a partition the HMC
/// lists as `Not Available`: the plan through the HMC names all three and plans nothing on them (no `PP-E063` for the VIOS's adapters), `drift`
/// exits 2; once they are back, the plan is what it was.
#[test]
fn what_the_hmc_cannot_observe_is_set_aside_and_named() {
    let lab = power9_estate();
    let m = lab.manifests();
    let m = m.to_str().unwrap();
    lab.cmd(&["sim", "frame-state", "p10-sys", "No Connection"]).assert().success();
    lab.cmd(&["sim", "rmc", "p9vios2", "off"]).assert().success();
    lab.cmd(&["sim", "lpar-state", "aix-prod", "Not Available"]).assert().success();
    let sshd = Sshd::start(&lab.state());
    let controller = tempfile::tempdir().unwrap();
    let state = controller.path().join("state");
    let out = through(&sshd, &state, &["plan", m, "--format", "json"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let deferred = plan["deferred"].to_string();
    assert!(deferred.contains("Frame/p10-sys: set aside") && deferred.contains("No Connection"), "{deferred}");
    assert!(deferred.contains("p9vios2") && deferred.contains("could not be listed"), "{deferred}");
    assert!(deferred.contains("lnx-npiv"), "a partition that may be on the set-aside frame waits: {deferred}");
    assert!(deferred.contains("aix-prod") && deferred.contains("Not Available"), "{deferred}");
    assert!(plan["errors"].as_array().unwrap().is_empty(), "{}", plan["errors"]);
    assert!(!out.stdout.windows(7).any(|w| w == b"PP-E063"), "{}", text(&out));
    for a in plan["actions"].as_array().unwrap() {
        assert!(!a["frames"].to_string().contains("p10-sys"), "nothing is planned on a set-aside frame: {a}");
        assert!(!a["command"].to_string().contains("p9vios2"), "nothing is planned through an unknown VIOS: {a}");
        assert!(!a["command"].to_string().contains("aix-prod"), "nothing is planned on an unknown partition: {a}");
    }
    let human = through(&sshd, &state, &["plan", m]);
    assert_eq!(human.status.code(), Some(2));
    assert!(text(&human).contains("No Connection"), "{}", text(&human));
    let drift = through(&sshd, &state, &["drift", m]);
    assert_eq!(drift.status.code(), Some(2), "{}", text(&drift));
    lab.cmd(&["sim", "frame-state", "p10-sys", "Operating"]).assert().success();
    lab.cmd(&["sim", "rmc", "p9vios2", "on"]).assert().success();
    lab.cmd(&["sim", "lpar-state", "aix-prod", "Running"]).assert().success();
    let out = through(&sshd, &state, &["plan", m]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}
