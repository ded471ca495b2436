//! The emulated HMC's migration commands: the seed's own `migrlpar` lines read as the migrations
//! they ask for, each HMC version's spelling of the redundancy option, `lshmc -V` and
//! `mkauthkeys` as one of several HMCs.

use powerplane_model::action::{Mpio, RedundantPgVios};
use powerplane_model::console::{HmcVersion, RedundancyOption};
use powerplane_model::{HmcAddress, Op};

use super::HmcShell;
use super::commands::parse_for;
use crate::sim::consoles::tests::two_hmcs;
use crate::sim::{self, Clock, Simulator};

/// Lines `a`-`b` (1-based) of the quickstart seed, joined as the article wrapped them: a line
/// ending in a word joins the next with a space, the `> ` of a continued prompt is dropped.
fn seed(a: usize, b: usize) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/seeds/powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt");
    let text = std::fs::read_to_string(path).expect("the seeds are there");
    let lines: Vec<&str> = text.lines().skip(a - 1).take(b - a + 1).map(str::trim).collect();
    let joined = lines.join(" ");
    let joined = joined.split_once(":~> ").map_or(joined.as_str(), |(_, c)| c).to_owned();
    joined.replace(" \\ > ", " ").replace("\\ > ", " ")
}

fn words(line: &str) -> Vec<String> {
    shlex::split(line).expect("quoted correctly")
}

fn version(v: &str) -> HmcVersion {
    HmcVersion::parse(v).unwrap()
}

/// The seed's `migrlpar` lines, verbatim, are read as the migrations they ask for, where
/// `-u hscroot` used to be refused as "unexpected argument": the destination HMC (`--ip`, `-u`),
/// `--mpio 2`, and the seed's `--redundantpgvios` on an HMC of its time.
#[test]
fn the_seeds_migrlpar_lines_are_read() {
    let s = sim::build(None, 0).expect("the lab builds");
    let v10 = version("V10R3");
    // Lines 1561-1562: `migrlpar -o v -m wilma -t visa --ip destiny4 -u hscroot -p upt0060 --mpio 2`.
    let line = seed(1561, 1562);
    assert_eq!(line, "migrlpar -o v -m wilma -t visa --ip destiny4 -u hscroot -p upt0060 --mpio 2");
    let Op::ValidateMigration { partition, from, to, remote, mpio, .. } = parse_for(&s, &words(&line), &v10).unwrap()
    else {
        panic!("a validation")
    };
    let remote = remote.unwrap();
    assert_eq!((partition.as_str(), from.as_str(), to.as_str()), ("upt0060", "wilma", "visa"));
    assert_eq!((remote.ip.as_str(), remote.user.unwrap().as_str()), ("destiny4", "hscroot"));
    assert_eq!(mpio, Some(Mpio::IfPossible));
    // Lines 1532-1533, 1587-1588, 1743-1744, 1785-1786, 1851-1852 (the partition after `-p`
    // where the article kept it).
    for (a, b) in [(1532, 1533), (1587, 1588), (1743, 1744), (1785, 1786)] {
        let line = seed(a, b);
        let op = parse_for(&s, &words(&line), &v10).unwrap_or_else(|e| panic!("{line}: {e}"));
        let Op::ValidateMigration { remote: Some(r), .. } = op else { panic!("{line}: a validation to a remote HMC") };
        assert!(r.user.is_some(), "{line}");
    }
    // Lines 1522-1524, the article's wrap joined (`-n upt07_noams_npiv`): the seed's
    // `--redundantpgvios 0` on an HMC of its time, `--vlanbridge 2 --mpio 2 -w 60 -d 5 -v`.
    let joined = format!("{}{}", seed(1522, 1522), seed(1523, 1524));
    let v7 = version("V7R3.4.0");
    let e = parse_for(&s, &words(&joined), &v7).unwrap_err();
    // Its `-i` has the article's typo `source_msp+name`, which the HMC does not take.
    assert!(e.contains("The invalid attribute is source_msp+name."), "{e}");
    let fixed = joined.replace("source_msp+name", "source_msp_name");
    let Op::MigratePartition { redundant, mpio, remote, msp, spelling, .. } =
        parse_for(&s, &words(&fixed), &v7).unwrap()
    else {
        panic!("a migration")
    };
    assert_eq!(
        (redundant, mpio, spelling),
        (Some(RedundantPgVios::NonRedundant), Some(Mpio::IfPossible), RedundancyOption::PgVios)
    );
    assert_eq!(remote.unwrap().ip.as_str(), "destiny4");
    assert_eq!(msp.unwrap().dest.as_str(), "visav2");
}

/// Each HMC takes the spelling its version documents and refuses the other; an option no man
/// page has is refused.
#[test]
fn the_redundancy_option_follows_the_emulated_version() {
    let s = sim::build(None, 0).expect("the lab builds");
    let line = |o: &str| words(&format!("migrlpar -o m -m p72 -t js22_slot14 -p x {o} 2"));
    let Op::MigratePartition { redundant, spelling, .. } =
        parse_for(&s, &line("--redundantvios"), &version("V10R3")).unwrap()
    else {
        panic!()
    };
    assert_eq!((redundant, spelling), (Some(RedundantPgVios::IfPossible), RedundancyOption::Vios));
    let e = parse_for(&s, &line("--redundantpgvios"), &version("V10R3")).unwrap_err();
    assert!(e.contains("--redundantpgvios is not valid on this HMC (V10R3)"), "{e}");
    let e = parse_for(&s, &line("--redundantvios"), &version("V7R3.4.0")).unwrap_err();
    assert!(e.contains("--redundantvios is not valid"), "{e}");
    assert!(parse_for(&s, &line("--redundantpgvios"), &version("V8R8.2.0")).is_err());
    let e = parse_for(&s, &line("--nosuch"), &version("V10R3")).unwrap_err();
    assert!(e.contains("The invalid parameter is --nosuch."), "{e}");
    let e =
        parse_for(&s, &words("migrlpar -o v -m p72 -t js22_slot14 -p x -u hscroot"), &version("V10R3")).unwrap_err();
    assert!(e.contains("-u is valid only with --ip"), "{e}");
}

