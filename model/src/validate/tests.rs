//! One test per rule: the base estate is clean (the negative case of every rule), and each
//! test edits it to break exactly one rule (the positive case).

use crate::diagnostic::{Diagnostic, Rule, Severity};
use crate::load::{load_inventory, load_manifests};
use crate::source::SourceFile;

const BASE: &str = r#"
apiVersion: powerplane/v1
kind: Frame
metadata: {name: fa, labels: {site: x, tier: gold}}
---
apiVersion: powerplane/v1
kind: Frame
metadata: {name: fb, labels: {site: x}}
---
apiVersion: powerplane/v1
kind: ViosPair
metadata: {name: pa}
spec:
  frame: fa
  members:
    - {name: va1, state: running}
    - {name: va2, state: running}
---
apiVersion: powerplane/v1
kind: ViosPair
metadata: {name: pb}
spec:
  frame: fb
  members:
    - {name: vb1}
---
apiVersion: powerplane/v1
kind: SharedEthernetAdapter
metadata: {name: sa}
spec:
  viosPair: pa
  haMode: sharing
  primary: va1
  realAdapter: ent0
  controlChannel: ent3
  trunks:
    - {adapter: ent1, pvid: 1, vlans: [10, 11]}
    - {adapter: ent2, pvid: 2, vlans: [12, 13]}
---
apiVersion: powerplane/v1
kind: SharedEthernetAdapter
metadata: {name: sb}
spec:
  viosPair: pb
  haMode: disabled
  primary: vb1
  realAdapter: ent0
  trunks:
    - {adapter: ent1, pvid: 1, vlans: [10]}
---
apiVersion: powerplane/v1
kind: SharedMemoryPool
metadata: {name: ma}
spec:
  frame: fa
  poolMemMB: 4096
  maxPoolMemMB: 8192
  pagingVios: [va1, va2]
  pagingDevices:
    - {device: hdisk1, sizeMB: 8192}
    - {device: hdisk2, sizeMB: 8192}
---
apiVersion: powerplane/v1
kind: SharedProcessorPool
metadata: {name: prod-on-fa}
spec:
  frame: fa
  poolName: prod
  maxProcUnits: 4
---
apiVersion: powerplane/v1
kind: Partition
metadata: {name: amsp}
spec:
  placement: {frame: fa}
  processors: {units: 0.5, virtual: 1}
  memory:
    mode: shared
    desiredMB: 2048
    maxMB: 4096
    paging: {redundancy: required, primary: 1}
  network:
    - vlan: 10
---
apiVersion: powerplane/v1
kind: Partition
metadata: {name: app}
spec:
  placement: {anyOf: [fa, fb]}
  processors: {units: 1, compat: POWER7}
  memory: {desiredMB: 4096, maxMB: 8192}
  network:
    - vlan: 10
  storage:
    - {lun: L1, via: vscsi}
---
apiVersion: powerplane/v1
kind: Partition
metadata: {name: web}
spec:
  placement: {selector: {labels: {site: x}}}
  processors: {pool: prod, units: 1}
  memory: {desiredMB: 2048, maxMB: 4096}
"#;

const HARDWARE: &str = r#"
apiVersion: powerplane/v1
kind: FrameHardware
metadata: {name: fa}
spec:
  serial: "A1"
  machineType: "8233-E8B"
  memoryMB: 65536
  procUnits: 8
  compatModes: [POWER6, POWER7]
  vios:
    - name: va1
      memoryMB: 4096
      procUnits: 1.0
      ethernet: [ent0, ent1, ent2, ent3]
      disks:
        - {name: hdisk1, lun: P1, sizeMB: 8192, reservePolicy: no_reserve}
        - {name: hdisk2, lun: P2, sizeMB: 8192, reservePolicy: no_reserve}
        - {name: hdisk9, lun: L1, sizeMB: 20480, reservePolicy: no_reserve}
    - name: va2
      memoryMB: 4096
      procUnits: 1.0
      ethernet: [ent0, ent1, ent2, ent3]
      disks:
        - {name: hdisk1, lun: P1, sizeMB: 8192, reservePolicy: no_reserve}
        - {name: hdisk2, lun: P2, sizeMB: 8192, reservePolicy: no_reserve}
---
apiVersion: powerplane/v1
kind: FrameHardware
metadata: {name: fb}
spec:
  serial: "B1"
  machineType: "7998-61X"
  memoryMB: 16384
  procUnits: 4
  compatModes: [POWER6, POWER7]
  vios:
    - name: vb1
      memoryMB: 2048
      procUnits: 0.5
      ethernet: [ent0, ent1]
      disks:
        - {name: hdisk1, lun: L1, sizeMB: 20480, reservePolicy: no_reserve}
