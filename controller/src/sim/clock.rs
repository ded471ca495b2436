//! The simulator's clock: one virtual timeline shared by every process that opens the state
//! dir. Within a process, virtual time runs `speedup` times faster than tokio's clock (tests
//! run it on tokio's paused clock, so it costs nothing and concurrent actions overlap exactly);
//! between processes it runs on at the pace it was saved with, from the wall clock, so that an
//! operation the HMC carries out — a migration — ends at its scheduled time even when the
//! client that started it died.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How fast virtual time runs against real time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Clock {
    speedup: f64,
}

impl Clock {
    /// Virtual time runs `speedup` times faster than real time (60: one virtual minute is a
    /// real second). Zero or infinity: no real waits at all; virtual time then advances only
    /// by the operations that run, to the end of each.
    pub fn new(speedup: f64) -> Self {
        Clock { speedup }
    }

    /// Whether virtual time follows real time.
    pub(crate) fn is_real(self) -> bool {
        self.speedup > 0.0 && self.speedup.is_finite()
    }

    /// The factor, 0 for "no real waits".
    pub(crate) fn speedup(self) -> f64 {
        if self.is_real() { self.speedup } else { 0.0 }
    }
}

impl Default for Clock {
    /// Virtual time runs 60 times faster than real time: a 2-minute migration takes 2 seconds.
    fn default() -> Self {
        Clock::new(60.0)
    }
}

/// Milliseconds since the Unix epoch on the wall clock, which carries virtual time from one
/// process to the next.
pub(crate) fn wall_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// The virtual timeline of one open simulator.
#[derive(Debug)]
pub(crate) struct Timeline {
    clock: Clock,
    origin: tokio::time::Instant,
    origin_ms: u64,
    /// Virtual time never goes back, and without real waits it is moved forward by the
    /// operations that end.
    floor: AtomicU64,
}

impl Timeline {
    /// A timeline at virtual `now_ms`, running at `clock`'s pace from now on.
    pub(crate) fn starting_at(now_ms: u64, clock: Clock) -> Self {
        Timeline { clock, origin: tokio::time::Instant::now(), origin_ms: now_ms, floor: AtomicU64::new(now_ms) }
    }

    /// The virtual time now, in milliseconds since `sim init`.
    pub(crate) fn now_ms(&self) -> u64 {
        let t = if self.clock.is_real() {
            self.origin_ms + (self.origin.elapsed().as_secs_f64() * 1e3 * self.clock.speedup) as u64
        } else {
            self.origin_ms
        };
        t.max(self.floor.load(Ordering::SeqCst))
    }

    /// The clock's pace, saved with the state so that the next process knows how far virtual
    /// time moved while nobody had the simulator open.
    pub(crate) fn clock(&self) -> Clock {
        self.clock
    }

    /// Waits until virtual time `ms`: a real sleep scaled down (skipped at once by tokio's
    /// paused clock), or none at all when the clock does not follow real time.
    pub(crate) async fn sleep_until(&self, ms: u64) {
        if self.clock.is_real() {
            let now = self.now_ms();
            if ms > now {
                tokio::time::sleep(Duration::from_millis(ms - now).div_f64(self.clock.speedup)).await;
            }
        }
        self.floor.fetch_max(ms, Ordering::SeqCst);
    }
}

/// Where virtual time stands for a process opening a state saved at virtual `saved_ms`, wall
/// time `saved_wall_ms`, with pace `saved_speedup` (0: none): it moved on at that pace while
/// the simulator was closed. Without a pace, everything in flight has had all the time it
/// needed: time jumps to `pending_end_ms`, the end of the last operation in flight.
pub(crate) fn resumed_at(saved_ms: u64, saved_wall_ms: Option<u64>, saved_speedup: f64, pending_end_ms: u64) -> u64 {
    match saved_wall_ms {
        Some(w) if saved_speedup > 0.0 && saved_speedup.is_finite() => {
            let elapsed = wall_ms().saturating_sub(w) as f64;
            saved_ms.saturating_add((elapsed * saved_speedup).min(u64::MAX as f64 / 2.0) as u64)
        }
        _ => saved_ms.max(pending_end_ms),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn concurrent_waits_overlap_on_the_timeline() {
        let t = std::sync::Arc::new(Timeline::starting_at(1_000, Clock::new(60.0)));
        let (a, b) = (t.clone(), t.clone());
        tokio::join!(a.sleep_until(1_000 + 120_000), b.sleep_until(1_000 + 60_000));
        // Two migrations of 2 and 1 minutes side by side take 2 minutes, not 3.
        assert_eq!(t.now_ms(), 121_000);
    }

    #[tokio::test(start_paused = true)]
    async fn without_real_waits_time_moves_to_the_end_of_what_ran() {
        let t = Timeline::starting_at(0, Clock::new(0.0));
        t.sleep_until(30_000).await;
        t.sleep_until(10_000).await;
        assert_eq!(t.now_ms(), 30_000, "time never goes back");
    }

    #[test]
    fn a_closed_simulator_keeps_its_pace() {
        let saved_wall = wall_ms() - 2_000;
        let now = resumed_at(5_000, Some(saved_wall), 60.0, 0);
        // Two real seconds at 60x are two virtual minutes (give or take the test's own time).
        assert!((125_000..126_500).contains(&now), "{now}");
        assert_eq!(resumed_at(5_000, Some(saved_wall), 0.0, 9_000), 9_000);
        assert_eq!(resumed_at(5_000, None, 60.0, 0), 5_000);
    }
}
