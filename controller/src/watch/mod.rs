//! The controller loop (DESIGN §7): watch the manifest directory (debounced), resync with the
//! backend on an interval, report and audit drift, plan, and apply (or only report with
//! `--dry-run`). An edit re-reads only the changed files, and a change to partitions only is
//! observed and planned in its scope ([`scoped`]). Invalid manifests never apply: the last good
//! desired state is kept. Failed actions back off per object; a VIOS that went down outside
//! powerplane is not restarted unless the settings say so (`wait`). Shutdown is an injected future (as in mini-redis's
//! `server::run`), so the loop is testable without signals: when it resolves, no new action
//! starts, running ones finish and are recorded, and the loop returns.

mod pass;
mod reload;
pub mod scoped;
mod wait;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use notify_debouncer_full::notify::RecursiveMode;
use notify_debouncer_full::{DebounceEventResult, new_debouncer};
use powerplane_model::manifest::Kind;
use powerplane_model::plan::Ties;
use powerplane_model::{Estate, FrameName, ManifestSet, PartitionName};
use tokio::sync::{mpsc, watch};

use crate::app::backend::Backend;
use crate::app::reconcile::clock;
use crate::clock::WallClock;
use crate::engine;
use crate::status::live::ReconcileResult;
use crate::status::publish::{self, Publisher};
use crate::store::StateDir;
use crate::store::audit::{self, AuditLog};
use crate::store::snapshot;
use crate::store::writer::AuditWriter;
use pass::reconcile;
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
    pub settings: engine::Settings,
    /// Reconcile the manifests as committed at this ref (uncommitted edits ignored); new
    /// commits are picked up at each interval.
    pub git_ref: Option<String>,
    /// `git fetch` before resolving the ref.
    pub fetch: bool,
    /// Signs the audit trail's batches and HEAD.
    pub signer: Option<audit::Signer>,
    /// The wall clock maintenance windows are read on.
    pub clock: WallClock,
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
    /// The snapshot stored of `observed` (its metadata and JSON), while `observed` is what was
    /// stored: a change whose scoped observation finds nothing new only renews its time.
    stored: Option<(snapshot::Meta, Vec<u8>)>,
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
    /// Whether the API has the desired state as it is now.
    desired_published: bool,
    /// The revision of `manifests` (its commit, or when it was read).
    revision: Option<String>,
    /// The manifests as they are now, when they are refused: a condition published with the
    /// status until they are fixed.
    invalid: Option<crate::status::live::InvalidManifests>,
}

/// What a reconcile covers.
enum Reach {
    /// The whole estate: observe everything, plan everything.
    Full,
    /// Only what a change to these partitions can affect.
    Partitions(BTreeSet<PartitionName>),
}

