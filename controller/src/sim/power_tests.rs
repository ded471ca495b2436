//! Activations and shutdowns on the virtual timeline (issue 32 item 5): the stages the HMC
//! lists, a start or stop followed and never issued again, a client killed part-way and the
//! next process following what it left, and the refusals of what needs RMC before it is there.

use std::time::Duration;

use powerplane_model::action::ShutdownMethod;
use powerplane_model::status::{LparState, SeaHaMode};
use powerplane_model::{Action, ActionId, DeviceName, FrameName, Op, PartitionName, ProfileName, SourceFile, ViosName};

use super::hmc_shell::HmcShell;
use super::{Clock, LAB_INVENTORY, Simulator, realise};
use crate::backend::{BackendError, Completion, Hypervisor};

fn action(op: Op) -> Action {
    Action {
        id: ActionId("t".into()),
        op,
        after: vec![],
        when: Default::default(),
        reason: "test".into(),
        claims: Default::default(),
    }
}

async fn run(sim: &Simulator, op: Op) -> Result<Completion, BackendError> {
    sim.execute(&action(op)).await
}

fn solchms05() -> FrameName {
    FrameName::new("IBM_MMA_P6_102615A_SOLCHMS05").unwrap()
}

fn vio1() -> ViosName {
    ViosName::new("lpar_1_solchio05").unwrap()
}

fn start_vios(frame: FrameName, vios: ViosName) -> Op {
    Op::StartVios { frame, vios, profile: ProfileName::hmc_default() }
}

fn failback() -> Op {
    Op::SwitchPagingVios { frame: solchms05(), partition: PartitionName::new("lpar_6_sotchax11").unwrap() }
}

async fn vios_state(sim: &Simulator, frame: &FrameName, vios: &ViosName) -> (LparState, bool) {
    sim.read(|s| {
        let v = &s.frames[frame].vios[vios];
        (v.state.clone(), v.rmc)
    })
    .await
}

