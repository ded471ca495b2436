//! `powerplane sim ...`: create, inspect and disturb the simulated estate.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use powerplane_model::{FrameName, ViosName};

mod faults;
mod sessions;
mod show;

use faults::{fault_of, inject};
use sessions::{hmc_shell, node_shell};
use show::show;

use super::report::print_diagnostics;
use super::runtime::Runtime;
use super::{Cli, OutputFormat};
use crate::say::say;
use crate::sim::hmc_shell::DEFAULT_RMC_LATENCY_SECS;
use crate::sim::{self, Clock, OpenError, Report, Simulator, StateDir};

/// Arguments of `sim`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: SimCommand,
}

#[derive(Debug, clap::Subcommand)]
enum SimCommand {
    /// Create the simulated estate from --inventory (or the built-in lab).
    Init {
        /// Seed of the simulation: the same seed and commands give the same estate.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Replace an existing simulated estate.
        #[arg(long)]
        force: bool,
    },
    /// Print frames, VIOS, SEA states and bridged VLANs, paging, partitions, free capacity.
    Show {
        /// `text` for people, `json` for scripts.
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// The error-log entries the simulator kept (the VIOS's and clients' errpt, the HMC's
    /// paging and migration records), oldest first.
    Events {
        /// Only the entries after this number (the number of the last one seen, to poll).
        #[arg(long, value_name = "N")]
        since: Option<u64>,
        /// `text` for people, `json` for scripts.
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Shut a VIOS down (its SEA fails over, its paging partitions fail over).
    ViosDown { frame: FrameName, vios: ViosName },
    /// Start a VIOS again (SEA failback; paging stays where it is).
    ViosUp { frame: FrameName, vios: ViosName },
    /// Make the next action of a kind fail (e.g. MigratePartition). One injection is pending
    /// per kind: a second one replaces the first, and says so.
    FailNext {
        /// The action kind, e.g. MigratePartition.
        kind: String,
        /// Fail with a transient error (a retry succeeds) instead of a refusal.
        #[arg(long, conflicts_with = "midway")]
        transient: bool,
        /// A migration starts and fails half-way, leaving the partition to be recovered with
        /// `migrlpar -o r` (only for MigratePartition).
        #[arg(long)]
        midway: bool,
    },
    /// Make the next action of a kind hang until it times out.
    HangNext {
        /// The action kind.
        kind: String,
    },
    /// Put a frame on battery (no valid LPM target) or back on utility power.
    Battery { frame: FrameName, state: OnOff },
    /// Set a partition's state as the HMC lists it, e.g. `"Not Available"` or `Running`: a
    /// state powerplane cannot plan on makes the partition unknown (deferred, exit 2).
    LparState { partition: powerplane_model::PartitionName, state: String },
    /// Lose or restore the HMC's RMC connection to a partition or VIOS.
    Rmc { name: String, state: OnOff },
    /// Set a frame's state as the HMC lists it, e.g. `"No Connection"` or `Operating`: a frame
    /// that is not Operating is set aside by every observation.
    FrameState { frame: FrameName, state: String },
    /// Run a cluster command on a simulated cluster node, as over SSH: `sim node xray --
    /// lltconfig -T query`, `hagrp -switch SG -to NODE`, `clmgr ...`, `pcs node ...`.
    Node {
        /// The member partition.
        node: powerplane_model::PartitionName,
        /// The command and its arguments.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
        command: Vec<String>,
    },
    /// Answer as the simulated cluster node NODE over SSH: as an sshd `ForceCommand` it runs
    /// `SSH_ORIGINAL_COMMAND` (else its own words) as `sim node` would, and exits 1 with the
    /// node's message on stderr when the node refuses it.
    NodeShell {
        /// The member partition this session is on.
        node: powerplane_model::PartitionName,
        /// The command line (one argument holding it whole, or its words).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        command: Vec<String>,
    },
    /// Run HMC command lines against the simulated estate and print what an HMC prints, with its
    /// exit status: `sim hmc-shell lshwres -r mem -m alpha --level lpar -F lpar_name`. As an
    /// sshd `ForceCommand` it runs `SSH_ORIGINAL_COMMAND`; with neither, the lines on stdin.
    /// Only the HMC's own commands run, as in its restricted shell.
    HmcShell {
        /// The frames this emulated HMC manages (default: all), comma-separated.
        #[arg(long, value_delimiter = ',', value_name = "FRAME,...")]
        frames: Vec<FrameName>,
        /// Be the HMC at this address of the inventory (`FrameHardware.spec.hmc.address`): its
        /// frames, its version, its SSH keys on the other HMCs (`mkauthkeys`).
        #[arg(long, value_name = "ADDRESS", conflicts_with = "frames")]
        console: Option<powerplane_model::HmcAddress>,
        /// Seconds each `viosvrcmd` takes, as an RMC round trip to a VIOS does (when no `sim
        /// hmc-serve` runs; else the daemon's). The default is an assumption, not a published
        /// figure; 0 for none.
        #[arg(long, default_value_t = DEFAULT_RMC_LATENCY_SECS, value_name = "SECONDS", value_parser = parse_latency)]
        rmc_latency: f64,
        /// The command line (one argument holding it whole, or its words).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        command: Vec<String>,
    },
    /// Serve HMC sessions from one process: `sim hmc-shell` (an sshd `ForceCommand`) then
    /// forwards its commands here over the state directory's socket (`hmc.sock`), so sessions
    /// run at once, as on an HMC, and the estate is loaded once. Until SIGINT or SIGTERM.
    HmcServe {
        /// Seconds each `viosvrcmd` takes, as an RMC round trip to a VIOS does; sessions wait
        /// side by side. The default is an assumption, not a published figure (see
        /// `tests/fixtures/hmc/vios/README.md`); 0 for none.
        #[arg(long, default_value_t = DEFAULT_RMC_LATENCY_SECS, value_name = "SECONDS", value_parser = parse_latency)]
        rmc_latency: f64,
    },
    /// Abort a migration in flight (an operator's `migrlpar -o s`, or the HMC giving up): the
    /// partition is left to be recovered with `migrlpar -o r`.
    AbortMigration { partition: powerplane_model::PartitionName },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum OnOff {
    On,
    Off,
}

impl Args {
    /// Whether this is the HMC emulator's server, which serves sessions on both cores (every
    /// other `sim` command is one request).
    pub(crate) fn serves_sessions(&self) -> bool {
        matches!(self.command, SimCommand::HmcServe { .. })
    }
}

pub(crate) fn run(cli: &Cli, args: &Args, rt: &Runtime) -> anyhow::Result<ExitCode> {
    rt.block_on(run_async(cli, args))?
}

async fn run_async(cli: &Cli, args: &Args) -> anyhow::Result<ExitCode> {
    if let SimCommand::Init { seed, force } = &args.command {
        return init(cli, *seed, *force);
    }
    if let SimCommand::HmcShell { frames, console, rmc_latency, command } = &args.command {
        return hmc_shell(cli, frames, console.as_ref(), Duration::from_secs_f64(*rmc_latency), command).await;
    }
    if let SimCommand::NodeShell { node, command } = &args.command {
        return node_shell(cli, node, command).await;
    }
    if let SimCommand::HmcServe { rmc_latency } = &args.command {
        use crate::sim::hmc_shell::daemon;
        use tokio::signal::unix::{SignalKind, signal};
        let Some((sim, _dir)) = open_with_dir(cli)? else { return Ok(ExitCode::from(1)) };
        let path = daemon::socket(&cli.state_dir);
        let (mut int, mut term) = (signal(SignalKind::interrupt())?, signal(SignalKind::terminate())?);
        let stop = async move {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
        };
        say!("serving HMC sessions on {}", path.display());
        daemon::serve(sim.clone(), &path, Duration::from_secs_f64(*rmc_latency), stop).await?;
        sim.save_time().await?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(fault) = fault_of(&args.command)? {
        return inject(cli, &fault).await;
    }
    if let SimCommand::Events { since, format } = &args.command {
        let events: Vec<sim::SimEvent> = match open_read_only(cli) {
            Ok((sim, _dir)) => {
                let report = sim.report().await;
                report.events.into_iter().filter(|e| since.is_none_or(|n| e.seq > n)).collect()
            }
            Err(e) => {
                let c = super::controller_for(cli, e)?;
                let q = since.map_or(String::new(), |n| format!("?since={n}"));
                c.get(&format!("/api/v1/sim/events{q}")).await?
            }
        };
        let out = &mut std::io::stdout().lock();
        match format {
            OutputFormat::Text => {
                for e in events {
                    writeln!(
                        out,
                        "{:>5} {:<20} {:<18} {}",
                        e.seq,
                        e.frame,
                        e.logged_by.as_deref().unwrap_or("(HMC)"),
                        e.errpt_line()
                    )?;
                }
            }
            OutputFormat::Json => writeln!(out, "{}", serde_json::to_string_pretty(&events)?)?,
        }
        return Ok(ExitCode::SUCCESS);
    }
    if let SimCommand::Node { node, command } = &args.command
        && command.iter().map(String::as_str).eq(["lltconfig", "-T", "query"])
    {
        let (sim, _dir) = open_read_only(cli)?;
        writeln!(std::io::stdout().lock(), "{}", sim.node_query(node).await?)?;
        return Ok(ExitCode::SUCCESS);
    }
    if let SimCommand::Show { format } = &args.command {
        let report: Report = match open_read_only(cli) {
            Ok((sim, _dir)) => sim.report().await,
            Err(e) => super::controller_for(cli, e)?.get("/api/v1/sim/report").await?,
        };
        let out = &mut std::io::stdout().lock();
        match format {
            OutputFormat::Text => show(out, &report)?,
            OutputFormat::Json => writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?,
        }
        return Ok(ExitCode::SUCCESS);
    }
    match &args.command {
        SimCommand::Init { .. }
        | SimCommand::HmcShell { .. }
        | SimCommand::NodeShell { .. }
        | SimCommand::HmcServe { .. } => {
            unreachable!("handled above")
        }
        SimCommand::Show { .. } | SimCommand::Events { .. } => unreachable!("handled above"),
        _ => unreachable!("a fault, handled above"),
    }
}

fn init(cli: &Cli, seed: u64, force: bool) -> anyhow::Result<ExitCode> {
    let store = StateDir::open(&cli.state_dir)?;
    if sim::load_state(&store).ok().flatten().is_some() && !force {
        anyhow::bail!(
            "{} already holds a simulated estate; add --force to replace it (its state is lost)",
            cli.state_dir.display()
        );
    }
    let state = match sim::build(cli.inventory.as_deref(), seed) {
        Ok(s) => s,
        Err(diags) => {
            print_diagnostics(&mut crate::say::Stderr::new(module_path!()), &diags)?;
            say!("the inventory is invalid: nothing was created");
            return Ok(ExitCode::from(1));
        }
    };
    let frames = state.frames.len();
    let partitions: usize = state.frames.values().map(|f| f.partitions.len()).sum();
    sim::save_state(&store, &state)?;
    let from = cli.inventory.as_ref().map_or("the built-in lab inventory".to_owned(), |p| p.display().to_string());
    println!(
        "created a simulated estate in {} from {from}: {frames} frames, {partitions} partitions (seed {seed})",
        cli.state_dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Opens the state dir's simulator, creating it on first use with a notice on stderr. `None`
/// when the inventory is invalid (its findings are printed).
pub(crate) fn open(cli: &Cli) -> anyhow::Result<Option<Simulator>> {
    Ok(open_with_dir(cli)?.map(|(sim, _)| sim))
}

/// Opens the simulator of an existing state directory for a command that only reads: nothing
/// is created, and every byte of the state directory stays as it was.
pub(crate) fn open_read_only(cli: &Cli) -> anyhow::Result<(Simulator, StateDir)> {
    let dir = StateDir::open_read_only(&cli.state_dir)?;
    match sim::open_existing(&dir, Clock::new(cli.sim_speedup))? {
        Some(sim) => Ok((sim, dir)),
        None => anyhow::bail!(
            "{} has no simulated estate; nothing was created. Create one with `powerplane sim init` (or any `plan`)",
            cli.state_dir.display()
        ),
    }
}

/// [`open`], also returning the state directory.
pub(crate) fn open_with_dir(cli: &Cli) -> anyhow::Result<Option<(Simulator, StateDir)>> {
    match sim::open_or_create(&cli.state_dir, cli.inventory.as_deref(), Clock::new(cli.sim_speedup)) {
        Ok((sim, created, dir)) => {
            super::note_created(&cli.state_dir, &created);
            Ok(Some((sim, dir)))
        }
        Err(OpenError::Inventory(diags)) => {
            print_diagnostics(&mut crate::say::Stderr::new(module_path!()), &diags)?;
            say!("the inventory is invalid: no simulated estate was created");
            Ok(None)
        }
        Err(OpenError::Store(e)) => Err(e.into()),
    }
}

/// `--rmc-latency`: seconds, from 0 to an hour.
fn parse_latency(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(f) if (0.0..=3600.0).contains(&f) => Ok(f.abs()),
        Ok(_) => Err(format!("`{s}` is outside the range: give seconds from 0 to 3600")),
        Err(_) => Err(format!("`{s}` is not a number of seconds")),
    }
}
