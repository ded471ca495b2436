//! What the running controller knows, as the loop publishes it for the API: its status, the
//! last observation, the desired state, the current plan and drift, and a stream of events.
//! The loop writes, the API reads: documents are kept as the JSON bytes they are served as,
//! made once when they change, so a request never serializes a 25k-partition estate.

use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, broadcast};

/// How many events a slow SSE client may fall behind before it misses some (it is told).
const EVENT_BUFFER: usize = 4096;

/// A JSON document, serialized once (cloned without copying).
pub type Document = axum::body::Bytes;

/// The controller's state as the API shows it, shared between the loop and the server.
pub struct Live {
    inner: RwLock<Inner>,
    events: broadcast::Sender<LiveEvent>,
    /// `POST /api/v1/sync`: reconcile now.
    sync: Notify,
    /// Set when the server stops: event streams end so that it can.
    closing: tokio::sync::watch::Sender<bool>,
    /// The loop's heartbeat: when it last completed a step, and its resync interval.
    steps: std::sync::Mutex<Steps>,
}

/// When the loop last completed a step (virtual time in tests), its interval, and until when
/// the actions it started are estimated to run (a long migration is work, not a stall).
#[derive(Default)]
struct Steps {
    last: Option<(tokio::time::Instant, String)>,
    interval: Option<std::time::Duration>,
    busy_until: Option<tokio::time::Instant>,
}

#[derive(Default)]
struct Inner {
    status: Status,
    observed: Option<Document>,
    desired: Option<Document>,
    plan: Option<Document>,
    drift: Option<Document>,
}

/// `GET /api/v1/status`: what the loop is doing and what it last did.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// What the controller reconciles: the manifest directory.
    pub manifests: String,
    /// What it reconciles against: the simulated estate, or the HMCs.
    pub backend: String,
    /// Only reporting, never applying (`watch --dry-run`).
    pub dry_run: bool,
    /// The reconcile running now, if one is.
    pub reconciling: Option<Started>,
    /// The last reconcile that ended.
    pub last_reconcile: Option<Reconciled>,
    /// When the last reconcile that converged ended (RFC 3339); a dry run that reported work
    /// left, or any reconcile while the manifests are invalid, is not one.
    pub last_success: Option<String>,
    /// The last observation of the backend: when, and whether it succeeded.
    pub last_observation: Option<Observation>,
    /// Actions started and not yet ended.
    pub in_flight: Vec<InFlight>,
    /// Work held back: a VIOS that went down outside powerplane, objects backing off after a
    /// failure, actions waiting for a maintenance window.
    pub held: Vec<Held>,
    /// Work the backend carries out that has not settled (a migration in flight).
    pub in_progress: Vec<String>,
    /// Changes deferred by a runtime condition.
    pub deferred: Vec<String>,
    /// The last plan's errors (invalid manifests, impossible placements).
    pub errors: Vec<String>,
    /// When the next resync is due (RFC 3339).
    pub next_resync: Option<String>,
    /// The manifests as they are now are invalid: nothing of them is applied (the last valid
    /// ones are kept). Never converged while this is set.
    pub invalid_manifests: Option<InvalidManifests>,
    /// The loop has not completed a step for more than two resync intervals: it is stuck
    /// (`/readyz` is not ready, `status` exits 1).
    pub stalled: Option<Stalled>,
}

/// Manifests the loop refused.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvalidManifests {
    /// When they were first found invalid (RFC 3339).
    pub since: String,
    /// The revision of the manifests the loop still applies (the last valid ones), `None`
    /// when none were valid since it started.
    pub last_applied: Option<String>,
    /// The revision that is refused.
    pub failing: String,
    /// The first finding, `file:line:column: message`.
    pub first_error: String,
    /// How many findings.
    pub errors: usize,
}

/// A loop that stopped making progress.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Stalled {
    /// When it last completed a step (RFC 3339).
    pub since: String,
    /// How long ago that was, in seconds.
    pub seconds: u64,
    /// The resync interval, in seconds (stalled after two of them).
    pub interval_seconds: f64,
}

