//! The simulated hypervisor: a PowerVM estate that behaves as the seeds describe (SEA
//! failover and load sharing, AMS paging failover without failback, LPM checks and timing),
//! with fault injection, deterministic from a seed, on virtual time, persisted in the state
//! dir between commands. One file per concern.

mod capacity;
mod clock;
mod cluster;
pub(crate) mod consoles;
mod events;
mod fault;
pub mod hmc_shell;
mod inventory;
mod journal;
mod migration;
mod observe;
mod open;
mod paging;
mod partition;
mod persist;
mod pools;
mod power;
mod profile_copy;
mod report;
mod sea;
mod state;
mod storage;
mod vios;
mod virtual_eth;

#[cfg(test)]
mod durability_tests;
#[cfg(test)]
mod power_tests;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use powerplane_model::{Action, ActionKind, Estate, FrameName, Op, PartitionName, RunsOn, ViosName};
use tokio::sync::Mutex;

pub use crate::store::{StateDir, StoreError};
pub use clock::Clock;
pub use events::SimEvent;
pub use fault::Fault;
pub use inventory::{LAB_INVENTORY, realise, twin};
pub use open::{Created, OpenError, build, open_existing, open_or_create};
pub use persist::{load as load_state, save as save_state};
pub use report::Report;
pub use state::{FailMode, SimState};

use crate::backend::{BackendError, Completion, Hypervisor};

/// The simulated hypervisor. Cheap to clone; clones share one estate.
#[derive(Clone)]
pub struct Simulator {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<SimState>,
    /// Where changes are persisted (none: in memory only).
    store: Option<journal::Journal>,
    timeline: clock::Timeline,
    /// Frames that migrations ending changed since the last save (saved with the next change).
    unsaved: std::sync::Mutex<std::collections::BTreeSet<FrameName>>,
    /// Held from making a change's writes to appending them, so they reach the journal in order.
    apply_order: std::sync::Mutex<()>,
}

impl Simulator {
    /// A simulator over `state`, persisting every change to `store` when given. Its virtual
    /// time starts at `state.now_ms` and runs at `clock`'s pace.
    pub fn new(mut state: SimState, store: Option<StateDir>, clock: Clock) -> Self {
        state.index_power();
        let timeline = clock::Timeline::starting_at(state.now_ms, clock);
        Simulator {
            inner: Arc::new(Inner {
                state: Mutex::new(state),
                store: store.map(journal::Journal::new),
                timeline,
                unsaved: Default::default(),
                apply_order: Default::default(),
            }),
        }
    }

    /// The state, with every operation in flight moved on to the virtual time now (in memory
    /// only: any process derives the same from the saved state and the clock).
    async fn current(&self) -> tokio::sync::MutexGuard<'_, SimState> {
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

    /// A copy of the whole state, as of now.
    pub async fn snapshot(&self) -> SimState {
        self.current().await.clone()
    }

    /// Reads the state as of now without copying it (the emulated HMC's listings).
    pub(crate) async fn read<R>(&self, f: impl FnOnce(&SimState) -> R) -> R {
        f(&*self.current().await)
    }

    /// Everything `sim show` prints, as of now.
    pub async fn report(&self) -> Report {
        report::report(&*self.current().await)
    }

    /// Saves the virtual time this process has seen pass, with what ended in it (a migration
    /// another process left running): a process that waited for work to end makes the next
    /// one start from there, so both say the same of it. Only commands that change the estate
    /// call this; read-only ones never write.
    pub async fn save_time(&self) -> Result<(), BackendError> {
        self.change(&[], |_| Ok(())).await
    }

    /// Waits `d` of virtual time (scaled down to real time at the clock's pace; at once
    /// without real waits, moving virtual time on).
    pub async fn sleep_virtual(&self, d: std::time::Duration) {
        self.inner.timeline.sleep_until(self.now_ms() + d.as_millis() as u64).await;
    }

    /// The virtual time now, in milliseconds since `sim init`.
    pub fn now_ms(&self) -> u64 {
        self.inner.timeline.now_ms()
    }

