//! Property tests of the planner on generated estates: the action order is a topological order
//! of `after`; no intermediate state exceeds a frame's or pool's capacity; planning is
//! deterministic; applying a plan without errors (with the model's own `apply`) reaches a state
//! whose plan is empty.

use proptest::prelude::*;

use super::{PlanOptions, apply, plan};
use crate::estate::Estate;
use crate::load::{load_inventory, load_manifests};
use crate::manifest::{MemoryMode, ProcMode};
use crate::source::SourceFile;
use crate::status::LparState;

#[derive(Clone, Debug)]
struct FrameGen {
    mem_gb: u64,
    procs: u32,
    /// None: no SEA; Some(true): load sharing; Some(false): classic failover.
    sea: Option<bool>,
    /// Paging VIOS count and paging devices of the shared memory pool.
    smp: Option<(u8, u8)>,
    /// Maximum processing units of pool `prod`.
    spp: Option<u32>,
    maintenance: bool,
    /// VIOS `b` of the frame stopped for maintenance.
    vios_b_down: bool,
}

#[derive(Clone, Debug)]
struct PartGen {
    frame: usize,
    any_of: Option<usize>,
    mem: u64,
    units: u32,
    shared_mem: bool,
    redundancy: u8,
    pool: bool,
    vlan: bool,
    running: bool,
}

#[derive(Clone, Debug)]
enum Edit {
    Move(usize, usize),
    AnyOf(usize, usize),
    Resize(usize, u64),
    Toggle(usize),
    Remove(usize),
    Add(PartGen),
    Maintenance(usize),
    ViosDown(usize),
    SeaMode(usize),
}

fn frame_gen() -> impl Strategy<Value = FrameGen> {
    (
        prop::sample::select(vec![32u64, 64, 128]),
        prop::sample::select(vec![4u32, 8, 16]),
        prop::option::of(any::<bool>()),
        prop::option::of((1u8..=2, 0u8..=3)),
        prop::option::of(1u32..=6),
    )
        .prop_map(|(mem_gb, procs, sea, smp, spp)| FrameGen {
            mem_gb,
            procs,
            sea,
            smp,
            spp,
            maintenance: false,
            vios_b_down: false,
        })
}

fn part_gen(frames: usize) -> impl Strategy<Value = PartGen> {
    (
        0..frames,
        prop::sample::select(vec![1024u64, 2048, 4096, 8192]),
        prop::sample::select(vec![25u32, 50, 100, 150, 200]),
        prop::bool::weighted(0.3),
        0u8..3,
        prop::bool::weighted(0.3),
        any::<bool>(),
        prop::bool::weighted(0.8),
    )
        .prop_map(|(frame, mem, units, shared_mem, redundancy, pool, vlan, running)| PartGen {
            frame,
            any_of: None,
            mem,
            units,
            shared_mem,
            redundancy,
            pool,
            vlan,
            running,
        })
}

fn edit_gen(frames: usize) -> impl Strategy<Value = Edit> {
    prop_oneof![
        (0..40usize, 0..frames).prop_map(|(p, f)| Edit::Move(p, f)),
        (0..40usize, 0..frames).prop_map(|(p, f)| Edit::AnyOf(p, f)),
        (0..40usize, prop::sample::select(vec![1024u64, 2048, 3072])).prop_map(|(p, m)| Edit::Resize(p, m)),
        (0..40usize).prop_map(Edit::Toggle),
        (0..40usize).prop_map(Edit::Remove),
        part_gen(frames).prop_map(Edit::Add),
        (0..frames).prop_map(Edit::Maintenance),
        (0..frames).prop_map(Edit::ViosDown),
        (0..frames).prop_map(Edit::SeaMode),
    ]
}

#[derive(Clone, Debug)]
struct Scenario {
    frames: Vec<FrameGen>,
    parts: Vec<PartGen>,
    edits: Vec<Edit>,
}

