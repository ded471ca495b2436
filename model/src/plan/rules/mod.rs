//! The planner's rules (DESIGN §4): each turns a kind of difference between the desired and the
//! observed estate into steps with their structural dependencies and the capacity they take or
//! give back (which `schedule` orders by). One rule per file, named for what it decides:
//!
//! | rule | file |
//! |---|---|
//! | a frame in maintenance is evacuated | [`frame_maintenance`] |
//! | shared processor pools are created or resized before their partitions | [`proc_pools`] |
//! | VIOS maintenance: paging and the SEA move off a VIOS before it stops; it starts before what needs it | [`vios_maintenance`] |
//! | shared memory pools and paging devices before the partitions that page through them | [`mem_pools`] |
//! | SEA creation and `ha_mode` changes: the primary first | [`sea_primary_first`] |
//! | trunks appended to a running SEA: DLPAR, cfgdev, profile saved, `virt_adapters` primary first | [`sea_trunk_additions`] |
//! | storage: client and server adapters, mappings (VIOS side before the start), drift, teardown | [`storage`] |
//! | partitions: create, stop, resize (DLPAR), start, and in-flight work | [`partitions`] |
//! | a partition is activated only when its boot disk is served (else its SMS menu) | [`boot_disk_first`] |
//! | migration: validate before migrate, paging redundancy on the target, runtime holds | [`migration`] |
//! | a SCSI reserve on a move's target lifted first (`chdev … reserve_policy=no_reserve`), when the settings allow | [`reserve_policy`] |
//! | migration across HMCs (`--ip`, keys), the HMC's option spelling, what cannot move (physical I/O, HSCLA340) | [`cross_hmc`] |
//! | cluster members: heartbeat timeouts raised and restored, one at a time, hooks | [`cluster_migration`] |
//! | paging failback to the primary paging VIOS | [`paging_failback`] |
//! | partitions that require redundant paging activate first | [`required_paging_first`] |
//! | a `preferred` partition activates with `--force` when no common device may be free | [`preferred_paging_force`] |
//! | what no manifest describes: reported, deleted only with prune | [`prune`] |
//! | a SEA no manifest describes: reported, removed only with prune, the primary's first | [`sea_removal`] |
//! | a shared processor pool no manifest describes: reported, unconfigured only with prune, after its partitions | [`proc_pool_removal`] |

mod boot_disk_first;
mod cluster_migration;
mod cross_hmc;
mod frame_maintenance;
mod mem_pools;
mod migration;
mod paging_failback;
mod partitions;
mod preferred_paging_force;
mod proc_pool_removal;
mod proc_pools;
mod profile_copies;
mod prune;
mod required_paging_first;
mod reserve_policy;
mod sea_primary_first;
mod sea_removal;
mod sea_trunk_additions;
mod storage;
mod vios_maintenance;

use std::collections::{BTreeMap, BTreeSet};

use super::PlanOptions;
use super::change::{ChangeKind, FieldChange, ObjectChange};
use super::step::{Phase, Step};
use crate::action::Op;
use crate::estate::{Estate, EstateIndex, Partition};
use crate::manifest::{Placement, RunState};
use crate::names::{FrameName, PartitionName, ViosName};
use crate::placement::{Eligibility, Placer};

/// What the rules made of the differences: the steps to order, and what the plan reports.
pub(crate) struct Built {
    pub steps: Vec<Step>,
    pub changes: Vec<ObjectChange>,
    pub warnings: Vec<String>,
    pub errors: Vec<String>,
    pub in_progress: Vec<String>,
    pub deferred: Vec<String>,
}

/// The rules' shared working state: the two estates, the placement decided for each desired
/// partition, the steps planned so far, and the cross-references later rules depend on (which
/// steps configure a frame, make a VIOS ready, take a partition off a frame).
struct Planner<'a, 'p> {
    desired: &'a Estate,
    observed: &'a Estate,
    desired_index: &'p EstateIndex<'a>,
    observed_index: &'p EstateIndex<'a>,
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
    /// SEAs this plan creates, by VIOS: a VIOS that stops fails over to one of them.
    sea_created: BTreeMap<(FrameName, ViosName), usize>,
    /// Steps after which a partition no longer pages through its frame's VIOS (stop or move).
    leaves_frame: BTreeMap<PartitionName, usize>,
    /// Paging switches planned, by partition: `chhwres -o so` toggles between the two paging
    /// VIOS, so a partition is switched at most once per plan.
    paging_switch: BTreeMap<PartitionName, usize>,
    /// Active moves of this plan by mover service partition, to spread them over a frame's
    /// MSPs.
    msp_load: BTreeMap<(FrameName, ViosName), usize>,
    /// Per cluster, the steps the next member's migration waits for: the last migration
    /// planned and its clean-up.
    cluster_moves: BTreeMap<crate::names::ClusterName, Vec<usize>>,
    /// Slots and device names this plan takes on each VIOS for server adapters.
    storage_claims: BTreeMap<(FrameName, ViosName), storage::ViosClaims>,
    /// Per partition, the storage steps its activation and its migration wait for.
    storage_ready: BTreeMap<PartitionName, Vec<usize>>,
    /// Reserves this plan lifts, by target disk (`frame`, VIOS, disk): one step per disk.
    reserves_lifted: BTreeMap<(FrameName, ViosName, crate::names::DeviceName), usize>,
}

