//! The HMC backend: observes with the HMC's listing commands and carries out each action with
//! exactly the command line `plan --format hmc` shows (`Op::command`), over SSH
//! ([`ssh::Ssh`]) or to the in-process emulator ([`transport::Local`]). An estate may span
//! several HMCs; each frame is managed by the HMC that lists it.

pub mod hscl;
pub(crate) mod listing;
mod observe;
mod records;
pub mod ssh;
pub mod transport;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use powerplane_model::{Action, Estate, FrameName, Op, RunsOn, ViosName};
use tokio::sync::RwLock;

pub use records::{
    PagingDeviceRecord, ParseError, Record, VirtualEthRecord, parse_fields, parse_line, parse_output, render_line,
};
pub use transport::{CommandOutput, Transport, run_batch};

use self::listing as l;
use self::observe::{FrameListings, ViosListings};
use super::{BackendError, Completion, Hypervisor};

/// Frames listed per SSH command: one connection carries all their listings.
const FRAMES_PER_BATCH: usize = 16;
/// Batches listed at once across all HMCs: more than this only queues on the machine's cores
/// and ssh processes (each session is one).
const PARALLEL_BATCHES: usize = 16;
/// How long a migration is followed with `lslparmigr` before it is left to the next
/// observation.
const FOLLOW_LIMIT: Duration = Duration::from_secs(4 * 3600);

/// An estate's HMCs.
pub struct Hmc<T: Transport> {
    hmcs: Vec<Arc<T>>,
    /// Which HMC manages each frame (learnt from `lssyscfg -r sys`).
    managers: RwLock<BTreeMap<FrameName, usize>>,
    /// How often a migration is polled.
    poll: Duration,
    /// The manifests' names for what the HMC does not name (see [`Estate::adopt_names`]).
    names: std::sync::RwLock<Estate>,
    /// The last observation: what a VIOS that is down had when it last answered.
    last: std::sync::RwLock<Option<Estate>>,
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
        }
    }

    /// Remembers an earlier observation (the state directory's snapshot): the devices of a VIOS
    /// that is down now are those it had then, as the HMC cannot list inside it.
    pub fn remember(&self, earlier: Estate) {
        *self.last.write().expect("not poisoned") = Some(earlier);
    }

    /// From now on, observations name the VIOS pairs, SEAs and pools as `desired` does.
    pub fn adopt_names(&self, desired: &Estate) {
        let named = Estate {
            vios_pairs: desired.vios_pairs.clone(),
            seas: desired.seas.clone(),
            mem_pools: desired.mem_pools.clone(),
            proc_pools: desired.proc_pools.clone(),
            ..Default::default()
        };
        *self.names.write().expect("not poisoned") = named;
    }

    /// The HMCs, for titles.
    pub fn describe(&self) -> String {
        let all: Vec<String> = self.hmcs.iter().map(|t| t.describe()).collect();
        format!("the HMC{} {}", if all.len() == 1 { "" } else { "s" }, all.join(", "))
    }

    /// Polls migrations every `d` (tests use short ones).
    pub fn with_poll(mut self, d: Duration) -> Self {
        self.poll = d;
        self
    }

    /// The frames each HMC manages.
    async fn frames(&self) -> Result<Vec<(usize, Vec<(FrameName, Record)>)>, BackendError> {
        let mut out = Vec::new();
        let mut managers = BTreeMap::new();
        for (i, t) in self.hmcs.iter().enumerate() {
            let cmd = format!("lssyscfg -r sys -F {}", l::fields(l::SYS));
            let r = run_batch(t.as_ref(), &[cmd]).await?.remove(0);
            if r.code != 0 {
                return Err(hscl::classify(&r.stdout, &r.stderr));
            }
            let recs = listing(&r.stdout, l::SYS).map_err(|e| parse_error(t.as_ref(), "lssyscfg -r sys", &e))?;
            let mut frames = Vec::new();
            for rec in recs {
                let name = FrameName::new(rec.get("name").cloned().unwrap_or_default())
                    .map_err(|e| BackendError::Internal(format!("{}: lssyscfg -r sys lists {e}", t.describe())))?;
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
        *self.managers.write().await = managers;
        Ok(out)
    }

    async fn observe_some(&self, only: Option<&BTreeSet<FrameName>>) -> Result<Estate, BackendError> {
        let hmcs = self.frames().await?;
        let mut tasks = tokio::task::JoinSet::new();
        let permits = Arc::new(tokio::sync::Semaphore::new(PARALLEL_BATCHES));
        for (i, frames) in hmcs {
            let frames: Vec<(FrameName, Record)> =
                frames.into_iter().filter(|(f, _)| only.is_none_or(|o| o.contains(f))).collect();
            for chunk in frames.chunks(FRAMES_PER_BATCH) {
                let t = self.hmcs[i].clone();
                let chunk = chunk.to_vec();
                let permits = permits.clone();
                tasks.spawn(async move {
                    let _permit = permits.acquire_owned().await.expect("never closed");
                    list_frames(t.as_ref(), chunk).await
                });
            }
        }
        let mut all = Vec::new();
        while let Some(r) = tasks.join_next().await {
            all.extend(r.map_err(|e| BackendError::Internal(format!("an observing task failed: {e}")))??);
        }
        all.sort_by(|a, b| a.0.cmp(&b.0));
        let mut e =
            observe::estate(all).map_err(|e| BackendError::Internal(format!("cannot read the HMC's listings: {e}")))?;
        e.adopt_names(&self.names.read().expect("not poisoned"));
        if let Some(last) = self.last.read().expect("not poisoned").as_ref() {
            observe::fill_down_vios(&mut e, last);
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
            cmds.push(format!("lssyscfg -r lpar -m {f} -F name"));
            cmds.push(format!("lslparmigr -r lpar -m {f} -F {}", l::fields(l::LPARMIGR)));
        }
        let out = run_batch(t, &cmds).await?;
        let mut located = Located::Nowhere;
        for (k, f) in frames.iter().enumerate() {
            let names = &out[2 * k];
            if names.code == 0 && names.stdout.lines().any(|n| n.trim() == partition.as_str()) {
                let migr = listing(&out[2 * k + 1].stdout, l::LPARMIGR).unwrap_or_default();
                let state = migr
                    .iter()
                    .find(|r| r.get("name").map(String::as_str) == Some(partition.as_str()))
                    .and_then(|r| r.get("migration_state").cloned())
                    .unwrap_or_else(|| "Not Migrating".into());
                located = match state.as_str() {
                    "Not Migrating" => Located::On((*f).clone()),
                    "Migration Failed" => Located::Failed((*f).clone()),
                    _ => Located::Migrating,
                };
                break;
            }
        }
        Ok(located)
    }

    /// `migrlpar -o m`: issued once; if the connection fails while it runs, or before it is
    /// known to have started, the migration is followed with `lslparmigr` until it ends, and
    /// only its observed outcome decides.
    async fn migrate(
        &self,
        t: &T,
        action: &Action,
        from: &FrameName,
        to: &FrameName,
    ) -> Result<Completion, BackendError> {
        let Op::MigratePartition { partition, .. } = &action.op else { unreachable!("called for migrations") };
        let started = Instant::now();
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
            Located::Migrating => return self.follow(t, partition, from, to, started).await,
            _ => {}
        }
        match run_batch(t, &[action.op.command()]).await {
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
        started: Instant,
    ) -> Result<Completion, BackendError> {
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
                        "the migration of {partition} failed part-way; it awaits `migrlpar -o r -m {f} -p {partition}`"
                    )));
                }
                Ok(Located::Nowhere) => {
                    return Err(BackendError::Internal(format!("{partition} is listed on neither {from} nor {to}")));
                }
                Ok(Located::Migrating) | Err(_) if started.elapsed() < FOLLOW_LIMIT => {}
                Ok(Located::Migrating) | Err(_) => return Err(BackendError::Timeout(started.elapsed())),
            }
            tokio::time::sleep(self.poll).await;
        }
    }
}

