//! Cluster steps under `--hmc` (issue 32 item 7): a VCS member migrates through the emulated
//! HMC behind sshd while its node steps (`lltconfig -T peerinact:N` on every member) go over
//! SSH to a second sshd that answers as the nodes (`sim node-shell NODE`), their host keys
//! checked against `--ssh-known-hosts`.
//! seeds: infoscale-lpm-vcs.txt, lines 91-103.

use std::path::Path;

use serde_json::Value;

use super::cluster::estate;
use super::sshd::{NodeSshd, Sshd};
use super::support::Lab;

/// `powerplane --state-dir S --hmc ... --ssh-known-hosts KNOWN ARGS`.
fn through(sshd: &Sshd, state: &Path, known: &Path, args: &[&str]) -> std::process::Output {
    let mut hmc = sshd.hmc_args();
    let at = hmc.iter().position(|a| a == "--ssh-known-hosts").unwrap();
    hmc[at + 1] = known.display().to_string();
    std::process::Command::new(env!("CARGO_BIN_EXE_powerplane"))
        .arg("--state-dir")
        .arg(state)
        .args(hmc)
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

/// The VCS estate of `cluster.rs` (xray on f0 moving to f2, yankee on f1, unresponsive 40 s),
/// its Cluster reaching the nodes through `nodes`, behind an emulated HMC.
fn lab_with_nodes() -> (Lab, Sshd, NodeSshd) {
    lab_with_nodes_copying(false)
}

/// [`lab_with_nodes`]; with `copy`, f2 also holds an inactive copy of xray under its name, as
/// VCS keeps one on every frame of the LPAR resource's system list (seeds:
/// infoscale-lpm-vcs.txt, lines 111-120).
fn lab_with_nodes_copying(copy: bool) -> (Lab, Sshd, NodeSshd) {
    lab_with_nodes_at("f2", copy)
}

/// [`lab_with_nodes_copying`], xray placed on `xray_at`.
fn lab_with_nodes_at(xray_at: &str, copy: bool) -> (Lab, Sshd, NodeSshd) {
    let lab = Lab::new();
    estate(&lab, 40, Some(xray_at), Some("f1"), "{peerinactSeconds: 16, unresponsiveSeconds: 40}");
    if copy {
        let inv = lab.dir.path().join("inventory.yaml");
        let text = std::fs::read_to_string(&inv).unwrap();
        let f2 = "metadata: {name: f2}\nspec:\n";
        assert!(text.contains(f2), "{text}");
        std::fs::write(&inv, text.replacen(f2, &format!("{f2}  profileCopies: [xray]\n"), 1)).unwrap();
        let out = lab.cmd(&["--inventory", inv.to_str().unwrap(), "sim", "init", "--force"]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let sshd = Sshd::start(&lab.state());
    let nodes = NodeSshd::start(&lab.state(), &["xray", "yankee"]);
    lab.edit(
        "estate.yaml",
        "  vcs: {peerinactSeconds: 16, unresponsiveSeconds: 40}\n",
        &format!("  vcs: {{peerinactSeconds: 16, unresponsiveSeconds: 40}}\n  ssh: {}\n", nodes.cluster_ssh()),
    );
    (lab, sshd, nodes)
}

fn show(lab: &Lab) -> Value {
    let out = lab.cmd(&["sim", "show", "--format", "json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn node<'a>(show: &'a Value, name: &str) -> &'a Value {
    show["cluster_nodes"].as_array().unwrap().iter().find(|n| n["partition"] == name).unwrap()
}

fn audit(state: &Path) -> Vec<Value> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_powerplane"))
        .arg("--state-dir")
        .arg(state)
        .args(["audit", "--json"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// The member migrates through the HMC; peerinact is raised on both nodes over SSH before it
/// and restored after; no service group fails over; the plan is then empty.
#[test]
fn a_vcs_member_migrates_through_the_hmc_with_its_node_steps_over_ssh() {
    let (lab, sshd, nodes) = lab_with_nodes();
    let controller = tempfile::tempdir().unwrap();
    let state = controller.path().join("state");
    let known = controller.path().join("known_hosts");
    let both = format!(
        "{}\n{}",
        std::fs::read_to_string(&sshd.known_hosts).unwrap().trim_end(),
        std::fs::read_to_string(&nodes.known_hosts).unwrap()
    );
    std::fs::write(&known, both).unwrap();
    let m = lab.manifests();
    let m = m.to_str().unwrap();
    let out = through(&sshd, &state, &known, &["apply", m, "--yes"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    let after = show(&lab);
    assert_eq!(node(&after, "xray")["frame"], "f2", "migrated: {after:#}");
    for member in ["xray", "yankee"] {
        assert_eq!(node(&after, member)["peerinact_centis"], 1600, "restored on {member}");
        assert_eq!(node(&after, member)["failovers"], Value::Null, "no false failover on {member}");
    }
    // What each node answered over SSH is the step's outcome.
    let records = audit(&state);
    for (kind, said) in
        [("RaisePeerInactive", "LLT peerinact set to 8000"), ("RestorePeerInactive", "LLT peerinact set to 1600")]
    {
        for member in ["xray", "yankee"] {
            assert!(
                records.iter().any(|r| r["event"] == "outcome"
                    && r["kind"] == kind
                    && r["result"] == "succeeded"
                    && r["message"].as_str().is_some_and(|s| s.contains(&format!("{member}: {said}")))),
                "{kind} on {member}: {records:#?}"
            );
        }
    }
    let again = through(&sshd, &state, &known, &["plan", m]);
    assert_eq!(again.status.code(), Some(0), "{}", String::from_utf8_lossy(&again.stdout));
}

/// `known_hosts` with the keys of the emulated HMC and of the nodes, in `dir`.
fn known_both(sshd: &Sshd, nodes: &NodeSshd, dir: &Path) -> std::path::PathBuf {
    let known = dir.join("known_hosts");
    let both = format!(
        "{}\n{}",
        std::fs::read_to_string(&sshd.known_hosts).unwrap().trim_end(),
        std::fs::read_to_string(&nodes.known_hosts).unwrap()
    );
    std::fs::write(&known, both).unwrap();
    known
}

/// The LPARs the emulated HMC lists on `frame`, as `name,state`.
fn lpars(sshd: &Sshd, frame: &str) -> Vec<String> {
    let out = sshd.ssh(&format!("lssyscfg -r lpar -m {frame} -F name,state"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect()
}

/// Issue 32 item 8(c): f2 holds xray's inactive same-name copy, which the HMC's validation
/// refuses a move onto. Through `--hmc`, the plan runs VCS's procedure: the copy is renamed
/// `xray_vcs`, xray is validated and migrated (its node steps over SSH), its profile is
/// restored as an inactive copy on f0 and `xray_vcs` is removed. It converges: `plan` is then
/// empty, and the copy is on the source.
#[test]
fn a_vcs_member_moves_onto_its_profile_copy_through_the_procedure() {
    let (lab, sshd, nodes) = lab_with_nodes_copying(true);
    let controller = tempfile::tempdir().unwrap();
    let state = controller.path().join("state");
    let known = known_both(&sshd, &nodes, controller.path());
    assert!(lpars(&sshd, "f2").contains(&"xray,Not Activated".to_owned()), "{:?}", lpars(&sshd, "f2"));
    let m = lab.manifests();
    let m = m.to_str().unwrap();
    let planned = through(&sshd, &state, &known, &["plan", m, "--format", "json"]);
    assert_eq!(planned.status.code(), Some(2), "{}", String::from_utf8_lossy(&planned.stderr));
    let plan: Value = serde_json::from_slice(&planned.stdout).unwrap();
    let kinds: Vec<&str> = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .filter(|k| !k.ends_with("PeerInactive"))
        .collect();
    assert_eq!(
        kinds,
        ["RenameProfileCopy", "ValidateMigration", "MigratePartition", "RestoreProfileCopy", "RemoveProfileCopy"],
        "{plan:#}"
    );
    let out = through(&sshd, &state, &known, &["apply", m, "--yes"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(node(&show(&lab), "xray")["frame"], "f2", "migrated");
    assert!(lpars(&sshd, "f0").contains(&"xray,Not Activated".to_owned()), "restored: {:?}", lpars(&sshd, "f0"));
    let on_f2 = lpars(&sshd, "f2");
    assert!(on_f2.contains(&"xray,Running".to_owned()), "{on_f2:?}");
    assert!(!on_f2.iter().any(|l| l.starts_with("xray_vcs")), "the renamed copy is removed: {on_f2:?}");
    let again = through(&sshd, &state, &known, &["plan", m]);
    assert_eq!(again.status.code(), Some(0), "{}", String::from_utf8_lossy(&again.stdout));
}

/// The failure path, declaratively: a copy left set aside as `xray_vcs` on f2 (a move that did
/// not happen) while the manifests keep xray on f0 is renamed back through `--hmc`, and the plan
/// is then empty.
#[test]
fn a_copy_left_set_aside_is_renamed_back_when_the_move_is_not_wanted() {
    let (lab, sshd, nodes) = lab_with_nodes_at("f0", true);
    let set_aside = sshd.ssh("chsyscfg -r lpar -m f2 -i \"name=xray,new_name=xray_vcs\"");
    assert!(set_aside.status.success(), "{}", String::from_utf8_lossy(&set_aside.stdout));
    assert!(lpars(&sshd, "f2").contains(&"xray_vcs,Not Activated".to_owned()), "{:?}", lpars(&sshd, "f2"));
    let controller = tempfile::tempdir().unwrap();
    let state = controller.path().join("state");
    let known = known_both(&sshd, &nodes, controller.path());
    let m = lab.manifests();
    let m = m.to_str().unwrap();
    let planned = through(&sshd, &state, &known, &["plan", m, "--format", "hmc"]);
    let text = String::from_utf8_lossy(&planned.stdout);
    assert_eq!(planned.status.code(), Some(2), "{text}\n{}", String::from_utf8_lossy(&planned.stderr));
    assert!(text.contains("chsyscfg -r lpar -m f2 -i \"name=xray_vcs,new_name=xray\""), "{text}");
    assert!(!text.contains("migrlpar"), "{text}");
    // Rehearsed first on a twin of what the HMC shows (the copies included), then applied.
    let out = through(&sshd, &state, &known, &["apply", m, "--yes", "--rehearse"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let on_f2 = lpars(&sshd, "f2");
    assert!(
        on_f2.contains(&"xray,Not Activated".to_owned()) && !on_f2.iter().any(|l| l.starts_with("xray_vcs")),
        "{on_f2:?}"
    );
    let again = through(&sshd, &state, &known, &["plan", m]);
    assert_eq!(again.status.code(), Some(0), "{}", String::from_utf8_lossy(&again.stdout));
}

/// Without a VCS Cluster in the manifests, the move onto a frame holding an LPAR of the same
/// name is a plan error naming it and the procedure, through `--hmc` as in the model: no
/// migration the HMC would refuse is planned, and `apply` changes nothing.
#[test]
fn a_move_onto_a_same_name_lpar_without_vcs_is_refused_with_the_procedure() {
    let (lab, sshd, nodes) = lab_with_nodes_copying(true);
    let text = std::fs::read_to_string(lab.path("estate.yaml")).unwrap();
    let at = text.find("---\napiVersion: powerplane/v1\nkind: Cluster").expect("the Cluster");
    std::fs::write(lab.path("estate.yaml"), &text[..at]).unwrap();
    let controller = tempfile::tempdir().unwrap();
    let state = controller.path().join("state");
    let known = known_both(&sshd, &nodes, controller.path());
    let m = lab.manifests();
    let m = m.to_str().unwrap();
    let planned = through(&sshd, &state, &known, &["plan", m]);
    let text = format!("{}\n{}", String::from_utf8_lossy(&planned.stdout), String::from_utf8_lossy(&planned.stderr));
    assert_eq!(planned.status.code(), Some(1), "{text}");
    assert!(text.contains("f2 holds another LPAR named xray"), "{text}");
    assert!(text.contains("a member of a `manager: vcs` Cluster"), "{text}");
    assert!(!text.contains("migrlpar"), "{text}");
    let out = through(&sshd, &state, &known, &["apply", m, "--yes"]);
    assert_ne!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(node(&show(&lab), "xray")["frame"], "f0", "not migrated");
    assert!(lpars(&sshd, "f2").contains(&"xray,Not Activated".to_owned()), "{:?}", lpars(&sshd, "f2"));
}

/// Nodes whose host keys are not in `--ssh-known-hosts`: ssh does not log in, the step is
/// refused with what to do, the migration that needs it does not start, and nothing changes.
#[test]
fn a_node_whose_host_key_is_unknown_is_refused_and_nothing_changes() {
    let (lab, sshd, _nodes) = lab_with_nodes();
    let controller = tempfile::tempdir().unwrap();
    let state = controller.path().join("state");
    let before = show(&lab);
    let m = lab.manifests();
    let m = m.to_str().unwrap();
    let out = through(&sshd, &state, &sshd.known_hosts, &["apply", m, "--yes"]);
    let text = format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("the host key of the cluster node"), "{text}");
    assert!(text.contains("ssh-keyscan -p"), "says what to do: {text}");
    let after = show(&lab);
    assert_eq!(node(&after, "xray")["frame"], "f0", "not migrated");
    assert_eq!(before["cluster_nodes"], after["cluster_nodes"], "no node changed");
    let records = audit(&state);
    assert!(
        !records.iter().any(|r| r["kind"] == "MigratePartition" && r["event"] == "intent"),
        "the migration never started: {records:#?}"
    );
}
