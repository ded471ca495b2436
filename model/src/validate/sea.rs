//! SEA rules: one SEA per VIOS pair, trunk priorities, adapters, load-sharing prerequisites.
// seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, "Requirements" of SEA load
// sharing: two or more trunk adapters, identical VLAN definitions, sharing on both SEAs.

use std::collections::BTreeMap;

use super::finding;
use crate::diagnostic::{Diagnostic, Rule};
use crate::estate::{Estate, EstateIndex};
use crate::manifest::{HaMode, Kind};

pub(super) fn check(e: &Estate, ix: &EstateIndex<'_>, out: &mut Vec<Diagnostic>) {
    for pair in e.vios_pairs.values() {
        let seas = ix.seas_of(&pair.metadata.name);
        for extra in seas.iter().skip(1) {
            out.push(finding(
                Rule::SeaPerViosPair,
                Kind::SharedEthernetAdapter,
                extra,
                &["spec", "viosPair"],
                format!(
                    "VIOS pair `{}` already has SEA `{}`; powerplane manages one SEA per VIOS pair",
                    pair.metadata.name, seas[0].metadata.name
                ),
                "bridge all VLANs of the pair through one SEA (add trunks to it), or remove this one",
            ));
        }
    }
    for s in e.seas.values() {
        let sp = &s.spec;
        let sea = |rule, path: &[&str], msg: String, hint: &str| {
            finding(rule, Kind::SharedEthernetAdapter, s, path, msg, hint)
        };
        if let Some(pair) = e.vios_pairs.get(&sp.vios_pair) {
            let members = pair.spec.members.len();
            if !pair.spec.members.iter().any(|m| m.name == sp.primary) {
                let names: Vec<String> = pair.spec.members.iter().map(|m| m.name.to_string()).collect();
                out.push(sea(
                    Rule::SeaPriority,
                    &["spec", "primary"],
                    format!("primary `{}` is not a member of VIOS pair `{}`", sp.primary, sp.vios_pair),
                    &format!("set `primary` to one of the pair's VIOS: {}", names.join(", ")),
                ));
            }
            match (sp.ha_mode, members) {
                (HaMode::Auto | HaMode::Sharing, 1) => out.push(sea(
                    Rule::SeaPriority,
                    &["spec", "haMode"],
                    format!(
                        "haMode `{}` needs a backup SEA, but VIOS pair `{}` has one member",
                        sp.ha_mode, sp.vios_pair
                    ),
                    "add the second VIOS to the pair, or use `haMode: disabled` for a single VIOS",
                )),
                (HaMode::Disabled, 2) => out.push(sea(
                    Rule::SeaPriority,
                    &["spec", "haMode"],
                    "haMode `disabled` on a pair of two VIOS would bridge the same VLANs twice and loop the network"
                        .to_owned(),
                    "use `auto` (failover) or `sharing` (load sharing)",
                )),
                _ => {}
            }
            if sp.ha_mode == HaMode::Sharing && members < 2 {
                // Reported above as a priority problem; load sharing cannot start either.
            } else if sp.ha_mode == HaMode::Sharing && sp.trunks.len() < 2 {
                out.push(sea(
                    Rule::LoadSharingPrerequisites,
                    &["spec", "trunks"],
                    format!("load sharing needs two or more trunk adapters, this SEA has {}", sp.trunks.len()),
                    "add a second trunk adapter (the VLANs are split by trunk), or use `haMode: auto`",
                ));
            }
        }
        if sp.ha_mode != HaMode::Disabled && sp.control_channel.is_none() {
            out.push(sea(
                Rule::SeaAdapters,
                &["spec", "haMode"],
                format!("haMode `{}` needs a control channel between the two SEAs", sp.ha_mode),
                "add `controlChannel: entN` naming the control channel adapter",
            ));
        }
        if sp.trunks.is_empty() {
            out.push(sea(
                Rule::SeaAdapters,
                &["spec", "trunks"],
                "a SEA needs at least one trunk adapter".to_owned(),
                "add a trunk: `trunks: [{adapter: ent1, pvid: 1}]`",
            ));
        }
        let mut adapters = BTreeMap::new();
        adapters.insert(&sp.real_adapter, "realAdapter".to_owned());
        if let Some(cc) = &sp.control_channel
            && let Some(prev) = adapters.insert(cc, "controlChannel".to_owned())
        {
            out.push(sea(
                Rule::SeaAdapters,
                &["spec", "controlChannel"],
                format!("adapter `{cc}` is both {prev} and controlChannel"),
                "each adapter has one role; use another adapter",
            ));
        }
        let mut vlans = BTreeMap::new();
        for (i, t) in sp.trunks.iter().enumerate() {
            let idx = i.to_string();
            if let Some(prev) = adapters.insert(&t.adapter, format!("trunk {i}")) {
                out.push(sea(
                    Rule::SeaAdapters,
                    &["spec", "trunks", &idx, "adapter"],
                    format!("adapter `{}` is both {prev} and trunk {i}", t.adapter),
                    "each adapter has one role; use another adapter",
                ));
            }
            for v in t.all_vlans() {
                if let Some(prev) = vlans.insert(v, i) {
                    out.push(sea(
                        Rule::VlanOnTwoTrunks,
                        &["spec", "trunks", &idx],
                        format!(
                            "VLAN {v} is on trunk {prev} (`{}`) and trunk {i} (`{}`)",
                            sp.trunks[prev].adapter, t.adapter
                        ),
                        "a VLAN is bridged by one trunk adapter; remove it from one of them",
                    ));
                }
            }
        }
    }
}
