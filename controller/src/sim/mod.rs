//! The simulated hypervisor: a PowerVM estate that behaves as the seeds describe (SEA
//! failover and load sharing, AMS paging failover without failback, LPM checks and timing),
//! with fault injection, deterministic from a seed, on virtual time, persisted in the state
//! dir between commands. One file per concern; the [`Simulator`] itself is here, with its
//! small public surface, and its work is done in:
//!
//! - `txn`: the transactional change engine every change goes through (kept aside, undone on
//!   failure, journaled and synced on success);
//! - `dispatch`: the `Op` interpreter, [`crate::backend::Hypervisor`] for the simulator;
//! - `fault`: the faults `powerplane sim` injects, as values and as methods;
//! - `node_shell`: the cluster commands run on a simulated node;
//! - `hmc_shell`: the simulator as an HMC (the emulator the HMC backend is tested against);
//! - the PowerVM behaviour by concern: `sea`, `paging`, `pools`, `migration`, `power`,
//!   `partition`, `storage`, `cluster`, `consoles`, ...; the state (`state`) and its
//!   persistence (`persist`, `journal`).

mod capacity;
mod clock;
mod cluster;
pub(crate) mod consoles;
mod dispatch;
mod events;
mod fault;
pub mod hmc_shell;
mod inventory;
mod journal;
mod migration;
mod node_shell;
mod observe;
mod open;
mod paging;
mod partition;
mod persist;
mod pools;
mod power;
mod profile_copy;
mod report;
mod sea;
mod state;
mod storage;
mod txn;
mod vios;
mod virtual_eth;

#[cfg(test)]
mod durability_tests;
#[cfg(test)]
mod power_tests;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use powerplane_model::FrameName;
use tokio::sync::Mutex;

pub use crate::store::{StateDir, StoreError};
pub use clock::Clock;
pub use events::SimEvent;
pub use fault::Fault;
pub use inventory::{LAB_INVENTORY, realise, twin};
pub use open::{Created, OpenError, build, open_existing, open_or_create};
pub use persist::{load as load_state, save as save_state};
pub use report::Report;
pub use state::{FailMode, SimState};

use crate::backend::BackendError;

/// The simulated hypervisor. Cheap to clone; clones share one estate.
#[derive(Clone)]
pub struct Simulator {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<SimState>,
    /// Where changes are persisted (none: in memory only).
    store: Option<journal::Journal>,
    timeline: clock::Timeline,
    /// Frames that migrations ending changed since the last save (saved with the next change).
    unsaved: std::sync::Mutex<std::collections::BTreeSet<FrameName>>,
    /// Held from making a change's writes to appending them, so they reach the journal in order.
    apply_order: std::sync::Mutex<()>,
}

impl Simulator {
    /// A simulator over `state`, persisting every change to `store` when given. Its virtual
    /// time starts at `state.now_ms` and runs at `clock`'s pace.
    pub fn new(mut state: SimState, store: Option<StateDir>, clock: Clock) -> Self {
        state.index_power();
        let timeline = clock::Timeline::starting_at(state.now_ms, clock);
        Simulator {
            inner: Arc::new(Inner {
                state: Mutex::new(state),
                store: store.map(journal::Journal::new),
                timeline,
                unsaved: Default::default(),
                apply_order: Default::default(),
            }),
        }
    }

    /// A copy of the whole state, as of now.
    pub async fn snapshot(&self) -> SimState {
        self.current().await.clone()
    }

    /// Reads the state as of now without copying it (the emulated HMC's listings).
    pub(crate) async fn read<R>(&self, f: impl FnOnce(&SimState) -> R) -> R {
        f(&*self.current().await)
    }

    /// Everything `sim show` prints, as of now.
    pub async fn report(&self) -> Report {
        report::report(&*self.current().await)
    }

    /// Saves the virtual time this process has seen pass, with what ended in it (a migration
    /// another process left running): a process that waited for work to end makes the next
    /// one start from there, so both say the same of it. Only commands that change the estate
    /// call this; read-only ones never write.
    pub async fn save_time(&self) -> Result<(), BackendError> {
        self.change(&[], |_| Ok(())).await
    }

    /// Waits `d` of virtual time (scaled down to real time at the clock's pace; at once
    /// without real waits, moving virtual time on).
    pub async fn sleep_virtual(&self, d: std::time::Duration) {
        self.inner.timeline.sleep_until(self.now_ms() + d.as_millis() as u64).await;
    }

    /// The virtual time now, in milliseconds since `sim init`.
    pub fn now_ms(&self) -> u64 {
        self.inner.timeline.now_ms()
    }

    /// `mkauthkeys -g --ip TO -u USER` run on the HMC `on`: its SSH key is authorized on `to`
    /// for `user`, so that it may migrate partitions to `to`'s frames ([`consoles`]).
    pub async fn authorize_keys(
        &self,
        on: &powerplane_model::HmcAddress,
        to: &powerplane_model::HmcAddress,
        user: &powerplane_model::HmcUser,
    ) -> Result<(), BackendError> {
        self.change(&[], |s| consoles::authorize(s, on, to, user).map(drop)).await
    }
}
