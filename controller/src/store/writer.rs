//! The durable writer of the audit trail: one thread gathers every record waiting at the
//! moment into one batch and one flush (group commit), and answers each request once its
//! records are durable.

use tokio::sync::oneshot;

use super::StoreError;
use super::audit::{AuditLog, Draft, Event, Record};

type Request = (Vec<(Event, Draft)>, oneshot::Sender<Result<Vec<Record>, String>>);

/// The audit trail's single writer: gathers every record waiting at the moment into one batch
/// and one flush (group commit), and answers each request once its records are durable.
#[derive(Clone)]
pub struct AuditWriter {
    tx: std::sync::mpsc::Sender<Request>,
}

impl AuditWriter {
    /// Starts the writer thread over `log`.
    pub fn start(log: AuditLog) -> Self {
        let (tx, rx) = std::sync::mpsc::channel::<Request>();
        std::thread::spawn(move || {
            while let Ok(first) = rx.recv() {
                let mut requests = vec![first];
                while let Ok(more) = rx.try_recv() {
                    requests.push(more);
                }
                let sizes: Vec<usize> = requests.iter().map(|(e, _)| e.len()).collect();
                // An empty request asks for HEAD to cover everything written before it.
                let sync = sizes.contains(&0);
                let (entries, replies): (Vec<_>, Vec<_>) = requests.into_iter().unzip();
                let appended = log.append(entries.into_iter().flatten().collect());
                let appended = match appended {
                    Ok(r) if sync => log.sync_head().map(|()| r),
                    other => other,
                };
                match appended {
                    Ok(records) => {
                        let mut it = records.into_iter();
                        for (reply, n) in replies.into_iter().zip(sizes) {
                            let _ = reply.send(Ok(it.by_ref().take(n).collect()));
                        }
                    }
                    Err(e) => {
                        for reply in replies {
                            let _ = reply.send(Err(e.to_string()));
                        }
                    }
                }
            }
        });
        AuditWriter { tx }
    }

    /// Returns once HEAD anchors every record written so far.
    pub async fn sync(&self) -> Result<(), StoreError> {
        self.write(Vec::new()).await.map(drop)
    }

    /// Writes records; returns them once durable. The wait is a blocking task: disk I/O is
    /// work in progress, so tokio's paused clock (tests, rehearsals) does not jump to the next
    /// timer while a record is being made durable, and virtual time stays faithful.
    pub async fn write(&self, entries: Vec<(Event, Draft)>) -> Result<Vec<Record>, StoreError> {
        let (reply, rx) = oneshot::channel();
        let failed = |detail: String| StoreError::Io { path: "audit".into(), detail };
        self.tx.send((entries, reply)).map_err(|_| failed("the audit writer stopped".into()))?;
        let got = tokio::task::spawn_blocking(move || rx.blocking_recv())
            .await
            .map_err(|e| failed(format!("the audit wait failed: {e}")))?;
        got.map_err(|_| failed("the audit writer stopped".into()))?.map_err(failed)
    }
}
