//! The `POWERPLANE_*` variables that tune limits, each with its range: a value that does not
//! parse, or lies outside the range, is an error naming the variable and the range, never
//! silently replaced by the default. They are read once per process ([`values`]), checked
//! before a command starts ([`check`]); the modules that use a limit ask [`values`] for it.

use std::ops::RangeInclusive;
use std::sync::OnceLock;

/// The largest manifest file read, in bytes.
pub const MAX_MANIFEST_BYTES: BytesVar =
    BytesVar { name: "POWERPLANE_MAX_MANIFEST_BYTES", default: 16 * 1024 * 1024, range: 1..=(1 << 40) };

/// How large the simulator's journal grows before the database catches up (a checkpoint).
pub const SIM_JOURNAL_BYTES: BytesVar =
    BytesVar { name: "POWERPLANE_SIM_JOURNAL_BYTES", default: 32 << 20, range: 4096..=(1 << 40) };

/// The variable that sets the clock (RFC 3339), for rehearsals and tests.
pub const NOW: &str = "POWERPLANE_NOW";

/// `POWERPLANE_NOW`'s value (`None`: unset).
fn parse_now(value: Option<&str>) -> Result<Option<jiff::Timestamp>, EnvError> {
    value
        .map(|s| {
            s.parse().map_err(|e: jiff::Error| EnvError::NotATime {
                name: NOW,
                value: s.to_owned(),
                detail: e.to_string(),
            })
        })
        .transpose()
}

/// How large an audit segment grows before the next one starts.
pub const AUDIT_SEGMENT_BYTES: BytesVar =
    BytesVar { name: "POWERPLANE_AUDIT_SEGMENT_BYTES", default: 64 << 20, range: 256..=(1 << 40) };

/// The limits in force in this process, each variable read once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Values {
    /// [`MAX_MANIFEST_BYTES`].
    pub max_manifest_bytes: u64,
    /// [`SIM_JOURNAL_BYTES`].
    pub sim_journal_bytes: u64,
    /// [`AUDIT_SEGMENT_BYTES`].
    pub audit_segment_bytes: u64,
    /// `POWERPLANE_NOW`: the clock set for a rehearsal or a test (RFC 3339), `None` when the
    /// system clock is read.
    pub now: Option<jiff::Timestamp>,
}

impl Values {
    /// Reads and checks every variable.
    fn read() -> Result<Values, EnvError> {
        Ok(Values {
            max_manifest_bytes: MAX_MANIFEST_BYTES.get()?,
            sim_journal_bytes: SIM_JOURNAL_BYTES.get()?,
            audit_segment_bytes: AUDIT_SEGMENT_BYTES.get()?,
            now: parse_now(std::env::var(NOW).ok().as_deref())?,
        })
    }
}

/// The limits of this process: the variables are read the first time this is called and
/// never again, so a command sees one value from start to end.
pub fn values() -> Result<&'static Values, &'static EnvError> {
    static VALUES: OnceLock<Result<Values, EnvError>> = OnceLock::new();
    VALUES.get_or_init(Values::read).as_ref()
}

/// A size in bytes set by an environment variable.
#[derive(Clone, Debug)]
pub struct BytesVar {
    /// The variable's name.
    pub name: &'static str,
    /// Its value when unset.
    pub default: u64,
    /// The values it may take.
    pub range: RangeInclusive<u64>,
}

/// A `POWERPLANE_*` variable with a value powerplane cannot use.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum EnvError {
    /// Not a time.
    #[error("{name}={value}: {detail}; give an RFC 3339 time such as 2026-12-05T21:50:00+01:00")]
    NotATime {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
        /// What jiff found wrong.
        detail: String,
    },
    /// Not a whole number of bytes.
    #[error("{name}={value:?} is not a number of bytes; it must be a whole number from {min} to {max}")]
    NotANumber {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
        /// The smallest value allowed.
        min: u64,
        /// The largest value allowed.
        max: u64,
    },
    /// A number outside the range.
    #[error("{name}={value} is outside its range: it must be from {min} to {max}")]
    OutOfRange {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
        /// The smallest value allowed.
        min: u64,
        /// The largest value allowed.
        max: u64,
    },
}

