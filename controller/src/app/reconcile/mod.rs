//! One reconcile pass, used by `apply` and the controller loop (`watch`, and the API's
//! `POST /api/v1/sync`, which wakes the loop): observe, plan, review, gate by the maintenance
//! windows, execute with the audit trail, observe again, record, and judge convergence. The
//! sequence is [`Pass::run`]'s and nobody else's; what differs between the callers is a
//! [`Steer`]: how each observes (apply waits for work in flight, the loop observes an edit's
//! scope), what each shows (apply prints and asks, the loop publishes), and how each reports
//! the end. Decisions come back as values ([`Convergence`], [`Gated`], the executor's report),
//! in the shape of kube-runtime's reconcilers: I/O at the edges.

mod convergence;
mod gate;
#[cfg(test)]
mod pass_tests;
mod settle;

pub use convergence::Convergence;
pub use gate::{Gated, Override};
pub use settle::settle;

use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;

use powerplane_model::{Estate, Plan, PlanOptions};
use tracing::{Instrument, Span};

use crate::app::backend::Backend;
use crate::clock::WallClock;
use crate::engine::{self, Context, ExecuteError, Progress, Report, Settings, Stop};
use crate::store::writer::AuditWriter;

/// Where the desired state was read, for the provenance the audit trail records.
#[derive(Clone, Copy, Debug)]
pub enum Source<'a> {
    /// The manifests as committed at this commit (`--git-ref`): clean by definition.
    Commit(&'a str),
    /// The manifest directory's working tree: its HEAD commit and whether it has uncommitted
    /// changes, when it is in a git repository.
    Tree(&'a Path),
}

impl Source<'_> {
    /// The commit and whether the tree was dirty; `(None, None)` outside git.
    pub fn provenance(self) -> (Option<String>, Option<bool>) {
        match self {
            Source::Commit(c) => (Some(c.to_owned()), Some(false)),
            Source::Tree(dir) => crate::git::provenance(dir).map_or((None, None), |(c, d)| (Some(c), Some(d))),
        }
    }
}

/// The id of a plan `apply` runs: named after the state it was made against (the stored
/// observation's fingerprint), so that `plan --out` and the apply of it agree.
pub fn sealed_plan_id(fingerprint: &str) -> String {
    format!("plan-{}", short(fingerprint))
}

/// The id of a plan the controller loop runs: when it started.
pub fn loop_plan_id() -> String {
    format!("watch-{}", crate::time::now())
}

/// The first 12 hex digits of a `sha256:` digest.
pub fn short(digest: &str) -> &str {
    let d = digest.strip_prefix("sha256:").unwrap_or(digest);
    d.get(..12).unwrap_or(d)
}

/// The time maintenance windows are read at: `clock`'s (a set clock moves with the
/// simulator's virtual time); the system's if a set clock moved beyond the times it can tell.
pub fn clock(clock: &WallClock, backend: &Backend) -> jiff::Timestamp {
    clock.now(backend.now_ms()).unwrap_or_else(|_| jiff::Timestamp::now())
}

/// Waits from `now` until `opens` (a maintenance window opening) on `clock`: on the
/// simulator's virtual time when the clock is set (`POWERPLANE_NOW`), else on the runtime's.
pub async fn until(clock: &WallClock, backend: &Backend, opens: jiff::Timestamp, now: jiff::Timestamp) {
    let wait = std::time::Duration::try_from(opens.duration_since(now)).unwrap_or(std::time::Duration::ZERO);
    if clock.is_set() {
        backend.sleep(wait).await;
    } else {
        tokio::time::sleep(wait).await;
    }
}

/// [`Source::provenance`], with `git` run on a blocking thread, off the runtime's workers.
async fn provenance(source: Source<'_>) -> (Option<String>, Option<bool>) {
    let Source::Tree(dir) = source else { return source.provenance() };
    let dir = dir.to_path_buf();
    match tokio::task::spawn_blocking(move || Source::Tree(&dir).provenance()).await {
        Ok(found) => found,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        // The runtime is shutting down: there is no provenance to record.
        Err(_) => (None, None),
    }
}

/// What every pass shares: the backend, the desired state, how plans are made and run, and
/// where the desired state came from.
pub struct Pass<'a> {
    /// The backend it observes and changes.
    pub backend: &'a Backend,
    /// The desired state (the windows govern its frames).
    pub desired: &'a Estate,
    /// How plans are made (the backend's rates, the run's limits).
    pub options: PlanOptions,
    /// How the plan runs: actions at once, per frame, retries.
    pub settings: Settings,
    /// Where the desired state was read.
    pub source: Source<'a>,
    /// Run what the windows hold, on record (`apply --ignore-windows`).
    pub overrides: Option<Override<'a>>,
    /// Stop requests (a signal, the loop's shutdown).
    pub stop: Option<tokio::sync::watch::Receiver<Stop>>,
    /// The wall clock the windows are read on.
    pub clock: WallClock,
}

/// A plan made from an observation, and the id it runs under.
#[derive(Debug)]
pub struct Planned {
    /// The plan.
    pub plan: Plan,
    /// Its id in the audit trail ([`sealed_plan_id`], [`loop_plan_id`]).
    pub id: String,
}

