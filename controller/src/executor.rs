//! Runs a plan through a backend (DESIGN §6): actions in the order `after` allows, independent
//! ones concurrently (bounded in all and per frame), transient errors retried with exponential
//! backoff and jitter, a permanent failure skipping the actions that depend on it while
//! independent branches finish. An action's `when` says what its prerequisites' outcomes must
//! be: clean-up ([`When::Ended`]) runs after them however they ended, also while the controller
//! drains; an `onFailure` step ([`When::Failed`]) only when one did not succeed. Hooks run on
//! this machine ([`crate::hooks`]), everything else through the backend. Every backend call is framed by an intent and an outcome
//! record in the audit trail, each durable before the call starts or the result is reported.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::cmp::Reverse;

use powerplane_model::plan::{Dispatch, Limits};
use powerplane_model::{Action, ActionId, Op, Plan, When};
use tokio::sync::oneshot;
use tokio::task::JoinSet;

use crate::backend::{BackendError, Hypervisor};
use crate::store::StoreError;
use crate::store::audit::{self, AuditLog, Draft, Event, Record};

/// Limits and retry policy.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    /// Actions running at once in all.
    pub parallel: usize,
    /// Actions running at once on one frame (a migration counts on both frames), so at most
    /// this many migrations per frame.
    pub per_frame: usize,
    /// Migrations one named mover service partition carries at once.
    pub per_msp: usize,
    /// Attempts of an action that fails transiently (the first included).
    pub attempts: u32,
    /// First retry delay; doubled each time, with ±25% jitter.
    pub backoff: Duration,
    /// Longest retry delay.
    pub backoff_max: Duration,
    /// How long one backend call may take, but a migration's: the backend bounds that by the
    /// partition's size and its progress (`powerplane_model::plan::migration_bound`).
    pub timeout: Duration,
}

impl Settings {
    /// The limits on what runs at once, as the plan's estimate takes them.
    pub fn limits(&self) -> Limits {
        Limits { parallel: self.parallel, per_frame: self.per_frame, per_msp: self.per_msp }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            parallel: Limits::default().parallel,
            per_frame: Limits::default().per_frame,
            per_msp: Limits::default().per_msp,
            attempts: 5,
            backoff: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            timeout: Duration::from_secs(20 * 60),
        }
    }
}

/// How one action ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Done.
    Succeeded {
        /// The backend's answer.
        message: String,
        /// Attempts it took.
        attempts: u32,
        /// For a migration, how long the partition was unresponsive, when measured.
        suspended: Option<Duration>,
    },
    /// Refused, or still failing after the retries.
    Failed {
        /// Why.
        error: String,
        /// Attempts made.
        attempts: u32,
    },
    /// Not attempted because an action it depends on failed.
    Skipped {
        /// The failed action.
        because: ActionId,
    },
    /// An `onFailure` step that did not run: what it follows succeeded.
    NotNeeded,
    /// Not started because the controller was asked to stop; the next reconcile plans it again.
    NotStarted,
    /// Not started because the capacity it takes never became free (what a failed action
    /// took stays taken until the next observation); the next reconcile plans it again.
    Held {
        /// What it waited for.
        reason: String,
    },
    /// Started, but the controller stopped waiting for it (a second signal, or the drain
    /// deadline): the backend may still be carrying it out; the next run observes its effect.
    LeftRunning,
}

/// How far a stop request has gone: the first signal drains (nothing new starts, running
/// actions finish), the second or the drain deadline abandons (running actions are recorded as
/// left running on the backend, and the executor returns at once).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stop {
    /// Keep going.
    #[default]
    Run,
    /// Start nothing new; let running actions finish.
    Drain,
    /// Stop waiting for running actions.
    Abandon,
}

/// What happened to every action, in plan order.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Each action with its outcome.
    pub results: Vec<(Action, Outcome)>,
}

