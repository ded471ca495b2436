//! Wall-clock time for audit records and lock files (RFC 3339 UTC, `2026-11-21T23:25:00.000Z`,
//! which sorts chronologically), and the command line's times and durations — all through
//! `jiff`, so that no calendar arithmetic is written by hand.

use std::time::{Duration, SystemTime};

use jiff::{SignedDuration, Timestamp, Unit, tz::TimeZone};

/// Now, as RFC 3339 UTC with milliseconds.
pub fn now() -> String {
    format(SystemTime::now())
}

/// A time as RFC 3339 UTC with milliseconds.
pub fn format(t: SystemTime) -> String {
    let ts = Timestamp::try_from(t).unwrap_or(Timestamp::UNIX_EPOCH);
    let ms = ts.round(Unit::Millisecond).unwrap_or(ts);
    format!("{}", ms.strftime("%Y-%m-%dT%H:%M:%S%.3fZ"))
}

/// A duration for messages: `90 s`, `2 min`, `1 h 30 min`.
pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, s / 60 % 60, s % 60) {
        (0, 0, _) => format!("{} s", d.as_secs_f64()),
        (0, m, 0) => format!("{m} min"),
        (0, m, s) => format!("{m} min {s} s"),
        (h, 0, 0) => format!("{h} h"),
        (h, m, _) => format!("{h} h {m} min"),
    }
}

/// Parses a duration as the command line takes it: `500ms`, `30s`, `5m`, `2h`, `7d`, `1h30m`
/// or ISO 8601 (`PT30S`). Negative durations are refused.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    // A bare number is seconds, as it always was on this command line.
    if let Ok(n) = s.trim().parse::<u64>() {
        return Ok(Duration::from_secs(n));
    }
    let bad = |e: &dyn std::fmt::Display| {
        format!("`{s}` is not a duration ({e}); write it like 500ms, 30s, 5m, 2h, 7d or 1h30m")
    };
    let span: jiff::Span = s.trim().parse().map_err(|e| bad(&e))?;
    // A day on the command line is 24 hours (no calendar: `--since 7d` means a week back).
    let d: SignedDuration = span.to_duration(jiff::SpanRelativeTo::days_are_24_hours()).map_err(|e| bad(&e))?;
    Duration::try_from(d).map_err(|_| format!("`{s}` is negative; give a duration forward"))
}

/// Parses `--since`: an RFC 3339 time, a date (`2026-11-21`, midnight UTC), or a duration back
/// from now such as `30m`, `2h`, `7d`. Returns RFC 3339 UTC text to compare with records.
pub fn since(s: &str) -> Result<String, String> {
    if let Ok(ts) = s.parse::<Timestamp>() {
        return Ok(format(SystemTime::from(ts)));
    }
    if let Ok(date) = s.parse::<jiff::civil::Date>() {
        let ts = date.to_zoned(TimeZone::UTC).map_err(|e| e.to_string())?.timestamp();
        return Ok(format(SystemTime::from(ts)));
    }
    let back = parse_duration(s).map_err(|_| {
        format!("`{s}` is neither a time (2026-11-21T23:25:00Z), a date (2026-11-21) nor a duration back from now (30m, 2h, 7d)")
    })?;
    let then = SystemTime::now()
        .checked_sub(back)
        .ok_or_else(|| format!("`{s}` reaches back before any time the audit trail can hold"))?;
    Ok(format(then))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn formats_known_instants() {
        assert_eq!(format(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        assert_eq!(format(UNIX_EPOCH + Duration::from_millis(1_795_303_500_123)), "2026-11-21T23:25:00.123Z");
        assert_eq!(format(UNIX_EPOCH + Duration::from_secs(951_782_400)), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn since_accepts_times_dates_and_durations() {
        assert_eq!(since("2026-11-21").unwrap(), "2026-11-21T00:00:00.000Z");
        assert_eq!(since("2026-11-21T23:25:00+01:00").unwrap(), "2026-11-21T22:25:00.000Z");
        assert!(since("2h").unwrap() < now());
        for bad in ["yesterday", "2026-13-45", "18446744073709551615s", "-5m", ""] {
            assert!(since(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("2d"), Ok(Duration::from_secs(172_800)));
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("fast").is_err());
    }

    proptest! {
        // The command line's parsers never panic, whatever they are given.
        #[test]
        fn parsers_never_panic(s in any::<String>(), n in any::<u64>(), unit in "(ns|us|ms|s|m|h|d|w|y)?") {
            let _ = parse_duration(&s);
            let _ = since(&s);
            let _ = parse_duration(&format!("{n}{unit}"));
            let _ = since(&format!("{n}{unit}"));
        }
    }
}
