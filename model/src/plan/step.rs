//! A planned action before ids and ordering, and the capacity it takes or gives back: what the
//! rules make and `schedule` orders.

use crate::action::Op;
use crate::manifest::{MemoryMode, PartitionSpec, ProcMode, Redundancy};
use crate::names::{FrameName, ProcPoolName};

pub(crate) use super::capacity::Resource as Res;

/// A planned action before ids and ordering.
#[derive(Clone, Debug)]
pub(crate) struct Step {
    /// The action.
    pub op: Op,
    /// Why: the rule or difference that made it.
    pub reason: String,
    /// Indexes of the steps it runs after.
    pub deps: Vec<usize>,
    /// How their outcomes decide whether it runs.
    pub when: crate::action::When,
    /// Capacity it takes when it starts.
    pub consumes: Vec<(Res, u64)>,
    /// Capacity it gives back when it ends.
    pub frees: Vec<(Res, u64)>,
    /// Where the step falls among the steps ready at the same time.
    pub phase: Phase,
}

impl Step {
    /// A deletion runs after every other step of the plan (DESIGN §4: deletions last).
    pub fn is_deletion(&self) -> bool {
        self.phase == Phase::Delete
    }
}

/// The scheduler's tie-break among steps ready at once, in this order: a plan recovers failed
/// migrations, configures frames, fails over, frees capacity, moves, grows, fails back, and
/// deletes last.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Phase {
    /// Recovering a migration that failed part-way: before anything else, whatever the
    /// target's resources (what waits for the partition, and the room its shell holds).
    Recover,
    /// Frame configuration: pools, paging devices, SEAs, VIOS starts.
    Configure,
    /// Before capacity moves: failing paging or a SEA over ahead of a VIOS stop.
    Failover,
    /// Giving capacity back: stops, shrinking a pool or a partition.
    Free,
    /// Validations and migrations.
    Move,
    /// Taking capacity: creations, starts, growing a partition; shrinking a processor pool.
    Grow,
    /// Paging failback to the primary paging VIOS.
    Failback,
    /// Deletions (prune), after everything else.
    Delete,
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
