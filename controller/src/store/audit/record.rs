//! One audit record and its line in a segment file: compact JSON, one per line, ending with its
//! own hash. The hash is SHA-256 of the line as written with the `hash` value left empty, so
//! any change to a line's bytes — a flipped bit, an added field, re-indentation — shows.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What a record says happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Event {
    /// A backend call is about to be made.
    Intent,
    /// The call (of the intent `intent`) ended.
    Outcome,
    /// The action was not attempted.
    Skip,
    /// The estate changed outside powerplane between two observations (the controller
    /// loop's drift report): no action, a finding.
    Drift,
    /// An operator overrode a safety rule for this plan (`apply --ignore-windows`).
    Override,
    /// The plan was rehearsed on a digital twin before it ran (`apply --rehearse`).
    Rehearsal,
    /// The signature of the records before it (written at the end of each batch when a
    /// signing key is set).
    Checkpoint,
}

/// How an action ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ActionResult {
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
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Whether the working tree had uncommitted changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dirty: Option<bool>,
    /// Outcome records: how it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<ActionResult>,
    /// Outcome records: the backend's answer or error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Outcome records: how long it took (ms, wall clock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// Outcome records: attempts made (retries of transient errors included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts: Option<u32>,
    /// Outcome records: the sequence number of their intent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent: Option<u64>,
}

/// Who wrote a record: the login, the machine and the powerplane command line. Records from
/// before this field existed have none (and their hashes stay as they were).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Who {
    /// The user name (`$USER`, or the uid).
    pub user: String,
    /// The host name.
    pub host: String,
    /// The powerplane command line, e.g. `powerplane apply manifests --yes`.
    pub invocation: String,
}

impl Who {
    /// This process.
    pub fn me() -> Self {
        let user = ["USER", "LOGNAME"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
            .or_else(|| {
                let status = std::fs::read_to_string("/proc/self/status").ok()?;
                let uid = status.lines().find_map(|l| l.strip_prefix("Uid:"))?.split_whitespace().next()?.to_owned();
                Some(format!("uid {uid}"))
            })
            .unwrap_or_else(|| "unknown".into());
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .or_else(|_| std::fs::read_to_string("/etc/hostname"))
            .map(|h| h.trim().to_owned())
            .ok()
            .filter(|h| !h.is_empty())
            .or_else(|| std::env::var("HOSTNAME").ok())
            .unwrap_or_else(|| "unknown".into());
        let invocation = std::iter::once("powerplane".to_owned()).chain(std::env::args().skip(1)).collect::<Vec<_>>();
        Who { user, host, invocation: invocation.join(" ") }
    }
}

/// What a checkpoint signs: the record before it, as `seq` and `hash`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Checkpoint {
    /// The signed record's sequence number.
    pub seq: u64,
    /// The signed record's hash.
    pub hash: String,
    /// The public key that signed (hex of the 32 Ed25519 bytes).
    pub key: String,
    /// The Ed25519 signature of [`super::signing::checkpoint_message`] (hex).
    pub signature: String,
}

/// One audit record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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
    /// Who wrote it.
    #[serde(flatten)]
    pub who: Option<Who>,
    /// Written by a writer without the signing key (the field is left out when false, so the
    /// records of a writer with the key, and of older releases, read as before). It is covered
    /// by the record's hash; a writer with the key finds by it how an unsigned tail came about.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unsigned: bool,
    /// Checkpoint records: what they sign.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<Checkpoint>,
    /// SHA-256 of the previous record (zeros for the first).
    pub prev_hash: String,
    /// SHA-256 of this record's line with this field empty.
    pub hash: String,
}

const EMPTY_HASH_TAIL: &[u8] = br#","hash":""}"#;
const HASH_TAIL_LEN: usize = r#","hash":""}"#.len() + 64;

impl Record {
    /// Sets `hash` and returns the record's line (without the newline).
    pub(crate) fn seal(&mut self) -> Vec<u8> {
        self.hash.clear();
        let unhashed = serde_json::to_vec(&*self).expect("records serialize");
        self.hash = crate::digest::sha256_hex(&unhashed);
        let mut line = unhashed;
        line.truncate(line.len() - 2);
        line.extend_from_slice(self.hash.as_bytes());
        line.extend_from_slice(b"\"}");
        line
    }
}

/// The hash a line claims, and whether its bytes match it. `None` when the line does not end
/// in a `hash` field at all.
pub(crate) fn check_line(line: &[u8]) -> Option<(&str, bool)> {
    if line.len() < HASH_TAIL_LEN {
        return None;
    }
    let (body, tail) = line.split_at(line.len() - HASH_TAIL_LEN);
    let claimed = tail.strip_prefix(br#","hash":""#.as_slice())?.strip_suffix(b"\"}".as_slice())?;
    let claimed = std::str::from_utf8(claimed).ok().filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))?;
    let mut h = Sha256::new();
    h.update(body);
    h.update(EMPTY_HASH_TAIL);
    let actual = hex::encode(h.finalize());
    Some((claimed, actual == claimed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Record {
        Record {
            seq: 1,
            time: "2026-12-01T00:00:00Z".into(),
            event: Event::Intent,
            draft: Draft { plan_id: "p".into(), action: "a1".into(), ..Default::default() },
            who: None,
            unsigned: false,
            checkpoint: None,
            prev_hash: GENESIS.into(),
            hash: String::new(),
        }
    }

    #[test]
    fn a_sealed_line_checks_and_any_changed_byte_does_not() {
        let mut r = record();
        let line = r.seal();
        assert_eq!(serde_json::from_slice::<Record>(&line).unwrap(), r);
        assert_eq!(check_line(&line), Some((r.hash.as_str(), true)));
        for i in 0..line.len() - HASH_TAIL_LEN {
            let mut bad = line.clone();
            bad[i] ^= 0x01;
            assert!(!check_line(&bad).is_some_and(|(_, ok)| ok), "byte {i} flipped and still checks");
        }
        assert_eq!(check_line(b"{\"seq\":1}"), None);
    }

    #[test]
    fn a_line_of_an_older_release_checks_by_its_bytes() {
        // Older releases wrote absent fields as null; the hash covers the bytes as written, so
        // such a line checks as it is, and parses.
        let old = br#"{"seq":1,"time":"t","event":"intent","plan_id":"p","action":"a1","kind":"k","object":"o","command":"c","commit":null,"dirty":null,"result":null,"message":null,"duration_ms":null,"attempts":null,"intent":null,"prev_hash":"0000000000000000000000000000000000000000000000000000000000000000","hash":""}"#;
        let hash = crate::digest::sha256_hex(old);
        let line = String::from_utf8_lossy(old).replace(r#""hash":""}"#, &format!(r#""hash":"{hash}"}}"#));
        assert_eq!(check_line(line.as_bytes()), Some((hash.as_str(), true)));
        let r: Record = serde_json::from_str(&line).unwrap();
        assert_eq!((r.seq, r.draft.commit, r.who), (1, None, None));
        // New lines leave absent fields out.
        let mut r = record();
        let line = String::from_utf8(r.seal()).unwrap();
        assert!(!line.contains("null") && !line.contains("user") && !line.contains("checkpoint"), "{line}");
    }
}
