//! The HMC backend: observes with the HMC's listing commands and carries out each action with
//! exactly the command line `plan --format hmc` shows (`Op::command`), through a
//! [`Transport`]: over SSH ([`ssh::Ssh`]), or in tests to the simulator's in-process HMC
//! emulator, which implements [`Transport`] (this module never uses the simulator outside its
//! tests). An estate may span several HMCs; each frame is managed by the HMC that lists it.

mod awaited;
mod consoles;
mod gather;
pub mod hscl;
pub(crate) mod listing;
mod migrate;
mod observe;
mod records;
pub mod ssh;
pub mod transport;
mod vios_asks;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use powerplane_model::{Action, Estate, FrameName, Op, RunsOn, ViosName};
use tokio::sync::RwLock;

pub use records::{
    PagingDeviceRecord, ParseError, Record, VirtualEthRecord, parse_fields, parse_line, parse_output, render_line,
};
pub use transport::{CommandOutput, Transport, run_batch};

use self::vios_asks::Known;

use self::awaited::Awaited;
use super::{BackendError, Completion, Hypervisor};

/// Frames listed per SSH command: one connection carries all their listings.
const FRAMES_PER_BATCH: usize = 16;
/// How long the HMC lets one `viosvrcmd` run before it gives up on the VIOS (`viosvrcmd -t`;
/// IBM's `viosvrcmd` man page has `[-t timeout]` in its synopsis: read as seconds, see
/// `tests/fixtures/hmc/vios/README.md`). A VIOS that does not answer in time is unknown.
pub(crate) const VIOS_TIMEOUT_SECS: u64 = 120;
/// The memory a migration's bound is derived from when the last observation does not know the
/// partition's (an assumption: a large partition, so that a migration is never cut short).
const UNKNOWN_SIZE: powerplane_model::MemoryMb = powerplane_model::MemoryMb(256 * 1024);

/// An estate's HMCs.
pub struct Hmc<T: Transport> {
    hmcs: Vec<Arc<T>>,
    /// Which HMC manages each frame (learnt from `lssyscfg -r sys`).
    managers: RwLock<BTreeMap<FrameName, usize>>,
    /// How often a migration, an activation or a shutdown is polled.
    poll: Duration,
    /// The manifests' names for what the HMC does not name (see [`Estate::adopt_names`]).
    names: std::sync::RwLock<Estate>,
    /// The last observation: what a VIOS that is down had when it last answered.
    last: std::sync::RwLock<Option<Estate>>,
    /// Each HMC's version (`lshmc -V`), once listed: what later commands may follow.
    versions: std::sync::RwLock<BTreeMap<usize, String>>,
    /// What the last listing of the HMCs learnt of them: which manages each frame, their
    /// versions and users, and each one's SSH key on the others ([`consoles`]).
    consoles: std::sync::RwLock<powerplane_model::console::Consoles>,
    /// What the last observations learnt of each VIOS: its devices are asked in its first
    /// `viosvrcmd` ([`vios_asks`]).
    known: std::sync::RwLock<BTreeMap<(FrameName, ViosName), Known>>,
    /// Where the cluster steps run: on the nodes over SSH ([`super::node`]); `None`: they are
    /// refused (the HMC cannot run them).
    nodes: Option<Arc<super::node::Nodes>>,
}

impl<T: Transport> Hmc<T> {
    /// The HMCs reached through `hmcs`.
    pub fn new(hmcs: Vec<T>) -> Self {
        Hmc {
            hmcs: hmcs.into_iter().map(Arc::new).collect(),
            managers: Default::default(),
            poll: Duration::from_secs(5),
            names: Default::default(),
            last: Default::default(),
            versions: Default::default(),
            consoles: Default::default(),
            known: Default::default(),
            nodes: None,
        }
    }

    /// Runs the cluster steps on the nodes through `nodes` (without it they are refused).
    pub fn with_nodes(mut self, nodes: super::node::Nodes) -> Self {
        self.nodes = Some(Arc::new(nodes));
        self
    }

    /// Remembers an earlier observation (the state directory's snapshot): the devices of a VIOS
    /// that is down now are those it had then, as the HMC cannot list inside it.
    pub fn remember(&self, earlier: Estate) {
        *self.last.write().expect("not poisoned") = Some(earlier);
    }

    /// From now on, observations name the VIOS pairs, SEAs and pools as `desired` does, and
    /// cluster steps reach the nodes as `desired`'s Clusters say (their `ssh:`).
    pub fn adopt_names(&self, desired: &Estate) {
        if let Some(n) = &self.nodes {
            n.adopt(desired);
        }
        let named = Estate {
            vios_pairs: desired.vios_pairs.clone(),
            seas: desired.seas.clone(),
            mem_pools: desired.mem_pools.clone(),
            proc_pools: desired.proc_pools.clone(),
            ..Default::default()
        };
        *self.names.write().expect("not poisoned") = named;
    }

