//! Maintenance windows (issue 15): when disruptive actions may run. A window is weekly (`Sat
//! 22:00-Sun 04:00`) in a named time zone; the listed kinds of action on the frames it covers
//! run only inside one of its windows, and only when they are estimated to end before it
//! closes. The model parses and checks the schedule; time zones and the clock are the
//! controller's (the model reads no clock and no time zone database).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::Labels;
use crate::action::ActionKind;

/// A day of the week.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Weekday {
    /// Monday.
    Mon,
    /// Tuesday.
    Tue,
    /// Wednesday.
    Wed,
    /// Thursday.
    Thu,
    /// Friday.
    Fri,
    /// Saturday.
    Sat,
    /// Sunday.
    Sun,
}

impl Weekday {
    const ALL: [Weekday; 7] =
        [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri, Weekday::Sat, Weekday::Sun];

    /// Days after Monday (Monday 0, Sunday 6).
    pub fn index(self) -> u32 {
        self as u32
    }

    fn parse(s: &str) -> Option<Weekday> {
        let s = s.to_ascii_lowercase();
        Weekday::ALL.into_iter().find(|d| {
            let name = format!("{d:?}").to_ascii_lowercase();
            s == name || (s.len() > 3 && day_name(*d).to_ascii_lowercase().starts_with(&s))
        })
    }
}

fn day_name(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

/// A weekly schedule: from a day and time to a day and time, local to the window's time zone.
/// `Sat 22:00-Sun 04:00`; without a second day the window ends on the day it starts, or on the
/// next when the end time is earlier (`Sat 22:00-04:00`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Weekly {
    /// The day it opens.
    pub start_day: Weekday,
    /// Minutes after midnight it opens.
    pub start_minute: u32,
    /// How long it stays open, minutes (1 to a week).
    pub minutes: u32,
}

impl Weekly {
    /// The day and minute it closes.
    pub fn end(&self) -> (Weekday, u32) {
        let at = self.start_day.index() * 1440 + self.start_minute + self.minutes;
        (Weekday::ALL[(at / 1440 % 7) as usize], at % 1440)
    }
}

fn parse_time(s: &str) -> Option<u32> {
    let (h, m) = s.split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60 && s.len() <= 5).then_some(h * 60 + m)
}

impl TryFrom<String> for Weekly {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        let bad = |why: &str| {
            format!(
                "schedule `{text}`: {why}; write it like `Sat 22:00-Sun 04:00` (weekly, local to the window's timezone)"
            )
        };
        let (from, to) = text.split_once('-').ok_or_else(|| bad("no `-` between its start and its end"))?;
        let mut start = from.split_whitespace();
        let (Some(day), Some(time), None) = (start.next(), start.next(), start.next()) else {
            return Err(bad("the start is a day and a time"));
        };
        let start_day = Weekday::parse(day).ok_or_else(|| bad(&format!("`{day}` is not a day (Mon..Sun)")))?;
        let start_minute = parse_time(time).ok_or_else(|| bad(&format!("`{time}` is not a time (HH:MM)")))?;
        let end: Vec<&str> = to.split_whitespace().collect();
        let (end_day, end_time) = match end.as_slice() {
            [time] => (None, *time),
            [day, time] => {
                (Some(Weekday::parse(day).ok_or_else(|| bad(&format!("`{day}` is not a day (Mon..Sun)")))?), *time)
            }
            _ => return Err(bad("the end is a time, or a day and a time")),
        };
        let end_minute = parse_time(end_time).ok_or_else(|| bad(&format!("`{end_time}` is not a time (HH:MM)")))?;
        let start_at = start_day.index() * 1440 + start_minute;
        let minutes = match end_day {
            Some(d) => (d.index() * 1440 + end_minute + 7 * 1440 - start_at) % (7 * 1440),
            None => (end_minute + 1440 - start_minute) % 1440,
        };
        if minutes == 0 {
            return Err(bad("it closes when it opens"));
        }
        Ok(Weekly { start_day, start_minute, minutes })
    }
}

impl fmt::Display for Weekly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (end_day, end_minute) = self.end();
        write!(
            f,
            "{:?} {:02}:{:02}-{end_day:?} {:02}:{:02}",
            self.start_day,
            self.start_minute / 60,
            self.start_minute % 60,
            end_minute / 60,
            end_minute % 60
        )
    }
}

impl From<Weekly> for String {
    fn from(w: Weekly) -> String {
        w.to_string()
    }
}

