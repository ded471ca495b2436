//! What the emulated HMC lists of virtual storage: the server adapters of a VIOS, its vSCSI
//! and NPIV mappings (`lsmap`), and `lshwres -r virtualio --rsubtype scsi|fc` rows.

use super::listings::{Row, adapter_columns, id_of, lpar_ids};
use powerplane_model::manifest::StorageVia;

use powerplane_model::ViosName;

use crate::sim::state::SimFrame;

/// A VIOS's server adapters, by slot.
pub(super) fn server_adapters<'f>(
    f: &'f SimFrame,
    vios: &ViosName,
) -> Vec<&'f powerplane_model::storage::ServerAdapter> {
    let mut v: Vec<_> = f.vios.get(vios).map(|v| v.storage.iter().collect()).unwrap_or_default();
    v.sort_by_key(|a| a.slot);
    v
}

/// `lsmap -all -type disk -field [svsa] clientid backing -fmt :`: each configured vhost, its
/// client's id (0 while the client does not run), and the disks mapped to it.
pub(super) fn vscsi_map(
    f: &SimFrame,
    hw: &powerplane_model::manifest::ViosHardwareSpec,
    vios: &ViosName,
    svsa: bool,
) -> Vec<String> {
    let mut lines = Vec::new();
    for a in server_adapters(f, vios).into_iter().filter(|a| a.via == StorageVia::Vscsi) {
        let Some(d) = &a.device else { continue };
        let running = f.partitions.get(&a.client).is_some_and(|p| !p.is_shell() && p.state.is_running());
        let id = if running { id_of(f, a.client.as_str()) } else { 0 };
        let mut fields = Vec::new();
        if svsa {
            fields.push(d.to_string());
        }
        fields.push(format!("0x{id:08x}"));
        for lun in &a.luns {
            if let Some(disk) = hw.disks.iter().find(|k| &k.lun == lun) {
                fields.push(disk.name.to_string());
            }
        }
        lines.push(fields.join(":"));
    }
    lines
}

/// `lshwres -r virtualio --rsubtype scsi|fc -m SYS --level lpar`: each running VIOS's server
/// adapters, then each partition's client adapters, with the attributes of the recorded listing
/// (tests/fixtures/hmc/lshwres-r-virtualio-rsubtype-scsi-level-lpar.power5-v7.txt; for fc, the
/// same and `wwpns`).
pub(crate) fn virtual_storage(f: &SimFrame, via: StorageVia) -> Vec<Row> {
    let row = |lpar: String, id: u32, slot: u16, kind: &str, remote: &str, remote_slot: u16| {
        let mut r = adapter_columns(lpar, id, slot);
        r.extend([
            ("adapter_type", kind.to_owned()),
            ("remote_lpar_id", id_of(f, remote).to_string()),
            ("remote_lpar_name", remote.to_owned()),
            ("remote_slot_num", remote_slot.to_string()),
        ]);
        if via == StorageVia::Npiv && kind == "client" {
            r.push((
                "wwpns",
                format!("c0507601{:08x},c0507601{:08x}", id * 1000 + u32::from(slot), id * 1000 + u32::from(slot) + 1),
            ));
        }
        r
    };
    let mut rows = Vec::new();
    for h in &f.hw.vios {
        let Some(v) = f.vios.get(&h.name).filter(|v| v.state.is_running()) else { continue };
        let id = id_of(f, h.name.as_str());
        let mut adapters: Vec<_> = v.storage.iter().filter(|a| a.via == via).collect();
        adapters.sort_by_key(|a| a.slot);
        for a in adapters {
            rows.push(row(h.name.to_string(), id, a.slot, "server", a.client.as_str(), a.client_slot));
        }
    }
    for (n, id, p) in lpar_ids(f) {
        let Some(p) = p.filter(|p| !p.is_shell()) else { continue };
        for c in p.client_adapters.iter().filter(|c| c.via == via) {
            rows.push(row(n.clone(), id, c.slot, "client", c.vios.as_str(), c.server_slot));
        }
    }
    rows
}
