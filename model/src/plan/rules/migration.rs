//! **A move is validated before it migrates, keeps paging redundancy when it can, and waits for
//! runtime conditions.** Each migration is a `migrlpar -o v` followed by `-o m`, after the
//! target frame's configuration; the room it needs on the target is held while it runs. A
//! shared-memory partition that *requires* redundant paging moves only to a frame that can give
//! it (two paging VIOS and a free common device), one that *prefers* it goes non-redundant with a
//! warning. An active move needs a running mover service partition on both frames; when a frame
//! has several, the plan names a pair (`-i "source_msp_name=...,dest_msp_name=..."`), spreading
//! its moves over them. A move waits, deferred with the reason, while the target runs on battery
//! or the HMC has no RMC connection to the partition.
//!
//! DESIGN §4 rule 4; seeds: lpm-js22-walkthrough.txt (validation before migration);
//! ams-dual-vios-and-lpm.txt, line 80: "you need a shared memory pool with a suitable and
//! available paging space device on the target server", and line 81 (the redundancy options);
//! powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, HSCLA257 (no RMC connection),
//! line 2299 (the mover service partition attribute) and lines 1575-1577 (HSCLA297).

use super::Planner;
use super::partitions::{Chain, Existing};
use crate::action::{MspPair, Op, RedundantPgVios};
use crate::estate::Partition;
use crate::manifest::{MemoryMode, Redundancy};
use crate::names::{FrameName, PartitionName, ViosName};
use crate::plan::change::{ChangeKind, FieldChange};
use crate::plan::step::{Phase, Res, demand};
use crate::status::LparState;

impl Planner<'_, '_> {
    /// Plans the move of `p` to its target: `migrlpar -o v`, then `-o m`, after the target's
    /// configuration and the partition's earlier steps. Returns `false` when the move cannot be
    /// planned (a plan error says why) and nothing more is planned for the partition.
    pub(super) fn migrate(&mut self, p: &Existing<'_>, chain: &mut Chain) -> bool {
        let (current, target) = (&p.current, &p.target);
        let why = self.migration_reason(p.desired, current);
        if let Some(e) = self.unmovable(p.object, p.name, current, target) {
            self.errors.push(e);
            return false;
        }
        // A held move never gets here (`move_blocked`): the keys are authorized or not known.
        let remote = self.remote_hmc(current, target).ok().flatten();
        let spelling = self.redundancy_spelling(current);
        let redundant = match self.redundancy(p.object, p.desired, current, target) {
            Ok(r) => r,
            Err(e) => {
                self.errors.push(e);
                return false;
            }
        };
        let msp = if p.stays_running() {
            match self.msp_pair(p.object, current, target) {
                Ok(m) => m,
                Err(e) => {
                    self.errors.push(e);
                    return false;
                }
            }
        } else {
            // seeds: an inactive migration does not use mover service partitions.
            None
        };
        let mut deps = self.config_deps(target);
        deps.extend(chain.last);
        // The move carries what is mapped on the source VIOS: the mappings come first.
        deps.extend(self.storage_ready.get(p.name).into_iter().flatten().copied());
        deps.extend(self.lift_reserves(p, target));
        // A VCS profile copy on the target under the partition's name is set aside first
        // (`profile_copies`).
        let aside = match self.set_copy_aside(p, &deps) {
            Ok(a) => a,
            Err(e) => {
                self.errors.push(e);
                return false;
            }
        };
        deps.extend(aside.as_ref().and_then(|a| a.rename));
        let name = p.name.clone();
        let v = self.push(
            Op::ValidateMigration {
                partition: name.clone(),
                from: current.clone(),
                to: target.clone(),
                redundant,
                msp: msp.clone(),
                remote: remote.clone(),
                mpio: None,
                spelling,
            },
            format!("{}: {why}; validate the move to {target} first", p.object),
            deps,
            Phase::Move,
        );
        let m = self.push(
            Op::MigratePartition {
                partition: name.clone(),
                from: current.clone(),
                to: target.clone(),
                redundant,
                msp,
                remote,
                mpio: None,
                spelling,
            },
            format!("{}: {why}", p.object),
            vec![v],
            Phase::Move,
        );
        // The room the move needs on the target. The HMC's validation checks it too, so the
        // validation waits for it as well and holds it only while it runs. An active move
        // needs the partition's capacity and gives back the source's; an inactive move of a
        // shared-memory partition holds a paging device and gives it back at the end (the
        // device is chosen again at activation).
        // seeds: ams-dual-vios-and-lpm.txt, "you need a shared memory pool with a suitable
        // and available paging space device on the target server"
        let spec = &p.observed.spec;
        let mut room = if p.stays_running() {
            demand(spec, target)
        } else if spec.memory.mode == MemoryMode::Shared {
            vec![(Res::Devices(target.clone()), 1)]
        } else {
            Vec::new()
        };
        // Only `--redundantpgvios 1` insists on a common device on the target.
        if redundant != Some(RedundantPgVios::Required) {
            room.retain(|(r, _)| !matches!(r, Res::CommonDevices(_)));
        }
        self.steps[v].consumes = room.clone();
        self.steps[v].frees = room.clone();
        self.steps[m].frees = if p.stays_running() { demand(spec, current) } else { room.clone() };
        self.steps[m].consumes = room;
        self.frame_migration(p.object, p.desired, p.stays_running(), (current, target), (v, m));
        if aside.is_some() {
            self.restore_copy(p, m);
        }
        self.leaves_frame.entry(name).or_insert(m);
        chain.fields.push(FieldChange {
            path: "frame".into(),
            old: Some(current.to_string()),
            new: Some(target.to_string()),
        });
        chain.kind = Some(ChangeKind::Migrate);
        chain.notes.push(why);
        chain.last = Some(m);
        true
    }

