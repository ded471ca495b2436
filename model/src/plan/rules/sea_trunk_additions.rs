//! **Trunk adapters are added to a running SEA live, on both VIOS, then bridged primary
//! first.** When the manifest appends trunks to an existing SEA, each VIOS gets the new virtual
//! ethernet adapters by DLPAR, configures them (`cfgdev`), and saves its current configuration
//! over its profile; then `chdev -attr virt_adapters=` is run on the primary's SEA and after it
//! on the backup's. The backup's `chdev` makes it ask for load sharing again, so the VLANs are
//! split anew over all the trunks. Anything else about an existing SEA (its real adapter,
//! control channel, primary, or trunks that are not appended) is still refused.
//!
//! seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, lines 1026-1106
//! ("Enhanced test scenario (adding additional trunk adapter dynamically to the SEA)": "create
//! additional trunk adapter on the vio server with dlpar", "add adapter to the profile", "run
//! cfgmgr (or cfgdev as padmin) on both vio server", "chdev -dev ent4 -attr
//! virt_adapters=ent1,ent2,ent5,ent6" on p72vio1, then on p72vio2), and lines 1108-1150 (the
//! new split: PRIMARY_SH `VID shared: 3 4 33 44 333`, BACKUP_SH `VID shared: 1 2 10 11 12
//! 13`).

use super::Planner;
use crate::action::Op;
use crate::estate::Sea;
use crate::names::{DeviceName, FrameName, ViosName};
use crate::plan::change::{ChangeKind, FieldChange};
use crate::plan::step::Phase;
use crate::status::{SeaHaMode, SeaMemberStatus};

