//! The estate: every object of a desired or observed state, indexed by kind and name, plus
//! lookups by frame for validation and planning.

use std::collections::{BTreeMap, BTreeSet};

use crate::manifest::{
    FrameHardwareSpec, FrameSpec, Kind, Metadata, PartitionSpec, SeaSpec, SharedMemoryPoolSpec,
    SharedProcessorPoolSpec, ViosHardwareSpec, ViosPairSpec,
};
use crate::names::{
    FrameName, MemPoolName, PartitionName, ProcPoolName, ProcPoolObjectName, SeaName, ViosName, ViosPairName,
};
use crate::source::{Location, Origin};

/// One object: its metadata, its spec, and where it was loaded from (none for objects that
/// came from a backend). Serialised without its origin (snapshots, saved plans).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[schemars(rename = "{S}Object")]
pub struct Object<N, S> {
    /// Name and labels.
    pub metadata: Metadata<N>,
    /// The kind-specific configuration.
    pub spec: S,
    /// The manifest document it came from.
    #[serde(skip)]
    pub origin: Option<Origin>,
}

impl<N: PartialEq, S: PartialEq> PartialEq for Object<N, S> {
    /// Objects are equal when their content is; where they were loaded from does not count.
    fn eq(&self, other: &Self) -> bool {
        self.metadata == other.metadata && self.spec == other.spec
    }
}

impl<N, S> Object<N, S> {
    /// An object that came from no file.
    pub fn new(metadata: Metadata<N>, spec: S) -> Self {
        Object { metadata, spec, origin: None }
    }

    /// The object's name.
    pub fn name(&self) -> &N {
        &self.metadata.name
    }

    /// Where a field of this object is written, if it came from a file.
    pub fn locate(&self, path: &[&str]) -> Option<Location> {
        self.origin.as_ref().map(|o| o.locate(path))
    }
}

/// A `Frame` object.
pub type Frame = Object<FrameName, FrameSpec>;
/// A `SharedProcessorPool` object.
pub type ProcPool = Object<ProcPoolObjectName, SharedProcessorPoolSpec>;
/// A `SharedMemoryPool` object.
pub type MemPool = Object<MemPoolName, SharedMemoryPoolSpec>;
/// A `ViosPair` object.
pub type ViosPair = Object<ViosPairName, ViosPairSpec>;
/// A `SharedEthernetAdapter` object.
pub type Sea = Object<SeaName, SeaSpec>;
/// A `Partition` object.
pub type Partition = Object<PartitionName, PartitionSpec>;
/// A `FrameHardware` object.
pub type Hardware = Object<FrameName, FrameHardwareSpec>;
/// A `Cluster` object.
pub type Cluster = Object<crate::names::ClusterName, crate::manifest::ClusterSpec>;
/// A `Settings` object.
pub type Settings = Object<crate::names::SettingsName, crate::manifest::SettingsSpec>;

/// Renames each object of `objects` to the name `wanted` gives its identity (`identity`),
/// unless that name is taken; returns the renames made, `(old, new)`.
fn rename_to<N: Ord + Clone, S, K: Ord>(
    objects: &mut BTreeMap<N, Object<N, S>>,
    wanted: &BTreeMap<K, &N>,
    identity: impl Fn(&Object<N, S>) -> Option<K>,
) -> Vec<(N, N)> {
    let renames: Vec<(N, N)> = objects
        .values()
        .filter_map(|o| {
            let want = *wanted.get(&identity(o)?)?;
            (*want != o.metadata.name).then(|| (o.metadata.name.clone(), want.clone()))
        })
        .collect();
    let mut done = Vec::new();
    for (old, new) in renames {
        if objects.contains_key(&new) {
            continue;
        }
        if let Some(mut o) = objects.remove(&old) {
            o.metadata.name = new.clone();
            objects.insert(new.clone(), o);
            done.push((old, new));
        }
    }
    done
}

