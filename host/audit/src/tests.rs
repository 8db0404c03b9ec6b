//! Writing, reopening, concurrency, crash recovery, reading back.

use super::*;
use std::path::{Path, PathBuf};

pub(crate) fn ev(i: u64) -> Event {
    Event::registry("add", &format!("p{i}"), "d")
}

pub(crate) fn call_with(args: Payload) -> Event {
    Event::call(CallEvent {
        call_id: "c1".into(),
        tool: "t.f".into(),
        digest: "d".into(),
        principal: "cli".into(),
        policy_sha256: String::new(),
        outcome: "ok".into(),
        message: None,
        bytes_in: args.bytes,
        bytes_out: 1,
        fuel_used: 3,
        duration_us: 4,
        args,
        result: Payload::digest_of(b"x"),
    })
}

/// A closed log of `n` records (so its anchor names the last one).
pub(crate) fn log_with(n: u64) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let log = AuditLog::open(&path, Durability::Process).unwrap();
    for i in 0..n {
        log.append(ev(i)).unwrap();
    }
    drop(log);
    (dir, path)
}

pub(crate) fn intact(path: &Path, records: u64) {
    let r = verify(path).unwrap();
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!(r.records, records);
}

/// Found by the fuzzer (`cargo test -p spud-tests --bench fuzz`): appending after a forged
/// record with seq `u64::MAX - 1` overflowed the next seq and panicked.
#[test]
fn a_forged_last_seq_at_the_limit_is_a_typed_error_not_a_panic() {
    let (_d, path) = log_with(2);
    let text = std::fs::read_to_string(&path).unwrap();
    let last = text.lines().last().unwrap();
    let mut r: Record = serde_json::from_str(last).unwrap();
    r.seq = u64::MAX - 1;
    r.hash = r.compute_hash().unwrap();
    let forged = format!("{text}{}\n", serde_json::to_string(&r).unwrap());
    std::fs::write(&path, &forged).unwrap();
    let log = AuditLog::open(&path, Durability::Process).unwrap();
    // The next record would take seq u64::MAX, after which the chain cannot go on: refused,
    // alone or in a batch, and nothing is written.
    assert!(matches!(
        log.append_many(vec![ev(1), ev(2)]),
        Err(AuditError::SeqExhausted { .. })
    ));
    assert!(matches!(
        log.append(ev(1)),
        Err(AuditError::SeqExhausted { .. })
    ));
    drop(log);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), forged);
}

#[test]
fn call_records_from_before_the_policy_digest_still_verify() {
    let (_d, path) = log_with(1);
    let log = AuditLog::open(&path, Durability::Process).unwrap();
    // As spud wrote call records before it recorded the policy: no `policy_sha256` at all.
    log.append(call_with(Payload::digest_of(b"{}"))).unwrap();
    let Event::Call(mut with) = call_with(Payload::digest_of(b"{}")) else {
        unreachable!()
    };
    with.policy_sha256 = "ab".repeat(32);
    log.append(Event::Call(with.clone())).unwrap();
    drop(log);
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(!lines[1].contains("policy_sha256"), "{}", lines[1]);
    assert!(lines[2].contains(&format!("\"policy_sha256\":\"{}\"", "ab".repeat(32))));
    intact(&path, 3);
    let all = read_all(&path).unwrap();
    assert!(matches!(&all[1].event, Event::Call(c) if c.policy_sha256.is_empty()));
    assert_eq!(all[2].event, Event::Call(with));
}

#[test]
fn round_trip_and_reopen_continues_the_chain() {
    let (_d, path) = log_with(5);
    let log = AuditLog::open(&path, Durability::Fsync).unwrap();
    let r = log.append(ev(5)).unwrap();
    assert_eq!(r.seq, 5);
    drop(log);
    intact(&path, 6);
    let all = read_all(&path).unwrap();
    assert_eq!(all.len(), 6);
    assert_eq!(all[0].prev, GENESIS);
    assert_eq!(all[5].hash, r.hash);
    for w in all.windows(2) {
        assert_eq!(w[1].prev, w[0].hash);
        assert!(w[0].time <= w[1].time);
    }
    assert_eq!(all[5].event, ev(5));
    assert_eq!(all[3].compute_hash().unwrap(), all[3].hash);
}

#[test]
fn lines_are_the_canonical_serialization() {
    let (_d, path) = log_with(3);
    let text = std::fs::read_to_string(&path).unwrap();
    for line in text.lines() {
        let r: Record = serde_json::from_str(line).unwrap();
        assert_eq!(serde_json::to_string(&r).unwrap(), line);
        assert!(line.starts_with("{\"seq\":"));
        assert!(line.contains("\"event\":{\"kind\":\"registry\""));
    }
}

