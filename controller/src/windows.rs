//! Maintenance windows at run time (issue 15): the manifests' weekly windows resolved in their
//! time zones (jiff's bundled database), and the gate that holds back, from a plan, the
//! actions a window governs while none of its windows is open long enough for them — with
//! what waits for them, and what only prepares them. The time is read by the caller, on the
//! wall clock it was handed (`crate::clock`).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use jiff::civil::Weekday as CivilWeekday;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan, Zoned};
use powerplane_model::manifest::Kind;
use powerplane_model::manifest::{Labels, MaintenanceWindow, Weekday};
use powerplane_model::{Action, ActionId, Diagnostic, Estate, FrameName, ObjectRef, Plan, Rule};

/// How long before a window closes a governed action must be estimated to end.
pub const MARGIN: Duration = Duration::from_secs(5 * 60);

/// Why the manifests' windows cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    /// A window names a time zone the database does not know.
    #[error(
        "{}maintenance window `{window}`: `{timezone}` is not a time zone ({detail}); use an IANA name such as Europe/Berlin or UTC",
        at.as_ref().map(|l| format!("{l}: ")).unwrap_or_default()
    )]
    UnknownTimeZone {
        /// The window.
        window: String,
        /// What it named.
        timezone: String,
        /// jiff's message.
        detail: String,
        /// Where the manifests name it (`file:line:column` of `timezone:`).
        at: Option<Box<powerplane_model::Location>>,
        /// The Settings document that defines the window.
        settings: String,
    },
}

impl WindowError {
    /// The finding, as `validate` reports it: rule, object, position and fix.
    pub fn diagnostic(&self) -> Diagnostic {
        match self {
            WindowError::UnknownTimeZone { window, timezone, detail, at, settings } => Diagnostic::new(
                Rule::UnknownTimeZone,
                format!("maintenance window `{window}`: `{timezone}` is not a time zone ({detail})"),
                "use an IANA time-zone name such as Europe/Berlin, America/New_York or UTC (`timedatectl list-timezones` lists them)",
            )
            .at_opt(at.as_deref().cloned())
            .on(ObjectRef::new(Kind::Settings, settings)),
        }
    }
}

/// Every check of the maintenance windows that needs no backend (their time zones; their
/// schedules are checked as they load), as findings with their positions: what `validate`
/// runs so that `plan` never refuses what `validate` called valid.
pub fn check(desired: &Estate) -> Vec<Diagnostic> {
    located(desired).filter_map(|(w, at, settings)| time_zone(w, at, settings).err()).map(|e| e.diagnostic()).collect()
}

/// Every window with the position of its `timezone:` and the name of its Settings document.
fn located(
    desired: &Estate,
) -> impl Iterator<Item = (&MaintenanceWindow, Option<powerplane_model::Location>, String)> + '_ {
    desired.settings.values().flat_map(|s| {
        s.spec.maintenance_windows.iter().enumerate().map(move |(i, w)| {
            let at = s.locate(&["spec", "maintenanceWindows", &i.to_string(), "timezone"]);
            (w, at, s.metadata.name.to_string())
        })
    })
}

/// The window's time zone from jiff's bundled database.
fn time_zone(
    w: &MaintenanceWindow,
    at: Option<powerplane_model::Location>,
    settings: String,
) -> Result<TimeZone, WindowError> {
    jiff::tz::db().get(&w.timezone).map_err(|e| WindowError::UnknownTimeZone {
        window: w.name.clone(),
        timezone: w.timezone.clone(),
        detail: e.to_string(),
        at: at.map(Box::new),
        settings,
    })
}

/// One opening of a window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opening {
    /// When it opens.
    pub opens: Zoned,
    /// When it closes.
    pub closes: Zoned,
}

/// A window with its time zone resolved.
#[derive(Clone, Debug)]
pub struct Window {
    /// As the manifests define it.
    pub spec: MaintenanceWindow,
    tz: TimeZone,
}

impl Window {
    /// The openings that overlap the week before and after `now`, in order.
    fn openings(&self, now: Timestamp) -> Vec<Opening> {
        let local = now.to_zoned(self.tz.clone());
        let w = self.spec.schedule;
        let mut out = Vec::new();
        for d in -8i64..=8 {
            let Ok(date) = local.date().checked_add(d.days()) else { continue };
            if weekday(date.weekday()) != w.start_day {
                continue;
            }
            let start = date.at((w.start_minute / 60) as i8, (w.start_minute % 60) as i8, 0, 0);
            let (Ok(opens), Ok(end)) =
                (start.to_zoned(self.tz.clone()), start.checked_add(i64::from(w.minutes).minutes()))
            else {
                continue;
            };
            let Ok(closes) = end.to_zoned(self.tz.clone()) else { continue };
            out.push(Opening { opens, closes });
        }
        out
    }

