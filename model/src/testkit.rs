//! Generators shared by the property tests (the planner's here, the controller's convergence
//! state machine): estates of 1–8 frames with VIOS pairs, SEAs (auto and sharing), shared memory
//! pools with common and independent paging devices, shared processor pools and up to 40 partitions, as
//! inventory and manifest YAML; random edits of the desired state; and the capacity check the
//! properties use. Compiled for tests and with the `testkit` feature.

#![allow(missing_docs)]

use proptest::prelude::*;

use crate::estate::Estate;
use crate::load::load_manifests;
use crate::manifest::{MemoryMode, ProcMode};
use crate::source::SourceFile;
use crate::status::LparState;

/// A generated frame: its size and which pools and SEA it gets.
#[derive(Clone, Debug)]
pub struct FrameGen {
    pub mem_gb: u64,
    pub procs: u32,
    /// None: no SEA; Some(true): load sharing; Some(false): classic failover.
    pub sea: Option<bool>,
    /// Paging VIOS count and paging devices of the shared memory pool.
    pub smp: Option<(u8, u8)>,
    /// Maximum processing units of pool `prod`.
    pub spp: Option<u32>,
    pub maintenance: bool,
    /// VIOS `b` of the frame stopped for maintenance.
    pub vios_b_down: bool,
    /// Both VIOS have the mover service partition attribute (without it no active migration
    /// leaves or reaches the frame).
    pub msp: bool,
    /// Trunks the SEA has beyond its first two (`ent1`, `ent2`): `ent5` (VLANs 3, 30) and
    /// `ent6` (4, 40), the names `cfgdev` gives adapters added live after the SEA `ent4`.
    pub extra_trunks: u8,
}

impl FrameGen {
    /// A frame of `mem_gb` and `procs` with nothing configured: no SEA, memory or processor
    /// pool, in service, both VIOS up and mover service partitions. Tests build on it with
    /// `FrameGen { sea: Some(true), ..FrameGen::plain(32, 4) }`.
    pub fn plain(mem_gb: u64, procs: u32) -> Self {
        FrameGen {
            mem_gb,
            procs,
            sea: None,
            smp: None,
            spp: None,
            maintenance: false,
            vios_b_down: false,
            msp: true,
            extra_trunks: 0,
        }
    }

    /// The maximum of pool `prod` as the manifests render it: below the frame's processors.
    fn pool_max(&self) -> Option<u32> {
        self.spp.map(|m| m.min(self.procs.saturating_sub(1)).max(1))
    }
}

/// A generated partition.
#[derive(Clone, Debug)]
pub struct PartGen {
    pub frame: usize,
    pub any_of: Option<usize>,
    pub mem: u64,
    /// Maximum memory, fixed when the partition is created (DLPAR works below it).
    pub max: u64,
    pub units: u32,
    pub shared_mem: bool,
    pub redundancy: u8,
    pub pool: bool,
    pub vlan: bool,
    pub running: bool,
}

impl PartGen {
    /// A running partition of 2 GB (4 GB maximum) and half a processor on `frame`, or on either
    /// of `frame` and `any_of`, with nothing shared: what scope and ties tests place around.
    pub fn small(frame: usize, any_of: Option<usize>) -> Self {
        PartGen {
            frame,
            any_of,
            mem: 2048,
            max: 4096,
            units: 50,
            shared_mem: false,
            redundancy: 0,
            pool: false,
            vlan: false,
            running: true,
        }
    }
}

/// A random edit of a desired state.
#[derive(Clone, Debug)]
pub enum Edit {
    Move(usize, usize),
    AnyOf(usize, usize),
    Resize(usize, u64),
    Toggle(usize),
    Remove(usize),
    Add(PartGen),
    Maintenance(usize),
    ViosDown(usize),
    SeaMode(usize),
    /// One more trunk on the frame's SEA (at most two more), added live.
    AddTrunk(usize),
}

