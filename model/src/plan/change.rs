//! What differs between desired and observed, object by object, with field-level detail.

use serde::{Deserialize, Serialize};

/// What happens to an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub enum ChangeKind {
    /// It does not exist yet (`+`).
    Create,
    /// Its configuration changes (`~`).
    Update,
    /// Its runtime state drifted from what the configuration implies (a paging VIOS after a
    /// failover, a SEA left in standby) (`~`).
    Drift,
    /// It moves to another frame (`>`).
    Migrate,
    /// It is deleted (`-`).
    Delete,
    /// It exists but no manifest describes it; left alone (`?`).
    Unmanaged,
}

impl ChangeKind {
    /// The marker of the human view.
    pub fn marker(self) -> char {
        match self {
            ChangeKind::Create => '+',
            ChangeKind::Update | ChangeKind::Drift => '~',
            ChangeKind::Migrate => '>',
            ChangeKind::Delete => '-',
            ChangeKind::Unmanaged => '?',
        }
    }
}

/// One field that differs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FieldChange {
    /// Its path, e.g. `memory.desiredMB`.
    pub path: String,
    /// Observed value (none when absent).
    pub old: Option<String>,
    /// Desired value (none when removed).
    pub new: Option<String>,
}

/// One object that differs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ObjectChange {
    /// What happens.
    pub kind: ChangeKind,
    /// `Kind/name`.
    pub object: String,
    /// The frame it is on or goes to.
    pub frame: Option<String>,
    /// Field-level differences.
    pub fields: Vec<FieldChange>,
    /// The observed configuration as YAML (for a rendered diff).
    pub observed: Option<String>,
    /// The desired configuration as YAML.
    pub desired: Option<String>,
    /// Why, in words.
    pub note: String,
}

/// Field-level differences between two renderings.
pub(crate) fn field_changes(old: &[(String, String)], new: &[(String, String)]) -> Vec<FieldChange> {
    let mut out = Vec::new();
    for (path, v) in new {
        match old.iter().find(|(p, _)| p == path) {
            Some((_, o)) if o == v => {}
            Some((_, o)) => out.push(FieldChange { path: path.clone(), old: Some(o.clone()), new: Some(v.clone()) }),
            None => out.push(FieldChange { path: path.clone(), old: None, new: Some(v.clone()) }),
        }
    }
    for (path, o) in old {
        if !new.iter().any(|(p, _)| p == path) {
            out.push(FieldChange { path: path.clone(), old: Some(o.clone()), new: None });
        }
    }
    out
}
