//! The `Op` interpreter: an [`Action`] carried out on the simulated estate as the HMC carries
//! out its command line. Injected faults are taken first; a migration is validated, begun and
//! followed on the timeline; a `chsysstate` begins an activation or a shutdown and, for
//! [`Hypervisor::execute`], is followed until the state it starts is reached; every other
//! operation is applied in one transactional change ([`super::txn`]) and takes its kind's
//! typical time.

use std::time::Duration;

use powerplane_model::{Action, Estate, FrameName, Op, PartitionName, RunsOn};

use super::fault::Injected;
use super::{
    SimState, Simulator, cluster, migration, observe, paging, partition, pools, power, profile_copy, sea, state,
    storage, vios, virtual_eth,
};
use crate::backend::{BackendError, Completion, Hypervisor};

impl Hypervisor for Simulator {
    #[tracing::instrument(level = "debug", name = "sim.observe", skip_all)]
    async fn observe(&self) -> Result<Estate, BackendError> {
        let s = self.current().await;
        Ok(observe::estate(&s, None))
    }

    #[tracing::instrument(level = "debug", name = "sim.observe_frames", skip_all, fields(frames = frames.len()))]
    async fn observe_frames(&self, frames: &std::collections::BTreeSet<FrameName>) -> Result<Estate, BackendError> {
        let s = self.current().await;
        Ok(observe::estate(&s, Some(frames)))
    }

    async fn rates(&self) -> powerplane_model::plan::Rates {
        let s = self.inner.state.lock().await;
        powerplane_model::plan::Rates {
            lpm_seconds_per_gb: s.settings.lpm_seconds_per_gb,
            lpm_suspend_ms: s.settings.lpm_suspend_ms,
            ..Default::default()
        }
    }

    #[tracing::instrument(
        level = "debug",
        name = "sim.execute",
        skip_all,
        fields(action = %action.id, kind = ?action.kind())
    )]
    async fn execute(&self, action: &Action) -> Result<Completion, BackendError> {
        self.run(action, true).await
    }
}

impl Simulator {
    /// Carries out `action` as the HMC's command line does: a `chsysstate` returns once the
    /// activation or shutdown has begun (the emulated HMC's commands).
    pub(crate) async fn issue(&self, action: &Action) -> Result<Completion, BackendError> {
        self.run(action, false).await
    }

    /// Carries out `action`; with `follow`, a `chsysstate` is followed until the state it
    /// starts is reached, as the HMC backend follows it (`Hypervisor::execute`).
    async fn run(&self, action: &Action, follow: bool) -> Result<Completion, BackendError> {
        let kind = action.kind();
        tracing::debug!(id = %action.id, %kind, command = %action.op.command(), "simulating");
        let mut midway = false;
        match self.take_fault(kind).await? {
            Some(Injected::Hang(d)) => {
                let until = self.now_ms() + d.as_millis() as u64;
                self.inner.timeline.sleep_until(until).await;
                return Err(BackendError::Timeout(d));
            }
            Some(Injected::Fail(e)) => return Err(e),
            Some(Injected::Midway) => midway = true,
            None => {}
        }
        if let Op::MigratePartition { partition, from, to, .. } = &action.op {
            return self.migrate(partition, from, to, migration::Asked::of(&action.op), midway).await;
        }
        // A cluster node is reached by its name, wherever it runs: the frame a plan gave it (the
        // migration's target for a restore) is not where it is when that migration failed.
        let mut op = action.op.clone();
        if let RunsOn::Node(node) = action.op.runs_on() {
            let s = self.inner.state.lock().await;
            if let Some(here) = s.locate(node) {
                op.set_node_frame(here.clone());
            }
        }
        if let Some((frame, who, until)) = power::awaited(&op) {
            return self.power(&op, &frame, &who, until, follow).await;
        }
        let (message, duration, start) = self
            .change_scoped(&op.frames(), scope(&op), |s| {
                let (m, d) = Simulator::apply(s, &op)?;
                Ok((m, d, s.now_ms))
            })
            .await?;
        self.inner.timeline.sleep_until(start + duration.as_millis() as u64).await;
        // Activated without its boot disk, it waits in its SMS menu: not the Running awaited.
        if let Op::StartPartition { frame, partition, .. } = &op
            && let Some(why) = self.read(|s| storage::stuck_in_sms(s, frame, partition)).await
        {
            return Err(BackendError::refused_plain(why));
        }
        Ok(Completion { message, duration, suspended: None })
    }

