//! `kind: Frame`: a managed system under powerplane's control.

use serde::{Deserialize, Serialize};

/// What the operator decides about a frame. Physical facts (serial, memory, processors,
/// compatibility modes, battery) come from the backend, never from manifests.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FrameSpec {
    /// Planned maintenance: no partition may stay on the frame, the planner migrates every
    /// partition away (the main use of LPM in the seeds).
    #[serde(default)]
    pub maintenance: bool,
}
