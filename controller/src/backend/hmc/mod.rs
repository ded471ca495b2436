//! The HMC backend: observes with the HMC's listing commands and carries out each action with
//! exactly the command line `plan --format hmc` shows (`Op::command`), through a
//! [`Transport`]: over SSH ([`ssh::Ssh`]), or in tests to the simulator's in-process HMC
//! emulator, which implements [`Transport`] (this module never uses the simulator outside its
//! tests). An estate may span several HMCs; each frame is managed by the HMC that lists it.

mod consoles;
pub mod hscl;
pub(crate) mod listing;
mod observe;
mod records;
pub mod ssh;
pub mod transport;
mod vios_asks;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use powerplane_model::plan::migration_bound::Progress;

use powerplane_model::status::LparState;
use powerplane_model::{Action, Estate, FrameName, Op, RunsOn, ViosName};
use tokio::sync::RwLock;

pub use records::{
    PagingDeviceRecord, ParseError, Record, VirtualEthRecord, parse_fields, parse_line, parse_output, render_line,
};
pub use transport::{CommandOutput, Transport, run_batch};

use self::transport::run_batch_once;
use self::vios_asks::{Ask, Asking, Known};

use self::listing as l;
use self::observe::FrameListings;
use super::power_wait::Until;
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

    /// The frames each HMC manages, each with its `lssyscfg -r sys` record. A name powerplane
    /// cannot use is left out with a warning; the rest are listed.
    async fn frames(&self) -> Result<Vec<(usize, Vec<(FrameName, Record)>)>, BackendError> {
        let mut out = Vec::new();
        let mut managers = BTreeMap::new();
        let cmds = [format!("lssyscfg -r sys -F {}", l::fields(l::SYS)), l::HMC_VERSION.to_owned()];
        let addresses: Vec<_> = self.hmcs.iter().map(|t| t.console()).collect();
        // Each HMC tests its key on every other one (`mkauthkeys --ip OTHER --test`).
        let peers = consoles::peers(&addresses);
        let answers = futures_util::future::join_all(self.hmcs.iter().enumerate().map(|(i, t)| {
            let mut all = cmds.to_vec();
            all.extend(peers[i].iter().map(powerplane_model::console::keys_test));
            async move { run_batch(t.as_ref(), &all).await }
        }))
        .await;
        let mut keys = Vec::new();
        for (i, (t, both)) in self.hmcs.iter().zip(answers).enumerate() {
            let mut both = both?;
            let (r, version) = (both.remove(0), both.remove(0));
            keys.push(consoles::key_tests(t.as_ref(), &peers[i], &both));
            if let Some(v) = (version.code == 0).then(|| l::hmc_version(&version.stdout)).flatten() {
                let mut known = self.versions.write().expect("not poisoned");
                if known.insert(i, v.clone()).as_ref() != Some(&v) {
                    tracing::info!(hmc = %t.describe(), version = %v, "HMC version");
                }
            }
            if r.code != 0 {
                return Err(hscl::classify(&r.stdout, &r.stderr));
            }
            let recs = listing(&r.stdout, l::SYS).map_err(|e| parse_error(t.as_ref(), "lssyscfg -r sys", &e))?;
            let mut frames = Vec::new();
            for rec in recs {
                let raw = rec.get("name").cloned().unwrap_or_default();
                let name = match FrameName::new(raw.clone()) {
                    Ok(n) => n,
                    Err(e) => {
                        tracing::warn!(hmc = %t.describe(), frame = %raw, error = %e, "a managed system powerplane cannot name is left out");
                        continue;
                    }
                };
                if let Some(j) = managers.insert(name.clone(), i)
                    && j != i
                {
                    tracing::warn!(frame = %name, "listed by two HMCs; using the first");
                    managers.insert(name.clone(), j);
                    continue;
                }
                frames.push((name, rec));
            }
            out.push((i, frames));
        }
        let versions = self.versions.read().expect("not poisoned").clone();
        *self.consoles.write().expect("not poisoned") = consoles::consoles(&addresses, &versions, keys, &managers);
        *self.managers.write().await = managers;
        Ok(out)
    }

    async fn observe_some(&self, only: Option<&BTreeSet<FrameName>>) -> Result<Estate, BackendError> {
        let hmcs = self.frames().await?;
        let known = self.known.read().expect("not poisoned").clone();
        let mut tasks = tokio::task::JoinSet::new();
        let mut all: Vec<(FrameName, Listed)> = Vec::new();
        for (i, frames) in hmcs {
            let mut operating = Vec::new();
            for (f, rec) in frames.into_iter().filter(|(f, _)| only.is_none_or(|o| o.contains(f))) {
                // Only an Operating frame answers its listings (HSCL0238 otherwise,
                // `tests/fixtures/hmc/error-hscl0238-not-operating.txt`): any other state sets it
                // aside, named.
                match rec.get("state").map(String::as_str) {
                    Some("Operating") => operating.push((f, rec)),
                    state => {
                        let state = state.unwrap_or("not listed");
                        all.push((f, Err(format!("its state is {state}"))));
                    }
                }
            }
            if operating.is_empty() {
                continue;
            }
            let names: BTreeSet<&FrameName> = operating.iter().map(|(f, _)| f).collect();
            let known: BTreeMap<(FrameName, ViosName), Known> =
                known.iter().filter(|((f, _), _)| names.contains(f)).map(|(k, v)| (k.clone(), v.clone())).collect();
            tasks.spawn(observe_hmc(self.hmcs[i].clone(), operating, known));
        }
        let mut learnt = BTreeMap::new();
        while let Some(r) = tasks.join_next().await {
            let (listed, k) = r.map_err(|e| BackendError::caused("an observing task failed", e))??;
            all.extend(listed);
            learnt.extend(k);
        }
        {
            let mut known = self.known.write().expect("not poisoned");
            if only.is_none() {
                *known = learnt;
            } else {
                known.extend(learnt);
            }
        }
        all.sort_by(|a, b| a.0.cmp(&b.0));
        for (f, l) in &all {
            if let Err(why) = l {
                tracing::warn!(frame = %f, reason = %why, "frame set aside: it could not be observed");
            }
        }
        let last = self.last.read().expect("not poisoned").clone();
        let mut e = observe::estate(all, last.as_ref());
        e.status.consoles = self.consoles.read().expect("not poisoned").clone();
        e.adopt_names(&self.names.read().expect("not poisoned"));
        if let Some(last) = last.as_ref() {
            observe::vios::fill_down_vios(&mut e, last);
        }
        if only.is_none() {
            *self.last.write().expect("not poisoned") = Some(e.clone());
        }
        Ok(e)
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

    /// Where `partition` is and whether it is migrating, as the HMC lists it now.
    async fn locate(
        &self,
        t: &T,
        partition: &powerplane_model::PartitionName,
        frames: [&FrameName; 2],
    ) -> Result<Located, BackendError> {
        let mut cmds = Vec::new();
        for f in frames {
            cmds.push(format!("lssyscfg -r lpar -m {} -F name", f.word()));
            cmds.push(format!("lslparmigr -r lpar -m {} -F {}", f.word(), l::fields(l::LPARMIGR)));
        }
        let out = run_batch(t, &cmds).await?;
        let mut located = Located::Nowhere;
        for (k, f) in frames.iter().enumerate() {
            let names = &out[2 * k];
            if names.code == 0 && names.stdout.lines().any(|n| n.trim() == partition.as_str()) {
                let migr = listing(&out[2 * k + 1].stdout, l::LPARMIGR).unwrap_or_default();
                let rec = migr.iter().find(|r| r.get("name").map(String::as_str) == Some(partition.as_str()));
                let state =
                    rec.and_then(|r| r.get("migration_state").cloned()).unwrap_or_else(|| "Not Migrating".into());
                located = match state.as_str() {
                    "Not Migrating" => Located::On((*f).clone()),
                    "Migration Failed" => Located::Failed((*f).clone()),
                    // How far it got: `bytes_remaining` (IBM's `lslparmigr` man page), while it
                    // copies.
                    _ => Located::Migrating {
                        remaining: rec.and_then(|r| r.get("bytes_remaining")).and_then(|b| b.parse().ok()),
                    },
                };
                break;
            }
        }
        Ok(located)
    }

    /// The bound of `partition`'s migration, from its memory as last observed.
    fn migration_progress(&self, partition: &powerplane_model::PartitionName) -> Progress {
        let memory = self
            .last
            .read()
            .expect("not poisoned")
            .as_ref()
            .and_then(|e| e.partitions.get(partition))
            .map_or(UNKNOWN_SIZE, |p| p.spec.memory.desired_mb);
        Progress::new(memory)
    }

    /// Waits while the migration of `partition` runs within its bound, or progresses past it
    /// (`lslparmigr`'s bytes remaining go down); returns the timeout once it stalls past its
    /// bound. It never ends the migration: the HMC carries it on, and the next observation sees
    /// it in flight.
    async fn watch(
        &self,
        t: &T,
        partition: &powerplane_model::PartitionName,
        frames: [&FrameName; 2],
        started: tokio::time::Instant,
    ) -> BackendError {
        let mut progress = self.migration_progress(partition);
        tokio::time::sleep(progress.bound()).await;
        loop {
            let remaining = match self.locate(t, partition, frames).await {
                Ok(Located::Migrating { remaining }) => remaining,
                _ => None,
            };
            if !progress.keep_following(started.elapsed(), remaining) {
                tracing::warn!(%partition, elapsed_s = started.elapsed().as_secs(), bound_s = progress.bound().as_secs(), "the migration made no progress past its bound; no longer waiting for it");
                return BackendError::Timeout(started.elapsed());
            }
            tokio::time::sleep(self.poll).await;
        }
    }

    /// `migrlpar -o m`: issued once; if the connection fails while it runs, or before it is
    /// known to have started, the migration is followed with `lslparmigr` until it ends, and
    /// only its observed outcome decides. It is bounded by the partition's size, and past that
    /// bound by its progress ([`Progress`]), never by a fixed limit.
    async fn migrate(
        &self,
        t: &T,
        action: &Action,
        from: &FrameName,
        to: &FrameName,
    ) -> Result<Completion, BackendError> {
        let Op::MigratePartition { partition, .. } = &action.op else { unreachable!("called for migrations") };
        // Tokio's clock, so that a test on virtual time follows a long migration in no time.
        let started = tokio::time::Instant::now();
        // Idempotence: a partition already on the target (a retry after a lost connection)
        // is not moved again; one still migrating is followed.
        match self.locate(t, partition, [from, to]).await? {
            Located::On(f) if f == *to => {
                return Ok(Completion {
                    message: format!("{partition} is already on {to}"),
                    duration: Duration::ZERO,
                    suspended: None,
                });
            }
            Located::Migrating { .. } => return self.follow(t, partition, from, to, started).await,
            _ => {}
        }
        let command = [action.op.command()];
        let issued = tokio::select! {
            r = run_batch(t, &command) => r,
            e = self.watch(t, partition, [from, to], started) => return Err(e),
        };
        match issued {
            Ok(out) if out[0].code == 0 => Ok(Completion {
                message: out[0].stdout.trim().to_owned(),
                duration: started.elapsed(),
                suspended: None,
            }),
            Ok(out) => Err(hscl::classify(&out[0].stdout, &out[0].stderr)),
            Err(e) => {
                tracing::warn!(%partition, error = %e, "the connection failed during migrlpar; following the migration");
                self.follow(t, partition, from, to, started).await
            }
        }
    }

    async fn follow(
        &self,
        t: &T,
        partition: &powerplane_model::PartitionName,
        from: &FrameName,
        to: &FrameName,
        started: tokio::time::Instant,
    ) -> Result<Completion, BackendError> {
        let mut progress = self.migration_progress(partition);
        loop {
            match self.locate(t, partition, [from, to]).await {
                Ok(Located::On(f)) if f == *to => {
                    return Ok(Completion {
                        message: format!("{partition} migrated to {to} (followed with lslparmigr)"),
                        duration: started.elapsed(),
                        suspended: None,
                    });
                }
                Ok(Located::On(f)) => {
                    return Err(BackendError::refused_plain(format!("{partition} did not migrate: it is on {f}")));
                }
                Ok(Located::Failed(f)) => {
                    return Err(BackendError::refused_plain(format!(
                        "the migration of {partition} failed part-way; it awaits `migrlpar -o r -m {} -p {}`",
                        f.word(),
                        partition.word()
                    )));
                }
                Ok(Located::Nowhere) => {
                    return Err(BackendError::internal(format!("{partition} is listed on neither {from} nor {to}")));
                }
                Ok(Located::Migrating { remaining }) if progress.keep_following(started.elapsed(), remaining) => {}
                Err(_) if progress.keep_following(started.elapsed(), None) => {}
                Ok(Located::Migrating { .. }) | Err(_) => return Err(BackendError::Timeout(started.elapsed())),
            }
            tokio::time::sleep(self.poll).await;
        }
    }
}