"#;

/// Replaces `from` by `to`, failing the test when `from` is absent (an edit that does nothing
/// would make a test that cannot fail).
fn edit(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "edit target not found: {from}");
    text.replacen(from, to, 1)
}

fn findings(manifests: &str, hardware: Option<&str>) -> Vec<Diagnostic> {
    let desired = load_manifests(&[SourceFile::new("m.yaml", manifests)]).unwrap_or_else(|e| panic!("{:#?}", e.0));
    let observed = hardware.map(|h| load_inventory(&[SourceFile::new("inv.yaml", h)]).unwrap());
    super::validate(&desired, observed.as_ref())
}

fn rules(manifests: &str, hardware: Option<&str>) -> Vec<Rule> {
    findings(manifests, hardware).into_iter().map(|d| d.rule).collect()
}

#[track_caller]
fn assert_fires(manifests: &str, hardware: Option<&str>, rule: Rule) -> Diagnostic {
    let all = findings(manifests, hardware);
    all.iter().find(|d| d.rule == rule).cloned().unwrap_or_else(|| panic!("expected {rule}, got {:#?}", all))
}

#[test]
fn base_estate_is_clean_with_and_without_hardware() {
    assert_eq!(rules(BASE, None), vec![]);
    assert_eq!(rules(BASE, Some(HARDWARE)), vec![]);
}

#[test]
fn dangling_references_name_the_field() {
    let d =
        assert_fires(&edit(BASE, "placement: {frame: fa}", "placement: {frame: fz}"), None, Rule::DanglingReference);
    let loc = d.location.clone().unwrap();
    assert_eq!((loc.line, loc.column), (75, 15), "{d}");
    assert!(d.message.contains("`fz`"));
    assert!(d.hint.contains("`fa`, `fb`"));
    assert_fires(&edit(BASE, "anyOf: [fa, fb]", "anyOf: [fa, fq]"), None, Rule::DanglingReference);
    assert_fires(&edit(BASE, "viosPair: pb", "viosPair: pq"), None, Rule::DanglingReference);
    assert_fires(&edit(BASE, "pagingVios: [va1, va2]", "pagingVios: [va1, vb1]"), None, Rule::DanglingReference);
    assert_fires(
        &edit(BASE, "processors: {pool: prod, units: 1}", "processors: {pool: nope, units: 1}"),
        None,
        Rule::DanglingReference,
    );
    assert_fires(
        &edit(BASE, "spec:\n  frame: fa\n  poolName", "spec:\n  frame: fq\n  poolName"),
        None,
        Rule::DanglingReference,
    );
    assert_fires(
        &edit(BASE, "spec:\n  frame: fb\n  members", "spec:\n  frame: fq\n  members"),
        None,
        Rule::DanglingReference,
    );
}

#[test]
fn vios_in_two_pairs_and_partition_named_like_a_vios() {
    let two_pairs = edit(
        BASE,
        "    - {name: vb1}",
        "    - {name: vb1}\n---\napiVersion: powerplane/v1\nkind: ViosPair\nmetadata: {name: pc}\nspec: {frame: fb, members: [{name: vb1}]}",
    );
    assert_fires(&two_pairs, None, Rule::NameConflict);
    assert_fires(&edit(BASE, "metadata: {name: amsp}", "metadata: {name: va1}"), None, Rule::NameConflict);
}

#[test]
fn vios_pair_has_one_or_two_distinct_members() {
    assert_fires(
        &edit(BASE, "    - {name: va2, state: running}", "    - {name: va2}\n    - {name: va3}"),
        None,
        Rule::ViosPairMembers,
    );
    assert_fires(&edit(BASE, "    - {name: va2, state: running}", "    - {name: va1}"), None, Rule::ViosPairMembers);
}

#[test]
fn one_sea_per_vios_pair() {
    let second = edit(
        BASE,
        "metadata: {name: sb}",
        "metadata: {name: sb}\nspec: {viosPair: pa, haMode: auto, primary: va1, realAdapter: ent5, controlChannel: ent6, trunks: [{adapter: ent7, pvid: 7}]}\n---\napiVersion: powerplane/v1\nkind: SharedEthernetAdapter\nmetadata: {name: sc}",
    );
    let d = assert_fires(&second, None, Rule::SeaPerViosPair);
    assert!(d.message.contains("already has SEA `sa`"), "{d}");
}

