//! Physical I/O slots assigned to a partition (`io_slots` of its profile): a partition that has
//! any cannot be migrated, active or inactive, until they are removed.
//!
//! seeds: lpm-js22-walkthrough.txt, line 31 ("configured with only virtual devices (meaning no
//! physical adapters, another prerequisite for mobility)") and line 48 (the validation checks
//! "there are no dedicated physical adapters assigned to the LPAR");
//! powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, line 1434 ("LPAR should not have
//! physical adapters"). HMC V7R3.4.0 online help, "Requirements for partition migration": "All
//! required external I/O devices must be connected to the migrating partition through the
//! Virtual I/O Server". The listing's form: `io_slots=none` or `"io_slots=DRC/pool/required,…"`
//! (tests/fixtures/hmc/lssyscfg-r-prof.power5-v7.txt; IBM/ansible-power-hmc issue #23,
//! `lssyscfg -r prof -F lpar_name,io_slots`).

use std::fmt;

use serde::{Deserialize, Serialize};

/// One physical I/O slot of a partition: its DRC index and whether the profile requires it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IoSlot {
    /// The slot's DRC index as the HMC lists it, e.g. `21010002`.
    pub drc_index: String,
    /// Required by the profile (`/1`): the partition does not activate without it.
    #[serde(default = "required_default")]
    pub required: bool,
}

fn required_default() -> bool {
    true
}

impl fmt::Display for IoSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.drc_index, if self.required { " (required)" } else { "" })
    }
}

/// Why an `io_slots` value was not read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an io_slots item (DRC-index/IO-pool/required, e.g. 21010002/none/1)")]
pub struct IoSlotError(pub String);

/// Reads a profile's `io_slots` value: `none` (or empty) is no slot; otherwise items
/// `DRC-index/IO-pool-id/is-required` joined by commas.
pub fn parse_io_slots(text: &str) -> Result<Vec<IoSlot>, IoSlotError> {
    let t = text.trim();
    if t.is_empty() || t == "none" || t == "null" {
        return Ok(Vec::new());
    }
    t.split(',')
        .map(|item| {
            let mut parts = item.split('/');
            let drc = parts.next().unwrap_or("").trim();
            let _pool = parts.next();
            let required = match parts.next().map(str::trim) {
                Some("1") => true,
                Some("0") => false,
                _ => return Err(IoSlotError(item.to_owned())),
            };
            if drc.is_empty() || !drc.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(IoSlotError(item.to_owned()));
            }
            Ok(IoSlot { drc_index: drc.to_owned(), required })
        })
        .collect()
}

/// Writes slots as a profile lists them (`none` for no slot).
pub fn render_io_slots(slots: &[IoSlot]) -> String {
    if slots.is_empty() {
        return "none".to_owned();
    }
    slots.iter().map(|s| format!("{}/none/{}", s.drc_index, u8::from(s.required))).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The corpus's recorded forms read back, and write back the same.
    #[test]
    fn io_slots_read_as_the_profile_lists_them() {
        assert_eq!(parse_io_slots("none").unwrap(), Vec::new());
        let s = parse_io_slots("21030001/none/1,21060002/none/0").unwrap();
        assert_eq!(s[0], IoSlot { drc_index: "21030001".into(), required: true });
        assert!(!s[1].required);
        assert_eq!(render_io_slots(&s), "21030001/none/1,21060002/none/0");
        assert!(parse_io_slots("21030001").is_err());
        assert!(parse_io_slots("slot1/none/1").is_err());
    }
}