/// Where a partition is.
enum Located {
    On(FrameName),
    Migrating,
    Failed(FrameName),
    Nowhere,
}

fn parse_error<T: Transport>(t: &T, what: &str, e: &ParseError) -> BackendError {
    BackendError::Internal(format!("{}: cannot read `{what}`: {e}", t.describe()))
}

/// A `-F` listing; "No results were found." is none.
fn listing(text: &str, fields: &[&str]) -> Result<Vec<Record>, ParseError> {
    if text.trim() == "No results were found." {
        return Ok(Vec::new());
    }
    parse_fields(text, fields, false)
}

/// Lists `frames` (on one HMC): the frame listings, then each running VIOS's devices, then
/// its SEA devices' and disks' attributes; three round trips, each one SSH command.
async fn list_frames<T: Transport>(
    t: &T,
    frames: Vec<(FrameName, Record)>,
) -> Result<Vec<(FrameName, FrameListings)>, BackendError> {
    let per_frame: [(&str, &[&str]); 11] = [
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
    ];
    let mut cmds = Vec::new();
    for (f, _) in &frames {
        for (c, fields) in &per_frame {
            let (head, tail) = c.split_once(" -r ").expect("every listing has -r");
            let (r, rest) = tail.split_once(' ').unwrap_or((tail, ""));
            cmds.push(format!("{head} -r {r} -m {f} {rest} -F {}", l::fields(fields)).replace("  ", " "));
        }
    }
    let out = run_batch(t, &cmds).await?;
    let mut listed = Vec::new();
    for (k, (f, sys)) in frames.into_iter().enumerate() {
        let mut fl = FrameListings { sys, ..Default::default() };
        let mut parsed = Vec::new();
        for (j, (c, fields)) in per_frame.iter().enumerate() {
            let o = &out[k * per_frame.len() + j];
            if o.code != 0 {
                return Err(hscl::classify(&o.stdout, &o.stderr));
            }
            parsed.push(listing(&o.stdout, fields).map_err(|e| parse_error(t, &format!("{c} -m {f}"), &e))?);
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
        listed.push((f, fl));
    }
    // Round two: each running VIOS's devices and mappings.
    let vios_cmds = [l::VIOS_ADAPTERS, l::VIOS_DISKS, l::VIOS_VSCSI, l::VIOS_NPIV];
    let mut asked: Vec<(usize, ViosName)> = Vec::new();
    let mut cmds = Vec::new();
    for (k, (f, fl)) in listed.iter().enumerate() {
        for r in &fl.lpar {
            let running =
                r.get("state").is_some_and(|s| s == "Running") && r.get("rmc_state").is_some_and(|s| s == "active");
            if r.get("lpar_env").map(String::as_str) == Some("vioserver") && running {
                let v = ViosName::new(r.get("name").cloned().unwrap_or_default())
                    .map_err(|e| BackendError::Internal(format!("{}: {e}", t.describe())))?;
                for c in vios_cmds {
                    cmds.push(viosvrcmd(f, &v, c));
                }
                asked.push((k, v));
            }
        }
    }
    let out = if cmds.is_empty() { Vec::new() } else { run_batch(t, &cmds).await? };
    for (n, (k, v)) in asked.iter().enumerate() {
        let o = &out[n * vios_cmds.len()..(n + 1) * vios_cmds.len()];
        // A VIOS that stopped answering since it was listed is seen from outside only.
        if o.iter().any(|o| o.code != 0) {
            continue;
        }
        let vl = ViosListings {
            adapters: o[0].stdout.clone(),
            disks: o[1].stdout.clone(),
            vscsi: o[2].stdout.clone(),
            npiv: o[3].stdout.clone(),
            ..Default::default()
        };
        listed[*k].1.vios.insert(v.clone(), vl);
    }
    // Round three: the attributes of each SEA device and disk, and each SEA's state.
    let mut cmds = Vec::new();
    let mut wanted: Vec<(usize, ViosName, powerplane_model::DeviceName, bool)> = Vec::new();
    for (k, (f, fl)) in listed.iter().enumerate() {
        for (v, vl) in &fl.vios {
            for d in vl.sea_devices() {
                cmds.push(viosvrcmd(f, v, &format!("lsdev -dev {d} -attr")));
                cmds.push(viosvrcmd(f, v, &format!("entstat -all {d}")));
                wanted.push((k, v.clone(), d, true));
            }
            for d in vl.disk_names() {
                cmds.push(viosvrcmd(f, v, &format!("lsdev -dev {d} -attr")));
                wanted.push((k, v.clone(), d, false));
            }
        }
    }
    let out = if cmds.is_empty() { Vec::new() } else { run_batch(t, &cmds).await? };
    let mut i = 0;
    for (k, v, d, sea) in wanted {
        let vl = listed[k].1.vios.get_mut(&v).expect("asked for a listed VIOS");
        if out[i].code == 0 {
            vl.attrs.insert(d.clone(), out[i].stdout.clone());
        }
        i += 1;
        if sea {
            if out[i].code == 0 {
                vl.entstat.insert(d, out[i].stdout.clone());
            }
            i += 1;
        }
    }
    Ok(listed)
}

fn viosvrcmd(frame: &FrameName, vios: &ViosName, cmd: &str) -> String {
    format!("viosvrcmd -m {frame} -p {vios} -c \"{cmd}\"")
}

impl<T: Transport> Hypervisor for Hmc<T> {
    async fn observe(&self) -> Result<Estate, BackendError> {
        self.observe_some(None).await
    }

    async fn observe_frames(&self, frames: &BTreeSet<FrameName>) -> Result<Estate, BackendError> {
        self.observe_some(Some(frames)).await
    }

    async fn execute(&self, action: &Action) -> Result<Completion, BackendError> {
        match action.op.runs_on() {
            RunsOn::Hmc => {}
            RunsOn::Node(node) => {
                return Err(BackendError::refused_plain(format!(
                    "`{}` runs on the cluster node {node}, which the HMC backend cannot reach yet; run it there, or plan without the cluster's adjustment",
                    action.op.command()
                )));
            }
            RunsOn::Controller => {
                return Err(BackendError::Internal("hooks run on the controller, not through the HMC".into()));
            }
        }
        let frames = action.op.frames();
        let frame = frames.first().ok_or_else(|| BackendError::Internal(format!("{} names no frame", action.id)))?;
        let t = self.transport_for(frame).await?;
        if let Op::MigratePartition { from, to, .. } = &action.op {
            return self.migrate(t.as_ref(), action, from, to).await;
        }
        let started = Instant::now();
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
        Ok(Completion { message: message.join("; "), duration: started.elapsed(), suspended: None })
    }
}

#[cfg(test)]
mod tests;
