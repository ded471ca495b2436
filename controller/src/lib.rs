//! # powerplane-controller
//!
//! Everything of powerplane that has side effects: the `powerplane` command line, reading
//! manifest directories, and (as they land) the backends, the executor, the store and the
//! controller loop. The pure domain logic lives in `powerplane-model`.

#![warn(missing_docs)]

pub mod api;
pub mod app;
pub mod backend;
pub mod cli;
mod digest;
pub mod env;
pub mod executor;
mod git;
mod hooks;
mod logging;
pub mod manifest_dir;
pub mod rehearsal;
pub mod render;
pub mod saved_plan;
pub mod signals;
pub mod status;
pub mod store;
pub mod time;
pub mod watch;
pub mod windows;
mod words;