/// Where a partition is.
enum Located {
    On(FrameName),
    /// Migrating, with the bytes left to copy when listed.
    Migrating {
        remaining: Option<u64>,
    },
    Failed(FrameName),
    Nowhere,
}

fn parse_error<T: Transport>(t: &T, what: &str, e: &ParseError) -> BackendError {
    BackendError::caused(&format!("{}: cannot read `{what}`", t.describe()), e.clone())
}

/// A `-F` listing; "No results were found." is none.
fn listing(text: &str, fields: &[&str]) -> Result<Vec<Record>, ParseError> {
    if text.trim() == "No results were found." {
        return Ok(Vec::new());
    }
    parse_fields(text, fields, false)
}

/// The frame listings: each runs as `CMD -m FRAME ... -F FIELDS`.
const PER_FRAME: [(&str, &[&str]); 14] = [
    ("lshwres -r mem --level sys", l::SYS_MEM),
    ("lshwres -r proc --level sys", l::SYS_PROC),
    ("lssyscfg -r lpar", l::LPAR),
    ("lssyscfg -r prof", l::PROF),
    ("lshwres -r mem --level lpar", l::LPAR_MEM),
    ("lshwres -r proc --level lpar", l::LPAR_PROC),
    ("lshwres -r procpool", l::PROCPOOL),
    ("lshwres -r mempool", l::MEMPOOL),
    ("lshwres -r mempool --rsubtype pgdev", l::PGDEV),
    ("lshwres -r virtualio --rsubtype eth --level lpar", l::VETH),
    ("lslparmigr -r lpar", l::LPARMIGR),
    ("lslparmigr -r sys", l::LPARMIGR_SYS),
    ("lshwres -r virtualio --rsubtype scsi --level lpar", l::VSTORAGE),
    ("lshwres -r virtualio --rsubtype fc --level lpar", l::VSTORAGE),
];

