//! What each command the emulated HMC runs accepts, and the HMC's refusal of anything else:
//! the options of each command (with or without a value, and the values an enumerated one
//! takes) and, for the `-i`/`-a` attribute lists, the attribute names per resource. Every
//! line the emulator runs is checked here before it is read, so a command line powerplane
//! renders that a real HMC would refuse is refused by the emulator too.
//!
//! Sources (tests/fixtures/hmc/README.md, "Command syntax", says which holds for which HMC
//! version): IBM's HMC man pages as IBM's own Ansible collection builds its command lines
//! (IBM/ansible-power-hmc `plugins/module_utils/hmc_command_stack.py`, `HMC_CMD_OPT`), the
//! seeds' command lines, and the HMC's refusal of an unknown attribute as a live HMC prints it
//! (randomparity/hmc-mcp `docs/adr/0165-…md`, a capture from HMC V10R3 M1060: "An invalid
//! attribute was entered.  The invalid attribute is bogus_attr_xyz.  Please correct your
//! entry and retry the command.", exit status 1).

/// Whether an option takes a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Arity {
    /// `--force`: no value.
    Flag,
    /// `-m SYSTEM`: one value, any.
    Value,
    /// `-r lpar`: one value, one of these.
    OneOf(&'static [&'static str]),
}

use Arity::{Flag, OneOf, Value};

/// One command: its options.
struct Command {
    name: &'static str,
    options: &'static [(&'static str, Arity)],
}

/// The attribute names an attribute list (`list`: `-i` or `-a`) of `cmd -r resource
/// [--rsubtype subtype]` may hold.
struct Attributes {
    cmd: &'static str,
    list: &'static str,
    resource: &'static str,
    subtype: Option<&'static str>,
    names: &'static [&'static str],
}

/// The partition and profile attributes of `mksyscfg -r lpar|prof -i` and `chsyscfg -r prof
/// -i`: IBM/ansible-power-hmc `HMC_CMD_OPT['MKSYSCFG']['-I']` (and `['CHSYSCFG']['-I']`, a
/// subset but for `new_name`, `auto_priority_failover`, `vtpm_state`, `ipl_source`,
/// `power_off_policy`, `power_on_lpar_start_policy`).
const PROFILE_ATTRIBUTES: &[&str] = &[
    "name",
    "profile_name",
    "lpar_env",
    "min_mem",
    "desired_mem",
    "max_mem",
    "min_procs",
    "max_procs",
    "min_proc_units",
    "desired_proc_units",
    "max_proc_units",
    "desired_procs",
    "boot_mode",
    "sharing_mode",
    "proc_mode",
    "max_virtual_slots",
    "virtual_scsi_adapters",
    "virtual_eth_adapters",
    "console_slot",
    "lpar_name",
    "all_resources",
    "lpar_names",
    "lpar_ids",
    "profile_names",
    "hpt_ratio",
    "vtpm_enabled",
    "remote_restart_capable",
    "mem_expansion",
    "suspend_capable",
    "os400_restricted_io_mode",
    "shared_proc_pool_id",
    "simplified_remote_restart_capable",
    "mem_mode",
    "alt_restart_device_slot",
    "lpar_proc_compat_mode",
    "ppt_ratio",
    "secure_boot",
    "lpar_id",
    "uncap_weight",
    "time_ref",
    "primary_rs_vios_id",
    "primary_rs_vios_name",
    "secondary_rs_vios_name",
    "secondary_rs_vios_id",
    "allow_perf_collection",
    "hardware_mem_expansion",
    "hardware_mem_encryption",
    "sync_curr_profile",
    "lpar_avail_priority",
    "migration_disabled",
    "rs_device_name",
    "msp",
    "min_num_huge_pages",
    "desired_num_huge_pages",
    "max_num_huge_pages",
    "desired_io_entitled_mem",
    "primary_paging_vios_name",
    "primary_paging_vios_id",
    "secondary_paging_vios_name",
    "secondary_paging_vios_id",
    "bsr_arrays",
    "mem_weight",
    "affinity_group_id",
    "io_slots",
    "auto_start",
    "power_ctrl_lpar_ids",
    "power_ctrl_lpar_names",
    "conn_monitoring",
    "lpar_io_pool_ids",
    "virtual_eth_vsi_profiles",
    "virtual_fc_adapters",
    "virtual_serial_adapters",
    "virtual_opti_pool_id",
    "hsl_pool_id",
    "alt_console_slot",
    "op_console_slot",
    "load_source_slot",
    "keystore_kbytes",
    "sriov_roce_logical_ports",
    "powervm_mgmt_capable",
    "sriov_eth_logical_ports",
    "redundant_err_path_reporting",
    "work_group_id",
    "virtual_serial_num",
    "shared_proc_pool_name",
    "vtpm_version",
    "vtpm_encryption",
    "new_name",
    "auto_priority_failover",
    "vtpm_state",
    "ipl_source",
    "power_off_policy",
    "power_on_lpar_start_policy",
];

