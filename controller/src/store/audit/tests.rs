use proptest::prelude::*;

use super::*;

fn draft(a: &str) -> Draft {
    Draft { plan_id: "p".into(), action: a.into(), kind: "StartPartition".into(), ..Default::default() }
}

fn batch(n: usize, tag: usize) -> Vec<(Event, Draft)> {
    (0..n).map(|i| (Event::Intent, draft(&format!("a{tag}-{i}")))).collect()
}

fn verify(state: &Path, key: Option<&PublicKey>) -> Scan {
    read(state, || Ok(Untrailed::default()), key, Keep::Records).unwrap()
}

pub(super) fn segment_files(state: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(state.join(DIR))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().and_then(|n| n.to_str()).and_then(segment_number).is_some())
        .collect();
    v.sort();
    v
}

#[test]
fn records_chain_rotate_and_reopen_where_they_left_off() {
    let d = tempfile::tempdir().unwrap();
    let dir = StateDir::open(d.path()).unwrap();
    let log = AuditLog::open(&dir).unwrap();
    log.set_segment_limit(2_000);
    let first = log.append(batch(2, 0)).unwrap();
    assert_eq!(first.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![1, 2]);
    for i in 1..10 {
        log.append(batch(3, i)).unwrap();
    }
    log.append(vec![(
        Event::Outcome,
        Draft { intent: Some(1), result: Some(ActionResult::Succeeded), ..draft("a0-0") },
    )])
    .unwrap();
    assert!(segment_files(d.path()).len() > 3, "rotated at 2,000 bytes");
    drop(log);
    let log = AuditLog::open(&dir).unwrap();
    assert_eq!(log.dangling_intents().unwrap().len(), 28, "every intent but the one with an outcome");
    let next = log.append(batch(1, 99)).unwrap();
    assert_eq!(next[0].seq, 31);
    let scan = verify(d.path(), None);
    assert!(scan.intact(), "{:?}", scan.damage);
    assert_eq!(scan.records, 31);
    let who = log.records().unwrap()[0].who.clone().unwrap();
    assert!(who.invocation.starts_with("powerplane"), "{who:?}");
}

#[test]
fn a_flipped_byte_is_located_and_the_records_around_it_still_read() {
    let d = tempfile::tempdir().unwrap();
    let dir = StateDir::open(d.path()).unwrap();
    let log = AuditLog::open(&dir).unwrap();
    for i in 0..5 {
        log.append(batch(2, i)).unwrap();
    }
    log.sync_head().unwrap();
    let seg = &segment_files(d.path())[0];
    let mut bytes = std::fs::read(seg).unwrap();
    let line5 = bytes.split(|b| *b == b'\n').take(4).map(|l| l.len() + 1).sum::<usize>();
    let pos = line5 + 30;
    bytes[pos] ^= 0x04;
    std::fs::write(seg, &bytes).unwrap();
    let scan = verify(d.path(), None);
    let first = &scan.damage[0];
    assert_eq!(first.seq, Some(5), "{first}");
    let at = first.at.as_ref().unwrap();
    assert_eq!((at.segment.as_str(), at.line, at.offset), ("000001.jsonl", 5, line5 as u64));
    let readable: Vec<u64> = scan
        .items
        .iter()
        .filter_map(|i| match i {
            Item::Record(_, r) => Some(r.seq),
            Item::Damage(_) => None,
        })
        .collect();
    assert!(readable.starts_with(&[1, 2, 3, 4]) && readable.ends_with(&[6, 7, 8, 9, 10]), "{readable:?}");
    drop(log);
    let refused = AuditLog::open(&dir).unwrap_err().to_string();
    assert!(
        refused.contains("record 5 at 000001.jsonl line 5") && refused.contains("audit set-aside 000001.jsonl"),
        "{refused}"
    );
    // Set aside, the trail continues after it, numbered on from HEAD, and verify says so.
    set_aside(&dir, "000001.jsonl").unwrap();
    let log = AuditLog::open(&dir).unwrap();
    assert_eq!(log.append(batch(1, 9)).unwrap()[0].seq, 11);
    let scan = verify(d.path(), None);
    assert!(!scan.intact());
    assert!(matches!(scan.damage[0].problem, Problem::SetAside { from: 1, to: 10, .. }), "{:?}", scan.damage);
    assert_eq!(scan.damage.len(), 1, "{:?}", scan.damage);
}

