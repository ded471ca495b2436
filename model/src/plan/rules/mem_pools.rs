//! **Shared memory pools and their paging devices come before the partitions that page through
//! them.** A missing pool is created once its paging VIOS run; pool memory is grown first or
//! shrunk after partitions leave; each paging device not yet in the pool is added through a
//! paging VIOS that sees the disk (a disk both VIOS see is a common device, which a partition
//! that requires redundant paging needs); with prune, devices no manifest lists are removed last.
//! The paging VIOS of an existing pool are not changed by a plan.
//!
//! seeds: ams-dual-vios-and-lpm.txt, line 7: "make sure the number of common paging space
//! devices matches the number of redundant shared memory partitions"; ams-overview-de.txt: one
//! shared memory pool per frame, a paging device per partition.

use std::collections::BTreeSet;

use super::{Planner, names};
use crate::action::Op;
use crate::estate::MemPool;
use crate::manifest::Kind;
use crate::names::DeviceName;
use crate::plan::change::{ChangeKind, field_changes};
use crate::plan::step::{Phase, Res};
use crate::yaml::leaves;

impl Planner<'_, '_> {
    pub(super) fn mem_pools(&mut self) {
        for p in self.desired.mem_pools.values() {
            let obs = self.observed_index.mem_pool_on(&p.spec.frame);
            let Some(deps) = self.mem_pool(p, obs) else { continue };
            self.add_paging_devices(p, obs, &deps);
            if self.opts.prune
                && let Some(o) = obs
            {
                self.prune_paging_devices(p, o);
            }
        }
    }

    /// The pool itself: created after its paging VIOS are ready, or its memory changed (grown
    /// first, shrunk after partitions leave). Returns the steps its paging devices wait for, or
    /// `None` (with a plan error) when the change cannot be planned.
    fn mem_pool(&mut self, p: &MemPool, obs: Option<&MemPool>) -> Option<Vec<usize>> {
        let frame = &p.spec.frame;
        let object = format!("{}/{}", Kind::SharedMemoryPool, p.metadata.name);
        // Paging devices are a set: the order the HMC lists them in is the order they were
        // added, which is no difference to plan.
        let sorted = |s: &crate::manifest::SharedMemoryPoolSpec| {
            let mut s = s.clone();
            s.paging_devices.sort_by(|a, b| a.device.cmp(&b.device));
            leaves(&s)
        };
        let fields = field_changes(&obs.map(|o| sorted(&o.spec)).unwrap_or_default(), &sorted(&p.spec));
        let mut deps = Vec::new();
        for v in &p.spec.paging_vios {
            deps.extend(self.vios_ready.get(&(frame.clone(), v.clone())).cloned().unwrap_or_default());
        }
        match obs {
            None => {
                let op = Op::CreateSharedMemoryPool {
                    frame: frame.clone(),
                    pool_mem: p.spec.pool_mem_mb,
                    max_pool_mem: p.spec.max_pool_mem_mb,
                    paging_vios: p.spec.paging_vios.clone(),
                };
                let i = self.push(op, format!("{object} does not exist on {frame}"), deps.clone(), Phase::Configure);
                self.steps[i].consumes.push((Res::Memory(frame.clone()), p.spec.pool_mem_mb.0));
                self.frame_config.entry(frame.clone()).or_default().push(i);
                deps = vec![i];
                self.change(ChangeKind::Create, object.clone(), Some(frame), fields, "");
            }
            Some(o) => {
                if o.spec.paging_vios != p.spec.paging_vios {
                    self.errors.push(format!(
                        "{object}: changing the paging VIOS of an existing shared memory pool ({} -> {}) is not planned; the HMC needs the pool reconfigured with its partitions shut down",
                        names(&o.spec.paging_vios),
                        names(&p.spec.paging_vios)
                    ));
                    return None;
                }
                if o.spec.pool_mem_mb != p.spec.pool_mem_mb || o.spec.max_pool_mem_mb != p.spec.max_pool_mem_mb {
                    let op = Op::UpdateSharedMemoryPool {
                        frame: frame.clone(),
                        pool_mem: p.spec.pool_mem_mb,
                        max_pool_mem: p.spec.max_pool_mem_mb,
                    };
                    let grows = p.spec.pool_mem_mb >= o.spec.pool_mem_mb;
                    let i = self.push(
                        op,
                        format!("{object}: pool memory differs"),
                        deps.clone(),
                        if grows { Phase::Configure } else { Phase::Free },
                    );
                    let r = Res::Memory(frame.clone());
                    if grows {
                        self.steps[i].consumes.push((r, p.spec.pool_mem_mb.0 - o.spec.pool_mem_mb.0));
                    } else {
                        self.steps[i].frees.push((r, o.spec.pool_mem_mb.0 - p.spec.pool_mem_mb.0));
                    }
                    self.frame_config.entry(frame.clone()).or_default().push(i);
                }
                if !fields.is_empty() {
                    self.change(ChangeKind::Update, object.clone(), Some(frame), fields, "");
                }
            }
        }
        Some(deps)
    }

