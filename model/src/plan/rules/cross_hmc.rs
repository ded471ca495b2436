//! **A move is planned as the HMCs and the partition allow it.** A partition moved to a frame
//! another HMC manages is migrated by the source frame's HMC naming the destination's (`--ip
//! HMC -u USER`), and waits, deferred with the command that fixes it, while the source HMC's
//! SSH key is not authorized on the destination HMC (HSCL3653; `mkauthkeys -g`). The paging
//! redundancy option is spelt as the source HMC's version takes it. A partition with physical
//! I/O slots is not moved at all, nor one whose multipath I/O through two Virtual I/O Servers
//! the target cannot replicate (HSCLA340): the plan says why and what to do, before anything
//! starts.
//!
//! Sources: [`crate::console`] (the HMCs: seeds powervm-quickstart..., lines 1504-1543; IBM's
//! `migrlpar` man pages; IBM/ansible-power-hmc `powervm_lpar_migration.py`);
//! [`crate::physical_io`] (seeds lpm-js22-walkthrough.txt lines 31 and 48, powervm-quickstart...
//! line 1434); HSCLA340: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, lines
//! 1741-1782 ("If the partition you are trying to migrate is having MPIO with dual VIOS setup,
//! and the target having dual VIOS but not set up properly for MPIO").

use super::Planner;
use crate::console::{KeysMissing, RedundancyOption, RemoteHmc};
use crate::manifest::{ReservePolicy, StorageVia};
use crate::names::{FrameName, Lun, PartitionName};

impl Planner<'_, '_> {
    /// `--ip`/`-u` of a move from `from` to `to`, or why it waits for the HMCs' keys.
    pub(super) fn remote_hmc(&self, from: &FrameName, to: &FrameName) -> Result<Option<RemoteHmc>, KeysMissing> {
        self.observed.status.consoles.remote(from, to)
    }

    /// How the HMC managing `from` spells the paging redundancy option.
    pub(super) fn redundancy_spelling(&self, from: &FrameName) -> RedundancyOption {
        RedundancyOption::for_version(self.observed.status.consoles.version_for(from))
    }

    /// Why `name` cannot be migrated at all as it is configured: physical I/O slots, or
    /// multipath I/O through two VIOS that `to` cannot replicate. `None` when neither.
    pub(super) fn unmovable(
        &self,
        object: &str,
        name: &PartitionName,
        from: &FrameName,
        to: &FrameName,
    ) -> Option<String> {
        let st = self.observed.status.partitions.get(name)?;
        if !st.io_slots.is_empty() {
            let slots: Vec<String> = st.io_slots.iter().map(ToString::to_string).collect();
            return Some(format!(
                "{object} has physical I/O slots ({}): a partition with physical adapters cannot be migrated (the HMC's validation checks \"there are no dedicated physical adapters assigned to the LPAR\"; no public source records the HSCL code it prints). Move its I/O to virtual adapters served by the VIOS and remove the slots from the partition and its profile, or keep it on {from}",
                slots.join(", ")
            ));
        }
        let p = self.observed.partitions.get(name)?;
        let vscsi: Vec<&Lun> = p.spec.storage.iter().filter(|s| s.via == StorageVia::Vscsi).map(|s| &s.lun).collect();
        let single: Vec<&&Lun> =
            vscsi.iter().filter(|l| self.serving_vios(from, l) >= 2 && self.serving_vios(to, l) == 1).collect();
        if single.is_empty() {
            return None;
        }
        let luns: Vec<String> = single.iter().map(ToString::to_string).collect();
        Some(format!(
            "{object} reaches LUN {} through two Virtual I/O Servers on {from}, and only one VIOS of {to} sees it with reserve_policy=no_reserve: the HMC refuses the move (HSCLA340 The HMC may not be able to replicate the source multipath I/O configuration for the migrating partition's virtual I/O adapters on the destination). Make the LUN visible to both VIOS of {to} with reserve_policy=no_reserve (and both running); powerplane does not migrate with `--mpio 2`, which gives up the second path",
            luns.join(", ")
        ))
    }

