//! Activation and shutdown take time, as on a real HMC: `chsysstate -o on` returns once the
//! partition is `Starting`; it then shows `Open Firmware`, then `Running`, and its RMC
//! connection becomes active some time after that. A shutdown shows `Shutting Down` until the
//! partition is `Not Activated`. Like a migration, the transition lives in the simulator's
//! state, not in the call that started it: it goes on at its times on the virtual timeline
//! whatever happens to the client, and the next process follows it.
//!
//! Sources: the states and their order are IBM's (`lssyscfg -r lpar -F state`: `Not Activated`,
//! `Starting`, `Open Firmware`, `Running`, `Shutting Down`; `tests/fixtures/hmc/README.md`,
//! "Partition state"); pypowervm `tasks/power.py` (`PowerOp.start` with `synchronous=False`
//! "will return as soon as the Job has started on the server (that is, achieved any state
//! beyond NOT_ACTIVE)"; an operating-system shutdown needs RMC, HSCL0DB4 otherwise);
//! IBM/ansible-power-hmc `hmc_resource.py` `checkForOSToBootUpFully` (after an activation,
//! `rmc_state` is polled until `active`: RMC comes after the boot). How long each stage takes
//! is **an assumption** (no published timing was found; `tests/fixtures/hmc/README.md`,
//! "Activation and shutdown"): a client reaches `Running` in 30 s (its RMC taken to come with
//! it, a simplification: [`LPAR_ACTIVATION`]); a VIOS, whose RMC the HMC needs for everything
//! it does through it, takes longer, its RMC 50 s after `Running` (90 s in all, within
//! nova-powervm's `vios_active_wait_timeout` default of 300 s). The totals are the
//! plan's estimates (`powerplane_model::plan::typical_secs`).

use std::collections::BTreeSet;

use powerplane_model::action::ShutdownMethod;
use powerplane_model::status::LparState;
use powerplane_model::{FrameName, Op, PartitionName, ViosName};
use serde::{Deserialize, Serialize};

use super::events;
use super::state::{SimFrame, SimState};
use crate::backend::BackendError;

/// How long each stage of an activation takes, in virtual milliseconds.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Activation {
    /// `Starting`: the hypervisor allocates the partition's resources.
    pub starting_ms: u64,
    /// `Open Firmware`: the partition firmware finds and loads the boot image.
    pub firmware_ms: u64,
    /// From `Running` (the operating system boots) until its RMC connection is active.
    pub rmc_ms: u64,
}

/// A client partition's activation (an assumption, see the module documentation). Its RMC
/// connection is taken to be active as it shows `Running`: **a simplification**, not what a
/// real client does (its RMC comes when its operating system has booted); what needs a
/// client's RMC (DLPAR, LPM, its OS shutdown) is planned only when the observation shows it,
/// and `sim rmc NAME off` is how a client without RMC is simulated.
pub(crate) const LPAR_ACTIVATION: Activation = Activation { starting_ms: 10_000, firmware_ms: 20_000, rmc_ms: 0 };
/// A VIOS's activation: slower than a client's (an assumption, see the module documentation).
pub(crate) const VIOS_ACTIVATION: Activation = Activation { starting_ms: 10_000, firmware_ms: 30_000, rmc_ms: 50_000 };

// A VIOS is slower to activate than a client, to `Running` and to its RMC.
const _: () = assert!(
    LPAR_ACTIVATION.starting_ms + LPAR_ACTIVATION.firmware_ms
        < VIOS_ACTIVATION.starting_ms + VIOS_ACTIVATION.firmware_ms
        && LPAR_ACTIVATION.rmc_ms < VIOS_ACTIVATION.rmc_ms
);

/// How long a shutdown shows `Shutting Down`, in virtual milliseconds (an assumption, see the
/// module documentation): the operating system's own shutdown takes longest, the delayed one
/// waits for the operating system too, the immediate one stops the processors at once.
pub(crate) fn shutdown_ms(vios: bool, how: ShutdownMethod) -> u64 {
    match (vios, how) {
        (true, ShutdownMethod::Os | ShutdownMethod::Delayed) => 30_000,
        (false, ShutdownMethod::Os) => 20_000,
        (false, ShutdownMethod::Delayed) => 45_000,
        (_, ShutdownMethod::OsImmediate) => 10_000,
        (_, ShutdownMethod::Immediate) => 2_000,
    }
}

