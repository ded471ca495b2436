//! Cluster nodes in the simulated partitions: each member partition runs its cluster manager,
//! with a heartbeat timeout (VCS's LLT `peerinact`, PowerHA's node failure detection timeout,
//! corosync's token), the service groups online on it, and the switches the LPM procedures
//! turn (PowerHA's unmanaged resource groups, Pacemaker's node maintenance mode).
//!
//! A migrating member is unresponsive at the switch-over for its environment's time (the
//! inventory's `unresponsiveSeconds`, or the simulator's suspend time). If that reaches what a
//! running peer waits for, the peer declares it dead and takes its service groups: a false
//! failover, logged and reported by the next observation.
//!
//! seeds: infoscale-lpm-vcs.txt, lines 91-101 ("you may see notifications if the migrating node
//! is unable to heartbeat with its peers within LLT's default peer inactive timeout",
//! `lltconfig -T peerinact:9000`, `lltconfig -T query` and its output).

use powerplane_model::manifest::{ClusterManager, ClusterSpec};
use powerplane_model::status::{Failover, NodeStatus};
use powerplane_model::{ClusterName, FrameName, PartitionName};
use serde::{Deserialize, Serialize};

use super::events::SimEvent;
use super::state::{SimFrame, SimPartition, SimState};
use crate::backend::BackendError;

/// The cluster manager running in one member partition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimNode {
    /// The cluster.
    pub cluster: ClusterName,
    /// The cluster's configuration as the node has it (members, manager, timeouts, and the
    /// environment's unresponsive time during LPM).
    pub spec: ClusterSpec,
    /// VCS: LLT's current peer inactive timeout, 0.01 s.
    pub peerinact_centis: u32,
    /// PowerHA: cluster services stopped, resource groups unmanaged.
    #[serde(default)]
    pub unmanaged: bool,
    /// Pacemaker: the node is in maintenance mode.
    #[serde(default)]
    pub maintenance: bool,
    /// Service groups online here.
    #[serde(default)]
    pub online: Vec<String>,
    /// Groups taken from it by a false failover, until they are online here again.
    #[serde(default)]
    pub failovers: Vec<Failover>,
}

impl SimNode {
    /// A node as configured: timeouts at their configured values, nothing unmanaged.
    pub(crate) fn new(cluster: ClusterName, spec: ClusterSpec, online: Vec<String>) -> Self {
        let peerinact_centis = spec.vcs_or_default().peerinact_seconds * 100;
        SimNode { cluster, spec, peerinact_centis, unmanaged: false, maintenance: false, online, failovers: Vec::new() }
    }

    /// The node as the cluster manager reports it.
    pub(crate) fn status(&self) -> NodeStatus {
        NodeStatus {
            cluster: self.cluster.clone(),
            manager: self.spec.manager,
            peerinact_centis: (self.spec.manager == ClusterManager::Vcs).then_some(self.peerinact_centis),
            unmanaged: self.unmanaged,
            maintenance: self.maintenance,
            online: self.online.clone(),
            failovers: self.failovers.clone(),
        }
    }

    /// What this node waits for a silent peer, milliseconds; `None` when it does not watch it
    /// (no cluster manager).
    fn timeout_ms(&self) -> Option<u64> {
        match self.spec.manager {
            ClusterManager::Vcs => Some(u64::from(self.peerinact_centis) * 10),
            ClusterManager::Powerha | ClusterManager::Pacemaker => {
                self.spec.heartbeat().map(|h| u64::from(h.timeout_seconds) * 1000)
            }
            ClusterManager::None => None,
        }
    }
}

/// Whether a command can be run on partition `p`, named `name`: it runs (migrating while
/// running counts: its operating system goes on until the switch-over, and after a migration
/// that failed part-way until it is recovered), and runs a cluster manager.
fn reachable(p: &SimPartition, name: &PartitionName) -> Result<(), BackendError> {
    if !p.state.is_running() {
        return Err(BackendError::refused_plain(format!(
            "ssh: connect to host {name}: the partition is {} (a node command needs it running)",
            p.state.as_str()
        )));
    }
    if p.node.is_none() {
        return Err(BackendError::refused_plain(format!("{name} runs no cluster manager")));
    }
    Ok(())
}

/// The running node `name` on `frame`, for a command run on it.
fn node_on<'a>(frame: &'a mut SimFrame, name: &PartitionName) -> Result<&'a mut SimNode, BackendError> {
    let p = frame.partitions.get_mut(name).filter(|p| !p.is_shell()).ok_or_else(|| {
        BackendError::refused_plain(format!("ssh: connect to host {name}: no such partition on this frame"))
    })?;
    reachable(p, name)?;
    Ok(p.node.as_deref_mut().expect("checked"))
}

