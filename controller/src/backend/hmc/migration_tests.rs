//! Migrations through the HMC backend against in-process emulated HMCs: what the backend learns
//! of several HMCs, a move to another HMC's frame, and a migration followed past the executor's
//! fixed limit, bounded by its size and progress.

use std::sync::Arc;
use std::time::Duration;

use powerplane_model::console::{KeyExchange, RemoteHmc};
use powerplane_model::{Action, ActionId, FrameName, HmcAddress, HmcUser, Op, PartitionName, Plan};

use super::Hmc;
use crate::backend::Hypervisor;
use crate::engine::{Context, Outcome, Progress, Settings, execute};
use crate::sim::consoles::tests::two_hmcs;
use crate::sim::hmc_shell::{HmcShell, Local};
use crate::sim::{self, Clock, Simulator};
use crate::store::StateDir;
use crate::store::audit::AuditLog;
use crate::store::writer::AuditWriter;

fn f(s: &str) -> FrameName {
    FrameName::new(s).unwrap()
}
fn a(s: &str) -> HmcAddress {
    HmcAddress::new(s).unwrap()
}

fn migrate(remote: Option<RemoteHmc>) -> Action {
    Action {
        id: ActionId("a1".into()),
        op: Op::MigratePartition {
            partition: PartitionName::new("bxaix85").unwrap(),
            from: f("js22_slot13"),
            to: f("js22_slot14"),
            redundant: None,
            msp: None,
            remote,
            mpio: None,
            spelling: Default::default(),
        },
        after: Vec::new(),
        when: Default::default(),
        reason: String::new(),
        claims: Default::default(),
    }
}

/// The simulator's two HMCs, each an in-process emulator of its own.
async fn two(sim: &Simulator) -> Hmc<Local> {
    let hmc_a = HmcShell::for_console(sim.clone(), a("hmc-a")).await;
    let hmc_b = HmcShell::for_console(sim.clone(), a("hmc-b")).await;
    Hmc::new(vec![Local(hmc_a), Local(hmc_b)])
}

/// Issue 32 item 6: the backend learns which HMC manages each frame, each one's version
/// (`lshmc -V`) and whether each one's key is authorized on the other (`mkauthkeys --test`);
/// a move to the other HMC's frame goes through the source's HMC, naming the destination's,
/// once the keys are there.
#[tokio::test]
async fn two_hmcs_are_observed_with_their_keys_and_a_move_crosses_them() {
    let sim = Simulator::new(two_hmcs(false), None, Clock::new(0.0));
    let hmc = two(&sim).await;
    let e = hmc.observe().await.unwrap();
    let c = &e.status.consoles;
    assert_eq!(c.manager(&f("js22_slot14")), Some(&a("hmc-b")));
    assert_eq!(c.manager(&f("p72")), Some(&a("hmc-a")));
    assert_eq!(c.version_for(&f("js22_slot14")).map(ToString::to_string).as_deref(), Some("V10R3"));
    assert!(
        matches!(&c.hmcs[&a("hmc-a")].keys[&a("hmc-b")], KeyExchange::Missing { message } if message.contains("HSCL3653")),
        "{c:?}"
    );
    assert_eq!(c.hmcs[&a("hmc-a")].user.as_ref().map(HmcUser::as_str), Some("hscroot"));
    let remote = Some(RemoteHmc { ip: a("hmc-b"), user: Some(HmcUser::new("hscroot").unwrap()) });
    let e = hmc.execute(&migrate(remote.clone())).await.unwrap_err();
    assert!(e.to_string().contains("HSCL3653"), "{e}");
    // The fix the plan names, run on hmc-a.
    sim.authorize_keys(&a("hmc-a"), &a("hmc-b"), &HmcUser::new("hscroot").unwrap()).await.unwrap();
    let seen = hmc.observe().await.unwrap();
    assert_eq!(seen.status.consoles.hmcs[&a("hmc-a")].keys[&a("hmc-b")], KeyExchange::Authorized);
    hmc.execute(&migrate(remote)).await.unwrap();
    let after = hmc.observe().await.unwrap();
    assert_eq!(after.status.partitions[&PartitionName::new("bxaix85").unwrap()].frame, f("js22_slot14"));
}

