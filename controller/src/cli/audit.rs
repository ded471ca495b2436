//! `powerplane audit`: the audit trail as a table or JSON Lines, `audit verify`, `audit head`,
//! `audit keygen` and `audit set-aside`. Every command here but `keygen` and `set-aside` only
//! reads: the trail's files are read directly (no lock, no database), so they work while
//! `watch` runs, and leave every byte of the state directory as it was.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use super::Cli;
use crate::app::verdict::{AuditVerdict, signing_summary};
use crate::say::say;
use crate::store::StateDir;
use crate::store::audit::{self, Event, Item, Keep, PublicKey, Scan};

/// Arguments of `audit`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Option<AuditCommand>,
    /// One JSON object per record (and `{"damage": …}` where the trail is damaged), for `jq`.
    #[arg(long)]
    json: bool,
    /// Only records from this time on: RFC 3339 (`2026-11-21T23:00:00Z`, a date) or a duration
    /// back from now (`30m`, `2h`, `7d`).
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
}

#[derive(Debug, clap::Subcommand)]
enum AuditCommand {
    /// Check the whole trail: numbering, hash chain, HEAD, signatures. Exit 0 intact, 1 damaged
    /// or forged (every problem is listed with its segment, line, byte offset and seq).
    Verify {
        /// The public key (`audit keygen`'s FILE.pub) that must have signed every record.
        #[arg(long, value_name = "FILE")]
        pubkey: Option<PathBuf>,
        /// A head witnessed earlier (`audit head`): the trail must still contain it.
        #[arg(long, value_name = "SEQ:HASH")]
        expect: Option<String>,
        /// The verdict as one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Print the head (`SEQ:HASH` of the last acknowledged record) to witness elsewhere: commit
    /// it, send it to syslog; `audit verify --expect` checks it later.
    Head {
        /// The head as JSON (with its time and signature).
        #[arg(long)]
        json: bool,
    },
    /// Write a new Ed25519 signing key (FILE, mode 0600) and its public key (FILE.pub).
    Keygen {
        /// Where to write the private key; keep it outside the state directory.
        file: PathBuf,
    },
    /// Move a damaged segment (e.g. `000003.jsonl`) or a damaged `HEAD` into audit/set-aside/,
    /// so that writers may continue after it; `audit verify` reports it from then on.
    SetAside {
        /// The segment file's name, or HEAD.
        what: String,
    },
}

pub(crate) fn run(cli: &Cli, args: &Args) -> anyhow::Result<ExitCode> {
    // Bad input is refused before the state directory is touched.
    let since = match &args.since {
        Some(s) => Some(crate::time::since(s).map_err(|e| anyhow::anyhow!("--since {s}: {e}"))?),
        None => None,
    };
    match &args.command {
        None => list(cli, args.json, since),
        Some(AuditCommand::Verify { pubkey, expect, json }) => {
            let expect = match expect {
                Some(e) => Some(audit::parse_witness(e).map_err(|why| anyhow::anyhow!("--expect {e}: {why}"))?),
                None => None,
            };
            let key = pubkey.as_deref().map(PublicKey::load).transpose()?;
            verify(cli, key.as_ref(), expect, *json)
        }
        Some(AuditCommand::Head { json }) => head(cli, *json),
        Some(AuditCommand::Keygen { file }) => {
            let (hex, public) = audit::keygen(file)?;
            println!(
                "wrote the signing key {} (keep it outside the state directory; pass it as --audit-key or POWERPLANE_AUDIT_KEY) and its public key {} (give it to `audit verify --pubkey`): {hex}",
                file.display(),
                public.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Some(AuditCommand::SetAside { what }) => {
            let dir = StateDir::open_existing(&cli.state_dir)?;
            let _lock = crate::store::lock::acquire(&dir, "audit set-aside", None)?;
            let to = audit::set_aside(&dir, what)?;
            println!(
                "moved {what} to {}; writers continue after it, and every `audit verify` reports it as set aside",
                to.display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Reads the trail without writing: the segment files, or an older release's sled tree
/// through a read-only copy of the database.
fn read(cli: &Cli, key: Option<&PublicKey>, keep: Keep) -> anyhow::Result<Scan> {
    Ok(audit::read_state_dir(&cli.state_dir, key, keep)?)
}

fn list(cli: &Cli, json: bool, since: Option<String>) -> anyhow::Result<ExitCode> {
    let scan = read(cli, None, Keep::Records)?;
    let mut out = std::io::stdout().lock();
    let shown = |t: &str| since.as_ref().is_none_or(|s| t >= s.as_str());
    // Fixed column widths, one row as each record is read: a table crate (comfy-table,
    // tabled) sizes its columns to the widest cell of the whole table, which would hold the
    // whole trail in memory and change the output that scripts and tests read.
    if !json {
        writeln!(
            out,
            "{:>5}  {:<24}  {:<7}  {:<5}  {:<25}  {:<40}  {:<11}  {:>8}  commit",
            "seq", "time", "event", "id", "kind", "object", "result", "ms"
        )?;
    }
    for item in &scan.items {
        match item {
            Item::Record(_, r) if r.event == Event::Checkpoint && !json => {}
            Item::Record(_, r) if !shown(&r.time) => {}
            Item::Record(_, r) if json => writeln!(out, "{}", serde_json::to_string(r)?)?,
            Item::Record(_, r) => {
                let d = &r.draft;
                let event = match r.event {
                    Event::Intent => "intent",
                    Event::Outcome => "outcome",
                    Event::Skip => "skip",
                    Event::Drift => "drift",
                    Event::Override => "override",
                    Event::Rehearsal => "rehearsal",
                    Event::Checkpoint => "checkpoint",
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
            Item::Damage(i) if json => writeln!(out, "{}", serde_json::json!({ "damage": scan.damage[*i] }))?,
            Item::Damage(i) => writeln!(out, "!!!!!  DAMAGE: {}", scan.damage[*i])?,
        }
    }
    note_pending(&scan);
    if scan.intact() {
        return Ok(ExitCode::SUCCESS);
    }
    say!(
        "the audit trail is damaged ({}): every readable record was printed, with the damage where it is; `powerplane audit verify` explains",
        crate::words::count(scan.damage.len() as u64, "problem")
    );
    Ok(ExitCode::from(1))
}

fn note_pending(scan: &Scan) {
    if let Some(t) = &scan.torn {
        say!(
            "note: {} after HEAD, from {}, {} not acknowledged: a batch being written right now, or one that a stopped process never finished (the next command that writes moves it aside); {} not part of the trail",
            crate::words::count(t.lines, "line"),
            t.at,
            if t.lines == 1 { "is" } else { "are" },
            if t.lines == 1 { "it is" } else { "they are" }
        );
    }
}

fn verify(cli: &Cli, key: Option<&PublicKey>, expect: Option<(u64, String)>, json: bool) -> anyhow::Result<ExitCode> {
    let scan = read(cli, key, if expect.is_some() { Keep::Records } else { Keep::Verdict })?;
    let head = &scan.head;
    // The witnessed head must be a record of the trail, at or below its head.
    let witnessed = expect.as_ref().map(|(seq, hash)| {
        let found = scan.items.iter().find_map(|i| match i {
            Item::Record(at, r) if r.seq == *seq => Some((at.clone(), r.hash.clone())),
            _ => None,
        });
        match found {
            // Witnessed before the first record: the empty trail, which every trail extends.
            None if *seq == 0 && hash == audit::GENESIS => {
                Ok(format!("the witnessed head {seq}:{hash} (the empty trail, before any record) is in the trail"))
            }
            None if *seq == 0 => Err(format!(
                "the witnessed head {seq}:{hash} is not a head this trail can have had: before its first record the head's hash is {}",
                audit::GENESIS
            )),
            Some((_, h)) if h == *hash => Ok(format!("the witnessed head {seq}:{hash} is in the trail")),
            Some((at, h)) => Err(format!(
                "the witnessed head {seq}:{hash} is not in the trail: record {seq} at {at} has hash {h} (the trail was changed since it was witnessed)"
            )),
            None => Err(format!(
                "the witnessed head {seq}:{hash} is not in the trail: it has no record {seq} (it ends at {}; records were removed since it was witnessed)",
                scan.last.as_ref().map_or(0, |l| l.0)
            )),
        }
    });
    // One verdict, first, over everything that was checked: the trail, its signatures
    // (--pubkey) and the witnessed head (--expect).
    let unwitnessed = witnessed.as_ref().and_then(|w| w.as_ref().err());
    let ok = scan.intact() && unwitnessed.is_none();
    let forged = scan.damage.iter().any(|d| d.problem.forged()) || unwitnessed.is_some();
    let signing = signing_summary(&scan, key);
    if json {
        // Through a JSON value, whose keys are sorted: the document prints as it always has.
        let doc = serde_json::to_value(AuditVerdict::of(&scan, key, witnessed.as_ref()))?;
        writeln!(std::io::stdout().lock(), "{}", serde_json::to_string_pretty(&doc)?)?;
        return Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(1) });
    }
    let mut out = std::io::stdout().lock();
    let segments = match (scan.segments.first(), scan.segments.last()) {
        (Some(a), Some(b)) if a != b => format!("{}–{}", audit::segment_name(*a), audit::segment_name(*b)),
        (Some(a), _) => audit::segment_name(*a),
        _ => "no segment".into(),
    };
    if ok {
        let head = head.as_ref().map_or(String::new(), |h| format!(", HEAD {}", h.witness()));
        let records = crate::words::count(scan.records - scan.checkpoints, "record");
        writeln!(out, "audit trail intact: {records} ({segments}{head})")?;
        writeln!(out, "{signing}")?;
        if let Some(Ok(m)) = &witnessed {
            writeln!(out, "{m}")?;
        }
    } else {
        let verdict = if forged { "FORGED or damaged" } else { "DAMAGED" };
        let problems = scan.damage.len() + usize::from(unwitnessed.is_some());
        writeln!(
            out,
            "audit trail {verdict}: {problems} problem{} in {} readable record{} ({segments})",
            if problems == 1 { "" } else { "s" },
            scan.records,
            if scan.records == 1 { "" } else { "s" }
        )?;
        let first = scan.damage.iter().find(|d| d.at.is_some()).or(scan.damage.first()).map(ToString::to_string);
        if let Some(first) = first.or_else(|| unwitnessed.cloned()) {
            writeln!(out, "first: {first}")?;
        }
        let listed = scan.damage.iter().map(ToString::to_string).chain(unwitnessed.cloned());
        for (i, d) in listed.enumerate() {
            writeln!(out, "  {}. {d}", i + 1)?;
        }
        writeln!(out, "{signing}")?;
        if let Some(Ok(m)) = &witnessed {
            writeln!(out, "{m}")?;
        }
    }
    drop(out);
    note_pending(&scan);
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn head(cli: &Cli, json: bool) -> anyhow::Result<ExitCode> {
    let scan = read(cli, None, Keep::Verdict)?;
    let Some(head) = &scan.head else {
        if let Some(d) = scan.damage.iter().find(|d| matches!(d.problem, audit::Problem::TrailMissing { .. })) {
            anyhow::bail!("{}: {d}; there is no head to witness", cli.state_dir.display());
        }
        if !cli.state_dir.join(audit::DIR).is_dir() {
            anyhow::bail!(
                "{} has no audit/HEAD: its trail is still in the database of an older release (the next command that writes moves it into segment files), or it has no trail yet",
                cli.state_dir.display()
            );
        }
        anyhow::bail!(
            "{}: audit/HEAD is missing or unreadable; `powerplane audit verify` explains",
            cli.state_dir.display()
        );
    };
    let mut out = std::io::stdout().lock();
    if json {
        let doc = serde_json::json!({ "head": head, "witness": head.witness(), "intact": scan.intact() });
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
    } else {
        writeln!(out, "{}", head.witness())?;
    }
    drop(out);
    if scan.intact() {
        return Ok(ExitCode::SUCCESS);
    }
    say!(
        "warning: the trail under this head is damaged ({}); `powerplane audit verify` lists them",
        crate::words::count(scan.damage.len() as u64, "problem")
    );
    Ok(ExitCode::from(1))
}