/// A reconcile that started.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Started {
    /// Why: `manifests changed`, `resync`, `sync requested`, ...
    pub reason: String,
    /// When (RFC 3339).
    pub since: String,
}

/// A reconcile that ended.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Reconciled {
    /// Why it ran.
    pub reason: String,
    /// When it ended (RFC 3339).
    pub ended: String,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
    /// How it ended.
    pub result: ReconcileResult,
    /// What it did or why it stopped, in a sentence.
    pub detail: String,
}

/// How a reconcile ended.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum ReconcileResult {
    /// The estate matches the manifests and nothing is in flight.
    Converged,
    /// Drift was reported and not healed (`--dry-run`).
    Reported,
    /// Work remains: failed or held actions, work in flight, plan errors.
    NotConverged,
    /// The reconcile itself failed (an observation or a save); it is retried.
    Failed,
}

/// The last observation of the backend.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Observation {
    /// When (RFC 3339).
    pub at: String,
    /// Whether it succeeded (`/readyz`).
    pub ok: bool,
    /// Why it failed.
    pub error: Option<String>,
}

/// An action started and not yet ended.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InFlight {
    /// Its id in the plan.
    pub id: String,
    /// Its kind.
    #[schema(value_type = ActionKindName)]
    pub kind: powerplane_model::ActionKind,
    /// The object it changes.
    pub object: String,
    /// The HMC command it runs.
    pub command: String,
    /// When it started (RFC 3339).
    pub since: String,
}

/// The schema of an action's kind ([`powerplane_model::ActionKind`]: one of its names as serde
/// writes them, `MigratePartition`, ...). A placeholder in utoipa's document, which the API
/// replaces by the schema schemars derives from `ActionKind` (`api/derived.rs`).
pub struct ActionKindName;

impl utoipa::PartialSchema for ActionKindName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .description(Some("An action's kind, as the plan contract names it."))
            .into()
    }
}

impl utoipa::ToSchema for ActionKindName {}

/// Work held back, and why.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Held {
    /// The object or action.
    pub what: String,
    /// Why it waits, and what releases it.
    pub why: String,
}

/// `GET /api/v1/drift`: what the last plan found changed, in flight, deferred, and refused.
/// Fields are in alphabetical order, the order the API has always served them in.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DriftReport<'a> {
    /// How many actions the plan has.
    pub actions: usize,
    /// Changes deferred by a runtime condition.
    pub deferred: &'a [String],
    /// Whether the estate differs from the manifests: an object changed, work is in flight,
    /// or a change is deferred.
    pub drift: bool,
    /// The plan's errors (invalid manifests, impossible placements).
    pub errors: &'a [String],
    /// Work the backend carries out that has not settled (a migration in flight).
    pub in_progress: &'a [String],
    /// The objects that differ (unmanaged ones left out), as `plan --format json` lists them.
    #[schema(value_type = Vec<ObjectChangeDocument>)]
    pub objects: Vec<&'a powerplane_model::plan::ObjectChange>,
    /// What the plan covered.
    pub scope: Scope,
    /// The plan's warnings.
    pub warnings: &'a [String],
}

/// An object that differs, as `plan --format json` lists it: the model's `ObjectChange`. A
/// placeholder in utoipa's document, which the API replaces by the schema schemars derives from
/// `ObjectChange` (`api/derived.rs`).
pub struct ObjectChangeDocument;

impl utoipa::PartialSchema for ObjectChangeDocument {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::Object)
            .description(Some("An object that differs, as `plan --format json` lists it (the plan contract's)."))
            .into()
    }
}

impl utoipa::ToSchema for ObjectChangeDocument {}

/// What a plan covered: the plan contract's `scope` ([`crate::render::PlanScope`]).
pub use crate::render::PlanScope as Scope;

