//! **A partition's storage is wired the way an administrator wires it by hand, VIOS side
//! before the client starts, unmapped before it is deleted.** A partition created with
//! `storage` gets its client adapters in its profile (one virtual SCSI adapter to each VIOS of
//! its frame when it has vSCSI LUNs, one virtual fibre channel adapter to each when it has NPIV
//! ones); then on each running VIOS a server adapter paired with it is added by DLPAR
//! (`chhwres -r virtualio --rsubtype scsi|fc -o a -s SLOT`), `cfgdev` names it (`vhostN`,
//! `vfchostN`), each vSCSI LUN the VIOS sees is mapped (`mkvdev -vdev hdiskN -vadapter vhostN`,
//! the disk found by its LUN on that VIOS, the boot disk first) and the NPIV adapter is mapped
//! to the VIOS's first fibre channel port (`vfcmap`), and the VIOS's profile is saved so that
//! its next activation keeps the adapters. Only then does the partition start. For a partition
//! that exists, a mapping removed by hand is planned back (and a server adapter that went
//! missing, in the slot its client adapter names), and a vSCSI mapping of a LUN its manifest no
//! longer lists is removed. A partition deleted by prune is unmapped and its server adapters
//! are removed (and the VIOS profiles saved) before `rmsyscfg`.
//!
//! Slots: server adapters take the slots after the highest one a VIOS uses, from
//! [`crate::storage::FIRST_SERVER_SLOT`] on, one after the other in plan order, so that the
//! names `cfgdev` gives (the lowest free `vhostN`, in slot order) are known when the plan is
//! made; the adapters of one VIOS are added one after the other for the same reason. A
//! partition in `Open Firmware` whose boot disk (its first `storage` entry,
//! [`crate::storage::boot_disk`]) is not mapped waits in its SMS menu: that is reported as
//! deferred, never read as converged.
//!
//! Sources: tests/fixtures/hmc/README.md, "Storage provisioning". Frames whose VIOS storage the
//! backend does not report (`Status::vios_storage`) get none of this.

use std::collections::{BTreeMap, BTreeSet};

use super::Planner;
use crate::action::Op;
use crate::estate::Partition;
use crate::manifest::{Kind, RunState, StorageVia};
use crate::names::{DeviceName, FrameName, Lun, PartitionName, ViosName};
use crate::plan::change::{ChangeKind, FieldChange};
use crate::plan::step::Phase;
use crate::status::LparState;
use crate::storage::{ClientAdapter, FIRST_SERVER_SLOT, ServerAdapter, ViosStorage, next_server_device};

/// What the plan has taken of one VIOS so far: slots, device names, and the last adapter
/// added (the next one waits for it).
#[derive(Default)]
pub(super) struct ViosClaims {
    slots: BTreeSet<u16>,
    devices: BTreeSet<DeviceName>,
    /// The name `cfgdev` will give each adapter not yet configured, by slot.
    predicted: BTreeMap<u16, DeviceName>,
    last_add: Option<usize>,
}

/// The VIOS side of one client on one VIOS, to plan.
struct Side<'s> {
    frame: &'s FrameName,
    vios: &'s ViosName,
    client: &'s PartitionName,
    object: &'s str,
    deps: Vec<usize>,
}

impl Planner<'_, '_> {
    /// The frame's VIOS storage, when its backend reports it.
    /// Whether a partition in `Open Firmware` on `frame` is one [`Self::open_firmware`] defers:
    /// wanted running, with a boot disk, on a frame whose storage is observed.
    pub(super) fn storage_defers_open_firmware(&self, name: &PartitionName, frame: &FrameName) -> bool {
        self.frame_storage(frame).is_some()
            && self.desired.partitions.get(name).is_some_and(|dp| {
                dp.spec.state == RunState::Running && crate::storage::boot_disk(&dp.spec.storage).is_some()
            })
    }

    fn frame_storage(&self, frame: &FrameName) -> Option<&BTreeMap<ViosName, ViosStorage>> {
        self.observed.status.vios_storage.get(frame)
    }

    /// The frame's VIOS, in the hardware's order.
    pub(super) fn frame_vios(&self, frame: &FrameName) -> Vec<ViosName> {
        self.observed_index
            .hardware(frame)
            .map(|h| h.spec.vios.iter().map(|v| v.name.clone()).collect())
            .unwrap_or_default()
    }

    /// A VIOS that runs now, or that this plan starts (then `deps` wait for it); `None` when
    /// it does not run, or stops in this plan.
    fn vios_usable(&self, frame: &FrameName, vios: &ViosName) -> Option<Vec<usize>> {
        let key = (frame.clone(), vios.clone());
        if self.vios_stopping.contains(&key) {
            return None;
        }
        let ready = self.vios_ready.get(&key).cloned().unwrap_or_default();
        (self.vios_running_now(frame, vios) || !ready.is_empty()).then_some(ready)
    }

