//! Capacity as the executor claims it (issue 15): each action says what it takes when it
//! starts and gives back when it ends, the plan says what is free when it was made, and a
//! [`Ledger`] admits an action only when what it takes is free. Capacity is claimed when an
//! action starts, not by chaining unrelated actions in the plan, so one failed migration holds
//! back only what needs its effect.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::names::{FrameName, ProcPoolName};

/// A resource whose capacity the planner and the executor track.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Resource {
    /// Free memory of a frame, MB.
    #[serde(rename = "memoryMB")]
    Memory(FrameName),
    /// Free processing units of a frame, hundredths.
    Procs(FrameName),
    /// Free processing units of a shared processor pool, hundredths.
    Pool(FrameName, ProcPoolName),
    /// Free paging devices of a frame's shared memory pool.
    Devices(FrameName),
    /// Free common (redundancy-capable) paging devices of a frame's shared memory pool, which
    /// a redundancy-`required` partition needs to activate or arrive.
    CommonDevices(FrameName),
}

impl std::fmt::Display for Resource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Resource::Memory(fr) => write!(f, "memory of {fr} in MB"),
            Resource::Procs(fr) => write!(f, "processing units of {fr} (hundredths)"),
            Resource::Pool(fr, p) => write!(f, "pool {p} on {fr} (hundredths)"),
            Resource::Devices(fr) => write!(f, "paging devices of {fr}"),
            Resource::CommonDevices(fr) => write!(f, "common (redundancy-capable) paging devices of {fr}"),
        }
    }
}

/// An amount of one resource.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Claim {
    /// The resource.
    pub resource: Resource,
    /// How much of it.
    pub amount: u64,
}

/// What an action takes from and gives back to the capacity it runs within.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Claims {
    /// Taken when it starts: a migration's room on its target, a start's memory.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub take: Vec<Claim>,
    /// Given back when it succeeds: a migration's room on its source, a stop's memory.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub give: Vec<Claim>,
    /// What it takes is given back when it ends, however it ended: a validation holds the
    /// room it checks only while it runs.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub held: bool,
}

impl Claims {
    /// Whether it takes and gives nothing.
    pub fn is_empty(&self) -> bool {
        self.take.is_empty() && self.give.is_empty()
    }
}

/// Free capacity while a plan runs. Resources it does not know are unlimited (the planner
/// could not know them either).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ledger {
    free: BTreeMap<Resource, u64>,
}

impl Ledger {
    /// The capacity a plan was made with.
    pub fn new(capacity: &[Claim]) -> Self {
        Ledger { free: capacity.iter().map(|c| (c.resource.clone(), c.amount)).collect() }
    }

    /// What is free of `r`, when tracked.
    pub fn free(&self, r: &Resource) -> Option<u64> {
        self.free.get(r).copied()
    }

    /// The first claim of `c` that does not fit now, with what is free of it.
    pub fn short<'c>(&self, c: &'c Claims) -> Option<(&'c Claim, u64)> {
        c.take.iter().find_map(|t| self.free.get(&t.resource).filter(|f| **f < t.amount).map(|f| (t, *f)))
    }

    /// Whether everything `c` takes is free.
    pub fn fits(&self, c: &Claims) -> bool {
        self.short(c).is_none()
    }

    /// Takes what an action takes when it starts. The caller checked [`Ledger::fits`].
    pub fn start(&mut self, c: &Claims) {
        for t in &c.take {
            if let Some(f) = self.free.get_mut(&t.resource) {
                *f = f.saturating_sub(t.amount);
            }
        }
    }

    /// Settles an action that ended: a held claim comes back however it ended; what it gives
    /// comes back only when it succeeded. What a failed action took stays taken until the next
    /// observation: a migration that failed half-way still holds its shell on the target.
    pub fn end(&mut self, c: &Claims, succeeded: bool) {
        if c.held {
            self.add(&c.take);
        } else if succeeded {
            self.add(&c.give);
        }
    }

    fn add(&mut self, claims: &[Claim]) {
        for g in claims {
            if let Some(f) = self.free.get_mut(&g.resource) {
                *f += g.amount;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mem(f: &str, amount: u64) -> Claim {
        Claim { resource: Resource::Memory(f.parse().unwrap()), amount }
    }

    #[test]
    fn a_held_claim_comes_back_however_it_ended_and_a_failed_take_stays() {
        let mut l = Ledger::new(&[mem("f1", 8192)]);
        let validate = Claims { take: vec![mem("f1", 4096)], give: vec![mem("f1", 4096)], held: true };
        let migrate = Claims { take: vec![mem("f1", 6144)], give: vec![mem("f0", 6144)], held: false };
        l.start(&validate);
        assert_eq!(l.free(&Resource::Memory("f1".parse().unwrap())), Some(4096));
        l.end(&validate, false);
        assert_eq!(l.free(&Resource::Memory("f1".parse().unwrap())), Some(8192));
        assert!(l.fits(&migrate));
        l.start(&migrate);
        l.end(&migrate, false);
        let short = l.short(&migrate).map(|(c, f)| (c.amount, f));
        assert_eq!(short, Some((6144, 2048)), "the failed migration's shell keeps its room");
        // f0 is not tracked: unlimited.
        assert!(l.fits(&Claims { take: vec![mem("f0", 1 << 40)], ..Default::default() }));
    }

    #[test]
    fn claims_serialize_compactly() {
        let c = Claims { take: vec![mem("f1", 4096)], give: vec![], held: true };
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            r#"{"take":[{"resource":{"memoryMB":"f1"},"amount":4096}],"held":true}"#
        );
        assert_eq!(serde_json::to_string(&Claims::default()).unwrap(), "{}");
    }
}
