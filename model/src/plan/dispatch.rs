//! Which ready actions start now (issue 15): the one policy the executor runs on real time and
//! the estimate runs on a virtual timeline, so that the plan's estimate is the executor's
//! schedule. Ready actions are taken by rank, the longest estimated path from the action to
//! the end of the plan (for an evacuation, the largest migrations first: longest processing
//! time), and each starts only within the limits on what runs at once (in all, per frame, per
//! mover service partition) and when the capacity it takes is free ([`Ledger`]). Nothing here
//! does I/O or reads a clock: the caller says what became ready and what ended.

use std::cmp::Reverse;
use std::collections::BTreeMap;

use super::capacity::{Claim, Claims, Ledger};
use crate::action::{Action, Op};
use crate::names::{FrameName, ViosName};

/// Limits on what runs at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Actions running at once in all.
    pub parallel: usize,
    /// Actions running at once on one frame (a migration counts on both frames), so at most
    /// this many migrations per frame.
    pub per_frame: usize,
    /// Migrations one mover service partition carries at once, when the plan names it
    /// (`cfg_msp_lpm_ops`, 8 by default on the VIOS).
    pub per_msp: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { parallel: 32, per_frame: 4, per_msp: 8 }
    }
}

/// The admission state of a running plan.
#[derive(Clone, Debug)]
pub struct Dispatch {
    claims: Vec<Claims>,
    frames: Vec<Vec<FrameName>>,
    msps: Vec<Vec<(FrameName, ViosName)>>,
    rank: Vec<u64>,
    ledger: Ledger,
    busy_frames: BTreeMap<FrameName, usize>,
    busy_msps: BTreeMap<(FrameName, ViosName), usize>,
    /// The frames of each migration (none for other actions).
    migrating: Vec<Vec<FrameName>>,
    /// Migrations each frame has room for (`Plan::migration_room`); a frame not named has
    /// no limit of its own.
    migration_room: BTreeMap<FrameName, usize>,
    busy_migrations: BTreeMap<FrameName, usize>,
    running: usize,
    limits: Limits,
}

impl Dispatch {
    /// The dispatch of `actions` (whose prerequisites, as indexes, are `deps`, a DAG), each
    /// estimated to take `millis[i]`, within `capacity` and `limits`.
    pub fn new(actions: &[Action], deps: &[Vec<usize>], millis: &[u64], capacity: &[Claim], limits: Limits) -> Self {
        let n = actions.len();
        // Longest path to the end, over a topological order (Kahn's).
        let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
        let mut indegree: Vec<usize> = deps.iter().map(Vec::len).collect();
        for (i, d) in deps.iter().enumerate() {
            for &j in d {
                dependents[j].push(i);
            }
        }
        let mut order: Vec<usize> = (0..n).filter(|i| indegree[*i] == 0).collect();
        let mut k = 0;
        while k < order.len() {
            for &d in &dependents[order[k]] {
                indegree[d] -= 1;
                if indegree[d] == 0 {
                    order.push(d);
                }
            }
            k += 1;
        }
        let mut rank = vec![0u64; n];
        for &i in order.iter().rev() {
            let tail = dependents[i].iter().map(|d| rank[*d]).max().unwrap_or(0);
            rank[i] = millis.get(i).copied().unwrap_or(0) + tail;
        }
        let msps = actions
            .iter()
            .map(|a| match &a.op {
                Op::MigratePartition { from, to, msp: Some(m), .. } => {
                    vec![(from.clone(), m.source.clone()), (to.clone(), m.dest.clone())]
                }
                _ => Vec::new(),
            })
            .collect();
        let migrating = actions
            .iter()
            .map(|a| match &a.op {
                Op::MigratePartition { from, to, .. } => vec![from.clone(), to.clone()],
                _ => Vec::new(),
            })
            .collect();
        Dispatch {
            migrating,
            migration_room: BTreeMap::new(),
            busy_migrations: BTreeMap::new(),
            claims: actions.iter().map(|a| a.claims.clone()).collect(),
            frames: actions.iter().map(|a| a.op.frames().into_iter().cloned().collect()).collect(),
            msps,
            rank,
            ledger: Ledger::new(capacity),
            busy_frames: BTreeMap::new(),
            busy_msps: BTreeMap::new(),
            running: 0,
            limits,
        }
    }