impl Planner<'_, '_> {
    /// Plans the live addition of the trunks `desired` appends to `observed` (the trunks every
    /// member bridges). Returns `false`, planning nothing, when the difference is not such an
    /// addition.
    pub(super) fn sea_trunk_additions(
        &mut self,
        object: &str,
        frame: &FrameName,
        members: &[ViosName],
        observed: &Sea,
        desired: &Sea,
        status: &[SeaMemberStatus],
    ) -> bool {
        let (o, d) = (&observed.spec, &desired.spec);
        let appended = o.real_adapter == d.real_adapter
            && o.control_channel == d.control_channel
            && o.primary == d.primary
            && d.trunks.len() >= o.trunks.len()
            && d.trunks[..o.trunks.len()] == o.trunks[..];
        if !appended {
            return false;
        }
        let want: Vec<&DeviceName> = d.trunks.iter().map(|t| &t.adapter).collect();
        let sharing = SeaHaMode::from(d.ha_mode) == SeaHaMode::Sharing;
        // Per running member: its SEA device, the step after which it has every adapter, and
        // whether its SEA must be told its adapters.
        let mut prepared: Vec<(ViosName, DeviceName, Option<usize>, bool)> = Vec::new();
        if let Some(misnamed) = self.misnamed_trunks(frame, members, d, status) {
            self.errors.push(format!(
                "{object}: a trunk adapter added to a running SEA gets the name cfgdev gives it: {misnamed}; rename it in the manifest"
            ));
            return true;
        }
        let steps_before = self.steps.len();
        let mut fields = Vec::new();
        for (priority, v) in members.iter().enumerate() {
            let Some(m) = status.iter().find(|m| &m.vios == v) else {
                continue;
            };
            let bridged: Vec<&DeviceName> = if m.adapters.is_empty() {
                o.trunks.iter().map(|t| &t.adapter).collect()
            } else {
                m.adapters.iter().collect()
            };
            let stale = bridged != want;
            if self.vios_stopping.contains(&(frame.clone(), v.clone())) || !self.vios_running_after(frame, v) {
                // A VIOS that stays down is brought up to date when it runs again.
                continue;
            }
            let ready = self.vios_ready.get(&(frame.clone(), v.clone())).cloned().unwrap_or_default();
            if !self.vios_running_now(frame, v) && ready.is_empty() {
                continue;
            }
            if !stale && m.unsaved.is_empty() {
                prepared.push((v.clone(), m.device.clone(), None, false));
                continue;
            }
            let hw: Vec<&DeviceName> =
                self.observed_index.vios_hardware(frame, v).map(|h| h.ethernet.iter().collect()).unwrap_or_default();
            let missing: Vec<_> = d.trunks.iter().filter(|t| !hw.contains(&&t.adapter)).collect();
            // The seed's order: the adapters by DLPAR, the profile saved, then cfgdev. The
            // adapters are added one after the other, in manifest order: each takes the lowest
            // free slot, and cfgdev names them in slot order.
            let mut last = ready.clone();
            let mut prev_add: Option<usize> = None;
            for t in &missing {
                let op = Op::AddTrunkAdapter {
                    frame: frame.clone(),
                    vios: v.clone(),
                    trunk: (*t).clone(),
                    priority: priority as u8 + 1,
                };
                let why = format!("{object}: trunk {} ({}) added to {v} by DLPAR", t.adapter, vlan_list(t));
                let idx = self.push(op, why, ready.iter().copied().chain(prev_add).collect(), Phase::Configure);
                last.push(idx);
                prev_add = Some(idx);
            }
            if !missing.is_empty() || !m.unsaved.is_empty() {
                // The profile it runs with, as observed (issue 32 item 3).
                let profile = self.observed.status.vios_profile(frame, v);
                let op = Op::SaveProfile { frame: frame.clone(), vios: v.clone(), profile };
                let why = format!(
                    "{object}: {v}'s profile is overwritten with its current configuration, so that its next activation keeps the new trunk adapters"
                );
                last = vec![self.push(op, why, last, Phase::Configure)];
            }
            let configured = if missing.is_empty() {
                last.last().copied()
            } else {
                let op = Op::ConfigureDevices { frame: frame.clone(), vios: v.clone() };
                Some(self.push(
                    op,
                    format!("{object}: cfgdev on {v} configures the new trunk adapters"),
                    last,
                    Phase::Configure,
                ))
            };
            if stale {
                fields.push(FieldChange {
                    path: format!("{v}.virt_adapters"),
                    old: Some(join(&bridged)),
                    new: Some(join(&want)),
                });
            }
            prepared.push((v.clone(), m.device.clone(), configured, stale));
        }
        // The chdevs come after every VIOS has its adapters (seed steps 1-4 before step 5), the
        // primary's first. In load sharing the backup's chdev is what asks for the new split, so
        // it follows the primary's even when the backup already bridges the new trunks.
        let ready_all: Vec<usize> = prepared.iter().filter_map(|p| p.2).collect();
        let profile_steps = self.steps.len() > steps_before;
        let any_stale = prepared.iter().any(|p| p.3);
        let mut prev: Option<usize> = None;
        for (v, device, _, stale) in &prepared {
            let is_backup = members.get(1) == Some(v);
            if !(*stale || sharing && is_backup && any_stale) {
                continue;
            }
            let op = Op::SetSeaAdapters {
                frame: frame.clone(),
                vios: v.clone(),
                device: device.clone(),
                trunks: d.trunks.clone(),
            };
            let role = if members.first() == Some(v) {
                "(primary first)"
            } else if sharing {
                "(backup after the primary: it asks again for load sharing, which splits the VLANs over every trunk)"
            } else {
                "(backup after the primary)"
            };
            let ready = self.vios_ready.get(&(frame.clone(), v.clone())).cloned().unwrap_or_default();
            let deps = ready_all.iter().copied().chain(ready).chain(prev).collect();
            let idx =
                self.push(op, format!("{object}: virt_adapters={} on {v} {role}", join(&want)), deps, Phase::Configure);
            self.frame_config.entry(frame.clone()).or_default().push(idx);
            self.vios_ready.entry((frame.clone(), v.clone())).or_default().push(idx);
            prev = Some(idx);
        }
        if !fields.is_empty() || profile_steps {
            let note = if fields.is_empty() { "a VIOS profile lacks trunk adapters added by DLPAR" } else { "" };
            self.change(ChangeKind::Update, object.to_owned(), Some(frame), fields, note);
        }
        true
    }
}

