//! Printing findings for people (stderr, compiler style) and for scripts (JSON).

use std::io::Write;

use powerplane_model::{Diagnostic, Severity};

/// Writes every finding, errors first, then a count line.
pub(crate) fn print_diagnostics(out: &mut dyn Write, diags: &[Diagnostic]) -> std::io::Result<()> {
    let mut sorted: Vec<&Diagnostic> = diags.iter().collect();
    sorted.sort_by_key(|d| d.severity());
    for d in &sorted {
        writeln!(out, "{d}")?;
    }
    Ok(())
}

/// `3 errors, 1 warning`.
pub(crate) fn counts(diags: &[Diagnostic]) -> String {
    let errors = diags.iter().filter(|d| d.severity() == Severity::Error).count();
    let warnings = diags.len() - errors;
    format!("{} {}, {} {}", errors, plural(errors, "error"), warnings, plural(warnings, "warning"))
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 { word.to_owned() } else { format!("{word}s") }
}
