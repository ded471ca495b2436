//! What can be wrong with a trail, and where: the problems a scan finds ([`Problem`]), each
//! located by segment, line and byte offset ([`Location`]) and record ([`Damage`]), in the words
//! `audit verify` prints.

use serde::Serialize;

/// Where a record or a problem is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Location {
    /// The segment file, e.g. `000001.jsonl`.
    pub segment: String,
    /// The line, from 1.
    pub line: u64,
    /// The byte offset of the line's start in the segment.
    pub offset: u64,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} line {} (byte {})", self.segment, self.line, self.offset)
    }
}

/// What is wrong.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[schema(as = DamageProblem)]
pub enum Problem {
    /// The line is not a record.
    Unparsable {
        /// The parser's words.
        detail: String,
    },
    /// The line's bytes do not match its hash: it was changed.
    HashMismatch,
    /// The record does not chain to the one before it.
    ChainBroken,
    /// Records are missing between two records.
    Gap {
        /// First missing seq.
        from: u64,
        /// Last missing seq.
        to: u64,
    },
    /// A record with a number already seen, or out of order.
    Duplicate {
        /// The number it carries.
        seq: u64,
    },
    /// The last line of a segment ends without a newline, at or below HEAD.
    Truncated,
    /// Acknowledged records (at or below HEAD) are missing at the end of the trail.
    MissingBelowHead {
        /// First missing seq.
        from: u64,
        /// HEAD's seq.
        to: u64,
        /// Whether HEAD is signed (then the records were removed, not lost).
        signed: bool,
    },
    /// A segment file is missing from the numbering.
    SegmentMissing {
        /// Its number.
        number: u64,
        /// The records it held, when the neighbours tell.
        from: u64,
        /// Last seq it held.
        to: u64,
    },
    /// An operator moved a damaged segment aside (`audit set-aside`).
    SetAside {
        /// Its file in `audit/set-aside/`.
        segment: String,
        /// The records it held, as far as the neighbours and HEAD tell.
        from: u64,
        /// Last seq.
        to: u64,
    },
    /// The last record is HEAD's seq but not HEAD's hash.
    HeadMismatch {
        /// HEAD's hash.
        head: String,
        /// The record's.
        record: String,
    },
    /// No HEAD file.
    HeadMissing,
    /// HEAD cannot be decoded.
    HeadUnreadable {
        /// The parser's words.
        detail: String,
    },
    /// A checkpoint's or HEAD's signature does not verify, or a checkpoint signs a record the
    /// trail does not have: the trail was forged.
    BadSignature {
        /// What does not match.
        detail: String,
    },
    /// Signed by another key than the one given with `--pubkey`.
    UnknownKey {
        /// The key that signed (hex).
        key: String,
    },
    /// Records after the last signed checkpoint in a signed trail (or any, with `--pubkey`):
    /// written without the key, or appended by someone without it.
    Unsigned {
        /// First unsigned seq.
        from: u64,
        /// Last.
        to: u64,
    },
    /// The trail is signed but HEAD is not.
    HeadUnsigned,
    /// An operator moved a damaged HEAD aside (`audit set-aside HEAD`): the records before the
    /// trail was anchored again are not protected against a removed tail.
    HeadSetAside {
        /// Its file in `audit/set-aside/`.
        file: String,
    },
    /// The trail's directory is gone (or is not a directory) although the state directory
    /// shows that it had one: it was deleted or replaced.
    TrailMissing {
        /// What is there instead, and what shows that a trail existed.
        detail: String,
    },
}

impl Problem {
    /// Whether the problem shows a forgery (rather than damage).
    pub fn forged(&self) -> bool {
        matches!(
            self,
            Problem::BadSignature { .. }
                | Problem::UnknownKey { .. }
                | Problem::Unsigned { .. }
                | Problem::HeadUnsigned
                | Problem::MissingBelowHead { signed: true, .. }
        )
    }