    /// `migrlpar -o m`: validates and starts the migration on the HMC, then follows it
    /// (`lslparmigr`) until it ends. The migration itself lives in the simulator's state, not
    /// in this call: if the caller goes away, it still ends at its time on the timeline.
    async fn migrate(
        &self,
        name: &PartitionName,
        from: &FrameName,
        to: &FrameName,
        asked: migration::Asked<'_>,
        midway: bool,
    ) -> Result<Completion, BackendError> {
        let (v, mut until) = self
            .change(&[from, to], |s| {
                let v = migration::validate(s, name, from, to, asked)?;
                let until = migration::begin(s, name, from, to, &v, s.now_ms, midway);
                Ok((v, until))
            })
            .await?;
        loop {
            self.inner.timeline.sleep_until(until).await;
            let now = self.change(&[], |s| Ok(migration::progress(s, name, from, to))).await?;
            match now {
                migration::Progress::Running(end) => until = end.max(until),
                migration::Progress::Done => break,
                migration::Progress::Failed => {
                    return Err(BackendError::refused_plain(format!(
                        "The migration of {name} from {from} to {to} failed part-way. The partition is left migrating on both managed systems; recover it with migrlpar -o r -m {} -p {}.",
                        from.word(),
                        name.word()
                    )));
                }
                migration::Progress::Gone => {
                    return Err(BackendError::refused_plain(format!(
                        "The migration of {name} from {from} to {to} no longer exists (it was stopped or recovered)."
                    )));
                }
            }
        }
        // A cluster member is silent to its peers for its environment's time.
        let suspended = {
            let s = self.inner.state.lock().await;
            cluster::silence(&s, name, to).unwrap_or(v.suspend)
        };
        Ok(Completion {
            message: format!(
                "{name} migrated from {from} to {to} in {}s (suspended {} ms){}",
                v.duration.as_secs(),
                suspended.as_millis(),
                v.paging
                    .as_ref()
                    .map(|a| format!(
                        ", paging device {}{}",
                        a.device,
                        if a.redundant { " (redundant)" } else { " (non-redundant)" }
                    ))
                    .unwrap_or_default()
            ),
            duration: v.duration,
            suspended: Some(suspended),
        })
    }

