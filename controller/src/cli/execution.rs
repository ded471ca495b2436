//! The options of how a plan runs, shared by `apply` and `watch` (flattened into both), so
//! that the loop runs with the limits an operator gives as `apply` does.

use std::time::Duration;

use crate::engine;

/// How many actions run at once, and how transient failures are retried.
#[derive(Clone, Debug, clap::Args)]
pub struct ExecArgs {
    /// Actions running at once in all: 1 to 1024.
    #[arg(long, value_name = "N", default_value_t = engine::Settings::default().parallel,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1024))]
    pub parallel: usize,
    /// Actions running at once per frame (so migrations per frame): 1 to 256.
    #[arg(long, value_name = "N", default_value_t = engine::Settings::default().per_frame,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=256))]
    pub per_frame: usize,
    /// First retry delay after a transient failure, in milliseconds (doubling, with jitter).
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    pub retry_backoff_ms: u64,
}

impl ExecArgs {
    /// The executor's settings: these limits, the rest at their defaults.
    pub fn settings(&self) -> engine::Settings {
        engine::Settings {
            parallel: self.parallel,
            per_frame: self.per_frame,
            backoff: Duration::from_millis(self.retry_backoff_ms),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    #[derive(Parser)]
    struct Cmd {
        #[command(flatten)]
        execution: super::ExecArgs,
    }

    #[test]
    fn the_defaults_are_the_executors_and_the_flags_set_the_limits() {
        let defaults = Cmd::parse_from(["x"]).execution.settings();
        let d = crate::engine::Settings::default();
        assert_eq!((defaults.parallel, defaults.per_frame), (d.parallel, d.per_frame));
        let set = Cmd::parse_from(["x", "--parallel", "3", "--per-frame", "1", "--retry-backoff-ms", "250"]);
        let s = set.execution.settings();
        assert_eq!((s.parallel, s.per_frame, s.backoff), (3, 1, std::time::Duration::from_millis(250)));
        assert!(Cmd::try_parse_from(["x", "--per-frame", "0"]).is_err());
    }
}
