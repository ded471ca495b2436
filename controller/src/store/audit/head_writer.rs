//! The HEAD follower: a thread that writes `audit/HEAD` after the batches the trail's writer
//! acknowledges, at most every few milliseconds while batches keep coming, and at once when
//! someone waits for it (the end of a plan).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use super::head::{self, Head};

/// The thread that keeps `audit/HEAD` up with the acknowledged records: each batch hands it
/// the new head, it writes the latest one (tmp, fsync, rename, fsync of the directory), so a
/// batch is acknowledged after one fdatasync and HEAD follows at most a batch or two behind.
#[derive(Debug)]
pub(super) struct HeadWriter {
    shared: Arc<(Mutex<HeadState>, std::sync::Condvar)>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// The shortest time between two HEAD writes while batches keep coming.
const HEAD_PAUSE: std::time::Duration = std::time::Duration::from_millis(5);

#[derive(Debug, Default)]
struct HeadState {
    urgent: bool,
    pending: Option<Head>,
    written: u64,
    error: Option<String>,
    stop: bool,
}

impl HeadWriter {
    pub(super) fn start(audit: PathBuf, written: u64) -> Self {
        let shared = Arc::new((Mutex::new(HeadState { written, ..Default::default() }), std::sync::Condvar::new()));
        let s = shared.clone();
        let thread = std::thread::spawn(move || {
            let (lock, cv) = &*s;
            loop {
                let head = {
                    let mut st = lock.lock().expect("not poisoned");
                    while st.pending.is_none() && !st.stop {
                        st = cv.wait(st).expect("not poisoned");
                    }
                    match st.pending.take() {
                        Some(h) => h,
                        None => return,
                    }
                };
                let r = head::write(&audit, &head);
                let mut st = lock.lock().expect("not poisoned");
                match r {
                    Ok(()) => st.written = st.written.max(head.seq),
                    Err(e) => st.error = Some(format!("HEAD could not be written: {e}")),
                }
                cv.notify_all();
                // Under a stream of batches HEAD is rewritten every few milliseconds, not after
                // each one; someone waiting for it (or the end) cuts the pause short.
                let pause_until = std::time::Instant::now() + HEAD_PAUSE;
                while !st.urgent && !st.stop {
                    let left = pause_until.saturating_duration_since(std::time::Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    st = cv.wait_timeout(st, left).expect("not poisoned").0;
                }
                st.urgent = false;
            }
        });
        HeadWriter { shared, thread: Some(thread) }
    }

    pub(super) fn hand(&self, head: Head) -> std::result::Result<(), String> {
        let (lock, cv) = &*self.shared;
        let mut st = lock.lock().expect("not poisoned");
        if let Some(e) = &st.error {
            return Err(e.clone());
        }
        st.pending = Some(head);
        cv.notify_all();
        Ok(())
    }

    /// Waits until HEAD covers `seq`.
    pub(super) fn wait_for(&self, seq: u64) -> std::result::Result<(), String> {
        let (lock, cv) = &*self.shared;
        let mut st = lock.lock().expect("not poisoned");
        loop {
            if let Some(e) = &st.error {
                return Err(e.clone());
            }
            if st.written >= seq {
                return Ok(());
            }
            st.urgent = true;
            cv.notify_all();
            st = cv.wait(st).expect("not poisoned");
        }
    }
}

impl Drop for HeadWriter {
    fn drop(&mut self) {
        // The last head handed over is written before the trail is closed.
        self.shared.0.lock().expect("not poisoned").stop = true;
        self.shared.1.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
