//! Reading a trail: the segments' lines in order, checked against each other (numbering,
//! chain, hashes), against HEAD (nothing acknowledged missing) and against the signing key
//! (checkpoints and HEAD signed). Pure over bytes, so that the writer, `audit verify`, the
//! readers and the property tests share one definition of "intact"; every problem is located
//! (segment, line, byte offset, seq) and the scan goes on past it, so readers can salvage
//! every readable record.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::damage::{Damage, Location, Problem};
use super::head::HeadFile;
use super::record::{Event, GENESIS, Record, check_line};
use super::signing::{self, PublicKey};

/// One segment file's name, number and bytes.
#[derive(Clone, Debug)]
pub(crate) struct Segment {
    pub number: u64,
    pub name: String,
    pub bytes: Vec<u8>,
}

/// What the operator moved into `audit/set-aside/`.
#[derive(Clone, Debug, Default)]
pub(crate) struct SetAside {
    /// Segment numbers.
    pub segments: BTreeSet<u64>,
    /// HEAD files (`HEAD-TIME`).
    pub heads: Vec<String>,
}

/// What to check HEAD against.
#[derive(Clone, Debug)]
pub(crate) enum Anchor {
    /// The trail's HEAD file.
    Head(HeadFile),
    /// A trail from before HEAD existed (the sled tree of older releases): no anchor.
    Legacy,
}

/// Lines after HEAD: a batch that was never acknowledged (the process stopped before HEAD was
/// written), or being written right now by the process holding the state directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Torn {
    /// Where it starts.
    pub at: Location,
    /// The index of that segment among the live ones.
    #[serde(skip)]
    pub segment_index: usize,
    /// Lines (a partial last line counts).
    pub lines: u64,
    /// Bytes.
    pub bytes: u64,
}

/// The records after the last valid checkpoint (every record, in a trail never signed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Tail {
    /// The first one's seq.
    pub from: u64,
    /// Where it is.
    pub at: Location,
    /// Whether every one of them says it was written without the key (a writer with the key
    /// ends every batch with a checkpoint, so one that does not say so lost its checkpoint).
    pub marked: bool,
}

/// A record or a problem, in trail order (what readers print).
#[derive(Clone, Debug)]
pub enum Item {
    /// A readable record.
    Record(Location, Box<Record>),
    /// The index of a problem in [`Scan::damage`].
    Damage(usize),
}

/// The result of reading a trail.
#[derive(Clone, Debug, Default)]
pub struct Scan {
    /// Records and problems in order (only when asked to keep them).
    pub items: Vec<Item>,
    /// Every problem found.
    pub damage: Vec<Damage>,
    /// The unacknowledged tail after HEAD, if any.
    pub torn: Option<Torn>,
    /// Readable records below the tail.
    pub records: u64,
    /// Of which checkpoints.
    pub checkpoints: u64,
    /// The keys that signed checkpoints (hex).
    pub keys: BTreeSet<String>,
    /// The last acknowledged record: seq and hash.
    pub last: Option<(u64, String)>,
    /// Where a writer continues: the next seq and the hash it chains to.
    pub next: (u64, String),
    /// Intents without an outcome.
    pub open_intents: BTreeMap<u64, Record>,
    /// The live segments' numbers.
    pub segments: Vec<u64>,
    /// The HEAD the trail was checked against, when it could be read.
    pub head: Option<super::Head>,
    /// Records kept after HEAD (HEAD is written just after its batch; a stop in between
    /// leaves it behind, and the next writer brings it up to date).
    pub after_head: u64,
    /// The records no valid checkpoint covers, if any.
    pub tail: Option<Tail>,
    /// The seq of the last record a valid checkpoint covers (0: none).
    pub signed_through: u64,
}

impl Scan {
    /// Whether nothing is wrong (an unacknowledged tail is not damage: it was never
    /// acknowledged).
    pub fn intact(&self) -> bool {
        self.damage.is_empty()
    }

    /// Whether the trail is signed: it has a checkpoint, or its HEAD is signed. A signed trail
    /// is only appended to by a writer with the key.
    pub fn signed(&self) -> bool {
        self.checkpoints > 0 || self.head.as_ref().is_some_and(|h| h.signature.is_some())
    }

    /// The first problem that stops a writer, if any.
    pub(crate) fn blocking(&self) -> Option<&Damage> {
        self.damage.iter().find(|d| d.problem.blocks_writing())
    }
}

