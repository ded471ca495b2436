//! Wall-clock time as RFC 3339 UTC text (`2026-11-21T23:25:00Z`), for audit records and lock
//! files, without a date-time dependency. Text in this form sorts chronologically.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Now, as RFC 3339 UTC with milliseconds.
pub fn now() -> String {
    format(SystemTime::now())
}

/// A time as RFC 3339 UTC with milliseconds.
pub fn format(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, day) = civil_from_days(days as i64);
    format!("{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z", rem / 3600, rem / 60 % 60, rem % 60, d.subsec_millis())
}

/// Parses `--since`: an RFC 3339 time (or date), or a duration back from now such as `30m`,
/// `2h`, `7d`. Returns RFC 3339 text to compare with records.
pub fn since(s: &str) -> Option<String> {
    let unit = |c: char| match c {
        's' => Some(1),
        'm' => Some(60),
        'h' => Some(3600),
        'd' => Some(86_400),
        _ => None,
    };
    if let Some(last) = s.chars().last()
        && let Some(mult) = unit(last)
        && let Ok(n) = s[..s.len() - 1].parse::<u64>()
    {
        return Some(format(SystemTime::now() - Duration::from_secs(n * mult)));
    }
    let looks_like_date = s.len() >= 10 && s.as_bytes()[4] == b'-' && s.as_bytes()[7] == b'-';
    looks_like_date.then(|| s.to_owned())
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(format(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        assert_eq!(format(UNIX_EPOCH + Duration::from_millis(1_795_303_500_123)), "2026-11-21T23:25:00.123Z");
        assert_eq!(format(UNIX_EPOCH + Duration::from_secs(951_782_400)), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn since_accepts_times_and_durations() {
        assert_eq!(since("2026-11-21").as_deref(), Some("2026-11-21"));
        assert!(since("2h").unwrap() < now());
        assert_eq!(since("yesterday"), None);
    }
}