#[test]
fn a_removed_tail_is_missing_below_head_and_an_unacknowledged_one_is_moved_aside() {
    let d = tempfile::tempdir().unwrap();
    let dir = StateDir::open(d.path()).unwrap();
    let log = AuditLog::open(&dir).unwrap();
    for i in 0..4 {
        log.append(batch(2, i)).unwrap();
    }
    drop(log);
    let seg = &segment_files(d.path())[0];
    let good = std::fs::read(seg).unwrap();
    // Removed: the last three lines.
    let cut: usize = good.split(|b| *b == b'\n').take(5).map(|l| l.len() + 1).sum();
    std::fs::write(seg, &good[..cut]).unwrap();
    let scan = verify(d.path(), None);
    assert_eq!(scan.damage.len(), 1);
    assert!(
        matches!(scan.damage[0].problem, Problem::MissingBelowHead { from: 6, to: 8, signed: false }),
        "{:?}",
        scan.damage
    );
    assert!(AuditLog::open(&dir).is_err());
    // A torn write after HEAD: half a line that was never acknowledged.
    let mut torn = good.clone();
    torn.extend_from_slice(br#"{"seq":9,"time":"2026"#);
    std::fs::write(seg, &torn).unwrap();
    let scan = verify(d.path(), None);
    assert!(scan.intact(), "{:?}", scan.damage);
    assert_eq!(scan.torn.as_ref().unwrap().at.line, 9);
    let log = AuditLog::open(&dir).unwrap();
    assert!(log.notes()[0].contains("never acknowledged"), "{:?}", log.notes());
    assert_eq!(std::fs::read(seg).unwrap(), good, "cut back to what was acknowledged");
    let aside: Vec<_> = std::fs::read_dir(d.path().join(DIR))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("torn-"))
        .collect();
    assert_eq!(aside.len(), 1);
    assert_eq!(log.append(batch(1, 5)).unwrap()[0].seq, 9);
}

/// Rewrites `lines` from `from` on as someone without the key would: new hashes and chain,
/// and a HEAD to match.
fn recompute(state: &Path, change: impl Fn(&mut Record)) {
    let seg = &segment_files(state)[0];
    let text = std::fs::read_to_string(seg).unwrap();
    let mut prev = GENESIS.to_owned();
    let mut out = String::new();
    let mut last = (0, String::new());
    for line in text.lines() {
        let mut r: Record = serde_json::from_str(line).unwrap();
        change(&mut r);
        r.prev_hash = prev.clone();
        let sealed = r.seal();
        prev = r.hash.clone();
        last = (r.seq, r.hash.clone());
        out.push_str(std::str::from_utf8(&sealed).unwrap());
        out.push('\n');
    }
    std::fs::write(seg, out).unwrap();
    let head = Head { seq: last.0, hash: last.1, time: "then".into(), key: None, signature: None };
    head::write(&state.join(DIR), &head).unwrap();
}

#[test]
fn without_the_key_a_recomputed_chain_is_forged_and_a_removed_signed_tail_shows() {
    let d = tempfile::tempdir().unwrap();
    let key_file = d.path().join("k");
    let (_, pub_file) = keygen(&key_file).unwrap();
    let state = d.path().join("state");
    let dir = StateDir::open(&state).unwrap();
    let log = AuditLog::open_signed(&dir, Some(Signer::load(&key_file).unwrap())).unwrap();
    for i in 0..3 {
        log.append(batch(2, i)).unwrap();
    }
    log.sync_head().unwrap();
    let public = PublicKey::load(&pub_file).unwrap();
    let scan = verify(&state, Some(&public));
    assert!(scan.intact(), "{:?}", scan.damage);
    assert_eq!(scan.checkpoints, 3);
    // A record changed and everything after it recomputed, HEAD too: the checkpoints do not
    // sign the new hashes.
    let saved = std::fs::read(&segment_files(&state)[0]).unwrap();
    let saved_head = std::fs::read(state.join(DIR).join("HEAD")).unwrap();
    recompute(&state, |r| {
        if r.seq == 2 {
            r.draft.command = "rmsyscfg -r lpar -n everything".into();
        }
    });
    let scan = verify(&state, Some(&public));
    assert!(scan.damage.iter().any(|d| d.problem.forged()), "{:?}", scan.damage);
    assert!(scan.damage.iter().all(|d| !matches!(d.problem, Problem::HashMismatch | Problem::ChainBroken)));
    // Without --pubkey the signatures still do not match the recomputed hashes.
    assert!(verify(&state, None).damage.iter().any(|d| d.problem.forged()));
    // A signed trail with its last batch cut off, and HEAD left: removed, not lost.
    std::fs::write(&segment_files(&state)[0], &saved).unwrap();
    std::fs::write(state.join(DIR).join("HEAD"), &saved_head).unwrap();
    drop(log);
    let dir2 = dir.clone();
    let log = AuditLog::open_signed(&dir2, Some(Signer::load(&key_file).unwrap())).unwrap();
    log.append(batch(1, 7)).unwrap();
    log.sync_head().unwrap();
    let seg = &segment_files(&state)[0];
    let all = std::fs::read(seg).unwrap();
    let keep: usize = all.split(|b| *b == b'\n').take(9).map(|l| l.len() + 1).sum();
    std::fs::write(seg, &all[..keep]).unwrap();
    let scan = verify(&state, Some(&public));
    assert!(
        scan.damage.iter().any(|d| matches!(d.problem, Problem::MissingBelowHead { signed: true, .. })),
        "{:?}",
        scan.damage
    );
    // Another key's signatures are not ours.
    let (_, other_pub) = keygen(&d.path().join("other")).unwrap();
    std::fs::write(seg, &all).unwrap();
    let scan = verify(&state, Some(&PublicKey::load(&other_pub).unwrap()));
    assert!(scan.damage.iter().any(|d| matches!(d.problem, Problem::UnknownKey { .. })));
}

