//! The listing commands the HMC backend observes an estate with, and the fields it asks each
//! for with `-F`: one list, read by the backend and answered by the emulator (`sim
//! hmc-shell`), so that both speak of the same columns.
//!
//! The attribute names are the HMC's (`lssyscfg`, `lshwres`, `lslparmigr`) and the VIOS's
//! (`lsdev`, `lspv`, `entstat`, `lsmap`, through `viosvrcmd`), as the seeds and IBM's man pages
//! list them; `tests/fixtures/hmc/README.md` (and `vios/README.md`) cite a source for each and
//! hold real listings the backend's parsers are tested against.

/// `lssyscfg -r sys`: the managed systems this HMC manages.
pub(crate) const SYS: &[&str] = &["name", "type_model", "serial_num", "state", "lpar_proc_compat_modes"];

/// `lshwres -r mem -m SYS --level sys`: memory usable by partitions.
pub(crate) const SYS_MEM: &[&str] = &["configurable_sys_mem", "curr_avail_sys_mem"];

/// `lshwres -r proc -m SYS --level sys`: processing units usable by partitions.
pub(crate) const SYS_PROC: &[&str] = &["configurable_sys_proc_units", "curr_avail_sys_proc_units"];

/// `lssyscfg -r lpar -m SYS`: every partition, VIOS included (`lpar_env=vioserver`), with the
/// profile it runs with (`curr_profile`, empty when never activated) and the one it activates
/// with by default (`default_profile`). IBM's `lssyscfg` man page; a partition the HMC creates
/// has the profile `default_profile` (IBM/ansible-power-hmc `hmc_resource.py`).
pub(crate) const LPAR: &[&str] =
    &["name", "lpar_id", "lpar_env", "state", "rmc_state", "msp", "curr_profile", "default_profile"];

/// `lssyscfg -r prof -m SYS`: every profile of every partition (a partition may have several:
/// `default_profile`, `normal`, `backup`, `<lpar>_cdrom`); the backend reads the one
/// `lssyscfg -r lpar` names.
// seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, lines 90-99 (minimum,
// desired and maximum memory, processing units and virtual processors; sharing mode, weight).
pub(crate) const PROF: &[&str] = &[
    "lpar_name",
    "name",
    "min_mem",
    "desired_mem",
    "max_mem",
    "mem_mode",
    "proc_mode",
    "min_proc_units",
    "desired_proc_units",
    "max_proc_units",
    "min_procs",
    "desired_procs",
    "max_procs",
    "sharing_mode",
    "uncap_weight",
    "shared_proc_pool_name",
    "lpar_proc_compat_mode",
    "primary_paging_vios_name",
    "secondary_paging_vios_name",
    "virtual_eth_adapters",
    // Physical I/O slots, `none` or `DRC/pool/required,…` (the recorded POWER5 profiles,
    // tests/fixtures/hmc/lssyscfg-r-prof.power5-v7.txt; IBM/ansible-power-hmc issue #23):
    // a partition with any cannot be migrated (`powerplane_model::physical_io`).
    "io_slots",
];

/// `lshwres -r mem -m SYS --level lpar`: memory each partition has now, and its paging VIOS.
// seeds: ams-dual-vios-and-lpm.txt, Listing 2 (`-F curr_paging_vios_name`).
pub(crate) const LPAR_MEM: &[&str] = &["lpar_name", "lpar_id", "curr_mem", "curr_paging_vios_name"];

/// `lshwres -r proc -m SYS --level lpar`: processors each partition has now.
pub(crate) const LPAR_PROC: &[&str] = &["lpar_name", "lpar_id", "curr_proc_units", "curr_procs"];

/// `lshwres -r procpool -m SYS`: shared processor pools. A frame with multiple pools lists all
/// 64, `DefaultPool` (id 0, `null` maximum) and `SharedPool01`..`SharedPool63`, the unused ones
/// with maximum 0 (pypowervm's `tests/data/shrprocpool.txt`; IBM's `lshwres` man page).
pub(crate) const PROCPOOL: &[&str] =
    &["name", "shared_proc_pool_id", "max_pool_proc_units", "curr_reserved_pool_proc_units"];

/// `lshwres -r mempool -m SYS`: the shared memory pool.
// seeds: ams-dual-vios-and-lpm.txt, Listing 1 (`pool_mem`, `max_pool_mem`, `paging_vios_names`).
pub(crate) const MEMPOOL: &[&str] = &["curr_pool_mem", "curr_max_pool_mem", "paging_vios_names"];

/// `lshwres -r mempool -m SYS --rsubtype pgdev`: its paging devices, as the seed lists them.
// seeds: ams-dual-vios-and-lpm.txt, Listing 1 (line 41).
pub(crate) const PGDEV: &[&str] = &[
    "device_name",
    "paging_vios_name",
    "paging_vios_id",
    "size",
    "type",
    "state",
    "phys_loc",
    "is_redundant",
    "redundant_device_name",
    "redundant_paging_vios_name",
    "redundant_paging_vios_id",
    "redundant_state",
    "redundant_phys_loc",
    "lpar_name",
];

/// `lshwres -r virtualio --rsubtype eth -m SYS --level lpar`: virtual ethernet adapters.
// seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, lines 844-852.
pub(crate) const VETH: &[&str] =
    &["lpar_name", "slot_num", "is_trunk", "trunk_priority", "ieee_virtual_eth", "port_vlan_id", "addl_vlan_ids"];

