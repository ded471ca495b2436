//! The changing VIOS commands an HMC passes on with `viosvrcmd` (`mkvdev`, `rmdev`, `chdev`,
//! `vfcmap`, `cfgdev` …), read back into the simulator's operations on the named VIOS.

use super::commands::{name, number, sea_mode, trunks_named};
use std::collections::BTreeMap;

use powerplane_model::status::SeaHaMode;
use powerplane_model::{DeviceName, FrameName, Op, PartitionName, ViosName};

use crate::sim::state::SimFrame;

/// A VIOS command run by `viosvrcmd -m SYS -p VIOS -c "..."` that changes something.
pub(super) fn vios_command(f: &SimFrame, frame: FrameName, vios: ViosName, words: &[String]) -> Result<Op, String> {
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    match w.as_slice() {
        ["cfgdev"] | ["cfgmgr"] => Ok(Op::ConfigureDevices { frame, vios }),
        // VIOS `mkvdev -vdev hdiskN -vadapter vhostN`, `rmvdev -vdev hdiskN`, `vfcmap -vadapter
        // vfchostN -fcp [fcsN]` (tests/fixtures/hmc/README.md, "Storage provisioning").
        ["mkvdev", "-vdev", disk, "-vadapter", adapter] => {
            let adapter: DeviceName = name("adapter", adapter)?;
            let disk: DeviceName = name("device", disk)?;
            let client = server_client(f, &vios, &adapter)?;
            let lun = vios_lun(f, &vios, &disk)?;
            Ok(Op::MapDisk { frame, vios, disk, lun, adapter, client })
        }
        ["rmvdev", "-vdev", disk] => {
            let disk: DeviceName = name("device", disk)?;
            let lun = vios_lun(f, &vios, &disk)?;
            let client = f
                .vios
                .get(&vios)
                .and_then(|v| v.storage.iter().find(|a| a.luns.contains(&lun)))
                .map(|a| a.client.clone())
                .ok_or_else(|| format!("{} \nThere is no virtual target device for {disk}.", super::HSCL2970))?;
            Ok(Op::UnmapDisk { frame, vios, disk, lun, client })
        }
        ["vfcmap", "-vadapter", adapter, "-fcp", rest @ ..] if rest.len() <= 1 => {
            let adapter: DeviceName = name("adapter", adapter)?;
            let client = server_client(f, &vios, &adapter)?;
            match rest.first() {
                Some(port) => Ok(Op::MapNpiv { frame, vios, adapter, port: name("port", port)?, client }),
                None => Ok(Op::UnmapNpiv { frame, vios, adapter, client }),
            }
        }
        ["rmdev", "-dev", dev] => Ok(Op::RemoveSea { frame, vios, device: name("device", dev)? }),
        ["chdev", "-dev", dev, "-attr", attr] => {
            let (k, v) = attr.split_once('=').ok_or_else(|| format!("chdev: {attr} is not attribute=value"))?;
            let device: DeviceName = name("device", dev)?;
            match k {
                "ha_mode" => Ok(Op::SetSeaHaMode { frame, vios, device, mode: sea_mode(v)? }),
                "virt_adapters" => {
                    let trunks = trunks_named(f, &vios, v, None)?;
                    Ok(Op::SetSeaAdapters { frame, vios, device, trunks })
                }
                // The seed's remedy for HSCLA356 (powervm-quickstart-sea-loadsharing-lpm-
                // troubleshooting.txt, line 468); the other policies are not modelled.
                "reserve_policy" if v == "no_reserve" => {
                    let lun = vios_lun(f, &vios, &device)?;
                    Ok(Op::SetDiskNoReserve { frame, vios, disk: device, lun })
                }
                _ => Err(format!("chdev: the attribute {k} cannot be changed here")),
            }
        }
        ["mkvdev", "-sea", real, rest @ ..] => {
            let mut opts = BTreeMap::new();
            let mut attr = Vec::new();
            let mut it = rest.iter();
            while let Some(k) = it.next() {
                if *k == "-attr" {
                    attr.extend(it.by_ref().copied());
                    break;
                }
                opts.insert(*k, *it.next().ok_or_else(|| format!("mkvdev: {k} needs a value"))?);
            }
            let defaultid: Option<u16> = opts.get("-defaultid").map(|v| number("-defaultid", v)).transpose()?;
            let trunks = trunks_named(f, &vios, opts.get("-vadapter").copied().unwrap_or(""), defaultid)?;
            let mut ha_mode = SeaHaMode::Disabled;
            let mut control_channel = None;
            for a in attr {
                match a.split_once('=') {
                    Some(("ha_mode", v)) => ha_mode = sea_mode(v)?,
                    Some(("ctl_chan", v)) => control_channel = Some(name("ctl_chan", v)?),
                    _ => return Err(format!("mkvdev: the attribute {a} is not valid")),
                }
            }
            let priority = super::listings::trunk_slots(f, &vios)
                .iter()
                .find(|t| trunks.first().is_some_and(|tr| t.device.as_ref() == Some(&tr.adapter)))
                .map_or_else(|| 1 + f.hw.vios.iter().position(|h| h.name == vios).unwrap_or(0) as u8, |t| t.priority);
            Ok(Op::CreateSea {
                frame,
                vios,
                real_adapter: name("adapter", real)?,
                trunks,
                control_channel,
                ha_mode,
                priority,
            })
        }
        _ => Err(format!(
            "{} \n\"{}\" is not a valid command or its flags are not valid.",
            super::HSCL2970,
            words.join(" ")
        )),
    }
}

/// The client of the server adapter `adapter` (`vhostN`, `vfchostN`) on `vios`.
fn server_client(f: &SimFrame, vios: &ViosName, adapter: &DeviceName) -> Result<PartitionName, String> {
    f.vios
        .get(vios)
        .and_then(|v| v.storage.iter().find(|a| a.device.as_ref() == Some(adapter)))
        .map(|a| a.client.clone())
        .ok_or_else(|| format!("{} \nDevice \"{adapter}\" is not a server adapter of {vios}.", super::HSCL2970))
}

/// The LUN of `disk` on `vios`.
fn vios_lun(f: &SimFrame, vios: &ViosName, disk: &DeviceName) -> Result<powerplane_model::Lun, String> {
    f.hw.vios
        .iter()
        .find(|h| &h.name == vios)
        .and_then(|h| h.disks.iter().find(|d| &d.name == disk))
        .map(|d| d.lun.clone())
        .ok_or_else(|| format!("{} \nDevice \"{disk}\" is not in AVAILABLE state.", super::HSCL2970))
}