impl Report {
    /// Whether every action succeeded (an `onFailure` step that was not needed counts as
    /// such: nothing failed).
    pub fn all_succeeded(&self) -> bool {
        self.results.iter().all(|(_, o)| matches!(o, Outcome::Succeeded { .. } | Outcome::NotNeeded))
    }

    /// Counts: (succeeded, failed, skipped); steps not needed are in none of them.
    pub fn counts(&self) -> (usize, usize, usize) {
        let mut c = (0, 0, 0);
        for (_, o) in &self.results {
            match o {
                Outcome::Succeeded { .. } => c.0 += 1,
                Outcome::Failed { .. } => c.1 += 1,
                Outcome::Skipped { .. } | Outcome::NotStarted | Outcome::Held { .. } | Outcome::LeftRunning => c.2 += 1,
                Outcome::NotNeeded => {}
            }
        }
        c
    }

    /// `onFailure` steps that did not run because nothing failed.
    pub fn not_needed(&self) -> usize {
        self.results.iter().filter(|(_, o)| matches!(o, Outcome::NotNeeded)).count()
    }
}

/// Told about progress (a progress bar on a terminal, log lines otherwise).
pub trait Progress: Send + Sync {
    /// An action's intent is recorded and its backend call starts.
    fn started(&self, action: &Action);
    /// An action ended.
    fn finished(&self, action: &Action, outcome: &Outcome);
}

/// Who and what the audit records are about, and when to stop.
#[derive(Clone, Debug, Default)]
pub struct Context {
    /// Stop requests: at [`Stop::Drain`] no further action starts and running ones finish and
    /// are recorded; at [`Stop::Abandon`] running ones are recorded as left running.
    pub stop: Option<tokio::sync::watch::Receiver<Stop>>,
    /// The plan's id.
    pub plan_id: String,
    /// The manifests' git commit.
    pub commit: Option<String>,
    /// Uncommitted changes in the manifests' working tree.
    pub dirty: Option<bool>,
    /// Asked as each action becomes ready: a reason means it must not start now (a
    /// maintenance window it would overrun); it is then held, with that reason.
    pub gate: Option<Gate>,
}

/// The function behind a [`Gate`]: `Some(reason)` holds the action.
type GateFn = dyn Fn(&Action) -> Option<String> + Send + Sync;

/// A check of whether an action may start now (see [`Context::gate`]).
#[derive(Clone)]
pub struct Gate(Arc<GateFn>);

impl Gate {
    /// A gate from a function: `Some(reason)` holds the action.
    pub fn new(f: impl Fn(&Action) -> Option<String> + Send + Sync + 'static) -> Self {
        Gate(Arc::new(f))
    }
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Gate")
    }
}

type Request = (Vec<(Event, Draft)>, oneshot::Sender<Result<Vec<Record>, String>>);

/// The audit trail's single writer: gathers every record waiting at the moment into one batch
/// and one flush (group commit), and answers each request once its records are durable.
#[derive(Clone)]
pub struct AuditWriter {
    tx: std::sync::mpsc::Sender<Request>,
}

impl AuditWriter {
    /// Starts the writer thread over `log`.
    pub fn start(log: AuditLog) -> Self {
        let (tx, rx) = std::sync::mpsc::channel::<Request>();
        std::thread::spawn(move || {
            while let Ok(first) = rx.recv() {
                let mut requests = vec![first];
                while let Ok(more) = rx.try_recv() {
                    requests.push(more);
                }
                let sizes: Vec<usize> = requests.iter().map(|(e, _)| e.len()).collect();
                // An empty request asks for HEAD to cover everything written before it.
                let sync = sizes.contains(&0);
                let (entries, replies): (Vec<_>, Vec<_>) = requests.into_iter().unzip();
                let appended = log.append(entries.into_iter().flatten().collect());
                let appended = match appended {
                    Ok(r) if sync => log.sync_head().map(|()| r),
                    other => other,
                };
                match appended {
                    Ok(records) => {
                        let mut it = records.into_iter();
                        for (reply, n) in replies.into_iter().zip(sizes) {
                            let _ = reply.send(Ok(it.by_ref().take(n).collect()));
                        }
                    }
                    Err(e) => {
                        for reply in replies {
                            let _ = reply.send(Err(e.to_string()));
                        }
                    }
                }
            }
        });
        AuditWriter { tx }
    }