/// All objects of a desired state (from manifests) or an observed state (from a backend).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Estate {
    /// Frames by name.
    pub frames: BTreeMap<FrameName, Frame>,
    /// Shared processor pools by object name.
    pub proc_pools: BTreeMap<ProcPoolObjectName, ProcPool>,
    /// Shared memory pools by object name.
    pub mem_pools: BTreeMap<MemPoolName, MemPool>,
    /// VIOS pairs by name.
    pub vios_pairs: BTreeMap<ViosPairName, ViosPair>,
    /// Shared Ethernet Adapters by name.
    pub seas: BTreeMap<SeaName, Sea>,
    /// Client partitions by name.
    pub partitions: BTreeMap<PartitionName, Partition>,
    /// Clusters by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub clusters: BTreeMap<crate::names::ClusterName, Cluster>,
    /// Physical facts by frame (observed states and inventories only).
    pub hardware: BTreeMap<FrameName, Hardware>,
    /// Reconciliation settings (desired states only; at most one is valid).
    pub settings: BTreeMap<crate::names::SettingsName, Settings>,
    /// Runtime state (observed states only).
    pub status: crate::status::Status,
}

impl Estate {
    /// Number of objects of each kind, in [`Kind::ALL`] order, kinds with none left out.
    pub fn counts(&self) -> Vec<(Kind, usize)> {
        Kind::ALL.into_iter().map(|k| (k, self.count(k))).filter(|(_, n)| *n > 0).collect()
    }

    /// Number of objects of `kind`.
    pub fn count(&self, kind: Kind) -> usize {
        match kind {
            Kind::Frame => self.frames.len(),
            Kind::SharedProcessorPool => self.proc_pools.len(),
            Kind::SharedMemoryPool => self.mem_pools.len(),
            Kind::ViosPair => self.vios_pairs.len(),
            Kind::SharedEthernetAdapter => self.seas.len(),
            Kind::Partition => self.partitions.len(),
            Kind::FrameHardware => self.hardware.len(),
            Kind::Settings => self.settings.len(),
            Kind::Cluster => self.clusters.len(),
        }
    }

    /// Total number of objects.
    pub fn len(&self) -> usize {
        Kind::ALL.into_iter().map(|k| self.count(k)).sum()
    }

    /// Whether the estate has no object at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Gives the objects an HMC does not name — VIOS pairs, SEAs, shared memory and processor
    /// pools, which exist only in manifests — the names `desired` gives the same objects: a
    /// pair by its frame, a SEA by its pair's frame, a memory pool by its frame, a processor
    /// pool by its frame and pool name. An observation that already uses them (the
    /// simulator's) is left as it is.
    pub fn adopt_names(&mut self, desired: &Estate) {
        let pair_of_frame: BTreeMap<FrameName, &ViosPairName> =
            desired.vios_pairs.values().map(|p| (p.spec.frame.clone(), &p.metadata.name)).collect();
        for (old, new) in rename_to(&mut self.vios_pairs, &pair_of_frame, |p| Some(p.spec.frame.clone())) {
            for s in self.seas.values_mut().filter(|s| s.spec.vios_pair == old) {
                s.spec.vios_pair = new.clone();
            }
        }
        let frame_of_pair = |e: &Estate, pair: &ViosPairName| e.vios_pairs.get(pair).map(|p| p.spec.frame.clone());
        let sea_of_frame: BTreeMap<FrameName, &SeaName> = desired
            .seas
            .values()
            .filter_map(|s| Some((frame_of_pair(desired, &s.spec.vios_pair)?, &s.metadata.name)))
            .collect();
        let pairs = &self.vios_pairs;
        for (old, new) in
            rename_to(&mut self.seas, &sea_of_frame, |s| pairs.get(&s.spec.vios_pair).map(|p| p.spec.frame.clone()))
        {
            if let Some(st) = self.status.seas.remove(&old) {
                self.status.seas.insert(new, st);
            }
        }
        let pool_of_frame: BTreeMap<FrameName, &MemPoolName> =
            desired.mem_pools.values().map(|p| (p.spec.frame.clone(), &p.metadata.name)).collect();
        rename_to(&mut self.mem_pools, &pool_of_frame, |p| Some(p.spec.frame.clone()));
        let pool_key = |p: &ProcPool| (p.spec.frame.clone(), p.spec.pool_name.clone());
        let proc_pool: BTreeMap<(FrameName, ProcPoolName), &ProcPoolObjectName> =
            desired.proc_pools.values().map(|p| (pool_key(p), &p.metadata.name)).collect();
        rename_to(&mut self.proc_pools, &proc_pool, |p| Some(pool_key(p)));
    }

