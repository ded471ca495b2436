use super::*;
use crate::sim::{self, Clock};

/// Lets `secs` of virtual time pass, as an operator waits between commands: an activation
/// or a shutdown goes on meanwhile.
async fn wait(sh: &HmcShell, secs: u64) {
    sh.sim.sleep_virtual(std::time::Duration::from_secs(secs)).await;
}

fn shell() -> HmcShell {
    let state = sim::build(None, 0).expect("the lab builds");
    HmcShell::new(Simulator::new(state, None, Clock::new(0.0)), None)
}

/// seeds: ams-dual-vios-and-lpm.txt, Listing 2: `lshwres -r mem -m SYS --level lpar --filter
/// "lpar_names=lpar_6_sotchax11" -F curr_paging_vios_name` answers `lpar_1_solchio05`.
#[tokio::test]
async fn the_seeds_paging_listing() {
    let out = shell()
        .run(r#"lshwres -r mem -m IBM_MMA_P6_102615A_SOLCHMS05 --level lpar --filter "lpar_names=lpar_6_sotchax11" -F curr_paging_vios_name"#)
        .await;
    assert_eq!((out.stdout.as_str(), out.code), ("lpar_1_solchio05\n", 0), "{out:?}");
}

#[tokio::test]
async fn the_restricted_shell_runs_hmc_commands_only() {
    let out = shell().run("rm -rf /; echo \"done $?\"").await;
    assert_eq!(out.stdout, "done 127\n");
    assert!(out.stderr.contains("rm: command not found"), "{out:?}");
    let out = shell().run("lssyscfg -r lpar -m nosuch -F name").await;
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("nosuch could not be found"), "{out:?}");
}

