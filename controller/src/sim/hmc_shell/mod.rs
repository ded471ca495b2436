//! The simulator as an HMC: `powerplane sim hmc-shell` runs HMC command lines against the
//! simulated estate and prints what an HMC prints, with its exit status and `HSCL` messages.
//! Behind an sshd `ForceCommand` any SSH-capable tool can drive the simulated estate as it
//! would drive an HMC, and powerplane's own HMC backend is tested against it.
//!
//! Like the HMC's restricted shell it runs only the HMC's commands (those below), one after
//! the other when a line holds several (separated by `;` or new lines), and `echo`, whose
//! `$?` is the last command's exit status.

mod commands;
pub mod daemon;
pub(crate) mod listings;
mod local;
mod migrlpar;
mod mkauthkeys;
mod storage_listings;
mod syntax;
mod vios_commands;
mod vios_listings;

use std::collections::BTreeSet;

use powerplane_model::status::FrameState;
use powerplane_model::{Action, ActionId, FrameName, ViosName};

pub use self::local::Local;

use self::listings::Row;
use super::Simulator;
use super::state::SimState;
use crate::backend::BackendError;
use crate::backend::hmc::transport::ShellOutput;

/// The commands the emulated restricted shell runs.
pub const COMMANDS: &[&str] = &[
    "lssyscfg",
    "lshwres",
    "lslparmigr",
    "chhwres",
    "chsysstate",
    "chsyscfg",
    "mksyscfg",
    "rmsyscfg",
    "migrlpar",
    "viosvrcmd",
    "lshmc",
    "mkauthkeys",
    "echo",
];

/// Exit status of a command the HMC refused or could not carry out.
const FAILED: i32 = 1;
/// Exit status of a VIOS command that found nothing of its kind (the VIOS's "no device", 10,
/// vios/README.md "Errors"), as `viosvrcmd` passes it on.
const NOTHING_MAPPED: i32 = 10;
/// Exit status of a command the restricted shell does not have (bash's).
const NOT_FOUND: i32 = 127;

/// The emulated HMC: a simulator, and the frames this HMC manages (all when `None`); with a
/// console address, it is that HMC of the simulator's inventory (its frames, its version, its
/// SSH keys on the others).
pub struct HmcShell {
    sim: Simulator,
    managed: Option<BTreeSet<FrameName>>,
    rmc_latency: std::time::Duration,
    console: Option<powerplane_model::HmcAddress>,
}

/// What one `viosvrcmd` costs by default: the RMC round trip from the HMC to the VIOS and the
/// VIOS command behind it. **An assumption, not a measurement**: no published per-call figure
/// for `viosvrcmd` or an RMC round trip was found (`tests/fixtures/hmc/vios/README.md`,
/// "Latency"); one second is the order of magnitude we take for a VIOS command run over RMC.
/// `sim hmc-serve --rmc-latency` sets another; time yours with `time viosvrcmd ...` on your HMC.
pub const DEFAULT_RMC_LATENCY_SECS: f64 = 1.0;

impl HmcShell {
    /// An HMC over `sim` managing `managed` (every frame when `None`).
    pub fn new(sim: Simulator, managed: Option<BTreeSet<FrameName>>) -> Self {
        HmcShell { sim, managed, rmc_latency: std::time::Duration::ZERO, console: None }
    }

    /// The HMC at `address` of the simulator's inventory (`FrameHardware.spec.hmc`): it manages
    /// the frames the inventory gives it, answers `lshmc -V` with its version, and runs
    /// `mkauthkeys` as itself. An address the inventory does not name manages no frame.
    pub async fn for_console(sim: Simulator, address: powerplane_model::HmcAddress) -> Self {
        let managed = sim
            .read(|s| s.frames.keys().filter(|f| super::consoles::manager(s, f) == Some(&address)).cloned().collect())
            .await;
        HmcShell { sim, managed: Some(managed), rmc_latency: std::time::Duration::ZERO, console: Some(address) }
    }

    /// The address of the simulator's HMC this shell is, if it is one.
    pub fn console(&self) -> Option<&powerplane_model::HmcAddress> {
        self.console.as_ref()
    }

    /// The version this HMC runs: its console's, else the emulator's default.
    fn version(&self, s: &SimState) -> powerplane_model::console::HmcVersion {
        self.console.as_ref().and_then(|c| s.consoles.get(c)).map(|c| c.version.clone()).unwrap_or_else(|| {
            powerplane_model::console::HmcVersion::parse(super::consoles::DEFAULT_VERSION).expect("a version")
        })
    }

