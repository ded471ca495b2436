//! One pass of the loop: the application's reconcile pass ([`crate::app::reconcile`]),
//! steered the loop's way — what changed outside powerplane since the last observation
//! (drift, logged and audited), the desired state planned in full or in the scope of the
//! edit, what waits for a VIOS or backs off taken out, the rest gated by windows, executed,
//! re-observed and published.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Instant;

use powerplane_model::plan::{Scope, Ties, compare};
use powerplane_model::{Estate, ManifestSet, Plan, PlanOptions};
use tokio::sync::watch;

use super::{Config, Reach, State, scoped, wait};
use crate::app::backend::Backend;
use crate::app::reconcile::{Convergence, Gated, Pass, Planned, Source, Steer, loop_plan_id};
use crate::backend::Hypervisor;
use crate::engine::{self, Outcome};
use crate::status::live::{Held, ReconcileResult};
use crate::status::publish::{self, Publisher};
use crate::store::StateDir;
use crate::store::audit::{Draft, Event};
use crate::store::snapshot;
use crate::store::writer::AuditWriter;

/// Logs and audits what changed outside powerplane between two observations; learns which
/// VIOS went down.
async fn drift(
    writer: &AuditWriter,
    report: &Publisher,
    held: &mut wait::HeldVios,
    before: &Estate,
    after: &Estate,
) -> anyhow::Result<()> {
    for (frame, vios) in held.observe(before, after) {
        tracing::warn!(%frame, %vios, "VIOS went down outside powerplane");
    }
    let changed = compare(before, after);
    if changed.is_empty() {
        return Ok(());
    }
    let objects: Vec<&str> = changed.iter().map(|c| c.object.as_str()).collect();
    tracing::warn!(objects = ?objects, "drift: the estate changed outside powerplane");
    report.drift_found(objects.iter().map(|o| (*o).to_owned()).collect());
    let draft = Draft {
        kind: "Drift".into(),
        message: Some(format!("changed outside powerplane: {}", objects.join(", "))),
        ..Default::default()
    };
    writer.write(vec![(Event::Drift, draft)]).await?;
    Ok(())
}

/// One reconcile of the loop: the application's pass ([`Pass`]), steered by [`Watch`].
#[allow(clippy::too_many_arguments)]
pub(super) async fn reconcile(
    cfg: &Config,
    sim: &Backend,
    dir: &StateDir,
    writer: &AuditWriter,
    report: &Publisher,
    state: &mut State,
    stop: Option<watch::Receiver<engine::Stop>>,
    (reason, started): (&str, Instant),
    reach: Reach,
) -> anyhow::Result<()> {
    // The pass reads the desired state while the steer keeps the loop's memory: the manifests
    // are lent to the pass and put back however it ends.
    let manifests = state.manifests.take();
    let empty = Estate::default();
    let desired = manifests.as_ref().map(ManifestSet::estate);
    if let Some(d) = desired {
        sim.adopt_names(d);
    }
    let commit = state.commit.clone();
    let pass = Pass {
        backend: sim,
        desired: desired.unwrap_or(&empty),
        options: PlanOptions { rates: sim.rates().await, limits: cfg.settings.limits(), ..Default::default() },
        settings: cfg.settings,
        source: match &commit {
            Some(c) => Source::Commit(c),
            None => Source::Tree(&cfg.dir),
        },
        overrides: None,
        stop,
        clock: cfg.clock.clone(),
    };
    let mut steer = Watch {
        cfg,
        dir,
        writer,
        report,
        state,
        reason,
        started,
        reach: Some(reach),
        valid: desired.is_some(),
        scope: None,
        waiting: Vec::new(),
    };
    let out = pass.run(&mut steer, writer).await;
    steer.state.manifests = manifests;
    out
}

/// How the loop steers a pass: it observes an edit's scope (or everything), audits drift,
/// publishes the plan and what is held, skips what waits for a VIOS or backs off, and
/// publishes how the pass ended.
struct Watch<'a> {
    cfg: &'a Config,
    dir: &'a StateDir,
    writer: &'a AuditWriter,
    report: &'a Publisher,
    state: &'a mut State,
    reason: &'a str,
    started: Instant,
    reach: Option<Reach>,
    /// Whether the desired state is valid manifests (else only observed and published).
    valid: bool,
    /// The scope the plan was made in, when it was not the whole estate.
    scope: Option<Scope>,
    /// What waits before the run: VIOS down, objects backing off, windows.
    waiting: Vec<Held>,
}

impl Watch<'_> {
    /// Publishes how the pass ended.
    fn ended(&self, result: ReconcileResult, detail: impl Into<String>) {
        self.report.ended(self.reason, self.started.elapsed().as_secs_f64(), result, detail);
    }
}

