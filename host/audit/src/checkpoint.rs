//! Signed checkpoints: the chain head, signed with a key kept outside the log.
//!
//! `<log>.checkpoints` holds one JSON line per checkpoint:
//! `{"v":1,"log":"<hash of record 0>","seq":N,"head":"<hash of record N>","time":"…",
//! "kind":"open|periodic|close","writer":"<id>","sole":bool,"lost":bool,"prev":"<sha256 of the
//! previous checkpoint line>","key":"<Ed25519 public key>","sig":"<signature>"}`.
//! The signature covers `checkpoint-v1\n` followed by the line without its `sig` field (the
//! same compact JSON, fields in this order). `prev` chains the checkpoints themselves, so one
//! removed from the middle is seen.

use crate::file::{sibling, Backwards};
use crate::key::{CheckpointKey, PublicKey};
use crate::record::{decode_hash, GENESIS};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// A writer checkpoints at least every this many records…
pub const CHECKPOINT_EVERY_RECORDS: u64 = 1000;
/// …and at most this long after a record was written (checked with each background fsync).
pub const CHECKPOINT_EVERY: Duration = Duration::from_secs(5);

/// What the signature is over: this, then the checkpoint's body.
const DOMAIN: &[u8] = b"checkpoint-v1\n";

/// Why a writer wrote a checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckpointKind {
    /// A writer opened the log (or wrote its first record): the head it found.
    Open,
    /// Every [`CHECKPOINT_EVERY_RECORDS`] records or [`CHECKPOINT_EVERY`].
    Periodic,
    /// The writer closed the log cleanly.
    Close,
}

/// One signed checkpoint, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Format version: 1.
    pub v: u32,
    /// The log's identity: the hash of its record 0.
    pub log: String,
    /// The seq of the last record covered.
    pub seq: u64,
    /// That record's hash.
    pub head: String,
    /// RFC 3339 UTC time of the checkpoint.
    pub time: String,
    /// Why it was written.
    pub kind: CheckpointKind,
    /// Random id of the writer (one per open log handle).
    pub writer: String,
    /// On `open`: no other writer had the log open, so every earlier writer has ended.
    pub sole: bool,
    /// On `open`: the log had records but the checkpoints file was missing or empty although
    /// the key already existed (the checkpoints were deleted).
    pub lost: bool,
    /// sha256 of the previous line of the checkpoints file ([`GENESIS`] for the first).
    pub prev: String,
    /// The public key that verifies `sig`.
    pub key: String,
    /// Ed25519 signature, hex.
    pub sig: String,
}

/// The signed part: every field but `sig`, in the same order.
#[derive(Serialize)]
struct Body<'a> {
    v: u32,
    log: &'a str,
    seq: u64,
    head: &'a str,
    time: &'a str,
    kind: CheckpointKind,
    writer: &'a str,
    sole: bool,
    lost: bool,
    prev: &'a str,
    key: &'a str,
}

impl Checkpoint {
    /// The bytes the signature covers.
    fn message(&self) -> Vec<u8> {
        let body = Body {
            v: self.v,
            log: &self.log,
            seq: self.seq,
            head: &self.head,
            time: &self.time,
            kind: self.kind,
            writer: &self.writer,
            sole: self.sole,
            lost: self.lost,
            prev: &self.prev,
            key: &self.key,
        };
        let mut out = DOMAIN.to_vec();
        // Strings and integers only: encoding cannot fail.
        out.extend(serde_json::to_vec(&body).unwrap_or_default());
        out
    }

    /// Whether `sig` is a valid signature by `key` (the key the checkpoint names).
    pub fn signature_valid(&self) -> bool {
        let Ok(key) = PublicKey::from_hex(&self.key) else {
            return false;
        };
        let Ok(sig) = hex::decode(&self.sig) else {
            return false;
        };
        key.verifies(&self.message(), &sig)
    }
}

/// Path of the checkpoints file of a log: `<log>.checkpoints`.
pub fn checkpoints_path(log: &Path) -> PathBuf {
    sibling(log, ".checkpoints")
}

