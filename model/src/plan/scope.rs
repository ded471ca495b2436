//! Scoped planning: the part of the estate a change to some partitions can affect, so that the
//! controller loop re-plans a one-file edit of a 25,000-partition estate in milliseconds.
//!
//! Frames plan together when a partition ties them: where it runs now, and where it may go —
//! its pinned frame, or, when it may not stay where it runs, every frame its placement allows
//! (the placer chooses among them by free memory, so their capacities interact). The frames
//! tied to the changed partitions, directly or through other partitions, form the [`Scope`].
//! Nothing outside a scope can change the plan inside it: placement, capacity, SEA and paging
//! rules all look only at one frame or at the frames a partition links; so the plan of the
//! scope's sub-estate is the full plan's actions on those frames (`tests` checks it on
//! generated estates). The frames a scoped partition only names (`anyOf: [here, there]` while it
//! stays here) come along without their contents, so that the names resolve.

use std::collections::{BTreeMap, BTreeSet};

use crate::estate::{Estate, FrameObjects, Partition};
use crate::manifest::Placement;
use crate::names::{ClusterName, FrameName, PartitionName};
use crate::placement::Placer;

/// The frames and partitions a set of partition changes can affect.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scope {
    /// Frames whose plan may change.
    pub frames: BTreeSet<FrameName>,
    /// Partitions (desired or observed) on or tied to those frames.
    pub partitions: BTreeSet<PartitionName>,
    /// Frames outside the scope that its partitions name (the other frames of an `anyOf`
    /// whose partition stays put): they must exist, but nothing on them is planned.
    pub named: BTreeSet<FrameName>,
    /// Clusters that may have a member among the partitions, desired or observed (a superset:
    /// [`Scope::restrict`] keeps those that do). Found by member, so that restricting an estate
    /// of thousands of clusters costs what the scope holds.
    pub clusters: BTreeSet<ClusterName>,
    /// The shared pools, VIOS pairs and SEAs that may be on its frames, desired or observed (a
    /// superset: [`Scope::restrict`] keeps those that are), so that restricting an estate
    /// costs what the scope holds rather than a scan of every frame-bound object.
    pub objects: FrameObjects,
}

/// Which frames plan together, kept between plans: built in one pass over the estate (at a
/// full resync) and updated as partitions change or are observed again, so that finding the
/// scope of a change costs what the scope holds, not what the estate holds. Ties are only ever
/// added: a stale one makes a scope the union of several true scopes, which plans exactly as
/// well, just larger; the next full build forgets it.
#[derive(Clone, Debug, Default)]
pub struct Ties {
    index: BTreeMap<FrameName, usize>,
    parent: Vec<usize>,
    /// One frame of each partition (desired or observed): where it is counted.
    frame_of: BTreeMap<PartitionName, FrameName>,
    /// The partitions counted on each frame.
    on_frame: BTreeMap<FrameName, BTreeSet<PartitionName>>,
    /// The clusters each partition is or was a member of, desired or observed.
    clusters_of: BTreeMap<PartitionName, BTreeSet<ClusterName>>,
    /// The frame-bound objects each frame has or had, desired or observed.
    objects_on: BTreeMap<FrameName, FrameObjects>,
}

impl Ties {
    /// Every partition of `desired` and `observed`, in one pass (both maps are sorted).
    pub fn new(desired: &Estate, observed: &Estate) -> Ties {
        let placer = Placer::new(desired, Some(observed));
        let mut ties = Ties::default();
        let mut d = desired.partitions.iter().peekable();
        let mut o = observed.partitions.iter().peekable();
        loop {
            let (name, dp, op) = match (d.peek(), o.peek()) {
                (None, None) => break,
                (Some((dn, _)), Some((on, _))) if dn == on => {
                    let ((n, dp), (_, op)) = (d.next().unwrap(), o.next().unwrap());
                    (n, Some(dp), Some(op))
                }
                (Some((dn, _)), Some((on, _))) if dn > on => {
                    let (n, op) = o.next().unwrap();
                    (n, None, Some(op))
                }
                (Some(_), _) => {
                    let (n, dp) = d.next().unwrap();
                    (n, Some(dp), None)
                }
                (None, Some(_)) => {
                    let (n, op) = o.next().unwrap();
                    (n, None, Some(op))
                }
            };
            ties.count(name, &frames_of(&placer, dp, op));
        }
        for c in desired.clusters.values() {
            ties.tie_members(&placer, desired, observed, &c.spec.members);
        }
        for c in desired.clusters.values().chain(observed.clusters.values()) {
            ties.member_of(c);
        }
        ties.learn_objects(desired);
        ties.learn_objects(observed);
        ties
    }

