//! The controller's layering, checked by reading the sources' `crate::…` paths: which
//! top-level module may use which (the README's Layout section draws the same picture), no
//! import circles between top-level modules, and no source file over 600 lines without its
//! reason given in its opening comment. A test that reads `use` lines is crude, but it fails
//! the moment a shortcut is taken, which a review does not.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Rules beyond "no circles": (importing module path prefix, forbidden module prefix, why).
const FORBIDDEN: &[(&str, &str, &str)] = &[
    ("api", "cli", "the API serves what the application computes; the command line is one of its clients"),
    ("backend/hmc", "sim", "the HMC backend talks to an HMC; the simulator is only ever on the other end of the wire"),
    ("store", "engine", "the store keeps what the engine records; it never drives it"),
    ("status", "api", "status is what the API reads; it does not know who reads it"),
    ("status", "watch", "status is published by the loop; it does not know the loop"),
];

/// A longer file says why in its opening comment, with a line starting with this.
const LONG_FILE_MARK: &str = "//! Long file:";
const LONG_FILE_LINES: usize = 600;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn test_modules_are_told_apart_from_code() {
    let files: Vec<String> = sources(&src()).into_iter().map(|(rel, _)| rel).collect();
    assert!(files.iter().any(|f| f == "backend/hmc/observe/frame.rs"), "{files:?}");
    for test in ["backend/hmc/migration_tests.rs", "sim/tests/sea.rs", "store/audit/tests.rs", "layering.rs"] {
        assert!(!files.iter().any(|f| f == test), "{test} is a test module");
    }
}

/// Every non-test `.rs` file under `dir`, with its path relative to `dir`. A test file is one
/// its parent declares under `#[cfg(test)]` (`#[cfg(test)] mod tests;`), or anything inside
/// such a module's directory: tests may reach anywhere.
fn sources(dir: &Path) -> Vec<(String, String)> {
    let all: Vec<(String, String)> = walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .map(|e| e.expect("the source tree is readable"))
        .filter(|e| e.path().extension().is_some_and(|x| x == "rs"))
        .map(|e| {
            let rel = e.path().strip_prefix(dir).unwrap_or(e.path()).to_string_lossy().into_owned();
            (rel, std::fs::read_to_string(e.path()).expect("a source file is readable"))
        })
        .collect();
    let mut test_paths = Vec::new();
    for (rel, text) in &all {
        // `a/mod.rs` and `lib.rs` declare modules beside them; `a/b.rs` declares them in `a/b/`.
        let base = match rel.rsplit_once('/') {
            Some((parent, "mod.rs")) => format!("{parent}/"),
            None if rel == "lib.rs" || rel == "main.rs" => String::new(),
            _ => format!("{}/", rel.trim_end_matches(".rs")),
        };
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        for w in lines.windows(2) {
            let declared =
                w[1].trim_start_matches("pub(crate) ").strip_prefix("mod ").and_then(|m| m.strip_suffix(';'));
            if let (true, Some(name)) = (w[0] == "#[cfg(test)]", declared) {
                test_paths.push(format!("{base}{name}"));
            }
        }
    }
    let is_test = |rel: &str| test_paths.iter().any(|t| rel == format!("{t}.rs") || rel.starts_with(&format!("{t}/")));
    all.into_iter().filter(|(rel, _)| !is_test(rel)).collect()
}

/// The code of `text` before its `#[cfg(test)]` module (tests may reach anywhere).
fn non_test(text: &str) -> &str {
    text.find("#[cfg(test)]\nmod").map_or(text, |i| &text[..i])
}

/// The module paths `text` names through `crate::`, as `a/b` (each path's first two segments).
fn imports(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in non_test(text).lines() {
        let line = line.trim_start();
        if line.starts_with("//") {
            continue;
        }
        let mut rest = line;
        while let Some(i) = rest.find("crate::") {
            let tail = &rest[i + "crate::".len()..];
            let segments: Vec<&str> = tail
                .split("::")
                .take(2)
                .map(|s| s.split(|c: char| !(c.is_alphanumeric() || c == '_')).next().unwrap_or(""))
                .take_while(|s| !s.is_empty())
                .collect();
            if let Some(first) = segments.first() {
                out.insert(
                    segments
                        .iter()
                        .take(if *first == "backend" { 2 } else { 1 })
                        .copied()
                        .collect::<Vec<_>>()
                        .join("/"),
                );
            }
            rest = tail;
        }
        // `use crate::{a, b::c}` names several at once.
        if let Some(group) = line.strip_prefix("use crate::{") {
            for part in group.split([',', '}', ';']) {
                let name = part.trim().split("::").next().unwrap_or("").trim();
                if !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_') {
                    out.insert(name.to_owned());
                }
            }
        }
    }
    out
}

