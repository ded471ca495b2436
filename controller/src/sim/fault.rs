//! The faults and operator actions `powerplane sim` injects into the simulated estate, as
//! values: the CLI runs one directly, or sends it to a running `watch` (`POST
//! /api/v1/sim/faults`), which holds the state directory; either way the same lines come back.
//! The [`Simulator`]'s fault API is here too: each fault as a method (a VIOS down, a frame on
//! battery, RMC lost, the next action of a kind failing or hanging, a migration aborted), and
//! what the `Op` interpreter takes of an armed failure before it runs an action
//! ([`Simulator::take_fault`]).

use std::time::Duration;

use powerplane_model::{ActionKind, FrameName, PartitionName, ViosName};
use serde::{Deserialize, Serialize};

use super::{BackendError, FailMode, Simulator, migration, power, vios};

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

impl Simulator {
    /// Fault: a VIOS shuts down (or crashes). Returns what happened.
    pub async fn vios_down(&self, frame: &FrameName, vios: &ViosName) -> Result<Vec<String>, BackendError> {
        self.change(&[frame], |s| vios::down(s.frame_mut(frame)?, vios)).await
    }

    /// A VIOS comes back. Returns what happened.
    pub async fn vios_up(&self, frame: &FrameName, vios: &ViosName) -> Result<Vec<String>, BackendError> {
        self.change(&[frame], |s| vios::up(s.frame_mut(frame)?, vios)).await
    }

    /// Fault: a frame loses utility power and runs on battery (no valid LPM target).
    pub async fn battery(&self, frame: &FrameName, on: bool) -> Result<(), BackendError> {
        self.change(&[frame], |s| {
            s.frame_mut(frame)?.hw.on_battery = on;
            Ok(())
        })
        .await
    }

    /// Fault: the frame's state as the HMC lists it (`No Connection`, `Failed Authentication`,
    /// `Operating` again). A frame that is not `Operating` answers no listing but
    /// `lssyscfg -r sys` (HSCL0238), as a real HMC's.
    pub async fn frame_state(
        &self,
        frame: &FrameName,
        state: powerplane_model::status::FrameState,
    ) -> Result<(), BackendError> {
        self.change(&[frame], |s| {
            s.frame_mut(frame)?.state = state;
            Ok(())
        })
        .await
    }

    /// Fault: a partition's state as the HMC lists it (`Not Available` when the HMC cannot tell,
    /// `Running` again): a state powerplane cannot plan on makes the partition unknown until
    /// it is back. Its RMC connection follows (up while it runs).
    pub async fn lpar_state(
        &self,
        partition: &PartitionName,
        state: powerplane_model::status::LparState,
    ) -> Result<(), BackendError> {
        let frame = {
            let s = self.inner.state.lock().await;
            s.frames
                .iter()
                .find(|(_, f)| f.partitions.get(partition).is_some_and(|p| !p.is_shell()))
                .map(|(n, _)| n.clone())
        };
        let Some(frame) = frame else {
            return Err(BackendError::refused_plain(format!("No partition named {partition} exists.")));
        };
        self.change(&[&frame], |s| {
            let p = s.frame_mut(&frame)?.partitions.get_mut(partition).expect("found above, under the same lock");
            p.rmc = state.is_running();
            p.state = state;
            p.power = None;
            Ok(())
        })
        .await
    }

    /// Fault: the next action of `kind` fails. One injection is pending per kind: this one
    /// replaces the one pending for `kind`, which it returns.
    pub async fn fail_next(&self, kind: ActionKind, mode: FailMode) -> Result<Option<FailMode>, BackendError> {
        self.change(&[], |s| Ok(s.faults.fail_next.insert(kind, mode))).await
    }

    /// Disarms every injected failure and hang.
    pub async fn clear_faults(&self) -> Result<(), BackendError> {
        self.change(&[], |s| {
            s.faults = Default::default();
            Ok(())
        })
        .await
    }

    /// Fault: the next action of `kind` hangs until it times out.
    pub async fn hang_next(&self, kind: ActionKind) -> Result<(), BackendError> {
        self.change(&[], |s| {
            s.faults.hang_next.insert(kind);
            Ok(())
        })
        .await
    }

