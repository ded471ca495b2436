//! Property tests of a signed trail against what someone who can write the files but has no
//! key can do to it: edit a record (with or without recomputing the chain and HEAD), append a
//! chained record and rewrite HEAD (as a forger, or as a writer without the key would), delete
//! a record or a segment, cut a file short, strip every signature. Whatever was done, `audit
//! verify` never says intact (a stripped trail: with `--pubkey`), the damage is located at the
//! seq (and segment) it was done to, and no writer — with the key or without — appends to the
//! trail or changes a byte of it.

use proptest::prelude::*;

use super::tests::segment_files;
use super::*;

/// One line of the trail: its segment file, its byte range there, and the record.
struct Line {
    file: PathBuf,
    start: u64,
    end: u64,
    bytes: Vec<u8>,
    record: Record,
}

fn trail_lines(state: &Path) -> Vec<Line> {
    let mut out = Vec::new();
    for file in segment_files(state) {
        let bytes = std::fs::read(&file).unwrap();
        let mut start = 0u64;
        for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let end = start + line.len() as u64 + 1;
            let record = serde_json::from_slice(line).unwrap();
            out.push(Line { file: file.clone(), start, end, bytes: line.to_vec(), record });
            start = end;
        }
    }
    out
}

/// Every file of the trail with its bytes.
fn trail_bytes(state: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(&state.join(DIR), &mut out);
    out
}

/// Writes `lines` back, each segment file holding its own lines in order (a file left with no
/// line is left empty); from the record `seal_from` on, chained and hashed again, and HEAD
/// rewritten to the last one, as someone without the key would.
fn write_back(state: &Path, lines: &[Line], seal_from: Option<u64>) {
    let mut files: BTreeMap<PathBuf, Vec<u8>> = segment_files(state).into_iter().map(|f| (f, Vec::new())).collect();
    let mut prev: Option<String> = None;
    let mut last = None;
    for l in lines {
        let mut r = l.record.clone();
        let line = match seal_from {
            Some(from) if r.seq >= from => {
                if let Some(p) = &prev {
                    r.prev_hash = p.clone();
                }
                r.seal()
            }
            _ => l.bytes.clone(),
        };
        prev = Some(r.hash.clone());
        last = Some((r.seq, r.hash.clone()));
        let buf = files.get_mut(&l.file).unwrap();
        buf.extend_from_slice(&line);
        buf.push(b'\n');
    }
    for (f, bytes) in files {
        std::fs::write(f, bytes).unwrap();
    }
    if seal_from.is_some()
        && let Some((seq, hash)) = last
    {
        unsigned_head(state, seq, hash);
    }
}

/// HEAD rewritten by someone without the key.
fn unsigned_head(state: &Path, seq: u64, hash: String) {
    head::write(&state.join(DIR), &Head { seq, hash, time: "2026-12-07T04:00:00Z".into(), key: None, signature: None })
        .unwrap();
}

#[derive(Clone, Debug)]
enum Forgery {
    /// A byte of a record's content changed, its hash left as it was.
    Edit(prop::sample::Index),
    /// A record's content changed, and every hash after it and HEAD recomputed (unsigned).
    EditAndRecompute(prop::sample::Index),
    /// A chained record appended and HEAD rewritten to it (unsigned); `marked`: it says it was
    /// written without the key, as a writer without the key would.
    Append { marked: bool },
    /// A line (record or checkpoint) removed.
    DeleteRecord(prop::sample::Index),
    /// A segment file removed.
    DeleteSegment(prop::sample::Index),
    /// The trail cut short at a byte.
    Truncate(prop::sample::Index),
    /// Every checkpoint removed, the records renumbered and marked as written without the key,
    /// the chain and HEAD recomputed: a trail that looks as if it was never signed. Only the
    /// key (`--pubkey`) and the state directory's database (which writers read) tell.
    Strip,
}

fn forgery() -> impl Strategy<Value = Forgery> {
    let i = any::<prop::sample::Index>;
    prop_oneof![
        i().prop_map(Forgery::Edit),
        i().prop_map(Forgery::EditAndRecompute),
        any::<bool>().prop_map(|marked| Forgery::Append { marked }),
        i().prop_map(Forgery::DeleteRecord),
        i().prop_map(Forgery::DeleteSegment),
        i().prop_map(Forgery::Truncate),
        Just(Forgery::Strip),
    ]
}

