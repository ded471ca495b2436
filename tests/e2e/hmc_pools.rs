//! Issue 32 items 2 and 8 through a real OpenSSH server: a shared processor pool is configured
//! (an unused `SharedPoolNN` named by `new_name`), resized and, with prune, unconfigured after
//! its partition is deleted; a redundant partition's primary paging VIOS changes with its
//! profile and a live switch. Each converges, and `plan` is then empty.

use super::hmc_ssh::through;
use super::sshd::Sshd;
use super::support::{Lab, text};

use super::support::lab_inventory as inventory;

/// The lab's estate on the emulated HMC behind a real sshd, and a controller state directory
/// (its temporary directory kept alive with it).
fn lab_behind_sshd() -> (Lab, Sshd, tempfile::TempDir, std::path::PathBuf) {
    let lab = Lab::new();
    lab.cmd(&["--inventory", &inventory(), "sim", "init"]).assert().success();
    let sshd = Sshd::start(&lab.state());
    let controller = tempfile::tempdir().unwrap();
    let state = controller.path().join("state");
    (lab, sshd, controller, state)
}

/// The kinds of a JSON plan, in order.
fn kinds(plan: &std::process::Output) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(plan)));
    v["actions"].as_array().unwrap().iter().map(|a| a["kind"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn a_processor_pool_is_created_resized_and_removed_through_the_hmc() {
    let (lab, sshd, _controller, state) = lab_behind_sshd();
    let m = lab.manifests();
    let m = m.to_str().unwrap();
    let pools = || {
        String::from_utf8_lossy(
            &sshd.ssh("lshwres -r procpool -m p72 -F shared_proc_pool_id,name,max_pool_proc_units").stdout,
        )
        .into_owned()
    };
    // The lab's brownfield has no prodpool: it is configured from the lowest unused pool.
    assert!(!pools().contains("prodpool"), "{}", pools());
    let out = through(&sshd, &state, &["apply", m, "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(pools().lines().any(|l| l.ends_with(",prodpool,8.00")), "{}", pools());
    let again = through(&sshd, &state, &["plan", m]);
    assert_eq!(again.status.code(), Some(0), "converged: {}", text(&again));

    // Resized by name.
    lab.edit("p72.yaml", "maxProcUnits: 8", "maxProcUnits: 6");
    let plan = through(&sshd, &state, &["plan", m, "--format", "json"]);
    assert_eq!(kinds(&plan), ["UpdateSharedProcessorPool"], "{}", text(&plan));
    let out = through(&sshd, &state, &["apply", m, "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(pools().lines().any(|l| l.ends_with(",prodpool,6.00")), "{}", pools());
    assert_eq!(through(&sshd, &state, &["plan", m]).status.code(), Some(0));

    // Neither the pool nor its partition described, and prune on: the partition is stopped and
    // deleted, then the pool unconfigured (maximum 0, its SharedPoolNN name back).
    let p72 = std::fs::read_to_string(lab.manifests().join("p72.yaml")).unwrap();
    let kept: Vec<&str> = p72
        .split("---\n")
        .filter(|d| !d.contains("kind: SharedProcessorPool") && !d.contains("kind: Partition"))
        .collect();
    std::fs::write(lab.manifests().join("p72.yaml"), kept.join("---\n")).unwrap();
    std::fs::write(
        lab.manifests().join("settings.yaml"),
        "apiVersion: powerplane/v1\nkind: Settings\nmetadata: {name: lab}\nspec: {prune: true, allowEmpty: true}\n",
    )
    .unwrap();
    let plan = through(&sshd, &state, &["plan", m, "--format", "json"]);
    assert_eq!(kinds(&plan), ["StopPartition", "DeletePartition", "RemoveSharedProcessorPool"], "{}", text(&plan));
    let refused = through(&sshd, &state, &["apply", m, "--yes"]);
    assert_ne!(refused.status.code(), Some(0), "deletions need --allow-delete: {}", text(&refused));
    assert!(text(&refused).contains("SharedProcessorPool/p72-prodpool"), "{}", text(&refused));
    let out = through(&sshd, &state, &["apply", m, "--yes", "--allow-delete"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!pools().contains("prodpool"), "{}", pools());
    let again = through(&sshd, &state, &["plan", m]);
    assert_eq!(again.status.code(), Some(0), "nothing left to do: {}", text(&again));
}

#[test]
fn a_new_primary_paging_vios_is_a_profile_change_and_a_switch_through_the_hmc() {
    let (lab, sshd, _controller, state) = lab_behind_sshd();
    let m = lab.manifests();
    let m = m.to_str().unwrap();
    let out = through(&sshd, &state, &["apply", m, "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    lab.edit(
        "solchms05.yaml",
        "paging: {redundancy: required, primary: 1}",
        "paging: {redundancy: required, primary: 2}",
    );
    let plan = through(&sshd, &state, &["plan", m, "--format", "json"]);
    assert_eq!(kinds(&plan), ["UpdatePartition", "SwitchPagingVios"], "{}", text(&plan));
    let out = through(&sshd, &state, &["apply", m, "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let ams = "IBM_MMA_P6_102615A_SOLCHMS05";
    let listed = sshd.ssh(&format!("lshwres -r mem -m {ams} --level lpar -F lpar_name,curr_paging_vios_name"));
    assert_eq!(String::from_utf8_lossy(&listed.stdout), "lpar_6_sotchax11,lpar_2_solchio06\n", "{}", text(&listed));
    let again = through(&sshd, &state, &["plan", m]);
    assert_eq!(again.status.code(), Some(0), "nothing left to do: {}", text(&again));
}
