//! **SEA changes go to the primary VIOS first.** A missing SEA is created on the primary (trunk
//! priority 1), then on the backup; an `ha_mode` change is made on the primary's SEA, then on the
//! backup's, because the backup asks for load sharing. Two SEAs in sharing mode that do not
//! share are restarted with a `chdev` on the backup. A SEA left in standby by a failover is set
//! back. Trunks appended to an existing SEA are added live ([`super::sea_trunk_additions`]);
//! any other change of its adapters is refused: it interrupts the network.
//!
//! seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, line 858: "This value
//! must be set on primary SEA first before it is set for the backup SEA, because the backup SEA
//! initiates the request for load sharing. If this sequence is not followed ... then a chdev
//! must occur on the backup SEA"; line 1202: "you have to change ha_mode on the primary SEA
//! first before changing ha_mode on the backup SEA."

use super::Planner;
use crate::action::Op;
use crate::manifest::Kind;
use crate::names::{FrameName, ViosName};
use crate::plan::change::{ChangeKind, FieldChange, field_changes};
use crate::plan::step::Phase;
use crate::status::{SeaHaMode, SeaMemberStatus, SeaState};
use crate::yaml::leaves;

impl Planner<'_, '_> {
    /// SEA creation and `ha_mode` changes, the primary VIOS's SEA first.
    // seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, "Switching to auto or
    // to load sharing, you have to change ha_mode on the primary SEA first before changing
    // ha_mode on the backup SEA."
    pub(super) fn seas(&mut self) {
        for s in self.desired.seas.values() {
            let Some(pair) = self.desired.vios_pairs.get(&s.spec.vios_pair) else {
                continue;
            };
            let frame = pair.spec.frame.clone();
            let object = format!("{}/{}", Kind::SharedEthernetAdapter, s.metadata.name);
            let mut members: Vec<ViosName> = pair.spec.members.iter().map(|m| m.name.clone()).collect();
            members.sort_by_key(|m| *m != s.spec.primary);
            let observed = self
                .observed_index
                .pairs_on(&frame)
                .iter()
                .flat_map(|p| self.observed_index.seas_of(&p.metadata.name))
                .next()
                .copied();
            match observed {
                None => {
                    let missing: Vec<(usize, ViosName)> = members.iter().cloned().enumerate().collect();
                    if self.create_members(&object, &frame, s, &missing, true, None).0 {
                        self.change(ChangeKind::Create, object, Some(&frame), field_changes(&[], &leaves(&s.spec)), "");
                    } else {
                        self.errors.push(format!("{object}: the SEA cannot be created: no VIOS of its pair runs or is started by this plan; start one (state: running)"));
                    }
                }
                Some(obs) => {
                    let status: Vec<SeaMemberStatus> =
                        self.observed.status.seas.get(&obs.metadata.name).cloned().unwrap_or_default();
                    if !self.sea_trunk_additions(&object, &frame, &members, obs, s, &status) {
                        let fields = field_changes(&leaves(&without_mode(&obs.spec)), &leaves(&without_mode(&s.spec)));
                        let list: Vec<String> = fields.iter().map(|f| f.path.clone()).collect();
                        self.errors.push(format!(
                            "{object}: changing {} of an existing SEA is not planned (it interrupts the network; trunks can only be appended live); recreate the SEA in a maintenance window",
                            list.join(", ")
                        ));
                        continue;
                    }
                    // A member whose SEA is missing on a VIOS that runs (its creation failed,
                    // or the VIOS was down when the other one's was made) gets it, with its
                    // trunk priority, in the pair's order with the mode changes (the primary
                    // first); only when the backend reports the members at all.
                    let missing: Vec<(usize, ViosName)> = members
                        .iter()
                        .cloned()
                        .enumerate()
                        .filter(|(_, v)| !status.is_empty() && !status.iter().any(|m| &m.vios == v))
                        .filter(|(_, v)| self.vios_running_now(&frame, v))
                        .collect();
                    self.sea_modes(&object, &frame, &members, &status, s, &missing);
                }
            }
        }
    }

