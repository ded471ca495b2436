//! **Each desired partition: created, stopped, resized, moved or started, or left alone while
//! the backend is still working on it.** A migration in progress or an activation under way
//! settles on its own (the plan is not empty until it does); a migration that failed part-way is
//! recovered first. Otherwise the partition is stopped (freeing capacity), moved (see
//! [`super::migration`]), resized (by DLPAR while it runs, through its profile while it is
//! stopped: DLPAR needs a running partition), started, and failed back to its primary paging VIOS
//! ([`super::paging_failback`]), each step after the one before. A change that needs a profile
//! change and a reactivation is refused with what to do.
//!
//! DESIGN §4 and §9 (`migrlpar -o r` recovers a failed migration); seeds:
//! ams-dual-vios-and-lpm.txt, lines 48–50 (a profile change needs a reactivation);
//! infoscale-lpm-vcs.txt, line 86 (an intermediate state that needs administrative
//! intervention).

use super::Planner;
use crate::action::{ChangeMethod, Op, PartitionChange, ShutdownMethod};
use crate::estate::Partition;
use crate::manifest::{Kind, MemoryMode, PartitionSpec, Placement, Redundancy, RunState, ShutdownPolicy};
use crate::names::{FrameName, PartitionName};
use crate::placement::Eligibility;
use crate::plan::change::{ChangeKind, FieldChange, ObjectChange, field_changes};
use crate::plan::step::{Phase, Res, demand};
use crate::status::{LparState, MigrationState};
use crate::yaml::{leaves, to_yaml};

impl Planner<'_, '_> {
    pub(super) fn partitions(&mut self) {
        let assignment = self.assignment;
        for (name, dp) in &self.desired.partitions {
            let target = match assignment.get(name) {
                Some(Eligibility::Placed(target)) => target,
                // Only a frame on battery could host it: planned towards that frame, where the
                // move is deferred until utility power returns.
                Some(Eligibility::Unplaceable(rejected)) => {
                    match rejected.iter().find(|(_, why)| why == &[crate::placement::Ineligible::OnBattery]) {
                        Some((f, _)) => f,
                        None => continue,
                    }
                }
                None => continue,
            };
            let object = format!("{}/{name}", Kind::Partition);
            match self.observed.partitions.get(name) {
                None => self.new_partition(&object, name, dp, target),
                Some(op) => self.existing_partition(&object, name, dp, op, target),
            }
        }
    }

    fn new_partition(&mut self, object: &str, name: &PartitionName, dp: &Partition, target: &FrameName) {
        let paging_vios =
            self.desired_index.mem_pool_on(target).map(|p| p.spec.paging_vios.clone()).unwrap_or_default();
        let mut spec = dp.spec.clone();
        spec.placement = Placement::Frame(target.clone());
        spec.hooks = Default::default();
        spec.shutdown = Default::default();
        let deps = self.config_deps(target);
        // Created with the profile name the HMC gives the partitions it creates, and started
        // with it (`ProfileName::hmc_default`).
        let profile = crate::names::ProfileName::hmc_default();
        // Its storage client adapters, each paired with a server adapter the VIOS side adds
        // after the creation (`super::storage`).
        let adapters = self.client_layout(dp, target);
        let create = self.push(
            Op::CreatePartition {
                frame: target.clone(),
                partition: name.clone(),
                spec: Box::new(spec),
                paging_vios,
                profile: profile.clone(),
                adapters: adapters.clone(),
            },
            format!("{object} does not exist: create it on {target}"),
            deps.clone(),
            Phase::Grow,
        );
        let storage = self.provision_new(object, name, dp, target, &adapters, create);
        if dp.spec.state == RunState::Running {
            match self.boot_disk_missing(object, name, dp, target, &storage) {
                Some(why) => self.deferred.push(why),
                None => {
                    let i = self.push(
                        Op::StartPartition { frame: target.clone(), partition: name.clone(), profile, force: false },
                        format!("{object} should run"),
                        std::iter::once(create).chain(storage).collect(),
                        Phase::Grow,
                    );
                    self.steps[i].consumes = demand(&dp.spec, target);
                }
            }
        }
        let mut c = ObjectChange {
            kind: ChangeKind::Create,
            object: object.to_owned(),
            frame: Some(target.to_string()),
            fields: field_changes(&[], &leaves(&dp.spec)),
            observed: None,
            desired: Some(to_yaml(&dp.spec)),
            note: String::new(),
        };
        c.fields.retain(|f| f.path != "placement.frame" && !f.path.starts_with("placement."));
        self.changes.push(c);
    }