    /// The HMCs' hosts, for tracing spans (without the lock [`Hmc::describe`] takes).
    fn hosts(&self) -> String {
        self.hmcs.iter().map(|t| t.describe()).collect::<Vec<_>>().join(", ")
    }

    /// The HMCs, for titles (with their versions, once listed).
    pub fn describe(&self) -> String {
        let versions = self.versions.read().expect("not poisoned");
        let all: Vec<String> = self
            .hmcs
            .iter()
            .enumerate()
            .map(|(i, t)| match versions.get(&i) {
                Some(v) => format!("{} ({v})", t.describe()),
                None => t.describe(),
            })
            .collect();
        format!("the HMC{} {}", if all.len() == 1 { "" } else { "s" }, all.join(", "))
    }

    /// Polls migrations every `d` (tests use short ones).
    pub fn with_poll(mut self, d: Duration) -> Self {
        self.poll = d;
        self
    }

    async fn transport_for(&self, frame: &FrameName) -> Result<Arc<T>, BackendError> {
        if let Some(i) = self.managers.read().await.get(frame) {
            return Ok(self.hmcs[*i].clone());
        }
        self.frames().await?;
        match self.managers.read().await.get(frame) {
            Some(i) => Ok(self.hmcs[*i].clone()),
            None => Err(BackendError::refused_plain(format!("no HMC given with --hmc manages {frame}"))),
        }
    }
}

impl<T: Transport> Hypervisor for Hmc<T> {
    #[tracing::instrument(level = "debug", name = "hmc.observe", skip_all, fields(hmcs = %self.hosts()))]
    async fn observe(&self) -> Result<Estate, BackendError> {
        self.observe_some(None).await
    }

    #[tracing::instrument(
        level = "debug",
        name = "hmc.observe_frames",
        skip_all,
        fields(hmcs = %self.hosts(), frames = frames.len())
    )]
    async fn observe_frames(&self, frames: &BTreeSet<FrameName>) -> Result<Estate, BackendError> {
        self.observe_some(Some(frames)).await
    }

    #[tracing::instrument(
        level = "debug",
        name = "hmc.execute",
        skip_all,
        fields(action = %action.id, kind = ?action.kind(), hmc = tracing::field::Empty)
    )]
    async fn execute(&self, action: &Action) -> Result<Completion, BackendError> {
        match action.op.runs_on() {
            RunsOn::Hmc => {}
            // The HMC cannot run it: it goes over SSH to the node itself.
            RunsOn::Node(node) => {
                return match &self.nodes {
                    Some(nodes) => nodes.execute(action).await,
                    None => Err(BackendError::refused_plain(format!(
                        "`{}` runs on the cluster node {node}, and this HMC backend has no way to reach nodes; run it there, or plan without the cluster's adjustment",
                        action.op.command()
                    ))),
                };
            }
            RunsOn::Controller => {
                return Err(BackendError::internal("hooks run on the controller, not through the HMC"));
            }
        }
        let frames = action.op.frames();
        let frame = frames.first().ok_or_else(|| BackendError::internal(format!("{} names no frame", action.id)))?;
        let t = self.transport_for(frame).await?;
        tracing::Span::current().record("hmc", t.describe());
        if let Op::MigratePartition { from, to, .. } = &action.op {
            return self.migrate(t.as_ref(), action, from, to).await;
        }
        // Tokio's clock, so that a test on virtual time follows a start or stop in no real time.
        let started = tokio::time::Instant::now();
        let awaited = Awaited::of(&action.op);
        if let Some(w) = &awaited {
            // Idempotence: a start or stop already under way (a retry after a lost connection)
            // is followed, never issued again.
            let (state, rmc) = self.lpar_state(t.as_ref(), w).await?;
            if w.until.under_way(&state, rmc) {
                return self.follow_state(t.as_ref(), w, started, "already under way", false).await;
            }
        }
        // A line of several commands (a DLPAR of memory and processors) stops at the first
        // that fails, as `&&` would.
        let lines: Vec<String> = action.op.command().split("; ").map(str::to_owned).collect();
        let mut message = Vec::new();
        for line in lines {
            let out = run_batch(t.as_ref(), std::slice::from_ref(&line)).await?.remove(0);
            if out.code != 0 {
                return Err(hscl::classify(&out.stdout, &out.stderr));
            }
            if !out.stdout.trim().is_empty() {
                message.push(out.stdout.trim().to_owned());
            }
        }
        if let Some(w) = &awaited {
            // `chsysstate` returns once the HMC has begun: the partition is not running (or
            // stopped) yet, and what follows may need it to be.
            return self.follow_state(t.as_ref(), w, started, &message.join("; "), true).await;
        }
        Ok(Completion { message: message.join("; "), duration: started.elapsed(), suspended: None })
    }
}

#[cfg(test)]
mod corpus_tests;
#[cfg(test)]
mod migration_tests;
#[cfg(test)]
mod tests;
