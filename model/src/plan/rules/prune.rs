//! **What no manifest describes is reported, and deleted only with prune.** An observed partition
//! without a manifest is listed as unmanaged and left alone, unless prune is on; then it is
//! stopped and deleted, but only on frames a `Frame` manifest describes, and never when the
//! desired state has no partition at all unless `allowEmpty` says so (a directory that lost its
//! files must not empty the estate). Deletions run last.
//!
//! DESIGN §10 (an empty desired state never prunes).

use super::Planner;
use crate::action::Op;
use crate::manifest::Kind;
use crate::plan::change::{ChangeKind, ObjectChange};
use crate::plan::step::{Phase, demand};
use crate::yaml::to_yaml;

impl Planner<'_, '_> {
    /// Observed partitions no manifest describes: reported, deleted only with `prune`.
    /// Observed partitions no manifest describes: reported and left alone, or — with
    /// `prune` — stopped and deleted, but only on frames a `Frame` manifest describes, and
    /// never when the desired state has no partition at all unless `allowEmpty` says so
    /// (DESIGN §10: an empty desired state never prunes).
    pub(super) fn unmanaged_partitions(&mut self) {
        let empty = self.desired.partitions.is_empty() && !self.desired.allow_empty();
        if self.opts.prune && empty && self.observed.partitions.keys().any(|n| !self.desired.partitions.contains_key(n))
        {
            self.warnings.push(
                "prune is on but the manifests describe no partition: nothing is deleted (a directory that lost its partition files must not empty the estate); set `allowEmpty: true` in the Settings if that is what you want".into(),
            );
        }
        for (name, p) in &self.observed.partitions {
            if self.desired.partitions.contains_key(name) {
                continue;
            }
            let st = self.observed.status.partitions.get(name);
            let frame = st.map(|s| s.frame.clone());
            let object = format!("{}/{name}", Kind::Partition);
            let managed_frame = frame.as_ref().is_some_and(|f| self.desired.frames.contains_key(f));
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
            if let Some(s) = st.filter(|s| s.state.is_running()) {
                // No manifest says how it may be shut down: only through its operating system.
                let state = s.state.clone();
                let Some(how) = self.shutdown_method(&object, name, &state, Default::default()) else {
                    continue;
                };
                let i = self.push(
                    Op::StopPartition { frame: frame.clone(), partition: name.clone(), how },
                    format!("{object} is not in the manifests (prune): stop it"),
                    vec![],
                    Phase::Free,
                );
                self.steps[i].frees = demand(&p.spec, &frame);
                deps.push(i);
            }
            // Unmapped and its server adapters removed first (`super::storage`).
            let storage = self.storage_teardown(&object, name, &frame, &deps);
            deps.extend(storage);
            self.push(
                Op::DeletePartition { frame: frame.clone(), partition: name.clone() },
                format!("{object} is not in the manifests (prune)"),
                deps,
                Phase::Delete,
            );
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

#[cfg(test)]
mod tests {
    use crate::plan::fixture::{lab_converged, lab_desired_with, render};
    use crate::plan::{PlanOptions, plan};

    /// The lab without the p72 partition's manifest: reported and left alone; with prune,
    /// stopped and deleted last; with no partition described at all, nothing is deleted.
    #[test]
    fn unmanaged_partitions_are_deleted_only_with_prune() {
        let observed = lab_converged();
        let without = lab_desired_with(|name, text| {
            if name == "p72.yaml" {
                text[..text.rfind("---\n# Invented: an application").unwrap()].to_owned()
            } else {
                text.to_owned()
            }
        });
        insta::assert_snapshot!(render(&plan(&without, &observed, PlanOptions::default())));
        insta::assert_snapshot!(render(&plan(&without, &observed, PlanOptions { prune: true, ..Default::default() })));
        let none = lab_desired_with(|_, text| {
            text.split("---\n").filter(|d| !d.contains("kind: Partition")).collect::<Vec<_>>().join("---\n")
        });
        insta::assert_snapshot!(render(&plan(&none, &observed, PlanOptions { prune: true, ..Default::default() })));
    }
}
