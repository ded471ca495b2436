//! Issue 31 item 3 through a real OpenSSH server: names the HMC allows with spaces (a frame
//! `p9 lab 1`, VIOS `p9 vios 1`/`p9 vios 2`, a partition `db prod 01`,
//! `tests/fixtures/spaced-names`) are observed through `--hmc` without a change, and a resize
//! rendered with them quoted (`-m "p9 lab 1" -p "db prod 01"`) is carried out by the emulator
//! over ssh; the plan's renderings, the audit trail and `import` keep the names whole.

use std::path::Path;
use std::process::{Command, Output};

use super::hmc_ssh::through;
use super::sshd::Sshd;
use super::support::{Lab, text};

/// `powerplane --state-dir S ARGS` without `--hmc`: the controller's own state.
fn local(state: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_powerplane"))
        .arg("--state-dir")
        .arg(state)
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

/// The spaced-names estate: its hardware and, as brownfield, its manifests realised by
/// `sim init`.
fn spaced_estate() -> Lab {
    Lab::from_fixture("spaced-names", |estate| estate)
}

#[test]
fn names_with_spaces_are_observed_resized_and_clean_through_the_hmc() {
    let lab = spaced_estate();
    let m = lab.manifests();
    let m = m.to_str().unwrap();
    let sshd = Sshd::start(&lab.state());
    let controller = tempfile::tempdir().unwrap();
    let state = controller.path().join("state");

    // Observed through the HMC: nothing to change.
    let out = through(&sshd, &state, &["plan", m]);
    assert_eq!(out.status.code(), Some(0), "no changes through the HMC: {}", text(&out));

    // A resize of `db prod 01`, rendered with its names quoted in every form.
    lab.edit("estate.yaml", "memory: {desiredMB: 8192, maxMB: 16384}", "memory: {desiredMB: 12288, maxMB: 16384}");
    // Its profile changed alongside (issue 32 item 3), then the DLPAR change.
    let resize = r#"chsyscfg -r prof -m "p9 lab 1" -i "name=default_profile,lpar_name=db prod 01,desired_mem=12288"; chhwres -r mem -m "p9 lab 1" -o a -p "db prod 01" -q 4096"#;
    let hmc = through(&sshd, &state, &["plan", m, "--format", "hmc"]);
    assert_eq!(hmc.status.code(), Some(2), "{}", text(&hmc));
    assert!(String::from_utf8_lossy(&hmc.stdout).lines().any(|l| l == resize), "{}", text(&hmc));
    let json = through(&sshd, &state, &["plan", m, "--format", "json"]);
    let plan: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let actions = plan["actions"].as_array().unwrap();
    assert_eq!(actions.len(), 1, "{plan:#}");
    assert_eq!(actions[0]["command"], resize);
    assert_eq!(actions[0]["object"], "Partition/db prod 01");
    let dot = through(&sshd, &state, &["plan", m, "--format", "dot"]);
    assert!(String::from_utf8_lossy(&dot.stdout).contains("Partition/db prod 01\"]"), "{}", text(&dot));
    let human = through(&sshd, &state, &["plan", m]);
    assert!(text(&human).contains("db prod 01"), "{}", text(&human));

    // Applied through the emulator over ssh.
    let out = through(&sshd, &state, &["apply", m, "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("Converged"), "{}", text(&out));
    let listed =
        sshd.ssh(r#"lshwres -r mem -m "p9 lab 1" --level lpar --filter "lpar_names=db prod 01" -F lpar_name,curr_mem"#);
    assert_eq!(String::from_utf8_lossy(&listed.stdout), "db prod 01,12288\n", "{}", text(&listed));

    // Nothing drifted; the plan is empty again.
    let drift = through(&sshd, &state, &["drift", m]);
    assert_eq!(drift.status.code(), Some(0), "{}", text(&drift));
    let again = through(&sshd, &state, &["plan", m]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));

    // The audit trail records the name whole and the command as it ran, and verifies.
    let audit = local(&state, &["audit", "--json"]);
    let records: Vec<serde_json::Value> =
        String::from_utf8_lossy(&audit.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(
        records.iter().any(|r| r["object"] == "Partition/db prod 01" && r["command"] == resize),
        "{}",
        text(&audit)
    );
    let verify = local(&state, &["audit", "verify"]);
    assert!(verify.status.success(), "{}", text(&verify));

    // `import` writes the frame's file under its name, spaces and all, and it validates.
    let imported = controller.path().join("imported");
    let out = through(&sshd, &state, &["import", "--out", imported.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let file = imported.join("p9 lab 1.yaml");
    let yaml = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}\n{}", file.display(), text(&out)));
    assert!(yaml.contains("name: db prod 01"), "{yaml}");
    let out = through(&sshd, &state, &["plan", imported.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "the imported manifests describe the estate: {}", text(&out));
}
