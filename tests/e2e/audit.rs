//! The audit trail as evidence: damage located, salvaged and refused for appending; a removed
//! tail found against HEAD; torn tails moved aside; forgery without the key shown; witnessed
//! heads checked; read commands that leave the state directory byte for byte as it was; an
//! older release's state directory migrated with its history.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use predicates::prelude::*;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::support::{Lab, root};

use super::support::lab_inventory as inventory;

fn m(lab: &Lab) -> String {
    lab.manifests().display().to_string()
}

/// A lab estate applied once: 10 records (5 intents, 5 outcomes).
fn applied() -> Lab {
    let lab = Lab::new();
    lab.cmd(&["--inventory", &inventory(), "sim", "init"]).assert().success();
    lab.cmd(&["apply", &m(&lab), "--yes"]).assert().success();
    lab
}

fn segment(lab: &Lab) -> PathBuf {
    lab.state().join("audit/000001.jsonl")
}

fn lines(lab: &Lab) -> Vec<String> {
    fs::read_to_string(segment(lab)).unwrap().lines().map(str::to_owned).collect()
}

fn write_lines(lab: &Lab, lines: &[String]) {
    fs::write(segment(lab), lines.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
}

fn head(lab: &Lab) -> String {
    let out = lab.cmd(&["audit", "head"]).assert().success().get_output().stdout.clone();
    String::from_utf8(out).unwrap().trim().to_owned()
}

/// Every file of the state directory with its bytes.
fn state_bytes(lab: &Lab) -> BTreeMap<PathBuf, Vec<u8>> {
    lab.snapshot().into_iter().filter(|(p, _)| p.starts_with(lab.state())).collect()
}

/// Byte offset of line `n` (from 1).
fn offset_of_line(lab: &Lab, n: usize) -> usize {
    lines(lab).iter().take(n - 1).map(|l| l.len() + 1).sum()
}

#[test]
fn a_flipped_byte_in_a_middle_record_is_named_and_the_records_around_it_are_salvaged() {
    let lab = applied();
    let mut l = lines(&lab);
    assert_eq!(l.len(), 10);
    l[3] = l[3].replacen("\"kind\":\"", "\"kind\":\"X", 1);
    write_lines(&lab, &l);
    let at = offset_of_line(&lab, 4);
    lab.cmd(&["audit", "verify"]).assert().code(1).stdout(
        predicate::str::contains(format!("first: record 4 at 000001.jsonl line 4 (byte {at})"))
            .and(predicate::str::contains("it was changed"))
            .and(predicate::str::contains("DAMAGED")),
    );
    let out = lab.cmd(&["audit", "--json"]).assert().code(1).get_output().stdout.clone();
    let printed: Vec<Value> =
        String::from_utf8(out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let seqs: Vec<u64> = printed.iter().filter_map(|r| r["seq"].as_u64()).collect();
    assert_eq!(seqs, (1..=10).collect::<Vec<_>>(), "every readable record is printed");
    let damage = printed.iter().position(|r| r.get("damage").is_some()).expect("the damage is marked");
    assert_eq!(printed[damage]["damage"]["seq"], 4);
    // Nothing is appended to a damaged trail; the refusal says how to go on.
    let before = state_bytes(&lab);
    lab.edit("p72.yaml", "desiredMB: 16384", "desiredMB: 12288");
    lab.cmd(&["apply", &m(&lab), "--yes"]).assert().code(1).stderr(
        predicate::str::contains("the audit trail in")
            .and(predicate::str::contains("record 4 at 000001.jsonl line 4"))
            .and(predicate::str::contains("audit set-aside 000001.jsonl")),
    );
    assert_eq!(fs::read(segment(&lab)).unwrap(), before[&segment(&lab)], "the damaged segment is left as it was");
    // Set aside, the trail goes on after it; verify reports it from then on.
    lab.cmd(&["audit", "set-aside", "000001.jsonl"]).assert().success();
    lab.cmd(&["apply", &m(&lab), "--yes"]).assert().success();
    assert!(lab.state().join("audit/set-aside/000001.jsonl").exists());
    let second = fs::read_to_string(lab.state().join("audit/000002.jsonl")).unwrap();
    assert!(second.starts_with("{\"seq\":11,"), "numbered on from HEAD: {second}");
    lab.cmd(&["audit", "verify"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("records 1–10 were set aside as damaged (audit/set-aside/000001.jsonl)"));
}

#[test]
fn a_head_witnessed_before_the_first_record_is_the_empty_trail() {
    let lab = applied();
    let genesis = format!("0:{}", "0".repeat(64));
    lab.cmd(&["audit", "verify", "--expect", &genesis])
        .assert()
        .success()
        .stdout(predicate::str::contains("(the empty trail, before any record) is in the trail"));
    let wrong = format!("0:{}", "f".repeat(64));
    lab.cmd(&["audit", "verify", "--expect", &wrong])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("is not a head this trail can have had"));
}

#[test]
fn deleting_the_last_lines_is_reported_against_head() {
    let lab = applied();
    let l = lines(&lab);
    write_lines(&lab, &l[..7]);
    lab.cmd(&["audit", "verify"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("records 8–10 are missing: HEAD says 10 records were acknowledged"));
    lab.cmd(&["audit"]).assert().code(1);
}

#[test]
fn a_torn_tail_after_sigkill_is_moved_aside_with_a_warning_and_nothing_acknowledged_is_lost() {
    let lab = Lab::new();
    lab.cmd(&["--inventory", &inventory(), "sim", "init"]).assert().success();
    // A move that takes minutes of virtual time at 3x: the apply is killed while it waits.
    lab.edit("js22.yaml", "placement: {anyOf: [js22_slot13, js22_slot14]}", "placement: {frame: js22_slot14}");
    let mut child = lab.spawn(&["--sim-speedup", "3", "apply", &m(&lab), "--yes"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    // HEAD follows the records a batch or two behind: wait until it anchors some, so that the
    // witnessed head below is one a record answers.
    while lines_if_any(&lab) < 2 || head_seq_if_any(&lab) < 2 {
        assert!(std::time::Instant::now() < deadline, "the apply recorded nothing in a minute");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let witnessed = head(&lab);
    let acknowledged = lines(&lab);
    // What a process killed inside its write leaves: part of a line after HEAD.
    let mut torn = fs::read(segment(&lab)).unwrap();
    torn.extend_from_slice(br#"{"seq":999,"time":"2026-12-01T00:00:00Z","event":"int"#);
    fs::write(segment(&lab), &torn).unwrap();
    lab.cmd(&["audit", "verify"])
        .assert()
        .success()
        .stderr(predicate::str::contains("after HEAD").and(predicate::str::contains("not acknowledged")));
    lab.cmd(&["--sim-speedup", "0", "apply", &m(&lab), "--yes"])
        .assert()
        .success()
        .stderr(predicate::str::contains("never acknowledged").and(predicate::str::contains("audit/torn-")));
    let aside: Vec<PathBuf> = fs::read_dir(lab.state().join("audit"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("torn-"))
        .collect();
    assert_eq!(aside.len(), 1);
    assert!(fs::read_to_string(&aside[0]).unwrap().contains("\"seq\":999"));
    assert_eq!(&lines(&lab)[..acknowledged.len()], &acknowledged[..], "no acknowledged record was lost");
    lab.cmd(&["audit", "verify", "--expect", &witnessed])
        .assert()
        .success()
        .stdout(predicate::str::contains("audit trail intact").and(predicate::str::contains("is in the trail")));
}

fn head_seq_if_any(lab: &Lab) -> u64 {
    fs::read_to_string(lab.state().join("audit/HEAD"))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|h| h["seq"].as_u64())
        .unwrap_or(0)
}

fn lines_if_any(lab: &Lab) -> usize {
    fs::read_to_string(segment(lab)).map(|t| t.lines().count()).unwrap_or(0)
}

/// What someone without the key can do: change a record, recompute every hash after it and
/// HEAD.
fn recompute_chain(lab: &Lab, seq: u64, change: impl Fn(&mut Value)) {
    let mut prev = "0".repeat(64);
    let mut out = Vec::new();
    let mut last = (0, String::new());
    for line in lines(lab) {
        let mut r: Value = serde_json::from_str(&line).unwrap();
        if r["seq"] == seq {
            change(&mut r);
        }
        r["prev_hash"] = Value::String(prev.clone());
        // The line's format: compact JSON with the hash last, hashed with it empty.
        r.as_object_mut().unwrap().remove("hash");
        let body = serde_json::to_string(&r).unwrap();
        let body = &body[..body.len() - 1];
        let unhashed = format!("{body},\"hash\":\"\"}}");
        let hash: String = Sha256::digest(unhashed.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
        out.push(format!("{body},\"hash\":\"{hash}\"}}"));
        last = (r["seq"].as_u64().unwrap(), hash.clone());
        prev = hash;
    }
    write_lines(lab, &out);
    let head = serde_json::json!({"seq": last.0, "hash": last.1, "time": "2026-12-01T00:00:00Z"});
    fs::write(lab.state().join("audit/HEAD"), format!("{head}\n")).unwrap();
}

#[test]
fn a_chain_recomputed_without_the_key_is_reported_as_forged() {
    let lab = Lab::new();
    let key = lab.dir.path().join("audit.key");
    let key_s = key.display().to_string();
    let pubkey = format!("{key_s}.pub");
    lab.cmd(&["audit", "keygen", &key_s]).assert().success();
    lab.cmd(&["--inventory", &inventory(), "sim", "init"]).assert().success();
    lab.cmd(&["apply", &m(&lab), "--yes"]).env("POWERPLANE_AUDIT_KEY", &key).assert().success();
    lab.cmd(&["audit", "verify", "--pubkey", &pubkey])
        .assert()
        .success()
        .stdout(predicate::str::contains("every record is covered by a checkpoint it signed"));
    // Without the key the same recomputation is indistinguishable from an honest trail...
    let unsigned = applied();
    recompute_chain(&unsigned, 4, |r| r["message"] = Value::String("nothing to see here".into()));
    lab_verify_is(&unsigned, &["audit", "verify"], 0);
    // ...with it, the checkpoints give it away.
    recompute_chain(&lab, 4, |r| r["message"] = Value::String("nothing to see here".into()));
    lab.cmd(&["audit", "verify", "--pubkey", &pubkey])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("FORGED").and(predicate::str::contains("the chain was recomputed")));
    lab.cmd(&["audit", "verify"]).assert().code(1).stdout(predicate::str::contains("FORGED"));
}

fn lab_verify_is(lab: &Lab, args: &[&str], code: i32) {
    lab.cmd(args).assert().code(code);
}

#[test]
fn a_witnessed_head_holds_while_it_is_in_the_trail_and_fails_once_it_is_gone() {
    let lab = applied();
    let older = head(&lab);
    assert!(older.starts_with("10:"), "{older}");
    lab.edit("p72.yaml", "desiredMB: 16384", "desiredMB: 12288");
    lab.cmd(&["apply", &m(&lab), "--yes"]).assert().success();
    let newer = head(&lab);
    lab.cmd(&["audit", "verify", "--expect", &older])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!("the witnessed head {older} is in the trail")));
    // The tail removed and HEAD rewritten to match: consistent, but not what was witnessed.
    let l = lines(&lab);
    write_lines(&lab, &l[..10]);
    let last: Value = serde_json::from_str(&l[9]).unwrap();
    let h = serde_json::json!({"seq": 10, "hash": last["hash"], "time": "2026-12-01T00:00:00Z"});
    fs::write(lab.state().join("audit/HEAD"), format!("{h}\n")).unwrap();
    lab.cmd(&["audit", "verify"]).assert().success();
    lab.cmd(&["audit", "verify", "--expect", &newer])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("is not in the trail").and(predicate::str::contains("records were removed")));
    lab.cmd(&["audit", "verify", "--expect", "12:zz"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("SEQ:HASH").or(predicate::str::contains("SHA-256")));
}

const READ_COMMANDS: &[&[&str]] = &[
    &["audit"],
    &["audit", "--json"],
    &["audit", "verify"],
    &["audit", "verify", "--json"],
    &["audit", "head"],
    &["audit", "head", "--json"],
    &["sim", "show"],
    &["sim", "show", "--format", "json"],
    &["drift", "M"],
    &["plan", "M", "--refresh=false"],
];

/// Runs every read command and checks that the state directory is byte for byte as before.
fn reads_change_nothing(lab: &Lab, what: &str) {
    let before = state_bytes(lab);
    for args in READ_COMMANDS {
        let args: Vec<String> = args.iter().map(|a| if *a == "M" { m(lab) } else { (*a).to_owned() }).collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = lab.cmd(&args).output().unwrap();
        let after = state_bytes(lab);
        assert!(
            before == after,
            "`{}` ({what}) changed the state directory: {:?}\nstderr: {}",
            args.join(" "),
            changed(&before, &after),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn changed(a: &BTreeMap<PathBuf, Vec<u8>>, b: &BTreeMap<PathBuf, Vec<u8>>) -> Vec<PathBuf> {
    let keys: std::collections::BTreeSet<&PathBuf> = a.keys().chain(b.keys()).collect();
    keys.into_iter().filter(|k| a.get(*k) != b.get(*k)).cloned().collect()
}

#[test]
fn read_commands_leave_the_state_directory_byte_identical_damaged_or_not() {
    let lab = applied();
    reads_change_nothing(&lab, "healthy");
    // An unacknowledged tail is reported, not moved, by readers.
    let mut bytes = fs::read(segment(&lab)).unwrap();
    bytes.extend_from_slice(b"{\"seq\":11");
    fs::write(segment(&lab), &bytes).unwrap();
    reads_change_nothing(&lab, "torn tail");
    // A damaged record.
    let mut l = lines(&lab);
    l[2] = l[2].replacen("intent", "intenT", 1);
    write_lines(&lab, &l);
    reads_change_nothing(&lab, "damaged audit record");
    // A damaged database: the readers that need it fail, saying so, and touch nothing.
    let db = lab.state().join("db");
    let mut d = fs::read(&db).unwrap();
    for b in &mut d[64..] {
        *b ^= 0x5a;
    }
    fs::write(&db, &d).unwrap();
    reads_change_nothing(&lab, "damaged database");
    lab.cmd(&["sim", "show"]).assert().code(1).stderr(
        predicate::str::contains("is damaged")
            .and(predicate::str::contains("found on a copy, so nothing in the state directory was changed"))
            .and(predicate::str::contains("sim init --force").not()),
    );
    let before = state_bytes(&lab);
    lab.cmd(&["plan", &m(&lab)]).assert().code(1).stderr(predicate::str::contains("found on a copy"));
    assert!(before == state_bytes(&lab), "a writer refused on a copy too, and changed nothing");
    // The advice works: the database moved aside, a new estate, the trail goes on.
    let aside = lab.state().join("damaged");
    fs::create_dir(&aside).unwrap();
    for e in fs::read_dir(lab.state()).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name == "conf" || name == "db" || name == "blobs" || name.starts_with("snap.") {
            fs::rename(&p, aside.join(&name)).unwrap();
        }
    }
    // The damaged record is repaired first (it was the test's doing).
    let mut l = lines(&lab);
    l[2] = l[2].replacen("intenT", "intent", 1);
    write_lines(&lab, &l);
    lab.cmd(&["--inventory", &inventory(), "sim", "init"]).assert().success();
    lab.cmd(&["apply", &m(&lab), "--yes"]).assert().success().stderr(predicate::str::contains("never acknowledged"));
    lab.cmd(&["audit", "verify"]).assert().success().stdout(predicate::str::contains("intact: 20 records"));
}

#[test]
fn a_state_directory_of_the_previous_release_is_migrated_with_its_history() {
    let lab = Lab::new();
    let fixture = root().join("tests/fixtures/state-0.1.0-408c35a.tar.gz");
    let ok =
        std::process::Command::new("tar").arg("-xzf").arg(&fixture).arg("-C").arg(lab.dir.path()).status().unwrap();
    assert!(ok.success());
    let expected: Vec<Value> = fs::read_to_string(root().join("tests/fixtures/state-0.1.0-408c35a.audit.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // The manifests as that release had them: lpar_6_sotchax11's rootvg LUN came later, with
    // its disk in the lab inventory.
    lab.edit(
        "solchms05.yaml",
        "\n  storage:\n    - {lun: \"6005076801203E85-L1C\", via: vscsi}   # rootvg (invented LUN id; hdisk18 on both VIOS)",
        "",
    );
    // Readers read the old tree where it is, and change nothing.
    reads_change_nothing(&lab, "not migrated");
    lab.cmd(&["audit", "verify"]).assert().success().stdout(predicate::str::contains("intact: 10 records"));
    // The first writer moves it into segment files, same records, same hashes.
    lab.cmd(&["plan", &m(&lab)]).assert().code(0).stderr(predicate::str::contains("moved the audit trail"));
    let migrated: Vec<Value> = lines(&lab).iter().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(migrated, expected);
    assert!(head(&lab).starts_with(&format!("10:{}", expected[9]["hash"].as_str().unwrap())));
    // The simulated estate reads as the old release left it.
    let show = lab.cmd(&["sim", "show", "--format", "json"]).assert().success().get_output().stdout.clone();
    let mut show: Value = serde_json::from_slice(&show).unwrap();
    // The report has gained each SEA member's `adapters` (virt_adapters) since that release.
    for f in show["frames"].as_array_mut().unwrap() {
        for m in f["sea"]["members"].as_array_mut().into_iter().flatten() {
            assert!(m.as_object_mut().unwrap().remove("adapters").is_some(), "{m}");
        }
    }
    let old: Value =
        serde_json::from_str(&fs::read_to_string(root().join("tests/fixtures/state-0.1.0-408c35a.sim.json")).unwrap())
            .unwrap();
    assert_eq!(show["frames"], old["frames"]);
    // And the history goes on from there.
    lab.edit("p72.yaml", "desiredMB: 16384", "desiredMB: 12288");
    lab.cmd(&["apply", &m(&lab), "--yes"]).assert().success();
    lab.cmd(&["audit", "verify"]).assert().success();
    let l = lines(&lab);
    let eleventh: Value = serde_json::from_str(&l[10]).unwrap();
    assert_eq!(eleventh["prev_hash"], expected[9]["hash"]);
    assert!(eleventh["user"].is_string() && eleventh["invocation"].as_str().unwrap().contains("apply"));
}

/// A lab estate applied once with a signing key: the lab, the key's file and its public key's.
fn signed() -> (Lab, String, String) {
    let lab = Lab::new();
    let key = lab.dir.path().join("audit.key").display().to_string();
    let pubkey = format!("{key}.pub");
    lab.cmd(&["audit", "keygen", &key]).assert().success();
    lab.cmd(&["--inventory", &inventory(), "sim", "init"]).assert().success();
    lab.cmd(&["apply", &m(&lab), "--yes"]).env("POWERPLANE_AUDIT_KEY", &key).assert().success();
    lab.cmd(&["audit", "verify", "--pubkey", &pubkey]).assert().success();
    (lab, key, pubkey)
}

/// `record` as a line of the trail (compact JSON, the hash last and over the line with it
/// empty) and its hash: what anyone who can write the files can make without the key.
fn sealed(mut record: Value) -> (String, String) {
    record.as_object_mut().unwrap().remove("hash");
    let body = serde_json::to_string(&record).unwrap();
    let body = &body[..body.len() - 1];
    let hash: String =
        Sha256::digest(format!("{body},\"hash\":\"\"}}").as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    (format!("{body},\"hash\":\"{hash}\"}}"), hash)
}

/// Appends a correctly chained record saying a partition was deleted, and rewrites HEAD to it
/// (unsigned: the forger has no key). Returns its seq.
fn forge_deletion(lab: &Lab) -> u64 {
    let mut l = lines(lab);
    let last: Value = serde_json::from_str(l.last().unwrap()).unwrap();
    let seq = last["seq"].as_u64().unwrap() + 1;
    let (line, hash) = sealed(serde_json::json!({
        "seq": seq,
        "time": "2026-12-07T04:00:00.000Z",
        "event": "outcome",
        "plan_id": last["plan_id"],
        "action": "a99",
        "kind": "DeletePartition",
        "object": "Partition/p72_app01",
        "command": "rmsyscfg -r lpar -m p72 -n p72_app01",
        "result": "succeeded",
        "prev_hash": last["hash"],
    }));
    l.push(line);
    write_lines(lab, &l);
    let head = serde_json::json!({"seq": seq, "hash": hash, "time": "2026-12-07T04:00:00Z"});
    fs::write(lab.state().join("audit/HEAD"), format!("{head}\n")).unwrap();
    seq
}

/// The files of the trail with their bytes.
fn trail_bytes(lab: &Lab) -> BTreeMap<PathBuf, Vec<u8>> {
    state_bytes(lab).into_iter().filter(|(p, _)| p.starts_with(lab.state().join("audit"))).collect()
}

#[test]
fn a_forged_record_is_not_laundered_by_the_next_signed_write() {
    let (lab, key, pubkey) = signed();
    let forged = forge_deletion(&lab);
    let verdict = |lab: &Lab| {
        let out = lab.cmd(&["audit", "verify", "--pubkey", &pubkey]).assert().code(1).get_output().stdout.clone();
        String::from_utf8(out).unwrap()
    };
    let before = verdict(&lab);
    assert!(before.starts_with("audit trail FORGED"), "{before}");
    assert!(before.contains(&format!("record {forged} at 000001.jsonl line {forged}")), "{before}");
    // The next writer with the key finds the record no checkpoint signs and appends nothing.
    let trail = trail_bytes(&lab);
    lab.edit("p72.yaml", "desiredMB: 16384", "desiredMB: 12288");
    lab.cmd(&["apply", &m(&lab), "--yes"]).env("POWERPLANE_AUDIT_KEY", &key).assert().code(1).stderr(
        predicate::str::contains(format!("record {forged} follows record {}", forged - 1))
            .and(predicate::str::contains("no checkpoint signs it"))
            .and(predicate::str::contains("it does not say it was written without the key"))
            .and(predicate::str::contains("Nothing was appended"))
            .and(predicate::str::contains("audit set-aside 000001.jsonl")),
    );
    assert!(trail == trail_bytes(&lab), "the trail was changed: {:?}", changed(&trail, &trail_bytes(&lab)));
    assert_eq!(verdict(&lab), before, "still forged, and reported as before");
    // Set aside, the trail continues after it, and verify reports it ever after.
    lab.cmd(&["audit", "set-aside", "000001.jsonl"]).assert().success();
    lab.cmd(&["apply", &m(&lab), "--yes"]).env("POWERPLANE_AUDIT_KEY", &key).assert().success();
    let after = verdict(&lab);
    assert!(
        after.contains(&format!("records 1–{forged} were set aside as damaged (audit/set-aside/000001.jsonl)")),
        "{after}"
    );
}

#[test]
fn an_unsigned_write_to_a_signed_trail_is_refused_and_changes_nothing() {
    let (lab, _key, pubkey) = signed();
    lab.edit("p72.yaml", "desiredMB: 16384", "desiredMB: 12288");
    let before = state_bytes(&lab);
    lab.cmd(&["apply", &m(&lab), "--yes"]).env_remove("POWERPLANE_AUDIT_KEY").assert().code(1).stderr(
        predicate::str::contains("is signed (its HEAD, record")
            .and(predicate::str::contains("only appended to by a writer with its key"))
            .and(predicate::str::contains("POWERPLANE_AUDIT_KEY=FILE")),
    );
    let after = state_bytes(&lab);
    assert!(before == after, "the state directory was changed: {:?}", changed(&before, &after));
    // HEAD rewritten without its signature: the checkpoints still say the trail is signed, and
    // the rewritten HEAD is reported to the writer as what it is.
    let head: Value = serde_json::from_str(&fs::read_to_string(lab.state().join("audit/HEAD")).unwrap()).unwrap();
    let unsigned = serde_json::json!({"seq": head["seq"], "hash": head["hash"], "time": head["time"]});
    fs::write(lab.state().join("audit/HEAD"), format!("{unsigned}\n")).unwrap();
    let trail = trail_bytes(&lab);
    lab.cmd(&["apply", &m(&lab), "--yes"]).env_remove("POWERPLANE_AUDIT_KEY").assert().code(1).stderr(
        predicate::str::contains("HEAD is not signed although the trail is")
            .and(predicate::str::contains("audit set-aside HEAD")),
    );
    assert!(trail == trail_bytes(&lab), "the trail was changed: {:?}", changed(&trail, &trail_bytes(&lab)));
    lab.cmd(&["audit", "verify", "--pubkey", &pubkey])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("the trail is signed but HEAD is not"));
}

#[test]
fn a_trail_deleted_from_a_state_directory_with_history_is_damage() {
    let lab = applied();
    let key = lab.dir.path().join("audit.key").display().to_string();
    lab.cmd(&["audit", "keygen", &key]).assert().success();
    let pubkey = format!("{key}.pub");
    for gone in ["deleted", "a file"] {
        let audit = lab.state().join("audit");
        if audit.is_dir() {
            fs::remove_dir_all(&audit).unwrap();
        }
        if gone == "a file" {
            fs::write(&audit, "not a trail\n").unwrap();
        }
        let expected = if gone == "deleted" {
            "audit is gone, yet its database has recorded since"
        } else {
            "audit is not a directory"
        };
        for verify in [&["audit", "verify"][..], &["audit", "verify", "--pubkey", &pubkey][..]] {
            lab.cmd(verify).assert().code(1).stdout(
                predicate::str::starts_with("audit trail DAMAGED: 1 problem in 0 readable records")
                    .and(predicate::str::contains("the audit trail is missing"))
                    .and(predicate::str::contains(expected))
                    .and(predicate::str::contains("intact").not()),
            );
        }
        lab.cmd(&["audit", "head"]).assert().code(1).stderr(predicate::str::contains("the audit trail is missing"));
        let before = state_bytes(&lab);
        lab.cmd(&["apply", &m(&lab), "--yes"])
            .assert()
            .code(1)
            .stderr(predicate::str::contains("is missing").and(predicate::str::contains("Restore")));
        let after = state_bytes(&lab);
        assert!(before == after, "{gone}: the state directory was changed: {:?}", changed(&before, &after));
        assert_eq!(audit.exists(), gone == "a file", "no new trail was started");
    }
    // A state directory without history starts its trail at 1, and an empty trail is intact.
    let fresh = Lab::new();
    fresh.cmd(&["--inventory", &inventory(), "sim", "init"]).assert().success();
    fresh
        .cmd(&["audit", "verify"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("audit trail intact: 0 records"));
    fresh.cmd(&["apply", &m(&fresh), "--yes"]).assert().success();
    assert!(lines(&fresh)[0].starts_with("{\"seq\":1,"));
}

#[test]
fn verify_gives_one_verdict_first_over_the_trail_its_signatures_and_the_witness() {
    let lab = applied();
    let older = head(&lab);
    lab.edit("p72.yaml", "desiredMB: 16384", "desiredMB: 12288");
    lab.cmd(&["apply", &m(&lab), "--yes"]).assert().success();
    let newer = head(&lab);
    let out = lab.cmd(&["audit", "verify", "--expect", &older]).assert().success().get_output().stdout.clone();
    let out = String::from_utf8(out).unwrap();
    assert!(out.starts_with("audit trail intact:") && out.contains("is in the trail"), "{out}");
    // The tail removed and HEAD rewritten to match: the chain holds, the witness does not.
    let l = lines(&lab);
    write_lines(&lab, &l[..10]);
    let last: Value = serde_json::from_str(&l[9]).unwrap();
    let h = serde_json::json!({"seq": 10, "hash": last["hash"], "time": "2026-12-01T00:00:00Z"});
    fs::write(lab.state().join("audit/HEAD"), format!("{h}\n")).unwrap();
    let out = lab.cmd(&["audit", "verify", "--expect", &newer]).assert().code(1).get_output().stdout.clone();
    let out = String::from_utf8(out).unwrap();
    let first = out.lines().next().unwrap();
    assert!(first.starts_with("audit trail FORGED or damaged: 1 problem in 10 readable records"), "{out}");
    assert!(!out.contains("intact"), "one verdict, not two: {out}");
    assert_eq!(
        out.matches(&format!("the witnessed head {newer} is not in the trail")).count(),
        2,
        "first, and listed: {out}"
    );
    let json = lab.cmd(&["audit", "verify", "--expect", &newer, "--json"]).assert().code(1).get_output().stdout.clone();
    let json: Value = serde_json::from_slice(&json).unwrap();
    assert_eq!((json["intact"].as_bool(), json["expect"]["holds"].as_bool()), (Some(false), Some(false)));
}

#[test]
fn set_aside_moves_only_damage() {
    let lab = applied();
    let before = state_bytes(&lab);
    lab.cmd(&["audit", "set-aside", "000001.jsonl"]).assert().code(1).stderr(
        predicate::str::contains("000001.jsonl is not damaged (records 1–10, which it holds, are intact)")
            .and(predicate::str::contains("nothing to set aside")),
    );
    lab.cmd(&["audit", "set-aside", "HEAD"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("HEAD is not damaged").and(predicate::str::contains("agrees with the trail")));
    let after = state_bytes(&lab);
    assert!(
        after
            .iter()
            .filter(|(p, _)| p.starts_with(lab.state().join("audit")))
            .eq(before.iter().filter(|(p, _)| p.starts_with(lab.state().join("audit")))),
        "the trail was changed"
    );
    assert!(!lab.state().join("audit/set-aside").exists());
}

#[test]
fn a_closed_stdout_ends_quietly_with_the_pipe_status() {
    let lab = applied();
    for args in [&["audit"][..], &["audit", "--json"], &["audit", "verify"], &["audit", "head"], &["sim", "show"]] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_powerplane"))
            .arg("--state-dir")
            .arg(lab.state())
            .args(args)
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // The reader goes away before the command prints anything.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(141), "`{}`: {stderr}", args.join(" "));
        assert!(stderr.is_empty(), "`{}` said: {stderr}", args.join(" "));
    }
}

#[test]
fn counts_are_worded_for_one() {
    let lab = applied();
    let mut l = lines(&lab);
    l.remove(3);
    write_lines(&lab, &l);
    lab.cmd(&["audit", "verify"]).assert().code(1).stdout(
        predicate::str::contains("record 4 is missing")
            .and(predicate::str::contains("audit trail DAMAGED: 1 problem in 9 readable records")),
    );
}

#[test]
fn a_signed_trail_with_its_signatures_stripped_is_not_adopted() {
    let (lab, key, pubkey) = signed();
    // Every checkpoint removed, the records renumbered and marked unsigned, the chain and HEAD
    // recomputed: to the files alone, a trail that was never signed.
    let mut prev = "0".repeat(64);
    let mut out = Vec::new();
    for line in lines(&lab) {
        let mut r: Value = serde_json::from_str(&line).unwrap();
        if r["event"] == "checkpoint" {
            continue;
        }
        r["seq"] = Value::from(out.len() as u64 + 1);
        r["unsigned"] = Value::Bool(true);
        r["prev_hash"] = Value::String(prev.clone());
        let (line, hash) = sealed(r);
        out.push(line);
        prev = hash;
    }
    write_lines(&lab, &out);
    let head = serde_json::json!({"seq": out.len(), "hash": prev, "time": "2026-12-07T04:00:00Z"});
    fs::write(lab.state().join("audit/HEAD"), format!("{head}\n")).unwrap();
    // Without the key nothing in the files tells; with it, every record is unsigned.
    lab.cmd(&["audit", "verify"]).assert().success();
    lab.cmd(&["audit", "verify", "--pubkey", &pubkey]).assert().code(1).stdout(
        predicate::str::starts_with("audit trail FORGED").and(predicate::str::contains("records 1–10 are not covered")),
    );
    // The database remembers that the trail was signed: neither writer adopts it.
    let trail = trail_bytes(&lab);
    lab.edit("p72.yaml", "desiredMB: 16384", "desiredMB: 12288");
    for with_key in [true, false] {
        let mut apply = lab.cmd(&["apply", &m(&lab), "--yes"]);
        if with_key {
            apply.env("POWERPLANE_AUDIT_KEY", &key);
        } else {
            apply.env_remove("POWERPLANE_AUDIT_KEY");
        }
        apply.assert().code(1).stderr(
            predicate::str::contains("carries no signature (records 1–10 and HEAD)")
                .and(predicate::str::contains("records that a writer with key"))
                .and(predicate::str::contains("audit set-aside 000001.jsonl")),
        );
        assert!(trail == trail_bytes(&lab), "the trail was changed: {:?}", changed(&trail, &trail_bytes(&lab)));
    }
    // Set aside (the segment counts as damaged although its lines are consistent), the trail
    // goes on signed.
    lab.cmd(&["audit", "set-aside", "000001.jsonl"]).assert().success();
    lab.cmd(&["apply", &m(&lab), "--yes"]).env("POWERPLANE_AUDIT_KEY", &key).assert().success();
    lab.cmd(&["audit", "verify", "--pubkey", &pubkey])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("records 1–10 were set aside as damaged"));
}

/// Issue 33 item 14: a damaged database is reported in words — the state directory, its
/// database file, what was found and the fix — never with sled's internals or Rust `Debug`
/// text.
#[test]
fn a_damaged_database_is_reported_in_words_with_its_path_and_the_fix() {
    let lab = applied();
    let db = lab.state().join("db");
    let mut d = fs::read(&db).unwrap();
    for b in &mut d[64..] {
        *b ^= 0x5a;
    }
    fs::write(&db, &d).unwrap();
    let state = lab.state().display().to_string();
    for args in [vec!["sim", "show"], vec!["plan", &m(&lab)]] {
        let out = lab.cmd(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(&format!("its database ({state}/db) cannot be read")), "{args:?}: {stderr}");
        assert!(stderr.contains("sled found corrupted data"), "{args:?}: {stderr}");
        assert!(stderr.contains("move the database files (conf, db, snap.*, blobs)"), "{args:?}: {stderr}");
        for internal in ["backtrace", "Some(", "Read corrupted data", "Inline", "Blob(", "sled::", "stable lsn"] {
            assert!(!stderr.contains(internal), "{args:?} shows sled's internals ({internal}): {stderr}");
        }
    }
}

/// Issue 33 item 14: a deleted database file is not made again, empty, by any command: the
/// readers that need it and the writers refuse, saying what is missing and what to do, and the
/// state directory stays as it was.
#[test]
fn a_deleted_database_file_is_refused_and_never_created_again() {
    let lab = applied();
    fs::remove_file(lab.state().join("db")).unwrap();
    let before = state_bytes(&lab);
    let mm = m(&lab);
    for args in [
        vec!["sim", "show"],
        vec!["drift", &mm],
        vec!["plan", &mm, "--refresh=false"],
        vec!["status"],
        vec!["plan", &mm],
        vec!["apply", &mm, "--yes"],
    ] {
        let out = lab.cmd(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_ne!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(
            stderr.contains("has lost its database file") && stderr.contains("/db is missing"),
            "{args:?}: {stderr}"
        );
        assert!(stderr.contains("Nothing was created or changed") && stderr.contains("Restore"), "{stderr}");
        assert!(!lab.state().join("db").exists(), "{args:?} created the database again");
        assert!(
            before == state_bytes(&lab),
            "{args:?} changed the state directory: {:?}",
            changed(&before, &state_bytes(&lab))
        );
    }
    // The audit trail is read from its own files: its readers still answer.
    lab.cmd(&["audit", "verify"]).assert().success();
}
