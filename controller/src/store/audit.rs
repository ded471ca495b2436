//! The audit trail (DESIGN §6): every backend call is an *intent* record written (and flushed)
//! before the call and an *outcome* record after it; actions never called get a *skip*
//! record saying why. Records are numbered and chained: each carries the SHA-256 of the
//! previous record, so `audit verify` finds any record that was changed, removed or inserted.
//!
//! Durability without one fsync per record: [`AuditLog::append`](crate::store::audit::AuditLog::append) writes a batch and flushes
//! once, and the executor's writer gathers every record waiting at that moment into one batch
//! (group commit). A record is acknowledged only after the flush that made it durable.

use serde::{Deserialize, Serialize};

use super::{StateDir, StoreError};

const TREE: &str = "audit";
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What a record says happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Event {
    /// A backend call is about to be made.
    Intent,
    /// The call (of the intent `intent`) ended.
    Outcome,
    /// The action was not attempted.
    Skip,
}

/// How an action ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Result {
    /// The backend did it.
    Succeeded,
    /// The backend refused or failed.
    Failed,
    /// Not attempted (a dependency failed).
    Skipped,
    /// The process died during the call; the effect was learned by observing again.
    Interrupted,
}

/// Fields of a record before it is numbered and chained.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Draft {
    /// The plan the action belongs to.
    pub plan_id: String,
    /// The action's id in the plan, e.g. `a3`.
    pub action: String,
    /// The action kind.
    pub kind: String,
    /// The object, `Kind/name`.
    pub object: String,
    /// The HMC command.
    pub command: String,
    /// The manifests' git commit, when the manifest directory is in a git repository.
    pub commit: Option<String>,
    /// Whether the working tree had uncommitted changes.
    pub dirty: Option<bool>,
    /// Outcome records: how it ended.
    pub result: Option<Result>,
    /// Outcome records: the backend's answer or error.
    pub message: Option<String>,
    /// Outcome records: how long it took (ms, wall clock).
    pub duration_ms: Option<u64>,
    /// Outcome records: attempts made (retries of transient errors included).
    pub attempts: Option<u32>,
    /// Outcome records: the sequence number of their intent.
    pub intent: Option<u64>,
}

/// One audit record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Position in the trail, from 1.
    pub seq: u64,
    /// When it was written (RFC 3339 UTC).
    pub time: String,
    /// What it says.
    pub event: Event,
    /// Its content.
    #[serde(flatten)]
    pub draft: Draft,
    /// SHA-256 of the previous record (zeros for the first).
    pub prev_hash: String,
    /// SHA-256 of this record (all fields but this one).
    pub hash: String,
}

impl Record {
    fn compute_hash(&self) -> String {
        let mut unhashed = self.clone();
        unhashed.hash = String::new();
        let bytes = serde_json::to_vec(&unhashed).expect("records serialize");
        crate::digest::sha256_hex(&bytes)
    }
}

/// The first record that does not fit the chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit record {seq} is broken: {why}")]
pub struct Broken {
    /// Its sequence number (or the position where one is missing).
    pub seq: u64,
    /// What is wrong.
    pub why: String,
}

/// The audit trail of a state directory.
#[derive(Clone, Debug)]
pub struct AuditLog {
    dir: StateDir,
    tree: sled::Tree,
}

impl AuditLog {
    /// Opens the trail.
    pub fn open(dir: &StateDir) -> std::result::Result<Self, StoreError> {
        Ok(AuditLog { dir: dir.clone(), tree: dir.tree(TREE)? })
    }

    fn last(&self) -> std::result::Result<Option<Record>, StoreError> {
        match self.tree.last().map_err(|e| self.dir.io(&e))? {
            Some((_, v)) => Ok(Some(self.decode(&v)?)),
            None => Ok(None),
        }
    }

    fn decode(&self, v: &[u8]) -> std::result::Result<Record, StoreError> {
        serde_json::from_slice(v).map_err(|e| {
            self.dir.corrupt(
                format!("an audit record cannot be decoded ({e})"),
                "keep the state directory for investigation; `powerplane audit verify` names the record",
            )
        })
    }

