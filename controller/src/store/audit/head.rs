//! `audit/HEAD`: the `seq` and `hash` of the last acknowledged record, written atomically
//! (write, fsync, rename, fsync the directory) after each durable batch. It is the anchor that
//! makes a removed tail visible: every record up to HEAD was acknowledged, so one missing is
//! damage, and anything after it was never acknowledged. Signed when the trail is.

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::record::GENESIS;

/// The file name.
pub(crate) const FILE: &str = "HEAD";

/// The head of the trail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Head {
    /// The last acknowledged record's sequence number (0: none yet).
    pub seq: u64,
    /// Its hash.
    pub hash: String,
    /// When it was written (RFC 3339 UTC).
    pub time: String,
    /// The public key that signed it (hex), when the trail is signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The Ed25519 signature of [`super::signing::head_message`] (hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

impl Head {
    /// The head of an empty trail.
    pub fn empty() -> Self {
        Head { seq: 0, hash: GENESIS.into(), time: crate::time::now(), key: None, signature: None }
    }

    /// `SEQ:HASH`, the form `audit verify --expect` takes.
    pub fn witness(&self) -> String {
        format!("{}:{}", self.seq, self.hash)
    }
}

/// What the HEAD file holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeadFile {
    /// No HEAD file.
    Missing,
    /// It cannot be decoded.
    Unreadable(String),
    /// A head.
    Present(Head),
}

/// Reads `dir/HEAD`.
pub(crate) fn read(dir: &Path) -> std::io::Result<HeadFile> {
    match std::fs::read(dir.join(FILE)) {
        Ok(bytes) => Ok(match serde_json::from_slice::<Head>(&bytes) {
            Ok(h) => HeadFile::Present(h),
            Err(e) => HeadFile::Unreadable(e.to_string()),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(HeadFile::Missing),
        Err(e) => Err(e),
    }
}

/// Replaces `dir/HEAD` atomically and durably.
pub(crate) fn write(dir: &Path, head: &Head) -> std::io::Result<()> {
    let tmp = dir.join("HEAD.tmp");
    let mut f = std::fs::File::create(&tmp)?;
    let mut line = serde_json::to_vec(head).map_err(std::io::Error::other)?;
    line.push(b'\n');
    f.write_all(&line)?;
    f.sync_all()?;
    std::fs::rename(&tmp, dir.join(FILE))?;
    sync_dir(dir)
}

/// Makes a directory's entries (a created or renamed file) durable.
pub(crate) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// Parses `SEQ:HASH`.
pub fn parse_witness(s: &str) -> Result<(u64, String), String> {
    let (seq, hash) = s.split_once(':').ok_or("expected SEQ:HASH, as `powerplane audit head` prints it")?;
    let seq = seq.parse::<u64>().map_err(|_| format!("{seq:?} is not a sequence number"))?;
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("{hash:?} is not a SHA-256 in hex (64 characters)"));
    }
    Ok((seq, hash.to_ascii_lowercase()))
}