    /// No more migrations at once on a frame than `room` gives it (what the HMC lists as
    /// supported less in progress, `Plan::migration_room`); a migration counts on both frames.
    pub fn with_migration_room(mut self, room: &BTreeMap<FrameName, u32>) -> Self {
        self.migration_room = room.iter().map(|(f, n)| (f.clone(), *n as usize)).collect();
        self
    }

    /// The order ready actions are considered in: highest rank first, then plan order.
    pub fn key(&self, i: usize) -> (Reverse<u64>, usize) {
        (Reverse(self.rank[i]), i)
    }

    /// The estimated time from the start of action `i` to the end of the plan, ms.
    pub fn rank(&self, i: usize) -> u64 {
        self.rank[i]
    }

    /// Of `ready` (in the order of [`Dispatch::key`]), the actions to start now, in that
    /// order; each is counted as running until [`Dispatch::ended`].
    pub fn admit(&mut self, ready: impl IntoIterator<Item = usize>) -> Vec<usize> {
        let mut started = Vec::new();
        for i in ready {
            if self.running >= self.limits.parallel {
                break;
            }
            if !self.can_start(i) {
                continue;
            }
            self.running += 1;
            for f in &self.frames[i] {
                *self.busy_frames.entry(f.clone()).or_default() += 1;
            }
            for m in &self.msps[i] {
                *self.busy_msps.entry(m.clone()).or_default() += 1;
            }
            for f in &self.migrating[i] {
                *self.busy_migrations.entry(f.clone()).or_default() += 1;
            }
            self.ledger.start(&self.claims[i]);
            started.push(i);
        }
        started
    }

    fn can_start(&self, i: usize) -> bool {
        self.frames[i].iter().all(|f| self.busy_frames.get(f).copied().unwrap_or(0) < self.limits.per_frame)
            && self.msps[i].iter().all(|m| self.busy_msps.get(m).copied().unwrap_or(0) < self.limits.per_msp)
            && self.migrating[i].iter().all(|f| {
                self.migration_room.get(f).is_none_or(|room| self.busy_migrations.get(f).copied().unwrap_or(0) < *room)
            })
            && self.ledger.fits(&self.claims[i])
    }

    /// Action `i`, started by [`Dispatch::admit`], ended.
    pub fn ended(&mut self, i: usize, succeeded: bool) {
        self.running = self.running.saturating_sub(1);
        for f in &self.frames[i] {
            if let Some(n) = self.busy_frames.get_mut(f) {
                *n = n.saturating_sub(1);
            }
        }
        for m in &self.msps[i] {
            if let Some(n) = self.busy_msps.get_mut(m) {
                *n = n.saturating_sub(1);
            }
        }
        for f in &self.migrating[i] {
            if let Some(n) = self.busy_migrations.get_mut(f) {
                *n = n.saturating_sub(1);
            }
        }
        self.ledger.end(&self.claims[i], succeeded);
    }

    /// Actions running now.
    pub fn running(&self) -> usize {
        self.running
    }