    fn claims(&mut self, frame: &FrameName, vios: &ViosName) -> &mut ViosClaims {
        let observed = self.observed.status.vios_storage.get(frame).and_then(|m| m.get(vios)).cloned();
        self.storage_claims.entry((frame.clone(), vios.clone())).or_insert_with(|| {
            let vs = observed.unwrap_or_default();
            let mut c = ViosClaims { slots: vs.used_slots.iter().copied().collect(), ..Default::default() };
            c.slots.extend(vs.adapters.iter().map(|a| a.slot));
            c.devices.extend(vs.adapters.iter().filter_map(|a| a.device.clone()));
            // Adapters added but not configured yet get their names from the next cfgdev, in
            // slot order.
            let mut pending: Vec<&ServerAdapter> = vs.adapters.iter().filter(|a| a.device.is_none()).collect();
            pending.sort_by_key(|a| a.slot);
            for a in pending {
                let d = next_server_device(a.via, c.devices.iter());
                c.devices.insert(d.clone());
                c.predicted.insert(a.slot, d);
            }
            c
        })
    }

    /// A new server slot on the VIOS, after every slot it uses.
    fn new_server_slot(&mut self, frame: &FrameName, vios: &ViosName) -> u16 {
        let c = self.claims(frame, vios);
        let slot = c.slots.iter().next_back().map_or(FIRST_SERVER_SLOT, |s| (*s + 1).max(FIRST_SERVER_SLOT));
        c.slots.insert(slot);
        slot
    }

    /// Adds a server adapter in `slot` and returns the step and the name cfgdev will give it.
    fn add_server(&mut self, side: &Side<'_>, via: StorageVia, slot: u16, client_slot: u16) -> (usize, DeviceName) {
        let c = self.claims(side.frame, side.vios);
        c.slots.insert(slot);
        let device = next_server_device(via, c.devices.iter());
        c.devices.insert(device.clone());
        c.predicted.insert(slot, device.clone());
        let prev = c.last_add;
        let op = Op::AddServerAdapter {
            frame: side.frame.clone(),
            vios: side.vios.clone(),
            via,
            slot,
            client: side.client.clone(),
            client_slot,
            device: device.clone(),
        };
        let why = format!(
            "{}: a {} server adapter for it on {} (slot {slot}, paired with its slot {client_slot}), by DLPAR",
            side.object,
            kind_name(via),
            side.vios
        );
        let i = self.push(op, why, side.deps.iter().copied().chain(prev).collect(), Phase::Grow);
        self.claims(side.frame, side.vios).last_add = Some(i);
        (i, device)
    }

    /// The client adapters of a partition created on `target` with `dp`'s storage: one per
    /// VIOS of the frame and kind, each paired with a server slot claimed now. Empty when the
    /// frame's VIOS storage is not reported or the partition has no storage.
    pub(super) fn client_layout(&mut self, dp: &Partition, target: &FrameName) -> Vec<ClientAdapter> {
        if self.frame_storage(target).is_none() || dp.spec.storage.is_empty() {
            return Vec::new();
        }
        let kinds: Vec<StorageVia> = [StorageVia::Vscsi, StorageVia::Npiv]
            .into_iter()
            .filter(|k| dp.spec.storage.iter().any(|s| s.via == *k))
            .collect();
        let mut slot = crate::storage::first_client_slot(dp.spec.network.len());
        let mut out = Vec::new();
        for via in kinds {
            for v in self.frame_vios(target) {
                let server_slot = self.new_server_slot(target, &v);
                out.push(ClientAdapter { via, slot, vios: v, server_slot });
                slot += 1;
            }
        }
        out
    }

    /// The VIOS side of a partition created with `adapters` by step `create`: each running
    /// VIOS's server adapters, cfgdev, mappings and profile save. Returns the steps its
    /// activation waits for.
    pub(super) fn provision_new(
        &mut self,
        object: &str,
        name: &PartitionName,
        dp: &Partition,
        target: &FrameName,
        adapters: &[ClientAdapter],
        create: usize,
    ) -> Vec<usize> {
        let mut ready = Vec::new();
        for v in self.frame_vios(target) {
            let Some(vdeps) = self.vios_usable(target, &v) else { continue };
            let side = Side {
                frame: target,
                vios: &v,
                client: name,
                object,
                deps: vdeps.into_iter().chain([create]).collect(),
            };
            let mut adds = Vec::new();
            let mut devices = Vec::new();
            for ca in adapters.iter().filter(|c| c.vios == v) {
                let (i, d) = self.add_server(&side, ca.via, ca.server_slot, ca.slot);
                adds.push(i);
                devices.push((ca.via, d));
            }
            if adds.is_empty() {
                continue;
            }
            let cfg = self.push(
                Op::ConfigureDevices { frame: target.clone(), vios: v.clone() },
                format!("{object}: cfgdev on {v} configures its new server adapters"),
                adds.clone(),
                Phase::Grow,
            );
            let mut maps = self.map_all(&side, dp, &devices, &[], vec![cfg]);
            maps.extend(adds);
            ready.push(self.save_vios(target, &v, object, maps.clone(), Phase::Grow));
            ready.extend(maps);
        }
        ready
    }

