//! **A `preferred` partition activates with `--force` when its frame may have no free common
//! paging device.** To the hypervisor `preferred` and `required` are one redundant profile (a
//! primary and a secondary paging VIOS): activated without a free common device it fails, unless
//! forced, and forced it runs without paging VIOS failover. So when a frame's free common
//! devices (now, plus those the plan adds) may not cover every shared-memory activation and
//! arrival the plan makes there, each `preferred` activation there is forced, with a warning; it
//! still gets a common device when one is free.
//!
//! Why `--force` and not a non-redundant profile: the profile stays redundant, so a later
//! activation with a common device free, or a migration with `--redundantpgvios 2`, has
//! failover again; a non-redundant profile would need a profile change and a reactivation to
//! get it back.
//!
//! seeds: ams-dual-vios-and-lpm.txt, lines 11-15: "If no common paging space device is
//! available, the partition will fail to activate. It is still possible to activate a partition
//! in this situation by using the chsysstate command with the --force option through the HMC
//! command line. No failover will be possible in this case."; lines 48-50 (a profile change
//! needs a reactivation).

use std::collections::BTreeMap;

use super::Planner;
use crate::action::Op;
use crate::manifest::{MemoryMode, Redundancy};
use crate::names::FrameName;
use crate::plan::step::Res;

impl Planner<'_, '_> {
    pub(super) fn preferred_paging_force(&mut self) {
        // Steps that take a paging device on a frame: activations and active arrivals.
        let mut takers: BTreeMap<FrameName, Vec<usize>> = BTreeMap::new();
        let mut added: BTreeMap<FrameName, u64> = BTreeMap::new();
        for (i, step) in self.steps.iter().enumerate() {
            match &step.op {
                Op::StartPartition { frame, .. } | Op::MigratePartition { to: frame, .. }
                    if step.consumes.iter().any(|(r, _)| r == &Res::Devices(frame.clone())) =>
                {
                    takers.entry(frame.clone()).or_default().push(i);
                }
                // A device added, or given back by a failed migration's shell when it is
                // recovered: free for what comes after.
                Op::AddPagingDevice { frame, .. } | Op::RecoverMigration { to: frame, .. } => {
                    let common = step.frees.iter().filter(|(r, _)| r == &Res::CommonDevices(frame.clone()));
                    *added.entry(frame.clone()).or_default() += common.map(|(_, n)| n).sum::<u64>();
                }
                _ => {}
            }
        }
        for (frame, steps) in takers {
            if self.desired_index.mem_pool_on(&frame).is_none_or(|p| p.spec.paging_vios.len() != 2) {
                continue;
            }
            let free_now = self
                .observed
                .status
                .paging_devices
                .get(&frame)
                .map_or(0, |ds| ds.iter().filter(|d| d.redundant && d.assigned.is_none()).count() as u64);
            let supply = free_now + added.get(&frame).copied().unwrap_or(0);
            let takers = steps.len();
            if takers as u64 <= supply {
                continue;
            }
            for i in steps {
                let Op::StartPartition { partition, force, .. } = &mut self.steps[i].op else { continue };
                let preferred = self.desired.partitions.get(partition).is_some_and(|p| {
                    p.spec.memory.mode == MemoryMode::Shared
                        && p.spec.memory.paging.unwrap_or_default().redundancy == Redundancy::Preferred
                });
                if !preferred {
                    continue;
                }
                *force = true;
                let partition = partition.clone();
                self.steps[i].reason.push_str(
                    " (--force: it prefers redundant paging, and a common paging device may not be free when it activates)",
                );
                self.warnings.push(format!(
                    "Partition/{partition} prefers redundant paging, but {frame} may have no free common paging device when it activates ({supply} free for {takers} activations and arrivals): it is activated with --force and, without a common device, runs with no paging VIOS failover until it is reactivated with one"
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::plan::fixture::{lab_desired_with, lab_observed_with, render};
    use crate::plan::{PlanOptions, apply, plan};

    /// SOLCHMS05 gets an independent paging disk (hdisk20, seen by lpar_1_solchio05 only) and
    /// a new `preferred` partition. With hdisk17, the one common device, taken by
    /// lpar_6_sotchax11, the new partition is activated with --force (and a warning); without
    /// lpar_6_sotchax11 the common device is free and it is not forced.
    #[test]
    fn a_preferred_activation_is_forced_only_when_no_common_device_may_be_free() {
        let inventory = |text: &str| {
            assert!(text.contains("reservePolicy: no_reserve}\n    - name: lpar_2_solchio06"));
            text.replacen(
                "reservePolicy: no_reserve}\n    - name: lpar_2_solchio06",
                "reservePolicy: no_reserve}\n        - {name: hdisk20, lun: \"6005076801203E85-L20\", sizeMB: 8192, reservePolicy: no_reserve}\n    - name: lpar_2_solchio06",
                1,
            )
        };
        let new_partition = "---\napiVersion: powerplane/v1\nkind: Partition\nmetadata: {name: lpar_7}\nspec:\n  placement: {frame: IBM_MMA_P6_102615A_SOLCHMS05}\n  state: running\n  processors: {mode: shared, units: 0.5, virtual: 1}\n  memory: {mode: shared, desiredMB: 2048, maxMB: 4096, paging: {redundancy: preferred}}\n  network: [{vlan: 100}]\n";
        let desired = |keep_lpar_6: bool, with_lpar_7: bool| {
            lab_desired_with(move |name, text| {
                if name != "solchms05.yaml" {
                    return text.to_owned();
                }
                let text = text.replace(
                    "    - {device: hdisk17, sizeMB: 40960}",
                    "    - {device: hdisk17, sizeMB: 40960}\n    - {device: hdisk20, sizeMB: 8192}",
                );
                let text = if keep_lpar_6 {
                    text
                } else {
                    text.replace("  name: lpar_6_sotchax11\n  labels: {app: sap}\nspec:\n  placement: {frame: IBM_MMA_P6_102615A_SOLCHMS05}\n  state: running", "  name: lpar_6_sotchax11\n  labels: {app: sap}\nspec:\n  placement: {frame: IBM_MMA_P6_102615A_SOLCHMS05}\n  state: stopped")
                };
                if with_lpar_7 { text + new_partition } else { text }
            })
        };
        let observed = lab_observed_with(inventory);
        let first = plan(&desired(true, false), &observed, PlanOptions::default());
        assert!(first.errors.is_empty(), "{:?}", first.errors);
        let converged = apply(&observed, &first.actions);
        let forced = plan(&desired(true, true), &converged, PlanOptions::default());
        insta::assert_snapshot!(render(&forced));
        let stopped = plan(&desired(false, false), &converged, PlanOptions::default());
        let free = plan(&desired(false, true), &apply(&converged, &stopped.actions), PlanOptions::default());
        insta::assert_snapshot!(render(&free));
    }
}