    /// Returns once HEAD anchors every record written so far.
    pub async fn sync(&self) -> Result<(), StoreError> {
        self.write(Vec::new()).await.map(drop)
    }

    /// Writes records; returns them once durable. The wait is a blocking task: disk I/O is
    /// work in progress, so tokio's paused clock (tests, rehearsals) does not jump to the next
    /// timer while a record is being made durable, and virtual time stays faithful.
    pub async fn write(&self, entries: Vec<(Event, Draft)>) -> Result<Vec<Record>, StoreError> {
        let (reply, rx) = oneshot::channel();
        let failed = |detail: String| StoreError::Io { path: "audit".into(), detail };
        self.tx.send((entries, reply)).map_err(|_| failed("the audit writer stopped".into()))?;
        let got = tokio::task::spawn_blocking(move || rx.blocking_recv())
            .await
            .map_err(|e| failed(format!("the audit wait failed: {e}")))?;
        got.map_err(|_| failed("the audit writer stopped".into()))?.map_err(failed)
    }
}

fn draft(a: &Action, ctx: &Context) -> Draft {
    Draft {
        plan_id: ctx.plan_id.clone(),
        action: a.id.0.clone(),
        kind: a.kind().as_str().to_owned(),
        object: a.op.object(),
        command: a.op.command(),
        commit: ctx.commit.clone(),
        dirty: ctx.dirty,
        ..Default::default()
    }
}

/// Delay before retry `attempt` (1-based): doubling from `backoff`, capped, with ±25% jitter
/// derived from the action id (deterministic, different per action).
fn backoff(s: &Settings, id: &ActionId, attempt: u32) -> Duration {
    let base = s.backoff.saturating_mul(1 << (attempt - 1).min(16)).min(s.backoff_max);
    let h = id.0.bytes().fold(u64::from(attempt).wrapping_mul(0x9E37_79B9_7F4A_7C15), |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01B3)
    });
    let jitter = 0.75 + (h % 1000) as f64 / 2000.0;
    base.mul_f64(jitter)
}