    /// The mappings a client needs on one VIOS and lacks (`have`: LUNs mapped already), after
    /// `after`: its vSCSI LUNs the VIOS sees, in manifest order (the boot disk first), and its
    /// NPIV adapter to the VIOS's first fibre channel port.
    fn map_all(
        &mut self,
        side: &Side<'_>,
        dp: &Partition,
        devices: &[(StorageVia, DeviceName)],
        have: &[Lun],
        after: Vec<usize>,
    ) -> Vec<usize> {
        let mut out = Vec::new();
        let mut prev = after.clone();
        let disks =
            self.observed_index.vios_hardware(side.frame, side.vios).map(|h| h.disks.clone()).unwrap_or_default();
        for (via, adapter) in devices {
            match via {
                StorageVia::Vscsi => {
                    for st in dp.spec.storage.iter().filter(|s| s.via == StorageVia::Vscsi && !have.contains(&s.lun)) {
                        let Some(d) = disks.iter().find(|d| d.lun == st.lun) else { continue };
                        let op = Op::MapDisk {
                            frame: side.frame.clone(),
                            vios: side.vios.clone(),
                            disk: d.name.clone(),
                            lun: st.lun.clone(),
                            adapter: adapter.clone(),
                            client: side.client.clone(),
                        };
                        let why = format!(
                            "{}: LUN {} ({} on {}) mapped to {adapter}",
                            side.object, st.lun, d.name, side.vios
                        );
                        // One after the other: the first mapped is the client's first disk.
                        let i = self.push(op, why, prev, Phase::Grow);
                        prev = vec![i];
                        out.push(i);
                    }
                }
                StorageVia::Npiv => {
                    let ports = self
                        .frame_storage(side.frame)
                        .and_then(|m| m.get(side.vios))
                        .map(|v| v.fc_ports.clone())
                        .unwrap_or_default();
                    let Some(port) = ports.first() else {
                        self.errors.push(format!(
                            "{}: {} has no fibre channel port to map its NPIV adapter {adapter} to; give the VIOS an NPIV-capable port (lsnports)",
                            side.object, side.vios
                        ));
                        continue;
                    };
                    let op = Op::MapNpiv {
                        frame: side.frame.clone(),
                        vios: side.vios.clone(),
                        adapter: adapter.clone(),
                        port: port.clone(),
                        client: side.client.clone(),
                    };
                    let why = format!("{}: {adapter} on {} mapped to {port} (NPIV)", side.object, side.vios);
                    out.push(self.push(op, why, after.clone(), Phase::Grow));
                }
            }
        }
        out
    }

    /// The VIOS's profile saved after `deps`, so that its next activation keeps the adapters.
    fn save_vios(&mut self, frame: &FrameName, vios: &ViosName, object: &str, deps: Vec<usize>, phase: Phase) -> usize {
        let profile = self.observed.status.vios_profile(frame, vios);
        self.push(
            Op::SaveProfile { frame: frame.clone(), vios: vios.clone(), profile },
            format!("{object}: {vios}'s profile is overwritten with its current configuration, so that its next activation keeps the server adapters"),
            deps,
            phase,
        )
    }

    /// Storage drift of the desired partitions, on the frame each is on now: mappings and
    /// server adapters planned back, vSCSI mappings of LUNs no longer listed removed, and a
    /// partition waiting in its SMS menu reported. Runs before [`Planner::partitions`], which
    /// makes an activation and a migration wait for [`Planner::storage_ready`]: a migration
    /// carries what is mapped on the source, so a partition that moves gets its mappings
    /// there first, or it would reach its target without a boot disk (seeds:
    /// lpm-js22-walkthrough.txt, lines 9-10, the mobile partition's disks are the SAN LUNs
    /// its source VIOS serve).
    pub(super) fn storage_drift(&mut self) {
        let desired: Vec<(PartitionName, Partition)> =
            self.desired.partitions.iter().map(|(n, p)| (n.clone(), p.clone())).collect();
        for (name, dp) in &desired {
            let Some(st) = self.observed.status.partitions.get(name) else { continue };
            let frame = st.frame.clone();
            if self.frame_storage(&frame).is_none() || st.migration.is_some() || !st.is_plannable() {
                continue;
            }
            let object = format!("{}/{name}", Kind::Partition);
            if st.state == LparState::OpenFirmware && dp.spec.state == RunState::Running {
                self.open_firmware(&object, name, dp, &frame);
            }
            self.partition_storage(&object, name, dp, &frame);
        }
    }

