//! A rehearsal on a digital twin: before a plan reaches the real backend (an HMC), it runs on
//! a scratch simulator loaded with the observed estate — physical facts, configuration and
//! runtime state ([`crate::sim::twin`]) — on virtual time, with the real executor.
//! The report says what the simulated HMC refused, how long the plan took on the twin's clock
//! and whether the estate then matched the manifests. `apply --rehearse` sends nothing to the
//! backend unless the rehearsal converged.

use std::sync::Arc;
use std::time::Duration;

use powerplane_model::{Action, Estate, Plan, PlanOptions};

use crate::backend::Hypervisor;
use crate::engine::{self, Context, Outcome, Progress};
use crate::sim::{self, Clock, Simulator, StateDir};
use crate::store::audit::AuditLog;
use crate::store::writer::AuditWriter;

/// What a rehearsal found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Rehearsal {
    /// Actions the plan had.
    pub actions: usize,
    /// Those that succeeded on the twin.
    pub succeeded: usize,
    /// Those the simulated HMC refused: id, kind, object and its answer.
    pub refused: Vec<Refusal>,
    /// Those not run because one they depend on failed, or held.
    pub not_run: usize,
    /// How long the plan took on the twin's virtual clock (its makespan).
    #[serde(serialize_with = "secs")]
    pub duration: Duration,
    /// Whether the twin then matched the manifests with nothing in flight.
    pub converged: bool,
    /// What a plan made on the twin afterwards still has: actions, deferred moves, errors.
    pub remaining: Vec<String>,
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// One action the twin refused.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Refusal {
    /// Its id.
    pub id: String,
    /// Its kind.
    pub kind: String,
    /// What it acts on.
    pub object: String,
    /// What the simulated HMC answered.
    pub error: String,
}

struct Quiet;

impl Progress for Quiet {
    fn started(&self, _: &Action) {}
    fn finished(&self, _: &Action, _: &Outcome) {}
}

/// Runs `plan` on a twin of `observed` and plans `desired` against the result.
pub async fn rehearse(
    observed: &Estate,
    desired: &Estate,
    plan: &Plan,
    options: PlanOptions,
    settings: engine::Settings,
) -> anyhow::Result<Rehearsal> {
    let state = sim::twin(observed, 0).map_err(|d| {
        let first: Vec<String> = d.iter().take(3).map(ToString::to_string).collect();
        anyhow::anyhow!("the observed estate cannot be loaded into a simulator: {}", first.join("; "))
    })?;
    let twin = Simulator::new(state, None, Clock::new(0.0));
    // The executor records as it runs; the twin's records go to a scratch trail.
    let scratch = tempfile::tempdir()?;
    let dir = StateDir::open(&scratch.path().join("state"))?;
    let log = AuditLog::open_signed(&dir, None)?;
    let writer = AuditWriter::start(log);
    let ctx = Context { plan_id: "rehearsal".into(), ..Default::default() };
    let start = twin.now_ms();
    let report = engine::execute(twin.clone(), plan, &ctx, settings, &writer, Arc::new(Quiet)).await?;
    let duration = Duration::from_millis(twin.now_ms().saturating_sub(start));
    drop(writer);
    let after = twin.observe().await?;
    let again = powerplane_model::plan(desired, &after, options);
    let mut refused = Vec::new();
    let (mut succeeded, mut not_run) = (0, 0);
    for (a, o) in &report.results {
        match o {
            Outcome::Succeeded { .. } | Outcome::NotNeeded => succeeded += 1,
            Outcome::Failed { error, .. } => refused.push(Refusal {
                id: a.id.to_string(),
                kind: a.kind().to_string(),
                object: a.op.object(),
                error: error.to_string(),
            }),
            _ => not_run += 1,
        }
    }
    let mut remaining: Vec<String> =
        again.actions.iter().map(|a| format!("{} {}: {}", a.kind(), a.op.object(), a.reason)).collect();
    remaining.extend(again.deferred.iter().map(|d| format!("deferred: {d}")));
    remaining.extend(again.errors.iter().map(|e| format!("error: {e}")));
    let converged = report.all_succeeded() && again.is_empty() && again.errors.is_empty();
    Ok(Rehearsal { actions: plan.actions.len(), succeeded, refused, not_run, duration, converged, remaining })
}

impl Rehearsal {
    /// The report, for people.
    pub fn render(&self) -> String {
        let mut out = format!(
            "Rehearsal on a digital twin of the observed estate: {} of {} actions succeeded in {} of virtual time; {}.\n",
            self.succeeded,
            self.actions,
            crate::time::human(self.duration),
            if self.converged { "the estate then matches the manifests" } else { "it did NOT converge" }
        );
        for r in &self.refused {
            out.push_str(&format!("  x {} {} {}: refused by the simulated HMC: {}\n", r.id, r.kind, r.object, r.error));
        }
        if self.not_run > 0 {
            out.push_str(&format!("  - {} action(s) not run (what they depend on failed)\n", self.not_run));
        }
        for l in &self.remaining {
            out.push_str(&format!("  remains: {l}\n"));
        }
        out
    }
}
