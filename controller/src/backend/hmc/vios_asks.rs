//! What powerplane asks a VIOS, and how it asks it in as few `viosvrcmd` as it can: every
//! `viosvrcmd` is one RMC round trip from the HMC to the VIOS (IBM's `viosvrcmd` man page: the
//! command "is passed from the HMC to the VIOS over an RMC session"), by far the slowest part of
//! an observation. So all of a VIOS's listings go in one `viosvrcmd -c "a && ioslevel && b && …"`
//! chain (the restricted shell runs `&&` chains: `tests/fixtures/hmc/vios/README.md`, S12), the
//! outputs told apart by `ioslevel`'s one line between them (`V.R.M.F`, the shape IBM's own
//! module checks with `^\d+\.\d+\.\d+\.\d+$`: `vios/README.md`, S8 and S9).
//!
//! A chain stops at its first failure. What ran before it stands; an `lsmap` that fails has
//! nothing of its kind to map (VIOS exit status 10, IBM/ansible-power-vios `mapping_facts.py`),
//! so the two `lsmap`s go last; a device that vanished since it was listed is dropped; anything
//! else that fails twice makes the VIOS *unknown*, never empty. The device asks of the last
//! observation go into the first chain, so that an estate whose devices did not change is
//! listed in one round trip per VIOS; a device listed for the first time is asked in the next.
//! Nothing here does I/O: [`Asking`] says what to ask next and takes what came back.

use std::collections::{BTreeMap, BTreeSet};

use powerplane_model::DeviceName;

use super::hscl;
use super::listing as l;
use super::observe::vios::ViosListings;
use super::transport::CommandOutput;

/// The command between two asks of a chain: its output, one `V.R.M.F` line, marks where one
/// ask's output ends.
pub(crate) const SEPARATOR: &str = "ioslevel";

/// Which mappings an `lsmap` lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum MapKind {
    /// Virtual SCSI ([`l::VIOS_VSCSI`]).
    Vscsi,
    /// NPIV ([`l::VIOS_NPIV`]).
    Npiv,
}

/// One listing asked of a VIOS.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Ask {
    /// Its adapters ([`l::VIOS_ADAPTERS`]).
    Adapters,
    /// Its disks ([`l::VIOS_DISKS`]).
    Disks,
    /// A SEA device's attributes.
    SeaAttrs(DeviceName),
    /// A SEA device's state (`entstat -all`).
    SeaStat(DeviceName),
    /// A disk's attributes.
    DiskAttrs(DeviceName),
    /// Its mappings of one kind.
    Map(MapKind),
}

impl MapKind {
    /// Whether `lsdev -type adapter` lists a server adapter of this kind: by its description,
    /// or its device name (`vhost0`, `vfchost0`: AIX names them so).
    fn served_by(self, name: &str, description: &str) -> bool {
        match self {
            MapKind::Vscsi => description == l::VSCSI_SERVER || name.starts_with("vhost"),
            MapKind::Npiv => description == l::NPIV_SERVER || name.starts_with("vfchost"),
        }
    }
}

impl Ask {
    /// The VIOS command line.
    pub(crate) fn command(&self) -> String {
        match self {
            Ask::Adapters => l::VIOS_ADAPTERS.to_owned(),
            Ask::Disks => l::VIOS_DISKS.to_owned(),
            Ask::SeaAttrs(d) | Ask::DiskAttrs(d) => format!("lsdev -dev {d} -attr"),
            Ask::SeaStat(d) => format!("entstat -all {d}"),
            Ask::Map(MapKind::Vscsi) => l::VIOS_VSCSI.to_owned(),
            Ask::Map(MapKind::Npiv) => l::VIOS_NPIV.to_owned(),
        }
    }

    fn device(&self) -> Option<&DeviceName> {
        match self {
            Ask::SeaAttrs(d) | Ask::SeaStat(d) | Ask::DiskAttrs(d) => Some(d),
            _ => None,
        }
    }
}

/// What an earlier observation learnt of a VIOS: what to ask before its listings say so.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Known {
    /// Its SEA devices.
    pub seas: Vec<DeviceName>,
    /// Its disks.
    pub disks: Vec<DeviceName>,
    /// The kinds of mapping it had none of (their `lsmap` fails, so it goes last).
    pub empty_maps: BTreeSet<MapKind>,
    /// The kinds of server adapter it had (only their mappings are asked for).
    pub servers: BTreeSet<MapKind>,
}

