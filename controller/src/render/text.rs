//! The human view: terraform-like markers (`+ ~ - >`), field diffs of the YAML rendered with
//! `similar`, the ordered actions with their HMC commands and reasons, warnings, errors, and a
//! summary line.

use std::fmt::Write;

use anstyle::{AnsiColor, Style as Ansi};
use powerplane_model::Plan;
use powerplane_model::plan::{ChangeKind, ObjectChange};
use similar::{ChangeTag, TextDiff};

/// Whether to colour the output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// ANSI colours (a terminal, unless `NO_COLOR` says otherwise).
    Colour,
    /// Plain text.
    Plain,
}

impl Style {
    /// Colour on a terminal as the conventions say: `NO_COLOR` (<https://no-color.org>),
    /// `CLICOLOR`/`CLICOLOR_FORCE` and `TERM=dumb` are honoured (anstream decides).
    pub fn detect(stream: &impl anstream::stream::RawStream) -> Self {
        match anstream::AutoStream::choice(stream) {
            anstream::ColorChoice::Never => Style::Plain,
            _ => Style::Colour,
        }
    }

    fn paint(self, colour: AnsiColor, text: &str) -> String {
        match self {
            Style::Plain => text.to_owned(),
            Style::Colour => {
                let s = Ansi::new().fg_color(Some(colour.into()));
                format!("{}{text}{}", s.render(), s.render_reset())
            }
        }
    }

    fn bold(self, text: &str) -> String {
        match self {
            Style::Plain => text.to_owned(),
            Style::Colour => {
                let s = Ansi::new().bold();
                format!("{}{text}{}", s.render(), s.render_reset())
            }
        }
    }
}

fn colour_of(kind: ChangeKind) -> AnsiColor {
    match kind {
        ChangeKind::Create => AnsiColor::Green,
        ChangeKind::Update | ChangeKind::Drift => AnsiColor::Yellow,
        ChangeKind::Migrate => AnsiColor::Cyan,
        ChangeKind::Delete => AnsiColor::Red,
        ChangeKind::Unmanaged => AnsiColor::BrightBlack,
    }
}

/// Renders the plan for people.
pub fn text(plan: &Plan, title: &str, style: Style) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", style.bold(title));
    if plan.is_empty() && plan.errors.is_empty() {
        let _ = writeln!(out, "\nNo changes. The estate matches the manifests.");
    }
    if !plan.in_progress.is_empty() {
        let _ = writeln!(out, "\nIn progress on the backend (not converged until it ends):");
        for w in &plan.in_progress {
            let _ = writeln!(out, "  {} {w}", style.paint(AnsiColor::Cyan, "…"));
        }
    }
    if !plan.deferred.is_empty() {
        let _ = writeln!(out, "\nDeferred by runtime conditions (they run once the condition clears):");
        for w in &plan.deferred {
            let _ = writeln!(out, "  {} {w}", style.paint(AnsiColor::Yellow, "⏸"));
        }
    }
    let managed: Vec<&ObjectChange> =
        plan.changes.iter().filter(|c| !matches!(c.kind, ChangeKind::Unmanaged | ChangeKind::Delete)).collect();
    if !managed.is_empty() {
        let _ = writeln!(out, "\nChanges:");
        for c in managed {
            change(&mut out, c, style);
        }
    }
    // Deletions stand apart, so that nobody approves one by accident.
    let deletions: Vec<&ObjectChange> = plan.changes.iter().filter(|c| c.kind == ChangeKind::Delete).collect();
    if !deletions.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            style.paint(
                AnsiColor::Red,
                "Deletions (destroy partitions; `apply` needs --allow-delete without a terminal):"
            )
        );
        for c in deletions {
            change(&mut out, c, style);
        }
    }
    let unmanaged: Vec<&ObjectChange> = plan.changes.iter().filter(|c| c.kind == ChangeKind::Unmanaged).collect();
    if !unmanaged.is_empty() {
        let _ = writeln!(out, "\nNot managed (no manifest; left alone):");
        for c in unmanaged {
            let _ = writeln!(
                out,
                "  {} {}{}",
                style.paint(AnsiColor::BrightBlack, "?"),
                c.object,
                c.frame.as_ref().map(|f| format!("  on {f}")).unwrap_or_default()
            );
        }
    }
    if !plan.actions.is_empty() {
        let _ = writeln!(out, "\nActions, in order:");
        for a in &plan.actions {
            let after = if a.after.is_empty() {
                String::new()
            } else {
                let ids = a.after.iter().map(|i| i.0.as_str()).collect::<Vec<_>>().join(", ");
                match a.when {
                    powerplane_model::When::Succeeded => format!("  (after {ids})"),
                    powerplane_model::When::Ended => format!("  (once {ids} ended, however)"),
                    powerplane_model::When::Failed => format!("  (only if {ids} did not succeed)"),
                }
            };
            let _ = writeln!(
                out,
                "  {:<4} {}{}",
                a.id.0,
                style.bold(a.kind().as_str()),
                style.paint(AnsiColor::BrightBlack, &after)
            );
            let prompt = match a.op.runs_on() {
                powerplane_model::RunsOn::Hmc => "$".to_owned(),
                powerplane_model::RunsOn::Node(n) => format!("{n}#"),
                powerplane_model::RunsOn::Controller => "(controller) $".to_owned(),
            };
            let _ = writeln!(out, "       {prompt} {}", a.op.command());
            let _ = writeln!(out, "       {}", style.paint(AnsiColor::BrightBlack, &format!("why: {}", a.reason)));
        }
    }
    if !plan.warnings.is_empty() {
        let _ = writeln!(out, "\nWarnings:");
        for w in &plan.warnings {
            let _ = writeln!(out, "  {} {w}", style.paint(AnsiColor::Yellow, "!"));
        }
    }
    if !plan.errors.is_empty() {
        let _ = writeln!(out, "\nErrors (the plan cannot be applied):");
        for e in &plan.errors {
            let _ = writeln!(out, "  {} {e}", style.paint(AnsiColor::Red, "x"));
        }
    }
    let s = plan.summary();
    let mut line = format!(
        "Plan: {} to create, {} to change, {} to migrate, {} to delete ({} action{}{}){}.",
        s.create,
        s.change,
        s.migrate,
        s.delete,
        s.actions,
        if s.actions == 1 { "" } else { "s" },
        match &plan.estimate {
            Some(e) if s.actions > 0 => format!(", {}", powerplane_model::plan::about(e.seconds)),
            _ => String::new(),
        },
        if plan.errors.is_empty() { String::new() } else { format!("; {} errors", plan.errors.len()) }
    );
    if !plan.in_progress.is_empty() {
        line.push_str(&format!(" {} in progress on the backend.", plan.in_progress.len()));
    }
    if !plan.deferred.is_empty() {
        line.push_str(&format!(" {} deferred.", plan.deferred.len()));
    }
    let _ = writeln!(out, "\n{}", style.bold(&line));
    out
}