/// What `GET /api/v1/events` streams (Server-Sent Events, the variant's name as the event
/// type and the value as JSON data).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum LiveEvent {
    /// A reconcile started.
    ReconcileStarted {
        /// Why.
        reason: String,
    },
    /// A reconcile ended.
    ReconcileEnded(Reconciled),
    /// A plan is ready (its actions may start next).
    Planned {
        /// How many actions it has.
        actions: usize,
        /// Its summary line.
        summary: String,
    },
    /// An action started.
    ActionStarted(InFlight),
    /// An action ended.
    ActionFinished {
        /// Its id in the plan.
        id: String,
        /// Its kind.
        #[schema(value_type = ActionKindName)]
        kind: powerplane_model::ActionKind,
        /// The object it changed.
        object: String,
        /// How it ended.
        outcome: ActionOutcome,
        /// The backend's answer or the error.
        detail: String,
    },
    /// The estate changed outside powerplane.
    DriftFound {
        /// The objects that changed.
        objects: Vec<String>,
    },
}

/// How an action ended, as the event stream and the metrics name it.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActionOutcome {
    /// The backend did it.
    Succeeded,
    /// The backend refused or failed.
    Failed,
    /// Not attempted: an action it depends on failed.
    Skipped,
    /// Not needed: what it would do is already so.
    NotNeeded,
    /// Not started: the controller is stopping.
    NotStarted,
    /// Held back (a maintenance window, a down VIOS).
    Held,
    /// Left running on the hypervisor (the controller stopped waiting for it).
    LeftRunning,
}

impl ActionOutcome {
    /// Its name (`succeeded`, `not_needed`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ActionOutcome::Succeeded => "succeeded",
            ActionOutcome::Failed => "failed",
            ActionOutcome::Skipped => "skipped",
            ActionOutcome::NotNeeded => "not_needed",
            ActionOutcome::NotStarted => "not_started",
            ActionOutcome::Held => "held",
            ActionOutcome::LeftRunning => "left_running",
        }
    }
}

impl LiveEvent {
    /// The SSE event type.
    pub fn name(&self) -> &'static str {
        match self {
            LiveEvent::ReconcileStarted { .. } => "reconcileStarted",
            LiveEvent::ReconcileEnded(_) => "reconcileEnded",
            LiveEvent::Planned { .. } => "planned",
            LiveEvent::ActionStarted(_) => "actionStarted",
            LiveEvent::ActionFinished { .. } => "actionFinished",
            LiveEvent::DriftFound { .. } => "driftFound",
        }
    }
}

impl Default for Live {
    fn default() -> Self {
        Live {
            inner: Default::default(),
            events: broadcast::channel(EVENT_BUFFER).0,
            sync: Notify::new(),
            closing: tokio::sync::watch::channel(false).0,
            steps: Default::default(),
        }
    }
}

impl Live {
    /// The state of a controller reconciling `manifests` against `backend`.
    pub fn new(manifests: String, backend: String, dry_run: bool) -> Arc<Self> {
        let live = Live::default();
        {
            let mut inner = live.inner.write().expect("not poisoned");
            inner.status.manifests = manifests;
            inner.status.backend = backend;
            inner.status.dry_run = dry_run;
        }
        Arc::new(live)
    }

    /// The status now (with whether the loop is stalled, as of now).
    pub fn status(&self) -> Status {
        let mut s = self.inner.read().expect("not poisoned").status.clone();
        s.stalled = self.stalled();
        s
    }

    /// The loop's resync interval: a loop that completes no step for two of them is stalled.
    pub fn set_interval(&self, interval: std::time::Duration) {
        self.steps.lock().expect("not poisoned").interval = Some(interval);
    }

    /// The loop completed a step (it waits for the next event, started or ended a reconcile,
    /// an observation or an action).
    pub fn step(&self) {
        self.steps.lock().expect("not poisoned").last = Some((tokio::time::Instant::now(), crate::time::now()));
    }

    /// An action started that is estimated to run for `d`: the loop waiting for it is not
    /// stalled until `d` has passed (then two intervals more).
    pub fn busy_for(&self, d: std::time::Duration) {
        let until = tokio::time::Instant::now() + d;
        let mut steps = self.steps.lock().expect("not poisoned");
        steps.busy_until = Some(steps.busy_until.map_or(until, |b| b.max(until)));
    }

