//! The bundled lab estate for the planner's unit tests: its inventory realised the way a fresh
//! backend shows it (the brownfield configuration applied with the model's own `apply`), its
//! manifests with edits, and a plain rendering of a plan for snapshot tests.

use super::{Plan, PlanOptions, apply, plan};
use crate::estate::Estate;
use crate::load::{load_inventory, load_manifests};
use crate::source::SourceFile;
use crate::status::LparState;

const INVENTORY: &str = include_str!("../../../examples/lab/inventory.yaml");
const MANIFESTS: [(&str, &str); 3] = [
    ("js22.yaml", include_str!("../../../manifests/lab/js22.yaml")),
    ("p72.yaml", include_str!("../../../manifests/lab/p72.yaml")),
    ("solchms05.yaml", include_str!("../../../manifests/lab/solchms05.yaml")),
];

/// The lab as the simulator starts it: every VIOS running, the inventory's brownfield
/// configuration in place.
pub(crate) fn lab_observed() -> Estate {
    lab_observed_with(|text| text.to_owned())
}

/// [`lab_observed`] from the inventory as `edit` changes it.
pub(crate) fn lab_observed_with(edit: impl Fn(&str) -> String) -> Estate {
    let frames: String = ["IBM_MMA_P6_102615A_SOLCHMS05", "p72", "js22_slot13", "js22_slot14"]
        .iter()
        .map(|f| format!("apiVersion: powerplane/v1\nkind: Frame\nmetadata: {{name: {f}}}\n---\n"))
        .collect();
    let inventory = load_inventory(&[SourceFile::new("inventory.yaml", format!("{frames}{}", edit(INVENTORY)))])
        .expect("the lab inventory loads");
    let mut bare = Estate {
        hardware: inventory.hardware.clone(),
        frames: inventory.frames.clone(),
        vios_pairs: inventory.vios_pairs.clone(),
        ..Estate::default()
    };
    for (f, hw) in &bare.hardware.clone() {
        bare.status.vios.insert(f.clone(), hw.spec.vios.iter().map(|v| (v.name.clone(), LparState::Running)).collect());
    }
    let mut brownfield = inventory;
    brownfield.hardware.clear();
    let p = plan(&brownfield, &bare, PlanOptions::default());
    assert!(p.errors.is_empty(), "the lab's brownfield plans: {:?}", p.errors);
    apply(&bare, &p.actions)
}

/// The lab's manifests, each file changed by `edit(file name, text)`.
pub(crate) fn lab_desired_with(edit: impl Fn(&str, &str) -> String) -> Estate {
    let sources: Vec<SourceFile> =
        MANIFESTS.iter().map(|(name, text)| SourceFile::new(*name, edit(name, text))).collect();
    load_manifests(&sources).unwrap_or_else(|e| panic!("the edited lab manifests load: {e:?}"))
}

/// The lab's manifests as they are.
pub(crate) fn lab_desired() -> Estate {
    lab_desired_with(|_, text| text.to_owned())
}

/// Replaces `from` with `to` in the lab file `file`, failing when `from` is not there.
pub(crate) fn replace(file: &'static str, from: &'static str, to: &'static str) -> impl Fn(&str, &str) -> String {
    move |name, text| {
        if name != file {
            return text.to_owned();
        }
        assert!(text.contains(from), "{file} has no {from:?}");
        text.replacen(from, to, 1)
    }
}

/// The lab converged on its manifests: what the planner sees once the first apply is done.
pub(crate) fn lab_converged() -> Estate {
    let observed = lab_observed();
    let p = plan(&lab_desired(), &observed, PlanOptions::default());
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    let done = apply(&observed, &p.actions);
    assert!(plan(&lab_desired(), &done, PlanOptions::default()).actions.is_empty());
    done
}