    /// Why action `i` cannot start for want of capacity, if that is why: a frame's room for
    /// migrations, or a resource.
    pub fn short_of(&self, i: usize) -> Option<String> {
        let full = self.migrating[i].iter().find(|f| {
            self.migration_room.get(*f).is_some_and(|room| self.busy_migrations.get(*f).copied().unwrap_or(0) >= *room)
        });
        if let Some(f) = full {
            return Some(format!(
                "a migration slot on {f}: its HMC listed room for {} more (lslparmigr -r sys: supported less in progress), and none is free",
                self.migration_room[f]
            ));
        }
        self.ledger
            .short(&self.claims[i])
            .map(|(c, free)| format!("it needs {} of the {} and {free} is free", c.amount, c.resource))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::{ActionId, When};
    use crate::plan::capacity::Resource;

    fn migrate(id: usize, from: &str, to: &str, gb: u64) -> Action {
        Action {
            id: ActionId(format!("a{id}")),
            op: Op::MigratePartition {
                partition: format!("p{id}").parse().unwrap(),
                from: from.parse().unwrap(),
                to: to.parse().unwrap(),
                redundant: None,
                msp: None,
                remote: None,
                mpio: None,
                spelling: Default::default(),
            },
            after: vec![],
            when: When::Succeeded,
            reason: String::new(),
            claims: Claims {
                take: vec![Claim { resource: Resource::Memory(to.parse().unwrap()), amount: gb * 1024 }],
                give: vec![Claim { resource: Resource::Memory(from.parse().unwrap()), amount: gb * 1024 }],
                held: false,
            },
        }
    }

    /// A frame whose HMC lists room for two more migrations gets no third, even where the
    /// executor's own per-frame limit would allow it; a frame not listed keeps that limit.
    #[test]
    fn migrations_start_only_within_the_room_the_frames_list() {
        let actions: Vec<Action> = (0..6).map(|i| migrate(i, "f0", if i < 3 { "f1" } else { "f2" }, 1)).collect();
        let deps = vec![Vec::new(); actions.len()];
        let capacity = vec![
            Claim { resource: Resource::Memory("f1".parse().unwrap()), amount: 1 << 20 },
            Claim { resource: Resource::Memory("f2".parse().unwrap()), amount: 1 << 20 },
        ];
        let limits = Limits { parallel: 32, per_frame: 8, per_msp: 8 };
        let room: BTreeMap<FrameName, u32> = [("f1".parse().unwrap(), 2)].into();
        let mut d = Dispatch::new(&actions, &deps, &[1; 6], &capacity, limits).with_migration_room(&room);
        assert_eq!(d.admit(0..6), vec![0, 1, 3, 4, 5], "f1 has room for two");
        d.ended(0, true);
        assert_eq!(d.admit([2]), vec![2]);
        let mut unlimited = Dispatch::new(&actions, &deps, &[1; 6], &capacity, limits);
        assert_eq!(unlimited.admit(0..6).len(), 6);
        // A frame with no room left: nothing starts, and why is said.
        let none: BTreeMap<FrameName, u32> = [("f2".parse().unwrap(), 0)].into();
        let mut full = Dispatch::new(&actions, &deps, &[1; 6], &capacity, limits).with_migration_room(&none);
        assert_eq!(full.admit(3..6), Vec::<usize>::new());
        let why = full.short_of(3).unwrap();
        assert!(why.contains("migration slot on f2") && why.contains("lslparmigr -r sys"), "{why}");
    }

    /// Largest first, at most `per_frame` on the source, and only what fits on the target.
    #[test]
    fn admits_the_largest_first_within_the_limits_and_the_capacity() {
        let actions: Vec<Action> =
            [4, 16, 8, 2, 12, 6].iter().enumerate().map(|(i, gb)| migrate(i, "f0", "f1", *gb)).collect();
        let deps = vec![Vec::new(); actions.len()];
        let millis: Vec<u64> = [4u64, 16, 8, 2, 12, 6].iter().map(|gb| gb * 30_000).collect();
        let capacity = [Claim { resource: Resource::Memory("f1".parse().unwrap()), amount: 30 * 1024 }];
        let mut d =
            Dispatch::new(&actions, &deps, &millis, &capacity, Limits { parallel: 32, per_frame: 3, per_msp: 8 });
        let mut ready: Vec<usize> = (0..actions.len()).collect();
        ready.sort_by_key(|i| d.key(*i));
        // 16 + 12 fit in 30 GB, 8 does not; 2 does, and fills the third slot on f0.
        assert_eq!(d.admit(ready.clone()), vec![1, 4, 3]);
        assert!(
            d.short_of(2).unwrap().contains("needs 8192 of the memory of f1 in MB and 0 is free"),
            "{:?}",
            d.short_of(2)
        );
        // A migration that ended gives back room on its source, not its target: f1 stays full
        // until something leaves it; the free slot on f0 stays free.
        d.ended(1, true);
        let rest: Vec<usize> = ready.into_iter().filter(|i| ![1, 4, 3].contains(i)).collect();
        assert_eq!(d.admit(rest.clone()), Vec::<usize>::new());
        assert_eq!(d.running(), 2);
        // A failed one keeps what it took (its shell may hold it), however.
        d.ended(4, false);
        assert_eq!(d.admit(rest), Vec::<usize>::new());
    }

    /// The rank is the longest estimated path to the end: a validation ranks with its migration.
    #[test]
    fn rank_is_the_longest_path_to_the_end() {
        let mut actions: Vec<Action> = (0..3).map(|i| migrate(i, "f0", "f1", 1)).collect();
        actions[2].after = vec![ActionId("a0".into())];
        let deps = vec![vec![], vec![], vec![0]];
        let d = Dispatch::new(&actions, &deps, &[10, 25, 20], &[], Limits::default());
        assert_eq!((d.rank(0), d.rank(1), d.rank(2)), (30, 25, 20));
    }
}
