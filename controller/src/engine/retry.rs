//! Retrying an action that failed transiently: the delays double from
//! [`Settings::backoff`] up to [`Settings::backoff_max`] (the schedule is backon's
//! [`ExponentialBuilder`]), each with ±25% jitter derived from the action id and the attempt,
//! so that actions failing together do not retry together, yet a run is reproducible.
//!
//! backon's own jitter is random and only ever lengthens a delay (up to twice), so it is not
//! used: the jitter stays the deterministic ±25% it was before backon. backon computes the
//! doubling in `f32` seconds; each delay is rounded to the millisecond, which gives the exact
//! doubling for delays given in whole milliseconds (as `--retry-backoff-ms` gives them).

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};
use powerplane_model::ActionId;

use super::settings::Settings;

/// Growth stops at this many doublings of the first delay, whatever the cap.
const MAX_DOUBLINGS: u32 = 16;

/// The retries left to one action, and the delay before each.
#[derive(Debug)]
pub(super) struct Retries {
    schedule: ExponentialBackoff,
    id: ActionId,
    attempt: u32,
}

impl Retries {
    /// The retries of action `id` under `s`: `s.attempts` attempts in all, the first included.
    pub(super) fn new(s: &Settings, id: &ActionId) -> Self {
        let first = s.backoff.min(s.backoff_max);
        let cap = s.backoff_max.min(s.backoff.saturating_mul(1 << MAX_DOUBLINGS));
        let schedule = ExponentialBuilder::new()
            .with_min_delay(first)
            .with_max_delay(cap)
            .with_factor(2.0)
            .with_max_times(s.attempts.saturating_sub(1) as usize)
            .build();
        Retries { schedule, id: id.clone(), attempt: 0 }
    }
}

impl Iterator for Retries {
    type Item = Duration;

    /// The wait before the next attempt, or `None` when the attempts are used up.
    fn next(&mut self) -> Option<Duration> {
        let base = self.schedule.next()?;
        self.attempt += 1;
        Some(whole_millis(base).mul_f64(jitter(&self.id, self.attempt)))
    }
}

/// `d` rounded to the nearest millisecond.
fn whole_millis(d: Duration) -> Duration {
    Duration::from_millis(((d.as_nanos() + 500_000) / 1_000_000).min(u128::from(u64::MAX)) as u64)
}

/// A factor in [0.75, 1.25) from the action id and the retry (1-based): deterministic,
/// different per action.
fn jitter(id: &ActionId, attempt: u32) -> f64 {
    let h = id.0.bytes().fold(u64::from(attempt).wrapping_mul(0x9E37_79B9_7F4A_7C15), |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01B3)
    });
    0.75 + (h % 1000) as f64 / 2000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The schedule before backon: doubling from `backoff`, capped, at most 2^16 times the
    /// first, with the same jitter.
    fn integer_schedule(s: &Settings, id: &ActionId, attempt: u32) -> Duration {
        let base = s.backoff.saturating_mul(1 << (attempt - 1).min(MAX_DOUBLINGS)).min(s.backoff_max);
        base.mul_f64(jitter(id, attempt))
    }

    #[test]
    fn the_delays_are_the_integer_doubling_with_the_same_jitter() {
        let id = ActionId("a17".into());
        let cases = [
            (Duration::from_secs(1), Duration::from_secs(60), 5),
            (Duration::from_millis(100), Duration::from_secs(60), 12),
            (Duration::from_millis(1), Duration::from_millis(1), 4),
            (Duration::from_millis(333), Duration::from_secs(3600), 20),
            (Duration::from_millis(7), Duration::from_secs(86_400), 25),
            (Duration::from_secs(600), Duration::from_secs(60), 3),
        ];
        for (backoff, backoff_max, attempts) in cases {
            let s = Settings { backoff, backoff_max, attempts, ..Default::default() };
            let got: Vec<Duration> = Retries::new(&s, &id).collect();
            let want: Vec<Duration> = (1..attempts).map(|n| integer_schedule(&s, &id, n)).collect();
            assert_eq!(got, want, "{backoff:?} up to {backoff_max:?}");
        }
    }

    #[test]
    fn one_attempt_or_none_means_no_retry() {
        for attempts in [0, 1] {
            let s = Settings { attempts, ..Default::default() };
            assert_eq!(Retries::new(&s, &ActionId("a1".into())).next(), None);
        }
    }

    #[test]
    fn the_jitter_stays_within_a_quarter_and_differs_per_action() {
        let factors: Vec<f64> = (0..50).map(|i| jitter(&ActionId(format!("a{i}")), 1)).collect();
        assert!(factors.iter().all(|f| (0.75..1.25).contains(f)), "{factors:?}");
        assert!(factors.windows(2).any(|w| w[0] != w[1]));
    }
}