    /// Records the frame-bound objects of `e` (the desired state, or an observation of some
    /// frames before it goes into the observed state the ties are kept for).
    pub fn learn_objects(&mut self, e: &Estate) {
        for (f, o) in FrameObjects::by_frame(e) {
            match self.objects_on.get_mut(f) {
                Some(known) => known.extend(&o),
                None => {
                    self.objects_on.insert(f.clone(), o);
                }
            }
        }
    }

    /// The frame-bound objects recorded on `frames`.
    pub fn objects_on(&self, frames: &BTreeSet<FrameName>) -> FrameObjects {
        let mut out = FrameObjects::default();
        for o in frames.iter().filter_map(|f| self.objects_on.get(f)) {
            out.extend(o);
        }
        out
    }

    /// Records that `c`'s members belong to it.
    fn member_of(&mut self, c: &crate::estate::Cluster) {
        for m in &c.spec.members {
            self.clusters_of.entry(m.clone()).or_default().insert(c.metadata.name.clone());
        }
    }

    /// The clusters recorded for `names`.
    fn clusters_of<'n>(&self, names: impl IntoIterator<Item = &'n PartitionName>) -> BTreeSet<ClusterName> {
        names.into_iter().flat_map(|n| self.clusters_of.get(n).into_iter().flatten().cloned()).collect()
    }

    /// Ties the frames of a cluster's members together: where each runs and every frame it may
    /// go to, since anti-affinity makes their placements depend on each other.
    fn tie_members(&mut self, placer: &Placer<'_>, desired: &Estate, observed: &Estate, members: &[PartitionName]) {
        let mut frames: Vec<FrameName> = Vec::new();
        for m in members {
            let dp = desired.partitions.get(m);
            frames.extend(frames_of(placer, dp, observed.partitions.get(m)).into_iter().cloned());
            frames.extend(dp.map(|p| placer.candidates(p)).unwrap_or_default());
        }
        self.tie(&frames.iter().collect::<Vec<_>>());
    }

    /// Puts `frames` in one scope.
    fn tie(&mut self, frames: &[&FrameName]) {
        let Some(first) = frames.first() else { return };
        let first = self.node(first);
        let root = self.root(first);
        for f in &frames[1..] {
            let n = self.node(f);
            let r = self.root(n);
            self.parent[r] = root;
        }
    }

    /// Takes `partitions` as they are now in `desired` and `observed` into account (edited,
    /// added, removed, or observed again). The desired state's objects other than partitions
    /// must be those the ties were built with (the loop builds them afresh on any change that
    /// is not to partitions only); observed clusters are learnt through their nodes'
    /// partitions, and other observed objects through [`Ties::learn_objects`].
    pub fn update<'n>(
        &mut self,
        desired: &Estate,
        observed: &Estate,
        partitions: impl IntoIterator<Item = &'n PartitionName>,
    ) {
        let mut names: BTreeSet<PartitionName> = partitions.into_iter().cloned().collect();
        // A cluster is observed through its nodes, which run in partitions.
        for name in &names {
            if let Some(c) = observed.status.nodes.get(name).and_then(|n| observed.clusters.get(&n.cluster)) {
                self.member_of(c);
            }
        }
        // A member's peers come along: anti-affinity ties their frames.
        let clusters: Vec<&crate::estate::Cluster> = self
            .clusters_of(&names)
            .iter()
            .filter_map(|c| desired.clusters.get(c))
            .filter(|c| c.spec.members.iter().any(|m| names.contains(m)))
            .collect();
        for c in &clusters {
            names.extend(c.spec.members.iter().cloned());
        }
        let (d, o) = self.local(desired, observed, &names);
        let placer = Placer::new(&d, Some(&o));
        for name in &names {
            let frames = frames_of(&placer, d.partitions.get(name), o.partitions.get(name));
            self.count(name, &frames);
        }
        for c in clusters {
            self.tie_members(&placer, &d, &o, &c.spec.members);
        }
    }

    /// The scope of a change to `changed`, which must already be taken into account (by
    /// [`Ties::new`] or [`Ties::update`]): a changed partition's frames are all tied to the one
    /// it is counted on.
    pub fn scope(&mut self, desired: &Estate, changed: &BTreeSet<PartitionName>) -> Scope {
        let counted: Vec<FrameName> = changed.iter().filter_map(|n| self.frame_of.get(n).cloned()).collect();
        let roots: BTreeSet<usize> = counted
            .iter()
            .map(|f| {
                let n = self.node(f);
                self.root(n)
            })
            .collect();
        let mut scope = Scope::default();
        if roots.is_empty() {
            return scope;
        }
        let nodes: Vec<(FrameName, usize)> = self.index.iter().map(|(f, i)| (f.clone(), *i)).collect();
        scope.frames = nodes.into_iter().filter(|(_, i)| roots.contains(&self.root(*i))).map(|(f, _)| f).collect();
        scope.partitions = self.counted_on(&scope.frames);
        scope.clusters = self.clusters_of(&scope.partitions);
        scope.objects = self.objects_on(&scope.frames);
        scope.named = named_outside(desired, &scope.frames, &scope.partitions);
        scope
    }

    /// Every partition counted on `frames`: among them, all that run there.
    pub fn counted_on(&self, frames: &BTreeSet<FrameName>) -> BTreeSet<PartitionName> {
        frames.iter().flat_map(|f| self.on_frame.get(f).into_iter().flatten().cloned()).collect()
    }

    /// Records where a partition is counted and ties its frames.
    fn count(&mut self, name: &PartitionName, frames: &[&FrameName]) {
        let old = match frames.first() {
            Some(f) => {
                if self.frame_of.get(name) == Some(*f) {
                    None
                } else {
                    self.on_frame.entry((*f).clone()).or_default().insert(name.clone());
                    self.frame_of.insert(name.clone(), (*f).clone())
                }
            }
            None => self.frame_of.remove(name),
        };
        if let Some(old) = old
            && let Some(set) = self.on_frame.get_mut(&old)
        {
            set.remove(name);
        }
        self.tie(frames);
    }

    fn node(&mut self, f: &FrameName) -> usize {
        if let Some(i) = self.index.get(f) {
            return *i;
        }
        let i = self.parent.len();
        self.index.insert(f.clone(), i);
        self.parent.push(i);
        i
    }

    fn root(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }

    /// The part of the estates that decides where `names` may run: the partitions, the frames
    /// they run on or name, with what is on those frames (pools, VIOS, SEAs, facts). A placement
    /// by label selector may name any frame: then every frame comes along.
    fn local(&self, desired: &Estate, observed: &Estate, names: &BTreeSet<PartitionName>) -> (Estate, Estate) {
        let mut frames = BTreeSet::new();
        for name in names {
            if let Some(o) = observed.partitions.get(name)
                && let Placement::Frame(f) = &o.spec.placement
            {
                frames.insert(f.clone());
            }
            match desired.partitions.get(name).map(|p| &p.spec.placement) {
                Some(Placement::Frame(f)) => {
                    frames.insert(f.clone());
                }
                Some(Placement::AnyOf(fs)) => frames.extend(fs.iter().cloned()),
                Some(Placement::Selector(_)) => frames.extend(desired.frames.keys().cloned()),
                None => {}
            }
        }
        let part = Scope {
            objects: self.objects_on(&frames),
            frames,
            partitions: names.clone(),
            named: BTreeSet::new(),
            clusters: self.clusters_of(names),
        };
        (part.restrict(desired), part.restrict(observed))
    }
}

