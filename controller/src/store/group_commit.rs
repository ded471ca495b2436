//! Group commit: concurrent writers that each need their writes durable share one sync. One
//! caller syncs for every writer that wrote before the sync started; the others wait for it.

/// Who asked for durability, up to whom it is reached, and whether a sync is under way.
#[derive(Debug, Default)]
pub(crate) struct GroupCommit {
    state: std::sync::Mutex<State>,
    done: tokio::sync::Notify,
}

#[derive(Debug, Default)]
struct State {
    written: u64,
    durable: u64,
    syncing: bool,
}

impl GroupCommit {
    /// Returns once a `sync` that started after this call succeeded, so every write made before
    /// the call is durable. `sync` runs on the blocking pool; its error is returned to the
    /// caller that ran it, and the others waiting try again with a sync of their own.
    pub(crate) async fn wait<F>(&self, sync: F) -> Result<(), String>
    where
        F: Fn() -> Result<(), String> + Clone + Send + 'static,
    {
        let mine = {
            let mut s = self.state.lock().expect("not poisoned");
            s.written += 1;
            s.written
        };
        loop {
            let notified = self.done.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let target = {
                let mut s = self.state.lock().expect("not poisoned");
                if s.durable >= mine {
                    return Ok(());
                }
                if s.syncing {
                    None
                } else {
                    s.syncing = true;
                    Some(s.written)
                }
            };
            let Some(target) = target else {
                notified.await;
                continue;
            };
            let synced = tokio::task::spawn_blocking(sync.clone()).await.map_err(|e| e.to_string()).and_then(|r| r);
            {
                let mut s = self.state.lock().expect("not poisoned");
                s.syncing = false;
                if synced.is_ok() {
                    s.durable = s.durable.max(target);
                }
            }
            self.done.notify_waiters();
            return synced;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writers_share_syncs_and_each_is_covered() {
        const WRITERS: u64 = 64;
        let g = Arc::new(GroupCommit::default());
        let writes = Arc::new(AtomicU64::new(0));
        let synced_upto = Arc::new(AtomicU64::new(0));
        let syncs = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for _ in 0..WRITERS {
            let (g, writes, synced_upto, syncs) = (g.clone(), writes.clone(), synced_upto.clone(), syncs.clone());
            tasks.push(tokio::spawn(async move {
                let me = writes.fetch_add(1, Ordering::SeqCst) + 1;
                let (w, s, n) = (writes.clone(), synced_upto.clone(), syncs.clone());
                g.wait(move || {
                    // The first sync lasts until every writer has written: the rest queue up.
                    while w.load(Ordering::SeqCst) < WRITERS {
                        std::thread::yield_now();
                    }
                    s.fetch_max(w.load(Ordering::SeqCst), Ordering::SeqCst);
                    n.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                })
                .await
                .unwrap();
                // A sync that saw this write ran before the wait ended.
                assert!(synced_upto.load(Ordering::SeqCst) >= me);
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert!(syncs.load(Ordering::SeqCst) < WRITERS / 4, "writers shared syncs: {}", syncs.load(Ordering::SeqCst));
    }

    #[tokio::test]
    async fn a_failed_sync_is_reported_and_not_counted() {
        let g = GroupCommit::default();
        assert_eq!(g.wait(|| Err("disk gone".to_owned())).await, Err("disk gone".to_owned()));
        g.wait(|| Ok(())).await.unwrap();
    }
}
