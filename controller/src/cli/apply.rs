//! `powerplane apply DIR`: plan, show, confirm, execute through the backend with the audit
//! trail, then observe again and say whether the estate converged. Exit 0 converged, 1 not.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::bail;
use powerplane_model::PlanOptions;

use super::Cli;
use super::progress::Reporter;
use super::report::print_diagnostics;
use crate::backend::Hypervisor;
use crate::executor::{self, AuditWriter, Context, Outcome};
use crate::manifest_dir::load_manifests;
use crate::render;
use crate::saved_plan::SavedPlan;
use crate::store::audit::{self, AuditLog, Draft, Event};
use crate::store::{lock, snapshot};

/// Arguments of `apply`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The manifest directory (not needed with --plan).
    #[arg(required_unless_present = "plan")]
    pub dir: Option<PathBuf>,
    /// Apply exactly this saved plan (`plan --out FILE`); refused if the estate changed since.
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
    /// Apply the manifests as committed at this ref (uncommitted edits are ignored).
    #[arg(long, value_name = "REF", conflicts_with = "plan")]
    pub git_ref: Option<String>,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
    /// Actions running at once in all.
    #[arg(long, default_value_t = executor::Settings::default().parallel)]
    pub parallel: usize,
    /// Actions running at once per frame (so migrations per frame).
    #[arg(long, default_value_t = executor::Settings::default().per_frame)]
    pub per_frame: usize,
    /// First retry delay after a transient failure, in milliseconds (doubling, with jitter).
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    pub retry_backoff_ms: u64,
}

pub(crate) fn run(cli: &Cli, args: &Args) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    rt.block_on(run_async(cli, args))
}

