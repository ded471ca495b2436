//! The faults and operator actions `powerplane sim` injects into the simulated estate, as
//! values: the CLI runs one directly, or sends it to a running `watch` (`POST
//! /api/v1/sim/faults`), which holds the state directory; either way the same lines come back.

use powerplane_model::{ActionKind, FrameName, PartitionName, ViosName};
use serde::{Deserialize, Serialize};

use super::{BackendError, FailMode, Simulator};

/// One fault or operator action on the simulated estate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", tag = "fault")]
pub enum Fault {
    /// A VIOS shuts down (its SEA and its paging partitions fail over).
    ViosDown {
        /// Its frame.
        #[schema(value_type = String)]
        frame: FrameName,
        /// The VIOS.
        #[schema(value_type = String)]
        vios: ViosName,
    },
    /// A VIOS starts again.
    ViosUp {
        /// Its frame.
        #[schema(value_type = String)]
        frame: FrameName,
        /// The VIOS.
        #[schema(value_type = String)]
        vios: ViosName,
    },
    /// The next action of a kind fails.
    FailNext {
        /// The action kind.
        #[schema(value_type = String)]
        kind: ActionKind,
        /// How it fails.
        #[schema(value_type = String)]
        mode: FailMode,
    },
    /// The next action of a kind hangs until it times out.
    HangNext {
        /// The action kind.
        #[schema(value_type = String)]
        kind: ActionKind,
    },
    /// A frame goes on battery, or back on utility power.
    Battery {
        /// The frame.
        #[schema(value_type = String)]
        frame: FrameName,
        /// On battery.
        on: bool,
    },
    /// A frame's state as the HMC lists it changes (`No Connection`, back to `Operating`).
    FrameState {
        /// The frame.
        #[schema(value_type = String)]
        frame: FrameName,
        /// The state, as the HMC spells it.
        state: String,
    },
    /// A partition's state as the HMC lists it changes (`Not Available`, back to `Running`).
    LparState {
        /// The partition.
        #[schema(value_type = String)]
        partition: PartitionName,
        /// The state, as the HMC spells it.
        state: String,
    },
    /// The HMC's RMC connection to a partition or VIOS is lost or back.
    Rmc {
        /// The partition or VIOS.
        name: String,
        /// Connected.
        up: bool,
    },
    /// A migration in flight is aborted.
    AbortMigration {
        /// The migrating partition.
        #[schema(value_type = String)]
        partition: PartitionName,
    },
    /// A cluster command on a simulated node.
    Node {
        /// The member partition.
        #[schema(value_type = String)]
        node: PartitionName,
        /// The command and its arguments.
        command: Vec<String>,
    },
}

impl Fault {
    /// Injects it; returns the lines `powerplane sim` prints.
    pub async fn inject(&self, sim: &Simulator) -> Result<Vec<String>, BackendError> {
        Ok(match self {
            Fault::ViosDown { frame, vios } => sim.vios_down(frame, vios).await?,
            Fault::ViosUp { frame, vios } => sim.vios_up(frame, vios).await?,
            Fault::FailNext { kind, mode } => {
                let replaced = sim.fail_next(*kind, *mode).await?;
                let how = |mode: &FailMode| match mode {
                    FailMode::Transient => " (transient)",
                    FailMode::Midway => " half-way, leaving it to be recovered",
                    FailMode::Permanent => "",
                };
                let mut lines = vec![format!("the next {kind} will fail{}", how(mode))];
                // One injection is pending per kind: say which one this replaces.
                if let Some(old) = replaced {
                    lines.push(format!(
                        "this replaces the pending injection for {kind} (it was to fail{}); one is pending per kind",
                        how(&old)
                    ));
                }
                lines
            }
            Fault::HangNext { kind } => {
                sim.hang_next(*kind).await?;
                vec![format!("the next {kind} will hang until it times out")]
            }
            Fault::Battery { frame, on } => {
                sim.battery(frame, *on).await?;
                vec![format!("{frame} is {}", if *on { "on battery" } else { "on utility power" })]
            }
            Fault::FrameState { frame, state } => {
                let state = powerplane_model::status::FrameState::parse(state);
                sim.frame_state(frame, state.clone()).await?;
                vec![format!("{frame} is {state}")]
            }
            Fault::LparState { partition, state } => {
                let state = powerplane_model::status::LparState::parse(state);
                sim.lpar_state(partition, state.clone()).await?;
                vec![format!("{partition} is {state}")]
            }
            Fault::Rmc { name, up } => {
                sim.rmc(name, *up).await?;
                vec![format!("RMC connection to {name} is {}", if *up { "up" } else { "lost" })]
            }
            Fault::AbortMigration { partition } => vec![sim.abort_migration(partition).await?],
            Fault::Node { node, command } => vec![sim.node_command(node, command).await?],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_is_a_small_json_document() {
        let f = Fault::FailNext { kind: ActionKind::MigratePartition, mode: FailMode::Midway };
        let text = serde_json::to_string(&f).unwrap();
        assert_eq!(text, r#"{"fault":"failNext","kind":"MigratePartition","mode":"Midway"}"#);
        assert_eq!(serde_json::from_str::<Fault>(&text).unwrap(), f);
        let bad = serde_json::from_str::<Fault>(r#"{"fault":"meteor"}"#).unwrap_err().to_string();
        assert!(bad.contains("unknown variant `meteor`"), "{bad}");
    }
}
