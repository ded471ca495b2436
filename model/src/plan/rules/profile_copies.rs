//! **A VCS member moves onto a frame that holds its same-name profile copy through VCS's
//! procedure.** VCS keeps an inactive LPAR with the member's name on every frame of the LPAR
//! resource's system list, and the HMC's validation refuses a move to a frame holding a
//! partition of the same name. For a member of a `manager: vcs` Cluster the move is planned as
//! the procedure: the copy on the target is renamed to `NAME_vcs`
//! ([`crate::profile_copy::set_aside_name`]), the partition is validated and migrated, then
//! its profile is restored on the source as an inactive copy (the "backup" is the profile
//! observed before the move: the migration takes the source's away) and the renamed copy is
//! removed from the target. Declaratively, a later plan that finds `NAME_vcs` on a frame while
//! the partition is still elsewhere retries the move when it is still wanted, and otherwise
//! renames the copy back. Without the Cluster, such a move is a plan error naming the copy and
//! the procedure: never a migration the HMC refuses.
//!
//! seeds: infoscale-lpm-vcs.txt, lines 111-120 ("LPM validation fails if it finds the profile
//! with same LPAR name on the destination managed physical system"; the procedure's four
//! steps).

use super::Planner;
use super::partitions::Existing;
use crate::action::Op;
use crate::manifest::{ClusterManager, Placement, RunState};
use crate::names::{FrameName, PartitionName, ProfileName};
use crate::placement::Eligibility;
use crate::plan::change::{ChangeKind, FieldChange, ObjectChange};
use crate::plan::step::Phase;
use crate::profile_copy::set_aside_name;
use crate::status::{LparState, Namesake};

/// What stands on a move's target under the partition's name, once the plan deals with it.
pub(super) struct Aside {
    /// The rename planned now; `None` when the copy was renamed by an earlier attempt.
    pub rename: Option<usize>,
}

impl Planner<'_, '_> {
    /// Whether `name` is a member of a `manager: vcs` Cluster: the manifests' consent to the
    /// procedure (VCS is what keeps the copies).
    fn vcs_member(&self, name: &PartitionName) -> bool {
        self.placer
            .cluster_of(name)
            .and_then(|(c, _)| self.desired.clusters.get(c))
            .is_some_and(|c| c.spec.manager == ClusterManager::Vcs)
    }

