//! The windows step of a pass: what the maintenance windows hold back is taken out of the
//! plan before it runs (with what depends on it), unless the caller overrides them, on
//! record (`apply --ignore-windows`).

use jiff::Timestamp;
use powerplane_model::Plan;

use crate::store::audit::{self, Draft};
use crate::store::writer::AuditWriter;
use crate::windows::{Held, Window};

/// A plan after the windows: what runs now and what waits.
#[derive(Debug)]
pub struct Gated {
    /// What runs now.
    pub plan: Plan,
    /// What the windows hold back, with why and until when.
    pub held: Vec<Held>,
    /// What the windows would have held and runs anyway (an override, on record).
    pub overridden: Vec<Held>,
    /// The windows of the desired state.
    pub windows: Vec<Window>,
    /// The time the windows were read at.
    pub now: Timestamp,
}

impl Gated {
    /// When the loop or `apply --wait-for-window` should try again for what is held: the
    /// earliest opening a held action waits for, else the next opening of any window.
    pub fn next_opening(&self) -> Option<Timestamp> {
        if self.held.is_empty() {
            return None;
        }
        self.held.iter().filter_map(|h| h.opens).min().or_else(|| crate::windows::next_opening(&self.windows, self.now))
    }
}

/// Who overrides the windows, for the audit record: the command that did.
#[derive(Clone, Copy, Debug)]
pub struct Override<'a> {
    /// The command line recorded (e.g. `powerplane apply --ignore-windows`).
    pub command: &'a str,
}

/// Splits `plan` by `windows` at `now`; under `overridden`, what they hold runs anyway and
/// the override is written to the audit trail first (with the windows and the actions).
pub(super) async fn gate(
    plan: Plan,
    desired: &powerplane_model::Estate,
    windows: Vec<Window>,
    now: Timestamp,
    overridden: Option<Override<'_>>,
    (writer, plan_id): (&AuditWriter, &str),
) -> Result<Gated, crate::store::StoreError> {
    if windows.is_empty() {
        return Ok(Gated { plan, held: Vec::new(), overridden: Vec::new(), windows, now });
    }
    let Some(how) = overridden else {
        let (plan, held) = crate::windows::gate(plan, desired, &windows, now);
        return Ok(Gated { plan, held, overridden: Vec::new(), windows, now });
    };
    let (_, held) = crate::windows::gate(plan.clone(), desired, &windows, now);
    if !held.is_empty() {
        let names: Vec<&str> = windows.iter().map(|w| w.spec.name.as_str()).collect();
        let ids: Vec<&str> = held.iter().map(|h| h.id.0.as_str()).collect();
        let draft = Draft {
            plan_id: plan_id.to_owned(),
            kind: "IgnoreWindows".into(),
            object: format!("Settings/maintenanceWindows: {}", names.join(", ")),
            command: how.command.to_owned(),
            message: Some(format!(
                "--ignore-windows: {} action(s) held by the windows run outside them: {}",
                held.len(),
                ids.join(", ")
            )),
            ..Default::default()
        };
        writer.write(vec![(audit::Event::Override, draft)]).await?;
    }
    Ok(Gated { plan, held: Vec::new(), overridden: held, windows, now })
}