#[test]
fn sea_priorities() {
    assert_fires(&edit(BASE, "primary: va1", "primary: vb1"), None, Rule::SeaPriority);
    assert_fires(&edit(BASE, "haMode: disabled", "haMode: auto\n  controlChannel: ent9"), None, Rule::SeaPriority);
    assert_fires(&edit(BASE, "haMode: sharing", "haMode: disabled"), None, Rule::SeaPriority);
}

#[test]
fn sea_adapters() {
    assert_fires(&edit(BASE, "  controlChannel: ent3\n", ""), None, Rule::SeaAdapters);
    assert_fires(&edit(BASE, "{adapter: ent2, pvid: 2", "{adapter: ent0, pvid: 2"), None, Rule::SeaAdapters);
    // auto needs no second trunk: not a load-sharing problem
    assert!(!rules(&edit(BASE, "haMode: sharing", "haMode: auto"), None).contains(&Rule::LoadSharingPrerequisites));
}

#[test]
fn load_sharing_needs_two_trunks() {
    let one = edit(BASE, "    - {adapter: ent2, pvid: 2, vlans: [12, 13]}\n", "");
    let d = assert_fires(&one, None, Rule::LoadSharingPrerequisites);
    assert!(d.message.contains("has 1"));
}

#[test]
fn vlan_on_two_trunks() {
    assert_fires(&edit(BASE, "vlans: [12, 13]", "vlans: [11, 13]"), None, Rule::VlanOnTwoTrunks);
}

#[test]
fn one_memory_pool_per_frame() {
    let second = edit(
        BASE,
        "metadata: {name: ma}",
        "metadata: {name: ma}\nspec: {frame: fa, poolMemMB: 1024, maxPoolMemMB: 1024, pagingVios: [va1]}\n---\napiVersion: powerplane/v1\nkind: SharedMemoryPool\nmetadata: {name: mb}",
    );
    assert_fires(&second, None, Rule::MemoryPoolPerFrame);
}

#[test]
fn paging_vios_count() {
    let three = edit(BASE, "pagingVios: [va1, va2]", "pagingVios: [va1, va2, va1]");
    let d = assert_fires(&three, None, Rule::PagingViosCount);
    assert!(d.message.contains("lists 3"), "{d}");
    assert_fires(&edit(BASE, "pagingVios: [va1, va2]", "pagingVios: []"), None, Rule::PagingViosCount);
    assert_fires(&edit(BASE, "pagingVios: [va1, va2]", "pagingVios: [va1, va1]"), None, Rule::PagingViosCount);
}

#[test]
fn paging_device_too_small() {
    let d = assert_fires(
        &edit(BASE, "    maxMB: 4096\n    paging", "    maxMB: 16384\n    paging"),
        None,
        Rule::PagingDeviceTooSmall,
    );
    assert!(d.message.contains("8192 MB"), "{d}");
    assert_eq!(d.object.unwrap().to_string(), "Partition/amsp");
}

#[test]
fn paging_devices_must_fit_every_partition() {
    let two = edit(BASE, "    - {device: hdisk2, sizeMB: 8192}", "    - {device: hdisk2, sizeMB: 2048}");
    let second = edit(
        &two,
        "metadata: {name: web}",
        "metadata: {name: ams2}\nspec:\n  placement: {frame: fa}\n  processors: {units: 0.5}\n  memory: {mode: shared, desiredMB: 1024, maxMB: 4096, paging: {redundancy: none}}\n---\napiVersion: powerplane/v1\nkind: Partition\nmetadata: {name: web}",
    );
    let d = assert_fires(&second, None, Rule::PagingDeviceTooSmall);
    assert_eq!(d.object.unwrap().to_string(), "SharedMemoryPool/ma");
}

