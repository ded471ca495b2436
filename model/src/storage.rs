//! A partition's storage as the hypervisor wires it: a virtual SCSI or virtual fibre channel
//! **client adapter** in the partition's profile, paired with a **server adapter** in one VIOS
//! (`vhostN` for virtual SCSI, `vfchostN` for NPIV) by slot numbers on both sides, and on the
//! VIOS the **mapping**: a disk (`hdiskN`, found by its LUN) mapped to the `vhost`
//! (`mkvdev -vdev hdiskN -vadapter vhostN`), or the `vfchost` mapped to a physical fibre channel
//! port (`vfcmap -vadapter vfchostN -fcp fcsN`), whose LUNs the SAN zones to the client's own
//! WWPNs. A partition is served by both VIOS of its frame's pair (one adapter pair to each), so
//! that either VIOS can go down.
//!
//! Sources (tests/fixtures/hmc/README.md, "Storage provisioning"): IBM's `mksyscfg`/`chhwres`
//! man pages; the profile attribute forms `virtual_scsi_adapters=slot/client//VIOS/remote_slot/1`
//! and `virtual_fc_adapters=slot/client//VIOS/remote_slot//0` (public build scripts); the HMC's
//! `lshwres -r virtualio --rsubtype scsi --level lpar` listing
//! (`tests/fixtures/hmc/lshwres-r-virtualio-rsubtype-scsi-level-lpar.power5-v7.txt`).

use serde::{Deserialize, Serialize};

use crate::manifest::{StorageSpec, StorageVia};
use crate::names::{DeviceName, Lun, PartitionName, ViosName};

/// The first server adapter slot powerplane uses on a VIOS: below it are the VIOS's own
/// adapters (its virtual serial adapters in 0 and 1, its trunk adapters). An assumption of
/// ours, a common convention, not an HMC rule: any free slot below the VIOS's
/// `max_virtual_slots` works.
pub const FIRST_SERVER_SLOT: u16 = 100;

/// The first client adapter slot of a partition powerplane creates, unless its virtual
/// ethernet adapters (from slot 2 on) reach further.
pub const FIRST_CLIENT_SLOT: u16 = 10;

/// A server adapter on a VIOS and what is mapped to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServerAdapter {
    /// Virtual SCSI (`vhostN`) or virtual fibre channel (`vfchostN`).
    pub via: StorageVia,
    /// Its virtual slot on the VIOS.
    pub slot: u16,
    /// The device the VIOS configured for it; `None` until `cfgdev` ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<DeviceName>,
    /// The client partition it serves (`remote_lpar_name`).
    pub client: PartitionName,
    /// The client adapter's slot (`remote_slot_num`).
    pub client_slot: u16,
    /// Virtual SCSI: the LUNs of the disks mapped to it, in mapping order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub luns: Vec<Lun>,
    /// NPIV: the physical fibre channel port it is mapped to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fc_port: Option<DeviceName>,
}

impl ServerAdapter {
    /// Whether a disk reaches the client through it: a LUN mapped, or an NPIV port.
    pub fn carries_disks(&self) -> bool {
        !self.luns.is_empty() || self.fc_port.is_some()
    }
}

/// What one VIOS has for client storage.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ViosStorage {
    /// Its server adapters, by slot.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub adapters: Vec<ServerAdapter>,
    /// Every virtual slot it uses (its own adapters included), so that a new adapter takes a
    /// free one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub used_slots: Vec<u16>,
    /// Its physical fibre channel ports (`fcsN`), which NPIV maps to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fc_ports: Vec<DeviceName>,
}

impl ViosStorage {
    /// The server adapter of kind `via` serving `client`, if any.
    pub fn adapter_for(&self, client: &PartitionName, via: StorageVia) -> Option<&ServerAdapter> {
        self.adapters.iter().find(|a| &a.client == client && a.via == via)
    }

    /// Whether this VIOS maps `disk` to `client`: the LUN on its virtual SCSI server adapter,
    /// or its NPIV server adapter mapped to a fibre channel port (the client's WWPNs then see
    /// the LUNs the SAN zones to them).
    pub fn maps(&self, client: &PartitionName, disk: &StorageSpec) -> bool {
        self.adapter_for(client, disk.via).is_some_and(|a| match disk.via {
            StorageVia::Vscsi => a.luns.contains(&disk.lun),
            StorageVia::Npiv => a.fc_port.is_some(),
        })
    }

    /// The device names of kind `via` in use.
    pub fn devices(&self, via: StorageVia) -> impl Iterator<Item = &DeviceName> {
        self.adapters.iter().filter(move |a| a.via == via).filter_map(|a| a.device.as_ref())
    }
}

/// A client adapter in a partition's profile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClientAdapter {
    /// Virtual SCSI or virtual fibre channel.
    pub via: StorageVia,
    /// Its slot in the partition.
    pub slot: u16,
    /// The VIOS it is paired with (`remote_lpar_name`).
    pub vios: ViosName,
    /// The server adapter's slot on that VIOS (`remote_slot_num`).
    pub server_slot: u16,
}

/// The device prefix of a server adapter: `vhost` or `vfchost`.
pub fn server_prefix(via: StorageVia) -> &'static str {
    match via {
        StorageVia::Vscsi => "vhost",
        StorageVia::Npiv => "vfchost",
    }
}

/// The `--rsubtype` of an adapter: `scsi` or `fc`.
pub fn rsubtype(via: StorageVia) -> &'static str {
    match via {
        StorageVia::Vscsi => "scsi",
        StorageVia::Npiv => "fc",
    }
}

/// The name the VIOS's configuration manager gives the next server adapter of kind `via`: the
/// lowest number not in `used` (AIX names a new device instance with the lowest free number).
pub fn next_server_device<'a>(via: StorageVia, used: impl IntoIterator<Item = &'a DeviceName>) -> DeviceName {
    let prefix = server_prefix(via);
    let taken: std::collections::BTreeSet<u32> =
        used.into_iter().filter_map(|d| d.as_str().strip_prefix(prefix)?.parse().ok()).collect();
    let n = (0..).find(|n| !taken.contains(n)).expect("a free number");
    DeviceName::new(format!("{prefix}{n}")).expect("a valid device name")
}

/// The partition's boot disk: the first entry of its `storage`. powerplane maps it first, so
/// that it is the first virtual target device of its adapter (LUN `0x81…`, the client's
/// `hdisk0`, where AIX installs and boots by default); a partition activated without it mapped
/// stops in its firmware's SMS menu (`Open Firmware`).
pub fn boot_disk(storage: &[StorageSpec]) -> Option<&StorageSpec> {
    storage.first()
}

/// The client slots a partition created with `network` virtual ethernet adapters (slots 2 on)
/// gives its storage adapters: from [`FIRST_CLIENT_SLOT`] (or past its ethernet adapters), one
/// per VIOS and kind, virtual SCSI first.
pub fn first_client_slot(network: usize) -> u16 {
    FIRST_CLIENT_SLOT.max(2 + network as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_take_the_lowest_free_number() {
        let used = [DeviceName::new("vhost0").unwrap(), DeviceName::new("vhost2").unwrap()];
        assert_eq!(next_server_device(StorageVia::Vscsi, &used).as_str(), "vhost1");
        assert_eq!(next_server_device(StorageVia::Npiv, &used).as_str(), "vfchost0");
        assert_eq!(first_client_slot(1), 10);
        assert_eq!(first_client_slot(12), 14);
    }
}