/// What a frame's listing gave: its records, or why the frame is set aside.
type Listed = Result<FrameListings, String>;

/// What one HMC's frames listed, and what was learnt of their VIOS for the next observation.
type HmcListed = (Vec<(FrameName, Listed)>, BTreeMap<(FrameName, ViosName), Known>);

/// Observes `frames` on one HMC: their listings, [`FRAMES_PER_BATCH`] frames to a script, then
/// every running VIOS's devices and mappings in as few `viosvrcmd` as [`vios_asks`] can chain
/// them, spread over as many sessions as the HMC takes at once: each `viosvrcmd` is an RMC
/// round trip, and the VIOS of an HMC answer them side by side. A frame whose listing fails is
/// set aside with the HMC's message, a VIOS whose listing fails is unknown: neither ends the
/// observation.
async fn observe_hmc<T: Transport>(
    t: Arc<T>,
    frames: Vec<(FrameName, Record)>,
    known: BTreeMap<(FrameName, ViosName), Known>,
) -> Result<HmcListed, BackendError> {
    let mut batches = tokio::task::JoinSet::new();
    for chunk in frames.chunks(FRAMES_PER_BATCH) {
        let (t, chunk) = (t.clone(), chunk.to_vec());
        batches.spawn(async move { list_frames(t.as_ref(), chunk).await });
    }
    let mut listed: Vec<(FrameName, Listed)> = Vec::new();
    while let Some(r) = batches.join_next().await {
        listed.extend(r.map_err(|e| BackendError::caused("an observing task failed", e))??);
    }
    let mut asking: Vec<(usize, ViosName, Asking)> = Vec::new();
    for (k, (f, fl)) in listed.iter_mut().enumerate() {
        let Ok(fl) = fl else { continue };
        for r in &fl.lpar {
            if r.get("lpar_env").map(String::as_str) != Some("vioserver") {
                continue;
            }
            let Ok(v) = ViosName::new(r.get("name").cloned().unwrap_or_default()) else { continue };
            let running =
                r.get("state").is_some_and(|s| s == "Running") && r.get("rmc_state").is_some_and(|s| s == "active");
            if !running {
                // DESIGN §5: a VIOS that is down answers no viosvrcmd; what it had is filled
                // from the last observation (`observe::fill_down_vios`). A running one without
                // RMC cannot be asked either: unknown, never empty.
                if r.get("state").is_some_and(|s| s == "Running") {
                    fl.vios_unknown.insert(v, "its RMC connection is not active".into());
                }
                continue;
            }
            let a = Asking::new(known.get(&(f.clone(), v.clone())));
            asking.push((k, v, a));
        }
    }
    loop {
        let open: Vec<usize> = (0..asking.len()).filter(|&i| !asking[i].2.done()).collect();
        if open.is_empty() {
            break;
        }
        let per = open.len().div_ceil(t.sessions().max(1));
        let mut sessions = tokio::task::JoinSet::new();
        for group in open.chunks(per) {
            let jobs: Vec<(usize, Vec<Ask>, String)> = group
                .iter()
                .map(|&i| {
                    let (k, v, a) = &asking[i];
                    let (asks, text) = a.next().expect("still asking");
                    (i, asks, viosvrcmd(&listed[*k].0, v, &text))
                })
                .collect();
            let t = t.clone();
            sessions.spawn(async move {
                let cmds: Vec<String> = jobs.iter().map(|j| j.2.clone()).collect();
                let out = run_batch_once(t.as_ref(), &cmds).await;
                (jobs, out)
            });
        }
        while let Some(r) = sessions.join_next().await {
            let (jobs, out) = r.map_err(|e| BackendError::caused("an observing task failed", e))?;
            for ((i, asks, cmd), o) in jobs.into_iter().zip(out?) {
                // A `viosvrcmd` that failed before its VIOS printed anything, in a script where
                // others failed too: run alone, it says why.
                let o = if o.code != 0
                    && o.stdout.trim().is_empty()
                    && o.stderr.trim().is_empty()
                    && !matches!(asks.first(), Some(Ask::Map(_)))
                {
                    run_batch(t.as_ref(), &[cmd]).await?.remove(0)
                } else {
                    o
                };
                asking[i].2.take(&asks, &o);
            }
        }
    }
    let mut learnt = BTreeMap::new();
    for (k, v, a) in asking {
        let frame = listed[k].0.clone();
        let Ok(fl) = &mut listed[k].1 else { continue };
        match a.finish() {
            Ok((vl, kn)) => {
                if let Some(level) = &vl.level {
                    tracing::debug!(%frame, vios = %v, %level, "VIOS level");
                }
                fl.vios.insert(v.clone(), vl);
                learnt.insert((frame, v), kn);
            }
            Err(why) => {
                fl.vios_unknown.insert(v, why);
            }
        }
    }
    Ok((listed, learnt))
}