async fn run_async(cli: &Cli, args: &Args) -> anyhow::Result<ExitCode> {
    let mut at_commit = None;
    let desired = match (&args.plan, &args.dir) {
        (None, Some(dir)) => match load_desired(dir, args.git_ref.as_deref()) {
            Ok((e, c)) => {
                at_commit = c;
                Some(e)
            }
            Err(d) => {
                print_diagnostics(&mut std::io::stderr().lock(), &d)?;
                eprintln!("{}: invalid manifests: nothing was applied", dir.display());
                return Ok(ExitCode::from(1));
            }
        },
        _ => None,
    };
    let Some((sim, dir)) = super::sim::open_with_dir(cli)? else { return Ok(ExitCode::from(1)) };
    let _lock = lock::acquire(&dir, "apply", None)?;
    let log = AuditLog::open(&dir)?;
    let writer = AuditWriter::start(log.clone());
    recover(&log, &writer).await?;

    let observed = sim.observe().await?;
    let meta = snapshot::save(&dir, &observed, "observe (apply)")?;
    let (plan, manifests) = match (&args.plan, desired, &args.dir) {
        (Some(file), _, _) => {
            let saved = SavedPlan::read(file)?;
            if saved.fingerprint != meta.fingerprint {
                bail!(
                    "the estate changed since {} was made (it was made against state {}, the estate is now in state {}); nothing was done. Make a new plan",
                    file.display(),
                    &saved.fingerprint[..12],
                    &meta.fingerprint[..12]
                );
            }
            (saved.plan, PathBuf::from(saved.manifests))
        }
        (None, Some(desired), Some(d)) => {
            (powerplane_model::plan(&desired, &observed, PlanOptions::default()), d.clone())
        }
        _ => unreachable!("clap requires DIR or --plan"),
    };
    if plan.findings.iter().any(powerplane_model::Diagnostic::is_error) {
        print_diagnostics(&mut std::io::stderr().lock(), &plan.findings)?;
        eprintln!("{}: invalid manifests: nothing was applied", manifests.display());
        return Ok(ExitCode::from(1));
    }
    let stdout = std::io::stdout();
    let title =
        format!("powerplane apply: {} on the simulated estate in {}", manifests.display(), cli.state_dir.display());
    write!(stdout.lock(), "{}", render::text(&plan, &title, render::Style::detect(stdout.is_terminal())))?;
    if !plan.errors.is_empty() {
        eprintln!("the plan has errors: nothing was applied");
        return Ok(ExitCode::from(1));
    }
    if plan.actions.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    if !args.yes && !confirm(plan.actions.len())? {
        eprintln!("nothing was applied");
        return Ok(ExitCode::from(1));
    }

    let (commit, dirty) = match &at_commit {
        Some(c) => (Some(c.clone()), Some(false)),
        None => crate::git::provenance(&manifests).map_or((None, None), |(c, d)| (Some(c), Some(d))),
    };
    let ctx = Context { stop: None, plan_id: format!("plan-{}", &meta.fingerprint[..12]), commit, dirty };
    let settings = executor::Settings {
        parallel: args.parallel.max(1),
        per_frame: args.per_frame.max(1),
        backoff: std::time::Duration::from_millis(args.retry_backoff_ms),
        ..Default::default()
    };
    let reporter = Arc::new(Reporter::new(plan.actions.len()));
    let report = executor::execute(sim.clone(), &plan, &ctx, settings, &writer, reporter.clone()).await?;
    reporter.finish();

    let after = sim.observe().await?;
    snapshot::save(&dir, &after, "observe (after apply)")?;
    let (ok, failed, skipped) = report.counts();
    let mut out = stdout.lock();
    writeln!(out, "\nApplied: {ok} succeeded, {failed} failed, {skipped} skipped.")?;
    for (a, o) in &report.results {
        match o {
            Outcome::Failed { error, attempts } => {
                writeln!(out, "  x {} {} {}: {error} ({attempts} attempts)", a.id, a.kind(), a.op.object())?
            }
            Outcome::Skipped { because } => {
                writeln!(out, "  - {} {} {}: skipped because {because} failed", a.id, a.kind(), a.op.object())?
            }
            Outcome::NotStarted => writeln!(out, "  - {} {} {}: not started", a.id, a.kind(), a.op.object())?,
            Outcome::Succeeded { .. } => {}
        }
    }
    let converged = match (&args.plan, &args.dir) {
        (None, Some(d)) => {
            let (desired, _) = load_desired(d, args.git_ref.as_deref())
                .map_err(|_| anyhow::anyhow!("the manifests changed during the apply"))?;
            let again = powerplane_model::plan(&desired, &after, PlanOptions::default());
            let left = again.actions.len();
            if left == 0 && again.errors.is_empty() {
                writeln!(out, "Converged: the estate matches the manifests.")?;
                true
            } else {
                writeln!(
                    out,
                    "Not converged: {left} actions remain ({} errors); run apply again once the failures are fixed.",
                    again.errors.len()
                )?;
                false
            }
        }
        _ => report.all_succeeded(),
    };
    Ok(if report.all_succeeded() && converged { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// The manifests from the working tree, or as committed at `git_ref` (with the commit).
fn load_desired(
    dir: &std::path::Path,
    git_ref: Option<&str>,
) -> Result<(powerplane_model::Estate, Option<String>), Vec<powerplane_model::Diagnostic>> {
    match git_ref {
        Some(r) => crate::manifest_dir::load_manifests_at(dir, r).map(|(e, c)| (e, Some(c))),
        None => load_manifests(dir).map(|e| (e, None)),
    }
}

/// Intents left without an outcome by a process that died: each gets an `interrupted` outcome
/// now, so every backend call has exactly one; the new plan is made from a fresh observation,
/// so whatever the call did or did not do is taken into account.
async fn recover(log: &AuditLog, writer: &AuditWriter) -> anyhow::Result<()> {
    let dangling = log.dangling_intents()?;
    if dangling.is_empty() {
        return Ok(());
    }
    eprintln!(
        "note: the previous apply stopped during {} action(s); recording them as interrupted and observing the estate again",
        dangling.len()
    );
    let records = dangling
        .into_iter()
        .map(|r| {
            let d = Draft {
                result: Some(audit::Result::Interrupted),
                message: Some(
                    "the process ended during this call; its effect was taken from a fresh observation".into(),
                ),
                intent: Some(r.seq),
                ..r.draft
            };
            (Event::Outcome, d)
        })
        .collect();
    writer.write(records).await?;
    Ok(())
}

/// Asks on a terminal; refuses without one (use --yes in scripts).
fn confirm(n: usize) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!(
            "refusing to apply {n} actions without confirmation: stdin is not a terminal; add --yes to apply non-interactively"
        );
    }
    eprint!("Apply these {n} actions? Only 'yes' is accepted: ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}