    fn existing_partition(
        &mut self,
        object: &str,
        name: &PartitionName,
        desired: &Partition,
        observed: &Partition,
        target: &FrameName,
    ) {
        let st = self.observed.status.partitions.get(name);
        let current = st.map(|s| s.frame.clone()).or_else(|| match &observed.spec.placement {
            Placement::Frame(f) => Some(f.clone()),
            _ => None,
        });
        let Some(current) = current else { return };
        // Runtime conditions defer only what they affect (DESIGN §10): the move waits, the
        // rest of the partition's changes and of the plan go ahead.
        let blocked = (&current != target).then(|| self.move_blocked(name, target)).flatten();
        let target = match blocked {
            Some(why) => {
                self.deferred.push(format!("{object}: the move from {current} to {target} waits: {why}"));
                current.clone()
            }
            None => target.clone(),
        };
        let state = st.map_or(LparState::NotActivated, |s| s.state.clone());
        let first_step = self.steps.len();
        let (state, recovered) = match self.in_flight(object, name, observed, &current, &state) {
            InFlight::Settling => return,
            InFlight::Recovered { step, state } => (state, Some(step)),
            InFlight::Idle => (state, None),
        };
        let p = Existing { object, name, desired, observed, current, target, state };
        self.partition_steps(&p);
        if let Some(r) = recovered {
            for step in &mut self.steps[first_step + 1..] {
                step.deps.push(r);
            }
        }
    }

    /// Work the backend is doing, or left half done, on a partition: a migration in progress or
    /// an activation under way settles on its own; a migration that failed part-way is
    /// recovered before anything else.
    fn in_flight(
        &mut self,
        object: &str,
        name: &PartitionName,
        observed: &Partition,
        current: &FrameName,
        state: &LparState,
    ) -> InFlight {
        let migration = self.observed.status.partitions.get(name).and_then(|s| s.migration.as_ref());
        match migration {
            // The HMC finishes it on its own: nothing is planned for the partition, and the
            // plan is not empty until it has ended.
            Some(m) if m.state != MigrationState::Failed && m.state.is_known() => {
                self.in_progress.push(format!(
                    "{object}: migrating from {current} to {} ({}% copied, about {} s left)",
                    m.to, m.percent, m.remaining_secs
                ));
                InFlight::Settling
            }
            // A migration that failed part-way holds the partition in a migrating state on
            // both frames until it is recovered; after that it is back on the source as it was,
            // and is planned like any other partition, after the recovery.
            // (DESIGN §9: "`-o r` recovers a failed migration".)
            Some(m) if m.state == MigrationState::Failed => {
                let i = self.push(
                    Op::RecoverMigration {
                        frame: current.clone(),
                        partition: name.clone(),
                        to: m.to.clone(),
                        remote: self.remote_hmc(current, &m.to).ok().flatten(),
                    },
                    format!(
                        "{object}: its migration from {current} to {} failed part-way; recover it (back on {current}) before anything else",
                        m.to
                    ),
                    vec![],
                    Phase::Recover,
                );
                // What the target's shell gives back: the memory and processing units a
                // running partition's shell holds, and whatever paging device the target
                // assigned it (counted held by `initial_free`), so that what waits for them —
                // the migration planned again — fits after the recovery.
                let mut frees: Vec<(Res, u64)> = Vec::new();
                if *state == LparState::MigratingRunning {
                    frees = demand(&observed.spec, &m.to)
                        .into_iter()
                        .filter(|(r, _)| !matches!(r, Res::Devices(_) | Res::CommonDevices(_)))
                        .collect();
                }
                let shell_devices = self.observed.status.paging_devices.get(&m.to).into_iter().flatten();
                for d in shell_devices.filter(|d| d.assigned.as_ref() == Some(name)) {
                    frees.push((Res::Devices(m.to.clone()), 1));
                    if d.redundant {
                        frees.push((Res::CommonDevices(m.to.clone()), 1));
                    }
                }
                self.steps[i].frees = frees;
                self.change(
                    ChangeKind::Update,
                    object.to_owned(),
                    Some(current),
                    vec![FieldChange {
                        path: "migration".into(),
                        old: Some(format!("failed towards {}", m.to)),
                        new: Some("recovered".into()),
                    }],
                    "a failed migration is recovered",
                );
                let state = match state {
                    LparState::MigratingRunning => LparState::Running,
                    LparState::MigratingNotActivated => LparState::NotActivated,
                    other => other.clone(),
                };
                InFlight::Recovered { step: i, state }
            }
            // A migration state this version does not know: the partition is unknown, and
            // `unobserved` says so; nothing is planned for it.
            Some(_) => InFlight::Settling,
            // A state this version does not know, or `Not Available`: likewise.
            None if !state.is_plannable() => InFlight::Settling,
            // In `Open Firmware` with storage powerplane provisions: it may be waiting in its
            // SMS menu, which it never leaves by itself, so it is not waited for; the storage
            // rule defers it with the reason and the restart (never converged either way).
            None if *state == LparState::OpenFirmware && self.storage_defers_open_firmware(name, current) => {
                InFlight::Idle
            }
            // Activation or shutdown under way: it settles on its own.
            None if matches!(state, LparState::Starting | LparState::OpenFirmware | LparState::ShuttingDown) => {
                self.in_progress.push(format!("{object}: {state} on {current}"));
                InFlight::Settling
            }
            None => InFlight::Idle,
        }
    }

