//! `vios-pair-members` and `name-conflict` for VIOS.

use std::collections::BTreeMap;

use super::finding;
use crate::diagnostic::{Diagnostic, Rule};
use crate::estate::Estate;
use crate::manifest::Kind;

pub(super) fn check(e: &Estate, out: &mut Vec<Diagnostic>) {
    let mut seen = BTreeMap::new();
    for p in e.vios_pairs.values() {
        let n = p.spec.members.len();
        if !(1..=2).contains(&n) {
            out.push(finding(
                Rule::ViosPairMembers,
                Kind::ViosPair,
                p,
                &["spec", "members"],
                format!("a VIOS pair has one or two members, this one has {n}"),
                "list the frame's one or two VIOS; describe further VIOS in another ViosPair",
            ));
        }
        for (i, m) in p.spec.members.iter().enumerate() {
            let at = ["spec", "members", &i.to_string(), "name"];
            if p.spec.members[..i].iter().any(|o| o.name == m.name) {
                out.push(finding(
                    Rule::ViosPairMembers,
                    Kind::ViosPair,
                    p,
                    &at,
                    format!("VIOS `{}` is listed twice", m.name),
                    "a pair has two distinct VIOS; remove the duplicate",
                ));
            } else if let Some(other) = seen.insert((&p.spec.frame, &m.name), &p.metadata.name) {
                out.push(finding(
                    Rule::NameConflict,
                    Kind::ViosPair,
                    p,
                    &at,
                    format!("VIOS `{}` on frame `{}` is already a member of ViosPair `{other}`", m.name, p.spec.frame),
                    "a VIOS belongs to one pair; remove it from one of them",
                ));
            }
        }
    }
}
