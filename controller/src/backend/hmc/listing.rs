//! The listing commands the HMC backend observes an estate with, and the fields it asks each
//! for with `-F`: one list, read by the backend and answered by the emulator (`sim
//! hmc-shell`), so that both speak of the same columns.
//!
//! The attribute names are the HMC's (`lssyscfg`, `lshwres`, `lslparmigr`) and the VIOS's
//! (`lsdev`, `entstat`, `lsmap`, through `viosvrcmd`), as the seeds list them.

/// `lssyscfg -r sys`: the managed systems this HMC manages.
pub(crate) const SYS: &[&str] = &["name", "type_model", "serial_num", "state", "lpar_proc_compat_modes"];

/// `lshwres -r mem -m SYS --level sys`: memory usable by partitions.
pub(crate) const SYS_MEM: &[&str] = &["configurable_sys_mem", "curr_avail_sys_mem"];

/// `lshwres -r proc -m SYS --level sys`: processing units usable by partitions.
pub(crate) const SYS_PROC: &[&str] = &["configurable_sys_proc_units", "curr_avail_sys_proc_units"];

/// `lssyscfg -r lpar -m SYS`: every partition, VIOS included (`lpar_env=vioserver`).
pub(crate) const LPAR: &[&str] = &["name", "lpar_id", "lpar_env", "state", "rmc_state", "msp"];

/// `lssyscfg -r prof -m SYS`: each partition's profile (`default`).
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
];

/// `lshwres -r mem -m SYS --level lpar`: memory each partition has now, and its paging VIOS.
// seeds: ams-dual-vios-and-lpm.txt, Listing 2 (`-F curr_paging_vios_name`).
pub(crate) const LPAR_MEM: &[&str] = &["lpar_name", "curr_mem", "curr_paging_vios_name"];

/// `lshwres -r proc -m SYS --level lpar`: processors each partition has now.
pub(crate) const LPAR_PROC: &[&str] = &["lpar_name", "curr_proc_units", "curr_procs"];

/// `lshwres -r procpool -m SYS`: shared processor pools.
pub(crate) const PROCPOOL: &[&str] = &["name", "max_pool_proc_units", "curr_reserved_pool_proc_units"];

/// `lshwres -r mempool -m SYS`: the shared memory pool.
// seeds: ams-dual-vios-and-lpm.txt, Listing 1 (`pool_mem`, `max_pool_mem`, `paging_vios_names`).
pub(crate) const MEMPOOL: &[&str] = &["curr_pool_mem", "curr_max_pool_mem", "paging_vios_names"];

/// `lshwres -r mempool -m SYS --rsubtype pgdev`: its paging devices.
// seeds: ams-dual-vios-and-lpm.txt, Listing 1.
pub(crate) const PGDEV: &[&str] =
    &["device_name", "paging_vios_name", "size", "state", "is_redundant", "redundant_paging_vios_name", "lpar_name"];

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

/// `viosvrcmd -c "lsdev -type adapter -field name physloc description -fmt :"`: a VIOS's
/// adapters; a virtual one's location code ends in `-C<slot>-T1`.
pub(crate) const VIOS_ADAPTERS: &str = "lsdev -type adapter -field name physloc description -fmt :";

/// `viosvrcmd -c "lsdev -type disk -field name -fmt :"`: the disks a VIOS sees.
pub(crate) const VIOS_DISKS: &str = "lsdev -type disk -field name -fmt :";

/// `viosvrcmd -c "lsmap -all -type disk -field clientid backing -fmt :"`: virtual SCSI
/// mappings, the client partition's id and the disk behind it.
pub(crate) const VIOS_VSCSI: &str = "lsmap -all -type disk -field clientid backing -fmt :";

/// `viosvrcmd -c "lsmap -all -npiv -field clntid backing -fmt :"`: NPIV mappings, the client's
/// id and the LUN's disk as this VIOS sees it.
pub(crate) const VIOS_NPIV: &str = "lsmap -all -npiv -field clntid backing -fmt :";

/// The description `lsdev` gives a Shared Ethernet Adapter.
pub(crate) const SEA_DESCRIPTION: &str = "Shared Ethernet Adapter";

/// `-F a,b,c`.
pub(crate) fn fields(f: &[&str]) -> String {
    f.join(",")
}
