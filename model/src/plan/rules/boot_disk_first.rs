//! **A partition is activated only when its boot disk will be there.** A client activated
//! while no VIOS serves its boot disk finds nothing to boot from: its firmware stops in the SMS
//! menu (`Open Firmware`) and stays there after the VIOS comes back, until someone restarts it
//! ([`crate::storage::boot_disk`]; tests/fixtures/hmc/README.md, "Storage provisioning": the
//! VIOS side is wired before the client starts). So an activation waits until the boot disk is
//! mapped on a VIOS of the partition's frame that runs now and does not stop in this plan, or
//! this plan maps it (on a VIOS that runs, or that this plan starts). When neither holds (every
//! VIOS of the frame down or still activating), the activation is deferred with the reason;
//! the partition itself is still created, and the next plan starts it once a VIOS serves it.
//!
//! The soak found the case this rule closes: both VIOS of a frame down (one by manifest, one by
//! a fault), a reconcile killed while the first was activating, and the next reconcile created
//! and started a partition before the VIOS was up, stranding it in its SMS menu.

use super::Planner;
use crate::action::Op;
use crate::estate::Partition;
use crate::manifest::StorageVia;
use crate::names::{FrameName, PartitionName};

impl Planner<'_, '_> {
    /// Why `name` (wanted running with `dp`'s storage) may not be activated on `frame` in this
    /// plan, or `None` when it may: its boot disk is mapped on a VIOS that runs and stays
    /// running, or one of `planned` (the steps its activation would wait for) maps it. Frames
    /// whose VIOS storage the backend does not report, and partitions without storage, are
    /// never held.
    pub(super) fn boot_disk_missing(
        &self,
        object: &str,
        name: &PartitionName,
        dp: &Partition,
        frame: &FrameName,
        planned: &[usize],
    ) -> Option<String> {
        let boot = crate::storage::boot_disk(&dp.spec.storage)?;
        let storage = self.observed.status.vios_storage.get(frame)?;
        let mapped_now = storage.iter().any(|(vios, vs)| {
            self.vios_running_now(frame, vios)
                && !self.vios_stopping.contains(&(frame.clone(), vios.clone()))
                && vs.maps(name, boot)
        });
        let mapped_by_plan = planned.iter().any(|i| match &self.steps[*i].op {
            Op::MapDisk { client, lun, .. } => client == name && lun == &boot.lun,
            Op::MapNpiv { client, .. } => client == name && boot.via == StorageVia::Npiv,
            _ => false,
        });
        if mapped_now || mapped_by_plan {
            return None;
        }
        let states: Vec<String> = self
            .frame_vios(frame)
            .into_iter()
            .map(|v| {
                let state = self.vios_state_now(frame, &v).map_or_else(|| "not observed".to_owned(), |s| s.to_string());
                let stopping = self.vios_stopping.contains(&(frame.clone(), v.clone()));
                format!("{v} {state}{}", if stopping { ", stopped by this plan" } else { "" })
            })
            .collect();
        Some(format!(
            "{object} is not activated on {frame} yet: no VIOS there that runs serves its boot disk (LUN {}) or can map it now ({}), and activated without it, it would stop in its SMS menu; it is activated once a VIOS of {frame} runs and maps it",
            boot.lun,
            states.join("; ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use crate::action::Op;
    use crate::estate::Estate;
    use crate::names::ViosName;
    use crate::plan::fixture::{frame, lab_converged, lab_desired_with, partition};
    use crate::plan::{PlanOptions, apply, plan};
    use crate::status::LparState;
    use crate::storage::ViosStorage;

    const NEW: &str = "---\napiVersion: powerplane/v1\nkind: Partition\nmetadata: {name: newlpar}\nspec:\n  placement: {frame: js22_slot13}\n  state: running\n  processors: {units: 0.5}\n  memory: {desiredMB: 1024, maxMB: 2048}\n  storage:\n    - {lun: 75DS81001002, via: vscsi}\n";

    /// The lab converged, js22_slot13's VIOS storage reported, its VIOS bvio82 in `state`.
    fn observed(state: LparState) -> Estate {
        let mut e = lab_converged();
        let vs = ViosStorage { adapters: Vec::new(), used_slots: vec![0, 1, 2, 3], fc_ports: Vec::new() };
        e.status.vios_storage.insert(frame("js22_slot13"), [("bvio82".parse().unwrap(), vs)].into());
        *e.status.vios.get_mut(&frame("js22_slot13")).unwrap().get_mut(&vios()).unwrap() = state;
        e
    }

    fn vios() -> ViosName {
        "bvio82".parse().unwrap()
    }

    fn desired() -> Estate {
        lab_desired_with(|name, text| {
            let text = text.replace("  storage:\n    - {lun: 75DS81001000, via: vscsi}   # rootvg (invented LUN id)\n    - {lun: 75DS81001001, via: vscsi}   # sapvg  (invented LUN id)\n", "");
            if name == "js22.yaml" { format!("{text}{NEW}") } else { text }
        })
    }

    fn starts(p: &crate::Plan) -> bool {
        p.actions
            .iter()
            .any(|a| matches!(&a.op, Op::StartPartition { partition, .. } if partition.as_str() == "newlpar"))
    }

    /// The frame's only VIOS still activating: the partition is created but not activated
    /// (it would stop in its SMS menu), and the plan says so; once the VIOS runs, the next
    /// plan maps the boot disk and activates it after the mapping.
    #[test]
    fn no_activation_while_no_vios_can_serve_the_boot_disk() {
        let booting = observed(LparState::Starting);
        let p = plan(&desired(), &booting, PlanOptions::default());
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert!(p.actions.iter().any(|a| matches!(a.op, Op::CreatePartition { .. })), "created all the same");
        assert!(!starts(&p), "{:#?}", p.actions.iter().map(|a| a.op.command()).collect::<Vec<_>>());
        assert!(
            p.deferred.iter().any(|d| d.contains("Partition/newlpar is not activated")
                && d.contains("75DS81001002")
                && d.contains("bvio82 Starting")),
            "{:?}",
            p.deferred
        );
        assert!(!p.is_empty(), "a held activation is not converged");

        let mut up = apply(&booting, &p.actions);
        *up.status.vios.get_mut(&frame("js22_slot13")).unwrap().get_mut(&vios()).unwrap() = LparState::Running;
        let next = plan(&desired(), &up, PlanOptions::default());
        assert!(next.errors.is_empty() && next.deferred.is_empty(), "{:?} {:?}", next.errors, next.deferred);
        let pos = |f: &dyn Fn(&Op) -> bool| next.actions.iter().position(|a| f(&a.op));
        let map = pos(&|o| matches!(o, Op::MapDisk { .. })).expect("the boot disk is mapped");
        let start = pos(&|o| matches!(o, Op::StartPartition { .. })).expect("then it is activated");
        assert!(map < start);
        let done = apply(&up, &next.actions);
        assert!(plan(&desired(), &done, PlanOptions::default()).is_empty());
    }

    /// A partition that exists, stopped, with its boot disk mapped on a VIOS that is down: its
    /// activation waits (the mapping serves nothing until the VIOS runs).
    #[test]
    fn a_mapping_on_a_vios_that_is_down_serves_nothing() {
        let up = observed(LparState::Running);
        let created = apply(&up, &plan(&desired(), &up, PlanOptions::default()).actions);
        let mut stopped = created.clone();
        stopped.status.partitions.get_mut(&partition("newlpar")).unwrap().state = LparState::NotActivated;
        assert!(starts(&plan(&desired(), &stopped, PlanOptions::default())), "a VIOS that runs serves it");
        *stopped.status.vios.get_mut(&frame("js22_slot13")).unwrap().get_mut(&vios()).unwrap() =
            LparState::ShuttingDown;
        let p = plan(&desired(), &stopped, PlanOptions::default());
        assert!(!starts(&p), "{:#?}", p.actions.iter().map(|a| a.op.command()).collect::<Vec<_>>());
        assert!(p.deferred.iter().any(|d| d.contains("Partition/newlpar is not activated")), "{:?}", p.deferred);
    }
}
