//! The HEAD follower: the store's durable writer ([`crate::store::writer::GroupWriter`]) run
//! over `audit/HEAD`. It writes the newest head of each batch after the trail's writer
//! acknowledged its records, at most every few milliseconds while batches keep coming, and at
//! once when someone waits for it (the end of a plan).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use super::head::{self, Head};
use crate::store::writer::{Commit, GroupWriter};

/// The shortest time between two HEAD writes while batches keep coming.
const HEAD_PAUSE: std::time::Duration = std::time::Duration::from_millis(5);

/// Keeps `audit/HEAD` up with the acknowledged records: each batch hands it the new head, it
/// writes the latest one (tmp, fsync, rename, fsync of the directory), so a batch is
/// acknowledged after one fdatasync and HEAD follows at most a batch or two behind. Dropping it
/// writes the last head handed over.
#[derive(Debug)]
pub(super) struct HeadWriter {
    writer: GroupWriter<HeadFile>,
    written: Arc<AtomicU64>,
    failed: Arc<OnceLock<String>>,
}

/// HEAD as a [`Commit`]: an entry is a head handed over (`Some`) or a request to be told once
/// every head handed before it is written (`None`). A batch writes only its newest head. After
/// a write failed nothing more is written, and every later batch and hand-over is told why.
struct HeadFile {
    audit: PathBuf,
    written: Arc<AtomicU64>,
    failed: Arc<OnceLock<String>>,
}

impl Commit for HeadFile {
    type Entry = Option<Head>;
    type Done = ();
    type Error = String;

    fn commit(&mut self, batch: Vec<Option<Head>>) -> Result<Vec<()>, String> {
        if let Some(e) = self.failed.get() {
            return Err(e.clone());
        }
        let n = batch.len();
        if let Some(head) = batch.into_iter().flatten().last() {
            match head::write(&self.audit, &head) {
                Ok(()) => {
                    self.written.fetch_max(head.seq, Ordering::SeqCst);
                }
                Err(e) => return Err(self.failed.get_or_init(|| format!("HEAD could not be written: {e}")).clone()),
            }
        }
        Ok(vec![(); n])
    }
}

impl HeadWriter {
    /// Starts following the trail in `audit`, whose HEAD covers record `written`.
    pub(super) fn start(audit: PathBuf, written: u64) -> Self {
        let written = Arc::new(AtomicU64::new(written));
        let failed = Arc::new(OnceLock::new());
        let file = HeadFile { audit, written: written.clone(), failed: failed.clone() };
        HeadWriter { writer: GroupWriter::start("audit-head", file, HEAD_PAUSE), written, failed }
    }

    /// Hands over the trail's new head, to be written soon; refused once a write failed.
    pub(super) fn hand(&self, head: Head) -> std::result::Result<(), String> {
        if let Some(e) = self.failed.get() {
            return Err(e.clone());
        }
        self.writer.hand(Some(head)).map_err(|e| format!("HEAD could not be written: {e}"))
    }

    /// Waits until HEAD covers `seq`.
    pub(super) fn wait_for(&self, seq: u64) -> std::result::Result<(), String> {
        if let Some(e) = self.failed.get() {
            return Err(e.clone());
        }
        if self.written.load(Ordering::SeqCst) >= seq {
            return Ok(());
        }
        let gone = |e: crate::store::writer::WriterGone| format!("HEAD could not be written: {e}");
        self.writer.submit(None).map_err(gone)?.wait_blocking().map_err(gone)??;
        match self.written.load(Ordering::SeqCst) {
            w if w >= seq => Ok(()),
            w => {
                Err(format!("HEAD could not be written: it covers record {w}, not {seq}, which was never handed over"))
            }
        }
    }
}