    /// A partition in `Open Firmware`: when its boot disk is mapped on no VIOS it waits in its
    /// SMS menu; deferred with the reason and what to do, never converged.
    fn open_firmware(&mut self, object: &str, name: &PartitionName, dp: &Partition, frame: &FrameName) {
        let Some(boot) = crate::storage::boot_disk(&dp.spec.storage) else { return };
        let mapped = self.frame_storage(frame).is_some_and(|m| m.values().any(|v| v.maps(name, boot)));
        if mapped {
            // Mapped now, yet not running: still activating, or waiting in its SMS menu since
            // an activation that found no boot disk. Not converged either way.
            self.deferred.push(format!(
                "{object} is in Open Firmware on {frame} with its boot disk (LUN {}) mapped: still activating, or waiting in its SMS menu since it was activated without it; if it stays there, restart it: chsysstate -m {} -r lpar -o shutdown --immed -n {}, then activate it",
                boot.lun,
                frame.word(),
                name.word()
            ));
        } else {
            self.deferred.push(format!(
                "{object} is in Open Firmware on {frame}: it was activated without its boot disk (LUN {}, {}) mapped to it on any VIOS, and waits in its SMS menu; once the mapping is there (this plan maps it), restart it: chsysstate -m {} -r lpar -o shutdown --immed -n {}, then activate it",
                boot.lun,
                kind_name(boot.via),
                frame.word(),
                name.word()
            ));
        }
    }

