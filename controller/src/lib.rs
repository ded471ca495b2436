//! # powerplane-controller
//!
//! Everything of powerplane that has side effects: the `powerplane` command line (`cli`),
//! reading manifest directories (`manifest_dir`), the backends (`backend`: the `Hypervisor`
//! trait, the backend selection and the HMC backend over SSH), the simulated PowerVM estate
//! and its HMC emulator (`sim`), the executor, the store and the controller loop (`watch`,
//! `api`). The pure domain logic lives in `powerplane-model`.

#![warn(missing_docs)]

pub mod api;
pub mod backend;
pub mod cli;
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
pub mod signals;
pub mod sim;
pub mod store;
pub mod time;
pub mod watch;
pub mod windows;
mod words;