/// Frames outside `frames` that the desired `partitions` name.
fn named_outside(
    desired: &Estate,
    frames: &BTreeSet<FrameName>,
    partitions: &BTreeSet<PartitionName>,
) -> BTreeSet<FrameName> {
    let mut out = BTreeSet::new();
    for name in partitions {
        if let Some(p) = desired.partitions.get(name) {
            let named: &[FrameName] = match &p.spec.placement {
                Placement::Frame(f) => std::slice::from_ref(f),
                Placement::AnyOf(fs) => fs,
                Placement::Selector(_) => &[],
            };
            out.extend(named.iter().filter(|f| !frames.contains(*f)).cloned());
        }
    }
    out
}

/// The frames a partition's plan involves (see the module documentation); usually one.
fn frames_of<'a>(
    placer: &Placer<'a>,
    desired: Option<&'a Partition>,
    observed: Option<&'a Partition>,
) -> Vec<&'a FrameName> {
    let current = observed.and_then(|o| match &o.spec.placement {
        Placement::Frame(f) => Some(f),
        _ => None,
    });
    let mut out: Vec<&'a FrameName> = current.into_iter().collect();
    let Some(p) = desired else { return out };
    match &p.spec.placement {
        Placement::Frame(f) if current != Some(f) => out.push(f),
        Placement::Frame(_) => {}
        Placement::AnyOf(_) | Placement::Selector(_) => {
            if !current.is_some_and(|c| placer.may_stay(p, c)) {
                out.extend(placer.candidate_refs(p));
            }
        }
    }
    out
}