    /// One existing partition's storage on each usable VIOS of its frame.
    fn partition_storage(&mut self, object: &str, name: &PartitionName, dp: &Partition, frame: &FrameName) {
        let clients = self.observed.status.client_adapters.get(name).cloned().unwrap_or_default();
        let wants = |via: StorageVia| dp.spec.storage.iter().any(|s| s.via == via);
        let mut fields = Vec::new();
        let mut ready = Vec::new();
        for v in self.frame_vios(frame) {
            let Some(vdeps) = self.vios_usable(frame, &v) else { continue };
            let vs = self.frame_storage(frame).and_then(|m| m.get(&v)).cloned().unwrap_or_default();
            let disks = self.observed_index.vios_hardware(frame, &v).map(|h| h.disks.clone()).unwrap_or_default();
            let side = Side { frame, vios: &v, client: name, object, deps: vdeps };
            let mut added = Vec::new();
            let mut to_map: Vec<(StorageVia, DeviceName)> = Vec::new();
            let mut have: Vec<Lun> = Vec::new();
            let mut steps = Vec::new();
            for via in [StorageVia::Vscsi, StorageVia::Npiv] {
                let server = vs.adapter_for(name, via).cloned();
                let client = clients.iter().find(|c| c.via == via && c.vios == v);
                if !wants(via) {
                    // What the manifest no longer lists is unmapped (vSCSI LUNs below; an NPIV
                    // adapter from its port).
                    if let Some(s) = server.as_ref().filter(|s| s.fc_port.is_some())
                        && let Some(adapter) = s.device.clone()
                    {
                        let op = Op::UnmapNpiv {
                            frame: frame.clone(),
                            vios: v.clone(),
                            adapter: adapter.clone(),
                            client: name.clone(),
                        };
                        steps.push(self.push(
                            op,
                            format!("{object}: no NPIV storage in its manifest: {adapter} on {v} unmapped"),
                            side.deps.clone(),
                            Phase::Free,
                        ));
                        fields.push(field(&v, "npiv", "mapped", "unmapped"));
                    }
                    if via == StorageVia::Npiv {
                        continue;
                    }
                }
                match server {
                    None if wants(via) => {
                        let Some(c) = client else {
                            // Served through the other VIOS only (one path): said, not refused;
                            // with no path at all its storage cannot reach it.
                            let other_path = clients.iter().any(|c| c.via == via);
                            let list = if other_path { &mut self.warnings } else { &mut self.errors };
                            list.push(format!(
                                "{object}: it has no {} client adapter paired with {v}, so its {} storage cannot reach it through {v}; powerplane adds client adapters only to the partitions it creates: add one to its profile (chsyscfg -r prof ... {}+=SLOT/client//{v}/SLOT/0) and restart it",
                                kind_name(via),
                                kind_name(via),
                                match via { StorageVia::Vscsi => "virtual_scsi_adapters", StorageVia::Npiv => "virtual_fc_adapters" }
                            ));
                            continue;
                        };
                        if self.claims(frame, &v).slots.contains(&c.server_slot) {
                            self.errors.push(format!(
                                "{object}: its {} client adapter in slot {} is paired with slot {} of {v}, which another adapter uses; pair it with a free slot in its profile",
                                kind_name(via), c.slot, c.server_slot
                            ));
                            continue;
                        }
                        let (i, d) = self.add_server(&side, via, c.server_slot, c.slot);
                        added.push(i);
                        to_map.push((via, d));
                        fields.push(field(
                            &v,
                            &format!("{}.slot{}", crate::storage::rsubtype(via), c.server_slot),
                            "missing",
                            "server adapter",
                        ));
                    }
                    None => {}
                    Some(s) => {
                        let device = match &s.device {
                            Some(d) => d.clone(),
                            None => match self.claims(frame, &v).predicted.get(&s.slot).cloned() {
                                Some(d) => {
                                    let cfg = self.push(
                                        Op::ConfigureDevices { frame: frame.clone(), vios: v.clone() },
                                        format!(
                                            "{object}: cfgdev on {v} configures its server adapter in slot {}",
                                            s.slot
                                        ),
                                        side.deps.clone(),
                                        Phase::Grow,
                                    );
                                    added.push(cfg);
                                    d
                                }
                                None => continue,
                            },
                        };
                        if via == StorageVia::Vscsi {
                            let listed: Vec<&Lun> =
                                dp.spec.storage.iter().filter(|x| x.via == StorageVia::Vscsi).map(|x| &x.lun).collect();
                            for lun in s.luns.iter().filter(|l| !listed.contains(l)) {
                                let Some(d) = disks.iter().find(|d| &d.lun == lun) else { continue };
                                let op = Op::UnmapDisk {
                                    frame: frame.clone(),
                                    vios: v.clone(),
                                    disk: d.name.clone(),
                                    lun: lun.clone(),
                                    client: name.clone(),
                                };
                                steps.push(self.push(
                                    op,
                                    format!(
                                        "{object}: LUN {lun} is no longer in its manifest: {} unmapped on {v}",
                                        d.name
                                    ),
                                    side.deps.clone(),
                                    Phase::Free,
                                ));
                                fields.push(field(&v, lun.as_str(), "mapped", "unmapped"));
                            }
                            if !wants(via) {
                                continue;
                            }
                            have.extend(s.luns.iter().cloned());
                            let missing = dp.spec.storage.iter().filter(|x| {
                                x.via == StorageVia::Vscsi
                                    && !s.luns.contains(&x.lun)
                                    && disks.iter().any(|d| d.lun == x.lun)
                            });
                            for x in missing {
                                fields.push(field(&v, x.lun.as_str(), "unmapped", "mapped"));
                            }
                            to_map.push((via, device));
                        } else if s.fc_port.is_none() {
                            fields.push(field(&v, "npiv", "unmapped", "mapped"));
                            to_map.push((via, device));
                        }
                    }
                }
            }
            if to_map.is_empty() && added.is_empty() {
                ready.extend(steps);
                continue;
            }
            let adds: Vec<usize> =
                added.iter().copied().filter(|i| matches!(self.steps[*i].op, Op::AddServerAdapter { .. })).collect();
            let mut after = side.deps.clone();
            if !adds.is_empty() {
                after.push(self.push(
                    Op::ConfigureDevices { frame: frame.clone(), vios: v.clone() },
                    format!("{object}: cfgdev on {v} configures its new server adapters"),
                    adds.clone(),
                    Phase::Grow,
                ));
            } else {
                after.extend(added.iter().copied());
            }
            let mut maps = self.map_all(&side, dp, &to_map, &have, after);
            if !adds.is_empty() {
                maps.extend(adds);
                let save = self.save_vios(frame, &v, object, maps.clone(), Phase::Grow);
                maps.push(save);
            }
            ready.extend(maps);
            ready.extend(steps);
        }
        if !fields.is_empty() {
            self.change(ChangeKind::Drift, object.to_owned(), Some(frame), fields, "storage mappings");
        }
        if !ready.is_empty() {
            self.storage_ready.insert(name.clone(), ready);
        }
    }

