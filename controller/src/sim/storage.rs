//! Client storage in the simulated hypervisor: virtual SCSI and virtual fibre channel client
//! adapters in a partition's profile, server adapters on the VIOS (added and removed by DLPAR,
//! named `vhostN`/`vfchostN` by `cfgdev`), and the VIOS's mappings (`mkvdev -vdev`, `rmvdev
//! -vdev`, `vfcmap`). A partition whose boot disk is mapped on no VIOS activates only to its
//! firmware's SMS menu: `Open Firmware`, no RMC, never `Running`.
//!
//! The commands and their sources: tests/fixtures/hmc/README.md, "Storage provisioning".
//! **Assumption** (labelled there too): every simulated VIOS has two NPIV-capable fibre channel
//! ports, `fcs0` and `fcs1`.

use powerplane_model::manifest::{StorageSpec, StorageVia};
use powerplane_model::status::LparState;
use powerplane_model::storage::{ClientAdapter, ServerAdapter, ViosStorage, next_server_device};
use powerplane_model::{DeviceName, FrameName, Lun, PartitionName, ViosName};

use super::state::{SimFrame, SimState};
use crate::backend::BackendError;

/// The fibre channel ports every simulated VIOS has (an assumption, see the module).
pub(crate) const FC_PORTS: [&str; 2] = ["fcs0", "fcs1"];

fn refused(m: impl Into<String>) -> BackendError {
    BackendError::refused_plain(m.into())
}

/// The VIOS, running with an RMC connection (DLPAR and `viosvrcmd` need both).
fn running_vios<'a>(f: &'a mut SimFrame, vios: &ViosName) -> Result<&'a mut super::state::SimVios, BackendError> {
    let v = f
        .vios
        .get_mut(vios)
        .ok_or_else(|| refused(format!("{vios} is not a Virtual I/O Server of this managed system.")))?;
    if !v.state.is_running() || !v.rmc {
        return Err(refused(format!(
            "The partition {vios} has no active RMC connection; a dynamic logical partitioning operation or viosvrcmd needs one."
        )));
    }
    Ok(v)
}

/// Every virtual slot a VIOS uses: its virtual serial adapters (0, 1), its ethernet adapters as
/// the emulated HMC lists them, and its server adapters.
pub(crate) fn used_slots(f: &SimFrame, vios: &ViosName) -> Vec<u16> {
    let mut slots: Vec<u16> = vec![0, 1];
    for r in super::hmc_shell::listings::veth(f) {
        let mine = r.iter().any(|(k, v)| *k == "lpar_name" && v == vios.as_str());
        if let Some((_, s)) = r.iter().find(|(k, _)| *k == "slot_num").filter(|_| mine) {
            slots.extend(s.parse::<u16>().ok());
        }
    }
    if let Some(v) = f.vios.get(vios) {
        slots.extend(v.storage.iter().map(|a| a.slot));
    }
    slots.sort_unstable();
    slots.dedup();
    slots
}

/// What a VIOS reports of its client storage.
pub(crate) fn vios_storage(f: &SimFrame, vios: &ViosName) -> ViosStorage {
    let mut adapters = f.vios.get(vios).map(|v| v.storage.clone()).unwrap_or_default();
    adapters.sort_by_key(|a| a.slot);
    ViosStorage {
        adapters,
        used_slots: used_slots(f, vios),
        fc_ports: FC_PORTS.iter().map(|p| DeviceName::new(*p).expect("valid")).collect(),
    }
}

/// `chhwres -r virtualio --rsubtype scsi|fc -o a -p VIOS -s SLOT -a
/// "adapter_type=server,remote_lpar_name=…,remote_slot_num=…"`.
pub(crate) fn add_server(
    f: &mut SimFrame,
    vios: &ViosName,
    via: StorageVia,
    slot: u16,
    client: &PartitionName,
    client_slot: u16,
) -> Result<String, BackendError> {
    if f.partitions.get(client).is_none_or(|p| p.is_shell()) {
        return Err(refused(format!("The partition {client} was not found on this managed system.")));
    }
    let used = used_slots(f, vios);
    let v = running_vios(f, vios)?;
    if let Some(a) = v.storage.iter().find(|a| a.slot == slot) {
        if a.via == via && &a.client == client && a.client_slot == client_slot {
            return Ok(format!("the server adapter in slot {slot} of {vios} already exists"));
        }
        return Err(refused(format!("The virtual slot {slot} of {vios} is already in use.")));
    }
    if used.contains(&slot) {
        return Err(refused(format!("The virtual slot {slot} of {vios} is already in use.")));
    }
    v.storage.push(ServerAdapter {
        via,
        slot,
        device: None,
        client: client.clone(),
        client_slot,
        luns: Vec::new(),
        fc_port: None,
    });
    // A DLPAR change: the profile lacks it until it is saved.
    v.unsaved_slots.push(slot);
    Ok(format!("server adapter added in slot {slot} of {vios} for {client}"))
}