/// Runs until `stop` reaches [`engine::Stop::Drain`]: then no new action starts, running
/// ones finish (or, at [`engine::Stop::Abandon`], are recorded as left running) and it
/// returns.
pub async fn run(
    cfg: Config,
    sim: Backend,
    dir: StateDir,
    report: Publisher,
    stop: watch::Receiver<engine::Stop>,
) -> anyhow::Result<()> {
    // Opening reads the trail's last segment from disk: off the runtime's other tasks.
    let log = publish::blocking(|| AuditLog::open_signed(&dir, cfg.signer.clone()))?;
    let writer = AuditWriter::start(log.clone());
    let closed = engine::close_dangling(&log, &writer).await?;
    if closed > 0 {
        tracing::warn!(closed, "a previous run stopped during these actions; recorded them as interrupted");
    }
    let shutdown = engine::stop_at(Some(stop.clone()), engine::Stop::Drain);
    let (events_tx, mut events) = mpsc::unbounded_channel::<DebounceEventResult>();
    let mut debouncer = new_debouncer(cfg.debounce, None, move |r: DebounceEventResult| {
        let _ = events_tx.send(r);
    })?;
    debouncer.watch(&cfg.dir, RecursiveMode::Recursive)?;
    let mut state = State::default();
    // The heartbeat: a loop that completes no step for two intervals is stalled (`/readyz`).
    report.live.set_interval(cfg.interval);
    report.live.step();
    // A set clock (POWERPLANE_NOW) starts from the loop's start.
    let _ = cfg.clock.now(sim.now_ms());
    publish::blocking(|| reload::all(&cfg, &mut state));
    let mut tick = tokio::time::interval(cfg.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    // After a failed reconcile: retry sooner than the next resync, doubling from 1 s up to the
    // interval (kube-runtime's error policy), reset by a reconcile that succeeds.
    let mut failures: u32 = 0;
    let mut retry_at: Option<tokio::time::Instant> = None;
    tracing::info!(dir = %cfg.dir.display(), interval_s = cfg.interval.as_secs(), dry_run = cfg.dry_run, "watching");
    loop {
        // A step is complete: the loop waits for the next event.
        report.live.step();
        report.manifests(state.invalid.as_ref());
        // When the reconcile's work began: at a file event, before the files are read; else
        // when the event that starts it arrived (never the idle wait before it).
        let mut started = None;
        let (reason, reach) = tokio::select! {
            () = &mut shutdown => break,
            () = report.live.sync_requested() => ("sync requested", Reach::Full),
            Some(ev) = events.recv() => {
                if cfg.git_ref.is_some() { continue }
                started = Some(Instant::now());
                let reloaded = match &ev {
                    Ok(events) => match reload::changed_files(&cfg.dir, events) {
                        Some(files) if files.is_empty() => continue,
                        Some(files) => publish::blocking(|| reload::files(&cfg, &mut state, &files)),
                        None => publish::blocking(|| reload::all(&cfg, &mut state)),
                    },
                    Err(errors) => {
                        tracing::warn!(?errors, "file watcher errors; reloading every manifest");
                        publish::blocking(|| reload::all(&cfg, &mut state))
                    }
                };
                match reloaded {
                    Reload::Changed(changed) => ("manifests changed", reach(&mut state, &changed)),
                    Reload::Recovered => ("manifests fixed", Reach::Full),
                    Reload::Kept => continue,
                    Reload::Invalid => {
                        // Refused: a reconcile that applies nothing, and says why.
                        report.manifests(state.invalid.as_ref());
                        let detail = invalid_detail(&state);
                        let seconds = started.map_or(0.0, |s| s.elapsed().as_secs_f64());
                        report.ended("manifests changed", seconds, ReconcileResult::NotConverged, detail);
                        continue;
                    }
                }
            }
            () = until_window(&cfg.clock, &sim, &state), if state.window_opens.is_some() => {
                state.window_opens = None;
                ("a maintenance window opened", Reach::Full)
            }
            () = tokio::time::sleep_until(retry_at.unwrap_or_else(tokio::time::Instant::now)), if retry_at.is_some() => {
                retry_at = None;
                ("retry after a failed reconcile", Reach::Full)
            }
            _ = tick.tick() => {
                match (&cfg.git_ref, &state.manifests) {
                    (Some(_), _) => match publish::blocking(|| reload::all(&cfg, &mut state)) {
                        Reload::Changed(changed) => {
                            reach(&mut state, &changed);
                            ("new commit", Reach::Full)
                        }
                        Reload::Recovered => ("manifests fixed", Reach::Full),
                        Reload::Kept | Reload::Invalid => ("resync", Reach::Full),
                    },
                    // The manifests were invalid at the start: try again.
                    (None, None) => {
                        publish::blocking(|| reload::all(&cfg, &mut state));
                        ("resync", Reach::Full)
                    }
                    (None, Some(_)) => ("resync", Reach::Full),
                }
            }
        };
        let started = started.unwrap_or_else(Instant::now);
        report.manifests(state.invalid.as_ref());
        report.started(reason);
        let (outcome, stopping) = {
            let reconcile =
                reconcile(&cfg, &sim, &dir, &writer, &report, &mut state, Some(stop.clone()), (reason, started), reach);
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
                    reason = %crate::words::causes(&e),
                    retry_in_ms = wait.as_millis() as u64,
                    "reconcile failed; retrying from a fresh observation"
                );
                report.ended(
                    reason,
                    started.elapsed().as_secs_f64(),
                    ReconcileResult::Failed,
                    format!(
                        "{}; retrying from a fresh observation in {} ms",
                        crate::words::causes(&e),
                        wait.as_millis()
                    ),
                );
                state.observed = None;
                state.stored = None;
                retry_at = Some(tokio::time::Instant::now() + wait);
            }
        }
        report.next_resync(jiff::Timestamp::now() + jiff::SignedDuration::try_from(tick.period()).unwrap_or_default());
        if stopping {
            break;
        }
    }
    drop(writer);
    tracing::info!("stopped");
    Ok(())
}

/// What a reconcile refused by invalid manifests says: the first finding, the revision kept.
fn invalid_detail(state: &State) -> String {
    let Some(i) = &state.invalid else { return String::new() };
    let kept = match &i.last_applied {
        Some(r) => format!("the last valid manifests ({r}) are kept"),
        None => "no manifests were valid since the controller started: nothing is planned".to_owned(),
    };
    format!(
        "invalid manifests ({}): nothing of them is applied; {kept}; first of {} error(s): {}",
        i.failing, i.errors, i.first_error
    )
}

/// Resolves when the next window that holds work opens (Argo CD's sync windows do not fire
/// when a window opens, argo-cd#21692: this one does).
async fn until_window(wall: &WallClock, sim: &Backend, state: &State) {
    let Some(opens) = state.window_opens else { return std::future::pending().await };
    crate::app::reconcile::until(wall, sim, opens, clock(wall, sim)).await;
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
    tracing::debug!(
        changed = ?changed.0,
        clean = state.clean,
        observed = state.observed.is_some(),
        ties = state.ties.is_some(),
        "what the edit reaches"
    );
    match changed.partitions_only() {
        Some(partitions) if state.clean && state.observed.is_some() && state.ties.is_some() => {
            Reach::Partitions(partitions)
        }
        _ => Reach::Full,
    }
}
