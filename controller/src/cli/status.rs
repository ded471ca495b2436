//! `powerplane status`: what the controller is doing — the reconcile running now, the last one
//! and how it ended, actions in flight, held and waiting work, the next resync — read from the
//! running `watch`'s API. Without a running `watch` it says so, with what the state directory
//! records (the last observation, the audit trail's head). It only reads.
//! Exit 0 converged and idle, 2 work remains (or the manifests are invalid) or no controller
//! runs, 1 error or a stalled loop.

use std::io::Write;
use std::process::ExitCode;

use super::runtime::Runtime;
use super::{Cli, OutputFormat};
use crate::status::live::{ReconcileResult, Status};
use crate::store::snapshot;

/// Arguments of `status`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// `text` for people, `json` for scripts (the API's `/api/v1/status` document).
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

pub(crate) fn run(cli: &Cli, args: &Args, rt: &Runtime) -> anyhow::Result<ExitCode> {
    match crate::store::StateDir::open_read_only(&cli.state_dir) {
        Ok(dir) => idle(cli, args, &dir),
        Err(e) => {
            let c = super::controller_for(cli, e.into())?;
            let status: Status = rt.block_on(c.get("/api/v1/status"))??;
            let out = &mut std::io::stdout().lock();
            match args.format {
                OutputFormat::Json => writeln!(out, "{}", serde_json::to_string_pretty(&status)?)?,
                OutputFormat::Text => print(out, c.addr(), &status)?,
            }
            Ok(if status.stalled.is_some() {
                ExitCode::from(1)
            } else if settled(&status) {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            })
        }
    }
}

/// Converged, and nothing running, in flight, held, in progress, deferred or in error.
fn settled(s: &Status) -> bool {
    s.reconciling.is_none()
        && s.last_reconcile.as_ref().is_some_and(|r| matches!(r.result, ReconcileResult::Converged))
        && s.in_flight.is_empty()
        && s.held.is_empty()
        && s.in_progress.is_empty()
        && s.deferred.is_empty()
        && s.errors.is_empty()
        && s.invalid_manifests.is_none()
        && s.stalled.is_none()
}

fn print(out: &mut dyn Write, addr: &str, s: &Status) -> std::io::Result<()> {
    let mode = if s.dry_run { " (dry run: reports, never applies)" } else { "" };
    writeln!(out, "controller: `watch {}` against {}{mode}, API at {addr}", s.manifests, s.backend)?;
    if let Some(st) = &s.stalled {
        writeln!(
            out,
            "loop: STALLED — no step completed since {} ({} s, more than two resync intervals of {} s); look at the controller's log, then restart it",
            st.since, st.seconds, st.interval_seconds
        )?;
    }
    if let Some(i) = &s.invalid_manifests {
        writeln!(
            out,
            "manifests: INVALID since {} — {} is refused, nothing of it is applied; applying {}",
            i.since,
            i.failing,
            i.last_applied.as_deref().unwrap_or("nothing (no valid manifests since the controller started)")
        )?;
        writeln!(out, "  first of {} error(s): {}", i.errors, i.first_error)?;
    }
    match &s.reconciling {
        Some(r) => writeln!(out, "reconciling now: since {} ({})", r.since, r.reason)?,
        None => writeln!(out, "reconciling now: no")?,
    }
    match &s.last_reconcile {
        Some(r) => {
            let result = match r.result {
                ReconcileResult::Converged => "converged",
                ReconcileResult::Reported => "reported (dry run)",
                ReconcileResult::NotConverged => "NOT converged",
                ReconcileResult::Failed => "FAILED",
            };
            writeln!(
                out,
                "last reconcile: {result} at {} after {} ms ({}): {}",
                r.ended, r.duration_ms, r.reason, r.detail
            )?
        }
        None => writeln!(out, "last reconcile: none yet")?,
    }
    writeln!(out, "last success: {}", s.last_success.as_deref().unwrap_or("never"))?;
    match &s.last_observation {
        Some(o) if o.ok => writeln!(out, "last observation: {} (succeeded)", o.at)?,
        Some(o) => {
            writeln!(out, "last observation: {} FAILED: {}", o.at, o.error.as_deref().unwrap_or("unknown error"))?
        }
        None => writeln!(out, "last observation: none yet")?,
    }
    writeln!(out, "in flight: {}", s.in_flight.len())?;
    for f in &s.in_flight {
        writeln!(out, "  - {} {} {} since {}: {}", f.id, f.kind, f.object, f.since, f.command)?;
    }
    writeln!(out, "held: {}", s.held.len())?;
    for h in &s.held {
        writeln!(out, "  - {}: {}", h.what, h.why)?;
    }
    for (title, items) in [
        ("in progress on the backend (not settled)", &s.in_progress),
        ("deferred by a runtime condition", &s.deferred),
        ("errors", &s.errors),
    ] {
        if !items.is_empty() {
            writeln!(out, "{title}: {}", items.len())?;
            for i in items {
                writeln!(out, "  - {i}")?;
            }
        }
    }
    writeln!(out, "next resync: {}", s.next_resync.as_deref().unwrap_or("not scheduled"))
}