/// Reads `segments` (sorted by number) against the anchor and, when given, the key that must
/// have signed. `signed`: the trail is known to be signed (its writer has the key), so that
/// after HEAD only whole batches, through their checkpoint, are kept. With `keep`, the records
/// (and open intents) are kept for readers.
pub(crate) fn scan(
    segments: &[Segment],
    aside: &SetAside,
    anchor: &Anchor,
    key: Option<&PublicKey>,
    signed: bool,
    keep: bool,
) -> Scan {
    let mut s =
        Scan { next: (1, GENESIS.into()), segments: segments.iter().map(|g| g.number).collect(), ..Default::default() };
    let head = match anchor {
        Anchor::Head(HeadFile::Present(h)) => Some(h),
        _ => None,
    };
    s.head = head.cloned();
    let mut expected = 1u64;
    let mut prev: Option<String> = Some(GENESIS.into());
    let mut last_checkpoint = 0u64;
    // The record before the next line (kept or tentative), for checkpoints to sign.
    let mut last_seen: Option<(u64, String)> = None;
    // Records after HEAD not yet known to be a whole batch (signed trails).
    let mut tentative: Vec<(usize, Location, Record)> = Vec::new();
    // The hash of the record at HEAD's seq.
    let mut at_head: Option<String> = None;
    // A missing or set-aside segment before the next record: its range is known once that
    // record is read.
    let mut pending_gap: Option<(u64, bool)> = None;
    let mut previous_number = 0u64;
    let set_aside = &aside.segments;
    let push = |s: &mut Scan, d: Damage| {
        s.damage.push(d);
        if keep {
            s.items.push(Item::Damage(s.damage.len() - 1));
        }
    };
    for file in &aside.heads {
        push(&mut s, Damage { at: None, seq: None, problem: Problem::HeadSetAside { file: file.clone() } });
    }
    'segments: for (index, seg) in segments.iter().enumerate() {
        for n in previous_number + 1..seg.number {
            if pending_gap.is_none() {
                pending_gap = Some((n, set_aside.contains(&n)));
            } else {
                let d = gap_damage(n, set_aside.contains(&n), expected, expected - 1);
                push(&mut s, d);
            }
        }
        previous_number = seg.number;
        let bytes = &seg.bytes;
        let (mut pos, mut line_no) = (0usize, 0u64);
        while pos < bytes.len() {
            let end = bytes[pos..].iter().position(|b| *b == b'\n').map_or(bytes.len(), |i| pos + i);
            line_no += 1;
            let at = Location { segment: seg.name.clone(), line: line_no, offset: pos as u64 };
            if let Some(h) = head.filter(|h| expected > h.seq) {
                // After HEAD (written just after each batch): complete, chained lines were
                // durable and are kept; in a signed trail only whole batches, up to their
                // checkpoint. The first line that is not, and all after it, is the torn tail.
                let line = &bytes[pos..end];
                let good =
                    (end < bytes.len()).then(|| serde_json::from_slice::<Record>(line).ok()).flatten().filter(|r| {
                        r.seq == expected
                            && check_line(line).is_some_and(|(_, ok)| ok)
                            && prev.as_deref() == Some(r.prev_hash.as_str())
                            && (r.event != Event::Checkpoint
                                || checkpoint_problem(r, last_seen.as_ref(), key).is_none())
                    });
                let Some(record) = good else {
                    let (i, start) = tentative.first().map_or((index, at), |(i, at, _)| (*i, at.clone()));
                    s.torn = Some(torn_from(segments, i, start));
                    tentative.clear();
                    break 'segments;
                };
                pos = end + 1;
                expected = record.seq + 1;
                prev = Some(record.hash.clone());
                last_seen = Some((record.seq, record.hash.clone()));
                let signed = signed || key.is_some() || s.checkpoints > 0 || h.signature.is_some();
                let whole = record.event == Event::Checkpoint || !signed;
                tentative.push((index, at, record));
                if whole {
                    for (_, at, r) in tentative.drain(..) {
                        s.after_head += 1;
                        accept(&mut s, at, r, keep, true, &mut last_checkpoint, &mut at_head, h.seq);
                    }
                }
                continue;
            }
            let line = &bytes[pos..end];
            let complete = end < bytes.len();
            pos = end + 1;
            if !complete {
                push(&mut s, Damage { at: Some(at), seq: Some(expected), problem: Problem::Truncated });
                expected += 1;
                prev = None;
                continue;
            }
            let record: Record = match serde_json::from_slice(line) {
                Ok(r) => r,
                Err(e) => {
                    let detail = e.to_string();
                    push(&mut s, Damage { at: Some(at), seq: Some(expected), problem: Problem::Unparsable { detail } });
                    expected += 1;
                    prev = None;
                    continue;
                }
            };
            if let Some((n, aside)) = pending_gap.take() {
                let d = gap_damage(n, aside, expected, record.seq.saturating_sub(1));
                push(&mut s, d);
                expected = expected.max(record.seq);
                prev = None;
            }
            if record.seq < expected {
                push(
                    &mut s,
                    Damage { at: Some(at), seq: Some(record.seq), problem: Problem::Duplicate { seq: record.seq } },
                );
                continue;
            }
            if record.seq > expected {
                let problem = Problem::Gap { from: expected, to: record.seq - 1 };
                push(&mut s, Damage { at: Some(at.clone()), seq: Some(expected), problem });
                prev = None;
            }
            let seq = record.seq;
            match check_line(line) {
                Some((_, true)) => {}
                _ => push(&mut s, Damage { at: Some(at.clone()), seq: Some(seq), problem: Problem::HashMismatch }),
            }
            if prev.as_ref().is_some_and(|p| *p != record.prev_hash) {
                push(&mut s, Damage { at: Some(at.clone()), seq: Some(seq), problem: Problem::ChainBroken });
            }
            let mut valid_checkpoint = false;
            if record.event == Event::Checkpoint {
                match checkpoint_problem(&record, last_seen.as_ref(), key) {
                    Some(problem) => push(&mut s, Damage { at: Some(at.clone()), seq: Some(seq), problem }),
                    None => valid_checkpoint = true,
                }
            }
            expected = seq + 1;
            prev = Some(record.hash.clone());
            last_seen = Some((seq, record.hash.clone()));
            accept(
                &mut s,
                at,
                record,
                keep,
                valid_checkpoint,
                &mut last_checkpoint,
                &mut at_head,
                head.map_or(0, |h| h.seq),
            );
        }
    }
    if !tentative.is_empty() {
        // A signed batch after HEAD without its checkpoint: never acknowledged.
        let (i, at, _) = &tentative[0];
        s.torn = Some(torn_from(segments, *i, at.clone()));
    }
    if s.torn.is_none() {
        // Segments set aside (or lost) after the last live one.
        if pending_gap.is_none()
            && let Some(n) = set_aside.range(previous_number + 1..).next()
        {
            pending_gap = Some((*n, true));
        }
    }
    let last_seq = s.last.as_ref().map_or(0, |l| l.0);
    match anchor {
        Anchor::Legacy => {
            if let Some((n, aside)) = pending_gap.take() {
                push(&mut s, gap_damage(n, aside, expected, expected - 1));
            }
        }
        Anchor::Head(HeadFile::Missing) => {
            if let Some((n, aside)) = pending_gap.take() {
                push(&mut s, gap_damage(n, aside, expected, expected - 1));
            }
            if aside.heads.is_empty() {
                push(&mut s, Damage { at: None, seq: None, problem: Problem::HeadMissing });
            }
        }
        Anchor::Head(HeadFile::Unreadable(detail)) => {
            push(&mut s, Damage { at: None, seq: None, problem: Problem::HeadUnreadable { detail: detail.clone() } });
        }
        Anchor::Head(HeadFile::Present(h)) => {
            let signed = h.signature.is_some();
            if let Some((n, aside)) = pending_gap.take() {
                push(&mut s, gap_damage(n, aside, expected, h.seq.max(expected - 1)));
            } else if last_seq < h.seq && expected <= h.seq {
                let problem = Problem::MissingBelowHead { from: expected, to: h.seq, signed };
                push(&mut s, Damage { at: None, seq: Some(expected), problem });
            } else if let Some(hash) = at_head.clone()
                && hash != h.hash
            {
                let problem = Problem::HeadMismatch { head: h.hash.clone(), record: hash };
                push(&mut s, Damage { at: None, seq: Some(h.seq), problem });
            }
            match (&h.key, &h.signature) {
                (Some(k), Some(sig)) => {
                    if let Err(why) = signing::check(k, sig, &signing::head_message(h.seq, &h.hash)) {
                        let problem = Problem::BadSignature { detail: format!("HEAD's signature: {why}") };
                        push(&mut s, Damage { at: None, seq: Some(h.seq), problem });
                    } else if let Some(key) = key
                        && *k != key.hex()
                    {
                        push(
                            &mut s,
                            Damage { at: None, seq: Some(h.seq), problem: Problem::UnknownKey { key: k.clone() } },
                        );
                    }
                }
                _ if h.seq > 0 && (s.checkpoints > 0 || key.is_some()) => {
                    push(&mut s, Damage { at: None, seq: Some(h.seq), problem: Problem::HeadUnsigned });
                }
                _ => {}
            }
            if h.seq > last_seq {
                s.next = (h.seq + 1, h.hash.clone());
            }
        }
    }
    s.signed_through = last_checkpoint;
    if (s.checkpoints > 0 || key.is_some()) && last_seq > last_checkpoint {
        let from = s.tail.as_ref().map_or(last_checkpoint + 1, |t| t.from);
        let problem = Problem::Unsigned { from, to: last_seq };
        let at = s.tail.as_ref().map(|t| t.at.clone());
        push(&mut s, Damage { at, seq: Some(from), problem });
    }
    if s.next.0 == 1
        && let Some((seq, hash)) = &s.last
    {
        s.next = (seq + 1, hash.clone());
    }
    s
}

