//! Moving an older release's trail (a sled tree of JSON records keyed by seq) into segment
//! files: the records are copied byte for byte, so every hash stays as it was. The segments
//! are built in `audit.migrating/` and renamed into place, and only then is the tree dropped,
//! so an interrupted migration either starts again or finds the segments done and finishes.

use std::io::Write;

use super::head::{self, Head};
use super::record::Record;
use super::{DIR, StateDir, StoreError, segment_limit, segment_name};

pub(crate) const TREE: &str = "audit";
const STAGING: &str = "audit.migrating";

/// The old tree's records, in order, as stored.
pub(crate) fn lines(tree: &sled::Tree) -> sled::Result<Vec<Vec<u8>>> {
    tree.iter().values().map(|v| v.map(|v| v.to_vec())).collect()
}

/// Migrates when the database still has the old tree; the number of records moved.
pub(crate) fn run(dir: &StateDir) -> Result<Option<usize>, StoreError> {
    let tree = dir.tree(TREE)?;
    if tree.is_empty() {
        return Ok(None);
    }
    let state = dir.path();
    let io = |e: &dyn std::fmt::Display| StoreError::Io { path: state.join(DIR), detail: e.to_string() };
    let old = lines(&tree).map_err(|e| io(&e))?;
    let last = old.iter().rev().find_map(|l| serde_json::from_slice::<Record>(l).ok());
    let audit = state.join(DIR);
    if audit.exists() {
        // Renamed into place before the tree was dropped: finish if the segments hold it.
        let files = super::read_files(&audit).map_err(|e| io(&e))?;
        let copied: Vec<&[u8]> =
            files.segments.iter().flat_map(|s| s.bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty())).collect();
        if copied.len() < old.len() || copied.iter().zip(&old).any(|(a, b)| *a != b.as_slice()) {
            return Err(dir.corrupt(
                format!(
                    "the state directory has both the audit tree of an older release ({}) and segment files in {DIR}/ that do not begin with them",
                    crate::words::count(old.len() as u64, "record")
                ),
                "keep the state directory as it is for the investigation and report it: nothing was appended to either",
            ));
        }
    } else {
        let staging = state.join(STAGING);
        if staging.exists() {
            std::fs::remove_dir_all(&staging).map_err(|e| io(&e))?;
        }
        std::fs::create_dir(&staging).map_err(|e| io(&e))?;
        let limit = segment_limit().max(1);
        let (mut number, mut size) = (1u64, 0u64);
        let mut file = std::fs::File::create(staging.join(segment_name(number))).map_err(|e| io(&e))?;
        for line in &old {
            if size > 0 && size + line.len() as u64 + 1 > limit {
                file.sync_all().map_err(|e| io(&e))?;
                number += 1;
                size = 0;
                file = std::fs::File::create(staging.join(segment_name(number))).map_err(|e| io(&e))?;
            }
            file.write_all(line).and_then(|()| file.write_all(b"\n")).map_err(|e| io(&e))?;
            size += line.len() as u64 + 1;
        }
        file.sync_all().map_err(|e| io(&e))?;
        let head = match &last {
            Some(r) => Head { seq: r.seq, hash: r.hash.clone(), time: crate::time::now(), key: None, signature: None },
            None => Head::empty(),
        };
        head::write(&staging, &head).map_err(|e| io(&e))?;
        std::fs::rename(&staging, &audit).map_err(|e| io(&e))?;
        head::sync_dir(state).map_err(|e| io(&e))?;
    }
    dir.drop_tree(TREE)?;
    dir.flush()?;
    Ok(Some(old.len()))
}