    /// Why a migration of `name` to `target` cannot start now, when a runtime condition (not
    /// the manifests) stands in the way: the target runs on battery, or the HMC has no RMC
    /// connection to the running partition.
    pub(super) fn move_blocked(&self, name: &PartitionName, target: &FrameName) -> Option<String> {
        if self.observed_index.hardware(target).is_some_and(|h| h.spec.on_battery) {
            return Some(format!(
                "`{target}` is running on battery and is no valid migration target until utility power returns"
            ));
        }
        if let Some(why) = self.peer_migrating(name) {
            return Some(why);
        }
        // The HMCs' keys (`cross_hmc`): the source frame's HMC must be authorized on the
        // target's.
        if let Some(current) = self.observed.status.partitions.get(name).map(|s| &s.frame)
            && let Err(e) = self.remote_hmc(current, target)
        {
            return Some(e.to_string());
        }
        let st = self.observed.status.partitions.get(name)?;
        // seeds: powervm-quickstart..., HSCLA257 "The migrating partition is not ready for
        // migration at this time".
        (st.state == LparState::Running && !st.rmc).then(|| {
            "the HMC has no RMC connection to the partition (HSCLA257); the move waits until it is back".into()
        })
    }

    /// The mover service partitions of an active move: an error when the source or the target
    /// has none running; a chosen pair when either has more than one (each the one with the
    /// fewest moves of this plan so far, so that the moves spread over them), else `None` and
    /// the HMC takes the only pair.
    // seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, line 1450 ("Mover
    // service partitions (MSP) is activated"), line 2299 (the attribute, FALSE by default),
    // lines 1575-1577 ("HSCLA297 The DLPAR Resource Manager (DRM) capability bits ... for mover
    // service partition (MSP) visav2 indicate that partition mobility functions are not
    // supported on the partition").
    fn msp_pair(&mut self, object: &str, from: &FrameName, to: &FrameName) -> Result<Option<MspPair>, String> {
        let (source, dest) = (self.running_msps(from), self.running_msps(to));
        for (frame, side, msps) in [(from, "source", &source), (to, "destination", &dest)] {
            if msps.is_empty() {
                let vios = self
                    .observed_index
                    .hardware(frame)
                    .and_then(|h| h.spec.vios.first())
                    .map_or("VIOS".to_owned(), |v| v.name.to_string());
                return Err(format!(
                    "{object}: an active migration needs a mover service partition on the {side} frame {frame}, and no running VIOS there has the attribute set (the HMC refuses it: HSCLA297 ... for mover service partition (MSP) {vios} indicate that partition mobility functions are not supported on the partition). Set it on a VIOS of {frame} (`chsyscfg -r lpar -m {} -i \"name={vios},msp=1\"`; `msp: true` in the inventory), or stop the partition so that it moves inactive",
                    frame.word()
                ));
            }
        }
        if source.len() == 1 && dest.len() == 1 {
            return Ok(None);
        }
        let mut least = |frame: &FrameName, msps: &[ViosName]| {
            let pick = msps
                .iter()
                .min_by_key(|v| (self.msp_load.get(&(frame.clone(), (*v).clone())).copied().unwrap_or(0), (*v).clone()))
                .expect("not empty")
                .clone();
            *self.msp_load.entry((frame.clone(), pick.clone())).or_default() += 1;
            pick
        };
        let source = least(from, &source);
        let dest = least(to, &dest);
        Ok(Some(MspPair { source, dest }))
    }