impl EnvError {
    /// What to do about it.
    pub fn fix(&self) -> String {
        let (EnvError::NotANumber { name, min, max, .. } | EnvError::OutOfRange { name, min, max, .. }) = self else {
            return format!("give {NOW} an RFC 3339 time such as {NOW}=2026-12-05T21:50:00+01:00, or unset it");
        };
        format!(
            "set {name} to a whole number of bytes from {min} to {max} (e.g. {name}={}), or unset it",
            min.max(&16_777_216).min(max)
        )
    }
}

impl BytesVar {
    /// The value: the variable's, or the default when it is unset (read now; [`values`] is
    /// what the rest of powerplane asks).
    fn get(&self) -> Result<u64, EnvError> {
        self.parse(std::env::var(self.name).ok().as_deref())
    }

    /// `value` (the variable's text, `None` when unset) checked against the range.
    pub fn parse(&self, value: Option<&str>) -> Result<u64, EnvError> {
        let Some(text) = value else { return Ok(self.default) };
        let (min, max) = (*self.range.start(), *self.range.end());
        let n: u64 = match text.trim().parse::<u64>() {
            Ok(n) => n,
            // A negative or too large number is a number out of range, not text.
            Err(_) if text.trim().parse::<i128>().is_ok() => {
                return Err(EnvError::OutOfRange { name: self.name, value: text.to_owned(), min, max });
            }
            Err(_) => return Err(EnvError::NotANumber { name: self.name, value: text.to_owned(), min, max }),
        };
        if !self.range.contains(&n) {
            return Err(EnvError::OutOfRange { name: self.name, value: text.to_owned(), min, max });
        }
        Ok(n)
    }
}

/// Checks every variable of this module, for a usage error before a command starts, and
/// returns their values.
pub fn check() -> Result<&'static Values, EnvError> {
    values().map_err(Clone::clone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_is_the_default_and_anything_else_is_checked() {
        assert_eq!(MAX_MANIFEST_BYTES.parse(None), Ok(16 * 1024 * 1024));
        assert_eq!(MAX_MANIFEST_BYTES.parse(Some("1024")), Ok(1024));
        let lots = MAX_MANIFEST_BYTES.parse(Some("lots")).unwrap_err();
        assert!(matches!(lots, EnvError::NotANumber { .. }));
        assert!(lots.to_string().contains("POWERPLANE_MAX_MANIFEST_BYTES") && lots.to_string().contains("from 1 to"));
        assert!(matches!(SIM_JOURNAL_BYTES.parse(Some("-1")), Err(EnvError::OutOfRange { .. })));
        assert!(matches!(SIM_JOURNAL_BYTES.parse(Some("0")), Err(EnvError::OutOfRange { .. })));
        assert!(SIM_JOURNAL_BYTES.parse(Some("-1")).unwrap_err().fix().contains("POWERPLANE_SIM_JOURNAL_BYTES="));
        assert!(matches!(AUDIT_SEGMENT_BYTES.parse(Some("1x")), Err(EnvError::NotANumber { .. })));
        assert_eq!(parse_now(None), Ok(None));
        assert!(parse_now(Some("2026-12-05T21:50:00+01:00")).unwrap().is_some());
        let bad = parse_now(Some("Wednesday")).unwrap_err();
        assert!(bad.to_string().starts_with("POWERPLANE_NOW=Wednesday: ") && bad.fix().contains("RFC 3339"), "{bad}");
    }

    #[test]
    fn the_variables_are_read_once_per_process() {
        let first = values().expect("the test environment sets no bad value");
        assert!(std::ptr::eq(first, values().unwrap()), "one reading, shared");
    }
}
