//! Saved plans (`plan --out FILE`), sealed (DESIGN §10): the plan, the fingerprint of the
//! observed state it was made against, and the digest and git commit of the manifests it was
//! made from, under one SHA-256 digest of the exact bytes written. `apply --plan FILE` applies
//! exactly those actions, and refuses any file whose digest does not match — an edited command,
//! memory size or an appended action is a refusal, never a best effort.

use std::path::{Path, PathBuf};

use powerplane_model::Plan;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

const FORMAT: &str = "powerplane-plan/2";

/// What is sealed.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedPlan {
    /// Fingerprint of the observed state the plan was made against.
    pub fingerprint: String,
    /// When it was made.
    pub created: String,
    /// The manifest directory it was made from.
    pub manifests: String,
    /// Digest of the manifest files it was made from ([`crate::manifest_dir::digest`]).
    pub manifests_digest: String,
    /// The git commit the manifests were read at (`--git-ref`), if they were.
    pub commit: Option<String>,
    /// The plan.
    pub plan: Plan,
}

/// The file: the seal around the plan's exact bytes.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct File<'a> {
    format: String,
    digest: String,
    #[serde(borrow)]
    sealed: &'a RawValue,
}

/// Why a plan file is refused.
#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    /// It cannot be read.
    #[error("cannot read the plan {path}: {detail}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        detail: String,
    },
    /// It is not a plan file of this powerplane.
    #[error("{path} is not a powerplane plan file ({detail}); make one with `powerplane plan DIR --out FILE`")]
    NotAPlan {
        /// The file.
        path: PathBuf,
        /// Why.
        detail: String,
    },
    /// Its content does not match its digest: it was edited after `plan --out`.
    #[error(
        "{path} was changed after it was made (its content no longer matches its digest {expected}); nothing was done. Review a new plan: `powerplane plan DIR --out FILE`"
    )]
    Tampered {
        /// The file.
        path: PathBuf,
        /// The digest it claims.
        expected: String,
    },
}

impl SavedPlan {
    /// Writes it, sealed, as JSON.
    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        let sealed = serde_json::to_string_pretty(self)?;
        let raw = RawValue::from_string(sealed)?;
        let file = File { format: FORMAT.into(), digest: digest(raw.get()), sealed: &raw };
        let text = serde_json::to_vec_pretty(&file)?;
        std::fs::write(path, text).map_err(|e| anyhow::anyhow!("cannot write the plan to {}: {e}", path.display()))
    }

    /// Reads a plan file, checking its seal.
    pub fn read(path: &Path) -> Result<Self, PlanFileError> {
        let bytes = std::fs::read(path)
            .map_err(|e| PlanFileError::Unreadable { path: path.to_path_buf(), detail: e.to_string() })?;
        let not = |detail: String| PlanFileError::NotAPlan { path: path.to_path_buf(), detail };
        let file: File<'_> = serde_json::from_slice(&bytes).map_err(|e| not(e.to_string()))?;
        if file.format != FORMAT {
            return Err(not(format!("its format is {}, this powerplane reads {FORMAT}", file.format)));
        }
        if digest(file.sealed.get()) != file.digest {
            return Err(PlanFileError::Tampered { path: path.to_path_buf(), expected: file.digest });
        }
        serde_json::from_str(file.sealed.get()).map_err(|e| not(e.to_string()))
    }
}

fn digest(sealed: &str) -> String {
    format!("sha256:{}", crate::digest::sha256_hex(sealed.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn saved() -> SavedPlan {
        SavedPlan {
            fingerprint: "f".repeat(64),
            created: "2026-12-01T00:00:00.000Z".into(),
            manifests: "manifests/lab".into(),
            manifests_digest: "sha256:00".into(),
            commit: None,
            plan: Plan::default(),
        }
    }

    #[test]
    fn a_sealed_plan_reads_back_and_any_edit_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("plan.json");
        saved().write(&f).unwrap();
        assert_eq!(SavedPlan::read(&f).unwrap().fingerprint, "f".repeat(64));
        let text = std::fs::read_to_string(&f).unwrap();
        // One byte inside the sealed part.
        std::fs::write(&f, text.replacen("manifests/lab", "manifests/lap", 1)).unwrap();
        assert!(matches!(SavedPlan::read(&f), Err(PlanFileError::Tampered { .. })));
        // An extra field beside the seal.
        std::fs::write(&f, text.replacen("{", "{\"extra\": 1,", 1)).unwrap();
        assert!(matches!(SavedPlan::read(&f), Err(PlanFileError::NotAPlan { .. })));
        std::fs::write(&f, "garbage").unwrap();
        assert!(matches!(SavedPlan::read(&f), Err(PlanFileError::NotAPlan { .. })));
    }
}