impl Planner<'_, '_> {
    /// The new trunks whose names are not the ones `cfgdev` will give them on some member:
    /// the next free `entN`s after its adapters and its SEA device (ent5 and ent6 after ent4 in
    /// the seed, line 1096), in manifest order.
    fn misnamed_trunks(
        &self,
        frame: &FrameName,
        members: &[ViosName],
        d: &crate::manifest::SeaSpec,
        status: &[SeaMemberStatus],
    ) -> Option<String> {
        let mut misnamed = Vec::new();
        for v in members {
            let Some(m) = status.iter().find(|m| &m.vios == v) else { continue };
            let hw: Vec<&DeviceName> =
                self.observed_index.vios_hardware(frame, v).map(|h| h.ethernet.iter().collect()).unwrap_or_default();
            let first = DeviceName::next_ent(hw.iter().copied().chain([&m.device]));
            let missing = d.trunks.iter().filter(|t| !hw.contains(&&t.adapter));
            misnamed.extend(
                (first..)
                    .zip(missing)
                    .filter(|(n, t)| t.adapter.ent_number() != Some(*n))
                    .map(|(n, t)| format!("{} (cfgdev on {v} names it ent{n})", t.adapter)),
            );
        }
        (!misnamed.is_empty()).then(|| misnamed.join(", "))
    }
}

fn join(v: &[&DeviceName]) -> String {
    v.iter().map(|d| d.as_str()).collect::<Vec<_>>().join(",")
}

fn vlan_list(t: &crate::manifest::TrunkSpec) -> String {
    let tagged: Vec<String> = t.vlans.iter().map(ToString::to_string).collect();
    if tagged.is_empty() { format!("pvid {}", t.pvid) } else { format!("pvid {}, VLANs {}", t.pvid, tagged.join(" ")) }
}

#[cfg(test)]
mod tests {
    use crate::plan::fixture::{lab_converged, lab_desired_with, render, render_status, replace};
    use crate::plan::{PlanOptions, apply, plan};

    const TWO: &str = "    - {adapter: ent2, pvid: 2, vlans: [12, 13]}\n";
    const FOUR: &str = "    - {adapter: ent2, pvid: 2, vlans: [12, 13]}\n    - {adapter: ent5, pvid: 3, vlans: [33]}\n    - {adapter: ent6, pvid: 4, vlans: [44, 333]}\n";

    /// The seed's enhanced scenario on the converged lab: both VIOS get ent5 and ent6 by DLPAR,
    /// cfgdev and a saved profile, then virt_adapters on p72vio1 and after it on p72vio2; the
    /// model's result needs no further step.
    #[test]
    fn appended_trunks_are_added_live_primary_first() {
        let observed = lab_converged();
        let desired = lab_desired_with(replace("p72.yaml", TWO, FOUR));
        let p = plan(&desired, &observed, PlanOptions::default());
        insta::assert_snapshot!(render(&p));
        let done = apply(&observed, &p.actions);
        let again = plan(&desired, &done, PlanOptions::default());
        assert!(again.actions.is_empty() && again.errors.is_empty(), "{}", render(&again));
        insta::assert_snapshot!("after", render_status(&done));
    }

    /// A new trunk named other than cfgdev will name it is refused with the name to use.
    #[test]
    fn a_trunk_named_unlike_cfgdev_is_refused() {
        let misnamed = "    - {adapter: ent2, pvid: 2, vlans: [12, 13]}\n    - {adapter: ent9, pvid: 3, vlans: [33]}\n";
        let p = plan(&lab_desired_with(replace("p72.yaml", TWO, misnamed)), &lab_converged(), PlanOptions::default());
        assert!(p.actions.is_empty());
        insta::assert_snapshot!(p.errors.join("\n"));
    }

    /// Trunks that are not appended (a changed VLAN) are still refused.
    #[test]
    fn changing_an_existing_trunk_is_still_refused() {
        let changed = "    - {adapter: ent2, pvid: 2, vlans: [12, 14]}\n";
        let p = plan(&lab_desired_with(replace("p72.yaml", TWO, changed)), &lab_converged(), PlanOptions::default());
        insta::assert_snapshot!(p.errors.join("\n"));
    }
}
