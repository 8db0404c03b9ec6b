//! Verifying a log against its signed checkpoints: which records a checkpoint covers, and
//! what the checkpoints say was done to the log.

use crate::checkpoint::{links_to, read_lines, Checkpoint, CheckpointKind, Line};
use crate::file::read_anchor;
use crate::key::PublicKey;
use crate::record::decode_hash;
use crate::verify::{verify_chain, ChainHashes};
use crate::{AuditError, VerifyReport};
use serde::Serialize;
use std::collections::BTreeSet;
use std::path::Path;

/// What the checkpoints show is wrong. Lines are lines of the checkpoints file, 1-based.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum CheckpointProblem {
    /// A line that is not a checkpoint.
    Malformed {
        /// Its line.
        line: u64,
        /// Why.
        error: String,
    },
    /// A checkpoint signed by a key other than the trusted one.
    WrongKey {
        /// Its line.
        line: u64,
        /// The key it names.
        key: String,
    },
    /// A checkpoint whose signature does not verify: forged or edited.
    BadSignature {
        /// Its line.
        line: u64,
    },
    /// A checkpoint that does not follow the line before it: checkpoints were deleted,
    /// inserted or edited.
    Unlinked {
        /// Its line.
        line: u64,
    },
    /// A checkpoint of another log.
    ForeignLog {
        /// Its line.
        line: u64,
    },
    /// A checkpoint naming an earlier record than the one before it.
    SeqBackwards {
        /// Its line.
        line: u64,
        /// Its seq.
        seq: u64,
        /// The previous checkpoint's seq.
        previous: u64,
    },
    /// The log's record at a checkpoint's seq is missing or has another hash: the log was
    /// rewritten up to there after it was checkpointed.
    HeadMismatch {
        /// The checkpoint's line.
        line: u64,
        /// Its seq.
        seq: u64,
    },
    /// The log ends before a checkpoint's record: it was cut back (rolled back).
    RolledBack {
        /// The latest checkpointed seq.
        checkpoint_seq: u64,
        /// The log's last seq.
        log_last_seq: Option<u64>,
    },
    /// Records appended while every writer holding the key had closed the log: forged, or
    /// the checkpoints file is an old copy (rolled back).
    AppendedWithoutWriter {
        /// First such seq.
        from: u64,
        /// Last such seq.
        to: u64,
    },
    /// A writer found the log with records but its checkpoints missing.
    CheckpointsLost {
        /// The line of that writer's `open` checkpoint.
        line: u64,
    },
    /// The log has records, none checkpointed, and there is no checkpoint at all.
    NoCheckpoints {
        /// Records in the log.
        records: u64,
    },
    /// The anchor (`<log>.head`) is missing although the log was checkpointed (a writer
    /// updates the anchor before every checkpoint).
    AnchorMissing,
    /// The anchor names an earlier record than a checkpoint: it was rolled back.
    AnchorBehind {
        /// The anchor's seq.
        anchor_seq: u64,
        /// The latest checkpointed seq.
        checkpoint_seq: u64,
    },
}

impl CheckpointProblem {
    /// Whether this is about a signature (wrong key, bad signature) rather than about the log
    /// contradicting its checkpoints.
    pub fn is_signature(&self) -> bool {
        matches!(
            self,
            CheckpointProblem::WrongKey { .. } | CheckpointProblem::BadSignature { .. }
        )
    }
}

impl std::fmt::Display for CheckpointProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use CheckpointProblem as P;
        match self {
            P::Malformed { line, error } => {
                write!(f, "checkpoint line {line} is not a checkpoint: {error}")
            }
            P::WrongKey { line, key } => write!(
                f,
                "checkpoint line {line} is signed by another key ({key}), not the trusted one"
            ),
            P::BadSignature { line } => write!(
                f,
                "checkpoint line {line} has an invalid signature: it was forged or edited"
            ),
            P::Unlinked { line } => write!(
                f,
                "checkpoint line {line} does not follow the line before it: checkpoints were \
                 deleted, inserted or edited"
            ),
            P::ForeignLog { line } => write!(f, "checkpoint line {line} belongs to another log"),
            P::SeqBackwards {
                line,
                seq,
                previous,
            } => write!(
                f,
                "checkpoint line {line} names record {seq}, before the previous checkpoint's \
                 record {previous}"
            ),
            P::HeadMismatch { line, seq } => write!(
                f,
                "record {seq} differs from the one checkpoint line {line} signed: the log was \
                 rewritten up to there after it was checkpointed"
            ),
            P::RolledBack {
                checkpoint_seq,
                log_last_seq,
            } => match log_last_seq {
                Some(l) => write!(
                    f,
                    "the log was rolled back: it ends at record {l} but a checkpoint signed \
                     record {checkpoint_seq}"
                ),
                None => write!(
                    f,
                    "the log was rolled back: it holds no records but a checkpoint signed \
                     record {checkpoint_seq}"
                ),
            },
            P::AppendedWithoutWriter { from, to } => write!(
                f,
                "records {from}..={to} were appended while no writer holding the key had the \
                 log open: forged, or the checkpoints file is an old copy"
            ),
            P::CheckpointsLost { line } => write!(
                f,
                "the writer of checkpoint line {line} found the log's checkpoints missing: \
                 they were deleted"
            ),
            P::NoCheckpoints { records } => write!(
                f,
                "the log holds {records} records and no valid checkpoint: the checkpoints \
                 file was deleted, or the log was never opened with the key"
            ),
            P::AnchorMissing => write!(
                f,
                "the anchor file is missing although the log was checkpointed: it was deleted"
            ),
            P::AnchorBehind {
                anchor_seq,
                checkpoint_seq,
            } => write!(
                f,
                "the anchor names record {anchor_seq}, before checkpointed record \
                 {checkpoint_seq}: it was rolled back"
            ),
        }
    }
}

