//! The HMC backend against the conformance corpus (`tests/fixtures/hmc/`): listings an HMC and
//! a VIOS printed, or that their documentation specifies, each with its source in the corpus
//! README. Every listing parses; and a recorded estate, replayed as an HMC would answer the
//! backend's own commands, observes without aborting, with what cannot be known set aside or
//! unknown rather than guessed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use powerplane_model::manifest::{CompatMode, ReservePolicy};
use powerplane_model::status::{FrameState, LparState, MigrationState, SeaState};
use powerplane_model::{FrameName, PartitionName, ViosName};

use super::gather::observe_hmc;
use super::listing as l;
use super::*;

/// One corpus entry (`INDEX.yaml`): a local file (`file:`), or a listing that stays in a seed
/// document (`seed:` and `lines:`), cited there and read from it, never copied here.
#[derive(Debug, serde::Deserialize)]
struct Entry {
    #[serde(default)]
    file: Option<String>,
    #[serde(default)]
    seed: Option<String>,
    #[serde(default)]
    lines: Option<String>,
    /// Why a seed's listing cannot be parsed as a listing (the article hard-wrapped it).
    #[serde(default)]
    unparsed: Option<String>,
    command: String,
    #[serde(default)]
    stream: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    source: Option<String>,
}

impl Entry {
    /// The file, or the seed and its lines.
    fn name(&self) -> String {
        match (&self.file, &self.seed) {
            (Some(f), _) => f.clone(),
            (None, Some(s)) => format!("{s}:{}", self.lines.as_deref().unwrap_or("?")),
            (None, None) => "(an entry with neither file nor seed)".into(),
        }
    }
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/hmc")
}

/// The seed documents, beside the repository (`shared/` next to the clone, as in CI).
fn seeds_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/seeds")
}

/// Lines `A-B` (1-based, inclusive) of a seed, normalized as the corpus README says: the
/// article's common leading indentation and every line's trailing blanks removed, each line
/// ending in a newline.
fn seed_lines(seed: &str, lines: &str) -> String {
    let path = seeds_dir().join(seed);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    let (a, b) = lines.split_once('-').unwrap_or((lines, lines));
    let (a, b): (usize, usize) = (a.trim().parse().expect("a line number"), b.trim().parse().expect("a line number"));
    assert!(1 <= a && a <= b, "{seed}: lines {lines}");
    let all: Vec<&str> = text.lines().collect();
    assert!(b <= all.len(), "{seed} has {} lines, not {b}", all.len());
    let picked: Vec<&str> = all[a - 1..b].iter().map(|l| l.trim_end()).collect();
    let indent = picked.iter().filter(|l| !l.is_empty()).map(|l| l.len() - l.trim_start_matches(' ').len()).min();
    picked.iter().map(|l| format!("{}\n", l.get(indent.unwrap_or(0)..).unwrap_or(""))).collect()
}

fn index(dir: &Path) -> Vec<(Entry, String)> {
    let text = std::fs::read_to_string(dir.join("INDEX.yaml")).expect("the corpus has an index");
    let entries: Vec<Entry> = serde_yaml::from_str(&text).expect("the index is YAML");
    entries
        .into_iter()
        .map(|e| {
            let body = match (&e.file, &e.seed) {
                (Some(f), None) => std::fs::read_to_string(dir.join(f)).unwrap_or_else(|err| panic!("{f}: {err}")),
                (None, Some(s)) => seed_lines(s, e.lines.as_deref().unwrap_or_else(|| panic!("{s}: no lines"))),
                _ => panic!("{}: an entry has a file or a seed, not both", e.name()),
            };
            (e, body)
        })
        .collect()
}

/// The `-F` fields of a command line, if it has them.
fn f_fields(command: &str) -> Option<Vec<String>> {
    let words = shlex::split(command)?;
    let i = words.iter().position(|w| w == "-F")?;
    Some(words.get(i + 1)?.split(',').map(str::to_owned).collect())
}