#[test]
fn receipts_match_the_file_and_batches_are_contiguous() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dirs/a.jsonl");
    let log = AuditLog::open(&path, Durability::Fsync).unwrap();
    assert!(log.append_many(vec![]).unwrap().is_empty());
    let rs = log.append_many((0..4).map(ev).collect()).unwrap();
    assert_eq!(rs.iter().map(|r| r.seq).collect::<Vec<_>>(), [0, 1, 2, 3]);
    assert_eq!(log.path(), path);
    // Fsync mode anchors before acknowledging.
    let anchor = std::fs::read_to_string(anchor_path(&path)).unwrap();
    assert!(anchor.contains(&rs[3].hash), "{anchor}");
    let all = read_all(&path).unwrap();
    let hashes: Vec<_> = all.iter().map(|r| r.hash.clone()).collect();
    assert_eq!(
        hashes,
        rs.iter().map(|r| r.hash.clone()).collect::<Vec<_>>()
    );
}

#[test]
fn concurrent_appends_form_one_chain() {
    for durability in [Durability::Process, Durability::Fsync] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        let log = AuditLog::open(&path, durability).unwrap();
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let log = log.clone();
                std::thread::spawn(move || {
                    (0..200)
                        .map(|i| log.append(ev(t * 1000 + i)).unwrap().seq)
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut acked: Vec<u64> = threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        drop(log);
        acked.sort_unstable();
        assert_eq!(acked, (0..1600).collect::<Vec<_>>());
        intact(&path, 1600);
        let seqs: Vec<u64> = read_all(&path).unwrap().iter().map(|r| r.seq).collect();
        assert_eq!(seqs, (0..1600).collect::<Vec<_>>());
    }
}

#[test]
fn two_writers_on_one_file_keep_one_chain() {
    // Two opens of one file behave like two spud processes.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.jsonl");
    let a = AuditLog::open(&path, Durability::Process).unwrap();
    let b = AuditLog::open(&path, Durability::Fsync).unwrap();
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
    intact(&path, 600);
}

#[test]
fn process_mode_syncs_and_anchors_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.jsonl");
    let log = AuditLog::open(&path, Durability::Process).unwrap();
    let r = log.append(ev(0)).unwrap();
    // The record is in the file at once; the anchor follows within the sync interval.
    assert_eq!(read_all(&path).unwrap().len(), 1);
    let deadline = std::time::Instant::now() + SYNC_INTERVAL * 20;
    loop {
        if let Ok(a) = std::fs::read_to_string(anchor_path(&path)) {
            if a.contains(&r.hash) {
                break;
            }
        }
        assert!(std::time::Instant::now() < deadline, "no background anchor");
        std::thread::sleep(SYNC_INTERVAL / 4);
    }
    let r2 = log.append(ev(1)).unwrap();
    log.flush().unwrap();
    let a = std::fs::read_to_string(anchor_path(&path)).unwrap();
    assert!(a.contains(&r2.hash) && a.contains("\"seq\":1"), "{a}");
}

#[test]
fn a_torn_tail_is_set_aside_and_nothing_acknowledged_is_lost() {
    let (_d, path) = log_with(4);
    let acked = read_all(&path).unwrap();
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("{\"seq\":4,\"time\":\"2026-");
    std::fs::write(&path, &text).unwrap();
    // Before recovery, the verifier sees the torn line.
    let p = verify(&path).unwrap().problems;
    assert!(
        matches!(p.as_slice(), [Problem::Malformed { line: 5, .. }]),
        "{p:?}"
    );

    let log = AuditLog::open(&path, Durability::Process).unwrap();
    assert_eq!(log.append(ev(4)).unwrap().seq, 4);
    drop(log);
    intact(&path, 5);
    assert_eq!(read_all(&path).unwrap()[..4], acked[..]);
    let aside = std::fs::read_to_string(path.with_file_name("audit.jsonl.torn-0")).unwrap();
    assert_eq!(aside, "{\"seq\":4,\"time\":\"2026-");
}

#[test]
fn a_complete_line_without_its_newline_is_torn_too() {
    let (_d, path) = log_with(3);
    let text = std::fs::read_to_string(&path).unwrap();
    // A crash between the record's last byte and its newline: never acknowledged.
    std::fs::write(&path, text.strip_suffix('\n').unwrap()).unwrap();
    std::fs::remove_file(anchor_path(&path)).unwrap();
    let log = AuditLog::open(&path, Durability::Fsync).unwrap();
    assert_eq!(log.append(ev(9)).unwrap().seq, 2);
    drop(log);
    intact(&path, 3);
    assert!(path.with_file_name("audit.jsonl.torn-0").exists());
}

