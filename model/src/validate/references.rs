//! `dangling-reference`: every name a manifest mentions must exist.

use super::{finding, known};
use crate::diagnostic::{Diagnostic, Rule};
use crate::estate::{Estate, EstateIndex};
use crate::manifest::{Kind, Placement};
use crate::names::ProcPoolName;

pub(super) fn check(e: &Estate, ix: &EstateIndex<'_>, out: &mut Vec<Diagnostic>) {
    let frames = || known(e.frames.keys());
    let missing_frame = |name: &dyn std::fmt::Display| {
        (
            format!("frame `{name}` is not defined by any Frame manifest"),
            format!("add a `kind: Frame` document named `{name}`, or correct the name (known frames: {})", frames()),
        )
    };
    for p in e.proc_pools.values() {
        if !e.frames.contains_key(&p.spec.frame) {
            let (m, h) = missing_frame(&p.spec.frame);
            out.push(finding(Rule::DanglingReference, Kind::SharedProcessorPool, p, &["spec", "frame"], m, h));
        }
    }
    for p in e.mem_pools.values() {
        if !e.frames.contains_key(&p.spec.frame) {
            let (m, h) = missing_frame(&p.spec.frame);
            out.push(finding(Rule::DanglingReference, Kind::SharedMemoryPool, p, &["spec", "frame"], m, h));
            continue;
        }
        for (i, v) in p.spec.paging_vios.iter().enumerate() {
            if ix.vios(&p.spec.frame, v).is_none() {
                let on_frame =
                    ix.pairs_on(&p.spec.frame).iter().flat_map(|pair| pair.spec.members.iter().map(|m| &m.name));
                out.push(finding(
                    Rule::DanglingReference,
                    Kind::SharedMemoryPool,
                    p,
                    &["spec", "pagingVios", &i.to_string()],
                    format!("paging VIOS `{v}` is not a member of any ViosPair on frame `{}`", p.spec.frame),
                    format!(
                        "name a VIOS of that frame (known: {}), or add it to the frame's ViosPair",
                        known(on_frame)
                    ),
                ));
            }
        }
    }
    for p in e.vios_pairs.values() {
        if !e.frames.contains_key(&p.spec.frame) {
            let (m, h) = missing_frame(&p.spec.frame);
            out.push(finding(Rule::DanglingReference, Kind::ViosPair, p, &["spec", "frame"], m, h));
        }
    }
    for s in e.seas.values() {
        if !e.vios_pairs.contains_key(&s.spec.vios_pair) {
            out.push(finding(
                Rule::DanglingReference,
                Kind::SharedEthernetAdapter,
                s,
                &["spec", "viosPair"],
                format!("VIOS pair `{}` is not defined by any ViosPair manifest", s.spec.vios_pair),
                format!("correct the name (known pairs: {}) or add the ViosPair", known(e.vios_pairs.keys())),
            ));
        }
    }
    let pool_names: std::collections::BTreeSet<&ProcPoolName> =
        e.proc_pools.values().map(|p| &p.spec.pool_name).collect();
    for p in e.partitions.values() {
        match &p.spec.placement {
            Placement::Frame(f) if !e.frames.contains_key(f) => {
                let (m, h) = missing_frame(f);
                out.push(finding(Rule::DanglingReference, Kind::Partition, p, &["spec", "placement", "frame"], m, h));
            }
            Placement::AnyOf(fs) => {
                for (i, f) in fs.iter().enumerate() {
                    if !e.frames.contains_key(f) {
                        let (m, h) = missing_frame(f);
                        let at = ["spec", "placement", "anyOf", &i.to_string()];
                        out.push(finding(Rule::DanglingReference, Kind::Partition, p, &at, m, h));
                    }
                }
            }
            _ => {}
        }
        if let Some(pool) = &p.spec.processors.pool
            && *pool != ProcPoolName::default_pool()
            && !pool_names.contains(pool)
        {
            out.push(finding(
                Rule::DanglingReference,
                Kind::Partition,
                p,
                &["spec", "processors", "pool"],
                format!("shared processor pool `{pool}` is not defined on any frame"),
                format!(
                    "add a SharedProcessorPool with `poolName: {pool}`, omit `pool` for DefaultPool, or use a known pool ({})",
                    known(pool_names.iter())
                ),
            ));
        }
    }
}