    /// How many VIOS of `frame` see `lun` with `reserve_policy=no_reserve` (or will, once a
    /// move lifts the reserve: `reserve_policy`) and run now or once this plan has started them
    /// (one the plan stops later still serves a move before it).
    fn serving_vios(&self, frame: &FrameName, lun: &Lun) -> usize {
        let Some(hw) = self.observed_index.hardware(frame) else { return 0 };
        let lifts = self.desired.set_no_reserve();
        hw.spec
            .vios
            .iter()
            .filter(|v| self.vios_running_now(frame, &v.name) || self.vios_running_after(frame, &v.name))
            .filter(|v| {
                v.disks.iter().any(|d| {
                    &d.lun == lun
                        && (d.reserve_policy == ReservePolicy::NoReserve
                            || (lifts && !self.observed.status.lun_mapped(frame, &v.name, lun)))
                })
            })
            .count()
    }
}

#[cfg(test)]
mod tests {
    use crate::console::{Console, KeyExchange};
    use crate::names::{HmcAddress, HmcUser};
    use crate::physical_io::IoSlot;
    use crate::plan::fixture::{lab_converged, lab_desired_with, partition, render, replace};
    use crate::plan::{PlanOptions, plan};

    fn pinned_to_slot14() -> crate::estate::Estate {
        lab_desired_with(replace(
            "js22.yaml",
            "placement: {anyOf: [js22_slot13, js22_slot14]}",
            "placement: {frame: js22_slot14}",
        ))
    }

    /// The lab with the second blade managed by another HMC, at `version`, whose key test from
    /// the first gave `keys`.
    fn two_hmcs(version: &str, keys: Option<KeyExchange>) -> crate::estate::Estate {
        let mut e = lab_converged();
        let (h1, h2) = (HmcAddress::new("hmc1").unwrap(), HmcAddress::new("hmc2.lab").unwrap());
        let c = &mut e.status.consoles;
        for f in e.hardware.keys() {
            c.managed_by.insert(f.clone(), if f.as_str() == "js22_slot14" { h2.clone() } else { h1.clone() });
        }
        let version = Some(crate::console::HmcVersion::parse(version).unwrap());
        let user = Some(HmcUser::new("hscroot").unwrap());
        let mut first = Console { user: user.clone(), version: version.clone(), ..Default::default() };
        if let Some(k) = keys {
            first.keys.insert(h2.clone(), k);
        }
        c.hmcs.insert(h1, first);
        c.hmcs.insert(h2, Console { user, version, ..Default::default() });
        e
    }

    /// A move to the other HMC's blade names it (`--ip hmc2.lab -u hscroot`), in the man page's
    /// order; one HMC for both frames renders no `--ip`.
    #[test]
    fn a_move_to_another_hmcs_frame_names_it() {
        let p = plan(&pinned_to_slot14(), &two_hmcs("V10R3", Some(KeyExchange::Authorized)), PlanOptions::default());
        let cmds: Vec<String> = p.actions.iter().map(|a| a.op.command()).collect();
        assert!(
            cmds.contains(
                &"migrlpar -o m -m js22_slot13 -t js22_slot14 --ip hmc2.lab -u hscroot -p bxaix85".to_owned()
            ),
            "{}",
            render(&p)
        );
        assert!(
            cmds.iter().any(|c| c.starts_with("migrlpar -o v -m js22_slot13 -t js22_slot14 --ip hmc2.lab -u hscroot"))
        );
        assert!(p.deferred.is_empty(), "{:?}", p.deferred);
        let one = plan(&pinned_to_slot14(), &lab_converged(), PlanOptions::default());
        assert!(one.actions.iter().all(|a| !a.op.command().contains("--ip")), "{}", render(&one));
    }

    /// The source HMC's key is not authorized on the destination HMC: the move waits, with the
    /// command that fixes it; the plan is not empty (exit 2) and has no error.
    #[test]
    fn a_move_waits_for_the_hmcs_keys_with_the_fix() {
        let missing = KeyExchange::Missing { message: "HSCL3653 The Secure Shell (SSH) communication configuration between the source and target Hardware Management Consoles has not been set up properly for user hscroot.".into() };
        let p = plan(&pinned_to_slot14(), &two_hmcs("V10R3", Some(missing)), PlanOptions::default());
        assert!(p.actions.iter().all(|a| a.kind() != crate::ActionKind::MigratePartition), "{}", render(&p));
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert_eq!(p.deferred.len(), 1, "{:?}", p.deferred);
        assert!(p.deferred[0].contains("run `mkauthkeys -g --ip hmc2.lab -u hscroot` on hmc1"), "{}", p.deferred[0]);
        assert!(p.deferred[0].contains("HSCL3653"), "{}", p.deferred[0]);
        assert!(!p.is_empty());
    }