    /// The steps of an existing partition that is not in a migration, each after the one
    /// before: stop, move, DLPAR, start, paging failback.
    fn partition_steps(&mut self, p: &Existing<'_>) {
        let Some(dlpar) = self.dlpar_fields(p) else { return };
        let mut chain = Chain::default();
        if !self.stop(p, &mut chain) {
            return;
        }
        if p.current != p.target && !self.migrate(p, &mut chain) {
            return;
        }
        self.dlpar(p, dlpar, &mut chain);
        self.start(p, &mut chain);
        if p.stays_running()
            && p.current == p.target
            && p.desired.spec.memory.mode == MemoryMode::Shared
            && let Some(f) = self.failback(p.object, p.name, p.desired, &p.target)
        {
            chain.fields.push(f);
            chain.kind.get_or_insert(ChangeKind::Drift);
            chain.notes.push("paging failback".into());
        }
        if let Some(kind) = chain.kind {
            self.changes.push(ObjectChange {
                kind,
                object: p.object.to_owned(),
                frame: Some(p.target.to_string()),
                fields: chain.fields,
                observed: Some(to_yaml(&p.observed.spec)),
                desired: Some(to_yaml(&p.desired.spec)),
                note: chain.notes.join("; "),
            });
        }
    }

    /// The configuration differences beyond placement and state: those DLPAR makes (memory,
    /// processing units, virtual processors), or `None` with a plan error when anything else
    /// differs, which needs a profile change and a reactivation.
    fn dlpar_fields(&mut self, p: &Existing<'_>) -> Option<Vec<FieldChange>> {
        // Placement and state are planned separately; `required` and `preferred` are the same
        // redundant profile (a primary and a secondary paging VIOS), only planned differently.
        // `preferred` on a frame that cannot give redundant paging is the non-redundant profile
        // a migration with `--redundantpgvios 0` leaves (DESIGN §4 rule 4).
        let fallback = p.observed.spec.memory.paging.is_some_and(|g| g.redundancy == Redundancy::None)
            && self.no_redundant_paging_on(&p.current).is_some();
        // NPIV LUNs the backend cannot see are not compared (`PartitionStatus::npiv_hidden`).
        let npiv_hidden = self.observed.status.partitions.get(p.name).is_some_and(|s| s.npiv_hidden);
        let storage_known = self.observed.status.vios_storage.contains_key(&p.current);
        let strip = |s: &PartitionSpec| {
            let mut s = s.clone();
            s.placement = Placement::Frame(p.current.clone());
            s.state = RunState::Running;
            // Hooks are the controller's, not the HMC's: no profile has them.
            s.hooks = Default::default();
            s.shutdown = Default::default();
            if npiv_hidden {
                s.storage.retain(|st| st.via != crate::manifest::StorageVia::Npiv);
            }
            // Where the backend reports the VIOS side, storage is provisioned and its drift
            // planned back by `super::storage`, not refused here.
            if storage_known {
                s.storage.clear();
            }
            if let Some(p) = s.memory.paging.as_mut()
                && p.redundancy == Redundancy::Preferred
            {
                p.redundancy = if fallback { Redundancy::None } else { Redundancy::Required };
            }
            // Defaults given or not are the same profile (an HMC lists every value).
            s.processors = s.processors.with_defaults_elided();
            s.memory = s.memory.with_defaults_elided();
            s
        };
        let (old, new) = (strip(&p.observed.spec), strip(&p.desired.spec));
        // Most partitions are unchanged: compare the values before rendering fields.
        let diffs = if old == new { Vec::new() } else { field_changes(&leaves(&old), &leaves(&new)) };
        // A redundant partition's primary paging VIOS is a profile change alone (the change's
        // `paging_vios`), never a reactivation: the running one is switched live.
        let redundant = |s: &PartitionSpec| s.memory.paging.is_some_and(|g| g.redundancy != Redundancy::None);
        let profile_only = |path: &str| path == PAGING_PRIMARY && redundant(&old) && redundant(&new);
        let (dlpar, other): (Vec<FieldChange>, Vec<FieldChange>) =
            diffs.into_iter().partition(|f| DLPAR_PATHS.contains(&f.path.as_str()) || profile_only(&f.path));
        if other.is_empty() {
            // DLPAR stays within the profile's limits; beyond them the profile must change.
            // seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, lines 96-97
            // ("Maximum: ... the maximum amount ... that can be DLPARed into the partition", the
            // virtual processors' minimum and maximum "are effectively limits on DLPAR").
            let (op, dp) = (&p.observed.spec.processors, &p.desired.spec.processors);
            let (min_u, _, max_u) = op.units_range();
            let (min_vp, _, max_vp) = op.virtual_range();
            let mut beyond = Vec::new();
            if !dlpar.is_empty() && (dp.units > max_u || dp.units < min_u) {
                beyond.push(format!(
                    "processors.units {} is outside the profile's {min_u}..{max_u} (set maxUnits/minUnits)",
                    dp.units
                ));
            }
            if op.mode == crate::manifest::ProcMode::Shared
                && !dlpar.is_empty()
                && (dp.virtual_processors() > max_vp || dp.virtual_processors() < min_vp)
            {
                beyond.push(format!(
                    "processors.virtual {} is outside the profile's {min_vp}..{max_vp} (set maxVirtual/minVirtual)",
                    dp.virtual_processors()
                ));
            }
            if beyond.is_empty() {
                return Some(dlpar);
            }
            self.errors.push(format!(
                "{}: {}: beyond the profile's limits DLPAR is refused; the limits change with the profile and a reactivation, which powerplane does not plan yet",
                p.object,
                beyond.join("; ")
            ));
            return None;
        }
        let list: Vec<String> = other
            .iter()
            .map(|f| {
                format!("{} ({} -> {})", f.path, f.old.as_deref().unwrap_or("none"), f.new.as_deref().unwrap_or("none"))
            })
            .collect();
        self.errors.push(format!(
            "{}: {} needs a profile change and a reactivation, which powerplane does not plan yet; change it on the HMC with the partition shut down, or keep the manifest as it is",
            p.object,
            list.join(", ")
        ));
        None
    }