/// What differs between the callers of a pass, step by step. A step that answers
/// [`ControlFlow::Break`] ends the pass with the caller's result.
#[allow(async_fn_in_trait)]
pub trait Steer {
    /// What the caller makes of a pass (an exit code, a published status).
    type Out;

    /// Observes the estate and plans the desired state against it.
    async fn observe(&mut self, pass: &Pass<'_>) -> anyhow::Result<ControlFlow<Self::Out, Planned>>;

    /// The desired state's maintenance windows could not be resolved: nothing runs.
    fn unresolved_windows(&mut self, error: crate::windows::WindowError) -> anyhow::Result<Self::Out>;

    /// The plan as made, before the windows: shown or published; ends the pass when there is
    /// nothing to run (errors, no actions, a dry run). May take out what must wait.
    async fn review(&mut self, pass: &Pass<'_>, planned: Planned) -> anyhow::Result<ControlFlow<Self::Out, Planned>>;

    /// The plan after the windows: what is held is shown; the last word before anything runs
    /// (a rehearsal, a confirmation).
    async fn gated(&mut self, pass: &Pass<'_>, gated: &Gated, id: &str) -> anyhow::Result<ControlFlow<Self::Out>>;

    /// Who hears of actions starting and ending while the plan runs.
    fn progress(&mut self, plan: &Plan) -> Arc<dyn Progress>;

    /// The plan ran: observe again, record, and say whether the estate converged.
    async fn executed(&mut self, pass: &Pass<'_>, gated: Gated, report: Report) -> anyhow::Result<Self::Out>;
}

impl Pass<'_> {
    /// Runs the pass, steered by `steer`, with the audit trail written through `writer`. Its
    /// log lines carry the `reconcile` span: the plan's id and the commit it was made from,
    /// which join them to the audit trail's records.
    pub async fn run<S: Steer>(&self, steer: &mut S, writer: &AuditWriter) -> anyhow::Result<S::Out> {
        let commit = match self.source {
            Source::Commit(c) => Some(c),
            Source::Tree(_) => None,
        };
        let span = tracing::info_span!("reconcile", plan_id = tracing::field::Empty, commit);
        self.steps(steer, writer, &span).instrument(span.clone()).await
    }

    async fn steps<S: Steer>(&self, steer: &mut S, writer: &AuditWriter, span: &Span) -> anyhow::Result<S::Out> {
        let planned = match steer.observe(self).await? {
            ControlFlow::Continue(p) => p,
            ControlFlow::Break(out) => return Ok(out),
        };
        span.record("plan_id", planned.id.as_str());
        let windows = match crate::windows::resolve(self.desired) {
            Ok(w) => w,
            Err(e) => return steer.unresolved_windows(e),
        };
        let Planned { plan, id } = match steer.review(self, planned).await? {
            ControlFlow::Continue(p) => p,
            ControlFlow::Break(out) => return Ok(out),
        };
        let now = clock(&self.clock, self.backend);
        let gated = gate::gate(plan, self.desired, windows, now, self.overrides, (writer, &id)).await?;
        if let ControlFlow::Break(out) = steer.gated(self, &gated, &id).await? {
            return Ok(out);
        }
        let progress = steer.progress(&gated.plan);
        // Each action's log lines name the plan and the commit, as its audit records do (the
        // commit of a working tree is recorded when its provenance is taken).
        let actions = gated.plan.actions.len();
        let execute = tracing::info_span!("execute", plan_id = id.as_str(), commit = tracing::field::Empty, actions);
        let report = self.execute(&gated, id, writer, progress).instrument(execute).await?;
        steer.executed(self, gated, report).await
    }

    /// Runs the gated plan with the audit trail, telling `progress` as actions start and end.
    /// As each action becomes ready the windows are asked again (unless overridden): a plan
    /// that began inside one starts nothing it would overrun.
    async fn execute(
        &self,
        gated: &Gated,
        plan_id: String,
        writer: &AuditWriter,
        progress: Arc<dyn Progress>,
    ) -> Result<Report, ExecuteError> {
        let plan = &gated.plan;
        let (commit, dirty) = provenance(self.source).await;
        if let Some(c) = &commit {
            Span::current().record("commit", c.as_str());
        }
        let gate = match self.overrides {
            Some(_) => None,
            None => {
                let (backend, wall) = (self.backend.clone(), self.clock.clone());
                crate::windows::start_gate(self.desired, gated.windows.clone(), plan, move || clock(&wall, &backend))
            }
        };
        let ctx = Context { stop: self.stop.clone(), plan_id, commit, dirty, gate };
        engine::execute(self.backend.clone(), plan, &ctx, self.settings, writer, progress).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_id_names_the_first_twelve_digits_of_the_state() {
        assert_eq!(sealed_plan_id("sha256:0123456789abcdef"), "plan-0123456789ab");
        assert_eq!(sealed_plan_id("abc"), "plan-abc");
        assert!(loop_plan_id().starts_with("watch-"));
    }

    #[test]
    fn a_committed_source_is_clean_and_a_tree_outside_git_has_no_provenance() {
        assert_eq!(Source::Commit("c0ffee").provenance(), (Some("c0ffee".to_owned()), Some(false)));
        let d = tempfile::tempdir().unwrap();
        assert_eq!(Source::Tree(d.path()).provenance(), (None, None));
    }
}
