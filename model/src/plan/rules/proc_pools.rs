//! **Shared processor pools are configured before the partitions that need them.** A missing pool
//! is created (`chhwres -r procpool -o a`), a pool whose limits differ is changed; a pool that
//! grows gives its partitions room, so partitions arriving on the frame wait for it, while a pool
//! that shrinks takes room and waits for the partitions that leave it.
//!
//! seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, lines 110–114: a pool has
//! a maximum, "Reserved Capacity - Additional (guaranteed) CPU resources that are assigned to the
//! pool", and its entitled capacity is the partitions' desired units plus the reserve.

use std::collections::BTreeMap;

use super::Planner;
use crate::action::Op;
use crate::estate::ProcPool;
use crate::manifest::Kind;
use crate::names::{FrameName, ProcPoolName};
use crate::plan::change::{ChangeKind, field_changes};
use crate::plan::step::{Phase, Res};
use crate::yaml::leaves;

impl Planner<'_, '_> {
    pub(super) fn proc_pools(&mut self) {
        // The first observed pool (in name order) of each frame and pool name: one pass, instead
        // of a scan of every observed pool per desired pool.
        let mut observed: BTreeMap<(&FrameName, &ProcPoolName), &ProcPool> = BTreeMap::new();
        for o in self.observed.proc_pools.values() {
            observed.entry((&o.spec.frame, &o.spec.pool_name)).or_insert(o);
        }
        for p in self.desired.proc_pools.values() {
            let (frame, pool) = (&p.spec.frame, &p.spec.pool_name);
            let avail = |max: crate::units::ProcUnits, res: crate::units::ProcUnits| {
                u64::from(max.saturating_sub(res).hundredths())
            };
            let new_avail = avail(p.spec.max_proc_units, p.spec.reserved_proc_units);
            let obs = observed.get(&(frame, pool)).copied();
            let object = format!("{}/{}", Kind::SharedProcessorPool, p.metadata.name);
            let op_fields = |o: Option<&crate::estate::ProcPool>| {
                let old = o.map(|o| leaves(&o.spec)).unwrap_or_default();
                field_changes(&old, &leaves(&p.spec))
            };
            match obs {
                None => {
                    let fields = op_fields(None);
                    let op = Op::CreateSharedProcessorPool {
                        frame: frame.clone(),
                        pool: pool.clone(),
                        max: p.spec.max_proc_units,
                        reserved: p.spec.reserved_proc_units,
                    };
                    let i = self.push(op, format!("{object} is not configured on {frame}"), vec![], Phase::Configure);
                    self.steps[i].frees.push((Res::Pool(frame.clone(), pool.clone()), new_avail));
                    let reserved = u64::from(p.spec.reserved_proc_units.hundredths());
                    if reserved > 0 {
                        self.steps[i].consumes.push((Res::Procs(frame.clone()), reserved));
                    }
                    self.frame_config.entry(frame.clone()).or_default().push(i);
                    self.change(ChangeKind::Create, object, Some(frame), fields, "");
                }
                Some(o)
                    if o.spec.max_proc_units != p.spec.max_proc_units
                        || o.spec.reserved_proc_units != p.spec.reserved_proc_units =>
                {
                    let fields = op_fields(Some(o));
                    let old_avail = avail(o.spec.max_proc_units, o.spec.reserved_proc_units);
                    let op = Op::UpdateSharedProcessorPool {
                        frame: frame.clone(),
                        pool: pool.clone(),
                        max: p.spec.max_proc_units,
                        reserved: p.spec.reserved_proc_units,
                    };
                    let grows = new_avail >= old_avail;
                    let i = self.push(
                        op,
                        format!("{object}: limits differ"),
                        vec![],
                        if grows { Phase::Configure } else { Phase::Grow },
                    );
                    let (old_res, new_res) = (
                        u64::from(o.spec.reserved_proc_units.hundredths()),
                        u64::from(p.spec.reserved_proc_units.hundredths()),
                    );
                    if new_res > old_res {
                        self.steps[i].consumes.push((Res::Procs(frame.clone()), new_res - old_res));
                    } else if old_res > new_res {
                        self.steps[i].frees.push((Res::Procs(frame.clone()), old_res - new_res));
                    }
                    let r = Res::Pool(frame.clone(), pool.clone());
                    if grows {
                        self.steps[i].frees.push((r, new_avail - old_avail));
                        self.frame_config.entry(frame.clone()).or_default().push(i);
                    } else {
                        self.steps[i].consumes.push((r, old_avail - new_avail));
                    }
                    self.change(ChangeKind::Update, object, Some(frame), fields, "");
                }
                Some(_) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::plan::fixture::{lab_converged, lab_desired_with, render, replace};
    use crate::plan::{PlanOptions, plan};

    /// A pool that grows is changed before anything that needs it.
    #[test]
    fn a_pool_that_grows_is_changed_first() {
        let desired = lab_desired_with(|name, text| {
            let text = replace("p72.yaml", "maxProcUnits: 8", "maxProcUnits: 10")(name, text);
            replace("p72.yaml", "units: 1.5, virtual: 2", "units: 2.0, virtual: 2")(name, &text)
        });
        let p = plan(&desired, &lab_converged(), PlanOptions::default());
        insta::assert_snapshot!(render(&p));
    }

    /// A pool that shrinks below what its partitions hold is refused by the scheduler, with the
    /// capacity it lacks.
    #[test]
    fn a_pool_cannot_shrink_below_its_partitions() {
        let desired = lab_desired_with(replace("p72.yaml", "maxProcUnits: 8", "maxProcUnits: 1"));
        let p = plan(&desired, &lab_converged(), PlanOptions::default());
        insta::assert_snapshot!(render(&p));
    }
}
