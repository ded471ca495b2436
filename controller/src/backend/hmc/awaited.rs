//! A start or stop the HMC carries out over time: the state it waits for, and following
//! the partition's or VIOS's state (`lssyscfg -r lpar`) until it is reached.

use powerplane_model::status::LparState;
use powerplane_model::{FrameName, Op};

use super::transport::{Transport, run_batch};

use crate::backend::power_wait::Until;
use crate::backend::{BackendError, Completion, Hypervisor};

use super::{Hmc, hscl};

impl<T: Transport> Hmc<T> {
    /// Why a partition in `Open Firmware` will not boot: it has storage client adapters and
    /// no disk is mapped to it on any VIOS of its frame (as observed now: `lshwres -r
    /// virtualio`, `lsmap`). `None` when a disk is mapped, or its storage cannot be told.
    pub(super) async fn no_disk_mapped(&self, w: &Awaited) -> Option<String> {
        let name = powerplane_model::PartitionName::new(w.name.as_str()).ok()?;
        let e = self.observe_frames(&[w.frame.clone()].into()).await.ok()?;
        let vios = e.status.vios_storage.get(&w.frame)?;
        e.status.client_adapters.get(&name).filter(|c| !c.is_empty())?;
        let mapped = vios.values().flat_map(|v| &v.adapters).any(|a| a.client == name && a.carries_disks());
        (!mapped).then(|| {
            format!(
                "{} is in Open Firmware (its firmware's SMS menu), not Running: no disk is mapped to it on any VIOS of {} (lsmap), so it has nothing to boot from. Map its boot disk (mkvdev -vdev hdiskN -vadapter vhostN), then restart it (chsysstate -m {} -r lpar -o shutdown --immed -n {}, then -o on)",
                w.name,
                w.frame,
                w.frame.word(),
                w.name
            )
        })
    }

    /// The partition's state and whether its RMC connection is active, as `lssyscfg` lists
    /// them now.
    pub(super) async fn lpar_state(&self, t: &T, w: &Awaited) -> Result<(LparState, bool), BackendError> {
        let cmd =
            format!("lssyscfg -r lpar -m {} --filter \"lpar_names={}\" -F state,rmc_state", w.frame.word(), w.name);
        let out = run_batch(t, &[cmd]).await?.remove(0);
        if out.code != 0 {
            return Err(hscl::classify(&out.stdout, &out.stderr));
        }
        let line = out.stdout.lines().next().unwrap_or("").trim();
        let (state, rmc) = line.rsplit_once(',').unwrap_or((line, ""));
        if state.is_empty() {
            return Err(BackendError::internal(format!("{} is not listed on {}", w.name, w.frame)));
        }
        Ok((LparState::parse(state), rmc == "active"))
    }

    /// Follows `w` with `lssyscfg` every poll until it is reached, bounded by
    /// [`Awaited::limit`]; a state that is neither the one awaited nor on its way there (an
    /// `Error`, one this version does not know) ends it as a refusal, with the state named.
    /// Just after the command was `issued`, the state it started from still counts as on the
    /// way (the HMC has begun, the listing may not show it yet).
    pub(super) async fn follow_state(
        &self,
        t: &T,
        w: &Awaited,
        started: tokio::time::Instant,
        said: &str,
        issued: bool,
    ) -> Result<Completion, BackendError> {
        loop {
            let (state, rmc) = self.lpar_state(t, w).await?;
            if w.until.reached(&state, rmc) {
                let message = match (said.is_empty(), w.until) {
                    (true, Until::Running { rmc: true }) => format!("{} is running with RMC active", w.name),
                    (true, _) => format!("{} is {state}", w.name),
                    (false, _) => format!("{said}; {} is {state}", w.name),
                };
                return Ok(Completion { message, duration: started.elapsed(), suspended: None });
            }
            // Activated without a disk mapped, it waits in its SMS menu: say so, not wait.
            if state == LparState::OpenFirmware
                && w.until == (Until::Running { rmc: false })
                && let Some(why) = self.no_disk_mapped(w).await
            {
                return Err(BackendError::refused_plain(why));
            }
            let on_the_way = w.until.under_way(&state, rmc) || (issued && w.until.from(&state));
            if !on_the_way {
                return Err(BackendError::refused_plain(format!(
                    "{} is {state} after `chsysstate`, not {}: look at its reference code (`lsrefcode -r lpar -m {} --filter \"lpar_names={}\"`)",
                    w.name,
                    w.until,
                    w.frame.word(),
                    w.name
                )));
            }
            if started.elapsed() >= w.until.limit() {
                return Err(BackendError::Timeout(started.elapsed()));
            }
            tokio::time::sleep(self.poll).await;
        }
    }
}

/// A partition or VIOS a `chsysstate` starts or stops, and the state it waits for.
pub(super) struct Awaited {
    pub(super) frame: FrameName,
    pub(super) name: String,
    pub(super) until: Until,
}

impl Awaited {
    pub(super) fn of(op: &Op) -> Option<Self> {
        let (frame, name, until) = match op {
            Op::StartVios { frame, vios, .. } => (frame, vios.to_string(), Until::Running { rmc: true }),
            Op::StopVios { frame, vios } => (frame, vios.to_string(), Until::NotActivated),
            Op::StartPartition { frame, partition, .. } => {
                (frame, partition.to_string(), Until::Running { rmc: false })
            }
            Op::StopPartition { frame, partition, .. } => (frame, partition.to_string(), Until::NotActivated),
            _ => return None,
        };
        Some(Awaited { frame: frame.clone(), name, until })
    }
}
