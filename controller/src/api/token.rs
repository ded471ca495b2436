//! The API's bearer tokens: 32 random bytes, hex, each in a file of the state directory (mode
//! 0600), written at the controller's first start and read by the CLI on the same host. The
//! operator token (`STATE/api-token`) is admitted everywhere; the read-only token
//! (`STATE/api-token-read`, written alongside) is admitted for reads — those that make the
//! backend observe included — and refused (403) for every mutation. Whoever can read the state
//! directory may change the estate through the controller anyway; whoever cannot does not get
//! in.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The operator token's file in a state directory.
pub const FILE: &str = "api-token";
/// The read-only token's file in a state directory.
pub const READ_FILE: &str = "api-token-read";

/// A bearer token.
#[derive(Clone)]
pub struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(…)")
    }
}

/// Why the token could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The file could not be read or written.
    #[error("{path}: {detail}; the API token lives there (mode 0600): check the state directory's permissions")]
    Io {
        /// The token file.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// The file holds no token.
    #[error("{path} does not hold an API token (64 hex digits); remove it and start `watch` again to write a new one")]
    Malformed {
        /// The token file.
        path: PathBuf,
    },
}

impl Token {
    /// The state directory's operator token, written now (mode 0600) if there is none yet.
    pub fn load_or_create(state_dir: &Path) -> Result<Token, TokenError> {
        Token::load_or_create_file(state_dir, FILE)
    }

    /// The state directory's read-only token, written now (mode 0600) if there is none yet.
    pub fn load_or_create_read(state_dir: &Path) -> Result<Token, TokenError> {
        Token::load_or_create_file(state_dir, READ_FILE)
    }

    /// The token in `STATE/file`, written now (mode 0600) if there is none yet.
    fn load_or_create_file(state_dir: &Path, file: &str) -> Result<Token, TokenError> {
        let path = state_dir.join(file);
        if let Some(t) = Token::load_file(state_dir, file)? {
            return Ok(t);
        }
        let io = |e: std::io::Error| TokenError::Io { path: path.clone(), detail: e.to_string() };
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| TokenError::Io { path: path.clone(), detail: e.to_string() })?;
        let hex = hex::encode(bytes);
        // Written whole under a temporary name and renamed: a reader never sees half of it.
        let tmp = state_dir.join(format!(".{file}.tmp"));
        let mut f =
            std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp).map_err(io)?;
        f.write_all(format!("{hex}\n").as_bytes()).map_err(io)?;
        f.sync_all().map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)?;
        Ok(Token(hex))
    }

    /// The state directory's operator token, `None` when it has none.
    pub fn load(state_dir: &Path) -> Result<Option<Token>, TokenError> {
        Token::load_file(state_dir, FILE)
    }

    /// The token in `STATE/file`, `None` when there is none.
    fn load_file(state_dir: &Path, file: &str) -> Result<Option<Token>, TokenError> {
        let path = state_dir.join(file);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(TokenError::Io { path, detail: e.to_string() }),
        };
        let t = text.trim();
        if t.len() != 64 || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(TokenError::Malformed { path });
        }
        Ok(Some(Token(t.to_owned())))
    }

    /// A token given as it is (tests, `--token`).
    pub fn from_secret(s: &str) -> Token {
        Token(s.trim().to_owned())
    }

    /// The secret, for an `Authorization: Bearer` header.
    pub fn secret(&self) -> &str {
        &self.0
    }

    /// Whether `header` (an `Authorization` value) carries this token; compared in constant
    /// time.
    pub fn admits(&self, header: Option<&str>) -> bool {
        let Some(given) = header.and_then(|h| h.strip_prefix("Bearer ")) else { return false };
        // `subtle` compares lengths first (they are not secret: every token has 64 digits).
        subtle::ConstantTimeEq::ct_eq(given.trim().as_bytes(), self.0.as_bytes()).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_token_is_written_once_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let t = Token::load_or_create(dir.path()).unwrap();
        let mode = std::fs::metadata(dir.path().join(FILE)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let again = Token::load_or_create(dir.path()).unwrap();
        assert_eq!(t.secret(), again.secret(), "a second start keeps the token");
        assert!(t.admits(Some(&format!("Bearer {}", t.secret()))));
        assert!(!t.admits(Some("Bearer 00")));
        assert!(!t.admits(Some(t.secret())), "without the scheme");
        assert!(!t.admits(None));
        let read = Token::load_or_create_read(dir.path()).unwrap();
        let mode = std::fs::metadata(dir.path().join(READ_FILE)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_ne!(read.secret(), t.secret(), "the read-only token is another secret");
        assert_eq!(Token::load_or_create_read(dir.path()).unwrap().secret(), read.secret());
    }

    #[test]
    fn a_damaged_token_file_is_refused_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE), "not a token").unwrap();
        let e = Token::load_or_create(dir.path()).unwrap_err().to_string();
        assert!(e.contains("remove it and start `watch` again"), "{e}");
    }
}
