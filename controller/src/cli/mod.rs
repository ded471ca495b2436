//! The command line (DESIGN §8). Parsing only checks the words; each subcommand's module does
//! the work and returns the exit code, so every command is testable without a process.

mod apply;
mod audit;
mod drift;
mod execution;
mod import;
mod plan;
mod progress;
mod report;
mod runtime;
mod schema;
mod sim;
mod status;
mod validate;
mod watch;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::app::open::{Access, Opening, Target};
use crate::clock::WallClock;
use crate::logging::{self, LogFormat};
use crate::say::say;

/// powerplane: GitOps reconciliation for IBM PowerVM estates.
#[derive(Debug, Parser)]
#[command(name = "powerplane", version, about, long_about = None)]
pub struct Cli {
    /// State directory: observed snapshot, audit log, saved plans, the simulator.
    #[arg(long, global = true, default_value = ".powerplane", value_name = "DIR")]
    pub state_dir: PathBuf,
    /// Inventory (a file or directory of FrameHardware and brownfield documents): the physical
    /// facts that capacity, disk and adapter checks use.
    #[arg(long, global = true, value_name = "PATH")]
    pub inventory: Option<PathBuf>,
    /// Format of log lines on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// How much faster than real time the simulator's virtual clock runs (60: a 2-minute
    /// migration takes 2 seconds): from 0.001 to 1000000, or 0 for no real waits at all
    /// (virtual time jumps ahead; for tests and benchmarks).
    #[arg(long, global = true, default_value_t = 60.0, value_name = "FACTOR", value_parser = parse_speedup)]
    pub sim_speedup: f64,
    /// Ed25519 private key (PKCS#8 PEM, from `audit keygen`) that signs each batch of audit
    /// records and the trail's HEAD; keep it outside the state directory.
    #[arg(long, global = true, env = "POWERPLANE_AUDIT_KEY", value_name = "FILE")]
    pub audit_key: Option<PathBuf>,
    /// An HMC to observe and change the estate through, `ssh://USER@HOST[:PORT]`, instead of the
    /// simulator; repeat it for an estate several HMCs manage (each frame is managed by the HMC
    /// that lists it). OpenSSH's configuration, agent and known_hosts apply.
    #[arg(long, global = true, value_name = "URL")]
    pub hmc: Vec<String>,
    /// The private key for `--hmc` (else OpenSSH's defaults and the agent).
    #[arg(long, global = true, value_name = "FILE")]
    pub ssh_identity: Option<PathBuf>,
    /// The known_hosts file the host keys of the HMCs and of the cluster nodes (a Cluster's
    /// `ssh:`) are checked against (else the user's).
    #[arg(long, global = true, value_name = "FILE")]
    pub ssh_known_hosts: Option<PathBuf>,
    /// SSH sessions run at once on each HMC (from 1 to 256): an observation spreads its VIOS
    /// listings over them, since each `viosvrcmd` waits for an RMC round trip. They ride on one
    /// master connection per 8 sessions (sshd's `MaxSessions` is 10 by default).
    #[arg(long, global = true, default_value_t = 24, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub hmc_sessions: u16,
    /// More log output (-v info, -vv debug, -vvv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The backend the command runs against and the state directory, opened with `access`
/// ([`Target::open`]); what opening found is said here. `None` when the simulator could not be
/// created (its diagnostics were printed).
pub(crate) fn open_backend(
    cli: &Cli,
    access: Access,
) -> anyhow::Result<Option<(crate::app::backend::Backend, crate::store::StateDir)>> {
    match cli.target().open(access)? {
        Opening::Opened(o) => {
            note_created(&cli.state_dir, &o.created);
            Ok(Some((o.backend, o.dir)))
        }
        Opening::InvalidInventory(diags) => {
            report::print_diagnostics(&mut crate::say::Stderr::new(module_path!()), &diags)?;
            say!("the inventory is invalid: no simulated estate was created");
            Ok(None)
        }
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check manifests: schema, references, and every semantic rule. Exit 0 valid, 1 invalid.
    Validate(validate::Args),
    /// Print the JSON Schema of the manifests (for editors and linters).
    Schema(schema::Args),
    /// Show the ordered actions that would make the estate match the manifests. Exit 0 no
    /// changes, 2 changes, 1 error.
    Plan(plan::Args),
    /// Plan, confirm, execute with the audit trail, and check convergence. Exit 0 converged,
    /// 1 not.
    Apply(apply::Args),
    /// Report drift: what differs from the manifests, and what changed since the last
    /// observation. Exit 0 none, 2 drift, 1 error.
    Drift(drift::Args),
    /// The audit trail: `audit [--json] [--since T]`, `audit verify`, `audit head`, `audit
    /// keygen`, `audit set-aside`.
    Audit(audit::Args),
    /// What the controller is doing: last reconcile, actions in flight, held and waiting
    /// work, next resync (through the running `watch`'s API). Exit 0 converged, 2 work
    /// remains or no controller runs, 1 error.
    Status(status::Args),
    /// The controller loop: watch the manifests, resync with the backend, heal drift (or only
    /// report it with --dry-run), serve /metrics, until SIGINT/SIGTERM.
    Watch(watch::Args),
    /// The simulated hypervisor: create it, look at it, inject faults.
    Sim(sim::Args),
    /// Write manifests describing what the backend has (brownfield adoption).
    Import(import::Args),
}

impl Cli {
    /// Where the backend is, from the global options.
    pub(crate) fn target(&self) -> Target {
        Target {
            state_dir: self.state_dir.clone(),
            inventory: self.inventory.clone(),
            sim_speedup: self.sim_speedup,
            hmc: self.hmc.clone(),
            ssh_identity: self.ssh_identity.clone(),
            ssh_known_hosts: self.ssh_known_hosts.clone(),
            hmc_sessions: self.hmc_sessions,
        }
    }

    /// The signing key, when one is configured (read now, so that a bad key file is refused
    /// before anything is done).
    pub(crate) fn audit_signer(&self) -> anyhow::Result<Option<crate::store::audit::Signer>> {
        Ok(self.audit_key.as_deref().map(crate::store::audit::Signer::load).transpose()?)
    }
}

/// The simulator's speed-up range (besides 0, no real waits).
const SPEEDUP: std::ops::RangeInclusive<f64> = 0.001..=1_000_000.0;

/// `--sim-speedup`: 0, or a finite factor within [`SPEEDUP`].
fn parse_speedup(s: &str) -> Result<f64, String> {
    let range = || format!("it must be 0 (no real waits) or from {} to {}", SPEEDUP.start(), SPEEDUP.end());
    let f: f64 = s.trim().parse().map_err(|_| format!("`{s}` is not a number; {}", range()))?;
    if f == 0.0 || SPEEDUP.contains(&f) {
        // `-0` is 0.
        Ok(f.abs())
    } else {
        Err(format!("`{s}` is outside the range: {}", range()))
    }
}

/// How a command prints its result.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// For people.
    #[default]
    Text,
    /// For scripts: one JSON document on stdout.
    Json,
}

/// Parses the process's arguments, runs the command, and maps the outcome to an exit code.
/// Usage errors exit 1, not clap's 2: 2 means "changes" for `plan` and `drift`.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    logging::init(cli.log_format, cli.verbose);
    crate::say::init(cli.log_format);
    quiet_on_closed_stdout();
    let values = match crate::env::check() {
        Ok(values) => values,
        Err(e) => {
            say!("error: {e}\nfix: {}", e.fix());
            return ExitCode::from(1);
        }
    };
    let edge =
        Edge { runtime: runtime::Runtime::for_command(&cli.command), clock: WallClock::from_setting(values.now) };
    match run(&cli, &edge) {
        Ok(code) => code,
        Err(e) if closed_stdout(&e) => ExitCode::from(CLOSED_PIPE),
        Err(e) => {
            say!("error: {}", crate::words::causes(&e));
            if crate::api::client::is_locked(&e)
                && let Some(addr) = crate::store::lock::listener(&cli.state_dir)
            {
                say!(
                    "hint: the running `watch` holds {} and serves its API at {addr}: `plan --refresh=false`, `drift`, `status`, `audit` and `sim show|events|<fault>` are answered through it; to change the estate edit the manifests it watches (`POST /api/v1/sync` reconciles at once), or stop the watch (SIGTERM) first",
                    cli.state_dir.display()
                );
            }
            ExitCode::from(1)
        }
    }
}