    /// Numbers, chains and writes `entries` in order, then flushes once; the records are
    /// durable when this returns.
    pub fn append(&self, entries: Vec<(Event, Draft)>) -> std::result::Result<Vec<Record>, StoreError> {
        let last = self.last()?;
        let (mut seq, mut prev) = last.map_or((0, GENESIS.to_owned()), |r| (r.seq, r.hash));
        let mut batch = sled::Batch::default();
        let mut out = Vec::with_capacity(entries.len());
        for (event, draft) in entries {
            seq += 1;
            let mut r = Record { seq, time: crate::time::now(), event, draft, prev_hash: prev, hash: String::new() };
            r.hash = r.compute_hash();
            prev = r.hash.clone();
            batch.insert(&seq.to_be_bytes(), serde_json::to_vec(&r).map_err(|e| self.dir.io(&e))?);
            out.push(r);
        }
        self.tree.apply_batch(batch).map_err(|e| self.dir.io(&e))?;
        self.dir.flush()?;
        Ok(out)
    }

    /// Every record, in order.
    pub fn records(&self) -> std::result::Result<Vec<Record>, StoreError> {
        self.tree.iter().values().map(|v| v.map_err(|e| self.dir.io(&e)).and_then(|v| self.decode(&v))).collect()
    }

    /// Recomputes the chain; the number of records when intact.
    pub fn verify(&self) -> std::result::Result<std::result::Result<u64, Broken>, StoreError> {
        let mut prev = GENESIS.to_owned();
        let mut expected = 1u64;
        for kv in self.tree.iter() {
            let (k, v) = kv.map_err(|e| self.dir.io(&e))?;
            let key = u64::from_be_bytes(k.as_ref().try_into().unwrap_or_default());
            let r: Record = match serde_json::from_slice(&v) {
                Ok(r) => r,
                Err(e) => return Ok(Err(Broken { seq: key, why: format!("it cannot be decoded ({e})") })),
            };
            if r.seq != expected || key != expected {
                return Ok(Err(Broken {
                    seq: expected,
                    why: format!("expected record {expected}, found {} (a record was removed or inserted)", r.seq),
                }));
            }
            if r.prev_hash != prev {
                return Ok(Err(Broken { seq: r.seq, why: "it does not chain to the record before it".into() }));
            }
            if r.compute_hash() != r.hash {
                return Ok(Err(Broken {
                    seq: r.seq,
                    why: "its content does not match its hash (it was changed)".into(),
                }));
            }
            prev = r.hash;
            expected += 1;
        }
        Ok(Ok(expected - 1))
    }

    /// Intents without an outcome: backend calls whose process died before it could record
    /// how they ended.
    pub fn dangling_intents(&self) -> std::result::Result<Vec<Record>, StoreError> {
        let records = self.records()?;
        let done: std::collections::BTreeSet<u64> = records.iter().filter_map(|r| r.draft.intent).collect();
        Ok(records.into_iter().filter(|r| r.event == Event::Intent && !done.contains(&r.seq)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(a: &str) -> Draft {
        Draft { plan_id: "p".into(), action: a.into(), kind: "StartPartition".into(), ..Default::default() }
    }

    #[test]
    fn chain_verifies_and_detects_tampering() {
        let d = tempfile::tempdir().unwrap();
        let dir = StateDir::open(d.path()).unwrap();
        let log = AuditLog::open(&dir).unwrap();
        let first = log.append(vec![(Event::Intent, draft("a1")), (Event::Intent, draft("a2"))]).unwrap();
        assert_eq!(first.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![1, 2]);
        log.append(vec![(Event::Outcome, Draft { intent: Some(1), result: Some(Result::Succeeded), ..draft("a1") })])
            .unwrap();
        assert_eq!(log.verify().unwrap(), Ok(3));
        assert_eq!(log.dangling_intents().unwrap().iter().map(|r| r.seq).collect::<Vec<_>>(), vec![2]);

        let mut r: Record = serde_json::from_slice(&log.tree.get(2u64.to_be_bytes()).unwrap().unwrap()).unwrap();
        r.draft.command = "rmsyscfg everything".into();
        log.tree.insert(2u64.to_be_bytes(), serde_json::to_vec(&r).unwrap()).unwrap();
        assert_eq!(log.verify().unwrap().unwrap_err().seq, 2);

        log.tree.remove(2u64.to_be_bytes()).unwrap();
        let b = log.verify().unwrap().unwrap_err();
        assert_eq!(b.seq, 2);
        assert!(b.why.contains("removed"), "{b}");
    }
}