/// `chhwres … -o r -p VIOS -s SLOT`: refused while something is mapped to it (the VIOS cannot
/// remove a device in use).
pub(crate) fn remove_server(f: &mut SimFrame, vios: &ViosName, slot: u16) -> Result<String, BackendError> {
    let v = running_vios(f, vios)?;
    let Some(i) = v.storage.iter().position(|a| a.slot == slot) else {
        return Ok(format!("no server adapter in slot {slot} of {vios}"));
    };
    if v.storage[i].carries_disks() {
        let d = v.storage[i].device.as_ref().map_or_else(|| format!("slot {slot}"), ToString::to_string);
        return Err(refused(format!(
            "The I/O adapter in slot {slot} of {vios} cannot be removed: {d} is in use (unmap it first)."
        )));
    }
    v.storage.remove(i);
    v.unsaved_slots.retain(|s| *s != slot);
    Ok(format!("server adapter in slot {slot} of {vios} removed"))
}

/// `cfgdev`: each server adapter not configured gets the lowest free `vhostN`/`vfchostN`, in
/// slot order.
pub(crate) fn cfgdev(f: &mut SimFrame, vios: &ViosName) -> Vec<String> {
    let Some(v) = f.vios.get_mut(vios) else { return Vec::new() };
    let mut pending: Vec<usize> = (0..v.storage.len()).filter(|i| v.storage[*i].device.is_none()).collect();
    pending.sort_by_key(|i| v.storage[*i].slot);
    let mut out = Vec::new();
    for i in pending {
        let via = v.storage[i].via;
        let used: Vec<DeviceName> =
            v.storage.iter().filter(|a| a.via == via).filter_map(|a| a.device.clone()).collect();
        let d = next_server_device(via, &used);
        out.push(format!(
            "{d} Available {}",
            match via {
                StorageVia::Vscsi => crate::backend::hmc::listing::VSCSI_SERVER,
                StorageVia::Npiv => crate::backend::hmc::listing::NPIV_SERVER,
            }
        ));
        v.storage[i].device = Some(d);
    }
    out
}

fn adapter_mut<'a>(
    v: &'a mut super::state::SimVios,
    vios: &ViosName,
    device: &DeviceName,
    via: StorageVia,
) -> Result<&'a mut ServerAdapter, BackendError> {
    v.storage
        .iter_mut()
        .find(|a| a.device.as_ref() == Some(device) && a.via == via)
        .ok_or_else(|| refused(format!("Device \"{device}\" is not a {} on {vios}.", server_kind(via))))
}

fn server_kind(via: StorageVia) -> &'static str {
    match via {
        StorageVia::Vscsi => crate::backend::hmc::listing::VSCSI_SERVER,
        StorageVia::Npiv => crate::backend::hmc::listing::NPIV_SERVER,
    }
}

/// `mkvdev -vdev hdiskN -vadapter vhostN`: the disk (a LUN the VIOS sees) mapped to the
/// adapter's client; refused when it is mapped already elsewhere.
/// The LUN of `vios`'s disk `disk`, or the VIOS's refusal of a device it does not have.
fn disk_lun(f: &SimFrame, vios: &ViosName, disk: &DeviceName) -> Result<Lun, BackendError> {
    f.hw.vios
        .iter()
        .find(|h| &h.name == vios)
        .and_then(|h| h.disks.iter().find(|d| &d.name == disk))
        .map(|d| d.lun.clone())
        .ok_or_else(|| refused(format!("Device \"{disk}\" is not in AVAILABLE state on {vios}.")))
}

pub(crate) fn map_disk(
    f: &mut SimFrame,
    vios: &ViosName,
    disk: &DeviceName,
    adapter: &DeviceName,
) -> Result<String, BackendError> {
    let lun = disk_lun(f, vios, disk)?;
    let v = running_vios(f, vios)?;
    if let Some(other) = v.storage.iter().find(|a| a.luns.contains(&lun)) {
        if other.device.as_ref() == Some(adapter) {
            return Ok(format!("{disk} is already mapped to {adapter}"));
        }
        return Err(refused(format!("Device \"{disk}\" is already in use (mapped to {}).", other.client)));
    }
    let a = adapter_mut(v, vios, adapter, StorageVia::Vscsi)?;
    a.luns.push(lun.clone());
    let client = a.client.clone();
    mapped(f, &client, Some(&lun));
    Ok(format!("vtscsi for {disk} Available"))
}