/// No controller holds the state directory: what it records.
fn idle(cli: &Cli, args: &Args, dir: &crate::store::StateDir) -> anyhow::Result<ExitCode> {
    let observed = snapshot::load(dir)?.map(|(meta, _)| meta);
    let scan = crate::store::audit::read_state_dir(&cli.state_dir, None, crate::store::audit::Keep::Verdict)?;
    let head = scan.head.as_ref().map(|h| h.witness());
    let out = &mut std::io::stdout().lock();
    match args.format {
        OutputFormat::Json => {
            let doc = serde_json::json!({
                "running": false,
                "stateDir": cli.state_dir.display().to_string(),
                "lastObservation": observed,
                "audit": { "head": head, "intact": scan.intact(), "records": scan.records - scan.checkpoints },
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
        OutputFormat::Text => {
            writeln!(
                out,
                "controller: none — no `watch` holds {}, so nothing reconciles it (start one with `powerplane watch DIR`)",
                cli.state_dir.display()
            )?;
            match &observed {
                Some(m) => writeln!(out, "last observation: {} ({})", m.observed_at, m.source)?,
                None => writeln!(out, "last observation: none stored")?,
            }
            let verdict = if scan.intact() { "intact" } else { "DAMAGED (`powerplane audit verify` explains)" };
            writeln!(
                out,
                "audit trail: {}, HEAD {}, {verdict}",
                crate::words::count(scan.records - scan.checkpoints, "record"),
                head.as_deref().unwrap_or("none")
            )?;
        }
    }
    Ok(ExitCode::from(2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::live::{Held, Reconciled};

    fn converged() -> Status {
        Status {
            last_reconcile: Some(Reconciled {
                reason: "resync".into(),
                ended: "2026-12-02T10:00:00Z".into(),
                duration_ms: 12,
                result: ReconcileResult::Converged,
                detail: "the estate matches the manifests".into(),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn settled_only_when_converged_and_nothing_waits() {
        assert!(settled(&converged()));
        assert!(!settled(&Status::default()), "no reconcile yet");
        let mut held = converged();
        held.held.push(Held { what: "Vios/f1:v1".into(), why: "went down outside powerplane".into() });
        assert!(!settled(&held));
        let mut moving = converged();
        moving.in_progress.push("PartitionStatus/p1: migrating".into());
        assert!(!settled(&moving), "never converged while a migration is in flight");
    }

    #[test]
    fn a_stalled_loop_and_invalid_manifests_are_never_settled_and_are_said_first() {
        use crate::status::live::{InvalidManifests, Stalled};
        let mut s = converged();
        s.stalled = Some(Stalled { since: "2026-12-02T10:00:00Z".into(), seconds: 95, interval_seconds: 30.0 });
        assert!(!settled(&s));
        let mut out = Vec::new();
        print(&mut out, "127.0.0.1:9464", &s).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("loop: STALLED — no step completed since 2026-12-02T10:00:00Z (95 s"), "{text}");
        let mut s = converged();
        s.invalid_manifests = Some(InvalidManifests {
            since: "2026-12-02T10:01:00Z".into(),
            last_applied: Some("commit 0123456789ab (read at 2026-12-02T09:00:00Z)".into()),
            failing: "commit ba9876543210 (read at 2026-12-02T10:01:00Z)".into(),
            first_error: "m/p72.yaml:57:53: error[PP-E004 schema] Partition/p72_app01: units".into(),
            errors: 1,
        });
        assert!(!settled(&s), "the estate may match the last valid manifests; the files are refused");
        let mut out = Vec::new();
        print(&mut out, "127.0.0.1:9464", &s).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("manifests: INVALID since 2026-12-02T10:01:00Z — commit ba9876543210"), "{text}");
        assert!(text.contains("applying commit 0123456789ab") && text.contains("m/p72.yaml:57:53"), "{text}");
    }

    #[test]
    fn the_text_names_what_is_held_and_why() {
        let mut s = converged();
        s.held.push(Held { what: "Vios/f1:v1".into(), why: "went down outside powerplane".into() });
        let mut out = Vec::new();
        print(&mut out, "127.0.0.1:9464", &s).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("last reconcile: converged at 2026-12-02T10:00:00Z after 12 ms (resync)"), "{text}");
        assert!(text.contains("held: 1\n  - Vios/f1:v1: went down outside powerplane"), "{text}");
    }
}
