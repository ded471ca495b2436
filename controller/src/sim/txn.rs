//! The transactional change engine: every change to the simulated estate goes through
//! [`Simulator::change`]. What it touches is kept aside first (the whole frame, or for an
//! action on one partition only the frame's own part and that partition); when the change
//! fails, or its save does, that is put back and nothing is saved. A change that succeeds is
//! logged as events, written to the journal in the order changes were made and synced before
//! the call returns (concurrent changes share one fdatasync).

use powerplane_model::{FrameName, PartitionName};

use super::{SimState, Simulator, events, journal, migration, persist, power, state};
use crate::backend::BackendError;

impl Simulator {
    /// The state, with every operation in flight moved on to the virtual time now (in memory
    /// only: any process derives the same from the saved state and the clock).
    pub(super) async fn current(&self) -> tokio::sync::MutexGuard<'_, SimState> {
        let mut guard = self.inner.state.lock().await;
        guard.now_ms = guard.now_ms.max(self.inner.timeline.now_ms());
        let mut touched = migration::settle(&mut guard);
        touched.extend(power::settle(&mut guard));
        guard.trim_events();
        if !touched.is_empty() {
            self.inner.unsaved.lock().expect("not poisoned").extend(touched);
        }
        guard
    }

    /// Changes the state of `frames` (and the estate-wide part) and persists exactly that;
    /// when `f` fails, or the save does, the state is restored and nothing is saved.
    pub(super) async fn change<R>(
        &self,
        frames: &[&FrameName],
        f: impl FnOnce(&mut SimState) -> Result<R, BackendError>,
    ) -> Result<R, BackendError> {
        self.change_scoped(frames, None, f).await
    }

    /// [`Simulator::change`]; with `only`, `f` changes of its one frame no partition but that
    /// one, so only the frame's own part and that partition are kept aside and compared, not
    /// all the frame's partitions (debug builds check that it keeps to this).
    pub(super) async fn change_scoped<R>(
        &self,
        frames: &[&FrameName],
        only: Option<&PartitionName>,
        f: impl FnOnce(&mut SimState) -> Result<R, BackendError>,
    ) -> Result<R, BackendError> {
        let mut guard = self.current().await;
        // Migrations that ended since the last save are saved with this change, both frames
        // together.
        let unsaved = std::mem::take(&mut *self.inner.unsaved.lock().expect("not poisoned"));
        // The frame and partition a scoped change keeps to.
        let only: Option<(FrameName, &PartitionName)> =
            only.filter(|_| frames.len() == 1 && !unsaved.contains(frames[0])).map(|p| (frames[0].clone(), p));
        let mut frames: Vec<FrameName> = frames.iter().map(|f| (*f).clone()).collect();
        frames.extend(unsaved.iter().cloned());
        frames.sort();
        frames.dedup();
        let backup: Vec<(FrameName, Backup)> = frames
            .iter()
            .map(|n| {
                let frame = guard.frames.get(n);
                let b = match (&only, frame) {
                    (Some((scoped, p)), Some(fr)) if scoped == n => Backup::Partition {
                        shell: fr.shell(),
                        name: (*p).clone(),
                        old: fr.partitions.get(*p).cloned().map(Box::new),
                    },
                    _ => Backup::Whole(frame.cloned()),
                };
                (n.clone(), b)
            })
            .collect();
        #[cfg(debug_assertions)]
        let whole_before: Option<state::SimFrame> = only.as_ref().and_then(|(n, _)| guard.frames.get(n).cloned());
        // What is stored of each frame: its state before this change, unless a migration that
        // ended changed it in memory since it was saved.
        let before: Vec<(FrameName, persist::Before)> = backup
            .iter()
            .map(|(n, b)| {
                let b = match b {
                    _ if unsaved.contains(n) => persist::Before::Unknown,
                    Backup::Whole(f) => persist::Before::Stored(f.as_ref()),
                    Backup::Partition { shell, name, old } => {
                        persist::Before::Partition { shell, name, old: old.as_deref() }
                    }
                };
                (n.clone(), b)
            })
            .collect();
        let estate_wide = (guard.rng, guard.now_ms, guard.faults.clone());
        let logged = guard.next_event;
        let watched: Vec<(FrameName, events::Watched)> = frames
            .iter()
            .filter_map(|n| {
                let scoped = only.as_ref().filter(|(f, _)| f == n).map(|(_, p)| *p);
                guard.frames.get(n).map(|f| (n.clone(), events::watch(f, scoped)))
            })
            .collect();
        let result = f(&mut guard);
        if result.is_ok() {
            for (n, w) in &watched {
                events::log_changes(&mut guard, n, w);
            }
            guard.trim_events();
        }
        #[cfg(debug_assertions)]
        if let (Ok(_), Some(was), Some((scoped, p))) = (&result, &whole_before, &only) {
            let now = guard.frames.get(scoped);
            let others = |f: &state::SimFrame| {
                f.partitions.iter().filter(|(n, _)| n != p).map(|(n, q)| (n.clone(), q.clone())).collect::<Vec<_>>()
            };
            assert_eq!(now.map(others), Some(others(was)), "a change scoped to {p} changed another partition");
        }
        let result = result.and_then(|r| match &self.inner.store {
            Some(j) => persist::changes(j.dir(), &guard, &before, self.inner.timeline.clock())
                .map(|ops| (r, Some(ops)))
                .map_err(|e| BackendError::caused("", e)),
            None => Ok((r, None)),
        });
        if result.is_err() {
            for (name, b) in backup {
                match b {
                    Backup::Whole(Some(f)) => {
                        guard.frames.insert(name, f);
                    }
                    Backup::Whole(None) => {
                        guard.frames.remove(&name);
                    }
                    Backup::Partition { shell, name: p, old } => {
                        let mut partitions =
                            guard.frames.get_mut(&name).map(|f| std::mem::take(&mut f.partitions)).unwrap_or_default();
                        match old {
                            Some(o) => partitions.insert(p, *o),
                            None => partitions.remove(&p),
                        };
                        guard.frames.insert(name, state::SimFrame { partitions, ..shell });
                    }
                }
            }
            (guard.rng, guard.now_ms, guard.faults) = estate_wide;
            guard.unlog_after(logged);
            // What the restore undid is settled again from the clock at the next look.
            drop(guard);
            self.inner.unsaved.lock().expect("not poisoned").extend(unsaved);
            return result.map(|(r, _)| r);
        }
        let (r, batch) = result?;
        guard.events_saved = guard.next_event;
        if let (Some(journal), Some(ops)) = (&self.inner.store, batch) {
            // The next change may start while this one is written: changes are appended in the
            // order they were made (the order lock is taken before the state is let go). A
            // failure here is the disk failing under us: reported, not undone.
            let order = self.inner.apply_order.lock().expect("not poisoned");
            drop(guard);
            journal.append(ops).map_err(|e| BackendError::caused("", e))?;
            drop(order);
            // Durable before the call returns, as the HMC's own state is; concurrent changes
            // share one fdatasync (group commit).
            if journal.sync().await.map_err(|e| BackendError::caused("", e))? {
                self.checkpoint().await?;
            }
        }
        Ok(r)
    }

    /// Folds the journal into the database now, on the blocking pool, so that an apply does it
    /// while it observes the result instead of at exit. Every change is durable without it.
    pub async fn checkpoint(&self) -> Result<(), BackendError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || inner.store.as_ref().map_or(Ok(()), journal::Journal::checkpoint))
            .await
            .map_err(|e| BackendError::caused("", e))?
            .map_err(|e| BackendError::caused("", e))
    }
}

/// What a change makes of the estate is kept aside before it, to undo it if it fails. For an
/// action on one partition that is the frame's own part and that partition. Otherwise it is
/// the whole frame.
enum Backup {
    Whole(Option<state::SimFrame>),
    Partition { shell: state::SimFrame, name: PartitionName, old: Option<Box<state::SimPartition>> },
}