/// What a corpus file is when it is not a listing: an `HSCL` error, the empty answer, a
/// sentence some frames print instead.
fn is_message(body: &str) -> bool {
    let t = body.trim_start();
    t.starts_with("HSCL") || t.starts_with("No results were found") || t.contains("does not support")
}

/// Every corpus file names where it comes from and whether it is a recording, a seed's
/// listing or reconstructed from documentation (the README's rule: our own emulator is never a
/// source).
#[test]
fn every_corpus_entry_names_its_source_and_kind() {
    for dir in [corpus_dir(), corpus_dir().join("vios")] {
        let entries = index(&dir);
        assert!(entries.len() >= 30, "{}: {} entries", dir.display(), entries.len());
        for (e, body) in entries {
            let name = e.name();
            assert!(
                matches!(e.kind.as_deref(), Some("recorded" | "seed" | "reconstructed")),
                "{name}: kind {:?}",
                e.kind
            );
            let source = e.source.clone().unwrap_or_default();
            assert!(!source.trim().is_empty(), "{name}: no source");
            assert!(!source.contains("sim hmc-shell"), "{name}: the emulator is no source");
            // A seed's listing is cited where it is, never copied: the entry names the seed
            // and its lines, and those lines hold something.
            if e.kind.as_deref() == Some("seed") {
                let seed = e.seed.as_deref().unwrap_or_else(|| panic!("{name}: a seed entry names its seed"));
                assert!(e.file.is_none(), "{name}: a seed's listing is not copied into a file");
                assert!(e.lines.is_some(), "{name}: a seed entry names its lines");
                assert!(source.contains(seed), "{name}: the source names the seed {seed}");
                assert!(!body.trim().is_empty(), "{name}: the seed's lines are empty");
            } else {
                assert!(e.seed.is_none() && e.file.is_some(), "{name}: only a seed entry points into a seed");
            }
        }
    }
}

#[test]
fn every_hmc_listing_in_the_corpus_parses() {
    let dir = corpus_dir();
    let mut checked = 0;
    for (e, body) in index(&dir) {
        let name = e.name();
        let cmd = e.command.trim_start();
        let listing_cmd = ["lssyscfg", "lshwres", "lslparmigr"].iter().any(|c| cmd.starts_with(c));
        let error = name.starts_with("error-") || name.starts_with("no-results");
        // A seed listing the article hard-wrapped into one line of prose (its `unparsed:` says
        // so) is no listing: the entry is still checked above, it is not parsed here.
        if e.unparsed.is_some() {
            continue;
        }
        if !listing_cmd || error || e.stream.as_deref() == Some("stderr") || is_message(&body) || cmd.contains('|') {
            continue;
        }
        let records = match f_fields(cmd) {
            Some(fields) => {
                let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
                parse_fields(&body, &fields, cmd.contains("--header"))
            }
            None => parse_output(&body),
        };
        let records = records.unwrap_or_else(|err| panic!("{name} ({cmd}): {err}"));
        assert!(!records.is_empty(), "{name}: no record");
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} listings were checked");
}

#[test]
fn every_hmc_error_in_the_corpus_keeps_its_code() {
    let mut checked = 0;
    for (e, body) in index(&corpus_dir()) {
        let Some(code) = hscl::code(&body).map(str::to_owned) else { continue };
        if !body.trim_start().starts_with("HSCL") && !body.contains("Errors:") {
            continue;
        }
        let err = hscl::classify("", &body);
        let text = err.to_string();
        assert!(text.contains(&code), "{}: {text}", e.name());
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} errors were checked");
}

