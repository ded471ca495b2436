//! The plan of generated estates is exactly the plan the code made before the performance work
//! of issue 35 (same changes, actions, order, warnings, capacity and estimate): each expected
//! digest below is the SHA-256 of the plan's JSON rendering, recorded with the baseline code
//! (commit 8955fdb). Speed must cost no correctness; a deliberate change of the planner's output
//! re-records them (`PLAN_DIGEST_PRINT=1 cargo test -p powerplane-model --test plan_equivalence
//! -- --nocapture` prints the digests it computes).
//!
//! Re-recorded once, deliberately: issue 32 item 3 gave every action that names a profile its
//! profile (`"profile": "default_profile"` in the JSON). The performance work had been checked
//! against the 8955fdb digests (`06eea920…`, `b32169bf…`) before that change; the new digests
//! have the same number of actions (95 and 8,857).

#[path = "../../examples/estate_gen/mod.rs"]
mod estate_gen;
#[path = "../benches/realised/mod.rs"]
mod realised;

use powerplane_model::{PlanOptions, plan};
use sha2::{Digest, Sha256};

/// SHA-256 of the JSON rendering of the plan of the generated estate, and its action count.
fn digest(frames: usize, partitions: usize) -> (String, usize) {
    let realised::Fixture { desired, observed, .. } = realised::fixture(frames, partitions);
    let p = plan(&desired, &observed, PlanOptions::default());
    assert!(p.errors.is_empty(), "{:?}", &p.errors[..p.errors.len().min(3)]);
    let json = serde_json::to_vec(&p).expect("a plan renders as JSON");
    let hex: String = Sha256::digest(&json).iter().map(|b| format!("{b:02x}")).collect();
    if std::env::var_os("PLAN_DIGEST_PRINT").is_some() {
        println!("{frames} frames, {partitions} partitions: {} actions, digest {hex}", p.actions.len());
    }
    (hex, p.actions.len())
}

#[test]
fn plan_of_1k_estate_is_the_baseline_plan() {
    assert_eq!(digest(40, 1_000), (String::from(BASELINE_1K), BASELINE_1K_ACTIONS));
}

#[test]
fn plan_of_100k_estate_is_the_baseline_plan() {
    assert_eq!(digest(4_000, 100_000), (String::from(BASELINE_100K), BASELINE_100K_ACTIONS));
}

const BASELINE_1K: &str = "33936b571b79bb91ca8fd37c3e37cae1d3cd7e7435902ad7ac4588906e43736b";
const BASELINE_1K_ACTIONS: usize = 95;
const BASELINE_100K: &str = "1df73d2451ac328a3e894729c6b6afdc3bab7ae57d8fe860107dc5951cca0084";
const BASELINE_100K_ACTIONS: usize = 8857;
