//! What a VIOS lists through `viosvrcmd` (`lsdev`, `lsattr`, `entstat`, `lsmap`): its
//! adapters, disks and SEA state, and what a VIOS that is down keeps of its last observation.

use std::collections::BTreeMap;

use powerplane_model::manifest::{DiskSpec, HaMode, ReservePolicy};
use powerplane_model::status::{BridgeMode, SeaHaMode, SeaMemberStatus, SeaState};
use powerplane_model::{DeviceName, Estate, FrameName, Lun, MemoryMb, ViosName};

#[cfg(test)]
use super::fields::word;

/// What one VIOS listed through `viosvrcmd`.
#[derive(Debug, Default, Clone)]
pub(crate) struct ViosListings {
    /// `lsdev -type adapter -field name physloc description -fmt :`.
    pub adapters: String,
    /// `lspv -size -fmt :`: `name:pvid:megabytes` per disk.
    pub disks: String,
    /// `lsmap -all -type disk -field clientid backing -fmt :`.
    pub vscsi: String,
    /// `lsmap -all -npiv -field name clntid clntname status fc -fmt :`.
    pub npiv: String,
    /// `lsdev -dev DEV -attr` of each SEA device and disk.
    pub attrs: BTreeMap<DeviceName, String>,
    /// `entstat -all DEV` of each SEA device.
    pub entstat: BTreeMap<DeviceName, String>,
    /// Its level, as `ioslevel` prints it (`3.1.4.30`), when it was asked.
    pub level: Option<String>,
}

impl ViosListings {
    /// The SEA devices `lsdev` lists.
    pub(crate) fn sea_devices(&self) -> Vec<DeviceName> {
        self.adapter_lines()
            .filter(|(_, _, d)| *d == crate::backend::hmc::listing::SEA_DESCRIPTION)
            .filter_map(|(n, _, _)| DeviceName::new(n).ok())
            .collect()
    }

    /// The disks `lspv` lists.
    pub(crate) fn disk_names(&self) -> Vec<DeviceName> {
        self.disk_lines().map(|(n, _)| n).collect()
    }

    /// Each disk `lspv -size -fmt :` lists, with its size in MB when printed.
    fn disk_lines(&self) -> impl Iterator<Item = (DeviceName, Option<MemoryMb>)> + '_ {
        self.disks.lines().filter_map(|l| {
            let mut it = l.split(':').map(str::trim);
            let name = DeviceName::new(it.next()?).ok()?;
            let size = it.nth(1).and_then(|s| s.parse().ok()).map(MemoryMb);
            Some((name, size))
        })
    }

    pub(crate) fn adapter_lines(&self) -> impl Iterator<Item = (&str, &str, &str)> {
        self.adapters.lines().filter_map(|l| {
            let mut it = l.splitn(3, ':');
            Some((it.next()?.trim(), it.next()?.trim(), it.next()?.trim()))
        })
    }
}

/// `lsdev -dev X -attr` (and `lsattr -El X`): attribute, value, description and whether it
/// can be set, in columns the header line places (a value may be empty).
pub(super) fn attr_table(text: &str) -> BTreeMap<&str, &str> {
    let mut lines = text.lines().peekable();
    let header = lines.peek().copied().unwrap_or("");
    let (Some(v), Some(d)) = (header.find("value"), header.find("description")) else {
        // `lsattr -El X` (root's view) prints no header: attribute and value are its first
        // two words (a value is never empty there).
        return lines
            .filter_map(|l| {
                let mut w = l.split_whitespace();
                Some((w.next()?, w.next()?))
            })
            .filter(|(k, _)| *k != "...")
            .collect();
    };
    lines.next();
    lines
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| {
            let key = l.get(..v)?.trim();
            let value = l.get(v..d.min(l.len()))?.trim();
            (!key.is_empty()).then_some((key, value))
        })
        .collect()
}

/// `Key: value` lines of `entstat -all`, the first of each key: the SEA's own High
/// Availability block comes before the statistics of its real and trunk adapters, whose lines
/// repeat keys (`Priority: 1  Active: True`, `tests/fixtures/hmc/vios/entstat-all.*.txt`).
pub(super) fn entstat_lines(text: &str) -> BTreeMap<&str, &str> {
    let mut out = BTreeMap::new();
    for (k, v) in text.lines().filter_map(|l| l.split_once(':')) {
        out.entry(k.trim()).or_insert(v.trim());
    }
    out
}

/// A SEA's failover state and trunk priority from its `entstat -all` (tests read the corpus
/// with it).
#[cfg(test)]
pub(crate) fn sea_state(text: &str) -> (Option<SeaState>, Option<u8>) {
    let e = entstat_lines(text);
    let state = e.get("State").and_then(|s| word::<SeaState>("sea", "State", s).ok());
    (state, entstat_priority(&e))
}

