//! The execute loop's tests: a fake backend on tokio's paused clock, limits, retries,
//! capacity, stops, failures and clean-up, each checked against the audit trail.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use powerplane_model::{Action, ActionId, FrameName, Op, PartitionName, Plan, When};

use super::{Context, ExecuteError, Outcome, Progress, Report, Settings, Stop, execute};
use crate::backend::{BackendError, Completion, Hypervisor};
use crate::store::StateDir;
use crate::store::audit::{AuditLog, Event, Record};
use crate::store::writer::AuditWriter;

/// A backend whose calls take 10 virtual seconds, recording how many run at once per
/// frame; partitions named `fail*` are refused, `flaky*` fail transiently twice.
#[derive(Clone, Default)]
struct Fake {
    now: Arc<Mutex<BTreeMap<String, usize>>>,
    max: Arc<Mutex<(usize, BTreeMap<String, usize>)>>,
    calls: Arc<Mutex<BTreeMap<String, u32>>>,
}

impl Hypervisor for Fake {
    async fn observe(&self) -> Result<powerplane_model::Estate, BackendError> {
        Ok(Default::default())
    }

    async fn observe_frames(
        &self,
        _: &std::collections::BTreeSet<powerplane_model::FrameName>,
    ) -> Result<powerplane_model::Estate, BackendError> {
        Ok(Default::default())
    }

    async fn execute(&self, a: &Action) -> Result<Completion, BackendError> {
        let frames: Vec<String> = a.op.frames().iter().map(|f| f.to_string()).collect();
        {
            let mut now = self.now.lock().unwrap();
            let mut max = self.max.lock().unwrap();
            for f in &frames {
                *now.entry(f.clone()).or_default() += 1;
                let m = max.1.entry(f.clone()).or_default();
                *m = (*m).max(now[f]);
            }
            max.0 = max.0.max(now.values().sum());
        }
        tokio::time::sleep(Duration::from_secs(10)).await;
        for f in &frames {
            *self.now.lock().unwrap().get_mut(f).unwrap() -= 1;
        }
        let name = a.op.object();
        let n = {
            let mut calls = self.calls.lock().unwrap();
            let c = calls.entry(name.clone()).or_default();
            *c += 1;
            *c
        };
        if name.contains("fail") {
            return Err(BackendError::refused_plain("no"));
        }
        if name.contains("flaky") && n <= 2 {
            return Err(BackendError::Transient("busy".into()));
        }
        Ok(Completion { message: "ok".into(), duration: Duration::from_secs(10), suspended: None })
    }
}

struct Quiet;
impl Progress for Quiet {
    fn started(&self, _: &Action) {}
    fn finished(&self, _: &Action, _: &Outcome) {}
}

/// A start of partition `name` on `frame`, action `a{id}` after `a{after}` (shared with
/// `check.rs`'s tests).
pub(super) fn start(id: usize, frame: &str, name: &str, after: &[usize]) -> Action {
    Action {
        id: ActionId(format!("a{id}")),
        op: Op::StartPartition {
            profile: powerplane_model::ProfileName::hmc_default(),
            frame: FrameName::new(frame).unwrap(),
            partition: PartitionName::new(name).unwrap(),
            force: false,
        },
        after: after.iter().map(|a| ActionId(format!("a{a}"))).collect(),
        when: Default::default(),
        reason: "test".into(),
        claims: Default::default(),
    }
}

async fn run(fake: &Fake, actions: Vec<Action>, settings: Settings) -> (Report, Vec<Record>) {
    let dir = tempfile::tempdir().unwrap();
    let state = StateDir::open(dir.path()).unwrap();
    let log = AuditLog::open(&state).unwrap();
    let writer = AuditWriter::start(log.clone());
    let plan = Plan { actions, ..Default::default() };
    let report = execute(fake.clone(), &plan, &Context::default(), settings, &writer, Arc::new(Quiet)).await.unwrap();
    (report, log.records().unwrap())
}