/// Asking one VIOS: what is still to ask and what was answered.
#[derive(Debug)]
pub(crate) struct Asking {
    pending: Vec<Ask>,
    answers: BTreeMap<Ask, String>,
    failed_once: BTreeSet<Ask>,
    unknown: Option<String>,
    /// The map asked last: the one that had nothing to map before.
    last_map: MapKind,
    /// The VIOS's level, as `ioslevel` printed it.
    level: Option<String>,
}

impl Asking {
    /// Asking a VIOS powerplane knew `known` of (its devices are asked at once).
    pub(crate) fn new(known: Option<&Known>) -> Self {
        let mut pending = vec![Ask::Adapters, Ask::Disks];
        for kind in [MapKind::Vscsi, MapKind::Npiv] {
            if known.is_none_or(|k| k.servers.contains(&kind)) {
                pending.push(Ask::Map(kind));
            }
        }
        let mut last_map = MapKind::Npiv;
        if let Some(k) = known {
            for d in &k.seas {
                pending.push(Ask::SeaAttrs(d.clone()));
                pending.push(Ask::SeaStat(d.clone()));
            }
            pending.extend(k.disks.iter().cloned().map(Ask::DiskAttrs));
            if k.empty_maps.contains(&MapKind::Vscsi) && !k.empty_maps.contains(&MapKind::Npiv) {
                last_map = MapKind::Vscsi;
            }
        }
        Asking { pending, answers: BTreeMap::new(), failed_once: BTreeSet::new(), unknown: None, last_map, level: None }
    }

    /// The next chain: what it asks, in order, and the `-c` text; `None` when all is answered
    /// or the VIOS is unknown.
    pub(crate) fn next(&self) -> Option<(Vec<Ask>, String)> {
        if self.unknown.is_some() || self.pending.is_empty() {
            return None;
        }
        let mut asks = self.pending.clone();
        let order = |a: &Ask| match a {
            Ask::Adapters => 0,
            Ask::Disks => 1,
            Ask::Map(k) if *k == self.last_map => 4,
            Ask::Map(_) => 3,
            _ => 2,
        };
        asks.sort_by_key(order);
        let text = asks.iter().map(Ask::command).collect::<Vec<_>>().join(&format!(" && {SEPARATOR} && "));
        Some((asks, text))
    }

    /// Takes what the chain of `asked` printed.
    pub(crate) fn take(&mut self, asked: &[Ask], out: &CommandOutput) {
        let (sections, level) = split(&out.stdout);
        if level.is_some() {
            self.level = level;
        }
        if sections.len() > asked.len() {
            self.unknown = Some(format!("its answer to `{}` could not be told apart", asked[0].command()));
            return;
        }
        let complete = out.code == 0 && sections.len() == asked.len();
        for (i, (ask, text)) in asked.iter().zip(&sections).enumerate() {
            let refused = text.trim_start().starts_with("HSCL");
            if !refused && (i + 1 < sections.len() || complete) {
                self.answer(ask, (*text).to_owned());
                continue;
            }
            // The chain stopped here.
            let why = || {
                let msg = hscl::classify(text, if refused { "" } else { &out.stderr });
                format!("`{}`: {msg}", ask.command())
            };
            match ask {
                Ask::Map(_) if !refused && hscl::code(&out.stderr).is_none() => self.answer(ask, String::new()),
                Ask::Adapters | Ask::Disks | Ask::Map(_) => self.unknown = Some(why()),
                _ if self.gone(ask) => self.pending.retain(|p| p != ask),
                _ if !self.failed_once.insert(ask.clone()) => self.unknown = Some(why()),
                _ => {}
            }
            break;
        }
        self.follow_listings();
    }

    /// Records `ask`'s answer.
    fn answer(&mut self, ask: &Ask, text: String) {
        self.pending.retain(|p| p != ask);
        self.answers.insert(ask.clone(), text);
    }

    /// Whether `ask` names a device the VIOS's own listings no longer show.
    fn gone(&self, ask: &Ask) -> bool {
        let Some(d) = ask.device() else { return false };
        match ask {
            Ask::DiskAttrs(_) => self.listed().is_some_and(|v| !v.disk_names().contains(d)),
            _ => self.listed().is_some_and(|v| !v.sea_devices().contains(d)),
        }
    }

    /// The adapters and disks the VIOS listed, once both are answered.
    fn listed(&self) -> Option<ViosListings> {
        Some(ViosListings {
            adapters: self.answers.get(&Ask::Adapters)?.clone(),
            disks: self.answers.get(&Ask::Disks)?.clone(),
            ..Default::default()
        })
    }