fn scenario() -> impl Strategy<Value = Scenario> {
    prop::collection::vec(frame_gen(), 1..=4).prop_flat_map(|frames| {
        let n = frames.len();
        (Just(frames), prop::collection::vec(part_gen(n), 0..=12), prop::collection::vec(edit_gen(n), 0..=4))
            .prop_map(|(frames, parts, edits)| Scenario { frames, parts, edits })
    })
}

fn hardware(frames: &[FrameGen]) -> String {
    let mut y = String::new();
    for (i, f) in frames.iter().enumerate() {
        let disks = (0..3)
            .map(|j| format!("{{name: pg{j}, lun: F{i}PG{j}, sizeMB: 8192, reservePolicy: no_reserve}}"))
            .collect::<Vec<_>>()
            .join(", ");
        y.push_str(&format!(
            "---\napiVersion: powerplane/v1\nkind: FrameHardware\nmetadata: {{name: f{i}}}\nspec:\n  serial: S{i}\n  machineType: 8233-E8B\n  memoryMB: {}\n  procUnits: {}\n  compatModes: [POWER7]\n  vios:\n    - {{name: f{i}va, memoryMB: 2048, procUnits: 0.5, ethernet: [ent0, ent1, ent2, ent3], disks: [{disks}]}}\n    - {{name: f{i}vb, memoryMB: 2048, procUnits: 0.5, ethernet: [ent0, ent1, ent2, ent3], disks: [{disks}]}}\n",
            f.mem_gb * 1024,
            f.procs
        ));
        y.push_str(&format!("---\napiVersion: powerplane/v1\nkind: ViosPair\nmetadata: {{name: p{i}}}\nspec: {{frame: f{i}, members: [{{name: f{i}va}}, {{name: f{i}vb}}]}}\n"));
    }
    y
}

fn manifests(frames: &[FrameGen], parts: &[Option<PartGen>]) -> String {
    let mut y = String::new();
    for (i, f) in frames.iter().enumerate() {
        y.push_str(&format!("---\napiVersion: powerplane/v1\nkind: Frame\nmetadata: {{name: f{i}, labels: {{site: x}}}}\nspec: {{maintenance: {}}}\n", f.maintenance));
        let b = if f.vios_b_down { "stopped" } else { "running" };
        y.push_str(&format!("---\napiVersion: powerplane/v1\nkind: ViosPair\nmetadata: {{name: p{i}}}\nspec: {{frame: f{i}, members: [{{name: f{i}va}}, {{name: f{i}vb, state: {b}}}]}}\n"));
        if let Some(sharing) = f.sea {
            y.push_str(&format!(
                "---\napiVersion: powerplane/v1\nkind: SharedEthernetAdapter\nmetadata: {{name: s{i}}}\nspec: {{viosPair: p{i}, haMode: {}, primary: f{i}va, realAdapter: ent0, controlChannel: ent3, trunks: [{{adapter: ent1, pvid: 1, vlans: [10]}}, {{adapter: ent2, pvid: 2, vlans: [20]}}]}}\n",
                if sharing { "sharing" } else { "auto" }
            ));
        }
        if let Some((vios, devices)) = f.smp {
            let pv = if vios == 2 { format!("[f{i}va, f{i}vb]") } else { format!("[f{i}va]") };
            let devs = (0..devices).map(|j| format!("{{device: pg{j}, sizeMB: 8192}}")).collect::<Vec<_>>().join(", ");
            y.push_str(&format!("---\napiVersion: powerplane/v1\nkind: SharedMemoryPool\nmetadata: {{name: m{i}}}\nspec: {{frame: f{i}, poolMemMB: 2048, maxPoolMemMB: 4096, pagingVios: {pv}, pagingDevices: [{devs}]}}\n"));
        }
        if let Some(max) = f.spp {
            y.push_str(&format!("---\napiVersion: powerplane/v1\nkind: SharedProcessorPool\nmetadata: {{name: prod{i}}}\nspec: {{frame: f{i}, poolName: prod, maxProcUnits: {max}}}\n"));
        }
    }
    for (k, p) in parts.iter().enumerate() {
        let Some(p) = p else { continue };
        let f = &frames[p.frame];
        let placement = match p.any_of {
            Some(o) => format!("{{anyOf: [f{}, f{o}]}}", p.frame),
            None => format!("{{frame: f{}}}", p.frame),
        };
        let pool = if p.pool && f.spp.is_some() { ", pool: prod" } else { "" };
        let memory = match f.smp {
            Some((vios, _)) if p.shared_mem => {
                let red = match (p.redundancy, vios) {
                    (_, 1) | (0, _) => "none",
                    (1, _) => "preferred",
                    _ => "required",
                };
                format!(
                    "{{mode: shared, desiredMB: {}, maxMB: {}, paging: {{redundancy: {red}}}}}",
                    p.mem.min(4096),
                    p.mem.max(4096)
                )
            }
            _ => format!("{{desiredMB: {}, maxMB: {}}}", p.mem, p.mem * 2),
        };
        let network = if p.vlan && f.sea.is_some() { "\n  network: [{vlan: 10}]" } else { "" };
        y.push_str(&format!(
            "---\napiVersion: powerplane/v1\nkind: Partition\nmetadata: {{name: lp{k}}}\nspec:\n  placement: {placement}\n  state: {}\n  processors: {{units: {}.{:02}{pool}}}\n  memory: {memory}{network}\n",
            if p.running { "running" } else { "stopped" },
            p.units / 100,
            p.units % 100
        ));
    }
    y
}

