//! The wall clock maintenance windows are read on, as a value handed to what needs it: the
//! system's, or one set for a rehearsal or a test (`POWERPLANE_NOW`, read once at the edge,
//! `cli::main`). Nothing below the edge reads the environment or the system time for windows.
//!
//! A set clock moves on with the simulator's virtual time from the first time it is read (its
//! clones share that moment): a rehearsal runs at the simulator's pace.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use jiff::Timestamp;

/// The wall clock: the system's, or a set one.
#[derive(Clone, Debug, Default)]
pub enum WallClock {
    /// The system clock.
    #[default]
    System,
    /// A set clock (`POWERPLANE_NOW`), moving with the simulator's virtual time.
    Set(SetClock),
}

/// A clock set to a time, moving with the simulator's virtual time from its first reading.
#[derive(Clone, Debug)]
pub struct SetClock {
    /// The time of the first reading.
    at: Timestamp,
    /// The simulator's virtual time (ms) at the first reading, shared by the clones.
    base: Arc<OnceLock<u64>>,
}

/// A set clock that moved beyond the times it can tell.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "the set clock ({at}, POWERPLANE_NOW) moved {elapsed_ms} ms with the simulator and is beyond the last time it can tell ({detail}); set an earlier POWERPLANE_NOW"
)]
pub struct ClockError {
    /// Where the clock was set.
    at: Timestamp,
    /// How far it moved.
    elapsed_ms: u64,
    /// jiff's message.
    detail: String,
}

impl WallClock {
    /// The clock `POWERPLANE_NOW`'s value gives (`None`: the system's).
    pub fn from_setting(now: Option<Timestamp>) -> WallClock {
        match now {
            Some(at) => WallClock::Set(SetClock { at, base: Arc::new(OnceLock::new()) }),
            None => WallClock::System,
        }
    }

    /// Whether the clock is set: a rehearsal, whose time runs with the simulator's.
    pub fn is_set(&self) -> bool {
        matches!(self, WallClock::Set(_))
    }

    /// The time now. A set clock adds how far the simulator's virtual time, `sim_now_ms`, moved
    /// since its first reading (which this makes when it is the first).
    pub fn now(&self, sim_now_ms: u64) -> Result<Timestamp, ClockError> {
        match self {
            WallClock::System => Ok(Timestamp::now()),
            WallClock::Set(SetClock { at, base }) => {
                let base = *base.get_or_init(|| sim_now_ms);
                let elapsed_ms = sim_now_ms.saturating_sub(base);
                let error = |detail: String| ClockError { at: *at, elapsed_ms, detail };
                let d = jiff::SignedDuration::try_from(Duration::from_millis(elapsed_ms))
                    .map_err(|e| error(e.to_string()))?;
                at.checked_add(d).map_err(|e| error(e.to_string()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn a_set_clock_starts_at_its_first_reading_and_moves_with_the_simulator_in_every_clone() {
        let clock = WallClock::from_setting(Some(at("2026-12-05T21:50:00Z")));
        assert!(clock.is_set());
        let clone = clock.clone();
        assert_eq!(clock.now(5_000).unwrap(), at("2026-12-05T21:50:00Z"));
        assert_eq!(clone.now(65_000).unwrap(), at("2026-12-05T21:51:00Z"));
        // Virtual time never runs back; a reading from before the first is the set time.
        assert_eq!(clock.now(0).unwrap(), at("2026-12-05T21:50:00Z"));
    }

    #[test]
    fn maintenance_windows_read_only_the_clock_they_are_handed() {
        let windows = include_str!("windows.rs");
        for reading in ["env::values", "std::env::var", "Timestamp::now()", "SystemTime::now()"] {
            assert!(!windows.contains(reading), "windows.rs reads `{reading}`: take the time from a WallClock instead");
        }
    }

    #[test]
    fn the_system_clock_reads_the_system_time_and_a_clock_beyond_the_last_time_is_an_error() {
        let system = WallClock::from_setting(None);
        assert!(!system.is_set());
        let before = Timestamp::now();
        let read = system.now(123).unwrap();
        assert!(read >= before && read <= Timestamp::now());
        let last = WallClock::from_setting(Some(Timestamp::MAX));
        assert_eq!(last.now(0).unwrap(), Timestamp::MAX);
        let e = last.now(60_000).unwrap_err();
        assert!(e.to_string().contains("set an earlier POWERPLANE_NOW"), "{e}");
    }
}
