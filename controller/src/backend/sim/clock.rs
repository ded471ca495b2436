//! The simulator's clock: actions take virtual time; the CLI maps it to real time with a
//! speed-up factor, tests run it on tokio's paused clock so it costs nothing.

use std::time::Duration;

/// Maps virtual durations to real waits.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Clock {
    speedup: f64,
}

impl Clock {
    /// Real time runs `speedup` times slower than virtual time (60: one virtual minute is a
    /// real second). Zero or infinity means "do not wait at all".
    pub fn new(speedup: f64) -> Self {
        Clock { speedup }
    }

    /// Waits for a virtual duration: a real sleep scaled down, which tokio's paused test
    /// clock skips at once.
    pub async fn sleep(&self, virtual_time: Duration) {
        if self.speedup > 0.0 && self.speedup.is_finite() {
            tokio::time::sleep(virtual_time.div_f64(self.speedup)).await;
        }
    }
}

impl Default for Clock {
    /// Virtual time runs 60 times faster than real time: a 2-minute migration takes 2 seconds.
    fn default() -> Self {
        Clock::new(60.0)
    }
}
