//! A SCSI reserve on the move's target: a VIOS of the target frame sees a LUN of the partition
//! only with `reserve_policy` other than `no_reserve`, and the HMC's validation fails with
//! HSCLA356 ("destination VIOS partition … cannot host the virtual adapter"). With
//! `setNoReserve` in the settings, the seed's remedy runs first on each such VIOS whose disk no
//! client maps there: `chdev -dev hdiskN -attr reserve_policy=no_reserve`.
//!
//! seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, lines 465-468 (the
//! `lsdev`/`chdev` pair), 1613-1621 (HSCLA356) and 1673 ("Also make sure disks are not
//! reserved"). Without the setting the target is not eligible (`Ineligible::LunReserved`), and
//! the validation error names the command to run by hand.

use super::Planner;
use super::partitions::Existing;
use crate::action::Op;
use crate::manifest::ReservePolicy;
use crate::names::FrameName;
use crate::plan::step::Phase;

impl Planner<'_, '_> {
    /// The steps that lift the reserves a move of `p` to `target` needs, each disk's once per
    /// plan (two partitions of one LUN share it). Empty unless the settings allow it.
    pub(super) fn lift_reserves(&mut self, p: &Existing<'_>, target: &FrameName) -> Vec<usize> {
        if !self.desired.set_no_reserve() {
            return Vec::new();
        }
        let mut steps = Vec::new();
        for s in &p.desired.spec.storage {
            let disks: Vec<_> = self
                .observed_index
                .disks_with_lun(target, &s.lun)
                .iter()
                .filter(|(_, d)| d.reserve_policy != ReservePolicy::NoReserve)
                .map(|(v, d)| ((*v).clone(), d.name.clone()))
                .collect();
            for (vios, disk) in disks {
                if self.observed.status.lun_mapped(target, &vios, &s.lun)
                    || !(self.vios_running_now(target, &vios) || self.vios_running_after(target, &vios))
                {
                    continue;
                }
                let key = (target.clone(), vios.clone(), disk.clone());
                if let Some(&i) = self.reserves_lifted.get(&key) {
                    steps.push(i);
                    continue;
                }
                let mut deps = self.config_deps(target);
                deps.extend(self.vios_ready.get(&(target.clone(), vios.clone())).into_iter().flatten().copied());
                let i = self.push(
                    Op::SetDiskNoReserve { frame: target.clone(), vios: vios.clone(), disk: disk.clone(), lun: s.lun.clone() },
                    format!(
                        "{}: LUN {} is reserved on {vios} of {target} ({disk}), which would refuse the move (HSCLA356); the settings allow lifting it (setNoReserve)",
                        p.object, s.lun
                    ),
                    deps,
                    Phase::Move,
                );
                self.reserves_lifted.insert(key, i);
                steps.push(i);
            }
        }
        steps
    }
}

#[cfg(test)]
mod tests {
    use crate::estate::Estate;
    use crate::manifest::ReservePolicy;
    use crate::plan::fixture::{frame, lab_converged, lab_desired_with, render};
    use crate::plan::{PlanOptions, apply, plan};
    use crate::storage::ViosStorage;
    use crate::{ActionKind, Op};

    const SETTINGS: &str =
        "---\napiVersion: powerplane/v1\nkind: Settings\nmetadata: {name: lab}\nspec: {setNoReserve: true}\n";

    /// bxaix85 pinned to the second blade, with or without `setNoReserve`.
    fn pinned(lift: bool) -> Estate {
        lab_desired_with(|name, text| {
            if name != "js22.yaml" {
                return text.to_owned();
            }
            let text =
                text.replacen("placement: {anyOf: [js22_slot13, js22_slot14]}", "placement: {frame: js22_slot14}", 1);
            if lift { format!("{text}{SETTINGS}") } else { text }
        })
    }

    /// The converged lab whose second blade's VIOS sees bxaix85's rootvg LUN with a single-path
    /// reserve, and reports its storage (nothing mapped there), or maps the LUN to `mapped_to`.
    fn reserved(mapped: bool) -> Estate {
        let mut e = lab_converged();
        let blade = frame("js22_slot14");
        let hw = &mut e.hardware.get_mut(&blade).unwrap().spec;
        let vios = hw.vios[0].name.clone();
        let disk = hw.vios[0].disks.iter_mut().find(|d| d.lun.as_str() == "75DS81001000").unwrap();
        disk.reserve_policy = ReservePolicy::SinglePath;
        let mut vs = ViosStorage::default();
        if mapped {
            vs.adapters.push(crate::storage::ServerAdapter {
                via: crate::manifest::StorageVia::Vscsi,
                slot: 100,
                device: Some("vhost0".parse().unwrap()),
                client: "other".parse().unwrap(),
                client_slot: 10,
                luns: vec!["75DS81001000".parse().unwrap()],
                fc_port: None,
            });
        }
        e.status.vios_storage.insert(blade, [(vios, vs)].into());
        e
    }

    /// With the setting, the reserve is lifted on the target VIOS before the validation, and
    /// the move then converges.
    #[test]
    fn a_reserved_lun_on_the_target_is_lifted_before_the_move() {
        let observed = reserved(false);
        let p = plan(&pinned(true), &observed, PlanOptions::default());
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let chdev = p
            .actions
            .iter()
            .find(|a| a.kind() == ActionKind::SetDiskNoReserve)
            .unwrap_or_else(|| panic!("{}", render(&p)));
        assert!(
            chdev.op.command().ends_with("-c \"chdev -dev hdisk1 -attr reserve_policy=no_reserve\"")
                && chdev.op.command().starts_with("viosvrcmd -m js22_slot14 -p "),
            "{}",
            chdev.op.command()
        );
        let validate = p.actions.iter().find(|a| matches!(a.op, Op::ValidateMigration { .. })).unwrap();
        assert!(validate.after.contains(&chdev.id), "the validation waits for the chdev: {}", render(&p));
        let done = apply(&observed, &p.actions);
        assert!(plan(&pinned(true), &done, PlanOptions::default()).actions.is_empty());
    }

    /// Without the setting the target is not eligible and the error says how to lift the
    /// reserve by hand; with it, a disk mapped to a client there is not touched (`chdev`
    /// would need `-perm` and a reboot), so the target stays ineligible.
    #[test]
    fn a_reserve_is_not_lifted_without_the_setting_or_on_a_disk_in_use() {
        for (lift, mapped) in [(false, false), (true, true)] {
            let p = plan(&pinned(lift), &reserved(mapped), PlanOptions::default());
            assert!(p.actions.iter().all(|a| a.kind() != ActionKind::SetDiskNoReserve), "{}", render(&p));
            assert!(p.actions.iter().all(|a| a.kind() != ActionKind::MigratePartition), "{}", render(&p));
            assert!(
                p.errors.iter().any(|e| e.contains("75DS81001000") && e.contains("reserve")),
                "lift {lift}, mapped {mapped}: {:?}",
                p.errors
            );
        }
    }
}