    /// Once the VIOS's adapters and disks are listed: its devices are asked of (those listed
    /// for the first time) and no longer asked of (those it no longer has), and its mappings
    /// of a kind it has server adapters of (none of a kind it has none of).
    fn follow_listings(&mut self) {
        let Some(v) = self.listed() else { return };
        let servers = servers(&v);
        for kind in [MapKind::Vscsi, MapKind::Npiv] {
            let ask = Ask::Map(kind);
            if self.answers.contains_key(&ask) {
                continue;
            }
            if !servers.contains(&kind) {
                self.answer(&ask, String::new());
            } else if !self.pending.contains(&ask) {
                self.pending.push(ask);
            }
        }
        let (seas, disks) = (v.sea_devices(), v.disk_names());
        let mut wanted: Vec<Ask> = Vec::new();
        for d in &seas {
            wanted.push(Ask::SeaAttrs(d.clone()));
            wanted.push(Ask::SeaStat(d.clone()));
        }
        wanted.extend(disks.iter().cloned().map(Ask::DiskAttrs));
        self.pending.retain(|p| p.device().is_none() || wanted.contains(p));
        for w in wanted {
            if !self.answers.contains_key(&w) && !self.pending.contains(&w) {
                self.pending.push(w);
            }
        }
    }

    /// Whether there is still something to ask.
    pub(crate) fn done(&self) -> bool {
        self.next().is_none()
    }

    /// The VIOS's listings and what to ask first next time, or why it is unknown.
    pub(crate) fn finish(mut self) -> Result<(ViosListings, Known), String> {
        if let Some(why) = self.unknown {
            return Err(why);
        }
        let mut take = |a: &Ask| self.answers.remove(a).unwrap_or_default();
        let mut v = ViosListings {
            adapters: take(&Ask::Adapters),
            disks: take(&Ask::Disks),
            vscsi: take(&Ask::Map(MapKind::Vscsi)),
            npiv: take(&Ask::Map(MapKind::Npiv)),
            ..Default::default()
        };
        let mut known =
            Known { seas: v.sea_devices(), disks: v.disk_names(), servers: servers(&v), ..Default::default() };
        for (kind, text) in [(MapKind::Vscsi, &v.vscsi), (MapKind::Npiv, &v.npiv)] {
            if text.trim().is_empty() {
                known.empty_maps.insert(kind);
            }
        }
        for (ask, text) in std::mem::take(&mut self.answers) {
            match ask {
                Ask::SeaAttrs(d) | Ask::DiskAttrs(d) => {
                    v.attrs.insert(d, text);
                }
                Ask::SeaStat(d) => {
                    v.entstat.insert(d, text);
                }
                _ => {}
            }
        }
        v.level = self.level;
        Ok((v, known))
    }
}

/// The kinds of server adapter a VIOS's adapter listing shows.
fn servers(v: &ViosListings) -> BTreeSet<MapKind> {
    [MapKind::Vscsi, MapKind::Npiv]
        .into_iter()
        .filter(|k| v.adapter_lines().any(|(n, _, d)| k.served_by(n, d)))
        .collect()
}

/// A chain's output cut at each `ioslevel` line (one section when it printed none, empty when
/// it printed nothing), and the level it printed.
fn split(stdout: &str) -> (Vec<&str>, Option<String>) {
    let mut sections = Vec::new();
    let mut level = None;
    let mut start = 0;
    let mut at = 0;
    for line in stdout.split_inclusive('\n') {
        let end = at + line.len();
        if is_level(line.trim()) {
            sections.push(&stdout[start..at]);
            level = Some(line.trim().to_owned());
            start = end;
        }
        at = end;
    }
    sections.push(&stdout[start..]);
    (sections, level)
}