impl Scope {
    /// The scope of a change to `changed` (partitions added, edited or removed in `desired`),
    /// computed from scratch; the controller keeps [`Ties`] instead.
    pub fn of(desired: &Estate, observed: &Estate, changed: &BTreeSet<PartitionName>) -> Scope {
        Ties::new(desired, observed).scope(desired, changed)
    }

    /// The plan of the scope's part of `desired` and `observed`.
    pub fn plan(&self, desired: &Estate, observed: &Estate, options: super::PlanOptions) -> super::Plan {
        super::plan(&self.restrict(desired), &self.restrict(observed), options)
    }

    /// The objects of `e` on the scope's frames (those of [`Scope::objects`] that are), its
    /// partitions and clusters, and the settings; of the frames its partitions only name, the
    /// frame and its physical facts (names must resolve).
    pub fn restrict(&self, e: &Estate) -> Estate {
        /// The entries of `m` under `keys`.
        fn pick<'k, K: Ord + Clone + 'k, V: Clone>(
            keys: impl IntoIterator<Item = &'k K>,
            m: &BTreeMap<K, V>,
        ) -> BTreeMap<K, V> {
            keys.into_iter().filter_map(|k| m.get(k).map(|v| (k.clone(), v.clone()))).collect()
        }
        /// The entries of `m` under `keys` that `pred` selects.
        fn keep<'k, K: Ord + Clone + 'k, V: Clone>(
            keys: impl IntoIterator<Item = &'k K>,
            m: &BTreeMap<K, V>,
            pred: impl Fn(&V) -> bool,
        ) -> BTreeMap<K, V> {
            keys.into_iter().filter_map(|k| m.get(k).filter(|v| pred(v)).map(|v| (k.clone(), v.clone()))).collect()
        }
        let on = |f: &FrameName| self.frames.contains(f);
        let all: BTreeSet<FrameName> = self.frames.union(&self.named).cloned().collect();
        let objects = &self.objects;
        let vios_pairs = keep(&objects.vios_pairs, &e.vios_pairs, |p| on(&p.spec.frame));
        let seas = keep(&objects.seas, &e.seas, |s| vios_pairs.contains_key(&s.spec.vios_pair));
        let st = &e.status;
        let status = crate::status::Status {
            frames: pick(&all, &st.frames),
            vios: pick(&self.frames, &st.vios),
            vios_profiles: pick(&self.frames, &st.vios_profiles),
            vios_without_rmc: pick(&self.frames, &st.vios_without_rmc),
            seas: pick(seas.keys(), &st.seas),
            partitions: pick(&self.partitions, &st.partitions),
            paging_devices: pick(&self.frames, &st.paging_devices),
            nodes: pick(&self.partitions, &st.nodes),
            nodes_observed: st.nodes_observed,
            set_aside: pick(&all, &st.set_aside),
            unknown_vios: pick(&self.frames, &st.unknown_vios),
            migration_limits: pick(&all, &st.migration_limits),
            proc_pool_slots: pick(&all, &st.proc_pool_slots),
            vios_storage: pick(&self.frames, &st.vios_storage),
            client_adapters: pick(&self.partitions, &st.client_adapters),
            unknown_partitions: pick(&self.partitions, &st.unknown_partitions),
            namesakes: st.namesakes.iter().filter(|n| all.contains(&n.frame)).cloned().collect(),
            consoles: st.consoles.clone(),
        };
        Estate {
            frames: pick(&all, &e.frames),
            proc_pools: keep(&objects.proc_pools, &e.proc_pools, |p| on(&p.spec.frame)),
            mem_pools: keep(&objects.mem_pools, &e.mem_pools, |p| on(&p.spec.frame)),
            partitions: pick(&self.partitions, &e.partitions),
            vios_pairs,
            seas,
            hardware: pick(&all, &e.hardware),
            settings: e.settings.clone(),
            clusters: pick(&self.clusters, &e.clusters)
                .into_iter()
                .filter(|(_, c)| c.spec.members.iter().any(|m| self.partitions.contains(m)))
                .collect(),
            status,
        }
    }
}

