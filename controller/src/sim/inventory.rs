//! From an inventory (`kind: FrameHardware` plus brownfield manifests) to a simulated estate.
//! The inventory is checked with the model's rules, with its own hardware as the physical
//! facts, so its errors carry `file:line` like any manifest's; the configuration it describes
//! is then realised at once, as if an administrator had set it up before powerplane came.

use std::collections::BTreeMap;

use powerplane_model::manifest::{FrameSpec, Metadata, Placement, RunState, ViosMember, ViosPairSpec};
use powerplane_model::status::{FrameState, LparState, SeaHaMode};
use powerplane_model::{Diagnostic, Estate, Object, ObjectRef, Rule, ViosPairName, manifest::Kind};

use super::state::{FORMAT, Faults, Settings, SimFrame, SimState, SimVios};
use super::{partition, pools, sea};

/// The lab inventory built into the binary, used when a state dir has no backend yet.
pub const LAB_INVENTORY: &str = include_str!("../../../examples/lab/inventory.yaml");

/// Builds the simulated estate described by `inv`.
pub fn realise(mut inv: Estate, seed: u64) -> Result<SimState, Vec<Diagnostic>> {
    // Frames and their VIOS need not be declared in an inventory: the hardware says they
    // exist (running), two VIOS to a pair.
    let paired: Vec<_> = inv.vios_pairs.values().map(|p| p.spec.frame.clone()).collect();
    for (name, hw) in &inv.hardware {
        inv.frames.entry(name.clone()).or_insert_with(|| {
            Object::new(Metadata { name: name.clone(), labels: hw.metadata.labels.clone() }, FrameSpec::default())
        });
        if paired.contains(name) {
            continue;
        }
        for (i, chunk) in hw.spec.vios.chunks(2).enumerate() {
            let suffix = if i == 0 { String::new() } else { format!("-{}", i + 1) };
            let pair = ViosPairName::new(format!("{name}-vios{suffix}"))
                .map_err(|e| vec![Diagnostic::new(Rule::Schema, e.to_string(), "use a shorter frame name")])?;
            let members = chunk.iter().map(|v| ViosMember { name: v.name.clone(), state: RunState::Running }).collect();
            inv.vios_pairs.insert(
                pair.clone(),
                Object::new(
                    Metadata { name: pair, labels: Default::default() },
                    ViosPairSpec { frame: name.clone(), members },
                ),
            );
        }
    }
    // An inventory describes what is: a cluster whose members share a frame is a fact to
    // correct through the manifests, not a reason to refuse the estate.
    let mut diags: Vec<Diagnostic> = powerplane_model::validate(&inv, Some(&inv))
        .into_iter()
        .filter(|d| d.is_error() && d.rule != Rule::ClusterAntiAffinity)
        .collect();
    if inv.hardware.is_empty() {
        diags.push(Diagnostic::new(
            Rule::NoManifests,
            "the inventory has no `kind: FrameHardware` document",
            "describe at least one frame's hardware",
        ));
    }
    for p in inv.partitions.values() {
        if !matches!(p.spec.placement, Placement::Frame(_)) {
            diags.push(
                Diagnostic::new(
                    Rule::Schema,
                    "a partition in an inventory already runs somewhere: its placement must be `{frame: NAME}`",
                    "pin it to the frame it runs on",
                )
                .at_opt(p.locate(&["spec", "placement"]))
                .on(ObjectRef::new(Kind::Partition, &p.metadata.name)),
            );
        }
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    let mut s = SimState {
        format: FORMAT,
        seed,
        rng: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
        now_ms: 0,
        frames: BTreeMap::new(),
        faults: Faults::default(),
        settings: Settings::default(),
        outbound: Default::default(),
        powering: Default::default(),
        events: Default::default(),
        next_event: 0,
        events_saved: 0,
        consoles: super::consoles::from_inventory(inv.hardware.values().map(|h| &h.spec)),
    };
    let ix = inv.index();
    for (name, hw) in &inv.hardware {
        let pair = ix.pairs_on(name).first().copied();
        let state_of = |v: &powerplane_model::ViosName| {
            let stopped = pair
                .and_then(|p| p.spec.members.iter().find(|m| &m.name == v))
                .is_some_and(|m| m.state == RunState::Stopped);
            if stopped { LparState::NotActivated } else { LparState::Running }
        };
        let vios = hw
            .spec
            .vios
            .iter()
            .map(|v| {
                (
                    v.name.clone(),
                    SimVios {
                        state: state_of(&v.name),
                        rmc: state_of(&v.name).is_running(),
                        dlpar_eth: Vec::new(),
                        profiles: super::state::Profiles::inventory(),
                        storage: Vec::new(),
                        unsaved_slots: Vec::new(),
                        power: None,
                    },
                )
            })
            .collect();
        s.frames.insert(
            name.clone(),
            SimFrame {
                hw: hw.spec.clone(),
                labels: hw.metadata.labels.clone(),
                state: FrameState::Operating,
                vios_pair: pair.map_or_else(
                    || ViosPairName::new(format!("{name}-vios")).expect("frame names are valid pair names"),
                    |p| p.metadata.name.clone(),
                ),
                vios,
                sea: None,
                mem_pool: None,
                proc_pools: BTreeMap::new(),
                partitions: BTreeMap::new(),
                copies: BTreeMap::new(),
            },
        );
    }
    let fail = |what: ObjectRef, at: Option<powerplane_model::Location>, e: crate::backend::BackendError| {
        Diagnostic::new(
            Rule::UnknownToBackend,
            format!("cannot be realised: {e}"),
            "correct the inventory so the configuration is possible",
        )
        .at_opt(at)
        .on(what)
    };
    let mut errs = Vec::new();
    for p in inv.proc_pools.values() {
        let f = s.frames.get_mut(&p.spec.frame).expect("validated");
        // An inventory's pools take the lowest unused ids, in the order it lists them.
        let id = f.proc_pool_slots().unused.first().copied().unwrap_or(powerplane_model::ProcPoolId(0));
        if let Err(e) = pools::set_proc_pool(
            f,
            id,
            &p.spec.pool_name,
            p.spec.max_proc_units,
            p.spec.reserved_proc_units,
            p.metadata.name.clone(),
        ) {
            errs.push(fail(ObjectRef::new(Kind::SharedProcessorPool, &p.metadata.name), p.locate(&["spec"]), e));
        }
    }
    for p in inv.mem_pools.values() {
        let f = s.frames.get_mut(&p.spec.frame).expect("validated");
        let mut r = pools::create_mem_pool(
            f,
            p.spec.pool_mem_mb,
            p.spec.max_pool_mem_mb,
            &p.spec.paging_vios,
            p.metadata.name.clone(),
        )
        .map(drop);
        for d in &p.spec.paging_devices {
            if r.is_ok() {
                let vios =
                    p.spec.paging_vios.iter().find(|v| {
                        f.hw.vios.iter().any(|h| &h.name == *v && h.disks.iter().any(|k| k.name == d.device))
                    });
                r = match vios {
                    Some(v) => pools::add_device(f, &v.clone(), &d.device).map(drop),
                    None => {
                        Err(crate::backend::BackendError::refused_plain(format!("no paging VIOS sees {}", d.device)))
                    }
                };
            }
        }
        if let Err(e) = r {
            errs.push(fail(ObjectRef::new(Kind::SharedMemoryPool, &p.metadata.name), p.locate(&["spec"]), e));
        }
    }
    for se in inv.seas.values() {
        let pair = &inv.vios_pairs[&se.spec.vios_pair];
        let f = s.frames.get_mut(&pair.spec.frame).expect("validated");
        let mut members: Vec<_> = pair.spec.members.iter().map(|m| m.name.clone()).collect();
        members.sort_by_key(|m| *m != se.spec.primary);
        for (i, v) in members.iter().enumerate() {
            let new = sea::NewSea {
                name: se.metadata.name.clone(),
                vios: v,
                real_adapter: &se.spec.real_adapter,
                trunks: &se.spec.trunks,
                control_channel: se.spec.control_channel.as_ref(),
                ha_mode: SeaHaMode::from(se.spec.ha_mode),
                priority: i as u8 + 1,
            };
            // A stopped VIOS still has its SEA device configured.
            let was = f.vios[v].state.clone();
            f.vios.get_mut(v).expect("validated").state = LparState::Running;
            let r = sea::create(f, new);
            f.vios.get_mut(v).expect("validated").state = was;
            if let Err(e) = r {
                errs.push(fail(
                    ObjectRef::new(Kind::SharedEthernetAdapter, &se.metadata.name),
                    se.locate(&["spec"]),
                    e,
                ));
            }
        }
        sea::vios_up(f);
    }
    for p in inv.partitions.values() {
        let Placement::Frame(frame) = &p.spec.placement else { unreachable!("checked above") };
        let f = s.frames.get_mut(frame).expect("validated");
        // As an HMC-created partition has: `default_profile` (and a `backup`).
        let profiles = super::state::Profiles::inventory();
        let current = profiles.current.clone();
        let mut r = partition::create(frame, f, &p.metadata.name, &p.spec, profiles).map(drop);
        // Its storage wired as powerplane wires it (`storage::realise`).
        if r.is_ok() {
            super::storage::realise(f, &p.metadata.name, &p.spec.storage);
        }
        if r.is_ok() && p.spec.state == RunState::Running {
            r = partition::start(f, &p.metadata.name, &current, false).map(drop);
        }
        if let Err(e) = r {
            errs.push(fail(ObjectRef::new(Kind::Partition, &p.metadata.name), p.locate(&["metadata", "name"]), e));
        }
    }
    // The inactive same-name copies a frame holds of partitions on other frames.
    for (fname, hw) in &inv.hardware {
        for name in &hw.spec.profile_copies {
            let Some(p) = inv.partitions.get(name).filter(|p| p.spec.placement != Placement::Frame(fname.clone()))
            else {
                errs.push(
                    Diagnostic::new(
                        Rule::Schema,
                        format!("profileCopies names {name}, which is no partition of the inventory on another frame"),
                        "name a partition the inventory places on another frame",
                    )
                    .at_opt(hw.locate(&["spec", "profileCopies"]))
                    .on(ObjectRef::new(Kind::FrameHardware, fname)),
                );
                continue;
            };
            let copy = super::profile_copy::copy(fname, &p.spec, super::state::Profiles::inventory());
            s.frames.get_mut(fname).expect("realised above").copies.insert(name.clone(), copy);
        }
    }
    for c in inv.clusters.values() {
        // The first running member has the cluster's service group online.
        // seeds: infoscale-lpm-vcs.txt, line 81 (`hagrp -migrate <lpar_service_group>`).
        let mut online = Some(vec![format!("{}_sg", c.metadata.name)]);
        for m in &c.spec.members {
            let Some(p) = s.frames.values_mut().find_map(|f| f.partitions.get_mut(m)) else { continue };
            let groups = if p.state == LparState::Running { online.take().unwrap_or_default() } else { Vec::new() };
            p.node = Some(Box::new(super::cluster::SimNode::new(c.metadata.name.clone(), c.spec.clone(), groups)));
        }
    }
    if errs.is_empty() { Ok(s) } else { Err(errs) }
}

/// A digital twin of an observed estate (another backend's, an HMC's): its physical facts and
/// configuration realised as an inventory is, then its runtime state as observed — which
/// partitions and VIOS run, their RMC connections, the paging VIOS each shared-memory partition
/// pages through now. What a rehearsal runs a plan on before the real backend sees it.
pub fn twin(observed: &Estate, seed: u64) -> Result<SimState, Vec<Diagnostic>> {
    let mut inv = observed.clone();
    inv.status = Default::default();
    inv.clusters.clear();
    for p in inv.partitions.values_mut() {
        // A partition activates in the twin as it runs now; stopped ones stay defined.
        p.spec.state = match observed.status.partitions.get(&p.metadata.name) {
            Some(st) if st.state.is_running() => RunState::Running,
            Some(_) => RunState::Stopped,
            None => p.spec.state,
        };
    }
    let mut s = realise(inv, seed)?;
    for (fname, f) in &mut s.frames {
        for (v, sv) in &mut f.vios {
            if let Some(state) = observed.status.vios.get(fname).and_then(|m| m.get(v)) {
                sv.state = state.clone();
                sv.rmc = state.is_running();
            }
            // The profile names the plan's commands name: the observed ones.
            if let Some(name) = observed.status.vios_profiles.get(fname).and_then(|m| m.get(v)) {
                sv.profiles.current = name.clone();
            }
        }
        for (n, p) in &mut f.partitions {
            let Some(st) = observed.status.partitions.get(n) else { continue };
            p.rmc = st.rmc;
            if let Some(name) = &st.profile {
                p.profiles.current = name.clone();
            }
            if let (Some(pg), Some(seen)) = (p.paging.as_mut(), st.paging.as_ref()) {
                pg.current = seen.current.clone();
            }
        }
    }
    // The inactive copies listed beside the partitions, with the profile of the partition
    // whose name they hold, or were set aside from.
    for n in &observed.status.namesakes {
        let of = observed.partitions.values().find(|p| {
            p.metadata.name == n.name || powerplane_model::profile_copy::set_aside_name(&p.metadata.name) == n.name
        });
        let (Some(p), Some(f)) = (of, s.frames.get_mut(&n.frame)) else { continue };
        let profile = observed.status.partitions.get(&p.metadata.name).and_then(|st| st.profile.clone());
        let profiles = profile.map_or_else(super::state::Profiles::inventory, super::state::Profiles::only);
        let mut copy = super::profile_copy::copy(&n.frame, &p.spec, profiles);
        copy.state = n.state.clone();
        f.copies.insert(n.name.clone(), copy);
    }
    Ok(s)
}
