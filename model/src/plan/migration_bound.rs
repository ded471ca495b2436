//! How long a migration may take before it is no longer trusted to end: derived from the
//! partition's memory, not a fixed limit, and extended while it still makes progress.
//!
//! **The assumed rate.** The seed's one measurement: "The migration took roughly two minutes to
//! complete. The LPAR being moved was configured with 4GB of memory. Most of the time required
//! for the migration was for the copying of the LPAR's memory", over "a 1GB network"
//! (lpm-js22-walkthrough.txt, line 113): about 30 s per GB, the simulator's and the estimate's
//! rate too ([`super::Rates`]). **Assumptions** (no source gives a worst case): a running
//! partition's dirty pages are copied again until they stop decreasing (same seed, line 86),
//! taken as at most doubling the copy; validation, the shell partition, the storage on the
//! target and the clean-up take at most 10 minutes; and a migration whose bytes remaining
//! (`lslparmigr -r lpar`) do not go down for 10 minutes has stalled. A bound is never below the
//! executor's usual 20 minutes for an action. A 4 GB partition is bounded at 20 minutes, a 48 GB
//! one at 58.

use std::time::Duration;

use crate::units::MemoryMb;

/// Seconds per GB of memory the bound assumes (the seed's measured rate).
pub const ASSUMED_SECONDS_PER_GB: u64 = 30;
/// How many times the copy the bound allows for pages copied again (an assumption).
pub const RECOPY_FACTOR: u64 = 2;
/// Validation, shell, storage and clean-up (an assumption).
pub const SETUP: Duration = Duration::from_secs(10 * 60);
/// The least bound: the executor's limit for any other action.
pub const FLOOR: Duration = Duration::from_secs(20 * 60);
/// How long a migration past its bound may go without progress before it is given up on (an
/// assumption).
pub const STALL: Duration = Duration::from_secs(10 * 60);

/// The time a migration of a partition with `memory` is expected to end within.
pub fn migration_bound(memory: MemoryMb) -> Duration {
    let gb = memory.0.div_ceil(1024);
    (SETUP + Duration::from_secs(gb * ASSUMED_SECONDS_PER_GB * RECOPY_FACTOR)).max(FLOOR)
}

/// Follows a migration past its bound: fed each `lslparmigr` reading of the bytes remaining, it
/// says whether to keep following.
#[derive(Clone, Debug)]
pub struct Progress {
    bound: Duration,
    last: Option<u64>,
    since: Duration,
}

impl Progress {
    /// Following a migration of a partition with `memory`.
    pub fn new(memory: MemoryMb) -> Self {
        Progress { bound: migration_bound(memory), last: None, since: Duration::ZERO }
    }

    /// The bound it started from.
    pub fn bound(&self) -> Duration {
        self.bound
    }

    /// Takes the bytes remaining (`None`: not listed) at `elapsed` since the migration started;
    /// `false` once it is past its bound and has not progressed for [`STALL`].
    pub fn keep_following(&mut self, elapsed: Duration, remaining: Option<u64>) -> bool {
        if let Some(r) = remaining
            && self.last.is_none_or(|l| r < l)
        {
            self.last = Some(r);
            self.since = elapsed;
        }
        elapsed < self.bound || elapsed.saturating_sub(self.since.max(self.bound)) < STALL
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bound_grows_with_the_memory() {
        assert_eq!(migration_bound(MemoryMb(4096)), FLOOR);
        assert_eq!(migration_bound(MemoryMb(48 * 1024)), Duration::from_secs(58 * 60));
        assert!(migration_bound(MemoryMb(40 * 1024)) > Duration::from_secs(20 * 60));
    }

    /// Past its bound, a migration is followed while its bytes remaining go down, and given up
    /// after [`STALL`] without progress.
    #[test]
    fn a_migration_is_followed_while_it_progresses() {
        let mut p = Progress::new(MemoryMb(48 * 1024));
        let min = |m: u64| Duration::from_secs(m * 60);
        assert!(p.keep_following(min(1), Some(1000)));
        assert!(p.keep_following(min(57), Some(500)));
        assert!(p.keep_following(min(70), Some(100)), "past the bound, progressing");
        assert!(p.keep_following(min(79), Some(100)), "stalled less than STALL");
        assert!(!p.keep_following(min(81), Some(100)), "stalled for STALL");
        let mut q = Progress::new(MemoryMb(48 * 1024));
        assert!(q.keep_following(min(10), None));
        assert!(q.keep_following(min(67), None), "not listed: the bound, then STALL");
        assert!(!q.keep_following(min(68), None));
    }
}
