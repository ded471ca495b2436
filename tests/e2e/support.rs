//! A temporary copy of the lab estate and a way to run the binary against it.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use tempfile::TempDir;

/// The workspace root.
/// The lab's inventory (`examples/lab/inventory.yaml`): its hardware and brownfield, for
/// `--inventory … sim init`.
pub fn lab_inventory() -> String {
    root().join("examples/lab/inventory.yaml").display().to_string()
}

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// A scratch directory holding a copy of `manifests/lab` under `m/` and a state dir `state/`.
pub struct Lab {
    pub dir: TempDir,
}

impl Lab {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(&root().join("manifests/lab"), &dir.path().join("m"));
        Lab { dir }
    }

    /// The lab with a generated estate instead (`estate_gen::generate`): its manifests replace
    /// the lab's and `sim init` has made its simulated estate.
    pub fn generated(frames: usize, partitions: usize, seed: u64) -> Self {
        let lab = Lab::new();
        let g = crate::estate_gen::generate(frames, partitions, seed);
        let inv = lab.dir.path().join("inventory");
        std::fs::create_dir_all(&inv).unwrap();
        for (n, t) in &g.inventory {
            std::fs::write(inv.join(n), t).unwrap();
        }
        std::fs::remove_dir_all(lab.manifests()).unwrap();
        std::fs::create_dir_all(lab.manifests()).unwrap();
        for (n, t) in &g.manifests {
            std::fs::write(lab.manifests().join(n), t).unwrap();
        }
        lab.cmd(&["--inventory", inv.to_str().unwrap(), "sim", "init"]).assert().success();
        lab
    }

    /// Replaces the lab's estate: `manifests` as its one manifest file, `inventory` (hardware
    /// and brownfield) realised by `sim init`.
    pub fn replace_estate(&self, inventory: &str, manifests: &str) {
        fs::remove_dir_all(self.manifests()).unwrap();
        fs::create_dir_all(self.manifests()).unwrap();
        fs::write(self.manifests().join("estate.yaml"), manifests).unwrap();
        let path = self.dir.path().join("inventory.yaml");
        fs::write(&path, inventory).unwrap();
        self.cmd(&["--inventory", path.to_str().unwrap(), "sim", "init"]).assert().success();
    }

    pub fn manifests(&self) -> PathBuf {
        self.dir.path().join("m")
    }

    pub fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.manifests().join(rel)
    }

    /// Replaces `from` with `to` in a manifest; fails when `from` is absent so an edit can never
    /// silently do nothing.
    pub fn edit(&self, file: &str, from: &str, to: &str) {
        let p = self.path(file);
        let text = fs::read_to_string(&p).unwrap();
        assert!(text.contains(from), "{file} has no {from:?}");
        fs::write(&p, text.replacen(from, to, 1)).unwrap();
    }

    pub fn append(&self, file: &str, doc: &str) {
        let p = self.path(file);
        let mut text = fs::read_to_string(&p).unwrap_or_default();
        text.push_str("\n---\n");
        text.push_str(doc);
        fs::write(&p, text).unwrap();
    }

    /// `powerplane --state-dir <state> ARGS`.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_powerplane"));
        c.arg("--state-dir").arg(self.state()).args(args).env("NO_COLOR", "1").env_remove("RUST_LOG");
        c
    }

    /// `powerplane --state-dir <state> ARGS` as a running process whose log lines (stderr) the
    /// test reads, for long-running commands (a slow apply, watch).
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        std::process::Command::new(env!("CARGO_BIN_EXE_powerplane"))
            .arg("--state-dir")
            .arg(self.state())
            .args(args)
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// A lab over the fixture estate `tests/fixtures/NAME`: its manifests, and its hardware and
    /// manifests (as `inventory` edits them: where each partition runs now) realised by `sim
    /// init` as a brownfield estate.
    pub fn from_fixture(name: &str, inventory: impl Fn(String) -> String) -> Lab {
        let lab = Lab::new();
        let fixture = root().join("tests/fixtures").join(name);
        fs::remove_dir_all(lab.manifests()).unwrap();
        copy_dir(&fixture.join("manifests"), &lab.manifests());
        let inv = lab.dir.path().join("inventory");
        fs::create_dir_all(&inv).unwrap();
        fs::copy(fixture.join("hardware.yaml"), inv.join("hardware.yaml")).unwrap();
        let estate = fs::read_to_string(fixture.join("manifests/estate.yaml")).unwrap();
        fs::write(inv.join("estate.yaml"), inventory(estate)).unwrap();
        lab.cmd(&["--inventory", inv.to_str().unwrap(), "sim", "init"]).assert().success();
        lab
    }

    /// `powerplane validate m/`.
    pub fn validate(&self) -> Command {
        let m = self.manifests();
        self.cmd(&["validate", m.to_str().unwrap()])
    }

    /// Every file below the scratch directory with its contents: compared before and after a
    /// command to prove it changed nothing.
    pub fn snapshot(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        let mut out = BTreeMap::new();
        walk(self.dir.path(), &mut out);
        out
    }
}

fn walk(dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.insert(p.clone(), fs::read(&p).unwrap());
        }
    }
}

/// `text` with the first `from` replaced by `to`; fails when `from` is absent, so that an edit of
/// an inventory can never silently do nothing.
#[track_caller]
pub fn replaced(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "no {from:?} to replace");
    text.replacen(from, to, 1)
}

/// What a command printed, both streams, for assertion messages.
pub fn text(o: &std::process::Output) -> String {
    format!("{}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            fs::copy(&p, &dest).unwrap();
        }
    }
}
