//! The generated estate `gen_estate FRAMES PARTITIONS 42` as the planner's benches and the plan
//! equivalence test take it: its manifests, and an observed state realised by planning the
//! inventory's brownfield onto its bare hardware and applying that plan with the model's own
//! `apply`. Included by path (with `estate_gen`) where it is used.

use powerplane_model::status::LparState;
use powerplane_model::{Estate, PlanOptions, SourceFile, load_inventory, load_manifests, plan};

/// A generated estate: its manifest files, what they describe, and the realised observation.
pub struct Fixture {
    /// The manifest files (the planner bench loads them; the equivalence test does not).
    #[allow(dead_code)]
    pub manifests: Vec<SourceFile>,
    /// What the manifests describe.
    pub desired: Estate,
    /// The realised observation.
    pub observed: Estate,
}

/// The generated estate of `frames` frames and `partitions` partitions, realised.
pub fn fixture(frames: usize, partitions: usize) -> Fixture {
    let g = super::estate_gen::generate(frames, partitions, 42);
    let src = |files: &[(String, String)]| {
        files.iter().map(|(n, t)| SourceFile::new(n.as_str(), t.as_bytes().to_vec())).collect::<Vec<_>>()
    };
    let manifests = src(&g.manifests);
    let desired = load_manifests(&manifests).expect("generated manifests are valid");
    let brownfield = load_inventory(&src(&g.inventory)).expect("generated inventory is valid");
    let mut bare = Estate {
        hardware: brownfield.hardware.clone(),
        vios_pairs: brownfield.vios_pairs.clone(),
        ..Default::default()
    };
    for (f, hw) in &bare.hardware.clone() {
        bare.status.vios.insert(f.clone(), hw.spec.vios.iter().map(|v| (v.name.clone(), LparState::Running)).collect());
    }
    let mut as_desired = brownfield.clone();
    as_desired.frames = desired.frames.clone();
    as_desired.hardware.clear();
    let p = plan(&as_desired, &bare, PlanOptions::default());
    assert!(p.errors.is_empty(), "{:?}", &p.errors[..p.errors.len().min(3)]);
    let observed = powerplane_model::plan::apply(&bare, &p.actions);
    Fixture { manifests, desired, observed }
}