/// `V.R.M.F`: four numbers and three dots.
fn is_level(line: &str) -> bool {
    let parts: Vec<&str> = line.split('.').collect();
    parts.len() == 4 && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEVEL: &str = "3.1.4.30\n";
    const ADAPTERS: &str = "ent0:U78A0.001.X-P1-C1-T1:4-Port Gigabit Ethernet PCI-Express Adapter\nent5::Shared Ethernet Adapter\nvhost0:U8247.22L.X-V1-C100:Virtual SCSI Server Adapter\nvfchost0:U8247.22L.X-V1-C200:Virtual FC Server Adapter\n";
    const DISKS: &str = "hdisk0:00f6a1b2c3d4e5f6:51200\nhdisk1:00f6a1b2c3d4e5f7:102400\n";

    fn dev(d: &str) -> DeviceName {
        DeviceName::new(d).unwrap()
    }

    fn out(stdout: &str, code: i32) -> CommandOutput {
        CommandOutput { stdout: stdout.to_owned(), stderr: String::new(), code }
    }

    /// What a VIOS prints for the chain of `asks`, each answered by `answer`, stopping at the
    /// first `Err` (its text printed, exit status 1).
    fn run(asks: &[Ask], answer: impl Fn(&Ask) -> Result<String, String>) -> CommandOutput {
        let mut text = String::new();
        for (i, a) in asks.iter().enumerate() {
            if i > 0 {
                text.push_str(LEVEL);
            }
            match answer(a) {
                Ok(t) => text.push_str(&t),
                Err(t) => return out(&(text + &t), 1),
            }
        }
        out(&text, 0)
    }

    fn answers(a: &Ask) -> Result<String, String> {
        Ok(match a {
            Ask::Adapters => ADAPTERS.into(),
            Ask::Disks => DISKS.into(),
            Ask::SeaAttrs(d) | Ask::DiskAttrs(d) => {
                format!("attribute value description user_settable\n\nname {d} x True\n")
            }
            Ask::SeaStat(d) => format!("ETHERNET STATISTICS ({d}) :\n"),
            Ask::Map(MapKind::Vscsi) => "0x00000003:hdisk1\n".into(),
            Ask::Map(MapKind::Npiv) => "vfchost0:4:lpar4:LOGGED_IN:fcs0\n".into(),
        })
    }

    /// Runs asks until done; the number of `viosvrcmd` it took.
    fn drive(a: &mut Asking, answer: impl Fn(&Ask) -> Result<String, String>) -> usize {
        let mut n = 0;
        while let Some((asks, _)) = a.next() {
            let o = run(&asks, &answer);
            a.take(&asks, &o);
            n += 1;
            assert!(n < 20, "never done");
        }
        n
    }

    #[test]
    fn a_vios_seen_before_is_listed_in_one_round_trip_and_one_seen_first_in_two() {
        let mut first = Asking::new(None);
        assert_eq!(drive(&mut first, answers), 2);
        let (v, known) = first.finish().unwrap();
        assert_eq!(known.seas, vec![dev("ent5")]);
        assert_eq!(known.disks, vec![dev("hdisk0"), dev("hdisk1")]);
        assert_eq!(v.attrs.len(), 3);
        assert_eq!(v.entstat.len(), 1);
        assert_eq!(v.level.as_deref(), Some("3.1.4.30"));
        assert!(v.npiv.contains("vfchost0") && v.vscsi.contains("hdisk1"));

        let mut again = Asking::new(Some(&known));
        assert_eq!(drive(&mut again, answers), 1);
        let (v2, _) = again.finish().unwrap();
        assert_eq!(v2.attrs, v.attrs);
        assert_eq!(v2.entstat, v.entstat);
    }

    #[test]
    fn the_chain_text_separates_every_ask_with_ioslevel() {
        let (asks, text) = Asking::new(None).next().unwrap();
        assert_eq!(asks.len(), 4);
        assert_eq!(text.matches(" && ioslevel && ").count(), 3);
        assert!(text.starts_with(l::VIOS_ADAPTERS) && text.ends_with(l::VIOS_NPIV), "{text}");
    }

    #[test]
    fn an_empty_mapping_ends_its_chain_and_goes_last_next_time() {
        // No vSCSI mappings: that lsmap fails, with no HMC code, and is none.
        let no_vscsi = |a: &Ask| match a {
            Ask::Map(MapKind::Vscsi) => Err(String::new()),
            a => answers(a),
        };
        let mut a = Asking::new(None);
        drive(&mut a, no_vscsi);
        let (v, known) = a.finish().unwrap();
        assert!(v.vscsi.is_empty() && v.npiv.contains("vfchost0"));
        assert_eq!(known.empty_maps, [MapKind::Vscsi].into());
        // Next time it is asked last, so the chain stops after everything else ran.
        let mut again = Asking::new(Some(&known));
        let (asks, _) = again.next().unwrap();
        assert_eq!(asks.last(), Some(&Ask::Map(MapKind::Vscsi)));
        assert_eq!(drive(&mut again, no_vscsi), 1);
    }

    /// A VIOS without server adapters of a kind has no mapping of that kind: its `lsmap` is not
    /// asked; one whose server adapter appeared is asked in the next chain.
    #[test]
    fn mappings_are_asked_only_of_a_vios_with_server_adapters_of_their_kind() {
        let no_servers = |a: &Ask| match a {
            Ask::Adapters => Ok(ADAPTERS.lines().filter(|l| !l.contains("host")).map(|l| format!("{l}\n")).collect()),
            Ask::Map(_) => Err(String::new()),
            a => answers(a),
        };
        let mut a = Asking::new(None);
        drive(&mut a, no_servers);
        let (v, known) = a.finish().unwrap();
        assert!(v.vscsi.is_empty() && v.npiv.is_empty());
        assert!(known.servers.is_empty());
        let mut again = Asking::new(Some(&known));
        let (asks, _) = again.next().unwrap();
        assert!(!asks.iter().any(|a| matches!(a, Ask::Map(_))), "{asks:?}");
        assert_eq!(drive(&mut again, no_servers), 1);
        // A client mapped since: its server adapter is listed, and its mappings asked next.
        let mut later = Asking::new(Some(&known));
        assert_eq!(drive(&mut later, answers), 2);
        let (v, known) = later.finish().unwrap();
        assert!(v.vscsi.contains("hdisk1") && v.npiv.contains("vfchost0"));
        assert_eq!(known.servers, [MapKind::Vscsi, MapKind::Npiv].into());
    }

    #[test]
    fn a_device_that_vanished_is_dropped_and_a_new_one_asked() {
        let known = Known { seas: vec![dev("ent5")], disks: vec![dev("hdisk0"), dev("hdisk9")], ..Default::default() };
        let no_hdisk9 = |a: &Ask| match a {
            Ask::DiskAttrs(d) if d.as_str() == "hdisk9" => Err("Device \"hdisk9\" is not in AVAILABLE state.\n".into()),
            a => answers(a),
        };
        let mut a = Asking::new(Some(&known));
        drive(&mut a, no_hdisk9);
        let (v, known) = a.finish().unwrap();
        assert_eq!(v.attrs.keys().cloned().collect::<Vec<_>>(), vec![dev("ent5"), dev("hdisk0"), dev("hdisk1")]);
        assert_eq!(known.disks, vec![dev("hdisk0"), dev("hdisk1")]);
    }

    #[test]
    fn a_listed_disk_whose_attributes_fail_twice_makes_the_vios_unknown() {
        let broken = |a: &Ask| match a {
            Ask::DiskAttrs(d) if d.as_str() == "hdisk1" => Err("Device busy\n".into()),
            a => answers(a),
        };
        let mut a = Asking::new(None);
        drive(&mut a, broken);
        let why = a.finish().unwrap_err();
        assert!(why.contains("lsdev -dev hdisk1 -attr") && why.contains("Device busy"), "{why}");
    }

    #[test]
    fn a_refusal_on_standard_output_makes_the_vios_unknown() {
        let mut a = Asking::new(None);
        let (asks, _) = a.next().unwrap();
        a.take(&asks, &out("HSCL2970 The IOSERVER command has failed because of the following reason:\nno\n", 0));
        let why = a.finish().unwrap_err();
        assert!(why.contains("lsdev -type adapter") && why.contains("IOSERVER"), "{why}");
    }

    #[test]
    fn a_refused_viosvrcmd_makes_the_vios_unknown() {
        let mut a = Asking::new(None);
        let (asks, _) = a.next().unwrap();
        a.take(
            &asks,
            &CommandOutput {
                stdout: String::new(),
                stderr: "HSCLA356 The RMC command issued to partition v1 failed.\n".into(),
                code: 1,
            },
        );
        let why = a.finish().unwrap_err();
        assert!(why.contains("HSCLA356") || why.contains("RMC command"), "{why}");
    }

    #[test]
    fn an_answer_with_more_sections_than_asks_is_not_guessed_at() {
        let mut a = Asking::new(None);
        let (asks, _) = a.next().unwrap();
        a.take(&asks, &out(&format!("a\n{LEVEL}b\n{LEVEL}c\n{LEVEL}d\n{LEVEL}e\n"), 0));
        assert!(a.finish().is_err());
    }

    /// The separator's output as a VIOS prints it (`tests/fixtures/hmc/vios/ioslevel.txt`,
    /// re-typed from a recorded session) is read as a level.
    #[test]
    fn the_recorded_ioslevel_is_a_separator() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/hmc/vios/ioslevel.txt");
        let text = std::fs::read_to_string(path).unwrap();
        assert!(is_level(text.trim()), "{text:?}");
        let chain = format!("a\n{text}b\n");
        let (sections, level) = split(&chain);
        assert_eq!(sections, vec!["a\n", "b\n"]);
        assert_eq!(level.as_deref(), Some(text.trim()));
    }

    #[test]
    fn levels_are_four_numbers() {
        assert!(is_level("3.1.4.30") && is_level("2.2.6.21"));
        assert!(!is_level("10.1.1") && !is_level("a.b.c.d") && !is_level("1..2.3") && !is_level("ent0:x:y"));
    }
}