/// A partition or VIOS of a frame.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Powered {
    /// A VIOS.
    Vios(ViosName),
    /// A client partition.
    Lpar(PartitionName),
}

impl std::fmt::Display for Powered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Powered::Vios(v) => v.fmt(f),
            Powered::Lpar(p) => p.fmt(f),
        }
    }
}

/// An activation or shutdown under way, with its times on the virtual timeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Power {
    /// `chsysstate -o on`: `Starting` until `firmware_ms`, `Open Firmware` until `running_ms`,
    /// then `Running`; RMC active from `rmc_ms` (`None`: it was lost on the way, and does
    /// not come by itself).
    Activating {
        /// When it was issued.
        started_ms: u64,
        /// When it shows `Open Firmware`.
        firmware_ms: u64,
        /// When it shows `Running`.
        running_ms: u64,
        /// When its RMC connection becomes active.
        rmc_ms: Option<u64>,
    },
    /// A shutdown: `Shutting Down` until `ends_ms`, then `Not Activated`.
    ShuttingDown {
        /// When it was issued.
        started_ms: u64,
        /// When it is `Not Activated`.
        ends_ms: u64,
        /// Which shutdown.
        how: ShutdownMethod,
    },
}

impl Power {
    /// An activation issued at `now` with `t`'s stages.
    fn activation(now: u64, t: Activation) -> Self {
        let firmware_ms = now + t.starting_ms;
        let running_ms = firmware_ms + t.firmware_ms;
        Power::Activating { started_ms: now, firmware_ms, running_ms, rmc_ms: Some(running_ms + t.rmc_ms) }
    }

    /// The state it shows at `now`, and whether its RMC connection is active then.
    pub(crate) fn at(&self, now: u64) -> (LparState, bool) {
        match *self {
            Power::Activating { firmware_ms, running_ms, rmc_ms, .. } => {
                let state = if now < firmware_ms {
                    LparState::Starting
                } else if now < running_ms {
                    LparState::OpenFirmware
                } else {
                    LparState::Running
                };
                (state, rmc_ms.is_some_and(|t| now >= t))
            }
            Power::ShuttingDown { ends_ms, .. } => {
                (if now < ends_ms { LparState::ShuttingDown } else { LparState::NotActivated }, false)
            }
        }
    }

    /// When it next shows something else (`None`: nothing more comes by itself).
    pub(crate) fn next_change(&self, now: u64) -> Option<u64> {
        match *self {
            Power::Activating { firmware_ms, running_ms, rmc_ms, .. } => {
                [Some(firmware_ms), Some(running_ms), rmc_ms].into_iter().flatten().find(|t| *t > now)
            }
            Power::ShuttingDown { ends_ms, .. } => (ends_ms > now).then_some(ends_ms),
        }
    }

    /// When it has ended (an activation whose RMC was lost ends at `Running`).
    pub(crate) fn end(&self) -> u64 {
        match *self {
            Power::Activating { running_ms, rmc_ms, .. } => rmc_ms.unwrap_or(running_ms),
            Power::ShuttingDown { ends_ms, .. } => ends_ms,
        }
    }
}

/// The refusal of a command that needs the HMC's RMC connection to a partition that has none.
/// The seed quotes the HMC's words (powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt,
/// lines 1723-1735: "HSCLA29A The RMC command issued to partition upt0053 failed."); what
/// follows in parentheses is the simulator's.
pub(crate) fn no_rmc(name: &str, what: &str) -> BackendError {
    BackendError::Refused {
        code: Some("HSCLA29A".into()),
        message: format!(
            "The RMC command issued to partition {name} failed. ({name} has no active RMC connection: {what} needs one; it comes some time after an activation)"
        ),
    }
}

/// The refusal of an operating-system shutdown without RMC: pypowervm `tasks/power.py` lists
/// HSCL0DB4 among the codes that mean "osshutdown is not supported" (`_OSSHUTDOWN_RMC_ERRS`)
/// and retries with a shutdown that needs no RMC. The text is the simulator's: no source
/// quotes the HMC's.
pub(crate) fn no_rmc_for_osshutdown(name: &str) -> BackendError {
    BackendError::Refused {
        code: Some("HSCL0DB4".into()),
        message: format!(
            "The operating system shutdown of partition {name} cannot be performed: the partition has no active RMC connection. Use chsysstate -o shutdown (delayed) or -o shutdown --immed."
        ),
    }
}

