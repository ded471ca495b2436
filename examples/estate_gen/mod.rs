//! A synthetic PowerVM estate of N frames and M partitions, deterministic from a seed: the
//! inventory (hardware plus what already exists) and the desired manifests, one file per
//! frame. The brownfield differs from the manifests the way a real change set does: a few
//! partitions to create, to resize (DLPAR) and to migrate, and SEAs to switch to load
//! sharing, so planning does real work. Used by `examples/gen_estate.rs` and the benches.

#![allow(dead_code)]

use std::fmt::Write;

/// Files of a generated estate: `(file name, YAML text)`.
pub struct Generated {
    /// Inventory files (hardware and brownfield), one per frame.
    pub inventory: Vec<(String, String)>,
    /// Manifest files, one per frame.
    pub manifests: Vec<(String, String)>,
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn pick<T: Copy>(&mut self, v: &[T]) -> T {
        v[(self.next() % v.len() as u64) as usize]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const HEADER: &str = "apiVersion: powerplane/v1\n";

/// The SAN LUN partition `j` boots from.
fn san_lun(j: usize) -> String {
    format!("SAN{j:06}")
}

/// Generates `frames` frames holding `partitions` partitions.
pub fn generate(frames: usize, partitions: usize, seed: u64) -> Generated {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut inv: Vec<String> = vec![String::new(); frames];
    let mut man: Vec<String> = vec![String::new(); frames];
    let frame = |i: usize| format!("f{i:04}");
    for i in 0..frames {
        let f = frame(i);
        // Each partition's rootvg LUN is zoned to its home frame and the next one, where the
        // brownfield may run it and where `anyOf` lets it go (an LPM candidate's disks are SAN
        // LUNs both frames' VIOS see: lpm-js22-walkthrough.txt, line 10).
        let prev = (i + frames - 1) % frames;
        let mut luns: Vec<usize> = (i..partitions).step_by(frames).chain((prev..partitions).step_by(frames)).collect();
        luns.sort_unstable();
        luns.dedup();
        let disks: String = (0..4)
            .map(|d| format!("{{name: pg{d}, lun: {f}PG{d}, sizeMB: 65536, reservePolicy: no_reserve}}"))
            .chain(luns.iter().enumerate().map(|(n, j)| {
                format!("{{name: hdisk{}, lun: {}, sizeMB: 30720, reservePolicy: no_reserve}}", n + 10, san_lun(*j))
            }))
            .collect::<Vec<_>>()
            .join(", ");
        let vios = |v: &str| {
            format!(
                "    - {{name: {f}{v}, memoryMB: 8192, procUnits: 1.0, ethernet: [ent0, ent1, ent2, ent3], msp: true, disks: [{disks}]}}\n"
            )
        };
        let _ = write!(
            inv[i],
            "---\n{HEADER}kind: FrameHardware\nmetadata: {{name: {f}, labels: {{site: dc{}}}}}\nspec:\n  serial: \"S{i:06}\"\n  machineType: \"9080-HEX\"\n  memoryMB: 1048576\n  procUnits: 64\n  compatModes: [POWER8, POWER9, POWER10]\n  vios:\n{}{}",
            i % 4,
            vios("va"),
            vios("vb")
        );
        let pair = format!(
            "---\n{HEADER}kind: ViosPair\nmetadata: {{name: {f}-vios}}\nspec: {{frame: {f}, members: [{{name: {f}va}}, {{name: {f}vb}}]}}\n"
        );
        let sea = |mode: &str| {
            format!(
                "---\n{HEADER}kind: SharedEthernetAdapter\nmetadata: {{name: {f}-sea}}\nspec: {{viosPair: {f}-vios, haMode: {mode}, primary: {f}va, realAdapter: ent0, controlChannel: ent3, trunks: [{{adapter: ent1, pvid: 1, vlans: [10, 11]}}, {{adapter: ent2, pvid: 2, vlans: [12, 13]}}]}}\n"
            )
        };
        let smp = format!(
            "---\n{HEADER}kind: SharedMemoryPool\nmetadata: {{name: {f}-ams}}\nspec: {{frame: {f}, poolMemMB: 16384, maxPoolMemMB: 32768, pagingVios: [{f}va, {f}vb], pagingDevices: [{{device: pg0, sizeMB: 65536}}, {{device: pg1, sizeMB: 65536}}, {{device: pg2, sizeMB: 65536}}, {{device: pg3, sizeMB: 65536}}]}}\n"
        );
        let spp = format!(
            "---\n{HEADER}kind: SharedProcessorPool\nmetadata: {{name: {f}-prod}}\nspec: {{frame: {f}, poolName: prod, maxProcUnits: 32}}\n"
        );
        let _ = write!(
            man[i],
            "---\n{HEADER}kind: Frame\nmetadata: {{name: {f}, labels: {{site: dc{}}}}}\n{pair}{}{smp}{spp}",
            i % 4,
            sea("sharing")
        );
        let brown_sea = if rng.chance(10) { sea("auto") } else { sea("sharing") };
        let _ = write!(inv[i], "{pair}{brown_sea}{smp}{spp}");
    }
    let mut shared_on = vec![0usize; frames];
    // The frame of each partition of the brownfield, by number: a cluster of the inventory
    // names only those, on different frames.
    let mut exists = std::collections::BTreeMap::new();
    for j in 0..partitions {
        let home = j % frames;
        let name = format!("p{j:06}");
        let mem = rng.pick(&[8192u64, 16384, 32768]);
        let units = rng.pick(&[50u32, 100, 150, 200]);
        let pool = if rng.chance(50) { ", pool: prod" } else { "" };
        let vlan = rng.pick(&[10u16, 12]);
        let shared = shared_on[home] < 2 && rng.chance(10);
        if shared {
            shared_on[home] += 1;
        }
        let memory = |desired: u64| {
            if shared {
                format!(
                    "{{mode: shared, desiredMB: {}, maxMB: 32768, paging: {{redundancy: preferred}}}}",
                    desired.min(16384)
                )
            } else {
                format!("{{desiredMB: {desired}, maxMB: {}}}", mem * 2)
            }
        };
        let any_of = frames > 1 && !shared && rng.chance(8);
        let placement = if any_of {
            format!("{{anyOf: [{}, {}]}}", frame(home), frame((home + 1) % frames))
        } else {
            format!("{{frame: {}}}", frame(home))
        };
        let processors = format!(
            "{{units: {}.{:02}, virtual: {}{pool}, compat: POWER9}}",
            units / 100,
            units % 100,
            units.div_ceil(100).max(1) * 2
        );
        let state = if rng.chance(95) { "running" } else { "stopped" };
        let doc = |placement: &str, memory: &str| {
            format!(
                "---\n{HEADER}kind: Partition\nmetadata: {{name: {name}, labels: {{app: a{}}}}}\nspec:\n  placement: {placement}\n  state: {state}\n  processors: {processors}\n  memory: {memory}\n  network: [{{vlan: {vlan}}}]\n  storage: [{{lun: {}, via: vscsi}}]\n",
                j % 50,
                san_lun(j)
            )
        };
        man[home].push_str(&doc(&placement, &memory(mem)));
        // The brownfield: 2% do not exist yet, 2% have other memory, 1% of the pinned ones
        // run on the next frame and must migrate back.
        let roll = rng.next() % 100;
        if roll < 2 {
            continue;
        }
        let (brown_frame, brown_mem) = match roll {
            2..=3 => (home, memory(mem / 2)),
            4 if frames > 1 && !any_of && !shared => ((home + 1) % frames, memory(mem)),
            _ => (home, memory(mem)),
        };
        inv[brown_frame].push_str(&doc(&format!("{{frame: {}}}", frame(brown_frame)), &brown_mem));
        exists.insert(j, brown_frame);
    }
    // One VCS cluster per ten partitions: p(j) and p(j+1), on neighbouring frames.
    for j in (0..partitions.saturating_sub(1)).step_by(10).filter(|_| frames > 1) {
        let cluster = format!(
            "---\n{HEADER}kind: Cluster\nmetadata: {{name: c{j:06}}}\nspec: {{manager: vcs, members: [p{j:06}, p{:06}], vcs: {{peerinactSeconds: 16, unresponsiveSeconds: 40}}}}\n",
            j + 1
        );
        man[j % frames].push_str(&cluster);
        if let (Some(a), Some(b)) = (exists.get(&j), exists.get(&(j + 1)))
            && a != b
        {
            inv[j % frames].push_str(&cluster);
        }
    }
    let files = |v: Vec<String>| v.into_iter().enumerate().map(|(i, t)| (format!("{}.yaml", frame(i)), t)).collect();
    Generated { inventory: files(inv), manifests: files(man) }
}

/// An evacuation: four frames `e0..e3`, `partitions` running partitions on `e0` of 1 to 32 GB
/// (deterministic from `seed`), each booting from a SAN LUN zoned to every frame, and manifests
/// that put `e0` into maintenance with every partition free to go to any other frame. The
/// frames are large enough for any spread of the partitions over the other three.
pub fn evacuation(partitions: usize, seed: u64) -> Generated {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let sizes: Vec<u64> = (0..partitions).map(|_| 1024 * (1 + rng.next() % 32)).collect();
    let memory: u64 = sizes.iter().sum::<u64>() + 65536;
    let units = (partitions as u64 * 10 + 400).div_ceil(100) * 100;
    let disks: String = (0..partitions)
        .map(|j| format!("{{name: hdisk{}, lun: EV{j:05}, sizeMB: 30720, reservePolicy: no_reserve}}", j + 10))
        .collect::<Vec<_>>()
        .join(", ");
    let mut inv = String::new();
    let mut man = String::new();
    for i in 0..4 {
        let f = format!("e{i}");
        let pair = format!(
            "---\n{HEADER}kind: ViosPair\nmetadata: {{name: {f}-vios}}\nspec: {{frame: {f}, members: [{{name: {f}va}}, {{name: {f}vb}}]}}\n"
        );
        let sea = format!(
            "---\n{HEADER}kind: SharedEthernetAdapter\nmetadata: {{name: {f}-sea}}\nspec: {{viosPair: {f}-vios, haMode: auto, primary: {f}va, realAdapter: ent0, controlChannel: ent3, trunks: [{{adapter: ent1, pvid: 1, vlans: [10]}}]}}\n"
        );
        let vios = |v: &str| {
            format!(
                "    - {{name: {f}{v}, memoryMB: 8192, procUnits: 1.0, ethernet: [ent0, ent1, ent2, ent3], msp: true, disks: [{disks}]}}\n"
            )
        };
        let _ = write!(
            inv,
            "---\n{HEADER}kind: FrameHardware\nmetadata: {{name: {f}}}\nspec:\n  serial: \"E{i:06}\"\n  machineType: \"9080-HEX\"\n  memoryMB: {memory}\n  procUnits: {}\n  compatModes: [POWER9]\n  vios:\n{}{}{pair}{sea}",
            units / 100,
            vios("va"),
            vios("vb")
        );
        let _ = write!(
            man,
            "---\n{HEADER}kind: Frame\nmetadata: {{name: {f}}}\nspec: {{maintenance: {}}}\n{pair}{sea}",
            i == 0
        );
    }
    for (j, mb) in sizes.iter().enumerate() {
        let doc = |placement: &str| {
            format!(
                "---\n{HEADER}kind: Partition\nmetadata: {{name: ev{j:05}}}\nspec:\n  placement: {placement}\n  state: running\n  processors: {{units: 0.1, virtual: 1, compat: POWER9}}\n  memory: {{desiredMB: {mb}, maxMB: {mb}}}\n  network: [{{vlan: 10}}]\n  storage: [{{lun: EV{j:05}, via: vscsi}}]\n"
            )
        };
        inv.push_str(&doc("{frame: e0}"));
        man.push_str(&doc("{anyOf: [e0, e1, e2, e3]}"));
    }
    Generated { inventory: vec![("inventory.yaml".into(), inv)], manifests: vec![("estate.yaml".into(), man)] }
}