    /// The VIOS side of a partition prune deletes, after `deps` (its stop): every mapping
    /// removed, its server adapters removed, the VIOS profiles saved. Returns the steps
    /// `rmsyscfg` waits for.
    pub(super) fn storage_teardown(
        &mut self,
        object: &str,
        name: &PartitionName,
        frame: &FrameName,
        deps: &[usize],
    ) -> Vec<usize> {
        let mut out = Vec::new();
        for v in self.frame_vios(frame) {
            let Some(vs) = self.frame_storage(frame).and_then(|m| m.get(&v)).cloned() else { continue };
            let mine: Vec<ServerAdapter> = vs.adapters.iter().filter(|a| &a.client == name).cloned().collect();
            if mine.is_empty() {
                continue;
            }
            let Some(vdeps) = self.vios_usable(frame, &v) else {
                self.warnings.push(format!(
                    "{object}: {v} does not run, so its server adapters for the partition stay behind after the deletion; remove them when it runs (chhwres -r virtualio -o r)"
                ));
                continue;
            };
            let disks = self.observed_index.vios_hardware(frame, &v).map(|h| h.disks.clone()).unwrap_or_default();
            let base: Vec<usize> = deps.iter().copied().chain(vdeps).collect();
            let mut removed = Vec::new();
            for a in &mine {
                let mut unmapped = Vec::new();
                if let Some(adapter) = &a.device {
                    for lun in &a.luns {
                        let Some(d) = disks.iter().find(|d| &d.lun == lun) else { continue };
                        let op = Op::UnmapDisk {
                            frame: frame.clone(),
                            vios: v.clone(),
                            disk: d.name.clone(),
                            lun: lun.clone(),
                            client: name.clone(),
                        };
                        unmapped.push(self.push(
                            op,
                            format!("{object} is deleted: {} unmapped from {adapter} on {v}", d.name),
                            base.clone(),
                            Phase::Delete,
                        ));
                    }
                    if a.fc_port.is_some() {
                        let op = Op::UnmapNpiv {
                            frame: frame.clone(),
                            vios: v.clone(),
                            adapter: adapter.clone(),
                            client: name.clone(),
                        };
                        unmapped.push(self.push(
                            op,
                            format!("{object} is deleted: {adapter} on {v} unmapped"),
                            base.clone(),
                            Phase::Delete,
                        ));
                    }
                }
                let op = Op::RemoveServerAdapter {
                    frame: frame.clone(),
                    vios: v.clone(),
                    via: a.via,
                    slot: a.slot,
                    client: name.clone(),
                };
                let after = if unmapped.is_empty() { base.clone() } else { unmapped };
                removed.push(self.push(
                    op,
                    format!(
                        "{object} is deleted: its {} server adapter in slot {} of {v} removed by DLPAR",
                        kind_name(a.via),
                        a.slot
                    ),
                    after,
                    Phase::Delete,
                ));
            }
            // A deletion like the rest of the teardown: after every other step of the plan.
            out.push(self.save_vios(frame, &v, object, removed, Phase::Delete));
        }
        out
    }
}

fn kind_name(via: StorageVia) -> &'static str {
    match via {
        StorageVia::Vscsi => "virtual SCSI",
        StorageVia::Npiv => "virtual fibre channel",
    }
}

fn field(vios: &ViosName, what: &str, old: &str, new: &str) -> FieldChange {
    FieldChange { path: format!("storage.{vios}.{what}"), old: Some(old.into()), new: Some(new.into()) }
}

#[cfg(test)]
mod tests {
    use crate::action::Op;
    use crate::estate::Estate;
    use crate::plan::fixture::{frame, lab_converged, lab_desired_with, partition};
    use crate::plan::{PlanOptions, apply, plan};
    use crate::status::LparState;
    use crate::storage::ViosStorage;

    const NEW: &str = "---\napiVersion: powerplane/v1\nkind: Partition\nmetadata: {name: newlpar}\nspec:\n  placement: {frame: js22_slot13}\n  state: running\n  processors: {units: 0.5}\n  memory: {desiredMB: 1024, maxMB: 2048}\n  network: [{vlan: 1}]\n  storage:\n    - {lun: 75DS81001002, via: vscsi}\n    - {lun: 75DS81001001, via: npiv}\n";

    /// The lab converged, with js22_slot13's VIOS storage reported: bvio82 uses slots 0 to 3
    /// and has the NPIV port fcs0; bxaix85 has no adapters yet.
    fn observed() -> Estate {
        let mut e = lab_converged();
        let vs =
            ViosStorage { adapters: Vec::new(), used_slots: vec![0, 1, 2, 3], fc_ports: vec!["fcs0".parse().unwrap()] };
        e.status.vios_storage.insert(frame("js22_slot13"), [("bvio82".parse().unwrap(), vs)].into());
        e
    }

    fn desired() -> Estate {
        lab_desired_with(|name, text| {
            let text = text.replace("  storage:\n    - {lun: 75DS81001000, via: vscsi}   # rootvg (invented LUN id)\n    - {lun: 75DS81001001, via: vscsi}   # sapvg  (invented LUN id)\n", "");
            if name == "js22.yaml" { format!("{text}{NEW}") } else { text }
        })
    }