#[test]
fn common_paging_devices_and_device_count() {
    let three = |redundancy: &str| {
        let mut t = BASE.to_owned();
        for n in ["r2", "r3"] {
            t = edit(
                &t,
                "metadata: {name: web}",
                &format!(
                    "metadata: {{name: {n}}}\nspec:\n  placement: {{frame: fa}}\n  processors: {{units: 0.5}}\n  memory: {{mode: shared, desiredMB: 1024, maxMB: 4096, paging: {{redundancy: {redundancy}}}}}\n---\napiVersion: powerplane/v1\nkind: Partition\nmetadata: {{name: web}}"
                ),
            );
        }
        t
    };
    let r = rules(&three("required"), None);
    assert!(r.contains(&Rule::CommonPagingDevices), "{r:?}");
    assert!(r.contains(&Rule::PagingDeviceCount), "{r:?}");
    // With the hardware, only hdisk1 is common: two required partitions are one too many.
    let hw = edit(HARDWARE, "        - {name: hdisk2, lun: P2, sizeMB: 8192, reservePolicy: no_reserve}\n---", "---");
    let two = edit(
        BASE,
        "metadata: {name: web}",
        "metadata: {name: r2}\nspec:\n  placement: {frame: fa}\n  processors: {units: 0.5}\n  memory: {mode: shared, desiredMB: 1024, maxMB: 4096, paging: {redundancy: required}}\n---\napiVersion: powerplane/v1\nkind: Partition\nmetadata: {name: web}",
    );
    assert_eq!(rules(&two, Some(HARDWARE)), vec![]);
    let r = rules(&two, Some(&hw));
    assert_eq!(r, vec![Rule::CommonPagingDevices]);
    // Stopped partitions hold no paging device.
    let stopped =
        edit(&three("required"), "metadata: {name: r2}\nspec:\n", "metadata: {name: r2}\nspec:\n  state: stopped\n");
    assert_eq!(rules(&stopped, None), vec![]);
}

#[test]
fn preferred_without_a_common_device_is_a_warning() {
    let pref = edit(BASE, "paging: {redundancy: required, primary: 1}", "paging: {redundancy: preferred}");
    assert_eq!(rules(&pref, None), vec![]);
    // No disk of the pool is seen by both paging VIOS (va2's hdisk1 is another LUN, it has no
    // hdisk2): no common paging device. A reserve policy alone does not make a disk
    // independent: adding it to the pool sets no_reserve (ams-dual-vios-and-lpm.txt, line 5).
    let second = HARDWARE.rfind("- {name: hdisk1, lun: P1,").unwrap();
    let hw = format!(
        "{}- {{name: hdisk1, lun: P9,{}",
        &HARDWARE[..second],
        &HARDWARE[second + "- {name: hdisk1, lun: P1,".len()..]
    );
    let hw = edit(&hw, "        - {name: hdisk2, lun: P2, sizeMB: 8192, reservePolicy: no_reserve}\n---", "---");
    let d = assert_fires(&pref, Some(&hw), Rule::NoPagingRedundancy);
    assert_eq!(d.severity(), Severity::Warning);
}

#[test]
fn memory_pool_limits() {
    assert_fires(&edit(BASE, "poolMemMB: 4096", "poolMemMB: 9000"), None, Rule::MemoryPoolLimits);
}

#[test]
fn paging_redundancy_needs_two_paging_vios() {
    let one = edit(BASE, "pagingVios: [va1, va2]", "pagingVios: [va1]");
    assert_fires(&one, None, Rule::PagingRedundancy);
    let primary2 = edit(&one, "paging: {redundancy: required, primary: 1}", "paging: {redundancy: none, primary: 2}");
    let d = assert_fires(&primary2, None, Rule::PagingRedundancy);
    assert!(d.message.contains("paging VIOS 2"));
}

#[test]
fn shared_memory_needs_a_pool_on_the_frame() {
    let d = assert_fires(&edit(BASE, "placement: {frame: fa}", "placement: {frame: fb}"), None, Rule::NoMemoryPool);
    assert!(d.message.contains("`fb`"));
}

