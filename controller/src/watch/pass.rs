//! One pass of the loop: what changed outside powerplane since the last observation (drift,
//! logged and audited), then the reconcile of the desired state — planned in full or in the
//! scope of the edit, gated by windows, executed through the application's run, re-observed
//! and published.

use std::sync::Arc;
use std::time::Instant;

use powerplane_model::plan::{Ties, compare};
use powerplane_model::{Estate, ManifestSet, PlanOptions};
use tokio::sync::watch;

use super::{Config, Reach, State, scoped, wait};
use crate::app::backend::Backend;
use crate::app::reconcile::{Run, Source, clock, loop_plan_id};
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
    let stored = state.stored.take();
    let mut cached = match state.observed.take() {
        Some(e) => Some(e),
        None => publish::blocking(|| snapshot::load(dir)).ok().flatten().map(|(_, e)| e),
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
    // Whether the scoped observation found its frames as the cache (the stored snapshot) had them.
    let mut unchanged = false;
    if let (Reach::Partitions(changed), Some(cache), Some(desired), Some(ties)) =
        (reach, cached.as_mut(), desired, state.ties.as_mut())
    {
        let t0 = started.elapsed();
        let seen = report.observing(scoped::observe_scope(sim, desired, cache, ties, &changed).await)?;
        let t1 = started.elapsed();
        unchanged = seen.before == seen.after;
        let plan = publish::blocking(|| seen.scope.plan(desired, cache, options));
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
    let (observed, scope, plan) = match (scoped, cached) {
        (Some((scope, plan)), Some(cache)) => (cache, Some(scope), Some(plan)),
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
            let plan = desired.map(|d| publish::blocking(|| powerplane_model::plan(d, &fresh, options)));
            if let Some(p) = &plan {
                state.clean = p.errors.is_empty();
            }
            (fresh, None, plan)
        }
    };
    let confirmed = match stored {
        Some((meta, json)) if unchanged && scope.is_some() => {
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
        report.ended(
            reason,
            started.elapsed().as_secs_f64(),
            ReconcileResult::NotConverged,
            "no valid manifests: nothing is planned until they are fixed",
        );
        return Ok(());
    };
    report.planned(&plan, scope.is_none());
    // The desired state's document for the API, made once per change and after the plan: on a
    // large estate serializing it takes longer than planning an edit's scope.
    if let Some(d) = state.manifests.as_ref().map(ManifestSet::estate)
        && !state.desired_published
    {
        report.desired(d);
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
        report.ended(reason, started.elapsed().as_secs_f64(), result, detail);
        return Ok(());
    }
    if cfg.dry_run {
        for a in &plan.actions {
            tracing::info!(id = %a.id, kind = %a.kind(), command = %a.op.command(), "would run (dry run)");
        }
        tracing::info!(reason, actions = plan.actions.len(), "drift reported, not healed (dry run)");
        report.ended(
            reason,
            started.elapsed().as_secs_f64(),
            ReconcileResult::Reported,
            format!("drift reported, not healed (dry run): {} action(s) would run", plan.actions.len()),
        );
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
            report.ended(
                reason,
                started.elapsed().as_secs_f64(),
                ReconcileResult::NotConverged,
                format!("{e}; nothing is applied until the manifests are fixed"),
            );
            return Ok(());
        }
    };
    let now = clock(&cfg.clock, sim);
    let (plan, in_window) = crate::windows::gate(plan, &estate, &windows, now);
    state.window_opens = in_window.iter().filter_map(|h| h.opens).min();
    for h in &in_window {
        tracing::info!(reason, id = %h.id, "held for a maintenance window: {} ({})", h.what, h.reason);
    }
    let mut waiting: Vec<Held> = held
        .vios
        .iter()
        .map(|v| Held {
            what: v.to_string(),
            why: "went down outside powerplane: its heal waits until it runs again (or `restartVios: true`)".into(),
        })
        .collect();
    waiting.extend(
        held.backing_off
            .iter()
            .map(|o| Held { what: o.clone(), why: "failed recently: backing off before it is retried".into() }),
    );
    waiting.extend(in_window.iter().map(|h| Held { what: format!("{} {}", h.id, h.what), why: h.reason.clone() }));
    let settled = waiting.is_empty();
    report.held(waiting);
    if plan.actions.is_empty() {
        let (result, detail) = if settled {
            (ReconcileResult::Converged, "the estate matches the manifests and nothing is in flight".to_owned())
        } else {
            (ReconcileResult::NotConverged, "every remaining action is held back (see `held`)".to_owned())
        };
        report.ended(reason, started.elapsed().as_secs_f64(), result, detail);
        return Ok(());
    }
    let source = match &state.commit {
        Some(c) => Source::Commit(c),
        None => Source::Tree(&cfg.dir),
    };
    let run = Run {
        backend: sim,
        desired: &estate,
        windows: Some(windows),
        source,
        plan_id: loop_plan_id(),
        stop,
        clock: cfg.clock.clone(),
    };
    let done = run.execute(&plan, cfg.settings, writer, Arc::new(report.clone())).await?;
    for (a, o) in &done.results {
        report.metrics.action(a.kind().as_str(), publish::outcome_of(o).0);
    }
    // What powerplane did is not drift: the cache takes the observation after the apply.
    let mut after = state.observed.take().expect("cached above");
    let desired = state.manifests.as_ref().map(ManifestSet::estate);
    match (&scope, desired, &mut state.ties) {
        (Some(scope), Some(desired), Some(ties)) => {
            let fresh = report.observing(sim.observe_frames(&scope.frames).await)?;
            scoped::refresh(desired, &mut after, ties, &scope.frames, &fresh);
        }
        _ => {
            after = report.observing(sim.observe().await)?;
            state.ties = desired.map(|d| Ties::new(d, &after));
        }
    }
    let (meta, json) = publish::blocking(|| snapshot::save_json(dir, &after, "observe (after watch apply)"))?;
    report.observed(&meta, &json);
    state.stored = Some((meta, json));
    state.observed = Some(after);
    for (a, o) in &done.results {
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
    let ok = done.all_succeeded() && settled && plan.in_progress.is_empty() && plan.deferred.is_empty();
    let (succeeded, failed, skipped) = done.counts();
    let detail = format!("applied: {succeeded} succeeded, {failed} failed, {skipped} skipped");
    if ok {
        tracing::info!(reason, actions = done.results.len(), "reconciled: applied");
    } else {
        tracing::warn!(reason, failed, skipped, "reconcile did not converge");
    }
    let result = if ok { ReconcileResult::Converged } else { ReconcileResult::NotConverged };
    report.ended(reason, started.elapsed().as_secs_f64(), result, detail);
    Ok(())
}
