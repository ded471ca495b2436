//! Progress of an apply: a bar on a terminal, one structured log line per action otherwise.
//! The bar's clock keeps moving while long migrations run, and it shows what is left of the
//! plan's estimate, in proportion to the estimated work not yet done.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};

use indicatif::{ProgressBar, ProgressStyle};
use powerplane_model::{Action, ActionId, Plan};

use crate::engine::{Outcome, Progress};

/// A bar (terminal) or log lines.
pub(crate) struct Reporter {
    bar: Option<ProgressBar>,
    /// The plan's estimated makespan, s, and each action's estimated work, ms.
    estimate: Option<(u64, BTreeMap<ActionId, u64>)>,
    total_ms: u64,
    done_ms: AtomicU64,
}

impl Reporter {
    pub(crate) fn new(plan: &Plan) -> Self {
        let bar = (std::io::stderr().is_terminal() && !crate::say::is_json()).then(|| {
            let bar = ProgressBar::new(plan.actions.len() as u64);
            if let Ok(style) =
                ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {prefix} {msg}")
            {
                bar.set_style(style);
            }
            bar.enable_steady_tick(std::time::Duration::from_millis(250));
            bar
        });
        let estimate = plan.estimate.as_ref().map(|e| {
            let ms = e.millis(plan);
            (e.seconds, plan.actions.iter().map(|a| a.id.clone()).zip(ms).collect::<BTreeMap<_, _>>())
        });
        let total_ms = estimate.as_ref().map_or(0, |(_, m)| m.values().sum());
        let r = Reporter { bar, estimate, total_ms, done_ms: AtomicU64::new(0) };
        r.show_eta();
        r
    }

    /// What is left of the estimate: the makespan scaled by the share of work not yet done.
    fn eta(&self) -> Option<u64> {
        let (seconds, _) = self.estimate.as_ref()?;
        if self.total_ms == 0 {
            return None;
        }
        let left = self.total_ms.saturating_sub(self.done_ms.load(Ordering::Relaxed));
        Some((*seconds as u128 * left as u128 / self.total_ms as u128) as u64)
    }

    fn show_eta(&self) {
        if let (Some(b), Some(eta)) = (&self.bar, self.eta()) {
            b.set_prefix(format!("({} left)", powerplane_model::plan::about(eta)));
        }
    }

    pub(crate) fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

impl Progress for Reporter {
    fn started(&self, a: &Action) {
        match &self.bar {
            Some(b) => b.set_message(format!("{} {} {}", a.id, a.kind(), a.op.object())),
            None => {
                tracing::info!(id = %a.id, kind = %a.kind(), object = %a.op.object(), command = %a.op.command(), "action started")
            }
        }
    }

    fn finished(&self, a: &Action, o: &Outcome) {
        let (result, detail) = match o {
            Outcome::Succeeded { message, .. } => ("succeeded", message.clone()),
            Outcome::Failed { error, .. } => ("failed", error.clone()),
            Outcome::Skipped { because } => ("skipped", format!("{because} failed")),
            Outcome::NotStarted => ("not started", "stopping".to_owned()),
            Outcome::Held { reason } => ("held", reason.clone()),
            Outcome::NotNeeded => ("not needed", "nothing it follows failed".to_owned()),
            Outcome::LeftRunning => ("left running", "the hypervisor may still be carrying it out".to_owned()),
        };
        if let Some((_, ms)) = &self.estimate {
            self.done_ms.fetch_add(ms.get(&a.id).copied().unwrap_or(0), Ordering::Relaxed);
        }
        self.show_eta();
        match &self.bar {
            Some(b) => {
                b.inc(1);
                if result != "succeeded" {
                    b.println(format!("{} {} {}: {result}: {detail}", a.id, a.kind(), a.op.object()));
                }
            }
            None => {
                tracing::info!(id = %a.id, kind = %a.kind(), object = %a.op.object(), result, detail = %detail, "action finished")
            }
        }
    }
}