#[test]
fn partition_settings() {
    assert_fires(
        &edit(BASE, "memory: {desiredMB: 4096, maxMB: 8192}", "memory: {desiredMB: 9000, maxMB: 8192}"),
        None,
        Rule::MemoryLimits,
    );
    assert_fires(
        &edit(BASE, "processors: {units: 0.5, virtual: 1}", "processors: {mode: dedicated, units: 1}"),
        None,
        Rule::SharedMemoryNeedsSharedProcessors,
    );
    assert_fires(
        &edit(
            BASE,
            "memory: {desiredMB: 4096, maxMB: 8192}",
            "memory: {desiredMB: 4096, maxMB: 8192, paging: {redundancy: none}}",
        ),
        None,
        Rule::PagingWithoutSharedMemory,
    );
    assert_fires(
        &edit(BASE, "processors: {units: 0.5, virtual: 1}", "processors: {units: 2.5, virtual: 2}"),
        None,
        Rule::ProcessorSettings,
    );
    assert_fires(
        &edit(BASE, "processors: {units: 0.5, virtual: 1}", "processors: {units: 0.5, virtual: 11}"),
        None,
        Rule::ProcessorSettings,
    );
    // seeds: quickstart, "the minimal allocation is 1/10th of a CPU for each virtual CPU".
    assert_fires(
        &edit(BASE, "processors: {units: 0.5, virtual: 1}", "processors: {units: 0.2, virtual: 4}"),
        None,
        Rule::ProcessorSettings,
    );
    assert_fires(
        &edit(BASE, "processors: {units: 0.5, virtual: 1}", "processors: {units: 0.05}"),
        None,
        Rule::ProcessorSettings,
    );
    assert!(
        !rules(&edit(BASE, "processors: {units: 0.5, virtual: 1}", "processors: {units: 0.4, virtual: 4}"), None)
            .contains(&Rule::ProcessorSettings)
    );
    assert!(
        !rules(&edit(BASE, "processors: {units: 0.5, virtual: 1}", "processors: {units: 0.1}"), None)
            .contains(&Rule::ProcessorSettings)
    );
    assert_fires(
        &edit(BASE, "processors: {units: 1, compat: POWER7}", "processors: {mode: dedicated, units: 1.5}"),
        None,
        Rule::ProcessorSettings,
    );
    assert!(
        rules(&edit(BASE, "processors: {units: 1, compat: POWER7}", "processors: {mode: dedicated, units: 2}"), None)
            .is_empty()
    );
}

#[test]
fn selector_and_any_of_without_an_eligible_frame() {
    let d = assert_fires(
        &edit(BASE, "selector: {labels: {site: x}}", "selector: {labels: {site: y}}"),
        None,
        Rule::NoEligibleFrame,
    );
    assert!(d.message.contains("matches no frame"));
    let web_on_fb = edit(BASE, "selector: {labels: {site: x}}", "anyOf: [fb]");
    let d = assert_fires(&web_on_fb, None, Rule::NoEligibleFrame);
    assert!(d.message.contains("`fb`: it has no shared processor pool `prod`"), "{d}");
}

#[test]
fn maintenance_frame_cannot_keep_a_pinned_partition() {
    let m = edit(
        BASE,
        "metadata: {name: fa, labels: {site: x, tier: gold}}",
        "metadata: {name: fa, labels: {site: x, tier: gold}}\nspec: {maintenance: true}",
    );
    let d = assert_fires(&m, None, Rule::FrameInMaintenance);
    assert_eq!(d.object.unwrap().to_string(), "Partition/amsp");
    // `app` may run on fb instead; `web` needs pool prod, which only fa has.
    let r = rules(&m, None);
    assert_eq!(r.iter().filter(|r| **r == Rule::NoEligibleFrame).count(), 1, "{r:?}");
}

#[test]
fn processor_pool_missing_on_the_pinned_frame() {
    let p = edit(BASE, "placement: {selector: {labels: {site: x}}}", "placement: {frame: fb}");
    assert_fires(&p, None, Rule::ProcessorPoolMissing);
}

#[test]
fn vlan_not_bridged() {
    let d = assert_fires(
        &edit(
            BASE,
            "  network:\n    - vlan: 10\n---\napiVersion: powerplane/v1\nkind: Partition\nmetadata: {name: app}",
            "  network:\n    - vlan: 99\n---\napiVersion: powerplane/v1\nkind: Partition\nmetadata: {name: app}",
        ),
        None,
        Rule::VlanNotBridged,
    );
    assert!(d.message.contains("VLAN 99"));
    // `app` on fb: VLAN 11 is bridged only on fa, so fa is chosen and nothing fires.
    assert!(
        rules(&edit(BASE, "storage:\n    - {lun: L1, via: vscsi}", "storage: []\n    # vlan 11 only on fa"), None)
            .is_empty()
    );
}

#[test]
fn physical_facts_rules() {
    assert_fires(
        &edit(BASE, "processors: {units: 1, compat: POWER7}", "processors: {units: 1, compat: POWER8}"),
        Some(HARDWARE),
        Rule::NoEligibleFrame,
    );
    let pinned = edit(BASE, "placement: {anyOf: [fa, fb]}", "placement: {frame: fa}");
    assert_fires(&edit(&pinned, "compat: POWER7", "compat: POWER8"), Some(HARDWARE), Rule::CompatModeUnsupported);
    assert_fires(&edit(&pinned, "lun: L1,", "lun: L7,"), Some(HARDWARE), Rule::StorageNotVisible);
    assert_fires(BASE, Some(&edit(HARDWARE, "metadata: {name: fb}", "metadata: {name: fc}")), Rule::UnknownToBackend);
    assert_fires(BASE, Some(&edit(HARDWARE, "    - name: vb1", "    - name: vb9")), Rule::UnknownToBackend);
    assert_fires(BASE, Some(&edit(HARDWARE, "ethernet: [ent0, ent1]", "ethernet: [ent0]")), Rule::AdapterMissing);
    assert_fires(BASE, Some(&HARDWARE.replace("name: hdisk2", "name: hdisk7")), Rule::PagingDeviceNotVisible);
}

