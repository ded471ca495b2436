//! `powerplane sim ...`: create, inspect and disturb the simulated estate.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use powerplane_model::status::{LparState, SeaState};
use powerplane_model::{ActionKind, FrameName, ViosName};

use super::report::print_diagnostics;
use super::{Cli, OutputFormat};
use crate::sim::hmc_shell::DEFAULT_RMC_LATENCY_SECS;
use crate::sim::{self, Clock, Created, FailMode, Fault, OpenError, Report, Simulator, StateDir};

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

pub(crate) fn run(cli: &Cli, args: &Args) -> anyhow::Result<ExitCode> {
    // The HMC emulator serves sessions on both cores; every other command is one request.
    let rt = match args.command {
        SimCommand::HmcServe { .. } => {
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?
        }
        _ => tokio::runtime::Builder::new_current_thread().enable_all().build()?,
    };
    rt.block_on(run_async(cli, args))
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
        eprintln!("serving HMC sessions on {}", path.display());
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

/// The fault a `sim` command injects, `None` for the commands that only look.
fn fault_of(command: &SimCommand) -> anyhow::Result<Option<Fault>> {
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
async fn inject(cli: &Cli, fault: &Fault) -> anyhow::Result<ExitCode> {
    let lines = match open(cli) {
        Ok(Some(sim)) => fault.inject(&sim).await?,
        Ok(None) => return Ok(ExitCode::from(1)),
        Err(e) => {
            let c = super::controller_for(cli, e)?;
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

/// `sim hmc-shell`: one script against the simulated estate. A script that only lists opens
/// the state directory read-only, one that changes opens it to write; either waits (up to two
/// minutes) for another session's change to end, as commands queue on an HMC.
async fn hmc_shell(
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
async fn node_shell(cli: &Cli, node: &powerplane_model::PartitionName, command: &[String]) -> anyhow::Result<ExitCode> {
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

fn parse_kind(s: &str) -> anyhow::Result<ActionKind> {
    ActionKind::parse(s).with_context(|| {
        let kinds: Vec<&str> = ActionKind::ALL.iter().map(|k| k.as_str()).collect();
        format!("unknown action kind `{s}`; use one of: {}", kinds.join(", "))
    })
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
            print_diagnostics(&mut std::io::stderr().lock(), &diags)?;
            eprintln!("the inventory is invalid: nothing was created");
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
            match created {
                Created::Existing => {}
                Created::FromInventory(p) => {
                    eprintln!("note: {} had no simulated estate yet; created one from {p}", cli.state_dir.display())
                }
                Created::FromBuiltinLab => eprintln!(
                    "note: {} had no simulated estate yet; created one from the built-in lab inventory (choose another with `powerplane --inventory PATH sim init`)",
                    cli.state_dir.display()
                ),
            }
            Ok(Some((sim, dir)))
        }
        Err(OpenError::Inventory(diags)) => {
            print_diagnostics(&mut std::io::stderr().lock(), &diags)?;
            eprintln!("the inventory is invalid: no simulated estate was created");
            Ok(None)
        }
        Err(OpenError::Store(e)) => Err(e.into()),
    }
}

fn show(out: &mut dyn Write, r: &Report) -> std::io::Result<()> {
    let t = r.virtual_seconds;
    writeln!(out, "Simulated estate (seed {}, virtual time {}:{:02}:{:02})", r.seed, t / 3600, t / 60 % 60, t % 60)?;
    for f in &r.frames {
        writeln!(out)?;
        writeln!(
            out,
            "Frame {}  {} {}  {}{}  memory {} of {} MB free  processing units {} of {} free",
            f.name,
            f.machine_type,
            f.serial,
            f.state,
            if f.on_battery { " ON BATTERY" } else { "" },
            f.memory_free_mb.0,
            f.memory_mb.0,
            f.proc_units_free,
            f.proc_units
        )?;
        let vios: Vec<String> = f
            .vios
            .iter()
            .map(|v| format!("{} {}{}", v.name, v.state, if v.state.is_running() && !v.rmc { " (no RMC)" } else { "" }))
            .collect();
        writeln!(out, "  VIOS        {}", vios.join(", "))?;
        if let Some(sea) = &f.sea {
            writeln!(out, "  SEA {}", sea.name)?;
            for m in &sea.members {
                let vlans: Vec<String> = m.vlans.iter().map(ToString::to_string).collect();
                let bridged = if m.state == SeaState::Inactive || vlans.is_empty() {
                    String::new()
                } else {
                    format!("  VLANs {}", vlans.join(" "))
                };
                let adapters: Vec<&str> = m.adapters.iter().map(|a| a.as_str()).collect();
                let unsaved: Vec<&str> = m.unsaved.iter().map(|a| a.as_str()).collect();
                let bridged = format!(
                    "{bridged}  virt_adapters={}{}",
                    adapters.join(","),
                    if unsaved.is_empty() {
                        String::new()
                    } else {
                        format!(" (not in the profile: {})", unsaved.join(","))
                    }
                );
                writeln!(
                    out,
                    "    {:<18} {} ha_mode={:<8} priority {}  {:<10} bridge {:?}{bridged}",
                    m.vios.as_str(),
                    m.device,
                    m.ha_mode.as_str(),
                    m.priority,
                    m.state.as_str(),
                    m.bridge_mode
                )?;
            }
        }
        if let Some(pool) = &f.memory_pool {
            let pv: Vec<&str> = pool.paging_vios.iter().map(|v| v.as_str()).collect();
            writeln!(
                out,
                "  Memory pool {} of max {} MB, paging VIOS {}",
                pool.pool_mem_mb.0,
                pool.max_pool_mem_mb.0,
                pv.join(", ")
            )?;
            for d in &pool.devices {
                writeln!(
                    out,
                    "    {:<18} {} MB {}  {}",
                    d.device.as_str(),
                    d.size.0,
                    if d.redundant { "common     " } else { "independent" },
                    d.assigned.as_ref().map_or("free".to_owned(), |p| format!("-> {p}"))
                )?;
            }
        }
        for p in &f.partitions {
            let paging = match (&p.paging_current, &p.paging_primary) {
                (Some(c), Some(pri)) => format!(
                    "  paging via {c} (primary {pri}{})",
                    p.paging_secondary.as_ref().map(|s| format!(", secondary {s}")).unwrap_or_default()
                ),
                (None, Some(_)) => "  paging: no paging VIOS".to_owned(),
                _ => String::new(),
            };
            let state = if p.state == LparState::Running && !p.rmc {
                "Running (no RMC)".to_owned()
            } else {
                p.state.to_string()
            };
            let short = p
                .below_desired
                .map(|(m, u)| format!("  (activated below its desired {} MB, {u} units: the frame was short)", m.0))
                .unwrap_or_default();
            writeln!(
                out,
                "  Partition   {:<18} {:<22} {} MB{}  {} units{paging}{short}",
                p.name.as_str(),
                state,
                p.memory_mb.0,
                if p.shared_memory { " shared" } else { "" },
                p.proc_units
            )?;
        }
    }
    if !r.cluster_nodes.is_empty() {
        writeln!(out, "\nCluster nodes")?;
        for n in &r.cluster_nodes {
            let st = &n.status;
            let mut what = vec![format!("{} {}", st.manager, st.cluster)];
            if let Some(p) = st.peerinact_centis {
                what.push(format!("peerinact {p} (.01 s)"));
            }
            if st.unmanaged {
                what.push("resource groups UNMANAGED".into());
            }
            if st.maintenance {
                what.push("MAINTENANCE".into());
            }
            what.push(if st.online.is_empty() {
                "no group online".into()
            } else {
                format!("online: {}", st.online.join(", "))
            });
            what.extend(st.failovers.iter().map(|f| format!("FALSE FAILOVER: {f}")));
            writeln!(out, "  {:<18} on {:<14} {}", n.partition.as_str(), n.frame.as_str(), what.join("  "))?;
        }
    }
    if let Some(last) = r.events.last() {
        writeln!(
            out,
            "\nError log: {} entries kept, the last number {} (`powerplane sim events` lists them)",
            r.events.len(),
            last.seq
        )?;
    }
    if !r.migrations.is_empty() {
        writeln!(out, "\nMigrations (lslparmigr -r lpar)")?;
        for m in &r.migrations {
            let st = &m.status;
            let left =
                if st.remaining_secs > 0 { format!(", about {} s left", st.remaining_secs) } else { String::new() };
            let fix = if st.state == powerplane_model::status::MigrationState::Failed {
                format!("  recover: migrlpar -o r -m {} -p {}", m.from.word(), m.partition.word())
            } else {
                String::new()
            };
            writeln!(
                out,
                "  {:<18} {} -> {}  {}  {}% copied{left}{fix}",
                m.partition.as_str(),
                m.from,
                st.to,
                st.state,
                st.percent
            )?;
            writeln!(out, "    {}", m.lslparmigr())?;
        }
    }
    Ok(())
}

/// `--rmc-latency`: seconds, from 0 to an hour.
fn parse_latency(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(f) if (0.0..=3600.0).contains(&f) => Ok(f.abs()),
        Ok(_) => Err(format!("`{s}` is outside the range: give seconds from 0 to 3600")),
        Err(_) => Err(format!("`{s}` is not a number of seconds")),
    }
}
