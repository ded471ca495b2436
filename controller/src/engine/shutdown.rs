//! Stopping a run: the stop request's levels ([`Stop`]) and the wait for one ([`stop_at`]).

/// How far a stop request has gone: the first signal drains (nothing new starts, running
/// actions finish), the second or the drain deadline abandons (running actions are recorded as
/// left running on the backend, and the executor returns at once).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stop {
    /// Keep going.
    #[default]
    Run,
    /// Start nothing new; let running actions finish.
    Drain,
    /// Stop waiting for running actions.
    Abandon,
}

/// Resolves once the stop request reaches `level` (never without a stop channel, nor once
/// every sender is gone).
pub async fn stop_at(stop: Option<tokio::sync::watch::Receiver<Stop>>, level: Stop) {
    match stop {
        Some(mut rx) => {
            if rx.wait_for(|s| *s >= level).await.is_err() {
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending::<()>().await,
    }
}