    /// The opening `now` falls in, if any.
    pub fn open_at(&self, now: Timestamp) -> Option<Opening> {
        self.openings(now).into_iter().find(|o| o.opens.timestamp() <= now && now < o.closes.timestamp())
    }

    /// The next opening after `now`.
    pub fn next_after(&self, now: Timestamp) -> Option<Opening> {
        self.openings(now).into_iter().find(|o| o.opens.timestamp() > now)
    }
}

fn weekday(d: CivilWeekday) -> Weekday {
    match d {
        CivilWeekday::Monday => Weekday::Mon,
        CivilWeekday::Tuesday => Weekday::Tue,
        CivilWeekday::Wednesday => Weekday::Wed,
        CivilWeekday::Thursday => Weekday::Thu,
        CivilWeekday::Friday => Weekday::Fri,
        CivilWeekday::Saturday => Weekday::Sat,
        CivilWeekday::Sunday => Weekday::Sun,
    }
}

/// The windows of `desired`, their time zones resolved.
pub fn resolve(desired: &Estate) -> Result<Vec<Window>, WindowError> {
    located(desired).map(|(w, at, settings)| Ok(Window { spec: w.clone(), tz: time_zone(w, at, settings)? })).collect()
}

/// An action held back for a window, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Held {
    /// The action.
    pub id: ActionId,
    /// Its kind and object, for the message.
    pub what: String,
    /// Why it waits, and until when.
    pub reason: String,
    /// When the window it waits for opens next, if it waits for one itself.
    pub opens: Option<Timestamp>,
}

/// An action as a held line names it: its kind and object.
fn what(a: &Action) -> String {
    format!("{} {}", a.kind(), a.op.object())
}

/// The frames' labels, which windows' selectors match.
fn frame_labels(desired: &Estate) -> BTreeMap<FrameName, Labels> {
    desired.frames.iter().map(|(n, f)| (n.clone(), f.metadata.labels.clone())).collect()
}

/// Why action `a`, estimated at `needs`, may not start at `now`, and when the window it waits
/// for opens next; `None` when no window holds it.
fn hold_reason(
    a: &Action,
    windows: &[Window],
    labels: &BTreeMap<FrameName, Labels>,
    needs: Duration,
    now: Timestamp,
) -> Option<(String, Option<Timestamp>)> {
    let what = what(a);
    let none = Labels::default();
    for f in a.op.frames() {
        let frame_labels = labels.get(f).unwrap_or(&none);
        let governing: Vec<&Window> =
            windows.iter().filter(|w| w.spec.governs(a.kind()) && w.spec.covers(frame_labels)).collect();
        if governing.is_empty() {
            continue;
        }
        let room = governing.iter().any(|w| {
            w.open_at(now).is_some_and(|o| {
                let left = o.closes.timestamp().duration_since(now);
                left.as_secs_f64() >= (needs + MARGIN).as_secs_f64()
            })
        });
        if room {
            continue;
        }
        // Why: the window that closes too soon, or the first to open next.
        let closing = governing.iter().find_map(|w| w.open_at(now).map(|o| (w, o)));
        let next =
            governing.iter().filter_map(|w| w.next_after(now).map(|o| (w, o))).min_by_key(|(_, o)| o.opens.timestamp());
        let reason = match (closing, &next) {
            (Some((w, o)), _) => format!(
                "maintenance window `{}` closes at {} and {what} is estimated at {} (+{} margin); it waits for the next opening{}",
                w.spec.name,
                o.closes.strftime("%Y-%m-%d %H:%M %Z"),
                crate::time::human(needs.max(Duration::from_secs(1))),
                crate::time::human(MARGIN),
                next.as_ref()
                    .map(|(_, n)| format!(", {}", n.opens.strftime("%a %Y-%m-%d %H:%M %Z")))
                    .unwrap_or_default()
            ),
            (None, Some((w, o))) => format!(
                "outside maintenance window `{}` ({} {}) on {f}: it opens {}",
                w.spec.name,
                w.spec.schedule,
                w.spec.timezone,
                o.opens.strftime("%a %Y-%m-%d %H:%M %Z")
            ),
            (None, None) => format!("outside every maintenance window governing it on {f}"),
        };
        return Some((reason, next.map(|(_, o)| o.opens.timestamp())));
    }
    None
}

/// The check the executor makes as each action becomes ready: a plan that started inside a
/// window must not start a governed action that would overrun it (an evacuation longer than
/// the window stops starting migrations before it closes). `clock` says what time it is.
pub fn start_gate(
    desired: &Estate,
    windows: Vec<Window>,
    plan: &Plan,
    clock: impl Fn() -> Timestamp + Send + Sync + 'static,
) -> Option<crate::engine::Gate> {
    if windows.is_empty() {
        return None;
    }
    let labels = frame_labels(desired);
    let estimate: BTreeMap<ActionId, f64> = plan.estimate.as_ref().map(|e| e.actions.clone()).unwrap_or_default();
    Some(crate::engine::Gate::new(move |a: &Action| {
        let needs = Duration::from_secs_f64(estimate.get(&a.id).copied().unwrap_or(0.0));
        hold_reason(a, &windows, &labels, needs, clock()).map(|(r, _)| format!("held: {r}"))
    }))
}

