//! Issue 32 item 3 through a real OpenSSH server: a partition whose profile is not `default`
//! (here `prod`, created by an operator's own `mksyscfg`) is resized while stopped and started
//! by commands that name its profile, and the estate converges with `plan` empty afterwards.

use std::process::Output;

use super::hmc_corpus::power9_estate;
use super::hmc_ssh::through;
use super::sshd::Sshd;

fn text(o: &Output) -> String {
    format!("{}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// The partition the test adds beside the POWER9 estate's, stopped with 4 GB.
const BATCH: &str = "apiVersion: powerplane/v1
kind: Partition
metadata: {name: aix-batch}
spec:
  placement: {frame: p9-sys}
  state: stopped
  processors: {units: 0.5, virtual: 1}
  memory: {desiredMB: 4096, maxMB: 8192}
";

/// The commands of a JSON plan, in order.
fn commands(plan: &Output) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(plan)));
    v["actions"].as_array().unwrap().iter().map(|a| a["command"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn a_stopped_partition_with_its_own_profile_is_resized_and_started_through_the_hmc() {
    let lab = power9_estate();
    let m = lab.manifests();
    let ms = m.to_str().unwrap();
    let sshd = Sshd::start(&lab.state());
    let controller = tempfile::tempdir().unwrap();
    let state = controller.path().join("state");
    // An operator creates aix-batch on the HMC with a profile named `prod`: the command line
    // powerplane would run, with that profile name.
    std::fs::write(m.join("batch.yaml"), BATCH).unwrap();
    let plan = through(&sshd, &state, &["plan", ms, "--format", "json"]);
    let create = commands(&plan).into_iter().find(|c| c.starts_with("mksyscfg -r lpar")).expect("a creation");
    assert!(create.contains("profile_name=default_profile,"), "powerplane's own name: {create}");
    let out = sshd.ssh(&create.replace("profile_name=default_profile,", "profile_name=prod,"));
    assert!(out.status.success(), "{}", text(&out));
    let listed =
        sshd.ssh("lssyscfg -r lpar -m p9-sys --filter lpar_names=aix-batch -F state,curr_profile,default_profile");
    assert_eq!(String::from_utf8_lossy(&listed.stdout), "Not Activated,prod,prod\n", "{}", text(&listed));
    let none = through(&sshd, &state, &["plan", ms]);
    assert_eq!(none.status.code(), Some(0), "created as the manifest says: {}", text(&none));

    // Wanted running with 6 GB: a profile change while stopped, then a start, both naming `prod`.
    lab.edit("batch.yaml", "state: stopped", "state: running");
    lab.edit("batch.yaml", "desiredMB: 4096", "desiredMB: 6144");
    let plan = through(&sshd, &state, &["plan", ms, "--format", "json"]);
    let cmds = commands(&plan);
    assert_eq!(
        cmds,
        vec![
            r#"chsyscfg -r prof -m p9-sys -i "name=prod,lpar_name=aix-batch,desired_mem=6144""#.to_owned(),
            "chsysstate -m p9-sys -r lpar -o on -n aix-batch -f prod".to_owned(),
        ],
        "{}",
        text(&plan)
    );
    let out = through(&sshd, &state, &["apply", ms, "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Converged"), "{}", text(&out));
    let again = through(&sshd, &state, &["plan", ms]);
    assert_eq!(again.status.code(), Some(0), "nothing left to do: {}", text(&again));
    let mem = sshd.ssh("lshwres -r mem -m p9-sys --level lpar --filter lpar_names=aix-batch -F curr_mem");
    assert_eq!(String::from_utf8_lossy(&mem.stdout), "6144\n", "{}", text(&mem));

    // Running, 8 GB: the profile changed alongside the DLPAR change, so a reactivation keeps it.
    lab.edit("batch.yaml", "desiredMB: 6144", "desiredMB: 8192");
    let plan = through(&sshd, &state, &["plan", ms, "--format", "json"]);
    assert_eq!(
        commands(&plan),
        vec![
            r#"chsyscfg -r prof -m p9-sys -i "name=prod,lpar_name=aix-batch,desired_mem=8192"; chhwres -r mem -m p9-sys -o a -p aix-batch -q 2048"#
                .to_owned()
        ],
        "{}",
        text(&plan)
    );
    let out = through(&sshd, &state, &["apply", ms, "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // A reactivation, through powerplane: a shutdown followed until Not Activated, then a
    // start followed until Running (a `chsysstate -o on` sent while the partition is still
    // Shutting Down is refused, as an HMC refuses it).
    let refused = sshd.ssh(
        "chsysstate -m p9-sys -r lpar -o osshutdown -n aix-batch; chsysstate -m p9-sys -r lpar -o on -n aix-batch -f prod",
    );
    assert!(text(&refused).contains("aix-batch is Shutting Down"), "{}", text(&refused));
    lab.edit("batch.yaml", "state: running", "state: stopped");
    let out = through(&sshd, &state, &["apply", ms, "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    lab.edit("batch.yaml", "state: stopped", "state: running");
    let out = through(&sshd, &state, &["apply", ms, "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let again = through(&sshd, &state, &["plan", ms]);
    assert_eq!(again.status.code(), Some(0), "the reactivation kept the DLPAR change: {}", text(&again));
    let mem = sshd.ssh("lshwres -r mem -m p9-sys --level lpar --filter lpar_names=aix-batch -F curr_mem");
    assert_eq!(String::from_utf8_lossy(&mem.stdout), "8192\n", "{}", text(&mem));
}