/// Resolves once the stop request reaches `level` (never without a stop channel, nor once
/// every sender is gone).
pub(crate) async fn stop_at(stop: Option<tokio::sync::watch::Receiver<Stop>>, level: Stop) {
    match stop {
        Some(mut rx) => {
            if rx.wait_for(|s| *s >= level).await.is_err() {
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending::<()>().await,
    }
}

/// Runs one action: intent, calls with retries, outcome. Cancellation-safe in the sense that
/// matters: once the intent is durable, an outcome record follows whatever happens — the call
/// succeeds, fails, times out, or the controller stops waiting for it.
async fn run_one<H: Hypervisor>(
    hv: &H,
    a: &Action,
    ctx: &Context,
    s: &Settings,
    audit: &AuditWriter,
    progress: &dyn Progress,
) -> Result<Outcome, StoreError> {
    let intent = audit.write(vec![(Event::Intent, draft(a, ctx))]).await?.remove(0);
    // "Started" means: the intent is durable and the backend call is under way.
    progress.started(a);
    let started = Instant::now();
    let mut attempts = 0;
    let outcome = loop {
        attempts += 1;
        let call = async {
            match &a.op {
                Op::RunHook { .. } => crate::hooks::run(&a.op).await,
                _ => hv.execute(a).await,
            }
        };
        // A migration has no fixed limit: the backend follows it, bounded by the partition's
        // size and, past that, by its progress (`powerplane_model::plan::migration_bound`).
        let limit = (!matches!(a.op, Op::MigratePartition { .. })).then_some(s.timeout);
        let call = async move {
            match limit {
                Some(d) => tokio::time::timeout(d, call).await.unwrap_or(Err(BackendError::Timeout(d))),
                None => call.await,
            }
        };
        let r = tokio::select! {
            r = call => r,
            () = stop_at(ctx.stop.clone(), Stop::Abandon) => break Outcome::LeftRunning,
        };
        match r {
            Ok(out) => break Outcome::Succeeded { message: out.message, attempts, suspended: out.suspended },
            Err(BackendError::Transient(e)) if attempts < s.attempts => {
                let wait = backoff(s, &a.id, attempts);
                tracing::warn!(id = %a.id, attempt = attempts, retry_in_ms = wait.as_millis() as u64, error = %e, "transient failure; retrying");
                // A stop request ends the wait: a retry is a new start, and nothing new starts.
                let stopped = tokio::select! {
                    () = tokio::time::sleep(wait) => false,
                    () = stop_at(ctx.stop.clone(), Stop::Drain) => true,
                };
                if stopped {
                    break Outcome::Failed { error: format!("{e}; not retried: the controller is stopping"), attempts };
                }
            }
            Err(e) => break Outcome::Failed { error: e.to_string(), attempts },
        }
    };
    let (result, message) = match &outcome {
        Outcome::Succeeded { message, .. } => (audit::ActionResult::Succeeded, message.clone()),
        Outcome::Failed { error, .. } => (audit::ActionResult::Failed, error.clone()),
        Outcome::LeftRunning => (
            audit::ActionResult::Interrupted,
            "left running on the hypervisor: the controller stopped waiting for it (second signal or drain deadline); the next run observes its effect".to_owned(),
        ),
        Outcome::Skipped { .. } | Outcome::NotStarted | Outcome::Held { .. } | Outcome::NotNeeded => {
            unreachable!("run_one never skips")
        }
    };
    let record = Draft {
        result: Some(result),
        message: Some(message),
        duration_ms: Some(started.elapsed().as_millis() as u64),
        attempts: Some(attempts),
        intent: Some(intent.seq),
        ..draft(a, ctx)
    };
    audit.write(vec![(Event::Outcome, record)]).await?;
    Ok(outcome)
}

/// Why a plan cannot be executed as it stands: an `after` naming an action that is not in
/// the plan, two actions with one id, or a cycle. The planner never makes such a plan; a plan
/// file edited by hand can.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MalformedPlan {
    /// Two actions share an id.
    #[error("two actions have the id {0}")]
    DuplicateId(ActionId),
    /// An `after` names an action the plan does not have.
    #[error("action {action} runs after {missing}, which is not in the plan")]
    UnknownDependency {
        /// The action.
        action: ActionId,
        /// The id it names.
        missing: ActionId,
    },
    /// The dependencies form a cycle, so some actions could never start.
    #[error("actions {} wait for each other in a cycle and could never start", .0.iter().map(|a| a.0.as_str()).collect::<Vec<_>>().join(", "))]
    Cycle(Vec<ActionId>),
}

/// Checks that `actions` form a DAG of unique ids; returns each action's dependencies as
/// indexes.
pub fn check_plan(actions: &[Action]) -> Result<Vec<Vec<usize>>, MalformedPlan> {
    let mut index: BTreeMap<&ActionId, usize> = BTreeMap::new();
    for (i, a) in actions.iter().enumerate() {
        if index.insert(&a.id, i).is_some() {
            return Err(MalformedPlan::DuplicateId(a.id.clone()));
        }
    }
    let mut deps = Vec::with_capacity(actions.len());
    for a in actions {
        let mut d = Vec::with_capacity(a.after.len());
        for id in &a.after {
            let Some(&j) = index.get(id) else {
                return Err(MalformedPlan::UnknownDependency { action: a.id.clone(), missing: id.clone() });
            };
            d.push(j);
        }
        d.sort_unstable();
        d.dedup();
        deps.push(d);
    }
    // Kahn's algorithm: whatever never becomes ready is on (or behind) a cycle.
    let mut indegree: Vec<usize> = deps.iter().map(Vec::len).collect();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); actions.len()];
    for (i, d) in deps.iter().enumerate() {
        for &j in d {
            dependents[j].push(i);
        }
    }
    let mut ready: Vec<usize> = (0..actions.len()).filter(|i| indegree[*i] == 0).collect();
    let mut seen = 0;
    while let Some(i) = ready.pop() {
        seen += 1;
        for &k in &dependents[i] {
            indegree[k] -= 1;
            if indegree[k] == 0 {
                ready.push(k);
            }
        }
    }
    if seen < actions.len() {
        let stuck = (0..actions.len()).filter(|i| indegree[*i] > 0).map(|i| actions[i].id.clone()).collect();
        return Err(MalformedPlan::Cycle(stuck));
    }
    Ok(deps)
}