    /// A running partition that should be stopped is shut down, giving its capacity back; one in
    /// the Error state that must move is shut down too, which clears the error (it runs nothing
    /// and holds no capacity) and makes the move an inactive one, since a partition in the Error
    /// state cannot be migrated.
    ///
    /// Which shutdown follows the manifest's `spec.shutdown` and the RMC connection now
    /// ([`Planner::shutdown_method`]); a stop that may not happen without RMC waits, deferred,
    /// and so does everything planned after it for the partition: `false`.
    fn stop(&mut self, p: &Existing<'_>, chain: &mut Chain) -> bool {
        if p.running_now() && !p.want_running() {
            let Some(how) = self.shutdown_method(p.object, p.name, &p.state, p.desired.spec.shutdown) else {
                return false;
            };
            let i = self.push(
                Op::StopPartition { frame: p.current.clone(), partition: p.name.clone(), how },
                format!("{} should be stopped", p.object),
                vec![],
                Phase::Free,
            );
            self.steps[i].frees = demand(&p.observed.spec, &p.current);
            self.leaves_frame.insert(p.name.clone(), i);
            chain.fields.push(FieldChange {
                path: "state".into(),
                old: Some("running".into()),
                new: Some("stopped".into()),
            });
            chain.kind = Some(ChangeKind::Update);
            chain.last = Some(i);
        }
        if p.state == LparState::Error && p.current != p.target {
            let i = self.push(
                Op::StopPartition {
                    frame: p.current.clone(),
                    partition: p.name.clone(),
                    how: ShutdownMethod::Immediate,
                },
                format!(
                    "{} is in the Error state and must move to {}: shut it down first to clear the error",
                    p.object, p.target
                ),
                vec![],
                Phase::Free,
            );
            chain.last = Some(i);
        }
        true
    }

    /// The shutdown of `name` (in `state`) that its `policy` allows now: the operating system's
    /// while the HMC has an RMC connection to it, else the delayed or immediate one when the
    /// policy allows it, else none: the stop waits, deferred with what to do. A partition in
    /// the Error state runs no operating system to shut down (it has no RMC) and holds nothing
    /// unwritten: it is shut down immediately, as pypowervm's `power_off` ends up doing
    /// (`tasks/power.py`: OS shutdown, then VSP normal, then VSP hard).
    pub(super) fn shutdown_method(
        &mut self,
        object: &str,
        name: &PartitionName,
        state: &LparState,
        policy: ShutdownPolicy,
    ) -> Option<ShutdownMethod> {
        if *state == LparState::Error {
            return Some(ShutdownMethod::Immediate);
        }
        let rmc = self.observed.status.partitions.get(name).is_some_and(|s| s.rmc);
        let how = policy.method(rmc);
        if how.is_none() {
            self.deferred.push(format!(
                "{object}: the shutdown waits: the HMC has no RMC connection to the partition, which its operating system's shutdown (`chsysstate -o osshutdown`) needs, and its shutdown policy is `{policy}`; restore RMC, or allow a shutdown without it (`spec.shutdown: osThenDelayed` or `osThenImmediate`)"
            ));
        }
        how
    }

