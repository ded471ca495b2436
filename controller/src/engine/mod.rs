//! The engine: runs a plan through a backend (DESIGN §6).
//!
//! - [`check`]: a plan is a DAG of unique ids before anything starts ([`check_plan`]).
//! - [`run`]: the execute loop doing the I/O — backend calls, audit records, progress. What
//!   may start and what a settled action makes ready or skipped is decided by the model's
//!   pure run state ([`powerplane_model::plan::run`]).
//! - [`retry`]: transient failures retried with exponential backoff (backon) and
//!   deterministic jitter.
//! - [`outcome`]: how each action ended ([`Outcome`]) and the [`Report`].
//! - [`settings`]: limits and retry policy ([`Settings`]).
//! - [`context`]: what a run is told ([`Context`], [`Gate`]) and tells ([`Progress`]).
//! - [`shutdown`]: stop requests ([`Stop`]): drain, then abandon.
//! - `hooks`: site hooks (`preMigrate`, `postMigrate`, `onFailure`) run on this machine.
//!
//! The audit trail's durable writer is the store's ([`crate::store::writer`]).

pub mod check;
pub mod context;
mod hooks;
pub mod outcome;
mod retry;
pub mod run;
#[cfg(test)]
mod run_tests;
pub mod settings;
pub mod shutdown;

pub use check::{MalformedPlan, check_plan};
pub use context::{Context, Gate, Progress};
pub use outcome::{Outcome, Report};
pub use run::{ExecuteError, close_dangling, execute};
pub use settings::Settings;
pub use shutdown::{Stop, stop_at};