    /// `Some` when the loop has not completed a step for more than two intervals (counted
    /// from the estimated end of the actions it waits for, when that is later).
    pub fn stalled(&self) -> Option<Stalled> {
        let steps = self.steps.lock().expect("not poisoned");
        let (interval, (at, since)) = (steps.interval?, steps.last.as_ref()?);
        let from = steps.busy_until.map_or(*at, |b| b.max(*at));
        let now = tokio::time::Instant::now();
        (now.saturating_duration_since(from) > interval.saturating_mul(2)).then(|| Stalled {
            since: since.clone(),
            seconds: now.saturating_duration_since(*at).as_secs(),
            interval_seconds: interval.as_secs_f64(),
        })
    }

    /// `/readyz`: `Ok` with what makes it ready, `Err` with why not — the loop is stalled, or
    /// the last observation of the backend failed (or there was none yet).
    pub fn readiness(&self) -> Result<String, String> {
        if let Some(s) = self.stalled() {
            return Err(format!(
                "not ready: the loop is stalled: it has completed no step since {} ({} s, more than two resync intervals of {} s)\n",
                s.since, s.seconds, s.interval_seconds
            ));
        }
        match self.status().last_observation {
            Some(o) if o.ok => Ok(format!("ready: the backend was observed at {}\n", o.at)),
            Some(o) => Err(format!(
                "not ready: the last observation ({}) failed: {}\n",
                o.at,
                o.error.as_deref().unwrap_or("unknown error")
            )),
            None => Err("not ready: the backend has not been observed yet\n".to_owned()),
        }
    }

    /// Changes the status.
    pub fn update(&self, f: impl FnOnce(&mut Status)) {
        f(&mut self.inner.write().expect("not poisoned").status);
    }

    /// Tells every event stream.
    pub fn publish(&self, e: LiveEvent) {
        // No subscriber is fine: nobody looks.
        let _ = self.events.send(e);
    }