fn load(manifests_text: &str) -> Option<Estate> {
    load_manifests(&[SourceFile::new("m.yaml", manifests_text)]).ok()
}

/// What exceeds a capacity in an estate, if anything.
fn over_capacity(e: &Estate) -> Option<String> {
    let holds =
        |s: LparState| !matches!(s, LparState::NotActivated | LparState::MigratingNotActivated | LparState::Error);
    for (f, hw) in &e.hardware {
        let vios = e.status.vios.get(f);
        let (mut mem, mut procs) = (0u64, 0u32);
        for v in &hw.spec.vios {
            if vios.and_then(|m| m.get(&v.name)).is_some_and(|s| holds(*s)) {
                mem += v.memory_mb.0;
                procs += v.proc_units.hundredths();
            }
        }
        mem += e.mem_pools.values().filter(|p| &p.spec.frame == f).map(|p| p.spec.pool_mem_mb.0).sum::<u64>();
        let mut shared = 0usize;
        let mut pools: std::collections::BTreeMap<String, u32> = Default::default();
        for (n, p) in &e.partitions {
            let st = &e.status.partitions[n];
            if &st.frame != f || !holds(st.state) {
                continue;
            }
            procs += p.spec.processors.units.hundredths();
            match p.spec.memory.mode {
                MemoryMode::Dedicated => mem += p.spec.memory.desired_mb.0,
                MemoryMode::Shared => shared += 1,
            }
            if p.spec.processors.mode == ProcMode::Shared {
                *pools.entry(p.spec.processors.pool_or_default().to_string()).or_default() +=
                    p.spec.processors.units.hundredths();
            }
        }
        if mem > hw.spec.memory_mb.0 {
            return Some(format!("{f}: memory {mem} > {}", hw.spec.memory_mb.0));
        }
        if procs > hw.spec.proc_units.hundredths() {
            return Some(format!("{f}: processing units {procs} > {}", hw.spec.proc_units.hundredths()));
        }
        let devices = e.status.paging_devices.get(f).map_or(0, Vec::len);
        if shared > devices {
            return Some(format!("{f}: {shared} shared-memory partitions running on {devices} paging devices"));
        }
        for sp in e.proc_pools.values().filter(|p| &p.spec.frame == f) {
            let used = pools.get(sp.spec.pool_name.as_str()).copied().unwrap_or(0);
            if used + sp.spec.reserved_proc_units.hundredths() > sp.spec.max_proc_units.hundredths() {
                return Some(format!("{f}: pool {} entitles {used}", sp.spec.pool_name));
            }
        }
    }
    None
}