/// Every enumeration value the corpus shows reads as a known value (the sources' spellings,
/// `POWER9_base` and `POWER6+` included), and an unknown one is kept as its text.
#[test]
fn the_corpus_states_and_modes_are_known() {
    let dir = corpus_dir();
    let sys = std::fs::read_to_string(dir.join("lssyscfg-r-sys-F-SYS.p8-p9-p10-p11-v10r3.reconstructed.txt")).unwrap();
    let recs = parse_fields(&sys, l::SYS, false).unwrap();
    for r in &recs {
        for m in r["lpar_proc_compat_modes"].split(',') {
            assert!(CompatMode::parse(m).is_known(), "{m}");
        }
    }
    assert_eq!(CompatMode::parse("POWER9_base"), CompatMode::Power9Base);
    assert_eq!(CompatMode::parse("POWER9_BASE"), CompatMode::Power9Base);
    assert_eq!(CompatMode::parse("POWER6_Plus").to_string(), "POWER6_Plus");
    assert_eq!(CompatMode::parse("POWER12"), CompatMode::Other("POWER12".into()));
    let ivm = std::fs::read_to_string(dir.join("lssyscfg-r-sys-F-lpar_proc_compat_modes.power7-ivm.txt")).unwrap();
    for m in parse_fields(&ivm, &["lpar_proc_compat_modes"], false).unwrap()[0]["lpar_proc_compat_modes"].split(',') {
        assert!(CompatMode::parse(m).is_known(), "{m}");
    }
    let lpar = std::fs::read_to_string(dir.join("lssyscfg-r-lpar-F-LPAR.power9-v10r3.reconstructed.txt")).unwrap();
    let fields = ["name", "lpar_id", "lpar_env", "state", "rmc_state", "msp"];
    for r in parse_fields(&lpar, &fields, false).unwrap() {
        assert!(LparState::parse(&r["state"]).is_known(), "{}", r["state"]);
    }
    assert_eq!(LparState::parse("Not Available"), LparState::NotAvailable);
    assert!(!LparState::NotAvailable.is_plannable());
    assert_eq!(LparState::parse("Hibernating"), LparState::Other("Hibernating".into()));
    let mixed = std::fs::read_to_string(dir.join("lssyscfg-r-sys-F-SYS.mixed-states.reconstructed.txt")).unwrap();
    for r in parse_fields(&mixed, l::SYS, false).unwrap() {
        assert!(FrameState::parse(&r["state"]).is_known(), "{}", r["state"]);
    }
    assert_eq!(MigrationState::parse("Migration Failed"), MigrationState::Failed);
    assert_eq!(ReservePolicy::parse("PR_exclusive"), Some(ReservePolicy::PrExclusive));
}

/// The VIOS listings: adapters, disks (`lspv -size`, `lsdev -attr`: a 51-character
/// `unique_id`, one with a space), NPIV mappings and SEA states read as the backend needs them.
#[test]
fn the_vios_listings_in_the_corpus_read() {
    let dir = corpus_dir().join("vios");
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
    let v = super::observe::vios::ViosListings {
        adapters: read("lsdev-type-adapter-field-fmt.p72vio1.txt"),
        disks: read("lspv-size-fmt.txt"),
        ..Default::default()
    };
    assert!(!v.sea_devices().is_empty(), "the SEA is listed");
    let disks = v.disk_names();
    assert_eq!(disks.len(), 2);
    // Each disk's `lsdev -attr` table (a chain's outputs are cut apart at `ioslevel`'s line:
    // `vios_asks`). The Hitachi capture's columns were collapsed by its publisher, so only its
    // identifier is used below.
    let svc = read("lsdev-dev-hdisk-attr.svc.txt");
    let mut v = v;
    v.attrs.insert(disks[0].clone(), svc.clone());
    v.attrs.insert(disks[1].clone(), svc);
    let (_, found) = observe::vios::vios_devices(&v).expect("the disks read");
    assert_eq!(found.len(), 2);
    assert_eq!(found[0].lun.as_str().len(), 51);
    assert_eq!(found[0].size_mb.0, 286102, "the size comes from lspv");
    assert_eq!(found[0].reserve_policy, ReservePolicy::NoReserve);
    let hitachi = read("lsdev-dev-hdisk-attr.hitachi.published.txt");
    let id = hitachi.lines().find_map(|l| l.strip_prefix("unique_id ")).unwrap();
    let id = id.trim_end_matches(" Unique device identifier False");
    assert!(
        powerplane_model::Lun::new(id).is_ok_and(|l| l.as_str().contains(' ')),
        "a Hitachi unique_id keeps its space: {id}"
    );
    // SEA states, with the adapters' own `Priority:` lines after the SEA's.
    for (f, state) in [
        ("entstat-all.sea-failover-primary.txt", SeaState::Primary),
        ("entstat-all.sea-sharing-primary.p72vio1.txt", SeaState::PrimarySharing),
        ("entstat-all.sea-sharing-backup.p72vio2.txt", SeaState::BackupSharing),
    ] {
        let (s, priority) = observe::vios::sea_state(&read(f));
        assert_eq!(s, Some(state), "{f}");
        assert!(priority.is_some(), "{f}: the SEA's priority");
    }
    // NPIV: `name:clntid:clntname:status:fc`, the id decimal.
    let npiv = read("lsmap-all-npiv-field-fmt.txt");
    let first = npiv.lines().next().unwrap();
    assert_eq!(first.split(':').nth(1), Some("67"));
}