impl Steer for Watch<'_> {
    type Out = ();

    async fn observe(&mut self, pass: &Pass<'_>) -> anyhow::Result<ControlFlow<(), Planned>> {
        let (sim, report, reason, started) = (pass.backend, self.report, self.reason, self.started);
        let (dir, state, writer) = (self.dir, &mut *self.state, self.writer);
        let stored = state.stored.take();
        let mut cached = match state.observed.take() {
            Some(e) => Some(e),
            None => publish::blocking(|| snapshot::load(dir)).ok().flatten().map(|(_, e)| e),
        };
        let desired = self.valid.then_some(pass.desired);
        let options = pass.options;
        // Observe the scope of the change and plan it. A scope with errors is planned again in
        // full: what is wrong may be named by objects outside the scope (a pool defined on
        // another frame), and the full plan's messages say so.
        let mut scoped = None;
        // Whether the scoped observation found its frames as the cache (the stored snapshot) had them.
        let mut unchanged = false;
        if let (Some(Reach::Partitions(changed)), Some(cache), Some(desired), Some(ties)) =
            (self.reach.take(), cached.as_mut(), desired, state.ties.as_mut())
        {
            let t0 = started.elapsed();
            let seen = report.observing(scoped::observe_scope(sim, desired, cache, ties, &changed).await)?;
            let t1 = started.elapsed();
            unchanged = seen.before == seen.after;
            let span = tracing::info_span!("plan", scope = "partitions");
            let plan = publish::blocking(|| span.in_scope(|| seen.scope.plan(desired, cache, options)));
            let t2 = started.elapsed();
            drift(writer, report, &mut state.held_vios, &seen.before, &seen.after).await?;
            tracing::debug!(
                reloaded_ms = t0.as_secs_f64() * 1e3,
                observed_ms = (t1 - t0).as_secs_f64() * 1e3,
                planned_ms = (t2 - t1).as_secs_f64() * 1e3,
                compared_ms = (started.elapsed() - t2).as_secs_f64() * 1e3,
                "the scoped replan's phases"
            );
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
        let (observed, plan) = match (scoped, cached) {
            (Some((scope, plan)), Some(cache)) => {
                self.scope = Some(scope);
                (cache, Some(plan))
            }
            (_, cached) => {
                let fresh = report.observing(sim.observe().await)?;
                if !state.seen {
                    state.seen = true;
                    for (frame, vios) in state.held_vios.first(&fresh) {
                        tracing::warn!(%frame, %vios, "VIOS is down at the controller's start: it is not restarted unless `restartVios: true`");
                    }
                }
                state.ties = desired.map(|d| Ties::new(d, &fresh));
                if let Some(before) = &cached {
                    drift(writer, report, &mut state.held_vios, before, &fresh).await?;
                }
                let span = tracing::info_span!("plan", scope = "estate");
                let plan =
                    desired.map(|d| publish::blocking(|| span.in_scope(|| powerplane_model::plan(d, &fresh, options))));
                if let Some(p) = &plan {
                    state.clean = p.errors.is_empty();
                }
                (fresh, plan)
            }
        };
        let confirmed = match stored {
            Some((meta, json)) if unchanged && self.scope.is_some() => {
                publish::blocking(|| snapshot::confirm(dir, &meta.fingerprint, "observe (watch)"))?.map(|m| (m, json))
            }
            _ => None,
        };
        let (meta, json) = match confirmed {
            Some(confirmed) => confirmed,
            None => publish::blocking(|| snapshot::save_json(dir, &observed, "observe (watch)"))?,
        };
        report.observed(&meta, &json);
        state.stored = Some((meta, json));
        state.observed = Some(observed);
        let Some(plan) = plan else {
            self.ended(ReconcileResult::NotConverged, "no valid manifests: nothing is planned until they are fixed");
            return Ok(ControlFlow::Break(()));
        };
        Ok(ControlFlow::Continue(Planned { plan, id: loop_plan_id() }))
    }

    fn unresolved_windows(&mut self, e: crate::windows::WindowError) -> anyhow::Result<()> {
        tracing::error!(reason = self.reason, "{e}; nothing is applied until the manifests are fixed");
        self.ended(ReconcileResult::NotConverged, format!("{e}; nothing is applied until the manifests are fixed"));
        Ok(())
    }

    async fn review(&mut self, pass: &Pass<'_>, planned: Planned) -> anyhow::Result<ControlFlow<(), Planned>> {
        let (report, reason, state) = (self.report, self.reason, &mut *self.state);
        let plan = planned.plan;
        report.planned(&plan, self.scope.is_none());
        // The desired state's document for the API, made once per change and after the plan:
        // on a large estate serializing it takes longer than planning an edit's scope.
        if !state.desired_published {
            report.desired(pass.desired);
            state.desired_published = true;
        }
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
            report.held(Vec::new());
            let ok = Convergence::of(&plan).converged();
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
            let detail = if ok {
                "the estate matches the manifests and nothing is in flight".to_owned()
            } else if plan.errors.is_empty() {
                format!(
                    "not settled: {} in flight on the backend, {} deferred",
                    plan.in_progress.len(),
                    plan.deferred.len()
                )
            } else {
                format!("the plan has {} error(s); nothing is applied until they are fixed", plan.errors.len())
            };
            let result = if ok { ReconcileResult::Converged } else { ReconcileResult::NotConverged };
            self.ended(result, detail);
            return Ok(ControlFlow::Break(()));
        }
        if self.cfg.dry_run {
            for a in &plan.actions {
                tracing::info!(id = %a.id, kind = %a.kind(), command = %a.op.command(), "would run (dry run)");
            }
            tracing::info!(reason, actions = plan.actions.len(), "drift reported, not healed (dry run)");
            let detail = format!("drift reported, not healed (dry run): {} action(s) would run", plan.actions.len());
            self.ended(ReconcileResult::Reported, detail);
            return Ok(ControlFlow::Break(()));
        }
        let vios = (!pass.desired.restart_vios()).then_some(&state.held_vios);
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
        self.waiting = held
            .vios
            .iter()
            .map(|v| Held {
                what: v.to_string(),
                why: "went down outside powerplane: its heal waits until it runs again (or `restartVios: true`)".into(),
            })
            .collect();
        self.waiting.extend(
            held.backing_off
                .iter()
                .map(|o| Held { what: o.clone(), why: "failed recently: backing off before it is retried".into() }),
        );
        Ok(ControlFlow::Continue(Planned { plan, id: planned.id }))
    }

    async fn gated(&mut self, _: &Pass<'_>, gated: &Gated, _: &str) -> anyhow::Result<ControlFlow<()>> {
        // What the windows hold waits for the next opening, when the loop wakes.
        self.state.window_opens = gated.held.iter().filter_map(|h| h.opens).min();
        for h in &gated.held {
            tracing::info!(reason = self.reason, id = %h.id, "held for a maintenance window: {} ({})", h.what, h.reason);
        }
        self.waiting
            .extend(gated.held.iter().map(|h| Held { what: format!("{} {}", h.id, h.what), why: h.reason.clone() }));
        let settled = self.waiting.is_empty();
        self.report.held(self.waiting.clone());
        if gated.plan.actions.is_empty() {
            let (result, detail) = if settled {
                (ReconcileResult::Converged, "the estate matches the manifests and nothing is in flight".to_owned())
            } else {
                (ReconcileResult::NotConverged, "every remaining action is held back (see `held`)".to_owned())
            };
            self.ended(result, detail);
            return Ok(ControlFlow::Break(()));
        }
        Ok(ControlFlow::Continue(()))
    }

    fn progress(&mut self, _: &Plan) -> Arc<dyn engine::Progress> {
        Arc::new(self.report.clone())
    }

    async fn executed(&mut self, pass: &Pass<'_>, gated: Gated, done: engine::Report) -> anyhow::Result<()> {
        let (sim, report, reason, state) = (pass.backend, self.report, self.reason, &mut *self.state);
        for (a, o) in &done.results {
            report.metrics.action(a.kind().as_str(), publish::outcome_of(o).0.as_str());
        }
        // What powerplane did is not drift: the cache takes the observation after the apply.
        let mut after = state.observed.take().expect("cached when observed");
        let desired = self.valid.then_some(pass.desired);
        match (&self.scope, desired, &mut state.ties) {
            (Some(scope), Some(desired), Some(ties)) => {
                let fresh = report.observing(sim.observe_frames(&scope.frames).await)?;
                scoped::refresh(desired, &mut after, ties, &scope.frames, &fresh);
            }
            _ => {
                after = report.observing(sim.observe().await)?;
                state.ties = desired.map(|d| Ties::new(d, &after));
            }
        }
        let dir = self.dir;
        let (meta, json) = publish::blocking(|| snapshot::save_json(dir, &after, "observe (after watch apply)"))?;
        report.observed(&meta, &json);
        state.stored = Some((meta, json));
        state.observed = Some(after);
        for (a, o) in &done.results {
            let object = a.op.object();
            match o {
                Outcome::Succeeded { .. } => state.backoff.succeeded(&object),
                Outcome::Failed { error, .. } => {
                    let wait = state.backoff.failed(object.clone(), self.cfg.interval, Instant::now());
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
        let ok = Convergence::after_run(&gated.plan, &done).held(self.waiting.len()).converged();
        let (succeeded, failed, skipped) = done.counts();
        let detail = format!("applied: {succeeded} succeeded, {failed} failed, {skipped} skipped");
        if ok {
            tracing::info!(reason, actions = done.results.len(), "reconciled: applied");
        } else {
            tracing::warn!(reason, failed, skipped, "reconcile did not converge");
        }
        let result = if ok { ReconcileResult::Converged } else { ReconcileResult::NotConverged };
        self.ended(result, detail);
        Ok(())
    }
}