    /// Whether the settings let the controller loop start a VIOS that went down outside it.
    pub fn restart_vios(&self) -> bool {
        self.settings.values().any(|s| s.spec.restart_vios)
    }

    /// Whether the settings let a move lift a SCSI reserve on the target VIOS's disk
    /// (`setNoReserve`).
    pub fn set_no_reserve(&self) -> bool {
        self.settings.values().any(|s| s.spec.set_no_reserve)
    }

    /// Whether the settings ask for unmanaged objects to be deleted.
    pub fn prune(&self) -> bool {
        self.settings.values().any(|s| s.spec.prune)
    }

    /// The maintenance windows the settings define.
    pub fn maintenance_windows(&self) -> Vec<&crate::manifest::MaintenanceWindow> {
        self.settings.values().flat_map(|s| &s.spec.maintenance_windows).collect()
    }

    /// Whether the settings let prune act on a desired state without partitions.
    pub fn allow_empty(&self) -> bool {
        self.settings.values().any(|s| s.spec.allow_empty)
    }

    /// Takes a fresh observation of some `frames` (see the controller's `observe_frames`) into
    /// this observed estate: those frames and everything on them are replaced by what `fresh`
    /// shows. Returns what was replaced, in the shape of `fresh`, so that the two can be
    /// compared. `known`, when given, names every partition and frame-bound object this estate
    /// may have on those frames (the controller's [`crate::plan::Ties`] know them), which spares
    /// the scan of the whole estate that finds them otherwise.
    pub fn replace_frames(
        &mut self,
        frames: &BTreeSet<FrameName>,
        known: Option<(&BTreeSet<PartitionName>, &FrameObjects)>,
        fresh: Estate,
    ) -> Estate {
        let on = |f: &FrameName| frames.contains(f);
        let partition_on =
            |p: &crate::estate::Partition| matches!(&p.spec.placement, crate::manifest::Placement::Frame(f) if on(f));
        let scanned;
        let (partitions, objects) = match known {
            Some(k) => k,
            None => {
                let names = self.partitions.iter().filter(|(_, p)| partition_on(p)).map(|(n, _)| n);
                let in_status = self.status.partitions.iter().filter(|(_, p)| on(&p.frame)).map(|(n, _)| n);
                let mut objects = FrameObjects::default();
                FrameObjects::by_frame(self).iter().filter(|(f, _)| on(f)).for_each(|(_, o)| objects.extend(o));
                scanned = (names.chain(in_status).cloned().collect::<BTreeSet<_>>(), objects);
                (&scanned.0, &scanned.1)
            }
        };
        let pairs: BTreeSet<ViosPairName> = objects
            .vios_pairs
            .iter()
            .filter(|n| self.vios_pairs.get(*n).is_some_and(|p| on(&p.spec.frame)))
            .cloned()
            .collect();
        let seas: BTreeSet<SeaName> = objects
            .seas
            .iter()
            .filter(|n| self.seas.get(*n).is_some_and(|s| pairs.contains(&s.spec.vios_pair)))
            .cloned()
            .collect();
        let status = &mut self.status;
        let old_status = crate::status::Status {
            frames: extract_keys(&mut status.frames, frames),
            vios: extract_keys(&mut status.vios, frames),
            vios_profiles: extract_keys(&mut status.vios_profiles, frames),
            vios_without_rmc: extract_keys(&mut status.vios_without_rmc, frames),
            seas: extract_keys(&mut status.seas, &seas),
            partitions: extract_known(&mut status.partitions, partitions, |p| on(&p.frame)),
            paging_devices: extract_keys(&mut status.paging_devices, frames),
            nodes: BTreeMap::new(),
            nodes_observed: status.nodes_observed,
            set_aside: extract_keys(&mut status.set_aside, frames),
            unknown_vios: extract_keys(&mut status.unknown_vios, frames),
            migration_limits: extract_keys(&mut status.migration_limits, frames),
            proc_pool_slots: extract_keys(&mut status.proc_pool_slots, frames),
            vios_storage: extract_keys(&mut status.vios_storage, frames),
            client_adapters: extract_keys(&mut status.client_adapters, partitions),
            unknown_partitions: extract_keys(&mut status.unknown_partitions, partitions),
            namesakes: {
                let (old, kept) =
                    std::mem::take(&mut status.namesakes).into_iter().partition(|n| frames.contains(&n.frame));
                status.namesakes = kept;
                old
            },
            consoles: status.consoles.clone(),
        };
        let old = Estate {
            frames: extract_keys(&mut self.frames, frames),
            proc_pools: extract_known(&mut self.proc_pools, &objects.proc_pools, |p| on(&p.spec.frame)),
            mem_pools: extract_known(&mut self.mem_pools, &objects.mem_pools, |p| on(&p.spec.frame)),
            vios_pairs: extract_keys(&mut self.vios_pairs, &pairs),
            seas: extract_keys(&mut self.seas, &seas),
            partitions: extract_known(&mut self.partitions, partitions, partition_on),
            hardware: extract_keys(&mut self.hardware, frames),
            settings: BTreeMap::new(),
            clusters: BTreeMap::new(),
            status: old_status,
        };
        let status = &mut self.status;
        self.frames.extend(fresh.frames);
        self.hardware.extend(fresh.hardware);
        self.vios_pairs.extend(fresh.vios_pairs);
        self.seas.extend(fresh.seas);
        self.mem_pools.extend(fresh.mem_pools);
        self.proc_pools.extend(fresh.proc_pools);
        self.partitions.extend(fresh.partitions);
        status.frames.extend(fresh.status.frames);
        status.vios.extend(fresh.status.vios);
        status.vios_profiles.extend(fresh.status.vios_profiles);
        status.vios_without_rmc.extend(fresh.status.vios_without_rmc);
        status.paging_devices.extend(fresh.status.paging_devices);
        status.seas.extend(fresh.status.seas);
        status.partitions.extend(fresh.status.partitions);
        status.set_aside.extend(fresh.status.set_aside);
        status.unknown_vios.extend(fresh.status.unknown_vios);
        status.unknown_partitions.extend(fresh.status.unknown_partitions);
        status.namesakes.extend(fresh.status.namesakes);
        status.migration_limits.extend(fresh.status.migration_limits);
        status.proc_pool_slots.extend(fresh.status.proc_pool_slots);
        // The HMCs are estate-wide: a fresh observation's view of them replaces the old.
        if !fresh.status.consoles.is_empty() {
            status.consoles = fresh.status.consoles;
        }
        status.vios_storage.extend(fresh.status.vios_storage);
        status.client_adapters.extend(fresh.status.client_adapters);
        // A node's status goes with its partition: what the old partitions had is replaced.
        let mut old = old;
        for name in old.partitions.keys() {
            if let Some(n) = status.nodes.remove(name) {
                old.status.nodes.insert(name.clone(), n);
            }
        }
        status.nodes.extend(fresh.status.nodes);
        status.nodes_observed = fresh.status.nodes_observed;
        // Clusters are estate-wide: a fresh observation's view of one replaces the old.
        for (name, c) in fresh.clusters {
            if let Some(prev) = self.clusters.insert(name.clone(), c) {
                old.clusters.insert(name, prev);
            }
        }
        old
    }

