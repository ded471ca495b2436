//! What changed between two observations of an estate: configuration and runtime state
//! (SEA states, current paging VIOS, partition states). Used to report drift made outside git:
//! someone ran `chhwres` by hand, a VIOS went down, a failover happened.

use std::collections::BTreeMap;
use std::fmt::Display;

use serde::Serialize;

use super::change::{ChangeKind, ObjectChange, field_changes};
use crate::estate::Estate;
use crate::manifest::Kind;
use crate::yaml::leaves;

/// Objects (and runtime state) that differ between `before` and `after`.
pub fn compare(before: &Estate, after: &Estate) -> Vec<ObjectChange> {
    let mut out = Vec::new();
    maps(&mut out, Kind::Frame, &before.frames, &after.frames);
    maps(&mut out, Kind::SharedProcessorPool, &before.proc_pools, &after.proc_pools);
    maps(&mut out, Kind::SharedMemoryPool, &before.mem_pools, &after.mem_pools);
    maps(&mut out, Kind::ViosPair, &before.vios_pairs, &after.vios_pairs);
    maps(&mut out, Kind::SharedEthernetAdapter, &before.seas, &after.seas);
    maps(&mut out, Kind::Partition, &before.partitions, &after.partitions);
    maps(&mut out, Kind::FrameHardware, &before.hardware, &after.hardware);
    status(&mut out, "SeaStatus", &before.status.seas, &after.status.seas);
    status(&mut out, "PartitionStatus", &before.status.partitions, &after.status.partitions);
    status(&mut out, "ViosStatus", &before.status.vios, &after.status.vios);
    status(&mut out, "PagingDevices", &before.status.paging_devices, &after.status.paging_devices);
    out
}

fn maps<N: Ord + Display, V: Serialize + PartialEq>(
    out: &mut Vec<ObjectChange>,
    kind: Kind,
    a: &BTreeMap<N, V>,
    b: &BTreeMap<N, V>,
) {
    status(out, kind.as_str(), a, b);
}

fn status<N: Ord + Display, V: Serialize + PartialEq>(
    out: &mut Vec<ObjectChange>,
    what: &str,
    a: &BTreeMap<N, V>,
    b: &BTreeMap<N, V>,
) {
    for (name, new) in b {
        match a.get(name) {
            Some(old) if old == new => {}
            Some(old) => out.push(change(ChangeKind::Drift, what, name, field_changes(&leaves(old), &leaves(new)))),
            None => out.push(change(ChangeKind::Create, what, name, field_changes(&[], &leaves(new)))),
        }
    }
    for (name, old) in a {
        if !b.contains_key(name) {
            out.push(change(ChangeKind::Delete, what, name, field_changes(&leaves(old), &[])));
        }
    }
}

fn change(kind: ChangeKind, what: &str, name: &dyn Display, fields: Vec<super::FieldChange>) -> ObjectChange {
    ObjectChange {
        kind,
        object: format!("{what}/{name}"),
        frame: None,
        fields,
        observed: None,
        desired: None,
        note: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::{FrameName, ViosName};
    use crate::status::LparState;

    #[test]
    fn reports_runtime_and_config_changes() {
        let mut a = Estate::default();
        let f = FrameName::new("p72").unwrap();
        a.status.vios.insert(f.clone(), [(ViosName::new("p72vio1").unwrap(), LparState::Running)].into());
        let mut b = a.clone();
        assert!(compare(&a, &b).is_empty());
        b.status.vios.get_mut(&f).unwrap().insert(ViosName::new("p72vio1").unwrap(), LparState::NotActivated);
        let c = compare(&a, &b);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].object, "ViosStatus/p72");
        assert_eq!(c[0].fields[0].path, "p72vio1");
        assert_eq!(
            (c[0].fields[0].old.as_deref(), c[0].fields[0].new.as_deref()),
            (Some("Running"), Some("Not Activated"))
        );
    }
}