    /// Memory, processing units and virtual processors changed on the running partition
    /// (`chhwres -o a|r`): growth waits for the frame's configuration and takes room, a shrink
    /// gives room back. DLPAR talks to the partition over RMC: without it the change waits,
    /// deferred. A partition that is not running changes its profile instead (`chsyscfg -r
    /// prof`), before it is started.
    fn dlpar(&mut self, p: &Existing<'_>, dlpar: Vec<FieldChange>, chain: &mut Chain) {
        if dlpar.is_empty() {
            return;
        }
        let (dp, op) = (&p.desired.spec, &p.observed.spec);
        // The paging VIOS the profile names: the pool's, the desired primary first.
        let paging_vios = if dlpar.iter().any(|f| f.path == PAGING_PRIMARY) {
            let pool =
                self.observed_index.mem_pool_on(&p.target).map(|m| m.spec.paging_vios.clone()).unwrap_or_default();
            let i = dp.memory.paging.unwrap_or_default().primary.position();
            match (pool.get(i), pool.get(1 - i)) {
                (Some(a), Some(b)) => Some((a.clone(), b.clone())),
                _ => {
                    self.errors.push(format!(
                        "{}: memory.paging.primary changes, but the shared memory pool of {} does not have two paging VIOS",
                        p.object, p.target
                    ));
                    return;
                }
            }
        } else {
            None
        };
        let profile_alone = dlpar.iter().all(|f| f.path == PAGING_PRIMARY);
        let rmc_lost =
            !profile_alone && p.stays_running() && self.observed.status.partitions.get(p.name).is_some_and(|s| !s.rmc);
        if rmc_lost {
            let list: Vec<&str> = dlpar.iter().map(|f| f.path.as_str()).collect();
            self.deferred.push(format!(
                "{}: the DLPAR change of {} waits: the HMC has no RMC connection to the partition, which DLPAR needs",
                p.object,
                list.join(", ")
            ));
            return;
        }
        // DLPAR needs a running partition; a stopped one (or one this plan stops) changes its
        // profile, which its next activation uses.
        let method = if p.stays_running() && !profile_alone { ChangeMethod::Dlpar } else { ChangeMethod::Profile };
        let change = PartitionChange {
            method,
            paging_vios,
            memory: (op.memory.desired_mb != dp.memory.desired_mb)
                .then_some((op.memory.desired_mb, dp.memory.desired_mb)),
            units: (op.processors.units != dp.processors.units).then_some((op.processors.units, dp.processors.units)),
            r#virtual: (op.processors.r#virtual != dp.processors.r#virtual)
                .then(|| (op.processors.virtual_processors(), dp.processors.virtual_processors())),
        };
        let (before, after) = (demand(op, &p.target), demand(dp, &p.target));
        let grows = after.iter().zip(&before).any(|((_, a), (_, b))| a > b);
        let what = dlpar
            .iter()
            .map(|f| format!("{} {} -> {}", f.path, f.old.as_deref().unwrap_or("-"), f.new.as_deref().unwrap_or("-")))
            .collect::<Vec<_>>()
            .join(", ");
        let i = self.push(
            Op::UpdatePartition {
                frame: p.target.clone(),
                partition: p.name.clone(),
                profile: self.observed.status.partition_profile(p.name),
                change,
            },
            format!("{}: {what}", p.object),
            chain.last.into_iter().chain(if grows { self.config_deps(&p.target) } else { Vec::new() }).collect(),
            if grows { Phase::Grow } else { Phase::Free },
        );
        if p.stays_running() {
            for ((r, a), (_, b)) in after.iter().zip(&before) {
                if a > b {
                    self.steps[i].consumes.push((r.clone(), a - b));
                } else if b > a {
                    self.steps[i].frees.push((r.clone(), b - a));
                }
            }
        }
        chain.fields.extend(dlpar);
        if self.observed.status.partitions.get(p.name).is_some_and(|s| s.below_desired) && p.stays_running() {
            // The HMC activated it below its desired values on a short frame: drift, which the
            // DLPAR change repairs once the room is there.
            chain.kind = Some(ChangeKind::Drift);
            chain.notes.push("activated below its desired values: the frame was short".into());
        } else {
            chain.kind.get_or_insert(ChangeKind::Update);
        }
        chain.last = Some(i);
    }

