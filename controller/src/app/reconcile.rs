//! The execution step of a reconcile pass, shared by `apply` and the controller loop
//! (`watch`, and the API's `POST /api/v1/sync`, which wakes the loop): the manifests' git
//! provenance is taken, the plan gets its id, the maintenance windows are asked again as each
//! action becomes ready (on the clock windows read: the system's, or a set one moving with the
//! simulator), and the plan runs with the audit trail. What each caller does around it
//! (observing, planning, confirming, settling, publishing) stays its own, and so does how it
//! reports the result: the pass returns the executor's report as a value.

use std::path::Path;
use std::sync::Arc;

use powerplane_model::{Estate, Plan};

use crate::app::backend::Backend;
use crate::clock::WallClock;
use crate::engine::{self, Context, ExecuteError, Progress, Report, Settings, Stop};
use crate::store::writer::AuditWriter;
use crate::windows::Window;

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

/// How a plan is run.
pub struct Run<'a> {
    /// The backend it runs on.
    pub backend: &'a Backend,
    /// The desired state it was planned from (the windows govern its frames).
    pub desired: &'a Estate,
    /// The maintenance windows asked as each action becomes ready; `None` when they are
    /// overridden (`apply --ignore-windows`, on record).
    pub windows: Option<Vec<Window>>,
    /// Where the desired state was read.
    pub source: Source<'a>,
    /// The plan's id ([`sealed_plan_id`], [`loop_plan_id`]).
    pub plan_id: String,
    /// Stop requests (a signal, the loop's shutdown).
    pub stop: Option<tokio::sync::watch::Receiver<Stop>>,
    /// The wall clock the windows are read on.
    pub clock: WallClock,
}

impl Run<'_> {
    /// Runs `plan` with the audit trail, telling `progress` as actions start and end.
    pub async fn execute(
        self,
        plan: &Plan,
        settings: Settings,
        writer: &AuditWriter,
        progress: Arc<dyn Progress>,
    ) -> Result<Report, ExecuteError> {
        let (commit, dirty) = provenance(self.source).await;
        // As each action becomes ready, the windows are asked again: a plan that began inside
        // one starts nothing it would overrun.
        let gate = self.windows.and_then(|windows| {
            let (backend, wall) = (self.backend.clone(), self.clock);
            crate::windows::start_gate(self.desired, windows, plan, move || clock(&wall, &backend))
        });
        let ctx = Context { stop: self.stop, plan_id: self.plan_id, commit, dirty, gate };
        engine::execute(self.backend.clone(), plan, &ctx, settings, writer, progress).await
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