/// Issue 32 item 2: an unused pool (`SharedPoolNN`) is configured and named; a pool is changed
/// by id or by name; a maximum that is not whole, a name no pool has, a rename, and a pool without a name are refused, with
/// nothing changed; the listing shows the pool under its id.
#[tokio::test]
async fn shared_processor_pools_are_configured_by_id() {
    let sh = shell();
    let ok = sh
        .run(r#"chhwres -r procpool -m p72 -o s --poolname SharedPool03 -a "new_name=prodpool,max_pool_proc_units=4,reserved_pool_proc_units=0.00""#)
        .await;
    assert_eq!((ok.stdout.as_str(), ok.stderr.as_str(), ok.code), ("", "", 0), "silent, as an HMC");
    let listed = sh.run("lshwres -r procpool -m p72 -F shared_proc_pool_id,name,max_pool_proc_units").await;
    assert!(listed.stdout.lines().any(|l| l == "3,prodpool,4.00"), "{}", listed.stdout);
    assert!(listed.stdout.lines().any(|l| l == "1,SharedPool01,0"), "{}", listed.stdout);
    for (cmd, says) in [
        (
            r#"chhwres -r procpool -m p72 -o s --poolname nosuch -a "max_pool_proc_units=2""#,
            "nosuch could not be found",
        ),
        (r#"chhwres -r procpool -m p72 -o s --poolid 3 -a "new_name=other,max_pool_proc_units=2""#, "not supported"),
        (r#"chhwres -r procpool -m p72 -o s --poolid 4 -a "max_pool_proc_units=2""#, "name it with new_name"),
        (r#"chhwres -r procpool -m p72 -o s --poolid 64 -a "new_name=x,max_pool_proc_units=2""#, "ID 64 is not valid"),
        (r#"chhwres -r procpool -m p72 -o a --poolname x -a "max_pool_proc_units=2""#, "use -o s"),
        (
            r#"chhwres -r procpool -m p72 -o s --poolname SharedPool05 -a "new_name=y,max_pool_proc_units=2.50""#,
            "whole number",
        ),
    ] {
        let out = sh.run(cmd).await;
        assert_eq!(out.code, 1, "{cmd}: {out:?}");
        assert!(out.stderr.contains(says), "{cmd}: {out:?}");
    }
    let by_id = sh.run(r#"chhwres -r procpool -m p72 -o s --poolid 3 -a "max_pool_proc_units=5""#).await;
    assert_eq!(by_id.code, 0, "{by_id:?}");
    let by_name = sh.run(r#"chhwres -r procpool -m p72 -o s --poolname prodpool -a "max_pool_proc_units=6""#).await;
    assert_eq!(by_name.code, 0, "{by_name:?}");
    let listed = sh.run("lshwres -r procpool -m p72 -F shared_proc_pool_id,name,max_pool_proc_units").await;
    assert!(listed.stdout.lines().any(|l| l == "3,prodpool,6.00"), "{}", listed.stdout);
    // Unconfigured: maximum 0 and its name back; then an unused pool, listed as one.
    let wrong = sh
        .run(r#"chhwres -r procpool -m p72 -o s --poolname prodpool -a "new_name=other,max_pool_proc_units=0,reserved_pool_proc_units=0""#)
        .await;
    assert_eq!(wrong.code, 1, "{wrong:?}");
    let removed = sh
        .run(r#"chhwres -r procpool -m p72 -o s --poolname prodpool -a "new_name=SharedPool03,max_pool_proc_units=0,reserved_pool_proc_units=0""#)
        .await;
    assert_eq!(removed.code, 0, "{removed:?}");
    let listed = sh.run("lshwres -r procpool -m p72 -F shared_proc_pool_id,name,max_pool_proc_units").await;
    assert!(!listed.stdout.contains("prodpool"), "{}", listed.stdout);
    assert!(listed.stdout.lines().any(|l| l == "3,SharedPool03,0"), "{}", listed.stdout);
}

mod hostile_names {
    //! Issue 16 item 6: no manifest can inject a command. Any text that is not a valid name is
    //! refused by validation; a valid name reaches the HMC command line (and `viosvrcmd -c
    //! "..."`) as exactly one word, which the HMC side reads back as the same name.

    use powerplane_model::status::SeaHaMode;
    use powerplane_model::{DeviceName, FrameName, Op, PartitionName, ViosName};
    use proptest::prelude::*;

    use crate::sim::hmc_shell::commands::Opts;

    const SHELL: &[char] = &[
        '$', ';', '|', '&', '(', ')', '`', '\'', '"', '\\', ' ', '\n', '<', '>', '*', '?', '#', '~', '!', '{', '}',
        '[', ']', '=', ',',
    ];

    fn words(line: &str) -> Vec<String> {
        shlex::split(line).expect("a rendered command is well quoted")
    }

    proptest! {
        /// Any string holding a character a shell or an HMC command line acts on is refused,
        /// whatever kind of name it is; the one exception is a space inside a name the HMC
        /// gives (issue 31 item 3), which is quoted where it is rendered (below).
        #[test]
        fn names_with_shell_characters_are_refused(prefix in "[a-z]{0,5}", c in proptest::sample::select(SHELL), suffix in ".{0,5}") {
            let s = format!("{prefix}{c}{suffix}");
            prop_assert!(DeviceName::new(s.clone()).is_err());
            let spaced = s.replacen(c, "", 1);
            if c != ' ' || spaced.starts_with(' ') || spaced.ends_with(' ') || prefix.is_empty() || suffix.is_empty() || ViosName::new(spaced.clone()).is_err() {
                // Anything else in it, or a space at an edge: refused.
                prop_assert!(PartitionName::new(s.clone()).is_err());
                prop_assert!(FrameName::new(s.clone()).is_err());
                prop_assert!(ViosName::new(s).is_err());
            } else {
                prop_assert!(PartitionName::new(s.clone()).is_ok());
                prop_assert!(FrameName::new(s.clone()).is_ok());
                prop_assert!(ViosName::new(s).is_ok());
            }
        }

        /// A space at either end of a name is refused, whatever kind of name it is.
        #[test]
        fn names_with_a_space_at_an_edge_are_refused(name in "[A-Za-z0-9_.:]{1,20}", front in any::<bool>()) {
            let s = if front { format!(" {name}") } else { format!("{name} ") };
            prop_assert!(PartitionName::new(s.clone()).is_err());
            prop_assert!(FrameName::new(s.clone()).is_err());
            prop_assert!(ViosName::new(s.clone()).is_err());
            prop_assert!(powerplane_model::ProfileName::new(s.clone()).is_err());
            prop_assert!(DeviceName::new(s).is_err());
        }

        /// A name that begins with `-` would read as an option on a command line
        /// (`chsysstate -n -o`): refused, whatever kind of name it is (issue 33 item 10).
        #[test]
        fn names_beginning_with_a_dash_are_refused(rest in "[A-Za-z0-9_.:-]{0,20}") {
            let s = format!("-{rest}");
            prop_assert!(PartitionName::new(s.clone()).is_err());
            prop_assert!(FrameName::new(s.clone()).is_err());
            prop_assert!(ViosName::new(s.clone()).is_err());
            prop_assert!(DeviceName::new(s.clone()).is_err());
            prop_assert!(powerplane_model::ViosPairName::new(s.clone()).is_err());
            prop_assert!(powerplane_model::SeaName::new(s.clone()).is_err());
            prop_assert!(powerplane_model::MemPoolName::new(s.clone()).is_err());
            prop_assert!(powerplane_model::ProcPoolName::new(s.clone()).is_err());
            prop_assert!(powerplane_model::ProcPoolObjectName::new(s.clone()).is_err());
            prop_assert!(powerplane_model::ClusterName::new(s.clone()).is_err());
            prop_assert!(powerplane_model::ProfileName::new(s.clone()).is_err());
            prop_assert!(powerplane_model::Lun::new(s).is_err());
        }

        /// A valid name is one word of the rendered command, where the HMC reads it.
        #[test]
        fn valid_names_stay_one_word_on_the_hmc_side(
            frame in "[A-Za-z0-9_.:][A-Za-z0-9_.:-]{0,46}",
            to in "[A-Za-z0-9_.:][A-Za-z0-9_.:-]{0,46}",
            lpar in "[A-Za-z0-9_.:][A-Za-z0-9_.:-]{0,46}",
            vios in "[A-Za-z0-9_.:][A-Za-z0-9_.:-]{0,46}",
            dev in "[A-Za-z0-9_.:][A-Za-z0-9_.:-]{0,19}",
        ) {
            one_word_each(frame, to, lpar, vios, dev)?;
        }

        /// A name the HMC gives with inner spaces is one (quoted) word too (issue 31 item 3).
        #[test]
        fn names_with_inner_spaces_stay_one_word_on_the_hmc_side(
            frame in "[A-Za-z0-9_.:]([A-Za-z0-9_.: -]{0,45}[A-Za-z0-9_.:-])?",
            to in "[A-Za-z0-9_.:]([A-Za-z0-9_.: -]{0,45}[A-Za-z0-9_.:-])?",
            lpar in "[A-Za-z0-9_.:]([A-Za-z0-9_.: -]{0,45}[A-Za-z0-9_.:-])?",
            vios in "[A-Za-z0-9_.:]([A-Za-z0-9_.: -]{0,45}[A-Za-z0-9_.:-])?",
            dev in "[A-Za-z0-9_.:][A-Za-z0-9_.:-]{0,19}",
        ) {
            one_word_each(frame, to, lpar, vios, dev)?;
        }
    }

    /// The names are each one word of the rendered commands, where the HMC reads them.
    fn one_word_each(frame: String, to: String, lpar: String, vios: String, dev: String) -> Result<(), TestCaseError> {
        let (f, t) = (FrameName::new(frame.clone()).unwrap(), FrameName::new(to.clone()).unwrap());
        let (p, v) = (PartitionName::new(lpar.clone()).unwrap(), ViosName::new(vios.clone()).unwrap());
        let d = DeviceName::new(dev.clone()).unwrap();
        let mig = Op::MigratePartition {
            partition: p.clone(),
            from: f.clone(),
            to: t.clone(),
            redundant: None,
            msp: None,
            remote: None,
            mpio: None,
            spelling: Default::default(),
        };
        let w = words(&mig.command());
        let o = Opts::parse(&w).unwrap();
        prop_assert_eq!(
            (o.get("-m"), o.get("-t"), o.get("-p")),
            (Some(frame.as_str()), Some(to.as_str()), Some(lpar.as_str()))
        );
        let start = Op::StartPartition {
            profile: powerplane_model::ProfileName::hmc_default(),
            frame: f.clone(),
            partition: p.clone(),
            force: false,
        };
        let w = words(&start.command());
        let o = Opts::parse(&w).unwrap();
        prop_assert_eq!((o.get("-m"), o.get("-n")), (Some(frame.as_str()), Some(lpar.as_str())));
        // Through viosvrcmd the VIOS command is one quoted word, whose own words hold the device.
        let chdev = Op::SetSeaHaMode { frame: f, vios: v, device: d, mode: SeaHaMode::Standby };
        let w = words(&chdev.command());
        let o = Opts::parse(&w).unwrap();
        prop_assert_eq!(o.get("-p"), Some(vios.as_str()));
        let inner = words(o.get("-c").unwrap());
        prop_assert_eq!(inner, vec!["chdev".to_owned(), "-dev".into(), dev, "-attr".into(), "ha_mode=standby".into()]);
        Ok(())
    }
}

/// A changing command read back by the emulator is the operation that rendered it.
#[tokio::test]
async fn rendered_commands_read_back_into_their_operations() {
    use powerplane_model::{FrameName, Op, PartitionName};
    let sh = shell();
    let s = sh.sim.snapshot().await;
    let f = FrameName::new("js22_slot13").unwrap();
    let t = FrameName::new("js22_slot14").unwrap();
    let p = PartitionName::new("bxaix85").unwrap();
    for op in [
        Op::StartPartition {
            profile: powerplane_model::ProfileName::hmc_default(),
            frame: f.clone(),
            partition: p.clone(),
            force: true,
        },
        Op::StopPartition { frame: f.clone(), partition: p.clone(), how: Default::default() },
        Op::DeletePartition { frame: f.clone(), partition: p.clone() },
        Op::MigratePartition {
            partition: p.clone(),
            from: f.clone(),
            to: t.clone(),
            redundant: Some(powerplane_model::action::RedundantPgVios::NonRedundant),
            msp: None,
            remote: None,
            mpio: None,
            spelling: Default::default(),
        },
        Op::ValidateMigration {
            partition: p.clone(),
            from: f.clone(),
            to: t.clone(),
            redundant: None,
            msp: None,
            remote: None,
            mpio: None,
            spelling: Default::default(),
        },
        Op::ConfigureDevices { frame: f.clone(), vios: powerplane_model::ViosName::new("bvio82").unwrap() },
        Op::SaveProfile {
            profile: powerplane_model::ProfileName::hmc_default(),
            frame: f.clone(),
            vios: powerplane_model::ViosName::new("bvio82").unwrap(),
        },
        Op::StopVios { frame: f.clone(), vios: powerplane_model::ViosName::new("bvio82").unwrap() },
    ] {
        read_back(&s, &op);
    }
}

/// Every command of `op`'s line, read back by the emulator, is the operation that rendered it:
/// a DLPAR change is two, the profile's change and then the bare `chhwres` (issue 32 item 3).
fn read_back(s: &crate::sim::state::SimState, op: &powerplane_model::Op) {
    use powerplane_model::Op;
    use powerplane_model::action::{ChangeMethod, PartitionChange};
    let line = op.command();
    // Read as an HMC of the version whose spelling the op has: the seed's `--redundantpgvios`
    // before V7R7, the man pages' `--redundantvios` from it.
    let version = match op {
        Op::ValidateMigration { spelling, .. } | Op::MigratePartition { spelling, .. }
            if *spelling == powerplane_model::console::RedundancyOption::PgVios =>
        {
            "V7R3.4.0"
        }
        _ => "V10R3",
    };
    let version = powerplane_model::console::HmcVersion::parse(version).unwrap();
    let parsed: Vec<_> = split_commands(&line)
        .into_iter()
        .map(|c| commands::parse_for(s, &shlex::split(c).unwrap(), &version))
        .collect();
    let expected = match op {
        Op::UpdatePartition { frame, partition, profile, change } if change.method == ChangeMethod::Dlpar => vec![
            Ok(Op::UpdatePartition {
                frame: frame.clone(),
                partition: partition.clone(),
                profile: profile.clone(),
                change: PartitionChange { method: ChangeMethod::Profile, ..change.clone() },
            }),
            Ok(Op::UpdatePartition {
                frame: frame.clone(),
                partition: partition.clone(),
                profile: profile.clone(),
                change: PartitionChange { method: ChangeMethod::DlparOnly, ..change.clone() },
            }),
        ],
        _ => vec![Ok(op.clone())],
    };
    assert_eq!(parsed, expected, "{line}");
}

/// The emulator over `tests/fixtures/spaced-names`: a frame `p9 lab 1`, VIOS `p9 vios 1` and
/// `p9 vios 2`, a partition `db prod 01`.
fn spaced_shell() -> HmcShell {
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/spaced-names");
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixture.join("hardware.yaml"), dir.path().join("hardware.yaml")).unwrap();
    std::fs::copy(fixture.join("manifests/estate.yaml"), dir.path().join("estate.yaml")).unwrap();
    let state = sim::build(Some(dir.path()), 0).expect("the fixture builds");
    HmcShell::new(Simulator::new(state, None, Clock::new(0.0)), None)
}

/// Issue 31 item 3: names with spaces are quoted words on the command line (`-m "p9 lab 1"`,
/// `--filter "lpar_names=db prod 01"`), and the listings print them as an HMC does: as they
/// are, a value being quoted only when it holds a comma.
#[tokio::test]
async fn names_with_spaces_are_listed_as_an_hmc_lists_them() {
    let sh = spaced_shell();
    let out = sh.run("lssyscfg -r sys -F name,state").await;
    assert_eq!((out.stdout.as_str(), out.code), ("p9 lab 1,Operating\n", 0), "{out:?}");
    let out = sh.run(r#"lssyscfg -r lpar -m "p9 lab 1" -F name,lpar_env"#).await;
    assert_eq!(out.stdout, "p9 vios 1,vioserver\np9 vios 2,vioserver\ndb prod 01,aixlinux\n", "{out:?}");
    let out = sh.run(r#"lssyscfg -r lpar -m "p9 lab 1" --filter "lpar_names=db prod 01""#).await;
    assert!(out.stdout.starts_with("name=db prod 01,lpar_id=3,"), "{out:?}");
    let out = sh
        .run(r#"lshwres -r mem -m 'p9 lab 1' --level lpar --filter "lpar_names=db prod 01" -F lpar_name,curr_mem"#)
        .await;
    assert_eq!((out.stdout.as_str(), out.code), ("db prod 01,8192\n", 0), "{out:?}");
    let out = sh.run(r#"viosvrcmd -m "p9 lab 1" -p "p9 vios 1" -c "lsdev -dev hdisk2 -attr""#).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("reserve_policy") && !out.stdout.starts_with("HSCL"), "{out:?}");
    // Unquoted, a name is several words, and the HMC refuses the line.
    let out = sh.run("lssyscfg -r lpar -m p9 lab 1 -F name").await;
    assert_ne!(out.code, 0, "{out:?}");
}

/// Issue 31 item 3: changing commands rendered with names that hold spaces read back into
/// their operations.
#[tokio::test]
async fn rendered_commands_with_spaced_names_read_back_into_their_operations() {
    use powerplane_model::action::{ChangeMethod, PartitionChange};
    use powerplane_model::{FrameName, MemoryMb, Op, PartitionName, ViosName};
    let sh = spaced_shell();
    let s = sh.sim.snapshot().await;
    let f = FrameName::new("p9 lab 1").unwrap();
    let t = FrameName::new("p10 dr site").unwrap();
    let p = PartitionName::new("db prod 01").unwrap();
    let v = ViosName::new("p9 vios 2").unwrap();
    let mem = |to| PartitionChange { memory: Some((MemoryMb(8192), MemoryMb(to))), ..Default::default() };
    for op in [
        Op::StartPartition {
            profile: powerplane_model::ProfileName::hmc_default(),
            frame: f.clone(),
            partition: p.clone(),
            force: true,
        },
        Op::StopPartition { frame: f.clone(), partition: p.clone(), how: Default::default() },
        Op::DeletePartition { frame: f.clone(), partition: p.clone() },
        Op::UpdatePartition {
            profile: powerplane_model::ProfileName::hmc_default(),
            frame: f.clone(),
            partition: p.clone(),
            change: mem(12288),
        },
        Op::UpdatePartition {
            profile: powerplane_model::ProfileName::hmc_default(),
            frame: f.clone(),
            partition: p.clone(),
            change: PartitionChange { method: ChangeMethod::Profile, ..mem(4096) },
        },
        Op::MigratePartition {
            partition: p.clone(),
            from: f.clone(),
            to: t.clone(),
            redundant: None,
            msp: None,
            remote: None,
            mpio: None,
            spelling: Default::default(),
        },
        Op::ValidateMigration {
            partition: p.clone(),
            from: f.clone(),
            to: t.clone(),
            redundant: None,
            msp: None,
            remote: None,
            mpio: None,
            spelling: Default::default(),
        },
        Op::ConfigureDevices { frame: f.clone(), vios: v.clone() },
        Op::SaveProfile { profile: powerplane_model::ProfileName::hmc_default(), frame: f.clone(), vios: v.clone() },
        Op::StopVios { frame: f.clone(), vios: v.clone() },
        Op::StartVios { profile: powerplane_model::ProfileName::hmc_default(), frame: f.clone(), vios: v.clone() },
    ] {
        read_back(&s, &op);
    }
}

/// Issue 32 item 3: the emulator's partitions have the profiles an HMC gives them, and its
/// change commands refuse a profile the partition does not have: `-f default` on a partition
/// whose profile is `default_profile` (what the HMC names the profile of a partition it
/// creates) is refused, `-f default_profile` activates it; the same for a profile change and a
/// VIOS profile save.
#[tokio::test]
async fn a_profile_the_partition_does_not_have_is_refused() {
    let sh = shell();
    let m = "-m js22_slot13";
    let profiles =
        sh.run(&format!("lssyscfg -r lpar {m} --filter lpar_names=bxaix85 -F curr_profile,default_profile")).await;
    assert_eq!(profiles.stdout, "default_profile,default_profile\n", "{profiles:?}");
    let listed = sh.run(&format!("lssyscfg -r prof {m} --filter lpar_names=bxaix85 -F name")).await;
    assert_eq!(listed.stdout, "default_profile\nbackup\n", "{listed:?}");
    let out = sh.run(&format!("chsysstate {m} -r lpar -o osshutdown -n bxaix85")).await;
    assert_eq!(out.code, 0, "{out:?}");
    wait(&sh, 60).await;
    let out = sh.run(&format!("chsysstate {m} -r lpar -o on -n bxaix85 -f default")).await;
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("The partition profile default was not found for the partition bxaix85"), "{out:?}");
    let out = sh.run(&format!(r#"chsyscfg -r prof {m} -i "name=default,lpar_name=bxaix85,desired_mem=6144""#)).await;
    assert_eq!(out.code, 1, "{out:?}");
    let out =
        sh.run(&format!(r#"chsyscfg -r prof {m} -i "name=default_profile,lpar_name=bxaix85,desired_mem=6144""#)).await;
    assert_eq!(out.code, 0, "{out:?}");
    let out = sh.run(&format!("chsysstate {m} -r lpar -o on -n bxaix85 -f default_profile")).await;
    assert_eq!(out.code, 0, "{out:?}");
    let state = sh.run(&format!("lshwres -r mem {m} --level lpar --filter lpar_names=bxaix85 -F curr_mem")).await;
    assert_eq!(state.stdout, "6144\n", "activated with the changed profile: {state:?}");
    let out = sh.run(&format!("mksyscfg -r prof {m} -o save -p bvio82 -n default --force")).await;
    assert_eq!(out.code, 1, "{out:?}");
    let out = sh.run(&format!("mksyscfg -r prof {m} -o save -p bvio82 -n default_profile --force")).await;
    assert_eq!(out.code, 0, "{out:?}");
    // Its other profile exists, but the simulator activates only with the one in use: said.
    wait(&sh, 120).await;
    let out = sh.run(&format!("chsysstate {m} -r lpar -o osshutdown -n bxaix85")).await;
    assert_eq!(out.code, 0, "{out:?}");
    wait(&sh, 60).await;
    let out = sh.run(&format!("chsysstate {m} -r lpar -o on -n bxaix85 -f backup")).await;
    assert!(out.stderr.contains("is not the one it runs with (default_profile)"), "{out:?}");
}

/// Issue 32 item 3: a partition `mksyscfg -r lpar` creates has the one profile it names, and
/// is activated and changed with that name.
#[tokio::test]
async fn a_created_partition_has_the_profile_its_command_named() {
    use powerplane_model::{FrameName, Op, PartitionName, ProfileName};
    let sh = shell();
    let spec: powerplane_model::manifest::PartitionSpec = powerplane_model::from_yaml(
        "placement: {frame: js22_slot14}\nprocessors: {units: 0.5}\nmemory: {desiredMB: 1024, maxMB: 2048}\n",
    )
    .unwrap();
    let (f, p, prod) = (
        FrameName::new("js22_slot14").unwrap(),
        PartitionName::new("newp").unwrap(),
        ProfileName::new("prod").unwrap(),
    );
    let create = Op::CreatePartition {
        frame: f.clone(),
        partition: p.clone(),
        spec: Box::new(spec),
        paging_vios: vec![],
        profile: prod.clone(),
        adapters: vec![],
    };
    let out = sh.run(&create.command()).await;
    assert_eq!(out.code, 0, "{out:?}");
    let listed = sh.run("lssyscfg -r prof -m js22_slot14 --filter lpar_names=newp -F name").await;
    assert_eq!(listed.stdout, "prod\n", "{listed:?}");
    let lpar = sh.run("lssyscfg -r lpar -m js22_slot14 --filter lpar_names=newp -F curr_profile,default_profile").await;
    assert_eq!(lpar.stdout, "prod,prod\n", "{lpar:?}");
    let wrong = Op::StartPartition {
        frame: f.clone(),
        partition: p.clone(),
        profile: ProfileName::hmc_default(),
        force: false,
    };
    let out = sh.run(&wrong.command()).await;
    assert!(
        out.stderr.contains(
            "The partition profile default_profile was not found for the partition newp. Its profiles: prod."
        ),
        "{out:?}"
    );
    let start = Op::StartPartition { frame: f, partition: p, profile: prod, force: false };
    let out = sh.run(&start.command()).await;
    assert_eq!(out.code, 0, "{out:?}");
}

/// Issue 32 item 3: a bare `chhwres` changes what the running partition has, not its profile,
/// so a reactivation undoes it; powerplane's DLPAR change writes the profile alongside and
/// survives one.
#[tokio::test]
async fn a_reactivation_keeps_a_dlpar_change_only_with_its_profile() {
    use powerplane_model::action::{ChangeMethod, PartitionChange};
    use powerplane_model::{FrameName, MemoryMb, Op, PartitionName, ProfileName};
    let sh = shell();
    let m = "-m js22_slot13";
    let mem = || async {
        sh.run(&format!("lshwres -r mem {m} --level lpar --filter lpar_names=bxaix85 -F curr_mem")).await.stdout
    };
    let desired = || async {
        sh.run(&format!(
            "lssyscfg -r prof {m} --filter lpar_names=bxaix85,profile_names=default_profile -F desired_mem"
        ))
        .await
        .stdout
    };
    // A shutdown, then an activation once it is down; what follows waits for RMC.
    let reactivate = || async {
        let down = sh.run(&format!("chsysstate {m} -r lpar -o osshutdown -n bxaix85")).await;
        wait(&sh, 60).await;
        let up = sh.run(&format!("chsysstate {m} -r lpar -o on -n bxaix85 -f default_profile")).await;
        wait(&sh, 120).await;
        down.code.max(up.code)
    };
    let out = sh.run(&format!("chhwres -r mem {m} -o a -p bxaix85 -q 1024")).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!((mem().await, desired().await), ("5120\n".to_owned(), "4096\n".to_owned()));
    assert_eq!(reactivate().await, 0);
    assert_eq!(mem().await, "4096\n", "the reactivation undid the bare chhwres");
    let grow = Op::UpdatePartition {
        frame: FrameName::new("js22_slot13").unwrap(),
        partition: PartitionName::new("bxaix85").unwrap(),
        profile: ProfileName::hmc_default(),
        change: PartitionChange {
            memory: Some((MemoryMb(4096), MemoryMb(5120))),
            method: ChangeMethod::Dlpar,
            ..Default::default()
        },
    };
    let out = sh.run(&grow.command()).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!((mem().await, desired().await), ("5120\n".to_owned(), "5120\n".to_owned()));
    assert_eq!(reactivate().await, 0);
    assert_eq!(mem().await, "5120\n", "the profile changed alongside kept it");
}

/// Issue 32 item 4: the storage commands read back into their operations, and run: a server
/// adapter added by DLPAR is listed by `lshwres -r virtualio --rsubtype scsi`, named by
/// `cfgdev`, mapped with `mkvdev`, listed by `lsmap`; a mapped adapter cannot be removed; a
/// client adapter naming no VIOS is refused.
#[tokio::test]
async fn storage_commands_read_back_and_run() {
    use powerplane_model::manifest::StorageVia;
    use powerplane_model::{DeviceName, FrameName, Op, PartitionName, ViosName};
    let sh = shell();
    let s = sh.sim.snapshot().await;
    let (f, v, p) = (
        FrameName::new("js22_slot13").unwrap(),
        ViosName::new("bvio82").unwrap(),
        PartitionName::new("bxaix85").unwrap(),
    );
    let d = |n: &str| DeviceName::new(n).unwrap();
    for op in [
        Op::AddServerAdapter {
            frame: f.clone(),
            vios: v.clone(),
            via: StorageVia::Vscsi,
            slot: 120,
            client: p.clone(),
            client_slot: 12,
            device: d("vhost1"),
        },
        Op::AddServerAdapter {
            frame: f.clone(),
            vios: v.clone(),
            via: StorageVia::Npiv,
            slot: 121,
            client: p.clone(),
            client_slot: 13,
            device: d("vfchost0"),
        },
        Op::RemoveServerAdapter {
            frame: f.clone(),
            vios: v.clone(),
            via: StorageVia::Vscsi,
            slot: 100,
            client: p.clone(),
        },
        Op::MapDisk {
            frame: f.clone(),
            vios: v.clone(),
            disk: d("hdisk3"),
            lun: "75DS81001002".parse().unwrap(),
            adapter: d("vhost0"),
            client: p.clone(),
        },
        Op::UnmapDisk {
            frame: f.clone(),
            vios: v.clone(),
            disk: d("hdisk1"),
            lun: "75DS81001000".parse().unwrap(),
            client: p.clone(),
        },
    ] {
        read_back(&s, &op);
    }
    let run = |c: &'static str| {
        let sh = &sh;
        async move { sh.run(c).await }
    };
    let busy = run("chhwres -r virtualio -m js22_slot13 -o r -p bvio82 --rsubtype scsi -s 100").await;
    assert!(busy.code != 0 && busy.stderr.contains("in use"), "{busy:?}");
    let add = run(r#"chhwres -r virtualio -m js22_slot13 -o a -p bvio82 --rsubtype scsi -s 120 -a "adapter_type=server,remote_lpar_name=bxaix85,remote_slot_num=12""#).await;
    assert_eq!(add.code, 0, "{add:?}");
    let listed = run("lshwres -r virtualio -m js22_slot13 --rsubtype scsi --level lpar -F lpar_name,slot_num,adapter_type,remote_lpar_name,remote_slot_num").await;
    assert!(listed.stdout.lines().any(|l| l == "bvio82,120,server,bxaix85,12"), "{listed:?}");
    let cfg = run(r#"viosvrcmd -m js22_slot13 -p bvio82 -c "cfgdev""#).await;
    assert!(cfg.stdout.contains("vhost1 Available"), "{cfg:?}");
    let map = run(r#"viosvrcmd -m js22_slot13 -p bvio82 -c "mkvdev -vdev hdisk3 -vadapter vhost1""#).await;
    assert_eq!(map.code, 0, "{map:?}");
    let again = run(r#"viosvrcmd -m js22_slot13 -p bvio82 -c "mkvdev -vdev hdisk3 -vadapter vhost0""#).await;
    assert!(again.code != 0 && again.stderr.contains("already in use"), "{again:?}");
    let lsmap =
        run(r#"viosvrcmd -m js22_slot13 -p bvio82 -c "lsmap -all -type disk -field svsa clientid backing -fmt :""#)
            .await;
    assert!(lsmap.stdout.lines().any(|l| l.starts_with("vhost1:0x") && l.ends_with(":hdisk3")), "{lsmap:?}");
    let bad = run(r#"mksyscfg -r lpar -m js22_slot13 -i "name=x1,profile_name=default_profile,lpar_env=aixlinux,min_mem=512,desired_mem=1024,max_mem=2048,mem_mode=ded,proc_mode=shared,min_proc_units=0.10,desired_proc_units=0.50,max_proc_units=1.00,min_procs=1,desired_procs=1,max_procs=1,sharing_mode=cap,shared_proc_pool_name=DefaultPool,virtual_scsi_adapters=10/client//nosuch/100/0""#).await;
    assert!(bad.code != 0 && bad.stderr.contains("not a Virtual I/O Server"), "{bad:?}");
}

/// Issue 32 item 8: the seed's remedy for HSCLA356 reads back into its operation and runs on a
/// disk no client maps; on a mapped (open) disk it is refused as busy, and the policy stays.
#[tokio::test]
async fn a_reserve_is_lifted_on_a_free_disk_and_refused_on_a_mapped_one() {
    use powerplane_model::{DeviceName, FrameName, Op, ViosName};
    let sh = shell();
    let s = sh.sim.snapshot().await;
    read_back(
        &s,
        &Op::SetDiskNoReserve {
            frame: FrameName::new("js22_slot13").unwrap(),
            vios: ViosName::new("bvio82").unwrap(),
            disk: DeviceName::new("hdisk3").unwrap(),
            lun: "75DS81001002".parse().unwrap(),
        },
    );
    let policy = |disk: &'static str| {
        let sh = &sh;
        async move {
            let s = sh.sim.snapshot().await;
            let f = &s.frames[&FrameName::new("js22_slot13").unwrap()];
            f.hw.vios
                .iter()
                .find(|v| v.name.as_str() == "bvio82")
                .unwrap()
                .disks
                .iter()
                .find(|d| d.name.as_str() == disk)
                .unwrap()
                .reserve_policy
        }
    };
    let busy =
        sh.run(r#"viosvrcmd -m js22_slot13 -p bvio82 -c "chdev -dev hdisk1 -attr reserve_policy=no_reserve""#).await;
    assert!(busy.code != 0 && busy.stderr.contains("0514-062") && busy.stderr.contains("busy"), "{busy:?}");
    let before = policy("hdisk1").await;
    let free =
        sh.run(r#"viosvrcmd -m js22_slot13 -p bvio82 -c "chdev -dev hdisk3 -attr reserve_policy=no_reserve""#).await;
    assert_eq!((free.code, free.stdout.trim()), (0, "hdisk3 changed"), "{free:?}");
    assert_eq!(policy("hdisk3").await, powerplane_model::manifest::ReservePolicy::NoReserve);
    assert_eq!(policy("hdisk1").await, before, "the refused change left the mapped disk alone");
    let other =
        sh.run(r#"viosvrcmd -m js22_slot13 -p bvio82 -c "chdev -dev hdisk3 -attr reserve_policy=single_path""#).await;
    assert!(other.code != 0, "{other:?}");
}