impl SimState {
    /// Rebuilds [`SimState::powering`] from the frames.
    pub(crate) fn index_power(&mut self) {
        let mut ix = BTreeSet::new();
        for (f, fr) in &self.frames {
            for (n, v) in &fr.vios {
                if v.power.is_some() {
                    ix.insert((f.clone(), Powered::Vios(n.clone())));
                }
            }
            for (n, p) in &fr.partitions {
                if p.power.is_some() {
                    ix.insert((f.clone(), Powered::Lpar(n.clone())));
                }
            }
        }
        self.powering = ix;
    }
}

/// The transition under way of `who` on `frame`, if any.
pub(crate) fn of<'a>(frame: &'a SimFrame, who: &Powered) -> Option<&'a Power> {
    match who {
        Powered::Vios(v) => frame.vios.get(v).and_then(|v| v.power.as_ref()),
        Powered::Lpar(p) => frame.partitions.get(p).and_then(|p| p.power.as_ref()),
    }
}

/// The state and RMC connection of `who` on `frame` as listed now.
pub(crate) fn state_of(frame: &SimFrame, who: &Powered) -> Option<(LparState, bool)> {
    match who {
        Powered::Vios(v) => frame.vios.get(v).map(|v| (v.state.clone(), v.rmc)),
        Powered::Lpar(p) => frame.partitions.get(p).filter(|p| !p.is_shell()).map(|p| (p.state.clone(), p.rmc)),
    }
}

fn set(frame: &mut SimFrame, who: &Powered, state: LparState, rmc: bool, power: Option<Power>) {
    match who {
        Powered::Vios(v) => {
            if let Some(v) = frame.vios.get_mut(v) {
                (v.state, v.rmc, v.power) = (state, rmc, power);
            }
        }
        Powered::Lpar(p) => {
            if let Some(p) = frame.partitions.get_mut(p) {
                (p.state, p.rmc, p.power) = (state, rmc, power);
            }
        }
    }
}

/// Refuses a `chsysstate` on `who` while it is `Starting`, `Open Firmware` or `Shutting Down`:
/// a real HMC does not start what is starting, nor stop what is stopping (the caller follows
/// it). One `Running` whose RMC has not come yet is activated, as far as the HMC is concerned.
pub(crate) fn not_under_way(frame: &SimFrame, who: &Powered) -> Result<(), BackendError> {
    match state_of(frame, who) {
        Some((state, _)) if state.is_changing_power() => {
            Err(BackendError::Transient(format!("{who} is {state}; its activation or shutdown is under way")))
        }
        _ => Ok(()),
    }
}

/// `who`, just activated at `now` (its checks passed, its resources taken), shows `Starting`
/// and goes on by itself; its RMC connection comes after `Running`.
pub(crate) fn begin_activation(s: &mut SimState, frame: &FrameName, who: Powered) {
    let t = match who {
        Powered::Vios(_) => VIOS_ACTIVATION,
        Powered::Lpar(_) => LPAR_ACTIVATION,
    };
    let power = Power::activation(s.now_ms, t);
    let (state, rmc) = power.at(s.now_ms);
    if let Some(f) = s.frames.get_mut(frame) {
        set(f, &who, state, rmc, Some(power));
    }
    s.powering.insert((frame.clone(), who));
}

/// `who` begins shutting down at `now` with `how`: it shows `Shutting Down` (its RMC
/// connection gone with the operating system) and is `Not Activated` at the end.
pub(crate) fn begin_shutdown(s: &mut SimState, frame: &FrameName, who: Powered, how: ShutdownMethod) {
    let now = s.now_ms;
    let power =
        Power::ShuttingDown { started_ms: now, ends_ms: now + shutdown_ms(matches!(who, Powered::Vios(_)), how), how };
    if let Some(f) = s.frames.get_mut(frame) {
        set(f, &who, LparState::ShuttingDown, false, Some(power));
    }
    s.powering.insert((frame.clone(), who));
}