    /// Lookups by frame and by VIOS, built once for a validation or planning pass.
    pub fn index(&self) -> EstateIndex<'_> {
        EstateIndex::new(self)
    }
}

/// Removes and returns the entries of `m` among `names` that `pred` selects.
fn extract_known<K: Ord + Clone, V>(
    m: &mut BTreeMap<K, V>,
    names: &BTreeSet<K>,
    pred: impl Fn(&V) -> bool,
) -> BTreeMap<K, V> {
    let keys: Vec<&K> = names.iter().filter(|n| m.get(*n).is_some_and(&pred)).collect();
    keys.into_iter().filter_map(|k| m.remove(k).map(|v| (k.clone(), v))).collect()
}

/// Removes and returns the entries of `m` under `keys`.
fn extract_keys<K: Ord + Clone, V>(m: &mut BTreeMap<K, V>, keys: &BTreeSet<K>) -> BTreeMap<K, V> {
    keys.iter().filter_map(|k| m.remove(k).map(|v| (k.clone(), v))).collect()
}

/// The names of the frame-bound objects (shared pools, VIOS pairs and their SEAs) that may be
/// on some frames: a superset is fine, since whoever uses it checks each object's frame. It
/// lets the controller pick a few frames' objects out of a large estate at the cost of what
/// those frames hold, instead of a scan of every pool, pair and SEA.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FrameObjects {
    /// Shared processor pools.
    pub proc_pools: BTreeSet<ProcPoolObjectName>,
    /// Shared memory pools.
    pub mem_pools: BTreeSet<MemPoolName>,
    /// VIOS pairs.
    pub vios_pairs: BTreeSet<ViosPairName>,
    /// SEAs, by the frame of the VIOS pair they name.
    pub seas: BTreeSet<SeaName>,
}