/// The HMC's `lshmc -V`, as V7 and V8 recorded it and V9/V10 are documented.
#[test]
fn hmc_versions_read() {
    let dir = corpus_dir();
    for (f, want) in [
        ("lshmc-V.v7r7.9.0-sp3.txt", "V7R7.9.0"),
        ("lshmc-V.v8r8.2.0.txt", "V8R8.2.0"),
        ("lshmc-V.v8r8.2.0-mh01454.txt", "V8R8.2.0"),
        ("lshmc-V.v9r1-m941.reconstructed.txt", "V9R1"),
        ("lshmc-V.v10r3-m1060.reconstructed.txt", "V10R3"),
    ] {
        let text = std::fs::read_to_string(dir.join(f)).unwrap();
        assert_eq!(l::hmc_version(&text).as_deref(), Some(want), "{f}");
    }
}

/// An HMC that answers from recorded full listings: each `-F` command gets the fields asked
/// of the matching recording (`null` for one the recording lacks, as an HMC prints), a
/// command the recordings do not cover gets what `fallback` says.
struct Replay {
    /// `(command without -m and -F, frame)` → the full listing.
    listings: BTreeMap<(String, String), String>,
    /// The sys listing.
    sys: String,
    /// For a listing with no recording: the answer (stdout, exit status).
    fallback: fn(&str) -> (String, i32),
}

impl Replay {
    fn key(words: &[String]) -> (String, String) {
        let mut out = Vec::new();
        let mut frame = String::new();
        let mut it = words.iter();
        while let Some(w) = it.next() {
            match w.as_str() {
                "-m" => frame = it.next().cloned().unwrap_or_default(),
                "-F" => {
                    it.next();
                }
                _ => out.push(w.clone()),
            }
        }
        (out.join(" "), frame)
    }

    fn answer(&self, line: &str) -> (String, i32) {
        let words = shlex::split(line).unwrap_or_default();
        let first = words.first().map(String::as_str).unwrap_or("");
        if first == "echo" {
            return (format!("{}\n", words[1..].join(" ")), 0);
        }
        let fields = f_fields(line);
        let full = if line.starts_with("lssyscfg -r sys") {
            Some(self.sys.clone())
        } else {
            self.listings.get(&Self::key(&words)).cloned()
        };
        let Some(full) = full else { return (self.fallback)(line) };
        if is_message(&full) {
            return (full, 0);
        }
        let Some(fields) = fields else { return (full, 0) };
        let recs = parse_output(&full).expect("a recording parses");
        let mut out = String::new();
        for r in recs {
            let values: Vec<&str> = fields.iter().map(|f| r.get(f).map_or("null", String::as_str)).collect();
            out.push_str(&render_line(values));
            out.push('\n');
        }
        (out, 0)
    }
}