    /// Each paging device the pool lacks is added through a paging VIOS that sees the disk; a
    /// disk both paging VIOS see becomes a common device.
    fn add_paging_devices(&mut self, p: &MemPool, obs: Option<&MemPool>, deps: &[usize]) {
        let frame = &p.spec.frame;
        let object = format!("{}/{}", Kind::SharedMemoryPool, p.metadata.name);
        let existing: Vec<&DeviceName> =
            obs.map(|o| o.spec.paging_devices.iter().map(|d| &d.device).collect()).unwrap_or_default();
        let common: BTreeSet<&DeviceName> = self.placer.common_devices(frame).into_iter().map(|c| &c.device).collect();
        for dev in &p.spec.paging_devices {
            if existing.contains(&&dev.device) {
                continue;
            }
            let vios = p
                .spec
                .paging_vios
                .iter()
                .find(|v| {
                    self.observed_index
                        .vios_hardware(frame, v)
                        .is_some_and(|h| h.disks.iter().any(|d| d.name == dev.device))
                })
                .unwrap_or(&p.spec.paging_vios[0])
                .clone();
            let op = Op::AddPagingDevice { frame: frame.clone(), vios, device: dev.device.clone() };
            let i = self.push(
                op,
                format!("{object}: paging device {} is not in the pool", dev.device),
                deps.to_vec(),
                Phase::Configure,
            );
            self.steps[i].frees.push((Res::Devices(frame.clone()), 1));
            if common.contains(&dev.device) {
                self.steps[i].frees.push((Res::CommonDevices(frame.clone()), 1));
            }
            self.frame_config.entry(frame.clone()).or_default().push(i);
        }
    }

    /// With prune, each paging device the manifest no longer lists is removed, last.
    fn prune_paging_devices(&mut self, p: &MemPool, o: &MemPool) {
        let frame = &p.spec.frame;
        let object = format!("{}/{}", Kind::SharedMemoryPool, p.metadata.name);
        let status = self.observed.status.paging_devices.get(frame).cloned().unwrap_or_default();
        for dev in o.spec.paging_devices.iter().filter(|d| !p.spec.paging_devices.iter().any(|w| w.device == d.device))
        {
            let vios = p.spec.paging_vios[0].clone();
            let i = self.push(
                Op::RemovePagingDevice { frame: frame.clone(), vios, device: dev.device.clone() },
                format!("{object}: paging device {} is not in the manifest (prune)", dev.device),
                vec![],
                Phase::Delete,
            );
            let free_now = status.iter().find(|s| s.device == dev.device && s.assigned.is_none());
            if let Some(d) = free_now {
                self.steps[i].consumes.push((Res::Devices(frame.clone()), 1));
                if d.redundant {
                    self.steps[i].consumes.push((Res::CommonDevices(frame.clone()), 1));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::plan::fixture::{lab_converged, lab_desired_with, render, replace};
    use crate::plan::{PlanOptions, plan};

    /// Pool memory grows before partitions arriving on the frame; changing the paging VIOS of
    /// an existing pool is refused.
    #[test]
    fn pool_memory_grows_and_paging_vios_are_not_changed() {
        let grow = lab_desired_with(replace("solchms05.yaml", "poolMemMB: 1024", "poolMemMB: 2048"));
        let vios = lab_desired_with(replace(
            "solchms05.yaml",
            "pagingVios: [lpar_1_solchio05, lpar_2_solchio06]",
            "pagingVios: [lpar_1_solchio05]",
        ));
        let observed = lab_converged();
        insta::assert_snapshot!(render(&plan(&grow, &observed, PlanOptions::default())));
        insta::assert_snapshot!(render(&plan(&vios, &observed, PlanOptions::default())));
    }
}