/// The backend, shared as the executor wants it.
#[derive(Clone)]
struct Shared(Arc<Hmc<Local>>);

impl Hypervisor for Shared {
    async fn observe(&self) -> Result<powerplane_model::Estate, crate::backend::BackendError> {
        self.0.observe().await
    }
    async fn observe_frames(
        &self,
        frames: &std::collections::BTreeSet<FrameName>,
    ) -> Result<powerplane_model::Estate, crate::backend::BackendError> {
        self.0.observe_frames(frames).await
    }
    async fn execute(&self, action: &Action) -> Result<crate::backend::Completion, crate::backend::BackendError> {
        self.0.execute(action).await
    }
}

struct Quiet;
impl Progress for Quiet {
    fn started(&self, _: &Action) {}
    fn finished(&self, _: &Action, _: &Outcome) {}
}

/// Issue 32 item 6: a migration that copies for 40 virtual minutes (a slow network: 10 minutes
/// per GB) runs past the executor's 20-minute limit and its own size-derived bound (20 minutes
/// for 4 GB), followed with `lslparmigr` while its bytes remaining go down, and succeeds.
#[tokio::test(start_paused = true)]
async fn a_migration_is_followed_past_its_bound_while_it_progresses() {
    let mut state = sim::build(None, 0).expect("the lab builds");
    state.settings.lpm_seconds_per_gb = 600;
    let sim = Simulator::new(state, None, Clock::new(1.0));
    let hmc = Hmc::new(vec![Local(HmcShell::new(sim.clone(), None))]).with_poll(Duration::from_secs(30));
    hmc.observe().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = StateDir::open(dir.path()).unwrap();
    let log = AuditLog::open(&store).unwrap();
    let writer = AuditWriter::start(log.clone());
    let plan = Plan { actions: vec![migrate(None)], ..Default::default() };
    let t = tokio::time::Instant::now();
    let report =
        execute(Shared(Arc::new(hmc)), &plan, &Context::default(), Settings::default(), &writer, Arc::new(Quiet))
            .await
            .unwrap();
    assert!(matches!(report.results[0].1, Outcome::Succeeded { attempts: 1, .. }), "{:?}", report.results[0]);
    assert!(t.elapsed() >= Duration::from_secs(40 * 60), "{:?}", t.elapsed());
    assert!(t.elapsed() < Duration::from_secs(45 * 60), "{:?}", t.elapsed());
}

/// A partition's physical I/O slots are read from its profile (`io_slots`), as the simulator
/// has them.
#[tokio::test]
async fn physical_io_slots_are_observed() {
    let mut state = sim::build(None, 0).expect("the lab builds");
    state.frames.get_mut(&f("js22_slot13")).unwrap().hw.io_slots.push(powerplane_model::manifest::AssignedSlot {
        partition: PartitionName::new("bxaix85").unwrap(),
        drc_index: "21010002".into(),
        required: false,
    });
    let sim = Simulator::new(state, None, Clock::new(0.0));
    let hmc = Hmc::new(vec![Local(HmcShell::new(sim.clone(), None))]);
    let seen = hmc.observe().await.unwrap();
    let direct = sim.observe().await.unwrap();
    let slots =
        |e: &powerplane_model::Estate| e.status.partitions[&PartitionName::new("bxaix85").unwrap()].io_slots.clone();
    assert_eq!(
        slots(&seen),
        vec![powerplane_model::physical_io::IoSlot { drc_index: "21010002".into(), required: false }]
    );
    assert_eq!(slots(&seen), slots(&direct));
}