/// Splits `plan` into what may run at `now` and what is held for a window. An action a window
/// governs on one of its frames runs only while one of the windows governing it there is open
/// and closes at least its estimate and [`MARGIN`] after `now`. Its dependents are held with
/// it, and so are the steps that only prepare it (a validation, a timeout raised for it).
pub fn gate(mut plan: Plan, desired: &Estate, windows: &[Window], now: Timestamp) -> (Plan, Vec<Held>) {
    if windows.is_empty() {
        return (plan, Vec::new());
    }
    let estimate: BTreeMap<ActionId, f64> = plan.estimate.as_ref().map(|e| e.actions.clone()).unwrap_or_default();
    let labels = frame_labels(desired);
    let mut held: BTreeMap<ActionId, Held> = BTreeMap::new();
    for a in &plan.actions {
        let needs = Duration::from_secs_f64(estimate.get(&a.id).copied().unwrap_or(0.0));
        if let Some((reason, opens)) = hold_reason(a, windows, &labels, needs, now) {
            let what = what(a);
            held.insert(a.id.clone(), Held { id: a.id.clone(), what, reason, opens });
        }
    }
    if held.is_empty() {
        return (plan, Vec::new());
    }
    // Dependents wait with what they depend on (actions are in a topological order).
    for a in &plan.actions {
        if held.contains_key(&a.id) {
            continue;
        }
        if let Some(d) = a.after.iter().find(|d| held.contains_key(*d)) {
            let reason = format!("waits for {d}, held for a maintenance window");
            held.insert(a.id.clone(), Held { id: a.id.clone(), what: what(a), reason, opens: None });
        }
    }
    // What only prepares held work waits too: every dependent of it is held.
    let mut dependents: BTreeMap<&ActionId, Vec<&ActionId>> = BTreeMap::new();
    for a in &plan.actions {
        for d in &a.after {
            dependents.entry(d).or_default().push(&a.id);
        }
    }
    for a in plan.actions.iter().rev() {
        let ds = dependents.get(&a.id).map(Vec::as_slice).unwrap_or_default();
        if !held.contains_key(&a.id) && !ds.is_empty() && ds.iter().all(|d| held.contains_key(*d)) {
            let reason = format!("prepares {}, held for a maintenance window", ds[0]);
            held.insert(a.id.clone(), Held { id: a.id.clone(), what: what(a), reason, opens: None });
        }
    }
    let ids: BTreeSet<ActionId> = held.keys().cloned().collect();
    let order: Vec<Held> = plan.actions.iter().filter_map(|a| held.remove(&a.id)).collect();
    plan.actions.retain(|a| !ids.contains(&a.id));
    (plan, order)
}