/// The commands, as IBM/ansible-power-hmc `HMC_CMD_OPT` builds them, with what the seeds add
/// (`migrlpar --redundantpgvios`, `--mpio`, `-u`; `chsysstate --force`: ams-dual-vios-and-lpm.txt
/// line 15; `viosvrcmd -t`: vios/README.md). `--help` is every command's.
const COMMANDS: &[Command] = &[
    Command {
        name: "chsysstate",
        options: &[
            ("-m", Value),
            ("-r", OneOf(&["lpar", "sys", "sysprof"])),
            (
                "-o",
                OneOf(&[
                    "on",
                    "onstandby",
                    "onstartpolicy",
                    "onsysprof",
                    "onhwdisc",
                    "off",
                    "rebuild",
                    "recover",
                    "spfailover",
                    "chkey",
                    "shutdown",
                    "osshutdown",
                    "dumprestart",
                    "retrydump",
                    "dston",
                    "remotedstoff",
                    "remotedston",
                    "consoleservice",
                    "iopreset",
                    "iopdump",
                    "unownediooff",
                ]),
            ),
            ("-f", Value),
            ("-k", OneOf(&["manual", "norm"])),
            ("-b", OneOf(&["norm", "dd", "ds", "of", "sms"])),
            ("--immed", Flag),
            ("-i", OneOf(&["a", "b", "c", "d"])),
            ("--restart", Flag),
            ("-n", Value),
            ("--id", Value),
            ("--force", Flag),
            ("--ip", Value),
            ("--gateway", Value),
            ("--serverip", Value),
            ("--serverdir", Value),
            ("--speed", Value),
            ("--duplex", Value),
            ("--mtu", Value),
            ("--vlan", Value),
        ],
    },
    Command {
        name: "mksyscfg",
        options: &[
            ("-r", OneOf(&["lpar", "prof", "sysprof"])),
            ("-m", Value),
            ("--id", Value),
            ("-f", Value),
            ("-i", Value),
            ("-p", Value),
            ("-n", Value),
            ("-o", OneOf(&["save"])),
            ("--force", Flag),
        ],
    },
    Command {
        name: "chsyscfg",
        options: &[
            ("-r", OneOf(&["lpar", "prof", "sysprof", "sys"])),
            ("-m", Value),
            ("-n", Value),
            ("-p", Value),
            ("-f", Value),
            ("-i", Value),
            ("-o", OneOf(&["apply"])),
            ("--force", Flag),
        ],
    },
    Command {
        name: "rmsyscfg",
        options: &[
            ("-r", OneOf(&["lpar", "prof", "sysprof"])),
            ("-m", Value),
            ("-n", Value),
            ("--id", Value),
            ("-p", Value),
            ("--vioscfg", Flag),
            ("--vdisk", Flag),
        ],
    },
    Command {
        name: "chhwres",
        options: &[
            ("-r", OneOf(&["io", "mem", "proc", "procpool", "mempool", "virtualio", "sriov", "hca"])),
            ("-m", Value),
            ("-o", OneOf(&["a", "r", "m", "s", "so", "rs"])),
            ("-p", Value),
            ("--id", Value),
            ("-t", Value),
            ("--tid", Value),
            ("-l", Value),
            ("-s", Value),
            ("-q", Value),
            ("--procs", Value),
            ("--procunits", Value),
            ("-w", Value),
            ("-d", Value),
            ("--force", Flag),
            ("--rsubtype", Value),
            ("--poolname", Value),
            ("--poolid", Value),
            ("--device", Value),
            ("-a", Value),
        ],
    },
    Command {
        name: "migrlpar",
        options: &[
            ("-o", OneOf(&["m", "v", "s", "r", "set"])),
            ("-m", Value),
            ("-t", Value),
            ("--ip", Value),
            ("-u", Value),
            ("-p", Value),
            ("--id", Value),
            ("-n", Value),
            ("-f", Value),
            ("-i", Value),
            ("-w", Value),
            ("-d", Value),
            ("--async", Flag),
            ("--all", Flag),
            ("--force", Flag),
            ("--redundantpgvios", OneOf(&["0", "1", "2"])),
            ("--redundantvios", OneOf(&["0", "1", "2"])),
            ("--mpio", OneOf(&["1", "2"])),
            ("--vlanbridge", OneOf(&["1", "2"])),
            ("--vsi", OneOf(&["1", "2"])),
            ("--uuid", OneOf(&["1", "2"])),
            ("--protectstorage", OneOf(&["1", "2"])),
            ("-v", Flag),
            ("--nodetails", Flag),
        ],
    },
    Command {
        name: "viosvrcmd",
        options: &[("-m", Value), ("-p", Value), ("--id", Value), ("-c", Value), ("-t", Value)],
    },
    Command {
        name: "lssyscfg",
        options: &[
            ("-r", OneOf(&["lpar", "sys", "prof", "sysprof", "frame", "cage", "sysmem"])),
            ("-m", Value),
            ("-e", Value),
            ("-F", Value),
            ("--filter", Value),
            ("--header", Flag),
        ],
    },
    Command {
        name: "lshwres",
        options: &[
            ("-r", Value),
            ("-m", Value),
            ("--level", Value),
            ("--rsubtype", Value),
            ("--filter", Value),
            ("-F", Value),
            ("--header", Flag),
        ],
    },
    Command {
        name: "lslparmigr",
        options: &[
            ("-r", OneOf(&["sys", "lpar", "msp", "procpool", "virtualio", "mempool", "manager"])),
            ("-m", Value),
            ("-t", Value),
            ("--ip", Value),
            ("-u", Value),
            ("--filter", Value),
            ("-F", Value),
            ("--header", Flag),
            ("--redundantpgvios", OneOf(&["0", "1", "2"])),
        ],
    },
    Command {
        name: "lshmc",
        options: &[
            ("-V", Flag),
            ("-v", Flag),
            ("-n", Flag),
            ("-b", Flag),
            ("-l", Flag),
            ("-L", Flag),
            ("-h", Flag),
            ("-i", Flag),
            ("-e", Flag),
            ("-r", Flag),
            ("--netroute", Flag),
            ("--firewall", Flag),
            ("-F", Value),
        ],
    },
    Command {
        name: "mkauthkeys",
        options: &[
            ("-g", Flag),
            ("--ip", Value),
            ("-u", Value),
            ("--passwd", Value),
            ("--test", Flag),
            ("-a", Value),
            ("-r", Value),
            ("-t", OneOf(&["rsa", "dsa"])),
        ],
    },
];

