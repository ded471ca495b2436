//! What an emulated VIOS lists through `viosvrcmd`: `lsdev`, `lspv`, `entstat` and `lsmap`,
//! rendered from the simulator's state in the formats the seeds show.

use powerplane_model::manifest::StorageVia;
use powerplane_model::status::BridgeMode;
use powerplane_model::{DeviceName, ViosName};

use super::listings::{frame_name, id_of, trunk_slots};
use super::storage_listings::{server_adapters, vscsi_map};
use crate::sim::state::{SimFrame, SimState};

/// The level every emulated VIOS runs.
pub(crate) const IOSLEVEL: &str = "3.1.4.30";

/// What `viosvrcmd -m SYS -p VIOS -c CMD` prints for the listing commands the backend uses,
/// `None` for a command this is not; an empty error when an `lsmap` has nothing to map.
pub(crate) fn vios_listing(
    s: &SimState,
    f: &SimFrame,
    vios: &ViosName,
    words: &[&str],
) -> Option<Result<String, String>> {
    let hw = f.hw.vios.iter().find(|h| &h.name == vios)?;
    let sea = f.sea.as_ref();
    let member = sea.and_then(|s| s.members.get(vios));
    let id = id_of(f, vios.as_str());
    Some(Ok(match words {
        ["lsdev", "-type", "adapter", "-field", "name", "physloc", "description", "-fmt", ":"] => {
            let slots = trunk_slots(f, vios);
            let mut lines = Vec::new();
            for (i, dev) in hw.ethernet.iter().enumerate() {
                let real = sea.is_some_and(|s| &s.real_adapter == dev);
                let line = if real {
                    format!(
                        "{dev}:U78A0.001.{}-P1-C{}-T1:4-Port Gigabit Ethernet PCI-Express Adapter",
                        f.hw.serial,
                        i + 1
                    )
                } else {
                    let slot = slots.iter().find(|t| t.device.as_ref() == Some(dev)).map_or(2 + i as u16, |t| t.slot);
                    format!(
                        "{dev}:U{}.{}-V{id}-C{slot}-T1:Virtual I/O Ethernet Adapter (l-lan)",
                        f.hw.machine_type.replace('-', "."),
                        f.hw.serial
                    )
                };
                lines.push(line);
            }
            if let Some(m) = member {
                lines.push(format!("{}::{}", m.device, crate::backend::hmc::listing::SEA_DESCRIPTION));
            }
            // A server adapter per client: `vhostN` for virtual SCSI, `vfchostN` for NPIV, their
            // location codes ending `-C<slot>` with no `-T` (vios/README.md "lsdev").
            let loc = |slot: u16| format!("U{}.{}-V{id}-C{slot}", f.hw.machine_type.replace('-', "."), f.hw.serial);
            for a in server_adapters(f, vios) {
                let Some(d) = &a.device else { continue };
                let what = match a.via {
                    StorageVia::Vscsi => crate::backend::hmc::listing::VSCSI_SERVER,
                    StorageVia::Npiv => crate::backend::hmc::listing::NPIV_SERVER,
                };
                lines.push(format!("{d}:{}:{what}", loc(a.slot)));
            }
            // The NPIV-capable ports every simulated VIOS has (an assumption: sim/storage.rs).
            for (i, p) in crate::sim::storage::FC_PORTS.iter().enumerate() {
                lines.push(format!(
                    "{p}:U78A0.001.{}-P1-C3-T{}:{}",
                    f.hw.serial,
                    i + 1,
                    crate::backend::hmc::listing::FC_PORT_DESCRIPTION
                ));
            }
            lines.join("\n")
        }
        ["lsdev", "-dev", dev, "-attr"] if member.is_some_and(|m| m.device.as_str() == *dev) => {
            let (s, m) = (sea.expect("a member has a SEA"), member.expect("checked"));
            let adapters: Vec<&str> = m.virt_adapters(s).iter().map(|t| t.adapter.as_str()).collect();
            let default = adapters.first().copied().unwrap_or("");
            let pvid = m.virt_adapters(s).first().map_or(1, |t| t.pvid.get());
            let cc = s.control_channel.as_ref().map_or("", DeviceName::as_str);
            attr_table(&[
                ("ctl_chan", cc.to_owned(), "Control Channel adapter for SEA failover", "True"),
                ("ha_mode", m.ha_mode.as_str().to_owned(), "High Availability Mode", "True"),
                ("pvid", pvid.to_string(), "PVID to use for the SEA device", "True"),
                (
                    "pvid_adapter",
                    default.to_owned(),
                    "Default virtual adapter to use for non-VLAN-tagged packets",
                    "True",
                ),
                ("real_adapter", s.real_adapter.to_string(), "Physical adapter associated with the SEA", "True"),
                (
                    "virt_adapters",
                    adapters.join(","),
                    "List of virtual adapters associated with the SEA (comma separated)",
                    "True",
                ),
            ])
        }
        ["entstat", "-all", dev] if member.is_some_and(|m| m.device.as_str() == *dev) => {
            let members = crate::sim::observe::estate(s, Some(&std::iter::once(frame_name(s, f)).collect()))
                .status
                .seas
                .into_values()
                .flatten()
                .find(|m| &m.vios == vios);
            let Some(m) = members else { return Some(Err(format!("entstat: {dev} is not available"))) };
            let state = m.state.as_str();
            let bridge = match m.bridge_mode {
                BridgeMode::All => "All",
                BridgeMode::Partial => "Partial",
                BridgeMode::None => "None",
            };
            let vids: Vec<String> = m.vlans.iter().map(ToString::to_string).collect();
            let ha = match m.ha_mode.as_str() {
                "auto" => "Auto",
                "sharing" => "Sharing",
                "standby" => "Standby",
                _ => "Disabled",
            };
            // The SEA's statistics, its High Availability block (4-space indented; `VID shared`
            // only under load sharing), then its adapters' blocks, whose `Priority:` is the
            // trunk's (seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, lines
            // 742-752 and 953-956; tests/fixtures/hmc/vios/entstat-all.*.txt).
            let dashes = "-".repeat(62);
            let sharing = matches!(
                m.state,
                powerplane_model::status::SeaState::PrimarySharing | powerplane_model::status::SeaState::BackupSharing
            );
            let vid = if sharing { format!("    VID shared: {}\n", vids.join(" ")) } else { String::new() };
            let mut text = format!(
                "ETHERNET STATISTICS ({dev}) :\nDevice Type: Shared Ethernet Adapter\n\n{dashes}\nStatistics for adapters in the Shared Ethernet Adapter {dev}\n{dashes}\nNumber of adapters: {}\nHigh Availability Statistics:\n    Control Channel PVID: 99\n    State: {state}\n    Bridge Mode: {bridge}\n{vid}    Number of Times Server became Backup: 0\n    Number of Times Server became Primary: 1\n    High Availability Mode: {ha}\n    Priority: {}\n{dashes}\n",
                m.adapters.len() + 1,
                m.priority
            );
            for a in &m.adapters {
                text.push_str(&format!(
                    "ETHERNET STATISTICS ({a}) :\nDevice Type: Virtual I/O Ethernet Adapter (l-lan)\n\nTrunk Adapter: True\n  Priority: {}  Active: {}\n{dashes}\n",
                    m.priority,
                    if m.bridge_mode == BridgeMode::None { "False" } else { "True" }
                ));
            }
            text.trim_end().to_owned()
        }
        // `name:pvid:megabytes` (IBM's VIOS `lspv` man page;
        // tests/fixtures/hmc/vios/lspv-size-fmt.txt).
        ["lspv", "-size", "-fmt", ":"] => hw
            .disks
            .iter()
            .map(|d| format!("{}:{}:{}", d.name, pvid(&d.lun), d.size_mb.0))
            .collect::<Vec<_>>()
            .join("\n"),
        // An MPIO FC disk's attributes: no `size_in_mb` (tests/fixtures/hmc/vios/
        // lsdev-dev-hdisk-attr.svc.txt).
        ["lsdev", "-dev", dev, "-attr"] => {
            let Some(d) = hw.disks.iter().find(|d| d.name.as_str() == *dev) else {
                return Some(Err(format!("Device \"{dev}\" is not in AVAILABLE state.")));
            };
            attr_table(&[
                ("PCM", "PCM/friend/fcpother".to_owned(), "Path Control Module", "False"),
                ("algorithm", "shortest_queue".to_owned(), "Algorithm", "True+"),
                ("location", String::new(), "Location Label", "True+"),
                ("pvid", format!("{}0000000000000000", pvid(&d.lun)), "Physical volume identifier", "False"),
                ("queue_depth", "20".to_owned(), "Queue DEPTH", "True+"),
                ("reserve_policy", d.reserve_policy.as_str().to_owned(), "Reserve Policy", "True+"),
                ("unique_id", d.lun.to_string(), "Unique device identifier", "False"),
            ])
        }
        // One line per vhost, `svsa:clientid:backing…`, the client id hex, `0x00000000` while
        // the client does not run (vios/README.md "lsmap"; IBM's `lsmap` man page).
        ["lsmap", "-all", "-type", "disk", "-field", "svsa", "clientid", "backing", "-fmt", ":"] => {
            let lines = vscsi_map(f, hw, vios, true);
            if lines.is_empty() {
                return Some(Err(String::new()));
            }
            lines.join("\n")
        }
        ["lsmap", "-all", "-type", "disk", "-field", "clientid", "backing", "-fmt", ":"] => {
            let lines = vscsi_map(f, hw, vios, false);
            if lines.is_empty() {
                return Some(Err(String::new()));
            }
            lines.join("\n")
        }
        // One virtual FC server adapter per NPIV client: `name:clntid:clntname:status:fc`, the
        // id decimal (IBM's `lsmap` man page; tests/fixtures/hmc/vios/lsmap-all-npiv-field-fmt.txt).
        ["lsmap", "-all", "-npiv", "-field", "name", "clntid", "clntname", "status", "fc", "-fmt", ":"] => {
            let lines: Vec<String> = server_adapters(f, vios)
                .into_iter()
                .filter(|a| a.via == StorageVia::Npiv)
                .filter_map(|a| {
                    let d = a.device.as_ref()?;
                    let p = f.partitions.get(&a.client).filter(|p| !p.is_shell());
                    let running = p.is_some_and(|p| p.state.is_running()) && a.fc_port.is_some();
                    // An adapter not logged in lists an empty client id and name (vios/README.md).
                    let (id, name) = if running {
                        (id_of(f, a.client.as_str()).to_string(), a.client.to_string())
                    } else {
                        (String::new(), String::new())
                    };
                    let status = if running { "LOGGED_IN" } else { "NOT_LOGGED_IN" };
                    let fc = a.fc_port.as_ref().map_or(String::new(), ToString::to_string);
                    Some(format!("{d}:{id}:{name}:{status}:{fc}"))
                })
                .collect();
            if lines.is_empty() {
                return Some(Err(String::new()));
            }
            lines.join("\n")
        }
        // One line, `V.R.M.F` (vios/ioslevel.txt, S8; IBM's modules check it with
        // `^\d+\.\d+\.\d+\.\d+$`, S9): the emulated VIOS's level, ours.
        ["ioslevel"] => IOSLEVEL.to_owned(),
        _ => return None,
    }))
}

/// A disk's physical volume id as `lspv` prints it: 16 hex digits, made from its LUN (stable,
/// like the id written on a real disk).
fn pvid(lun: &powerplane_model::Lun) -> String {
    let h =
        lun.as_str().bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    format!("00{:014x}", h >> 8)
}

/// `lsdev -dev X -attr`: a header and one line per attribute, in columns as wide as their
/// widest value (an empty value leaves its column blank).
fn attr_table(rows: &[(&str, String, &str, &str)]) -> String {
    let w0 = rows.iter().map(|r| r.0.len()).max().unwrap_or(0).max("attribute".len());
    let w1 = rows.iter().map(|r| r.1.len()).max().unwrap_or(0).max("value".len());
    let w2 = rows.iter().map(|r| r.2.len()).max().unwrap_or(0).max("description".len());
    let mut out =
        vec![format!("{:<w0$} {:<w1$} {:<w2$} user_settable", "attribute", "value", "description"), String::new()];
    out.extend(rows.iter().map(|(a, v, d, u)| format!("{a:<w0$} {v:<w1$} {d:<w2$} {u}")));
    out.join("\n")
}
