//! `powerplane plan DIR`: what it would take to make the estate match the manifests.
//! Exit 0 no changes, 2 changes, 1 error (invalid manifests, or a plan that cannot run).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use powerplane_model::PlanOptions;

use super::report::print_diagnostics;
use super::runtime::Runtime;
use super::{Cli, Edge};
use crate::app::open::Access;
use crate::backend::Hypervisor;
use crate::render;
use crate::say::say;
use crate::store::snapshot;

/// Output formats of `plan`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum PlanFormat {
    /// For people: markers, field diffs, ordered actions, summary.
    #[default]
    Text,
    /// The stable JSON contract.
    Json,
    /// HMC shell commands in order.
    Hmc,
    /// The action DAG for Graphviz.
    Dot,
}

/// Arguments of `plan`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The manifest directory.
    pub dir: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
    /// Plan the manifests as committed at this ref (uncommitted edits are ignored).
    #[arg(long, value_name = "REF")]
    pub git_ref: Option<String>,
    /// Save the plan, sealed with its digest, the observed state's fingerprint and the
    /// manifests' digest, for `apply --plan FILE` (which refuses it once any of them changed).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Observe the backend first (default). `--refresh=false` plans against the stored
    /// snapshot of the last observation, like terraform.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub refresh: bool,
    /// Also run the plan on a digital twin of the observed estate (a scratch simulator, on
    /// virtual time) and report what it refused, how long it took and whether it converged;
    /// exit 1 when it did not.
    #[arg(long)]
    pub rehearse: bool,
}