    /// The VIOS of `frame` with the mover service partition attribute that run now.
    fn running_msps(&self, frame: &FrameName) -> Vec<ViosName> {
        let Some(hw) = self.observed_index.hardware(frame) else { return Vec::new() };
        hw.spec.vios.iter().filter(|v| v.msp && self.vios_running_now(frame, &v.name)).map(|v| v.name.clone()).collect()
    }

    /// Why the partition leaves `current`: maintenance, its placement, or what the frame lacks.
    fn migration_reason(&self, dp: &Partition, current: &FrameName) -> String {
        if self.desired.frames.get(current).is_some_and(|f| f.spec.maintenance) {
            return format!("frame {current} is in maintenance");
        }
        if let Some(peer) = self.placer.peer_on(&dp.metadata.name, current, self.assignment) {
            return format!("{peer} too: members of a cluster run on different frames");
        }
        let labels = self.desired.frames.get(current).map(|f| f.metadata.labels.clone()).unwrap_or_default();
        if !dp.spec.placement.allows(current, &labels) {
            return format!("its placement does not allow {current}");
        }
        let why: Vec<String> = self.placer.static_reasons(dp, current).iter().map(ToString::to_string).collect();
        format!("{current} can no longer host it ({})", why.join("; "))
    }

    /// Why `frame` cannot give a shared-memory partition redundant paging (one paging VIOS, or
    /// no free common paging device), or `None` when it can.
    pub(super) fn no_redundant_paging_on(&self, frame: &FrameName) -> Option<&'static str> {
        let two = self.desired_index.mem_pool_on(frame).is_some_and(|p| p.spec.paging_vios.len() == 2);
        if !two {
            return Some("it has one paging VIOS");
        }
        let taken: Vec<_> = self
            .observed
            .status
            .paging_devices
            .get(frame)
            .map(|ds| ds.iter().filter(|d| self.held_past_recovery(frame, d)).map(|d| d.device.clone()).collect())
            .unwrap_or_default();
        let free_common = self.placer.common_devices(frame).iter().filter(|d| !taken.contains(&d.device)).count();
        (free_common == 0).then_some("it has no free common paging device")
    }

    /// Whether paging device `d` of `frame` stays assigned through the plan: a device held by
    /// the shell of a migration to `frame` that failed part-way comes back when the plan
    /// recovers it, first (`RecoverMigration`).
    pub(super) fn held_past_recovery(&self, frame: &FrameName, d: &crate::status::PagingDeviceStatus) -> bool {
        let Some(p) = &d.assigned else { return false };
        let shell = self
            .observed
            .status
            .partitions
            .get(p)
            .and_then(|s| s.migration.as_ref())
            .is_some_and(|m| m.state == crate::status::MigrationState::Failed && &m.to == frame);
        !shell
    }

    /// `--redundantpgvios` for a migration, with the fallback of DESIGN §4 rule 4: `preferred`
    /// goes non-redundant with a warning, `required` makes the plan fail.
    pub(super) fn redundancy(
        &mut self,
        object: &str,
        dp: &Partition,
        source: &FrameName,
        target: &FrameName,
    ) -> Result<Option<RedundantPgVios>, String> {
        if dp.spec.memory.mode != MemoryMode::Shared {
            return Ok(None);
        }
        let paging = dp.spec.memory.paging.unwrap_or_default();
        let why = self.no_redundant_paging_on(target).unwrap_or_default();
        let possible = why.is_empty();
        match (paging.redundancy, possible) {
            (Redundancy::Required, true) => Ok(Some(RedundantPgVios::Required)),
            (Redundancy::Required, false) => Err(format!(
                "{object} requires redundant paging, but the target frame {target} cannot provide it ({why}); it is never migrated non-redundant. Give {target} two paging VIOS and a free common paging device, or choose another frame"
            )),
            (Redundancy::Preferred, true) => Ok(Some(RedundantPgVios::IfPossible)),
            (Redundancy::Preferred, false) => {
                self.warnings.push(format!(
                    "{object} prefers redundant paging, but on {target} {why}: it is migrated non-redundant ({} 0) and has no paging VIOS failover there",
                    self.redundancy_spelling(source).flag()
                ));
                Ok(Some(RedundantPgVios::NonRedundant))
            }
            (Redundancy::None, _) => Ok(Some(RedundantPgVios::NonRedundant)),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::plan::fixture::{frame, lab_converged, lab_desired_with, partition, render, replace};
    use crate::plan::{PlanOptions, plan};

    fn pinned_to_slot14() -> crate::estate::Estate {
        lab_desired_with(replace(
            "js22.yaml",
            "placement: {anyOf: [js22_slot13, js22_slot14]}",
            "placement: {frame: js22_slot14}",
        ))
    }

    /// A move is validated, then migrated.
    #[test]
    fn a_move_is_validated_then_migrated() {
        insta::assert_snapshot!(render(&plan(&pinned_to_slot14(), &lab_converged(), PlanOptions::default())));
    }

    /// Without a mover service partition on bvio83's blade, bxaix85 cannot move there while
    /// it runs (PP-E064, HSCLA297); stopped, it moves inactive, which needs none.
    #[test]
    fn an_active_move_needs_mover_service_partitions() {
        use crate::plan::fixture::lab_observed_with;
        let no_msp = |text: &str| {
            let at = text.find("    - name: bvio83").unwrap();
            let (head, tail) = text.split_at(at);
            format!("{head}{}", tail.replacen("      msp: true\n", "", 1))
        };
        let observed = lab_observed_with(no_msp);
        let p = plan(&pinned_to_slot14(), &observed, PlanOptions::default());
        insta::assert_snapshot!(render(&p));
        let stopped = lab_desired_with(|name, text| {
            replace("js22.yaml", "placement: {anyOf: [js22_slot13, js22_slot14]}", "placement: {frame: js22_slot14}")(
                name, text,
            )
            .replacen(
                "  state: running\n  processors: {mode: shared, units: 1.0",
                "  state: stopped\n  processors: {mode: shared, units: 1.0",
                1,
            )
        });
        insta::assert_snapshot!(render(&plan(&stopped, &observed, PlanOptions::default())));
    }

    /// A move waits while the target runs on battery, or while the HMC has no RMC connection
    /// to the partition; the rest of the plan goes ahead.
    /// bxaix85 without its SAN disks, or without its virtual network, cannot move: the plan says
    /// why instead of proposing a migration the HMC's validation refuses.
    // seeds: lpm-js22-walkthrough.txt, lines 9-10 and 48.
    #[test]
    fn a_partition_without_san_storage_or_virtual_network_does_not_move() {
        let edit = |from: &'static str, to: &'static str| {
            lab_desired_with(move |name, text| {
                let text = replace(
                    "js22.yaml",
                    "placement: {anyOf: [js22_slot13, js22_slot14]}",
                    "placement: {frame: js22_slot14}",
                )(name, text);
                replace("js22.yaml", from, to)(name, &text)
            })
        };
        let no_disks = edit(
            "  storage:\n    - {lun: 75DS81001000, via: vscsi}   # rootvg (invented LUN id)\n    - {lun: 75DS81001001, via: vscsi}   # sapvg  (invented LUN id)\n",
            "",
        );
        let p = plan(&no_disks, &lab_converged(), PlanOptions::default());
        assert!(p.actions.iter().all(|a| a.kind() != crate::ActionKind::MigratePartition), "{}", render(&p));
        insta::assert_snapshot!(render(&p));
        let no_network = edit("  network:\n    - vlan: 1\n", "");
        let p = plan(&no_network, &lab_converged(), PlanOptions::default());
        assert!(p.actions.iter().all(|a| a.kind() != crate::ActionKind::MigratePartition), "{}", render(&p));
        insta::assert_snapshot!(render(&p));
    }

    #[test]
    fn a_move_waits_for_runtime_conditions() {
        let mut battery = lab_converged();
        battery.hardware.get_mut(&frame("js22_slot14")).unwrap().spec.on_battery = true;
        insta::assert_snapshot!(render(&plan(&pinned_to_slot14(), &battery, PlanOptions::default())));
        let mut no_rmc = lab_converged();
        no_rmc.status.partitions.get_mut(&partition("bxaix85")).unwrap().rmc = false;
        insta::assert_snapshot!(render(&plan(&pinned_to_slot14(), &no_rmc, PlanOptions::default())));
    }
}