    /// Changes the state of `frames` (and the estate-wide part) and persists exactly that;
    /// when `f` fails, or the save does, the state is restored and nothing is saved.
    async fn change<R>(
        &self,
        frames: &[&FrameName],
        f: impl FnOnce(&mut SimState) -> Result<R, BackendError>,
    ) -> Result<R, BackendError> {
        self.change_scoped(frames, None, f).await
    }

    /// [`Simulator::change`]; with `only`, `f` changes of its one frame no partition but that
    /// one, so only the frame's own part and that partition are kept aside and compared, not
    /// all the frame's partitions (debug builds check that it keeps to this).
    async fn change_scoped<R>(
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
                .map_err(|e| BackendError::Internal(e.to_string())),
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
            journal.append(ops).map_err(|e| BackendError::Internal(e.to_string()))?;
            drop(order);
            // Durable before the call returns, as the HMC's own state is; concurrent changes
            // share one fdatasync (group commit).
            if journal.sync().await.map_err(|e| BackendError::Internal(e.to_string()))? {
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
            .map_err(|e| BackendError::Internal(e.to_string()))?
            .map_err(|e| BackendError::Internal(e.to_string()))
    }

    /// Fault: a VIOS shuts down (or crashes). Returns what happened.
    pub async fn vios_down(&self, frame: &FrameName, vios: &ViosName) -> Result<Vec<String>, BackendError> {
        self.change(&[frame], |s| vios::down(s.frame_mut(frame)?, vios)).await
    }

    /// A VIOS comes back. Returns what happened.
    pub async fn vios_up(&self, frame: &FrameName, vios: &ViosName) -> Result<Vec<String>, BackendError> {
        self.change(&[frame], |s| vios::up(s.frame_mut(frame)?, vios)).await
    }

    /// Fault: a frame loses utility power and runs on battery (no valid LPM target).
    pub async fn battery(&self, frame: &FrameName, on: bool) -> Result<(), BackendError> {
        self.change(&[frame], |s| {
            s.frame_mut(frame)?.hw.on_battery = on;
            Ok(())
        })
        .await
    }

    /// Fault: the frame's state as the HMC lists it (`No Connection`, `Failed Authentication`,
    /// `Operating` again). A frame that is not `Operating` answers no listing but
    /// `lssyscfg -r sys` (HSCL0238), as a real HMC's.
    pub async fn frame_state(
        &self,
        frame: &FrameName,
        state: powerplane_model::status::FrameState,
    ) -> Result<(), BackendError> {
        self.change(&[frame], |s| {
            s.frame_mut(frame)?.state = state;
            Ok(())
        })
        .await
    }

    /// Fault: a partition's state as the HMC lists it (`Not Available` when the HMC cannot tell,
    /// `Running` again): a state powerplane cannot plan on makes the partition unknown until
    /// it is back. Its RMC connection follows (up while it runs).
    pub async fn lpar_state(
        &self,
        partition: &PartitionName,
        state: powerplane_model::status::LparState,
    ) -> Result<(), BackendError> {
        let frame = {
            let s = self.inner.state.lock().await;
            s.frames
                .iter()
                .find(|(_, f)| f.partitions.get(partition).is_some_and(|p| !p.is_shell()))
                .map(|(n, _)| n.clone())
        };
        let Some(frame) = frame else {
            return Err(BackendError::refused_plain(format!("No partition named {partition} exists.")));
        };
        self.change(&[&frame], |s| {
            let p = s.frame_mut(&frame)?.partitions.get_mut(partition).expect("found above, under the same lock");
            p.rmc = state.is_running();
            p.state = state;
            p.power = None;
            Ok(())
        })
        .await
    }

    /// Fault: the next action of `kind` fails. One injection is pending per kind: this one
    /// replaces the one pending for `kind`, which it returns.
    pub async fn fail_next(&self, kind: ActionKind, mode: FailMode) -> Result<Option<FailMode>, BackendError> {
        self.change(&[], |s| Ok(s.faults.fail_next.insert(kind, mode))).await
    }

    /// Disarms every injected failure and hang.
    pub async fn clear_faults(&self) -> Result<(), BackendError> {
        self.change(&[], |s| {
            s.faults = Default::default();
            Ok(())
        })
        .await
    }

    /// `mkauthkeys -g --ip TO -u USER` run on the HMC `on`: its SSH key is authorized on `to`
    /// for `user`, so that it may migrate partitions to `to`'s frames ([`consoles`]).
    pub async fn authorize_keys(
        &self,
        on: &powerplane_model::HmcAddress,
        to: &powerplane_model::HmcAddress,
        user: &powerplane_model::HmcUser,
    ) -> Result<(), BackendError> {
        self.change(&[], |s| consoles::authorize(s, on, to, user).map(drop)).await
    }

    /// Fault: the next action of `kind` hangs until it times out.
    pub async fn hang_next(&self, kind: ActionKind) -> Result<(), BackendError> {
        self.change(&[], |s| {
            s.faults.hang_next.insert(kind);
            Ok(())
        })
        .await
    }

    /// Fault: the HMC loses (or regains) its RMC connection to a partition or VIOS.
    pub async fn rmc(&self, name: &str, up: bool) -> Result<(), BackendError> {
        let frame = {
            let s = self.inner.state.lock().await;
            s.frames
                .iter()
                .find(|(_, f)| f.partitions.contains_key(name) || f.vios.contains_key(name))
                .map(|(n, _)| n.clone())
        };
        let Some(frame) = frame else {
            return Err(BackendError::refused_plain(format!("No partition or VIOS named {name} exists.")));
        };
        self.change(&[&frame], |s| {
            for f in s.frames.values_mut() {
                // Lost during an activation, it does not come by itself; restored during one, it
                // comes once the partition runs; back on a running one, its activation is complete.
                if let Some(p) = f.partitions.get_mut(name) {
                    p.rmc = up && p.state.is_running();
                    let who = power::Powered::Lpar(PartitionName::new(name).expect("a partition's name"));
                    if p.rmc {
                        p.power = None;
                    } else if up {
                        power::restore_rmc(f, &who);
                    } else {
                        power::lose_rmc(f, &who);
                    }
                    return Ok(());
                }
                if let Some(v) = f.vios.get_mut(name) {
                    v.rmc = up && v.state.is_running();
                    if v.rmc {
                        v.power = None;
                    } else {
                        let who = power::Powered::Vios(ViosName::new(name).expect("a VIOS's name"));
                        if up { power::restore_rmc(f, &who) } else { power::lose_rmc(f, &who) }
                    }
                    return Ok(());
                }
            }
            Err(BackendError::refused_plain(format!("No partition or VIOS named {name} exists.")))
        })
        .await
    }

    /// Runs a cluster command on the simulated node `node`, as an administrator would over SSH:
    /// `lltconfig -T query`, `lltconfig -T peerinact:N`, `hagrp -switch GROUP -to NODE`,
    /// `clmgr stop|start node N ...`, `pcs node maintenance|unmaintenance N`. Returns what the
    /// command prints.
    pub async fn node_command(&self, node: &PartitionName, words: &[String]) -> Result<String, BackendError> {
        let frames: Vec<FrameName> = {
            let s = self.inner.state.lock().await;
            let Some(p) = s.locate(node).and_then(|f| s.frames[f].partitions.get(node)) else {
                return Err(BackendError::refused_plain(format!("ssh: Could not resolve hostname {node}")));
            };
            let members = p.node.as_ref().map(|n| n.spec.members.clone()).unwrap_or_else(|| vec![node.clone()]);
            s.frames
                .iter()
                .filter(|(_, f)| members.iter().any(|m| f.partitions.contains_key(m)))
                .map(|(n, _)| n.clone())
                .collect()
        };
        let refs: Vec<&FrameName> = frames.iter().collect();
        let w: Vec<&str> = words.iter().map(String::as_str).collect();
        self.change(&refs, |s| {
            let here = s.locate(node).cloned().expect("found above");
            match w.as_slice() {
                ["lltconfig", "-T", "query"] => cluster::query(s, node),
                ["lltconfig", "-T", arg] if arg.starts_with("peerinact:") => {
                    let v = arg["peerinact:".len()..].parse::<u32>().map_err(|_| {
                        BackendError::refused_plain(format!("lltconfig: invalid timer value {arg}"))
                    })?;
                    cluster::set_peerinact(s.frame_mut(&here)?, node, v)
                }
                ["hagrp", "-switch", group, "-to", to] => {
                    let to = PartitionName::new(*to).map_err(|e| BackendError::refused_plain(e.to_string()))?;
                    cluster::switch_group(s, group, &to)?;
                    Ok(format!("Group {group} is switching to {to}"))
                }
                ["clmgr", verb @ ("stop" | "start"), "node", n, ..] if *n == node.as_str() => {
                    cluster::set_unmanaged(s.frame_mut(&here)?, node, *verb == "stop")
                }
                ["pcs", "node", verb @ ("maintenance" | "unmaintenance"), n] if *n == node.as_str() => {
                    cluster::set_maintenance(s.frame_mut(&here)?, node, *verb == "maintenance")
                }
                _ => Err(BackendError::refused_plain(format!(
                    "the simulated node does not know `{}`; it runs: lltconfig -T query, lltconfig -T peerinact:N, hagrp -switch GROUP -to NODE, clmgr stop|start node {node} ..., pcs node maintenance|unmaintenance {node}",
                    w.join(" ")
                ))),
            }
        })
        .await
    }

    /// `lltconfig -T query` on the simulated node `node`: what LLT's timers are now. It only
    /// reads.
    pub async fn node_query(&self, node: &PartitionName) -> Result<String, BackendError> {
        let s = self.current().await;
        cluster::query(&s, node)
    }

    /// Fault: a migration in flight is aborted (an operator ran `migrlpar -o s`, or the HMC gave
    /// up): it stops where it is and waits for `migrlpar -o r`, like one that failed.
    pub async fn abort_migration(&self, name: &PartitionName) -> Result<String, BackendError> {
        let from = {
            let s = self.current().await;
            s.outbound.iter().find(|(_, n)| n == name).map(|(f, _)| f.clone())
        };
        let Some(from) = from else {
            return Err(BackendError::refused_plain(format!("No migration of {name} is in progress.")));
        };
        self.change(&[&from], |s| migration::abort(s, name, &from)).await
    }

    /// Takes an injected fault for `kind`, if one is armed.
    async fn take_fault(&self, kind: ActionKind) -> Result<Option<Injected>, BackendError> {
        {
            let s = self.inner.state.lock().await;
            if !s.faults.fail_next.contains_key(&kind) && !s.faults.hang_next.contains(&kind) {
                return Ok(None);
            }
        }
        self.change(&[], |s| {
            if s.faults.hang_next.remove(&kind) {
                return Ok(Some(Injected::Hang(Duration::from_secs(s.settings.hang_timeout_secs))));
            }
            Ok(s.faults.fail_next.remove(&kind).map(|mode| match mode {
                FailMode::Transient => Injected::Fail(BackendError::Transient(format!(
                    "injected transient failure of {kind} (the HMC was busy)"
                ))),
                FailMode::Midway if kind == ActionKind::MigratePartition => Injected::Midway,
                // An injected migration failure is the partition refusing, as the HMC reports it.
                // seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, line 1718.
                FailMode::Permanent | FailMode::Midway if kind == ActionKind::MigratePartition => {
                    Injected::Fail(BackendError::Refused {
                        code: Some("HSCLA257".into()),
                        message: format!("injected failure of {kind}: the migrating partition has returned a failure response to the HMC's request"),
                    })
                }
                FailMode::Permanent | FailMode::Midway => {
                    Injected::Fail(BackendError::refused_plain(format!("injected failure of {kind}")))
                }
            }))
        })
        .await
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

/// What a change makes of the estate is kept aside before it, to undo it if it fails. For an
/// action on one partition that is the frame's own part and that partition. Otherwise it is
/// the whole frame.
enum Backup {
    Whole(Option<state::SimFrame>),
    Partition { shell: state::SimFrame, name: PartitionName, old: Option<Box<state::SimPartition>> },
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

/// An injected fault taken for one action.
enum Injected {
    /// The call hangs until it times out.
    Hang(Duration),
    /// The call fails.
    Fail(BackendError),
    /// The migration starts and fails half-way.
    Midway,
}

impl Hypervisor for Simulator {
    async fn observe(&self) -> Result<Estate, BackendError> {
        let s = self.current().await;
        Ok(observe::estate(&s, None))
    }

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
}
