//! The simulator's journal, `STATE/sim.journal`: each change is appended as one record (its
//! length, a CRC-32 and the parts it writes or removes, each whole: see [`super::persist`])
//! and made durable by one `fdatasync` shared with the changes made meanwhile (group commit, by
//! the store's durable writer: [`crate::store::writer`]). A database flush per change cost more
//! than the change itself. The database's `sim` tree catches up at a
//! checkpoint: when the journal passes a size, when the simulator is dropped, and at the next
//! open after a crash. Replaying is idempotent, because every part is whole. A torn
//! last record is a change whose call never returned. It is copied to `sim.journal.torn-TIME`
//! with a warning. A bad record followed by a good one is damage.
//!
//! Record: `len: u32 LE`, `crc: u32 LE` (CRC-32 of the length's bytes and the payload), then
//! `len` bytes of operations, each `P klen:u32 key vlen:u32 value` or `R klen:u32 key`.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::sync::{Arc, Mutex};

use crate::store::writer::{GroupWriter, SyncData};
use crate::store::{StateDir, StoreError};

/// The journal's file name in the state directory.
pub(crate) const FILE: &str = "sim.journal";
/// The tree the journal writes to.
pub(crate) const TREE: &str = "sim";
const HEADER: usize = 8;
const FIX: &str = "Keep a copy of the state directory for the record; then move sim.journal out of it (the simulated estate goes back to its last checkpoint) or run `powerplane sim init --force` for a new estate. The audit trail is kept apart and stays as it is";

/// One write to the simulator's tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    /// The key now holds the value.
    Put(Vec<u8>, Vec<u8>),
    /// The key is gone.
    Remove(Vec<u8>),
}

/// The writer of a state directory's journal. Appends are made in the order the changes were
/// made (the simulator calls [`Journal::append`] under its order lock); [`Journal::sync`] then
/// waits for a shared `fdatasync` by the journal's durable writer.
#[derive(Debug)]
pub(crate) struct Journal {
    dir: StateDir,
    tail: Mutex<Tail>,
    synced: GroupWriter<SyncData>,
    checkpoint_bytes: u64,
}

#[derive(Debug, Default)]
struct Tail {
    /// Opened at the first append.
    file: Option<Arc<File>>,
    len: u64,
    /// What the journal holds and the tree does not yet have, in order.
    pending: Vec<Op>,
}

impl Journal {
    /// The journal of `dir` (a writer's state directory). Nothing is touched until the first
    /// append. The tree is brought up to date first if the journal holds records.
    pub(crate) fn new(dir: StateDir) -> Self {
        // Checked before any command starts (`env::check`); a value changed since is refused
        // there too, so the default here is only for library users who skip it.
        let checkpoint_bytes =
            crate::env::values().map_or(crate::env::SIM_JOURNAL_BYTES.default, |v| v.sim_journal_bytes);
        let synced = GroupWriter::start("sim-journal", SyncData::default(), std::time::Duration::ZERO);
        Journal { dir, tail: Mutex::default(), synced, checkpoint_bytes }
    }

    /// The state directory.
    pub(crate) fn dir(&self) -> &StateDir {
        &self.dir
    }

    /// Appends one change (not durable until [`Journal::sync`] returns).
    pub(crate) fn append(&self, ops: Vec<Op>) -> Result<(), StoreError> {
        let mut tail = self.tail.lock().expect("not poisoned");
        let file = match &tail.file {
            Some(f) => f.clone(),
            None => {
                recover(&self.dir)?;
                let path = self.dir.path().join(FILE);
                let created = !path.exists();
                let f = OpenOptions::new().create(true).append(true).open(&path).map_err(|e| self.dir.io(&e))?;
                if created {
                    crate::store::audit::sync_dir(self.dir.path()).map_err(|e| self.dir.io(&e))?;
                }
                tail.len = f.metadata().map_err(|e| self.dir.io(&e))?.len();
                let f = Arc::new(f);
                tail.file = Some(f.clone());
                f
            }
        };
        let record = encode(&ops);
        if let Err(e) = (&*file).write_all(&record) {
            // A part of the record may be in the file: cut it off, so that the next record
            // follows the last whole one (else the journal would read as damaged).
            let _ = file.set_len(tail.len);
            return Err(self.dir.io(&e));
        }
        tail.len += record.len() as u64;
        tail.pending.extend(ops);
        Ok(())
    }