/// `rmvdev -vdev hdiskN`.
pub(crate) fn unmap_disk(f: &mut SimFrame, vios: &ViosName, disk: &DeviceName) -> Result<String, BackendError> {
    let lun = disk_lun(f, vios, disk);
    let v = running_vios(f, vios)?;
    let lun = lun?;
    let Some(a) = v.storage.iter_mut().find(|a| a.luns.contains(&lun)) else {
        return Err(refused(format!("There is no virtual target device for {disk} on {vios}.")));
    };
    a.luns.retain(|l| l != &lun);
    let client = a.client.clone();
    mapped(f, &client, None);
    Ok(format!("the virtual target device of {disk} deleted"))
}

/// VIOS `chdev -dev hdiskN -attr reserve_policy=no_reserve`: lifts the disk's SCSI reserve. A
/// disk mapped to a client is open, and the change is refused as busy: the VIOS chdev man page
/// ("Some changes may not be allowed when the device is in the Available state", `-perm` for a
/// device in use; tests/fixtures/hmc/README.md, "Reserve policy"), in the words of AIX's device
/// method (0514-062).
pub(crate) fn set_no_reserve(f: &mut SimFrame, vios: &ViosName, disk: &DeviceName) -> Result<String, BackendError> {
    let lun = disk_lun(f, vios, disk)?;
    let v = running_vios(f, vios)?;
    if v.storage.iter().any(|a| a.luns.contains(&lun)) {
        return Err(refused(format!(
            "Method error (/usr/lib/methods/chgdisk):\n        0514-062 Cannot perform the requested function because the\n                 specified device is busy.\n({disk} on {vios} is mapped to a client)"
        )));
    }
    if let Some(d) =
        f.hw.vios.iter_mut().find(|h| &h.name == vios).and_then(|h| h.disks.iter_mut().find(|d| &d.name == disk))
    {
        d.reserve_policy = powerplane_model::manifest::ReservePolicy::NoReserve;
    }
    Ok(format!("{disk} changed"))
}

/// `vfcmap -vadapter vfchostN -fcp fcsN` (`port` `None`: an empty `-fcp`, which unmaps).
pub(crate) fn map_npiv(
    f: &mut SimFrame,
    vios: &ViosName,
    adapter: &DeviceName,
    port: Option<&DeviceName>,
) -> Result<String, BackendError> {
    if let Some(p) = port
        && !FC_PORTS.contains(&p.as_str())
    {
        return Err(refused(format!("Device \"{p}\" is not an NPIV-capable fibre channel port of {vios}.")));
    }
    let v = running_vios(f, vios)?;
    let a = adapter_mut(v, vios, adapter, StorageVia::Npiv)?;
    a.fc_port = port.cloned();
    let client = a.client.clone();
    mapped(f, &client, None);
    Ok(match port {
        Some(p) => format!("{adapter} mapped to {p}"),
        None => format!("{adapter} unmapped"),
    })
}

/// After a mapping changed: the client's storage as it sees it (every vSCSI LUN mapped to it,
/// then its NPIV LUNs), and its boot disk, the first disk ever mapped to it when it had none.
fn mapped(f: &mut SimFrame, client: &PartitionName, lun: Option<&Lun>) {
    let mut vscsi: Vec<StorageSpec> = Vec::new();
    for v in f.vios.values() {
        for a in v.storage.iter().filter(|a| &a.client == client) {
            for l in &a.luns {
                let s = StorageSpec { lun: l.clone(), via: StorageVia::Vscsi };
                if !vscsi.contains(&s) {
                    vscsi.push(s);
                }
            }
        }
    }
    let Some(p) = f.partitions.get_mut(client) else { return };
    if p.boot.is_none()
        && let Some(l) = lun
    {
        p.boot = Some(l.clone());
    }
    let npiv: Vec<StorageSpec> = p.spec.storage.iter().filter(|s| s.via == StorageVia::Npiv).cloned().collect();
    p.spec.storage = vscsi.into_iter().chain(npiv).collect();
}

