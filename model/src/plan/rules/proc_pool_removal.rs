//! **A shared processor pool no manifest describes is unconfigured only with prune, after its
//! partitions have gone.** Pools 1 to 63 always exist and none is deleted: a pool is removed by
//! setting its maximum and reserve back to 0 (and its name back to `SharedPoolNN`), which makes
//! it an unused pool again, one no partition can be assigned to. An observed pool that no
//! `SharedProcessorPool` manifest describes is reported as unmanaged; with prune, on a frame a
//! `Frame` manifest describes, it is unconfigured once the partitions in it that this plan
//! deletes or moves are gone. A pool that a partition staying on the frame still names is left
//! alone, with the reason: the HMC cannot take a pool's capacity from its partitions.
//!
//! Sources: tests/fixtures/hmc/README.md, "Shared processor pools" (PowerCampus: pools "can only
//! be reconfigured", LPARs "can only be assigned to" pools whose maximum is above 0; pypowervm:
//! a pool is enabled when its maximum is set above 0).

use super::Planner;
use crate::action::{ActionKind, Op};
use crate::manifest::Kind;
use crate::names::{PartitionName, ProcPoolId, ProcPoolName};
use crate::placement::Eligibility;
use crate::plan::step::Phase;
use crate::status::ProcPoolSlots;
use crate::yaml::to_yaml;

impl Planner<'_, '_> {
    /// Observed shared processor pools no manifest describes: reported, unconfigured only with
    /// prune.
    pub(super) fn unmanaged_proc_pools(&mut self) {
        let empty = self.desired.proc_pools.is_empty() && !self.desired.allow_empty();
        for (name, obs) in &self.observed.proc_pools {
            let (frame, pool) = (&obs.spec.frame, &obs.spec.pool_name);
            if self.desired.proc_pools.values().any(|d| &d.spec.frame == frame && &d.spec.pool_name == pool) {
                continue;
            }
            let object = format!("{}/{name}", Kind::SharedProcessorPool);
            if let Some(note) = self.prune_holds(frame, empty, "unconfigure it", "unconfigures every pool") {
                self.report_undescribed(object, frame, to_yaml(&obs.spec), Vec::new(), Some(note));
                continue;
            }
            // The partitions on the frame that name the pool, running or not (a stopped one's
            // profile names it too).
            let members: Vec<&PartitionName> = self
                .observed
                .partitions
                .iter()
                .filter(|(n, p)| {
                    p.spec.processors.pool.as_ref() == Some(pool)
                        && self.observed.status.partitions.get(*n).is_some_and(|s| &s.frame == frame)
                })
                .map(|(n, _)| n)
                .collect();
            let staying: Vec<&str> = members
                .iter()
                .filter(|n| match self.assignment.get(**n) {
                    Some(Eligibility::Placed(f)) => f == frame,
                    Some(Eligibility::Unplaceable(_)) => true,
                    None => !self.opts.prune,
                })
                .map(|n| n.as_str())
                .collect();
            if !staying.is_empty() {
                self.errors.push(format!(
                    "{object}: no manifest describes it, but {} on {frame} still use it; it is unconfigured only once no partition names it: describe the pool, or move those partitions to another pool first",
                    staying.join(", ")
                ));
                continue;
            }
            let Some(pool_id) = self.pool_id(frame, pool) else {
                self.errors.push(format!("{object}: no manifest describes it, but its pool id on {frame} is not known; observe the frame again"));
                continue;
            };
            // After every deletion or move of its partitions in this plan.
            let gone: Vec<usize> = self
                .steps
                .iter()
                .enumerate()
                .filter(|(_, s)| {
                    matches!(s.op.kind(), ActionKind::DeletePartition | ActionKind::MigratePartition)
                        && s.op.partition().is_some_and(|p| members.contains(&p))
                })
                .map(|(i, _)| i)
                .collect();
            self.push(
                Op::RemoveSharedProcessorPool { frame: frame.clone(), pool_id, pool: pool.clone() },
                format!(
                    "{object} is not in the manifests (prune): unconfigure it (maximum 0, named {} again)",
                    ProcPoolName::unused(pool_id)
                ),
                gone,
                Phase::Delete,
            );
            self.report_undescribed(object, frame, to_yaml(&obs.spec), Vec::new(), None);
        }
    }

