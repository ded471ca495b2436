//! SHA-256 digests as lower-case hex: the audit chain's hashes, the observed state's
//! fingerprint, and the seals of saved plans and manifest sets.

use sha2::{Digest, Sha256};

/// Lower-case hex of SHA-256 over `bytes`.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}
