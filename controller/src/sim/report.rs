//! What `sim show` prints: every frame with its capacity, VIOS, SEA states and bridged VLANs,
//! shared memory pool and paging devices, and partitions with their current paging VIOS.

use serde::{Deserialize, Serialize};

use powerplane_model::status::{LparState, PagingDeviceStatus, SeaMemberStatus};
use powerplane_model::{FrameName, MemoryMb, PartitionName, ProcUnits, SeaName, ViosName};

use super::state::SimState;
use super::{capacity, sea};

/// The whole simulated estate, for people (`sim show`) and scripts (`--format json`).
#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(rename = "SimReport")]
pub struct Report {
    /// The seed of `sim init`.
    pub seed: u64,
    /// Virtual time since `sim init`, in seconds.
    pub virtual_seconds: u64,
    /// Frames in name order.
    pub frames: Vec<FrameReport>,
    /// Migrations the HMC is carrying out or that await recovery (`lslparmigr -r lpar`).
    pub migrations: Vec<MigrationReport>,
    /// The error-log entries kept, oldest first (`sim events`).
    pub events: Vec<super::events::SimEvent>,
    /// Cluster members, by partition, as their cluster manager reports them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cluster_nodes: Vec<NodeReport>,
}

/// One cluster member, as its cluster manager reports it.
#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NodeReport {
    /// The member partition.
    pub partition: PartitionName,
    /// The frame it runs on.
    pub frame: FrameName,
    /// Its cluster manager's view of it.
    #[serde(flatten)]
    pub status: powerplane_model::status::NodeStatus,
}

/// One migration, as `lslparmigr -r lpar -m SRC` shows it.
#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MigrationReport {
    /// The migrating partition.
    pub partition: PartitionName,
    /// Its source frame.
    pub from: FrameName,
    /// Target, state, progress.
    #[serde(flatten)]
    pub status: powerplane_model::status::MigrationStatus,
    /// `active` (the partition runs) or `inactive`.
    pub migration_type: String,
    /// The source and destination mover service partitions of an active migration.
    pub source_msp: Option<ViosName>,
    /// See `source_msp`.
    pub dest_msp: Option<ViosName>,
    /// Bytes of partition memory copied so far (where a failed one stopped).
    pub bytes_transmitted: u64,
    /// Bytes still to copy.
    pub bytes_remaining: u64,
}

impl MigrationReport {
    /// The line `lslparmigr -r lpar -m SRC` prints for it.
    pub fn lslparmigr(&self) -> String {
        let state = self.status.state.as_str();
        let msp = |m: &Option<ViosName>| m.as_ref().map_or(String::new(), ToString::to_string);
        format!(
            "name={},migration_state={state},migration_type={},dest_sys_name={},source_msp_name={},dest_msp_name={},bytes_transmitted={},bytes_remaining={}",
            self.partition,
            self.migration_type,
            self.status.to,
            msp(&self.source_msp),
            msp(&self.dest_msp),
            self.bytes_transmitted,
            self.bytes_remaining
        )
    }
}

/// One frame.
#[allow(missing_docs)]
#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FrameReport {
    pub name: FrameName,
    pub machine_type: String,
    pub serial: String,
    pub state: String,
    pub on_battery: bool,
    pub memory_mb: MemoryMb,
    pub memory_free_mb: MemoryMb,
    pub proc_units: ProcUnits,
    pub proc_units_free: ProcUnits,
    pub vios: Vec<ViosReport>,
    pub sea: Option<SeaReport>,
    pub memory_pool: Option<PoolReport>,
    pub partitions: Vec<PartitionReport>,
}

/// One VIOS.
#[allow(missing_docs)]
#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ViosReport {
    pub name: ViosName,
    pub state: LparState,
    pub rmc: bool,
}

/// The SEA.
#[allow(missing_docs)]
#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SeaReport {
    pub name: SeaName,
    pub members: Vec<SeaMemberStatus>,
}

/// The shared memory pool.
#[allow(missing_docs)]
#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PoolReport {
    pub pool_mem_mb: MemoryMb,
    pub max_pool_mem_mb: MemoryMb,
    pub paging_vios: Vec<ViosName>,
    pub devices: Vec<PagingDeviceStatus>,
}

