//! The fault each disturbing `sim` command injects into the simulated estate.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use powerplane_model::ActionKind;

use super::{OnOff, SimCommand, open};
use crate::cli::Cli;
use crate::sim::{FailMode, Fault};

/// The fault a `sim` command injects, `None` for the commands that only look.
pub(super) fn fault_of(command: &SimCommand) -> anyhow::Result<Option<Fault>> {
    Ok(Some(match command {
        SimCommand::ViosDown { frame, vios } => Fault::ViosDown { frame: frame.clone(), vios: vios.clone() },
        SimCommand::ViosUp { frame, vios } => Fault::ViosUp { frame: frame.clone(), vios: vios.clone() },
        SimCommand::FailNext { kind, transient, midway } => {
            let k = parse_kind(kind)?;
            if *midway && k != ActionKind::MigratePartition {
                anyhow::bail!("--midway is for MigratePartition only: other actions have no middle to fail in");
            }
            let mode = match (transient, midway) {
                (true, _) => FailMode::Transient,
                (_, true) => FailMode::Midway,
                _ => FailMode::Permanent,
            };
            Fault::FailNext { kind: k, mode }
        }
        SimCommand::HangNext { kind } => Fault::HangNext { kind: parse_kind(kind)? },
        SimCommand::Battery { frame, state } => Fault::Battery { frame: frame.clone(), on: *state == OnOff::On },
        SimCommand::Rmc { name, state } => Fault::Rmc { name: name.clone(), up: *state == OnOff::On },
        SimCommand::FrameState { frame, state } => Fault::FrameState { frame: frame.clone(), state: state.clone() },
        SimCommand::LparState { partition, state } => {
            Fault::LparState { partition: partition.clone(), state: state.clone() }
        }
        SimCommand::AbortMigration { partition } => Fault::AbortMigration { partition: partition.clone() },
        SimCommand::Node { node, command } => Fault::Node { node: node.clone(), command: command.clone() },
        SimCommand::Init { .. }
        | SimCommand::Show { .. }
        | SimCommand::Events { .. }
        | SimCommand::HmcShell { .. }
        | SimCommand::NodeShell { .. }
        | SimCommand::HmcServe { .. } => return Ok(None),
    }))
}

/// Injects `fault` into the simulated estate, or, while a `watch` holds the state directory,
/// through its API (the running loop then sees it as it would a change made on the HMC).
pub(super) async fn inject(cli: &Cli, fault: &Fault) -> anyhow::Result<ExitCode> {
    let lines = match open(cli) {
        Ok(Some(sim)) => fault.inject(&sim).await?,
        Ok(None) => return Ok(ExitCode::from(1)),
        Err(e) => {
            let c = crate::cli::controller_for(cli, e)?;
            #[derive(serde::Deserialize)]
            struct Injected {
                lines: Vec<String>,
            }
            let r: Injected = c.post("/api/v1/sim/faults", fault).await?;
            r.lines
        }
    };
    let out = &mut std::io::stdout().lock();
    for l in lines {
        writeln!(out, "{l}")?;
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_kind(s: &str) -> anyhow::Result<ActionKind> {
    ActionKind::parse(s).with_context(|| {
        let kinds: Vec<&str> = ActionKind::ALL.iter().map(|k| k.as_str()).collect();
        format!("unknown action kind `{s}`; use one of: {}", kinds.join(", "))
    })
}
