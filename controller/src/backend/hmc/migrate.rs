//! A migration over the HMC: where the partition is, `migrlpar`, and following it to its
//! end within the bound its size gives (`lslparmigr`).

use std::time::Duration;

use powerplane_model::plan::migration_bound::Progress;

use powerplane_model::{Action, FrameName, Op};

use super::transport::{Transport, run_batch};

use super::listing as l;
use crate::backend::{BackendError, Completion};

use super::gather::listing;
use super::{Hmc, UNKNOWN_SIZE, hscl};

impl<T: Transport> Hmc<T> {
    /// Where `partition` is and whether it is migrating, as the HMC lists it now.
    pub(super) async fn locate(
        &self,
        t: &T,
        partition: &powerplane_model::PartitionName,
        frames: [&FrameName; 2],
    ) -> Result<Located, BackendError> {
        let mut cmds = Vec::new();
        for f in frames {
            cmds.push(format!("lssyscfg -r lpar -m {} -F name", f.word()));
            cmds.push(format!("lslparmigr -r lpar -m {} -F {}", f.word(), l::fields(l::LPARMIGR)));
        }
        let out = run_batch(t, &cmds).await?;
        let mut located = Located::Nowhere;
        for (k, f) in frames.iter().enumerate() {
            let names = &out[2 * k];
            if names.code == 0 && names.stdout.lines().any(|n| n.trim() == partition.as_str()) {
                let migr = listing(&out[2 * k + 1].stdout, l::LPARMIGR).unwrap_or_default();
                let rec = migr.iter().find(|r| r.get("name").map(String::as_str) == Some(partition.as_str()));
                let state =
                    rec.and_then(|r| r.get("migration_state").cloned()).unwrap_or_else(|| "Not Migrating".into());
                located = match state.as_str() {
                    "Not Migrating" => Located::On((*f).clone()),
                    "Migration Failed" => Located::Failed((*f).clone()),
                    // How far it got: `bytes_remaining` (IBM's `lslparmigr` man page), while it
                    // copies.
                    _ => Located::Migrating {
                        remaining: rec.and_then(|r| r.get("bytes_remaining")).and_then(|b| b.parse().ok()),
                    },
                };
                break;
            }
        }
        Ok(located)
    }

    /// The bound of `partition`'s migration, from its memory as last observed.
    pub(super) fn migration_progress(&self, partition: &powerplane_model::PartitionName) -> Progress {
        let memory = self
            .last
            .read()
            .expect("not poisoned")
            .as_ref()
            .and_then(|e| e.partitions.get(partition))
            .map_or(UNKNOWN_SIZE, |p| p.spec.memory.desired_mb);
        Progress::new(memory)
    }

    /// Waits while the migration of `partition` runs within its bound, or progresses past it
    /// (`lslparmigr`'s bytes remaining go down); returns the timeout once it stalls past its
    /// bound. It never ends the migration: the HMC carries it on, and the next observation sees
    /// it in flight.
    pub(super) async fn watch(
        &self,
        t: &T,
        partition: &powerplane_model::PartitionName,
        frames: [&FrameName; 2],
        started: tokio::time::Instant,
    ) -> BackendError {
        let mut progress = self.migration_progress(partition);
        tokio::time::sleep(progress.bound()).await;
        loop {
            let remaining = match self.locate(t, partition, frames).await {
                Ok(Located::Migrating { remaining }) => remaining,
                _ => None,
            };
            if !progress.keep_following(started.elapsed(), remaining) {
                tracing::warn!(%partition, elapsed_s = started.elapsed().as_secs(), bound_s = progress.bound().as_secs(), "the migration made no progress past its bound; no longer waiting for it");
                return BackendError::Timeout(started.elapsed());
            }
            tokio::time::sleep(self.poll).await;
        }
    }

    /// `migrlpar -o m`: issued once; if the connection fails while it runs, or before it is
    /// known to have started, the migration is followed with `lslparmigr` until it ends, and
    /// only its observed outcome decides. It is bounded by the partition's size, and past that
    /// bound by its progress ([`Progress`]), never by a fixed limit.
    pub(super) async fn migrate(
        &self,
        t: &T,
        action: &Action,
        from: &FrameName,
        to: &FrameName,
    ) -> Result<Completion, BackendError> {
        let Op::MigratePartition { partition, .. } = &action.op else { unreachable!("called for migrations") };
        // Tokio's clock, so that a test on virtual time follows a long migration in no time.
        let started = tokio::time::Instant::now();
        // Idempotence: a partition already on the target (a retry after a lost connection)
        // is not moved again; one still migrating is followed.
        match self.locate(t, partition, [from, to]).await? {
            Located::On(f) if f == *to => {
                return Ok(Completion {
                    message: format!("{partition} is already on {to}"),
                    duration: Duration::ZERO,
                    suspended: None,
                });
            }
            Located::Migrating { .. } => return self.follow(t, partition, from, to, started).await,
            _ => {}
        }
        let command = [action.op.command()];
        let issued = tokio::select! {
            r = run_batch(t, &command) => r,
            e = self.watch(t, partition, [from, to], started) => return Err(e),
        };
        match issued {
            Ok(out) if out[0].code == 0 => Ok(Completion {
                message: out[0].stdout.trim().to_owned(),
                duration: started.elapsed(),
                suspended: None,
            }),
            Ok(out) => Err(hscl::classify(&out[0].stdout, &out[0].stderr)),
            Err(e) => {
                tracing::warn!(%partition, error = %e, "the connection failed during migrlpar; following the migration");
                self.follow(t, partition, from, to, started).await
            }
        }
    }

    pub(super) async fn follow(
        &self,
        t: &T,
        partition: &powerplane_model::PartitionName,
        from: &FrameName,
        to: &FrameName,
        started: tokio::time::Instant,
    ) -> Result<Completion, BackendError> {
        let mut progress = self.migration_progress(partition);
        loop {
            match self.locate(t, partition, [from, to]).await {
                Ok(Located::On(f)) if f == *to => {
                    return Ok(Completion {
                        message: format!("{partition} migrated to {to} (followed with lslparmigr)"),
                        duration: started.elapsed(),
                        suspended: None,
                    });
                }
                Ok(Located::On(f)) => {
                    return Err(BackendError::refused_plain(format!("{partition} did not migrate: it is on {f}")));
                }
                Ok(Located::Failed(f)) => {
                    return Err(BackendError::refused_plain(format!(
                        "the migration of {partition} failed part-way; it awaits `migrlpar -o r -m {} -p {}`",
                        f.word(),
                        partition.word()
                    )));
                }
                Ok(Located::Nowhere) => {
                    return Err(BackendError::internal(format!("{partition} is listed on neither {from} nor {to}")));
                }
                Ok(Located::Migrating { remaining }) if progress.keep_following(started.elapsed(), remaining) => {}
                Err(_) if progress.keep_following(started.elapsed(), None) => {}
                Ok(Located::Migrating { .. }) | Err(_) => return Err(BackendError::Timeout(started.elapsed())),
            }
            tokio::time::sleep(self.poll).await;
        }
    }
}

/// Where a partition is.
pub(super) enum Located {
    On(FrameName),
    /// Migrating, with the bytes left to copy when listed.
    Migrating {
        remaining: Option<u64>,
    },
    Failed(FrameName),
    Nowhere,
}
