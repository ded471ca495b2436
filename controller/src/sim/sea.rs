//! Shared Ethernet Adapter failover and load sharing.
//!
//! The state of each SEA is derived from its configuration and which VIOS run, never stored,
//! so it cannot go stale: with both VIOS up the one with the lower trunk priority is primary
//! unless it is in `standby`; in load sharing the VLANs are split by trunk adapter; with one
//! VIOS down the other bridges everything.
// seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, "SEA with Load Sharing",
// "Some outputs in disaster cases".

use powerplane_model::manifest::{TrunkSpec, load_sharing_split};
use powerplane_model::status::{BridgeMode, SeaHaMode, SeaMemberStatus, SeaState};
use powerplane_model::{DeviceName, SeaName, ViosName, VlanId};

use super::state::{SeaMember, SimFrame, SimSea};
use crate::backend::BackendError;

/// The status of each member, primary (priority 1) first.
pub(crate) fn status(sea: &SimSea, running: impl Fn(&ViosName) -> bool) -> Vec<SeaMemberStatus> {
    let mut members: Vec<(&ViosName, &SeaMember)> = sea.members.iter().collect();
    members.sort_by_key(|(_, m)| m.priority);
    let up: Vec<bool> = members.iter().map(|(v, _)| running(v)).collect();
    let all =
        |i: usize| -> Vec<VlanId> { members[i].1.virt_adapters(sea).iter().flat_map(TrunkSpec::all_vlans).collect() };
    let make = |i: usize, state: SeaState, bridge_mode: BridgeMode, vlans: Vec<VlanId>| {
        let (v, m) = members[i];
        SeaMemberStatus {
            vios: v.clone(),
            device: m.device.clone(),
            ha_mode: m.ha_mode,
            priority: m.priority,
            state,
            bridge_mode,
            vlans,
            adapters: m.virt_adapters(sea).iter().map(|t| t.adapter.clone()).collect(),
            unsaved: Vec::new(),
        }
    };
    let inactive = |i| make(i, SeaState::Inactive, BridgeMode::None, Vec::new());
    match members.len() {
        0 => Vec::new(),
        1 => {
            let alone =
                if members[0].1.ha_mode == SeaHaMode::Disabled { SeaState::Standalone } else { SeaState::Primary };
            vec![if up[0] { make(0, alone, BridgeMode::All, all(0)) } else { inactive(0) }]
        }
        _ => match (up[0], up[1]) {
            (false, false) => vec![inactive(0), inactive(1)],
            (true, false) => vec![make(0, SeaState::Primary, BridgeMode::All, all(0)), inactive(1)],
            (false, true) => vec![inactive(0), make(1, SeaState::Primary, BridgeMode::All, all(1))],
            (true, true) => {
                // A SEA in standby yields to one that is not; otherwise the lower priority wins.
                let rank = |i: usize| (members[i].1.ha_mode == SeaHaMode::Standby, members[i].1.priority);
                let (p, b) = if rank(0) <= rank(1) { (0, 1) } else { (1, 0) };
                let sharing = sea.sharing_negotiated
                    && members.iter().all(|(_, m)| m.ha_mode == SeaHaMode::Sharing && m.trunks.is_none());
                let mut out = if sharing {
                    let (primary_vlans, backup_vlans) = load_sharing_split(&sea.trunks);
                    vec![
                        make(p, SeaState::PrimarySharing, BridgeMode::Partial, primary_vlans),
                        make(b, SeaState::BackupSharing, BridgeMode::Partial, backup_vlans),
                    ]
                } else {
                    vec![
                        make(p, SeaState::Primary, BridgeMode::All, all(p)),
                        make(b, SeaState::Backup, BridgeMode::None, Vec::new()),
                    ]
                };
                out.sort_by_key(|s| s.priority);
                out
            }
        },
    }
}

/// Whether a running member of the frame's SEA bridges `vlan`.
pub(crate) fn bridges(frame: &SimFrame, vlan: VlanId) -> bool {
    frame.sea.as_ref().is_some_and(|sea| status(sea, |v| running(frame, v)).iter().any(|m| m.vlans.contains(&vlan)))
}

/// `viosvrcmd` reaches a running VIOS over its RMC connection: one whose RMC is not active
/// (yet: it comes some time after an activation) refuses it as the HMC does (HSCLA29A).
pub(crate) fn through_rmc(frame: &SimFrame, vios: &ViosName) -> Result<(), BackendError> {
    match frame.vios.get(vios) {
        Some(v) if v.state.is_running() && !v.rmc => Err(super::power::no_rmc(vios.as_str(), "viosvrcmd")),
        _ => Ok(()),
    }
}