/// The trunk priority `entstat -all` gives (`Priority: 1`, the first number of the line).
pub(super) fn entstat_priority(stat: &BTreeMap<&str, &str>) -> Option<u8> {
    stat.get("Priority").and_then(|p| p.split_whitespace().next()?.parse().ok())
}

/// The SEA's `haMode` from its members' `ha_mode`: disabled or sharing when all are, else
/// auto.
pub(super) fn sea_ha_mode(members: &[SeaMemberStatus]) -> HaMode {
    if members.iter().all(|m| m.ha_mode == SeaHaMode::Disabled) {
        HaMode::Disabled
    } else if members.iter().all(|m| m.ha_mode == SeaHaMode::Sharing) {
        HaMode::Sharing
    } else {
        HaMode::Auto
    }
}

/// The virtual slot in a location code ending `-C<slot>-T1` of a virtual adapter (`-V<id>-`).
pub(super) fn virtual_slot(physloc: &str) -> Option<u16> {
    if !physloc.contains("-V") {
        return None;
    }
    let c = physloc.rsplit_once("-C")?.1;
    c.split('-').next()?.parse().ok()
}

/// A running VIOS's ethernet adapters and disks from its listings; `Err` with why when a value
/// is not one this version reads (the VIOS is then unknown).
pub(crate) fn vios_devices(v: &ViosListings) -> Result<(Vec<DeviceName>, Vec<DiskSpec>), String> {
    let ethernet = v
        .adapter_lines()
        .filter(|(n, _, d)| n.starts_with("ent") && *d != crate::backend::hmc::listing::SEA_DESCRIPTION)
        .filter_map(|(n, _, _)| DeviceName::new(n).ok())
        .collect();
    let mut disks = Vec::new();
    for (d, listed_size) in v.disk_lines() {
        let Some(text) = v.attrs.get(&d) else { continue };
        let a = attr_table(text);
        let id = a.get("unique_id").copied().unwrap_or("");
        let lun = match Lun::new(id) {
            Ok(lun) => lun,
            // A disk without a usable identifier (a local disk, an unusual id) is one no LUN
            // of a manifest can name: left out, said.
            Err(e) => {
                tracing::debug!(disk = %d, error = %e, "a disk without a usable unique_id is left out");
                continue;
            }
        };
        // An MPIO FC disk has no `size_in_mb` attribute: `lspv -size` gives it.
        let size = listed_size
            .or_else(|| a.get("size_in_mb").and_then(|s| s.parse().ok()).map(MemoryMb))
            .unwrap_or(MemoryMb(0));
        let policy = a.get("reserve_policy").copied().unwrap_or("");
        let reserve_policy = ReservePolicy::parse(policy)
            .ok_or_else(|| format!("disk {d} has reserve_policy {policy:?}, which powerplane does not know"))?;
        disks.push(DiskSpec { name: d, lun, size_mb: size, reserve_policy });
    }
    Ok((ethernet, disks))
}