/// Runs every rule, in the order their cross-references need: configuration and VIOS starts
/// before SEAs and partitions, partitions before the VIOS stops that wait for them.
pub(crate) fn build<'a>(
    desired: &'a Estate,
    observed: &'a Estate,
    opts: PlanOptions,
    placer: &Placer<'a>,
    assignment: &BTreeMap<PartitionName, Eligibility>,
) -> Built {
    let mut planner = Planner {
        desired,
        observed,
        desired_index: placer.index(),
        observed_index: placer.facts().expect("the planner's placer has the observed estate"),
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
        sea_created: BTreeMap::new(),
        leaves_frame: BTreeMap::new(),
        paging_switch: BTreeMap::new(),
        msp_load: BTreeMap::new(),
        cluster_moves: BTreeMap::new(),
        storage_claims: BTreeMap::new(),
        storage_ready: BTreeMap::new(),
        reserves_lifted: BTreeMap::new(),
    };
    planner.frame_maintenance();
    planner.proc_pools();
    planner.vios_starts();
    planner.mem_pools();
    planner.seas();
    planner.storage_drift();
    planner.partitions();
    planner.cluster_drift();
    planner.profile_copies();
    planner.vios_stops();
    planner.unmanaged_partitions();
    planner.unmanaged_seas();
    planner.unmanaged_proc_pools();
    planner.required_paging_first();
    planner.preferred_paging_force();
    Built {
        steps: planner.steps,
        changes: planner.changes,
        warnings: planner.warnings,
        errors: planner.errors,
        in_progress: planner.in_progress,
        deferred: planner.deferred,
    }
}

impl Planner<'_, '_> {
    /// Adds a step and returns its index (what later steps name in their `deps`).
    fn push(&mut self, op: Op, reason: impl Into<String>, deps: Vec<usize>, phase: Phase) -> usize {
        self.steps.push(Step {
            op,
            reason: reason.into(),
            deps,
            when: crate::action::When::Succeeded,
            consumes: Vec::new(),
            frees: Vec::new(),
            phase,
        });
        self.steps.len() - 1
    }

    /// Records what differs for an object, for the plan's report.
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

    /// The configuration steps of a frame that a partition arriving or starting there waits for.
    fn config_deps(&self, frame: &FrameName) -> Vec<usize> {
        self.frame_config.get(frame).cloned().unwrap_or_default()
    }

    /// Running now with an active RMC connection, as observed: what `viosvrcmd`, a paging
    /// VIOS switch and a mover service partition need (a VIOS whose RMC has not come up yet
    /// after its activation is not ready for them).
    /// Why prune leaves alone an object on `frame` that no manifest describes, or `None` when
    /// it acts: prune is off, the desired state has none of its kind (`empty`, unless
    /// `allowEmpty`), or no `Frame` manifest describes the frame. `act` says what prune would do
    /// ("remove it"), `every` what an empty desired state would lose ("every SEA").
    fn prune_holds(&self, frame: &FrameName, empty: bool, act: &str, every: &str) -> Option<String> {
        let why = if !self.opts.prune {
            format!("set prune to {act}")
        } else if empty {
            format!("prune never {every} without allowEmpty")
        } else if !self.desired.frames.contains_key(frame) {
            "prune acts only on frames a Frame manifest describes".to_owned()
        } else {
            return None;
        };
        Some(format!("no manifest describes it; left alone ({why})"))
    }

    /// Reports `object` on `frame`, which no manifest describes: left alone (`note` says why)
    /// or deleted (`note` is `None`), with what was observed and the `fields` that go.
    fn report_undescribed(
        &mut self,
        object: String,
        frame: &FrameName,
        observed: String,
        fields: Vec<FieldChange>,
        note: Option<String>,
    ) {
        let kind = if note.is_some() { ChangeKind::Unmanaged } else { ChangeKind::Delete };
        self.changes.push(ObjectChange {
            kind,
            object,
            frame: Some(frame.to_string()),
            fields,
            observed: Some(observed),
            desired: None,
            note: note.unwrap_or_default(),
        });
    }

    fn vios_running_now(&self, frame: &FrameName, vios: &ViosName) -> bool {
        self.vios_state_now(frame, vios).is_some_and(|s| s.is_running())
            && !self.observed.status.vios_lacks_rmc(frame, vios)
    }

    /// Its state now, as observed.
    fn vios_state_now(&self, frame: &FrameName, vios: &ViosName) -> Option<&crate::status::LparState> {
        self.observed.status.vios.get(frame).and_then(|m| m.get(vios))
    }

    /// Running at the end of the plan: as desired when a manifest names the VIOS, else as now.
    fn vios_running_after(&self, frame: &FrameName, vios: &ViosName) -> bool {
        match self.desired_index.vios(frame, vios).and_then(|p| p.spec.members.iter().find(|m| &m.name == vios)) {
            Some(m) => m.state == RunState::Running,
            None => self.vios_running_now(frame, vios),
        }
    }

    /// Where a desired partition will be: pinned, or where it runs and may stay.
    fn placed_on(&self, p: &Partition, frame: &FrameName) -> bool {
        match &p.spec.placement {
            Placement::Frame(f) => f == frame,
            _ => self.observed.status.partitions.get(&p.metadata.name).is_some_and(|s| &s.frame == frame),
        }
    }
}

/// VIOS names as the HMC lists them: `vios1,vios2`.
fn names(v: &[ViosName]) -> String {
    v.iter().map(ViosName::as_str).collect::<Vec<_>>().join(",")
}