pub(crate) fn running(frame: &SimFrame, vios: &ViosName) -> bool {
    frame.vios.get(vios).is_some_and(|v| v.state.is_running())
}

/// The SEA device a new SEA gets on a VIOS: the next `entN` after its adapters (`ent4` after
/// `ent0`..`ent3`, as in the seed).
fn next_device(frame: &SimFrame, vios: &ViosName) -> DeviceName {
    let hw = frame.hw.vios.iter().find(|v| &v.name == vios);
    DeviceName::ent(DeviceName::next_ent(hw.into_iter().flat_map(|v| v.ethernet.iter())))
}

/// Arguments of `mkvdev -sea` on one VIOS.
pub(crate) struct NewSea<'a> {
    pub name: SeaName,
    pub vios: &'a ViosName,
    pub real_adapter: &'a DeviceName,
    pub trunks: &'a [TrunkSpec],
    pub control_channel: Option<&'a DeviceName>,
    pub ha_mode: SeaHaMode,
    pub priority: u8,
}

/// `mkvdev -sea` on one VIOS. The backup's SEA in `sharing` asks the primary for load sharing.
pub(crate) fn create(frame: &mut SimFrame, new: NewSea<'_>) -> Result<String, BackendError> {
    let vios = new.vios;
    if !running(frame, vios) {
        return Err(BackendError::refused_plain(format!(
            "The partition {vios} is not running; viosvrcmd needs a running VIOS with an RMC connection."
        )));
    }
    through_rmc(frame, vios)?;
    let hw = frame.hw.vios.iter().find(|v| &v.name == vios).ok_or_else(|| {
        BackendError::refused_plain(format!("{vios} is not a Virtual I/O Server of this managed system."))
    })?;
    let adapters =
        std::iter::once(new.real_adapter).chain(new.control_channel).chain(new.trunks.iter().map(|t| &t.adapter));
    for a in adapters {
        if !hw.ethernet.contains(a) {
            return Err(BackendError::refused_plain(format!("mkvdev: device {a} does not exist on {vios}.")));
        }
    }
    let device = next_device(frame, vios);
    let sea = frame.sea.get_or_insert_with(|| SimSea {
        name: new.name.clone(),
        real_adapter: new.real_adapter.clone(),
        control_channel: new.control_channel.cloned(),
        trunks: new.trunks.to_vec(),
        members: Default::default(),
        sharing_negotiated: false,
    });
    if let Some(existing) = sea.members.get(vios) {
        // Idempotent: the same SEA already exists.
        return Ok(format!("{} Available (already configured)", existing.device));
    }
    if sea.trunks != new.trunks || sea.real_adapter != *new.real_adapter {
        return Err(BackendError::refused_plain(format!(
            "mkvdev: the SEA on {vios} must bridge the same trunk adapters and VLANs as its partner"
        )));
    }
    sea.members.insert(
        vios.clone(),
        SeaMember { device: device.clone(), ha_mode: new.ha_mode, priority: new.priority, trunks: None },
    );
    if new.ha_mode == SeaHaMode::Sharing && new.priority == 2 {
        negotiate(sea);
    }
    Ok(format!("{device} Available"))
}

/// `chdev -dev entN -attr ha_mode=...` on one VIOS.
pub(crate) fn set_ha_mode(
    frame: &mut SimFrame,
    vios: &ViosName,
    device: &DeviceName,
    mode: SeaHaMode,
) -> Result<String, BackendError> {
    if !running(frame, vios) {
        return Err(BackendError::refused_plain(format!("The partition {vios} is not running.")));
    }
    through_rmc(frame, vios)?;
    let sea = frame
        .sea
        .as_mut()
        .ok_or_else(|| BackendError::refused_plain(format!("chdev: device {device} does not exist on {vios}.")))?;
    let member = sea.members.get_mut(vios).filter(|m| &m.device == device).ok_or_else(|| {
        BackendError::refused_plain(format!("chdev: device {device} is not a Shared Ethernet Adapter on {vios}."))
    })?;
    member.ha_mode = mode;
    let is_backup = member.priority == 2;
    if mode != SeaHaMode::Sharing {
        sea.sharing_negotiated = false;
    } else if is_backup {
        // seeds: "This value must be set on primary SEA first before it is set for the backup
        // SEA, because the backup SEA initiates the request for load sharing."
        negotiate(sea);
    }
    Ok(format!("{device} changed"))
}

