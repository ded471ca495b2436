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