impl std::fmt::Display for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Note::AdoptedAfterCrash { from, to } => write!(
                f,
                "records {from}..={to} were left uncheckpointed by a writer that did not close \
                 (a crash) and signed by the next writer at open: chain intact, origin unproven"
            ),
        }
    }
}

/// Things worth knowing that are not proof of tampering.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "note", rename_all = "snake_case")]
pub enum Note {
    /// Records a writer that did not close (a crash) left uncheckpointed, signed by the next
    /// writer when it opened the log: their chain is intact, their origin unproven.
    AdoptedAfterCrash {
        /// First seq.
        from: u64,
        /// Last seq.
        to: u64,
    },
}

/// Which records checkpoints cover.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Coverage {
    /// Checkpoints whose signature verifies under the trusted key.
    pub checkpoints: u64,
    /// Records `0..=covered_through` are covered by the latest valid checkpoint.
    pub covered_through: Option<u64>,
    /// That checkpoint's time.
    pub checkpoint_time: Option<String>,
    /// Records after it, not yet covered.
    pub uncovered: u64,
    /// The log's last seq.
    pub log_last_seq: Option<u64>,
    /// Writers that opened the log and have not closed it (running, or crashed).
    pub writers_open: u64,
}

/// What [`verify_keyed`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyedReport {
    /// The hash chain.
    pub chain: VerifyReport,
    /// Coverage by checkpoints.
    pub coverage: Coverage,
    /// What the checkpoints show is wrong; empty means they agree with the log.
    pub problems: Vec<CheckpointProblem>,
    /// Observations that are not problems.
    pub notes: Vec<Note>,
}

/// Verifies the log's chain, then the log against the checkpoints in `checkpoints`, trusting
/// only checkpoints signed by `key`.
pub fn verify_keyed(
    log: &Path,
    checkpoints: &Path,
    key: &PublicKey,
) -> Result<KeyedReport, AuditError> {
    let (chain, hashes, lines) = consistent_reads(log, checkpoints)?;
    let mut walk = Walk {
        hashes: &hashes,
        key: key.to_hex(),
        problems: Vec::new(),
        notes: Vec::new(),
        last: None,
        live: BTreeSet::new(),
        valid: 0,
    };
    let mut previous: Option<[u8; 32]> = None;
    for line in &lines {
        walk.line(line, previous.as_ref());
        previous = Some(line.digest);
    }
    let log_last_seq = hashes.keys().next_back().copied();
    walk.finish(log, log_last_seq, chain.records);
    let coverage = Coverage {
        checkpoints: walk.valid,
        covered_through: walk.last.as_ref().map(|c| c.seq),
        checkpoint_time: walk.last.as_ref().map(|c| c.time.clone()),
        uncovered: match (&walk.last, log_last_seq) {
            (_, None) => 0,
            (None, Some(l)) => l + 1,
            (Some(c), Some(l)) => l.saturating_sub(c.seq),
        },
        log_last_seq,
        writers_open: walk.live.len() as u64,
    };
    Ok(KeyedReport {
        chain,
        coverage,
        problems: walk.problems,
        notes: walk.notes,
    })
}

/// The checkpoints, then the log, so that every checkpoint read names a record the log read
/// holds; read again while a writer added checkpoints in between (a writer that opened
/// meanwhile would otherwise look absent from records it appended).
fn consistent_reads(
    log: &Path,
    checkpoints: &Path,
) -> Result<(VerifyReport, ChainHashes, Vec<Line>), AuditError> {
    let read = || read_lines(checkpoints).map_err(AuditError::io(checkpoints));
    let mut lines = read()?;
    for _ in 0..4 {
        let (chain, hashes) = verify_chain(log)?;
        let again = read()?;
        if again.len() == lines.len() {
            return Ok((chain, hashes, lines));
        }
        lines = again;
    }
    let (chain, hashes) = verify_chain(log)?;
    Ok((chain, hashes, lines))
}