    /// Every vSCSI mapping on js22_slot13's VIOS removed.
    fn unmap_all(e: &mut Estate) {
        for v in e.status.vios_storage.get_mut(&frame("js22_slot13")).unwrap().values_mut() {
            for a in &mut v.adapters {
                a.luns.clear();
            }
        }
    }

    fn kinds(p: &crate::Plan) -> Vec<String> {
        p.actions.iter().map(|a| format!("{} {}", a.kind(), a.op.command())).collect()
    }

    /// A new partition with vSCSI and NPIV storage: client adapters in its profile, the VIOS
    /// side (server adapters, cfgdev, the mappings, the profile saved) before it starts; once
    /// applied, nothing is left to do.
    #[test]
    fn a_new_partition_gets_its_adapters_and_mappings_before_it_starts() {
        let observed = observed();
        let p = plan(&desired(), &observed, PlanOptions::default());
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let k = kinds(&p);
        let create = k.iter().find(|c| c.starts_with("CreatePartition")).expect("created");
        assert!(
            create.contains("\\\"virtual_scsi_adapters=10/client//bvio82/100/0\\\"")
                && create.contains("\\\"virtual_fc_adapters=11/client//bvio82/101//0\\\""),
            "{create}"
        );
        for want in [
            "AddServerAdapter chhwres -r virtualio -m js22_slot13 -o a -p bvio82 --rsubtype scsi -s 100 -a \"adapter_type=server,remote_lpar_name=newlpar,remote_slot_num=10\"",
            "AddServerAdapter chhwres -r virtualio -m js22_slot13 -o a -p bvio82 --rsubtype fc -s 101 -a \"adapter_type=server,remote_lpar_name=newlpar,remote_slot_num=11\"",
            "ConfigureDevices viosvrcmd -m js22_slot13 -p bvio82 -c \"cfgdev\"",
            "MapDisk viosvrcmd -m js22_slot13 -p bvio82 -c \"mkvdev -vdev hdisk3 -vadapter vhost0\"",
            "MapNpiv viosvrcmd -m js22_slot13 -p bvio82 -c \"vfcmap -vadapter vfchost0 -fcp fcs0\"",
            "SaveProfile mksyscfg -r prof -m js22_slot13 -o save -p bvio82 -n default_profile --force",
        ] {
            assert!(k.iter().any(|c| c == want), "{want} missing from {k:#?}");
        }
        let pos = |kind: &str| k.iter().position(|c| c.starts_with(kind)).unwrap();
        assert!(pos("CreatePartition") < pos("AddServerAdapter"));
        assert!(pos("MapDisk") < pos("StartPartition") && pos("MapNpiv") < pos("StartPartition"), "{k:#?}");
        let start = p.actions.iter().find(|a| matches!(a.op, Op::StartPartition { .. })).unwrap();
        let map = p.actions.iter().find(|a| matches!(a.op, Op::MapDisk { .. })).unwrap();
        let mut reach = start.after.clone();
        let mut seen = std::collections::BTreeSet::new();
        while let Some(id) = reach.pop() {
            if seen.insert(id.clone()) {
                reach.extend(p.actions.iter().find(|a| a.id == id).unwrap().after.clone());
            }
        }
        assert!(seen.contains(&map.id), "the start waits for the mapping");
        let done = apply(&observed, &p.actions);
        let again = plan(&desired(), &done, PlanOptions::default());
        assert!(again.actions.is_empty() && again.errors.is_empty(), "{:#?}", kinds(&again));
    }

    /// A mapping removed by hand is planned back; a vSCSI mapping of a LUN the manifest no
    /// longer lists is removed.
    #[test]
    fn mapping_drift_is_planned_back() {
        let observed = observed();
        let p = plan(&desired(), &observed, PlanOptions::default());
        let mut done = apply(&observed, &p.actions);
        let vs = done
            .status
            .vios_storage
            .get_mut(&frame("js22_slot13"))
            .unwrap()
            .get_mut(&"bvio82".parse::<crate::names::ViosName>().unwrap())
            .unwrap();
        let a = vs.adapters.iter_mut().find(|a| a.via == crate::manifest::StorageVia::Vscsi).unwrap();
        a.luns = vec!["75DS81001000".parse().unwrap()];
        let again = plan(&desired(), &done, PlanOptions::default());
        assert!(again.errors.is_empty(), "{:?}", again.errors);
        assert_eq!(
            kinds(&again),
            [
                "UnmapDisk viosvrcmd -m js22_slot13 -p bvio82 -c \"rmvdev -vdev hdisk1\"",
                "MapDisk viosvrcmd -m js22_slot13 -p bvio82 -c \"mkvdev -vdev hdisk3 -vadapter vhost0\"",
            ]
        );
        assert!(plan(&desired(), &apply(&done, &again.actions), PlanOptions::default()).actions.is_empty());
    }