impl Transport for Replay {
    async fn run(&self, script: &str) -> Result<super::transport::ShellOutput, BackendError> {
        let mut out = super::transport::ShellOutput::default();
        let mut last = 0;
        for line in script.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let line = line.replace("$?", &last.to_string());
            let (text, code) = self.answer(&line);
            out.stdout.push_str(&text);
            if !line.starts_with("echo") {
                last = code;
            }
        }
        out.code = last;
        Ok(out)
    }
    fn describe(&self) -> String {
        "the corpus replay".into()
    }
}

/// A POWER5 estate on HMC V7R7.9.0 (tests/fixtures/hmc: re-typed with our own values in the
/// format of a capture in ziutus/hmc_vios_aix, which is cited, not copied):
/// both VIOS run without RMC, one partition has two profiles, one was never activated and
/// lists 0 memory and processors. It observes whole: the VIOS are unknown (not empty), the
/// stopped partition has its profile's resources, each partition its profile's name.
/// `lslparmigr -r sys` in both of the corpus's forms reads as the frame's migration limits,
/// which the plan passes on as the room the executor has on the frame.
#[test]
fn migration_limits_read_from_lslparmigr_r_sys() {
    let dir = corpus_dir();
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
    let all = parse_output(&read("lslparmigr-r-sys.power8-values.reconstructed.txt")).unwrap();
    let fields = [
        "num_active_migrations_supported",
        "num_inactive_migrations_supported",
        "num_active_migrations_in_progress",
        "num_inactive_migrations_in_progress",
    ];
    let f = parse_fields(&read("lslparmigr-r-sys-F.power8-values.reconstructed.txt"), &fields, false).unwrap();
    for r in [&all[0], &f[0]] {
        let l = observe::migration_limits(r).unwrap();
        assert_eq!((l.active, l.active_in_progress, l.inactive, l.inactive_in_progress), (16, 0, 16, 0));
        assert_eq!(l.room(), 16);
    }
}

