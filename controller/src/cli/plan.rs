//! `powerplane plan DIR`: what it would take to make the estate match the manifests.
//! Exit 0 no changes, 2 changes, 1 error (invalid manifests, or a plan that cannot run).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use powerplane_model::{Invalid, PlanOptions};

use super::Cli;
use super::report::print_diagnostics;
use crate::backend::Hypervisor;
use crate::manifest_dir::read_sources;
use crate::render;

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
}

pub(crate) fn run(cli: &Cli, args: &Args) -> anyhow::Result<ExitCode> {
    let t = std::time::Instant::now();
    let phase = |name: &str| tracing::info!(phase = name, elapsed_ms = t.elapsed().as_millis() as u64, "plan");
    let desired =
        match read_sources(&args.dir).and_then(|s| powerplane_model::load_manifests(&s).map_err(|Invalid(d)| d)) {
            Ok(e) => e,
            Err(diags) => {
                print_diagnostics(&mut std::io::stderr().lock(), &diags)?;
                eprintln!("{}: invalid manifests: nothing was planned", args.dir.display());
                return Ok(ExitCode::from(1));
            }
        };
    phase("manifests loaded");
    let Some(sim) = super::sim::open(cli)? else {
        return Ok(ExitCode::from(1));
    };
    phase("backend opened");
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().build()?;
    let observed = rt.block_on(sim.observe())?;
    phase("observed");
    if args.format != PlanFormat::Json {
        let findings = powerplane_model::validate(&desired, Some(&observed));
        if findings.iter().any(powerplane_model::Diagnostic::is_error) {
            print_diagnostics(&mut std::io::stderr().lock(), &findings)?;
            eprintln!("{}: invalid manifests: nothing was planned", args.dir.display());
            return Ok(ExitCode::from(1));
        }
    }
    let plan = powerplane_model::plan(&desired, &observed, PlanOptions::default());
    phase("planned");
    let title =
        format!("powerplane plan: {} against the simulated estate in {}", args.dir.display(), cli.state_dir.display());
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match args.format {
        PlanFormat::Text => {
            write!(out, "{}", render::text(&plan, &title, render::Style::detect(stdout.is_terminal())))?
        }
        PlanFormat::Json => writeln!(out, "{}", serde_json::to_string_pretty(&render::json(&plan))?)?,
        PlanFormat::Hmc => write!(out, "{}", render::hmc(&plan, &title))?,
        PlanFormat::Dot => write!(out, "{}", render::dot(&plan))?,
    }
    out.flush()?;
    phase("rendered");
    if args.format != PlanFormat::Text {
        for w in &plan.warnings {
            eprintln!("warning: {w}");
        }
        for e in &plan.errors {
            eprintln!("error: {e}");
        }
    }
    Ok(if !plan.errors.is_empty() {
        ExitCode::from(1)
    } else if plan.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}