/// See the module documentation.
pub fn frame_gen() -> impl Strategy<Value = FrameGen> {
    (
        prop::sample::select(vec![32u64, 64, 128]),
        prop::sample::select(vec![4u32, 8, 16]),
        prop::option::weighted(0.8, any::<bool>()),
        prop::option::of((1u8..=2, 1u8..=3)),
        prop::option::of(1u32..=6),
        prop::bool::weighted(0.85),
    )
        .prop_map(|(mem_gb, procs, sea, smp, spp, msp)| FrameGen {
            sea,
            smp,
            spp,
            msp,
            ..FrameGen::plain(mem_gb, procs)
        })
}

/// See the module documentation.
pub fn part_gen(frames: usize) -> impl Strategy<Value = PartGen> {
    (
        0..frames,
        prop::sample::select(vec![1024u64, 2048, 4096, 8192]),
        prop::sample::select(vec![25u32, 50, 100, 150, 200]),
        prop::bool::weighted(0.3),
        0u8..3,
        prop::bool::weighted(0.3),
        prop::bool::weighted(0.85),
        prop::bool::weighted(0.8),
    )
        .prop_map(|(frame, mem, units, shared_mem, redundancy, pool, vlan, running)| PartGen {
            frame,
            any_of: None,
            mem,
            max: mem * 2,
            units,
            shared_mem,
            redundancy,
            pool,
            vlan,
            running,
        })
}

/// See the module documentation.
pub fn edit_gen(frames: usize) -> impl Strategy<Value = Edit> {
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
        (0..frames).prop_map(Edit::AddTrunk),
    ]
}

/// Frames, partitions and edits.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub frames: Vec<FrameGen>,
    pub parts: Vec<PartGen>,
    pub edits: Vec<Edit>,
}

/// See the module documentation: 1–4 frames, up to 12 partitions (the planner's properties).
pub fn scenario() -> impl Strategy<Value = Scenario> {
    scenario_sized(4, 12)
}

/// 1–`max_frames` frames and up to `max_parts` partitions. Half the estates are homogeneous
/// (every frame has the first one's SEA, paging VIOS count and pool), so that moves, `any_of`
/// and frame maintenance have somewhere to migrate to.
pub fn scenario_sized(max_frames: usize, max_parts: usize) -> impl Strategy<Value = Scenario> {
    (prop::collection::vec(frame_gen(), 1..=max_frames), any::<bool>()).prop_flat_map(move |(mut frames, same)| {
        if same {
            let first = frames[0].clone();
            for f in &mut frames[1..] {
                f.sea = first.sea;
                f.smp = first.smp;
                f.spp = f.spp.or(first.spp).filter(|_| first.spp.is_some());
            }
        }
        let n = frames.len();
        (Just(frames), prop::collection::vec(part_gen(n), 0..=max_parts), prop::collection::vec(edit_gen(n), 0..=4))
            .prop_map(|(frames, parts, edits)| {
                let parts = fit(&frames, parts);
                Scenario { frames, parts, edits }
            })
    })
}

/// Stops the generated partitions that would not fit their frame (memory, processing units,
/// pool maximum, one paging device each and a common one for those that require redundant
/// paging), so that the starting estate is satisfiable and the edits, not the generator, take
/// it to its limits.
pub fn fit(frames: &[FrameGen], mut parts: Vec<PartGen>) -> Vec<PartGen> {
    struct Room {
        mem: u64,
        units: u32,
        pool: u32,
        devices: u8,
        common: u8,
    }
    let mut room: Vec<Room> = frames
        .iter()
        .map(|f| Room {
            mem: f.mem_gb * 1024 - 4096 - if f.smp.is_some() { 2048 } else { 0 },
            units: f.procs * 100 - 100,
            pool: f.pool_max().map_or(0, |m| m * 100),
            devices: f.smp.map_or(0, |s| s.1),
            common: f.smp.map_or(0, |s| s.1.min(COMMON_DEVICES)),
        })
        .collect();
    for p in parts.iter_mut().filter(|p| p.running) {
        let f = &frames[p.frame];
        let r = &mut room[p.frame];
        let shared = p.shared_mem && f.smp.is_some();
        let required = shared && p.redundancy >= 2 && f.smp.is_some_and(|s| s.0 == 2);
        let pooled = p.pool && f.spp.is_some();
        let fits = p.units <= r.units
            && (if shared { r.devices > 0 && (!required || r.common > 0) } else { p.mem <= r.mem })
            && (!pooled || p.units <= r.pool);
        if !fits {
            p.running = false;
            continue;
        }
        r.units -= p.units;
        if shared {
            r.devices -= 1;
            r.common -= u8::from(required);
        } else {
            r.mem -= p.mem;
        }
        if pooled {
            r.pool -= p.units;
        }
    }
    parts
}

