//! **A frame in maintenance is evacuated.** Every partition a manifest describes leaves a frame
//! whose `Frame` manifest says `maintenance: true` (the placement rules exclude it, so each is
//! planned as a migration by [`super::migration`]); partitions no manifest describes are left
//! where they are with a warning, since powerplane does not move what it does not manage. An
//! evacuated frame in maintenance is converged.
//!
//! DESIGN §4 (planned maintenance); seeds: ams-dual-vios-and-lpm.txt, line 1: Live Partition
//! Mobility is "highly useful if you want to rebalance your workload or to make a physical server
//! available for maintenance"; lpm-js22-walkthrough.txt, line 5: "Live Partition Mobility is
//! targeted for planned activity".

use super::Planner;
use crate::names::PartitionName;
use crate::plan::change::{ChangeKind, FieldChange};

impl Planner<'_, '_> {
    pub(super) fn frame_maintenance(&mut self) {
        for (name, f) in &self.desired.frames {
            // An evacuated frame in maintenance is converged: the flag is the manifests' own,
            // the backend has nothing to change once no partition is left on it.
            if !f.spec.maintenance {
                continue;
            }
            let on_it = |(_, s): &(&PartitionName, &crate::status::PartitionStatus)| &s.frame == name;
            let unmanaged: Vec<&str> = self
                .observed
                .status
                .partitions
                .iter()
                .filter(on_it)
                .filter(|(p, _)| !self.desired.partitions.contains_key(*p))
                .map(|(p, _)| p.as_str())
                .collect();
            if !unmanaged.is_empty() {
                self.warnings.push(format!(
                    "Frame/{name} is in maintenance, but {} no manifest describes {} on it ({}): powerplane does not move what it does not manage; move {} on the HMC, or add {} manifests",
                    if unmanaged.len() == 1 { "a partition" } else { "partitions" },
                    if unmanaged.len() == 1 { "stays" } else { "stay" },
                    unmanaged.join(", "),
                    if unmanaged.len() == 1 { "it" } else { "them" },
                    if unmanaged.len() == 1 { "its" } else { "their" },
                ));
            }
            let occupied = self
                .observed
                .status
                .partitions
                .iter()
                .filter(on_it)
                .any(|(p, _)| self.desired.partitions.contains_key(p));
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
}

#[cfg(test)]
mod tests {
    use crate::plan::fixture::{lab_converged, lab_desired_with, render, replace};
    use crate::plan::{PlanOptions, plan};

    /// js22_slot13 in maintenance: bxaix85, which may run on either blade, is validated and
    /// migrated to js22_slot14.
    #[test]
    fn a_frame_in_maintenance_is_evacuated() {
        let desired = lab_desired_with(replace(
            "js22.yaml",
            "  name: js22_slot13\n  labels: {site: lab, chassis: bch1, generation: power6}\n",
            "  name: js22_slot13\n  labels: {site: lab, chassis: bch1, generation: power6}\nspec: {maintenance: true}\n",
        ));
        let p = plan(&desired, &lab_converged(), PlanOptions::default());
        insta::assert_snapshot!(render(&p));
    }

    /// A partition no manifest describes stays on the frame, with a warning saying so.
    #[test]
    fn what_no_manifest_describes_is_not_moved() {
        let desired = lab_desired_with(|name, text| {
            let text = text.replace("spec:\n  maintenance: false", "spec:\n  maintenance: true");
            if name == "solchms05.yaml" {
                // lpar_6_sotchax11 is no longer described.
                text[..text.find("apiVersion: powerplane/v1\nkind: Partition").unwrap()]
                    .trim_end_matches("---\n")
                    .to_owned()
            } else {
                text
            }
        });
        let p = plan(&desired, &lab_converged(), PlanOptions::default());
        insta::assert_snapshot!(render(&p));
    }
}
