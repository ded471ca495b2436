//! Hypervisor backends: what powerplane observes and changes. This module holds the
//! [`Hypervisor`] trait with its [`Completion`] and [`BackendError`], the selection of the
//! backend a command runs against ([`Backend`]: the simulator or HMCs), the waits for a
//! power state both backends share (`power_wait`), the cluster commands run on nodes over SSH
//! (`node`) and the HMC backend (`hmc`: the listings' parser, the observation and the
//! transport over SSH; command lines are rendered in the model). The simulated estate, which
//! implements [`Hypervisor`] too, lives in [`crate::sim`]; `hmc` uses it only in its tests.

pub mod hmc;
pub mod node;
pub(crate) mod power_wait;

use std::future::Future;
use std::time::Duration;

use std::collections::BTreeSet;

use powerplane_model::plan::Rates;
use powerplane_model::{Action, Estate, FrameName};

/// A hypervisor: observe what exists, execute one action at a time. Actions are idempotent
/// enough to be retried after a transient failure (DESIGN §6).
pub trait Hypervisor {
    /// The whole observed estate: configuration, physical facts and runtime status.
    fn observe(&self) -> impl Future<Output = Result<Estate, BackendError>> + Send;
    /// Some frames only (the controller's scoped re-plan after a small change): those frames,
    /// their physical facts, VIOS, SEAs, pools and partitions with their status. A real HMC
    /// lists one managed system at a time, so this is the cheap observation.
    fn observe_frames(&self, frames: &BTreeSet<FrameName>)
    -> impl Future<Output = Result<Estate, BackendError>> + Send;
    /// Executes one action.
    fn execute(&self, action: &Action) -> impl Future<Output = Result<Completion, BackendError>> + Send;
    /// How long actions take here, for a plan's estimate (the defaults: an HMC's typical
    /// times).
    fn rates(&self) -> impl Future<Output = Rates> + Send {
        async { Rates::default() }
    }
}

/// What a successful action did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Completion {
    /// What the HMC would answer, in one line.
    pub message: String,
    /// How long it took on the backend's clock (virtual time for the simulator).
    pub duration: Duration,
    /// For a migration: how long the partition was unresponsive at the switch-over, when the
    /// backend measures it (cluster members compare it with what their cluster declares).
    pub suspended: Option<Duration>,
}

/// Why a backend call failed. [`BackendError::is_transient`] separates what a retry may fix
/// (lost RMC connection, busy) from what it will not (a refused change, with the HMC's code).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// The HMC refused the change, e.g. `HSCLA304` for a migration without a suitable shared
    /// memory pool. Retrying will not help until something changes.
    #[error("{}{message}", code.as_ref().map(|c| format!("{c} ")).unwrap_or_default())]
    Refused {
        /// The HMC message code, when the HMC gives one.
        code: Option<String>,
        /// The HMC's explanation.
        message: String,
    },
    /// Temporarily impossible (RMC connection lost, resource busy); retry later.
    #[error("temporarily unavailable: {0}")]
    Transient(String),
    /// The action did not finish in time; its effect is unknown until the next observe.
    #[error("timed out after {0:?}; observe again to learn whether it took effect")]
    Timeout(Duration),
    /// The backend itself failed (its state could not be read or written).
    #[error("backend failure: {what}")]
    Internal {
        /// What failed; when it has a cause, the cause's message ends it (the text reads as
        /// it did before the cause was kept).
        what: String,
        /// The failure underneath (the journal's I/O error, a task that panicked), when
        /// there is one.
        #[source]
        source: Option<Cause>,
    },
}

/// The failure underneath a [`BackendError::Internal`], shared so that the error stays
/// `Clone`; two causes are equal when their messages are (an `std::error::Error` has no
/// equality of its own).
#[derive(Clone, Debug)]
pub struct Cause(std::sync::Arc<dyn std::error::Error + Send + Sync>);

impl Cause {
    /// The error underneath.
    pub fn get(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.0
    }
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for Cause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl PartialEq for Cause {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_string() == other.0.to_string()
    }
}

impl Eq for Cause {}

impl BackendError {
    /// Whether retrying the same action later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, BackendError::Transient(_) | BackendError::Timeout(_))
    }

    /// A failure of the backend itself that has no error underneath.
    pub(crate) fn internal(what: impl Into<String>) -> Self {
        BackendError::Internal { what: what.into(), source: None }
    }

    /// A failure of the backend itself caused by `cause`: the message is `context` followed
    /// by the cause's message (`context: cause`, or the cause's message alone when `context`
    /// is empty), and the cause is kept as the error's source.
    pub(crate) fn caused(context: &str, cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        let what = if context.is_empty() { cause.to_string() } else { format!("{context}: {cause}") };
        BackendError::Internal { what, source: Some(Cause(std::sync::Arc::new(cause))) }
    }

    /// A refusal for which the HMC prints no code.
    pub(crate) fn refused_plain(message: impl Into<String>) -> Self {
        BackendError::Refused { code: None, message: message.into() }
    }
}
