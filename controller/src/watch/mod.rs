//! The controller loop (DESIGN §7): watch the manifest directory (debounced), resync with the
//! backend on an interval, report and audit drift, plan, and apply (or only report with
//! `--dry-run`). An edit re-reads only the changed files, and a change to partitions only is
//! observed and planned in its scope ([`scoped`]). Invalid manifests never apply: the last good
//! desired state is kept. Failed actions back off per object; a VIOS that went down outside
//! powerplane is not restarted unless the settings say so (`wait`). Shutdown is an injected future (as in mini-redis's
//! `server::run`), so the loop is testable without signals: when it resolves, no new action
//! starts, running ones finish and are recorded, and the loop returns.

pub mod metrics;
mod reload;
pub mod scoped;
pub mod server;
mod wait;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use notify_debouncer_full::notify::RecursiveMode;
use notify_debouncer_full::{DebounceEventResult, new_debouncer};
use powerplane_model::manifest::Kind;
use powerplane_model::plan::{ChangeKind, Ties, compare};
use powerplane_model::{Estate, FrameName, ManifestSet, PartitionName, PlanOptions};
use tokio::sync::{mpsc, watch};

use crate::backend::Backend;
use crate::backend::Hypervisor;
use crate::executor::{self, AuditWriter, Context, Outcome, Progress};
use crate::store::StateDir;
use crate::store::audit::{self, AuditLog, Draft, Event};
use crate::store::snapshot;
use reload::Reload;

/// How the loop runs.
#[derive(Clone, Debug)]
pub struct Config {
    /// The manifest directory.
    pub dir: PathBuf,
    /// Resync interval.
    pub interval: Duration,
    /// Only report drift and plans; never apply.
    pub dry_run: bool,
    /// Debounce delay of file events.
    pub debounce: Duration,
    /// Executor limits.
    pub settings: executor::Settings,
    /// Reconcile the manifests as committed at this ref (uncommitted edits ignored); new
    /// commits are picked up at each interval.
    pub git_ref: Option<String>,
    /// `git fetch` before resolving the ref.
    pub fetch: bool,
    /// Signs the audit trail's batches and HEAD.
    pub signer: Option<audit::Signer>,
}

struct LogProgress;
impl Progress for LogProgress {
    fn started(&self, a: &powerplane_model::Action) {
        tracing::info!(id = %a.id, kind = %a.kind(), object = %a.op.object(), "action started");
    }
    fn finished(&self, a: &powerplane_model::Action, o: &Outcome) {
        tracing::info!(id = %a.id, kind = %a.kind(), object = %a.op.object(), outcome = ?o, "action finished");
    }
}

/// The loop's memory between reconciles.
#[derive(Default)]
struct State {
    /// The last valid desired state, file by file.
    manifests: Option<ManifestSet>,
    /// The commit the desired state was read at (`--git-ref`).
    commit: Option<String>,
    /// The last observation: in full at each resync, frame by frame after a scoped change.
    observed: Option<Estate>,
    /// Which frames plan together, for the scope of a change (rebuilt with each full
    /// observation, updated with each scoped one).
    ties: Option<Ties>,
    /// Whether the last full plan had no errors; only then is a change planned in its scope
    /// (a scope's plan could otherwise apply while the full plan is refused).
    clean: bool,
    /// Files of a file-by-file reload that was refused (invalid): read again with the next.
    pending: BTreeSet<PathBuf>,
    /// Distinct problems already logged, so that a waiting heal does not spam the log.
    reported: BTreeSet<String>,
    backoff: wait::Backoff,
    held_vios: wait::HeldVios,
    /// Whether the loop has observed the whole estate once (what is down before that went down
    /// outside this loop).
    seen: bool,
    /// When the next maintenance window that holds work opens: the loop reconciles then,
    /// whatever its interval.
    window_opens: Option<jiff::Timestamp>,
}

/// What a reconcile covers.
enum Reach {
    /// The whole estate: observe everything, plan everything.
    Full,
    /// Only what a change to these partitions can affect.
    Partitions(BTreeSet<PartitionName>),
}

fn unix_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

