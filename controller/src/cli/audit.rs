//! `powerplane audit`: the audit trail as a table or JSON, and `audit verify`.

use std::io::Write;
use std::process::ExitCode;

use super::Cli;
use crate::store::StateDir;
use crate::store::audit::{AuditLog, Event};

/// Arguments of `audit`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Option<AuditCommand>,
    /// One JSON object per record, for scripts.
    #[arg(long)]
    json: bool,
    /// Only records from this time on: RFC 3339 (`2026-11-21T23:00:00Z`, a date) or a duration
    /// back from now (`30m`, `2h`, `7d`).
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
}

#[derive(Debug, clap::Subcommand)]
enum AuditCommand {
    /// Recompute the hash chain; exit 1 and name the first broken record if it is not intact.
    Verify,
}

pub(crate) fn run(cli: &Cli, args: &Args) -> anyhow::Result<ExitCode> {
    // Bad input is refused before the state directory is touched.
    let since = match &args.since {
        Some(s) => Some(crate::time::since(s).map_err(|e| anyhow::anyhow!("--since {s}: {e}"))?),
        None => None,
    };
    let dir = StateDir::open_existing(&cli.state_dir)?;
    let log = AuditLog::open(&dir)?;
    let mut out = std::io::stdout().lock();
    if let Some(AuditCommand::Verify) = args.command {
        return Ok(match log.verify()? {
            Ok(n) => {
                writeln!(out, "audit trail intact: {n} records")?;
                ExitCode::SUCCESS
            }
            Err(b) => {
                eprintln!("{b}; the audit trail has been tampered with or damaged after it was written");
                ExitCode::from(1)
            }
        });
    }
    let records = log.records()?.into_iter().filter(|r| since.as_ref().is_none_or(|s| r.time.as_str() >= s.as_str()));
    if args.json {
        for r in records {
            writeln!(out, "{}", serde_json::to_string(&r)?)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(
        out,
        "{:>5}  {:<24}  {:<7}  {:<5}  {:<25}  {:<40}  {:<11}  {:>8}  commit",
        "seq", "time", "event", "id", "kind", "object", "result", "ms"
    )?;
    for r in records {
        let d = &r.draft;
        let event = match r.event {
            Event::Intent => "intent",
            Event::Outcome => "outcome",
            Event::Skip => "skip",
        };
        let result = d.result.map(|x| format!("{x:?}").to_lowercase()).unwrap_or_default();
        // A stored commit is whatever the record says: never sliced at a byte offset.
        let short: Option<String> = d.commit.as_ref().map(|c| c.chars().take(12).collect());
        let commit = match (short, d.dirty) {
            (Some(c), Some(true)) => format!("{c}+dirty"),
            (Some(c), _) => c,
            _ => "-".into(),
        };
        writeln!(
            out,
            "{:>5}  {:<24}  {:<7}  {:<5}  {:<25}  {:<40}  {:<11}  {:>8}  {commit}",
            r.seq,
            r.time,
            event,
            d.action,
            d.kind,
            d.object,
            result,
            d.duration_ms.map(|m| m.to_string()).unwrap_or_default()
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