fn edited(s: &Scenario) -> (Vec<FrameGen>, Vec<Option<PartGen>>) {
    let mut frames = s.frames.clone();
    let mut parts: Vec<Option<PartGen>> = s.parts.iter().cloned().map(Some).collect();
    let n = frames.len();
    for e in &s.edits {
        let len = parts.len().max(1);
        match e {
            Edit::Move(p, f) => {
                if let Some(Some(p)) = parts.get_mut(p % len) {
                    p.frame = *f % n;
                    p.any_of = None;
                }
            }
            Edit::AnyOf(p, f) => {
                if let Some(Some(p)) = parts.get_mut(p % len) {
                    p.any_of = Some(*f % n);
                }
            }
            Edit::Resize(p, m) => {
                if let Some(Some(p)) = parts.get_mut(p % len) {
                    p.mem = (*m).min(p.mem);
                }
            }
            Edit::Toggle(p) => {
                if let Some(Some(p)) = parts.get_mut(p % len) {
                    p.running = !p.running;
                }
            }
            Edit::Remove(p) => {
                if let Some(slot) = parts.get_mut(p % len) {
                    *slot = None;
                }
            }
            Edit::Add(p) => parts.push(Some(PartGen { frame: p.frame % n, ..p.clone() })),
            Edit::Maintenance(f) => frames[*f % n].maintenance = true,
            Edit::ViosDown(f) => frames[*f % n].vios_b_down = true,
            Edit::SeaMode(f) => {
                let fr = &mut frames[*f % n];
                fr.sea = fr.sea.map(|s| !s);
            }
        }
    }
    (frames, parts)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, max_global_rejects: 100_000, ..ProptestConfig::default() })]

    #[test]
    fn plans_are_ordered_capacity_safe_deterministic_and_converge(s in scenario()) {
        let inv = load_inventory(&[SourceFile::new("inv.yaml", hardware(&s.frames))]).unwrap();
        let mut observed0 = inv.clone();
        // The inventory's VIOS run.
        for (f, hw) in &inv.hardware {
            observed0.status.vios.insert(f.clone(), hw.spec.vios.iter().map(|v| (v.name.clone(), LparState::Running)).collect());
        }
        let initial_parts: Vec<Option<PartGen>> = s.parts.iter().cloned().map(Some).collect();
        let Some(initial) = load(&manifests(&s.frames, &initial_parts)) else { return Ok(()) };
        let p0 = plan(&initial, &observed0, PlanOptions::default());
        prop_assume!(p0.errors.is_empty());
        let observed1 = apply(&observed0, &p0.actions);
        prop_assert_eq!(over_capacity(&observed1), None);
        let again = plan(&initial, &observed1, PlanOptions::default());
        prop_assert!(again.actions.is_empty(), "realising the initial state did not converge: {:#?}", again.actions);

        let (frames, parts) = edited(&s);
        let Some(desired) = load(&manifests(&frames, &parts)) else { return Ok(()) };
        let p = plan(&desired, &observed1, PlanOptions::default());
        prop_assert_eq!(&p, &plan(&desired, &observed1, PlanOptions::default()), "planning is deterministic");
        if !p.errors.is_empty() {
            prop_assert!(p.actions.is_empty(), "a plan with errors has no actions");
            return Ok(());
        }
        for (i, a) in p.actions.iter().enumerate() {
            prop_assert_eq!(&a.id.0, &format!("a{}", i + 1));
            for dep in &a.after {
                let j = p.actions.iter().position(|b| &b.id == dep);
                prop_assert!(j.is_some_and(|j| j < i), "{} runs after {} which is not earlier", a.id, dep);
            }
        }
        let mut state = observed1.clone();
        for a in &p.actions {
            state = apply(&state, std::slice::from_ref(a));
            prop_assert_eq!(over_capacity(&state), None, "capacity exceeded after {} {}", a.id, a.op.command());
        }
        let after = plan(&desired, &state, PlanOptions::default());
        prop_assert!(after.errors.is_empty(), "{:#?}", after.errors);
        prop_assert!(after.actions.is_empty(), "the plan did not converge; left: {:#?}", after.actions.iter().map(|a| (a.kind(), a.op.object(), a.reason.clone())).collect::<Vec<_>>());
    }
}