#[test]
fn recovery_reads_past_a_long_last_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.jsonl");
    let log = AuditLog::open(&path, Durability::Process).unwrap();
    log.append(ev(0)).unwrap();
    let big = serde_json::json!({ "blob": "x".repeat(3 << 20) });
    log.append(call_with(Payload::with_raw(big))).unwrap();
    drop(log);
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    std::io::Write::write_all(&mut f, b"{\"seq\":2,").unwrap();
    let log = AuditLog::open(&path, Durability::Process).unwrap();
    assert_eq!(log.append(ev(2)).unwrap().seq, 2);
    drop(log);
    intact(&path, 3);
}

#[test]
fn raw_payloads_with_any_float_verify() {
    // Re-encoding parsed floats does not always give back the same bytes; the hash covers the
    // bytes as written, so verification must not depend on it.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.jsonl");
    let log = AuditLog::open(&path, Durability::Process).unwrap();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut n = 0;
    while n < 300 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let f = f64::from_bits(x);
        if f.is_finite() {
            let v = serde_json::json!({"b": f, "a": [1, "é\u{1}\"", {"z": null, "y": -f}]});
            log.append(call_with(Payload::with_raw(v))).unwrap();
            n += 1;
        }
    }
    drop(log);
    intact(&path, 300);
}

#[test]
fn tail_reads_the_last_records() {
    let (_d, path) = log_with(50);
    let t = tail(&path, 3).unwrap();
    assert_eq!(t.iter().map(|r| r.seq).collect::<Vec<_>>(), [47, 48, 49]);
    assert_eq!(tail(&path, 500).unwrap().len(), 50);
    assert!(tail(&path, 0).unwrap().is_empty());
    assert!(tail(&path.with_file_name("none.jsonl"), 3)
        .unwrap()
        .is_empty());
    // A torn last line is not a record.
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("{\"seq\":50");
    std::fs::write(&path, text).unwrap();
    assert_eq!(tail(&path, 1).unwrap()[0].seq, 49);
}

#[test]
fn payload_constructors() {
    let p = Payload::digest_of(b"abc");
    assert_eq!(p.bytes, 3);
    assert_eq!(
        p.sha256,
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert!(!serde_json::to_string(&p).unwrap().contains("raw"));
    let r = Payload::with_raw(serde_json::json!({"a": 1}));
    assert_eq!(r.sha256, Payload::digest_of(b"{\"a\":1}").sha256);
    assert_eq!(r.raw, Some(serde_json::json!({"a": 1})));
    let e = Event::capability("c", "t.f", "d", "http", "GET https://x:443/", false, "");
    let text = serde_json::to_string(&e).unwrap();
    assert!(text.starts_with("{\"kind\":\"capability\""), "{text}");
    assert!(text.contains("\"decision\":\"denied\"") && !text.contains("reason"));
    assert_eq!(serde_json::from_str::<Event>(&text).unwrap(), e);
}

mod props {
    use super::*;
    use proptest::prelude::*;

    fn event() -> impl Strategy<Value = Event> {
        prop_oneof![
            ("[a-z.]{1,12}", any::<bool>(), ".{0,20}").prop_map(|(t, a, r)| Event::capability(
                "c",
                &t,
                "d",
                "file",
                "/x (read)",
                a,
                &r
            )),
            (any::<u32>(), "\\PC{0,16}").prop_map(|(n, s)| call_with(Payload::with_raw(
                serde_json::json!({"n": n, "s": s})
            ))),
            "[a-z]{1,8}".prop_map(|p| Event::registry("remove", &p, "d")),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        #[test]
        fn any_events_round_trip_and_any_byte_flip_is_caught(
            events in proptest::collection::vec(event(), 1..12),
            pick in any::<prop::sample::Index>(),
            bit in 0u8..7,
        ) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("a.jsonl");
            let log = AuditLog::open(&path, Durability::Process).unwrap();
            log.append_many(events.clone()).unwrap();
            drop(log);
            let r = verify(&path).unwrap();
            prop_assert!(r.problems.is_empty(), "{:?}", r.problems);
            let back: Vec<Event> = read_all(&path).unwrap().into_iter().map(|r| r.event).collect();
            prop_assert_eq!(back, events);

            // Flip one bit of one byte (not a newline, and never into one).
            let mut bytes = std::fs::read(&path).unwrap();
            let positions: Vec<usize> =
                (0..bytes.len()).filter(|i| bytes[*i] != b'\n' && bytes[*i] ^ (1 << bit) != b'\n').collect();
            let at = positions[pick.index(positions.len())];
            bytes[at] ^= 1 << bit;
            std::fs::write(&path, &bytes).unwrap();
            let r = verify(&path).unwrap();
            prop_assert!(!r.problems.is_empty(), "flip at {} unnoticed", at);
        }
    }
}