pub(crate) fn run(cli: &Cli, args: &Args, edge: &Edge) -> anyhow::Result<ExitCode> {
    let t = std::time::Instant::now();
    let phase = |name: &str| tracing::info!(phase = name, elapsed_ms = t.elapsed().as_millis() as u64, "plan");
    let desired = match crate::manifest_dir::load_manifests_sealed(&args.dir, args.git_ref.as_deref()) {
        Ok(loaded) => loaded,
        Err(diags) => {
            print_diagnostics(&mut crate::say::Stderr::new(module_path!()), &diags)?;
            say!("{}: invalid manifests: nothing was planned", args.dir.display());
            return Ok(ExitCode::from(1));
        }
    };
    let (desired, commit, manifests_digest) = desired;
    phase("manifests loaded");
    // `--refresh=false` only reads: the state directory is opened read-only and the backend
    // is not asked.
    let (observed, stored, dir, rates) = if args.refresh {
        let Some((backend, dir)) = super::open_backend(cli, Access::Write)? else {
            return Ok(ExitCode::from(1));
        };
        let hmc = matches!(backend, crate::app::backend::Backend::Hmc(_));
        if !hmc {
            phase("backend opened");
        }
        backend.adopt_names(&desired);
        let (observed, rates) = edge.runtime.block_on(async { (backend.observe().await, backend.rates().await) })?;
        if hmc {
            phase("observed the HMC");
        }
        (observed?, None, Some(dir), rates)
    } else {
        // A malformed --hmc is refused even when the backend is not asked.
        cli.target().hmc()?;
        let (meta, observed, dir) = stored_observation(cli, &edge.runtime)?;
        say!("note: planning against the observation of {} ({}), not the backend", meta.observed_at, meta.source);
        (observed, Some(meta), dir, Default::default())
    };
    phase("observed");
    // The fresh observation is stored on a second thread while this one plans.
    let (plan, meta) = std::thread::scope(|scope| {
        let saving = match (&stored, &dir) {
            (None, Some(dir)) => Some(scope.spawn(|| snapshot::save(dir, &observed, "observe (plan)"))),
            _ => None,
        };
        let plan = powerplane_model::plan(&desired, &observed, PlanOptions { rates, ..Default::default() });
        let meta = match (saving, stored) {
            (Some(h), _) => h.join().map_err(|_| anyhow::anyhow!("the snapshot writer panicked"))??,
            (None, Some(meta)) => meta,
            (None, None) => unreachable!("either stored or saved"),
        };
        anyhow::Ok((plan, meta))
    })?;
    if args.format != PlanFormat::Json && plan.findings.iter().any(powerplane_model::Diagnostic::is_error) {
        print_diagnostics(&mut crate::say::Stderr::new(module_path!()), &plan.findings)?;
        say!("{}: invalid manifests: nothing was planned", args.dir.display());
        return Ok(ExitCode::from(1));
    }
    phase("planned");
    // What maintenance windows would hold back if the plan were applied now.
    let windows = match crate::windows::resolve(&desired) {
        Ok(w) => w,
        Err(e) => {
            say!("error: {e}; nothing was planned");
            return Ok(ExitCode::from(1));
        }
    };
    let held = if windows.is_empty() {
        Vec::new()
    } else {
        let now = edge.clock.now(0)?;
        crate::windows::gate(plan.clone(), &desired, &windows, now).1
    };
    if let Some(file) = &args.out {
        let saved = crate::saved_plan::SavedPlan {
            fingerprint: meta.fingerprint.clone(),
            created: crate::time::now(),
            manifests: args.dir.display().to_string(),
            manifests_digest,
            commit,
            plan: plan.clone(),
        };
        saved.write(file)?;
        say!(
            "saved the plan, sealed, to {}; apply exactly it with `powerplane apply --plan {}` (refused if it, the manifests or the estate change)",
            file.display(),
            file.display()
        );
    }
    let against = if cli.hmc.is_empty() {
        format!("the simulated estate in {}", cli.state_dir.display())
    } else {
        format!("the HMC{} {}", if cli.hmc.len() == 1 { "" } else { "s" }, cli.hmc.join(", "))
    };
    let title = format!("powerplane plan: {} against {against}", args.dir.display());
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match args.format {
        PlanFormat::Text => {
            write!(out, "{}", render::text(&plan, &title, render::Style::detect(&stdout)))?;
            if !held.is_empty() {
                writeln!(out, "\nHeld for maintenance windows if applied now ({} action(s)):", held.len())?;
                for h in &held {
                    writeln!(out, "  - {} {}: {}", h.id, h.what, h.reason)?;
                }
            }
        }
        PlanFormat::Json => {
            let held = held
                .iter()
                .map(|h| render::HeldAction {
                    id: h.id.0.clone(),
                    reason: h.reason.clone(),
                    opens: h.opens.map(|t| t.to_string()),
                })
                .collect();
            let v = render::PlanDocument { held: Some(held), ..render::PlanDocument::of(&plan) }.to_value();
            writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?
        }
        PlanFormat::Hmc => write!(out, "{}", render::hmc(&plan, &title))?,
        PlanFormat::Dot => write!(out, "{}", render::dot(&plan))?,
    }
    out.flush()?;
    phase("rendered");
    for w in &plan.warnings {
        say!("warning: {w}");
    }
    if args.format != PlanFormat::Text {
        for e in &plan.errors {
            say!("error: {e}");
        }
    }
    let rehearsed = if args.rehearse && plan.errors.is_empty() && !plan.actions.is_empty() {
        let options = PlanOptions { rates, ..Default::default() };
        let r = edge.runtime.block_on(crate::rehearsal::rehearse(
            &observed,
            &desired,
            &plan,
            options,
            Default::default(),
        ))??;
        // The report follows a text plan; after JSON it goes to stderr.
        if args.format == PlanFormat::Text {
            print!("\n{}", r.render());
        } else {
            write!(crate::say::Stderr::new(module_path!()), "{}", r.render())?;
        }
        Some(r.converged)
    } else {
        None
    };
    let code = if !plan.errors.is_empty() || rehearsed == Some(false) {
        ExitCode::from(1)
    } else if plan.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    };
    // The process ends here: leave the large structures to the OS instead of freeing them one
    // by one (tens of milliseconds on big estates).
    std::mem::forget((desired, observed, plan));
    Ok(code)
}

/// The stored observation, read from the state directory, or, while a `watch` holds it,
/// through its API (the observation the loop last made and stored).
fn stored_observation(
    cli: &Cli,
    rt: &Runtime,
) -> anyhow::Result<(snapshot::Meta, powerplane_model::Estate, Option<crate::store::StateDir>)> {
    let none = || {
        anyhow::anyhow!(
            "there is no stored observation in {} yet; plan once with refresh (the default)",
            cli.state_dir.display()
        )
    };
    match crate::store::StateDir::open_read_only(&cli.state_dir) {
        Ok(dir) => {
            let (meta, observed) = snapshot::load(&dir)?.ok_or_else(none)?;
            Ok((meta, observed, Some(dir)))
        }
        Err(e) => {
            let c = super::controller_for(cli, e.into())?;
            let stored: snapshot::Stored = rt.block_on(c.get("/api/v1/estate"))??;
            Ok((stored.meta, stored.estate, None))
        }
    }
}