/// A VIOS that is down answers no `viosvrcmd`: its adapters and disks, and its SEA device, are
/// taken from `last` (an earlier observation), its SEA device inactive, bridging nothing. A
/// running VIOS that could not be listed (unknown) keeps its SEA device as it was last seen:
/// what it does now is unknown, and the plan holds what touches it.
pub(crate) fn fill_down_vios(e: &mut Estate, last: &Estate) {
    let frames: Vec<FrameName> = e.hardware.keys().cloned().collect();
    for f in frames {
        let unknown: Vec<ViosName> =
            e.status.unknown_vios.get(&f).map(|m| m.keys().cloned().collect()).unwrap_or_default();
        let stopped: Vec<ViosName> = e
            .status
            .vios
            .get(&f)
            .map(|m| m.iter().filter(|(_, s)| !s.is_running()).map(|(v, _)| v.clone()).collect())
            .unwrap_or_default();
        let down: Vec<ViosName> = stopped.iter().chain(&unknown).cloned().collect();
        if down.is_empty() {
            continue;
        }
        let Some(before) = last.hardware.get(&f) else { continue };
        let hw = e.hardware.get_mut(&f).expect("listed above");
        for v in &down {
            if let (Some(now), Some(then)) =
                (hw.spec.vios.iter_mut().find(|h| &h.name == v), before.spec.vios.iter().find(|h| &h.name == v))
                && now.ethernet.is_empty()
                && now.disks.is_empty()
            {
                now.ethernet = then.ethernet.clone();
                now.disks = then.disks.clone();
            }
        }
        // The frame's SEA as it was, with the members that are down inactive now.
        let on_frame = |est: &Estate, s: &powerplane_model::Sea| {
            est.vios_pairs.get(&s.spec.vios_pair).is_some_and(|p| p.spec.frame == f)
        };
        let Some(old) = last.seas.values().find(|s| on_frame(last, s)) else { continue };
        let old_members = last.status.seas.get(&old.metadata.name).cloned().unwrap_or_default();
        let inactive = |m: &SeaMemberStatus| {
            if unknown.contains(&m.vios) {
                return m.clone();
            }
            SeaMemberStatus { state: SeaState::Inactive, bridge_mode: BridgeMode::None, vlans: Vec::new(), ..m.clone() }
        };
        let current = e.seas.values().find(|s| on_frame(e, s)).map(|s| s.metadata.name.clone());
        match current {
            Some(name) => {
                let members = e.status.seas.entry(name.clone()).or_default();
                for m in old_members.iter().filter(|m| down.contains(&m.vios)) {
                    if !members.iter().any(|x| x.vios == m.vios) {
                        members.push(inactive(m));
                    }
                }
                members.sort_by_key(|m| m.priority);
                // The SEA's configuration counts every member, up or down.
                let pair: Vec<ViosName> = e
                    .vios_pairs
                    .values()
                    .filter(|p| p.spec.frame == f)
                    .flat_map(|p| p.spec.members.iter().map(|m| m.name.clone()))
                    .collect();
                let (primary, ha_mode) = (SeaMemberStatus::primary_of(members, &pair), sea_ha_mode(members));
                if let Some(sea) = e.seas.get_mut(&name) {
                    if let Some(p) = primary {
                        sea.spec.primary = p;
                    }
                    sea.spec.ha_mode = ha_mode;
                }
            }
            None if old_members.iter().all(|m| down.contains(&m.vios)) => {
                let mut sea = old.clone();
                if let Some(pair) = e.vios_pairs.values().find(|p| p.spec.frame == f) {
                    sea.spec.vios_pair = pair.metadata.name.clone();
                }
                e.status.seas.insert(sea.metadata.name.clone(), old_members.iter().map(inactive).collect());
                e.seas.insert(sea.metadata.name.clone(), sea);
            }
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fields::vlans;
    use super::*;

    /// Lines `a..=b` (1-based) of a seed document, read where it is (`shared/seeds`, beside the
    /// repository, as in CI) and never copied here: the article's common leading indentation
    /// and each line's trailing blanks removed, as the corpus README says.
    fn seed_lines(seed: &str, a: usize, b: usize) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/seeds").join(seed);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let picked: Vec<&str> = text.lines().skip(a - 1).take(b + 1 - a).map(str::trim_end).collect();
        assert_eq!(picked.len(), b + 1 - a, "{seed}: lines {a}-{b}");
        let indent = picked.iter().filter(|l| !l.is_empty()).map(|l| l.len() - l.trim_start_matches(' ').len()).min();
        picked.iter().map(|l| format!("{}\n", l.get(indent.unwrap_or(0)..).unwrap_or(""))).collect()
    }

    const SEA_SEED: &str = "powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt";

    #[test]
    fn reads_the_seeds_sea_attributes_and_state() {
        // seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, lines 901-909
        // (p72vio1's `lsattr -El ent4`, with the article's `...` elisions).
        let lsattr_ent4 = seed_lines(SEA_SEED, 901, 909);
        let a = attr_table(&lsattr_ent4);
        assert_eq!(a["ctl_chan"], "ent3");
        assert_eq!(a["ha_mode"], "sharing");
        assert_eq!(a["real_adapter"], "ent0");
        assert_eq!(a["virt_adapters"], "ent1,ent2");
        // seeds: the same, lines 742-747 (p72vio1's side of the `entstat -d ent4` excerpt).
        let entstat_p72vio1 = seed_lines(SEA_SEED, 742, 747);
        let e = entstat_lines(&entstat_p72vio1);
        assert_eq!(word::<SeaState>("sea", "State", e["State"]).unwrap(), SeaState::PrimarySharing);
        assert_eq!(vlans("sea", "VID shared", e["VID shared"]).unwrap().len(), 3);
        assert_eq!(e["Priority"], "1");
        // The padmin view, with its header, and an empty value.
        let padmin = "attribute     value  description  user_settable\n\nctl_chan             Control      True\nha_mode       auto   HA mode      True\n";
        let a = attr_table(padmin);
        assert_eq!((a["ctl_chan"], a["ha_mode"]), ("", "auto"));
    }

    // seeds: ams-dual-vios-and-lpm.txt, Listing 2: `-F curr_paging_vios_name` answers one value.
    #[test]
    fn reads_the_seeds_one_field_listing() {
        let r = crate::backend::hmc::records::parse_fields("lpar_1_solchio05\n", &["curr_paging_vios_name"], false)
            .unwrap();
        assert_eq!(r[0]["curr_paging_vios_name"], "lpar_1_solchio05");
    }
}
