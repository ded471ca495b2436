//! Ed25519 keys for signed checkpoints: the operator's key (PKCS#8 PEM, as `audit keygen` or
//! `openssl genpkey -algorithm ed25519` writes it) signs each batch's last record into the
//! trail and the HEAD that anchors it; `audit verify --pubkey` checks them. Without the private
//! key nobody can recompute a chain that still verifies.

use std::path::{Path, PathBuf};

use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};

/// A key file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// It cannot be read.
    #[error("the audit key {path} cannot be read: {detail}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        detail: String,
    },
    /// It is not an Ed25519 key in PEM.
    #[error(
        "{path} is not an Ed25519 {what} in PEM ({detail}); make a key pair with `powerplane audit keygen FILE` (or `openssl genpkey -algorithm ed25519`)"
    )]
    Format {
        /// The file.
        path: PathBuf,
        /// "private key (PKCS#8)" or "public key (SPKI)".
        what: &'static str,
        /// The parser's words.
        detail: String,
    },
    /// `keygen` would overwrite a file.
    #[error("{0} exists; keygen never overwrites a key: choose another name or remove it first")]
    Exists(PathBuf),
    /// Writing the key pair failed.
    #[error("the key pair cannot be written to {path}: {detail}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        detail: String,
    },
}

/// The private key that signs checkpoints.
#[derive(Clone)]
pub struct Signer(SigningKey);

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signer({})", self.key_hex())
    }
}

impl Signer {
    /// Reads a PKCS#8 PEM private key.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let text = read(path)?;
        SigningKey::from_pkcs8_pem(&text).map(Signer).map_err(|e| KeyError::Format {
            path: path.to_path_buf(),
            what: "private key (PKCS#8)",
            detail: e.to_string(),
        })
    }

    /// The public half, hex.
    pub fn key_hex(&self) -> String {
        hex::encode(self.0.verifying_key().as_bytes())
    }

    pub(crate) fn sign(&self, message: &[u8]) -> String {
        hex::encode(self.0.sign(message).to_bytes())
    }
}

/// A public key that checkpoints must be signed with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// Reads an SPKI PEM public key (`audit keygen`'s `FILE.pub`); a private key file is
    /// accepted too and its public half taken.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let text = read(path)?;
        if let Ok(k) = VerifyingKey::from_public_key_pem(&text) {
            return Ok(PublicKey(k));
        }
        if let Ok(k) = SigningKey::from_pkcs8_pem(&text) {
            return Ok(PublicKey(k.verifying_key()));
        }
        let detail = VerifyingKey::from_public_key_pem(&text).err().map(|e| e.to_string()).unwrap_or_default();
        Err(KeyError::Format { path: path.to_path_buf(), what: "public key (SPKI)", detail })
    }

    /// Hex of the 32 key bytes, as checkpoints name it.
    pub fn hex(&self) -> String {
        hex::encode(self.0.as_bytes())
    }
}

fn read(path: &Path) -> Result<String, KeyError> {
    std::fs::read_to_string(path).map_err(|e| KeyError::Read { path: path.to_path_buf(), detail: e.to_string() })
}

/// Writes a new key pair: `path` (private, mode 0600) and `path.pub`. Returns the public key's
/// hex and the `.pub` path.
pub fn keygen(path: &Path) -> Result<(String, PathBuf), KeyError> {
    let public = PathBuf::from(format!("{}.pub", path.display()));
    for p in [path, public.as_path()] {
        if p.exists() {
            return Err(KeyError::Exists(p.to_path_buf()));
        }
    }
    let write_err =
        |p: &Path, e: &dyn std::fmt::Display| KeyError::Write { path: p.to_path_buf(), detail: e.to_string() };
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| write_err(path, &e))?;
    let key = SigningKey::from_bytes(&secret);
    let pem = key.to_pkcs8_pem(LineEnding::LF).map_err(|e| write_err(path, &e))?;
    let pub_pem = key.verifying_key().to_public_key_pem(LineEnding::LF).map_err(|e| write_err(&public, &e))?;
    write_new(path, pem.as_bytes(), 0o600).map_err(|e| write_err(path, &e))?;
    write_new(&public, pub_pem.as_bytes(), 0o644).map_err(|e| write_err(&public, &e))?;
    Ok((hex::encode(key.verifying_key().as_bytes()), public))
}

fn write_new(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(mode).open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// What a checkpoint signs: domain-separated from the HEAD's message, so that neither
/// signature can stand in for the other.
pub(crate) fn checkpoint_message(seq: u64, hash: &str) -> Vec<u8> {
    format!("powerplane-audit-checkpoint/1\n{seq}\n{hash}").into_bytes()
}

/// What HEAD's signature signs.
pub(crate) fn head_message(seq: u64, hash: &str) -> Vec<u8> {
    format!("powerplane-audit-head/1\n{seq}\n{hash}").into_bytes()
}

/// Whether `signature` (hex) is `key`'s (hex) signature of `message`; the reason when not.
pub(crate) fn check(key: &str, signature: &str, message: &[u8]) -> Result<(), String> {
    let key: [u8; 32] = unhex(key).and_then(|b| b.try_into().ok()).ok_or("its key is not 32 bytes of hex")?;
    let key = VerifyingKey::from_bytes(&key).map_err(|e| format!("its key is not an Ed25519 key ({e})"))?;
    let sig: [u8; 64] =
        unhex(signature).and_then(|b| b.try_into().ok()).ok_or("its signature is not 64 bytes of hex")?;
    key.verify(message, &Signature::from_bytes(&sig)).map_err(|_| "the signature does not match".to_owned())
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keygen_writes_a_pair_that_signs_and_verifies_and_never_overwrites() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("audit.key");
        let (hex, public) = keygen(&path).unwrap();
        let signer = Signer::load(&path).unwrap();
        assert_eq!(signer.key_hex(), hex);
        assert_eq!(PublicKey::load(&public).unwrap().hex(), hex);
        assert_eq!(PublicKey::load(&path).unwrap().hex(), hex, "a private key gives its public half");
        let msg = checkpoint_message(7, "ab");
        let sig = signer.sign(&msg);
        assert_eq!(check(&hex, &sig, &msg), Ok(()));
        assert!(check(&hex, &sig, &head_message(7, "ab")).is_err(), "domains are separate");
        assert!(check(&hex, &sig, &checkpoint_message(8, "ab")).is_err());
        assert!(matches!(keygen(&path), Err(KeyError::Exists(_))));
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        std::fs::write(d.path().join("junk"), "not a key").unwrap();
        assert!(matches!(Signer::load(&d.path().join("junk")), Err(KeyError::Format { .. })));
    }
}