    /// Charges every `viosvrcmd` `latency` (waited, not computed: sessions wait side by side,
    /// as an HMC's RMC sessions to different VIOS do). None by default, in process.
    pub fn with_rmc_latency(mut self, latency: std::time::Duration) -> Self {
        self.rmc_latency = latency;
        self
    }

    /// Whether `script` only lists (so the state directory can be opened read-only).
    pub fn reads_only(script: &str) -> bool {
        split_commands(script).into_iter().all(|line| {
            let words = shlex::split(line).unwrap_or_default();
            match words.first().map(String::as_str) {
                Some("lssyscfg" | "lshwres" | "lslparmigr" | "lshmc" | "echo") | None => true,
                Some("mkauthkeys") => words.iter().any(|w| w == "--test"),
                Some("viosvrcmd") => {
                    let inner = words.iter().position(|w| w == "-c").and_then(|i| words.get(i + 1));
                    inner.is_some_and(|c| {
                        chain(c).into_iter().all(|part| {
                            let part = shlex::split(part).unwrap_or_default();
                            is_listing(&part.iter().map(String::as_str).collect::<Vec<_>>())
                        })
                    })
                }
                Some(_) => false,
            }
        })
    }

    fn manages(&self, f: &FrameName) -> bool {
        self.managed.as_ref().is_none_or(|m| m.contains(f))
    }

    /// Runs `script`: command lines separated by new lines or `;`.
    pub async fn run(&self, script: &str) -> ShellOutput {
        let mut out = ShellOutput::default();
        for line in split_commands(script) {
            let Some(words) = shlex::split(line) else {
                out.stderr.push_str("rbash: syntax error: unterminated quoted string\n");
                out.code = 2;
                continue;
            };
            let Some(cmd) = words.first() else { continue };
            // Options and attributes the command does not have are refused before anything is
            // read; an unknown attribute on standard output, as a live HMC prints it (syntax.rs).
            if let Err(e) = syntax::check(&words) {
                let text = format!("{e}\n");
                match e {
                    syntax::Refusal::InvalidAttribute(_) => out.stdout.push_str(&text),
                    _ => out.stderr.push_str(&text),
                }
                out.code = FAILED;
                continue;
            }
            // Listings read the state where it is, without copying a large estate.
            let (stdout, stderr, code) = match cmd.as_str() {
                "echo" => {
                    let last = out.code.to_string();
                    let text: Vec<String> = words[1..].iter().map(|w| w.replace("$?", &last)).collect();
                    (format!("{}\n", text.join(" ")), String::new(), 0)
                }
                "lssyscfg" | "lshwres" | "lslparmigr" => self.sim.read(|s| self.listing(s, &words)).await,
                "lshmc" if words.get(1).map(String::as_str) == Some("-V") => {
                    (self.sim.read(|s| lshmc_v(&self.version(s))).await, String::new(), 0)
                }
                "mkauthkeys" => self.mkauthkeys(&words).await,
                "viosvrcmd" => {
                    if !self.rmc_latency.is_zero() {
                        tokio::time::sleep(self.rmc_latency).await;
                    }
                    match self.sim.read(|s| self.vios_listing(s, &words)).await {
                        Some(r) => r,
                        None => self.change(&words).await,
                    }
                }
                c if COMMANDS.contains(&c) => self.change(&words).await,
                c => (String::new(), format!("rbash: {c}: command not found\n"), NOT_FOUND),
            };
            out.stdout.push_str(&stdout);
            out.stderr.push_str(&stderr);
            out.code = code;
        }
        out
    }

