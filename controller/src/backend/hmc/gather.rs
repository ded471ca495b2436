//! Listing the estate over the transport: each HMC's frames, then every frame's listings in
//! batches and each running VIOS's through `viosvrcmd`, read into the observed estate.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use powerplane_model::{Estate, FrameName, ViosName};

use super::records::{ParseError, Record, parse_fields};
use super::transport::{CommandOutput, Transport, run_batch};

use super::transport::run_batch_once;
use super::vios_asks::{Ask, Asking, Known};

use super::listing as l;
use super::observe::FrameListings;
use crate::backend::BackendError;

use super::{FRAMES_PER_BATCH, Hmc, VIOS_TIMEOUT_SECS, consoles, hscl, observe};

impl<T: Transport> Hmc<T> {
    /// The frames each HMC manages, each with its `lssyscfg -r sys` record. A name powerplane
    /// cannot use is left out with a warning; the rest are listed.
    pub(super) async fn frames(&self) -> Result<Vec<(usize, Vec<(FrameName, Record)>)>, BackendError> {
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

    pub(super) async fn observe_some(&self, only: Option<&BTreeSet<FrameName>>) -> Result<Estate, BackendError> {
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
}

pub(super) fn parse_error<T: Transport>(t: &T, what: &str, e: &ParseError) -> BackendError {
    BackendError::caused(&format!("{}: cannot read `{what}`", t.describe()), e.clone())
}

/// A `-F` listing; "No results were found." is none.
pub(super) fn listing(text: &str, fields: &[&str]) -> Result<Vec<Record>, ParseError> {
    if text.trim() == "No results were found." {
        return Ok(Vec::new());
    }
    parse_fields(text, fields, false)
}

/// The frame listings: each runs as `CMD -m FRAME ... -F FIELDS`.
pub(super) const PER_FRAME: [(&str, &[&str]); 14] = [
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
pub(super) async fn observe_hmc<T: Transport>(
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
pub(super) async fn list_frames<T: Transport>(
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
pub(super) fn frame_listings<T: Transport>(t: &T, f: &FrameName, sys: Record, outs: &[CommandOutput]) -> Listed {
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

pub(super) fn viosvrcmd(frame: &FrameName, vios: &ViosName, cmd: &str) -> String {
    // As `powerplane_model::viosvrcmd` renders it, with the HMC's bound on how long it runs.
    format!("viosvrcmd -m {} -p {} -t {VIOS_TIMEOUT_SECS} -c \"{cmd}\"", frame.word(), vios.word())
}
