//! The audit trail's verdict (`audit verify --json`, `GET /api/v1/audit/verify`): one typed
//! value, printed by the CLI and served by the API, whose schema in the OpenAPI document is
//! derived from it, so that the document and what is served cannot drift apart.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Serialize;
use utoipa::ToSchema;

use crate::store::StoreError;
use crate::store::audit::{self, Damage, Head, Keep, PublicKey, Scan, Torn};

/// The verdict on the whole trail: numbering, hash chain, HEAD, signatures, and a witnessed
/// head when one was given. Fields are in alphabetical order, the order `audit verify --json`
/// has always printed them in.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditVerdict {
    /// Records read that are checkpoints (signatures over the batches before them).
    pub checkpoints: u64,
    /// Each problem found, with its segment, line, byte offset and seq.
    pub damage: Vec<Damage>,
    /// Whether the witnessed head (`audit verify --expect SEQ:HASH`) is in the trail; null
    /// when none was given.
    pub expect: Option<Expectation>,
    /// A signature does not match, or the witnessed head is not in the trail.
    pub forged: bool,
    /// The trail's HEAD record (the last acknowledged record), null when there is none.
    pub head: Option<Head>,
    /// Every check passed.
    pub intact: bool,
    /// The public keys the checkpoints name (hex).
    pub keys: BTreeSet<String>,
    /// Lines after HEAD not acknowledged (a batch being written, or one a stopped process
    /// never finished): not part of the trail; null when there are none.
    pub pending: Option<Torn>,
    /// Records read, checkpoints included.
    pub records: u64,
    /// The segment files, in order.
    pub segments: Vec<String>,
    /// What the signatures prove, in a sentence.
    pub signing: String,
}

/// Whether a witnessed head holds, and why.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// The witnessed head is a record of the trail.
    pub holds: bool,
    /// What was found.
    pub message: String,
}

impl AuditVerdict {
    /// The verdict on `scan`, whose signatures were checked against `key` when given, and
    /// whether the head witnessed earlier holds (`Ok`) or not (`Err`), with why.
    pub fn of(scan: &Scan, key: Option<&PublicKey>, witnessed: Option<&Result<String, String>>) -> AuditVerdict {
        let unwitnessed = witnessed.is_some_and(Result::is_err);
        AuditVerdict {
            checkpoints: scan.checkpoints,
            damage: scan.damage.clone(),
            expect: witnessed.map(|w| match w {
                Ok(m) => Expectation { holds: true, message: m.clone() },
                Err(m) => Expectation { holds: false, message: m.clone() },
            }),
            forged: scan.damage.iter().any(|d| d.problem.forged()) || unwitnessed,
            head: scan.head.clone(),
            intact: scan.intact() && !unwitnessed,
            keys: scan.keys.clone(),
            pending: scan.torn.clone(),
            records: scan.records,
            segments: scan.segments.iter().map(|n| audit::segment_name(*n)).collect(),
            signing: signing_summary(scan, key),
        }
    }

    /// The verdict on the trail in `state_dir`, read without writing (no key, no witness).
    pub fn read(state_dir: &Path) -> Result<AuditVerdict, StoreError> {
        let scan = audit::read_state_dir(state_dir, None, Keep::Verdict)?;
        Ok(AuditVerdict::of(&scan, None, None))
    }
}

/// What the signatures prove, in a sentence.
pub fn signing_summary(scan: &Scan, key: Option<&PublicKey>) -> String {
    match (key, scan.keys.len()) {
        (Some(k), _) => format!(
            "signatures: checked against the key given with --pubkey ({}): {}",
            k.hex(),
            if scan.damage.iter().any(|d| d.problem.forged()) { "NOT all records are covered by valid signatures of it" } else { "every record is covered by a checkpoint it signed" }
        ),
        (None, 0) => "unsigned: the hash chain shows a record changed, removed or inserted by someone who did not also recompute every hash after it, and HEAD shows a removed tail unless it was rewritten too; it does not prove more. Witness the head elsewhere (`audit head`) or sign the trail (`--audit-key`)".to_owned(),
        (None, _) => format!(
            "signed by {}: the signatures match the keys they name; pass --pubkey to check that the key is yours",
            scan.keys.iter().map(|k| format!("key {k}")).collect::<Vec<_>>().join(", ")
        ),
    }
}
