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
}