/// Takes a record into the scan: counted, chained, kept for readers.
#[allow(clippy::too_many_arguments)]
fn accept(
    s: &mut Scan,
    at: Location,
    record: Record,
    keep: bool,
    valid_checkpoint: bool,
    last_checkpoint: &mut u64,
    at_head: &mut Option<String>,
    head_seq: u64,
) {
    let seq = record.seq;
    if valid_checkpoint && record.event == Event::Checkpoint {
        s.tail = None;
    } else if let Some(t) = &mut s.tail {
        t.marked &= record.unsigned;
    } else {
        s.tail = Some(Tail { from: seq, at: at.clone(), marked: record.unsigned });
    }
    if record.event == Event::Checkpoint {
        if valid_checkpoint {
            *last_checkpoint = seq;
        }
        s.checkpoints += 1;
        if let Some(cp) = &record.checkpoint {
            s.keys.insert(cp.key.clone());
        }
    }
    if seq == head_seq {
        *at_head = Some(record.hash.clone());
    }
    s.records += 1;
    s.last = Some((seq, record.hash.clone()));
    match record.event {
        Event::Intent => {
            s.open_intents.insert(seq, record.clone());
        }
        Event::Outcome => {
            if let Some(i) = record.draft.intent {
                s.open_intents.remove(&i);
            }
        }
        Event::Skip | Event::Drift | Event::Override | Event::Rehearsal | Event::Checkpoint => {}
    }
    if keep {
        s.items.push(Item::Record(at, Box::new(record)));
    }
}