/// One partition.
#[allow(missing_docs)]
#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PartitionReport {
    pub name: PartitionName,
    pub state: LparState,
    pub rmc: bool,
    pub memory_mb: MemoryMb,
    pub shared_memory: bool,
    pub proc_units: ProcUnits,
    pub paging_primary: Option<ViosName>,
    pub paging_secondary: Option<ViosName>,
    pub paging_current: Option<ViosName>,
    pub paging_device: Option<powerplane_model::DeviceName>,
    /// The profile's desired memory and processing units, when it runs below them (activated on
    /// a short frame).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub below_desired: Option<(MemoryMb, ProcUnits)>,
}

/// Builds the report.
pub(crate) fn report(s: &SimState) -> Report {
    let frames = s
        .frames
        .iter()
        .map(|(name, f)| {
            let free = capacity::free(f);
            FrameReport {
                name: name.clone(),
                machine_type: f.hw.machine_type.clone(),
                serial: f.hw.serial.clone(),
                state: f.state.to_string(),
                on_battery: f.hw.on_battery,
                memory_mb: f.hw.memory_mb,
                memory_free_mb: free.memory,
                proc_units: f.hw.proc_units,
                proc_units_free: free.procs,
                vios: f
                    .vios
                    .iter()
                    .map(|(n, v)| ViosReport { name: n.clone(), state: v.state.clone(), rmc: v.rmc })
                    .collect(),
                sea: f
                    .sea
                    .as_ref()
                    .map(|c| SeaReport { name: c.name.clone(), members: sea::status(c, |v| sea::running(f, v)) }),
                memory_pool: f.mem_pool.as_ref().map(|p| PoolReport {
                    pool_mem_mb: p.pool_mem,
                    max_pool_mem_mb: p.max_pool_mem,
                    paging_vios: p.paging_vios.clone(),
                    devices: p.devices.iter().map(super::state::SimPagingDevice::status).collect(),
                }),
                partitions: f
                    .partitions
                    .iter()
                    .filter(|(_, p)| !p.is_shell())
                    .map(|(n, p)| PartitionReport {
                        name: n.clone(),
                        state: p.state.clone(),
                        rmc: p.rmc,
                        memory_mb: p.spec.memory.desired_mb,
                        shared_memory: p.spec.memory.mode == powerplane_model::manifest::MemoryMode::Shared,
                        proc_units: p.spec.processors.units,
                        paging_primary: p.paging.as_ref().map(|g| g.primary.clone()),
                        paging_secondary: p.paging.as_ref().and_then(|g| g.secondary.clone()),
                        paging_current: p.paging.as_ref().and_then(|g| g.current.clone()),
                        paging_device: p.paging.as_ref().and_then(|g| g.device.clone()),
                        below_desired: p.profile.as_ref().map(|pr| (pr.memory.desired_mb, pr.processors.units)),
                    })
                    .collect(),
            }
        })
        .collect();
    let migrations = s
        .outbound
        .iter()
        .filter_map(|(f, n)| match &s.frames.get(f)?.partitions.get(n)?.migration {
            Some(super::state::Migration::Outbound(o)) => {
                let p = s.frames.get(f)?.partitions.get(n)?;
                // An inactive migration moves the configuration only: no memory is copied.
                let total = if o.active { p.spec.memory.desired_mb.0 * 1024 * 1024 } else { 0 };
                let copied = o.bytes_copied(s.now_ms, total);
                Some(MigrationReport {
                    partition: n.clone(),
                    from: f.clone(),
                    status: o.status(s.now_ms),
                    migration_type: if o.active { "active" } else { "inactive" }.to_string(),
                    source_msp: o.source_msp.clone(),
                    dest_msp: o.dest_msp.clone(),
                    bytes_transmitted: copied,
                    bytes_remaining: total - copied,
                })
            }
            _ => None,
        })
        .collect();
    let cluster_nodes = s
        .frames
        .iter()
        .flat_map(|(f, fr)| {
            fr.partitions.iter().filter(|(_, p)| !p.is_shell()).filter_map(move |(n, p)| {
                p.node.as_ref().map(|node| NodeReport { partition: n.clone(), frame: f.clone(), status: node.status() })
            })
        })
        .collect();
    Report {
        seed: s.seed,
        virtual_seconds: s.now_ms / 1000,
        frames,
        migrations,
        events: s.events.iter().cloned().collect(),
        cluster_nodes,
    }
}