    /// Fault: the HMC loses (or regains) its RMC connection to a partition or VIOS.
    pub async fn rmc(&self, name: &str, up: bool) -> Result<(), BackendError> {
        let frame = {
            let s = self.inner.state.lock().await;
            s.frames
                .iter()
                .find(|(_, f)| f.partitions.contains_key(name) || f.vios.contains_key(name))
                .map(|(n, _)| n.clone())
        };
        let Some(frame) = frame else {
            return Err(BackendError::refused_plain(format!("No partition or VIOS named {name} exists.")));
        };
        self.change(&[&frame], |s| {
            for f in s.frames.values_mut() {
                // Lost during an activation, it does not come by itself; restored during one, it
                // comes once the partition runs; back on a running one, its activation is complete.
                if let Some(p) = f.partitions.get_mut(name) {
                    p.rmc = up && p.state.is_running();
                    let who = power::Powered::Lpar(PartitionName::new(name).expect("a partition's name"));
                    if p.rmc {
                        p.power = None;
                    } else if up {
                        power::restore_rmc(f, &who);
                    } else {
                        power::lose_rmc(f, &who);
                    }
                    return Ok(());
                }
                if let Some(v) = f.vios.get_mut(name) {
                    v.rmc = up && v.state.is_running();
                    if v.rmc {
                        v.power = None;
                    } else {
                        let who = power::Powered::Vios(ViosName::new(name).expect("a VIOS's name"));
                        if up { power::restore_rmc(f, &who) } else { power::lose_rmc(f, &who) }
                    }
                    return Ok(());
                }
            }
            Err(BackendError::refused_plain(format!("No partition or VIOS named {name} exists.")))
        })
        .await
    }

    /// Fault: a migration in flight is aborted (an operator ran `migrlpar -o s`, or the HMC gave
    /// up): it stops where it is and waits for `migrlpar -o r`, like one that failed.
    pub async fn abort_migration(&self, name: &PartitionName) -> Result<String, BackendError> {
        let from = {
            let s = self.current().await;
            s.outbound.iter().find(|(_, n)| n == name).map(|(f, _)| f.clone())
        };
        let Some(from) = from else {
            return Err(BackendError::refused_plain(format!("No migration of {name} is in progress.")));
        };
        self.change(&[&from], |s| migration::abort(s, name, &from)).await
    }

    /// Takes an injected fault for `kind`, if one is armed.
    pub(super) async fn take_fault(&self, kind: ActionKind) -> Result<Option<Injected>, BackendError> {
        {
            let s = self.inner.state.lock().await;
            if !s.faults.fail_next.contains_key(&kind) && !s.faults.hang_next.contains(&kind) {
                return Ok(None);
            }
        }
        self.change(&[], |s| {
            if s.faults.hang_next.remove(&kind) {
                return Ok(Some(Injected::Hang(Duration::from_secs(s.settings.hang_timeout_secs))));
            }
            Ok(s.faults.fail_next.remove(&kind).map(|mode| match mode {
                FailMode::Transient => Injected::Fail(BackendError::Transient(format!(
                    "injected transient failure of {kind} (the HMC was busy)"
                ))),
                FailMode::Midway if kind == ActionKind::MigratePartition => Injected::Midway,
                // An injected migration failure is the partition refusing, as the HMC reports it.
                // seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, line 1718.
                FailMode::Permanent | FailMode::Midway if kind == ActionKind::MigratePartition => {
                    Injected::Fail(BackendError::Refused {
                        code: Some("HSCLA257".into()),
                        message: format!("injected failure of {kind}: the migrating partition has returned a failure response to the HMC's request"),
                    })
                }
                FailMode::Permanent | FailMode::Midway => {
                    Injected::Fail(BackendError::refused_plain(format!("injected failure of {kind}")))
                }
            }))
        })
        .await
    }
}

/// An injected fault taken for one action.
pub(super) enum Injected {
    /// The call hangs until it times out.
    Hang(Duration),
    /// The call fails.
    Fail(BackendError),
    /// The migration starts and fails half-way.
    Midway,
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
