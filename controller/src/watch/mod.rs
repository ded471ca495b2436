//! The controller loop (DESIGN §7): watch the manifest directory (debounced), resync with the
//! backend on an interval, report and audit drift, plan, and apply (or only report with
//! `--dry-run`). Invalid manifests never apply: the last good desired state is kept. Failed
//! reconciles back off exponentially. Shutdown is an injected future (as in mini-redis's
//! `server::run`), so the loop is testable without signals: when it resolves, no new action
//! starts, running ones finish and are recorded, and the loop returns.

pub mod metrics;
pub mod server;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use notify_debouncer_full::notify::{EventKind, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, new_debouncer};
use powerplane_model::plan::{ChangeKind, compare};
use powerplane_model::{Estate, PlanOptions};
use tokio::sync::{mpsc, watch};

use crate::backend::Hypervisor;
use crate::backend::sim::Simulator;
use crate::executor::{self, AuditWriter, Context, Outcome, Progress};
use crate::store::StateDir;
use crate::store::audit::{self, AuditLog, Draft, Event};
use crate::store::snapshot;

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
struct State {
    desired: Option<Estate>,
    /// The commit the desired state was read at (`--git-ref`).
    commit: Option<String>,
    /// Distinct problems already logged, so that a waiting heal does not spam the log.
    reported: BTreeSet<String>,
    /// Objects whose actions failed: how often in a row, and when they may be tried again.
    backoff: BTreeMap<String, (u32, Instant)>,
}

fn unix_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

