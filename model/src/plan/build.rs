//! From differences to steps: each rule of DESIGN §4 in its own function, each step with its
//! structural dependencies and the capacity it takes or gives back (for `schedule`).

use std::collections::{BTreeMap, BTreeSet};

use super::PlanOptions;
use super::change::{ChangeKind, FieldChange, ObjectChange, field_changes};
use crate::action::{Op, PartitionChange, RedundantPgVios};
use crate::estate::{Estate, EstateIndex, Partition};
use crate::manifest::{Kind, MemoryMode, PartitionSpec, Placement, ProcMode, Redundancy, RunState};
use crate::names::{FrameName, PartitionName, ProcPoolName, ViosName};
use crate::placement::{Eligibility, Placer};
use crate::status::{LparState, MigrationState, SeaHaMode, SeaMemberStatus, SeaState};
use crate::yaml::{leaves, to_yaml};

/// A resource whose capacity the scheduler tracks.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Res {
    /// Free memory of a frame, MB.
    Memory(FrameName),
    /// Free processing units of a frame, hundredths.
    Procs(FrameName),
    /// Free processing units of a shared processor pool, hundredths.
    Pool(FrameName, ProcPoolName),
    /// Free paging devices of a frame's shared memory pool.
    Devices(FrameName),
    /// Free common (redundancy-capable) paging devices of a frame's shared memory pool, which
    /// a redundancy-`required` partition needs to activate or arrive.
    CommonDevices(FrameName),
}

/// A planned action before ids and ordering.
#[derive(Clone, Debug)]
pub(crate) struct Step {
    pub op: Op,
    pub reason: String,
    pub deps: Vec<usize>,
    pub consumes: Vec<(Res, u64)>,
    pub frees: Vec<(Res, u64)>,
    /// Tie-break among steps ready at once: configuration, failover, freeing, moves, growth,
    /// failback, deletion.
    pub phase: u8,
    pub deletion: bool,
}

pub(crate) struct Built {
    pub steps: Vec<Step>,
    pub changes: Vec<ObjectChange>,
    pub warnings: Vec<String>,
    pub errors: Vec<String>,
    pub in_progress: Vec<String>,
    pub deferred: Vec<String>,
}

/// What a running partition holds: memory, processing units, pool units, a paging device.
pub(crate) fn demand(spec: &PartitionSpec, frame: &FrameName) -> Vec<(Res, u64)> {
    let mut v = vec![(Res::Procs(frame.clone()), u64::from(spec.processors.units.hundredths()))];
    match spec.memory.mode {
        MemoryMode::Dedicated => v.push((Res::Memory(frame.clone()), spec.memory.desired_mb.0)),
        MemoryMode::Shared => {
            v.push((Res::Devices(frame.clone()), 1));
            // seeds: ams-dual-vios-and-lpm.txt, "If no common paging space device is available,
            // the partition will fail to activate."
            if spec.memory.paging.unwrap_or_default().redundancy == Redundancy::Required {
                v.push((Res::CommonDevices(frame.clone()), 1));
            }
        }
    }
    if spec.processors.mode == ProcMode::Shared {
        let pool = spec.processors.pool_or_default();
        if pool != ProcPoolName::default_pool() {
            v.push((Res::Pool(frame.clone(), pool), u64::from(spec.processors.units.hundredths())));
        }
    }
    v
}

struct B<'a, 'p> {
    d: &'a Estate,
    o: &'a Estate,
    dix: &'p EstateIndex<'a>,
    oix: &'p EstateIndex<'a>,
    opts: PlanOptions,
    placer: &'p Placer<'a>,
    assignment: &'p BTreeMap<PartitionName, Eligibility>,
    steps: Vec<Step>,
    changes: Vec<ObjectChange>,
    warnings: Vec<String>,
    errors: Vec<String>,
    /// Work the backend is carrying out now (a migration): not converged until it ends.
    in_progress: Vec<String>,
    /// Changes a runtime condition holds back (a target on battery, no RMC).
    deferred: Vec<String>,
    /// Configuration steps of a frame that arriving or starting partitions wait for.
    frame_config: BTreeMap<FrameName, Vec<usize>>,
    /// Steps after which a VIOS is running and its SEA restored.
    vios_ready: BTreeMap<(FrameName, ViosName), Vec<usize>>,
    /// VIOS to shut down for maintenance.
    vios_stopping: BTreeSet<(FrameName, ViosName)>,
    /// Steps after which a partition no longer pages through its frame's VIOS (stop or move).
    leaves_frame: BTreeMap<PartitionName, usize>,
    /// Paging switches planned, by partition: `chhwres -o so` toggles between the two paging
    /// VIOS, so a partition is switched at most once per plan.
    paging_switch: BTreeMap<PartitionName, usize>,
}

pub(crate) fn build<'a>(
    desired: &'a Estate,
    observed: &'a Estate,
    opts: PlanOptions,
    placer: &Placer<'a>,
    assignment: &BTreeMap<PartitionName, Eligibility>,
) -> Built {
    let mut b = B {
        d: desired,
        o: observed,
        dix: placer.index(),
        oix: placer.facts().expect("the planner's placer has the observed estate"),
        opts,
        placer,
        assignment,
        steps: Vec::new(),
        changes: Vec::new(),
        warnings: Vec::new(),
        errors: Vec::new(),
        in_progress: Vec::new(),
        deferred: Vec::new(),
        frame_config: BTreeMap::new(),
        vios_ready: BTreeMap::new(),
        vios_stopping: BTreeSet::new(),
        leaves_frame: BTreeMap::new(),
        paging_switch: BTreeMap::new(),
    };
    b.frames();
    b.proc_pools();
    b.vios_starts();
    b.mem_pools();
    b.seas();
    b.partitions();
    b.vios_stops();
    b.unmanaged_partitions();
    b.required_paging_first();
    Built {
        steps: b.steps,
        changes: b.changes,
        warnings: b.warnings,
        errors: b.errors,
        in_progress: b.in_progress,
        deferred: b.deferred,
    }
}

