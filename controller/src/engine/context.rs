//! What a run is told and tells: who and what its audit records are about, when to stop
//! ([`Context`]), which actions may not start now ([`Gate`]), and its [`Progress`].

use std::sync::Arc;

use powerplane_model::Action;

use super::{Outcome, Stop};

/// Told about progress (a progress bar on a terminal, log lines otherwise).
pub trait Progress: Send + Sync {
    /// An action's intent is recorded and its backend call starts.
    fn started(&self, action: &Action);
    /// An action ended.
    fn finished(&self, action: &Action, outcome: &Outcome);
}

/// Who and what the audit records are about, and when to stop.
#[derive(Clone, Debug, Default)]
pub struct Context {
    /// Stop requests: at [`Stop::Drain`] no further action starts and running ones finish and
    /// are recorded; at [`Stop::Abandon`] running ones are recorded as left running.
    pub stop: Option<tokio::sync::watch::Receiver<Stop>>,
    /// The plan's id.
    pub plan_id: String,
    /// The manifests' git commit.
    pub commit: Option<String>,
    /// Uncommitted changes in the manifests' working tree.
    pub dirty: Option<bool>,
    /// Asked as each action becomes ready: a reason means it must not start now (a
    /// maintenance window it would overrun); it is then held, with that reason.
    pub gate: Option<Gate>,
}

/// The function behind a [`Gate`]: `Some(reason)` holds the action.
type GateFn = dyn Fn(&Action) -> Option<String> + Send + Sync;

/// A check of whether an action may start now (see [`Context::gate`]).
#[derive(Clone)]
pub struct Gate(Arc<GateFn>);

impl Gate {
    /// A gate from a function: `Some(reason)` holds the action.
    pub fn new(f: impl Fn(&Action) -> Option<String> + Send + Sync + 'static) -> Self {
        Gate(Arc::new(f))
    }

    /// Why `action` must not start now, if it must not.
    pub fn check(&self, action: &Action) -> Option<String> {
        (self.0)(action)
    }
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Gate")
    }
}