/// The attribute lists, per resource. Only attributes a public source attests are here (the
/// source above each list); an attribute the HMC may know but no source shows is refused like
/// an unknown one: stricter than an HMC, never laxer (tests/fixtures/hmc/README.md, "Command
/// syntax").
const ATTRIBUTES: &[Attributes] = &[
    Attributes { cmd: "mksyscfg", list: "-i", resource: "lpar", subtype: None, names: PROFILE_ATTRIBUTES },
    Attributes { cmd: "mksyscfg", list: "-i", resource: "prof", subtype: None, names: PROFILE_ATTRIBUTES },
    Attributes { cmd: "chsyscfg", list: "-i", resource: "prof", subtype: None, names: PROFILE_ATTRIBUTES },
    // IBM's `chsyscfg` man page (POWER9 HMC): `name` and `new_name` are partition (`-r lpar`)
    // attributes, "not allowed with the chsyscfg -r prof command" (tests/fixtures/hmc/README.md,
    // "VCS profile copies"); the other partition attributes are not attested here and are
    // refused.
    Attributes { cmd: "chsyscfg", list: "-i", resource: "lpar", subtype: None, names: &["name", "new_name"] },
    // Shared processor pools: tests/fixtures/hmc/README.md, "Shared processor pools".
    Attributes {
        cmd: "chhwres",
        list: "-a",
        resource: "procpool",
        subtype: None,
        names: &["new_name", "max_pool_proc_units", "reserved_pool_proc_units"],
    },
    // seeds: ams-dual-vios-and-lpm.txt, Listing 1.
    Attributes {
        cmd: "chhwres",
        list: "-a",
        resource: "mempool",
        subtype: None,
        names: &["pool_mem", "max_pool_mem", "paging_vios_names"],
    },
    // seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, line 845.
    Attributes {
        cmd: "chhwres",
        list: "-a",
        resource: "virtualio",
        subtype: Some("eth"),
        names: &["ieee_virtual_eth", "port_vlan_id", "addl_vlan_ids", "is_trunk", "trunk_priority", "vswitch"],
    },
    // Storage provisioning: tests/fixtures/hmc/README.md, "Storage provisioning" (the server
    // adapter's DLPAR, from public scripts that run it).
    Attributes {
        cmd: "chhwres",
        list: "-a",
        resource: "virtualio",
        subtype: Some("scsi"),
        names: &["adapter_type", "remote_lpar_name", "remote_slot_num"],
    },
    Attributes {
        cmd: "chhwres",
        list: "-a",
        resource: "virtualio",
        subtype: Some("fc"),
        names: &["adapter_type", "remote_lpar_name", "remote_slot_num"],
    },
    // IBM/ansible-power-hmc `HMC_CMD_OPT['CHHWRES']['-A']` (`chhwres -r mem -o s`).
    Attributes {
        cmd: "chhwres",
        list: "-a",
        resource: "mem",
        subtype: None,
        names: &["requested_num_sys_huge_pages", "pend_mem_region_size", "mem_mirroring_mode"],
    },
    // seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, lines 1522-1524.
    Attributes {
        cmd: "migrlpar",
        list: "-i",
        resource: "",
        subtype: None,
        names: &["source_msp_name", "dest_msp_name"],
    },
];

