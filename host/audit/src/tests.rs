use super::*;

fn ev(i: u64) -> Event {
    Event::registry("add", &format!("p{i}"), "d")
}

fn log_with(n: u64) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let log = AuditLog::open(&path, Durability::Process).unwrap();
    for i in 0..n {
        log.append(ev(i)).unwrap();
    }
    drop(log);
    (dir, path)
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn write_lines(path: &Path, lines: &[String]) {
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

#[test]
fn round_trip_and_reopen_continues_the_chain() {
    let (_d, path) = log_with(5);
    let log = AuditLog::open(&path, Durability::Fsync).unwrap();
    assert_eq!(log.append(ev(5)).unwrap().seq, 5);
    drop(log);
    let r = verify(&path).unwrap();
    assert_eq!(r.records, 6);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
}

#[test]
fn concurrent_appends_form_one_chain() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.jsonl");
    for durability in [Durability::Process, Durability::Fsync] {
        let _ = std::fs::remove_file(&path);
        let _ = std::fs::remove_file(anchor_path(&path));
        let log = AuditLog::open(&path, durability).unwrap();
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let log = log.clone();
                std::thread::spawn(move || {
                    for i in 0..200 {
                        log.append(ev(t * 1000 + i)).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        drop(log);
        let r = verify(&path).unwrap();
        assert_eq!(r.records, 1600);
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        let seqs: Vec<u64> = read_all(&path).unwrap().iter().map(|r| r.seq).collect();
        assert_eq!(seqs, (0..1600).collect::<Vec<_>>());
    }
}

#[test]
fn detects_an_edit() {
    let (_d, path) = log_with(5);
    let mut l = lines(&path);
    l[2] = l[2].replace("p2", "pX");
    write_lines(&path, &l);
    assert_eq!(
        verify(&path).unwrap().problems,
        vec![Problem::Edited { line: 3, seq: 2 }]
    );
}

#[test]
fn detects_an_edit_with_a_recomputed_hash() {
    let (_d, path) = log_with(5);
    let mut l = lines(&path);
    let mut r: Record = serde_json::from_str(&l[2]).unwrap();
    r.event = ev(99);
    r.hash = r.compute_hash().unwrap();
    l[2] = serde_json::to_string(&r).unwrap();
    write_lines(&path, &l);
    assert_eq!(
        verify(&path).unwrap().problems,
        vec![Problem::BrokenChain { line: 4, seq: 3 }]
    );
}

#[test]
fn detects_a_deletion() {
    let (_d, path) = log_with(5);
    let mut l = lines(&path);
    l.remove(2);
    write_lines(&path, &l);
    assert_eq!(
        verify(&path).unwrap().problems,
        vec![Problem::Deleted {
            after_seq: Some(1),
            missing: 1
        }]
    );
}

#[test]
fn detects_a_forged_insertion() {
    let (_d, path) = log_with(5);
    let mut l = lines(&path);
    let original: Record = serde_json::from_str(&l[2]).unwrap();
    let mut forged = Record {
        event: ev(77),
        ..original
    };
    forged.hash = forged.compute_hash().unwrap();
    l.insert(3, serde_json::to_string(&forged).unwrap());
    write_lines(&path, &l);
    assert_eq!(
        verify(&path).unwrap().problems,
        vec![Problem::Inserted { line: 4 }]
    );
}

#[test]
fn detects_a_swap() {
    let (_d, path) = log_with(5);
    let mut l = lines(&path);
    l.swap(1, 2);
    write_lines(&path, &l);
    assert_eq!(
        verify(&path).unwrap().problems,
        vec![Problem::Reordered { line: 3, seq: 1 }]
    );
}

#[test]
fn detects_truncation_through_the_anchor() {
    let (_d, path) = log_with(5);
    let mut l = lines(&path);
    l.truncate(3);
    write_lines(&path, &l);
    assert_eq!(
        verify(&path).unwrap().problems,
        vec![Problem::Truncated {
            expected_last_seq: 4,
            found_last_seq: Some(2)
        }]
    );
}

#[test]
fn detects_garbage() {
    let (_d, path) = log_with(3);
    let mut l = lines(&path);
    l.insert(1, "{not json".into());
    write_lines(&path, &l);
    let p = verify(&path).unwrap().problems;
    assert!(
        matches!(p.as_slice(), [Problem::Malformed { line: 2, .. }]),
        "{p:?}"
    );
}

#[test]
fn a_torn_tail_is_set_aside_and_nothing_acknowledged_is_lost() {
    let (_d, path) = log_with(4);
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("{\"seq\":4,\"time\":\"2026-");
    std::fs::write(&path, text).unwrap();
    let log = AuditLog::open(&path, Durability::Process).unwrap();
    assert_eq!(log.append(ev(4)).unwrap().seq, 4);
    drop(log);
    let r = verify(&path).unwrap();
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!(r.records, 5);
    let aside = path.with_file_name("audit.jsonl.torn-0");
    assert!(std::fs::read_to_string(aside)
        .unwrap()
        .starts_with("{\"seq\":4"));
}

#[test]
fn raw_payloads_hash_reproducibly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.jsonl");
    let log = AuditLog::open(&path, Durability::Process).unwrap();
    let payload = Payload::with_raw(serde_json::json!({"b": 1, "a": [1, 2, {"z": 0, "y": 1}]}));
    log.append(Event::call(CallEvent {
        call_id: "c".into(),
        tool: "t.f".into(),
        digest: "d".into(),
        principal: "p".into(),
        outcome: "ok".into(),
        message: None,
        bytes_in: 1,
        bytes_out: 2,
        fuel_used: 3,
        duration_us: 4,
        args: payload.clone(),
        result: Payload::digest_of(b"x"),
    }))
    .unwrap();
    drop(log);
    assert!(verify(&path).unwrap().problems.is_empty());
}

#[test]
fn two_writers_on_one_file_keep_one_chain() {
    // Two opens of the same file behave like two spud processes.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.jsonl");
    let a = AuditLog::open(&path, Durability::Process).unwrap();
    let b = AuditLog::open(&path, Durability::Process).unwrap();
    let threads: Vec<_> = [a, b]
        .into_iter()
        .map(|log| {
            std::thread::spawn(move || {
                for i in 0..300 {
                    log.append(ev(i)).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let r = verify(&path).unwrap();
    assert_eq!(r.records, 600);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
}