/// Lists `frames` (on one HMC) in one script: the [`PER_FRAME`] listings of each.
async fn list_frames<T: Transport>(
    t: &T,
    frames: Vec<(FrameName, Record)>,
) -> Result<Vec<(FrameName, Listed)>, BackendError> {
    let mut cmds = Vec::new();
    for (f, _) in &frames {
        for (c, fields) in &PER_FRAME {
            let (head, tail) = c.split_once(" -r ").expect("every listing has -r");
            // The rest of the options after the frame; never a blank squeezed out of the line,
            // which would change a frame name holding two spaces.
            let (r, rest) = tail.split_once(' ').map_or((tail, String::new()), |(r, rest)| (r, format!(" {rest}")));
            cmds.push(format!("{head} -r {r} -m {}{rest} -F {}", f.word(), l::fields(fields)));
        }
    }
    let out = run_batch(t, &cmds).await?;
    let mut listed: Vec<(FrameName, Listed)> = Vec::new();
    for (k, (f, sys)) in frames.into_iter().enumerate() {
        let outs = &out[k * PER_FRAME.len()..(k + 1) * PER_FRAME.len()];
        listed.push((f.clone(), frame_listings(t, &f, sys, outs)));
    }
    Ok(listed)
}

/// One frame's records from its `PER_FRAME` outputs, or why it is set aside.
fn frame_listings<T: Transport>(t: &T, f: &FrameName, sys: Record, outs: &[CommandOutput]) -> Listed {
    let mut fl = FrameListings { sys, ..Default::default() };
    let mut parsed = Vec::new();
    for ((c, fields), o) in PER_FRAME.iter().zip(outs) {
        // A frame without AMS answers the pool listings with a refusal (or "No results were
        // found."), one that cannot migrate partitions `lslparmigr -r sys` so: no pool, no
        // migration limit, not a broken frame.
        let optional = c.contains("mempool") || c.starts_with("lslparmigr -r sys") || c.contains("--rsubtype fc");
        // Without its virtual SCSI listing the frame's storage is unknown, not empty.
        if c.contains("--rsubtype scsi") && o.code != 0 {
            parsed.push(Vec::new());
            continue;
        }
        if c.contains("--rsubtype scsi") {
            fl.storage_listed = true;
        }
        // A frame without multiple shared processor pools (POWER5) answers with a sentence, with
        // an exit status no source records (tests/fixtures/hmc/lshwres-r-procpool.power5-unsupported.txt).
        if c.contains("procpool") && o.stdout.contains("does not support multiple shared processor pools") {
            parsed.push(Vec::new());
            continue;
        }
        if o.code != 0 {
            if optional {
                parsed.push(Vec::new());
                continue;
            }
            return Err(format!("`{c} -m {}` failed: {}", f.word(), hscl::classify(&o.stdout, &o.stderr)));
        }
        match listing(&o.stdout, fields) {
            Ok(r) => parsed.push(r),
            Err(e) => return Err(format!("{}", parse_error(t, &format!("{c} -m {}", f.word()), &e))),
        }
    }
    let mut it = parsed.into_iter();
    let mut next = || it.next().expect("one listing per command");
    fl.sys_mem = next();
    fl.sys_proc = next();
    fl.lpar = next();
    fl.prof = next();
    fl.lpar_mem = next();
    fl.lpar_proc = next();
    fl.procpool = next();
    fl.mempool = next();
    fl.pgdev = next();
    fl.veth = next();
    fl.lparmigr = next();
    fl.lparmigr_sys = next();
    fl.vscsi = next();
    fl.vfc = next();
    Ok(fl)
}

