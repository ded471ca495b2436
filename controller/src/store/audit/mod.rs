//! The audit trail (DESIGN §6): every backend call is an *intent* record written durably before
//! the call and an *outcome* record after it; actions never called get a *skip* record saying
//! why. Records are numbered and chained (each carries the SHA-256 of the one before), live in
//! append-only segment files of JSON Lines under `STATE/audit/` (`000001.jsonl`, … rotated at a
//! size), and are anchored by `audit/HEAD`, the last acknowledged record, so that a removed
//! tail shows. With a signing key each batch ends with a signed checkpoint and HEAD is signed,
//! so a chain recomputed without the key shows too.
//!
//! Durability without one fsync per record: [`AuditLog::append`] writes a batch with one
//! `write` and one `fdatasync` (group commit: the store's durable writer,
//! [`crate::store::writer::AuditWriter`], gathers every record waiting at that moment into one
//! batch), and a record is acknowledged only after that sync. HEAD follows on a durable writer
//! of its own (`head_writer`), at most a batch or two behind while records are written and
//! exactly once a plan is done ([`AuditLog::sync_head`]). After HEAD, complete chained lines
//! (whole signed batches, in a signed trail) were durable and are kept; the first line that is
//! not — a batch torn by a crash, never acknowledged — and everything after it is moved aside
//! by the next writer to a `torn-*` file, with a warning.

mod damage;
mod head;
mod head_writer;
mod migrate;
mod record;
mod refusal;
mod scan;
mod set_aside;
mod signing;

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub use damage::{Damage, Location, Problem};
pub(crate) use head::sync_dir;
pub use head::{Head, HeadFile, parse_witness};
pub use record::{ActionResult, Checkpoint, Draft, Event, GENESIS, Record, Who};
pub use refusal::require_key;
use refusal::{damaged, signed_detail, unsigned_tail};
pub use scan::{Item, Scan, Tail, Torn};
pub use set_aside::set_aside;
pub use signing::{KeyError, PublicKey, Signer, keygen};

use super::{StateDir, StoreError};
use head_writer::HeadWriter;
use scan::{Anchor, Segment, SetAside};

pub(crate) use migrate::{TREE as LEGACY_TREE, lines as legacy_lines, run as migrate_legacy};

/// The trail's directory inside the state directory.
pub const DIR: &str = "audit";
/// Where an operator moves damaged segments (`audit set-aside`).
pub const SET_ASIDE: &str = "set-aside";
const DEFAULT_SEGMENT_BYTES: u64 = crate::env::AUDIT_SEGMENT_BYTES.default;

/// A segment's file name.
pub fn segment_name(number: u64) -> String {
    format!("{number:06}.jsonl")
}

fn segment_number(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(".jsonl")?;
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then(|| digits.parse().ok()).flatten()
}

/// How large a segment grows before the next one starts (`POWERPLANE_AUDIT_SEGMENT_BYTES`
/// changes it, for tests). Checked before any command starts (`env::check`), so the default
/// here is only for library users who skip that.
fn segment_limit() -> u64 {
    crate::env::values().map_or(DEFAULT_SEGMENT_BYTES, |v| v.audit_segment_bytes)
}

/// The trail's files as they are: HEAD (read first, so that a concurrent writer can only have
/// added lines after it), the live segments in order and the numbers of those set aside.
pub(crate) struct Files {
    head: HeadFile,
    segments: Vec<Segment>,
    set_aside: SetAside,
}

