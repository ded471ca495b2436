//! Determinism and persistence: the same seed gives the same estate, the state dir survives a
//! restart, older states still read.

use super::*;

#[tokio::test(start_paused = true)]
async fn same_seed_same_estate() {
    let a = lab();
    let b = lab();
    for sim in [&a, &b] {
        p72_sea(sim, [SeaHaMode::Sharing, SeaHaMode::Sharing]).await;
        run(sim, migrate("bxaix85", "js22_slot13", "js22_slot14", RedundantPgVios::IfPossible)).await.unwrap();
    }
    // b ran after a on the one virtual clock: its error log is a's, later by as much.
    let (mut sa, mut sb) = (a.snapshot().await, b.snapshot().await);
    let offset = sb.events[0].at_ms - sa.events[0].at_ms;
    for e in &mut sb.events {
        e.at_ms -= offset;
    }
    assert_eq!(std::mem::take(&mut sa.events), std::mem::take(&mut sb.events));
    assert_eq!(sa, sb);
}

#[tokio::test(start_paused = true)]
async fn state_survives_a_restart_through_the_state_dir() {
    let dir = tempfile::tempdir().unwrap();
    let store = crate::sim::StateDir::open(dir.path()).unwrap();
    let inv = powerplane_model::load_inventory(&[SourceFile::new("i.yaml", LAB_INVENTORY)]).unwrap();
    let state = realise(inv, 7).unwrap();
    crate::sim::persist::save(&store, &state).unwrap();
    let sim = Simulator::new(state, Some(store.clone()), Clock::default());
    sim.vios_down(&f("p72"), &v("p72vio2")).await.unwrap();
    drop(sim);
    let reloaded = crate::sim::persist::load(&store).unwrap().unwrap();
    assert_eq!(reloaded.frames[&f("p72")].vios[&v("p72vio2")].state, LparState::NotActivated);
}

// Without real waits (benchmarks, `--sim-speedup 0`), whatever was in flight when the last
// process stopped has had all the time it needed by the time the next one looks.
#[tokio::test(start_paused = true)]
async fn without_real_waits_a_reopened_simulator_finishes_what_was_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let store = crate::sim::StateDir::open(dir.path()).unwrap();
    let mut inv = powerplane_model::load_inventory(&[SourceFile::new("i.yaml", LAB_INVENTORY)]).unwrap();
    inv.partitions.retain(|n, _| n.as_str() == "bxaix85");
    let mut state = realise(inv, 7).unwrap();
    let v = crate::sim::migration::validate(
        &state,
        &p("bxaix85"),
        &f("js22_slot13"),
        &f("js22_slot14"),
        Default::default(),
    )
    .unwrap();
    crate::sim::migration::begin(&mut state, &p("bxaix85"), &f("js22_slot13"), &f("js22_slot14"), &v, 0, false);
    crate::sim::persist::save(&store, &state).unwrap();
    drop(store);
    let (reopened, _, _) =
        crate::sim::open_or_create(dir.path(), None, Clock::new(0.0)).unwrap_or_else(|e| panic!("{e}"));
    let st = observe(&reopened).await.status.partitions[&p("bxaix85")].clone();
    assert_eq!((st.frame.as_str(), st.migration), ("js22_slot14", None));
    assert_eq!(reopened.report().await.virtual_seconds, 121, "the clock moved to the migration's end, not further");
}

/// Issue 32 item 3: a state persisted before profiles were kept (no `profiles` anywhere) still
/// reads, every partition and VIOS with `default_profile`, which the HMC gives the partitions
/// it creates; the inventory's own have `default_profile` and `backup`.
#[tokio::test]
async fn a_state_persisted_before_profile_names_reads_with_default_profile() {
    use powerplane_model::ProfileName;
    let state = lab().snapshot().await;
    for f in state.frames.values() {
        for p in f.partitions.values() {
            assert_eq!(p.profiles.current, ProfileName::hmc_default());
            assert_eq!(p.profiles.others, vec![ProfileName::new("backup").unwrap()]);
        }
    }
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                m.remove("profiles");
                m.values_mut().for_each(strip);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut old = serde_json::to_value(&state).unwrap();
    strip(&mut old);
    assert!(!old.to_string().contains("\"profiles\""));
    let read: crate::sim::state::SimState = serde_json::from_value(old).expect("an older state reads");
    let mut seen = 0;
    for f in read.frames.values() {
        for v in f.vios.values() {
            assert_eq!((&v.profiles.current, v.profiles.others.len()), (&ProfileName::hmc_default(), 0));
        }
        for p in f.partitions.values() {
            assert_eq!((&p.profiles.current, p.profiles.others.len()), (&ProfileName::hmc_default(), 0));
            seen += 1;
        }
    }
    assert!(seen > 0);
}