    /// Creates the SEA on each of `members` (with its index in the pair, primary first) that
    /// runs or that this plan starts, one after the other. A member that stays down by the
    /// manifests (or that this plan stops) is left: its SEA is made when it runs again. One
    /// that should run but is neither running nor started here (still activating) is deferred.
    /// `whole`: no member has the SEA yet; `after`: the step the first creation waits for.
    /// Returns whether anything was created or deferred, and the last creation.
    fn create_members(
        &mut self,
        object: &str,
        frame: &FrameName,
        s: &crate::estate::Sea,
        members: &[(usize, ViosName)],
        whole: bool,
        after: Option<usize>,
    ) -> (bool, Option<usize>) {
        let want = SeaHaMode::from(s.spec.ha_mode);
        let mut prev = after;
        let mut any = false;
        for (i, v) in members {
            let key = (frame.clone(), v.clone());
            let ready = self.vios_ready.get(&key).cloned().unwrap_or_default();
            if self.vios_stopping.contains(&key) || !self.vios_running_after(frame, v) {
                self.warnings.push(format!(
                    "{object}: not created on {v}, which stays down by the manifests (or this plan stops it); it is created there once {v} runs"
                ));
                continue;
            }
            if !self.vios_running_now(frame, v) && ready.is_empty() {
                self.deferred.push(format!("{object}: created on {v} once it runs (it is not running with RMC now)"));
                any = true;
                continue;
            }
            let op = Op::CreateSea {
                frame: frame.clone(),
                vios: v.clone(),
                real_adapter: s.spec.real_adapter.clone(),
                trunks: s.spec.trunks.clone(),
                control_channel: s.spec.control_channel.clone(),
                ha_mode: want,
                priority: *i as u8 + 1,
            };
            let role = if *i == 0 { "primary (trunk priority 1) first" } else { "backup after the primary" };
            let idx = self.push(
                op,
                if whole {
                    format!("{object} does not exist: create it on the {role}")
                } else {
                    format!("{object}: its SEA is missing on {v}, which runs: create it there, the {role}")
                },
                ready.into_iter().chain(prev).collect(),
                Phase::Configure,
            );
            self.frame_config.entry(frame.clone()).or_default().push(idx);
            self.sea_created.insert(key, idx);
            prev = Some(idx);
            any = true;
        }
        (any, prev)
    }

    fn sea_modes(
        &mut self,
        object: &str,
        frame: &FrameName,
        members: &[ViosName],
        status: &[SeaMemberStatus],
        sea: &crate::estate::Sea,
        missing: &[(usize, ViosName)],
    ) {
        let want = SeaHaMode::from(sea.spec.ha_mode);
        let mut prev: Option<usize> = None;
        let mut changed: Vec<ViosName> = Vec::new();
        let mut fields = Vec::new();
        let mut note = String::new();
        let mut created = false;
        for v in members {
            let Some(m) = status.iter().find(|m| &m.vios == v) else {
                if let Some(entry) = missing.iter().find(|(_, x)| x == v) {
                    let (made, last) =
                        self.create_members(object, frame, sea, std::slice::from_ref(entry), false, prev);
                    if made {
                        created = true;
                        fields.push(FieldChange {
                            path: format!("{v}.sea"),
                            old: Some("missing".into()),
                            new: Some("created".into()),
                        });
                    }
                    prev = last.or(prev);
                }
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
            let idx =
                self.push(op, format!("{object}: {why}"), ready.into_iter().chain(prev).collect(), Phase::Configure);
            self.frame_config.entry(frame.clone()).or_default().push(idx);
            self.vios_ready.entry((frame.clone(), v.clone())).or_default().push(idx);
            fields.push(FieldChange {
                path: format!("{v}.ha_mode"),
                old: Some(m.ha_mode.to_string()),
                new: Some(want.to_string()),
            });
            prev = Some(idx);
            changed.push(v.clone());
        }
        // The primary's SEA set to sharing while the backup's stays as it is (already sharing,
        // e.g. after a failover of the primary to standby for VIOS maintenance): the backup
        // asks for load sharing only when its own ha_mode is set, so it is set again after the
        // primary's, in the same plan.
        // seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, line 858: "If this
        // sequence is not followed (means not activated on the primary first), then a chdev
        // must occur on the backup SEA for Load sharing to work."
        if want == SeaHaMode::Sharing
            && let (Some(primary), Some(backup)) = (members.first(), members.get(1))
            && changed.contains(primary)
            && !changed.contains(backup)
            && let Some(b) = status.iter().find(|m| &m.vios == backup)
            && b.ha_mode == SeaHaMode::Sharing
            && self.vios_running_after(frame, backup)
            && !self.vios_stopping.contains(&(frame.clone(), backup.clone()))
        {
            let op =
                Op::SetSeaHaMode { frame: frame.clone(), vios: backup.clone(), device: b.device.clone(), mode: want };
            let ready = self.vios_ready.get(&(frame.clone(), backup.clone())).cloned().unwrap_or_default();
            let idx = self.push(
                op,
                format!("{object}: a chdev on the backup {backup} after the primary's restarts load sharing (the backup asks for it)"),
                ready.into_iter().chain(prev).collect(),
                Phase::Configure,
            );
            self.frame_config.entry(frame.clone()).or_default().push(idx);
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
            let idx = self.push(op, format!("{object}: both SEAs are in sharing mode but not load sharing; a chdev on the backup restarts the negotiation"), vec![], Phase::Configure);
            self.frame_config.entry(frame.clone()).or_default().push(idx);
            note = "load sharing not negotiated".into();
        }
        if !fields.is_empty() || !note.is_empty() {
            let kind = if created || status.iter().any(|m| m.ha_mode == SeaHaMode::Standby) || !note.is_empty() {
                ChangeKind::Drift
            } else {
                ChangeKind::Update
            };
            self.change(kind, object.to_owned(), Some(frame), fields, note);
        }
    }
}

fn without_mode(s: &crate::manifest::SeaSpec) -> crate::manifest::SeaSpec {
    let mut s = s.clone();
    s.ha_mode = crate::manifest::HaMode::Auto;
    s
}

#[cfg(test)]
mod tests {
    use crate::action::Op;
    use crate::estate::Estate;
    use crate::plan::fixture::{frame, lab_converged, lab_desired, lab_desired_with, lab_observed, render, replace};
    use crate::plan::{PlanOptions, apply, plan};

