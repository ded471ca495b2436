//! The one durable writer (group commit): a dedicated thread owns what it writes, gathers every
//! request waiting at the moment into one batch, makes the whole batch durable with one sync and
//! only then answers each request, through its ticket. What a batch means is a [`Commit`]:
//!
//! - the audit trail's records ([`AuditWriter`]): one `write` and one `fdatasync` per batch
//!   ([`super::audit::AuditLog::append`]);
//! - the trail's `HEAD` (`audit::head_writer`): the newest head of a batch, written at most every
//!   few milliseconds while batches keep coming and at once when someone waits for it;
//! - the simulator's journal (`sim::journal`): the simulator appends each change itself, in the
//!   order the changes were made, and [`SyncData`] makes everything appended before a request
//!   durable with one `fdatasync` shared by the requests of a batch.
//!
//! A request is answered only after its batch's sync returned: what is reported durable is.

use std::fs::File;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender};
use std::time::{Duration, Instant};

use super::StoreError;
use super::audit::{AuditLog, Draft, Event, Record};

/// What a durable writer does with one batch.
pub(crate) trait Commit: Send + 'static {
    /// What a caller submits.
    type Entry: Send + 'static;
    /// What a caller gets back once its entry is durable.
    type Done: Send + 'static;
    /// Why a batch failed; every request of the batch gets it.
    type Error: Clone + Send + 'static;

    /// Writes every entry of `batch`, in order, and makes them durable together; returns one
    /// answer per entry, in order.
    fn commit(&mut self, batch: Vec<Self::Entry>) -> Result<Vec<Self::Done>, Self::Error>;
}

/// What a waiter on a ticket gets when its request is answered.
type Answer<C> = Result<<C as Commit>::Done, <C as Commit>::Error>;

struct Request<C: Commit> {
    entry: C::Entry,
    /// Where the answer goes; `None` for an entry nobody waits for (handed over).
    reply: Option<SyncSender<Answer<C>>>,
}

/// Why a request got no answer from the writer.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WriterGone {
    /// The writer's thread is gone (it panicked, or the process is stopping).
    #[error("the writer stopped")]
    Stopped,
    /// The blocking task that waited for the answer failed.
    #[error("the wait failed: {0}")]
    Wait(#[source] tokio::task::JoinError),
}

/// A durable writer: a thread running a [`Commit`] over batches. Cheap to clone; clones share
/// one thread, which is stopped and joined when the last is dropped, after it has committed
/// every request submitted before.
pub(crate) struct GroupWriter<C: Commit> {
    shared: Arc<Shared<C>>,
}

impl<C: Commit> Clone for GroupWriter<C> {
    fn clone(&self) -> Self {
        GroupWriter { shared: self.shared.clone() }
    }
}

impl<C: Commit> std::fmt::Debug for GroupWriter<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupWriter").finish_non_exhaustive()
    }
}

struct Shared<C: Commit> {
    tx: Option<Sender<Request<C>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl<C: Commit> Drop for Shared<C> {
    fn drop(&mut self) {
        // The thread commits what is left, then sees the channel closed.
        drop(self.tx.take());
        if let Some(t) = self.thread.take()
            && t.thread().id() != std::thread::current().id()
        {
            let _ = t.join();
        }
    }
}

/// A request's claim on its answer: redeemed once the batch holding it is durable.
pub(crate) struct Ticket<C: Commit>(Receiver<Answer<C>>);

impl<C: Commit> Ticket<C> {
    /// Blocks the thread until the request is durable (or its batch failed).
    pub(crate) fn wait_blocking(self) -> Result<Answer<C>, WriterGone> {
        self.0.recv().map_err(|_| WriterGone::Stopped)
    }