/// The top-level module a file belongs to (`backend/hmc/observe.rs` → `backend`).
fn top(rel: &str) -> &str {
    let first = rel.split('/').next().unwrap_or(rel);
    first.strip_suffix(".rs").unwrap_or(first)
}

#[test]
fn no_module_imports_what_its_layer_forbids() {
    let mut broken = Vec::new();
    for (rel, text) in sources(&src()) {
        for (from, to, why) in FORBIDDEN {
            if !(rel.starts_with(&format!("{from}/")) || rel == format!("{from}.rs")) {
                continue;
            }
            for used in imports(&text) {
                if used == *to || used.starts_with(&format!("{to}/")) {
                    broken.push(format!("{rel} uses crate::{}: {why}", used.replace('/', "::")));
                }
            }
        }
    }
    assert!(broken.is_empty(), "layering broken:\n{}", broken.join("\n"));
}

#[test]
fn top_level_modules_import_each_other_in_one_direction_only() {
    let mut graph: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (rel, text) in sources(&src()) {
        let from = top(&rel).to_owned();
        if from == "lib" || from == "main" {
            continue;
        }
        for used in imports(&text) {
            let to = used.split('/').next().unwrap_or(&used).to_owned();
            if to != from {
                graph.entry(from.clone()).or_default().entry(to).or_insert_with(|| rel.clone());
            }
        }
    }
    // Every edge a → b where b leads back to a (through any number of modules) is on a circle.
    let reaches = |from: &str, to: &str| {
        let (mut seen, mut todo) = (BTreeSet::new(), vec![from.to_owned()]);
        while let Some(m) = todo.pop() {
            if m == to {
                return true;
            }
            if seen.insert(m.clone()) {
                todo.extend(graph.get(&m).into_iter().flat_map(|u| u.keys().cloned()));
            }
        }
        false
    };
    let mut circles = Vec::new();
    for (a, uses) in &graph {
        for (b, file) in uses {
            if reaches(b, a) {
                circles.push(format!("{a} → {b} ({file}) and {b} leads back to {a}"));
            }
        }
    }
    assert!(circles.is_empty(), "import circles between top-level modules:\n{}", circles.join("\n"));
}

#[test]
fn the_model_crate_knows_nothing_of_the_controller() {
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("../model");
    let manifest = std::fs::read_to_string(model.join("Cargo.toml")).unwrap();
    assert!(!manifest.contains("powerplane-controller"), "model/Cargo.toml depends on the controller");
    for (rel, text) in sources(&model.join("src")) {
        let code = text.lines().filter(|l| !l.trim_start().starts_with("//"));
        assert!(!code.into_iter().any(|l| l.contains("powerplane_controller")), "model/src/{rel} uses the controller");
    }
}

#[test]
fn long_files_say_why_they_are_long() {
    let long: Vec<String> = sources(&src())
        .into_iter()
        .filter(|(_, text)| text.lines().count() > LONG_FILE_LINES)
        .filter(|(_, text)| !text.lines().take_while(|l| l.starts_with("//!")).any(|l| l.starts_with(LONG_FILE_MARK)))
        .map(|(rel, text)| format!("{rel}: {} lines", text.lines().count()))
        .collect();
    assert!(
        long.is_empty(),
        "files over {LONG_FILE_LINES} lines without `{LONG_FILE_MARK} <reason>` in their opening comment \
         (split them by concern, or give the reason):\n{}",
        long.join("\n")
    );
}

#[test]
fn the_import_reader_sees_paths_groups_and_skips_tests_and_comments() {
    let text = "use crate::store::audit;\nuse crate::{cli, api::live};\n// crate::watch\nfn f() { crate::backend::hmc::x(); }\n#[cfg(test)]\nmod tests { use crate::sim; }\n";
    let got: Vec<String> = imports(text).into_iter().collect();
    assert_eq!(got, ["api", "backend/hmc", "cli", "store"]);
}