    /// A partition that should run and does not is activated where it ends up, after the
    /// frame's configuration, taking its capacity there.
    fn start(&mut self, p: &Existing<'_>, chain: &mut Chain) {
        if p.running_now() || !p.want_running() {
            return;
        }
        let storage: Vec<usize> = self.storage_ready.get(p.name).into_iter().flatten().copied().collect();
        // Activated where it is now, the boot disk must be served there (a partition that
        // moves first carries the mappings of its source: `super::migration`).
        if p.current == p.target
            && let Some(why) = self.boot_disk_missing(p.object, p.name, p.desired, &p.target, &storage)
        {
            self.deferred.push(why);
            return;
        }
        let mut deps: Vec<usize> = chain.last.into_iter().collect();
        deps.extend(self.config_deps(&p.target));
        deps.extend(storage);
        let i = self.push(
            Op::StartPartition {
                frame: p.target.clone(),
                partition: p.name.clone(),
                profile: self.observed.status.partition_profile(p.name),
                force: false,
            },
            format!("{} should run", p.object),
            deps,
            Phase::Grow,
        );
        self.steps[i].consumes = demand(&p.desired.spec, &p.target);
        chain.fields.push(FieldChange {
            path: "state".into(),
            old: Some(if p.state == LparState::Error { "error" } else { "stopped" }.into()),
            new: Some("running".into()),
        });
        chain.kind.get_or_insert(ChangeKind::Update);
    }
}

/// The fields a DLPAR operation changes on a running partition.
const DLPAR_PATHS: [&str; 3] = ["memory.desiredMB", "processors.units", "processors.virtual"];

/// The primary paging VIOS of a shared-memory partition (`memory.paging.primary`).
const PAGING_PRIMARY: &str = "memory.paging.primary";

/// What [`Planner::in_flight`] found.
enum InFlight {
    /// A migration in progress, an activation or shutdown under way: nothing is planned.
    Settling,
    /// A failed migration is recovered by `step`; the partition is then in `state` on its
    /// source frame.
    Recovered { step: usize, state: LparState },
    /// Nothing under way.
    Idle,
}

/// An existing partition as the rules see it: its desired and observed manifests, where it is
/// and where it goes, and its state once a failed migration is recovered.
pub(super) struct Existing<'x> {
    pub object: &'x str,
    pub name: &'x PartitionName,
    pub desired: &'x Partition,
    pub observed: &'x Partition,
    pub current: FrameName,
    pub target: FrameName,
    pub state: LparState,
}

impl Existing<'_> {
    /// Running, or on its way to running, now.
    pub fn running_now(&self) -> bool {
        self.state.is_running() || self.state == LparState::Starting || self.state == LparState::OpenFirmware
    }

    /// Running in the desired state.
    pub fn want_running(&self) -> bool {
        self.desired.spec.state == RunState::Running
    }

    /// Running now and to stay running: its moves are active, its DLPAR changes live.
    pub fn stays_running(&self) -> bool {
        self.running_now() && self.want_running()
    }
}

/// The steps planned for one existing partition, each after the one before, and what they
/// change (for the plan's report).
#[derive(Default)]
pub(super) struct Chain {
    pub fields: Vec<FieldChange>,
    pub kind: Option<ChangeKind>,
    pub notes: Vec<String>,
    /// The last step planned: the next one runs after it.
    pub last: Option<usize>,
}

#[cfg(test)]
mod tests {
    use crate::plan::fixture::{lab_converged, lab_desired, lab_desired_with, partition, render, replace};
    use crate::plan::{PlanOptions, plan};
    use crate::status::{LparState, MigrationState, MigrationStatus};

    /// Growing a running partition is a DLPAR change; a stopped one is started; a change that
    /// needs a new profile is refused.
    #[test]
    fn resize_start_and_profile_changes() {
        let observed = lab_converged();
        let grow =
            lab_desired_with(replace("js22.yaml", "desiredMB: 4096, maxMB: 8192", "desiredMB: 6144, maxMB: 8192"));
        insta::assert_snapshot!(render(&plan(&grow, &observed, PlanOptions::default())));
        let stop = lab_desired_with(replace(
            "p72.yaml",
            "placement: {frame: p72}\n  state: running",
            "placement: {frame: p72}\n  state: stopped",
        ));
        insta::assert_snapshot!(render(&plan(&stop, &observed, PlanOptions::default())));
        let profile =
            lab_desired_with(replace("js22.yaml", "desiredMB: 4096, maxMB: 8192", "desiredMB: 4096, maxMB: 12288"));
        insta::assert_snapshot!(render(&plan(&profile, &observed, PlanOptions::default())));
    }