    fn frame_of<'s>(
        &self,
        s: &'s SimState,
        o: &commands::Opts<'_>,
    ) -> Result<(FrameName, &'s super::state::SimFrame), String> {
        let m = o.need("-m")?;
        let name = FrameName::new(m).map_err(|e| e.to_string())?;
        match s.frames.get(&name) {
            Some(f) if self.manages(&name) => Ok((name, f)),
            _ => Err(format!("The managed system {m} could not be found.")),
        }
    }

    /// `lssyscfg`, `lshwres`, `lslparmigr`.
    fn listing(&self, s: &SimState, words: &[String]) -> (String, String, i32) {
        let fail = |e: String| (String::new(), format!("{e}\n"), FAILED);
        let o = match commands::Opts::parse(words) {
            Ok(o) => o,
            Err(e) => return fail(e),
        };
        let rows: Vec<Row> = match (o.cmd, o.get("-r"), o.get("--level"), o.get("--rsubtype")) {
            ("lssyscfg", Some("sys"), _, _) => listings::sys(s, &|f| self.manages(f)),
            ("lssyscfg" | "lshwres" | "lslparmigr", Some(_), _, _) => {
                let f = match self.frame_of(s, &o) {
                    Ok((_, f)) => f,
                    Err(e) => return fail(e),
                };
                if f.state != FrameState::Operating {
                    return fail(HSCL0238.to_owned());
                }
                match (o.cmd, o.need("-r").unwrap_or(""), o.get("--level"), o.get("--rsubtype")) {
                    ("lssyscfg", "lpar", _, _) => listings::lpar(f),
                    ("lssyscfg", "prof", _, _) => listings::prof(f),
                    ("lshwres", "mem", Some("sys"), _) => listings::sys_mem(f),
                    ("lshwres", "proc", Some("sys"), _) => listings::sys_proc(f),
                    ("lshwres", "mem", Some("lpar"), _) => listings::lpar_mem(f),
                    ("lshwres", "proc", Some("lpar"), _) => listings::lpar_proc(f),
                    ("lshwres", "procpool", _, _) => listings::procpool(f),
                    ("lshwres", "mempool", _, Some("pgdev")) => listings::pgdev(f),
                    ("lshwres", "mempool", _, None) => listings::mempool(f),
                    ("lshwres", "virtualio", Some("lpar"), Some("eth")) => listings::veth(f),
                    ("lshwres", "virtualio", Some("lpar"), Some("scsi")) => {
                        storage_listings::virtual_storage(f, powerplane_model::manifest::StorageVia::Vscsi)
                    }
                    ("lshwres", "virtualio", Some("lpar"), Some("fc")) => {
                        storage_listings::virtual_storage(f, powerplane_model::manifest::StorageVia::Npiv)
                    }
                    ("lslparmigr", "lpar", _, _) => listings::lparmigr(s, f),
                    ("lslparmigr", "sys", _, _) => listings::lparmigr_sys(s, f),
                    (c, r, l, t) => {
                        return fail(format!(
                            "{c}: -r {r}{}{} is not supported by this HMC",
                            l.map(|l| format!(" --level {l}")).unwrap_or_default(),
                            t.map(|t| format!(" --rsubtype {t}")).unwrap_or_default()
                        ));
                    }
                }
            }
            (c, _, _, _) => return fail(format!("{c}: the -r parameter is required")),
        };
        let rows = match o.get("--filter") {
            Some(filter) => match filter_rows(rows, filter) {
                Ok(r) => r,
                Err(e) => return fail(e),
            },
            None => rows,
        };
        match print(&rows, o.get("-F"), o.flag("--header")) {
            Ok(text) => (text, String::new(), 0),
            // On standard output, as a live HMC prints it (syntax.rs).
            Err(e) => (format!("{e}\n"), String::new(), FAILED),
        }
    }

    /// A VIOS listing through `viosvrcmd`, `None` when the command changes something.
    fn vios_listing(&self, s: &SimState, words: &[String]) -> Option<(String, String, i32)> {
        let fail = |e: String| Some((String::new(), format!("{e}\n"), FAILED));
        let o = match commands::Opts::parse(words) {
            Ok(o) => o,
            Err(e) => return fail(e),
        };
        let (_, f) = match self.frame_of(s, &o) {
            Ok(x) => x,
            Err(e) => return fail(e),
        };
        if f.state != FrameState::Operating {
            return fail(HSCL0238.to_owned());
        }
        let Ok(vios) = ViosName::new(o.get("-p").unwrap_or("")) else {
            return fail("viosvrcmd: the -p parameter is required".to_owned());
        };
        let parts: Vec<Vec<String>> =
            chain(o.get("-c").unwrap_or("")).into_iter().map(shlex::split).collect::<Option<_>>()?;
        let parts: Vec<Vec<&str>> = parts.iter().map(|p| p.iter().map(String::as_str).collect()).collect();
        // A changing command is never chained (the backend sends each alone).
        if !parts.iter().all(|p| is_listing(p)) {
            return None;
        }
        if !f.vios.get(&vios).is_some_and(|v| v.state.is_running() && v.rmc) {
            return fail(format!(
                "HSCLA356 The RMC command issued to partition {vios} failed. The partition may not be running or may have no active RMC connection."
            ));
        }
        // `a && b`: each listing in turn, the chain stopping at the first that fails.
        let mut stdout = String::new();
        for part in &parts {
            match vios_listings::vios_listing(s, f, &vios, part) {
                Some(Ok(text)) if text.is_empty() => {}
                Some(Ok(text)) => {
                    stdout.push_str(&text);
                    stdout.push('\n');
                }
                // `lsmap` with nothing of its kind to map exits non-zero (VIOS exit status 10,
                // IBM/ansible-power-vios `mapping_facts.py`, vios/README.md): the chain stops,
                // with no message of the HMC's.
                Some(Err(e)) if e.is_empty() => return Some((stdout, String::new(), NOTHING_MAPPED)),
                // The VIOS refused it: the HMC says so with HSCL2970 and the VIOS's words, on
                // standard output with exit status 0, as a real `viosvrcmd` sometimes does
                // (tests/fixtures/hmc/vios/viosvrcmd-error-hscl2970.txt, vios/README.md).
                Some(Err(e)) => {
                    stdout.push_str(&format!("{HSCL2970} \n{e}\n"));
                    return Some((stdout, String::new(), 0));
                }
                None => {
                    let e = format!("\"{}\" is not a valid command or its flags are not valid.", part.join(" "));
                    return Some((stdout, format!("{HSCL2970} \n{e}\n"), FAILED));
                }
            }
        }
        Some((stdout, String::new(), 0))
    }

    /// A changing command: read back into its operation and carried out by the simulator.
    async fn change(&self, words: &[String]) -> (String, String, i32) {
        if let Some(m) = words.iter().position(|w| w == "-m").and_then(|i| words.get(i + 1))
            && FrameName::new(m.as_str()).is_ok_and(|f| !self.manages(&f))
        {
            return (String::new(), format!("The managed system {m} could not be found.\n"), FAILED);
        }
        let op = match self.sim.read(|s| commands::parse_for(s, words, &self.version(s))).await {
            Ok(op) => op,
            Err(e) => return (String::new(), format!("{e}\n"), FAILED),
        };
        let action = Action {
            id: ActionId("hmc".into()),
            op,
            after: Vec::new(),
            when: Default::default(),
            reason: "HMC command line".into(),
            claims: Default::default(),
        };
        // As an HMC's: a `chsysstate` returns once the activation or shutdown has begun.
        let result = self.sim.issue(&action).await;
        // `chsysstate -o on` returns once the activation has begun: one that stopped in the
        // SMS menu began all the same (the HMC backend follows the state and says why).
        if result.is_err()
            && let powerplane_model::Op::StartPartition { frame, partition, .. } = &action.op
            && self.sim.read(|s| super::storage::stuck_in_sms(s, frame, partition)).await.is_some()
        {
            return (String::new(), String::new(), 0);
        }
        match result {
            // An HMC command that succeeds prints nothing (seed ams-dual-vios-and-lpm.txt,
            // Listing 2: `chhwres ... -o so` and the next prompt); a VIOS command run through
            // `viosvrcmd` prints what the VIOS prints (`ent5 Available` after `mkvdev -sea`).
            Ok(done) if done.message.is_empty() || words.first().map(String::as_str) != Some("viosvrcmd") => {
                (String::new(), String::new(), 0)
            }
            Ok(done) => (format!("{}\n", done.message), String::new(), 0),
            Err(e) => (String::new(), format!("{}\n", message(&e)), FAILED),
        }
    }
}