/// A refusal as the HMC words it. `InvalidAttribute` is attested (module documentation); the
/// others are the emulator's, in the same form, **an assumption**: no public transcript of an
/// HMC refusing an unknown option was found (tests/fixtures/hmc/README.md, "Command syntax").
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Refusal {
    /// An option the command does not have.
    #[error(
        "An invalid parameter was entered.  The invalid parameter is {0}.  Please correct your entry and retry the command."
    )]
    InvalidParameter(String),
    /// An option given without its value.
    #[error("The {0} parameter requires a value.  Please correct your entry and retry the command.")]
    MissingValue(String),
    /// An enumerated option with a value it does not take.
    #[error("The value {value} for the {option} parameter is not valid.  Valid values are: {valid}.")]
    InvalidValue { option: String, value: String, valid: String },
    /// An attribute the list does not have.
    #[error(
        "An invalid attribute was entered.  The invalid attribute is {0}.  Please correct your entry and retry the command."
    )]
    InvalidAttribute(String),
    /// An attribute list that does not parse.
    #[error("The attribute list \"{0}\" is not valid.")]
    BadList(String),
}

/// How `cmd` takes option `opt`; `None` when it has no such option (or `cmd` is not one of the
/// HMC's commands here).
pub(crate) fn arity(cmd: &str, opt: &str) -> Option<Arity> {
    if opt == "--help" {
        return Some(Flag);
    }
    COMMANDS.iter().find(|c| c.name == cmd)?.options.iter().find(|(o, _)| *o == opt).map(|(_, a)| *a)
}

/// Whether `cmd` is a command whose syntax is known here.
pub(crate) fn knows(cmd: &str) -> bool {
    COMMANDS.iter().any(|c| c.name == cmd)
}