    /// Issue 32 item 5: the shutdown follows `spec.shutdown` and the observed RMC. With RMC the
    /// operating system's (`osshutdown`) whatever the policy but `immediate`; without it the
    /// default `os` defers the stop with the reason and the fix, `osThenDelayed` and
    /// `osThenImmediate` use the shutdowns that need none. A partition in Error is shut down
    /// immediately.
    #[test]
    fn the_shutdown_follows_the_policy_and_the_rmc_connection() {
        use crate::manifest::ShutdownPolicy;
        let stopped = |policy: &'static str| {
            lab_desired_with(move |name, text| {
                if name != "js22.yaml" {
                    return text.to_owned();
                }
                let to = format!("  state: stopped\n  shutdown: {policy}\n  processors: {{mode: shared, units: 1.0");
                text.replacen("  state: running\n  processors: {mode: shared, units: 1.0", &to, 1)
            })
        };
        let stop_command = |desired: &crate::Estate, observed: &crate::Estate| {
            let p = plan(desired, observed, PlanOptions::default());
            let stops: Vec<String> = p
                .actions
                .iter()
                .filter(|a| a.kind() == crate::ActionKind::StopPartition)
                .map(|a| a.op.command())
                .collect();
            (stops, p.deferred)
        };
        let with_rmc = lab_converged();
        let mut without = lab_converged();
        without.status.partitions.get_mut(&partition("bxaix85")).unwrap().rmc = false;
        let os = "chsysstate -m js22_slot13 -r lpar -o osshutdown -n bxaix85".to_owned();
        let immed = "chsysstate -m js22_slot13 -r lpar -o shutdown --immed -n bxaix85".to_owned();
        let delayed = "chsysstate -m js22_slot13 -r lpar -o shutdown -n bxaix85".to_owned();
        for policy in ["os", "osThenDelayed", "osThenImmediate"] {
            assert_eq!(stop_command(&stopped(policy), &with_rmc), (vec![os.clone()], vec![]), "{policy}");
        }
        assert_eq!(stop_command(&stopped("immediate"), &with_rmc).0, vec![immed.clone()]);
        assert_eq!(stop_command(&stopped("osThenDelayed"), &without).0, vec![delayed]);
        assert_eq!(stop_command(&stopped("osThenImmediate"), &without).0, vec![immed.clone()]);
        let (stops, deferred) = stop_command(&stopped("os"), &without);
        assert!(stops.is_empty(), "{stops:?}");
        assert_eq!(deferred.len(), 1, "{deferred:?}");
        assert!(
            deferred[0].starts_with("Partition/bxaix85: the shutdown waits: the HMC has no RMC connection")
                && deferred[0].contains("spec.shutdown: osThenDelayed"),
            "{deferred:?}"
        );
        // The manifest's policy is the controller's: it is never drift.
        assert!(
            plan(
                &lab_desired_with(replace(
                    "js22.yaml",
                    "  state: running\n  processors: {mode: shared, units: 1.0",
                    "  state: running\n  shutdown: immediate\n  processors: {mode: shared, units: 1.0"
                )),
                &with_rmc,
                PlanOptions::default()
            )
            .is_empty()
        );
        assert_eq!(ShutdownPolicy::default(), ShutdownPolicy::Os);
    }

    /// Starting, Open Firmware and Shutting Down settle on their own: nothing is planned for
    /// the partition, and the plan is not empty (not converged) until they have.
    #[test]
    fn an_activation_or_shutdown_under_way_is_in_progress() {
        for state in [LparState::Starting, LparState::OpenFirmware, LparState::ShuttingDown] {
            let mut observed = lab_converged();
            observed.status.partitions.get_mut(&partition("bxaix85")).unwrap().state = state.clone();
            let p = plan(&lab_desired(), &observed, PlanOptions::default());
            assert!(p.actions.is_empty(), "{state}: {}", render(&p));
            assert_eq!(p.in_progress, vec![format!("Partition/bxaix85: {state} on js22_slot13")]);
            assert!(!p.is_empty());
        }
    }

    /// DLPAR stays within the profile's limits: bxaix85's profile allows two virtual
    /// processors (max_procs), so a third is an error with the fix, not a refused chhwres.
    #[test]
    fn dlpar_beyond_the_profiles_maximum_is_an_error() {
        let more = lab_desired_with(replace("js22.yaml", "units: 1.0, virtual: 2", "units: 1.0, virtual: 3"));
        let p = plan(&more, &lab_converged(), PlanOptions::default());
        assert!(p.actions.is_empty(), "{}", render(&p));
        assert!(
            p.errors
                .iter()
                .any(|e| e.contains("processors.virtual 3 is outside the profile's 1..2 (set maxVirtual/minVirtual)")),
            "{:?}",
            p.errors
        );
        let within = lab_desired_with(replace("js22.yaml", "units: 1.0, virtual: 2", "units: 1.5, virtual: 2"));
        let p = plan(&within, &lab_converged(), PlanOptions::default());
        assert!(p.errors.is_empty() && p.actions.len() == 1, "{}", render(&p));
        // The default weight written out is no change; another weight needs the profile.
        let same =
            lab_desired_with(replace("js22.yaml", "units: 1.0, virtual: 2", "units: 1.0, virtual: 2, weight: 128"));
        assert!(plan(&same, &lab_converged(), PlanOptions::default()).actions.is_empty());
        let other =
            lab_desired_with(replace("js22.yaml", "units: 1.0, virtual: 2", "units: 1.0, virtual: 2, weight: 64"));
        let p = plan(&other, &lab_converged(), PlanOptions::default());
        assert!(p.errors.iter().any(|e| e.contains("processors.weight")), "{:?}", p.errors);
    }

    /// bxaix85 activated below its desired memory (the HMC did so on a short frame): drift, and
    /// a DLPAR change takes it to its desired 4096 MB.
    // seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, line 95.
    #[test]
    fn a_partition_activated_below_desired_is_drift_that_dlpar_repairs() {
        let mut observed = lab_converged();
        let name = partition("bxaix85");
        observed.partitions.get_mut(&name).unwrap().spec.memory.desired_mb = crate::MemoryMb(3072);
        observed.status.partitions.get_mut(&name).unwrap().below_desired = true;
        let p = plan(&lab_desired(), &observed, PlanOptions::default());
        insta::assert_snapshot!(render(&p));
        let done = crate::plan::apply(&observed, &p.actions);
        assert!(!done.status.partitions[&name].below_desired);
        assert!(plan(&lab_desired(), &done, PlanOptions::default()).actions.is_empty());
    }

    /// A migration in progress is left to the HMC; one that failed part-way is recovered before
    /// anything else is planned for the partition.
    #[test]
    fn migrations_in_flight_and_failed() {
        let mut observed = lab_converged();
        let st = observed.status.partitions.get_mut(&partition("bxaix85")).unwrap();
        st.state = LparState::MigratingRunning;
        st.migration = Some(MigrationStatus {
            to: "js22_slot14".parse().unwrap(),
            state: MigrationState::InProgress,
            percent: 40,
            remaining_secs: 72,
        });
        insta::assert_snapshot!(render(&plan(&lab_desired(), &observed, PlanOptions::default())));
        let st = observed.status.partitions.get_mut(&partition("bxaix85")).unwrap();
        st.migration.as_mut().unwrap().state = MigrationState::Failed;
        let grow =
            lab_desired_with(replace("js22.yaml", "desiredMB: 4096, maxMB: 8192", "desiredMB: 6144, maxMB: 8192"));
        insta::assert_snapshot!(render(&plan(&grow, &observed, PlanOptions::default())));
    }
}

