//! # powerplane-controller
//!
//! Everything of powerplane that has side effects; the pure domain logic (manifests, the
//! planner) lives in `powerplane-model`. The modules, from the top down (each uses only those
//! below it):
//!
//! - [`cli`]: the `powerplane` command line; each subcommand parses, calls [`app`], and renders
//!   what it returns (text, JSON, exit codes).
//! - [`app`]: what the commands and the loop share: opening the backend, the one reconcile
//!   pass (each steers it its way), the audit trail's verdict.
//! - [`watch`]: the controller loop; [`api`]: its HTTP API. Both meet only in [`status`] (what
//!   the loop publishes and the API, the metrics and the UI read); the command line starts both.
//! - [`engine`], [`windows`], [`rehearsal`]: running a plan; [`backend`]: the `Hypervisor`
//!   trait and HMCs over SSH; [`sim`]: the simulated PowerVM estate and its HMC emulator;
//!   [`store`]: the state directory (snapshot, audit trail, locks); [`manifest_dir`],
//!   [`saved_plan`], [`render`], [`env`]: reading manifests, plan files, output, variables.
//!
//! `layering.rs` (a test) checks that no module imports what its layer forbids and that no
//! two top-level modules import each other.

#![warn(missing_docs)]
#![warn(unreachable_pub)]

pub mod api;
pub mod app;
pub mod backend;
pub mod cli;
pub mod clock;
mod digest;
pub mod engine;
pub mod env;
mod git;
#[cfg(test)]
mod layering;
mod logging;
pub mod manifest_dir;
pub mod rehearsal;
pub mod render;
pub mod saved_plan;
mod say;
pub mod signals;
pub mod sim;
pub mod status;
pub mod store;
pub mod time;
pub mod watch;
pub mod windows;
mod words;