/// What the HMC prints for a refusal: its `HSCL` code first when it has one.
fn message(e: &BackendError) -> String {
    match e {
        // A list of refusals starts with its `Errors:` line, as `migrlpar` prints it (seed
        // powervm-quickstart..., lines 1745-1766).
        BackendError::Refused { message, .. } if message.starts_with("Errors:") => message.clone(),
        BackendError::Refused { code: Some(c), message } => format!("{c} {message}"),
        BackendError::Refused { code: None, message } => message.clone(),
        BackendError::Transient(m) => format!("{m} (the resource is busy; try again)"),
        BackendError::Timeout(d) => {
            format!("The operation did not complete within {} seconds; it is still in progress.", d.as_secs())
        }
        BackendError::Internal { what: m, .. } => {
            format!("HSCLA2FF An internal Hardware Management Console error has occurred: {m}")
        }
    }
}

/// The emulator's `lshmc -V` for `version`: the layout the V7 and V8 recordings show
/// (tests/fixtures/hmc/lshmc-V.*.txt), the V10R3 service pack and build level of the
/// reconstructed V10 listing; other versions with service pack 0 and no build level of theirs.
fn lshmc_v(version: &powerplane_model::console::HmcVersion) -> String {
    let release: Vec<String> = version.release.iter().map(ToString::to_string).collect();
    let (sp, build) = if version.to_string() == "V10R3" { ("1060", "2408210051") } else { ("0", "0") };
    format!(
        "\"version= Version: {}\n Release: {}\n Service Pack: {sp}\nHMC Build level {build}\n\",\"base_version={version}\n\"\n",
        version.version,
        release.join(".")
    )
}