fn manager_is(node: &SimNode, name: &PartitionName, want: ClusterManager, program: &str) -> Result<(), BackendError> {
    if node.spec.manager == want {
        Ok(())
    } else {
        Err(BackendError::refused_plain(format!(
            "{program}: command not found on {name} (it runs {})",
            node.spec.manager
        )))
    }
}

/// `lltconfig -T peerinact:N` on `name`.
pub(crate) fn set_peerinact(frame: &mut SimFrame, name: &PartitionName, centis: u32) -> Result<String, BackendError> {
    let node = node_on(frame, name)?;
    manager_is(node, name, ClusterManager::Vcs, "lltconfig")?;
    node.peerinact_centis = centis;
    Ok(format!("{name}: LLT peerinact set to {centis} (.01 sec units)"))
}

/// `lltconfig -T query` on `name`, as the seed shows it. It only reads.
// seeds: infoscale-lpm-vcs.txt, line 101.
pub(crate) fn query(s: &SimState, name: &PartitionName) -> Result<String, BackendError> {
    let p = s
        .locate(name)
        .and_then(|f| partition(s, name, f))
        .ok_or_else(|| BackendError::refused_plain(format!("ssh: Could not resolve hostname {name}")))?;
    reachable(p, name)?;
    let node = p.node.as_deref().expect("checked");
    manager_is(node, name, ClusterManager::Vcs, "lltconfig")?;
    Ok(format!(
        "Current LLT timer values (.01 sec units): heartbeat = 50 heartbeatlo = 100 peertrouble = 200 peerinact = {} oos = 10 retrans = 10 service = 100 arp = 30000 arpreq = 3000 Current LLT flow control values (in packets): lowwater = 40",
        node.peerinact_centis
    ))
}

/// `clmgr stop node N MANAGE=unmanage` (`unmanaged`) or `clmgr start node N MANAGE=auto`.
pub(crate) fn set_unmanaged(
    frame: &mut SimFrame,
    name: &PartitionName,
    unmanaged: bool,
) -> Result<String, BackendError> {
    let node = node_on(frame, name)?;
    manager_is(node, name, ClusterManager::Powerha, "clmgr")?;
    node.unmanaged = unmanaged;
    Ok(if unmanaged {
        format!("Cluster services are stopped on {name}; its resource groups are unmanaged")
    } else {
        format!("Cluster services are running on {name}; its resource groups are managed")
    })
}

/// `pcs node maintenance N` / `pcs node unmaintenance N`.
pub(crate) fn set_maintenance(frame: &mut SimFrame, name: &PartitionName, on: bool) -> Result<String, BackendError> {
    let node = node_on(frame, name)?;
    manager_is(node, name, ClusterManager::Pacemaker, "pcs")?;
    node.maintenance = on;
    Ok(format!("{name}: maintenance {}", if on { "on" } else { "off" }))
}

/// Where each member of `cluster` is (frame), found by a scan of the frames.
fn members(s: &SimState, node: &SimNode) -> Vec<(PartitionName, FrameName)> {
    node.spec.members.iter().filter_map(|m| s.locate(m).map(|f| (m.clone(), f.clone()))).collect()
}

fn partition<'a>(s: &'a SimState, name: &PartitionName, frame: &FrameName) -> Option<&'a SimPartition> {
    s.frames.get(frame)?.partitions.get(name)
}

/// `hagrp -switch GROUP -to NODE` (and the other managers' equivalents): the group goes offline
/// where it is online and online on `to`; a false failover of it is then over.
pub(crate) fn switch_group(s: &mut SimState, group: &str, to: &PartitionName) -> Result<Vec<FrameName>, BackendError> {
    let Some(to_frame) = s.locate(to).cloned() else {
        return Err(BackendError::refused_plain(format!("VCS WARNING V-16-1-10207 System {to} does not exist")));
    };
    let target = partition(s, to, &to_frame)
        .and_then(|p| p.node.clone())
        .ok_or_else(|| BackendError::refused_plain(format!("{to} runs no cluster manager")))?;
    let mut touched = vec![to_frame.clone()];
    let mut found = false;
    for (m, f) in members(s, &target) {
        let node = s.frames.get_mut(&f).and_then(|fr| fr.partitions.get_mut(&m)).and_then(|p| p.node.as_mut());
        if let Some(n) = node {
            if n.online.iter().any(|g| g == group) && m != *to {
                n.online.retain(|g| g != group);
                found = true;
                touched.push(f.clone());
            }
            if m == *to {
                n.failovers.retain(|x| x.group != group);
            }
        }
    }
    if !found && !target.online.iter().any(|g| g == group) {
        return Err(BackendError::refused_plain(format!("VCS WARNING V-16-1-40131 Group {group} does not exist")));
    }
    if let Some(n) = s.frames.get_mut(&to_frame).and_then(|f| f.partitions.get_mut(to)).and_then(|p| p.node.as_mut())
        && !n.online.iter().any(|g| g == group)
    {
        n.online.push(group.to_owned());
    }
    touched.sort();
    touched.dedup();
    Ok(touched)
}

