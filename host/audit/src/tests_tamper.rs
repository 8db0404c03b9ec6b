//! Each kind of tampering is named, at the right line and seq.

use crate::tests::{ev, log_with};
use crate::*;
use std::path::Path;

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

fn problems(path: &Path) -> Vec<Problem> {
    verify(path).unwrap().problems
}

/// A self-consistent record: its hash matches its content.
fn forge(seq: u64, prev: &str, event: Event) -> String {
    let mut r = Record {
        seq,
        time: "2026-11-24T11:50:00.000000Z".into(),
        prev: prev.into(),
        event,
        hash: String::new(),
    };
    r.hash = r.compute_hash().unwrap();
    serde_json::to_string(&r).unwrap()
}

#[test]
fn an_edited_field() {
    let (_d, path) = log_with(5);
    let mut l = lines(&path);
    l[2] = l[2].replace("p2", "pX");
    write_lines(&path, &l);
    let p = problems(&path);
    assert_eq!(p, vec![Problem::Edited { line: 3, seq: 2 }]);
    assert_eq!(
        p[0].to_string(),
        "record 2 (line 3) was edited: its hash does not match its content"
    );
}

#[test]
fn an_edit_with_a_recomputed_hash_breaks_the_link() {
    let (_d, path) = log_with(5);
    let mut l = lines(&path);
    let r: Record = serde_json::from_str(&l[2]).unwrap();
    l[2] = forge(r.seq, &r.prev, ev(99));
    write_lines(&path, &l);
    assert_eq!(
        problems(&path),
        vec![Problem::BrokenChain { line: 4, seq: 3 }]
    );
}

#[test]
fn a_deleted_record() {
    let (_d, path) = log_with(6);
    let mut l = lines(&path);
    l.remove(2);
    write_lines(&path, &l);
    let p = problems(&path);
    assert_eq!(
        p,
        vec![Problem::Deleted {
            after_seq: Some(1),
            missing: 1
        }]
    );
    assert!(p[0].to_string().contains("records 2..=2 are missing"));
}

#[test]
fn deleted_first_records() {
    let (_d, path) = log_with(5);
    let l = lines(&path);
    write_lines(&path, &l[2..]);
    assert_eq!(
        problems(&path),
        vec![Problem::Deleted {
            after_seq: None,
            missing: 2
        }]
    );
}

#[test]
fn a_forged_record_claiming_an_existing_seq() {
    let (_d, path) = log_with(5);
    let mut l = lines(&path);
    let original: Record = serde_json::from_str(&l[2]).unwrap();
    // Self-consistent, and even linked to the right predecessor.
    l.insert(3, forge(2, &original.prev, ev(77)));
    write_lines(&path, &l);
    assert_eq!(problems(&path), vec![Problem::Inserted { line: 4 }]);
}

#[test]
fn a_forged_record_placed_before_the_original() {
    let (_d, path) = log_with(5);
    let mut l = lines(&path);
    let original: Record = serde_json::from_str(&l[2]).unwrap();
    l.insert(2, forge(2, &original.prev, ev(77)));
    write_lines(&path, &l);
    assert_eq!(problems(&path), vec![Problem::Inserted { line: 3 }]);
}

#[test]
fn a_forged_record_with_a_made_up_seq() {
    let (_d, path) = log_with(6);
    let mut l = lines(&path);
    l.insert(2, forge(100, GENESIS, ev(77)));
    write_lines(&path, &l);
    assert_eq!(problems(&path), vec![Problem::Inserted { line: 3 }]);
}

#[test]
fn two_swapped_records() {
    let (_d, path) = log_with(5);
    let mut l = lines(&path);
    l.swap(1, 2);
    write_lines(&path, &l);
    // Either record of an adjacent swap is "the" moved one; one is reported.
    assert_eq!(
        problems(&path),
        vec![Problem::Reordered { line: 2, seq: 2 }]
    );
}

#[test]
fn a_record_moved_far() {
    let (_d, path) = log_with(8);
    let mut l = lines(&path);
    let first = l.remove(0);
    l.push(first);
    write_lines(&path, &l);
    assert_eq!(
        problems(&path),
        vec![Problem::Reordered { line: 8, seq: 0 }]
    );
}

#[test]
fn records_cut_from_the_end() {
    let (_d, path) = log_with(5);
    let mut l = lines(&path);
    l.truncate(3);
    write_lines(&path, &l);
    let p = problems(&path);
    assert_eq!(
        p,
        vec![Problem::Truncated {
            expected_last_seq: 4,
            found_last_seq: Some(2)
        }]
    );
    assert!(p[0]
        .to_string()
        .starts_with("records 3..=4 were cut from the end"));
    std::fs::write(&path, "").unwrap();
    assert_eq!(
        problems(&path),
        vec![Problem::Truncated {
            expected_last_seq: 4,
            found_last_seq: None
        }]
    );
}

#[test]
fn a_chain_rewritten_to_the_end_misses_the_anchor() {
    let (_d, path) = log_with(5);
    let mut l = lines(&path);
    // Rewrite records 2..=4 with recomputed hashes and links: only the anchor can tell.
    let mut prev = serde_json::from_str::<Record>(&l[1]).unwrap().hash;
    for (seq, line) in l.iter_mut().enumerate().skip(2) {
        *line = forge(seq as u64, &prev, ev(50 + seq as u64));
        prev = serde_json::from_str::<Record>(line).unwrap().hash;
    }
    write_lines(&path, &l);
    assert_eq!(
        problems(&path),
        vec![Problem::AnchorMismatch { line: 5, seq: 4 }]
    );
}

#[test]
fn a_garbage_line_and_a_corrupted_record() {
    let (_d, path) = log_with(4);
    let mut l = lines(&path);
    l.insert(1, "{not json".into());
    write_lines(&path, &l);
    let p = problems(&path);
    assert!(
        matches!(p.as_slice(), [Problem::Malformed { line: 2, .. }]),
        "{p:?}"
    );

    // Corrupting a record's JSON loses its seq; the malformed line accounts for it.
    let (_d, path) = log_with(4);
    let mut l = lines(&path);
    l[2].truncate(30);
    write_lines(&path, &l);
    let p = problems(&path);
    assert!(
        matches!(p.as_slice(), [Problem::Malformed { line: 3, .. }]),
        "{p:?}"
    );
    assert!(p[0]
        .to_string()
        .starts_with("line 3 is not a valid record: "));
}

#[test]
fn reformatting_counts_as_an_edit() {
    let (_d, path) = log_with(3);
    let mut l = lines(&path);
    l[1] = l[1].replace(",\"time\"", ", \"time\"");
    write_lines(&path, &l);
    assert_eq!(problems(&path), vec![Problem::Edited { line: 2, seq: 1 }]);
}

#[test]
fn a_first_record_that_does_not_start_the_chain() {
    let (_d, path) = log_with(3);
    let mut l = lines(&path);
    l[0] = forge(0, &"1".repeat(64), ev(0));
    write_lines(&path, &l);
    let p = problems(&path);
    assert!(
        p.contains(&Problem::BrokenChain { line: 1, seq: 0 }),
        "{p:?}"
    );
}

#[test]
fn an_uppercased_hash_counts_as_an_edit() {
    let (_d, path) = log_with(3);
    let mut l = lines(&path);
    let hash = serde_json::from_str::<Record>(&l[2]).unwrap().hash;
    l[2] = l[2].replace(&hash, &hash.to_uppercase());
    assert_ne!(hash, hash.to_uppercase());
    write_lines(&path, &l);
    assert_eq!(problems(&path), vec![Problem::Edited { line: 3, seq: 2 }]);
}
