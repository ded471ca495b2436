//! `powerplane drift DIR`: a one-shot drift report for cron and CI — what differs from the
//! manifests, and what changed since the last stored observation (drift made outside git: a
//! hand-run `chhwres`, a VIOS that went down, a failover). It only reads: the state directory
//! is left byte for byte as it was. Exit 0 none, 2 drift, 1 error.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use powerplane_model::PlanOptions;
use powerplane_model::plan::{ChangeKind, compare};

use super::report::print_diagnostics;
use super::runtime::Runtime;
use super::{Cli, OutputFormat};
use crate::app::open::Access;
use crate::backend::Hypervisor;
use crate::manifest_dir::load_manifests;
use crate::render;
use crate::say::say;
use crate::store::snapshot;

/// Arguments of `drift`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The manifest directory.
    pub dir: PathBuf,
    /// `text` for people, `json` for scripts.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

pub(crate) fn run(cli: &Cli, args: &Args, rt: &Runtime) -> anyhow::Result<ExitCode> {
    let desired = match load_manifests(&args.dir) {
        Ok(e) => e,
        Err(d) => {
            print_diagnostics(&mut crate::say::Stderr::new(module_path!()), &d)?;
            say!("{}: invalid manifests: no drift report", args.dir.display());
            return Ok(ExitCode::from(1));
        }
    };
    // A report only reads: the stored observation stays the one `plan`, `apply` or `watch`
    // made, and "changed since" is measured from it.
    let (observed, previous) = match observe(cli, &desired, rt) {
        Ok(both) => both,
        Err(e) => {
            // A running `watch` holds the state directory: it observes, and serves what it
            // stored last.
            let c = super::controller_for(cli, e)?;
            rt.block_on(async {
                #[derive(serde::Deserialize)]
                struct Fresh {
                    estate: powerplane_model::Estate,
                }
                let fresh: Fresh = c.get("/api/v1/estate?refresh=true").await?;
                let stored: snapshot::Stored = c.get("/api/v1/estate").await?;
                anyhow::Ok((fresh.estate, Some((stored.meta, stored.estate))))
            })??
        }
    };
    let plan = powerplane_model::plan(&desired, &observed, PlanOptions::default());
    if plan.findings.iter().any(powerplane_model::Diagnostic::is_error) {
        print_diagnostics(&mut crate::say::Stderr::new(module_path!()), &plan.findings)?;
        say!("{}: invalid manifests: no drift report", args.dir.display());
        return Ok(ExitCode::from(1));
    }
    let drifted: Vec<_> = plan.changes.iter().filter(|c| c.kind != ChangeKind::Unmanaged).cloned().collect();
    let since = previous.as_ref().map(|(meta, before)| (meta.observed_at.clone(), compare(before, &observed)));
    let mut out = std::io::stdout().lock();
    match args.format {
        OutputFormat::Json => {
            let doc = serde_json::json!({
                "drift": !drifted.is_empty() || !plan.in_progress.is_empty() || !plan.deferred.is_empty(),
                "inProgress": plan.in_progress,
                "deferred": plan.deferred,
                "objects": drifted,
                "actions": plan.actions.len(),
                "since_last_observation": since.as_ref().map(|(at, c)| serde_json::json!({"at": at, "changes": c})),
                "warnings": plan.warnings,
                "errors": plan.errors,
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
        OutputFormat::Text => {
            let style = render::Style::detect(&std::io::stdout());
            for p in &plan.in_progress {
                writeln!(out, "In progress on the backend (not settled): {p}")?;
            }
            for d in &plan.deferred {
                writeln!(out, "Deferred by a runtime condition: {d}")?;
            }
            let settled = plan.in_progress.is_empty() && plan.deferred.is_empty();
            if drifted.is_empty() && settled {
                writeln!(out, "No drift: the estate matches {}.", args.dir.display())?;
            } else if drifted.is_empty() {
                writeln!(out, "No other drift, but the estate does not match while work is in flight or deferred.")?;
            } else {
                writeln!(
                    out,
                    "Drift from {} ({} objects; `powerplane plan` shows the {} actions that heal it):",
                    args.dir.display(),
                    drifted.len(),
                    plan.actions.len()
                )?;
                write!(out, "{}", render::changes(&drifted, style))?;
            }
            if let Some((at, changes)) = &since
                && !changes.is_empty()
            {
                writeln!(out, "\nChanged since the last observation ({at}):")?;
                write!(out, "{}", render::changes(changes, style))?;
            }
            for w in &plan.warnings {
                writeln!(out, "warning: {w}")?;
            }
        }
    }
    Ok(if !plan.errors.is_empty() {
        for e in &plan.errors {
            say!("error: {e}");
        }
        ExitCode::from(1)
    } else if drifted.is_empty() && plan.in_progress.is_empty() && plan.deferred.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

/// Observes the backend and reads the stored observation, without writing.
fn observe(
    cli: &Cli,
    desired: &powerplane_model::Estate,
    rt: &Runtime,
) -> anyhow::Result<(powerplane_model::Estate, Option<(snapshot::Meta, powerplane_model::Estate)>)> {
    let Some((backend, dir)) = super::open_backend(cli, Access::ReadOnly)? else {
        anyhow::bail!("the backend could not be opened")
    };
    backend.adopt_names(desired);
    let observed = rt.block_on(backend.observe())??;
    let previous = snapshot::load(&dir).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "the stored observation is unreadable; nothing is compared with it");
        None
    });
    Ok((observed, previous))
}