/// `chdev -dev entN -attr virt_adapters=...` on one VIOS: the trunks its SEA bridges. Each
/// must be an adapter the VIOS has; one added by DLPAR carries the VLANs it was created with.
/// The SEA reconfigures, which ends load sharing; the backup's chdev asks for it again, granted
/// once both SEAs bridge the same trunks.
// seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, lines 1099-1106, and line
// 858: "a chdev must occur on the backup SEA for Load sharing to work".
pub(crate) fn set_adapters(
    frame: &mut SimFrame,
    vios: &ViosName,
    device: &DeviceName,
    trunks: &[TrunkSpec],
) -> Result<String, BackendError> {
    if !running(frame, vios) {
        return Err(BackendError::refused_plain(format!("The partition {vios} is not running.")));
    }
    through_rmc(frame, vios)?;
    let hw = frame.hw.vios.iter().find(|v| &v.name == vios);
    let dlpar = frame.vios.get(vios).map(|v| v.dlpar_eth.as_slice()).unwrap_or_default();
    for t in trunks {
        if !hw.is_some_and(|h| h.ethernet.contains(&t.adapter)) {
            return Err(BackendError::refused_plain(format!(
                "Method error (/usr/lib/methods/chgsea): 0514-018 The values specified for the following attributes are not valid: virt_adapters ({} is not an adapter of {vios}).",
                t.adapter
            )));
        }
        if let Some(a) = dlpar.iter().find(|a| a.device.as_ref() == Some(&t.adapter))
            && (a.pvid != t.pvid || a.vlans != t.vlans)
        {
            return Err(BackendError::refused_plain(format!(
                "chdev: {} on {vios} has port VLAN {} and additional VLANs {:?}, not {} and {:?}.",
                t.adapter, a.pvid, a.vlans, t.pvid, t.vlans
            )));
        }
    }
    let sea = frame
        .sea
        .as_mut()
        .ok_or_else(|| BackendError::refused_plain(format!("chdev: device {device} does not exist on {vios}.")))?;
    if sea.members.get(vios).is_none_or(|m| &m.device != device) {
        return Err(BackendError::refused_plain(format!(
            "chdev: device {device} is not a Shared Ethernet Adapter on {vios}."
        )));
    }
    if let Some(m) = sea.members.get_mut(vios) {
        m.trunks = Some(trunks.to_vec());
    }
    fold(sea);
    sea.sharing_negotiated = false;
    if sea.members.get(vios).is_some_and(|m| m.priority == 2 && m.ha_mode == SeaHaMode::Sharing) {
        negotiate(sea);
    }
    Ok(format!("{device} changed"))
}

/// Members that bridge the same trunks share the SEA's list again.
pub(crate) fn fold(sea: &mut SimSea) {
    let mut lists = sea.members.values().map(|m| m.virt_adapters(sea).to_vec());
    let Some(first) = lists.next() else { return };
    if lists.all(|l| l == first) {
        sea.trunks = first;
        for m in sea.members.values_mut() {
            m.trunks = None;
        }
    }
}

/// The backup asks for load sharing; the primary grants it if it is in sharing mode itself and
/// both bridge the same trunks.
fn negotiate(sea: &mut SimSea) {
    sea.sharing_negotiated =
        sea.members.len() == 2 && sea.members.values().all(|m| m.ha_mode == SeaHaMode::Sharing && m.trunks.is_none());
}

/// `rmdev -dev entN` on one VIOS.
pub(crate) fn remove(frame: &mut SimFrame, vios: &ViosName, device: &DeviceName) -> Result<String, BackendError> {
    let Some(sea) = frame.sea.as_mut() else {
        return Ok(format!("{device} deleted (was not configured)"));
    };
    if sea.members.get(vios).is_some_and(|m| &m.device == device) {
        sea.members.remove(vios);
        sea.sharing_negotiated = false;
    }
    if sea.members.is_empty() {
        frame.sea = None;
    }
    Ok(format!("{device} deleted"))
}

/// A VIOS went down: load sharing stops (heartbeats are lost).
pub(crate) fn vios_down(frame: &mut SimFrame) {
    if let Some(sea) = frame.sea.as_mut() {
        sea.sharing_negotiated = false;
    }
}

/// A VIOS came up: its SEA configures itself again and, in sharing mode, the backup asks for
/// load sharing at once, so the split returns by itself (the seed's "Power on" outputs).
pub(crate) fn vios_up(frame: &mut SimFrame) {
    let both_up = frame.sea.as_ref().is_some_and(|s| s.members.keys().all(|v| running(frame, v)));
    if let Some(sea) = frame.sea.as_mut()
        && both_up
    {
        negotiate(sea);
    }
}