    /// Waits until the request is durable (or its batch failed). The wait is a blocking task:
    /// disk I/O is work in progress, so tokio's paused clock (tests, rehearsals) does not jump
    /// to the next timer while a record is being made durable, and virtual time stays faithful.
    pub(crate) async fn wait(self) -> Result<Answer<C>, WriterGone> {
        tokio::task::spawn_blocking(move || self.wait_blocking()).await.map_err(WriterGone::Wait)?
    }
}

impl<C: Commit> GroupWriter<C> {
    /// Starts the writer's thread over `commit`. With a `pause`, the thread waits that long
    /// after each batch for more entries to join the next, unless a request that someone waits
    /// for comes first (HEAD: rewritten every few milliseconds under a stream of batches, not
    /// after each).
    pub(crate) fn start(name: &str, mut commit: C, pause: Duration) -> Self {
        let (tx, rx) = mpsc::channel::<Request<C>>();
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let mut next = Vec::new();
                loop {
                    if next.is_empty() {
                        match rx.recv() {
                            Ok(first) => next.push(first),
                            Err(_) => return,
                        }
                    }
                    while let Ok(more) = rx.try_recv() {
                        next.push(more);
                    }
                    run_batch(&mut commit, std::mem::take(&mut next));
                    if !pause.is_zero() {
                        gather(&rx, &mut next, Instant::now() + pause);
                    }
                }
            })
            .expect("a thread can be started");
        GroupWriter { shared: Arc::new(Shared { tx: Some(tx), thread: Some(thread) }) }
    }

    /// Submits `entry`; its ticket is answered once it is durable.
    pub(crate) fn submit(&self, entry: C::Entry) -> Result<Ticket<C>, WriterGone> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.send(Request { entry, reply: Some(reply) })?;
        Ok(Ticket(answer))
    }

    /// Hands `entry` over without waiting for it: it joins the next batch, and a later ticket's
    /// answer covers it (the writer commits in the order entries come).
    pub(crate) fn hand(&self, entry: C::Entry) -> Result<(), WriterGone> {
        self.send(Request { entry, reply: None })
    }

    fn send(&self, request: Request<C>) -> Result<(), WriterGone> {
        let tx = self.shared.tx.as_ref().ok_or(WriterGone::Stopped)?;
        tx.send(request).map_err(|_| WriterGone::Stopped)
    }
}

/// Commits one batch and answers each request of it.
fn run_batch<C: Commit>(commit: &mut C, batch: Vec<Request<C>>) {
    let (entries, replies): (Vec<_>, Vec<_>) = batch.into_iter().map(|r| (r.entry, r.reply)).unzip();
    match commit.commit(entries) {
        Ok(done) => {
            for (reply, done) in replies.into_iter().zip(done) {
                if let Some(reply) = reply {
                    let _ = reply.send(Ok(done));
                }
            }
        }
        Err(e) => {
            for reply in replies.into_iter().flatten() {
                let _ = reply.send(Err(e.clone()));
            }
        }
    }
}

