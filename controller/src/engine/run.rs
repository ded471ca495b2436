//! The execute loop, doing the I/O (DESIGN §6): backend calls, audit records, progress.
//! Actions run in the order `after` allows, independent ones concurrently (bounded in all and
//! per frame), transient errors retried ([`super::retry`]), a permanent failure skipping the
//! actions that depend on it while independent branches finish. An action's `when` says what
//! its prerequisites' outcomes must be: clean-up ([`powerplane_model::When::Ended`]) runs
//! after them however they ended, also while the controller drains; an `onFailure` step
//! ([`powerplane_model::When::Failed`]) only when one did not succeed. Those decisions are the
//! model's pure run state ([`powerplane_model::plan::run`]); this loop asks it what to start,
//! starts that, and reports each end. Hooks run on this machine ([`super::hooks`]), everything
//! else through the backend. Every backend call is framed by an intent and an outcome record
//! in the audit trail, each durable before the call starts or the result is reported.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use powerplane_model::plan::Dispatch;
use powerplane_model::plan::run::{self, Admit, End, Ran, Run};
use powerplane_model::{Action, Op, Plan};
use tokio::task::JoinSet;
use tracing::Instrument;

use super::check::{MalformedPlan, check_plan};
use super::context::{Context, Progress};
use super::outcome::{Outcome, Report};
use super::retry::Retries;
use super::settings::Settings;
use super::shutdown::{Stop, stop_at};
use crate::backend::{BackendError, Hypervisor};
use crate::store::StoreError;
use crate::store::audit::{self, AuditLog, Draft, Event};
use crate::store::writer::AuditWriter;

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
    let mut retries = Retries::new(s, &a.id);
    let mut attempts = 0;
    let outcome = loop {
        attempts += 1;
        let call = async {
            match &a.op {
                Op::RunHook { .. } => super::hooks::run(&a.op).await,
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
            Err(BackendError::Transient(e)) => {
                let Some(wait) = retries.next() else {
                    break Outcome::Failed { error: BackendError::Transient(e).to_string(), attempts };
                };
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
    /// The task carrying an action panicked or was cancelled, so its outcome is unknown;
    /// nothing new was started. The next run observes what it did.
    #[error("the task running action {action} ended without an outcome; nothing new was started: {source}")]
    Task {
        /// The action, when known.
        action: String,
        /// Why the task ended.
        #[source]
        source: tokio::task::JoinError,
    },
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
    let dispatch = Dispatch::new(actions, &deps, &millis, &plan.capacity, settings.limits())
        .with_migration_room(&plan.migration_room);
    let mut run = Run::new(actions, deps.clone(), dispatch);
    let mut outcomes: Vec<Option<Outcome>> = vec![None; actions.len()];
    let mut running: JoinSet<(usize, Result<Outcome, StoreError>)> = JoinSet::new();
    let mut tasks: BTreeMap<tokio::task::Id, usize> = BTreeMap::new();
    let mut failure: Option<ExecuteError> = None;
    let stop_level = || ctx.stop.as_ref().map_or(Stop::Run, |s| *s.borrow());
    // Settled actions: told to progress, recorded (but what was not started: that is
    // recorded at the end, with the others never started).
    let settle = |settled: Vec<(usize, End)>, outcomes: &mut Vec<Option<Outcome>>| {
        let mut records = Vec::new();
        for (i, end) in settled {
            let a = &actions[i];
            let skip = |why: String| {
                (Event::Skip, Draft { result: Some(audit::ActionResult::Skipped), message: Some(why), ..draft(a, ctx) })
            };
            let outcome = match end {
                End::NotNeeded => {
                    let after: Vec<&str> = deps[i].iter().map(|d| actions[*d].id.0.as_str()).collect();
                    records.push(skip(format!("not needed: {} succeeded", after.join(", "))));
                    Outcome::NotNeeded
                }
                End::Skipped { because } => {
                    records.push(skip(format!("skipped: {because} failed")));
                    Outcome::Skipped { because }
                }
                End::Held { reason } => {
                    records.push(skip(reason.clone()));
                    Outcome::Held { reason }
                }
                End::NotStarted => Outcome::NotStarted,
                End::Ran(_) => unreachable!("the run state settles only what does not run"),
            };
            progress.finished(a, &outcome);
            outcomes[i] = Some(outcome);
        }
        records
    };
    loop {
        let admit = match stop_level() {
            _ if failure.is_some() => Admit::Nothing,
            Stop::Abandon => Admit::Nothing,
            Stop::Drain => Admit::CleanUpOnly,
            Stop::Run => Admit::All,
        };
        let gate = |a: &Action| ctx.gate.as_ref().and_then(|g| g.check(a));
        let ready = run.ready(admit, ctx.gate.is_some().then_some(&gate as run::Gate<'_>));
        let records = settle(ready.settled, &mut outcomes);
        if !records.is_empty()
            && let Err(e) = audit.write(records).await
        {
            failure.get_or_insert(e.into());
        }
        for i in ready.start {
            let (hv, a, ctx, audit, progress) =
                (hv.clone(), actions[i].clone(), ctx.clone(), audit.clone(), progress.clone());
            let task = running.spawn(
                // The action's log lines carry the pass's span (its plan id and commit).
                async move { (i, run_one(&hv, &a, &ctx, &settings, &audit, progress.as_ref()).await) }
                    .in_current_span(),
            );
            tasks.insert(task.id(), i);
        }
        let Some(done) = running.join_next_with_id().await else { break };
        let (i, outcome) = match done {
            Ok((id, (i, Ok(o)))) => {
                tasks.remove(&id);
                (i, o)
            }
            Ok((id, (i, Err(e)))) => {
                tasks.remove(&id);
                // Its intent or outcome could not be written: stop launching, drain the rest.
                tracing::error!(id = %actions[i].id, error = %e, "the audit trail could not be written; starting nothing new");
                failure.get_or_insert(e.into());
                run.lost(i);
                continue;
            }
            Err(e) => {
                let i = tasks.remove(&e.id());
                if let Some(i) = i {
                    run.lost(i);
                }
                let action = i.map_or_else(|| "(unknown)".to_owned(), |i| actions[i].id.to_string());
                tracing::error!(id = %action, error = %e, "an action's task ended without an outcome; starting nothing new");
                failure.get_or_insert(ExecuteError::Task { action, source: e });
                continue;
            }
        };
        let ran = match outcome {
            Outcome::Succeeded { .. } => Ran::Succeeded,
            Outcome::LeftRunning => Ran::LeftRunning,
            _ => Ran::Failed,
        };
        progress.finished(&actions[i], &outcome);
        outcomes[i] = Some(outcome);
        let records = settle(run.advance(i, ran), &mut outcomes);
        if !records.is_empty()
            && let Err(e) = audit.write(records).await
        {
            failure.get_or_insert(e.into());
        }
    }
    if let Some(e) = failure {
        return Err(e);
    }
    // Stopped: what never started is recorded as such.
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

/// Intents left without an outcome by a process that died (SIGKILL, a crash, a power cut):
/// each gets an `interrupted` outcome now, so that every backend call has exactly one. Every
/// `apply` and `watch` calls this before it plans; the plan is then made from a fresh
/// observation, so whatever the call did or did not do is taken into account. Returns how many
/// were closed.
pub async fn close_dangling(log: &AuditLog, writer: &AuditWriter) -> Result<usize, StoreError> {
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