#[tokio::test]
async fn a_recorded_power5_estate_observes_without_aborting() {
    let dir = corpus_dir();
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
    let frame = "9131-52A-7218DFK".to_owned();
    let mut listings = BTreeMap::new();
    for (cmd, file) in [
        ("lshwres -r mem --level sys", "lshwres-r-mem-level-sys.power5-v7.txt"),
        ("lshwres -r proc --level sys", "lshwres-r-proc-level-sys.power5-v7.txt"),
        ("lssyscfg -r lpar", "lssyscfg-r-lpar.power5-v7.txt"),
        ("lssyscfg -r prof", "lssyscfg-r-prof.power5-v7.txt"),
        ("lshwres -r mem --level lpar", "lshwres-r-mem-level-lpar.power5-v7.txt"),
        ("lshwres -r proc --level lpar", "lshwres-r-proc-level-lpar.power5-v7.txt"),
        ("lshwres -r procpool", "lshwres-r-procpool.power5-unsupported.txt"),
        ("lshwres -r mempool", "lshwres-r-mempool.no-pool.v10r3.txt"),
        ("lshwres -r mempool --rsubtype pgdev", "lshwres-r-mempool.no-pool.v10r3.txt"),
        (
            "lshwres -r virtualio --rsubtype eth --level lpar",
            "lshwres-r-virtualio-rsubtype-eth-level-lpar.power5-v7.txt",
        ),
    ] {
        listings.insert((cmd.to_owned(), frame.clone()), read(file));
    }
    // No recording of `lslparmigr` exists for this frame (a POWER5 has no LPM): none is in
    // flight, which is what `Not Migrating` (recorded on IVM) says of each partition.
    let lpars = parse_output(&read("lssyscfg-r-lpar.power5-v7.txt")).unwrap();
    let migr: String = lpars.iter().map(|r| format!("name={},migration_state=Not Migrating\n", r["name"])).collect();
    listings.insert(("lslparmigr -r lpar".to_owned(), frame.clone()), migr);
    let replay = Replay {
        listings,
        sys: read("lssyscfg-r-sys.power5-v7-operating.txt"),
        fallback: |line| (format!("no recording answers `{line}`\n"), 1),
    };
    let hmc = Hmc::new(vec![replay]);
    let e = hmc.observe().await.expect("a recorded estate observes");
    let f = FrameName::new(frame).unwrap();
    assert!(e.status.set_aside.is_empty(), "{:?}", e.status.set_aside);
    assert_eq!(e.status.frames[&f], FrameState::Operating);
    assert!(e.status.migration_limits.is_empty(), "a frame that cannot migrate lists no limit");
    let hw = &e.hardware[&f].spec;
    assert_eq!(hw.memory_mb.0, 65536);
    // Both VIOS run without an RMC connection: unknown, never read as empty.
    let unknown = &e.status.unknown_vios[&f];
    assert!(unknown.contains_key(&ViosName::new("vs01").unwrap()), "{unknown:?}");
    assert!(unknown.contains_key(&ViosName::new("vs02").unwrap()), "{unknown:?}");
    // `app1` runs with the profile `prod` (it also has `alt`): its current resources.
    let app1 = PartitionName::new("app1").unwrap();
    assert_eq!(e.partitions[&app1].spec.memory.desired_mb.0, 5120);
    let st = &e.status.partitions[&app1];
    assert_eq!((st.lpar_id, st.profile.as_ref().map(|p| p.as_str())), (Some(6), Some("prod")));
    // `spare` was never activated and lists 0: what it will get is its profile's.
    let spare = PartitionName::new("spare").unwrap();
    let st = &e.status.partitions[&spare];
    assert_eq!(st.state, LparState::NotActivated);
    assert_eq!(st.profile.as_ref().map(|p| p.as_str()), Some("cfg_2"));
    assert!(e.partitions[&spare].spec.memory.desired_mb.0 > 0, "a stopped partition is not read as 0 MB");
    assert!(!st.below_desired);
}

/// A listing with frames in every state a source shows: only the Operating one is observed,
/// the others are set aside with their state; none ends the observation.
#[tokio::test]
async fn frames_that_are_not_operating_are_set_aside() {
    let dir = corpus_dir();
    let sys = std::fs::read_to_string(dir.join("lssyscfg-r-sys-F-SYS.mixed-states.reconstructed.txt")).unwrap();
    // The replay prints the `-F` file as it is (its fields are `listing::SYS`'s).
    let replay = Replay {
        listings: BTreeMap::new(),
        sys: {
            let recs = parse_fields(&sys, l::SYS, false).unwrap();
            recs.iter()
                .map(|r| {
                    let pairs: Vec<String> = l::SYS.iter().map(|k| format!("{k}={}", r[*k])).collect();
                    format!("{}\n", render_line(pairs.iter().map(String::as_str)))
                })
                .collect()
        },
        // The Operating frame's listings are not recorded: HSCL0238 would be a lie, so it
        // answers as a frame whose listing fails for another reason.
        fallback: |_| ("HSCL8012 The partition was not found.\n".into(), 1),
    };
    let hmc = Hmc::new(vec![replay]);
    let e = hmc.observe().await.expect("never aborts on a frame's state");
    let aside: Vec<(&str, &str)> = e.status.set_aside.iter().map(|(f, w)| (f.as_str(), w.as_str())).collect();
    assert!(aside.contains(&("p9-standby", "its state is Standby")), "{aside:?}");
    assert!(aside.contains(&("10.1.1.40", "its state is No Connection")), "{aside:?}");
    assert!(aside.contains(&("p10-auth", "its state is Failed Authentication")), "{aside:?}");
    // The Operating frame whose listings fail is set aside too, with the HMC's words.
    let p9 = e.status.set_aside.get(&FrameName::new("p9-sys").unwrap()).expect("set aside");
    assert!(p9.contains("HSCL8012"), "{p9}");
    assert!(e.frames.is_empty() && e.partitions.is_empty());
}