/// Issue 32 item 8: a redundant partition's primary paging VIOS changes with its profile and a
/// live switch, never a reactivation.
#[cfg(test)]
mod paging_primary {
    use crate::action::{ChangeMethod, Op};
    use crate::plan::fixture::{lab_converged, lab_desired_with, replace};
    use crate::plan::{PlanOptions, apply, plan};

    /// lpar_6_sotchax11 pages through lpar_1_solchio05 (paging VIOS 1); the manifest makes
    /// paging VIOS 2 its primary. The profile names the new pair (`chsyscfg`, no DLPAR, no RMC
    /// needed), the running partition is switched to it (`chhwres -o so`), and nothing is left.
    #[test]
    fn a_primary_paging_vios_change_is_a_profile_change_and_a_switch() {
        let observed = lab_converged();
        let desired = lab_desired_with(replace(
            "solchms05.yaml",
            "paging: {redundancy: required, primary: 1}",
            "paging: {redundancy: required, primary: 2}",
        ));
        let p = plan(&desired, &observed, PlanOptions::default());
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let update = p.actions.iter().find(|a| matches!(a.op, Op::UpdatePartition { .. })).expect("a profile change");
        let Op::UpdatePartition { change, .. } = &update.op else { unreachable!() };
        assert_eq!(change.method, ChangeMethod::Profile);
        assert_eq!(
            update.op.command(),
            "chsyscfg -r prof -m IBM_MMA_P6_102615A_SOLCHMS05 -i \"name=default_profile,lpar_name=lpar_6_sotchax11,primary_paging_vios_name=lpar_2_solchio06,secondary_paging_vios_name=lpar_1_solchio05\""
        );
        assert!(
            p.actions
                .iter()
                .any(|a| a.op.command() == "chhwres -r mem -m IBM_MMA_P6_102615A_SOLCHMS05 -p lpar_6_sotchax11 -o so"),
            "{:?}",
            p.actions
        );
        assert!(!p.actions.iter().any(|a| matches!(a.op, Op::StopPartition { .. } | Op::StartPartition { .. })));
        let done = apply(&observed, &p.actions);
        let again = plan(&desired, &done, PlanOptions::default());
        assert!(again.actions.is_empty() && again.errors.is_empty(), "{:?} {:?}", again.actions, again.errors);
    }

    /// A non-redundant partition has one paging VIOS: changing it is still refused, with why.
    #[test]
    fn a_non_redundant_partitions_paging_vios_change_is_refused() {
        let observed = lab_converged();
        let none = lab_desired_with(replace(
            "solchms05.yaml",
            "paging: {redundancy: required, primary: 1}",
            "paging: {redundancy: none, primary: 1}",
        ));
        let p = plan(&none, &observed, PlanOptions::default());
        assert!(p.errors.iter().any(|e| e.contains("needs a profile change and a reactivation")), "{:?}", p.errors);
    }
}
