//! `kind: SharedMemoryPool`: the Active Memory Sharing pool of a frame.

use serde::{Deserialize, Serialize};

use crate::names::{DeviceName, FrameName, ViosName};
use crate::units::MemoryMb;

/// The shared memory pool (`chhwres -r mempool`); at most one per frame.
// seeds: ams-overview-de.txt, "es gibt aber maximal nur einen Shared Memory Pool"
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SharedMemoryPoolSpec {
    /// The frame that has the pool.
    pub frame: FrameName,
    /// Physical memory of the pool (`pool_mem`).
    #[serde(rename = "poolMemMB")]
    pub pool_mem_mb: MemoryMb,
    /// Largest size the pool may grow to without recreating it (`max_pool_mem`).
    #[serde(rename = "maxPoolMemMB")]
    pub max_pool_mem_mb: MemoryMb,
    /// The paging VIOS: one or two, never more. The first is "paging VIOS 1", the default
    /// primary of the pool's partitions.
    pub paging_vios: Vec<ViosName>,
    /// Paging space devices; each partition needs one at least as large as its `maxMB`.
    #[serde(default)]
    pub paging_devices: Vec<PagingDeviceSpec>,
}

/// A paging space device of the pool.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PagingDeviceSpec {
    /// The disk as a paging VIOS names it, e.g. `hdisk17`.
    pub device: DeviceName,
    /// Its size.
    #[serde(rename = "sizeMB")]
    pub size_mb: MemoryMb,
}