/// Says on stderr that opening the state directory created its simulated estate, and from what.
pub(crate) fn note_created(state_dir: &std::path::Path, created: &crate::sim::Created) {
    use crate::sim::Created;
    match created {
        Created::Existing => {}
        Created::FromInventory(p) => {
            say!("note: {} had no simulated estate yet; created one from {p}", state_dir.display())
        }
        Created::FromBuiltinLab => say!(
            "note: {} had no simulated estate yet; created one from the built-in lab inventory (choose another with `powerplane --inventory PATH sim init`)",
            state_dir.display()
        ),
    }
}

/// The exit status of a command whose reader went away (`powerplane audit | head -1`): what a
/// shell reports for a process that SIGPIPE ended (128 + 13). Rust ignores SIGPIPE, so a write
/// to a closed pipe fails with EPIPE instead.
const CLOSED_PIPE: u8 = 141;

/// Whether `e` is a write to a closed stdout: the reader is gone, there is nobody to tell, and
/// the command ends quietly with the pipe's status. Every command's output goes through here.
fn closed_stdout(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe))
}

/// `println!` panics when stdout is a closed pipe ("failed printing to stdout: Broken pipe"):
/// that ends the process quietly with the pipe's status too; every other panic is reported as
/// before.
fn quiet_on_closed_stdout() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(CLOSED_PIPE.into());
        }
        report(info);
    }));
}