    /// Returns once every change appended before the call is durable. True when the journal
    /// has grown past its size and should be folded into the tree ([`Journal::checkpoint`]).
    pub(crate) async fn sync(&self) -> Result<bool, StoreError> {
        let file = self.tail.lock().expect("not poisoned").file.clone();
        if let Some(file) = file {
            let gone = |e: crate::store::writer::WriterGone| self.dir.io(&e);
            let ticket = self.synced.submit(file).map_err(gone)?;
            ticket.wait().await.map_err(gone)?.map_err(|e| self.dir.io(&e))?;
        }
        Ok(self.tail.lock().expect("not poisoned").len >= self.checkpoint_bytes)
    }

    /// Writes what the journal holds into the tree, makes the tree durable, then empties the
    /// journal. A crash at any point leaves tree and journal that replay to the same state.
    pub(crate) fn checkpoint(&self) -> Result<(), StoreError> {
        let mut tail = self.tail.lock().expect("not poisoned");
        let Some(file) = tail.file.clone() else { return Ok(()) };
        if tail.len == 0 {
            return Ok(());
        }
        // Until the journal is emptied, what it holds stays pending: a failed checkpoint is
        // tried again by the next one, or replayed at the next open.
        let batch = super::persist::fold(&self.dir, &tail.pending)?;
        self.dir.tree(TREE)?.apply_batch(batch).map_err(|e| self.dir.io(&e))?;
        self.dir.flush()?;
        file.set_len(0).and_then(|()| file.sync_all()).map_err(|e| self.dir.io(&e))?;
        tail.len = 0;
        tail.pending.clear();
        Ok(())
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        if let Err(e) = self.checkpoint() {
            tracing::warn!(error = %e, "the simulator's journal was not folded into the database; the next open replays it");
        }
    }
}

fn encode(ops: &[Op]) -> Vec<u8> {
    let mut payload = Vec::new();
    let field = |out: &mut Vec<u8>, b: &[u8]| {
        out.extend_from_slice(&(b.len() as u32).to_le_bytes());
        out.extend_from_slice(b);
    };
    for op in ops {
        match op {
            Op::Put(k, v) => {
                payload.push(b'P');
                field(&mut payload, k);
                field(&mut payload, v);
            }
            Op::Remove(k) => {
                payload.push(b'R');
                field(&mut payload, k);
            }
        }
    }
    let len = (payload.len() as u32).to_le_bytes();
    let mut crc = crc32fast::Hasher::new();
    crc.update(&len);
    crc.update(&payload);
    let mut record = Vec::with_capacity(HEADER + payload.len());
    record.extend_from_slice(&len);
    record.extend_from_slice(&crc.finalize().to_le_bytes());
    record.extend_from_slice(&payload);
    record
}

/// A journal's records, read back.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Decoded {
    /// The changes, in order.
    pub changes: Vec<Vec<Op>>,
    /// Where a torn last record starts, if the journal ends with one.
    pub torn: Option<usize>,
}

/// One record at `at`: its operations and where the next starts, or `None` if it is not whole
/// and intact.
fn record_at(bytes: &[u8], at: usize) -> Option<(Vec<Op>, usize)> {
    let header = bytes.get(at..at + HEADER)?;
    let len = u32::from_le_bytes(header[..4].try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(header[4..].try_into().ok()?);
    let payload = bytes.get(at + HEADER..(at + HEADER).checked_add(len)?)?;
    let mut h = crc32fast::Hasher::new();
    h.update(&header[..4]);
    h.update(payload);
    if h.finalize() != crc {
        return None;
    }
    let ops = decode_ops(payload)?;
    Some((ops, at + HEADER + len))
}

fn decode_ops(mut p: &[u8]) -> Option<Vec<Op>> {
    fn field<'a>(p: &mut &'a [u8]) -> Option<&'a [u8]> {
        let len = u32::from_le_bytes(p.get(..4)?.try_into().ok()?) as usize;
        let v = p.get(4..4usize.checked_add(len)?)?;
        *p = &p[4 + len..];
        Some(v)
    }
    let mut ops = Vec::new();
    while let Some((&tag, rest)) = p.split_first() {
        p = rest;
        let key = field(&mut p)?.to_vec();
        ops.push(match tag {
            b'P' => Op::Put(key, field(&mut p)?.to_vec()),
            b'R' => Op::Remove(key),
            _ => return None,
        });
    }
    (!ops.is_empty()).then_some(ops)
}

/// Reads a journal's bytes. Err: the byte offset of a bad record that a good one follows.
pub(crate) fn decode(bytes: &[u8]) -> Result<Decoded, usize> {
    let mut changes = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        match record_at(bytes, at) {
            Some((ops, next)) => {
                changes.push(ops);
                at = next;
            }
            None => {
                // Whole by its length yet unreadable, with a readable record after it: damage
                // inside the journal, not a write the crash cut short.
                let len = bytes.get(at..at + 4).map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")) as usize);
                let next = len.and_then(|l| (at + HEADER).checked_add(l));
                if next.is_some_and(|n| n < bytes.len() && record_at(bytes, n).is_some()) {
                    return Err(at);
                }
                return Ok(Decoded { changes, torn: Some(at) });
            }
        }
    }
    Ok(Decoded { changes, torn: None })
}

