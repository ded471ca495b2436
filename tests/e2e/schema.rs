//! `powerplane schema`.

use crate::support::{Lab, root};

#[test]
fn schema_is_json_and_matches_the_committed_copy() {
    let lab = Lab::new();
    let out = lab.cmd(&["schema"]).assert().success().get_output().stdout.clone();
    let v: serde_json::Value = serde_json::from_slice(&out).expect("schema is JSON");
    assert_eq!(v["oneOf"].as_array().unwrap().len(), 8);
    let committed = std::fs::read_to_string(root().join("manifests/powerplane.schema.json")).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        committed,
        "manifests/powerplane.schema.json is stale: regenerate it with `powerplane schema > manifests/powerplane.schema.json`"
    );
    assert!(!lab.state().exists());
}