/// The running `watch` that holds the state directory, when `e` says the directory is held
/// and its holder serves the API; else `e` itself.
pub(crate) fn controller_for(cli: &Cli, e: anyhow::Error) -> anyhow::Result<crate::api::client::Controller> {
    if !crate::api::client::is_locked(&e) {
        return Err(e);
    }
    match crate::api::client::Controller::holding(&cli.state_dir)? {
        Some(c) => {
            say!("note: forwarded to the running `watch` at {}, which holds {}", c.addr(), cli.state_dir.display());
            Ok(c)
        }
        None => Err(e),
    }
}

/// What the edge of the process (`main`) hands the commands: what they would otherwise read
/// from the environment or build for themselves.
pub(crate) struct Edge {
    /// The runtime, built when a command first asks for it.
    pub(crate) runtime: runtime::Runtime,
    /// The wall clock maintenance windows are read on (`POWERPLANE_NOW`, read once).
    pub(crate) clock: WallClock,
}

/// Runs a parsed command line.
fn run(cli: &Cli, edge: &Edge) -> anyhow::Result<ExitCode> {
    let rt = &edge.runtime;
    match &cli.command {
        Command::Validate(args) => validate::run(cli, args),
        Command::Schema(args) => schema::run(args),
        Command::Plan(args) => plan::run(cli, args, edge),
        Command::Apply(args) => apply::run(cli, args, edge),
        Command::Audit(args) => audit::run(cli, args),
        Command::Drift(args) => drift::run(cli, args, rt),
        Command::Status(args) => status::run(cli, args, rt),
        Command::Watch(args) => watch::run(cli, args, edge),
        Command::Sim(args) => sim::run(cli, args, rt),
        Command::Import(args) => import::run(cli, args, rt),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;
    use proptest::strategy::Strategy;

    #[test]
    fn command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    proptest::proptest! {
        // Parsing never panics, whatever the words: every duration, time, count and name is
        // checked by a parser that answers with an error.
        #[test]
        fn parsing_never_panics(words in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::sample::select(vec![
                    "plan", "apply", "watch", "audit", "verify", "drift", "sim", "show", "init", "fail-next",
                    "vios-down", "battery", "rmc", "--interval", "--since", "--drain-timeout", "--wait-timeout",
                    "--parallel", "--per-frame", "--format", "--plan", "--yes", "--allow-delete", "--sim-speedup",
                    "--retry-backoff-ms", "--listen", "0", "-1", "18446744073709551615s", "2026-13-45", "1h30m",
                ]).prop_map(str::to_owned),
                ".{0,24}",
            ],
            0..8,
        )) {
            let _ = Cli::try_parse_from(std::iter::once("powerplane".to_owned()).chain(words));
        }
    }
}