/// Brings the tree of `dir` up to date from its journal. A writer then makes the tree durable,
/// copies a torn last record aside and empties the journal; a read-only `dir` (whose database
/// is a private copy) gets the records in its copy and the journal stays as it is.
pub(crate) fn recover(dir: &StateDir) -> Result<(), StoreError> {
    let path = dir.path().join(FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(dir.io(&e)),
    };
    if bytes.is_empty() {
        return Ok(());
    }
    let decoded = decode(&bytes).map_err(|at| {
        dir.corrupt(format!("{}: the record at byte {at} is damaged and others follow it", path.display()), FIX)
    })?;
    let batch = super::persist::fold(dir, decoded.changes.iter().flatten())?;
    dir.tree(TREE)?.apply_batch(batch).map_err(|e| dir.io(&e))?;
    if dir.is_read_only() {
        if let Some(at) = decoded.torn {
            tracing::warn!(
                "{} ends with a torn record at byte {at} (a change whose call never returned); the next writer moves it aside",
                path.display()
            );
        }
        return Ok(());
    }
    dir.flush()?;
    let io = |e: std::io::Error| dir.io(&e);
    if let Some(at) = decoded.torn {
        let stamp = crate::time::now().replace(':', "");
        let name = format!("{FILE}.torn-{stamp}");
        let mut out = OpenOptions::new().write(true).create_new(true).open(dir.path().join(&name)).map_err(io)?;
        out.write_all(&bytes[at..]).and_then(|()| out.sync_all()).map_err(io)?;
        tracing::warn!(
            "{} ended with a torn record at byte {at} ({} bytes): a change whose call never returned, so nothing acknowledged. Moved it to {name}",
            path.display(),
            bytes.len() - at
        );
    }
    let f = OpenOptions::new().write(true).open(&path).map_err(io)?;
    f.set_len(0).and_then(|()| f.sync_all()).map_err(io)?;
    crate::store::audit::sync_dir(dir.path()).map_err(io)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(k: &str, v: &str) -> Op {
        Op::Put(k.as_bytes().to_vec(), v.as_bytes().to_vec())
    }

    #[test]
    fn records_read_back_and_a_cut_at_any_byte_is_a_torn_tail() {
        let changes =
            vec![vec![put("meta", "1"), put("lpar/a", "x")], vec![Op::Remove(b"lpar/a".to_vec())], vec![put("m", "")]];
        let bytes: Vec<u8> = changes.iter().flat_map(|c| encode(c)).collect();
        assert_eq!(decode(&bytes), Ok(Decoded { changes: changes.clone(), torn: None }));
        let ends: Vec<usize> = changes
            .iter()
            .scan(0, |at, c| {
                *at += encode(c).len();
                Some(*at)
            })
            .collect();
        for cut in 0..bytes.len() {
            let d = decode(&bytes[..cut]).unwrap();
            let whole = ends.iter().filter(|e| **e <= cut).count();
            let read_to = if whole == 0 { 0 } else { ends[whole - 1] };
            assert_eq!(d.changes, changes[..whole].to_vec(), "cut at {cut}");
            assert_eq!(d.torn, (cut != read_to).then_some(read_to), "cut at {cut}");
        }
    }

    #[test]
    fn a_flipped_byte_before_good_records_is_damage_and_at_the_end_a_torn_tail() {
        let changes = [vec![put("a", "1")], vec![put("b", "2")], vec![put("c", "3")]];
        let bytes: Vec<u8> = changes.iter().flat_map(|c| encode(c)).collect();
        let second = encode(&changes[0]).len();
        let mut mid = bytes.clone();
        mid[second + HEADER + 2] ^= 0x20;
        assert_eq!(decode(&mid), Err(second));
        let mut last = bytes.clone();
        let n = last.len();
        last[n - 1] ^= 0x01;
        let d = decode(&last).unwrap();
        assert_eq!(d.changes.len(), 2);
        assert_eq!(d.torn, Some(n - encode(&changes[2]).len()));
        // Zeros where the file was extended but never written are a torn tail, not records.
        let mut zeros = bytes.clone();
        zeros.extend([0u8; 40]);
        assert_eq!(decode(&zeros).unwrap().torn, Some(bytes.len()));
    }
}