/// How long the cluster member `name`, now on `frame`, is silent at a migration's switch-over in
/// this environment (the inventory's `unresponsiveSeconds`); `None` for a partition that is no
/// member or declares none.
pub(crate) fn silence(s: &SimState, name: &PartitionName, frame: &FrameName) -> Option<std::time::Duration> {
    let node = partition(s, name, frame)?.node.as_ref()?;
    node.spec.heartbeat()?.unresponsive_seconds.map(|u| std::time::Duration::from_secs(u64::from(u)))
}

/// The switch-over of an active migration of `name`, now on `frame`: the node is silent for
/// its environment's unresponsive time (or `suspend_ms`); each running peer that waits less
/// declares it dead, and the first of them takes its service groups. Returns the frames it
/// changed.
pub(crate) fn suspended(s: &mut SimState, name: &PartitionName, frame: &FrameName, suspend_ms: u64) -> Vec<FrameName> {
    let Some(node) = partition(s, name, frame).and_then(|p| p.node.clone()) else { return Vec::new() };
    let Some(hb) = node.spec.heartbeat() else { return Vec::new() };
    let silent_ms = hb.unresponsive_seconds.map_or(suspend_ms, |u| u64::from(u) * 1000);
    // PowerHA's unmanaged groups and a Pacemaker node in maintenance are not recovered.
    if node.unmanaged || node.maintenance {
        return Vec::new();
    }
    let mut dead_to: Option<(PartitionName, FrameName, u64)> = None;
    for (m, f) in members(s, &node) {
        if m == *name {
            continue;
        }
        let Some(peer) = partition(s, &m, &f).filter(|p| p.state.is_running()).and_then(|p| p.node.as_ref()) else {
            continue;
        };
        if let Some(t) = peer.timeout_ms()
            && silent_ms >= t
            && dead_to.is_none()
        {
            dead_to = Some((m, f, t));
        }
    }
    let Some((peer, peer_frame, timeout_ms)) = dead_to else { return Vec::new() };
    let groups = std::mem::take(
        &mut s
            .frames
            .get_mut(frame)
            .and_then(|f| f.partitions.get_mut(name))
            .and_then(|p| p.node.as_mut())
            .expect("read above")
            .online,
    );
    let now = s.now_ms;
    if let Some(n) = s.frames.get_mut(frame).and_then(|f| f.partitions.get_mut(name)).and_then(|p| p.node.as_mut()) {
        n.failovers.extend(groups.iter().map(|g| Failover {
            group: g.clone(),
            to: peer.clone(),
            unresponsive_ms: silent_ms,
            timeout_centis: (timeout_ms / 10) as u32,
        }));
    }
    if let Some(n) =
        s.frames.get_mut(&peer_frame).and_then(|f| f.partitions.get_mut(&peer)).and_then(|p| p.node.as_mut())
    {
        n.online.extend(groups.iter().cloned());
    }
    for g in &groups {
        s.log(SimEvent {
            seq: 0,
            at_ms: now,
            frame: peer_frame.clone(),
            logged_by: Some(peer.to_string()),
            identifier: None,
            class: 'S',
            resource: node.cluster.to_string(),
            description: format!(
                "FALSE FAILOVER: {peer} declared {name} dead after {:.1} s without heartbeat (timeout {:.2} s); service group {g} failed over from {name} to {peer}",
                silent_ms as f64 / 1000.0,
                timeout_ms as f64 / 1000.0
            ),
        });
    }
    let mut touched = vec![frame.clone(), peer_frame];
    touched.dedup();
    touched
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(unresponsive: Option<u32>) -> ClusterSpec {
        powerplane_model::from_yaml::<ClusterSpec>(&format!(
            "manager: vcs\nmembers: [xray, yankee]\nvcs: {{peerinactSeconds: 16{}}}\n",
            unresponsive.map(|u| format!(", unresponsiveSeconds: {u}")).unwrap_or_default()
        ))
        .unwrap()
    }

    #[test]
    fn a_node_reports_its_timer_as_the_seed_shows() {
        let n = SimNode::new(ClusterName::new("c").unwrap(), spec(Some(40)), vec!["sg".into()]);
        assert_eq!(n.status().peerinact_centis, Some(1600));
        assert_eq!(n.timeout_ms(), Some(16_000));
    }
}