/// Plans only what a change to `changed` partitions can affect: the plan of the scope's
/// sub-estate. Other frames are left out, so this is the full plan only when nothing outside
/// the scope had anything to do (the controller loop plans a kept [`Ties`]' scope between
/// full resyncs).
pub fn plan_scoped(
    desired: &Estate,
    observed: &Estate,
    changed: &BTreeSet<PartitionName>,
    options: super::PlanOptions,
) -> (Scope, super::Plan) {
    let scope = Scope::of(desired, observed, changed);
    let plan = scope.plan(desired, observed, options);
    (scope, plan)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use proptest::prelude::*;

    use super::*;
    use crate::action::Action;
    use crate::plan::{PlanOptions, apply, plan};
    use crate::testkit::{FrameGen, PartGen, bare, edited, load, manifests, scenario_sized};

    /// Actions without their ids: the op, the reason, and what they wait for (as ops).
    fn normal(actions: &[Action]) -> BTreeSet<String> {
        let op = |id: &crate::action::ActionId| {
            actions.iter().find(|a| &a.id == id).map(|a| format!("{:?}", a.op)).unwrap_or_default()
        };
        actions
            .iter()
            .map(|a| {
                let after: BTreeSet<String> = a.after.iter().map(op).collect();
                format!("{:?} | {} | after {:?}", a.op, a.reason, after)
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, max_global_rejects: 100_000, ..ProptestConfig::default() })]

        /// For every partition, the scoped plan is exactly the full plan's actions on the
        /// scope's frames, with the same dependencies; and it fails only when the full plan does.
        #[test]
        fn a_scoped_plan_is_the_full_plan_on_its_frames(s in scenario_sized(6, 24)) {
            let observed0 = bare(&s.frames);
            let initial_parts: Vec<_> = s.parts.iter().cloned().map(Some).collect();
            let Some(initial) = load(&manifests(&s.frames, &initial_parts)) else { return Ok(()) };
            let p0 = plan(&initial, &observed0, PlanOptions::default());
            prop_assume!(p0.errors.is_empty());
            let observed = apply(&observed0, &p0.actions);
            let (frames, parts) = edited(&s);
            let Some(desired) = load(&manifests(&frames, &parts)) else { return Ok(()) };
            let full = plan(&desired, &observed, PlanOptions::default());
            let names: BTreeSet<PartitionName> =
                desired.partitions.keys().chain(observed.partitions.keys()).cloned().collect();
            // Ties kept from the initial desired state and updated with the edited partitions
            // (as the controller keeps them) give scopes that plan as exactly.
            let edited: Vec<&PartitionName> =
                names.iter().filter(|n| initial.partitions.get(*n) != desired.partitions.get(*n)).collect();
            let mut kept = Ties::new(&initial, &observed);
            kept.update(&desired, &observed, edited);
            for name in &names {
                let one = BTreeSet::from([name.clone()]);
                let (scope, scoped) = plan_scoped(&desired, &observed, &one, PlanOptions::default());
                prop_assert!(scope.partitions.contains(name));
                let stale = kept.scope(&desired, &one);
                prop_assert!(stale.frames.is_superset(&scope.frames), "{name}: {:?} < {:?}", stale.frames, scope.frames);
                if !full.errors.is_empty() {
                    continue;
                }
                let stale_plan = stale.plan(&desired, &observed, PlanOptions::default());
                for (how, s, p) in [("fresh", &scope, &scoped), ("kept ties", &stale, &stale_plan)] {
                    prop_assert!(p.errors.is_empty(), "{name} ({how}): scoped errors {:?} where the full plan has none", p.errors);
                    let on_scope: Vec<Action> = full
                        .actions
                        .iter()
                        .filter(|a| a.op.frames().iter().any(|f| s.frames.contains(*f)))
                        .cloned()
                        .collect();
                    prop_assert_eq!(normal(&p.actions), normal(&on_scope), "{} ({}, scope {:?})", name, how, s.frames);
                }
            }
            // Every scoped plan with errors belongs to a full plan with errors.
            if full.errors.is_empty() {
                let all = plan_scoped(&desired, &observed, &names, PlanOptions::default()).1;
                prop_assert!(all.errors.is_empty());
            }
        }
    }

    fn frame() -> FrameGen {
        FrameGen::plain(64, 8)
    }

    fn names(v: &[&str]) -> BTreeSet<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    fn scope(desired: &Estate, observed: &Estate, changed: &str) -> (BTreeSet<String>, BTreeSet<String>) {
        let s = Scope::of(desired, observed, &BTreeSet::from([PartitionName::new(changed).unwrap()]));
        (s.frames.iter().map(|f| f.to_string()).collect(), s.partitions.iter().map(|p| p.to_string()).collect())
    }

    /// A cluster's members plan together, and the scope carries the cluster (found by member,
    /// not by a scan): restricting keeps it only where one of its members is in the scope.
    #[test]
    fn a_scope_carries_the_clusters_of_its_partitions() {
        let frames = vec![frame(), frame(), frame()];
        let parts = vec![Some(PartGen::small(0, None)), Some(PartGen::small(1, None)), Some(PartGen::small(2, None))];
        let bare = bare(&frames);
        let cluster = "---\napiVersion: powerplane/v1\nkind: Cluster\nmetadata: {name: c0}\nspec: {manager: vcs, members: [lp0, lp1], vcs: {peerinactSeconds: 16, unresponsiveSeconds: 40}}\n";
        let desired = load(&(manifests(&frames, &parts) + cluster)).expect("valid manifests");
        let observed = apply(&bare, &plan(&desired, &bare, PlanOptions::default()).actions);
        let one = |n: &str| BTreeSet::from([PartitionName::new(n).unwrap()]);
        let s = Scope::of(&desired, &observed, &one("lp0"));
        assert_eq!(s.frames.iter().map(|f| f.to_string()).collect::<BTreeSet<_>>(), names(&["f0", "f1"]));
        assert_eq!(s.clusters.iter().map(|c| c.to_string()).collect::<BTreeSet<_>>(), names(&["c0"]));
        assert_eq!(s.restrict(&desired).clusters.len(), 1, "the cluster comes along");
        let other = Scope::of(&desired, &observed, &one("lp2"));
        assert!(other.clusters.is_empty() && other.restrict(&desired).clusters.is_empty(), "{other:?}");
        // A superset of clusters restricts the same: one without a member in scope is left out.
        let wide = Scope { clusters: s.clusters.clone(), ..other.clone() };
        assert!(wide.restrict(&desired).clusters.is_empty());
        // Kept ties learn an observed cluster through its node's partition.
        let mut seen = observed.clone();
        let node = |c: &str| crate::status::NodeStatus {
            cluster: crate::names::ClusterName::new(c).unwrap(),
            ..serde_yaml::from_str("{cluster: x, manager: vcs}").unwrap()
        };
        let mut c1 = desired.clusters.values().next().unwrap().clone();
        c1.metadata.name = crate::names::ClusterName::new("c1").unwrap();
        c1.spec.members = vec![PartitionName::new("lp2").unwrap()];
        seen.clusters.insert(c1.metadata.name.clone(), c1);
        seen.status.nodes.insert(PartitionName::new("lp2").unwrap(), node("c1"));
        let mut ties = Ties::new(&desired, &observed);
        assert!(ties.scope(&desired, &one("lp2")).clusters.is_empty());
        ties.update(&desired, &seen, &one("lp2"));
        let s = ties.scope(&desired, &one("lp2"));
        assert_eq!(s.clusters.iter().map(|c| c.to_string()).collect::<BTreeSet<_>>(), names(&["c1"]));
        assert_eq!(s.restrict(&seen).clusters.len(), 1);
    }

    /// A frame observed again can show frame-bound objects the ties were not built with (a
    /// shared pool, a SEA made outside powerplane): once learnt, its scope restricts the
    /// observed state with them, as a scan of every object would; and replacing the frame by
    /// the names the ties know takes out what a scan takes out.
    #[test]
    fn objects_observed_after_the_ties_were_built_come_into_their_scope() {
        let plain = vec![frame(), frame()];
        let rich = vec![FrameGen { sea: Some(true), smp: Some((2, 2)), spp: Some(4), ..frame() }, frame()];
        let parts = vec![Some(PartGen::small(0, None)), Some(PartGen::small(1, None))];
        let desired = load(&manifests(&plain, &parts)).unwrap();
        let other = load(&manifests(&rich, &parts)).unwrap();
        let bare = bare(&plain);
        let observed = apply(&bare, &plan(&desired, &bare, PlanOptions::default()).actions);
        let f0 = BTreeSet::from([crate::names::FrameName::new("f0").unwrap()]);
        // f0 as observed now: its objects and partitions, with the pools, pair and SEA of `other`.
        let mut fresh = observed.clone().replace_frames(&f0, None, Estate::default());
        let mut extra = other.clone();
        let objects = extra.replace_frames(&f0, None, Estate::default());
        assert!(!objects.proc_pools.is_empty() && !objects.mem_pools.is_empty() && !objects.seas.is_empty());
        fresh.proc_pools.extend(objects.proc_pools);
        fresh.mem_pools.extend(objects.mem_pools);
        fresh.vios_pairs.extend(objects.vios_pairs);
        fresh.seas.extend(objects.seas);
        let scanned = {
            let mut e = observed.clone();
            e.replace_frames(&f0, None, fresh.clone());
            e
        };
        let lp0 = BTreeSet::from([PartitionName::new("lp0").unwrap()]);
        for learn in [false, true] {
            let mut ties = Ties::new(&desired, &observed);
            let mut cache = observed.clone();
            if learn {
                ties.learn_objects(&fresh);
            }
            let known = (ties.counted_on(&f0), ties.objects_on(&f0));
            cache.replace_frames(&f0, Some((&known.0, &known.1)), fresh.clone());
            assert_eq!(cache, scanned, "the cache takes the fresh frame whatever the ties know");
            let restricted = ties.scope(&desired, &lp0).restrict(&cache);
            let picked = (restricted.proc_pools.len(), restricted.mem_pools.len(), restricted.seas.len());
            if learn {
                assert_eq!(picked, (fresh.proc_pools.len(), fresh.mem_pools.len(), fresh.seas.len()));
                // And back: replacing by the names the ties know removes the learnt objects.
                let back = observed.clone().replace_frames(&f0, None, Estate::default());
                let known = (ties.counted_on(&f0), ties.objects_on(&f0));
                let mut by_name = cache.clone();
                by_name.replace_frames(&f0, Some((&known.0, &known.1)), back.clone());
                let mut by_scan = cache.clone();
                by_scan.replace_frames(&f0, None, back);
                assert_eq!(by_name, by_scan);
                assert_eq!(by_name, observed);
            } else {
                assert_eq!(picked.0, 0, "unknown to the ties, the pool is not picked: what learning fixes");
            }
        }
    }

    /// lp0 may run on f0 or f1 and runs on f0; lp1 is pinned to f1, lp2 to f2. While lp0 may
    /// stay, every frame is its own scope; a new partition that may go to f1 or f2 ties them.
    #[test]
    fn only_partitions_that_may_move_tie_frames() {
        let frames = vec![frame(), frame(), frame()];
        let mut parts =
            vec![Some(PartGen::small(0, Some(1))), Some(PartGen::small(1, None)), Some(PartGen::small(2, None))];
        let bare = bare(&frames);
        let desired = load(&manifests(&frames, &parts)).unwrap();
        let observed = apply(&bare, &plan(&desired, &bare, PlanOptions::default()).actions);
        assert_eq!(scope(&desired, &observed, "lp0"), (names(&["f0"]), names(&["lp0"])));
        assert_eq!(scope(&desired, &observed, "lp1"), (names(&["f1"]), names(&["lp1"])));
        assert_eq!(scope(&bare, &observed, "lp2"), (names(&["f2"]), names(&["lp2"])), "removed: where it runs");
        assert_eq!(scope(&desired, &observed, "nothing"), (names(&[]), names(&[])));

        parts.push(Some(PartGen::small(1, Some(2))));
        let desired = load(&manifests(&frames, &parts)).unwrap();
        assert_eq!(scope(&desired, &observed, "lp3"), (names(&["f1", "f2"]), names(&["lp1", "lp2", "lp3"])));
        // Frame maintenance on f0: lp0 may no longer stay, so f0 and f1 plan together.
        let mut frames = frames;
        frames[0].maintenance = true;
        let desired = load(&manifests(&frames, &parts)).unwrap();
        assert_eq!(
            scope(&desired, &observed, "lp0"),
            (names(&["f0", "f1", "f2"]), names(&["lp0", "lp1", "lp2", "lp3"]))
        );
    }
}