#[tokio::test(start_paused = true)]
async fn concurrency_is_bounded_in_all_and_per_frame() {
    let fake = Fake::default();
    let actions: Vec<Action> =
        (1..=20).map(|i| start(i, if i % 2 == 0 { "fa" } else { "fb" }, &format!("p{i}"), &[])).collect();
    let settings = Settings { parallel: 6, per_frame: 4, ..Default::default() };
    let (report, records) = run(&fake, actions, settings).await;
    assert!(report.all_succeeded());
    // The paused clock does not jump while a record is made durable (the wait is a
    // blocking task), so the calls overlap exactly as far as the limits allow.
    let max = fake.max.lock().unwrap().clone();
    assert_eq!(max.0, 6, "in all");
    assert!(max.1.values().all(|m| *m <= 4), "per frame: {:?}", max.1);
    // Without the overall limit binding, the per-frame one does.
    let fake = Fake::default();
    let actions: Vec<Action> =
        (1..=20).map(|i| start(i, if i % 2 == 0 { "fa" } else { "fb" }, &format!("p{i}"), &[])).collect();
    let (report, _) = run(&fake, actions, Settings { parallel: 32, per_frame: 4, ..Default::default() }).await;
    assert!(report.all_succeeded());
    let max = fake.max.lock().unwrap().clone();
    assert_eq!((max.0, max.1.values().copied().collect::<Vec<_>>()), (8, vec![4, 4]));
    assert_eq!(records.len(), 40, "an intent and an outcome per call");
}

#[tokio::test(start_paused = true)]
async fn transient_failures_are_retried_with_growing_backoff() {
    let fake = Fake::default();
    let t = tokio::time::Instant::now();
    let (report, records) = run(&fake, vec![start(1, "fa", "flaky", &[])], Settings::default()).await;
    assert_eq!(report.results[0].1, Outcome::Succeeded { message: "ok".into(), attempts: 3, suspended: None });
    // Three 10 s calls and two waits of about 1 s and 2 s (±25%).
    let waited = t.elapsed() - Duration::from_secs(30);
    assert!(waited >= Duration::from_millis(2250) && waited <= Duration::from_millis(3750), "{waited:?}");
    assert_eq!(records.iter().filter(|r| r.event == Event::Outcome).count(), 1);
    let s = Settings { attempts: 2, ..Default::default() };
    let (report, _) = run(&Fake::default(), vec![start(1, "fa", "flaky", &[])], s).await;
    assert!(matches!(report.results[0].1, Outcome::Failed { attempts: 2, .. }));
}

/// Issue 15: an action starts only when the capacity it claims is free. Two starts fit
/// in the frame's 8 GB at once; the third waits for the stop that gives 4 GB back, and when
/// that stop fails it is held, with the reason, instead of waiting for ever.
#[tokio::test(start_paused = true)]
async fn actions_start_only_within_their_claimed_capacity() {
    use powerplane_model::plan::{Claim, Claims, Resource};
    let mem = |amount| Claim { resource: Resource::Memory(FrameName::new("fa").unwrap()), amount };
    let plan_of = |stopped: &str| {
        let mut stop = start(1, "fa", stopped, &[]);
        stop.op = Op::StopPartition {
            frame: FrameName::new("fa").unwrap(),
            partition: PartitionName::new(stopped).unwrap(),
            how: Default::default(),
        };
        stop.claims = Claims { give: vec![mem(4096)], ..Default::default() };
        let mut actions = vec![stop];
        for i in 2..=4 {
            let mut a = start(i, "fa", &format!("p{i}"), &[]);
            a.claims = Claims { take: vec![mem(4096)], ..Default::default() };
            actions.push(a);
        }
        Plan { actions, capacity: vec![mem(8192)], ..Default::default() }
    };
    let run_plan = |plan: Plan| async move {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::open(&StateDir::open(dir.path()).unwrap()).unwrap();
        let writer = AuditWriter::start(log.clone());
        let report =
            execute(Fake::default(), &plan, &Context::default(), Settings::default(), &writer, Arc::new(Quiet))
                .await
                .unwrap();
        (report, log.records().unwrap())
    };
    let (report, records) = run_plan(plan_of("old")).await;
    assert!(report.all_succeeded(), "{:?}", report.results);
    let seq = |action: &str, event: Event| {
        records.iter().find(|r| r.draft.action == action && r.event == event).map(|r| r.seq).unwrap()
    };
    // The first ready by rank and plan order: a1..a3 start; a4 only after a1 gave back.
    assert!(seq("a4", Event::Intent) > seq("a1", Event::Outcome));
    assert!(seq("a3", Event::Intent) < seq("a1", Event::Outcome));
    let (report, records) = run_plan(plan_of("fail-old")).await;
    assert!(matches!(report.results[0].1, Outcome::Failed { .. }));
    let Outcome::Held { reason } = &report.results[3].1 else { panic!("{:?}", report.results[3]) };
    assert!(reason.contains("it needs 4096 of the memory of fa in MB and 0 is free"), "{reason}");
    let skip = records.iter().find(|r| r.draft.action == "a4").unwrap();
    assert_eq!(skip.event, Event::Skip);
    assert_eq!(report.counts(), (2, 1, 1));
}

