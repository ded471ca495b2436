//! `kind: SharedProcessorPool`: a named shared processor pool on one frame.

use serde::{Deserialize, Serialize};

use crate::names::{FrameName, ProcPoolName};
use crate::units::ProcUnits;

/// A shared processor pool (`chhwres -r procpool`). Partitions name the pool by `poolName`,
/// so the reference resolves on whichever frame they run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SharedProcessorPoolSpec {
    /// The frame that has the pool.
    pub frame: FrameName,
    /// The pool's name on the HMC, e.g. `prodpool`.
    pub pool_name: ProcPoolName,
    /// Upper limit of processing units the pool's partitions may consume.
    pub max_proc_units: ProcUnits,
    /// Entitled capacity set aside for the pool beyond its partitions' entitlements.
    #[serde(default)]
    pub reserved_proc_units: ProcUnits,
}
