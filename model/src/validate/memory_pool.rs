//! Shared memory pool rules: one per frame, one or two paging VIOS, sane limits.
// seeds: ams-dual-vios-and-lpm.txt, "If you have more than two Virtual I/O Servers you can only
// define two of them as paging VIOS partitions."

use std::collections::BTreeMap;

use super::finding;
use crate::diagnostic::{Diagnostic, Rule};
use crate::estate::Estate;
use crate::manifest::Kind;

pub(super) fn check(e: &Estate, out: &mut Vec<Diagnostic>) {
    let mut per_frame = BTreeMap::new();
    for p in e.mem_pools.values() {
        let sp = &p.spec;
        let pool =
            |rule, path: &[&str], msg: String, hint: &str| finding(rule, Kind::SharedMemoryPool, p, path, msg, hint);
        if let Some(first) = per_frame.insert(&sp.frame, &p.metadata.name) {
            per_frame.insert(&sp.frame, first);
            out.push(pool(
                Rule::MemoryPoolPerFrame,
                &["spec", "frame"],
                format!("frame `{}` already has shared memory pool `{first}`; a frame has at most one", sp.frame),
                "merge the two pools into one (add the paging devices to it), or move this one to another frame",
            ));
        }
        let n = sp.paging_vios.len();
        if !(1..=2).contains(&n) {
            out.push(pool(
                Rule::PagingViosCount,
                &["spec", "pagingVios"],
                format!("a shared memory pool has one or two paging VIOS, this one lists {n}"),
                "list one paging VIOS, or two for redundant paging",
            ));
        } else if n == 2 && sp.paging_vios[0] == sp.paging_vios[1] {
            out.push(pool(
                Rule::PagingViosCount,
                &["spec", "pagingVios", "1"],
                format!("paging VIOS `{}` is listed twice", sp.paging_vios[0]),
                "name two different VIOS for redundant paging, or list it once",
            ));
        }
        if sp.pool_mem_mb > sp.max_pool_mem_mb {
            out.push(pool(
                Rule::MemoryPoolLimits,
                &["spec", "poolMemMB"],
                format!("poolMemMB {} is above maxPoolMemMB {}", sp.pool_mem_mb.0, sp.max_pool_mem_mb.0),
                "raise maxPoolMemMB or lower poolMemMB",
            ));
        }
        if sp.pool_mem_mb.0 == 0 {
            out.push(pool(
                Rule::MemoryPoolLimits,
                &["spec", "poolMemMB"],
                "poolMemMB is 0; the pool needs physical memory".to_owned(),
                "give the pool memory, e.g. `poolMemMB: 1024`",
            ));
        }
        for (i, d) in sp.paging_devices.iter().enumerate() {
            if sp.paging_devices[..i].iter().any(|o| o.device == d.device) {
                out.push(pool(
                    Rule::PagingDeviceCount,
                    &["spec", "pagingDevices", &i.to_string()],
                    format!("paging device `{}` is listed twice", d.device),
                    "a device serves one partition; remove the duplicate",
                ));
            }
        }
    }
}