/// Gathers requests into `next` until `until`, or until one that someone waits for comes, or
/// the writer is closed (what is gathered is then committed before the thread ends).
fn gather<C: Commit>(rx: &Receiver<Request<C>>, next: &mut Vec<Request<C>>, until: Instant) {
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        match rx.recv_timeout(left) {
            Ok(r) => {
                let waited_for = r.reply.is_some();
                next.push(r);
                if waited_for {
                    return;
                }
            }
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// A [`Commit`] for files their callers write themselves, in order: each entry is a file
/// written to before it was submitted, and one `fdatasync` per file and batch makes every
/// write made before the batch durable.
///
/// A file whose sync failed once stays failed: Linux marks the dirty pages clean after a
/// failed `fdatasync` (the data may be gone), and a later sync of the same file reports
/// success, which would call durable what was lost. Every later batch naming it is refused
/// with the first error; the process must start again and read what is on disk.
#[derive(Default)]
pub(crate) struct SyncData {
    /// The files whose sync failed, with the error.
    failed: Vec<(Arc<File>, String)>,
}

impl Commit for SyncData {
    type Entry = Arc<File>;
    type Done = ();
    type Error = String;

    fn commit(&mut self, files: Vec<Arc<File>>) -> Result<Vec<()>, String> {
        let mut synced: Option<&Arc<File>> = None;
        for f in &files {
            if let Some((_, why)) = self.failed.iter().find(|(g, _)| Arc::ptr_eq(g, f)) {
                return Err(format!(
                    "an earlier fdatasync of this file failed ({why}); what was written before it may be lost, so no later sync is trusted: start the command again, which reads what is on disk"
                ));
            }
            if synced.is_some_and(|s| Arc::ptr_eq(s, f)) {
                continue;
            }
            if let Err(e) = f.sync_data() {
                self.failed.push((f.clone(), e.to_string()));
                return Err(e.to_string());
            }
            synced = Some(f);
        }
        Ok(vec![(); files.len()])
    }
}

/// The audit trail's records as a [`Commit`]: a batch is numbered, chained and written with
/// one write and one fdatasync by [`AuditLog::append`]. An empty request asks for HEAD to
/// cover everything written before it.
struct Trail(AuditLog);

impl Commit for Trail {
    type Entry = Vec<(Event, Draft)>;
    type Done = Vec<Record>;
    type Error = String;

    fn commit(&mut self, requests: Vec<Self::Entry>) -> Result<Vec<Vec<Record>>, String> {
        let sizes: Vec<usize> = requests.iter().map(Vec::len).collect();
        let sync = sizes.contains(&0);
        let appended = self.0.append(requests.into_iter().flatten().collect());
        let records = match appended {
            Ok(r) if sync => self.0.sync_head().map(|()| r),
            other => other,
        }
        .map_err(|e| e.to_string())?;
        let mut it = records.into_iter();
        Ok(sizes.into_iter().map(|n| it.by_ref().take(n).collect()).collect())
    }
}

/// The audit trail's single writer: gathers every record waiting at the moment into one batch
/// and one flush (group commit), and answers each request once its records are durable.
#[derive(Clone)]
pub struct AuditWriter {
    writer: GroupWriter<Trail>,
}

impl AuditWriter {
    /// Starts the writer thread over `log`.
    pub fn start(log: AuditLog) -> Self {
        AuditWriter { writer: GroupWriter::start("audit-writer", Trail(log), Duration::ZERO) }
    }

    /// Returns once HEAD anchors every record written so far.
    pub async fn sync(&self) -> Result<(), StoreError> {
        self.write(Vec::new()).await.map(drop)
    }

    /// Writes records; returns them once durable (see [`Ticket::wait`] for how it waits).
    pub async fn write(&self, entries: Vec<(Event, Draft)>) -> Result<Vec<Record>, StoreError> {
        let failed = |detail: String| StoreError::Io { path: "audit".into(), detail };
        let gone = |e: WriterGone| match e {
            WriterGone::Stopped => failed("the audit writer stopped".into()),
            WriterGone::Wait(e) => failed(format!("the audit wait failed: {e}")),
        };
        let ticket = self.writer.submit(entries).map_err(gone)?;
        ticket.wait().await.map_err(gone)?.map_err(failed)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;

    /// Counts entries as written and batches as synced; fails the batches `fail` says.
    struct Counting {
        written: Arc<AtomicU64>,
        synced: Arc<AtomicU64>,
        syncs: Arc<AtomicU64>,
        fail: fn(u64) -> bool,
    }

    impl Commit for Counting {
        type Entry = u64;
        type Done = u64;
        type Error = String;

        fn commit(&mut self, batch: Vec<u64>) -> Result<Vec<u64>, String> {
            let n = self.syncs.fetch_add(1, Ordering::SeqCst) + 1;
            if (self.fail)(n) {
                return Err(format!("sync {n} failed"));
            }
            // The first batch lasts until every writer has submitted: the rest queue up.
            while n == 1 && self.written.load(Ordering::SeqCst) < 64 {
                std::thread::yield_now();
            }
            let top = batch.iter().copied().max().unwrap_or(0);
            self.synced.fetch_max(top, Ordering::SeqCst);
            Ok(batch)
        }
    }

    fn counting(fail: fn(u64) -> bool) -> (GroupWriter<Counting>, [Arc<AtomicU64>; 3]) {
        let c = [Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0))];
        let commit = Counting { written: c[0].clone(), synced: c[1].clone(), syncs: c[2].clone(), fail };
        (GroupWriter::start("test-writer", commit, Duration::ZERO), c)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writers_share_syncs_and_each_is_covered() {
        const WRITERS: u64 = 64;
        let (g, [written, synced, syncs]) = counting(|_| false);
        let mut tasks = Vec::new();
        for _ in 0..WRITERS {
            let (g, written, synced) = (g.clone(), written.clone(), synced.clone());
            tasks.push(tokio::spawn(async move {
                let me = written.fetch_add(1, Ordering::SeqCst) + 1;
                let ticket = g.submit(me).unwrap();
                assert_eq!(ticket.wait().await.unwrap(), Ok(me), "each gets its own answer");
                // A sync that covered this write ran before the wait ended.
                assert!(synced.load(Ordering::SeqCst) >= me);
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert!(syncs.load(Ordering::SeqCst) < WRITERS / 4, "writers shared syncs: {}", syncs.load(Ordering::SeqCst));
    }

    #[test]
    fn a_failed_sync_is_reported_to_its_batch_and_the_next_is_tried_again() {
        let (g, [written, synced, _]) = counting(|n| n == 1);
        written.store(64, Ordering::SeqCst);
        assert_eq!(g.submit(1).unwrap().wait_blocking().unwrap(), Err("sync 1 failed".to_owned()));
        assert_eq!(synced.load(Ordering::SeqCst), 0, "a failed sync is not counted");
        assert_eq!(g.submit(2).unwrap().wait_blocking().unwrap(), Ok(2));
    }

    #[test]
    fn what_is_handed_over_is_committed_before_the_writer_stops() {
        let (g, [written, synced, _]) = counting(|_| false);
        written.store(64, Ordering::SeqCst);
        for i in 1..=5 {
            g.hand(i).unwrap();
        }
        drop(g);
        assert_eq!(synced.load(Ordering::SeqCst), 5);
    }

    #[test]
    fn a_paused_writer_answers_a_waiter_at_once() {
        let (tx, rx) = mpsc::channel();
        struct Log(Sender<Vec<u64>>);
        impl Commit for Log {
            type Entry = u64;
            type Done = ();
            type Error = String;
            fn commit(&mut self, batch: Vec<u64>) -> Result<Vec<()>, String> {
                let n = batch.len();
                self.0.send(batch).unwrap();
                Ok(vec![(); n])
            }
        }
        let g = GroupWriter::start("test-writer", Log(tx), Duration::from_secs(3600));
        g.submit(1).unwrap().wait_blocking().unwrap().unwrap();
        // Within the hour's pause: handed entries wait, the one waited for brings them along.
        g.hand(2).unwrap();
        g.hand(3).unwrap();
        g.submit(4).unwrap().wait_blocking().unwrap().unwrap();
        assert_eq!(rx.try_iter().collect::<Vec<_>>(), [vec![1], vec![2, 3, 4]]);
        drop(g);
    }

    /// A file whose sync failed is refused from then on, with the first error; another file
    /// is still synced.
    #[test]
    fn a_file_whose_sync_failed_is_never_called_durable_again() {
        // fdatasync on a character device fails (EINVAL): the failure, without a faulty disk.
        let bad = Arc::new(std::fs::OpenOptions::new().write(true).open("/dev/null").unwrap());
        let dir = tempfile::tempdir().unwrap();
        let good = Arc::new(File::create(dir.path().join("journal")).unwrap());
        let mut commit = SyncData::default();
        let first = commit.commit(vec![bad.clone()]).unwrap_err();
        assert!(!first.contains("earlier"), "{first}");
        let again = commit.commit(vec![good.clone(), bad.clone()]).unwrap_err();
        assert!(again.contains("an earlier fdatasync of this file failed") && again.contains(&first), "{again}");
        assert_eq!(commit.commit(vec![good.clone(), good]).unwrap().len(), 2);
    }
}
