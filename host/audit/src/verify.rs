//! Checks a log's chain and says what was done to it, record by record.

use crate::{read_anchor, AuditError, Record, GENESIS};
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

/// Something wrong with a log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum Problem {
    /// The record's content no longer matches its hash.
    Edited {
        /// 1-based line.
        line: u64,
        /// Its seq.
        seq: u64,
    },
    /// Records are missing from the middle.
    Deleted {
        /// The last seq before the gap (`None`: the gap is at the start).
        after_seq: Option<u64>,
        /// How many are missing.
        missing: u64,
    },
    /// A record that does not belong to the chain (a forged or duplicated record).
    Inserted {
        /// 1-based line.
        line: u64,
    },
    /// A record out of order.
    Reordered {
        /// 1-based line.
        line: u64,
        /// Its seq.
        seq: u64,
    },
    /// A line that is not a record.
    Malformed {
        /// 1-based line.
        line: u64,
        /// Parser message.
        error: String,
    },
    /// A record whose `prev` is not its predecessor's hash (its predecessor was rewritten with
    /// a recomputed hash).
    BrokenChain {
        /// 1-based line.
        line: u64,
        /// Its seq.
        seq: u64,
    },
    /// Records are missing from the end: the anchor names a later record than the log holds.
    Truncated {
        /// Last seq according to the anchor.
        expected_last_seq: u64,
        /// Last seq in the log (`None`: empty).
        found_last_seq: Option<u64>,
    },
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Edited { line, seq } => write!(f, "record {seq} (line {line}) was edited: its hash does not match its content"),
            Problem::Deleted { after_seq: Some(s), missing } => write!(f, "{missing} record(s) after record {s} were deleted"),
            Problem::Deleted { after_seq: None, missing } => write!(f, "the first {missing} record(s) were deleted"),
            Problem::Inserted { line } => write!(f, "line {line} holds a record that is not part of the chain (inserted)"),
            Problem::Reordered { line, seq } => write!(f, "record {seq} (line {line}) is out of order"),
            Problem::Malformed { line, error } => write!(f, "line {line} is not a valid record: {error}"),
            Problem::BrokenChain { line, seq } => {
                write!(f, "record {seq} (line {line}) does not link to its predecessor (the predecessor was rewritten)")
            }
            Problem::Truncated { expected_last_seq, found_last_seq } => match found_last_seq {
                Some(s) => write!(f, "records {}..={expected_last_seq} were cut from the end (the anchor names record {expected_last_seq})", s + 1),
                None => write!(f, "the log is empty but the anchor names record {expected_last_seq}"),
            },
        }
    }
}

/// What `verify` found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VerifyReport {
    /// Records read.
    pub records: u64,
    /// Problems; empty means the log is intact.
    pub problems: Vec<Problem>,
}

/// Verifies the log at `path` (and its anchor, when present).
pub fn verify(path: &Path) -> Result<VerifyReport, AuditError> {
    let text = std::fs::read_to_string(path).map_err(|source| AuditError::Io {
        file: path.display().to_string(),
        source,
    })?;
    let mut problems = Vec::new();
    let mut recs: Vec<(u64, Record)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i as u64 + 1;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Record>(line) {
            Ok(r) => recs.push((line_no, r)),
            Err(e) => problems.push(Problem::Malformed {
                line: line_no,
                error: e.to_string(),
            }),
        }
    }

    // Records whose content matches their hash; the others were edited in place.
    let mut edited = HashSet::new();
    for (idx, (line, r)) in recs.iter().enumerate() {
        if r.compute_hash().ok().as_deref() != Some(r.hash.as_str()) {
            problems.push(Problem::Edited {
                line: *line,
                seq: r.seq,
            });
            edited.insert(idx);
        }
    }

    // One genuine record per seq: among duplicates, the one its successor links to.
    let mut by_seq: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    for (idx, (_, r)) in recs.iter().enumerate() {
        by_seq.entry(r.seq).or_default().push(idx);
    }
    let linked: HashSet<&str> = recs.iter().map(|(_, r)| r.prev.as_str()).collect();
    let mut genuine: BTreeMap<u64, usize> = BTreeMap::new();
    for (seq, idxs) in &by_seq {
        let pick = if idxs.len() == 1 {
            idxs[0]
        } else {
            let pred = by_seq
                .get(&seq.wrapping_sub(1))
                .and_then(|p| p.first())
                .map(|i| recs[*i].1.hash.as_str());
            *idxs
                .iter()
                .find(|i| linked.contains(recs[**i].1.hash.as_str()) && !edited.contains(*i))
                .or_else(|| {
                    idxs.iter()
                        .find(|i| Some(recs[**i].1.prev.as_str()) == pred)
                })
                .unwrap_or(&idxs[0])
        };
        for i in idxs {
            if *i != pick {
                problems.push(Problem::Inserted { line: recs[*i].0 });
            }
        }
        genuine.insert(*seq, pick);
    }

    // Order in the file.
    let mut max_seen: Option<u64> = None;
    let genuine_set: HashSet<usize> = genuine.values().copied().collect();
    for (idx, (line, r)) in recs.iter().enumerate() {
        if !genuine_set.contains(&idx) {
            continue;
        }
        match max_seen {
            Some(m) if r.seq < m => problems.push(Problem::Reordered {
                line: *line,
                seq: r.seq,
            }),
            _ => max_seen = Some(max_seen.map_or(r.seq, |m| m.max(r.seq))),
        }
    }

    // Gaps.
    let mut expected = 0u64;
    for seq in genuine.keys() {
        if *seq > expected {
            let after = expected.checked_sub(1);
            problems.push(Problem::Deleted {
                after_seq: after,
                missing: seq - expected,
            });
        }
        expected = seq + 1;
    }

    // Links between consecutive genuine records.
    for (seq, idx) in &genuine {
        let (line, r) = &recs[*idx];
        let want = if *seq == 0 {
            Some(GENESIS)
        } else {
            genuine.get(&(seq - 1)).map(|p| recs[*p].1.hash.as_str())
        };
        if let Some(want) = want {
            if r.prev != want && !edited.contains(idx) {
                problems.push(Problem::BrokenChain {
                    line: *line,
                    seq: *seq,
                });
            }
        }
    }

    // Truncation at the end, against the anchor.
    let last = genuine.keys().next_back().copied();
    if let Some((anchor_seq, anchor_hash)) = read_anchor(path) {
        match last {
            Some(l) if l >= anchor_seq => {
                if let Some(idx) = genuine.get(&anchor_seq) {
                    if recs[*idx].1.hash != anchor_hash && !edited.contains(idx) {
                        problems.push(Problem::BrokenChain {
                            line: recs[*idx].0,
                            seq: anchor_seq,
                        });
                    }
                }
            }
            found => problems.push(Problem::Truncated {
                expected_last_seq: anchor_seq,
                found_last_seq: found,
            }),
        }
    }

    problems.sort_by_key(sort_key);
    problems.dedup();
    Ok(VerifyReport {
        records: recs.len() as u64,
        problems,
    })
}

fn sort_key(p: &Problem) -> (u64, u8) {
    match p {
        Problem::Malformed { line, .. } => (*line, 0),
        Problem::Edited { line, .. } => (*line, 1),
        Problem::Inserted { line } => (*line, 2),
        Problem::Reordered { line, .. } => (*line, 3),
        Problem::BrokenChain { line, .. } => (*line, 4),
        Problem::Deleted { after_seq, .. } => (after_seq.map_or(0, |s| s + 1), 5),
        Problem::Truncated { .. } => (u64::MAX, 6),
    }
}