/// Issue 32's acceptance: a client killed 4 s into a VIOS activation. The next process sees the
/// VIOS still `Starting`; a paging failback onto it is refused, as a real HMC refuses it (not
/// running, then no RMC); the start planned again is followed, not issued again (it ends when
/// the first one does, not a whole activation later); then the failback succeeds.
#[tokio::test(start_paused = true)]
async fn a_vios_activation_whose_client_died_is_followed_by_the_next_process() {
    let dir = tempfile::tempdir().unwrap();
    let store = super::StateDir::open(dir.path()).unwrap();
    let inv = powerplane_model::load_inventory(&[SourceFile::new("i.yaml", LAB_INVENTORY)]).unwrap();
    let state = realise(inv, 7).unwrap();
    super::persist::save(&store, &state).unwrap();
    let sim = Simulator::new(state, Some(store.clone()), Clock::default());
    sim.vios_down(&solchms05(), &vio1()).await.unwrap();
    let bg = sim.clone();
    let client = tokio::spawn(async move { run(&bg, start_vios(solchms05(), vio1())).await });
    // 4 virtual seconds in (at 60x), the client is killed.
    tokio::time::sleep(Duration::from_millis(4_000 / 60)).await;
    client.abort();
    assert!(client.await.is_err(), "killed before the activation ended");
    drop((sim, store));

    let (next, _, _) = super::open_or_create(dir.path(), None, Clock::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(vios_state(&next, &solchms05(), &vio1()).await, (LparState::Starting, false));
    let seen = next.observe().await.unwrap();
    assert_eq!(seen.status.vios[&solchms05()][&vio1()], LparState::Starting);
    let err = run(&next, failback()).await.unwrap_err();
    assert!(err.to_string().contains("is not running"), "{err}");

    let bg = next.clone();
    let follow = tokio::spawn(async move { run(&bg, start_vios(solchms05(), vio1())).await });
    // A minute after the first start it runs, its RMC not there yet: the failback still waits.
    tokio::time::sleep(Duration::from_millis(56_000 / 60)).await;
    assert_eq!(vios_state(&next, &solchms05(), &vio1()).await, (LparState::Running, false));
    assert!(next.observe().await.unwrap().status.vios_lacks_rmc(&solchms05(), &vio1()));
    let err = run(&next, failback()).await.unwrap_err();
    assert!(matches!(&err, BackendError::Refused { code: Some(c), .. } if c == "HSCLA29A"), "{err}");

    let done = follow.await.unwrap().unwrap();
    assert!(done.message.starts_with("already under way"), "{}", done.message);
    assert!(done.message.ends_with("is running with RMC active"), "{}", done.message);
    let whole = Duration::from_millis(
        super::power::VIOS_ACTIVATION.starting_ms
            + super::power::VIOS_ACTIVATION.firmware_ms
            + super::power::VIOS_ACTIVATION.rmc_ms,
    );
    assert!(done.duration < whole, "followed to the first start's end, not issued again: {:?}", done.duration);
    assert_eq!(vios_state(&next, &solchms05(), &vio1()).await, (LparState::Running, true));
    run(&next, failback()).await.unwrap();
}

/// RMC lost during a VIOS activation does not come by itself; restored while the VIOS is
/// still starting, it comes as it would have once the VIOS runs (the soak's case: faults
/// cleared mid-activation left a client without RMC for ever).
#[tokio::test(start_paused = true)]
async fn rmc_restored_during_an_activation_comes_with_it() {
    let inv = powerplane_model::load_inventory(&[SourceFile::new("i.yaml", LAB_INVENTORY)]).unwrap();
    let sim = Simulator::new(realise(inv, 7).unwrap(), None, Clock::default());
    sim.vios_down(&solchms05(), &vio1()).await.unwrap();
    let bg = sim.clone();
    let start = tokio::spawn(async move { run(&bg, start_vios(solchms05(), vio1())).await });
    tokio::time::sleep(Duration::from_millis(4_000 / 60)).await;
    sim.rmc(vio1().as_str(), false).await.unwrap();
    tokio::time::sleep(Duration::from_millis(4_000 / 60)).await;
    assert_eq!(vios_state(&sim, &solchms05(), &vio1()).await, (LparState::Starting, false));
    sim.rmc(vio1().as_str(), true).await.unwrap();
    assert_eq!(vios_state(&sim, &solchms05(), &vio1()).await, (LparState::Starting, false), "not before it runs");
    start.await.unwrap().unwrap();
    let whole = super::power::VIOS_ACTIVATION.starting_ms
        + super::power::VIOS_ACTIVATION.firmware_ms
        + super::power::VIOS_ACTIVATION.rmc_ms;
    tokio::time::sleep(Duration::from_millis(whole / 60)).await;
    assert_eq!(vios_state(&sim, &solchms05(), &vio1()).await, (LparState::Running, true));
}

/// The emulated HMC lists each stage as virtual time passes (`lssyscfg -F state,rmc_state`),
/// refuses a start while one is under way, and a shutdown shows `Shutting Down` first.
#[tokio::test(start_paused = true)]
async fn the_emulator_lists_each_stage_as_virtual_time_passes() {
    let inv = powerplane_model::load_inventory(&[SourceFile::new("i.yaml", LAB_INVENTORY)]).unwrap();
    let sim = Simulator::new(realise(inv, 7).unwrap(), None, Clock::default());
    let sh = HmcShell::new(sim.clone(), None);
    let m = "-m js22_slot13";
    let list = format!("lssyscfg -r lpar {m} --filter lpar_names=bxaix85 -F state,rmc_state");
    let wait = |secs| sim.sleep_virtual(Duration::from_secs(secs));

    let out = sh.run(&format!("chsysstate {m} -r lpar -o osshutdown -n bxaix85")).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(sh.run(&list).await.stdout, "Shutting Down,inactive\n");
    wait(20).await;
    assert_eq!(sh.run(&list).await.stdout, "Not Activated,inactive\n");

    let on = format!("chsysstate {m} -r lpar -o on -n bxaix85 -f default_profile");
    assert_eq!(sh.run(&on).await.code, 0);
    assert_eq!(sh.run(&list).await.stdout, "Starting,inactive\n");
    let again = sh.run(&on).await;
    assert_eq!(again.code, 1, "not started twice: {again:?}");
    assert!(again.stderr.contains("bxaix85 is Starting"), "{again:?}");
    wait(10).await;
    assert_eq!(sh.run(&list).await.stdout, "Open Firmware,inactive\n");
    wait(19).await;
    assert_eq!(sh.run(&list).await.stdout, "Open Firmware,inactive\n");
    wait(1).await;
    // A client's RMC is taken to come with Running (`power::LPAR_ACTIVATION`); a VIOS's later.
    assert_eq!(sh.run(&list).await.stdout, "Running,active\n");
    let vios = "lssyscfg -r lpar -m p72 --filter lpar_names=p72vio2 -F state,rmc_state";
    sim.vios_down(&FrameName::new("p72").unwrap(), &ViosName::new("p72vio2").unwrap()).await.unwrap();
    assert_eq!(sh.run("chsysstate -m p72 -r lpar -o on -n p72vio2 -f default_profile").await.code, 0);
    wait(40).await;
    assert_eq!(sh.run(vios).await.stdout, "Running,inactive\n");
    wait(50).await;
    assert_eq!(sh.run(vios).await.stdout, "Running,active\n");
}

/// Without RMC the operating system's shutdown is refused (HSCL0DB4, which pypowervm reads as
/// "osshutdown is not supported"); the delayed and the immediate shutdowns need none.
#[tokio::test(start_paused = true)]
async fn a_shutdown_without_rmc_is_refused_unless_it_needs_none() {
    let inv = powerplane_model::load_inventory(&[SourceFile::new("i.yaml", LAB_INVENTORY)]).unwrap();
    let sim = Simulator::new(realise(inv, 7).unwrap(), None, Clock::default());
    let sh = HmcShell::new(sim.clone(), None);
    let m = "-m js22_slot13";
    let list = format!("lssyscfg -r lpar {m} --filter lpar_names=bxaix85 -F state");
    sim.rmc("bxaix85", false).await.unwrap();
    for os in ["osshutdown", "osshutdown --immed"] {
        let out = sh.run(&format!("chsysstate {m} -r lpar -o {os} -n bxaix85")).await;
        assert_eq!(out.code, 1, "{out:?}");
        assert!(out.stderr.starts_with("HSCL0DB4 "), "{out:?}");
    }
    let out = sh.run(&format!("chsysstate {m} -r lpar -o shutdown --immed -n bxaix85")).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(sh.run(&list).await.stdout, "Shutting Down\n");
    sim.sleep_virtual(Duration::from_millis(super::power::shutdown_ms(false, ShutdownMethod::Immediate))).await;
    assert_eq!(sh.run(&list).await.stdout, "Not Activated\n");
    // Through the backend: followed until Not Activated.
    let (f, p) = (FrameName::new("js22_slot13").unwrap(), PartitionName::new("bxaix85").unwrap());
    let start = Op::StartPartition {
        frame: f.clone(),
        partition: p.clone(),
        profile: ProfileName::hmc_default(),
        force: false,
    };
    let done = run(&sim, start).await.unwrap();
    assert_eq!(done.duration, Duration::from_secs(30), "followed to Running");
    sim.rmc("bxaix85", false).await.unwrap();
    let done = run(&sim, Op::StopPartition { frame: f, partition: p, how: ShutdownMethod::Delayed }).await.unwrap();
    assert_eq!(done.duration, Duration::from_millis(super::power::shutdown_ms(false, ShutdownMethod::Delayed)));
    assert_eq!(sh.run(&list).await.stdout, "Not Activated\n");
}

/// A VIOS whose RMC has not come yet refuses what goes through it (`viosvrcmd`: a SEA change),
/// with the HMC's HSCLA29A; once RMC is there it is done.
#[tokio::test(start_paused = true)]
async fn a_sea_change_waits_for_the_vios_rmc() {
    let inv = powerplane_model::load_inventory(&[SourceFile::new("i.yaml", LAB_INVENTORY)]).unwrap();
    let sim = Simulator::new(realise(inv, 7).unwrap(), None, Clock::default());
    let (f, v) = (FrameName::new("p72").unwrap(), ViosName::new("p72vio2").unwrap());
    sim.vios_down(&f, &v).await.unwrap();
    sim.issue(&action(start_vios(f.clone(), v.clone()))).await.unwrap();
    let t = super::power::VIOS_ACTIVATION;
    sim.sleep_virtual(Duration::from_millis(t.starting_ms + t.firmware_ms)).await;
    assert_eq!(vios_state(&sim, &f, &v).await, (LparState::Running, false));
    let standby = Op::SetSeaHaMode {
        frame: f.clone(),
        vios: v.clone(),
        device: DeviceName::new("ent4").unwrap(),
        mode: SeaHaMode::Standby,
    };
    let err = run(&sim, standby.clone()).await.unwrap_err();
    assert!(matches!(&err, BackendError::Refused { code: Some(c), .. } if c == "HSCLA29A"), "{err}");
    sim.sleep_virtual(Duration::from_millis(t.rmc_ms)).await;
    run(&sim, standby).await.unwrap();
}

/// Without real waits (`--sim-speedup 0`) the emulator's `chsysstate` leaves the partition in
/// the state it was going to: nothing else would move virtual time on.
#[tokio::test(start_paused = true)]
async fn without_real_waits_what_chsysstate_begins_has_ended_at_the_next_look() {
    let inv = powerplane_model::load_inventory(&[SourceFile::new("i.yaml", LAB_INVENTORY)]).unwrap();
    let sim = Simulator::new(realise(inv, 7).unwrap(), None, Clock::new(0.0));
    let sh = HmcShell::new(sim, None);
    let m = "-m js22_slot13";
    let list = format!("lssyscfg -r lpar {m} --filter lpar_names=bxaix85 -F state,rmc_state");
    assert_eq!(sh.run(&format!("chsysstate {m} -r lpar -o osshutdown -n bxaix85")).await.code, 0);
    assert_eq!(sh.run(&list).await.stdout, "Not Activated,inactive\n");
    assert_eq!(sh.run(&format!("chsysstate {m} -r lpar -o on -n bxaix85 -f default_profile")).await.code, 0);
    assert_eq!(sh.run(&list).await.stdout, "Running,active\n");
}

/// A start that a crash ends part-way (the VIOS goes down while starting) is not followed for
/// ever: the state off the way is refused with the state named.
#[tokio::test(start_paused = true)]
async fn a_start_that_goes_off_the_way_is_refused_with_the_state() {
    let inv = powerplane_model::load_inventory(&[SourceFile::new("i.yaml", LAB_INVENTORY)]).unwrap();
    let sim = Simulator::new(realise(inv, 7).unwrap(), None, Clock::default());
    let (f, v) = (FrameName::new("p72").unwrap(), ViosName::new("p72vio2").unwrap());
    sim.vios_down(&f, &v).await.unwrap();
    let bg = sim.clone();
    let (f2, v2) = (f.clone(), v.clone());
    let follow = tokio::spawn(async move { run(&bg, start_vios(f2, v2)).await });
    tokio::time::sleep(Duration::from_millis(20_000 / 60)).await;
    sim.vios_down(&f, &v).await.unwrap();
    let err = follow.await.unwrap().unwrap_err();
    assert!(
        err.to_string().contains("p72vio2 is Not Activated after `chsysstate`, not Running with RMC active"),
        "{err}"
    );
}