#[test]
fn frame_capacity() {
    let big = edit(BASE, "memory: {desiredMB: 2048, maxMB: 4096}", "memory: {desiredMB: 60000, maxMB: 65536}");
    let pinned = edit(&big, "placement: {selector: {labels: {site: x}}}", "placement: {frame: fa}");
    let d = assert_fires(&pinned, Some(HARDWARE), Rule::FrameMemoryCapacity);
    assert!(d.message.contains("65536 MB"), "{d}");
    // Unpinned, the partition would not fit anywhere: no eligible frame instead of overcommit.
    assert_fires(&big, Some(HARDWARE), Rule::NoEligibleFrame);
    let cpu = edit(BASE, "processors: {pool: prod, units: 1}", "processors: {mode: dedicated, units: 7}");
    let cpu = edit(&cpu, "placement: {selector: {labels: {site: x}}}", "placement: {frame: fa}");
    assert_fires(&cpu, Some(HARDWARE), Rule::FrameProcessorCapacity);
}

#[test]
fn processor_pool_capacity_and_limits() {
    assert_fires(&edit(BASE, "maxProcUnits: 4", "maxProcUnits: 0.5"), None, Rule::ProcessorPoolCapacity);
    assert_fires(
        &edit(BASE, "maxProcUnits: 4", "maxProcUnits: 4\n  reservedProcUnits: 5"),
        None,
        Rule::ProcessorPoolLimits,
    );
    assert_fires(&edit(BASE, "maxProcUnits: 4", "maxProcUnits: 40"), Some(HARDWARE), Rule::ProcessorPoolLimits);
}

#[test]
fn placement_prefers_most_free_memory_then_stays_put() {
    use crate::placement::{Eligibility, Placer};
    let desired = load_manifests(&[SourceFile::new("m.yaml", BASE)]).unwrap();
    let hw = load_inventory(&[SourceFile::new("h.yaml", HARDWARE)]).unwrap();
    let app = |observed: &crate::estate::Estate| {
        Placer::new(&desired, Some(observed)).assign()[&crate::names::PartitionName::new("app").unwrap()].clone()
    };
    // fa has far more free memory than fb.
    assert_eq!(app(&hw), Eligibility::Placed(crate::names::FrameName::new("fa").unwrap()));
    // Already running on fb, which is allowed: it stays.
    let mut running = hw.clone();
    let on_fb = load_manifests(&[SourceFile::new(
        "o.yaml",
        edit(BASE, "placement: {anyOf: [fa, fb]}", "placement: {frame: fb}"),
    )])
    .unwrap();
    running.partitions = on_fb.partitions;
    assert_eq!(app(&running), Eligibility::Placed(crate::names::FrameName::new("fb").unwrap()));
}

#[test]
fn at_most_one_settings_document() {
    let one = format!(
        "{BASE}---\napiVersion: powerplane/v1\nkind: Settings\nmetadata: {{name: s1}}\nspec: {{prune: true}}\n"
    );
    assert_eq!(rules(&one, None), vec![]);
    let two = format!("{one}---\napiVersion: powerplane/v1\nkind: Settings\nmetadata: {{name: s2}}\n");
    assert_fires(&two, None, Rule::SettingsCount);
}

/// Issue 13 item 1: a pool's reserved capacity is guaranteed to it, so the frame holds it
/// beside the VIOS and the running partitions.
// seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, lines 113-114.
#[test]
fn a_pools_reserved_capacity_counts_against_its_frame() {
    let reserved = edit(BASE, "maxProcUnits: 4", "maxProcUnits: 6\n  reservedProcUnits: 5");
    let reserved = edit(&reserved, "placement: {selector: {labels: {site: x}}}", "placement: {frame: fa}");
    let d = assert_fires(&reserved, Some(HARDWARE), Rule::FrameProcessorCapacity);
    assert!(d.message.contains("reserved by its shared processor pools 5.00"), "{d}");
    let fits = edit(BASE, "maxProcUnits: 4", "maxProcUnits: 6\n  reservedProcUnits: 2");
    assert!(!findings(&fits, Some(HARDWARE)).iter().any(|d| d.rule == Rule::FrameProcessorCapacity));
}

