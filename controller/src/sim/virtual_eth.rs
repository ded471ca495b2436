//! Virtual ethernet (trunk) adapters added to a running VIOS by DLPAR: the hypervisor creates
//! the adapter in a free virtual slot, `cfgdev` on the VIOS names it `entN`, and only a profile
//! saved afterwards keeps it across the VIOS's next activation.
// seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, lines 1049-1097:
// "create additional trunk adapter on the vio server with dlpar", "add adapter to the profile
// ... Save Current Configuration Overwrite Existing Profile", "run cfgmgr (or cfgdev as
// padmin)", "new virual adapter ent5 and ent6".

use powerplane_model::manifest::TrunkSpec;
use powerplane_model::{DeviceName, ViosName};

use super::state::{DlparEth, SimFrame};
use crate::backend::BackendError;

/// `chhwres -r virtualio --rsubtype eth -o a`: a trunk adapter in the lowest free virtual
/// slot. The VIOS must run with an RMC connection (DLPAR). Adding the same adapter again (same
/// VLANs and priority, not yet configured) is answered with the one that exists.
pub(crate) fn add(
    frame: &mut SimFrame,
    vios: &ViosName,
    trunk: &TrunkSpec,
    priority: u8,
) -> Result<String, BackendError> {
    let known = frame.hw.vios.iter().find(|v| &v.name == vios).map(|h| h.ethernet.len());
    let Some(v) = frame.vios.get_mut(vios) else {
        return Err(BackendError::refused_plain(format!("{vios} is not a Virtual I/O Server of this managed system.")));
    };
    if !v.state.is_running() || !v.rmc {
        return Err(BackendError::refused_plain(format!(
            "The partition {vios} has no active RMC connection; a dynamic logical partitioning operation needs one."
        )));
    }
    if let Some(a) = v
        .dlpar_eth
        .iter()
        .find(|a| a.device.is_none() && a.pvid == trunk.pvid && a.vlans == trunk.vlans && a.trunk_priority == priority)
    {
        return Ok(format!("virtual ethernet adapter in slot {} already exists (port_vlan_id={})", a.slot, a.pvid));
    }
    // Slots 0 and 1 are the virtual serial adapters; the inventory's adapters are taken to
    // occupy the slots from 2 on, in their order.
    let taken = 2 + known.unwrap_or(0) as u16;
    let slot = (taken..).find(|s| !v.dlpar_eth.iter().any(|a| a.slot == *s)).expect("a free slot");
    v.dlpar_eth.push(DlparEth {
        slot,
        pvid: trunk.pvid,
        vlans: trunk.vlans.clone(),
        trunk_priority: priority,
        device: None,
        saved: false,
    });
    Ok(format!(
        "virtual ethernet adapter added in slot {slot} (port_vlan_id={}, trunk_priority={priority})",
        trunk.pvid
    ))
}

/// `cfgdev` on the VIOS: each adapter DLPAR added and not yet configured becomes the next free
/// `entN` (after the VIOS's adapters and its SEA device) in slot order, as `lsdev` then lists
/// it.
pub(crate) fn cfgdev(frame: &mut SimFrame, vios: &ViosName) -> Result<String, BackendError> {
    if !super::sea::running(frame, vios) {
        return Err(BackendError::refused_plain(format!(
            "The partition {vios} is not running; viosvrcmd needs a running VIOS with an RMC connection."
        )));
    }
    super::sea::through_rmc(frame, vios)?;
    let sea_device = frame.sea.as_ref().and_then(|s| s.members.get(vios)).map(|m| m.device.clone());
    let Some(hw) = frame.hw.vios.iter_mut().find(|v| &v.name == vios) else {
        return Err(BackendError::refused_plain(format!("{vios} is not a Virtual I/O Server of this managed system.")));
    };
    let v = frame.vios.get_mut(vios).expect("a VIOS with hardware has a runtime");
    let first = DeviceName::next_ent(hw.ethernet.iter().chain(sea_device.as_ref()));
    let mut out = Vec::new();
    // The configuration manager walks the virtual slots in order.
    let mut new: Vec<&mut DlparEth> = v.dlpar_eth.iter_mut().filter(|a| a.device.is_none()).collect();
    new.sort_by_key(|a| a.slot);
    for (n, a) in (first..).zip(new) {
        let name = DeviceName::ent(n);
        out.push(format!("{name} Available Virtual I/O Ethernet Adapter (l-lan)"));
        hw.ethernet.push(name.clone());
        a.device = Some(name);
    }
    Ok(out.join("; "))
}

/// `mksyscfg -r prof -o save -p VIOS -n default --force`: the profile gets the VIOS's current
/// adapters.
pub(crate) fn save_profile(
    frame: &mut SimFrame,
    vios: &ViosName,
    profile: &powerplane_model::ProfileName,
) -> Result<String, BackendError> {
    let Some(v) = frame.vios.get_mut(vios) else {
        return Err(BackendError::refused_plain(format!("{vios} is not a partition of this managed system.")));
    };
    v.profiles.check(vios.as_str(), profile)?;
    for a in &mut v.dlpar_eth {
        a.saved = true;
    }
    // Its server adapters too (`super::storage`).
    v.unsaved_slots.clear();
    Ok(String::new())
}

/// The VIOS is activated from its profile: adapters the profile lacks are gone, and its SEA no
/// longer bridges them.
pub(crate) fn activated(frame: &mut SimFrame, vios: &ViosName) {
    let Some(v) = frame.vios.get_mut(vios) else { return };
    let lost: Vec<DeviceName> = v.dlpar_eth.iter().filter(|a| !a.saved).filter_map(|a| a.device.clone()).collect();
    v.dlpar_eth.retain(|a| a.saved);
    if lost.is_empty() {
        return;
    }
    if let Some(hw) = frame.hw.vios.iter_mut().find(|h| &h.name == vios) {
        hw.ethernet.retain(|e| !lost.contains(e));
    }
    if let Some(sea) = frame.sea.as_mut()
        && let Some(m) = sea.members.get(vios)
    {
        let kept: Vec<TrunkSpec> =
            m.virt_adapters(sea).iter().filter(|t| !lost.contains(&t.adapter)).cloned().collect();
        let others: Vec<ViosName> = sea.members.keys().filter(|o| *o != vios).cloned().collect();
        let full = sea.trunks.clone();
        for o in others {
            if let Some(om) = sea.members.get_mut(&o)
                && om.trunks.is_none()
            {
                om.trunks = Some(full.clone());
            }
        }
        if let Some(m) = sea.members.get_mut(vios) {
            m.trunks = Some(kept);
        }
        super::sea::fold(sea);
        sea.sharing_negotiated = false;
    }
}

/// The configured adapters of a VIOS that its profile lacks.
pub(crate) fn unsaved(frame: &SimFrame, vios: &ViosName) -> Vec<DeviceName> {
    frame
        .vios
        .get(vios)
        .map(|v| v.dlpar_eth.iter().filter(|a| !a.saved).filter_map(|a| a.device.clone()).collect())
        .unwrap_or_default()
}
