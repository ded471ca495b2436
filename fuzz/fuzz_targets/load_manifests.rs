//! The manifest loader on arbitrary bytes: it must return an estate or diagnostics located in
//! the file, never panic (the bounded version of this runs in CI as `load::never_panics`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use powerplane_model::{SourceFile, load_manifests};

fuzz_target!(|data: &[u8]| {
    let lines = data.iter().filter(|b| **b == b'\n').count() as u32 + 1;
    if let Err(invalid) = load_manifests(&[SourceFile::new("fuzz.yaml", data.to_vec())]) {
        assert!(!invalid.0.is_empty(), "an error without a diagnostic");
        for d in &invalid.0 {
            if let Some(loc) = &d.location {
                assert!(loc.line >= 1 && loc.line <= lines + 1, "{d:?} points outside the file");
            }
        }
    }
});