/// The RMC connection to `who` is lost during its activation: it does not come by itself.
pub(crate) fn lose_rmc(frame: &mut SimFrame, who: &Powered) {
    let power = match who {
        Powered::Vios(v) => frame.vios.get_mut(v).and_then(|v| v.power.as_mut()),
        Powered::Lpar(p) => frame.partitions.get_mut(p).and_then(|p| p.power.as_mut()),
    };
    if let Some(Power::Activating { rmc_ms, .. }) = power {
        *rmc_ms = None;
    }
}

/// The RMC connection to `who` is restored during its activation (the network path back): it
/// comes as it would have, once the activation reaches `Running` (at once when that is past).
pub(crate) fn restore_rmc(frame: &mut SimFrame, who: &Powered) {
    let (power, t) = match who {
        Powered::Vios(v) => (frame.vios.get_mut(v).and_then(|v| v.power.as_mut()), VIOS_ACTIVATION),
        Powered::Lpar(p) => (frame.partitions.get_mut(p).and_then(|p| p.power.as_mut()), LPAR_ACTIVATION),
    };
    if let Some(Power::Activating { running_ms, rmc_ms, .. }) = power
        && rmc_ms.is_none()
    {
        *rmc_ms = Some(*running_ms + t.rmc_ms);
    }
}

/// When the transitions under way end (the latest first matters: a process that opens a
/// state saved without a pace lets them all end).
pub(crate) fn pending_ends(s: &SimState) -> impl Iterator<Item = u64> + '_ {
    s.powering.iter().filter_map(|(f, who)| s.frames.get(f).and_then(|fr| of(fr, who)).map(Power::end))
}

/// Moves every activation and shutdown on to virtual time `s.now_ms`: each shows the stage it
/// has reached; a VIOS reaching `Running` configures its SEA (failback in `auto`, load sharing
/// resumes), logged as the SEA logs it; a shutdown that ends releases what the partition held.
/// Returns the frames it changed, which must be saved with the next change.
pub(crate) fn settle(s: &mut SimState) -> Vec<FrameName> {
    if s.powering.is_empty() {
        return Vec::new();
    }
    let now = s.now_ms;
    let mut touched = Vec::new();
    let mut done = Vec::new();
    let items: Vec<(FrameName, Powered)> = s.powering.iter().cloned().collect();
    for (fname, who) in items {
        let Some(frame) = s.frames.get(&fname) else {
            done.push((fname, who));
            continue;
        };
        let (Some(power), Some((was, was_rmc))) = (of(frame, &who).cloned(), state_of(frame, &who)) else {
            done.push((fname, who));
            continue;
        };
        let (state, rmc) = power.at(now);
        let ended = power.next_change(now).is_none();
        if state == was && rmc == was_rmc && !ended {
            continue;
        }
        touched.push(fname.clone());
        let watched = events::watch(frame, None);
        let frame = s.frames.get_mut(&fname).expect("looked up above");
        match (&who, &power) {
            (Powered::Lpar(p), Power::ShuttingDown { .. }) if ended => {
                // What a shutdown leaves: resources and paging device released, the profile's
                // values for the next activation.
                set(frame, &who, LparState::ShuttingDown, false, None);
                if super::partition::stop(frame, p).is_err() {
                    set(frame, &who, LparState::NotActivated, false, None);
                }
            }
            // Without its boot disk mapped a client's firmware stops in its SMS menu: the
            // activation ends in `Open Firmware` (`super::storage`).
            (Powered::Lpar(p), Power::Activating { .. })
                if state == LparState::Running && super::storage::no_boot_disk(frame, p).is_some() =>
            {
                set(frame, &who, LparState::OpenFirmware, false, None);
                done.push((fname.clone(), who.clone()));
            }
            (Powered::Vios(_), _) | (Powered::Lpar(_), _) => {
                set(frame, &who, state.clone(), rmc, (!ended).then_some(power.clone()));
            }
        }
        if let Powered::Vios(_) = who
            && state.is_running()
            && !was.is_running()
        {
            // The VIOS's operating system configures its SEA as it boots.
            super::sea::vios_up(frame);
        }
        events::log_changes(s, &fname, &watched);
        if ended {
            done.push((fname, who));
        }
    }
    for d in done {
        s.powering.remove(&d);
    }
    touched.sort();
    touched.dedup();
    touched
}

/// How often a followed `chsysstate` looks again when nothing more is scheduled (the HMC
/// backend's poll, `backend::hmc`).
pub(crate) const POLL_MS: u64 = 5_000;

