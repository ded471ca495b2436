//! What a `chsysstate` start or stop waits for before it is done, and how long it may take:
//! `chsysstate` returns before the partition runs or stops, so both backends follow
//! `lssyscfg` (the simulator its virtual timeline) until the state is reached, never issuing
//! the command again (issue 32 item 5).

use std::time::Duration;

use powerplane_model::status::LparState;

/// The state a start or stop waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Until {
    /// `Running`; with `rmc`, also an active RMC connection (a VIOS: what comes next goes
    /// through it, `viosvrcmd`).
    Running {
        /// Whether the RMC connection must be active too.
        rmc: bool,
    },
    /// `Not Activated`.
    NotActivated,
}

impl std::fmt::Display for Until {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Until::Running { rmc: true } => f.write_str("Running with RMC active"),
            Until::Running { rmc: false } => f.write_str("Running"),
            Until::NotActivated => f.write_str("Not Activated"),
        }
    }
}

impl Until {
    /// How long it may take: an activation goes through firmware and the operating system's
    /// boot (and a VIOS's RMC connection comes after that); a shutdown waits for the
    /// operating system.
    pub(crate) fn limit(self) -> Duration {
        match self {
            Until::Running { .. } => Duration::from_secs(30 * 60),
            Until::NotActivated => Duration::from_secs(15 * 60),
        }
    }

    /// Whether `state` (with `rmc`) is what it waits for.
    pub(crate) fn reached(self, state: &LparState, rmc: bool) -> bool {
        match self {
            Until::Running { rmc: need } => *state == LparState::Running && (rmc || !need),
            Until::NotActivated => *state == LparState::NotActivated,
        }
    }

    /// Whether `state` is the one the start or stop began from (`Not Activated`, `Running`).
    pub(crate) fn from(self, state: &LparState) -> bool {
        match self {
            Until::Running { .. } => *state == LparState::NotActivated,
            Until::NotActivated => *state == LparState::Running,
        }
    }

    /// Whether `state` is on the way there (or there already): an activation shows
    /// `Starting`, `Open Firmware`, then `Running` before its RMC; a shutdown `Shutting Down`.
    pub(crate) fn under_way(self, state: &LparState, rmc: bool) -> bool {
        self.reached(state, rmc)
            || match self {
                Until::Running { .. } => {
                    matches!(state, LparState::Starting | LparState::OpenFirmware | LparState::Running)
                }
                Until::NotActivated => *state == LparState::ShuttingDown,
            }
    }
}