#[test]
fn an_old_sled_trail_moves_into_segments_with_the_same_hashes_and_resumes_if_interrupted() {
    let d = tempfile::tempdir().unwrap();
    let dir = StateDir::open(d.path()).unwrap();
    // An older release's state directory: its trail in the database, no audit/.
    std::fs::remove_dir_all(d.path().join(DIR)).unwrap();
    let tree = dir.tree(LEGACY_TREE).unwrap();
    let mut prev = GENESIS.to_owned();
    let mut values = Vec::new();
    for seq in 1..=5u64 {
        let mut r = Record {
            seq,
            time: "2026-11-30T00:00:00Z".into(),
            event: Event::Intent,
            draft: draft(&format!("a{seq}")),
            who: None,
            unsigned: false,
            checkpoint: None,
            prev_hash: prev.clone(),
            hash: String::new(),
        };
        // The older release's encoding: serde_json of the record with its hash.
        r.seal();
        prev = r.hash.clone();
        let v = serde_json::to_vec(&r).unwrap();
        tree.insert(seq.to_be_bytes(), v.clone()).unwrap();
        values.push(v);
    }
    // Interrupted once after the rename, before the tree was dropped.
    migrate::run(&dir).unwrap();
    let tree = dir.tree(LEGACY_TREE).unwrap();
    for (seq, v) in values.iter().enumerate() {
        tree.insert((seq as u64 + 1).to_be_bytes(), v.clone()).unwrap();
    }
    let log = AuditLog::open(&dir).unwrap();
    assert!(dir.tree(LEGACY_TREE).unwrap().is_empty(), "the tree is dropped once the segments hold it");
    let text = std::fs::read(d.path().join(DIR).join("000001.jsonl")).unwrap();
    let lines: Vec<&[u8]> = text.split(|b| *b == b'\n').filter(|l| !l.is_empty()).collect();
    assert_eq!(lines, values.iter().map(Vec::as_slice).collect::<Vec<_>>(), "byte for byte");
    let scan = verify(d.path(), None);
    assert!(scan.intact(), "{:?}", scan.damage);
    assert_eq!(log.append(batch(1, 0)).unwrap()[0].prev_hash, prev);
}

