//! The engine's limits and retry policy ([`Settings`]).

use std::time::Duration;

use powerplane_model::plan::Limits;

/// Limits and retry policy.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    /// Actions running at once in all.
    pub parallel: usize,
    /// Actions running at once on one frame (a migration counts on both frames), so at most
    /// this many migrations per frame.
    pub per_frame: usize,
    /// Migrations one named mover service partition carries at once.
    pub per_msp: usize,
    /// Attempts of an action that fails transiently (the first included).
    pub attempts: u32,
    /// First retry delay; doubled each time, with ±25% jitter.
    pub backoff: Duration,
    /// Longest retry delay.
    pub backoff_max: Duration,
    /// How long one backend call may take, but a migration's: the backend bounds that by the
    /// partition's size and its progress (`powerplane_model::plan::migration_bound`).
    pub timeout: Duration,
}

impl Settings {
    /// The limits on what runs at once, as the plan's estimate takes them.
    pub fn limits(&self) -> Limits {
        Limits { parallel: self.parallel, per_frame: self.per_frame, per_msp: self.per_msp }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            parallel: Limits::default().parallel,
            per_frame: Limits::default().per_frame,
            per_msp: Limits::default().per_msp,
            attempts: 5,
            backoff: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            timeout: Duration::from_secs(20 * 60),
        }
    }
}