    /// The id of `pool` on `frame`, as listed (else derived from the pools' names).
    fn pool_id(&self, frame: &crate::names::FrameName, pool: &ProcPoolName) -> Option<ProcPoolId> {
        let slots = self.observed.status.proc_pool_slots.get(frame).cloned().unwrap_or_else(|| {
            ProcPoolSlots::derived(
                self.observed.proc_pools.values().filter(|p| &p.spec.frame == frame).map(|p| &p.spec.pool_name),
            )
        });
        slots.ids.get(pool).copied()
    }
}

#[cfg(test)]
mod tests {
    use crate::action::Op;
    use crate::plan::fixture::{lab_converged, lab_desired_with};
    use crate::plan::{PlanOptions, apply, plan};

    /// The lab's p72 without its pool `prodpool` and without the partition in it: with prune the
    /// partition is deleted, then the pool unconfigured; without prune both are reported. The
    /// lab describes no other pool, so `allowEmpty` says that no pool at all is meant.
    #[test]
    fn an_undescribed_pool_is_unconfigured_with_prune_after_its_partitions() {
        let observed = lab_converged();
        let without = lab_desired_with(|name, text| {
            if name != "p72.yaml" {
                return text.to_owned();
            }
            let kept: Vec<&str> = text
                .split("---\n")
                .filter(|d| !d.contains("kind: SharedProcessorPool") && !d.contains("kind: Partition"))
                .collect();
            format!(
                "{}---\napiVersion: powerplane/v1\nkind: Settings\nmetadata: {{name: lab}}\nspec: {{allowEmpty: true}}\n",
                kept.join("---\n")
            )
        });
        let guarded = lab_desired_with(|name, text| {
            if name != "p72.yaml" {
                return text.to_owned();
            }
            text.split("---\n")
                .filter(|d| !d.contains("kind: SharedProcessorPool") && !d.contains("kind: Partition"))
                .collect::<Vec<_>>()
                .join("---\n")
        });
        let kept = plan(&guarded, &observed, PlanOptions { prune: true, ..Default::default() });
        assert!(!kept.actions.iter().any(|a| matches!(a.op, Op::RemoveSharedProcessorPool { .. })));
        assert!(kept.changes.iter().any(|c| c.note.contains("without allowEmpty")), "{:?}", kept.changes);
        let left = plan(&without, &observed, PlanOptions::default());
        assert!(!left.actions.iter().any(|a| matches!(a.op, Op::RemoveSharedProcessorPool { .. })));
        assert!(left.changes.iter().any(|c| c.note.contains("set prune to unconfigure it")), "{:?}", left.changes);

        let pruned = plan(&without, &observed, PlanOptions { prune: true, ..Default::default() });
        assert!(pruned.errors.is_empty(), "{:?}", pruned.errors);
        let at =
            pruned.actions.iter().position(|a| matches!(a.op, Op::RemoveSharedProcessorPool { .. })).expect("removed");
        let cmd = pruned.actions[at].op.command();
        assert!(
            cmd.starts_with("chhwres -r procpool -m p72 -o s --poolname prodpool -a \"new_name=SharedPool"),
            "{cmd}"
        );
        assert!(cmd.ends_with(",max_pool_proc_units=0,reserved_pool_proc_units=0\""), "{cmd}");
        let delete = pruned.actions.iter().find(|a| matches!(a.op, Op::DeletePartition { .. })).expect("deleted");
        assert!(pruned.actions[at].after.contains(&delete.id), "{:?}", pruned.actions[at]);

        let done = apply(&observed, &pruned.actions);
        let again = plan(&without, &done, PlanOptions { prune: true, ..Default::default() });
        assert!(again.actions.is_empty() && again.errors.is_empty(), "{:?} {:?}", again.actions, again.errors);
    }

    /// A pool a partition that stays still names is not unconfigured: the partition's pool is
    /// missing from the desired state, which is an error before anything is removed.
    #[test]
    fn a_pool_a_staying_partition_names_is_left_alone() {
        let observed = lab_converged();
        let without = lab_desired_with(|name, text| {
            if name != "p72.yaml" {
                return text.to_owned();
            }
            text.split("---\n").filter(|d| !d.contains("kind: SharedProcessorPool")).collect::<Vec<_>>().join("---\n")
        });
        let p = plan(&without, &observed, PlanOptions { prune: true, ..Default::default() });
        assert!(!p.actions.iter().any(|a| matches!(a.op, Op::RemoveSharedProcessorPool { .. })), "{:?}", p.actions);
        assert!(p.errors.iter().any(|e| e.contains("prodpool")), "{:?}", p.errors);
    }
}