/// `lslparmigr -r lpar -m SYS`: migrations in flight or awaiting recovery.
pub(crate) const LPARMIGR: &[&str] = &[
    "name",
    "migration_state",
    "migration_type",
    "dest_sys_name",
    "source_msp_name",
    "dest_msp_name",
    "bytes_transmitted",
    "bytes_remaining",
];

/// `lslparmigr -r sys -m SYS`: how many migrations the frame takes at once and how many run
/// (IBM's `lslparmigr` man page; the values of pypowervm's POWER7 sample,
/// `tests/fixtures/hmc/lslparmigr-r-sys-F.power8-values.reconstructed.txt`). A frame that
/// cannot migrate partitions answers with a refusal: no limit is read.
pub(crate) const LPARMIGR_SYS: &[&str] = &[
    "num_active_migrations_supported",
    "num_active_migrations_in_progress",
    "num_inactive_migrations_supported",
    "num_inactive_migrations_in_progress",
];

/// `viosvrcmd -c "lsdev -type adapter -field name physloc description -fmt :"`: a VIOS's
/// adapters; a virtual one's location code ends in `-C<slot>-T1`.
pub(crate) const VIOS_ADAPTERS: &str = "lsdev -type adapter -field name physloc description -fmt :";

/// `viosvrcmd -c "lspv -size -fmt :"`: the disks a VIOS sees, `name:pvid:size in MB` (an MPIO
/// FC disk has no `size_in_mb` attribute, so the size comes from here). IBM's VIOS `lspv`
/// man page; `tests/fixtures/hmc/vios/lspv-size-fmt.txt`.
pub(crate) const VIOS_DISKS: &str = "lspv -size -fmt :";

/// `viosvrcmd -c "lsmap -all -type disk -field svsa clientid backing -fmt :"`: virtual SCSI
/// mappings, per server adapter (`vhostN`, whose slot `lsdev` gives), the client partition's
/// id (0 while it does not run) and the disks mapped to it. IBM's `lsmap` man page (fields
/// `svsa`, `clientid`, `backing`); ansible-power-vios `mapping_facts.py` (vios/README.md S9).
pub(crate) const VIOS_VSCSI: &str = "lsmap -all -type disk -field svsa clientid backing -fmt :";

/// `viosvrcmd -c "lsmap -all -npiv -field name clntid clntname status fc -fmt :"`: NPIV
/// mappings, the server adapter, the client's id (decimal) and name, whether it logged in, and
/// the physical port. NPIV has no `backing` field: the LUNs are zoned to the client's own
/// WWPNs, which the VIOS does not see (IBM's `lsmap` man page; IBM/ansible-power-vios
/// `mapping_facts.py`; `tests/fixtures/hmc/vios/lsmap-all-npiv-field-fmt.txt`).
pub(crate) const VIOS_NPIV: &str = "lsmap -all -npiv -field name clntid clntname status fc -fmt :";

/// The description `lsdev` gives a virtual SCSI server adapter (`vhostN`): a VIOS without one
/// has no virtual SCSI mapping (tests/fixtures/hmc/vios/README.md, "lsdev").
pub(crate) const VSCSI_SERVER: &str = "Virtual SCSI Server Adapter";

/// The description `lsdev` gives a virtual Fibre Channel server adapter (`vfchostN`): a VIOS
/// without one has no NPIV mapping.
pub(crate) const NPIV_SERVER: &str = "Virtual FC Server Adapter";

/// The description `lsdev` gives a Shared Ethernet Adapter.
pub(crate) const SEA_DESCRIPTION: &str = "Shared Ethernet Adapter";

/// What `lsdev` calls a physical fibre channel port the emulated VIOS has: an assumption, the
/// description of an IBM 8 Gb adapter as AIX names it; the HMC backend reads ports by their
/// `fcsN` name, not by this text.
pub(crate) const FC_PORT_DESCRIPTION: &str = "8Gb PCI Express Dual Port FC Adapter (df1000f114108a03)";

/// `lshwres -r virtualio --rsubtype scsi|fc -m SYS --level lpar`: server and client adapters
/// (tests/fixtures/hmc/lshwres-r-virtualio-rsubtype-scsi-level-lpar.power5-v7.txt).
pub(crate) const VSTORAGE: &[&str] = &["lpar_name", "slot_num", "adapter_type", "remote_lpar_name", "remote_slot_num"];

/// `lshmc -V`: the HMC's version as `base_version` names it (`V8R8.2.0`), else from its
/// `Version:` and `Release:` lines. The answer is one quoted record over several lines
/// (tests/fixtures/hmc/lshmc-V.*.txt: V7R7.9.0 and V8R8.2.0 recorded, V9/V10 reconstructed).
pub(crate) const HMC_VERSION: &str = "lshmc -V";

/// Reads [`HMC_VERSION`]'s answer.
pub(crate) fn hmc_version(text: &str) -> Option<String> {
    if let Some(i) = text.find("base_version=") {
        let v: String = text[i + "base_version=".len()..]
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '"' && *c != ',')
            .collect();
        if !v.is_empty() {
            return Some(v);
        }
    }
    let field =
        |k: &str| text.lines().find_map(|l| l.split_once(k).map(|(_, v)| v.trim().trim_end_matches('"').to_owned()));
    Some(format!("V{}R{}", field("Version:")?, field("Release:")?))
}

/// `-F a,b,c`.
pub(crate) fn fields(f: &[&str]) -> String {
    f.join(",")
}
