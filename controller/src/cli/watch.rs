//! `powerplane watch DIR`: the controller loop, until SIGINT or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use super::Cli;
use crate::store::lock;
use crate::watch::{self, metrics::Metrics, server};

/// Arguments of `watch`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The manifest directory.
    pub dir: PathBuf,
    /// Resync interval: observe the backend to catch drift made outside git (e.g. `30s`,
    /// `5m`).
    #[arg(long, default_value = "30s", value_parser = parse_interval)]
    pub interval: Duration,
    /// Only report drift and plans; never apply.
    #[arg(long)]
    pub dry_run: bool,
    /// Address of `/metrics`, `/healthz` and the simulator's fault controls.
    #[arg(long, default_value = "127.0.0.1:9464", conflicts_with = "no_listen")]
    pub listen: SocketAddr,
    /// No HTTP endpoint.
    #[arg(long)]
    pub no_listen: bool,
    /// Reconcile the manifests as committed at this ref in the repository holding DIR
    /// (uncommitted edits are ignored); new commits are picked up at each interval.
    #[arg(long, value_name = "REF")]
    pub git_ref: Option<String>,
    /// Run `git fetch` before reading the ref (for a remote branch).
    #[arg(long, requires = "git_ref")]
    pub fetch: bool,
    /// After the first SIGINT/SIGTERM, how long running actions may take before the loop stops
    /// waiting for them (they are then recorded as left running on the hypervisor).
    #[arg(long, default_value = "60s", value_parser = crate::time::parse_duration, value_name = "D")]
    pub drain_timeout: Duration,
}

/// A positive duration: a zero interval would resync in a busy loop.
fn parse_interval(s: &str) -> Result<Duration, String> {
    let d = crate::time::parse_duration(s)?;
    if d.is_zero() {
        return Err(format!("`{s}` is zero; the resync interval must be positive (e.g. 30s)"));
    }
    Ok(d)
}

pub(crate) fn run(cli: &Cli, args: &Args) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let signer = cli.audit_signer()?;
    rt.block_on(async {
        let stopper = crate::signals::install(args.drain_timeout)?;
        let Some((sim, dir)) = super::open_backend(cli)? else { return Ok(ExitCode::from(1)) };
        let metrics = Arc::new(Metrics::default());
        let listener = if args.no_listen { None } else { Some(server::bind(args.listen).await?) };
        let addr = listener.as_ref().map(|l| l.local_addr()).transpose()?;
        // The lock file tells `powerplane sim vios-down|vios-up` where to forward to.
        let _lock = lock::acquire(&dir, "watch", addr)?;
        if let (Some(listener), Some(addr)) = (listener, addr) {
            tracing::info!(%addr, "serving /metrics and /healthz");
            eprintln!("listening on {addr}");
            tokio::spawn(server::serve(listener, metrics.clone(), sim.simulator().cloned()));
        }
        let cfg = watch::Config {
            dir: args.dir.clone(),
            interval: args.interval,
            dry_run: args.dry_run,
            debounce: Duration::from_millis(300),
            settings: Default::default(),
            git_ref: args.git_ref.clone(),
            fetch: args.fetch,
            signer,
        };
        watch::run(cfg, sim, dir, metrics, stopper.receiver()).await?;
        Ok(match stopper.signal() {
            Some(sig) => {
                eprintln!(
                    "{}: the controller stopped; every started action has its outcome in the audit trail",
                    sig.name()
                );
                ExitCode::from(sig.exit_code())
            }
            None => ExitCode::SUCCESS,
        })
    })
}
