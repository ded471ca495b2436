//! `kind: ViosPair`: the Virtual I/O Servers of a frame.

use serde::{Deserialize, Serialize};

use super::RunState;
use crate::names::{FrameName, ViosName};

/// The VIOS of one frame: two for redundancy (dual VIOS), or one on a small system such as a
/// JS22 blade run by IVM.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ViosPairSpec {
    /// The frame the VIOS run on.
    pub frame: FrameName,
    /// One or two members.
    pub members: Vec<ViosMember>,
}

/// One VIOS of a pair and its desired state; `stopped` is planned VIOS maintenance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ViosMember {
    /// The VIOS partition's name.
    pub name: ViosName,
    /// `running`, or `stopped` for maintenance.
    #[serde(default)]
    pub state: RunState,
}
