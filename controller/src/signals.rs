//! SIGINT and SIGTERM for `apply` and `watch` (DESIGN §10): the first one drains — no new
//! action starts, running ones finish within a deadline and are recorded — and the second one,
//! or the deadline, stops waiting: what still runs is recorded as left running on the
//! hypervisor. The process then exits 130 (SIGINT) or 143 (SIGTERM), like a shell would report.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use crate::engine::Stop;
use crate::say::say;

/// Which signal asked the process to stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT (Ctrl-C).
    Interrupt,
    /// SIGTERM (systemd, kill).
    Terminate,
}

impl Signal {
    /// The exit status a shell gives a process ended by this signal: 128 + its number.
    pub fn exit_code(self) -> u8 {
        match self {
            Signal::Interrupt => 130,
            Signal::Terminate => 143,
        }
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        }
    }
}

/// The stop requests signals made, for the executor and the caller.
#[derive(Clone, Debug)]
pub struct Stopper {
    rx: watch::Receiver<Stop>,
    first: Arc<Mutex<Option<Signal>>>,
}

impl Stopper {
    /// The stop channel to hand to the executor.
    pub fn receiver(&self) -> watch::Receiver<Stop> {
        self.rx.clone()
    }

    /// The first signal received, if any.
    pub fn signal(&self) -> Option<Signal> {
        *self.first.lock().expect("not poisoned")
    }

    /// Resolves when the first signal arrives.
    pub async fn draining(&self) {
        crate::engine::stop_at(Some(self.rx.clone()), Stop::Drain).await
    }
}

/// Listens for SIGINT and SIGTERM from now on (on the current tokio runtime). `drain` is how
/// long running actions may take after the first signal.
pub fn install(drain: Duration) -> std::io::Result<Stopper> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    let (tx, rx) = watch::channel(Stop::Run);
    let first = Arc::new(Mutex::new(None));
    let seen = first.clone();
    tokio::spawn(async move {
        let next = async |int: &mut tokio::signal::unix::Signal, term: &mut tokio::signal::unix::Signal| {
            tokio::select! {
                _ = int.recv() => Signal::Interrupt,
                _ = term.recv() => Signal::Terminate,
            }
        };
        let sig = next(&mut int, &mut term).await;
        *seen.lock().expect("not poisoned") = Some(sig);
        say!(
            "{}: starting no new action; waiting up to {} for the running ones (send it again to stop waiting)",
            sig.name(),
            crate::time::human(drain)
        );
        let _ = tx.send(Stop::Drain);
        let why = tokio::select! {
            again = next(&mut int, &mut term) => format!("a second {}", again.name()),
            () = tokio::time::sleep(drain) => format!("the drain deadline ({})", crate::time::human(drain)),
        };
        say!("{why}: no longer waiting; running actions are recorded as left running on the hypervisor");
        let _ = tx.send(Stop::Abandon);
    });
    Ok(Stopper { rx, first })
}