/// SAN LUNs `SAN0`.. seen by both VIOS of every frame; partition `lpK` boots from `SAN{K % 64}`
/// (an LPM candidate's disks are SAN LUNs both VIOS see: lpm-js22-walkthrough.txt, line 10).
const SAN_LUNS: usize = 64;

/// Paging disks `pg0`, `pg1` are seen by both VIOS of a frame (common); `pg2` only by VIOS `a`
/// (independent), so a pool of three devices mixes both kinds.
const COMMON_DEVICES: u8 = 2;

/// See the module documentation.
pub fn hardware(frames: &[FrameGen]) -> String {
    let mut y = String::new();
    for (i, f) in frames.iter().enumerate() {
        let disks = |n: u8| {
            (0..n)
                .map(|j| format!("{{name: pg{j}, lun: F{i}PG{j}, sizeMB: 8192, reservePolicy: no_reserve}}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        // Every partition's rootvg LUN is zoned to every VIOS, so that it may move anywhere.
        let san: String = (0..SAN_LUNS)
            .map(|k| format!(", {{name: hdisk{}, lun: SAN{k}, sizeMB: 20480, reservePolicy: no_reserve}}", 100 + k))
            .collect();
        let (disks_a, disks_b) = (format!("{}{san}", disks(3)), format!("{}{san}", disks(COMMON_DEVICES)));
        let msp = f.msp;
        y.push_str(&format!(
            "---\napiVersion: powerplane/v1\nkind: FrameHardware\nmetadata: {{name: f{i}}}\nspec:\n  serial: S{i}\n  machineType: 8233-E8B\n  memoryMB: {}\n  procUnits: {}\n  compatModes: [POWER7]\n  vios:\n    - {{name: f{i}va, memoryMB: 2048, procUnits: 0.5, ethernet: [ent0, ent1, ent2, ent3], msp: {msp}, disks: [{disks_a}]}}\n    - {{name: f{i}vb, memoryMB: 2048, procUnits: 0.5, ethernet: [ent0, ent1, ent2, ent3], msp: {msp}, disks: [{disks_b}]}}\n",
            f.mem_gb * 1024,
            f.procs
        ));
        y.push_str(&format!("---\napiVersion: powerplane/v1\nkind: ViosPair\nmetadata: {{name: p{i}}}\nspec: {{frame: f{i}, members: [{{name: f{i}va}}, {{name: f{i}vb}}]}}\n"));
    }
    y
}

/// See the module documentation.
pub fn manifests(frames: &[FrameGen], parts: &[Option<PartGen>]) -> String {
    let mut y = String::new();
    for (i, f) in frames.iter().enumerate() {
        y.push_str(&format!("---\napiVersion: powerplane/v1\nkind: Frame\nmetadata: {{name: f{i}, labels: {{site: x}}}}\nspec: {{maintenance: {}}}\n", f.maintenance));
        let b = if f.vios_b_down { "stopped" } else { "running" };
        y.push_str(&format!("---\napiVersion: powerplane/v1\nkind: ViosPair\nmetadata: {{name: p{i}}}\nspec: {{frame: f{i}, members: [{{name: f{i}va}}, {{name: f{i}vb, state: {b}}}]}}\n"));
        if let Some(sharing) = f.sea {
            y.push_str(&format!(
                "---\napiVersion: powerplane/v1\nkind: SharedEthernetAdapter\nmetadata: {{name: s{i}}}\nspec: {{viosPair: p{i}, haMode: {}, primary: f{i}va, realAdapter: ent0, controlChannel: ent3, trunks: [{{adapter: ent1, pvid: 1, vlans: [10]}}, {{adapter: ent2, pvid: 2, vlans: [20]}}{}]}}\n",
                if sharing { "sharing" } else { "auto" },
                [", {adapter: ent5, pvid: 3, vlans: [30]}", ", {adapter: ent6, pvid: 4, vlans: [40]}"][..usize::from(f.extra_trunks.min(2))].concat()
            ));
        }
        if let Some((vios, devices)) = f.smp {
            let pv = if vios == 2 { format!("[f{i}va, f{i}vb]") } else { format!("[f{i}va]") };
            let devs = (0..devices).map(|j| format!("{{device: pg{j}, sizeMB: 8192}}")).collect::<Vec<_>>().join(", ");
            y.push_str(&format!("---\napiVersion: powerplane/v1\nkind: SharedMemoryPool\nmetadata: {{name: m{i}}}\nspec: {{frame: f{i}, poolMemMB: 2048, maxPoolMemMB: 4096, pagingVios: {pv}, pagingDevices: [{devs}]}}\n"));
        }
        if let Some(max) = f.pool_max() {
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
                    p.mem.min(8192),
                    8192
                )
            }
            _ => format!("{{desiredMB: {}, maxMB: {}}}", p.mem.min(p.max), p.max),
        };
        let network = if p.vlan && f.sea.is_some() { "\n  network: [{vlan: 10}]" } else { "" };
        let storage = format!("\n  storage: [{{lun: SAN{}, via: vscsi}}]", k % SAN_LUNS);
        y.push_str(&format!(
            "---\napiVersion: powerplane/v1\nkind: Partition\nmetadata: {{name: lp{k}}}\nspec:\n  placement: {placement}\n  state: {}\n  processors: {{units: {}.{:02}{pool}}}\n  memory: {memory}{network}{storage}\n",
            if p.running { "running" } else { "stopped" },
            p.units / 100,
            p.units % 100
        ));
    }
    y
}

/// The frames' hardware with their VIOS running and nothing else: what a fresh backend shows.
pub fn bare(frames: &[FrameGen]) -> Estate {
    let mut e = crate::load::load_inventory(&[SourceFile::new("inv.yaml", hardware(frames))]).expect("valid inventory");
    let running: Vec<_> = e
        .hardware
        .iter()
        .map(|(f, hw)| (f.clone(), hw.spec.vios.iter().map(|v| (v.name.clone(), LparState::Running)).collect()))
        .collect();
    e.status.vios.extend(running);
    e
}

/// See the module documentation.
pub fn load(manifests_text: &str) -> Option<Estate> {
    load_manifests(&[SourceFile::new("m.yaml", manifests_text)]).ok()
}

/// What exceeds a capacity in an estate, if anything.
/// See the module documentation.
pub fn over_capacity(e: &Estate) -> Option<String> {
    let holds =
        |s: &LparState| !matches!(s, LparState::NotActivated | LparState::MigratingNotActivated | LparState::Error);
    for (f, hw) in &e.hardware {
        let vios = e.status.vios.get(f);
        let (mut mem, mut procs) = (0u64, 0u32);
        for v in &hw.spec.vios {
            if vios.and_then(|m| m.get(&v.name)).is_some_and(holds) {
                mem += v.memory_mb.0;
                procs += v.proc_units.hundredths();
            }
        }
        mem += e.mem_pools.values().filter(|p| &p.spec.frame == f).map(|p| p.spec.pool_mem_mb.0).sum::<u64>();
        procs += e
            .proc_pools
            .values()
            .filter(|p| &p.spec.frame == f)
            .map(|p| p.spec.reserved_proc_units.hundredths())
            .sum::<u32>();
        let mut shared = 0usize;
        let mut pools: std::collections::BTreeMap<String, u32> = Default::default();
        for (n, p) in &e.partitions {
            let st = &e.status.partitions[n];
            if &st.frame != f || !holds(&st.state) {
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

/// Whether a partition renders the same on both frames.
fn compatible(a: &FrameGen, b: &FrameGen) -> bool {
    a.sea.is_some() == b.sea.is_some() && a.smp.map(|s| s.0) == b.smp.map(|s| s.0) && a.spp.is_some() == b.spp.is_some()
}

/// The scenario's partitions after its edits (removed ones leave an empty slot, so names stay).
pub fn edited(s: &Scenario) -> (Vec<FrameGen>, Vec<Option<PartGen>>) {
    apply_edits(&s.frames, s.parts.iter().cloned().map(Some).collect(), &s.edits)
}

/// Applies `edits` to frames and partition slots.
pub fn apply_edits(
    frames: &[FrameGen],
    parts: Vec<Option<PartGen>>,
    edits: &[Edit],
) -> (Vec<FrameGen>, Vec<Option<PartGen>>) {
    let mut frames = frames.to_vec();
    let mut parts = parts;
    let n = frames.len();
    for e in edits {
        let len = parts.len().max(1);
        match e {
            // Moves go between frames with the same features, so that a partition's rendered
            // configuration (VLAN, pool, memory mode) stays what it is: changing those needs a
            // profile change, which the planner reports rather than plans.
            Edit::Move(p, f) => {
                if let Some(Some(p)) = parts.get_mut(p % len)
                    && compatible(&frames[p.frame], &frames[*f % n])
                {
                    p.frame = *f % n;
                    p.any_of = None;
                }
            }
            Edit::AnyOf(p, f) => {
                if let Some(Some(p)) = parts.get_mut(p % len)
                    && compatible(&frames[p.frame], &frames[*f % n])
                {
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
            // The administrator puts the frame in maintenance and re-places what is pinned to it
            // on the next compatible frame that is not in maintenance (none: the planner must
            // say that the partition has nowhere to go).
            Edit::Maintenance(f) => {
                let f = *f % n;
                frames[f].maintenance = true;
                let target =
                    (1..n).map(|k| (f + k) % n).find(|&g| !frames[g].maintenance && compatible(&frames[f], &frames[g]));
                for p in parts.iter_mut().flatten().filter(|p| p.frame == f) {
                    if let Some(g) = target {
                        p.frame = g;
                        p.any_of = None;
                    }
                }
            }
            Edit::ViosDown(f) => frames[*f % n].vios_b_down = true,
            Edit::SeaMode(f) => {
                let fr = &mut frames[*f % n];
                fr.sea = fr.sea.map(|s| !s);
            }
            Edit::AddTrunk(f) => {
                let fr = &mut frames[*f % n];
                fr.extra_trunks = (fr.extra_trunks + 1).min(2);
            }
        }
    }
    (frames, parts)
}

/// A fault to inject, by index into the generated estate (the controller test maps it onto the
/// simulator).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// A VIOS of a frame goes down: `a` (the SEA primary and first paging VIOS) if the flag
    /// is set, else `b`.
    ViosDown(usize, bool),
    /// The next action of the kind with this index (in `ActionKind::ALL`) fails.
    FailNext(usize, bool),
    /// A frame goes on battery.
    Battery(usize),
    /// The RMC connection to a partition is lost.
    RmcLost(usize),
}

/// A fault of an estate with `frames` frames.
pub fn fault_gen(frames: usize) -> impl Strategy<Value = Fault> {
    prop_oneof![
        (0..frames, any::<bool>()).prop_map(|(f, a)| Fault::ViosDown(f, a)),
        (0usize..19, any::<bool>()).prop_map(|(k, t)| Fault::FailNext(k, t)),
        (0..frames).prop_map(Fault::Battery),
        (0usize..40).prop_map(Fault::RmcLost),
    ]
}