    /// The p72 SEA's creations in `p`, as (VIOS, trunk priority).
    fn creations(p: &crate::Plan) -> Vec<(String, u8)> {
        p.actions
            .iter()
            .filter_map(|a| match &a.op {
                Op::CreateSea { frame: f, vios, priority, .. } if f == &frame("p72") => {
                    Some((vios.to_string(), *priority))
                }
                _ => None,
            })
            .collect()
    }

    /// The lab converged without the p72 SEA, or with only its primary's member.
    fn without_sea(keep_primary: bool) -> Estate {
        let mut e = lab_converged();
        let name: crate::names::SeaName = "p72-sea".parse().unwrap();
        if keep_primary {
            e.status.seas.get_mut(&name).unwrap().retain(|m| m.vios.as_str() == "p72vio1");
        } else {
            e.seas.remove(&name);
            e.status.seas.remove(&name);
        }
        e
    }

    /// A SEA made in the plan that stops its backup VIOS: created on the primary only (the
    /// soak found the backup's `mkvdev -sea` racing the VIOS's shutdown, and failing with
    /// every partition behind it); the backup's comes when that VIOS runs again.
    #[test]
    fn no_sea_is_created_on_a_vios_the_plan_stops() {
        let stopped =
            lab_desired_with(replace("p72.yaml", "{name: p72vio2, state: running}", "{name: p72vio2, state: stopped}"));
        let p = plan(&stopped, &without_sea(false), PlanOptions::default());
        assert_eq!(creations(&p), [("p72vio1".to_owned(), 1)], "{:?}", p.errors);
        assert!(p.actions.iter().any(|a| matches!(&a.op, Op::StopVios { vios, .. } if vios.as_str() == "p72vio2")));
        assert!(p.warnings.iter().any(|w| w.contains("not created on p72vio2")), "{:?}", p.warnings);
    }

    /// The backup's SEA missing while the manifests switch the pair to load sharing: the
    /// primary's `ha_mode` changes first and the backup's SEA is created after it, already in
    /// sharing (the soak found the backup's creation in sharing mode racing ahead of the
    /// primary's chdev).
    #[test]
    fn a_missing_backup_sea_is_created_after_the_primarys_mode_change() {
        let mut half = lab_observed();
        half.status
            .seas
            .get_mut(&"p72-sea".parse::<crate::names::SeaName>().unwrap())
            .unwrap()
            .retain(|m| m.vios.as_str() == "p72vio1");
        let p = plan(&lab_desired(), &half, PlanOptions::default());
        assert_eq!(creations(&p), [("p72vio2".to_owned(), 2)], "{:?}", p.errors);
        let find = |f: &dyn Fn(&Op) -> bool| p.actions.iter().find(|a| f(&a.op)).unwrap().id.clone();
        let mode = find(&|o| matches!(o, Op::SetSeaHaMode { vios, .. } if vios.as_str() == "p72vio1"));
        let create = find(&|o| matches!(o, Op::CreateSea { vios, .. } if vios.as_str() == "p72vio2"));
        assert!(crate::plan::fixture::waits_for(&p.actions, &create, &mode), "{:#?}", p.actions);
        assert!(
            p.changes.iter().any(
                |c| c.object == "SharedEthernetAdapter/p72-sea" && c.fields.iter().any(|f| f.path == "p72vio2.sea")
            ),
            "{:#?}",
            p.changes
        );
    }

    /// A pair whose backup lacks its SEA (its creation failed) while the VIOS runs: the plan
    /// creates it there with the backup's trunk priority, and then nothing is left.
    #[test]
    fn a_missing_member_sea_is_created_on_a_running_vios() {
        let half = without_sea(true);
        let p = plan(&lab_desired(), &half, PlanOptions::default());
        assert_eq!(creations(&p), [("p72vio2".to_owned(), 2)], "{:?}", p.errors);
        assert!(plan(&lab_desired(), &lab_converged(), PlanOptions::default()).is_empty());
        let done = apply(&half, &p.actions);
        assert!(creations(&plan(&lab_desired(), &done, PlanOptions::default())).is_empty());
    }

    /// The lab's p72 SEA pair is in `auto` and the manifests ask for load sharing: the primary's
    /// SEA changes first, the backup's after it.
    #[test]
    fn sharing_is_set_on_the_primary_first() {
        let p = plan(&lab_desired(), &lab_observed(), PlanOptions::default());
        insta::assert_snapshot!(render(&p));
    }
}