    /// Whether a writer may append despite it: set-aside segments are damage the operator has
    /// acknowledged; unsigned records are a matter of the key the writer is given.
    pub(crate) fn blocks_writing(&self) -> bool {
        !matches!(
            self,
            Problem::SetAside { .. }
                | Problem::HeadSetAside { .. }
                | Problem::Unsigned { .. }
                | Problem::HeadUnsigned
                | Problem::UnknownKey { .. }
        )
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Unparsable { detail } => write!(f, "the line is not a record ({detail})"),
            Problem::HashMismatch => write!(f, "its content does not match its hash: it was changed"),
            Problem::ChainBroken => write!(f, "it does not chain to the record before it (prev_hash differs)"),
            Problem::Gap { from, to } => {
                let (what, many) = records(*from, *to);
                write!(f, "{what} {} missing", if many { "are" } else { "is" })
            }
            Problem::Duplicate { seq } => write!(f, "record {seq} appears again or out of order"),
            Problem::Truncated => write!(f, "the record is cut short (no end of line) although it was acknowledged"),
            Problem::MissingBelowHead { from, to, signed } => {
                let (what, many) = records(*from, *to);
                let (are, they) = if many { ("are", "they were") } else { ("is", "it was") };
                let acknowledged = if *to == 1 { "record was" } else { "records were" };
                write!(f, "{what} {are} missing: HEAD says {to} {acknowledged} acknowledged")?;
                if *signed { write!(f, " and HEAD is signed, so {they} removed") } else { Ok(()) }
            }
            Problem::SegmentMissing { number, from, to } => {
                write!(f, "segment {} is missing ({})", super::segment_name(*number), records(*from, *to).0)
            }
            Problem::SetAside { segment, from, to } => {
                let (what, many) = records(*from, *to);
                write!(
                    f,
                    "{what} {} set aside as damaged (audit/set-aside/{segment})",
                    if many { "were" } else { "was" }
                )
            }
            Problem::HeadMismatch { head, record } => {
                write!(f, "HEAD names hash {head} but the record has {record}")
            }
            Problem::HeadMissing => write!(f, "HEAD is missing: the anchor against truncation is gone"),
            Problem::HeadUnreadable { detail } => write!(f, "HEAD cannot be read ({detail})"),
            Problem::BadSignature { detail } => write!(f, "forged: {detail}"),
            Problem::UnknownKey { key } => {
                write!(f, "signed by key {key}, not by the key given with --pubkey")
            }
            Problem::Unsigned { from, to } => {
                let (what, many) = records(*from, *to);
                write!(
                    f,
                    "{what} {} not covered by a signed checkpoint (written without the signing key, or appended by someone who does not have it)",
                    if many { "are" } else { "is" }
                )
            }
            Problem::HeadUnsigned => write!(f, "the trail is signed but HEAD is not"),
            Problem::HeadSetAside { file } => write!(
                f,
                "HEAD was set aside as damaged (audit/set-aside/{file}): the records before the trail was anchored again are not protected against a removed tail"
            ),
            Problem::TrailMissing { detail } => {
                write!(f, "the audit trail is missing: {detail}; it was deleted or replaced")
            }
        }
    }
}

/// "record 7" or "records 7–9", and the verb that goes with it ("is"/"are", "was"/"were").
pub(crate) fn records(from: u64, to: u64) -> (String, bool) {
    if from == to { (format!("record {from}"), false) } else { (format!("records {from}–{to}"), true) }
}

/// One problem and where it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Damage {
    /// The line, when the problem is one.
    pub at: Option<Location>,
    /// The record's sequence number (or the one expected there).
    pub seq: Option<u64>,
    /// What is wrong.
    pub problem: Problem,
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.at, self.seq) {
            (Some(at), Some(seq)) => write!(f, "record {seq} at {at}: {}", self.problem),
            (Some(at), None) => write!(f, "{at}: {}", self.problem),
            (None, Some(seq)) => write!(f, "record {seq}: {}", self.problem),
            (None, None) => write!(f, "{}", self.problem),
        }
    }
}