    /// `chsysstate`: begins the activation or shutdown of `who` (unless, followed, one is under
    /// way already: it is followed, never issued again), then with `follow` waits on the
    /// virtual timeline until `until` is reached, bounded by [`power::Until::limit_ms`]. A
    /// state off the way (a crash, an operator's command) ends it as a refusal naming the state.
    async fn power(
        &self,
        op: &Op,
        frame: &FrameName,
        who: &power::Powered,
        until: power::Until,
        follow: bool,
    ) -> Result<Completion, BackendError> {
        let started = self.now_ms();
        let seen = self.read(|s| s.frames.get(frame).and_then(|f| power::state_of(f, who))).await;
        let following = follow && seen.as_ref().is_some_and(|(st, rmc)| until.under_way(st, *rmc));
        let said = if following {
            "already under way".to_owned()
        } else {
            self.change_scoped(&op.frames(), scope(op), |s| Ok(Simulator::apply(s, op)?.0)).await?
        };
        if !follow {
            // Without real waits (`--sim-speedup 0`) nothing moves virtual time on but what
            // runs: what was begun has had all the time it needed by the next look, as a
            // reopened state has (`clock::resumed_at`).
            if !self.inner.timeline.clock().is_real() {
                let end =
                    self.read(|s| s.frames.get(frame).and_then(|f| power::of(f, who)).map(power::Power::end)).await;
                if let Some(end) = end {
                    self.inner.timeline.sleep_until(end).await;
                }
            }
            return Ok(Completion { message: said, duration: Duration::ZERO, suspended: None });
        }
        let limit = started + u64::try_from(until.limit().as_millis()).unwrap_or(u64::MAX);
        loop {
            let now_seen = self
                .read(|s| {
                    let f = s.frames.get(frame)?;
                    let (state, rmc) = power::state_of(f, who)?;
                    Some((state, rmc, power::of(f, who).and_then(|p| p.next_change(s.now_ms))))
                })
                .await;
            let Some((state, rmc, next)) = now_seen else {
                return Err(BackendError::refused_plain(format!("{who} is no longer on {frame}")));
            };
            let now = self.now_ms();
            let elapsed = Duration::from_millis(now.saturating_sub(started));
            if until.reached(&state, rmc) {
                let reached = match until {
                    power::Until::Running { rmc: true } => format!("{who} is running with RMC active"),
                    _ => format!("{who} is {state}"),
                };
                // The HMC's answer, or what was followed.
                let message = if following { format!("{said}; {reached}") } else { said };
                return Ok(Completion { message, duration: elapsed, suspended: None });
            }
            // An activation that ended in `Open Firmware`: stopped in the SMS menu, without
            // its boot disk (`storage`); it goes no further by itself.
            if state == powerplane_model::status::LparState::OpenFirmware
                && next.is_none()
                && let power::Powered::Lpar(p) = who
                && let Some(why) = self.read(|s| storage::stuck_in_sms(s, frame, p)).await
            {
                return Err(BackendError::refused_plain(why));
            }
            if !until.under_way(&state, rmc) {
                return Err(BackendError::refused_plain(format!(
                    "{who} is {state} after `chsysstate`, not {until}: look at its reference code (`lsrefcode -r lpar -m {} --filter \"lpar_names={}\"`)",
                    frame.word(),
                    who
                )));
            }
            if now >= limit {
                return Err(BackendError::Timeout(elapsed));
            }
            // Nothing more scheduled (an RMC that was lost): look again now and then, as the
            // HMC backend polls.
            let wake = next.unwrap_or(now + power::POLL_MS).min(limit);
            self.inner.timeline.sleep_until(wake.max(now + 1)).await;
        }
    }