/// Issue 13 item 15: the limits the seeds state, with their wording.
#[test]
fn the_seeds_pool_limits() {
    // seeds: powervm-quickstart..., line 110: "a SPP must have at least 1 CPU assigned to it".
    let d = assert_fires(&edit(BASE, "maxProcUnits: 4", "maxProcUnits: 0.5"), None, Rule::ProcessorPoolLimits);
    assert!(d.message.contains("at least 1 CPU assigned to it"), "{d}");
    // The HMC takes a pool's maximum in whole processors.
    let d = assert_fires(&edit(BASE, "maxProcUnits: 4", "maxProcUnits: 4.5"), None, Rule::ProcessorPoolLimits);
    assert!(d.message.contains("4.50 is not a whole number") && d.hint.contains("round"), "{d}");
    // seeds: powervm-quickstart..., line 110: "Power 6 systems can have up to 64 SPPs".
    let pool = |i: usize| {
        format!(
            "---\napiVersion: powerplane/v1\nkind: SharedProcessorPool\nmetadata: {{name: p{i}}}\nspec: {{frame: fb, poolName: pool{i}, maxProcUnits: 1}}\n"
        )
    };
    let at_limit: String = BASE.to_owned() + &(0..63).map(pool).collect::<String>();
    assert!(!rules(&at_limit, None).contains(&Rule::ProcessorPoolCount), "63 and DefaultPool are 64");
    let over = at_limit + &pool(63);
    let d = assert_fires(&over, None, Rule::ProcessorPoolCount);
    assert!(
        d.message
            .contains("would have 65 shared processor pools with DefaultPool; Power 6 systems can have up to 64 SPPs"),
        "{d}"
    );
    // seeds: ams-overview-de.txt, line 12: "(maximal 1000) dem Shared Memory Pool zugewiesen".
    let part = |i: usize| {
        format!(
            "---\napiVersion: powerplane/v1\nkind: Partition\nmetadata: {{name: s{i}}}\nspec:\n  placement: {{frame: fa}}\n  state: stopped\n  processors: {{units: 0.1, virtual: 1}}\n  memory: {{mode: shared, desiredMB: 1024, maxMB: 2048}}\n"
        )
    };
    // amsp is the base's one shared-memory partition on fa.
    let at_limit: String = BASE.to_owned() + &(0..999).map(part).collect::<String>();
    assert!(!rules(&at_limit, None).contains(&Rule::MemoryPoolPartitions));
    let d = assert_fires(&(at_limit + &part(999)), None, Rule::MemoryPoolPartitions);
    assert!(
        d.message.contains("1001 shared-memory partitions are assigned") && d.message.contains("maximal 1000"),
        "{d}"
    );
}

/// Issue 13 item 13: a profile's minimum <= desired <= maximum, 0.10 units per minimum virtual
/// processor, at most one unit per maximum virtual processor, a weight only when uncapped, and
/// 0-255 for the weight (a YAML error beyond).
// seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, lines 90-99.
#[test]
fn profile_limits_are_checked() {
    let procs = "processors: {units: 1, compat: POWER7}";
    let with = |p: &str| edit(BASE, procs, p);
    for bad in [
        "processors: {units: 1, minUnits: 1.5}",
        "processors: {units: 1, maxUnits: 0.5}",
        "processors: {units: 1, virtual: 2, minVirtual: 3}",
        "processors: {units: 1, virtual: 2, maxVirtual: 1}",
        "processors: {units: 1, virtual: 4, minVirtual: 4, minUnits: 0.3}",
        "processors: {units: 1, virtual: 2, maxUnits: 3.0}",
        "processors: {units: 1, sharing: capped, weight: 10}",
        "processors: {mode: dedicated, units: 1, weight: 10}",
        "processors: {mode: dedicated, units: 2, maxUnits: 2.5}",
    ] {
        assert_fires(&with(bad), None, Rule::ProcessorSettings);
    }
    for good in [
        "processors: {units: 1, minUnits: 0.5, maxUnits: 2.0, virtual: 2, minVirtual: 1, maxVirtual: 4}",
        "processors: {units: 1, sharing: capped}",
        "processors: {units: 1, weight: 0}",
        "processors: {units: 1, weight: 255}",
    ] {
        assert!(!rules(&with(good), None).contains(&Rule::ProcessorSettings), "{good}");
    }
    assert_fires(
        &edit(BASE, "memory: {desiredMB: 4096, maxMB: 8192}", "memory: {desiredMB: 4096, minMB: 6144, maxMB: 8192}"),
        None,
        Rule::MemoryLimits,
    );
    let e = load_manifests(&[SourceFile::new("m.yaml", with("processors: {units: 1, weight: 300}"))]).unwrap_err();
    assert!(format!("{e:?}").contains("300"), "{e:?}");
}