/// Why `client` cannot boot: it has storage adapters and its boot disk is mapped on no VIOS
/// (its first vSCSI disk; an NPIV adapter mapped to a port counts when it has no vSCSI boot
/// disk). `None`: it boots.
pub(crate) fn no_boot_disk(f: &SimFrame, client: &PartitionName) -> Option<String> {
    let p = f.partitions.get(client)?;
    if p.client_adapters.is_empty() {
        return None;
    }
    let adapters: Vec<&ServerAdapter> =
        f.vios.values().flat_map(|v| &v.storage).filter(|a| &a.client == client).collect();
    let ok = match &p.boot {
        Some(lun) => adapters.iter().any(|a| a.luns.contains(lun)),
        None => adapters.iter().any(|a| a.carries_disks()),
    };
    if ok {
        return None;
    }
    Some(match &p.boot {
        Some(lun) => format!("its boot disk (LUN {lun}) is mapped to it on no VIOS"),
        None => "no disk is mapped to it on any VIOS".to_owned(),
    })
}

/// After `chsysstate -o on`: the partition waits in its SMS menu when it has no boot disk.
pub(crate) fn stuck_in_sms(s: &SimState, frame: &FrameName, client: &PartitionName) -> Option<String> {
    let f = s.frames.get(frame)?;
    let p = f.partitions.get(client)?;
    if p.state != LparState::OpenFirmware {
        return None;
    }
    let why = no_boot_disk(f, client).unwrap_or_else(|| "it found no bootable disk".to_owned());
    Some(format!(
        "{client} is in Open Firmware (its firmware's SMS menu), not Running: {why}. Map its boot disk on a VIOS (mkvdev -vdev hdiskN -vadapter vhostN), then restart it (chsysstate -m {} -r lpar -o shutdown --immed -n {}, then -o on)",
        frame.word(),
        client.word()
    ))
}

/// A partition created by `mksyscfg -r lpar` with these client adapters and, through the
/// simulator's own backend, its manifest's storage (its first LUN is its boot disk).
pub(crate) fn created(f: &mut SimFrame, client: &PartitionName, adapters: &[ClientAdapter]) {
    if let Some(p) = f.partitions.get_mut(client) {
        p.client_adapters = adapters.to_vec();
        p.boot = powerplane_model::storage::boot_disk(&p.spec.storage)
            .filter(|s| s.via == StorageVia::Vscsi)
            .map(|s| s.lun.clone());
    }
}

/// An inventory's (or a twin's) partition with `storage`: wired as powerplane would, at once
/// (client adapters, a configured server adapter on each VIOS, every LUN the VIOS sees mapped,
/// NPIV to `fcs0`).
pub(crate) fn realise(f: &mut SimFrame, client: &PartitionName, storage: &[StorageSpec]) {
    if storage.is_empty() {
        return;
    }
    let vias: Vec<StorageVia> = storage.iter().map(|s| s.via).collect();
    wire(f, client, &vias, storage);
}

/// [`realise`] for the adapter kinds in `vias`: an adapter of a kind with no LUN in `storage`
/// is created with nothing mapped (a migrated partition's adapter whose source had no mapping).
fn wire(f: &mut SimFrame, client: &PartitionName, vias: &[StorageVia], storage: &[StorageSpec]) {
    let vios: Vec<ViosName> = f.hw.vios.iter().map(|h| h.name.clone()).collect();
    let network = f.partitions.get(client).map_or(0, |p| p.spec.network.len());
    let mut slot = powerplane_model::storage::first_client_slot(network);
    let mut clients = Vec::new();
    for via in [StorageVia::Vscsi, StorageVia::Npiv] {
        if !vias.contains(&via) {
            continue;
        }
        for v in &vios {
            let used = used_slots(f, v);
            let server_slot = used
                .iter()
                .copied()
                .filter(|s| *s >= powerplane_model::storage::FIRST_SERVER_SLOT)
                .max()
                .map_or(powerplane_model::storage::FIRST_SERVER_SLOT, |s| s + 1);
            let disks = f.hw.vios.iter().find(|h| &h.name == v).map(|h| h.disks.clone()).unwrap_or_default();
            let Some(sv) = f.vios.get_mut(v) else { continue };
            let used: Vec<DeviceName> =
                sv.storage.iter().filter(|a| a.via == via).filter_map(|a| a.device.clone()).collect();
            sv.storage.push(ServerAdapter {
                via,
                slot: server_slot,
                device: Some(next_server_device(via, &used)),
                client: client.clone(),
                client_slot: slot,
                luns: match via {
                    StorageVia::Vscsi => storage
                        .iter()
                        .filter(|s| s.via == via && disks.iter().any(|d| d.lun == s.lun))
                        .map(|s| s.lun.clone())
                        .collect(),
                    StorageVia::Npiv => Vec::new(),
                },
                fc_port: (via == StorageVia::Npiv).then(|| DeviceName::new(FC_PORTS[0]).expect("valid")),
            });
            clients.push(ClientAdapter { via, slot, vios: v.clone(), server_slot });
            slot += 1;
        }
    }
    if let Some(p) = f.partitions.get_mut(client) {
        p.client_adapters = clients;
        p.boot =
            powerplane_model::storage::boot_disk(storage).filter(|s| s.via == StorageVia::Vscsi).map(|s| s.lun.clone());
    }
}

