//! Result types of a run: how each action ended ([`Outcome`]) and the whole plan's [`Report`].

use std::time::Duration;

use powerplane_model::{Action, ActionId};

/// How one action ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Done.
    Succeeded {
        /// The backend's answer.
        message: String,
        /// Attempts it took.
        attempts: u32,
        /// For a migration, how long the partition was unresponsive, when measured.
        suspended: Option<Duration>,
    },
    /// Refused, or still failing after the retries.
    Failed {
        /// Why.
        error: String,
        /// Attempts made.
        attempts: u32,
    },
    /// Not attempted because an action it depends on failed.
    Skipped {
        /// The failed action.
        because: ActionId,
    },
    /// An `onFailure` step that did not run: what it follows succeeded.
    NotNeeded,
    /// Not started because the controller was asked to stop; the next reconcile plans it again.
    NotStarted,
    /// Not started because the capacity it takes never became free (what a failed action
    /// took stays taken until the next observation); the next reconcile plans it again.
    Held {
        /// What it waited for.
        reason: String,
    },
    /// Started, but the controller stopped waiting for it (a second signal, or the drain
    /// deadline): the backend may still be carrying it out; the next run observes its effect.
    LeftRunning,
}

impl Outcome {
    /// The outcome's name, as log lines and tests spell it (`Succeeded`, `Failed`, …).
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Succeeded { .. } => "Succeeded",
            Outcome::Failed { .. } => "Failed",
            Outcome::Skipped { .. } => "Skipped",
            Outcome::NotNeeded => "NotNeeded",
            Outcome::NotStarted => "NotStarted",
            Outcome::Held { .. } => "Held",
            Outcome::LeftRunning => "LeftRunning",
        }
    }
}

/// What happened to every action, in plan order.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Each action with its outcome.
    pub results: Vec<(Action, Outcome)>,
}

impl Report {
    /// Whether every action succeeded (an `onFailure` step that was not needed counts as
    /// such: nothing failed).
    pub fn all_succeeded(&self) -> bool {
        self.results.iter().all(|(_, o)| matches!(o, Outcome::Succeeded { .. } | Outcome::NotNeeded))
    }

    /// Counts: (succeeded, failed, skipped); steps not needed are in none of them.
    pub fn counts(&self) -> (usize, usize, usize) {
        let mut c = (0, 0, 0);
        for (_, o) in &self.results {
            match o {
                Outcome::Succeeded { .. } => c.0 += 1,
                Outcome::Failed { .. } => c.1 += 1,
                Outcome::Skipped { .. } | Outcome::NotStarted | Outcome::Held { .. } | Outcome::LeftRunning => c.2 += 1,
                Outcome::NotNeeded => {}
            }
        }
        c
    }

    /// `onFailure` steps that did not run because nothing failed.
    pub fn not_needed(&self) -> usize {
        self.results.iter().filter(|(_, o)| matches!(o, Outcome::NotNeeded)).count()
    }
}