impl FrameObjects {
    /// The frame-bound objects of `e`, frame by frame (a SEA whose VIOS pair `e` lacks is on
    /// no frame).
    pub fn by_frame(e: &Estate) -> BTreeMap<&FrameName, FrameObjects> {
        let mut out: BTreeMap<&FrameName, FrameObjects> = BTreeMap::new();
        for (n, p) in &e.proc_pools {
            out.entry(&p.spec.frame).or_default().proc_pools.insert(n.clone());
        }
        for (n, p) in &e.mem_pools {
            out.entry(&p.spec.frame).or_default().mem_pools.insert(n.clone());
        }
        for (n, p) in &e.vios_pairs {
            out.entry(&p.spec.frame).or_default().vios_pairs.insert(n.clone());
        }
        for (n, s) in &e.seas {
            if let Some(p) = e.vios_pairs.get(&s.spec.vios_pair) {
                out.entry(&p.spec.frame).or_default().seas.insert(n.clone());
            }
        }
        out
    }

    /// Adds `other`'s names.
    pub fn extend(&mut self, other: &FrameObjects) {
        self.proc_pools.extend(other.proc_pools.iter().cloned());
        self.mem_pools.extend(other.mem_pools.iter().cloned());
        self.vios_pairs.extend(other.vios_pairs.iter().cloned());
        self.seas.extend(other.seas.iter().cloned());
    }
}

/// Where a VIOS is: its frame and the pair that lists it.
#[derive(Clone, Copy, Debug)]
pub struct ViosPlace<'a> {
    /// The frame.
    pub frame: &'a FrameName,
    /// The pair object.
    pub pair: &'a ViosPair,
}

/// Lookups over an [`Estate`] by frame, VIOS and pool name. Where manifests are inconsistent
/// (a VIOS listed twice), the first in name order wins; validation reports the conflict.
#[derive(Debug)]
pub struct EstateIndex<'a> {
    estate: &'a Estate,
    vios: BTreeMap<(&'a FrameName, &'a ViosName), &'a ViosPair>,
    pairs_by_frame: BTreeMap<&'a FrameName, Vec<&'a ViosPair>>,
    mem_pool_by_frame: BTreeMap<&'a FrameName, &'a MemPool>,
    proc_pools_by_frame: BTreeMap<&'a FrameName, BTreeMap<&'a ProcPoolName, &'a ProcPool>>,
    seas_by_pair: BTreeMap<&'a ViosPairName, Vec<&'a Sea>>,
    vios_hardware: BTreeMap<(&'a FrameName, &'a ViosName), &'a ViosHardwareSpec>,
    /// The disks each frame's VIOS see, by LUN: a partition's storage is looked up once per
    /// candidate frame, and a frame's VIOS may see thousands of LUNs.
    #[allow(clippy::type_complexity)]
    disks_by_lun: BTreeMap<
        &'a FrameName,
        std::collections::HashMap<&'a crate::names::Lun, Vec<(&'a ViosName, &'a crate::manifest::DiskSpec)>>,
    >,
}