impl Serialize for Weekly {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Weekly {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Weekly::try_from(String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for Weekly {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Weekly".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A weekly window, local to its timezone: `Sat 22:00-Sun 04:00`.",
            "pattern": "^\\s*[A-Za-z]+\\s+\\d{1,2}:\\d{2}\\s*-\\s*([A-Za-z]+\\s+)?\\d{1,2}:\\d{2}\\s*$"
        })
    }
}

/// Which frames a window covers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FrameSelection {
    /// Every one of these labels must be on the frame with this value.
    pub selector: Labels,
}

/// A maintenance window of `kind: Settings`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MaintenanceWindow {
    /// Its name, as plans and the audit trail cite it.
    pub name: String,
    /// When it is open, every week.
    pub schedule: Weekly,
    /// The IANA time zone of the schedule (`Europe/Berlin`); summer time is followed.
    pub timezone: String,
    /// The frames it covers (default: every frame).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frames: Option<FrameSelection>,
    /// The kinds of action it governs (default: migrations, VIOS stops and starts, partition
    /// stops and deletions: the disruptive ones).
    #[serde(default = "disruptive")]
    #[schemars(with = "Vec<String>")]
    pub actions: Vec<ActionKind>,
}

fn disruptive() -> Vec<ActionKind> {
    vec![
        ActionKind::MigratePartition,
        ActionKind::StopVios,
        ActionKind::StartVios,
        ActionKind::StopPartition,
        ActionKind::DeletePartition,
    ]
}

impl MaintenanceWindow {
    /// Whether it covers a frame with `labels`.
    pub fn covers(&self, labels: &Labels) -> bool {
        self.frames.as_ref().is_none_or(|f| f.selector.iter().all(|(k, v)| labels.get(k) == Some(v)))
    }

    /// Whether it governs actions of `kind`.
    pub fn governs(&self, kind: ActionKind) -> bool {
        self.actions.contains(&kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weekly(s: &str) -> Result<Weekly, String> {
        Weekly::try_from(s.to_owned())
    }

    #[test]
    fn schedules_parse_as_an_administrator_writes_them() {
        let w = weekly("Sat 22:00-Sun 04:00").unwrap();
        assert_eq!((w.start_day, w.start_minute, w.minutes), (Weekday::Sat, 22 * 60, 6 * 60));
        assert_eq!(w.to_string(), "Sat 22:00-Sun 04:00");
        assert_eq!(weekly("sat 22:00 - 04:00").unwrap(), w, "the next day when the end is earlier");
        assert_eq!(weekly("Saturday 22:00-Sunday 04:00").unwrap(), w);
        assert_eq!(weekly("Sun 23:00-Mon 01:30").unwrap().end(), (Weekday::Mon, 90));
        assert_eq!(weekly("Wed 01:00-05:00").unwrap().minutes, 240);
        assert_eq!(weekly("Mon 00:00-Sun 23:59").unwrap().minutes, 7 * 1440 - 1);
        for (bad, why) in [
            ("Sat 22:00", "no `-`"),
            ("Sat 25:00-Sun 04:00", "`25:00` is not a time"),
            ("Caturday 22:00-Sun 04:00", "`Caturday` is not a day"),
            ("Sat 22:00-Sat 22:00", "closes when it opens"),
            ("22:00-04:00", "the start is a day and a time"),
        ] {
            let e = weekly(bad).unwrap_err();
            assert!(e.contains(why) && e.contains("Sat 22:00-Sun 04:00"), "{bad}: {e}");
        }
    }

    #[test]
    fn a_window_defaults_to_every_frame_and_the_disruptive_kinds() {
        let w: MaintenanceWindow =
            crate::from_yaml("name: sat-night\nschedule: Sat 22:00-Sun 04:00\ntimezone: Europe/Berlin\n").unwrap();
        assert!(w.covers(&Labels::default()));
        assert!(w.governs(ActionKind::MigratePartition) && !w.governs(ActionKind::CreatePartition));
        let w: MaintenanceWindow = crate::from_yaml(
            "name: dc1\nschedule: Sat 22:00-Sun 04:00\ntimezone: Europe/Berlin\nframes: {selector: {site: dc1}}\nactions: [MigratePartition]\n",
        )
        .unwrap();
        let mut dc1 = Labels::default();
        assert!(!w.covers(&dc1));
        dc1.insert("site".into(), "dc1".into());
        assert!(w.covers(&dc1));
        let e = crate::from_yaml::<MaintenanceWindow>("name: x\nschedule: Sat 22-23\ntimezone: UTC\n").unwrap_err();
        assert!(e.to_string().contains("is not a time"), "{e}");
    }
}