/// What an HMC answers a per-system command on a frame that is not Operating
/// (tests/fixtures/hmc/error-hscl0238-not-operating.txt).
pub(crate) const HSCL0238: &str =
    "HSCL0238 This operation is only allowed when the managed system is in the Operating state.";

/// The first words of the message a real HMC prints when a VIOS command through `viosvrcmd`
/// fails (tests/fixtures/hmc/vios/README.md: the prefix is attested, its stream varies).
pub(crate) const HSCL2970: &str = "HSCL2970 The IOSERVER command has failed because of the following reason:";

fn is_listing(words: &[&str]) -> bool {
    matches!(words.first(), Some(&"lsdev" | &"lsmap" | &"entstat" | &"lspv" | &"ioslevel"))
}

/// The commands of a `viosvrcmd -c` text chained with `&&`.
fn chain(text: &str) -> Vec<&str> {
    text.split("&&").map(str::trim).filter(|p| !p.is_empty()).collect()
}

/// `--filter "lpar_names=a,b"`: the rows of those partitions (`profile_names=`: of those
/// profiles).
fn filter_rows(rows: Vec<Row>, filter: &str) -> Result<Vec<Row>, String> {
    let rec =
        crate::backend::hmc::parse_line(filter, 1).map_err(|e| format!("The filter \"{filter}\" is not valid: {e}"))?;
    let mut rows = rows;
    for (k, v) in rec {
        let key = match k.as_str() {
            "lpar_names" => "lpar_name",
            "names" => "name",
            // `lssyscfg -r prof --filter "lpar_names=X,profile_names=P"` (IBM's `lssyscfg` man
            // page): a profile row's `name` is the profile's.
            "profile_names" => "name",
            _ => return Err(format!("The filter {k} is not valid for this command.")),
        };
        let wanted: Vec<&str> = v.split(',').collect();
        rows.retain(|r| {
            r.iter()
                .any(|(a, val)| (*a == key || (key == "lpar_name" && *a == "name")) && wanted.contains(&val.as_str()))
        });
    }
    Ok(rows)
}

/// Prints rows as the HMC does: `key=value,...`, or with `-F` the values asked for; a value
/// (or pair) holding a comma or a quote is quoted, quotes doubled.
fn print(rows: &[Row], fields: Option<&str>, header: bool) -> Result<String, String> {
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .flexible(true)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    let mut line = |values: Vec<&str>| w.write_record(&values).expect("writing to memory");
    match fields {
        None => {
            for r in rows {
                let pairs: Vec<String> = r.iter().map(|(k, v)| format!("{k}={v}")).collect();
                line(pairs.iter().map(String::as_str).collect());
            }
        }
        Some(f) => {
            let names: Vec<&str> = f.split(',').collect();
            if !rows.is_empty()
                && let Some(bad) = names.iter().find(|n| !rows.iter().any(|r| r.iter().any(|(k, _)| k == *n)))
            {
                return Err(syntax::Refusal::InvalidAttribute((*bad).to_owned()).to_string());
            }
            if header {
                line(names.clone());
            }
            // An attribute a row does not have (a client adapter's `trunk_priority`) prints
            // `null` (tests/fixtures/hmc/README.md, formatting rule 3).
            for r in rows {
                line(
                    names.iter().map(|n| r.iter().find(|(k, _)| k == n).map_or("null", |(_, v)| v.as_str())).collect(),
                );
            }
        }
    }
    let mut out = String::from_utf8(w.into_inner().expect("writing to memory")).expect("UTF-8 in, UTF-8 out");
    if rows.is_empty() {
        out.push_str("No results were found.\n");
    }
    Ok(out)
}

/// The commands of a line: split at `;` and new lines outside quotes.
fn split_commands(script: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quote, mut escaped) = (0, None::<char>, false);
    for (i, c) in script.char_indices() {
        match (c, quote) {
            _ if escaped => escaped = false,
            ('\\', q) if q != Some('\'') => escaped = true,
            ('"' | '\'', None) => quote = Some(c),
            (c, Some(q)) if c == q => quote = None,
            (';' | '\n', None) => {
                out.push(&script[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&script[start..]);
    out.into_iter().map(str::trim).filter(|l| !l.is_empty()).collect()
}

#[cfg(test)]
mod every_command;
#[cfg(test)]
mod migration_tests;
#[cfg(test)]
mod tests;
