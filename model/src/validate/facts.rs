//! Rules that need the backend's physical facts: every frame and VIOS exists, SEA adapters
//! exist on both VIOS, paging devices are visible to the paging VIOS and large enough.

use super::{finding, known};
use crate::diagnostic::{Diagnostic, Rule};
use crate::estate::{Estate, EstateIndex};
use crate::manifest::Kind;

pub(super) fn check(e: &Estate, ix: &EstateIndex<'_>, facts: &EstateIndex<'_>, out: &mut Vec<Diagnostic>) {
    for f in e.frames.values() {
        // A frame set aside is listed by the backend, not observed: the plan holds it.
        if facts.hardware(&f.metadata.name).is_none() && !facts.estate().status.set_aside.contains_key(&f.metadata.name)
        {
            out.push(finding(
                Rule::UnknownToBackend,
                Kind::Frame,
                f,
                &["metadata", "name"],
                format!("the backend has no frame `{}`", f.metadata.name),
                format!(
                    "correct the name to a managed system the backend knows ({})",
                    known(facts.estate().hardware.keys())
                ),
            ));
        }
    }
    for p in e.vios_pairs.values() {
        let Some(hw) = facts.hardware(&p.spec.frame) else {
            continue;
        };
        for (i, m) in p.spec.members.iter().enumerate() {
            if facts.vios_hardware(&p.spec.frame, &m.name).is_none() {
                out.push(finding(
                    Rule::UnknownToBackend,
                    Kind::ViosPair,
                    p,
                    &["spec", "members", &i.to_string(), "name"],
                    format!("frame `{}` has no VIOS `{}`", p.spec.frame, m.name),
                    format!("use a VIOS the frame has ({})", known(hw.spec.vios.iter().map(|v| &v.name))),
                ));
            }
        }
    }
    for s in e.seas.values() {
        let Some(pair) = e.vios_pairs.get(&s.spec.vios_pair) else {
            continue;
        };
        for m in &pair.spec.members {
            let Some(vhw) = facts.vios_hardware(&pair.spec.frame, &m.name) else {
                continue;
            };
            // A VIOS that could not be listed has adapters nobody knows: the plan holds what
            // needs it (`plan::unobserved`), and nothing is reported missing.
            if facts.estate().status.vios_unknown(&pair.spec.frame, &m.name) {
                continue;
            }
            let adapters = std::iter::once((&s.spec.real_adapter, vec!["spec".to_owned(), "realAdapter".to_owned()]))
                .chain(s.spec.control_channel.iter().map(|c| (c, vec!["spec".to_owned(), "controlChannel".to_owned()])))
                .chain(s.spec.trunks.iter().enumerate().map(|(i, t)| {
                    (&t.adapter, vec!["spec".to_owned(), "trunks".to_owned(), i.to_string(), "adapter".to_owned()])
                }));
            // Trunks appended to a SEA that exists are added live by DLPAR; the VIOS gets them.
            // seeds: powervm-quickstart..., line 1049: "create additional trunk adapter on the vio
            // server with dlpar".
            let live = facts.seas_on(&pair.spec.frame).next().map_or(usize::MAX, |o| {
                let n = o.spec.trunks.len();
                if s.spec.trunks.len() > n && s.spec.trunks[..n] == o.spec.trunks[..] { n } else { usize::MAX }
            });
            let appended = |a: &crate::names::DeviceName| s.spec.trunks.iter().skip(live).any(|t| &t.adapter == a);
            for (adapter, path) in adapters {
                if !vhw.ethernet.contains(adapter) && !appended(adapter) {
                    let path: Vec<&str> = path.iter().map(String::as_str).collect();
                    out.push(finding(
                        Rule::AdapterMissing,
                        Kind::SharedEthernetAdapter,
                        s,
                        &path,
                        format!("VIOS `{}` has no ethernet adapter `{adapter}`", m.name),
                        format!("use an adapter the VIOS has ({})", known(vhw.ethernet.iter())),
                    ));
                }
            }
        }
    }
    for pool in e.mem_pools.values() {
        for (i, dev) in pool.spec.paging_devices.iter().enumerate() {
            if pool.spec.paging_vios.iter().any(|v| facts.estate().status.vios_unknown(&pool.spec.frame, v)) {
                continue;
            }
            let seen = pool
                .spec
                .paging_vios
                .iter()
                .filter_map(|v| ix.vios(&pool.spec.frame, v).and(facts.vios_hardware(&pool.spec.frame, v)))
                .flat_map(|v| v.disks.iter())
                .find(|d| d.name == dev.device);
            let at = ["spec", "pagingDevices", &i.to_string(), "device"];
            match seen {
                None => out.push(finding(
                    Rule::PagingDeviceNotVisible,
                    Kind::SharedMemoryPool,
                    pool,
                    &at,
                    format!("no paging VIOS of the pool sees a disk `{}`", dev.device),
                    "assign the disk to the paging VIOS (both, for a common device), or correct the device name",
                )),
                Some(d) if d.size_mb < dev.size_mb => out.push(finding(
                    Rule::PagingDeviceNotVisible,
                    Kind::SharedMemoryPool,
                    pool,
                    &at,
                    format!("disk `{}` has {}, the manifest says {}", dev.device, d.size_mb, dev.size_mb),
                    "set sizeMB to the disk's real size",
                )),
                Some(_) => {}
            }
        }
    }
}