fn viosvrcmd(frame: &FrameName, vios: &ViosName, cmd: &str) -> String {
    // As `powerplane_model::viosvrcmd` renders it, with the HMC's bound on how long it runs.
    format!("viosvrcmd -m {} -p {} -t {VIOS_TIMEOUT_SECS} -c \"{cmd}\"", frame.word(), vios.word())
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

impl<T: Transport> Hmc<T> {
    /// Why a partition in `Open Firmware` will not boot: it has storage client adapters and
    /// no disk is mapped to it on any VIOS of its frame (as observed now: `lshwres -r
    /// virtualio`, `lsmap`). `None` when a disk is mapped, or its storage cannot be told.
    async fn no_disk_mapped(&self, w: &Awaited) -> Option<String> {
        let name = powerplane_model::PartitionName::new(w.name.as_str()).ok()?;
        let e = self.observe_frames(&[w.frame.clone()].into()).await.ok()?;
        let vios = e.status.vios_storage.get(&w.frame)?;
        e.status.client_adapters.get(&name).filter(|c| !c.is_empty())?;
        let mapped = vios.values().flat_map(|v| &v.adapters).any(|a| a.client == name && a.carries_disks());
        (!mapped).then(|| {
            format!(
                "{} is in Open Firmware (its firmware's SMS menu), not Running: no disk is mapped to it on any VIOS of {} (lsmap), so it has nothing to boot from. Map its boot disk (mkvdev -vdev hdiskN -vadapter vhostN), then restart it (chsysstate -m {} -r lpar -o shutdown --immed -n {}, then -o on)",
                w.name,
                w.frame,
                w.frame.word(),
                w.name
            )
        })
    }

    /// The partition's state and whether its RMC connection is active, as `lssyscfg` lists
    /// them now.
    async fn lpar_state(&self, t: &T, w: &Awaited) -> Result<(LparState, bool), BackendError> {
        let cmd =
            format!("lssyscfg -r lpar -m {} --filter \"lpar_names={}\" -F state,rmc_state", w.frame.word(), w.name);
        let out = run_batch(t, &[cmd]).await?.remove(0);
        if out.code != 0 {
            return Err(hscl::classify(&out.stdout, &out.stderr));
        }
        let line = out.stdout.lines().next().unwrap_or("").trim();
        let (state, rmc) = line.rsplit_once(',').unwrap_or((line, ""));
        if state.is_empty() {
            return Err(BackendError::internal(format!("{} is not listed on {}", w.name, w.frame)));
        }
        Ok((LparState::parse(state), rmc == "active"))
    }

    /// Follows `w` with `lssyscfg` every poll until it is reached, bounded by
    /// [`Awaited::limit`]; a state that is neither the one awaited nor on its way there (an
    /// `Error`, one this version does not know) ends it as a refusal, with the state named.
    /// Just after the command was `issued`, the state it started from still counts as on the
    /// way (the HMC has begun, the listing may not show it yet).
    async fn follow_state(
        &self,
        t: &T,
        w: &Awaited,
        started: tokio::time::Instant,
        said: &str,
        issued: bool,
    ) -> Result<Completion, BackendError> {
        loop {
            let (state, rmc) = self.lpar_state(t, w).await?;
            if w.until.reached(&state, rmc) {
                let message = match (said.is_empty(), w.until) {
                    (true, Until::Running { rmc: true }) => format!("{} is running with RMC active", w.name),
                    (true, _) => format!("{} is {state}", w.name),
                    (false, _) => format!("{said}; {} is {state}", w.name),
                };
                return Ok(Completion { message, duration: started.elapsed(), suspended: None });
            }
            // Activated without a disk mapped, it waits in its SMS menu: say so, not wait.
            if state == LparState::OpenFirmware
                && w.until == (Until::Running { rmc: false })
                && let Some(why) = self.no_disk_mapped(w).await
            {
                return Err(BackendError::refused_plain(why));
            }
            let on_the_way = w.until.under_way(&state, rmc) || (issued && w.until.from(&state));
            if !on_the_way {
                return Err(BackendError::refused_plain(format!(
                    "{} is {state} after `chsysstate`, not {}: look at its reference code (`lsrefcode -r lpar -m {} --filter \"lpar_names={}\"`)",
                    w.name,
                    w.until,
                    w.frame.word(),
                    w.name
                )));
            }
            if started.elapsed() >= w.until.limit() {
                return Err(BackendError::Timeout(started.elapsed()));
            }
            tokio::time::sleep(self.poll).await;
        }
    }
}

/// A partition or VIOS a `chsysstate` starts or stops, and the state it waits for.
struct Awaited {
    frame: FrameName,
    name: String,
    until: Until,
}

impl Awaited {
    fn of(op: &Op) -> Option<Self> {
        let (frame, name, until) = match op {
            Op::StartVios { frame, vios, .. } => (frame, vios.to_string(), Until::Running { rmc: true }),
            Op::StopVios { frame, vios } => (frame, vios.to_string(), Until::NotActivated),
            Op::StartPartition { frame, partition, .. } => {
                (frame, partition.to_string(), Until::Running { rmc: false })
            }
            Op::StopPartition { frame, partition, .. } => (frame, partition.to_string(), Until::NotActivated),
            _ => return None,
        };
        Some(Awaited { frame: frame.clone(), name, until })
    }
}

#[cfg(test)]
mod corpus_tests;
#[cfg(test)]
mod layering_tests;
#[cfg(test)]
mod migration_tests;
#[cfg(test)]
mod tests;
