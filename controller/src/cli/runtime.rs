//! The process's tokio runtime, built in this one place and handed to the commands. It is
//! built the first time a command asks for it, so a command that needs none (`validate`,
//! `schema`, `audit`, a `status` with no controller running) never pays for one, and its shape
//! is the command's: the commands that run work side by side (`apply`, `watch`, the HMC
//! emulator's `sim hmc-serve`) get two workers, one per core of the machines powerplane runs
//! on; the others make one request at a time and run on the calling thread.
//!
//! `watch` has a second runtime for its API ([`Runtime::api`]), built here too: the API has
//! threads of its own, so a client streaming the estate document (megabytes on a large estate)
//! or a burst of status requests never holds up the loop's next step.

use std::future::Future;
use std::sync::OnceLock;

use super::Command;

/// How many threads a command's runtime runs its tasks on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// On the thread that calls [`Runtime::block_on`]: one request at a time.
    CallingThread,
    /// On two workers.
    TwoWorkers,
}

/// The runtime a command runs its asynchronous work on, built when first asked for.
#[derive(Debug)]
pub(crate) struct Runtime {
    /// The shape its command needs.
    shape: Shape,
    /// The runtime, once built.
    built: OnceLock<tokio::runtime::Runtime>,
}

impl Runtime {
    /// The runtime `command` needs (not built yet).
    pub(crate) fn for_command(command: &Command) -> Runtime {
        let shape = match command {
            Command::Apply(_) | Command::Watch(_) => Shape::TwoWorkers,
            Command::Sim(args) if args.serves_sessions() => Shape::TwoWorkers,
            _ => Shape::CallingThread,
        };
        Runtime { shape, built: OnceLock::new() }
    }

    /// The runtime, built now if it was not yet.
    pub(crate) fn get(&self) -> std::io::Result<&tokio::runtime::Runtime> {
        if let Some(rt) = self.built.get() {
            return Ok(rt);
        }
        let rt = match self.shape {
            Shape::CallingThread => tokio::runtime::Builder::new_current_thread().enable_all().build()?,
            Shape::TwoWorkers => tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?,
        };
        Ok(self.built.get_or_init(|| rt))
    }

    /// Runs `f` to its end on the runtime (built now if it was not yet).
    pub(crate) fn block_on<F: Future>(&self, f: F) -> std::io::Result<F::Output> {
        Ok(self.get()?.block_on(f))
    }

    /// `watch`'s API runtime: two workers of its own, named `powerplane-api`, beside the
    /// loop's (see the module's documentation). The caller shuts it down when the API has
    /// stopped.
    pub(crate) fn api(&self) -> std::io::Result<tokio::runtime::Runtime> {
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).thread_name("powerplane-api").enable_all().build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn runtime(words: &[&str]) -> Runtime {
        let cli =
            super::super::Cli::try_parse_from(std::iter::once("powerplane").chain(words.iter().copied())).unwrap();
        Runtime::for_command(&cli.command)
    }

    #[test]
    fn a_command_that_asks_for_no_runtime_builds_none() {
        let rt = runtime(&["validate", "manifests"]);
        assert!(rt.built.get().is_none());
        assert_eq!(rt.shape, Shape::CallingThread);
    }

    #[test]
    fn the_commands_that_work_side_by_side_get_two_workers_and_the_runtime_is_built_once() {
        assert_eq!(runtime(&["apply", "m", "--yes"]).shape, Shape::TwoWorkers);
        assert_eq!(runtime(&["watch", "m"]).shape, Shape::TwoWorkers);
        assert_eq!(runtime(&["sim", "hmc-serve"]).shape, Shape::TwoWorkers);
        assert_eq!(runtime(&["sim", "show"]).shape, Shape::CallingThread);
        let rt = runtime(&["plan", "m"]);
        let first: *const tokio::runtime::Runtime = rt.get().unwrap();
        assert_eq!(rt.block_on(async { 7 }).unwrap(), 7);
        assert!(std::ptr::eq(first, rt.get().unwrap()));
        assert_eq!(rt.get().unwrap().handle().runtime_flavor(), tokio::runtime::RuntimeFlavor::CurrentThread);
    }
}
