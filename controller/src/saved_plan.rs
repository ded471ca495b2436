//! Saved plans (`plan --out FILE`): the plan with the fingerprint of the observed state it was
//! made against. `apply --plan FILE` applies exactly those actions, and only while the estate
//! is still in that state.

use std::path::Path;

use anyhow::{Context as _, bail};
use powerplane_model::Plan;
use serde::{Deserialize, Serialize};

const FORMAT: &str = "powerplane-plan/1";

/// A plan file.
#[derive(Debug, Serialize, Deserialize)]
pub struct SavedPlan {
    /// Format marker.
    pub format: String,
    /// Fingerprint of the observed state the plan was made against.
    pub fingerprint: String,
    /// When it was made.
    pub created: String,
    /// The manifest directory it was made from.
    pub manifests: String,
    /// The plan.
    pub plan: Plan,
}

impl SavedPlan {
    /// Wraps a plan made against the state with `fingerprint`.
    pub fn new(plan: Plan, fingerprint: String, manifests: &Path) -> Self {
        SavedPlan {
            format: FORMAT.into(),
            fingerprint,
            created: crate::time::now(),
            manifests: manifests.display().to_string(),
            plan,
        }
    }

    /// Writes it as JSON.
    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        let text = serde_json::to_vec_pretty(self)?;
        std::fs::write(path, text).with_context(|| format!("cannot write the plan to {}", path.display()))
    }

    /// Reads a plan file.
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let bytes = std::fs::read(path).with_context(|| format!("cannot read the plan {}", path.display()))?;
        let p: SavedPlan = serde_json::from_slice(&bytes).with_context(|| {
            format!("{} is not a powerplane plan file (make one with `powerplane plan DIR --out FILE`)", path.display())
        })?;
        if p.format != FORMAT {
            bail!("{} has format {}; this powerplane reads {FORMAT}", path.display(), p.format);
        }
        Ok(p)
    }
}