/// State while walking the checkpoints in file order.
struct Walk<'a> {
    hashes: &'a ChainHashes,
    key: String,
    problems: Vec<CheckpointProblem>,
    notes: Vec<Note>,
    /// The latest valid checkpoint.
    last: Option<Checkpoint>,
    /// Writers opened and not closed.
    live: BTreeSet<String>,
    valid: u64,
}

impl Walk<'_> {
    fn line(&mut self, line: &Line, previous: Option<&[u8; 32]>) {
        let n = line.number;
        let cp = match &line.parsed {
            Ok(cp) => cp,
            Err(error) => {
                let error = error.clone();
                self.problems
                    .push(CheckpointProblem::Malformed { line: n, error });
                return;
            }
        };
        if !links_to(cp, previous) {
            self.problems.push(CheckpointProblem::Unlinked { line: n });
        }
        if cp.key != self.key {
            let key = cp.key.clone();
            self.problems
                .push(CheckpointProblem::WrongKey { line: n, key });
            return;
        }
        if !cp.signature_valid() {
            self.problems
                .push(CheckpointProblem::BadSignature { line: n });
            return;
        }
        if let Some(id) = self.hashes.get(&0) {
            if decode_hash("log", &cp.log).ok().as_ref() != Some(id) {
                self.problems
                    .push(CheckpointProblem::ForeignLog { line: n });
                return;
            }
        }
        if let Some(prev) = self.last.as_ref().filter(|p| p.seq > cp.seq) {
            let (seq, previous) = (cp.seq, prev.seq);
            self.problems.push(CheckpointProblem::SeqBackwards {
                line: n,
                seq,
                previous,
            });
            return;
        }
        self.check_head(n, cp);
        self.writers(n, cp);
        self.valid += 1;
        self.last = Some(cp.clone());
    }

    /// The record the checkpoint names must be in the log with the hash it names.
    fn check_head(&mut self, n: u64, cp: &Checkpoint) {
        let last = self.hashes.keys().next_back().copied();
        if last.is_none_or(|l| cp.seq > l) {
            return; // reported once, as rolled back, by `finish`
        }
        let head = decode_hash("head", &cp.head).ok();
        if head.is_none() || self.hashes.get(&cp.seq) != head.as_ref() {
            self.problems.push(CheckpointProblem::HeadMismatch {
                line: n,
                seq: cp.seq,
            });
        }
    }

    /// Tracks which writers have the log open; records that appeared while none had it are
    /// reported.
    fn writers(&mut self, n: u64, cp: &Checkpoint) {
        let from = self.last.as_ref().map(|p| p.seq + 1);
        if let Some(from) = from.filter(|f| *f <= cp.seq) {
            let to = cp.seq;
            if self.live.is_empty() {
                self.problems
                    .push(CheckpointProblem::AppendedWithoutWriter { from, to });
            } else if cp.kind == CheckpointKind::Open && cp.sole {
                self.notes.push(Note::AdoptedAfterCrash { from, to });
            }
        }
        if cp.lost {
            self.problems
                .push(CheckpointProblem::CheckpointsLost { line: n });
        }
        match cp.kind {
            CheckpointKind::Open if cp.sole => {
                self.live.clear();
                self.live.insert(cp.writer.clone());
            }
            CheckpointKind::Open | CheckpointKind::Periodic => {
                self.live.insert(cp.writer.clone());
            }
            CheckpointKind::Close => {
                self.live.remove(&cp.writer);
            }
        }
    }

    /// Checks after the last checkpoint: the log's end, the anchor, the uncovered tail.
    fn finish(&mut self, log: &Path, log_last: Option<u64>, records: u64) {
        let Some(last) = &self.last else {
            if records > 0 && self.valid == 0 && self.problems.is_empty() {
                self.problems
                    .push(CheckpointProblem::NoCheckpoints { records });
            }
            return;
        };
        let checkpoint_seq = last.seq;
        if log_last.is_none_or(|l| l < checkpoint_seq) {
            self.problems.push(CheckpointProblem::RolledBack {
                checkpoint_seq,
                log_last_seq: log_last,
            });
        }
        match read_anchor(log) {
            None => self.problems.push(CheckpointProblem::AnchorMissing),
            Some((anchor_seq, _)) if anchor_seq < checkpoint_seq => {
                self.problems.push(CheckpointProblem::AnchorBehind {
                    anchor_seq,
                    checkpoint_seq,
                });
            }
            Some(_) => {}
        }
        if let Some(l) = log_last.filter(|l| *l > checkpoint_seq) {
            if self.live.is_empty() {
                self.problems
                    .push(CheckpointProblem::AppendedWithoutWriter {
                        from: checkpoint_seq + 1,
                        to: l,
                    });
            }
        }
    }
}
