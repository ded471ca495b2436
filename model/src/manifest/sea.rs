//! `kind: SharedEthernetAdapter`: a SEA failover pair bridging client VLANs to a real adapter.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::names::{DeviceName, ViosName, ViosPairName};
use crate::units::VlanId;

/// The SEA on the members of a VIOS pair (`mkvdev -sea`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SeaSpec {
    /// The VIOS pair that carries the SEA.
    pub vios_pair: ViosPairName,
    /// `auto` (classic failover), `sharing` (load sharing), or `disabled` (a single VIOS, no
    /// failover partner).
    pub ha_mode: HaMode,
    /// The member with trunk priority 1; the other gets priority 2.
    pub primary: ViosName,
    /// The physical adapter, e.g. `ent0`.
    pub real_adapter: DeviceName,
    /// The control channel adapter between the two SEAs; required for `auto` and `sharing`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_channel: Option<DeviceName>,
    /// Trunk adapters in `mkvdev` order; the first is the default adapter.
    pub trunks: Vec<TrunkSpec>,
}

/// A trunk (virtual ethernet) adapter of the SEA.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TrunkSpec {
    /// The virtual adapter, e.g. `ent1`.
    pub adapter: DeviceName,
    /// Its port VLAN id.
    pub pvid: VlanId,
    /// Additional (tagged) VLAN ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vlans: Vec<VlanId>,
}

impl TrunkSpec {
    /// The PVID followed by the tagged VLANs, as `entstat` lists them (`VID shared: 1 10 11`).
    pub fn all_vlans(&self) -> impl Iterator<Item = VlanId> + '_ {
        std::iter::once(self.pvid).chain(self.vlans.iter().copied())
    }
}

/// The VLANs each SEA of a load-sharing pair bridges, `(primary, backup)`, each in ascending
/// order as `entstat` lists them (`VID shared: 3 4 33 44 333`).
///
/// The rule, derived from the seed's two listings: the trunk adapters, in `virt_adapters`
/// order, are divided in two halves; with an even number the backup, which proposes the VLANs
/// it takes over, takes the half that carries more VLANs, the second when both carry as many;
/// with an odd number the first half has the extra trunk and stays with the primary. With `ent1 {1: 10, 11}`, `ent2 {2: 12, 13}` that is
/// `1 10 11` / `2 12 13`; adding `ent5 {3: 33}`, `ent6 {4: 44, 333}` gives the backup the
/// first half (six VLANs against five): `3 4 33 44 333` / `1 2 10 11 12 13`.
// seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, line 861 ("The packet
// contains the list of VLANs the backup SEA proposes to take over for bridging"), line 1335
// ("VIOS divides the number of trunk adapters by 2. One VIOS bridges all VLANs of one half,
// and the other VIOS does bridging for VLANs of the other half"), lines 742–750 (two trunks)
// and 1034–1042, 1125–1151 (four trunks).
pub fn load_sharing_split(trunks: &[TrunkSpec]) -> (Vec<VlanId>, Vec<VlanId>) {
    let half = trunks.len().div_ceil(2);
    let vlans = |ts: &[TrunkSpec]| {
        let mut v: Vec<VlanId> = ts.iter().flat_map(TrunkSpec::all_vlans).collect();
        v.sort_unstable();
        v
    };
    let (first, second) = (vlans(&trunks[..half]), vlans(&trunks[half..]));
    if first.len() > second.len() && trunks.len().is_multiple_of(2) { (second, first) } else { (first, second) }
}

/// The SEA's `ha_mode` attribute as the operator sets it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum HaMode {
    /// Classic failover: the primary bridges everything, the backup waits.
    Auto,
    /// Load sharing: the VLANs are split between primary and backup.
    Sharing,
    /// No failover (a single VIOS).
    Disabled,
}

impl fmt::Display for HaMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HaMode::Auto => "auto",
            HaMode::Sharing => "sharing",
            HaMode::Disabled => "disabled",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trunk(adapter: &str, pvid: u16, vlans: &[u16]) -> TrunkSpec {
        TrunkSpec {
            adapter: DeviceName::new(adapter).unwrap(),
            pvid: VlanId::new(pvid).unwrap(),
            vlans: vlans.iter().map(|v| VlanId::new(*v).unwrap()).collect(),
        }
    }

    fn listed(v: &[VlanId]) -> String {
        v.iter().map(ToString::to_string).collect::<Vec<_>>().join(" ")
    }

    /// Both of the seed's listings: two trunks (lines 742–750) and the four after adding ent5
    /// and ent6 (lines 1125–1151).
    #[test]
    fn the_load_sharing_split_reproduces_the_seed() {
        let two = [trunk("ent1", 1, &[10, 11]), trunk("ent2", 2, &[12, 13])];
        let (p, b) = load_sharing_split(&two);
        assert_eq!((listed(&p).as_str(), listed(&b).as_str()), ("1 10 11", "2 12 13"));
        let four = [two[0].clone(), two[1].clone(), trunk("ent5", 3, &[33]), trunk("ent6", 4, &[44, 333])];
        let (p, b) = load_sharing_split(&four);
        assert_eq!((listed(&p).as_str(), listed(&b).as_str()), ("3 4 33 44 333", "1 2 10 11 12 13"));
        // An odd number: the primary's half has the extra trunk.
        let three = [two[0].clone(), two[1].clone(), trunk("ent5", 3, &[33])];
        let (p, b) = load_sharing_split(&three);
        assert_eq!((listed(&p).as_str(), listed(&b).as_str()), ("1 2 10 11 12 13", "3 33"));
    }
}
