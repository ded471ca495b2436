//! VIOS start and shutdown, with their consequences: SEA failover and failback, paging VIOS
//! failover (and no paging failback).

use powerplane_model::ViosName;
use powerplane_model::status::LparState;

use super::state::SimFrame;
use super::{paging, sea};
use crate::backend::BackendError;

fn check(frame: &SimFrame, vios: &ViosName) -> Result<(), BackendError> {
    if frame.vios.contains_key(vios) {
        Ok(())
    } else {
        let known: Vec<&str> = frame.vios.keys().map(ViosName::as_str).collect();
        Err(BackendError::refused_plain(format!(
            "{vios} is not a Virtual I/O Server of this managed system (it has {}).",
            known.join(", ")
        )))
    }
}

/// Shuts a VIOS down: its SEA stops bridging (the partner takes over), partitions paging
/// through it fail over. Returns what happened.
pub(crate) fn down(frame: &mut SimFrame, vios: &ViosName) -> Result<Vec<String>, BackendError> {
    check(frame, vios)?;
    let v = frame.vios.get_mut(vios).expect("checked");
    if v.state == LparState::NotActivated {
        return Ok(vec![format!("{vios} is already shut down")]);
    }
    v.state = LparState::NotActivated;
    v.rmc = false;
    v.power = None;
    sea::vios_down(frame);
    let mut events = vec![format!("{vios} shut down")];
    events.extend(paging::vios_down(frame, vios));
    Ok(events)
}

/// Starts a VIOS: its SEA configures itself (failback in auto, load sharing resumes); paging
/// stays where it failed over to.
/// `chsysstate -o on -f PROFILE` names a profile the VIOS has (in the simulator, the one it
/// uses): otherwise the refusal.
pub(crate) fn check_profile(
    frame: &SimFrame,
    vios: &ViosName,
    profile: &powerplane_model::ProfileName,
) -> Result<(), BackendError> {
    match frame.vios.get(vios) {
        Some(v) => v.profiles.check(vios.as_str(), profile),
        None => Ok(()),
    }
}

pub(crate) fn up(frame: &mut SimFrame, vios: &ViosName) -> Result<Vec<String>, BackendError> {
    check(frame, vios)?;
    let v = frame.vios.get_mut(vios).expect("checked");
    if v.state.is_running() {
        return Ok(vec![format!("{vios} is already running")]);
    }
    let (mem, procs) =
        frame.hw.vios.iter().find(|h| &h.name == vios).map(|h| (h.memory_mb, h.proc_units)).unwrap_or_default();
    // One whose activation is under way holds its resources already.
    let held = super::capacity::holds_resources(&v.state);
    let free = super::capacity::free(frame);
    if !held && mem > free.memory {
        return Err(super::capacity::not_enough_memory(free.memory, mem));
    }
    // A VIOS is a partition: the hypervisor never over-commits entitled processing units.
    if !held && procs > free.procs {
        return Err(BackendError::refused_plain(format!(
            "There are not enough processing units available: Obtained: {}, Required: {}.",
            free.procs, procs
        )));
    }
    let v = frame.vios.get_mut(vios).expect("checked");
    v.state = LparState::Running;
    v.rmc = true;
    v.power = None;
    super::virtual_eth::activated(frame, vios);
    super::storage::activated(frame, vios);
    sea::vios_up(frame);
    Ok(vec![format!("{vios} activated")])
}