pub(crate) fn read_files(audit: &Path) -> std::io::Result<Files> {
    let head = head::read(audit)?;
    let mut numbers: Vec<(u64, String)> = Vec::new();
    for e in std::fs::read_dir(audit)? {
        let name = e?.file_name().to_string_lossy().into_owned();
        if let Some(n) = segment_number(&name) {
            numbers.push((n, name));
        }
    }
    numbers.sort();
    let mut segments = Vec::with_capacity(numbers.len());
    for (number, name) in numbers {
        let bytes = std::fs::read(audit.join(&name))?;
        segments.push(Segment { number, name, bytes });
    }
    let mut set_aside = SetAside::default();
    match std::fs::read_dir(audit.join(SET_ASIDE)) {
        Ok(entries) => {
            for e in entries {
                let name = e?.file_name().to_string_lossy().into_owned();
                if let Some(n) = segment_number(&name) {
                    set_aside.segments.insert(n);
                } else if name.starts_with("HEAD-") {
                    set_aside.heads.push(name);
                }
            }
            set_aside.heads.sort();
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    Ok(Files { head, segments, set_aside })
}

/// What a reader keeps of the trail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    /// Only the verdict and the problems.
    Verdict,
    /// Every record and problem in order, and the open intents.
    Records,
}

/// [`read`] of the state directory at `state_dir`, refused when there is none: an older
/// release's trail is read through a read-only copy of its database. What `powerplane audit`,
/// `status` and the API's `/api/v1/audit` read.
pub fn read_state_dir(state_dir: &Path, key: Option<&PublicKey>, keep: Keep) -> std::result::Result<Scan, StoreError> {
    super::require_existing(state_dir)?;
    let state = state_dir.to_path_buf();
    let legacy = move || {
        if !state.join("conf").exists() {
            return Ok(Untrailed::default());
        }
        let dir = StateDir::open_read_only(&state)?;
        Ok(Untrailed { lines: dir.legacy_audit_lines()?, evidence: dir.trail_evidence()? })
    };
    read(state_dir, legacy, key, keep)
}

/// What the database says of a state directory that has no `audit/` directory.
#[derive(Debug, Default)]
pub struct Untrailed {
    /// The trail of an older release, still in the database (not moved into segment files
    /// yet).
    pub lines: Option<Vec<Vec<u8>>>,
    /// What shows that the state directory has had a trail, if anything: without one, the
    /// trail is damage, not empty.
    pub evidence: Option<String>,
}

/// Reads the trail of the state directory at `state` without writing anything: the segment
/// files, or — for a state directory an older release wrote, not migrated yet — the sled tree,
/// through `untrailed` (a read-only copy of the database), which also tells a trail that was
/// never started from one that is gone. `key`: the public key that must have signed it.
pub fn read(
    state: &Path,
    untrailed: impl FnOnce() -> std::result::Result<Untrailed, StoreError>,
    key: Option<&PublicKey>,
    keep: Keep,
) -> std::result::Result<Scan, StoreError> {
    let audit = state.join(DIR);
    let io = |e: &dyn std::fmt::Display| StoreError::Io { path: audit.clone(), detail: e.to_string() };
    let missing = |detail: String| {
        let mut scan = Scan { next: (1, GENESIS.into()), ..Default::default() };
        scan.damage.push(Damage { at: None, seq: None, problem: Problem::TrailMissing { detail } });
        if keep == Keep::Records {
            scan.items.push(Item::Damage(0));
        }
        scan
    };
    if std::fs::symlink_metadata(&audit).is_ok() && !audit.is_dir() {
        return Ok(missing(format!("{} is not a directory but a file", audit.display())));
    }
    if audit.is_dir() {
        let files = read_files(&audit).map_err(|e| io(&e))?;
        return Ok(scan::scan(
            &files.segments,
            &files.set_aside,
            &Anchor::Head(files.head),
            key,
            false,
            keep == Keep::Records,
        ));
    }
    let untrailed = untrailed()?;
    if untrailed.lines.is_none()
        && let Some(evidence) = untrailed.evidence
    {
        return Ok(missing(format!("{} is gone, yet {evidence}", audit.display())));
    }
    let lines = untrailed.lines.unwrap_or_default();
    let bytes = lines.into_iter().flat_map(|mut l| {
        l.push(b'\n');
        l
    });
    let segment = Segment { number: 1, name: "(the sled tree of an older release)".into(), bytes: bytes.collect() };
    Ok(scan::scan(&[segment], &SetAside::default(), &Anchor::Legacy, key, false, keep == Keep::Records))
}

/// The audit trail of a state directory, open for appending. Cheap to clone; clones share one
/// writer.
#[derive(Clone, Debug)]
pub struct AuditLog {
    state: PathBuf,
    inner: Arc<Mutex<Writer>>,
    notes: Arc<Vec<String>>,
}

#[derive(Debug)]
struct Writer {
    audit: PathBuf,
    file: File,
    number: u64,
    size: u64,
    limit: u64,
    next: u64,
    prev: String,
    signer: Option<Signer>,
    who: Who,
    open_intents: BTreeMap<u64, Record>,
    /// The state directory whose database is yet to record that its trail is signed: set
    /// until a writer with a key has written its first batch.
    unrecorded: Option<StateDir>,
    /// Set when a write or sync failed: what is on disk past HEAD is then unknown, and this
    /// process appends nothing more.
    poisoned: Option<String>,
    /// Writes HEAD after each batch, off the path of acknowledgements.
    head: HeadWriter,
}

impl AuditLog {
    /// Opens the trail for appending, unsigned: moves an older release's sled tree into
    /// segment files, moves an unacknowledged tail aside (see [`AuditLog::notes`]), and refuses
    /// a damaged trail.
    pub fn open(dir: &StateDir) -> std::result::Result<Self, StoreError> {
        Self::open_signed(dir, None)
    }

    /// [`AuditLog::open`], signing every batch with `signer` when given.
    pub fn open_signed(dir: &StateDir, signer: Option<Signer>) -> std::result::Result<Self, StoreError> {
        let mut notes = Vec::new();
        if let Some(n) = migrate::run(dir)? {
            notes.push(format!(
                "moved the audit trail ({}) out of the database into {}/",
                crate::words::count(n as u64, "record"),
                DIR
            ));
        }
        let audit = dir.path().join(DIR);
        let io = |e: &dyn std::fmt::Display| StoreError::Io { path: audit.clone(), detail: e.to_string() };
        if !audit.is_dir() {
            create(dir.path()).map_err(|e| io(&e))?;
        }
        let mut files = read_files(&audit).map_err(|e| io(&e))?;
        let signed = signer.is_some();
        let mut found =
            scan::scan(&files.segments, &files.set_aside, &Anchor::Head(files.head.clone()), None, signed, false);
        if let Some(d) = found.blocking() {
            return Err(damaged(dir.path(), d, found.damage.len()));
        }
        // A signed trail is only appended to by a writer with the key, and only when the key
        // signed everything in it: a writer with the key that signed over records it never
        // signed would vouch for them.
        // What someone without the key wrote is reported as such to every writer.
        if found.signed() {
            let unsigned = |p: &Problem| matches!(p, Problem::Unsigned { .. });
            let tail = found.damage.iter().find(|d| unsigned(&d.problem));
            if let Some(d) = tail.or_else(|| found.damage.iter().find(|d| d.problem == Problem::HeadUnsigned)) {
                return Err(unsigned_tail(dir.path(), &found, d));
            }
            if signer.is_none() {
                return Err(StoreError::AuditNeedsKey { path: audit.clone(), detail: signed_detail(&found) });
            }
        }
        // A trail that looks as if it was never signed, where a writer with a key signed it:
        // its signatures were stripped (and its chain recomputed), which only the database
        // tells; adopting it would sign the forgery.
        let signed_by = dir.trail_signed_by()?;
        if let (false, Some(key), Some(tail)) = (found.signed(), &signed_by, &found.tail) {
            return Err(StoreError::AuditStripped {
                path: audit.clone(),
                state: dir.path().to_path_buf(),
                records: damage::records(tail.from, found.last.as_ref().map_or(tail.from, |l| l.0)).0,
                key: key.clone(),
                segment: tail.at.segment.clone(),
            });
        }
        if signed && !found.signed() && found.records > 0 {
            notes.push(format!(
                "signing the audit trail from record {} on: the {} before it were written without a key, and the first checkpoint signs them as they are (verify them first: `powerplane audit verify --expect SEQ:HASH` with a head witnessed earlier)",
                found.next.0,
                crate::words::count(found.records, "record")
            ));
        }
        if let Some(torn) = found.torn.take() {
            notes.push(move_torn_aside(&audit, &files.segments, &torn).map_err(|e| io(&e))?);
            files = read_files(&audit).map_err(|e| io(&e))?;
        }
        let intents = found;
        let last_live = files.segments.last().map(|s| s.number);
        let newest = last_live.into_iter().chain(files.set_aside.segments.iter().copied()).max().unwrap_or(0);
        let (number, file, size) = match last_live {
            Some(n) if n == newest => {
                let path = audit.join(segment_name(n));
                let file = OpenOptions::new().append(true).open(&path).map_err(|e| io(&e))?;
                let size = file.metadata().map_err(|e| io(&e))?.len();
                (n, file, size)
            }
            _ => (newest + 1, new_segment(&audit, newest + 1).map_err(|e| io(&e))?, 0),
        };
        if matches!(files.head, HeadFile::Missing) {
            notes.push("HEAD was set aside: the trail is anchored again at its last record".into());
        }
        let head_seq = match &files.head {
            HeadFile::Present(h) => h.seq,
            _ => 0,
        };
        if intents.after_head > 0 || !matches!(files.head, HeadFile::Present(_)) {
            // Records a stopped writer made durable but did not anchor (or a HEAD set aside):
            // anchored now.
            if let Some((seq, hash)) = &intents.last {
                let h = signed_head(*seq, hash.clone(), crate::time::now(), signer.as_ref());
                head::write(&audit, &h).map_err(|e| io(&e))?;
            }
        }
        let anchored = intents.last.as_ref().map_or(head_seq, |l| l.0.max(head_seq));
        let unrecorded = match &signer {
            Some(s) if signed_by.as_deref() != Some(s.key_hex().as_str()) => Some(dir.clone()),
            _ => None,
        };
        let writer = Writer {
            unrecorded,
            head: HeadWriter::start(audit.clone(), anchored),
            audit,
            file,
            number,
            size,
            limit: segment_limit().max(1),
            next: intents.next.0,
            prev: intents.next.1,
            signer,
            who: Who::me(),
            open_intents: intents.open_intents,
            poisoned: None,
        };
        for n in &notes {
            tracing::warn!("{n}");
        }
        Ok(AuditLog { state: dir.path().to_path_buf(), inner: Arc::new(Mutex::new(writer)), notes: Arc::new(notes) })
    }

    /// What opening did that the operator should know: a migration, an unacknowledged tail
    /// moved aside.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Numbers, chains and writes `entries` in order with one write and one fdatasync, then
    /// HEAD; the records are acknowledged (durable, and anchored) when this returns.
    pub fn append(&self, entries: Vec<(Event, Draft)>) -> std::result::Result<Vec<Record>, StoreError> {
        let mut w = self.inner.lock().map_err(|_| self.io(&"the audit writer panicked"))?;
        if let Some(why) = &w.poisoned {
            return Err(self.io(&format!("an earlier write failed ({why}); nothing more is appended by this process")));
        }
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let time = crate::time::now();
        let mut buf = Vec::with_capacity(entries.len() * 512);
        let mut out = Vec::with_capacity(entries.len() + 1);
        let who = w.who.clone();
        let unsigned = w.signer.is_none();
        let push = |event, draft, checkpoint, buf: &mut Vec<u8>, out: &mut Vec<Record>| {
            let prev_hash = out.last().map_or_else(|| w.prev.clone(), |r: &Record| r.hash.clone());
            let seq = out.last().map_or(w.next, |r| r.seq + 1);
            let mut r = Record {
                seq,
                time: time.clone(),
                event,
                draft,
                who: Some(who.clone()),
                unsigned,
                checkpoint,
                prev_hash,
                hash: String::new(),
            };
            buf.extend_from_slice(&r.seal());
            buf.push(b'\n');
            out.push(r);
        };
        for (event, draft) in entries {
            push(event, draft, None, &mut buf, &mut out);
        }
        if let Some(signer) = w.signer.clone() {
            let last = out.last().expect("a batch has records");
            let (seq, hash) = (last.seq, last.hash.clone());
            let signature = signer.sign(&signing::checkpoint_message(seq, &hash));
            let cp = Checkpoint { seq, hash, key: signer.key_hex(), signature };
            push(Event::Checkpoint, Draft::default(), Some(cp), &mut buf, &mut out);
        }
        let head = {
            let last = out.last().expect("a batch has records");
            signed_head(last.seq, last.hash.clone(), time, w.signer.as_ref())
        };
        if let Err(e) = w.write_batch(&buf) {
            w.poisoned = Some(e.to_string());
            return Err(self.io(&e));
        }
        if let (Some(dir), Some(signer)) = (w.unrecorded.take(), &w.signer) {
            // The batch is durable and acknowledged either way; a database that cannot record
            // it only weakens what a later writer can tell.
            if let Err(e) = dir.record_trail_signed_by(&signer.key_hex()) {
                tracing::warn!("the database could not record that the audit trail is signed: {e}");
            }
        }
        if let Err(e) = w.head.hand(head) {
            w.poisoned = Some(e.clone());
            return Err(self.io(&e));
        }
        let last = out.last().expect("a batch has records");
        (w.next, w.prev) = (last.seq + 1, last.hash.clone());
        for r in &out {
            match r.event {
                Event::Intent => {
                    w.open_intents.insert(r.seq, r.clone());
                }
                Event::Outcome => {
                    if let Some(i) = r.draft.intent {
                        w.open_intents.remove(&i);
                    }
                }
                Event::Skip | Event::Drift | Event::Override | Event::Rehearsal | Event::Checkpoint => {}
            }
        }
        out.retain(|r| r.event != Event::Checkpoint);
        Ok(out)
    }

    /// Waits until HEAD covers every record appended so far (the executor calls it when a plan
    /// is done, so that the trail is anchored exactly whenever nothing is being written).
    pub fn sync_head(&self) -> std::result::Result<(), StoreError> {
        let w = self.inner.lock().map_err(|_| self.io(&"the audit writer panicked"))?;
        let last = w.next - 1;
        w.head.wait_for(last).map_err(|e| self.io(&e))
    }

    /// Intents without an outcome: backend calls whose process died before it could record
    /// how they ended.
    pub fn dangling_intents(&self) -> std::result::Result<Vec<Record>, StoreError> {
        let w = self.inner.lock().map_err(|_| self.io(&"the audit writer panicked"))?;
        Ok(w.open_intents.values().cloned().collect())
    }

    /// Every readable record, in order (read from the files).
    pub fn records(&self) -> std::result::Result<Vec<Record>, StoreError> {
        Ok(self
            .scan(None)?
            .items
            .into_iter()
            .filter_map(|i| match i {
                Item::Record(_, r) if r.event != Event::Checkpoint => Some(*r),
                _ => None,
            })
            .collect())
    }

    /// Reads and checks the whole trail as `audit verify` does.
    pub fn scan(&self, key: Option<&PublicKey>) -> std::result::Result<Scan, StoreError> {
        read(&self.state, || Ok(Untrailed::default()), key, Keep::Records)
    }

    /// Rotates segments at `bytes` from now on (tests exercise rotation with small segments).
    #[cfg(test)]
    pub(crate) fn set_segment_limit(&self, bytes: u64) {
        self.inner.lock().expect("not poisoned").limit = bytes.max(1);
    }

    fn io(&self, e: &dyn std::fmt::Display) -> StoreError {
        StoreError::Io { path: self.state.join(DIR), detail: e.to_string() }
    }
}

/// The head at `seq`/`hash`, signed when there is a key.
fn signed_head(seq: u64, hash: String, time: String, signer: Option<&Signer>) -> Head {
    let mut head = Head { seq, hash, time, key: None, signature: None };
    if let Some(signer) = signer {
        head.key = Some(signer.key_hex());
        head.signature = Some(signer.sign(&signing::head_message(head.seq, &head.hash)));
    }
    head
}

impl Writer {
    fn write_batch(&mut self, buf: &[u8]) -> std::io::Result<()> {
        if self.size > 0 && self.size + buf.len() as u64 > self.limit {
            self.file = new_segment(&self.audit, self.number + 1)?;
            self.number += 1;
            self.size = 0;
        }
        self.file.write_all(buf)?;
        self.file.sync_data()?;
        self.size += buf.len() as u64;
        Ok(())
    }
}

/// Creates an empty trail: `audit/` with a HEAD of no records, made in a scratch directory and
/// renamed into place so that `audit/` never exists without its HEAD.
pub(crate) fn create(state: &Path) -> std::io::Result<()> {
    let scratch = state.join("audit.new");
    if scratch.exists() {
        std::fs::remove_dir_all(&scratch)?;
    }
    std::fs::create_dir(&scratch)?;
    head::write(&scratch, &Head::empty())?;
    std::fs::rename(&scratch, state.join(DIR))?;
    head::sync_dir(state)
}

fn new_segment(audit: &Path, number: u64) -> std::io::Result<File> {
    let file = OpenOptions::new().append(true).create_new(true).open(audit.join(segment_name(number)))?;
    head::sync_dir(audit)?;
    Ok(file)
}

/// Copies the unacknowledged tail to `torn-TIME.jsonl` (durably) and only then cuts it from the
/// segments. Returns the warning to print.
fn move_torn_aside(audit: &Path, segments: &[Segment], torn: &Torn) -> std::io::Result<String> {
    let stamp = crate::time::now().replace(':', "");
    let name = format!("torn-{stamp}-{}.jsonl", torn.at.segment.trim_end_matches(".jsonl"));
    let mut out = OpenOptions::new().write(true).create_new(true).open(audit.join(&name))?;
    let first = &segments[torn.segment_index];
    out.write_all(&first.bytes[torn.at.offset as usize..])?;
    for s in &segments[torn.segment_index + 1..] {
        out.write_all(&s.bytes)?;
    }
    out.sync_all()?;
    head::sync_dir(audit)?;
    let f = OpenOptions::new().write(true).open(audit.join(&first.name))?;
    f.set_len(torn.at.offset)?;
    f.sync_all()?;
    for s in &segments[torn.segment_index + 1..] {
        std::fs::remove_file(audit.join(&s.name))?;
    }
    head::sync_dir(audit)?;
    Ok(format!(
        "the audit trail ended with {} ({}) after its HEAD, from {}: a batch that was never acknowledged (the process stopped while writing it). Moved {} to audit/{name}; no acknowledged record was lost",
        crate::words::count(torn.lines, "line"),
        crate::words::count(torn.bytes, "byte"),
        torn.at,
        if torn.lines == 1 { "it" } else { "them" }
    ))
}

#[cfg(test)]
mod forgeries;
#[cfg(test)]
mod tests;
