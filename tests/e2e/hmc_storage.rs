//! Issue 32 item 4 through a real OpenSSH server: a partition with vSCSI and NPIV storage is
//! created, its VIOS side provisioned (server adapter, cfgdev, `mkvdev`, `vfcmap`, profile
//! saved) and started; a mapping removed by hand is planned back; deleted by prune, its
//! mappings and server adapters go first. Each step converges, `plan` empty afterwards. A
//! partition activated without its boot disk mapped stays in Open Firmware and `apply` says so.

use std::process::Output;

use super::hmc_ssh::through;
use super::sshd::Sshd;
use super::support::Lab;

fn text(o: &Output) -> String {
    format!("{}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// A partition on the js22 blade whose VIOS sees LUN 75DS81001002 (hdisk3 on bvio82), with an
/// NPIV adapter too (its LUNs are zoned to the client; the VIOS maps the adapter to a port).
const STORED: &str = "apiVersion: powerplane/v1
kind: Partition
metadata: {name: storlpar}
spec:
  placement: {frame: js22_slot13}
  state: running
  processors: {units: 0.5, virtual: 1}
  memory: {desiredMB: 1024, maxMB: 2048}
  network: [{vlan: 1}]
  storage:
    - {lun: 75DS81001002, via: vscsi}
    - {lun: 75DS81001001, via: npiv}
";

fn commands(plan: &Output) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(plan)));
    v["actions"].as_array().unwrap().iter().map(|a| a["command"].as_str().unwrap().to_owned()).collect()
}

