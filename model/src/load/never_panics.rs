//! The loader never panics: arbitrary bytes, YAML-shaped noise and damaged manifests each load
//! or give diagnostics that point inside the file. (The same check runs unbounded as the
//! `cargo fuzz` target in `fuzz/`.)

use proptest::prelude::*;

use super::load_manifests;
use crate::source::SourceFile;
use crate::testkit;

/// Loads `bytes` as one manifest file: an estate, or at least one diagnostic, each located in
/// the file (line 1 to one past its last line).
fn check(bytes: Vec<u8>) -> Result<(), TestCaseError> {
    let lines = bytes.iter().filter(|b| **b == b'\n').count() as u32 + 1;
    if let Err(invalid) = load_manifests(&[SourceFile::new("fuzz.yaml", bytes)]) {
        prop_assert!(!invalid.0.is_empty(), "an error without a diagnostic");
        for d in &invalid.0 {
            prop_assert!(
                !d.message.is_empty() && !d.hint.is_empty(),
                "{d:?} does not say what is wrong and what to do"
            );
            if let Some(loc) = &d.location {
                prop_assert!(loc.line >= 1 && loc.line <= lines + 1, "{d:?} points outside the file ({lines} lines)");
            }
        }
    }
    Ok(())
}

/// Tokens that make the noise look like YAML and like manifests: keys, flow and block syntax,
/// anchors and aliases, tags, document markers, numbers, odd scalars.
const TOKENS: &str = "(apiVersion: powerplane/v1|kind: (Frame|Partition|ViosPair|SharedMemoryPool|SharedEthernetAdapter|Settings)|metadata:|spec:|name: [a-z0-9]{1,3}|placement: |frame: f0|memory: |desiredMB: [0-9]{1,6}|units: [0-9.]{1,4}|vlan: [0-9]{1,5}|- |: |\\n|  |\\{|\\}|\\[|\\]|, |&a |\\*a|!!(str|int|map) |---\\n|\\.\\.\\.\\n|#c|'|\"|~|null|true|0x1F|1e999|-0){0,80}";

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..1024)) {
        check(bytes)?;
    }

    #[test]
    fn yaml_shaped_noise_never_panics(text in TOKENS) {
        check(text.into_bytes())?;
    }

    /// Valid generated manifests with a slice cut out and noise put in its place.
    #[test]
    fn damaged_manifests_never_panic(
        s in testkit::scenario(),
        at in any::<prop::sample::Index>(),
        len in 0usize..40,
        noise in "[ -~\\n\\t]{0,12}",
    ) {
        let (frames, parts) = testkit::edited(&s);
        let mut text = testkit::manifests(&frames, &parts).into_bytes();
        let start = at.index(text.len() + 1);
        let end = (start + len).min(text.len());
        text.splice(start..end, noise.into_bytes());
        check(text)?;
    }
}

/// Found by `cargo fuzz`: forty stray carriage returns made a syntax error point at line 61 of
/// a 39-line file (the parser counts a lone `\r` as a line break).
#[test]
fn stray_carriage_returns_keep_locations_in_the_file() {
    let text = format!(
        "apiVersion: powerp{}lane/v1\nkind: ViosPair\nmetadata:\n  name: v\nspec:\n  members: -\n  {{  name: b}}\n",
        "\r".repeat(40)
    );
    check(text.into_bytes()).unwrap();
    let invalid = load_manifests(&[SourceFile::new("cr.yaml", b"a: 1\r\r\r\r\r\nb: [\n".to_vec())]).unwrap_err();
    assert_eq!(invalid.0[0].location.as_ref().map(|l| l.line), Some(3), "{:?}", invalid.0);
}