async fn run_with_stop(
    fake: &Fake,
    actions: Vec<Action>,
    settings: Settings,
    stop: tokio::sync::watch::Receiver<Stop>,
) -> (Report, Vec<Record>) {
    let dir = tempfile::tempdir().unwrap();
    let state = StateDir::open(dir.path()).unwrap();
    let log = AuditLog::open(&state).unwrap();
    let writer = AuditWriter::start(log.clone());
    let plan = Plan { actions, ..Default::default() };
    let ctx = Context { stop: Some(stop), ..Default::default() };
    let report = execute(fake.clone(), &plan, &ctx, settings, &writer, Arc::new(Quiet)).await.unwrap();
    (report, log.records().unwrap())
}

#[tokio::test(start_paused = true)]
async fn a_drain_finishes_what_runs_and_starts_nothing_new() {
    let fake = Fake::default();
    let (tx, rx) = tokio::sync::watch::channel(Stop::Run);
    let actions = vec![start(1, "fa", "p1", &[]), start(2, "fa", "p2", &[1])];
    let stopper = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(5)).await;
        tx.send(Stop::Drain).unwrap();
        tx
    });
    let (report, records) = run_with_stop(&fake, actions, Settings::default(), rx).await;
    drop(stopper.await);
    assert!(matches!(report.results[0].1, Outcome::Succeeded { .. }), "the running call finished");
    assert_eq!(report.results[1].1, Outcome::NotStarted);
    assert_eq!(fake.calls.lock().unwrap().len(), 1);
    assert!(records.iter().any(|r| r.event == Event::Skip && r.draft.action == "a2"));
}

#[tokio::test(start_paused = true)]
async fn abandoning_records_what_was_left_running_at_once() {
    let fake = Fake::default();
    let (tx, rx) = tokio::sync::watch::channel(Stop::Run);
    let t = tokio::time::Instant::now();
    let stopper = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(3)).await;
        tx.send(Stop::Drain).unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
        tx.send(Stop::Abandon).unwrap();
        tx
    });
    let (report, records) = run_with_stop(&fake, vec![start(1, "fa", "p1", &[])], Settings::default(), rx).await;
    drop(stopper.await);
    assert_eq!(report.results[0].1, Outcome::LeftRunning);
    assert!(t.elapsed() < Duration::from_secs(10), "it did not wait for the 10 s call");
    let outcome = records.iter().find(|r| r.event == Event::Outcome).unwrap();
    assert_eq!(outcome.draft.intent, Some(1), "the intent has its outcome");
    assert!(outcome.draft.message.as_deref().unwrap().contains("left running on the hypervisor"));
}