impl<'a> B<'a, '_> {
    /// On each frame, shared-memory partitions that require redundant paging activate (or
    /// arrive) before the others, which could otherwise take the common paging devices first:
    /// a `preferred` partition takes a common device when one is free, and a partition without
    /// redundancy takes one when no independent device is left.
    // seeds: ams-dual-vios-and-lpm.txt, "make sure the number of common paging space devices
    // matches the number of redundant shared memory partitions."
    fn required_paging_first(&mut self) {
        let mut required: BTreeMap<FrameName, Vec<usize>> = BTreeMap::new();
        let mut others: Vec<(FrameName, usize)> = Vec::new();
        for (i, step) in self.steps.iter().enumerate() {
            let (frame, partition) = match &step.op {
                Op::StartPartition { frame, partition, .. } => (frame, partition),
                Op::MigratePartition { partition, to, .. } => (to, partition),
                _ => continue,
            };
            let Some(p) = self.d.partitions.get(partition) else { continue };
            if p.spec.memory.mode != MemoryMode::Shared {
                continue;
            }
            if p.spec.memory.paging.unwrap_or_default().redundancy == Redundancy::Required {
                required.entry(frame.clone()).or_default().push(i);
            } else {
                others.push((frame.clone(), i));
            }
        }
        for (frame, i) in others {
            if let Some(first) = required.get(&frame) {
                self.steps[i].deps.extend(first.iter().copied());
            }
        }
    }

    /// Why a migration of `name` to `target` cannot start now, when a runtime condition (not
    /// the manifests) stands in the way: the target runs on battery, or the HMC has no RMC
    /// connection to the running partition.
    fn move_blocked(&self, name: &PartitionName, target: &FrameName) -> Option<String> {
        if self.oix.hardware(target).is_some_and(|h| h.spec.on_battery) {
            return Some(format!(
                "`{target}` is running on battery and is no valid migration target until utility power returns"
            ));
        }
        let st = self.o.status.partitions.get(name)?;
        // seeds: powervm-quickstart..., HSCLA257 "The migrating partition is not ready for
        // migration at this time".
        (st.state == LparState::Running && !st.rmc).then(|| {
            "the HMC has no RMC connection to the partition (HSCLA257); the move waits until it is back".into()
        })
    }

    fn push(&mut self, op: Op, reason: impl Into<String>, deps: Vec<usize>, phase: u8) -> usize {
        self.steps.push(Step {
            op,
            reason: reason.into(),
            deps,
            consumes: Vec::new(),
            frees: Vec::new(),
            phase,
            deletion: false,
        });
        self.steps.len() - 1
    }

    fn change(
        &mut self,
        kind: ChangeKind,
        object: String,
        frame: Option<&FrameName>,
        fields: Vec<FieldChange>,
        note: impl Into<String>,
    ) {
        self.changes.push(ObjectChange {
            kind,
            object,
            frame: frame.map(ToString::to_string),
            fields,
            observed: None,
            desired: None,
            note: note.into(),
        });
    }

    fn config_deps(&self, frame: &FrameName) -> Vec<usize> {
        self.frame_config.get(frame).cloned().unwrap_or_default()
    }

    fn vios_running_now(&self, frame: &FrameName, vios: &ViosName) -> bool {
        self.o.status.vios.get(frame).and_then(|m| m.get(vios)).is_some_and(|s| s.is_running())
    }

    /// Running at the end of the plan: as desired when a manifest names the VIOS, else as now.
    fn vios_running_after(&self, frame: &FrameName, vios: &ViosName) -> bool {
        match self.dix.vios(frame, vios).and_then(|p| p.spec.members.iter().find(|m| &m.name == vios)) {
            Some(m) => m.state == RunState::Running,
            None => self.vios_running_now(frame, vios),
        }
    }

    fn frames(&mut self) {
        for (name, f) in &self.d.frames {
            // An evacuated frame in maintenance is converged: the flag is the manifests' own,
            // the backend has nothing to change once no partition is left on it.
            if !f.spec.maintenance {
                continue;
            }
            let on_it = |(_, s): &(&PartitionName, &crate::status::PartitionStatus)| &s.frame == name;
            let unmanaged: Vec<&str> = self
                .o
                .status
                .partitions
                .iter()
                .filter(on_it)
                .filter(|(p, _)| !self.d.partitions.contains_key(*p))
                .map(|(p, _)| p.as_str())
                .collect();
            if !unmanaged.is_empty() {
                self.warnings.push(format!(
                    "Frame/{name} is in maintenance, but {} no manifest describes stay on it ({}): powerplane does not move what it does not manage; move them on the HMC, or add their manifests",
                    if unmanaged.len() == 1 { "a partition" } else { "partitions" },
                    unmanaged.join(", ")
                ));
            }
            let occupied =
                self.o.status.partitions.iter().filter(on_it).any(|(p, _)| self.d.partitions.contains_key(p));
            if occupied {
                let fields = vec![FieldChange {
                    path: "maintenance".into(),
                    old: Some("false".into()),
                    new: Some("true".into()),
                }];
                self.change(
                    ChangeKind::Update,
                    format!("Frame/{name}"),
                    Some(name),
                    fields,
                    "planned maintenance: every partition leaves the frame",
                );
            }
        }
    }

    fn proc_pools(&mut self) {
        for p in self.d.proc_pools.values() {
            let (frame, pool) = (&p.spec.frame, &p.spec.pool_name);
            let avail = |max: crate::units::ProcUnits, res: crate::units::ProcUnits| {
                u64::from(max.saturating_sub(res).hundredths())
            };
            let new_avail = avail(p.spec.max_proc_units, p.spec.reserved_proc_units);
            let obs = self.o.proc_pools.values().find(|o| &o.spec.frame == frame && &o.spec.pool_name == pool);
            let object = format!("{}/{}", Kind::SharedProcessorPool, p.metadata.name);
            let op_fields = |o: Option<&crate::estate::ProcPool>| {
                let old = o.map(|o| leaves(&o.spec)).unwrap_or_default();
                field_changes(&old, &leaves(&p.spec))
            };
            match obs {
                None => {
                    let fields = op_fields(None);
                    let op = Op::CreateSharedProcessorPool {
                        frame: frame.clone(),
                        pool: pool.clone(),
                        max: p.spec.max_proc_units,
                        reserved: p.spec.reserved_proc_units,
                    };
                    let i = self.push(op, format!("{object} is not configured on {frame}"), vec![], 0);
                    self.steps[i].frees.push((Res::Pool(frame.clone(), pool.clone()), new_avail));
                    self.frame_config.entry(frame.clone()).or_default().push(i);
                    self.change(ChangeKind::Create, object, Some(frame), fields, "");
                }
                Some(o)
                    if o.spec.max_proc_units != p.spec.max_proc_units
                        || o.spec.reserved_proc_units != p.spec.reserved_proc_units =>
                {
                    let fields = op_fields(Some(o));
                    let old_avail = avail(o.spec.max_proc_units, o.spec.reserved_proc_units);
                    let op = Op::UpdateSharedProcessorPool {
                        frame: frame.clone(),
                        pool: pool.clone(),
                        max: p.spec.max_proc_units,
                        reserved: p.spec.reserved_proc_units,
                    };
                    let grows = new_avail >= old_avail;
                    let i = self.push(op, format!("{object}: limits differ"), vec![], if grows { 0 } else { 4 });
                    let r = Res::Pool(frame.clone(), pool.clone());
                    if grows {
                        self.steps[i].frees.push((r, new_avail - old_avail));
                        self.frame_config.entry(frame.clone()).or_default().push(i);
                    } else {
                        self.steps[i].consumes.push((r, old_avail - new_avail));
                    }
                    self.change(ChangeKind::Update, object, Some(frame), fields, "");
                }
                Some(_) => {}
            }
        }
    }

    fn vios_starts(&mut self) {
        for pair in self.d.vios_pairs.values() {
            let frame = &pair.spec.frame;
            for m in &pair.spec.members {
                let now = self.vios_running_now(frame, &m.name);
                let object = format!("{}/{}", Kind::ViosPair, pair.metadata.name);
                let field = |old: &str, new: &str| {
                    vec![FieldChange {
                        path: format!("members.{}.state", m.name),
                        old: Some(old.into()),
                        new: Some(new.into()),
                    }]
                };
                match (m.state, now) {
                    (RunState::Running, false) => {
                        let i = self.push(
                            Op::StartVios { frame: frame.clone(), vios: m.name.clone() },
                            format!("{} is down and should run (end of VIOS maintenance)", m.name),
                            vec![],
                            0,
                        );
                        if let Some(hw) = self.oix.vios_hardware(frame, &m.name) {
                            self.steps[i].consumes.push((Res::Memory(frame.clone()), hw.memory_mb.0));
                            self.steps[i]
                                .consumes
                                .push((Res::Procs(frame.clone()), u64::from(hw.proc_units.hundredths())));
                        }
                        self.frame_config.entry(frame.clone()).or_default().push(i);
                        self.vios_ready.entry((frame.clone(), m.name.clone())).or_default().push(i);
                        self.change(
                            ChangeKind::Update,
                            object,
                            Some(frame),
                            field("stopped", "running"),
                            format!("start {}", m.name),
                        );
                    }
                    (RunState::Stopped, true) => {
                        self.vios_stopping.insert((frame.clone(), m.name.clone()));
                        self.change(
                            ChangeKind::Update,
                            object,
                            Some(frame),
                            field("running", "stopped"),
                            format!("VIOS maintenance of {}", m.name),
                        );
                    }
                    _ => {}
                }
            }
        }
    }

    fn mem_pools(&mut self) {
        for p in self.d.mem_pools.values() {
            let frame = &p.spec.frame;
            let object = format!("{}/{}", Kind::SharedMemoryPool, p.metadata.name);
            let obs = self.oix.mem_pool_on(frame);
            // Paging devices are a set: the order the HMC lists them in is the order they were
            // added, which is no difference to plan.
            let sorted = |s: &crate::manifest::SharedMemoryPoolSpec| {
                let mut s = s.clone();
                s.paging_devices.sort_by(|a, b| a.device.cmp(&b.device));
                leaves(&s)
            };
            let fields = field_changes(&obs.map(|o| sorted(&o.spec)).unwrap_or_default(), &sorted(&p.spec));
            let mut deps = Vec::new();
            for v in &p.spec.paging_vios {
                deps.extend(self.vios_ready.get(&(frame.clone(), v.clone())).cloned().unwrap_or_default());
            }
            let existing: Vec<crate::names::DeviceName> =
                obs.map(|o| o.spec.paging_devices.iter().map(|d| d.device.clone()).collect()).unwrap_or_default();
            match obs {
                None => {
                    let op = Op::CreateSharedMemoryPool {
                        frame: frame.clone(),
                        pool_mem: p.spec.pool_mem_mb,
                        max_pool_mem: p.spec.max_pool_mem_mb,
                        paging_vios: p.spec.paging_vios.clone(),
                    };
                    let i = self.push(op, format!("{object} does not exist on {frame}"), deps.clone(), 0);
                    self.steps[i].consumes.push((Res::Memory(frame.clone()), p.spec.pool_mem_mb.0));
                    self.frame_config.entry(frame.clone()).or_default().push(i);
                    deps = vec![i];
                    self.change(ChangeKind::Create, object.clone(), Some(frame), fields, "");
                }
                Some(o) => {
                    if o.spec.paging_vios != p.spec.paging_vios {
                        self.errors.push(format!(
                            "{object}: changing the paging VIOS of an existing shared memory pool ({} -> {}) is not planned; the HMC needs the pool reconfigured with its partitions shut down",
                            names(&o.spec.paging_vios),
                            names(&p.spec.paging_vios)
                        ));
                        continue;
                    }
                    if o.spec.pool_mem_mb != p.spec.pool_mem_mb || o.spec.max_pool_mem_mb != p.spec.max_pool_mem_mb {
                        let op = Op::UpdateSharedMemoryPool {
                            frame: frame.clone(),
                            pool_mem: p.spec.pool_mem_mb,
                            max_pool_mem: p.spec.max_pool_mem_mb,
                        };
                        let grows = p.spec.pool_mem_mb >= o.spec.pool_mem_mb;
                        let i = self.push(
                            op,
                            format!("{object}: pool memory differs"),
                            deps.clone(),
                            if grows { 0 } else { 2 },
                        );
                        let r = Res::Memory(frame.clone());
                        if grows {
                            self.steps[i].consumes.push((r, p.spec.pool_mem_mb.0 - o.spec.pool_mem_mb.0));
                        } else {
                            self.steps[i].frees.push((r, o.spec.pool_mem_mb.0 - p.spec.pool_mem_mb.0));
                        }
                        self.frame_config.entry(frame.clone()).or_default().push(i);
                    }
                    if !fields.is_empty() {
                        self.change(ChangeKind::Update, object.clone(), Some(frame), fields, "");
                    }
                }
            }
            let common: BTreeSet<&crate::names::DeviceName> =
                self.placer.common_devices(frame).into_iter().map(|c| &c.device).collect();
            for dev in &p.spec.paging_devices {
                if existing.contains(&dev.device) {
                    continue;
                }
                let vios = p
                    .spec
                    .paging_vios
                    .iter()
                    .find(|v| {
                        self.oix.vios_hardware(frame, v).is_some_and(|h| h.disks.iter().any(|d| d.name == dev.device))
                    })
                    .unwrap_or(&p.spec.paging_vios[0])
                    .clone();
                let op = Op::AddPagingDevice { frame: frame.clone(), vios, device: dev.device.clone() };
                let i = self.push(
                    op,
                    format!("{object}: paging device {} is not in the pool", dev.device),
                    deps.clone(),
                    0,
                );
                self.steps[i].frees.push((Res::Devices(frame.clone()), 1));
                if common.contains(&dev.device) {
                    self.steps[i].frees.push((Res::CommonDevices(frame.clone()), 1));
                }
                self.frame_config.entry(frame.clone()).or_default().push(i);
            }
            if self.opts.prune
                && let Some(o) = obs
            {
                let status = self.o.status.paging_devices.get(frame).cloned().unwrap_or_default();
                for dev in
                    o.spec.paging_devices.iter().filter(|d| !p.spec.paging_devices.iter().any(|w| w.device == d.device))
                {
                    let vios = p.spec.paging_vios[0].clone();
                    let i = self.push(
                        Op::RemovePagingDevice { frame: frame.clone(), vios, device: dev.device.clone() },
                        format!("{object}: paging device {} is not in the manifest (prune)", dev.device),
                        vec![],
                        9,
                    );
                    self.steps[i].deletion = true;
                    let free_now = status.iter().find(|s| s.device == dev.device && s.assigned.is_none());
                    if let Some(d) = free_now {
                        self.steps[i].consumes.push((Res::Devices(frame.clone()), 1));
                        if d.redundant {
                            self.steps[i].consumes.push((Res::CommonDevices(frame.clone()), 1));
                        }
                    }
                }
            }
        }
    }

    /// SEA creation and `ha_mode` changes, the primary VIOS's SEA first.
    // seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, "Switching to auto or
    // to load sharing, you have to change ha_mode on the primary SEA first before changing
    // ha_mode on the backup SEA."
    fn seas(&mut self) {
        for s in self.d.seas.values() {
            let Some(pair) = self.d.vios_pairs.get(&s.spec.vios_pair) else {
                continue;
            };
            let frame = pair.spec.frame.clone();
            let object = format!("{}/{}", Kind::SharedEthernetAdapter, s.metadata.name);
            let mut members: Vec<ViosName> = pair.spec.members.iter().map(|m| m.name.clone()).collect();
            members.sort_by_key(|m| *m != s.spec.primary);
            let observed =
                self.oix.pairs_on(&frame).iter().flat_map(|p| self.oix.seas_of(&p.metadata.name)).next().copied();
            let want = SeaHaMode::from(s.spec.ha_mode);
            match observed {
                None => {
                    let mut prev: Option<usize> = None;
                    for (i, v) in members.iter().enumerate() {
                        let ready = self.vios_ready.get(&(frame.clone(), v.clone())).cloned().unwrap_or_default();
                        if !self.vios_running_now(&frame, v) && ready.is_empty() {
                            self.errors.push(format!("{object}: the SEA cannot be created on {v} while it is down; start it first (state: running)"));
                            continue;
                        }
                        let op = Op::CreateSea {
                            frame: frame.clone(),
                            vios: v.clone(),
                            real_adapter: s.spec.real_adapter.clone(),
                            trunks: s.spec.trunks.clone(),
                            control_channel: s.spec.control_channel.clone(),
                            ha_mode: want,
                            priority: i as u8 + 1,
                        };
                        let role = if i == 0 { "primary (trunk priority 1) first" } else { "backup after the primary" };
                        let deps = ready.into_iter().chain(prev).collect();
                        let idx = self.push(op, format!("{object} does not exist: create it on the {role}"), deps, 0);
                        self.frame_config.entry(frame.clone()).or_default().push(idx);
                        prev = Some(idx);
                    }
                    self.change(ChangeKind::Create, object, Some(&frame), field_changes(&[], &leaves(&s.spec)), "");
                }
                Some(obs) => {
                    let same_config = obs.spec.real_adapter == s.spec.real_adapter
                        && obs.spec.trunks == s.spec.trunks
                        && obs.spec.control_channel == s.spec.control_channel
                        && obs.spec.primary == s.spec.primary;
                    if !same_config {
                        let fields = field_changes(&leaves(&without_mode(&obs.spec)), &leaves(&without_mode(&s.spec)));
                        let list: Vec<String> = fields.iter().map(|f| f.path.clone()).collect();
                        self.errors.push(format!(
                            "{object}: changing {} of an existing SEA is not planned (it interrupts the network); recreate the SEA in a maintenance window",
                            list.join(", ")
                        ));
                        continue;
                    }
                    let status: Vec<SeaMemberStatus> =
                        self.o.status.seas.get(&obs.metadata.name).cloned().unwrap_or_default();
                    self.sea_modes(&object, &frame, &members, &status, want);
                }
            }
        }
    }

    fn sea_modes(
        &mut self,
        object: &str,
        frame: &FrameName,
        members: &[ViosName],
        status: &[SeaMemberStatus],
        want: SeaHaMode,
    ) {
        let mut prev: Option<usize> = None;
        let mut fields = Vec::new();
        let mut note = String::new();
        for v in members {
            let Some(m) = status.iter().find(|m| &m.vios == v) else {
                continue;
            };
            if self.vios_stopping.contains(&(frame.clone(), v.clone())) || m.ha_mode == want {
                continue;
            }
            let ready = self.vios_ready.get(&(frame.clone(), v.clone())).cloned().unwrap_or_default();
            if !self.vios_running_now(frame, v) && ready.is_empty() {
                // A SEA on a VIOS that stays down cannot be changed; it is set right when the
                // VIOS starts again.
                continue;
            }
            let why = if m.ha_mode == SeaHaMode::Standby {
                format!("{v}'s SEA is in standby (a failover left it there); set it back to {want}")
            } else {
                format!(
                    "ha_mode {} -> {want} on {v}{}",
                    m.ha_mode,
                    if prev.is_none() { " (primary first)" } else { " (backup after the primary)" }
                )
            };
            let op = Op::SetSeaHaMode { frame: frame.clone(), vios: v.clone(), device: m.device.clone(), mode: want };
            let idx = self.push(op, format!("{object}: {why}"), ready.into_iter().chain(prev).collect(), 0);
            self.frame_config.entry(frame.clone()).or_default().push(idx);
            self.vios_ready.entry((frame.clone(), v.clone())).or_default().push(idx);
            fields.push(FieldChange {
                path: format!("{v}.ha_mode"),
                old: Some(m.ha_mode.to_string()),
                new: Some(want.to_string()),
            });
            prev = Some(idx);
        }
        // Both in sharing mode and running, yet not load sharing: the backup must ask again.
        // seeds: "To restart Load sharing, a chdev must occur on the backup SEA"
        let all_running = status.len() == 2 && status.iter().all(|m| m.state != SeaState::Inactive);
        let all_sharing = status.len() == 2 && status.iter().all(|m| m.ha_mode == SeaHaMode::Sharing);
        let not_sh = status.iter().any(|m| !matches!(m.state, SeaState::PrimarySharing | SeaState::BackupSharing));
        if prev.is_none()
            && want == SeaHaMode::Sharing
            && all_running
            && all_sharing
            && not_sh
            && let Some(backup) = members.get(1).and_then(|v| status.iter().find(|m| &m.vios == v))
        {
            let op = Op::SetSeaHaMode {
                frame: frame.clone(),
                vios: backup.vios.clone(),
                device: backup.device.clone(),
                mode: SeaHaMode::Sharing,
            };
            let idx = self.push(op, format!("{object}: both SEAs are in sharing mode but not load sharing; a chdev on the backup restarts the negotiation"), vec![], 0);
            self.frame_config.entry(frame.clone()).or_default().push(idx);
            note = "load sharing not negotiated".into();
        }
        if !fields.is_empty() || !note.is_empty() {
            let kind = if status.iter().any(|m| m.ha_mode == SeaHaMode::Standby) || !note.is_empty() {
                ChangeKind::Drift
            } else {
                ChangeKind::Update
            };
            self.change(kind, object.to_owned(), Some(frame), fields, note);
        }
    }

    fn partitions(&mut self) {
        let assignment = self.assignment;
        for (name, dp) in &self.d.partitions {
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
            match self.o.partitions.get(name) {
                None => self.new_partition(&object, name, dp, target),
                Some(op) => self.existing_partition(&object, name, dp, op, target),
            }
        }
    }

    fn new_partition(&mut self, object: &str, name: &PartitionName, dp: &Partition, target: &FrameName) {
        let paging_vios = self.dix.mem_pool_on(target).map(|p| p.spec.paging_vios.clone()).unwrap_or_default();
        let mut spec = dp.spec.clone();
        spec.placement = Placement::Frame(target.clone());
        let deps = self.config_deps(target);
        let create = self.push(
            Op::CreatePartition { frame: target.clone(), partition: name.clone(), spec: Box::new(spec), paging_vios },
            format!("{object} does not exist: create it on {target}"),
            deps.clone(),
            4,
        );
        if dp.spec.state == RunState::Running {
            let i = self.push(
                Op::StartPartition { frame: target.clone(), partition: name.clone(), force: false },
                format!("{object} should run"),
                vec![create],
                4,
            );
            self.steps[i].consumes = demand(&dp.spec, target);
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
        dp: &Partition,
        op: &Partition,
        target: &FrameName,
    ) {
        let st = self.o.status.partitions.get(name);
        let current = st.map(|s| s.frame.clone()).or_else(|| match &op.spec.placement {
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
                &current.clone()
            }
            None => target,
        };
        let mut state = st.map_or(LparState::NotActivated, |s| s.state);
        let first_step = self.steps.len();
        let mut recovered = None;
        match st.and_then(|s| s.migration.as_ref()) {
            // The HMC finishes it on its own: nothing is planned for the partition, and the
            // plan is not empty until it has ended.
            Some(m) if m.state == MigrationState::InProgress => {
                self.in_progress.push(format!(
                    "{object}: migrating from {current} to {} ({}% copied, about {} s left)",
                    m.to, m.percent, m.remaining_secs
                ));
                return;
            }
            // A migration that failed part-way holds the partition in a migrating state on
            // both frames until it is recovered; after that it is back on the source as it was,
            // and is planned like any other partition, after the recovery.
            // (DESIGN §9: "`-o r` recovers a failed migration".)
            Some(m) => {
                let i = self.push(
                    Op::RecoverMigration { frame: current.clone(), partition: name.clone(), to: m.to.clone() },
                    format!(
                        "{object}: its migration from {current} to {} failed part-way; recover it (back on {current}) before anything else",
                        m.to
                    ),
                    vec![],
                    1,
                );
                if state == LparState::MigratingRunning {
                    self.steps[i].frees = demand(&op.spec, &m.to)
                        .into_iter()
                        .filter(|(r, _)| !matches!(r, Res::Devices(_) | Res::CommonDevices(_)))
                        .collect();
                }
                self.change(
                    ChangeKind::Update,
                    object.to_owned(),
                    Some(&current),
                    vec![FieldChange {
                        path: "migration".into(),
                        old: Some(format!("failed towards {}", m.to)),
                        new: Some("recovered".into()),
                    }],
                    "a failed migration is recovered",
                );
                state = match state {
                    LparState::MigratingRunning => LparState::Running,
                    LparState::MigratingNotActivated => LparState::NotActivated,
                    other => other,
                };
                recovered = Some(i);
            }
            // Activation or shutdown under way: it settles on its own.
            None if matches!(state, LparState::Starting | LparState::ShuttingDown) => {
                self.in_progress.push(format!("{object}: {state} on {current}"));
                return;
            }
            None => {}
        }
        self.partition_steps(object, name, dp, op, target, current, state);
        if let Some(r) = recovered {
            for step in &mut self.steps[first_step + 1..] {
                step.deps.push(r);
            }
        }
    }

    /// The steps of an existing partition that is not in a migration: profile, state,
    /// placement and DLPAR changes.
    #[allow(clippy::too_many_arguments)]
    fn partition_steps(
        &mut self,
        object: &str,
        name: &PartitionName,
        dp: &Partition,
        op: &Partition,
        target: &FrameName,
        current: FrameName,
        state: LparState,
    ) {
        let running_now = state.is_running() || state == LparState::Starting || state == LparState::OpenFirmware;
        let want_running = dp.spec.state == RunState::Running;
        let mut fields = Vec::new();
        let mut kind = None;
        let mut notes = Vec::new();
        let mut last: Option<usize> = None;

        // Configuration differences beyond placement and state.
        // Placement and state are planned separately; `required` and `preferred` are the same
        // redundant profile (a primary and a secondary paging VIOS), only planned differently.
        let strip = |s: &PartitionSpec| {
            let mut s = s.clone();
            s.placement = Placement::Frame(current.clone());
            s.state = RunState::Running;
            if let Some(p) = s.memory.paging.as_mut()
                && p.redundancy == Redundancy::Preferred
            {
                p.redundancy = Redundancy::Required;
            }
            s
        };
        let (old, new) = (strip(&op.spec), strip(&dp.spec));
        // Most partitions are unchanged: compare the values before rendering fields.
        let diffs = if old == new { Vec::new() } else { field_changes(&leaves(&old), &leaves(&new)) };
        let dlpar_paths = ["memory.desiredMB", "processors.units", "processors.virtual"];
        let (dlpar, other): (Vec<FieldChange>, Vec<FieldChange>) =
            diffs.into_iter().partition(|f| dlpar_paths.contains(&f.path.as_str()));
        if !other.is_empty() {
            let list: Vec<String> = other
                .iter()
                .map(|f| {
                    format!(
                        "{} ({} -> {})",
                        f.path,
                        f.old.as_deref().unwrap_or("none"),
                        f.new.as_deref().unwrap_or("none")
                    )
                })
                .collect();
            self.errors.push(format!(
                "{object}: {} needs a profile change and a reactivation, which powerplane does not plan yet; change it on the HMC with the partition shut down, or keep the manifest as it is",
                list.join(", ")
            ));
            return;
        }

        if running_now && !want_running {
            let i = self.push(
                Op::StopPartition { frame: current.clone(), partition: name.clone() },
                format!("{object} should be stopped"),
                vec![],
                2,
            );
            self.steps[i].frees = demand(&op.spec, &current);
            self.leaves_frame.insert(name.clone(), i);
            fields.push(FieldChange { path: "state".into(), old: Some("running".into()), new: Some("stopped".into()) });
            kind = Some(ChangeKind::Update);
            last = Some(i);
        }
        let stays_running = running_now && want_running;

        // A partition in the Error state cannot be migrated; shutting it down clears the error
        // (it runs nothing and holds no capacity) and makes it an inactive move.
        if state == LparState::Error && &current != target {
            let i = self.push(
                Op::StopPartition { frame: current.clone(), partition: name.clone() },
                format!(
                    "{object} is in the Error state and must move to {target}: shut it down first to clear the error"
                ),
                vec![],
                2,
            );
            last = Some(i);
        }

        if &current != target {
            let why = self.migration_reason(dp, &current);
            let redundant = match self.redundancy(object, dp, target) {
                Ok(r) => r,
                Err(e) => {
                    self.errors.push(e);
                    return;
                }
            };
            let mut deps = self.config_deps(target);
            deps.extend(last);
            let v = self.push(
                Op::ValidateMigration { partition: name.clone(), from: current.clone(), to: target.clone(), redundant },
                format!("{object}: {why}; validate the move to {target} first"),
                deps.clone(),
                3,
            );
            let m = self.push(
                Op::MigratePartition { partition: name.clone(), from: current.clone(), to: target.clone(), redundant },
                format!("{object}: {why}"),
                vec![v],
                3,
            );
            // The room the move needs on the target. The HMC's validation checks it too, so the
            // validation waits for it as well and holds it only while it runs. An active move
            // needs the partition's capacity and gives back the source's; an inactive move of a
            // shared-memory partition holds a paging device and gives it back at the end (the
            // device is chosen again at activation).
            // seeds: ams-dual-vios-and-lpm.txt, "you need a shared memory pool with a suitable
            // and available paging space device on the target server"
            let mut room = if stays_running {
                demand(&op.spec, target)
            } else if op.spec.memory.mode == MemoryMode::Shared {
                vec![(Res::Devices(target.clone()), 1)]
            } else {
                Vec::new()
            };
            // Only `--redundantpgvios 1` insists on a common device on the target.
            if redundant != Some(RedundantPgVios::Required) {
                room.retain(|(r, _)| !matches!(r, Res::CommonDevices(_)));
            }
            self.steps[v].consumes = room.clone();
            self.steps[v].frees = room.clone();
            self.steps[m].frees = if stays_running { demand(&op.spec, &current) } else { room.clone() };
            self.steps[m].consumes = room;
            self.leaves_frame.entry(name.clone()).or_insert(m);
            fields.push(FieldChange {
                path: "frame".into(),
                old: Some(current.to_string()),
                new: Some(target.to_string()),
            });
            kind = Some(ChangeKind::Migrate);
            notes.push(why);
            last = Some(m);
        }

        // DLPAR talks to the running partition over RMC: without it the change waits.
        let rmc_lost = stays_running && self.o.status.partitions.get(name).is_some_and(|s| !s.rmc);
        if !dlpar.is_empty() && rmc_lost {
            let list: Vec<&str> = dlpar.iter().map(|f| f.path.as_str()).collect();
            self.deferred.push(format!(
                "{object}: the DLPAR change of {} waits: the HMC has no RMC connection to the partition, which DLPAR needs",
                list.join(", ")
            ));
        } else if !dlpar.is_empty() {
            let change = PartitionChange {
                memory: (op.spec.memory.desired_mb != dp.spec.memory.desired_mb)
                    .then_some((op.spec.memory.desired_mb, dp.spec.memory.desired_mb)),
                units: (op.spec.processors.units != dp.spec.processors.units)
                    .then_some((op.spec.processors.units, dp.spec.processors.units)),
                r#virtual: (op.spec.processors.r#virtual != dp.spec.processors.r#virtual).then(|| {
                    let d = |s: &PartitionSpec| {
                        s.processors.r#virtual.unwrap_or_else(|| s.processors.units.hundredths().div_ceil(100).max(1))
                    };
                    (d(&op.spec), d(&dp.spec))
                }),
            };
            let (before, after) = (demand(&op.spec, target), demand(&dp.spec, target));
            let grows = after.iter().zip(&before).any(|((_, a), (_, b))| a > b);
            let i = self.push(
                Op::UpdatePartition { frame: target.clone(), partition: name.clone(), change },
                format!(
                    "{object}: {}",
                    dlpar
                        .iter()
                        .map(|f| format!(
                            "{} {} -> {}",
                            f.path,
                            f.old.as_deref().unwrap_or("-"),
                            f.new.as_deref().unwrap_or("-")
                        ))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                last.into_iter().chain(if grows { self.config_deps(target) } else { Vec::new() }).collect(),
                if grows { 4 } else { 2 },
            );
            if stays_running {
                for ((r, a), (_, b)) in after.iter().zip(&before) {
                    if a > b {
                        self.steps[i].consumes.push((r.clone(), a - b));
                    } else if b > a {
                        self.steps[i].frees.push((r.clone(), b - a));
                    }
                }
            }
            fields.extend(dlpar);
            kind.get_or_insert(ChangeKind::Update);
            last = Some(i);
        }

        if !running_now && want_running {
            let mut deps: Vec<usize> = last.into_iter().collect();
            deps.extend(self.config_deps(target));
            let i = self.push(
                Op::StartPartition { frame: target.clone(), partition: name.clone(), force: false },
                format!("{object} should run"),
                deps,
                4,
            );
            self.steps[i].consumes = demand(&dp.spec, target);
            fields.push(FieldChange {
                path: "state".into(),
                old: Some(if state == LparState::Error { "error" } else { "stopped" }.into()),
                new: Some("running".into()),
            });
            kind.get_or_insert(ChangeKind::Update);
        }

        if stays_running
            && &current == target
            && dp.spec.memory.mode == MemoryMode::Shared
            && let Some(f) = self.failback(object, name, dp, target)
        {
            fields.push(f);
            kind.get_or_insert(ChangeKind::Drift);
            notes.push("paging failback".into());
        }

        if let Some(kind) = kind {
            self.changes.push(ObjectChange {
                kind,
                object: object.to_owned(),
                frame: Some(target.to_string()),
                fields,
                observed: Some(to_yaml(&op.spec)),
                desired: Some(to_yaml(&dp.spec)),
                note: notes.join("; "),
            });
        }
    }

    fn migration_reason(&self, dp: &Partition, current: &FrameName) -> String {
        if self.d.frames.get(current).is_some_and(|f| f.spec.maintenance) {
            return format!("frame {current} is in maintenance");
        }
        let labels = self.d.frames.get(current).map(|f| f.metadata.labels.clone()).unwrap_or_default();
        if !dp.spec.placement.allows(current, &labels) {
            return format!("its placement does not allow {current}");
        }
        let why: Vec<String> = self.placer.static_reasons(dp, current).iter().map(ToString::to_string).collect();
        format!("{current} can no longer host it ({})", why.join("; "))
    }

    /// `--redundantpgvios` for a migration, with the fallback of DESIGN §4 rule 4: `preferred`
    /// goes non-redundant with a warning, `required` makes the plan fail.
    fn redundancy(
        &mut self,
        object: &str,
        dp: &Partition,
        target: &FrameName,
    ) -> Result<Option<RedundantPgVios>, String> {
        if dp.spec.memory.mode != MemoryMode::Shared {
            return Ok(None);
        }
        let paging = dp.spec.memory.paging.unwrap_or_default();
        let two = self.dix.mem_pool_on(target).is_some_and(|p| p.spec.paging_vios.len() == 2);
        let taken: Vec<_> = self
            .o
            .status
            .paging_devices
            .get(target)
            .map(|ds| ds.iter().filter(|d| d.assigned.is_some()).map(|d| d.device.clone()).collect())
            .unwrap_or_default();
        let free_common = self.placer.common_devices(target).iter().filter(|d| !taken.contains(&d.device)).count();
        let possible = two && free_common > 0;
        let why = if !two { "it has one paging VIOS" } else { "it has no free common paging device" };
        match (paging.redundancy, possible) {
            (Redundancy::Required, true) => Ok(Some(RedundantPgVios::Required)),
            (Redundancy::Required, false) => Err(format!(
                "{object} requires redundant paging, but the target frame {target} cannot provide it ({why}); it is never migrated non-redundant. Give {target} two paging VIOS and a free common paging device, or choose another frame"
            )),
            (Redundancy::Preferred, true) => Ok(Some(RedundantPgVios::IfPossible)),
            (Redundancy::Preferred, false) => {
                self.warnings.push(format!(
                    "{object} prefers redundant paging, but on {target} {why}: it is migrated non-redundant (--redundantpgvios 0) and has no paging VIOS failover there"
                ));
                Ok(Some(RedundantPgVios::NonRedundant))
            }
            (Redundancy::None, _) => Ok(Some(RedundantPgVios::NonRedundant)),
        }
    }

    /// Paging failback (DESIGN §4 rule 3): switch back to the desired primary paging VIOS when
    /// it runs; never to a VIOS that is down. Returns the field that changes when a switch is
    /// planned.
    // seeds: ams-dual-vios-and-lpm.txt, "After a failover, no automatic switch back will occur
    // ... you can manually switch the paging VIOS for the affected partitions."
    fn failback(
        &mut self,
        object: &str,
        name: &PartitionName,
        dp: &Partition,
        frame: &FrameName,
    ) -> Option<FieldChange> {
        let pool = self.dix.mem_pool_on(frame)?;
        let paging = self.o.status.partitions.get(name).and_then(|s| s.paging.clone())?;
        let idx = dp.spec.memory.paging.unwrap_or_default().primary.position();
        let want = pool.spec.paging_vios.get(idx).cloned()?;
        let current = paging.current.clone()?;
        let known = [Some(&paging.primary), paging.secondary.as_ref()].contains(&Some(&want));
        if current == want || paging.secondary.is_none() || !known {
            return None;
        }
        let key = (frame.clone(), want.clone());
        let deps = self.vios_ready.get(&key).cloned().unwrap_or_default();
        let down = self.vios_stopping.contains(&key)
            || !self.vios_running_after(frame, &want)
            || (deps.is_empty() && !self.vios_running_now(frame, &want));
        if down {
            self.warnings.push(format!("{object}: the paging failback to {want} waits until {want} is running"));
            return None;
        }
        let i = self.push(
            Op::SwitchPagingVios { frame: frame.clone(), partition: name.clone() },
            format!("{object}: paging failback from {current} to its primary paging VIOS {want} (the hypervisor never switches back by itself)"),
            deps,
            5,
        );
        self.paging_switch.insert(name.clone(), i);
        Some(FieldChange { path: "paging.current".into(), old: Some(current.to_string()), new: Some(want.to_string()) })
    }

    /// VIOS maintenance (DESIGN §4 rule 2): move paging off the VIOS, fail its SEA over
    /// (`ha_mode=standby`), then shut it down.
    fn vios_stops(&mut self) {
        let stopping: Vec<_> = self.vios_stopping.iter().cloned().collect();
        for (frame, vios) in stopping {
            let mut deps = Vec::new();
            let mut switches = Vec::new();
            let paged: Vec<(PartitionName, crate::status::PagingStatus)> = self
                .o
                .status
                .partitions
                .iter()
                .filter(|(_, s)| s.frame == frame && s.state.is_running())
                .filter_map(|(n, s)| {
                    s.paging.clone().filter(|p| p.current.as_ref() == Some(&vios)).map(|p| (n.clone(), p))
                })
                .collect();
            for (p, pg) in paged {
                if let Some(i) = self.leaves_frame.get(&p) {
                    deps.push(*i);
                    continue;
                }
                // A failback already moves it off this VIOS (to the other one): switching
                // again would toggle it back.
                if let Some(i) = self.paging_switch.get(&p) {
                    switches.push(*i);
                    continue;
                }
                let other =
                    [Some(&pg.primary), pg.secondary.as_ref()].into_iter().flatten().find(|v| **v != vios).cloned();
                match other {
                    Some(o) if self.vios_running_after(&frame, &o) && !self.vios_stopping.contains(&(frame.clone(), o.clone())) => {
                        let ready = self.vios_ready.get(&(frame.clone(), o.clone())).cloned().unwrap_or_default();
                        let i = self.push(
                            Op::SwitchPagingVios { frame: frame.clone(), partition: p.clone() },
                            format!("VIOS maintenance of {vios}: Partition/{p} pages through it; switch to {o} before {vios} stops"),
                            ready,
                            1,
                        );
                        switches.push(i);
                        self.paging_switch.insert(p.clone(), i);
                    }
                    _ => self.errors.push(format!(
                        "{vios} cannot be stopped: Partition/{p} pages through it and has no other running paging VIOS; migrate or stop the partition first"
                    )),
                }
            }
            deps.extend(&switches);
            let sea = self
                .o
                .status
                .seas
                .values()
                .find(|ms| ms.iter().any(|m| m.vios == vios) && self.oix.vios(&frame, &vios).is_some());
            if let Some(members) = sea {
                let me = members.iter().find(|m| m.vios == vios).expect("found");
                let partner_up = members.iter().any(|m| m.vios != vios && m.state != SeaState::Inactive);
                if matches!(me.state, SeaState::Primary | SeaState::PrimarySharing) {
                    if partner_up {
                        let i = self.push(
                            Op::SetSeaHaMode { frame: frame.clone(), vios: vios.clone(), device: me.device.clone(), mode: SeaHaMode::Standby },
                            format!("VIOS maintenance of {vios}: fail its SEA over to the backup (ha_mode=standby) before it stops"),
                            switches.clone(),
                            1,
                        );
                        deps.push(i);
                    } else if me.state != SeaState::Standalone
                        || self.d.partitions.values().any(|p| self.placed_on(p, &frame))
                    {
                        self.errors.push(format!(
                            "{vios} cannot be stopped: its SEA bridges the network of {frame} and no backup SEA is running; start the other VIOS first or move the partitions away"
                        ));
                    }
                }
            }
            let others_up = self.o.status.vios.get(&frame).is_some_and(|m| {
                m.keys().any(|v| {
                    *v != vios
                        && self.vios_running_after(&frame, v)
                        && !self.vios_stopping.contains(&(frame.clone(), v.clone()))
                })
            });
            if !others_up {
                let staying: Vec<String> = self
                    .d
                    .partitions
                    .values()
                    .filter(|p| self.placed_on(p, &frame) && p.spec.state == RunState::Running)
                    .map(|p| p.metadata.name.to_string())
                    .collect();
                if !staying.is_empty() {
                    self.errors.push(format!(
                        "{vios} is the only running VIOS of {frame}; stopping it takes down the I/O of {}. Put the frame in maintenance (its partitions migrate away) first",
                        staying.join(", ")
                    ));
                    continue;
                }
                // Every partition leaves: stop only after they have.
                deps.extend(
                    self.leaves_frame.values().copied().filter(|i| self.steps[*i].op.frames().first() == Some(&&frame)),
                );
            }
            let i = self.push(
                Op::StopVios { frame: frame.clone(), vios: vios.clone() },
                format!("VIOS maintenance: {vios} should be stopped"),
                deps,
                2,
            );
            if let Some(hw) = self.oix.vios_hardware(&frame, &vios) {
                self.steps[i].frees.push((Res::Memory(frame.clone()), hw.memory_mb.0));
                self.steps[i].frees.push((Res::Procs(frame.clone()), u64::from(hw.proc_units.hundredths())));
            }
        }
    }

    /// Where a desired partition will be: pinned, or where it runs and may stay.
    fn placed_on(&self, p: &Partition, frame: &FrameName) -> bool {
        match &p.spec.placement {
            Placement::Frame(f) => f == frame,
            _ => self.o.status.partitions.get(&p.metadata.name).is_some_and(|s| &s.frame == frame),
        }
    }

    /// Observed partitions no manifest describes: reported, deleted only with `prune`.
    /// Observed partitions no manifest describes: reported and left alone, or — with
    /// `prune` — stopped and deleted, but only on frames a `Frame` manifest describes, and
    /// never when the desired state has no partition at all unless `allowEmpty` says so
    /// (DESIGN §10: an empty desired state never prunes).
    fn unmanaged_partitions(&mut self) {
        let empty = self.d.partitions.is_empty() && !self.d.allow_empty();
        if self.opts.prune && empty && self.o.partitions.keys().any(|n| !self.d.partitions.contains_key(n)) {
            self.warnings.push(
                "prune is on but the manifests describe no partition: nothing is deleted (a directory that lost its partition files must not empty the estate); set `allowEmpty: true` in the Settings if that is what you want".into(),
            );
        }
        for (name, p) in &self.o.partitions {
            if self.d.partitions.contains_key(name) {
                continue;
            }
            let st = self.o.status.partitions.get(name);
            let frame = st.map(|s| s.frame.clone());
            let object = format!("{}/{name}", Kind::Partition);
            let managed_frame = frame.as_ref().is_some_and(|f| self.d.frames.contains_key(f));
            if !self.opts.prune || empty || !managed_frame {
                let note = if !self.opts.prune {
                    "no manifest describes it; left alone (set prune to delete)"
                } else if empty {
                    "no manifest describes it; left alone (prune never empties the estate without allowEmpty)"
                } else {
                    "no manifest describes it; left alone (prune acts only on frames a Frame manifest describes)"
                };
                self.changes.push(ObjectChange {
                    kind: ChangeKind::Unmanaged,
                    object,
                    frame: frame.map(|f| f.to_string()),
                    fields: Vec::new(),
                    observed: Some(to_yaml(&p.spec)),
                    desired: None,
                    note: note.into(),
                });
                continue;
            }
            let Some(frame) = frame else { continue };
            let mut deps = Vec::new();
            if st.is_some_and(|s| s.state.is_running()) {
                let i = self.push(
                    Op::StopPartition { frame: frame.clone(), partition: name.clone() },
                    format!("{object} is not in the manifests (prune): stop it"),
                    vec![],
                    2,
                );
                self.steps[i].frees = demand(&p.spec, &frame);
                deps.push(i);
            }
            let i = self.push(
                Op::DeletePartition { frame: frame.clone(), partition: name.clone() },
                format!("{object} is not in the manifests (prune)"),
                deps,
                9,
            );
            self.steps[i].deletion = true;
            self.changes.push(ObjectChange {
                kind: ChangeKind::Delete,
                object,
                frame: Some(frame.to_string()),
                fields: Vec::new(),
                observed: Some(to_yaml(&p.spec)),
                desired: None,
                note: String::new(),
            });
        }
    }
}

fn names(v: &[ViosName]) -> String {
    v.iter().map(ViosName::as_str).collect::<Vec<_>>().join(",")
}

fn without_mode(s: &crate::manifest::SeaSpec) -> crate::manifest::SeaSpec {
    let mut s = s.clone();
    s.ha_mode = crate::manifest::HaMode::Auto;
    s
}
