//! How long a plan takes (issue 15): each action's duration from the backend's model (a
//! migration in proportion to the partition's memory, as the seeds describe it), and the
//! plan's makespan: the executor's own schedule ([`Dispatch`]) run on a virtual timeline,
//! with every action succeeding.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

use serde::{Deserialize, Serialize};

use super::Plan;
use super::dispatch::{Dispatch, Limits};
use crate::action::{ActionId, ActionKind, Op, When};
use crate::estate::Estate;

/// How long actions take on a backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rates {
    /// Seconds an active migration spends per GB of the partition's memory (the copy).
    // seeds: lpm-js22-walkthrough.txt: the migration copies the partition's memory while it
    // runs, then suspends it briefly at the switch-over.
    pub lpm_seconds_per_gb: u64,
    /// The partition's suspend at an active migration's switch-over, ms.
    pub lpm_suspend_ms: u64,
    /// An inactive migration (only the profile and its adapters move), s.
    pub inactive_migration_secs: u64,
}

impl Default for Rates {
    fn default() -> Self {
        Rates { lpm_seconds_per_gb: 30, lpm_suspend_ms: 1_500, inactive_migration_secs: 10 }
    }
}

impl Rates {
    /// How long `op` takes, ms, on the estate `observed` it starts from.
    pub fn millis(&self, op: &Op, observed: &Estate) -> u64 {
        match op {
            Op::MigratePartition { partition, .. } => {
                let (Some(p), Some(st)) =
                    (observed.partitions.get(partition), observed.status.partitions.get(partition))
                else {
                    return self.inactive_migration_secs * 1000;
                };
                if st.state.is_running() {
                    let gb = p.spec.memory.desired_mb.0.div_ceil(1024);
                    gb * self.lpm_seconds_per_gb * 1000 + self.lpm_suspend_ms
                } else {
                    self.inactive_migration_secs * 1000
                }
            }
            _ => typical_secs(op.kind()) * 1000,
        }
    }
}

/// How long an action other than a migration typically takes on an HMC, s: what the
/// simulator takes too.
pub fn typical_secs(kind: ActionKind) -> u64 {
    use ActionKind as K;
    match kind {
        K::CreateSharedProcessorPool | K::UpdateSharedProcessorPool | K::RemoveSharedProcessorPool => 2,
        K::CreateSharedMemoryPool | K::UpdateSharedMemoryPool => 5,
        K::AddPagingDevice | K::RemovePagingDevice => 3,
        K::StartVios => 90,
        K::StopVios => 30,
        K::CreateSea | K::SetSeaHaMode | K::RemoveSea | K::SetSeaAdapters => 3,
        K::AddTrunkAdapter => 5,
        K::ConfigureDevices => 10,
        K::SaveProfile | K::CreatePartition | K::DeletePartition => 2,
        K::AddServerAdapter | K::RemoveServerAdapter => 5,
        K::MapDisk | K::UnmapDisk | K::MapNpiv | K::UnmapNpiv | K::SetDiskNoReserve => 3,
        K::UpdatePartition => 5,
        K::StartPartition => 30,
        K::StopPartition => 20,
        K::SwitchPagingVios => 1,
        K::ValidateMigration => 15,
        K::RecoverMigration => 30,
        K::RaisePeerInactive | K::RestorePeerInactive => 1,
        K::UnmanageClusterNode => 20,
        K::ManageClusterNode => 30,
        K::EnterNodeMaintenance | K::LeaveNodeMaintenance => 1,
        K::RunHook => 10,
        K::MigratePartition => 10,
        K::RenameProfileCopy | K::RestoreProfileCopy | K::RemoveProfileCopy => 2,
    }
}

/// A plan's estimate: how long it takes under the executor's limits, and each action.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Estimate {
    /// The makespan, s (rounded up).
    pub seconds: u64,
    /// Each action's own duration, s.
    pub actions: BTreeMap<ActionId, f64>,
}

impl Estimate {
    /// Each action's duration in ms, in the order of `plan.actions` (0 where not estimated).
    pub fn millis(&self, plan: &Plan) -> Vec<u64> {
        plan.actions.iter().map(|a| self.actions.get(&a.id).map_or(0, |s| (s * 1000.0).round() as u64)).collect()
    }
}

/// Estimates `plan` (made from `observed`) under `limits`.
pub fn estimate(plan: &Plan, observed: &Estate, rates: &Rates, limits: Limits) -> Estimate {
    let millis: Vec<u64> = plan.actions.iter().map(|a| rates.millis(&a.op, observed)).collect();
    let makespan = makespan(plan, &millis, limits);
    Estimate {
        seconds: makespan.div_ceil(1000),
        actions: plan.actions.iter().zip(&millis).map(|(a, ms)| (a.id.clone(), *ms as f64 / 1000.0)).collect(),
    }
}

