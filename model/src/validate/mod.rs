//! Semantic validation (DESIGN §3): the rules that make a set of manifests plannable. Each rule
//! has a code and a name ([`Rule`]); each finding names the object, the field's position and the
//! fix. Rules that need physical facts (capacity, disk and adapter visibility) run when an
//! observed estate is given.

mod capacity;
mod cluster;
mod facts;
mod memory_pool;
mod partition;
mod placement;
mod references;
mod sea;
#[cfg(test)]
mod tests;
mod vios_pair;

use std::fmt::Display;

use crate::diagnostic::{Diagnostic, ObjectRef, Rule};
use crate::estate::{Estate, Object};
use crate::manifest::Kind;
use std::collections::BTreeMap;

use crate::names::PartitionName;
use crate::placement::{Eligibility, Placer};

/// Checks `desired` against every rule; `observed` adds the rules that need physical facts and
/// tells where partitions run now. Returns errors and warnings, in a stable order.
pub fn validate(desired: &Estate, observed: Option<&Estate>) -> Vec<Diagnostic> {
    let placer = Placer::new(desired, observed);
    let assignment = placer.assign();
    validate_with(desired, observed, &placer, &assignment)
}

/// [`validate`] with the placement already computed (the planner shares it).
pub(crate) fn validate_with(
    desired: &Estate,
    observed: Option<&Estate>,
    placer: &Placer<'_>,
    assignment: &BTreeMap<PartitionName, Eligibility>,
) -> Vec<Diagnostic> {
    let ix = placer.index();
    let mut out = Vec::new();
    for extra in desired.settings.values().skip(1) {
        out.push(finding(
            Rule::SettingsCount,
            Kind::Settings,
            extra,
            &["metadata", "name"],
            format!("a manifest directory has at most one Settings document; `{}` is another", extra.metadata.name),
            "merge the settings into one document",
        ));
    }
    references::check(desired, ix, &mut out);
    vios_pair::check(desired, &mut out);
    sea::check(desired, ix, &mut out);
    memory_pool::check(desired, &mut out);
    partition::check(desired, &mut out);
    cluster::check(desired, &mut out);
    if let Some(facts) = placer.facts() {
        facts::check(desired, ix, facts, &mut out);
    }
    placement::check(desired, placer, assignment, &mut out);
    capacity::check(desired, placer, assignment, observed, &mut out);
    out
}

/// A finding about object `o` of `kind`, located at the field `path`.
pub(crate) fn finding<N: Display, S>(
    rule: Rule,
    kind: Kind,
    o: &Object<N, S>,
    path: &[&str],
    message: impl Into<String>,
    hint: impl Into<String>,
) -> Diagnostic {
    Diagnostic::new(rule, message, hint).at_opt(o.locate(path)).on(ObjectRef::new(kind, &o.metadata.name))
}

/// A short, sorted list of names for "known ones are: ..." hints.
pub(crate) fn known<T: Display>(names: impl Iterator<Item = T>) -> String {
    let mut v: Vec<String> = names.map(|n| format!("`{n}`")).collect();
    v.sort();
    match v.len() {
        0 => "none are defined".to_owned(),
        n if n > 8 => format!("{} and {} more", v[..8].join(", "), n - 8),
        _ => v.join(", "),
    }
}