impl<'a> EstateIndex<'a> {
    fn new(estate: &'a Estate) -> Self {
        let mut ix = EstateIndex {
            estate,
            vios: BTreeMap::new(),
            pairs_by_frame: BTreeMap::new(),
            mem_pool_by_frame: BTreeMap::new(),
            proc_pools_by_frame: BTreeMap::new(),
            seas_by_pair: BTreeMap::new(),
            vios_hardware: BTreeMap::new(),
            disks_by_lun: Default::default(),
        };
        for pair in estate.vios_pairs.values() {
            ix.pairs_by_frame.entry(&pair.spec.frame).or_default().push(pair);
            for m in &pair.spec.members {
                ix.vios.entry((&pair.spec.frame, &m.name)).or_insert(pair);
            }
        }
        for pool in estate.mem_pools.values() {
            ix.mem_pool_by_frame.entry(&pool.spec.frame).or_insert(pool);
        }
        for pool in estate.proc_pools.values() {
            ix.proc_pools_by_frame.entry(&pool.spec.frame).or_default().entry(&pool.spec.pool_name).or_insert(pool);
        }
        for sea in estate.seas.values() {
            ix.seas_by_pair.entry(&sea.spec.vios_pair).or_default().push(sea);
        }
        for hw in estate.hardware.values() {
            for v in &hw.spec.vios {
                ix.vios_hardware.insert((&hw.metadata.name, &v.name), v);
                for d in &v.disks {
                    ix.disks_by_lun.entry(&hw.metadata.name).or_default().entry(&d.lun).or_default().push((&v.name, d));
                }
            }
        }
        ix
    }

    /// The estate indexed.
    pub fn estate(&self) -> &'a Estate {
        self.estate
    }

    /// The pair that lists VIOS `vios` on `frame`.
    pub fn vios(&self, frame: &FrameName, vios: &ViosName) -> Option<&'a ViosPair> {
        self.vios.get(&(frame, vios)).copied()
    }

    /// Every VIOS named in any pair, with its frame.
    pub fn all_vios(&self) -> impl Iterator<Item = (&'a ViosName, ViosPlace<'a>)> + '_ {
        self.vios.iter().map(|((frame, vios), pair)| (*vios, ViosPlace { frame, pair }))
    }

    /// The VIOS pairs of a frame.
    pub fn pairs_on(&self, frame: &FrameName) -> &[&'a ViosPair] {
        self.pairs_by_frame.get(frame).map_or(&[], Vec::as_slice)
    }

    /// The shared memory pool of a frame.
    pub fn mem_pool_on(&self, frame: &FrameName) -> Option<&'a MemPool> {
        self.mem_pool_by_frame.get(frame).copied()
    }

    /// The shared processor pool `pool` on `frame`; `DefaultPool` exists on every frame and
    /// is `Some(None)` when no manifest describes it.
    pub fn proc_pool_on(&self, frame: &FrameName, pool: &ProcPoolName) -> Option<Option<&'a ProcPool>> {
        match self.proc_pools_by_frame.get(frame).and_then(|m| m.get(pool)) {
            Some(p) => Some(Some(*p)),
            None if *pool == ProcPoolName::default_pool() => Some(None),
            None => None,
        }
    }

    /// The SEAs of a VIOS pair.
    pub fn seas_of(&self, pair: &ViosPairName) -> &[&'a Sea] {
        self.seas_by_pair.get(pair).map_or(&[], Vec::as_slice)
    }

    /// The SEAs on a frame.
    pub fn seas_on(&self, frame: &FrameName) -> impl Iterator<Item = &'a Sea> + '_ {
        self.pairs_on(frame).iter().flat_map(|p| self.seas_of(&p.metadata.name).iter().copied())
    }

    /// Physical facts of a frame.
    pub fn hardware(&self, frame: &FrameName) -> Option<&'a Hardware> {
        self.estate.hardware.get(frame)
    }

    /// The disks of a frame's VIOS that are `lun`, each with the VIOS that sees it.
    pub fn disks_with_lun(
        &self,
        frame: &FrameName,
        lun: &crate::names::Lun,
    ) -> &[(&'a ViosName, &'a crate::manifest::DiskSpec)] {
        self.disks_by_lun.get(frame).and_then(|by_lun| by_lun.get(lun)).map_or(&[], Vec::as_slice)
    }

    /// Physical facts of a VIOS.
    pub fn vios_hardware(&self, frame: &FrameName, vios: &ViosName) -> Option<&'a ViosHardwareSpec> {
        self.vios_hardware.get(&(frame, vios)).copied()
    }
}