#[tokio::test(start_paused = true)]
async fn a_stop_during_a_retry_wait_does_not_retry() {
    let fake = Fake::default();
    let (tx, rx) = tokio::sync::watch::channel(Stop::Run);
    let settings = Settings { backoff: Duration::from_secs(600), ..Default::default() };
    let stopper = tokio::spawn(async move {
        // The first call takes 10 s and fails transiently; the retry would wait 600 s.
        tokio::time::sleep(Duration::from_secs(20)).await;
        tx.send(Stop::Drain).unwrap();
        tx
    });
    let (report, _) = run_with_stop(&fake, vec![start(1, "fa", "flaky", &[])], settings, rx).await;
    drop(stopper.await);
    match &report.results[0].1 {
        Outcome::Failed { error, attempts: 1 } => assert!(error.contains("not retried"), "{error}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_permanent_failure_skips_everything_downstream_only() {
    let fake = Fake::default();
    let actions = vec![
        start(1, "fa", "fail", &[]),
        start(2, "fa", "p2", &[1]),
        start(3, "fb", "p3", &[2]),
        start(4, "fb", "p4", &[]),
    ];
    let (report, records) = run(&fake, actions, Settings::default()).await;
    let outcomes: Vec<&Outcome> = report.results.iter().map(|(_, o)| o).collect();
    assert!(matches!(outcomes[0], Outcome::Failed { attempts: 1, .. }));
    assert_eq!(outcomes[1], &Outcome::Skipped { because: ActionId("a1".into()) });
    assert_eq!(outcomes[2], &Outcome::Skipped { because: ActionId("a1".into()) });
    assert!(matches!(outcomes[3], Outcome::Succeeded { .. }));
    assert_eq!(fake.calls.lock().unwrap().len(), 2, "skipped actions never reach the backend");
    assert_eq!(records.iter().filter(|r| r.event == Event::Skip).count(), 2);
    assert_eq!(report.counts(), (1, 1, 2));
}

fn when(mut a: Action, w: When) -> Action {
    a.when = w;
    a
}

/// A migration framed by clean-up: a failure skips what needs success, runs what follows it
/// "once ended" and the onFailure step; a success runs the clean-up and leaves the
/// onFailure step not needed.
#[tokio::test(start_paused = true)]
async fn clean_up_runs_whatever_the_outcome_and_on_failure_only_on_failure() {
    for (name, failed) in [("fail-move", true), ("move", false)] {
        let fake = Fake::default();
        let actions = vec![
            start(1, "fa", "raise", &[]),
            start(2, "fa", name, &[1]),
            when(start(3, "fa", "restore", &[2, 1]), When::Ended),
            start(4, "fa", "post", &[2]),
            when(start(5, "fa", "alert", &[2]), When::Failed),
            start(6, "fa", "after-post", &[4]),
        ];
        let (report, records) = run(&fake, actions, Settings::default()).await;
        let o: Vec<&Outcome> = report.results.iter().map(|(_, o)| o).collect();
        assert!(matches!(o[2], Outcome::Succeeded { .. }), "restored either way: {o:?}");
        if failed {
            assert!(matches!(o[1], Outcome::Failed { .. }));
            assert_eq!(o[3], &Outcome::Skipped { because: ActionId("a2".into()) });
            assert_eq!(o[5], &Outcome::Skipped { because: ActionId("a2".into()) }, "the root cause is named");
            assert!(matches!(o[4], Outcome::Succeeded { .. }), "the onFailure step ran");
            assert!(!report.all_succeeded());
        } else {
            assert!(report.all_succeeded(), "{o:?}");
            assert_eq!(o[4], &Outcome::NotNeeded);
            assert_eq!(report.not_needed(), 1);
            assert!(!fake.calls.lock().unwrap().contains_key("Partition/alert"), "never called");
            let r = records.iter().find(|r| r.draft.action == "a5").unwrap();
            assert_eq!(r.draft.message.as_deref(), Some("not needed: a2 succeeded"));
        }
    }
}

/// A drain starts nothing new but clean-up: the restore after a running migration still
/// runs once it has ended; what needs success is not started.
#[tokio::test(start_paused = true)]
async fn a_drain_still_runs_clean_up() {
    let fake = Fake::default();
    let (tx, rx) = tokio::sync::watch::channel(Stop::Run);
    let actions = vec![
        start(1, "fa", "move", &[]),
        when(start(2, "fa", "restore", &[1]), When::Ended),
        start(3, "fa", "next", &[1]),
        when(start(4, "fa", "restore-next", &[3]), When::Ended),
        when(start(5, "fa", "alert-next", &[3]), When::Failed),
    ];
    let stopper = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(5)).await;
        tx.send(Stop::Drain).unwrap();
        tx
    });
    let (report, records) = run_with_stop(&fake, actions, Settings::default(), rx).await;
    drop(stopper.await);
    let o: Vec<&Outcome> = report.results.iter().map(|(_, o)| o).collect();
    assert!(matches!(o[0], Outcome::Succeeded { .. }));
    assert!(matches!(o[1], Outcome::Succeeded { .. }), "clean-up ran during the drain: {o:?}");
    assert_eq!(o[2], &Outcome::NotStarted);
    // Its clean-up follows something that never ran: it runs too (setting a value back is
    // harmless), so that a drain never leaves a raised timeout behind.
    assert!(matches!(o[3], Outcome::Succeeded { .. }), "{o:?}");
    // An onFailure step after what was stopped, not failed, does not run.
    assert_eq!(o[4], &Outcome::NotStarted);
    one_record_per_outcome(&records, 5);
}

