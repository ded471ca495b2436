//! What the loop tells the world: the Prometheus metrics and the API's [`Live`] state and event
//! stream, updated together so that `/metrics`, `/api/v1/status` and the SSE stream never
//! disagree. Documents are serialized here, once, off the async workers.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use powerplane_model::plan::ChangeKind;
use powerplane_model::{Action, Estate, Plan};

use super::live::{
    ActionOutcome, DriftReport, Held, InFlight, InvalidManifests, Live, LiveEvent, Observation, ReconcileResult,
    Reconciled, Scope, Started,
};
use super::metrics::Metrics;
use crate::backend::BackendError;
use crate::engine::{Outcome, Progress};
use crate::store::snapshot::Meta;

/// The loop's reporter.
#[derive(Clone)]
pub struct Publisher {
    /// The metrics.
    pub metrics: Arc<Metrics>,
    /// The API's state.
    pub live: Arc<Live>,
    in_flight: Arc<Mutex<BTreeMap<String, InFlight>>>,
    /// The current plan's estimate of each action, s: how long the loop may wait for one
    /// without being stalled.
    estimates: Arc<Mutex<BTreeMap<String, f64>>>,
}

/// Runs `f`, which blocks, without holding up the runtime's other tasks (on a multi-threaded
/// runtime, tokio moves them to another worker meanwhile).
pub(crate) fn blocking<R>(f: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

fn unix_now() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

impl Publisher {
    /// A reporter into `metrics` and `live`.
    pub fn new(metrics: Arc<Metrics>, live: Arc<Live>) -> Self {
        Publisher { metrics, live, in_flight: Default::default(), estimates: Default::default() }
    }

    /// The manifests are refused (`Some`), or valid (`None`): a condition of the status and
    /// the `powerplane_manifests_invalid` gauge, and never converged while it lasts.
    pub fn manifests(&self, invalid: Option<&InvalidManifests>) {
        self.metrics.manifests_invalid(invalid.is_some());
        self.live.update(|s| {
            if s.invalid_manifests.as_ref() != invalid {
                s.invalid_manifests = invalid.cloned();
            }
        });
    }

    /// A reconcile starts.
    pub fn started(&self, reason: &str) {
        self.live.step();
        self.live.update(|s| s.reconciling = Some(Started { reason: reason.to_owned(), since: crate::time::now() }));
        self.live.publish(LiveEvent::ReconcileStarted { reason: reason.to_owned() });
    }

    /// The backend was observed and the snapshot stored as `json`.
    pub fn observed(&self, meta: &Meta, json: &[u8]) {
        self.live.step();
        blocking(|| self.live.set_observed(meta, json));
        self.live
            .update(|s| s.last_observation = Some(Observation { at: meta.observed_at.clone(), ok: true, error: None }));
    }

    /// `r`, an observation of the backend; a failure is recorded as the last observation
    /// (`/readyz` is then not ready) before it is returned.
    pub fn observing<T>(&self, r: Result<T, BackendError>) -> Result<T, BackendError> {
        if let Err(e) = &r {
            self.live.update(|s| {
                s.last_observation =
                    Some(Observation { at: crate::time::now(), ok: false, error: Some(e.to_string()) });
            });
        }
        r
    }

    /// The desired state changed.
    pub fn desired(&self, desired: &Estate) {
        if let Ok(doc) = blocking(|| serde_json::to_vec(desired)) {
            self.live.set_desired(doc);
        }
    }

    /// A plan is ready: the current plan and drift documents, the status's work in flight,
    /// deferred and refused, and (for a plan of the whole estate) the drift gauge.
    pub fn planned(&self, plan: &Plan, full: bool) {
        if let Some(e) = &plan.estimate {
            *self.estimates.lock().expect("not poisoned") =
                e.actions.iter().map(|(id, s)| (id.to_string(), *s)).collect();
        }
        let drifted = plan.changes.iter().filter(|c| c.kind != ChangeKind::Unmanaged).count();
        if full {
            self.metrics.drift(drifted);
        }
        let docs = blocking(|| {
            let scope = if full { Scope::Estate } else { Scope::Change };
            let p = crate::render::PlanDocument { scope: Some(scope), ..crate::render::PlanDocument::of(plan) };
            let d = DriftReport {
                actions: plan.actions.len(),
                deferred: &plan.deferred,
                drift: drifted > 0 || !plan.in_progress.is_empty() || !plan.deferred.is_empty(),
                errors: &plan.errors,
                in_progress: &plan.in_progress,
                objects: plan.changes.iter().filter(|c| c.kind != ChangeKind::Unmanaged).collect(),
                scope,
                warnings: &plan.warnings,
            };
            Ok::<_, serde_json::Error>((serde_json::to_vec(&p.to_value())?, serde_json::to_vec(&d)?))
        });
        if let Ok((p, d)) = docs {
            self.live.set_plan(p, d);
        }
        self.live.update(|s| {
            s.in_progress = plan.in_progress.clone();
            s.deferred = plan.deferred.clone();
            s.errors = plan.errors.clone();
        });
        let sum = plan.summary();
        self.live.publish(LiveEvent::Planned {
            actions: plan.actions.len(),
            summary: format!(
                "{} to create, {} to change, {} to migrate, {} to delete ({} actions)",
                sum.create, sum.change, sum.migrate, sum.delete, sum.actions
            ),
        });
    }

    /// Work held back now.
    pub fn held(&self, held: Vec<Held>) {
        self.metrics.held(held.len());
        self.live.update(|s| s.held = held);
    }

    /// The estate changed outside powerplane.
    pub fn drift_found(&self, objects: Vec<String>) {
        self.live.publish(LiveEvent::DriftFound { objects });
    }

    /// The next resync is due at `at`.
    pub fn next_resync(&self, at: jiff::Timestamp) {
        self.live.update(|s| s.next_resync = Some(at.to_string()));
    }

    /// A reconcile ended after `seconds` (its work, from the event that started it: never the
    /// idle wait before). Only a reconcile that converged is a success (`last_success`, the
    /// last-success gauge): one that reported work left (`--dry-run`) is not, and none is while
    /// the manifests are refused.
    pub fn ended(&self, reason: &str, seconds: f64, result: ReconcileResult, detail: impl Into<String>) {
        self.live.step();
        let mut detail = detail.into();
        let mut result = result;
        if let Some(i) = self.live.status().invalid_manifests
            && matches!(result, ReconcileResult::Converged | ReconcileResult::Reported)
        {
            result = ReconcileResult::NotConverged;
            detail = format!(
                "invalid manifests ({}; first error {}): {detail} — as the last valid manifests ({}) say, not as the files do now",
                i.failing,
                i.first_error,
                i.last_applied.as_deref().unwrap_or("none")
            );
        }
        let converged = matches!(result, ReconcileResult::Converged);
        // A dry run that found nothing to do converged too; one that reported work did not.
        self.metrics.reconciled(seconds, converged, unix_now());
        let r = Reconciled {
            reason: reason.to_owned(),
            ended: crate::time::now(),
            duration_ms: (seconds * 1e3) as u64,
            result,
            detail,
        };
        self.live.update(|s| {
            s.reconciling = None;
            if converged {
                s.last_success = Some(r.ended.clone());
            }
            s.last_reconcile = Some(r.clone());
        });
        self.live.publish(LiveEvent::ReconcileEnded(r));
    }

    fn set_in_flight(&self, f: impl FnOnce(&mut BTreeMap<String, InFlight>)) {
        let mut m = self.in_flight.lock().expect("not poisoned");
        f(&mut m);
        let list: Vec<InFlight> = m.values().cloned().collect();
        self.metrics.in_flight(list.len());
        self.live.update(|s| s.in_flight = list);
    }
}

impl Progress for Publisher {
    fn started(&self, a: &Action) {
        self.live.step();
        let estimate = self.estimates.lock().expect("not poisoned").get(&a.id.to_string()).copied();
        if let Some(s) = estimate.filter(|s| s.is_finite() && *s > 0.0) {
            self.live.busy_for(std::time::Duration::from_secs_f64(s));
        }
        tracing::info!(id = %a.id, kind = %a.kind(), object = %a.op.object(), "action started");
        let f = InFlight {
            id: a.id.to_string(),
            kind: a.kind(),
            object: a.op.object(),
            command: a.op.command(),
            since: crate::time::now(),
        };
        self.set_in_flight(|m| {
            m.insert(f.id.clone(), f.clone());
        });
        self.live.publish(LiveEvent::ActionStarted(f));
    }

    fn finished(&self, a: &Action, o: &Outcome) {
        self.live.step();
        let (outcome, detail) = outcome_of(o);
        // Fields, not Rust's Debug of the outcome: a log collector indexes them as they are.
        tracing::info!(id = %a.id, kind = %a.kind(), object = %a.op.object(), outcome = o.name(), detail = %detail, "action finished");
        self.set_in_flight(|m| {
            m.remove(&a.id.to_string());
        });
        self.live.publish(LiveEvent::ActionFinished {
            id: a.id.to_string(),
            kind: a.kind(),
            object: a.op.object(),
            outcome,
            detail,
        });
    }
}

/// An outcome's name (the metrics' label) and what it says.
pub(crate) fn outcome_of(o: &Outcome) -> (ActionOutcome, String) {
    match o {
        Outcome::Succeeded { message, .. } => (ActionOutcome::Succeeded, message.clone()),
        Outcome::Failed { error, .. } => (ActionOutcome::Failed, error.clone()),
        Outcome::Skipped { because } => (ActionOutcome::Skipped, format!("skipped because {because} failed")),
        Outcome::NotNeeded => (ActionOutcome::NotNeeded, String::new()),
        Outcome::NotStarted => (ActionOutcome::NotStarted, "not started: the controller is stopping".into()),
        Outcome::Held { reason } => (ActionOutcome::Held, reason.clone()),
        Outcome::LeftRunning => (ActionOutcome::LeftRunning, "left running on the hypervisor".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_observation_is_the_last_observation_and_a_success_replaces_it() {
        let p = Publisher::new(Arc::new(Metrics::default()), Live::new("m".into(), "sim".into(), false));
        let r: Result<(), BackendError> = p.observing(Err(BackendError::Transient("HSCL3205 the HMC is busy".into())));
        assert!(r.is_err(), "the failure is returned");
        let o = p.live.status().last_observation.unwrap();
        assert!(!o.ok && o.error.unwrap().contains("HSCL3205"));
        assert!(p.observing(Ok::<_, BackendError>(1)).is_ok());
        assert!(!p.live.status().last_observation.unwrap().ok, "a success is recorded when it is stored");
        let meta = Meta {
            observed_at: "2026-12-02T10:00:00Z".into(),
            source: "observe (watch)".into(),
            fingerprint: "f".into(),
        };
        p.observed(&meta, b"{}");
        assert!(p.live.status().last_observation.unwrap().ok);
    }
}