/// Why the executor could not run a plan to its end.
#[derive(Debug, thiserror::Error)]
pub enum ExecuteError {
    /// The plan is not a DAG of unique ids (nothing was started).
    #[error("the plan is malformed: {0}; nothing was done")]
    Malformed(#[from] MalformedPlan),
    /// The audit trail could not be written; the running actions were drained and recorded
    /// where possible, nothing new was started.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Runs `plan` (which must have no errors) through `hv`. A malformed plan is refused before
/// anything starts. Once actions run, the executor never returns early between an intent and
/// its outcome: an audit failure stops new launches, the running actions are drained, and the
/// error is returned at the end.
pub async fn execute<H>(
    hv: H,
    plan: &Plan,
    ctx: &Context,
    settings: Settings,
    audit: &AuditWriter,
    progress: Arc<dyn Progress>,
) -> Result<Report, ExecuteError>
where
    H: Hypervisor + Clone + Send + Sync + 'static,
{
    let actions = &plan.actions;
    let deps = check_plan(actions)?;
    let millis = plan.estimate.as_ref().map(|e| e.millis(plan)).unwrap_or_default();
    let mut dispatch = Dispatch::new(actions, &deps, &millis, &plan.capacity, settings.limits())
        .with_migration_room(&plan.migration_room);
    let mut graph = Graph::new(actions, deps, &dispatch, ctx, progress.as_ref());
    let mut running: JoinSet<(usize, Result<Outcome, StoreError>)> = JoinSet::new();
    let mut failure: Option<StoreError> = None;
    let stop_level = || ctx.stop.as_ref().map_or(Stop::Run, |s| *s.borrow());
    loop {
        // Ready actions that are settled without running: an onFailure step whose
        // prerequisites all succeeded, and, while stopping, what is not clean-up.
        let mut records = Vec::new();
        loop {
            let stop = stop_level();
            let settle: Vec<(usize, Outcome)> = graph
                .ready
                .iter()
                .filter_map(|i| {
                    let cleanup = actions[i].when != When::Succeeded;
                    if stop == Stop::Abandon || failure.is_some() || (stop == Stop::Drain && !cleanup) {
                        return Some((i, Outcome::NotStarted));
                    }
                    if actions[i].when != When::Failed {
                        return None;
                    }
                    let outcome = |d: &usize| graph.outcomes[*d].as_ref();
                    if graph.deps[i].iter().all(|d| ok(outcome(d))) {
                        return Some((i, Outcome::NotNeeded));
                    }
                    // What it follows was stopped, not failed: no failure to act on.
                    let failed = graph.deps[i]
                        .iter()
                        .any(|d| matches!(outcome(d), Some(Outcome::Failed { .. } | Outcome::Skipped { .. })));
                    (!failed).then_some((i, Outcome::NotStarted))
                })
                .collect();
            if settle.is_empty() {
                break;
            }
            for (i, o) in settle {
                graph.settle(i, o, &mut records);
            }
        }
        if !records.is_empty()
            && let Err(e) = audit.write(records).await
        {
            failure.get_or_insert(e);
        }
        // What the gate holds (a maintenance window it would overrun) does not start.
        if let Some(gate) = &ctx.gate {
            let hold: Vec<(usize, String)> =
                graph.ready.iter().filter_map(|i| (gate.0)(&actions[i]).map(|r| (i, r))).collect();
            if !hold.is_empty() {
                let mut records = Vec::new();
                for (i, reason) in hold {
                    graph.hold(i, reason, &mut records);
                }
                if let Err(e) = audit.write(records).await {
                    failure.get_or_insert(e);
                }
                continue;
            }
        }
        // Ready actions by rank, each started when the limits and the capacity allow.
        let launch = dispatch.admit(graph.ready.iter());
        if launch.is_empty() && running.is_empty() && !graph.ready.is_empty() && failure.is_none() {
            // Nothing runs that could give capacity back: what waits for it is held.
            let mut records = Vec::new();
            for i in graph.ready.iter().collect::<Vec<_>>() {
                let short = dispatch.short_of(i).unwrap_or_else(|| "its capacity".to_owned());
                let reason = format!(
                    "not started: waiting for capacity that no running action gives back ({short}); what a failed action took stays taken until the next plan observes it"
                );
                graph.hold(i, reason, &mut records);
            }
            if let Err(e) = audit.write(records).await {
                failure.get_or_insert(e);
            }
            continue;
        }
        for i in launch {
            graph.ready.remove(i);
            let (hv, a, ctx, audit, progress) =
                (hv.clone(), actions[i].clone(), ctx.clone(), audit.clone(), progress.clone());
            running.spawn(async move { (i, run_one(&hv, &a, &ctx, &settings, &audit, progress.as_ref()).await) });
        }
        let Some(done) = running.join_next().await else { break };
        let (i, outcome) = match done {
            Ok((i, Ok(o))) => (i, o),
            Ok((i, Err(e))) => {
                // Its intent or outcome could not be written: stop launching, drain the rest.
                tracing::error!(id = %actions[i].id, error = %e, "the audit trail could not be written; starting nothing new");
                failure.get_or_insert(e);
                dispatch.ended(i, false);
                continue;
            }
            Err(e) => {
                failure.get_or_insert(StoreError::Io { path: "executor".into(), detail: e.to_string() });
                continue;
            }
        };
        dispatch.ended(i, matches!(outcome, Outcome::Succeeded { .. }));
        progress.finished(&actions[i], &outcome);
        let mut records = Vec::new();
        graph.settle_ran(i, outcome, &mut records);
        if !records.is_empty()
            && let Err(e) = audit.write(records).await
        {
            failure.get_or_insert(e);
        }
    }
    if let Some(e) = failure {
        return Err(e.into());
    }
    // Stopped: what never started is recorded as such.
    let outcomes = graph.outcomes;
    let not_started: Vec<(Event, Draft)> = outcomes
        .iter()
        .zip(actions)
        .filter(|(o, _)| o.is_none() || matches!(o, Some(Outcome::NotStarted)))
        .map(|(_, a)| {
            let why = "not started: the controller was stopping".to_owned();
            (Event::Skip, Draft { result: Some(audit::ActionResult::Skipped), message: Some(why), ..draft(a, ctx) })
        })
        .collect();
    if !not_started.is_empty() {
        audit.write(not_started).await?;
    }
    audit.sync().await?;
    let results = actions.iter().cloned().zip(outcomes).map(|(a, o)| (a, o.unwrap_or(Outcome::NotStarted))).collect();
    Ok(Report { results })
}

/// Whether a prerequisite's outcome lets a dependent that needs success go ahead.
fn ok(o: Option<&Outcome>) -> bool {
    matches!(o, Some(Outcome::Succeeded { .. } | Outcome::NotNeeded))
}

/// The plan's dependency graph while it runs: how each action ended, how many prerequisites of
/// each have not ended yet, which are ready to start.
struct Graph<'a> {
    actions: &'a [Action],
    deps: Vec<Vec<usize>>,
    dependents: Vec<Vec<usize>>,
    indegree: Vec<usize>,
    outcomes: Vec<Option<Outcome>>,
    ready: Ready,
    ctx: &'a Context,
    progress: &'a dyn Progress,
}

impl<'a> Graph<'a> {
    /// The graph of `actions`, whose prerequisites (as indexes) are `deps`.
    fn new(
        actions: &'a [Action],
        deps: Vec<Vec<usize>>,
        dispatch: &Dispatch,
        ctx: &'a Context,
        progress: &'a dyn Progress,
    ) -> Self {
        let indegree: Vec<usize> = deps.iter().map(Vec::len).collect();
        let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); actions.len()];
        for (i, d) in deps.iter().enumerate() {
            for &j in d {
                dependents[j].push(i);
            }
        }
        let mut ready = Ready { rank: (0..actions.len()).map(|i| dispatch.rank(i)).collect(), set: BTreeSet::new() };
        for i in (0..actions.len()).filter(|i| indegree[*i] == 0) {
            ready.insert(i);
        }
        Graph { actions, deps, dependents, indegree, outcomes: vec![None; actions.len()], ready, ctx, progress }
    }

    /// Records how an action that ran ended, then settles its dependents.
    fn settle_ran(&mut self, i: usize, o: Outcome, records: &mut Vec<(Event, Draft)>) {
        self.outcomes[i] = Some(o);
        self.release_dependents(i, records);
    }

    /// Settles an action that does not run (not needed, or not started) with a record saying
    /// why — not-started records are written at the end, with the others never started — then
    /// its dependents.
    fn settle(&mut self, i: usize, o: Outcome, records: &mut Vec<(Event, Draft)>) {
        self.ready.remove(i);
        self.progress.finished(&self.actions[i], &o);
        if o == Outcome::NotNeeded {
            let after: Vec<&str> = self.deps[i].iter().map(|d| self.actions[*d].id.0.as_str()).collect();
            let why = format!("not needed: {} succeeded", after.join(", "));
            records.push((
                Event::Skip,
                Draft {
                    result: Some(audit::ActionResult::Skipped),
                    message: Some(why),
                    ..draft(&self.actions[i], self.ctx)
                },
            ));
        }
        self.settle_ran(i, o, records);
    }

    /// Holds a ready action that must not start (a window it would overrun, capacity that
    /// never frees), with a skip record saying why.
    fn hold(&mut self, i: usize, reason: String, records: &mut Vec<(Event, Draft)>) {
        records.push((
            Event::Skip,
            Draft {
                result: Some(audit::ActionResult::Skipped),
                message: Some(reason.clone()),
                ..draft(&self.actions[i], self.ctx)
            },
        ));
        self.settle(i, Outcome::Held { reason }, records);
    }

    /// After action `i` ended: a dependent that needs success is skipped when `i` did not
    /// succeed (and so on downstream); any other counts `i` as ended and is ready once all its
    /// prerequisites have.
    fn release_dependents(&mut self, i: usize, records: &mut Vec<(Event, Draft)>) {
        let mut stack = vec![i];
        while let Some(j) = stack.pop() {
            let succeeded = ok(self.outcomes[j].as_ref());
            // Why a dependent that needs success is skipped: the action that failed.
            let because = match &self.outcomes[j] {
                Some(Outcome::Skipped { because }) => Some(because.clone()),
                Some(Outcome::NotStarted) => None,
                _ => Some(self.actions[j].id.clone()),
            };
            // Taken out while its entries are settled (each action is settled once), put back after.
            let dependents = std::mem::take(&mut self.dependents[j]);
            for &d in &dependents {
                if self.outcomes[d].is_some() {
                    continue;
                }
                if self.actions[d].when == When::Succeeded && !succeeded {
                    let o = match &because {
                        Some(b) => {
                            let why = format!("skipped: {b} failed");
                            records.push((
                                Event::Skip,
                                Draft {
                                    result: Some(audit::ActionResult::Skipped),
                                    message: Some(why),
                                    ..draft(&self.actions[d], self.ctx)
                                },
                            ));
                            Outcome::Skipped { because: b.clone() }
                        }
                        None => Outcome::NotStarted,
                    };
                    self.progress.finished(&self.actions[d], &o);
                    self.outcomes[d] = Some(o);
                    self.ready.remove(d);
                    stack.push(d);
                } else {
                    self.indegree[d] -= 1;
                    if self.indegree[d] == 0 {
                        self.ready.insert(d);
                    }
                }
            }
            self.dependents[j] = dependents;
        }
    }
}

