//! The emulated HMC's `migrlpar`, read back into the migration it asks for, with the options an
//! HMC of the emulated version takes and no others.
//!
//! IBM's `migrlpar` man pages (POWER7, POWER8 and POWER9 HMCs): `migrlpar -o {m | r | s | v} -m
//! managed-system [-t target-managed-system] [--ip IP-address [-u user-ID]] {-p partition-name
//! | --id partition-ID | --all} [-n profile-name] [--redundantvios {0 | 1 | 2}] [--mpio {1 |
//! 2}] [--vlanbridge {1 | 2}] [--vsi {1 | 2}] [--uuid {1 | 2}] [--protectstorage {1 | 2}] [{-f
//! input-data-file | -i "input-data"}] [-w wait-time] [-d detail-level] [--force] [-v]
//! [--nodetails] [--help]`. The seed (an HMC V7 of 2012) spells the redundancy option
//! `--redundantpgvios` (powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, line 1522), as
//! IBM's IVM page for POWER6 does; the emulator takes each spelling at the versions
//! [`RedundancyOption::for_version`] gives it (an assumption: tests/fixtures/hmc/README.md,
//! "Migrations"). The options powerplane never sends (`--vlanbridge`, `--vsi`, `--uuid`,
//! `--protectstorage`, `-n`, `-w`, `-d`, `-v`, `--nodetails`, `--force`) are accepted and have
//! no effect in the simulator.

use powerplane_model::action::{Mpio, MspPair, RedundantPgVios};
use powerplane_model::console::{HmcVersion, RedundancyOption, RemoteHmc};
use powerplane_model::{FrameName, Op, PartitionName};

use super::commands::Opts;
use crate::sim::state::{Migration, SimState};

/// The options of `migrlpar -o m|v|r` (the man page's synopsis) other than the redundancy
/// option, whose spelling depends on the version.
const OPTIONS: &[&str] = &[
    "-o",
    "-m",
    "-t",
    "--ip",
    "-u",
    "-p",
    "-n",
    "--mpio",
    "--vlanbridge",
    "--vsi",
    "--uuid",
    "--protectstorage",
    "-i",
    "-w",
    "-d",
    "--force",
    "-v",
    "--nodetails",
    "--help",
];

fn name<T: std::str::FromStr>(what: &str, v: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    v.parse().map_err(|e| format!("{what} {v:?}: {e}"))
}

/// A value `1` or `2` of an option that takes one.
fn one_or_two(option: &str, v: Option<&str>) -> Result<Option<u8>, String> {
    match v {
        None => Ok(None),
        Some("1") => Ok(Some(1)),
        Some("2") => Ok(Some(2)),
        Some(v) => Err(format!("The value \"{v}\" for {option} is not valid.")),
    }
}

/// Reads `migrlpar` as an HMC at `version` takes it.
pub(crate) fn parse(s: &SimState, o: &Opts<'_>, version: &HmcVersion) -> Result<Op, String> {
    let spelling = RedundancyOption::for_version(Some(version));
    let other = match spelling {
        RedundancyOption::Vios => RedundancyOption::PgVios,
        RedundancyOption::PgVios => RedundancyOption::Vios,
    };
    for given in o.names() {
        if given == other.flag() {
            return Err(format!(
                "migrlpar: the option {given} is not valid on this HMC ({version}); it takes {}",
                spelling.flag()
            ));
        }
        if given != spelling.flag() && !OPTIONS.contains(&given) {
            return Err(format!("migrlpar: the option {given} is not valid"));
        }
    }
    let p: PartitionName = name("partition", o.need("-p")?)?;
    let from: FrameName = name("managed system", o.need("-m")?)?;
    let remote = match (o.get("--ip"), o.get("-u")) {
        (Some(ip), u) => {
            Some(RemoteHmc { ip: name("HMC address", ip)?, user: u.map(|u| name("HMC user", u)).transpose()? })
        }
        (None, Some(_)) => return Err("migrlpar: -u is valid only with --ip".into()),
        (None, None) => None,
    };
    let op = o.need("-o")?;
    if op == "r" {
        let to = s
            .frames
            .get(&from)
            .and_then(|f| f.partitions.get(&p))
            .and_then(|sp| match &sp.migration {
                Some(Migration::Outbound(o)) => Some(o.to.clone()),
                _ => None,
            })
            .unwrap_or_else(|| from.clone());
        return Ok(Op::RecoverMigration { frame: from, partition: p, to, remote });
    }
    let to: FrameName = name("managed system", o.need("-t")?)?;
    let redundant = match o.get(spelling.flag()) {
        None => None,
        Some("0") => Some(RedundantPgVios::NonRedundant),
        Some("1") => Some(RedundantPgVios::Required),
        Some("2") => Some(RedundantPgVios::IfPossible),
        Some(v) => return Err(format!("The value \"{v}\" for {} is not valid.", spelling.flag())),
    };
    let mpio = one_or_two("--mpio", o.get("--mpio"))?.map(|m| if m == 1 { Mpio::Required } else { Mpio::IfPossible });
    for opt in ["--vlanbridge", "--vsi", "--uuid", "--protectstorage"] {
        one_or_two(opt, o.get(opt))?;
    }
    let msp = match o.get("-i") {
        None => None,
        Some(i) => {
            let a = crate::backend::hmc::parse_line(i, 1)
                .map_err(|e| format!("The attribute list \"{i}\" is not valid: {e}"))?;
            if let Some(bad) = a.keys().find(|k| !matches!(k.as_str(), "source_msp_name" | "dest_msp_name")) {
                return Err(format!("migrlpar: the attribute {bad} is not valid in -i"));
            }
            match (a.get("source_msp_name"), a.get("dest_msp_name")) {
                (Some(src), Some(dst)) => Some(MspPair { source: name("MSP", src)?, dest: name("MSP", dst)? }),
                _ => return Err("migrlpar: -i needs source_msp_name and dest_msp_name".into()),
            }
        }
    };
    match op {
        "v" => Ok(Op::ValidateMigration { partition: p, from, to, redundant, msp, remote, mpio, spelling }),
        "m" => Ok(Op::MigratePartition { partition: p, from, to, redundant, msp, remote, mpio, spelling }),
        _ => Err(format!("migrlpar: the operation {op} is not supported here")),
    }
}