/// Runs until `shutdown` resolves.
pub async fn run(
    cfg: Config,
    sim: Simulator,
    dir: StateDir,
    metrics: Arc<metrics::Metrics>,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let log = AuditLog::open(&dir)?;
    let writer = AuditWriter::start(log.clone());
    let (events_tx, mut events) = mpsc::unbounded_channel::<DebounceEventResult>();
    let mut debouncer = new_debouncer(cfg.debounce, None, move |r: DebounceEventResult| {
        let _ = events_tx.send(r);
    })?;
    debouncer.watch(&cfg.dir, RecursiveMode::Recursive)?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut state = State { desired: None, commit: None, reported: BTreeSet::new(), backoff: BTreeMap::new() };
    reload(&cfg, &mut state);
    let mut tick = tokio::time::interval(cfg.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    tracing::info!(dir = %cfg.dir.display(), interval_s = cfg.interval.as_secs(), dry_run = cfg.dry_run, "watching");
    loop {
        let reason = tokio::select! {
            () = &mut shutdown => break,
            Some(ev) = events.recv() => {
                let relevant = match &ev {
                    // Reading the manifests makes access events: only changes count.
                    Ok(events) => events
                        .iter()
                        .filter(|e| !matches!(e.kind, EventKind::Access(_)))
                        .flat_map(|e| e.paths.iter())
                        .any(|p| is_manifest(&cfg.dir, p)),
                    Err(errors) => { tracing::warn!(?errors, "file watcher errors"); false }
                };
                if !relevant || cfg.git_ref.is_some() { continue }
                reload(&cfg, &mut state);
                "manifests changed"
            }
            _ = tick.tick() => {
                if cfg.git_ref.is_some() && reload(&cfg, &mut state) {
                    "new commit"
                } else {
                    "resync"
                }
            }
        };
        let ctx = Context { stop: Some(stop_rx.clone()), ..Default::default() };
        let reconcile = reconcile(&cfg, &sim, &dir, &writer, &metrics, &mut state, ctx, reason);
        tokio::pin!(reconcile);
        tokio::select! {
            r = &mut reconcile => r?,
            () = &mut shutdown => {
                tracing::info!("shutting down: finishing the running actions, starting no new one");
                let _ = stop_tx.send(true);
                reconcile.await?;
                break;
            }
        }
    }
    drop(writer);
    tracing::info!("stopped");
    Ok(())
}

fn is_manifest(root: &Path, p: &Path) -> bool {
    let hidden = p
        .strip_prefix(root)
        .map(|r| r.components().any(|c| c.as_os_str().to_string_lossy().starts_with('.')))
        .unwrap_or(true);
    !hidden && matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
}

/// Loads the manifests (from the working tree, or as committed at the ref); on errors logs
/// them and keeps the last good desired state. Returns whether the desired state was replaced.
fn reload(cfg: &Config, state: &mut State) -> bool {
    let loaded = match &cfg.git_ref {
        None => crate::manifest_dir::load_manifests(&cfg.dir).map(|e| (e, None)),
        Some(r) => {
            if cfg.fetch
                && let Err(d) = crate::git::fetch(&cfg.dir)
            {
                d.iter().for_each(|d| tracing::warn!(finding = %d, "git fetch failed; using what is here"));
            }
            match crate::git::resolve(&cfg.dir, r) {
                Ok(c) if state.commit.as_deref() == Some(c.as_str()) && state.desired.is_some() => return false,
                Ok(c) => crate::manifest_dir::load_manifests_at(&cfg.dir, &c).map(|(e, c)| (e, Some(c))),
                Err(d) => Err(d),
            }
        }
    };
    match loaded {
        Ok((e, commit)) => {
            if let Some(c) = &commit {
                tracing::info!(commit = %c, "manifests read at commit");
            }
            state.desired = Some(e);
            state.commit = commit;
            state.reported.clear();
            true
        }
        Err(diags) => {
            for d in &diags {
                tracing::error!(finding = %d, "invalid manifests: nothing is applied until they are fixed");
            }
            if state.desired.is_some() {
                tracing::warn!("keeping the last valid manifests");
            }
            false
        }
    }
}

/// The plan without the actions of objects still in backoff, nor anything that depends on
/// them; and those objects.
fn without_backed_off(
    mut plan: powerplane_model::Plan,
    backoff: &BTreeMap<String, (u32, Instant)>,
) -> (powerplane_model::Plan, Vec<String>) {
    let now = Instant::now();
    let waiting: BTreeSet<String> =
        backoff.iter().filter(|(_, (_, until))| *until > now).map(|(o, _)| o.clone()).collect();
    if waiting.is_empty() {
        return (plan, Vec::new());
    }
    let mut dropped: BTreeSet<powerplane_model::ActionId> = BTreeSet::new();
    // Actions are in a topological order: a dependent comes after what it depends on.
    for a in &plan.actions {
        if waiting.contains(&a.op.object()) || a.after.iter().any(|d| dropped.contains(d)) {
            dropped.insert(a.id.clone());
        }
    }
    plan.actions.retain(|a| !dropped.contains(&a.id));
    (plan, waiting.into_iter().collect())
}

#[allow(clippy::too_many_arguments)]
async fn reconcile(
    cfg: &Config,
    sim: &Simulator,
    dir: &StateDir,
    writer: &AuditWriter,
    metrics: &metrics::Metrics,
    state: &mut State,
    mut ctx: Context,
    reason: &str,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let observed = sim.observe().await?;
    if let Ok(Some((_, before))) = snapshot::load(dir) {
        let changed = compare(&before, &observed);
        if !changed.is_empty() {
            let objects: Vec<&str> = changed.iter().map(|c| c.object.as_str()).collect();
            tracing::warn!(objects = ?objects, "drift: the estate changed outside powerplane");
            let draft = Draft {
                kind: "Drift".into(),
                message: Some(format!("changed outside powerplane: {}", objects.join(", "))),
                ..Default::default()
            };
            writer.write(vec![(Event::Skip, Draft { result: Some(audit::Result::Skipped), ..draft })]).await?;
        }
    }
    snapshot::save(dir, &observed, "observe (watch)")?;
    let Some(desired) = &state.desired else {
        metrics.reconciled(started.elapsed().as_secs_f64(), false, unix_now());
        return Ok(());
    };
    let plan = powerplane_model::plan(desired, &observed, PlanOptions::default());
    let drift = plan.changes.iter().filter(|c| c.kind != ChangeKind::Unmanaged).count();
    metrics.drift(drift);
    for w in plan.warnings.iter().chain(&plan.errors) {
        if state.reported.insert(w.clone()) {
            tracing::warn!(reason, "{w}");
        }
    }
    if !plan.errors.is_empty() || plan.actions.is_empty() {
        let ok = plan.errors.is_empty();
        if ok {
            tracing::info!(reason, "reconciled: the estate matches the manifests");
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
    let (plan, waiting) = without_backed_off(plan, &state.backoff);
    if !waiting.is_empty() {
        tracing::info!(objects = ?waiting, "backing off: these objects failed recently and are retried later");
    }
    if plan.actions.is_empty() {
        metrics.reconciled(started.elapsed().as_secs_f64(), false, unix_now());
        return Ok(());
    }
    let report = executor::execute(sim.clone(), &plan, &ctx, cfg.settings, writer, Arc::new(LogProgress)).await?;
    for (a, o) in &report.results {
        let outcome = match o {
            Outcome::Succeeded { .. } => "succeeded",
            Outcome::Failed { .. } => "failed",
            Outcome::Skipped { .. } => "skipped",
            Outcome::NotStarted => "not_started",
        };
        metrics.action(a.kind().as_str(), outcome);
    }
    let after = sim.observe().await?;
    snapshot::save(dir, &after, "observe (after watch apply)")?;
    // Per object: a failure doubles its wait (from one interval, at most an hour); a success
    // clears it.
    for (a, o) in &report.results {
        let object = a.op.object();
        match o {
            Outcome::Succeeded { .. } => {
                state.backoff.remove(&object);
            }
            Outcome::Failed { error, .. } => {
                let n = state.backoff.get(&object).map_or(1, |(n, _)| n + 1);
                let wait = cfg.interval.saturating_mul(1 << (n - 1).min(8)).min(Duration::from_secs(3600));
                tracing::warn!(
                    object,
                    error,
                    retry_in_s = wait.as_secs(),
                    "action failed; backing off for this object"
                );
                state.backoff.insert(object, (n, Instant::now() + wait));
            }
            Outcome::Skipped { .. } | Outcome::NotStarted => {}
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

#[cfg(test)]
mod tests {
    use powerplane_model::{Action, ActionId, FrameName, Op, PartitionName, Plan};

    use super::*;

    fn start(id: &str, partition: &str, after: &[&str]) -> Action {
        Action {
            id: ActionId(id.into()),
            op: Op::StartPartition {
                frame: FrameName::new("f").unwrap(),
                partition: PartitionName::new(partition).unwrap(),
                force: false,
            },
            after: after.iter().map(|a| ActionId((*a).into())).collect(),
            reason: String::new(),
        }
    }

    #[test]
    fn backed_off_objects_and_their_dependents_wait() {
        let plan = Plan {
            actions: vec![
                start("a1", "pa", &[]),
                start("a2", "pb", &["a1"]),
                start("a3", "pc", &[]),
                start("a4", "pd", &["a2", "a3"]),
            ],
            ..Default::default()
        };
        let mut backoff = BTreeMap::new();
        backoff.insert("Partition/pa".to_owned(), (1, Instant::now() + Duration::from_secs(60)));
        backoff.insert("Partition/pc".to_owned(), (3, Instant::now() - Duration::from_secs(1)));
        let (left, waiting) = without_backed_off(plan, &backoff);
        let ids: Vec<&str> = left.actions.iter().map(|a| a.id.0.as_str()).collect();
        assert_eq!(ids, vec!["a3"], "pa waits, pb and pd depend on it; pc's backoff expired");
        assert_eq!(waiting, vec!["Partition/pa".to_owned()]);
    }
}