/// The torn tail from `at` in segment `index` to the end.
fn torn_from(segments: &[Segment], index: usize, at: Location) -> Torn {
    let count = |b: &[u8]| b.split(|c| *c == b'\n').filter(|l| !l.is_empty()).count() as u64;
    let first = &segments[index].bytes[at.offset as usize..];
    let rest = &segments[index + 1..];
    Torn {
        at,
        segment_index: index,
        lines: count(first) + rest.iter().map(|g| count(&g.bytes)).sum::<u64>(),
        bytes: first.len() as u64 + rest.iter().map(|g| g.bytes.len() as u64).sum::<u64>(),
    }
}

fn gap_damage(number: u64, aside: bool, from: u64, to: u64) -> Damage {
    let problem = if aside {
        Problem::SetAside { segment: super::segment_name(number), from, to }
    } else {
        Problem::SegmentMissing { number, from, to }
    };
    Damage { at: None, seq: Some(from), problem }
}

fn checkpoint_problem(r: &Record, before: Option<&(u64, String)>, key: Option<&PublicKey>) -> Option<Problem> {
    let Some(cp) = &r.checkpoint else {
        return Some(Problem::Unparsable { detail: "a checkpoint record without its checkpoint".into() });
    };
    let bad = |detail: String| Some(Problem::BadSignature { detail });
    match before {
        Some((seq, hash)) if *seq == cp.seq && *hash == cp.hash => {}
        Some((seq, hash)) => {
            return bad(format!(
                "checkpoint {} signs record {} with hash {}, but the record before it is {seq} with hash {hash} (the chain was recomputed)",
                r.seq, cp.seq, cp.hash
            ));
        }
        None => return bad(format!("checkpoint {} signs record {} that the trail does not have", r.seq, cp.seq)),
    }
    if let Err(why) = signing::check(&cp.key, &cp.signature, &signing::checkpoint_message(cp.seq, &cp.hash)) {
        return bad(format!("checkpoint {}: {why}", r.seq));
    }
    if let Some(key) = key
        && cp.key != key.hex()
    {
        return Some(Problem::UnknownKey { key: cp.key.clone() });
    }
    None
}