    /// The namesakes of `frame` called `name`.
    fn namesakes_on<'n>(&'n self, frame: &'n FrameName, name: &'n PartitionName) -> impl Iterator<Item = &'n Namesake> {
        self.observed.status.namesakes.iter().filter(move |n| &n.frame == frame && &n.name == name)
    }

    /// Before the move of `p`: the target's copy under the partition's name is renamed
    /// (`Some` with the step), or was renamed by an earlier attempt (`Some` without one);
    /// `None` when the target holds neither. An error when the move cannot be planned: a
    /// partition of the same name there that is no VCS copy, or no VCS to consent.
    pub(super) fn set_copy_aside(&mut self, p: &Existing<'_>, deps: &[usize]) -> Result<Option<Aside>, String> {
        let (name, target) = (p.name, &p.target);
        let aside = set_aside_name(name);
        let same: Vec<Namesake> = self.namesakes_on(target, name).cloned().collect();
        let renamed = self.namesakes_on(target, &aside).next().is_some();
        if same.is_empty() {
            return Ok(renamed.then_some(Aside { rename: None }));
        }
        let n = &same[0];
        let what = format!("{target} holds another LPAR named {name} (id {}, {})", n.lpar_id, n.state);
        let refused = "the HMC's validation refuses a move to a frame that has a partition of the same name (seed infoscale-lpm-vcs.txt, line 116)";
        let rename_cmd = format!("chsyscfg -r lpar -m {} -i \"name={name},new_name={aside}\"", target.word());
        if n.state != LparState::NotActivated || same.len() > 1 {
            return Err(format!(
                "{}: {what}, which is no inactive profile copy, and {refused}. Rename or remove it on {target} (`{rename_cmd}`), then plan again",
                p.object
            ));
        }
        if !self.vcs_member(name) {
            return Err(format!(
                "{}: {what}, and {refused}. Make {name} a member of a `manager: vcs` Cluster, whose same-name profile procedure the plan then runs (rename it to {aside} on {target}, migrate, restore the profile on {}, remove {aside}), or rename or remove it on {target} yourself (`{rename_cmd}`)",
                p.object, p.current
            ));
        }
        if renamed {
            return Err(format!(
                "{}: {what} and a renamed copy {aside} as well; remove one of them on {target} (`rmsyscfg -r lpar -m {} -n {}`), then plan again",
                p.object,
                target.word(),
                aside.word()
            ));
        }
        let i = self.push(
            Op::RenameProfileCopy { frame: target.clone(), name: name.clone(), new_name: aside.clone() },
            format!(
                "{}: VCS's profile copy on {target} has its name and would fail the move's validation; renamed to {aside} for the move",
                p.object
            ),
            deps.to_vec(),
            Phase::Move,
        );
        Ok(Some(Aside { rename: Some(i) }))
    }

    /// After the move of `p` (its migration step `migrated`): its profile, as observed before
    /// the move, is restored as an inactive copy on the frame it left, then the renamed copy is
    /// removed from the target.
    pub(super) fn restore_copy(&mut self, p: &Existing<'_>, migrated: usize) {
        let (name, source, target) = (p.name, &p.current, &p.target);
        let st = self.observed.status.partitions.get(name);
        let mut spec = p.observed.spec.clone();
        spec.placement = Placement::Frame(source.clone());
        spec.state = RunState::Stopped;
        spec.storage.clear();
        let paging_vios = st
            .and_then(|s| s.paging.as_ref())
            .map(|pg| [Some(pg.primary.clone()), pg.secondary.clone()].into_iter().flatten().collect())
            .unwrap_or_default();
        let profile = st.and_then(|s| s.profile.clone()).unwrap_or_else(ProfileName::hmc_default);
        let aside = set_aside_name(name);
        let restore = self.push(
            Op::RestoreProfileCopy {
                frame: source.clone(),
                partition: name.clone(),
                spec: Box::new(spec),
                paging_vios,
                profile,
            },
            format!(
                "{}: the migration took its profile from {source}; VCS needs a copy there, restored inactive from the profile observed before the move",
                p.object
            ),
            vec![migrated],
            Phase::Move,
        );
        self.push(
            Op::RemoveProfileCopy { frame: target.clone(), name: aside.clone() },
            format!("{}: the move is done; the copy set aside on {target} as {aside} is removed", p.object),
            vec![restore],
            Phase::Move,
        );
    }

    /// Copies set aside by a move that did not happen: renamed back when the move is no
    /// longer wanted (a move still wanted retries through [`Self::set_copy_aside`]); one
    /// beside its partition (the move done, its clean-up not) is reported with what to do.
    pub(super) fn profile_copies(&mut self) {
        let mut back: Vec<(PartitionName, Namesake)> = Vec::new();
        for (name, st) in &self.observed.status.partitions {
            if !self.vcs_member(name) {
                continue;
            }
            let aside = set_aside_name(name);
            for n in self.observed.status.namesakes.iter().filter(|n| n.name == aside) {
                if n.frame == st.frame {
                    self.warnings.push(format!(
                        "{}/{name}: {aside} on {} is the copy VCS's profile procedure set aside, and {name} runs there now: its move finished but the clean-up did not. Restore {name}'s profile on the frame it left and remove the copy (`rmsyscfg -r lpar -m {} -n {}`)",
                        crate::manifest::Kind::Partition,
                        n.frame,
                        n.frame.word(),
                        aside.word()
                    ));
                    continue;
                }
                let wanted = match self.assignment.get(name) {
                    Some(Eligibility::Placed(t)) => t == &n.frame,
                    Some(Eligibility::Unplaceable(rejected)) => rejected.iter().any(|(f, _)| f == &n.frame),
                    None => false,
                };
                if !wanted {
                    back.push((name.clone(), n.clone()));
                }
            }
        }
        for (name, n) in back {
            let object = format!("{}/{name}", crate::manifest::Kind::Partition);
            if self.namesakes_on(&n.frame, &name).next().is_some() {
                self.warnings.push(format!(
                    "{object}: {} on {} is the copy VCS's profile procedure set aside, and an LPAR named {name} is there as well: it is not renamed back; remove one of them",
                    n.name, n.frame
                ));
                continue;
            }
            self.push(
                Op::RenameProfileCopy { frame: n.frame.clone(), name: n.name.clone(), new_name: name.clone() },
                format!(
                    "{object}: its move to {} is no longer wanted; VCS's profile copy set aside there as {} takes its name back",
                    n.frame, n.name
                ),
                vec![],
                Phase::Move,
            );
            self.changes.push(ObjectChange {
                kind: ChangeKind::Drift,
                object,
                frame: Some(n.frame.to_string()),
                fields: vec![FieldChange {
                    path: "profileCopy".into(),
                    old: Some(n.name.to_string()),
                    new: Some(name.to_string()),
                }],
                observed: None,
                desired: None,
                note: "VCS's profile copy renamed back (seed infoscale-lpm-vcs.txt, line 120)".into(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::action::{Op, When};
    use crate::estate::Estate;
    use crate::plan::fixture::{frame, lab_converged, lab_desired_with, partition, render, replace};
    use crate::plan::{Plan, PlanOptions, apply, plan};
    use crate::status::{LparState, Namesake};
    use crate::{ActionKind as K, manifest::ClusterManager};

    /// The lab with bxaix85 (on js22_slot13) pinned to js22_slot14 when `moves`, a member of a
    /// Cluster of `manager` with p72_app01 when `manager` is given.
    fn desired(moves: bool, manager: Option<&'static str>) -> Estate {
        lab_desired_with(move |name, text| {
            let text = if moves {
                replace(
                    "js22.yaml",
                    "placement: {anyOf: [js22_slot13, js22_slot14]}",
                    "placement: {frame: js22_slot14}",
                )(name, text)
            } else {
                text.to_owned()
            };
            match manager.filter(|_| name == "js22.yaml") {
                Some(m) => format!(
                    "{text}\n---\napiVersion: powerplane/v1\nkind: Cluster\nmetadata: {{name: sap}}\nspec:\n  members: [bxaix85, p72_app01]\n  manager: {m}\n"
                ),
                None => text,
            }
        })
    }

    /// The converged lab, both members running VCS, and `copies` (name, frame, state) listed
    /// beside bxaix85.
    fn observed(copies: &[(&str, &str, LparState)]) -> Estate {
        let mut o = lab_converged();
        for m in ["bxaix85", "p72_app01"] {
            o.status.nodes.insert(
                partition(m),
                crate::status::NodeStatus {
                    cluster: "sap".parse().unwrap(),
                    manager: ClusterManager::Vcs,
                    peerinact_centis: Some(1600),
                    unmanaged: false,
                    maintenance: false,
                    online: Vec::new(),
                    failovers: Vec::new(),
                },
            );
        }
        for (i, (name, f, state)) in copies.iter().enumerate() {
            o.status.namesakes.push(Namesake {
                name: partition(name),
                frame: frame(f),
                lpar_id: 9 + i as u32,
                state: state.clone(),
            });
        }
        o
    }

    fn kinds(p: &Plan) -> Vec<K> {
        p.actions
            .iter()
            .map(|a| a.kind())
            .filter(|k| !matches!(k, K::RaisePeerInactive | K::RestorePeerInactive))
            .collect()
    }

    fn one(p: &Plan, kind: K) -> &crate::Action {
        let all: Vec<_> = p.actions.iter().filter(|a| a.kind() == kind).collect();
        assert_eq!(all.len(), 1, "{kind:?}: {}", render(p));
        all[0]
    }

    fn after(p: &Plan, later: K, earlier: K) -> bool {
        one(p, later).after.contains(&one(p, earlier).id)
    }

    /// A VCS member whose target holds its inactive same-name copy moves through the procedure:
    /// rename there, validate, migrate, restore the copy on the source, remove the renamed one;
    /// applied, the copy is on the source under the partition's name and the plan is empty.
    #[test]
    fn a_vcs_member_moves_through_the_same_name_profile_procedure() {
        let d = desired(true, Some("vcs"));
        let o = observed(&[("bxaix85", "js22_slot14", LparState::NotActivated)]);
        let p = plan(&d, &o, PlanOptions::default());
        assert!(p.errors.is_empty(), "{}", render(&p));
        assert_eq!(
            kinds(&p),
            [
                K::RenameProfileCopy,
                K::ValidateMigration,
                K::MigratePartition,
                K::RestoreProfileCopy,
                K::RemoveProfileCopy
            ],
            "{}",
            render(&p)
        );
        assert!(after(&p, K::ValidateMigration, K::RenameProfileCopy), "{}", render(&p));
        assert!(after(&p, K::RestoreProfileCopy, K::MigratePartition), "{}", render(&p));
        assert!(after(&p, K::RemoveProfileCopy, K::RestoreProfileCopy), "{}", render(&p));
        for k in [K::RestoreProfileCopy, K::RemoveProfileCopy] {
            assert_eq!(one(&p, k).when, When::Succeeded, "only after a move that succeeded");
        }
        assert_eq!(
            one(&p, K::RenameProfileCopy).op.command(),
            "chsyscfg -r lpar -m js22_slot14 -i \"name=bxaix85,new_name=bxaix85_vcs\""
        );
        assert_eq!(one(&p, K::RemoveProfileCopy).op.command(), "rmsyscfg -r lpar -m js22_slot14 -n bxaix85_vcs");
        let restore = one(&p, K::RestoreProfileCopy);
        let Op::RestoreProfileCopy { frame: f, spec, .. } = &restore.op else { unreachable!() };
        assert_eq!(f, &frame("js22_slot13"), "restored on the source");
        assert!(spec.storage.is_empty(), "no VIOS-side storage for a copy");
        let cmd = restore.op.command();
        assert!(cmd.starts_with("mksyscfg -r lpar -m js22_slot13 -i \"name=bxaix85,profile_name="), "{cmd}");
        assert!(cmd.contains("boot_mode=norm") && !cmd.contains("virtual_scsi_adapters"), "{cmd}");
        let done = apply(&o, &p.actions);
        assert_eq!(done.status.partitions[&partition("bxaix85")].frame, frame("js22_slot14"));
        let copies: Vec<_> = done.status.namesakes.iter().map(|n| (n.name.as_str(), n.frame.as_str())).collect();
        assert_eq!(copies, [("bxaix85", "js22_slot13")]);
        let again = plan(&d, &done, PlanOptions::default());
        assert!(again.is_empty(), "{}", render(&again));
    }

    /// A move that failed after the rename (the copy is `bxaix85_vcs` on the target, bxaix85
    /// still on the source) is retried: no second rename, then the same clean-up.
    #[test]
    fn a_move_that_failed_after_the_rename_is_retried() {
        let d = desired(true, Some("vcs"));
        let o = observed(&[("bxaix85_vcs", "js22_slot14", LparState::NotActivated)]);
        let p = plan(&d, &o, PlanOptions::default());
        assert_eq!(
            kinds(&p),
            [K::ValidateMigration, K::MigratePartition, K::RestoreProfileCopy, K::RemoveProfileCopy],
            "{}",
            render(&p)
        );
        let again = plan(&d, &apply(&o, &p.actions), PlanOptions::default());
        assert!(again.is_empty(), "{}", render(&again));
    }

    /// When the move is no longer wanted, the copy set aside takes its name back, and nothing
    /// else is planned.
    #[test]
    fn a_copy_set_aside_for_a_move_no_longer_wanted_is_renamed_back() {
        let d = desired(false, Some("vcs"));
        let o = observed(&[("bxaix85_vcs", "js22_slot14", LparState::NotActivated)]);
        let p = plan(&d, &o, PlanOptions::default());
        assert_eq!(kinds(&p), [K::RenameProfileCopy], "{}", render(&p));
        assert_eq!(
            p.actions[0].op.command(),
            "chsyscfg -r lpar -m js22_slot14 -i \"name=bxaix85_vcs,new_name=bxaix85\""
        );
        let done = apply(&o, &p.actions);
        assert_eq!(done.status.namesakes[0].name, partition("bxaix85"));
        let again = plan(&d, &done, PlanOptions::default());
        assert!(again.is_empty(), "{}", render(&again));
    }

    /// Without a VCS Cluster the manifests do not consent to the procedure: the move is a plan
    /// error naming the copy and the procedure, never a migration the HMC refuses. A running
    /// LPAR of the same name is no copy, VCS or not.
    #[test]
    fn a_move_onto_a_namesake_without_vcs_is_an_error() {
        for (d, state, says) in [
            (desired(true, None), LparState::NotActivated, "a member of a `manager: vcs` Cluster"),
            (desired(true, Some("powerha")), LparState::NotActivated, "a member of a `manager: vcs` Cluster"),
            (desired(true, Some("vcs")), LparState::Running, "which is no inactive profile copy"),
        ] {
            let o = observed(&[("bxaix85", "js22_slot14", state)]);
            let p = plan(&d, &o, PlanOptions::default());
            assert!(
                !p.actions
                    .iter()
                    .any(|a| matches!(a.kind(), K::ValidateMigration | K::MigratePartition | K::RenameProfileCopy)),
                "{}",
                render(&p)
            );
            let e = p.errors.iter().find(|e| e.contains("js22_slot14 holds another LPAR named bxaix85"));
            let e = e.unwrap_or_else(|| panic!("{}", render(&p)));
            assert!(e.contains(says), "{e}");
            assert!(e.contains("chsyscfg -r lpar -m js22_slot14 -i \"name=bxaix85,new_name=bxaix85_vcs\""), "{e}");
        }
    }

    /// A copy set aside beside its partition (the move done, the clean-up cut short): the
    /// frame it left is not observable, so the plan says what to do and changes nothing.
    #[test]
    fn a_copy_set_aside_beside_its_partition_is_reported() {
        let o = observed(&[("bxaix85_vcs", "js22_slot13", LparState::NotActivated)]);
        let p = plan(&desired(false, Some("vcs")), &o, PlanOptions::default());
        assert!(p.actions.is_empty() && p.errors.is_empty(), "{}", render(&p));
        assert!(
            p.warnings.iter().any(|w| w.contains("bxaix85_vcs on js22_slot13")
                && w.contains("rmsyscfg -r lpar -m js22_slot13 -n bxaix85_vcs")),
            "{:?}",
            p.warnings
        );
    }

    /// A copy on a frame the partition does not move to changes nothing.
    #[test]
    fn a_copy_elsewhere_changes_nothing() {
        let o = observed(&[("bxaix85", "js22_slot14", LparState::NotActivated)]);
        let p = plan(&desired(false, Some("vcs")), &o, PlanOptions::default());
        assert!(p.is_empty() && p.errors.is_empty(), "{}", render(&p));
    }
}