/// The actions ready to start, highest rank (longest estimated path to the plan's end) first.
struct Ready {
    rank: Vec<u64>,
    set: BTreeSet<(Reverse<u64>, usize)>,
}

impl Ready {
    fn insert(&mut self, i: usize) {
        self.set.insert((Reverse(self.rank[i]), i));
    }

    fn remove(&mut self, i: usize) {
        self.set.remove(&(Reverse(self.rank[i]), i));
    }

    fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.set.iter().map(|(_, i)| *i)
    }

    fn is_empty(&self) -> bool {
        self.set.is_empty()
    }
}

/// Intents left without an outcome by a process that died (SIGKILL, a crash, a power cut):
/// each gets an `interrupted` outcome now, so that every backend call has exactly one. Every
/// `apply` and `watch` calls this before it plans; the plan is then made from a fresh
/// observation, so whatever the call did or did not do is taken into account. Returns how many
/// were closed.
pub async fn close_dangling(log: &audit::AuditLog, writer: &AuditWriter) -> Result<usize, StoreError> {
    let dangling = log.dangling_intents()?;
    if dangling.is_empty() {
        return Ok(0);
    }
    let n = dangling.len();
    let records = dangling
        .into_iter()
        .map(|r| {
            let d = Draft {
                result: Some(audit::ActionResult::Interrupted),
                message: Some(
                    "the process ended during this call; its effect was taken from a fresh observation".into(),
                ),
                intent: Some(r.seq),
                ..r.draft
            };
            (Event::Outcome, d)
        })
        .collect();
    writer.write(records).await?;
    writer.sync().await?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use powerplane_model::{FrameName, Op, PartitionName};

    use super::*;
    use crate::backend::Completion;
    use crate::store::StateDir;

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

    fn start(id: usize, frame: &str, name: &str, after: &[usize]) -> Action {
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
        let report =
            execute(fake.clone(), &plan, &Context::default(), settings, &writer, Arc::new(Quiet)).await.unwrap();
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

    #[test]
    fn malformed_plans_are_named() {
        assert_eq!(
            check_plan(&[start(1, "fa", "p", &[]), start(1, "fa", "q", &[])]),
            Err(MalformedPlan::DuplicateId(ActionId("a1".into())))
        );
        assert!(matches!(
            check_plan(&[start(1, "fa", "p", &[7])]),
            Err(MalformedPlan::UnknownDependency { missing, .. }) if missing.0 == "a7"
        ));
        let cycle = check_plan(&[start(1, "fa", "p", &[2]), start(2, "fa", "q", &[1]), start(3, "fa", "r", &[])]);
        assert_eq!(cycle, Err(MalformedPlan::Cycle(vec![ActionId("a1".into()), ActionId("a2".into())])));
        assert!(check_plan(&[start(1, "fa", "p", &[]), start(2, "fa", "q", &[1, 1])]).is_ok());
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
}
