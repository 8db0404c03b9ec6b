//! Keyed checkpoints: what they cover, and the tampering only they reveal. Each attack below
//! leaves a chain that [`verify`] alone reports intact.

use super::*;
use crate::tests::ev;
use std::path::{Path, PathBuf};

fn key() -> CheckpointKey {
    CheckpointKey::from_seed([7; 32])
}

/// A log written by one keyed writer in `sessions` sessions of `n` records each, each closed.
fn keyed_log(sessions: &[u64]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let mut i = 0;
    for n in sessions {
        let log = AuditLog::open_keyed(&path, Durability::Process, key(), false).unwrap();
        for _ in 0..*n {
            log.append(ev(i)).unwrap();
            i += 1;
        }
        log.close().unwrap();
    }
    (dir, path)
}

fn check(path: &Path) -> KeyedReport {
    verify_keyed(path, &checkpoints_path(path), &key().public()).unwrap()
}

/// What someone who can write the home but lacks the key can append: records with a valid
/// chain, written by a writer without a key.
fn forge(path: &Path, n: u64) {
    let log = AuditLog::open(path, Durability::Fsync).unwrap();
    for i in 0..n {
        log.append(ev(100 + i)).unwrap();
    }
    log.flush().unwrap();
}

/// Keeps the first `keep` lines of a file.
fn keep_lines(path: &Path, keep: usize) {
    let text = std::fs::read_to_string(path).unwrap();
    let kept: String = text.split_inclusive('\n').take(keep).collect();
    std::fs::write(path, kept).unwrap();
}

#[test]
fn checkpointed_log_verifies_and_reports_coverage() {
    let (_d, path) = keyed_log(&[5, 3]);
    let r = check(&path);
    assert!(r.chain.problems.is_empty(), "{:?}", r.chain.problems);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!(r.coverage.covered_through, Some(7));
    assert_eq!(r.coverage.uncovered, 0);
    assert_eq!(r.coverage.writers_open, 0);
    // open + close per session.
    assert_eq!(r.coverage.checkpoints, 4);
    let cps = read_checkpoints(&checkpoints_path(&path)).unwrap();
    assert!(cps.iter().all(Checkpoint::signature_valid));
    assert_eq!(cps[0].kind, CheckpointKind::Open);
    assert!(cps[0].sole);
    assert_eq!(cps.last().unwrap().kind, CheckpointKind::Close);
}

#[test]
fn live_writers_tail_is_reported_as_not_yet_covered() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let log = AuditLog::open_keyed(&path, Durability::Fsync, key(), false).unwrap();
    for i in 0..3 {
        log.append(ev(i)).unwrap();
    }
    // The first fsync wrote the `open` checkpoint over record 0; no periodic one is due yet.
    let r = check(&path);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!(r.coverage.covered_through, Some(0));
    assert_eq!(r.coverage.uncovered, 2);
    assert_eq!(r.coverage.writers_open, 1);
    log.close().unwrap();
    assert_eq!(check(&path).coverage.uncovered, 0);
}

#[test]
fn forged_appended_record_is_detected() {
    let (_d, path) = keyed_log(&[5]);
    forge(&path, 2);
    assert!(
        verify(&path).unwrap().problems.is_empty(),
        "the chain alone"
    );
    let r = check(&path);
    assert_eq!(
        r.problems,
        vec![CheckpointProblem::AppendedWithoutWriter { from: 5, to: 6 }]
    );
    assert_eq!(r.coverage.covered_through, Some(4));
    assert_eq!(r.coverage.uncovered, 2);
}

#[test]
fn forged_records_stay_detected_after_the_next_writer_signs_them() {
    let (_d, path) = keyed_log(&[5]);
    forge(&path, 2);
    let log = AuditLog::open_keyed(&path, Durability::Process, key(), false).unwrap();
    log.append(ev(9)).unwrap();
    log.close().unwrap();
    let r = check(&path);
    assert_eq!(
        r.problems,
        vec![CheckpointProblem::AppendedWithoutWriter { from: 5, to: 6 }]
    );
    assert_eq!(r.coverage.uncovered, 0);
}

#[test]
fn rolled_back_log_is_detected() {
    let (_d, path) = keyed_log(&[10]);
    // Cut the log back to 6 records and rewrite the anchor to match: the chain checks out.
    keep_lines(&path, 6);
    let last = read_all(&path).unwrap().pop().unwrap();
    let anchor = serde_json::json!({"seq": last.seq, "hash": last.hash});
    std::fs::write(anchor_path(&path), anchor.to_string()).unwrap();
    assert!(
        verify(&path).unwrap().problems.is_empty(),
        "the chain alone"
    );
    let r = check(&path);
    assert!(
        r.problems.contains(&CheckpointProblem::RolledBack {
            checkpoint_seq: 9,
            log_last_seq: Some(5)
        }),
        "{:?}",
        r.problems
    );
    assert!(r.problems.iter().all(|p| !p.is_signature()));
}

#[test]
fn deleted_anchor_is_detected() {
    let (_d, path) = keyed_log(&[10]);
    keep_lines(&path, 7);
    std::fs::remove_file(anchor_path(&path)).unwrap();
    assert!(
        verify(&path).unwrap().problems.is_empty(),
        "the chain alone"
    );
    let r = check(&path);
    assert!(r.problems.contains(&CheckpointProblem::AnchorMissing));
    assert!(r.problems.contains(&CheckpointProblem::RolledBack {
        checkpoint_seq: 9,
        log_last_seq: Some(6)
    }));
}

