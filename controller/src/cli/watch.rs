//! `powerplane watch DIR`: the controller loop, until SIGINT or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use super::{Cli, Edge};
use crate::api::{self, Token};
use crate::say::say;
use crate::status::{Live, Metrics, Publisher};
use crate::store::lock;
use crate::watch;

/// Arguments of `watch`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The manifest directory.
    pub dir: PathBuf,
    /// Resync interval: observe the backend to catch drift made outside git (e.g. `30s`,
    /// `5m`): from 100ms to 7d.
    #[arg(long, default_value = "30s", value_parser = parse_interval)]
    pub interval: Duration,
    /// Only report drift and plans; never apply.
    #[arg(long)]
    pub dry_run: bool,
    /// Address of the HTTP API (`/api/v1/...`), `/metrics`, `/healthz` and `/readyz`.
    #[arg(long, default_value = "127.0.0.1:9464", conflicts_with = "no_listen")]
    pub listen: SocketAddr,
    /// Listen on a non-loopback address without TLS (behind a TLS-terminating proxy): every
    /// endpoint but `/healthz` then needs the token.
    #[arg(long, conflicts_with = "no_listen")]
    pub insecure_listen: bool,
    /// Another name the API answers to in the `Host` header (a proxy's name, `NAME` or
    /// `NAME:PORT`); repeatable. The listen address and `localhost`, `127.0.0.1` and `[::1]`
    /// with its port are always admitted; any other host is answered 421 (DNS rebinding).
    #[arg(long, value_name = "NAME", conflicts_with = "no_listen")]
    pub api_host: Vec<String>,
    /// Requests per second one client address may make to the API, sustained (bursts of twice
    /// that); more are answered 429.
    #[arg(long, default_value_t = api::RATE_PER_SECOND, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub api_rate: u64,
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
    /// How each reconcile's plan runs: actions at once, per frame, retries.
    #[command(flatten)]
    pub execution: super::execution::ExecArgs,
    /// After the first SIGINT/SIGTERM, how long running actions may take before the loop stops
    /// waiting for them (they are then recorded as left running on the hypervisor).
    #[arg(long, default_value = "60s", value_parser = crate::time::parse_duration, value_name = "D")]
    pub drain_timeout: Duration,
}

/// The resync interval's range: shorter resyncs in a busy loop (and are shorter than the
/// debounce of file events); longer ones never catch drift.
pub(crate) const INTERVAL: std::ops::RangeInclusive<Duration> =
    Duration::from_millis(100)..=Duration::from_secs(7 * 24 * 3600);

/// A duration within [`INTERVAL`].
fn parse_interval(s: &str) -> Result<Duration, String> {
    let d = crate::time::parse_duration(s)?;
    if d.is_zero() {
        return Err(format!("`{s}` is zero; the resync interval must be positive, from 100ms to 7d (e.g. 30s)"));
    }
    if !INTERVAL.contains(&d) {
        return Err(format!("`{s}` is outside the range: the resync interval must be from 100ms to 7d (e.g. 30s)"));
    }
    Ok(d)
}

pub(crate) fn run(cli: &Cli, args: &Args, edge: &Edge) -> anyhow::Result<ExitCode> {
    // The API has threads of its own: a client streaming the estate document (megabytes on a
    // large estate) or a burst of status requests never holds up the loop's next step.
    let api_rt = edge.runtime.api()?;
    let api_threads = api_rt.handle().clone();
    let signer = cli.audit_signer()?;
    // A signed trail and no key: refused before the state directory is opened.
    crate::store::audit::require_key(&cli.state_dir, signer.is_some())?;
    let code = edge.runtime.get()?.block_on(async {
        let stopper = crate::signals::install(args.drain_timeout)?;
        let Some((sim, dir)) = super::open_backend(cli, crate::app::open::Access::Write)? else {
            return Ok(ExitCode::from(1));
        };
        let metrics = Arc::new(Metrics::default());
        let backend = if cli.hmc.is_empty() {
            format!("the simulated estate in {}", cli.state_dir.display())
        } else {
            format!("the HMC{} {}", if cli.hmc.len() == 1 { "" } else { "s" }, cli.hmc.join(", "))
        };
        let live = Live::new(args.dir.display().to_string(), backend, args.dry_run);
        let listener = match args.no_listen {
            true => None,
            false => Some(api_threads.spawn(api::bind(args.listen, args.insecure_listen)).await??),
        };
        let addr = listener.as_ref().map(|l| l.local_addr()).transpose()?;
        // The lock file tells the other commands where to forward to.
        let _lock = lock::acquire(&dir, "watch", addr)?;
        let (stop_serving, serving_stopped) = tokio::sync::oneshot::channel::<()>();
        let server = match (listener, addr) {
            (Some(listener), Some(addr)) => {
                let token = Token::load_or_create(&cli.state_dir)?;
                let read_token = Token::load_or_create_read(&cli.state_dir)?;
                let state = api::Api {
                    live: live.clone(),
                    metrics: metrics.clone(),
                    backend: sim.clone(),
                    state_dir: cli.state_dir.clone(),
                    token,
                    read_token,
                    hosts: api::Hosts::new(addr, &args.api_host),
                    token_for_reads: !addr.ip().is_loopback(),
                    rate_per_second: args.api_rate,
                };
                tracing::info!(%addr, "serving the API, /metrics, /healthz and /readyz");
                say!("listening on {addr}");
                Some(api_threads.spawn(api::serve(listener, state, async move {
                    let _ = serving_stopped.await;
                })))
            }
            _ => None,
        };
        let cfg = watch::Config {
            dir: args.dir.clone(),
            interval: args.interval,
            dry_run: args.dry_run,
            debounce: Duration::from_millis(300),
            settings: args.execution.settings(),
            git_ref: args.git_ref.clone(),
            fetch: args.fetch,
            signer,
            clock: edge.clock.clone(),
        };
        let result = watch::run(cfg, sim, dir, Publisher::new(metrics, live), stopper.receiver()).await;
        // The API answers until the loop has stopped (a drain is watched through it).
        let _ = stop_serving.send(());
        if let Some(server) = server
            && tokio::time::timeout(Duration::from_secs(10), server).await.is_err()
        {
            tracing::warn!("the API server did not stop within 10 s; its connections are dropped");
        }
        result?;
        Ok(match stopper.signal() {
            Some(sig) => {
                say!("{}: the controller stopped; every started action has its outcome in the audit trail", sig.name());
                ExitCode::from(sig.exit_code())
            }
            None => ExitCode::SUCCESS,
        })
    });
    // The server has stopped (or was given up on above): what is left are its idle threads.
    api_rt.shutdown_timeout(Duration::from_secs(1));
    code
}