#[derive(Clone, Debug)]
enum Step {
    /// A batch of n records, acknowledged.
    Append(usize),
    /// A batch whose process died while writing it: `keep` of its bytes reached the disk,
    /// HEAD was not written.
    Torn(usize, prop::sample::Index),
    /// Close and open again.
    Reopen,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (1..6usize).prop_map(Step::Append),
        2 => (1..6usize, any::<prop::sample::Index>()).prop_map(|(n, i)| Step::Torn(n, i)),
        1 => Just(Step::Reopen),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Batches, crashes that tear a batch at any byte, reopenings: every acknowledged record is
    /// there, in order, with its hash, and the trail verifies; then any damage to an
    /// acknowledged byte is reported, never "intact".
    #[test]
    fn acknowledged_records_survive_crashes_and_damage_is_never_intact(
        steps in prop::collection::vec(step(), 1..24),
        damage in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
        signed in any::<bool>(),
    ) {
        let d = tempfile::tempdir().unwrap();
        let signer = signed.then(|| {
            keygen(&d.path().join("key")).unwrap();
            Signer::load(&d.path().join("key")).unwrap()
        });
        let state = d.path().join("state");
        let dir = StateDir::open(&state).unwrap();
        let open = |dir: &StateDir| AuditLog::open_signed(dir, signer.clone());
        let mut log = open(&dir).unwrap();
        log.set_segment_limit(1_500);
        let mut acked: Vec<(u64, String)> = Vec::new();
        for (i, s) in steps.iter().enumerate() {
            match s {
                Step::Append(n) => {
                    acked.extend(log.append(batch(*n, i)).unwrap().into_iter().map(|r| (r.seq, r.hash)));
                }
                Step::Torn(n, keep) => {
                    log.sync_head().unwrap();
                    let head_before = std::fs::read(state.join(DIR).join("HEAD")).unwrap();
                    let sizes: Vec<(PathBuf, u64)> =
                        segment_files(&state).into_iter().map(|p| { let l = std::fs::metadata(&p).unwrap().len(); (p, l) }).collect();
                    let written = log.append(batch(*n, i)).unwrap();
                    drop(log);
                    // What a crash inside the write leaves: HEAD as it was, and part of the
                    // batch (its complete lines were durable, and are kept).
                    std::fs::write(state.join(DIR).join("HEAD"), &head_before).unwrap();
                    let now = segment_files(&state);
                    let last = now.last().unwrap().clone();
                    let start = sizes.iter().find(|(p, _)| *p == last).map_or(0, |(_, l)| *l);
                    let bytes = std::fs::read(&last).unwrap();
                    let cut = start + keep.index((bytes.len() as u64 - start) as usize + 1) as u64;
                    let mut end = start;
                    let lines: Vec<&[u8]> = bytes[start as usize..].split(|b| *b == b'\n').collect();
                    if signed {
                        // A signed batch is kept whole, through its checkpoint, or not at all.
                        let whole: u64 = lines.iter().take(written.len() + 1).map(|l| l.len() as u64 + 1).sum();
                        if start + whole <= cut {
                            acked.extend(written.into_iter().map(|r| (r.seq, r.hash)));
                        }
                    } else {
                        for (line, r) in lines.iter().zip(written) {
                            end += line.len() as u64 + 1;
                            if end <= cut {
                                acked.push((r.seq, r.hash));
                            }
                        }
                    }
                    std::fs::OpenOptions::new().write(true).open(&last).unwrap().set_len(cut).unwrap();
                    log = open(&dir).unwrap();
                    log.set_segment_limit(1_500);
                }
                Step::Reopen => {
                    drop(log);
                    log = open(&dir).unwrap();
                    log.set_segment_limit(1_500);
                }
            }
            let scan = verify(&state, None);
            prop_assert!(scan.intact(), "after {:?}: {:?}", s, scan.damage);
            let found: Vec<(u64, String)> = scan.items.iter().filter_map(|i| match i {
                Item::Record(_, r) if r.event != Event::Checkpoint => Some((r.seq, r.hash.clone())),
                Item::Record(..) | Item::Damage(_) => None,
            }).collect();
            prop_assert_eq!(&found, &acked);
        }
        drop(log);
        if acked.is_empty() {
            return Ok(());
        }
        prop_assert_eq!(verify(&state, None).after_head, 0, "HEAD is exact once the writer is closed");
        // Damage one acknowledged byte (or cut the trail inside the acknowledged part).
        let files = segment_files(&state);
        let total: u64 = files.iter().map(|p| std::fs::metadata(p).unwrap().len()).sum();
        let mut at = damage.index(total as usize) as u64;
        for p in &files {
            let len = std::fs::metadata(p).unwrap().len();
            if at < len {
                let mut bytes = std::fs::read(p).unwrap();
                if truncate {
                    bytes.truncate(at as usize);
                } else {
                    bytes[at as usize] ^= 0x20;
                }
                std::fs::write(p, bytes).unwrap();
                break;
            }
            at -= len;
        }
        let scan = verify(&state, None);
        prop_assert!(!scan.intact(), "damage at byte {} (truncate {}) reported intact", at, truncate);
        prop_assert!(open(&dir).is_err(), "a damaged trail was opened for appending");
    }
}