/// As one of the simulator's HMCs, the emulator manages its own frames, answers `lshmc -V`
/// with its version and tests and authorizes its key on the other HMC.
#[tokio::test]
async fn an_emulated_hmc_is_one_of_several() {
    let sim = Simulator::new(two_hmcs(false), None, Clock::new(0.0));
    let a = HmcShell::for_console(sim.clone(), HmcAddress::new("hmc-a").unwrap()).await;
    let b = HmcShell::for_console(sim.clone(), HmcAddress::new("hmc-b").unwrap()).await;
    assert_eq!(b.run("lssyscfg -r sys -F name").await.stdout, "js22_slot14\n");
    let others = a.run("lssyscfg -r sys -F name").await.stdout;
    assert!(others.contains("js22_slot13") && !others.contains("js22_slot14"), "{others}");
    let v = a.run("lshmc -V").await;
    assert!(v.stdout.contains("base_version=V10R3") && v.stdout.contains(" Release: 3\n"), "{v:?}");
    let test = a.run("mkauthkeys --ip hmc-b --test").await;
    assert_eq!(test.code, 1);
    assert!(test.stderr.contains("HSCL3653"), "{test:?}");
    // Its migration to hmc-b's blade is refused until the keys are there.
    let mig = "migrlpar -o v -m js22_slot13 -t js22_slot14 --ip hmc-b -u hscroot -p bxaix85";
    let refused = a.run(mig).await;
    assert!(refused.stderr.contains("HSCL3653"), "{refused:?}");
    let without_ip = a.run("migrlpar -o v -m js22_slot13 -t js22_slot14 -p bxaix85").await;
    assert!(without_ip.stderr.contains("js22_slot14 could not be found"), "{without_ip:?}");
    let g = a.run("mkauthkeys -g --ip hmc-b -u hscroot --passwd abc123").await;
    assert_eq!((g.code, g.stderr.as_str()), (0, ""), "{g:?}");
    assert_eq!(a.run("mkauthkeys --ip hmc-b --test").await.code, 0);
    assert_eq!(b.run("mkauthkeys --ip hmc-a --test").await.code, 1, "the other way round is hmc-b's key");
    let ok = a.run(mig).await;
    assert_eq!(ok.code, 0, "{ok:?}");
    assert_eq!(a.run("mkauthkeys --ip hmc-b -u hscroot").await.code, 1, "neither -g nor --test");
}

/// A partition with a physical I/O slot is listed with it (`io_slots` of its profile) and its
/// migration refused; one reaching its disks through two VIOS is refused with HSCLA340 where
/// the destination has one, unless `--mpio 2` lets it go through one.
#[tokio::test]
async fn physical_io_and_multipath_io_the_destination_cannot_replicate_are_refused() {
    use powerplane_model::manifest::AssignedSlot;
    let mut s = sim::build(None, 0).expect("the lab builds");
    let blade = powerplane_model::FrameName::new("js22_slot13").unwrap();
    let fr = s.frames.get_mut(&blade).unwrap();
    fr.hw.io_slots.push(AssignedSlot {
        partition: powerplane_model::PartitionName::new("bxaix85").unwrap(),
        drc_index: "21010002".into(),
        required: true,
    });
    let sh = HmcShell::new(Simulator::new(s.clone(), None, Clock::new(0.0)), None);
    let listed = sh.run("lssyscfg -r prof -m js22_slot13 --filter lpar_names=bxaix85 -F name,io_slots").await;
    assert!(listed.stdout.contains("default_profile,21010002/none/1"), "{listed:?}");
    let v = sh.run("migrlpar -o v -m js22_slot13 -t js22_slot14 -p bxaix85").await;
    assert_eq!(v.code, 1);
    assert!(v.stderr.contains("has physical I/O slots assigned (21010002 (required))"), "{v:?}");

    // A second VIOS on the source blade sees bxaix85's disks too: multipath I/O.
    let fr = s.frames.get_mut(&blade).unwrap();
    fr.hw.io_slots.clear();
    let mut second = fr.hw.vios[0].clone();
    second.name = powerplane_model::ViosName::new("bvio82b").unwrap();
    fr.hw.vios.push(second.clone());
    let running = fr.vios.values().next().unwrap().clone();
    fr.vios.insert(second.name, running);
    let sh = HmcShell::new(Simulator::new(s, None, Clock::new(0.0)), None);
    let v = sh.run("migrlpar -o v -m js22_slot13 -t js22_slot14 -p bxaix85").await;
    assert!(v.stderr.contains("HSCLA340 The HMC may not be able to replicate"), "{v:?}");
    let v = sh.run("migrlpar -o v -m js22_slot13 -t js22_slot14 -p bxaix85 --mpio 2").await;
    assert_eq!((v.code, v.stderr.as_str()), (0, ""), "--mpio 2 goes through one VIOS: {v:?}");
}