/// What a `chsysstate` action starts and waits for: the frame, the partition or VIOS, and the
/// state that ends it (a VIOS's start waits for its RMC too: what follows goes through it).
pub(crate) fn awaited(op: &Op) -> Option<(FrameName, Powered, Until)> {
    Some(match op {
        Op::StartVios { frame, vios, .. } => (frame.clone(), Powered::Vios(vios.clone()), Until::Running { rmc: true }),
        Op::StopVios { frame, vios } => (frame.clone(), Powered::Vios(vios.clone()), Until::NotActivated),
        Op::StartPartition { frame, partition, .. } => {
            (frame.clone(), Powered::Lpar(partition.clone()), Until::Running { rmc: false })
        }
        Op::StopPartition { frame, partition, .. } => {
            (frame.clone(), Powered::Lpar(partition.clone()), Until::NotActivated)
        }
        _ => return None,
    })
}

/// `chsysstate -r lpar -o osshutdown|shutdown [--immed] -n NAME`: begins the shutdown of a
/// client partition. One not activated is answered as such; one migrating, or already
/// starting or stopping, is busy; an operating-system shutdown without RMC is refused
/// ([`no_rmc_for_osshutdown`]).
pub(crate) fn stop_partition(
    s: &mut SimState,
    frame: &FrameName,
    name: &PartitionName,
    how: ShutdownMethod,
) -> Result<String, BackendError> {
    let f = s.frame_mut(frame)?;
    let p = f.partitions.get(name).filter(|p| !p.is_shell()).ok_or_else(|| {
        BackendError::refused_plain(format!("The partition {name} was not found on this managed system."))
    })?;
    if p.state == LparState::NotActivated && p.power.is_none() {
        return Ok(format!("{name} is already shut down"));
    }
    if p.migration.is_some() {
        return Err(BackendError::Transient(format!("{name} is migrating; shut it down when the migration ends")));
    }
    let who = Powered::Lpar(name.clone());
    not_under_way(f, &who)?;
    if how.needs_rmc() && !p.rmc {
        return Err(no_rmc_for_osshutdown(name.as_str()));
    }
    begin_shutdown(s, frame, who, how);
    Ok(format!("{name} is shutting down (chsysstate -o {})", how.flags()))
}

pub(crate) use crate::backend::power_wait::Until;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_activation_goes_through_its_stages_and_rmc_comes_last() {
        let p = Power::activation(1_000, VIOS_ACTIVATION);
        assert_eq!(p.at(1_000), (LparState::Starting, false));
        assert_eq!(p.at(11_000), (LparState::OpenFirmware, false));
        assert_eq!(p.at(41_000), (LparState::Running, false));
        assert_eq!(p.at(91_000), (LparState::Running, true));
        assert_eq!(p.next_change(1_000), Some(11_000));
        assert_eq!(p.next_change(41_000), Some(91_000));
        assert_eq!(p.next_change(91_000), None);
    }

    #[test]
    fn the_stages_add_up_to_the_plan_estimates() {
        let total = |t: Activation| t.starting_ms + t.firmware_ms + t.rmc_ms;
        use powerplane_model::ActionKind as K;
        use powerplane_model::plan::typical_secs;
        // A client's start waits for `Running`, a VIOS's for its RMC too.
        assert_eq!(typical_secs(K::StartPartition) * 1000, LPAR_ACTIVATION.starting_ms + LPAR_ACTIVATION.firmware_ms);
        assert_eq!(typical_secs(K::StartVios) * 1000, total(VIOS_ACTIVATION));
        assert_eq!(typical_secs(K::StopPartition) * 1000, shutdown_ms(false, ShutdownMethod::Os));
        assert_eq!(typical_secs(K::StopVios) * 1000, shutdown_ms(true, ShutdownMethod::Os));
    }

    #[test]
    fn a_lost_rmc_does_not_come_back_by_itself() {
        let mut p = Power::activation(0, LPAR_ACTIVATION);
        if let Power::Activating { rmc_ms, .. } = &mut p {
            *rmc_ms = None;
        }
        assert_eq!(p.at(10_000_000), (LparState::Running, false));
        assert_eq!(p.next_change(30_000), None);
        // A client's comes with Running (the simplification of `LPAR_ACTIVATION`).
        assert_eq!(Power::activation(0, LPAR_ACTIVATION).at(30_000), (LparState::Running, true));
    }
}
