//! Every command `plan --format hmc` prints, for the lab and for a generated estate, has the
//! syntax of the seeds' examples; each pattern names the seed line it follows, and the test
//! checks that line is there.

use regex::Regex;

use crate::support::{Lab, root};

use super::estate_gen;

/// `(seed file, a line of it, the pattern every command of that kind matches)`.
const PATTERNS: &[(&str, &str, &str)] = &[
    (
        "powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt",
        "migrlpar -o v -m [source cec] -t [target cec] -p [lpar to migrate]",
        r#"^migrlpar -o [vm] -m \S+ -t \S+ -p \S+( --redundantpgvios [012])?( -i "source_msp_name=\S+,dest_msp_name=\S+")?$"#,
    ),
    (
        "powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt",
        r#"migrlpar -o m -m wilma -t visa -p upt07 --redundantpgvios 0"#,
        r#"^migrlpar -o [vm] -m \S+ -t \S+ -p \S+ --redundantpgvios [012]( -i "source_msp_name=\S+,dest_msp_name=\S+")?$"#,
    ),
    (
        // Lines 1506-1507: "To validate the LPM in the Remote HMC": a frame another HMC manages.
        "powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt",
        "> --ip [target hmc] -u [remote user]",
        r#"^migrlpar -o [vm] -m \S+ -t \S+ --ip \S+ -u \S+ -p \S+( --redundantp?g?vios [012])?( -i "source_msp_name=\S+,dest_msp_name=\S+")?$"#,
    ),
    (
        "powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt",
        "$ mkvdev -sea ent0 -vadapter ent1,ent2 -default ent1 -defaultid 1 -attr ha_mode=sharing ctl_chan=ent3",
        r#"^viosvrcmd -m \S+ -p \S+ -c "mkvdev -sea ent\d+ -vadapter ent\d+(,ent\d+)* -default ent\d+ -defaultid \d+ -attr ha_mode=(auto|sharing|disabled)( ctl_chan=ent\d+)?"$"#,
    ),
    (
        "powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt",
        "chdev -dev ent4 -attr ha_mode=standby",
        r#"^viosvrcmd -m \S+ -p \S+ -c "chdev -dev ent\d+ -attr ha_mode=(auto|sharing|standby|disabled)"$"#,
    ),
    (
        "powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt",
        "$ chdev -dev ent4 -attr virt_adapters=ent1,ent2,ent5,ent6",
        r#"^viosvrcmd -m \S+ -p \S+ -c "chdev -dev ent\d+ -attr virt_adapters=ent\d+(,ent\d+)*"$"#,
    ),
    (
        "powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt",
        "4.) run cfgmgr (or cfgdev as padmin) on both vio server (p72vio1 and p72vio2):",
        r#"^viosvrcmd -m \S+ -p \S+ -c "cfgdev"$"#,
    ),
    (
        "powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt",
        r#"is_trunk=1,trunk_priority=1,ieee_virtual_eth=1,port_vlan_id=1,vswitch=ETHERNET0,"addl_vlan_ids=10,11""#,
        r#"^chhwres -r virtualio -m \S+ -o a -p \S+ --rsubtype eth -a "ieee_virtual_eth=1,port_vlan_id=\d+(,\\"addl_vlan_ids=\d+(,\d+)*\\")?,is_trunk=1,trunk_priority=[12]"$"#,
    ),
    (
        "ams-dual-vios-and-lpm.txt",
        r#"chhwres -r mempool -m IBM_MMA_P6_102615A_SOLCHMS05\ -o a -a "pool_mem=1024,max_pool_mem=4096,\ \"paging_vios_names=lpar_1_solchio05,lpar_2_solchio06\"""#,
        r#"^chhwres -r mempool -m \S+ -o [as] -a "pool_mem=\d+,max_pool_mem=\d+(,\\"paging_vios_names=\S+\\")?"$"#,
    ),
    (
        "ams-dual-vios-and-lpm.txt",
        "-o a -p lpar_2_solchio06 --rsubtype pgdev --device hdisk17",
        r#"^chhwres -r mempool -m \S+ -o [ar] -p \S+ --rsubtype pgdev --device \S+$"#,
    ),
    ("ams-dual-vios-and-lpm.txt", "-p lpar_6_sotchax11 -o so", r#"^chhwres -r mem -m \S+ -p \S+ -o so$"#),
    (
        "ams-dual-vios-and-lpm.txt",
        "the chsysstate command with the --force option",
        // The profile is the partition's own, as observed (issue 32 item 3).
        r#"^chsysstate -m \S+ -r lpar -o (on -n \S+ -f \S+( --force)?|osshutdown -n \S+)$"#,
    ),
];

/// Commands the seeds give no example of, in the HMC's documented syntax.
const DOCUMENTED: &[&str] = &[
    // Created with the profile name the HMC gives the partitions it creates.
    r#"^mksyscfg -r lpar -m \S+ -i "name=\S+,profile_name=default_profile,lpar_env=aixlinux,.*"$"#,
    // The profile it runs or activates with, as observed.
    r#"^chsyscfg -r prof -m \S+ -i "name=[^,"]+,lpar_name=\S+(,desired_(mem|proc_units|procs)=[\d.]+)+"$"#,
    r#"^chhwres -r mem -m \S+ -o [ar] -p \S+ -q \d+$"#,
    r#"^chhwres -r proc -m \S+ -o [ar] -p \S+( --procunits [\d.]+)?( --procs \d+)?(; chhwres -r proc -m \S+ -o [ar] -p \S+ --procs \d+)?$"#,
    // Pools 1-63 always exist: an unused one (`SharedPoolNN`) configured and named with
    // `new_name`, the maximum in whole processors.
    r#"^chhwres -r procpool -m \S+ -o s --poolname (SharedPool(0[1-9]|[1-5]\d|6[0-3]) -a "new_name=[^,"]+,|\S+ -a ")max_pool_proc_units=\d+,reserved_pool_proc_units=\d+\.\d\d"$"#,
    r#"^rmsyscfg -r lpar -m \S+ -n \S+$"#,
    // IBM's `migrlpar` man pages (POWER7-POWER9 HMCs): `--redundantvios {0 | 1 | 2}`, the
    // spelling of an HMC from V7R7 on (the simulated HMC is a V10R3), and `[--ip IP-address [-u
    // user-ID]]` for a recovery too ("A recover operation should be issued, if possible, on the
    // management console that is managing the source managed system").
    r#"^migrlpar -o [vm] -m \S+ -t \S+ -p \S+ --redundantvios [012]( -i "source_msp_name=\S+,dest_msp_name=\S+")?$"#,
    r#"^migrlpar -o r -m \S+( --ip \S+ -u \S+)? -p \S+$"#,
    // The HMC's "Save Current Configuration" (the seed, line 1080, shows the menu, not the
    // command).
    r#"^mksyscfg -r prof -m \S+ -o save -p \S+ -n \S+ --force$"#,
    // Storage provisioning (tests/fixtures/hmc/README.md, "Storage provisioning", names the
    // public scripts each form is taken from): a server adapter added or removed by DLPAR in a
    // given slot, and the VIOS's mappings through viosvrcmd.
    r#"^chhwres -r virtualio -m \S+ -o a -p \S+ --rsubtype (scsi|fc) -s \d+ -a "adapter_type=server,remote_lpar_name=[^,"]+,remote_slot_num=\d+"$"#,
    r#"^chhwres -r virtualio -m \S+ -o r -p \S+ --rsubtype (scsi|fc) -s \d+$"#,
    r#"^viosvrcmd -m \S+ -p \S+ -c "mkvdev -vdev hdisk\d+ -vadapter vhost\d+"$"#,
    r#"^viosvrcmd -m \S+ -p \S+ -c "rmvdev -vdev hdisk\d+"$"#,
    r#"^viosvrcmd -m \S+ -p \S+ -c "vfcmap -vadapter vfchost\d+ -fcp( fcs\d+)?"$"#,
];

fn commands(lab: &Lab, dir: &std::path::Path) -> Vec<String> {
    let out = lab.cmd(&["plan", dir.to_str().unwrap(), "--format", "hmc"]).output().unwrap();
    assert!(out.status.code().is_some_and(|c| c == 2 || c == 0), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

fn check(commands: &[String]) {
    let seeded: Vec<Regex> = PATTERNS.iter().map(|(_, _, p)| Regex::new(p).unwrap()).collect();
    let documented: Vec<Regex> = DOCUMENTED.iter().map(|p| Regex::new(p).unwrap()).collect();
    for c in commands {
        // A DLPAR change is its profile's change and then the `chhwres` on one line, `; `
        // between them (issue 32 item 3): each must match.
        let parts: Vec<&str> = match c.split_once("; ") {
            Some((first, rest)) if first.starts_with("chsyscfg -r prof ") && rest.starts_with("chhwres -r ") => {
                vec![first, rest]
            }
            _ => vec![c.as_str()],
        };
        for part in parts {
            assert!(
                seeded.iter().chain(&documented).any(|r| r.is_match(part)),
                "no known syntax matches: {part} in {c}"
            );
        }
    }
}

#[test]
fn the_seed_lines_the_patterns_follow_are_in_the_seeds() {
    for (file, line, _) in PATTERNS {
        // The seeds live beside the checkout, in ../shared/seeds (as the advisory database does).
        let path = root().join("../shared/seeds").join(file);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(text.contains(line), "{file} has no line {line:?}");
    }
}

#[test]
fn the_lab_plan_speaks_the_seeds_syntax() {
    let lab = Lab::new();
    let inventory = root().join("examples/lab/inventory.yaml");
    lab.cmd(&["--inventory", inventory.to_str().unwrap(), "sim", "init"]).assert().success();
    let lab_commands = commands(&lab, &lab.manifests());
    assert!(lab_commands.len() >= 5, "{lab_commands:?}");
    check(&lab_commands);
    // Frame maintenance of a blade: a validated migration.
    lab.edit(
        "js22.yaml",
        "  name: js22_slot13\n  labels: {site: lab, chassis: bch1, generation: power6}\n",
        "  name: js22_slot13\n  labels: {site: lab, chassis: bch1, generation: power6}\nspec: {maintenance: true}\n",
    );
    let moving = commands(&lab, &lab.manifests());
    assert!(moving.iter().any(|c| c.starts_with("migrlpar -o v")), "{moving:?}");
    check(&moving);
}

/// The seed's enhanced scenario through the binary: the lab applied, then two trunks appended
/// to p72's SEA. The plan speaks the seed's commands, one apply converges, and `sim show` lists
/// the seed's split (lines 1125-1151).
#[test]
fn trunks_appended_to_a_running_sea_are_added_live() {
    let lab = Lab::new();
    let inventory = root().join("examples/lab/inventory.yaml");
    lab.cmd(&["--inventory", inventory.to_str().unwrap(), "sim", "init"]).assert().success();
    lab.cmd(&["apply", lab.manifests().to_str().unwrap(), "--yes"]).assert().success();
    lab.edit(
        "p72.yaml",
        "    - {adapter: ent2, pvid: 2, vlans: [12, 13]}\n",
        "    - {adapter: ent2, pvid: 2, vlans: [12, 13]}\n    - {adapter: ent5, pvid: 3, vlans: [33]}\n    - {adapter: ent6, pvid: 4, vlans: [44, 333]}\n",
    );
    let cmds = commands(&lab, &lab.manifests());
    check(&cmds);
    let chdevs: Vec<&String> = cmds.iter().filter(|c| c.contains("virt_adapters=")).collect();
    assert_eq!(
        chdevs,
        [
            r#"viosvrcmd -m p72 -p p72vio1 -c "chdev -dev ent4 -attr virt_adapters=ent1,ent2,ent5,ent6""#,
            r#"viosvrcmd -m p72 -p p72vio2 -c "chdev -dev ent4 -attr virt_adapters=ent1,ent2,ent5,ent6""#,
        ],
        "primary first: {cmds:?}"
    );
    assert_eq!(cmds.iter().filter(|c| c.starts_with("chhwres -r virtualio")).count(), 4, "{cmds:?}");
    lab.cmd(&["apply", lab.manifests().to_str().unwrap(), "--yes"]).assert().success();
    lab.cmd(&["plan", lab.manifests().to_str().unwrap()]).assert().code(0);
    let show = lab.cmd(&["sim", "show"]).output().unwrap();
    let show = String::from_utf8(show.stdout).unwrap();
    assert!(show.contains("VLANs 3 4 33 44 333  virt_adapters=ent1,ent2,ent5,ent6"), "{show}");
    assert!(show.contains("VLANs 1 2 10 11 12 13  virt_adapters=ent1,ent2,ent5,ent6"), "{show}");
}

#[test]
fn a_generated_estates_plan_speaks_the_seeds_syntax() {
    let lab = Lab::new();
    let g = estate_gen::generate(12, 300, 7);
    let (inv, man) = (lab.dir.path().join("gen-inventory"), lab.dir.path().join("gen-manifests"));
    std::fs::create_dir_all(&inv).unwrap();
    std::fs::create_dir_all(&man).unwrap();
    for (name, text) in &g.inventory {
        std::fs::write(inv.join(name), text).unwrap();
    }
    for (name, text) in &g.manifests {
        std::fs::write(man.join(name), text).unwrap();
    }
    lab.cmd(&["--inventory", inv.to_str().unwrap(), "sim", "init"]).assert().success();
    let all = commands(&lab, &man);
    for kind in ["migrlpar -o v", "migrlpar -o m", "chdev -dev", "chhwres -r mem", "mksyscfg"] {
        assert!(all.iter().any(|c| c.contains(kind)), "the generated plan has no {kind}: {all:?}");
    }
    assert!(
        all.iter().any(|c| c.contains(r#"-i "source_msp_name="#)),
        "frames with two mover service partitions get a chosen pair"
    );
    check(&all);
}

/// Issue 32 item 6: the lab's second blade managed by another HMC whose keys the first has: the
/// move there names that HMC (`--ip`, `-u`), in the seed's syntax.
#[test]
fn a_move_to_another_hmcs_frame_speaks_the_seeds_syntax() {
    let lab = Lab::new();
    let text = std::fs::read_to_string(root().join("examples/lab/inventory.yaml")).unwrap();
    let docs: Vec<String> = text
        .split("\n---\n")
        .map(|doc| match (doc.contains("kind: FrameHardware"), doc.contains("  name: js22_slot14\n")) {
            (false, _) => doc.to_owned(),
            (true, true) => doc.replacen("\nspec:\n", "\nspec:\n  hmc: {address: hmc-b.lab}\n", 1),
            (true, false) => {
                doc.replacen("\nspec:\n", "\nspec:\n  hmc: {address: hmc-a.lab, authorizedOn: [hmc-b.lab]}\n", 1)
            }
        })
        .collect();
    let inventory = lab.dir.path().join("inventory.yaml");
    std::fs::write(&inventory, docs.join("\n---\n")).unwrap();
    lab.cmd(&["--inventory", inventory.to_str().unwrap(), "sim", "init"]).assert().success();
    lab.edit("js22.yaml", "placement: {anyOf: [js22_slot13, js22_slot14]}", "placement: {frame: js22_slot14}");
    let cmds = commands(&lab, &lab.manifests());
    assert!(
        cmds.contains(&"migrlpar -o m -m js22_slot13 -t js22_slot14 --ip hmc-b.lab -u hscroot -p bxaix85".to_owned()),
        "{cmds:?}"
    );
    check(&cmds);
    // Applied in process, it converges: the simulator models both HMCs.
    lab.cmd(&["apply", lab.manifests().to_str().unwrap(), "--yes"]).assert().success();
    lab.cmd(&["plan", lab.manifests().to_str().unwrap()]).assert().code(0);
}
