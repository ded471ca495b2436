//! The backend a command runs against: the simulator, or an estate's HMCs over SSH. The
//! commands and the controller loop take this one type; what only the simulator has (its
//! virtual clock, its journal) is a no-op or the wall clock on an HMC.

use std::sync::Arc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use powerplane_model::plan::Rates;
use powerplane_model::{Action, Estate, FrameName};

use crate::backend::hmc::Hmc;
use crate::backend::hmc::ssh::Ssh;
use crate::backend::{BackendError, Completion, Hypervisor};
use crate::sim::Simulator;

/// The simulator or HMCs. Cheap to clone.
#[derive(Clone)]
pub enum Backend {
    /// The simulated estate in the state directory.
    Sim(Simulator),
    /// HMCs reached over SSH (`--hmc`).
    Hmc(Arc<Hmc<Ssh>>),
}

fn process_start() -> Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    *START.get_or_init(Instant::now)
}

impl Backend {
    /// Milliseconds on the backend's clock: the simulator's virtual time, or for an HMC the
    /// time since this process started (maintenance windows measure from it).
    pub fn now_ms(&self) -> u64 {
        match self {
            Backend::Sim(s) => s.now_ms(),
            Backend::Hmc(_) => process_start().elapsed().as_millis() as u64,
        }
    }

    /// Waits `d` on the backend's clock.
    pub async fn sleep(&self, d: Duration) {
        match self {
            Backend::Sim(s) => s.sleep_virtual(d).await,
            Backend::Hmc(_) => tokio::time::sleep(d).await,
        }
    }

    /// Saves the virtual time this process saw pass (the simulator; nothing on an HMC).
    pub async fn save_time(&self) -> Result<(), BackendError> {
        match self {
            Backend::Sim(s) => s.save_time().await,
            Backend::Hmc(_) => Ok(()),
        }
    }

    /// Folds the simulator's journal into its database (nothing on an HMC).
    pub async fn checkpoint(&self) -> Result<(), BackendError> {
        match self {
            Backend::Sim(s) => s.checkpoint().await,
            Backend::Hmc(_) => Ok(()),
        }
    }

    /// The simulator, when this is one.
    pub fn simulator(&self) -> Option<&Simulator> {
        match self {
            Backend::Sim(s) => Some(s),
            Backend::Hmc(_) => None,
        }
    }

    /// Names the objects an HMC does not name as `desired` does (see
    /// [`powerplane_model::Estate::adopt_names`]); the simulator's are already.
    pub fn adopt_names(&self, desired: &Estate) {
        if let Backend::Hmc(h) = self {
            h.adopt_names(desired);
        }
    }

    /// What it is, for titles: `the simulated estate in .powerplane`, `the HMC ssh://...`.
    pub fn describe(&self, state_dir: &std::path::Path) -> String {
        match self {
            Backend::Sim(_) => format!("the simulated estate in {}", state_dir.display()),
            Backend::Hmc(h) => h.describe(),
        }
    }
}

impl Hypervisor for Backend {
    async fn observe(&self) -> Result<Estate, BackendError> {
        match self {
            Backend::Sim(s) => s.observe().await,
            Backend::Hmc(h) => h.observe().await,
        }
    }

    async fn observe_frames(&self, frames: &std::collections::BTreeSet<FrameName>) -> Result<Estate, BackendError> {
        match self {
            Backend::Sim(s) => s.observe_frames(frames).await,
            Backend::Hmc(h) => h.observe_frames(frames).await,
        }
    }

    async fn execute(&self, action: &Action) -> Result<Completion, BackendError> {
        match self {
            Backend::Sim(s) => s.execute(action).await,
            Backend::Hmc(h) => h.execute(action).await,
        }
    }

    async fn rates(&self) -> Rates {
        match self {
            Backend::Sim(s) => s.rates().await,
            Backend::Hmc(h) => h.rates().await,
        }
    }
}
