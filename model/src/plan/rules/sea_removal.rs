//! **A SEA no manifest describes is removed only with prune, the primary's first.** An observed
//! SEA pair on a frame whose desired state has none is reported as unmanaged and left alone;
//! with prune, and on a frame a `Frame` manifest describes, it is removed with `rmdev` on each
//! VIOS: the primary's SEA (trunk priority 1) first, then the backup's, after the partitions
//! that leave the frame in the same plan have left. A SEA still carrying the VLANs of a
//! partition that stays on the frame is not removed: that would cut its network.
//!
//! seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, lines 1346-1347 (FAQ 5):
//! "If I want to rmdev the SEA can I do this when it's in "sharing" mode on either VIOS? Based
//! on what I've read I'd have to do this on the Primary SEA VIOS (with the lowest priority)
//! first. In "auto" mode I can run rmdev against the SEA on either VIOS." — "Yes." The primary
//! goes first in every mode, which is right in both.

use super::Planner;
use crate::action::Op;
use crate::manifest::Kind;
use crate::names::{FrameName, PartitionName, ViosName};
use crate::placement::Eligibility;
use crate::plan::change::FieldChange;
use crate::plan::step::Phase;
use crate::status::SeaMemberStatus;
use crate::yaml::to_yaml;

impl Planner<'_, '_> {
    /// Observed SEAs on frames whose desired state has none: reported, removed only with
    /// prune, the primary's first.
    pub(super) fn unmanaged_seas(&mut self) {
        let empty = self.desired.seas.is_empty() && !self.desired.allow_empty();
        for (name, obs) in &self.observed.seas {
            let Some(frame) = self.observed.vios_pairs.get(&obs.spec.vios_pair).map(|p| p.spec.frame.clone()) else {
                continue;
            };
            if !self
                .desired_index
                .pairs_on(&frame)
                .iter()
                .all(|p| self.desired_index.seas_of(&p.metadata.name).is_empty())
            {
                continue;
            }
            let object = format!("{}/{name}", Kind::SharedEthernetAdapter);
            if let Some(note) = self.prune_holds(&frame, empty, "remove it", "removes every SEA") {
                self.report_undescribed(object, &frame, to_yaml(&obs.spec), Vec::new(), Some(note));
                continue;
            }
            let mut members: Vec<SeaMemberStatus> = self.observed.status.seas.get(name).cloned().unwrap_or_default();
            members.sort_by_key(|m| m.priority);
            let vlans: Vec<_> = obs.spec.trunks.iter().flat_map(|t| t.all_vlans()).collect();
            let staying = self.staying_on(&frame, &vlans);
            if !staying.is_empty() {
                let names: Vec<&str> = staying.iter().map(PartitionName::as_str).collect();
                self.errors.push(format!(
                    "{object}: no manifest describes it, but it bridges the network of {} which stay on {frame}; removing it would cut their network: describe the SEA, or move those partitions first",
                    names.join(", ")
                ));
                continue;
            }
            let down: Vec<&ViosName> =
                members.iter().map(|m| &m.vios).filter(|v| !self.vios_running_now(&frame, v)).collect();
            if !down.is_empty() {
                let names: Vec<&str> = down.iter().map(|v| v.as_str()).collect();
                self.errors.push(format!(
                    "{object}: no manifest describes it, but it cannot be removed while {} is down (rmdev runs on the VIOS); start it first",
                    names.join(", ")
                ));
                continue;
            }
            let gone: Vec<usize> = self
                .leaves_frame
                .iter()
                .filter(|(_, i)| self.steps[**i].op.frames().first() == Some(&&frame))
                .map(|(_, i)| *i)
                .collect();
            let mut prev: Option<usize> = None;
            let mut fields = Vec::new();
            for (i, m) in members.iter().enumerate() {
                let role = if i == 0 { "primary (trunk priority 1) first" } else { "backup after the primary" };
                let deps = gone.iter().copied().chain(prev).collect();
                let idx = self.push(
                    Op::RemoveSea { frame: frame.clone(), vios: m.vios.clone(), device: m.device.clone() },
                    format!("{object} is not in the manifests (prune): remove it on the {role}"),
                    deps,
                    Phase::Delete,
                );
                fields.push(FieldChange {
                    path: format!("{}.device", m.vios),
                    old: Some(m.device.to_string()),
                    new: None,
                });
                prev = Some(idx);
            }
            self.report_undescribed(object, &frame, to_yaml(&obs.spec), fields, None);
        }
    }