/// A VCS cluster of `amsp` and `app` reached over SSH (issue 32 item 7).
const CLUSTER: &str = r#"---
apiVersion: powerplane/v1
kind: Cluster
metadata: {name: c}
spec:
  manager: vcs
  members: [amsp, app]
  ssh:
    user: root
    identity: /etc/powerplane/node_ed25519
    port: 2222
    hosts: {app: app.example.com}
"#;

/// The line (from 1) of the first line of `text` holding `needle`.
fn line_of(text: &str, needle: &str) -> u32 {
    text.lines().position(|l| l.contains(needle)).expect("in the text") as u32 + 1
}

#[test]
fn cluster_node_access_is_read_with_its_defaults() {
    let m = format!("{BASE}{CLUSTER}");
    assert_eq!(findings(&m, None), Vec::new(), "a usable ssh: is clean");
    let desired = load_manifests(&[SourceFile::new("m.yaml", m.as_str())]).unwrap();
    let c = desired.clusters.values().next().unwrap();
    let ssh = c.spec.ssh.as_ref().unwrap();
    let name = |n: &str| crate::names::PartitionName::new(n).unwrap();
    assert_eq!(ssh.host_of(&name("app")), "app.example.com");
    assert_eq!(ssh.host_of(&name("amsp")), "amsp", "a member without a host is reached by its name");
    assert_eq!(ssh.port(), 2222);
    let bare = edit(&m, "    identity: /etc/powerplane/node_ed25519\n    port: 2222\n", "");
    let desired = load_manifests(&[SourceFile::new("m.yaml", bare.as_str())]).unwrap();
    let ssh = desired.clusters.values().next().unwrap().spec.ssh.clone().unwrap();
    assert_eq!((ssh.port(), ssh.identity), (22, None));
}

#[test]
fn cluster_node_access_refuses_unknown_fields() {
    let m = format!("{BASE}{}", edit(CLUSTER, "    port: 2222\n", "    port: 2222\n    password: secret\n"));
    let err = load_manifests(&[SourceFile::new("m.yaml", m.as_str())]).unwrap_err();
    let text = format!("{:?}", err.0);
    assert!(text.contains("password"), "{text}");
}

#[test]
fn cluster_node_access_findings_name_the_line_and_what_to_do() {
    let m = format!("{BASE}{CLUSTER}");
    let d = assert_fires(&edit(&m, "{app: app.example.com}", "{app: ''}"), None, Rule::ClusterNodeAccess);
    assert!(d.message.contains("`app`") && d.message.contains("empty"), "{}", d.message);
    assert!(d.hint.contains("host name or address"), "{}", d.hint);
    let at = d.location.expect("a location");
    assert_eq!((at.file.to_str(), at.line), (Some("m.yaml"), line_of(&m, "hosts:")), "{at:?}");
    let d = assert_fires(&edit(&m, "user: root", "user: -oProxyCommand=sh"), None, Rule::ClusterNodeAccess);
    assert!(d.message.contains("starts with `-`"), "{}", d.message);
    assert_eq!(d.location.unwrap().line, line_of(&m, "user: root"));
    let d = assert_fires(&edit(&m, "{app: app.example.com}", "{app: 'app;reboot'}"), None, Rule::ClusterNodeAccess);
    assert!(d.message.contains("acts on"), "{}", d.message);
    let d = assert_fires(&edit(&m, "/etc/powerplane/node_ed25519", "keys/node"), None, Rule::ClusterNodeAccess);
    assert!(d.message.contains("not an absolute path"), "{}", d.message);
    assert_eq!(d.location.unwrap().line, line_of(&m, "identity:"));
    let d = assert_fires(&edit(&m, "port: 2222", "port: 0"), None, Rule::ClusterNodeAccess);
    assert_eq!(d.location.unwrap().line, line_of(&m, "port: 2222"));
    let d = assert_fires(&edit(&m, "{app: app.example.com}", "{web: web.example.com}"), None, Rule::ClusterNodeAccess);
    assert!(d.message.contains("no member"), "{}", d.message);
    assert_eq!(d.rule.code(), "PP-E074");
}