    /// Applies an action other than a migration, returning the HMC's answer and the virtual
    /// time it takes (the typical time of its kind).
    fn apply(s: &mut SimState, op: &Op) -> Result<(String, Duration), BackendError> {
        // How long the HMC takes, as the plan's estimate takes it too.
        let typical = Duration::from_secs(powerplane_model::plan::typical_secs(op.kind()));
        Ok(match op {
            Op::CreateSharedProcessorPool { frame, pool_id: id, pool, max, reserved }
            | Op::UpdateSharedProcessorPool { frame, pool_id: id, pool, max, reserved } => {
                let f = s.frame_mut(frame)?;
                if matches!(op, Op::UpdateSharedProcessorPool { .. }) && f.proc_pool_slots().ids.get(pool) != Some(id) {
                    return Err(BackendError::refused_plain(format!(
                        "The shared processor pool {pool} with ID {id} is not configured on the managed system."
                    )));
                }
                let name = powerplane_model::ProcPoolObjectName::new(format!("{frame}-{pool}"))
                    .map_err(|e| BackendError::refused_plain(e.to_string()))?;
                (pools::set_proc_pool(f, *id, pool, *max, *reserved, name)?, typical)
            }
            Op::RemoveSharedProcessorPool { frame, pool_id, pool } => {
                (pools::unset_proc_pool(s.frame_mut(frame)?, *pool_id, pool)?, typical)
            }
            Op::CreateSharedMemoryPool { frame, pool_mem, max_pool_mem, paging_vios } => {
                let name = powerplane_model::MemPoolName::new(format!("{frame}-ams"))
                    .map_err(|e| BackendError::refused_plain(e.to_string()))?;
                (pools::create_mem_pool(s.frame_mut(frame)?, *pool_mem, *max_pool_mem, paging_vios, name)?, typical)
            }
            Op::UpdateSharedMemoryPool { frame, pool_mem, max_pool_mem } => {
                (pools::update_mem_pool(s.frame_mut(frame)?, *pool_mem, *max_pool_mem)?, typical)
            }
            Op::AddPagingDevice { frame, vios, device } => {
                (pools::add_device(s.frame_mut(frame)?, vios, device)?, typical)
            }
            Op::RemovePagingDevice { frame, device, .. } => {
                (pools::remove_device(s.frame_mut(frame)?, device)?, typical)
            }
            // Activations and shutdowns begin here and go on by themselves (`power`): the HMC
            // returns once they have begun.
            Op::StartVios { frame, vios, profile } => {
                let f = s.frame_mut(frame)?;
                vios::check_profile(f, vios, profile)?;
                let who = power::Powered::Vios(vios.clone());
                power::not_under_way(f, &who)?;
                let was_running = f.vios.get(vios).is_some_and(|v| v.state.is_running());
                let said = vios::up(f, vios)?.join("; ");
                if !was_running {
                    power::begin_activation(s, frame, who);
                }
                (said, Duration::ZERO)
            }
            Op::StopVios { frame, vios } => {
                let f = s.frame_mut(frame)?;
                let who = power::Powered::Vios(vios.clone());
                power::not_under_way(f, &who)?;
                // `chsysstate -o osshutdown` goes through the VIOS's RMC connection.
                if f.vios.get(vios).is_some_and(|v| v.state.is_running() && !v.rmc) {
                    return Err(power::no_rmc_for_osshutdown(vios.as_str()));
                }
                let was_down =
                    f.vios.get(vios).is_some_and(|v| v.state == powerplane_model::status::LparState::NotActivated);
                let said = vios::down(f, vios)?.join("; ");
                if !was_down {
                    power::begin_shutdown(s, frame, who, powerplane_model::action::ShutdownMethod::Os);
                }
                (said, Duration::ZERO)
            }
            Op::CreateSea { frame, vios, real_adapter, trunks, control_channel, ha_mode, priority } => {
                let f = s.frame_mut(frame)?;
                let name = powerplane_model::SeaName::new(format!("{frame}-sea"))
                    .map_err(|e| BackendError::refused_plain(e.to_string()))?;
                let new = sea::NewSea {
                    name,
                    vios,
                    real_adapter,
                    trunks,
                    control_channel: control_channel.as_ref(),
                    ha_mode: *ha_mode,
                    priority: *priority,
                };
                (sea::create(f, new)?, typical)
            }
            Op::SetSeaHaMode { frame, vios, device, mode } => {
                (sea::set_ha_mode(s.frame_mut(frame)?, vios, device, *mode)?, typical)
            }
            Op::RemoveSea { frame, vios, device } => (sea::remove(s.frame_mut(frame)?, vios, device)?, typical),
            Op::AddTrunkAdapter { frame, vios, trunk, priority } => {
                (virtual_eth::add(s.frame_mut(frame)?, vios, trunk, *priority)?, typical)
            }
            Op::ConfigureDevices { frame, vios } => {
                let f = s.frame_mut(frame)?;
                let mut out = vec![virtual_eth::cfgdev(f, vios)?];
                out.extend(storage::cfgdev(f, vios));
                out.retain(|l| !l.is_empty());
                (out.join("; "), typical)
            }
            Op::AddServerAdapter { frame, vios, via, slot, client, client_slot, .. } => {
                (storage::add_server(s.frame_mut(frame)?, vios, *via, *slot, client, *client_slot)?, typical)
            }
            Op::RemoveServerAdapter { frame, vios, slot, .. } => {
                (storage::remove_server(s.frame_mut(frame)?, vios, *slot)?, typical)
            }
            Op::MapDisk { frame, vios, disk, adapter, .. } => {
                (storage::map_disk(s.frame_mut(frame)?, vios, disk, adapter)?, typical)
            }
            Op::UnmapDisk { frame, vios, disk, .. } => (storage::unmap_disk(s.frame_mut(frame)?, vios, disk)?, typical),
            Op::MapNpiv { frame, vios, adapter, port, .. } => {
                (storage::map_npiv(s.frame_mut(frame)?, vios, adapter, Some(port))?, typical)
            }
            Op::UnmapNpiv { frame, vios, adapter, .. } => {
                (storage::map_npiv(s.frame_mut(frame)?, vios, adapter, None)?, typical)
            }
            Op::SetDiskNoReserve { frame, vios, disk, .. } => {
                (storage::set_no_reserve(s.frame_mut(frame)?, vios, disk)?, typical)
            }
            Op::SaveProfile { frame, vios, profile } => {
                (virtual_eth::save_profile(s.frame_mut(frame)?, vios, profile)?, typical)
            }
            Op::SetSeaAdapters { frame, vios, device, trunks } => {
                (sea::set_adapters(s.frame_mut(frame)?, vios, device, trunks)?, typical)
            }
            Op::CreatePartition { frame, partition: p, spec, profile, adapters, .. } => {
                let profiles = state::Profiles::only(profile.clone());
                let f = s.frame_mut(frame)?;
                let out = partition::create(frame, f, p, spec, profiles)?;
                storage::created(f, p, adapters);
                (out, typical)
            }
            Op::UpdatePartition { frame, partition: p, profile, change } => {
                (partition::update(s.frame_mut(frame)?, p, profile, change)?, typical)
            }
            Op::StartPartition { frame, partition: p, profile, force } => {
                // `partition::start` refuses one starting or stopping (busy).
                let f = s.frame_mut(frame)?;
                let who = power::Powered::Lpar(p.clone());
                let was_running = f.partitions.get(p).is_some_and(|q| q.state.is_running());
                let said = partition::start(f, p, profile, *force)?;
                if !was_running {
                    power::begin_activation(s, frame, who);
                }
                (said, Duration::ZERO)
            }
            Op::StopPartition { frame, partition: p, how } => {
                (power::stop_partition(s, frame, p, *how)?, Duration::ZERO)
            }
            Op::DeletePartition { frame, partition: p } => (partition::delete(s.frame_mut(frame)?, p)?, typical),
            Op::SwitchPagingVios { frame, partition: p } => (paging::switch(s.frame_mut(frame)?, p)?, typical),
            Op::ValidateMigration { partition: p, from, to, .. } => {
                let v = migration::validate(s, p, from, to, migration::Asked::of(op))?;
                (format!("{p} might be migrated from {from} to {to} (about {}s)", v.duration.as_secs()), typical)
            }
            Op::RecoverMigration { frame, partition: p, .. } => (migration::recover(s, p, frame)?, typical),
            Op::RaisePeerInactive { frame, node, centiseconds, .. }
            | Op::RestorePeerInactive { frame, node, centiseconds, .. } => {
                (cluster::set_peerinact(s.frame_mut(frame)?, node, *centiseconds)?, typical)
            }
            Op::UnmanageClusterNode { frame, node, .. } => {
                (cluster::set_unmanaged(s.frame_mut(frame)?, node, true)?, typical)
            }
            Op::ManageClusterNode { frame, node, .. } => {
                (cluster::set_unmanaged(s.frame_mut(frame)?, node, false)?, typical)
            }
            Op::EnterNodeMaintenance { frame, node, .. } => {
                (cluster::set_maintenance(s.frame_mut(frame)?, node, true)?, typical)
            }
            Op::LeaveNodeMaintenance { frame, node, .. } => {
                (cluster::set_maintenance(s.frame_mut(frame)?, node, false)?, typical)
            }
            Op::RunHook { .. } => {
                return Err(BackendError::refused_plain(
                    "a hook runs on the controller's machine, not on the hypervisor",
                ));
            }
            Op::MigratePartition { .. } => {
                unreachable!("migrations run through Simulator::migrate")
            }
            Op::RenameProfileCopy { frame, name, new_name } => {
                (profile_copy::rename(s.frame_mut(frame)?, name, new_name)?, typical)
            }
            Op::RestoreProfileCopy { frame, partition: p, spec, profile, .. } => {
                (profile_copy::restore(frame, s.frame_mut(frame)?, p, spec, profile)?, typical)
            }
            Op::RemoveProfileCopy { frame, name } => (profile_copy::remove(s.frame_mut(frame)?, name)?, typical),
        })
    }
}

/// The one partition an action changes, when it changes no other.
fn scope(op: &Op) -> Option<&PartitionName> {
    match op {
        Op::CreatePartition { partition, .. }
        | Op::UpdatePartition { partition, .. }
        | Op::StartPartition { partition, .. }
        | Op::StopPartition { partition, .. }
        | Op::DeletePartition { partition, .. }
        | Op::SwitchPagingVios { partition, .. } => Some(partition),
        // A command on a cluster node changes that node's partition only.
        _ => match op.runs_on() {
            RunsOn::Node(node) => Some(node),
            _ => None,
        },
    }
}
