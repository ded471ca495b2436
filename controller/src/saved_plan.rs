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

/// Why a saved plan does not follow from its manifests and the estate it was sealed against.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum PlanMismatch {
    /// An action differs from the one derived at its place (kind, object, command, order,
    /// dependencies or claims).
    #[error(
        "action {position} of the plan file, {saved}, is not what the manifests and the estate it was sealed against give at that place: {derived}"
    )]
    Action {
        /// Its place in the plan, from 1.
        position: usize,
        /// The plan file's action.
        saved: String,
        /// The derived one.
        derived: String,
    },
    /// The plan file has actions the derivation does not, or lacks some.
    #[error(
        "the plan file has {saved} action(s), the manifests and the estate give {derived}; the first one without a counterpart is {first}"
    )]
    Count {
        /// How many the file has.
        saved: usize,
        /// How many are derived.
        derived: usize,
        /// The first action of the longer list beyond the shorter.
        first: String,
    },
    /// The capacity the executor starts from, or the plan's errors, differ.
    #[error("the plan file's {what} differ from those the manifests and the estate give")]
    Other {
        /// What differs: `capacity` or `errors`.
        what: &'static str,
    },
}

impl PlanMismatch {
    /// What to do.
    pub const FIX: &'static str = "nothing was done. A plan's digest is not a signature: review a new plan (`powerplane plan DIR --out FILE`) and apply that";
}

/// An action for a message: id, kind, object and command.
fn describe(a: &powerplane_model::Action) -> String {
    format!("{} {} {} (`{}`)", a.id, a.kind(), a.op.object(), a.op.command())
}

/// Checks that `saved` is exactly what the planner derives from the manifests and the estate it
/// was sealed against (`derived`: that plan, under each set of options `plan` may have used —
/// the backend's rates, or the defaults of `plan --refresh=false`): the same actions with the
/// same ops, order, dependencies and claims, the same starting capacity and errors. A plan file
/// whose digest was recomputed after an edit is refused here, naming the first difference
/// (DESIGN §10: the digest is not a signature).
pub fn recheck(saved: &Plan, derived: &[Plan]) -> Result<(), PlanMismatch> {
    let mut first = None;
    for d in derived {
        match compare(saved, d) {
            Ok(()) => return Ok(()),
            Err(e) => {
                first.get_or_insert(e);
            }
        }
    }
    Err(first.unwrap_or(PlanMismatch::Other { what: "actions" }))
}

fn compare(saved: &Plan, derived: &Plan) -> Result<(), PlanMismatch> {
    for (i, (s, d)) in saved.actions.iter().zip(&derived.actions).enumerate() {
        if s != d {
            return Err(PlanMismatch::Action { position: i + 1, saved: describe(s), derived: describe(d) });
        }
    }
    if saved.actions.len() != derived.actions.len() {
        let n = saved.actions.len().min(derived.actions.len());
        let extra = saved.actions.get(n).or(derived.actions.get(n)).expect("the longer list has it");
        return Err(PlanMismatch::Count {
            saved: saved.actions.len(),
            derived: derived.actions.len(),
            first: describe(extra),
        });
    }
    if saved.capacity != derived.capacity {
        return Err(PlanMismatch::Other { what: "capacity" });
    }
    if saved.errors != derived.errors {
        return Err(PlanMismatch::Other { what: "errors" });
    }
    Ok(())
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
        let unreadable = |detail: String| PlanFileError::Unreadable { path: path.to_path_buf(), detail };
        // A FIFO would block the read until a writer comes: only regular files are plans.
        let meta = std::fs::metadata(path).map_err(|e| unreadable(e.to_string()))?;
        if let Some(what) = crate::manifest_dir::not_regular(&meta) {
            return Err(unreadable(format!("it is {what}, not a regular file; give the file `plan --out` wrote")));
        }
        let bytes = std::fs::read(path).map_err(|e| unreadable(e.to_string()))?;
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

    fn plan_of(vios: &[(&str, &str)]) -> Plan {
        let actions: Vec<serde_json::Value> = vios
            .iter()
            .enumerate()
            .map(|(i, (op, v))| {
                serde_json::json!({"id": format!("a{}", i + 1), "op": op, "frame": "p72", "vios": v, "after": [], "reason": "r"})
            })
            .collect();
        serde_json::from_value(serde_json::json!({"changes": [], "actions": actions, "warnings": [], "errors": []}))
            .unwrap()
    }

    #[test]
    fn a_plan_must_be_exactly_one_of_those_derived() {
        let start = plan_of(&[("startVios", "p72vio2")]);
        assert_eq!(recheck(&start, std::slice::from_ref(&start)), Ok(()));
        // Derived under plan --refresh=false's options instead: the second derivation matches.
        assert_eq!(recheck(&start, &[plan_of(&[]), start.clone()]), Ok(()));
        let forged = plan_of(&[("stopVios", "p72vio1")]);
        let Err(PlanMismatch::Action { position, saved, derived }) = recheck(&forged, std::slice::from_ref(&start))
        else {
            panic!("refused")
        };
        assert_eq!(position, 1);
        assert!(
            saved.starts_with("a1 StopVios Vios/p72:p72vio1") && derived.starts_with("a1 StartVios"),
            "{saved} {derived}"
        );
        let longer = plan_of(&[("startVios", "p72vio2"), ("stopVios", "p72vio1")]);
        assert!(matches!(
            recheck(&longer, std::slice::from_ref(&start)),
            Err(PlanMismatch::Count { saved: 2, derived: 1, .. })
        ));
        let mut errors = start.clone();
        errors.errors.push("x".into());
        assert_eq!(recheck(&start, &[errors]), Err(PlanMismatch::Other { what: "errors" }));
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