/// The same name on two frames — an inactive profile copy kept on every frame of a cluster
/// (seed `infoscale-lpm-vcs.txt`) — is not the partition: the running one is, the copy is a
/// namesake, and the estate (what `plan`, `drift` and `import` read) is what it is without it.
#[tokio::test]
async fn a_profile_copy_on_another_frame_is_a_namesake_and_changes_nothing() {
    let state = crate::sim::build(None, 0).expect("the lab builds");
    let sim = crate::sim::Simulator::new(state, None, crate::sim::Clock::new(0.0));
    let t = crate::sim::hmc_shell::Local(crate::sim::hmc_shell::HmcShell::new(sim, None));
    let sys = run_batch(&t, &[format!("lssyscfg -r sys -F {}", l::fields(l::SYS))]).await.unwrap().remove(0);
    let frames: Vec<(FrameName, Record)> = parse_fields(&sys.stdout, l::SYS, false)
        .unwrap()
        .into_iter()
        .map(|r| (FrameName::new(r["name"].clone()).unwrap(), r))
        .collect();
    let (listed, _) = observe_hmc(std::sync::Arc::new(t), frames, Default::default()).await.unwrap();
    let plain = observe::estate(listed.clone(), None);
    let name = PartitionName::new("lpar_6_sotchax11").unwrap();
    let home = plain.status.partitions[&name].frame.clone();
    assert_eq!(plain.status.partitions[&name].state, LparState::Running);
    // The copy: on another frame, never activated, with a profile of the same name.
    let mut copied = listed;
    let other = copied.iter().position(|(f, _)| *f != home).unwrap();
    let (_, Ok(fl)) = &mut copied[other] else { panic!("listed") };
    let id = fl.lpar.iter().filter_map(|r| r.get("lpar_id")?.parse::<u32>().ok()).max().unwrap_or(0) + 1;
    let mut lpar = fl.lpar.iter().find(|r| r.get("lpar_env").map(String::as_str) != Some("vioserver")).unwrap().clone();
    lpar.insert("name".into(), name.to_string());
    lpar.insert("lpar_id".into(), id.to_string());
    lpar.insert("state".into(), "Not Activated".into());
    lpar.insert("rmc_state".into(), "inactive".into());
    fl.lpar.push(lpar);
    let mut prof = fl.prof.last().unwrap().clone();
    prof.insert("lpar_name".into(), name.to_string());
    fl.prof.push(prof);
    let seen = observe::estate(copied.clone(), None);
    assert_eq!(seen.status.partitions[&name].frame, home, "the running partition, not the copy");
    assert_eq!(seen.partitions[&name], plain.partitions[&name]);
    assert!(seen.status.unknown_partitions.is_empty(), "{:?}", seen.status.unknown_partitions);
    let ns: Vec<_> = seen.status.namesakes.iter().map(|n| (n.name.as_str(), n.lpar_id, n.state.clone())).collect();
    assert_eq!(ns, vec![("lpar_6_sotchax11", id, LparState::NotActivated)]);
    // Nothing else differs: plan, drift and import read the same estate.
    let mut without = seen.clone();
    without.status.namesakes.clear();
    assert_eq!(serde_json::to_value(&without).unwrap(), serde_json::to_value(&plain).unwrap());
    // Both inactive: with no earlier observation, which is the partition cannot be told (it
    // is unknown, and nothing is planned against it); with one, it is where it was.
    let home_at = copied.iter().position(|(f, _)| *f == home).unwrap();
    let (_, Ok(fl)) = &mut copied[home_at] else { panic!("listed") };
    for r in fl.lpar.iter_mut().filter(|r| r.get("name").map(String::as_str) == Some(name.as_str())) {
        r.insert("state".into(), "Not Activated".into());
    }
    let blind = observe::estate(copied.clone(), None);
    let why = blind.status.unknown_partitions.get(&name).expect("unknown");
    assert!(why.contains("nothing tells which is the partition"), "{why}");
    assert!(!blind.partitions.contains_key(&name));
    let held = powerplane_model::plan(&plain, &blind, Default::default());
    assert!(held.deferred.iter().any(|d| d.contains("lpar_6_sotchax11")), "{:?}", held.deferred);
    assert!(
        held.actions.iter().all(|a| !a.op.object().ends_with("/lpar_6_sotchax11")),
        "nothing is created or changed"
    );
    let remembered = observe::estate(copied, Some(&plain));
    assert_eq!(remembered.status.partitions[&name].frame, home);
}