/// Checks one command line (`words`, the command first): each option is one of the command's,
/// with its value when it takes one and an allowed value when they are enumerated, and each
/// attribute of an `-i`/`-a` list is one the resource has.
pub(crate) fn check(words: &[String]) -> Result<(), Refusal> {
    let Some(cmd) = words.first().map(String::as_str) else { return Ok(()) };
    if !knows(cmd) {
        return Ok(());
    }
    let mut given: Vec<(&str, Option<&str>)> = Vec::new();
    let mut it = words[1..].iter().map(String::as_str);
    while let Some(w) = it.next() {
        let Some(a) = arity(cmd, w) else {
            return Err(Refusal::InvalidParameter(w.to_owned()));
        };
        match a {
            Flag => given.push((w, None)),
            Value | OneOf(_) => {
                let v = it.next().ok_or_else(|| Refusal::MissingValue(w.to_owned()))?;
                if let OneOf(valid) = a
                    && !valid.contains(&v)
                {
                    return Err(Refusal::InvalidValue {
                        option: w.to_owned(),
                        value: v.to_owned(),
                        valid: valid.join(", "),
                    });
                }
                given.push((w, Some(v)));
            }
        }
    }
    let value = |o: &str| given.iter().find(|(k, _)| *k == o).and_then(|(_, v)| *v);
    let resource = value("-r").unwrap_or("");
    let subtype = value("--rsubtype");
    for list in ["-i", "-a"] {
        let Some(text) = value(list) else { continue };
        let Some(set) = ATTRIBUTES
            .iter()
            .find(|s| s.cmd == cmd && s.list == list && s.resource == resource && s.subtype == subtype)
        else {
            continue;
        };
        let attrs = crate::backend::hmc::parse_line(text, 1).map_err(|_| Refusal::BadList(text.to_owned()))?;
        for k in attrs.keys() {
            // `virtual_eth_adapters+=…`, `-=`: the list operators of `chsyscfg` (IBM's man page).
            let name = k.trim_end_matches(['+', '-']);
            if !set.names.contains(&name) {
                return Err(Refusal::InvalidAttribute(name.to_owned()));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        shlex::split(line).unwrap()
    }

    #[test]
    fn the_seeds_command_lines_are_accepted() {
        // seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt and
        // ams-dual-vios-and-lpm.txt, as written there (placeholders filled in).
        for line in [
            "migrlpar -o m -m wilma -t visa -p upt07 --redundantpgvios 0",
            r#"migrlpar -o v -m wilma -t visa -p upt07 -i "source_msp_name=wilmav2,dest_msp_name=visav2""#,
            r#"chhwres -r mempool -m p6 -o a -a "pool_mem=1024,max_pool_mem=4096,\"paging_vios_names=v1,v2\"""#,
            "chhwres -r mempool -m p6 -o a -p v2 --rsubtype pgdev --device hdisk17",
            "chhwres -r mem -m p6 -p lpar_6 -o so",
            r#"chhwres -r virtualio -m p72 -o a -p vio1 --rsubtype eth -a "ieee_virtual_eth=1,port_vlan_id=1,\"addl_vlan_ids=10,11\",is_trunk=1,trunk_priority=1""#,
            "mksyscfg -r prof -m p72 -o save -p p72vio1 -n default --force",
            "chsysstate -m p6 -r lpar -o on -n lpar_6 -f default --force",
        ] {
            assert_eq!(check(&words(line)), Ok(()), "{line}");
        }
    }

    #[test]
    fn an_unknown_option_is_refused_by_name() {
        assert_eq!(
            check(&words("chsysstate -m p6 -r lpar -o on -n x --bogus")),
            Err(Refusal::InvalidParameter("--bogus".into()))
        );
        assert_eq!(check(&words("chsysstate -m p6 -r lpar -o on -n")), Err(Refusal::MissingValue("-n".into())));
    }

    #[test]
    fn an_enumerated_option_takes_only_its_values() {
        let e = check(&words("migrlpar -o m -m a -t b -p c --redundantpgvios 3")).unwrap_err();
        assert!(
            matches!(&e, Refusal::InvalidValue { option, value, .. } if option == "--redundantpgvios" && value == "3")
        );
        assert!(e.to_string().contains("0, 1, 2"), "{e}");
    }

    #[test]
    fn an_unknown_attribute_is_refused_with_the_hmcs_words() {
        let e = check(&words(r#"chsyscfg -r prof -m p6 -i "name=default,lpar_name=x,bogus_attr_xyz=1""#)).unwrap_err();
        // As a live HMC prints it (module documentation).
        assert_eq!(
            e.to_string(),
            "An invalid attribute was entered.  The invalid attribute is bogus_attr_xyz.  Please correct your entry and retry the command."
        );
        // A pool's attributes are not a partition's.
        assert_eq!(
            check(&words(r#"chhwres -r procpool -m p6 -o s --poolname P -a "desired_mem=1""#)),
            Err(Refusal::InvalidAttribute("desired_mem".into()))
        );
        // The list operators name the attribute they change.
        assert_eq!(
            check(&words(r#"chsyscfg -r prof -m p6 -i "name=d,lpar_name=x,virtual_eth_adapters+=3/0/5//0/0""#)),
            Ok(())
        );
    }
}
