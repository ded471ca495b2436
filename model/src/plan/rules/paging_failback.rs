//! **Paging fails back to the primary paging VIOS, never to one that is down.** After a paging
//! VIOS failover the hypervisor does not switch back on its own; when the desired primary runs
//! again the plan switches the partition back (`chhwres -r mem -o so`), once, after the VIOS
//! is ready. While the primary is down the failback waits, with a warning.
//!
//! DESIGN §4 rule 3; seeds: ams-dual-vios-and-lpm.txt, lines 58–59: "After a failover, no
//! automatic switch back will occur when the original paging VIOS partition comes up again. If
//! you want to restore the original primary/secondary configuration you can manually switch the
//! paging VIOS".

use super::Planner;
use crate::action::Op;
use crate::estate::Partition;
use crate::names::{FrameName, PartitionName};
use crate::plan::change::FieldChange;
use crate::plan::step::Phase;

impl Planner<'_, '_> {
    /// Paging failback (DESIGN §4 rule 3): switch back to the desired primary paging VIOS when
    /// it runs; never to a VIOS that is down. Returns the field that changes when a switch is
    /// planned.
    // seeds: ams-dual-vios-and-lpm.txt, "After a failover, no automatic switch back will occur
    // ... you can manually switch the paging VIOS for the affected partitions."
    pub(super) fn failback(
        &mut self,
        object: &str,
        name: &PartitionName,
        dp: &Partition,
        frame: &FrameName,
    ) -> Option<FieldChange> {
        let pool = self.desired_index.mem_pool_on(frame)?;
        let paging = self.observed.status.partitions.get(name).and_then(|s| s.paging.clone())?;
        let idx = dp.spec.memory.paging.unwrap_or_default().primary.position();
        let want = pool.spec.paging_vios.get(idx).cloned()?;
        let current = paging.current.clone()?;
        let known = [Some(&paging.primary), paging.secondary.as_ref()].contains(&Some(&want));
        if current == want || paging.secondary.is_none() || !known {
            return None;
        }
        let key = (frame.clone(), want.clone());
        let deps = self.vios_ready.get(&key).cloned().unwrap_or_default();
        let down = self.vios_stopping.contains(&key)
            || !self.vios_running_after(frame, &want)
            || (deps.is_empty() && !self.vios_running_now(frame, &want));
        if down {
            self.warnings.push(format!("{object}: the paging failback to {want} waits until {want} is running"));
            return None;
        }
        let i = self.push(
            Op::SwitchPagingVios { frame: frame.clone(), partition: name.clone() },
            format!("{object}: paging failback from {current} to its primary paging VIOS {want} (the hypervisor never switches back by itself)"),
            deps,
            Phase::Failback,
        );
        self.paging_switch.insert(name.clone(), i);
        Some(FieldChange { path: "paging.current".into(), old: Some(current.to_string()), new: Some(want.to_string()) })
    }
}

#[cfg(test)]
mod tests {
    use crate::plan::fixture::{lab_converged, lab_desired, lab_desired_with, partition, render, replace};
    use crate::plan::{PlanOptions, plan};
    use crate::status::LparState;

    /// After a failover lpar_6_sotchax11 pages through its secondary: the plan switches it back
    /// to its primary, and waits (with a warning) while the primary is down.
    #[test]
    fn paging_fails_back_to_a_running_primary_only() {
        let mut observed = lab_converged();
        let frame: crate::names::FrameName = "IBM_MMA_P6_102615A_SOLCHMS05".parse().unwrap();
        let st = observed.status.partitions.get_mut(&partition("lpar_6_sotchax11")).unwrap();
        let paging = st.paging.as_mut().unwrap();
        paging.current = paging.secondary.clone();
        insta::assert_snapshot!(render(&plan(&lab_desired(), &observed, PlanOptions::default())));
        observed
            .status
            .vios
            .get_mut(&frame)
            .unwrap()
            .insert("lpar_1_solchio05".parse().unwrap(), LparState::NotActivated);
        let down = lab_desired_with(replace(
            "solchms05.yaml",
            "{name: lpar_1_solchio05, state: running}",
            "{name: lpar_1_solchio05, state: stopped}",
        ));
        insta::assert_snapshot!(render(&plan(&down, &observed, PlanOptions::default())));
    }
}
