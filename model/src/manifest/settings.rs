//! `kind: Settings`: how powerplane reconciles this manifest directory. At most one per
//! directory; without one, the defaults apply.

use serde::{Deserialize, Serialize};

/// Reconciliation settings of a manifest directory.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SettingsSpec {
    /// Delete observed partitions (and SEAs, paging devices) that no manifest describes.
    /// Default off, like Argo CD: what powerplane does not manage it reports and leaves alone.
    #[serde(default)]
    pub prune: bool,
    /// Let `watch` start a VIOS that went down outside powerplane (a crash, or someone
    /// stopped it on the HMC). Default off: the loop reports it and its heal (paging failback,
    /// SEA failback) waits until the VIOS is back, because restarting a VIOS that crashed, or
    /// that an administrator is servicing, is a decision for a person. `apply` always plans
    /// the start for review.
    #[serde(default)]
    pub restart_vios: bool,
    /// Let `prune` act on a desired state without any partition. Default off: a manifest
    /// directory that lost its partition files (a bad checkout, a wrong path) must not delete
    /// every partition of the estate.
    #[serde(default)]
    pub allow_empty: bool,
    /// When disruptive actions may run (issue 15). Without any, they run whenever a plan is
    /// applied; with some, the kinds a window lists, on the frames it covers, run only inside
    /// one of its windows and only when estimated to end before it closes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub maintenance_windows: Vec<super::MaintenanceWindow>,
    /// Let a move set `reserve_policy=no_reserve` on the target VIOS's disk of a LUN the
    /// partition uses, when that disk is reserved and not in use there (the seed's remedy for
    /// HSCLA356: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, lines 465-468 and
    /// 1673). Default off: a SCSI reserve may protect a disk another host shares, and lifting
    /// it is the storage administrator's decision; without it the target is not eligible.
    #[serde(default)]
    pub set_no_reserve: bool,
}
