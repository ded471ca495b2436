//! Progress of an apply: a bar on a terminal, one structured log line per action otherwise.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};
use powerplane_model::Action;

use crate::executor::{Outcome, Progress};

/// A bar (terminal) or log lines.
pub(crate) struct Reporter {
    bar: Option<ProgressBar>,
}

impl Reporter {
    pub(crate) fn new(total: usize) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(total as u64);
            if let Ok(style) = ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}")
            {
                bar.set_style(style);
            }
            bar
        });
        Reporter { bar }
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
            Outcome::NotNeeded => ("not needed", "nothing it follows failed".to_owned()),
            Outcome::LeftRunning => ("left running", "the hypervisor may still be carrying it out".to_owned()),
        };
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