fn vios(sshd: &Sshd, cmd: &str) -> String {
    let out = sshd.ssh(&format!("viosvrcmd -m js22_slot13 -p bvio82 -c \"{cmd}\""));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_partition_with_vscsi_and_npiv_storage_is_provisioned_started_and_deleted_through_the_hmc() {
    let lab = Lab::new();
    lab.cmd(&["sim", "init"]).assert().success();
    let m = lab.manifests();
    let ms = m.to_str().unwrap();
    let sshd = Sshd::start(&lab.state());
    let controller = tempfile::tempdir().unwrap();
    let state = controller.path().join("state");
    let out = through(&sshd, &state, &["apply", ms, "--yes"]);
    assert!(out.status.success(), "the lab converges first: {}", text(&out));

    std::fs::write(m.join("storage.yaml"), STORED).unwrap();
    let plan = through(&sshd, &state, &["plan", ms, "--format", "json"]);
    let cmds = commands(&plan);
    let at =
        |prefix: &str| cmds.iter().position(|c| c.starts_with(prefix)).unwrap_or_else(|| panic!("{prefix}: {cmds:#?}"));
    let create = &cmds[at("mksyscfg -r lpar")];
    assert!(create.contains("\\\"virtual_scsi_adapters=10/client//bvio82/"), "{create}");
    assert!(create.contains("\\\"virtual_fc_adapters=11/client//bvio82/"), "{create}");
    assert!(at("mksyscfg -r lpar") < at("chhwres -r virtualio -m js22_slot13 -o a -p bvio82 --rsubtype scsi"));
    let map = at("viosvrcmd -m js22_slot13 -p bvio82 -c \"mkvdev -vdev hdisk3 -vadapter vhost");
    let npiv = at("viosvrcmd -m js22_slot13 -p bvio82 -c \"vfcmap -vadapter vfchost");
    let start = at("chsysstate -m js22_slot13 -r lpar -o on -n storlpar");
    assert!(map < start && npiv < start, "the VIOS side before the start: {cmds:#?}");
    let out = through(&sshd, &state, &["apply", ms, "--yes"]);
    assert!(out.status.success(), "{}", text(&out));
    let listed = sshd.ssh("lssyscfg -r lpar -m js22_slot13 --filter lpar_names=storlpar -F state");
    assert_eq!(String::from_utf8_lossy(&listed.stdout), "Running\n", "{}", text(&listed));
    assert!(vios(&sshd, "lsmap -all -type disk -field svsa clientid backing -fmt :").contains(":hdisk3"));
    let none = through(&sshd, &state, &["plan", ms]);
    assert_eq!(none.status.code(), Some(0), "converged: {}", text(&none));

    // A mapping removed by hand on the VIOS is drift, planned back.
    let out = sshd.ssh("viosvrcmd -m js22_slot13 -p bvio82 -c \"rmvdev -vdev hdisk3\"");
    assert!(out.status.success(), "{}", text(&out));
    let plan = through(&sshd, &state, &["plan", ms, "--format", "json"]);
    assert_eq!(plan.status.code(), Some(2), "{}", text(&plan));
    assert!(commands(&plan).iter().any(|c| c.contains("mkvdev -vdev hdisk3")), "{}", text(&plan));
    let out = through(&sshd, &state, &["apply", ms, "--yes"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(through(&sshd, &state, &["plan", ms]).status.code(), Some(0));

    // Deleted by prune: unmapped, server adapters removed, VIOS profile saved, then rmsyscfg.
    std::fs::remove_file(m.join("storage.yaml")).unwrap();
    std::fs::write(
        m.join("settings.yaml"),
        "apiVersion: powerplane/v1\nkind: Settings\nmetadata: {name: lab}\nspec: {prune: true}\n",
    )
    .unwrap();
    let plan = through(&sshd, &state, &["plan", ms, "--format", "json"]);
    let cmds = commands(&plan);
    let at =
        |prefix: &str| cmds.iter().position(|c| c.contains(prefix)).unwrap_or_else(|| panic!("{prefix}: {cmds:#?}"));
    assert!(at("rmvdev -vdev hdisk3") < at("--rsubtype scsi -s"), "{cmds:#?}");
    assert!(at("vfcmap -vadapter vfchost") < at("--rsubtype fc -s"), "{cmds:#?}");
    assert!(at("-o r -p bvio82") < at("rmsyscfg -r lpar -m js22_slot13 -n storlpar"), "{cmds:#?}");
    let out = through(&sshd, &state, &["apply", ms, "--yes", "--allow-delete"]);
    assert!(out.status.success(), "{}", text(&out));
    let left =
        sshd.ssh("lshwres -r virtualio -m js22_slot13 --rsubtype scsi --level lpar -F lpar_name,remote_lpar_name");
    assert!(!String::from_utf8_lossy(&left.stdout).contains("storlpar"), "{}", text(&left));
    let left = sshd.ssh("lshwres -r virtualio -m js22_slot13 --rsubtype fc --level lpar -F lpar_name,remote_lpar_name");
    assert!(!String::from_utf8_lossy(&left.stdout).contains("storlpar"), "{}", text(&left));
    assert!(!vios(&sshd, "lsmap -all -npiv -field name clntid clntname status fc -fmt :").contains("storlpar"));
    assert_eq!(through(&sshd, &state, &["plan", ms]).status.code(), Some(0));
}

/// Activated by hand with its boot disk unmapped, the partition stops in Open Firmware (SMS):
/// `apply` maps the disk back but exits non-zero, saying the partition waits in its SMS menu.
#[test]
fn a_partition_without_its_boot_disk_mapped_stays_in_open_firmware_and_apply_says_so() {
    let lab = Lab::new();
    lab.cmd(&["sim", "init"]).assert().success();
    let m = lab.manifests();
    let ms = m.to_str().unwrap();
    let sshd = Sshd::start(&lab.state());
    let controller = tempfile::tempdir().unwrap();
    let state = controller.path().join("state");
    std::fs::write(m.join("storage.yaml"), STORED.replace("state: running", "state: stopped")).unwrap();
    let out = through(&sshd, &state, &["apply", ms, "--yes"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = sshd.ssh("viosvrcmd -m js22_slot13 -p bvio82 -c \"rmvdev -vdev hdisk3\"");
    assert!(out.status.success(), "{}", text(&out));
    let out = sshd.ssh("chsysstate -m js22_slot13 -r lpar -o on -n storlpar -f default_profile");
    assert!(out.status.success(), "{}", text(&out));
    let listed = sshd.ssh("lssyscfg -r lpar -m js22_slot13 --filter lpar_names=storlpar -F state");
    assert_eq!(String::from_utf8_lossy(&listed.stdout), "Open Firmware\n", "{}", text(&listed));
    lab.edit("storage.yaml", "state: stopped", "state: running");
    let out = through(&sshd, &state, &["apply", ms, "--yes"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("is in Open Firmware on js22_slot13"), "{}", text(&out));
    assert!(
        vios(&sshd, "lsmap -all -type disk -field svsa clientid backing -fmt :").contains(":hdisk3"),
        "mapped back"
    );
    let plan = through(&sshd, &state, &["plan", ms]);
    assert_ne!(plan.status.code(), Some(0), "never converged while it waits in SMS: {}", text(&plan));
}
