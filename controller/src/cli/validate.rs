//! `powerplane validate DIR`: load the manifests, check every rule, report all findings.
//! Exit 0 when valid (warnings allowed), 1 when not.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use powerplane_model::{Diagnostic, Estate};

use super::report::{counts, print_diagnostics};
use super::{Cli, OutputFormat};
use crate::manifest_dir::{load_inventory, load_manifests};

/// Arguments of `validate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The manifest directory (or a single manifest file).
    pub dir: PathBuf,
    /// `text` for people, `json` for scripts.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

/// What validation found.
#[derive(Debug)]
struct Findings {
    estate: Option<Estate>,
    diagnostics: Vec<Diagnostic>,
}

pub(crate) fn run(cli: &Cli, args: &Args) -> anyhow::Result<ExitCode> {
    let outcome = check(&args.dir, cli.inventory.as_deref());
    let valid = !outcome.diagnostics.iter().any(Diagnostic::is_error);
    let stdout = std::io::stdout();
    match args.format {
        OutputFormat::Text => {
            let mut err = crate::say::Stderr::new(module_path!());
            print_diagnostics(&mut err, &outcome.diagnostics)?;
            if valid {
                let summary = outcome.estate.as_ref().map(summary).unwrap_or_default();
                let warn = if outcome.diagnostics.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", counts(&outcome.diagnostics))
                };
                writeln!(stdout.lock(), "{}: valid: {summary}{warn}", args.dir.display())?;
            } else {
                writeln!(err, "{}: invalid: {}", args.dir.display(), counts(&outcome.diagnostics))?;
            }
        }
        OutputFormat::Json => {
            let objects: serde_json::Map<String, serde_json::Value> =
                outcome.estate.iter().flat_map(Estate::counts).map(|(k, n)| (k.to_string(), n.into())).collect();
            let doc = serde_json::json!({
                "valid": valid,
                "objects": objects,
                "diagnostics": outcome.diagnostics,
            });
            writeln!(stdout.lock(), "{}", serde_json::to_string_pretty(&doc)?)?;
        }
    }
    Ok(if valid { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn check(dir: &Path, inventory: Option<&Path>) -> Findings {
    let estate = match load_manifests(dir) {
        Ok(e) => e,
        Err(diagnostics) => {
            return Findings { estate: None, diagnostics };
        }
    };
    let observed = match inventory {
        None => None,
        Some(path) => match load_inventory(path) {
            Ok(o) => Some(o),
            Err(diagnostics) => {
                return Findings { estate: Some(estate), diagnostics };
            }
        },
    };
    let mut diagnostics = powerplane_model::validate(&estate, observed.as_ref());
    // The checks that need no backend but the model's validation does not make: the
    // maintenance windows' time zones (jiff's database lives in the controller).
    diagnostics.extend(crate::windows::check(&estate));
    Findings { estate: Some(estate), diagnostics }
}

/// `4 Frame, 1 SharedProcessorPool, ...`.
fn summary(e: &Estate) -> String {
    let parts: Vec<String> = e.counts().iter().map(|(k, n)| format!("{n} {k}")).collect();
    format!("{} objects ({})", e.len(), parts.join(", "))
}