/// Object changes, one block each, as in the plan's "Changes" section.
pub fn changes(list: &[ObjectChange], style: Style) -> String {
    let mut out = String::new();
    for c in list {
        change(&mut out, c, style);
    }
    out
}

fn change(out: &mut String, c: &ObjectChange, style: Style) {
    let colour = colour_of(c.kind);
    let head = format!("  {} {}", c.kind.marker(), c.object);
    let frame = match (c.kind, &c.frame) {
        (ChangeKind::Migrate, _) => {
            let f = c.fields.iter().find(|f| f.path == "frame");
            f.map(|f| format!("  {} -> {}", f.old.as_deref().unwrap_or("?"), f.new.as_deref().unwrap_or("?")))
                .unwrap_or_default()
        }
        (_, Some(f)) => format!("  on {f}"),
        _ => String::new(),
    };
    let _ = writeln!(out, "{}{}", style.paint(colour, &head), frame);
    if !c.note.is_empty() {
        let _ = writeln!(out, "      {}", style.paint(AnsiColor::BrightBlack, &format!("({})", c.note)));
    }
    match (c.kind, &c.observed, &c.desired) {
        (ChangeKind::Create, _, Some(desired)) => {
            for line in desired.lines() {
                let _ = writeln!(out, "      {}", style.paint(AnsiColor::Green, &format!("+ {line}")));
            }
        }
        (ChangeKind::Update | ChangeKind::Drift | ChangeKind::Migrate, Some(old), Some(new)) if old != new => {
            let diff = TextDiff::from_lines(old, new);
            for ch in diff.iter_all_changes() {
                let line = ch.value().trim_end_matches('\n');
                match ch.tag() {
                    ChangeTag::Delete => {
                        let _ = writeln!(out, "      {}", style.paint(AnsiColor::Red, &format!("- {line}")));
                    }
                    ChangeTag::Insert => {
                        let _ = writeln!(out, "      {}", style.paint(AnsiColor::Green, &format!("+ {line}")));
                    }
                    ChangeTag::Equal => {}
                }
            }
            for f in c.fields.iter().filter(|f| f.path == "state") {
                field(out, f, style);
            }
        }
        _ => {
            for f in c.fields.iter().filter(|f| !(c.kind == ChangeKind::Migrate && f.path == "frame")) {
                field(out, f, style);
            }
        }
    }
}

fn field(out: &mut String, f: &powerplane_model::plan::FieldChange, style: Style) {
    let text = match (&f.old, &f.new) {
        (Some(o), Some(n)) => format!("~ {}: {o} -> {n}", f.path),
        (None, Some(n)) => format!("+ {}: {n}", f.path),
        (Some(o), None) => format!("- {}: {o}", f.path),
        (None, None) => return,
    };
    let _ = writeln!(out, "      {}", style.paint(AnsiColor::Yellow, &text));
}