/// Each action has exactly one final record: an outcome after an intent, or a skip.
fn one_record_per_outcome(records: &[Record], n: usize) {
    for i in 1..=n {
        let id = format!("a{i}");
        let finals = records.iter().filter(|r| r.draft.action == id && r.event != Event::Intent).count();
        assert_eq!(finals, 1, "{id}: {records:?}");
    }
}

/// A backend whose every call takes 30 virtual minutes.
#[derive(Clone)]
struct Slow;

impl Hypervisor for Slow {
    async fn observe(&self) -> Result<powerplane_model::Estate, BackendError> {
        Ok(Default::default())
    }

    async fn observe_frames(
        &self,
        _: &std::collections::BTreeSet<powerplane_model::FrameName>,
    ) -> Result<powerplane_model::Estate, BackendError> {
        Ok(Default::default())
    }

    async fn execute(&self, _: &Action) -> Result<Completion, BackendError> {
        tokio::time::sleep(Duration::from_secs(30 * 60)).await;
        Ok(Completion { message: "done".into(), duration: Duration::from_secs(30 * 60), suspended: None })
    }
}

/// Issue 32 item 6: a migration has no fixed limit (a 60 GB partition copies for about 30
/// minutes at the seed's rate): the backend bounds it by its size and progress. Any other
/// action is still cut at the executor's limit.
#[tokio::test(start_paused = true)]
async fn a_migration_is_not_cut_at_the_fixed_action_limit() {
    let migrate = Action {
        id: ActionId("a1".into()),
        op: Op::MigratePartition {
            partition: PartitionName::new("big").unwrap(),
            from: FrameName::new("fa").unwrap(),
            to: FrameName::new("fb").unwrap(),
            redundant: None,
            msp: None,
            remote: None,
            mpio: None,
            spelling: Default::default(),
        },
        after: vec![],
        when: Default::default(),
        reason: "test".into(),
        claims: Default::default(),
    };
    let dir = tempfile::tempdir().unwrap();
    let state = StateDir::open(dir.path()).unwrap();
    let log = AuditLog::open(&state).unwrap();
    let writer = AuditWriter::start(log.clone());
    let plan = Plan { actions: vec![migrate, start(2, "fc", "slow", &[])], ..Default::default() };
    let t = tokio::time::Instant::now();
    let report =
        execute(Slow, &plan, &Context::default(), Settings::default(), &writer, Arc::new(Quiet)).await.unwrap();
    assert!(matches!(report.results[0].1, Outcome::Succeeded { .. }), "{:?}", report.results[0]);
    assert!(
        matches!(&report.results[1].1, Outcome::Failed { error, .. } if error.contains("1200")),
        "{:?}",
        report.results[1]
    );
    assert!(t.elapsed() >= Duration::from_secs(30 * 60));
}

/// A backend whose call panics.
#[derive(Clone)]
struct Panics;

impl Hypervisor for Panics {
    async fn observe(&self) -> Result<powerplane_model::Estate, BackendError> {
        Ok(Default::default())
    }

    async fn observe_frames(
        &self,
        _: &std::collections::BTreeSet<powerplane_model::FrameName>,
    ) -> Result<powerplane_model::Estate, BackendError> {
        Ok(Default::default())
    }

    async fn execute(&self, _: &Action) -> Result<Completion, BackendError> {
        panic!("the backend broke")
    }
}

/// Issue 34 item 6: a task that ends without an outcome is its own error, naming the
/// action and keeping tokio's error as its source; nothing after it starts.
#[tokio::test(start_paused = true)]
async fn a_task_that_panics_is_reported_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::open(&StateDir::open(dir.path()).unwrap()).unwrap();
    let writer = AuditWriter::start(log.clone());
    let plan = Plan { actions: vec![start(1, "fa", "p1", &[]), start(2, "fa", "p2", &[1])], ..Default::default() };
    let err =
        execute(Panics, &plan, &Context::default(), Settings::default(), &writer, Arc::new(Quiet)).await.unwrap_err();
    let ExecuteError::Task { action, source } = &err else { panic!("{err:?}") };
    assert_eq!(action, "a1");
    assert!(source.is_panic());
    assert!(std::error::Error::source(&err).is_some(), "the cause is kept");
    assert!(err.to_string().contains("ended without an outcome"), "{err}");
    let records = log.records().unwrap();
    assert!(records.iter().all(|r| r.draft.action == "a1"), "a2 never started: {records:?}");
}
