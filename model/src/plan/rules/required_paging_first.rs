//! **Partitions that require redundant paging activate first.** On each frame, shared-memory
//! partitions whose paging redundancy is `required` start (or arrive) before the others, which
//! could otherwise take the common paging devices: a `preferred` partition takes a common device
//! when one is free, and one without redundancy takes one when no independent device is left.
//!
//! seeds: ams-dual-vios-and-lpm.txt, line 7: "make sure the number of common paging space
//! devices matches the number of redundant shared memory partitions", and lines 12–13: "If no
//! common paging space device is available, the partition will fail to activate."

use std::collections::BTreeMap;

use super::Planner;
use crate::action::Op;
use crate::manifest::{MemoryMode, Redundancy};
use crate::names::FrameName;

impl Planner<'_, '_> {
    /// On each frame, shared-memory partitions that require redundant paging activate (or
    /// arrive) before the others, which could otherwise take the common paging devices first:
    /// a `preferred` partition takes a common device when one is free, and a partition without
    /// redundancy takes one when no independent device is left.
    // seeds: ams-dual-vios-and-lpm.txt, "make sure the number of common paging space devices
    // matches the number of redundant shared memory partitions."
    pub(super) fn required_paging_first(&mut self) {
        let mut required: BTreeMap<FrameName, Vec<usize>> = BTreeMap::new();
        let mut others: Vec<(FrameName, usize)> = Vec::new();
        for (i, step) in self.steps.iter().enumerate() {
            let (frame, partition) = match &step.op {
                Op::StartPartition { frame, partition, .. } => (frame, partition),
                Op::MigratePartition { partition, to, .. } => (to, partition),
                _ => continue,
            };
            let Some(p) = self.desired.partitions.get(partition) else { continue };
            if p.spec.memory.mode != MemoryMode::Shared {
                continue;
            }
            if p.spec.memory.paging.unwrap_or_default().redundancy == Redundancy::Required {
                required.entry(frame.clone()).or_default().push(i);
            } else {
                others.push((frame.clone(), i));
            }
        }
        for (frame, i) in others {
            if let Some(first) = required.get(&frame) {
                self.steps[i].deps.extend(first.iter().copied());
            }
        }
    }
}