/// The next opening after `now` of any of `windows`.
pub fn next_opening(windows: &[Window], now: Timestamp) -> Option<Timestamp> {
    windows.iter().filter_map(|w| w.next_after(now)).map(|o| o.opens.timestamp()).min()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(schedule: &str, tz: &str) -> Window {
        let spec: MaintenanceWindow =
            powerplane_model::from_yaml(&format!("name: sat-night\nschedule: {schedule}\ntimezone: {tz}\n")).unwrap();
        Window { tz: jiff::tz::db().get(&spec.timezone).unwrap(), spec }
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn openings_follow_the_time_zone_and_summer_time() {
        let w = window("Sat 22:00-Sun 04:00", "Europe/Berlin");
        // Saturday 2026-12-05, winter time (UTC+1): open from 21:00 to 03:00 UTC.
        let o = w.open_at(at("2026-12-05T21:30:00Z")).unwrap();
        assert_eq!(o.opens.timestamp(), at("2026-12-05T21:00:00Z"));
        assert_eq!(o.closes.timestamp(), at("2026-12-06T03:00:00Z"));
        assert!(w.open_at(at("2026-12-05T20:59:00Z")).is_none());
        assert_eq!(w.next_after(at("2026-12-02T12:00:00Z")).unwrap().opens.timestamp(), at("2026-12-05T21:00:00Z"));
        // The night summer time ends (Sun 2026-10-25, 03:00 CEST -> 02:00 CET): seven hours.
        let o = w.open_at(at("2026-10-24T21:00:00Z")).unwrap();
        assert_eq!(o.opens.timestamp(), at("2026-10-24T20:00:00Z"));
        assert_eq!(o.closes.timestamp(), at("2026-10-25T03:00:00Z"));
    }

    /// A migration estimated at 16 min: held 10 min before the window closes, run with two
    /// hours left, held outside the window with when it opens. Its validation (which only
    /// prepares it) and what follows it wait with it; an unrelated start does not.
    #[test]
    fn a_governed_action_runs_only_when_the_window_has_room_for_it() {
        use powerplane_model::plan::Estimate;
        use powerplane_model::{Action, Op};
        let (f0, f1): (powerplane_model::FrameName, powerplane_model::FrameName) =
            ("f0".parse().unwrap(), "f1".parse().unwrap());
        let p = || "xray".parse::<powerplane_model::PartitionName>().unwrap();
        let action = |id: &str, op: Op, after: &[&str]| Action {
            id: ActionId(id.into()),
            op,
            after: after.iter().map(|a| ActionId((*a).into())).collect(),
            when: Default::default(),
            reason: String::new(),
            claims: Default::default(),
        };
        let plan = Plan {
            actions: vec![
                action(
                    "a1",
                    Op::ValidateMigration {
                        partition: p(),
                        from: f0.clone(),
                        to: f1.clone(),
                        redundant: None,
                        msp: None,
                        remote: None,
                        mpio: None,
                        spelling: Default::default(),
                    },
                    &[],
                ),
                action(
                    "a2",
                    Op::MigratePartition {
                        partition: p(),
                        from: f0.clone(),
                        to: f1.clone(),
                        redundant: None,
                        msp: None,
                        remote: None,
                        mpio: None,
                        spelling: Default::default(),
                    },
                    &["a1"],
                ),
                action(
                    "a3",
                    Op::StartPartition {
                        profile: powerplane_model::ProfileName::hmc_default(),
                        frame: f1.clone(),
                        partition: "yankee".parse().unwrap(),
                        force: false,
                    },
                    &[],
                ),
                action(
                    "a4",
                    Op::SaveProfile {
                        profile: powerplane_model::ProfileName::hmc_default(),
                        frame: f1.clone(),
                        vios: "f1va".parse().unwrap(),
                    },
                    &["a2"],
                ),
            ],
            estimate: Some(Estimate {
                seconds: 1020,
                actions: [("a1", 15.0), ("a2", 960.0), ("a3", 30.0), ("a4", 2.0)]
                    .into_iter()
                    .map(|(id, s)| (ActionId(id.into()), s))
                    .collect(),
            }),
            ..Default::default()
        };
        let windows = vec![window("Sat 22:00-Sun 04:00", "Europe/Berlin")];
        let desired = Estate::default();
        let ids = |p: &Plan| p.actions.iter().map(|a| a.id.0.clone()).collect::<Vec<_>>();
        // Two hours left: everything runs.
        let (runs, held) = gate(plan.clone(), &desired, &windows, at("2026-12-06T01:00:00Z"));
        assert_eq!((ids(&runs).len(), held.len()), (4, 0));
        // Ten minutes left (it closes at 03:00 UTC): the migration waits, with what it needs.
        let (runs, held) = gate(plan.clone(), &desired, &windows, at("2026-12-06T02:50:00Z"));
        assert_eq!(ids(&runs), vec!["a3"]);
        let why: Vec<(&str, &str)> = held.iter().map(|h| (h.id.0.as_str(), h.reason.as_str())).collect();
        assert!(why[1].1.contains("closes at 2026-12-06 04:00 CET") && why[1].1.contains("16 min"), "{why:?}");
        assert_eq!(held.iter().map(|h| h.id.0.as_str()).collect::<Vec<_>>(), vec!["a1", "a2", "a4"]);
        assert!(why[0].1.contains("prepares a2") && why[2].1.contains("waits for a2"), "{why:?}");
        // Wednesday: outside, and it says when the window opens.
        let (runs, held) = gate(plan, &desired, &windows, at("2026-12-02T12:00:00Z"));
        assert_eq!(ids(&runs), vec!["a3"]);
        assert!(held[1].reason.contains("opens Sat 2026-12-05 22:00 CET"), "{}", held[1].reason);
        assert_eq!(held[1].opens, Some(at("2026-12-05T21:00:00Z")));
    }

    #[test]
    fn an_unknown_time_zone_is_an_error_that_says_what_to_write() {
        let desired = powerplane_model::load_manifests(&[powerplane_model::SourceFile::new(
            "s.yaml",
            "apiVersion: powerplane/v1\nkind: Settings\nmetadata: {name: s}\nspec:\n  maintenanceWindows: [{name: w, schedule: Sat 22:00-Sun 04:00, timezone: Mars/Olympus}]\n",
        )])
        .unwrap();
        let e = resolve(&desired).unwrap_err().to_string();
        assert!(e.contains("`Mars/Olympus` is not a time zone") && e.contains("Europe/Berlin"), "{e}");
    }
}