/// What a writer asks to be checkpointed.
pub(crate) struct Request<'a> {
    pub key: &'a CheckpointKey,
    pub writer: &'a str,
    pub kind: CheckpointKind,
    pub sole: bool,
    pub lost: bool,
    pub log_id: [u8; 32],
    pub seq: u64,
    pub head: [u8; 32],
}

/// Appends a signed checkpoint to the log's checkpoints file, under that file's lock. When the
/// file already names a later record of the same log (another writer checkpointed further),
/// the checkpoint repeats that record, so seqs never go backwards. fsyncs before returning.
pub(crate) fn append(log: &Path, r: &Request) -> std::io::Result<Checkpoint> {
    let path = checkpoints_path(log);
    let mut file = File::options()
        .read(true)
        .append(true)
        .create(true)
        .open(&path)?;
    file.lock()?;
    let result = append_locked(&mut file, r);
    let unlocked = file.unlock();
    let cp = result?;
    unlocked?;
    Ok(cp)
}

fn append_locked(file: &mut File, r: &Request) -> std::io::Result<Checkpoint> {
    let last = Backwards::new(file)?.next_line()?.map(|(_, line)| line);
    let prev = match &last {
        Some(line) => hex::encode(Sha256::digest(line)),
        None => GENESIS.to_string(),
    };
    let log = hex::encode(r.log_id);
    let (mut seq, mut head) = (r.seq, hex::encode(r.head));
    let previous: Option<Checkpoint> = last.and_then(|l| serde_json::from_slice(&l).ok());
    if let Some(p) = previous.filter(|p| p.log == log && p.seq > seq) {
        (seq, head) = (p.seq, p.head);
    }
    let mut cp = Checkpoint {
        v: 1,
        log,
        seq,
        head,
        time: humantime::format_rfc3339_micros(SystemTime::now()).to_string(),
        kind: r.kind,
        writer: r.writer.to_string(),
        sole: r.sole,
        lost: r.lost,
        prev,
        key: r.key.public().to_hex(),
        sig: String::new(),
    };
    cp.sig = hex::encode(r.key.sign(&cp.message()));
    let mut line = serde_json::to_vec(&cp)?;
    line.push(b'\n');
    file.write_all(&line)?;
    file.sync_data()?;
    Ok(cp)
}

/// One line of a checkpoints file.
pub(crate) struct Line {
    /// 1-based line number.
    pub number: u64,
    /// The checkpoint, or why the line is not one.
    pub parsed: Result<Checkpoint, String>,
    /// sha256 of the line's bytes (without its newline).
    pub digest: [u8; 32],
}

/// Every complete line of a checkpoints file; a missing file has none.
pub(crate) fn read_lines(path: &Path) -> std::io::Result<Vec<Line>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(e),
    };
    let mut lines = Vec::new();
    // A last line without its newline was torn by a crash mid-append: not a checkpoint yet.
    let Some(end) = bytes.iter().rposition(|b| *b == b'\n') else {
        return Ok(lines);
    };
    for (i, text) in bytes[..end].split(|b| *b == b'\n').enumerate() {
        let parsed = serde_json::from_slice::<Checkpoint>(text).map_err(|e| e.to_string());
        lines.push(Line {
            number: i as u64 + 1,
            parsed,
            digest: Sha256::digest(text).into(),
        });
    }
    Ok(lines)
}

/// The checkpoints in a file, for `spud audit checkpoints`; lines that are not checkpoints
/// are skipped.
pub fn read_checkpoints(path: &Path) -> std::io::Result<Vec<Checkpoint>> {
    Ok(read_lines(path)?
        .into_iter()
        .filter_map(|l| l.parsed.ok())
        .collect())
}

/// Whether a checkpoint's `prev` names the line before it (`None`: it is the first line).
pub(crate) fn links_to(cp: &Checkpoint, previous: Option<&[u8; 32]>) -> bool {
    match previous {
        None => cp.prev == GENESIS,
        Some(d) => decode_hash("prev", &cp.prev).is_ok_and(|p| &p == d),
    }
}