    /// A new event stream.
    pub fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.events.subscribe()
    }

    /// The last observation, `{"meta": …, "estate": …}` (the stored snapshot's metadata).
    pub fn observed(&self) -> Option<Document> {
        self.inner.read().expect("not poisoned").observed.clone()
    }

    /// The desired state the loop reconciles to.
    pub fn desired(&self) -> Option<Document> {
        self.inner.read().expect("not poisoned").desired.clone()
    }

    /// The current plan (the JSON plan contract).
    pub fn plan(&self) -> Option<Document> {
        self.inner.read().expect("not poisoned").plan.clone()
    }

    /// The current drift report.
    pub fn drift(&self) -> Option<Document> {
        self.inner.read().expect("not poisoned").drift.clone()
    }

    /// Sets the last observation: the snapshot's metadata and the estate's JSON as stored.
    pub fn set_observed(&self, meta: &crate::store::snapshot::Meta, estate_json: &[u8]) {
        let meta = serde_json::to_vec(meta).expect("metadata serializes");
        let mut doc = Vec::with_capacity(estate_json.len() + meta.len() + 24);
        doc.extend_from_slice(b"{\"meta\":");
        doc.extend_from_slice(&meta);
        doc.extend_from_slice(b",\"estate\":");
        doc.extend_from_slice(estate_json);
        doc.push(b'}');
        self.inner.write().expect("not poisoned").observed = Some(doc.into());
    }

    /// Sets the desired state.
    pub fn set_desired(&self, doc: Vec<u8>) {
        self.inner.write().expect("not poisoned").desired = Some(doc.into());
    }

    /// Sets the current plan and drift report.
    pub fn set_plan(&self, plan: Vec<u8>, drift: Vec<u8>) {
        let mut inner = self.inner.write().expect("not poisoned");
        inner.plan = Some(plan.into());
        inner.drift = Some(drift.into());
    }

    /// Ends every event stream (the server is stopping).
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Resolves when the server stops.
    pub async fn closed(&self) {
        let mut rx = self.closing.subscribe();
        let _ = rx.wait_for(|c| *c).await;
    }

    /// Asks the loop to reconcile now.
    pub fn request_sync(&self) {
        self.sync.notify_one();
    }

    /// Resolves when a sync was requested.
    pub async fn sync_requested(&self) {
        self.sync.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_observed_document_is_the_snapshot_and_its_metadata() {
        let live = Live::default();
        let meta = crate::store::snapshot::Meta {
            observed_at: "2026-12-01T00:00:00Z".into(),
            source: "observe (watch)".into(),
            fingerprint: "ab".into(),
        };
        live.set_observed(&meta, br#"{"frames":{}}"#);
        let v: serde_json::Value = serde_json::from_slice(&live.observed().unwrap()).unwrap();
        assert_eq!(v["meta"]["source"], "observe (watch)");
        assert_eq!(v["estate"]["frames"], serde_json::json!({}));
    }

    /// Virtual time: a loop that completes no step for more than two intervals is stalled and
    /// not ready; a step makes it ready again.
    #[tokio::test(start_paused = true)]
    async fn a_loop_without_a_step_for_two_intervals_is_stalled_and_not_ready() {
        let live = Live::default();
        live.set_interval(std::time::Duration::from_secs(30));
        live.update(|s| {
            s.last_observation = Some(Observation { at: "2026-12-07T04:00:00Z".into(), ok: true, error: None })
        });
        live.step();
        assert!(live.readiness().is_ok());
        tokio::time::advance(std::time::Duration::from_secs(60)).await;
        assert!(live.stalled().is_none(), "two intervals exactly: not yet");
        assert!(live.readiness().is_ok());
        tokio::time::advance(std::time::Duration::from_secs(1)).await;
        let stalled = live.status().stalled.expect("stalled after more than two intervals");
        assert_eq!((stalled.seconds, stalled.interval_seconds), (61, 30.0));
        let why = live.readiness().unwrap_err();
        assert!(why.contains("stalled") && why.contains("61 s"), "{why}");
        live.step();
        assert!(live.readiness().is_ok() && live.status().stalled.is_none());
        // A migration estimated at 5 minutes: waiting for it is work, until its estimate and
        // two intervals more have passed.
        live.busy_for(std::time::Duration::from_secs(300));
        tokio::time::advance(std::time::Duration::from_secs(300)).await;
        assert!(live.stalled().is_none(), "within the action's estimate");
        tokio::time::advance(std::time::Duration::from_secs(61)).await;
        assert_eq!(live.stalled().expect("stuck past its estimate").seconds, 361);
    }

    #[test]
    fn an_outcome_is_named_as_it_is_served() {
        use ActionOutcome::*;
        for o in [Succeeded, Failed, Skipped, NotNeeded, NotStarted, Held, LeftRunning] {
            assert_eq!(serde_json::to_value(o).unwrap(), o.as_str());
        }
    }

    #[test]
    fn an_action_kind_is_served_as_it_was_displayed() {
        for &k in powerplane_model::ActionKind::ALL {
            let f = InFlight {
                id: "a1".into(),
                kind: k,
                object: "Partition/p".into(),
                command: "chsyscfg".into(),
                since: "2026-12-07T00:00:00Z".into(),
            };
            assert_eq!(serde_json::to_value(&f).unwrap()["kind"], k.to_string());
            let back: InFlight = serde_json::from_value(serde_json::to_value(&f).unwrap()).unwrap();
            assert_eq!(back, f);
        }
    }

    #[tokio::test]
    async fn events_reach_every_subscriber_and_a_sync_request_wakes_the_loop() {
        let live = Live::default();
        let (mut a, mut b) = (live.subscribe(), live.subscribe());
        live.publish(LiveEvent::ReconcileStarted { reason: "resync".into() });
        assert_eq!(a.recv().await.unwrap().name(), "reconcileStarted");
        assert_eq!(b.recv().await.unwrap(), LiveEvent::ReconcileStarted { reason: "resync".into() });
        live.request_sync();
        tokio::time::timeout(std::time::Duration::from_secs(5), live.sync_requested()).await.unwrap();
    }
}
