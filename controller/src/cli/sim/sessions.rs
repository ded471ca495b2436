//! `sim hmc-shell` and `sim node-shell`: one emulated console session against the simulated
//! estate, as the e2e tests' sshd runs it.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use powerplane_model::FrameName;

use super::{open_read_only, open_with_dir};
use crate::cli::Cli;
use crate::sim::{Simulator, StateDir};

/// `sim hmc-shell`: one script against the simulated estate. A script that only lists opens
/// the state directory read-only, one that changes opens it to write; either waits (up to two
/// minutes) for another session's change to end, as commands queue on an HMC.
pub(super) async fn hmc_shell(
    cli: &Cli,
    frames: &[FrameName],
    console: Option<&powerplane_model::HmcAddress>,
    latency: Duration,
    command: &[String],
) -> anyhow::Result<ExitCode> {
    use crate::sim::hmc_shell::HmcShell;
    let script = match (std::env::var("SSH_ORIGINAL_COMMAND"), command) {
        (Ok(s), _) => s,
        (Err(_), [one]) => one.clone(),
        (Err(_), []) => std::io::read_to_string(std::io::stdin())?,
        (Err(_), words) => shlex::try_join(words.iter().map(String::as_str))?,
    };
    if let Some(out) = crate::sim::hmc_shell::daemon::forward(&cli.state_dir, &script, frames, console).await? {
        print!("{}", out.stdout);
        eprint!("{}", out.stderr);
        std::io::stdout().flush()?;
        return Ok(ExitCode::from(u8::try_from(out.code).unwrap_or(1)));
    }
    let managed = (!frames.is_empty()).then(|| frames.iter().cloned().collect());
    // Listings and changes alike wait for another session's change to end.
    let reads_only = HmcShell::reads_only(&script);
    let Some((sim, _dir)) = open_for_session(cli, reads_only).await? else { return Ok(ExitCode::from(1)) };
    let shell = match console {
        Some(c) => HmcShell::for_console(sim.clone(), c.clone()).await,
        None => HmcShell::new(sim.clone(), managed),
    };
    let out = shell.with_rmc_latency(latency).run(&script).await;
    print!("{}", out.stdout);
    eprint!("{}", out.stderr);
    std::io::stdout().flush()?;
    Ok(ExitCode::from(u8::try_from(out.code).unwrap_or(1)))
}

/// Opens the simulator for one emulated session (`sim hmc-shell`, `sim node-shell`): read-only
/// for a script that only lists, else to write; either waits (up to two minutes) for another
/// session's change to end, as commands queue on an HMC. `None` when the inventory is invalid.
async fn open_for_session(cli: &Cli, reads_only: bool) -> anyhow::Result<Option<(Simulator, StateDir)>> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let opened = if reads_only { open_read_only(cli).map(Some) } else { open_with_dir(cli) };
        match opened {
            Ok(x) => return Ok(x),
            Err(e)
                if std::time::Instant::now() < deadline
                    && matches!(
                        e.downcast_ref::<crate::store::StoreError>(),
                        Some(crate::store::StoreError::Locked { .. })
                    ) =>
            {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// `sim node-shell NODE`: one command line on the simulated cluster node `NODE`, as its own
/// shell over SSH would run it (`sim node`'s commands), exit status 1 with the node's message
/// on stderr when it refuses it.
pub(super) async fn node_shell(
    cli: &Cli,
    node: &powerplane_model::PartitionName,
    command: &[String],
) -> anyhow::Result<ExitCode> {
    let line = match (std::env::var("SSH_ORIGINAL_COMMAND"), command) {
        (Ok(s), _) => s,
        (Err(_), [one]) => one.clone(),
        (Err(_), words) => shlex::try_join(words.iter().map(String::as_str))?,
    };
    let Some(words) = shlex::split(&line).filter(|w| !w.is_empty()) else {
        eprintln!("sh: cannot read the command line {line:?}");
        return Ok(ExitCode::from(2));
    };
    let Some((sim, _dir)) = open_for_session(cli, false).await? else { return Ok(ExitCode::from(1)) };
    match sim.node_command(node, &words).await {
        Ok(out) => {
            println!("{out}");
            std::io::stdout().flush()?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("{e}");
            Ok(ExitCode::from(1))
        }
    }
}