    /// Partitions on `frame` with a VLAN of `vlans` that are still there after this plan: those
    /// placed there, those that cannot be placed, and those no manifest describes that prune
    /// does not delete.
    fn staying_on(&self, frame: &FrameName, vlans: &[crate::units::VlanId]) -> Vec<PartitionName> {
        self.observed
            .partitions
            .iter()
            .filter(|(n, p)| {
                self.observed.status.partitions.get(*n).is_some_and(|s| &s.frame == frame)
                    && p.spec.network.iter().any(|net| vlans.contains(&net.vlan))
                    && match self.assignment.get(*n) {
                        Some(Eligibility::Placed(f)) => f == frame,
                        Some(Eligibility::Unplaceable(_)) => true,
                        // Not described: prune deletes it on a described frame (this one).
                        None => !self.desired.partitions.contains_key(*n) && !self.opts.prune,
                    }
            })
            .map(|(n, _)| n.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::action::Op;
    use crate::plan::fixture::{lab_converged, lab_desired_with};
    use crate::plan::{PlanOptions, plan};

    /// The lab's p72 without its SEA and without its partition (which needs the SEA's VLANs):
    /// with prune the partition is stopped and deleted, then the SEA removed, the primary's
    /// (p72vio1, trunk priority 1) first; without prune both are reported and left alone.
    #[test]
    fn an_undescribed_sea_is_removed_with_prune_primary_first() {
        let observed = lab_converged();
        let without = lab_desired_with(|name, text| {
            if name != "p72.yaml" {
                return text.to_owned();
            }
            text.split("---\n")
                .filter(|d| !d.contains("kind: SharedEthernetAdapter") && !d.contains("kind: Partition"))
                .collect::<Vec<_>>()
                .join("---\n")
        });
        let left = plan(&without, &observed, PlanOptions::default());
        assert!(!left.actions.iter().any(|a| matches!(a.op, Op::RemoveSea { .. })), "{:?}", left.actions);
        assert!(
            left.changes
                .iter()
                .any(|c| c.object.starts_with("SharedEthernetAdapter/") && c.note.contains("set prune to remove it")),
            "{:?}",
            left.changes
        );

        let pruned = plan(&without, &observed, PlanOptions { prune: true, ..Default::default() });
        assert!(pruned.errors.is_empty(), "{:?}", pruned.errors);
        let removals: Vec<(usize, &Op)> = pruned
            .actions
            .iter()
            .enumerate()
            .filter(|(_, a)| matches!(a.op, Op::RemoveSea { .. }))
            .map(|(i, a)| (i, &a.op))
            .collect();
        assert_eq!(removals.len(), 2, "{:?}", pruned.actions);
        let vios: Vec<&str> = removals
            .iter()
            .map(|(_, op)| match op {
                Op::RemoveSea { vios, .. } => vios.as_str(),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(vios, ["p72vio1", "p72vio2"], "the primary's first");
        // The backup's waits for the primary's; both wait for the partition's deletion.
        let (first, second) = (&pruned.actions[removals[0].0], &pruned.actions[removals[1].0]);
        assert!(second.after.contains(&first.id), "{second:?}");
        let delete =
            pruned.actions.iter().position(|a| matches!(a.op, Op::DeletePartition { .. } | Op::StopPartition { .. }));
        assert!(delete.is_some_and(|d| d < removals[0].0), "{:?}", pruned.actions);
        assert!(pruned.actions[removals[0].0].op.command().contains("rmdev -dev ent"));

        // Applied, nothing is left to do.
        let done = crate::plan::apply::apply(&observed, &pruned.actions);
        let again = plan(&without, &done, PlanOptions { prune: true, ..Default::default() });
        assert!(again.actions.is_empty(), "{:?}", again.actions);
    }

    /// A SEA that bridges a partition staying on the frame is not removed, with the reason:
    /// here the partition's manifest no longer lists its VLANs, but it still has them.
    #[test]
    fn a_sea_bridging_a_partition_that_stays_is_not_removed() {
        let observed = lab_converged();
        let without = lab_desired_with(|name, text| {
            if name != "p72.yaml" {
                return text.to_owned();
            }
            let text = text.replace("  network:\n    - vlan: 10\n    - vlan: 12\n", "");
            assert!(!text.contains("vlan: 10\n"), "{text}");
            text.split("---\n").filter(|d| !d.contains("kind: SharedEthernetAdapter")).collect::<Vec<_>>().join("---\n")
        });
        let p = plan(&without, &observed, PlanOptions { prune: true, ..Default::default() });
        assert!(!p.actions.iter().any(|a| matches!(a.op, Op::RemoveSea { .. })), "{:?}", p.actions);
        assert!(p.errors.iter().any(|e| e.contains("would cut their network")), "{:?}", p.errors);
    }
}