/// Runs until `stop` reaches [`executor::Stop::Drain`]: then no new action starts, running
/// ones finish (or, at [`executor::Stop::Abandon`], are recorded as left running) and it
/// returns.
pub async fn run(
    cfg: Config,
    sim: Backend,
    dir: StateDir,
    metrics: Arc<metrics::Metrics>,
    stop: watch::Receiver<executor::Stop>,
) -> anyhow::Result<()> {
    let log = AuditLog::open_signed(&dir, cfg.signer.clone())?;
    let writer = AuditWriter::start(log.clone());
    let closed = executor::close_dangling(&log, &writer).await?;
    if closed > 0 {
        tracing::warn!(closed, "a previous run stopped during these actions; recorded them as interrupted");
    }
    let shutdown = executor::stop_at(Some(stop.clone()), executor::Stop::Drain);
    let (events_tx, mut events) = mpsc::unbounded_channel::<DebounceEventResult>();
    let mut debouncer = new_debouncer(cfg.debounce, None, move |r: DebounceEventResult| {
        let _ = events_tx.send(r);
    })?;
    debouncer.watch(&cfg.dir, RecursiveMode::Recursive)?;
    let mut state = State::default();
    // A set clock (POWERPLANE_NOW) starts from the loop's start.
    let _ = crate::windows::now(sim.now_ms());
    reload::all(&cfg, &mut state);
    let mut tick = tokio::time::interval(cfg.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    // After a failed reconcile: retry sooner than the next resync, doubling from 1 s up to the
    // interval (kube-runtime's error policy), reset by a reconcile that succeeds.
    let mut failures: u32 = 0;
    let mut retry_at: Option<tokio::time::Instant> = None;
    tracing::info!(dir = %cfg.dir.display(), interval_s = cfg.interval.as_secs(), dry_run = cfg.dry_run, "watching");
    loop {
        // When the reconcile's work began: at a file event, before the files are read.
        let mut started = Instant::now();
        let (reason, reach) = tokio::select! {
            () = &mut shutdown => break,
            Some(ev) = events.recv() => {
                if cfg.git_ref.is_some() { continue }
                started = Instant::now();
                let reloaded = match &ev {
                    Ok(events) => match reload::changed_files(&cfg.dir, events) {
                        Some(files) if files.is_empty() => continue,
                        Some(files) => reload::files(&cfg, &mut state, &files),
                        None => reload::all(&cfg, &mut state),
                    },
                    Err(errors) => {
                        tracing::warn!(?errors, "file watcher errors; reloading every manifest");
                        reload::all(&cfg, &mut state)
                    }
                };
                let Reload::Changed(changed) = reloaded else { continue };
                ("manifests changed", reach(&mut state, &changed))
            }
            () = until_window(&sim, &state), if state.window_opens.is_some() => {
                state.window_opens = None;
                ("a maintenance window opened", Reach::Full)
            }
            () = tokio::time::sleep_until(retry_at.unwrap_or_else(tokio::time::Instant::now)), if retry_at.is_some() => {
                retry_at = None;
                ("retry after a failed reconcile", Reach::Full)
            }
            _ = tick.tick() => {
                match (&cfg.git_ref, &state.manifests) {
                    (Some(_), _) => match reload::all(&cfg, &mut state) {
                        Reload::Changed(changed) => {
                            reach(&mut state, &changed);
                            ("new commit", Reach::Full)
                        }
                        Reload::Kept => ("resync", Reach::Full),
                    },
                    // The manifests were invalid at the start: try again.
                    (None, None) => {
                        reload::all(&cfg, &mut state);
                        ("resync", Reach::Full)
                    }
                    (None, Some(_)) => ("resync", Reach::Full),
                }
            }
        };
        let ctx = Context { stop: Some(stop.clone()), ..Default::default() };
        let (outcome, stopping) = {
            let reconcile = reconcile(&cfg, &sim, &dir, &writer, &metrics, &mut state, ctx, (reason, started), reach);
            tokio::pin!(reconcile);
            tokio::select! {
                r = &mut reconcile => (r, false),
                () = &mut shutdown => {
                    tracing::info!("shutting down: finishing the running actions, starting no new one");
                    (reconcile.await, true)
                }
            }
        };
        // The loop survives its own errors (kube-runtime's error policy): a failed observation,
        // save or backend call is logged and counted, and retried from a fresh observation after
        // the backoff (or sooner, at a file event); only set-up failures end the controller.
        match outcome {
            Ok(()) => failures = 0,
            Err(e) => {
                failures += 1;
                let wait = Duration::from_secs(1).saturating_mul(1 << (failures - 1).min(16)).min(cfg.interval);
                tracing::error!(
                    reason = %format!("{e:#}"),
                    retry_in_ms = wait.as_millis() as u64,
                    "reconcile failed; retrying from a fresh observation"
                );
                metrics.reconciled(0.0, false, unix_now());
                state.observed = None;
                retry_at = Some(tokio::time::Instant::now() + wait);
            }
        }
        if stopping {
            break;
        }
    }
    drop(writer);
    tracing::info!("stopped");
    Ok(())
}

/// The loop's clock: the system's, or a set one moving with the simulator.
fn clock(sim: &Backend) -> jiff::Timestamp {
    crate::windows::now(sim.now_ms()).unwrap_or_else(|_| jiff::Timestamp::now())
}

/// Resolves when the next window that holds work opens (Argo CD's sync windows do not fire
/// when a window opens, argo-cd#21692: this one does).
async fn until_window(sim: &Backend, state: &State) {
    let Some(opens) = state.window_opens else { return std::future::pending().await };
    let now = clock(sim);
    let wait = Duration::try_from(opens.duration_since(now)).unwrap_or(Duration::ZERO);
    if crate::windows::rehearsal() {
        sim.sleep(wait).await;
    } else {
        tokio::time::sleep(wait).await;
    }
}

/// How far a change reaches: partitions only, after a clean full plan, are planned in their
/// scope; anything else is planned in full. A changed VIOS pair releases its held VIOS.
fn reach(state: &mut State, changed: &powerplane_model::Changed) -> Reach {
    let pairs: BTreeSet<FrameName> = changed
        .0
        .iter()
        .filter(|(k, _)| *k == Kind::ViosPair)
        .filter_map(|(_, n)| {
            let pair = state.manifests.as_ref()?.estate().vios_pairs.get(n.as_str())?;
            Some(pair.spec.frame.clone())
        })
        .collect();
    state.held_vios.release_frames(&pairs);
    match changed.partitions_only() {
        Some(partitions) if state.clean && state.observed.is_some() && state.ties.is_some() => {
            Reach::Partitions(partitions)
        }
        _ => Reach::Full,
    }
}

/// Logs and audits what changed outside powerplane between two observations; learns which
/// VIOS went down.
async fn drift(writer: &AuditWriter, held: &mut wait::HeldVios, before: &Estate, after: &Estate) -> anyhow::Result<()> {
    for (frame, vios) in held.observe(before, after) {
        tracing::warn!(%frame, %vios, "VIOS went down outside powerplane");
    }
    let changed = compare(before, after);
    if changed.is_empty() {
        return Ok(());
    }
    let objects: Vec<&str> = changed.iter().map(|c| c.object.as_str()).collect();
    tracing::warn!(objects = ?objects, "drift: the estate changed outside powerplane");
    let draft = Draft {
        kind: "Drift".into(),
        message: Some(format!("changed outside powerplane: {}", objects.join(", "))),
        ..Default::default()
    };
    writer.write(vec![(Event::Skip, Draft { result: Some(audit::ActionResult::Skipped), ..draft })]).await?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn reconcile(
    cfg: &Config,
    sim: &Backend,
    dir: &StateDir,
    writer: &AuditWriter,
    metrics: &metrics::Metrics,
    state: &mut State,
    mut ctx: Context,
    (reason, started): (&str, Instant),
    reach: Reach,
) -> anyhow::Result<()> {
    let mut cached = match state.observed.take() {
        Some(e) => Some(e),
        None => snapshot::load(dir).ok().flatten().map(|(_, e)| e),
    };
    let desired = state.manifests.as_ref().map(ManifestSet::estate);
    if let Some(d) = desired {
        sim.adopt_names(d);
    }
    let options = PlanOptions { rates: sim.rates().await, limits: cfg.settings.limits(), ..Default::default() };
    // Observe the scope of the change and plan it. A scope with errors is planned again in
    // full: what is wrong may be named by objects outside the scope (a pool defined on another
    // frame), and the full plan's messages say so.
    let mut scoped = None;
    if let (Reach::Partitions(changed), Some(cache), Some(desired), Some(ties)) =
        (reach, cached.as_mut(), desired, state.ties.as_mut())
    {
        let seen = scoped::observe_scope(sim, desired, cache, ties, &changed).await?;
        let plan = seen.scope.plan(desired, cache, options);
        drift(writer, &mut state.held_vios, &seen.before, &seen.after).await?;
        tracing::info!(
            reason,
            frames = seen.scope.frames.len(),
            partitions = seen.scope.partitions.len(),
            // From the file event (files read, desired state updated) to the ready plan.
            ms = started.elapsed().as_secs_f64() * 1e3,
            "planned the change in its scope"
        );
        if plan.errors.is_empty() {
            scoped = Some((seen.scope, plan));
        } else {
            tracing::info!(reason, "the change has errors: planning the whole estate to report them");
        }
    }
    let (observed, scope, plan) = match (scoped, cached) {
        (Some((scope, plan)), Some(cache)) => (cache, Some(scope), Some(plan)),
        (_, cached) => {
            let fresh = sim.observe().await?;
            if !state.seen {
                state.seen = true;
                for (frame, vios) in state.held_vios.first(&fresh) {
                    tracing::warn!(%frame, %vios, "VIOS is down at the controller's start: it is not restarted unless `restartVios: true`");
                }
            }
            state.ties = desired.map(|d| Ties::new(d, &fresh));
            if let Some(before) = &cached {
                drift(writer, &mut state.held_vios, before, &fresh).await?;
            }
            let plan = desired.map(|d| powerplane_model::plan(d, &fresh, options));
            if let Some(p) = &plan {
                state.clean = p.errors.is_empty();
                metrics.drift(p.changes.iter().filter(|c| c.kind != ChangeKind::Unmanaged).count());
            }
            (fresh, None, plan)
        }
    };
    snapshot::save(dir, &observed, "observe (watch)")?;
    state.observed = Some(observed);
    let Some(plan) = plan else {
        metrics.reconciled(started.elapsed().as_secs_f64(), false, unix_now());
        return Ok(());
    };
    for w in plan.warnings.iter().chain(&plan.errors) {
        if state.reported.insert(w.clone()) {
            tracing::warn!(reason, "{w}");
        }
    }
    if !plan.errors.is_empty() {
        state.clean = false;
    }
    // Work the backend carries out is reported at every resync until it settles.
    for p in &plan.in_progress {
        tracing::info!(reason, "in progress on the backend: {p}");
    }
    for d in &plan.deferred {
        if state.reported.insert(d.clone()) {
            tracing::warn!(reason, "deferred: {d}");
        }
    }
    if !plan.errors.is_empty() || plan.actions.is_empty() {
        let ok = plan.errors.is_empty() && plan.in_progress.is_empty() && plan.deferred.is_empty();
        if ok {
            tracing::info!(reason, "reconciled: the estate matches the manifests");
        } else if plan.errors.is_empty() {
            tracing::info!(
                reason,
                in_progress = plan.in_progress.len(),
                deferred = plan.deferred.len(),
                "not settled: work is in flight on the backend or deferred"
            );
        }
        metrics.reconciled(started.elapsed().as_secs_f64(), ok, unix_now());
        return Ok(());
    }
    if cfg.dry_run {
        for a in &plan.actions {
            tracing::info!(id = %a.id, kind = %a.kind(), command = %a.op.command(), "would run (dry run)");
        }
        tracing::info!(reason, actions = plan.actions.len(), "drift reported, not healed (dry run)");
        metrics.reconciled(started.elapsed().as_secs_f64(), true, unix_now());
        return Ok(());
    }
    let restart_vios = state.manifests.as_ref().is_some_and(|m| m.estate().restart_vios());
    let vios = (!restart_vios).then_some(&state.held_vios);
    let (plan, held) = wait::without_held(plan, &state.backoff, vios, Instant::now());
    for v in &held.vios {
        let message = format!(
            "{v} went down outside powerplane: it is not restarted, and its heal (paging and SEA failback) waits until it runs again; start it on the HMC, or set `restartVios: true` in the Settings to let powerplane start it"
        );
        if state.reported.insert(message.clone()) {
            tracing::warn!(reason, "heal waiting: {message}");
        }
    }
    if !held.backing_off.is_empty() {
        tracing::info!(objects = ?held.backing_off, "backing off: these objects failed recently and are retried later");
    }
    // Maintenance windows: what they hold waits for the next opening, when the loop wakes.
    let estate = state.manifests.as_ref().map(ManifestSet::estate).cloned().unwrap_or_default();
    let windows = match crate::windows::resolve(&estate) {
        Ok(w) => w,
        Err(e) => {
            tracing::error!(reason, "{e}; nothing is applied until the manifests are fixed");
            metrics.reconciled(started.elapsed().as_secs_f64(), false, unix_now());
            return Ok(());
        }
    };
    let now = clock(sim);
    let (plan, in_window) = crate::windows::gate(plan, &estate, &windows, now);
    state.window_opens = in_window.iter().filter_map(|h| h.opens).min();
    for h in &in_window {
        tracing::info!(reason, id = %h.id, "held for a maintenance window: {} ({})", h.what, h.reason);
    }
    if plan.actions.is_empty() {
        metrics.reconciled(
            started.elapsed().as_secs_f64(),
            held.vios.is_empty() && held.backing_off.is_empty() && in_window.is_empty(),
            unix_now(),
        );
        return Ok(());
    }
    let clock_sim = sim.clone();
    ctx.gate = crate::windows::start_gate(&estate, windows, &plan, move || clock(&clock_sim));
    match &state.commit {
        Some(c) => {
            ctx.commit = Some(c.clone());
            ctx.dirty = Some(false);
        }
        None => {
            if let Some((commit, dirty)) = crate::git::provenance(&cfg.dir) {
                ctx.commit = Some(commit);
                ctx.dirty = Some(dirty);
            }
        }
    }
    ctx.plan_id = format!("watch-{}", crate::time::now());
    let report = executor::execute(sim.clone(), &plan, &ctx, cfg.settings, writer, Arc::new(LogProgress)).await?;
    for (a, o) in &report.results {
        let outcome = match o {
            Outcome::Succeeded { .. } => "succeeded",
            Outcome::Failed { .. } => "failed",
            Outcome::Skipped { .. } => "skipped",
            Outcome::NotNeeded => "not_needed",
            Outcome::NotStarted => "not_started",
            Outcome::Held { .. } => "held",
            Outcome::LeftRunning => "left_running",
        };
        metrics.action(a.kind().as_str(), outcome);
    }
    // What powerplane did is not drift: the cache takes the observation after the apply.
    let mut after = state.observed.take().expect("cached above");
    let desired = state.manifests.as_ref().map(ManifestSet::estate);
    match (&scope, desired, &mut state.ties) {
        (Some(scope), Some(desired), Some(ties)) => {
            let fresh = sim.observe_frames(&scope.frames).await?;
            scoped::refresh(desired, &mut after, ties, &scope.frames, fresh);
        }
        _ => {
            after = sim.observe().await?;
            state.ties = desired.map(|d| Ties::new(d, &after));
        }
    }
    snapshot::save(dir, &after, "observe (after watch apply)")?;
    state.observed = Some(after);
    for (a, o) in &report.results {
        let object = a.op.object();
        match o {
            Outcome::Succeeded { .. } => state.backoff.succeeded(&object),
            Outcome::Failed { error, .. } => {
                let wait = state.backoff.failed(object.clone(), cfg.interval, Instant::now());
                tracing::warn!(
                    object,
                    error,
                    retry_in_s = wait.as_secs(),
                    "action failed; backing off for this object"
                );
            }
            Outcome::Skipped { .. }
            | Outcome::NotStarted
            | Outcome::Held { .. }
            | Outcome::LeftRunning
            | Outcome::NotNeeded => {}
        }
    }
    let ok = report.all_succeeded();
    if ok {
        tracing::info!(reason, actions = report.results.len(), "reconciled: applied");
    } else {
        let (_, failed, skipped) = report.counts();
        tracing::warn!(reason, failed, skipped, "reconcile did not converge");
    }
    metrics.reconciled(started.elapsed().as_secs_f64(), ok, unix_now());
    Ok(())
}
