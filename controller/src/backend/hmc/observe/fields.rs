//! Reading one field of an HMC record: the key's value as a number, a name, one of the
//! model's enums, a VLAN, with the record and key in the error.

use powerplane_model::{ProcUnits, VlanId};

use crate::backend::hmc::records::{ParseError, Record};

pub(super) fn bad(record: &'static str, key: &str, problem: impl Into<String>) -> ParseError {
    ParseError::Field { record, key: key.to_owned(), problem: problem.into() }
}

pub(super) fn get<'a>(r: &'a Record, record: &'static str, key: &str) -> Result<&'a str, ParseError> {
    r.get(key).map(String::as_str).ok_or_else(|| bad(record, key, "is missing"))
}

pub(super) fn num<T: std::str::FromStr>(r: &Record, record: &'static str, key: &str) -> Result<T, ParseError> {
    let v = get(r, record, key)?;
    v.parse().map_err(|_| bad(record, key, format!("is {v:?}, not a number")))
}

pub(super) fn units(r: &Record, record: &'static str, key: &str) -> Result<ProcUnits, ParseError> {
    let v = get(r, record, key)?;
    v.parse::<f64>()
        .ok()
        .and_then(ProcUnits::from_decimal)
        .ok_or_else(|| bad(record, key, format!("is {v:?}, not processing units")))
}

pub(super) fn named<T: std::str::FromStr>(record: &'static str, key: &str, v: &str) -> Result<T, ParseError>
where
    T::Err: std::fmt::Display,
{
    v.parse().map_err(|e: T::Err| bad(record, key, e.to_string()))
}

pub(super) fn opt_name<T: std::str::FromStr>(
    r: &Record,
    record: &'static str,
    key: &str,
) -> Result<Option<T>, ParseError>
where
    T::Err: std::fmt::Display,
{
    match r.get(key).map(String::as_str) {
        None | Some("" | "none" | "null") => Ok(None),
        Some(v) => named(record, key, v).map(Some),
    }
}

/// An HMC word for one of the model's enums (they carry the HMC's spelling as serde names).
pub(super) fn word<T: serde::de::DeserializeOwned>(record: &'static str, key: &str, v: &str) -> Result<T, ParseError> {
    serde_json::from_value(serde_json::Value::String(v.to_owned()))
        .map_err(|_| bad(record, key, format!("{v:?} is not known")))
}

pub(super) fn vlan(record: &'static str, key: &str, v: &str) -> Result<VlanId, ParseError> {
    v.parse::<u16>()
        .ok()
        .and_then(|n| VlanId::new(n).ok())
        .ok_or_else(|| bad(record, key, format!("has {v:?}, not a VLAN id")))
}

pub(super) fn vlans(record: &'static str, key: &str, v: &str) -> Result<Vec<VlanId>, ParseError> {
    v.split([',', ' ']).filter(|s| !s.is_empty() && *s != "none").map(|s| vlan(record, key, s)).collect()
}