/// The executor's schedule of `plan` on a virtual timeline when every action succeeds, ms.
/// An `onFailure` step is then not needed and takes no time.
pub fn makespan(plan: &Plan, millis: &[u64], limits: Limits) -> u64 {
    let actions = &plan.actions;
    let index: BTreeMap<&ActionId, usize> = actions.iter().enumerate().map(|(i, a)| (&a.id, i)).collect();
    let deps: Vec<Vec<usize>> =
        actions.iter().map(|a| a.after.iter().filter_map(|d| index.get(d).copied()).collect()).collect();
    let mut dispatch =
        Dispatch::new(actions, &deps, millis, &plan.capacity, limits).with_migration_room(&plan.migration_room);
    let mut indegree: Vec<usize> = deps.iter().map(Vec::len).collect();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); actions.len()];
    for (i, d) in deps.iter().enumerate() {
        for &j in d {
            dependents[j].push(i);
        }
    }
    let mut ready: BTreeSet<(Reverse<u64>, usize)> = BTreeSet::new();
    let mut instant: Vec<usize> = Vec::new();
    for i in (0..actions.len()).filter(|i| indegree[*i] == 0) {
        if actions[i].when == When::Failed {
            instant.push(i);
        } else {
            ready.insert(dispatch.key(i));
        }
    }
    let mut running: BinaryHeap<Reverse<(u64, usize)>> = BinaryHeap::new();
    let mut now = 0u64;
    loop {
        // Ended actions release their dependents; not-needed steps end at once.
        while let Some(i) = instant.pop() {
            for &d in &dependents[i] {
                indegree[d] -= 1;
                if indegree[d] == 0 {
                    if actions[d].when == When::Failed {
                        instant.push(d);
                    } else {
                        ready.insert(dispatch.key(d));
                    }
                }
            }
        }
        let started = dispatch.admit(ready.iter().map(|(_, i)| *i));
        for i in started {
            ready.remove(&dispatch.key(i));
            running.push(Reverse((now + millis[i], i)));
        }
        let Some(Reverse((end, i))) = running.pop() else { break };
        now = end;
        dispatch.ended(i, true);
        instant.push(i);
        // Everything ending at the same moment ends before anything new starts.
        while let Some(Reverse((e, j))) = running.peek().copied() {
            if e != now {
                break;
            }
            running.pop();
            dispatch.ended(j, true);
            instant.push(j);
        }
    }
    now
}

/// A duration for the plan's summary: `about 40 s`, `about 38 min`, `about 2 h 10 min`.
pub fn about(seconds: u64) -> String {
    match seconds {
        0..=59 => format!("about {seconds} s"),
        60..=3599 => format!("about {} min", seconds.div_ceil(60)),
        _ => {
            let m = seconds.div_ceil(60);
            match m % 60 {
                0 => format!("about {} h", m / 60),
                r => format!("about {} h {r} min", m / 60),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_a_person_would_say_them() {
        assert_eq!(about(40), "about 40 s");
        assert_eq!(about(2308), "about 39 min");
        assert_eq!(about(7200), "about 2 h");
        assert_eq!(about(7801), "about 2 h 11 min");
    }

    /// The lab's move of bxaix85: validated (15 s), then migrated (its 4 GB at 30 s/GB and the
    /// 1.5 s suspend), one after the other.
    #[test]
    fn a_move_takes_its_validation_and_its_copy() {
        use crate::plan::fixture::{lab_converged, lab_desired_with, replace};
        let desired = lab_desired_with(replace(
            "js22.yaml",
            "placement: {anyOf: [js22_slot13, js22_slot14]}",
            "placement: {frame: js22_slot14}",
        ));
        let observed = lab_converged();
        let plan = crate::plan::plan(&desired, &observed, crate::plan::PlanOptions::default());
        let e = plan.estimate.clone().expect("every plan has an estimate");
        let gb =
            observed.partitions[&crate::plan::fixture::partition("bxaix85")].spec.memory.desired_mb.0.div_ceil(1024);
        let migration = plan.actions.iter().find(|a| a.kind() == ActionKind::MigratePartition).unwrap();
        assert_eq!(e.actions[&migration.id], (gb * 30) as f64 + 1.5);
        let total: f64 = e.actions.values().sum();
        assert_eq!(e.seconds, total.ceil() as u64, "a chain: the makespan is the sum ({e:?})");
    }
}
