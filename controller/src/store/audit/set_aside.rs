//! `audit set-aside`: the operator's acknowledgement of damage, moving a damaged segment or HEAD
//! into `audit/set-aside/` so that writers continue; an intact one is never moved.

use std::path::PathBuf;

use super::damage::{self, Problem};
use super::scan::{self, Anchor};
use super::{DIR, Item, SET_ASIDE, Scan, StateDir, StoreError, head, read_files, segment_number};

/// Moves a damaged segment (or HEAD) of the trail at `state` into `audit/set-aside/`: the
/// operator's acknowledgement that lets writers continue. Returns where it went.
pub fn set_aside(dir: &StateDir, what: &str) -> std::result::Result<PathBuf, StoreError> {
    let audit = dir.path().join(DIR);
    let io = |e: &dyn std::fmt::Display| StoreError::Io { path: audit.clone(), detail: e.to_string() };
    let aside = audit.join(SET_ASIDE);
    let (from, to) = if what == head::FILE {
        (audit.join(head::FILE), aside.join(format!("HEAD-{}", crate::time::now().replace(':', ""))))
    } else if segment_number(what).is_some() {
        (audit.join(what), aside.join(what))
    } else {
        return Err(io(&format!("{what:?} is neither a segment file (e.g. 000001.jsonl) nor HEAD")));
    };
    if !from.exists() {
        return Err(io(&format!("{} does not exist", from.display())));
    }
    if to.exists() {
        return Err(io(&format!("{} exists already", to.display())));
    }
    // Only damage is set aside: an intact segment or HEAD moved away would be a removal the
    // operator made look acknowledged.
    let files = read_files(&audit).map_err(|e| io(&e))?;
    let found = scan::scan(&files.segments, &files.set_aside, &Anchor::Head(files.head.clone()), None, false, true);
    let stripped = !found.signed() && found.tail.is_some() && dir.trail_signed_by()?.is_some();
    if let Some(detail) = undamaged(&found, what).filter(|_| !(stripped && what != head::FILE)) {
        return Err(StoreError::NotDamaged { state: dir.path().to_path_buf(), what: what.to_owned(), detail });
    }
    std::fs::create_dir_all(&aside).map_err(|e| io(&e))?;
    std::fs::rename(&from, &to).map_err(|e| io(&e))?;
    head::sync_dir(&aside).and_then(|()| head::sync_dir(&audit)).map_err(|e| io(&e))?;
    Ok(to)
}

/// Why `what` (a segment's name, or HEAD) has nothing to set aside, when it has not: no problem
/// is located in it (for a segment: at one of its lines or records; for HEAD: one that HEAD
/// itself disagrees with).
fn undamaged(found: &Scan, what: &str) -> Option<String> {
    if what == head::FILE {
        let head_damage = found.damage.iter().any(|d| {
            d.at.is_none()
                && matches!(
                    d.problem,
                    Problem::HeadMismatch { .. }
                        | Problem::HeadUnreadable { .. }
                        | Problem::MissingBelowHead { .. }
                        | Problem::HeadUnsigned
                        | Problem::BadSignature { .. }
                        | Problem::UnknownKey { .. }
                )
        });
        return (!head_damage).then(|| match &found.head {
            Some(h) => format!("HEAD {} agrees with the trail", h.witness()),
            None => "HEAD is not the problem".to_owned(),
        });
    }
    let seqs: Vec<u64> = found
        .items
        .iter()
        .filter_map(|i| match i {
            Item::Record(at, r) if at.segment == what => Some(r.seq),
            _ => None,
        })
        .collect();
    let (first, last) = (seqs.iter().min().copied(), seqs.iter().max().copied());
    let holds = |seq: u64| first.is_some_and(|f| f <= seq) && last.is_some_and(|l| seq <= l);
    let damaged = found.damage.iter().any(|d| match (&d.at, &d.problem) {
        (Some(at), _) => at.segment == what,
        (None, Problem::Unsigned { from, to } | Problem::Gap { from, to }) => {
            first.zip(last).is_some_and(|(f, l)| *from <= l && f <= *to)
        }
        (None, _) => d.seq.is_some_and(holds) && matches!(d.problem, Problem::HeadMismatch { .. }),
    });
    (!damaged).then(|| match (first, last) {
        (Some(f), Some(l)) => {
            let (records, many) = damage::records(f, l);
            format!("{records}, which it holds, {} intact", if many { "are" } else { "is" })
        }
        _ => "it holds no record, and no problem is located in it".to_owned(),
    })
}
