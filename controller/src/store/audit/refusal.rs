//! Why a writer refuses a trail, in words an operator can act on: a damaged trail, an unsigned
//! tail in a signed trail, a signed trail without its key. Each refusal names the damage, that
//! nothing was appended, and the way back.

use std::path::Path;

use super::{DIR, Damage, HeadFile, Problem, Scan, StoreError, damage, head};

/// What shows that a trail is signed, in words.
pub(super) fn signed_detail(scan: &Scan) -> String {
    match &scan.head {
        Some(h) if h.signature.is_some() => {
            format!("its HEAD, record {}, is signed by key {}", h.seq, h.key.as_deref().unwrap_or("(none named)"))
        }
        _ => format!(
            "{} checkpoint record{} sign{} it, by key {}",
            scan.checkpoints,
            if scan.checkpoints == 1 { "" } else { "s" },
            if scan.checkpoints == 1 { "s" } else { "" },
            scan.keys.iter().cloned().collect::<Vec<_>>().join(", key ")
        ),
    }
}

/// The refusal of a writer with the key to append to a signed trail whose tail no checkpoint
/// signs, or whose HEAD is not signed.
pub(super) fn unsigned_tail(state: &Path, scan: &Scan, d: &Damage) -> StoreError {
    let aside = |what: &str| {
        format!(
            "keep a copy of the state directory and investigate (`powerplane audit verify --pubkey FILE.pub` lists every problem); then `powerplane --state-dir {} audit set-aside {what}` moves {} into audit/set-aside/ (every `audit verify` reports it from then on, and the trail continues after it)",
            state.display(),
            if what == head::FILE {
                "HEAD"
            } else if scan.tail.as_ref().is_some_and(|t| t.from < scan.last.as_ref().map_or(0, |l| l.0)) {
                "their segment"
            } else {
                "its segment"
            },
        )
    };
    let fix = match (&d.problem, &scan.tail) {
        (Problem::Unsigned { from, to }, Some(tail)) => {
            let (what, many) = damage::records(*from, *to);
            let how = match (tail.marked, many) {
                (true, true) => "they say they were written without the key",
                (true, false) => "it says it was written without the key",
                (false, true) => {
                    "not all of them say they were written without the key: a checkpoint after them was removed, or they were made up"
                }
                (false, false) => {
                    "it does not say it was written without the key: a checkpoint after it was removed, or it was made up"
                }
            };
            format!(
                "{what} follow{} record {}, the last one a checkpoint signs, and no checkpoint signs {them} ({how}). A signed trail is only appended to by a writer with its key, so whoever wrote {them} did not have it; nothing is appended after {them}, and no checkpoint will sign {them}: {}",
                if many { "" } else { "s" },
                scan.signed_through,
                aside(&tail.at.segment),
                them = if many { "them" } else { "it" },
            )
        }
        _ => format!(
            "HEAD is not signed although the trail is: it was rewritten without the key; nothing is appended after it, and no writer signs over it: {}",
            aside(head::FILE)
        ),
    };
    StoreError::AuditDamaged { path: state.join(DIR), first: d.to_string(), count: scan.damage.len(), fix }
}

/// Refuses, before anything in the state directory is opened, a writer without a key for a
/// trail whose HEAD is signed (reading HEAD only; [`AuditLog::open_signed`] checks the whole
/// trail again under the lock). Nothing is read but `audit/HEAD`, nothing is written.
pub fn require_key(state: &Path, has_key: bool) -> std::result::Result<(), StoreError> {
    if has_key {
        return Ok(());
    }
    let audit = state.join(DIR);
    if !audit.is_dir() {
        return Ok(());
    }
    match head::read(&audit) {
        Ok(HeadFile::Present(h)) if h.signature.is_some() => {
            let scan = Scan { head: Some(h), ..Default::default() };
            Err(StoreError::AuditNeedsKey { path: audit, detail: signed_detail(&scan) })
        }
        Ok(_) => Ok(()),
        Err(e) => Err(StoreError::Io { path: audit, detail: e.to_string() }),
    }
}

pub(super) fn damaged(state: &Path, d: &Damage, count: usize) -> StoreError {
    let fix = match (&d.at, &d.problem) {
        (Some(at), _) => format!(
            "keep a copy of the state directory for the investigation; then `powerplane --state-dir {} audit set-aside {}` moves that segment to audit/set-aside/ (its records stay readable there, every `audit verify` reports them, and the trail continues after them)",
            state.display(),
            at.segment
        ),
        (None, Problem::HeadMismatch { .. } | Problem::HeadUnreadable { .. } | Problem::HeadMissing) => format!(
            "keep a copy of the state directory for the investigation; if the records verify up to the last one, `powerplane --state-dir {} audit set-aside HEAD` re-anchors the trail at its last record (every `audit verify` reports that)",
            state.display()
        ),
        (None, _) => {
            "keep a copy of the state directory for the investigation; `powerplane audit verify` lists every problem"
                .to_owned()
        }
    };
    StoreError::AuditDamaged { path: state.join(DIR), first: d.to_string(), count, fix }
}
