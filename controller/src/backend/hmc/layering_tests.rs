//! Issue 34 item 9, for this module: the HMC backend never uses the simulator. It reaches an
//! HMC through a [`super::Transport`]; the simulator's emulator implements that trait, so the
//! dependency runs from `sim` to `backend::hmc` only. Test modules (those `mod.rs` declares
//! under `#[cfg(test)]`, and what follows a file's first `#[cfg(test)]`) may drive the backend
//! against the emulator.

use std::path::Path;

/// Non-comment lines of the HMC backend's code (tests left out) that name the simulator.
fn naming_the_simulator(dir: &Path) -> Vec<String> {
    let mod_rs = std::fs::read_to_string(dir.join("mod.rs")).expect("hmc/mod.rs reads");
    let lines: Vec<&str> = mod_rs.lines().collect();
    let test_modules: Vec<String> = lines
        .windows(2)
        .filter(|w| w[0].trim() == "#[cfg(test)]")
        .filter_map(|w| w[1].trim().strip_prefix("mod ")?.strip_suffix(';').map(|m| format!("{m}.rs")))
        .collect();
    let mut found = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("backend/hmc lists")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    files.sort();
    assert!(files.len() > test_modules.len() + 3, "backend/hmc holds the backend's files: {files:?}");
    for path in files {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        if test_modules.contains(&name) {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("a source file reads");
        for (i, line) in text.lines().enumerate().take_while(|(_, l)| l.trim() != "#[cfg(test)]") {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            if ["crate::sim", "super::super::sim", "powerplane_controller::sim"].iter().any(|s| code.contains(s)) {
                found.push(format!("{name}:{}: {}", i + 1, line.trim()));
            }
        }
    }
    found
}

#[test]
fn the_hmc_backend_never_uses_the_simulator() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/backend/hmc");
    let found = naming_the_simulator(&dir);
    assert!(
        found.is_empty(),
        "backend/hmc names the simulator outside its tests; give hmc its own type (as transport.rs owns \
         ShellOutput) and let the simulator implement or convert to it:\n{}",
        found.join("\n")
    );
}

#[test]
fn a_use_of_the_simulator_is_found() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(dir.path().join("mod.rs"), "mod a;\nmod b;\nmod c;\nmod d;\n#[cfg(test)]\nmod tests;\n").unwrap();
    std::fs::write(dir.path().join("a.rs"), "// crate::sim in a comment is no use\nfn a() {}\n").unwrap();
    std::fs::write(dir.path().join("b.rs"), "use crate::sim::hmc_shell::HmcShell;\n").unwrap();
    std::fs::write(
        dir.path().join("c.rs"),
        "fn c() {}\n#[cfg(test)]\nmod tests {\n    use crate::sim::Simulator;\n}\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("d.rs"), "fn d() {}\n").unwrap();
    std::fs::write(dir.path().join("tests.rs"), "use crate::sim::Simulator;\n").unwrap();
    assert_eq!(naming_the_simulator(dir.path()), vec!["b.rs:1: use crate::sim::hmc_shell::HmcShell;".to_owned()]);
}
