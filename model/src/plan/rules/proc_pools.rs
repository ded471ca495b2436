//! **Shared processor pools are configured before the partitions that need them.** A frame has
//! pools 0 to 63 (`DefaultPool`, `SharedPool01`..`63`); a missing pool is "created" by
//! configuring the lowest unused one and naming it (`chhwres -r procpool -o s --poolname
//! SharedPoolNN -a "new_name=…"`), a pool whose limits differ is changed; a pool that
//! grows gives its partitions room, so partitions arriving on the frame wait for it, while a pool
//! that shrinks takes room and waits for the partitions that leave it.
//!
//! seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, lines 110–114: a pool has
//! a maximum, "Reserved Capacity - Additional (guaranteed) CPU resources that are assigned to the
//! pool", and its entitled capacity is the partitions' desired units plus the reserve.

use std::collections::{BTreeMap, VecDeque};

use super::Planner;
use crate::action::Op;
use crate::estate::ProcPool;
use crate::manifest::Kind;
use crate::names::{FrameName, ProcPoolId, ProcPoolName};
use crate::plan::change::{ChangeKind, field_changes};
use crate::plan::step::{Phase, Res};
use crate::status::ProcPoolSlots;
use crate::yaml::leaves;

impl Planner<'_, '_> {
    pub(super) fn proc_pools(&mut self) {
        // The first observed pool (in name order) of each frame and pool name, and each frame's
        // pool names: one pass, instead of a scan of every observed pool per desired pool.
        let mut observed: BTreeMap<(&FrameName, &ProcPoolName), &ProcPool> = BTreeMap::new();
        let mut names: BTreeMap<&FrameName, Vec<&ProcPoolName>> = BTreeMap::new();
        for o in self.observed.proc_pools.values() {
            observed.entry((&o.spec.frame, &o.spec.pool_name)).or_insert(o);
            names.entry(&o.spec.frame).or_default().push(&o.spec.pool_name);
        }
        // Each frame's pools by id, as listed (else derived: `ProcPoolSlots::derived`); the
        // unused ids are taken lowest first by the pools this plan creates.
        let mut slots: BTreeMap<&FrameName, (ProcPoolSlots, VecDeque<ProcPoolId>)> = BTreeMap::new();
        for f in self.desired.proc_pools.values().map(|p| &p.spec.frame) {
            slots.entry(f).or_insert_with(|| {
                let s = self
                    .observed
                    .status
                    .proc_pool_slots
                    .get(f)
                    .cloned()
                    .unwrap_or_else(|| ProcPoolSlots::derived(names.get(f).into_iter().flatten().copied()));
                let unused = s.unused.iter().copied().collect();
                (s, unused)
            });
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
                    let (frame_slots, unused) = slots.get_mut(frame).expect("every desired pool's frame");
                    let Some(id) = unused.pop_front() else {
                        let why = if frame_slots.has_pools() {
                            "all 63 of its shared processor pools are configured: free one (its maximum back to 0) or use one that exists"
                        } else {
                            "it lists no shared processor pools (a frame without multiple shared processor pools has only DefaultPool)"
                        };
                        self.errors.push(format!("{object} cannot be created on {frame}: {why}"));
                        continue;
                    };
                    let op = Op::CreateSharedProcessorPool {
                        pool_id: id,
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
                    let Some(id) = slots.get(frame).and_then(|(s, _)| s.ids.get(pool)).copied() else {
                        self.errors.push(format!(
                            "{object}: the id of {pool} on {frame} was not listed, so it cannot be changed; observe again"
                        ));
                        continue;
                    };
                    let op = Op::UpdateSharedProcessorPool {
                        pool_id: id,
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

    /// Issue 32 item 2: a new pool takes the lowest unused id the frame lists (two new pools
    /// two ids), a changed pool is changed by its own id; a frame with every pool configured,
    /// or none (no multiple shared processor pools), cannot take one, and the plan says why.
    #[test]
    fn pools_are_created_in_unused_ids_and_changed_by_their_own() {
        use crate::names::{ProcPoolId, ProcPoolName};
        use crate::status::ProcPoolSlots;
        let f = crate::plan::fixture::frame("p72");
        let second = |_: &str, text: &str| {
            text.replace(
                "kind: SharedProcessorPool\nmetadata:\n  name: p72-prodpool\nspec:\n  frame: p72\n  poolName: prodpool\n  maxProcUnits: 8\n  reservedProcUnits: 0\n",
                "kind: SharedProcessorPool\nmetadata:\n  name: p72-prodpool\nspec:\n  frame: p72\n  poolName: prodpool\n  maxProcUnits: 8\n  reservedProcUnits: 0\n---\napiVersion: powerplane/v1\nkind: SharedProcessorPool\nmetadata:\n  name: p72-testpool\nspec:\n  frame: p72\n  poolName: testpool\n  maxProcUnits: 2\n  reservedProcUnits: 0\n",
            )
        };
        let desired = lab_desired_with(second);
        assert_eq!(desired.proc_pools.len(), 2, "the edit adds a pool");
        let mut observed = lab_converged();
        observed.proc_pools.clear();
        let unused = |ids: &[u8]| ids.iter().copied().map(ProcPoolId).collect::<Vec<_>>();
        observed
            .status
            .proc_pool_slots
            .insert(f.clone(), ProcPoolSlots { ids: Default::default(), unused: unused(&[4, 9, 12]) });
        let p = plan(&desired, &observed, PlanOptions::default());
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let cmds: Vec<String> = p.actions.iter().map(|a| a.op.command()).filter(|c| c.contains("procpool")).collect();
        assert_eq!(cmds.len(), 2, "{cmds:?}");
        assert!(cmds[0].contains("--poolname SharedPool04 -a \"new_name=prodpool,max_pool_proc_units=8,"), "{cmds:?}");
        assert!(cmds[1].contains("--poolname SharedPool09 -a \"new_name=testpool,max_pool_proc_units=2,"), "{cmds:?}");
        assert!(
            p.actions
                .iter()
                .any(|a| matches!(a.op, crate::action::Op::CreateSharedProcessorPool { pool_id: ProcPoolId(4), .. }))
        );
        // Changed by its own id.
        let mut observed = lab_converged();
        let grown = lab_desired_with(replace("p72.yaml", "maxProcUnits: 8", "maxProcUnits: 10"));
        observed.status.proc_pool_slots.insert(
            f.clone(),
            ProcPoolSlots {
                ids: [(ProcPoolName::new("prodpool").unwrap(), ProcPoolId(17))].into(),
                unused: unused(&[1]),
            },
        );
        let p = plan(&grown, &observed, PlanOptions::default());
        assert!(p.actions.iter().any(|a| matches!(
            a.op,
            crate::action::Op::UpdateSharedProcessorPool { pool_id: ProcPoolId(17), .. }
        )
            && a.op.command().contains("--poolname prodpool -a \"max_pool_proc_units=10,")));
        // Full, and none at all.
        for (slots, says) in [
            (
                ProcPoolSlots { ids: [(ProcPoolName::new("other").unwrap(), ProcPoolId(1))].into(), unused: vec![] },
                "all 63",
            ),
            (ProcPoolSlots::default(), "lists no shared processor pools"),
        ] {
            let mut observed = lab_converged();
            observed.proc_pools.clear();
            observed.status.proc_pool_slots.insert(f.clone(), slots);
            let p = plan(&lab_desired_with(|_, t| t.to_owned()), &observed, PlanOptions::default());
            assert!(
                p.errors.iter().any(|e| e.contains("p72-prodpool cannot be created on p72") && e.contains(says)),
                "{:?}",
                p.errors
            );
            assert!(p.actions.is_empty(), "a plan with errors has no actions");
        }
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
