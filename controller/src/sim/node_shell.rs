//! The simulated cluster nodes' command shell: what an administrator (or powerplane's node
//! transport) runs on a member partition over SSH — `lltconfig`, `hagrp`, `clmgr`, `pcs` —
//! parsed into the cluster changes of [`super::cluster`].

use powerplane_model::{FrameName, PartitionName};

use super::{Simulator, cluster};
use crate::backend::BackendError;

impl Simulator {
    /// Runs a cluster command on the simulated node `node`, as an administrator would over SSH:
    /// `lltconfig -T query`, `lltconfig -T peerinact:N`, `hagrp -switch GROUP -to NODE`,
    /// `clmgr stop|start node N ...`, `pcs node maintenance|unmaintenance N`. Returns what the
    /// command prints.
    pub async fn node_command(&self, node: &PartitionName, words: &[String]) -> Result<String, BackendError> {
        let frames: Vec<FrameName> = {
            let s = self.inner.state.lock().await;
            let Some(p) = s.locate(node).and_then(|f| s.frames[f].partitions.get(node)) else {
                return Err(BackendError::refused_plain(format!("ssh: Could not resolve hostname {node}")));
            };
            let members = p.node.as_ref().map(|n| n.spec.members.clone()).unwrap_or_else(|| vec![node.clone()]);
            s.frames
                .iter()
                .filter(|(_, f)| members.iter().any(|m| f.partitions.contains_key(m)))
                .map(|(n, _)| n.clone())
                .collect()
        };
        let refs: Vec<&FrameName> = frames.iter().collect();
        let w: Vec<&str> = words.iter().map(String::as_str).collect();
        self.change(&refs, |s| {
            let here = s.locate(node).cloned().expect("found above");
            match w.as_slice() {
                ["lltconfig", "-T", "query"] => cluster::query(s, node),
                ["lltconfig", "-T", arg] if arg.starts_with("peerinact:") => {
                    let v = arg["peerinact:".len()..].parse::<u32>().map_err(|_| {
                        BackendError::refused_plain(format!("lltconfig: invalid timer value {arg}"))
                    })?;
                    cluster::set_peerinact(s.frame_mut(&here)?, node, v)
                }
                ["hagrp", "-switch", group, "-to", to] => {
                    let to = PartitionName::new(*to).map_err(|e| BackendError::refused_plain(e.to_string()))?;
                    cluster::switch_group(s, group, &to)?;
                    Ok(format!("Group {group} is switching to {to}"))
                }
                ["clmgr", verb @ ("stop" | "start"), "node", n, ..] if *n == node.as_str() => {
                    cluster::set_unmanaged(s.frame_mut(&here)?, node, *verb == "stop")
                }
                ["pcs", "node", verb @ ("maintenance" | "unmaintenance"), n] if *n == node.as_str() => {
                    cluster::set_maintenance(s.frame_mut(&here)?, node, *verb == "maintenance")
                }
                _ => Err(BackendError::refused_plain(format!(
                    "the simulated node does not know `{}`; it runs: lltconfig -T query, lltconfig -T peerinact:N, hagrp -switch GROUP -to NODE, clmgr stop|start node {node} ..., pcs node maintenance|unmaintenance {node}",
                    w.join(" ")
                ))),
            }
        })
        .await
    }

    /// `lltconfig -T query` on the simulated node `node`: what LLT's timers are now. It only
    /// reads.
    pub async fn node_query(&self, node: &PartitionName) -> Result<String, BackendError> {
        let s = self.current().await;
        cluster::query(&s, node)
    }
}
