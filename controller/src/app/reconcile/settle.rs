//! The observe step when a caller waits for the backend: what it still carries out (a
//! migration a killed predecessor left running, or one just issued) is waited for, bounded,
//! before the manifests are planned against the last observation. Planning around work in
//! flight would plan only half of what the manifests want.

use std::time::Duration;

use powerplane_model::{Estate, Plan, PlanOptions};

use crate::app::backend::Backend;
use crate::backend::Hypervisor;
use crate::signals::Stopper;

/// How often the backend is observed again while work is in flight.
const POLL: Duration = Duration::from_millis(250);

/// Observes and plans `desired` until nothing the manifests manage is in flight on the
/// backend, `timeout` has passed, or a signal came. Each time the work in flight changes,
/// `waiting` hears of it. Returns the last observation and its plan (whose `in_progress` is
/// what is still in flight).
pub async fn settle(
    backend: &Backend,
    desired: &Estate,
    options: PlanOptions,
    (timeout, stopper): (Duration, &Stopper),
    mut waiting: impl FnMut(&[String]),
) -> Result<(Estate, Plan), crate::backend::BackendError> {
    let start = tokio::time::Instant::now();
    let mut last = Vec::new();
    loop {
        let observed = backend.observe().await?;
        let plan = tracing::info_span!("plan").in_scope(|| powerplane_model::plan(desired, &observed, options));
        if plan.in_progress.is_empty() || start.elapsed() >= timeout || stopper.signal().is_some() {
            // What ended while this waited is this run's to record: the next command starts
            // from it (a migration a killed run left behind ended here, not in the past).
            backend.save_time().await?;
            return Ok((observed, plan));
        }
        if plan.in_progress != last {
            waiting(&plan.in_progress);
            last = plan.in_progress;
        }
        tokio::select! {
            () = tokio::time::sleep(POLL) => {}
            () = stopper.draining() => {}
        }
    }
}