/// A migration ended: the client's server adapters leave the source's VIOS and are created on
/// the target's, with the same LUNs mapped where the target's VIOS see them (what LPM does).
/// Every client adapter moves, mapped or not: none is left pointing at the source's VIOS.
pub(crate) fn migrated(s: &mut SimState, client: &PartitionName, from: &FrameName, to: &FrameName) {
    let mut storage: Vec<StorageSpec> = Vec::new();
    let mut vias: Vec<StorageVia> = Vec::new();
    if let Some(src) = s.frames.get_mut(from) {
        for v in src.vios.values_mut() {
            for a in v.storage.iter().filter(|a| &a.client == client) {
                if !vias.contains(&a.via) {
                    vias.push(a.via);
                }
                for l in &a.luns {
                    let st = StorageSpec { lun: l.clone(), via: StorageVia::Vscsi };
                    if !storage.contains(&st) {
                        storage.push(st);
                    }
                }
            }
            v.storage.retain(|a| &a.client != client);
        }
    }
    let Some(dst) = s.frames.get_mut(to) else { return };
    let Some(p) = dst.partitions.get(client) else { return };
    let boot = p.boot.clone();
    vias.extend(p.client_adapters.iter().map(|c| c.via));
    storage.extend(p.spec.storage.iter().filter(|s| s.via == StorageVia::Npiv).cloned());
    vias.extend(storage.iter().map(|s| s.via));
    if vias.is_empty() {
        return;
    }
    wire(dst, client, &vias, &storage);
    if let Some(p) = dst.partitions.get_mut(client)
        && boot.is_some()
    {
        p.boot = boot;
    }
}

/// A state saved before storage was modelled has partitions with `storage` and no adapters:
/// each is wired as an inventory's partition is ([`realise`]). A partition whose server
/// adapters were saved without its client adapters (the upgrade reaches the store piecemeal,
/// with later changes) gets them back from its server adapters. Idempotent: every load runs it.
pub(crate) fn upgrade(s: &mut SimState) {
    for f in s.frames.values_mut() {
        let bare: Vec<(PartitionName, Vec<StorageSpec>)> = f
            .partitions
            .iter()
            .filter(|(_, p)| !p.is_shell() && p.client_adapters.is_empty() && !p.spec.storage.is_empty())
            .map(|(n, p)| (n.clone(), p.spec.storage.clone()))
            .collect();
        for (n, storage) in bare {
            let served: Vec<ClientAdapter> = f
                .vios
                .iter()
                .flat_map(|(v, sv)| sv.storage.iter().map(move |a| (v, a)))
                .filter(|(_, a)| a.client == n)
                .map(|(v, a)| ClientAdapter { via: a.via, slot: a.client_slot, vios: v.clone(), server_slot: a.slot })
                .collect();
            if served.is_empty() {
                realise(f, &n, &storage);
            } else if let Some(p) = f.partitions.get_mut(&n) {
                let mut served = served;
                served.sort_by_key(|c| c.slot);
                p.client_adapters = served;
            }
        }
    }
}

/// The VIOS is activated from its profile: server adapters added by DLPAR and never saved to it
/// are gone, and with them their mappings (the seeds' reason to save a VIOS profile after a
/// DLPAR change: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, lines 1074-1081).
pub(crate) fn activated(f: &mut SimFrame, vios: &ViosName) {
    let Some(v) = f.vios.get_mut(vios) else { return };
    let lost: Vec<u16> = std::mem::take(&mut v.unsaved_slots);
    let clients: Vec<PartitionName> =
        v.storage.iter().filter(|a| lost.contains(&a.slot)).map(|a| a.client.clone()).collect();
    v.storage.retain(|a| !lost.contains(&a.slot));
    for c in clients {
        mapped(f, &c, None);
    }
}