#[test]
fn deleted_checkpoints_are_detected_before_and_after_the_next_open() {
    let (_d, path) = keyed_log(&[4]);
    std::fs::remove_file(checkpoints_path(&path)).unwrap();
    let r = check(&path);
    assert_eq!(
        r.problems,
        vec![CheckpointProblem::NoCheckpoints { records: 4 }]
    );
    // The next writer notices, and says so in a signed checkpoint.
    let log = AuditLog::open_keyed(&path, Durability::Process, key(), false).unwrap();
    log.close().unwrap();
    let r = check(&path);
    assert_eq!(
        r.problems,
        vec![CheckpointProblem::CheckpointsLost { line: 1 }]
    );
}

#[test]
fn removed_middle_checkpoint_and_old_checkpoints_copy_are_detected() {
    let (_d, path) = keyed_log(&[3, 3]);
    let cps = checkpoints_path(&path);
    let text = std::fs::read_to_string(&cps).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // Remove the first session's `close`: the next line no longer follows.
    let cut = format!("{}\n{}\n", lines[0], lines[2..].join("\n"));
    std::fs::write(&cps, cut).unwrap();
    assert!(check(&path)
        .problems
        .contains(&CheckpointProblem::Unlinked { line: 2 }));
    // An old copy: only the first session's checkpoints; the second session's records look
    // appended by nobody.
    std::fs::write(&cps, format!("{}\n{}\n", lines[0], lines[1])).unwrap();
    assert_eq!(
        check(&path).problems,
        vec![CheckpointProblem::AppendedWithoutWriter { from: 3, to: 5 }]
    );
}

#[test]
fn log_rewritten_with_recomputed_hashes_contradicts_its_checkpoints() {
    let (_d, path) = keyed_log(&[6]);
    let mut records = read_all(&path).unwrap();
    records[2].event = ev(42);
    let mut prev = records[1].hash.clone();
    for r in &mut records[2..] {
        r.prev = prev;
        r.hash = r.compute_hash().unwrap();
        prev = r.hash.clone();
    }
    let text: String = records
        .iter()
        .map(|r| serde_json::to_string(r).unwrap() + "\n")
        .collect();
    std::fs::write(&path, text).unwrap();
    let last = records.last().unwrap();
    let anchor = serde_json::json!({"seq": last.seq, "hash": last.hash});
    std::fs::write(anchor_path(&path), anchor.to_string()).unwrap();
    assert!(
        verify(&path).unwrap().problems.is_empty(),
        "the chain alone"
    );
    let r = check(&path);
    assert!(r
        .problems
        .iter()
        .any(|p| matches!(p, CheckpointProblem::HeadMismatch { seq: 5, .. })));
}

#[test]
fn wrong_key_and_edited_checkpoint_are_reported() {
    let (_d, path) = keyed_log(&[3]);
    let other = CheckpointKey::from_seed([8; 32]).public();
    let r = verify_keyed(&path, &checkpoints_path(&path), &other).unwrap();
    assert_eq!(r.problems.len(), 2);
    assert!(r.problems.iter().all(CheckpointProblem::is_signature));
    assert_eq!(r.coverage.checkpoints, 0);
    // Editing a checkpoint (here: its seq) breaks its signature.
    let cps = checkpoints_path(&path);
    let text = std::fs::read_to_string(&cps).unwrap();
    std::fs::write(&cps, text.replacen("\"seq\":2", "\"seq\":1", 1)).unwrap();
    let r = check(&path);
    assert!(r
        .problems
        .contains(&CheckpointProblem::BadSignature { line: 1 }));
}

#[test]
fn concurrent_writers_raise_no_false_alarm() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let a = AuditLog::open_keyed(&path, Durability::Fsync, key(), false).unwrap();
    a.append(ev(0)).unwrap();
    let b = AuditLog::open_keyed(&path, Durability::Fsync, key(), false).unwrap();
    b.append(ev(1)).unwrap();
    a.append(ev(2)).unwrap();
    a.close().unwrap();
    b.append(ev(3)).unwrap();
    b.append(ev(4)).unwrap();
    let r = check(&path);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!(r.coverage.writers_open, 1);
    b.close().unwrap();
    let r = check(&path);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!(r.coverage.covered_through, Some(4));
}

#[test]
fn key_file_is_created_0600_and_reused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("keys").join("audit.key");
    let a = CheckpointKey::load_or_create(&file).unwrap();
    let b = CheckpointKey::load_or_create(&file).unwrap();
    assert_eq!(a.public(), b.public());
    assert_eq!(std::fs::metadata(&file).unwrap().len(), 32);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let hex = a.public().to_hex();
    assert_eq!(PublicKey::from_hex(&hex).unwrap(), a.public());
    assert!(matches!(
        PublicKey::from_hex("abc"),
        Err(KeyError::Hex { .. })
    ));
}

#[cfg(unix)]
#[test]
fn key_files_with_bad_permissions_or_size_are_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("audit.key");
    std::fs::write(&file, [1u8; 32]).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
    let err = CheckpointKey::load(&file).err().unwrap();
    assert!(matches!(err, KeyError::Permissions { mode: 0o640, .. }));
    assert!(err.to_string().contains("chmod 600"));
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(CheckpointKey::load(&file).is_ok());
    std::fs::write(&file, [1u8; 31]).unwrap();
    assert!(matches!(
        CheckpointKey::load(&file).err().unwrap(),
        KeyError::Size { len: 31, .. }
    ));
    assert!(matches!(
        CheckpointKey::load(&dir.path().join("missing"))
            .err()
            .unwrap(),
        KeyError::Io { .. }
    ));
}
