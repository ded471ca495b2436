//! What the simulated HMC reports: its state as an observed [`Estate`], configuration, physical
//! facts and runtime status.

use powerplane_model::manifest::{
    FrameSpec, HaMode, Metadata, PagingDeviceSpec, RunState, SeaSpec, SharedMemoryPoolSpec, SharedProcessorPoolSpec,
    ViosMember, ViosPairSpec,
};
use powerplane_model::status::{PagingStatus, PartitionStatus, SeaHaMode, SeaMemberStatus, Status};
use std::collections::{BTreeMap, BTreeSet};

use powerplane_model::{Estate, FrameName, Object, ViosName};

use super::sea;
use super::state::{Migration, SimState};

/// The estate as the simulated HMC shows it (with `only`, those frames only). A migrating partition appears once, on its source frame, with state
/// `Migrating - Running`.
pub(crate) fn estate(s: &SimState, only: Option<&BTreeSet<FrameName>>) -> Estate {
    let mut e = Estate::default();
    let mut status = Status::default();
    for (fname, f) in &s.frames {
        if only.is_some_and(|o| !o.contains(fname)) {
            continue;
        }
        // What a real HMC shows of a frame that is not Operating: its name and state; its
        // contents cannot be listed (HSCL0238), so it is set aside (DESIGN §5).
        if f.state != powerplane_model::status::FrameState::Operating {
            status.set_aside.insert(fname.clone(), format!("its state is {}", f.state));
            continue;
        }
        e.frames.insert(
            fname.clone(),
            Object::new(Metadata { name: fname.clone(), labels: f.labels.clone() }, FrameSpec::default()),
        );
        let mut hw = f.hw.clone();
        hw.vios.sort_by(|a, b| a.name.cmp(&b.name));
        // What an HMC reports of them is in the status (its HMC, each partition's slots), as
        // the HMC backend has it.
        hw.hmc = None;
        hw.io_slots.clear();
        hw.profile_copies.clear();
        e.hardware.insert(fname.clone(), Object::new(Metadata { name: fname.clone(), labels: f.labels.clone() }, hw));
        status.frames.insert(fname.clone(), f.state.clone());
        status.migration_limits.insert(fname.clone(), migration_limits(s, f));
        status.proc_pool_slots.insert(fname.clone(), f.proc_pool_slots());
        status.vios.insert(fname.clone(), f.vios.iter().map(|(n, v)| (n.clone(), v.state.clone())).collect());
        // What the HMC lists as `rmc_state` other than `active` for a running VIOS.
        let no_rmc: BTreeSet<_> =
            f.vios.iter().filter(|(_, v)| v.state.is_running() && !v.rmc).map(|(n, _)| n.clone()).collect();
        if !no_rmc.is_empty() {
            status.vios_without_rmc.insert(fname.clone(), no_rmc);
        }
        status
            .vios_profiles
            .insert(fname.clone(), f.vios.iter().map(|(n, v)| (n.clone(), v.profiles.current.clone())).collect());
        // What running VIOS list of their client storage, as the emulated HMC's `lshwres` and
        // `lsmap` show it (a VIOS that is down answers no `viosvrcmd`).
        status.vios_storage.insert(
            fname.clone(),
            f.vios
                .iter()
                .filter(|(_, v)| v.state.is_running() && v.rmc)
                .map(|(n, _)| (n.clone(), super::storage::vios_storage(f, n)))
                .collect(),
        );
        if !f.vios.is_empty() {
            let members = f
                .vios
                .iter()
                .map(|(n, v)| ViosMember {
                    name: n.clone(),
                    state: if v.state.is_running() { RunState::Running } else { RunState::Stopped },
                })
                .collect();
            e.vios_pairs.insert(
                f.vios_pair.clone(),
                Object::new(
                    Metadata { name: f.vios_pair.clone(), labels: Default::default() },
                    ViosPairSpec { frame: fname.clone(), members },
                ),
            );
        }
        if let Some(sea_cfg) = &f.sea {
            let mut members = sea::status(sea_cfg, |v| sea::running(f, v));
            for m in &mut members {
                m.unsaved = super::virtual_eth::unsaved(f, &m.vios);
            }
            let pair: Vec<ViosName> = f.vios.keys().cloned().collect();
            let primary = SeaMemberStatus::primary_of(&members, &pair);
            let modes: Vec<SeaHaMode> = sea_cfg.members.values().map(|m| m.ha_mode).collect();
            let ha_mode = if modes.iter().all(|m| *m == SeaHaMode::Disabled) {
                HaMode::Disabled
            } else if modes.iter().all(|m| *m == SeaHaMode::Sharing) {
                HaMode::Sharing
            } else {
                HaMode::Auto
            };
            if let Some(primary) = primary {
                e.seas.insert(
                    sea_cfg.name.clone(),
                    Object::new(
                        Metadata { name: sea_cfg.name.clone(), labels: Default::default() },
                        SeaSpec {
                            vios_pair: f.vios_pair.clone(),
                            ha_mode,
                            primary,
                            real_adapter: sea_cfg.real_adapter.clone(),
                            control_channel: sea_cfg.control_channel.clone(),
                            // The trunks every member bridges (they differ while trunks are
                            // added live, one member after the other).
                            trunks: sea_cfg
                                .trunks
                                .iter()
                                .filter(|t| sea_cfg.members.values().all(|m| m.virt_adapters(sea_cfg).contains(t)))
                                .cloned()
                                .collect(),
                        },
                    ),
                );
            }
            status.seas.insert(sea_cfg.name.clone(), members);
        }
        if let Some(pool) = &f.mem_pool {
            e.mem_pools.insert(
                pool.name.clone(),
                Object::new(
                    Metadata { name: pool.name.clone(), labels: Default::default() },
                    SharedMemoryPoolSpec {
                        frame: fname.clone(),
                        pool_mem_mb: pool.pool_mem,
                        max_pool_mem_mb: pool.max_pool_mem,
                        paging_vios: pool.paging_vios.clone(),
                        paging_devices: pool
                            .devices
                            .iter()
                            .map(|d| PagingDeviceSpec { device: d.device.clone(), size_mb: d.size })
                            .collect(),
                    },
                ),
            );
            status
                .paging_devices
                .insert(fname.clone(), pool.devices.iter().map(super::state::SimPagingDevice::status).collect());
        }
        for (pname, pool) in &f.proc_pools {
            e.proc_pools.insert(
                pool.name.clone(),
                Object::new(
                    Metadata { name: pool.name.clone(), labels: Default::default() },
                    SharedProcessorPoolSpec {
                        frame: fname.clone(),
                        pool_name: pname.clone(),
                        max_proc_units: pool.max,
                        reserved_proc_units: pool.reserved,
                    },
                ),
            );
        }
        // The ids the emulated HMC lists (`hmc_shell::listings`).
        let ids: BTreeMap<String, u32> =
            super::hmc_shell::listings::lpar_ids(f).into_iter().map(|(n, id, _)| (n, id)).collect();
        // Profile copies, as the HMC backend takes the inactive LPARs that share a partition's
        // name (or that VCS's procedure set aside) beside it.
        for (cname, c) in &f.copies {
            status.namesakes.push(powerplane_model::status::Namesake {
                name: cname.clone(),
                frame: fname.clone(),
                lpar_id: ids.get(cname.as_str()).copied().unwrap_or_default(),
                state: c.state.clone(),
            });
        }
        for (pname, p) in f.partitions.iter().filter(|(_, p)| !p.is_shell()) {
            e.partitions.insert(
                pname.clone(),
                Object::new(Metadata { name: pname.clone(), labels: Default::default() }, p.spec.clone()),
            );
            status.partitions.insert(
                pname.clone(),
                PartitionStatus {
                    frame: fname.clone(),
                    state: p.state.clone(),
                    rmc: p.rmc,
                    paging: p.paging.as_ref().map(|pg| PagingStatus {
                        primary: pg.primary.clone(),
                        secondary: pg.secondary.clone(),
                        current: pg.current.clone(),
                        device: pg.device.clone(),
                    }),
                    migration: match &p.migration {
                        Some(Migration::Outbound(o)) => Some(o.status(s.now_ms)),
                        _ => None,
                    },
                    // What the HMC backend reads too: it has less than its profile's desired
                    // memory or entitlement.
                    below_desired: p.profile.as_deref().is_some_and(|prof| {
                        p.spec.memory.desired_mb < prof.memory.desired_mb
                            || p.spec.processors.units < prof.processors.units
                    }),
                    lpar_id: ids.get(pname.as_str()).copied(),
                    profile: Some(p.profiles.current.clone()),
                    npiv_hidden: false,
                    io_slots: f.hw.io_slots.iter().filter(|a| &a.partition == pname).map(|a| a.slot()).collect(),
                },
            );
            if !p.client_adapters.is_empty() {
                status.client_adapters.insert(pname.clone(), p.client_adapters.clone());
            }
            if let Some(n) = &p.node {
                status.nodes.insert(pname.clone(), n.status());
                let c = e.clusters.entry(n.cluster.clone()).or_insert_with(|| {
                    Object::new(Metadata { name: n.cluster.clone(), labels: Default::default() }, n.spec.clone())
                });
                // What a node's manager reports of the cluster: its members and timeouts, not
                // the administrator's estimate of the unresponsive time nor the hooks.
                c.spec.hooks = Default::default();
                if let Some(v) = c.spec.vcs.as_mut() {
                    v.unresponsive_seconds = None;
                }
                if let Some(p) = c.spec.powerha.as_mut() {
                    p.unresponsive_seconds = None;
                }
                if let Some(p) = c.spec.pacemaker.as_mut() {
                    p.unresponsive_seconds = None;
                }
            }
        }
    }
    status.nodes_observed = true;
    // The HMCs are the estate's, whichever frames were asked for.
    status.consoles = super::consoles::status(s);
    e.status = status;
    e
}

/// Migrations a simulated frame takes at once: 16 active and 16 inactive, the figures of
/// pypowervm's POWER7 sample (`MaximumActiveMigrations`, `MaximumInactiveMigrations`;
/// `tests/fixtures/hmc/lslparmigr-r-sys.power8-values.reconstructed.txt`), and those in flight
/// from or to it, by type.
pub(crate) fn migration_limits(s: &SimState, f: &super::state::SimFrame) -> powerplane_model::status::MigrationLimits {
    let (mut active, mut inactive) = (0, 0);
    for (n, p) in &f.partitions {
        let outbound = match &p.migration {
            Some(Migration::Outbound(o)) => Some(o.active),
            Some(Migration::Inbound { from }) => {
                s.frames.get(from).and_then(|src| src.partitions.get(n)).and_then(|p| match &p.migration {
                    Some(Migration::Outbound(o)) => Some(o.active),
                    _ => None,
                })
            }
            None => None,
        };
        match outbound {
            Some(true) => active += 1,
            Some(false) => inactive += 1,
            None => {}
        }
    }
    powerplane_model::status::MigrationLimits {
        active: 16,
        active_in_progress: active,
        inactive: 16,
        inactive_in_progress: inactive,
    }
}