/// A plan as a reviewer reads it: each action with what it waits for, its HMC command and its
/// reason; then errors, warnings, deferred and in-flight work.
pub(crate) fn render(p: &Plan) -> String {
    let mut out = String::new();
    for a in &p.actions {
        let mut after = a.after.iter().map(|d| d.0.as_str()).collect::<Vec<_>>().join(",");
        if !a.when.is_default() {
            after.push_str(&format!(" when {:?}", a.when));
        }
        out.push_str(&format!(
            "{} [after {}] {}\n    # {}\n",
            a.id.0,
            if after.is_empty() { "-" } else { &after },
            a.op.command(),
            a.reason
        ));
    }
    for (what, list) in
        [("error", &p.errors), ("warning", &p.warnings), ("deferred", &p.deferred), ("in progress", &p.in_progress)]
    {
        for l in list {
            out.push_str(&format!("{what}: {l}\n"));
        }
    }
    for c in &p.changes {
        if c.kind != super::ChangeKind::Unmanaged || !c.note.is_empty() {
            let fields: Vec<String> = c
                .fields
                .iter()
                .map(|f| {
                    format!("{}: {} -> {}", f.path, f.old.as_deref().unwrap_or("-"), f.new.as_deref().unwrap_or("-"))
                })
                .collect();
            out.push_str(&format!("change {:?} {} {{{}}} {}\n", c.kind, c.object, fields.join("; "), c.note));
        }
    }
    out
}

/// A partition name of the lab.
pub(crate) fn partition(name: &str) -> crate::names::PartitionName {
    name.parse().expect("a partition name")
}

/// A frame name of the lab.
pub(crate) fn frame(name: &str) -> crate::names::FrameName {
    name.parse().expect("a frame name")
}

/// The runtime state a plan's model leaves, frame by frame: VIOS, SEA members, partitions
/// (state, paging VIOS, migration) and paging devices.
pub(crate) fn render_status(e: &Estate) -> String {
    let mut out = String::new();
    for (f, vios) in &e.status.vios {
        let v: Vec<String> = vios.iter().map(|(n, s)| format!("{n}={s}")).collect();
        out.push_str(&format!("frame {f}: vios {}\n", v.join(" ")));
    }
    for (sea, members) in &e.status.seas {
        let m: Vec<String> = members.iter().map(|m| format!("{}:{} {:?}", m.vios, m.ha_mode, m.state)).collect();
        out.push_str(&format!("sea {sea}: {}\n", m.join(", ")));
    }
    for (p, s) in &e.status.partitions {
        let paging = s.paging.as_ref().map_or(String::new(), |pg| {
            format!(
                " paging {}->{} via {}",
                pg.primary,
                pg.secondary.as_ref().map_or("none".into(), ToString::to_string),
                pg.current.as_ref().map_or("none".into(), ToString::to_string)
            )
        });
        let migration = s.migration.as_ref().map_or(String::new(), |m| format!(" migration {:?} to {}", m.state, m.to));
        out.push_str(&format!("partition {p}: {} on {}{paging}{migration}\n", s.state, s.frame));
    }
    for (f, devices) in &e.status.paging_devices {
        for d in devices {
            out.push_str(&format!(
                "paging device {f}/{}: {}{}\n",
                d.device,
                d.assigned.as_ref().map_or("free".into(), |p| format!("assigned to {p}")),
                if d.redundant { " (common)" } else { "" }
            ));
        }
    }
    out
}

/// Whether action `a` waits for `b`, directly or through others (`after` is transitively
/// reduced, so a direct look is not enough).
pub(crate) fn waits_for(
    actions: &[crate::action::Action],
    a: &crate::action::ActionId,
    b: &crate::action::ActionId,
) -> bool {
    let mut seen = vec![a.clone()];
    let mut i = 0;
    while i < seen.len() {
        if let Some(x) = actions.iter().find(|x| x.id == seen[i]) {
            for d in &x.after {
                if d == b {
                    return true;
                }
                if !seen.contains(d) {
                    seen.push(d.clone());
                }
            }
        }
        i += 1;
    }
    false
}