    /// A move's redundancy option is spelt as the source HMC's version takes it: the man
    /// pages' `--redundantvios` at V10R3, the seed's `--redundantpgvios` at V7R3.4 and when the
    /// version is not known (`hmc_command` renders each: its tests).
    #[test]
    fn the_redundancy_option_is_spelt_for_the_source_hmc() {
        use crate::console::RedundancyOption;
        let spelling = |observed: &crate::estate::Estate| -> Vec<RedundancyOption> {
            let p = plan(&pinned_to_slot14(), observed, PlanOptions::default());
            p.actions
                .iter()
                .filter_map(|a| match &a.op {
                    crate::Op::ValidateMigration { spelling, .. } | crate::Op::MigratePartition { spelling, .. } => {
                        Some(*spelling)
                    }
                    _ => None,
                })
                .collect()
        };
        let authorized = || Some(KeyExchange::Authorized);
        assert_eq!(spelling(&two_hmcs("V10R3", authorized())), vec![RedundancyOption::Vios; 2]);
        assert_eq!(spelling(&two_hmcs("V7R3.4.0", authorized())), vec![RedundancyOption::PgVios; 2]);
        assert_eq!(spelling(&lab_converged()), vec![RedundancyOption::PgVios; 2]);
    }

    /// bxaix85's disks reach it through two VIOS of its blade and only one VIOS of the target:
    /// the HMC refuses the move (HSCLA340), so the plan does, saying what to do.
    // seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, lines 1741-1782.
    #[test]
    fn multipath_io_the_target_cannot_replicate_is_refused() {
        use crate::names::ViosName;
        let mut observed = lab_converged();
        let blade = crate::plan::fixture::frame("js22_slot13");
        let hw = &mut observed.hardware.get_mut(&blade).unwrap().spec;
        let mut second = hw.vios[0].clone();
        second.name = ViosName::new("bvio82b").unwrap();
        hw.vios.push(second);
        observed
            .status
            .vios
            .get_mut(&blade)
            .unwrap()
            .insert(ViosName::new("bvio82b").unwrap(), crate::status::LparState::Running);
        let p = plan(&pinned_to_slot14(), &observed, PlanOptions::default());
        assert!(p.actions.iter().all(|a| a.kind() != crate::ActionKind::MigratePartition), "{}", render(&p));
        assert_eq!(p.errors.len(), 1, "{:?}", p.errors);
        assert!(p.errors[0].contains("HSCLA340"), "{}", p.errors[0]);
        assert!(p.errors[0].contains("Make the LUN visible to both VIOS of js22_slot14"), "{}", p.errors[0]);
        // With the LUNs on one VIOS of the source too (no multipath), it moves.
        assert!(plan(&pinned_to_slot14(), &lab_converged(), PlanOptions::default()).errors.is_empty());
    }

    /// A partition with a physical I/O slot is refused before anything starts, with the slot
    /// named and what to do.
    #[test]
    fn a_partition_with_physical_io_is_not_moved() {
        let mut observed = lab_converged();
        observed
            .status
            .partitions
            .get_mut(&partition("bxaix85"))
            .unwrap()
            .io_slots
            .push(IoSlot { drc_index: "21010002".into(), required: true });
        let p = plan(&pinned_to_slot14(), &observed, PlanOptions::default());
        assert!(p.actions.is_empty(), "{}", render(&p));
        assert_eq!(p.errors.len(), 1, "{:?}", p.errors);
        assert!(p.errors[0].contains("physical I/O slots (21010002 (required))"), "{}", p.errors[0]);
        assert!(p.errors[0].contains("no dedicated physical adapters"), "{}", p.errors[0]);
    }
}