    /// A partition prune deletes is unmapped and its server adapters removed, the VIOS profile
    /// saved, before `rmsyscfg`.
    #[test]
    fn a_deleted_partition_leaves_no_adapters_behind() {
        let observed = observed();
        let p = plan(&desired(), &observed, PlanOptions::default());
        let done = apply(&observed, &p.actions);
        let without = lab_desired_with(|_, text| {
            text.replace("  storage:\n    - {lun: 75DS81001000, via: vscsi}   # rootvg (invented LUN id)\n    - {lun: 75DS81001001, via: vscsi}   # sapvg  (invented LUN id)\n", "")
        });
        let prune = PlanOptions { prune: true, ..Default::default() };
        let gone = plan(&without, &done, prune);
        assert!(gone.errors.is_empty(), "{:?} {:?}", gone.errors, gone.warnings);
        let k = kinds(&gone);
        let pos = |kind: &str| k.iter().position(|c| c.starts_with(kind)).unwrap_or_else(|| panic!("{kind} in {k:#?}"));
        assert!(pos("StopPartition") < pos("UnmapDisk"));
        let removal =
            |sub: &str| k.iter().position(|c| c.starts_with("RemoveServerAdapter") && c.contains(sub)).unwrap();
        assert!(pos("UnmapDisk") < removal("--rsubtype scsi") && pos("UnmapNpiv") < removal("--rsubtype fc"), "{k:#?}");
        assert!(removal("scsi") < pos("SaveProfile") && removal("fc") < pos("SaveProfile"), "{k:#?}");
        assert!(pos("SaveProfile") < pos("DeletePartition"), "{k:#?}");
        let after = apply(&done, &gone.actions);
        assert!(after.status.vios_storage[&frame("js22_slot13")].values().all(|v| v.adapters.is_empty()));
        assert!(plan(&without, &after, prune).actions.is_empty());
    }

    /// A partition in Open Firmware without its boot disk mapped waits in its SMS menu:
    /// deferred with the reason, while the mapping is planned.
    #[test]
    fn open_firmware_without_the_boot_disk_is_not_converged() {
        let observed = observed();
        let p = plan(&desired(), &observed, PlanOptions::default());
        let mut done = apply(&observed, &p.actions);
        unmap_all(&mut done);
        done.status.partitions.get_mut(&partition("newlpar")).unwrap().state = LparState::OpenFirmware;
        let again = plan(&desired(), &done, PlanOptions::default());
        assert!(
            again
                .deferred
                .iter()
                .any(|d| d.contains("Partition/newlpar is in Open Firmware") && d.contains("75DS81001002")),
            "{:?}",
            again.deferred
        );
        assert!(kinds(&again).iter().any(|k| k.starts_with("MapDisk")));
    }

    /// A partition that moves with its boot disk unmapped on the source (an apply killed
    /// between the server adapter and the mapping) is mapped there first: the migration
    /// carries what the source VIOS map, and the partition would reach its target without a
    /// boot disk.
    #[test]
    fn a_partition_is_mapped_on_its_source_before_it_moves() {
        let observed = observed();
        let p = plan(&desired(), &observed, PlanOptions::default());
        let mut done = apply(&observed, &p.actions);
        unmap_all(&mut done);
        let moved = lab_desired_with(|name, text| {
            let text = text.replace("  storage:\n    - {lun: 75DS81001000, via: vscsi}   # rootvg (invented LUN id)\n    - {lun: 75DS81001001, via: vscsi}   # sapvg  (invented LUN id)\n", "");
            if name == "js22.yaml" {
                format!("{text}{}", NEW.replace("{frame: js22_slot13}", "{frame: js22_slot14}"))
            } else {
                text
            }
        });
        let again = plan(&moved, &done, PlanOptions::default());
        let k = kinds(&again);
        let pos = |kind: &str| {
            k.iter().position(|c| c.starts_with(kind)).unwrap_or_else(|| panic!("{kind} in {k:#?} {:?}", again.errors))
        };
        assert!(k[pos("MapDisk")].contains("-m js22_slot13"), "{k:#?}");
        assert!(pos("MapDisk") < pos("ValidateMigration"), "{k:#?}");
        let migrate = again.actions.iter().find(|a| matches!(a.op, Op::ValidateMigration { .. })).unwrap();
        let map = again.actions.iter().find(|a| matches!(a.op, Op::MapDisk { .. })).unwrap();
        assert!(migrate.after.contains(&map.id), "the validation waits for the mapping: {:?}", migrate.after);
    }
}