/// Does `forgery` to the trail at `state`; returns the seq the damage must be reported at, and
/// the segment when it must be named.
fn forge(state: &Path, forgery: &Forgery) -> (u64, Option<String>) {
    let mut lines = trail_lines(state);
    let name = |f: &Path| f.file_name().unwrap().to_string_lossy().into_owned();
    let records: Vec<usize> = (0..lines.len()).filter(|i| lines[*i].record.event != Event::Checkpoint).collect();
    match forgery {
        Forgery::Edit(i) => {
            let l = &lines[records[i.index(records.len())]];
            let mut bytes = std::fs::read(&l.file).unwrap();
            let line = &mut bytes[l.start as usize..l.end as usize];
            let at = line.windows(7).position(|w| w == b"\"kind\":").unwrap() + 8;
            line[at] ^= 0x01;
            std::fs::write(&l.file, bytes).unwrap();
            (l.record.seq, Some(name(&l.file)))
        }
        Forgery::EditAndRecompute(i) => {
            let at = records[i.index(records.len())];
            lines[at].record.draft.command = "rmsyscfg -r lpar -m p72 -n p72_app01".into();
            let seq = lines[at].record.seq;
            write_back(state, &lines, Some(seq));
            // The checkpoint after it signs the hash the record had.
            let cp = lines[at..].iter().find(|l| l.record.event == Event::Checkpoint).unwrap();
            (cp.record.seq, Some(name(&cp.file)))
        }
        Forgery::Append { marked } => {
            let last = lines.last().unwrap();
            let mut r = Record {
                seq: last.record.seq + 1,
                time: "2026-12-07T04:00:00.000Z".into(),
                event: Event::Outcome,
                draft: Draft {
                    plan_id: last.record.draft.plan_id.clone(),
                    action: "a99".into(),
                    kind: "DeletePartition".into(),
                    object: "Partition/p72_app01".into(),
                    command: "rmsyscfg -r lpar -m p72 -n p72_app01".into(),
                    result: Some(ActionResult::Succeeded),
                    ..Default::default()
                },
                who: Some(Who::me()),
                unsigned: *marked,
                checkpoint: None,
                prev_hash: last.record.hash.clone(),
                hash: String::new(),
            };
            let mut line = r.seal();
            line.push(b'\n');
            let mut f = OpenOptions::new().append(true).open(&last.file).unwrap();
            f.write_all(&line).unwrap();
            unsigned_head(state, r.seq, r.hash.clone());
            (r.seq, Some(name(&last.file)))
        }
        Forgery::DeleteRecord(i) => {
            let gone = lines.remove(i.index(lines.len()));
            write_back(state, &lines, None);
            (gone.record.seq, None)
        }
        Forgery::DeleteSegment(i) => {
            let files = segment_files(state);
            let file = &files[i.index(files.len())];
            let first = lines.iter().find(|l| l.file == *file).map(|l| l.record.seq).unwrap();
            std::fs::remove_file(file).unwrap();
            (first, None)
        }
        Forgery::Truncate(i) => {
            let total: u64 = segment_files(state).iter().map(|f| std::fs::metadata(f).unwrap().len()).sum();
            let mut at = i.index(total as usize) as u64;
            for l in &lines {
                let len = l.end - l.start;
                if at < len {
                    let f = OpenOptions::new().write(true).open(&l.file).unwrap();
                    f.set_len(l.start + at).unwrap();
                    return (l.record.seq, None);
                }
                at -= len;
            }
            unreachable!("the byte is in a line")
        }
        Forgery::Strip => {
            lines.retain(|l| l.record.event != Event::Checkpoint);
            for (i, l) in lines.iter_mut().enumerate() {
                l.record.seq = i as u64 + 1;
                l.record.unsigned = true;
            }
            write_back(state, &lines, Some(1));
            (1, Some(name(&lines[0].file)))
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// A random signed trail (batches of random sizes over segments of random sizes), then one
    /// forgery: never intact (with the key or without it), the damage located, and neither a
    /// writer with the key nor one without it appends or changes a byte.
    #[test]
    fn a_forged_signed_trail_is_never_intact_is_located_and_is_never_appended_to(
        batches in prop::collection::vec(1..5usize, 1..7),
        segment_bytes in 600..4_000u64,
        forgery in forgery(),
    ) {
        let d = tempfile::tempdir().unwrap();
        let (_, pub_file) = keygen(&d.path().join("key")).unwrap();
        let signer = Signer::load(&d.path().join("key")).unwrap();
        let public = PublicKey::load(&pub_file).unwrap();
        let state = d.path().join("state");
        let dir = StateDir::open(&state).unwrap();
        let log = AuditLog::open_signed(&dir, Some(signer.clone())).unwrap();
        log.set_segment_limit(segment_bytes);
        for (i, n) in batches.iter().enumerate() {
            log.append((0..*n).map(|j| (Event::Intent, Draft {
                plan_id: "p".into(),
                action: format!("a{i}-{j}"),
                kind: "StartPartition".into(),
                ..Default::default()
            })).collect()).unwrap();
        }
        log.sync_head().unwrap();
        drop(log);
        let read = |key| read(&state, || Ok(Untrailed::default()), key, Keep::Records).unwrap();
        let scan = read(Some(&public));
        prop_assert!(scan.intact(), "{:?}", scan.damage);
        // A writer without the key is refused by the signed trail, and changes nothing.
        let before = trail_bytes(&state);
        let refused = AuditLog::open_signed(&dir, None);
        prop_assert!(matches!(refused, Err(StoreError::AuditNeedsKey { .. })), "{:?}", refused.map(|_| ()));
        prop_assert_eq!(&trail_bytes(&state), &before);

        let (seq, segment) = forge(&state, &forgery);
        for key in [Some(&public), None] {
            if key.is_none() && matches!(forgery, Forgery::Strip) {
                // Without the key a stripped trail is a consistent unsigned one.
                continue;
            }
            let scan = read(key);
            prop_assert!(!scan.intact(), "{:?} (key {}) reported intact", forgery, key.is_some());
            let located = scan.damage.iter().any(|d| {
                d.seq == Some(seq)
                    && segment.as_ref().is_none_or(|s| d.at.as_ref().is_some_and(|at| at.segment == *s))
            });
            prop_assert!(located, "{:?} (key {}): nothing names record {} {:?}: {:?}", forgery, key.is_some(), seq, segment, scan.damage);
        }
        let forged = trail_bytes(&state);
        for writer in [Some(signer), None] {
            let keyed = writer.is_some();
            let opened = AuditLog::open_signed(&dir, writer);
            prop_assert!(opened.is_err(), "{:?}: a writer (key {}) opened the forged trail", forgery, keyed);
            prop_assert_eq!(&trail_bytes(&state), &forged, "{:?}: a writer (key {}) changed the trail", forgery, keyed);
        }
    }
}