/// VCS's same-name profile procedure sets a copy aside as `NAME_vcs` while NAME moves onto its
/// frame (seed `infoscale-lpm-vcs.txt`, lines 111-120; `powerplane_model::profile_copy`): an
/// inactive LPAR of that name while NAME is listed is that copy, a namesake under its set-aside
/// name, and the estate is what it is without it; running, it is a partition of its own.
#[tokio::test]
async fn a_copy_set_aside_by_the_vcs_procedure_is_a_namesake() {
    let state = crate::sim::build(None, 0).expect("the lab builds");
    let sim = crate::sim::Simulator::new(state, None, crate::sim::Clock::new(0.0));
    let t = crate::sim::hmc_shell::Local(crate::sim::hmc_shell::HmcShell::new(sim, None));
    let sys = run_batch(&t, &[format!("lssyscfg -r sys -F {}", l::fields(l::SYS))]).await.unwrap().remove(0);
    let frames: Vec<(FrameName, Record)> = parse_fields(&sys.stdout, l::SYS, false)
        .unwrap()
        .into_iter()
        .map(|r| (FrameName::new(r["name"].clone()).unwrap(), r))
        .collect();
    let (listed, _) = observe_hmc(std::sync::Arc::new(t), frames, Default::default()).await.unwrap();
    let plain = observe::estate(listed.clone(), None);
    let name = PartitionName::new("lpar_6_sotchax11").unwrap();
    let aside = powerplane_model::profile_copy::set_aside_name(&name);
    let home = plain.status.partitions[&name].frame.clone();
    let with_copy = |state: &str| {
        let mut copied = listed.clone();
        let other = copied.iter().position(|(f, _)| *f != home).unwrap();
        let (_, Ok(fl)) = &mut copied[other] else { panic!("listed") };
        let id = fl.lpar.iter().filter_map(|r| r.get("lpar_id")?.parse::<u32>().ok()).max().unwrap_or(0) + 1;
        let mut lpar =
            fl.lpar.iter().find(|r| r.get("lpar_env").map(String::as_str) != Some("vioserver")).unwrap().clone();
        lpar.insert("name".into(), aside.to_string());
        lpar.insert("lpar_id".into(), id.to_string());
        lpar.insert("state".into(), state.into());
        fl.lpar.push(lpar);
        let mut prof = fl.prof.last().unwrap().clone();
        prof.insert("lpar_name".into(), aside.to_string());
        fl.prof.push(prof);
        (observe::estate(copied, None), id)
    };
    let (seen, id) = with_copy("Not Activated");
    let ns: Vec<_> = seen.status.namesakes.iter().map(|n| (n.name.as_str(), n.lpar_id, n.state.clone())).collect();
    assert_eq!(ns, vec![(aside.as_str(), id, LparState::NotActivated)]);
    let mut without = seen.clone();
    without.status.namesakes.clear();
    assert_eq!(serde_json::to_value(&without).unwrap(), serde_json::to_value(&plain).unwrap());
    let (running, _) = with_copy("Running");
    assert!(running.status.namesakes.is_empty(), "{:?}", running.status.namesakes);
    assert!(running.status.partitions.contains_key(&aside), "a running LPAR is a partition, whatever its name");
}
