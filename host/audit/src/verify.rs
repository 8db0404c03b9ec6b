//! Checks a log's chain and says what was done to it, record by record.
//!
//! How each kind of tampering shows:
//! - a record whose bytes no longer match its own hash was **edited** in place;
//! - a record whose hash is right but that its successor does not link to was rewritten with a
//!   recomputed hash: the successor reports a **broken chain**;
//! - a run of missing seqs between two records is a **deletion** (lines that do not parse at all
//!   are reported as **malformed** and account for the seqs they held);
//! - a second record claiming a seq, that nothing links to, or a record out of place that links
//!   to nothing, was **inserted** (a forged record with a self-consistent hash is still caught:
//!   the genuine record's successor links to the genuine one);
//! - a record that links into the chain but sits out of seq order was **reordered** (the fewest
//!   such records are reported: those outside a longest in-order run);
//! - records cut from the end are seen only against the anchor (**truncated**), and a chain
//!   rewritten from some record on no longer matches the anchor (**anchor mismatch**).

use crate::file::read_anchor;
use crate::record::check_line;
use crate::AuditError;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

/// Something wrong with a log. Lines are 1-based.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum Problem {
    /// The record's content no longer matches its hash.
    Edited {
        /// Its line.
        line: u64,
        /// Its seq.
        seq: u64,
    },
    /// Records are missing from the chain.
    Deleted {
        /// The last seq before the gap (`None`: the gap is at the start).
        after_seq: Option<u64>,
        /// How many are missing.
        missing: u64,
    },
    /// A record that does not belong to the chain (forged or duplicated).
    Inserted {
        /// Its line.
        line: u64,
    },
    /// A chain record out of seq order.
    Reordered {
        /// Its line.
        line: u64,
        /// Its seq.
        seq: u64,
    },
    /// A line that is not a record.
    Malformed {
        /// Its line.
        line: u64,
        /// Why it is not a record.
        error: String,
    },
    /// A record whose `prev` is not its predecessor's hash: the predecessor was rewritten with
    /// a recomputed hash, or this record's `prev` was (with its own hash recomputed).
    BrokenChain {
        /// Its line.
        line: u64,
        /// Its seq.
        seq: u64,
    },
    /// Records are missing from the end: the anchor names a later record than the log holds.
    Truncated {
        /// Last seq according to the anchor.
        expected_last_seq: u64,
        /// Last seq in the log (`None`: no records).
        found_last_seq: Option<u64>,
    },
    /// The record the anchor names has a different hash: the log was rewritten from some record
    /// up to this one, hashes and links recomputed.
    AnchorMismatch {
        /// Its line.
        line: u64,
        /// Its seq.
        seq: u64,
    },
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Edited { line, seq } => write!(
                f,
                "record {seq} (line {line}) was edited: its hash does not match its content"
            ),
            Problem::Deleted {
                after_seq: Some(s),
                missing,
            } => write!(
                f,
                "{missing} record(s) were deleted after record {s} (records {}..={} are missing)",
                s + 1,
                s + missing
            ),
            Problem::Deleted {
                after_seq: None,
                missing,
            } => write!(f, "the first {missing} record(s) were deleted"),
            Problem::Inserted { line } => write!(
                f,
                "line {line} holds a record that is not part of the chain (it was inserted)"
            ),
            Problem::Reordered { line, seq } => {
                write!(f, "record {seq} (line {line}) was moved out of order")
            }
            Problem::Malformed { line, error } => {
                write!(f, "line {line} is not a valid record: {error}")
            }
            Problem::BrokenChain { line, seq } => write!(
                f,
                "record {seq} (line {line}) does not link to record {}: that record was \
                 rewritten with a recomputed hash, or this record's link was",
                seq.saturating_sub(1)
            ),
            Problem::Truncated {
                expected_last_seq,
                found_last_seq: Some(s),
            } => write!(
                f,
                "records {}..={expected_last_seq} were cut from the end (the anchor names \
                 record {expected_last_seq}, the log ends at record {s})",
                s + 1
            ),
            Problem::Truncated {
                expected_last_seq,
                found_last_seq: None,
            } => write!(
                f,
                "the log holds no records but the anchor names record {expected_last_seq}"
            ),
            Problem::AnchorMismatch { line, seq } => write!(
                f,
                "record {seq} (line {line}) differs from the one the anchor names: the log was \
                 rewritten up to here"
            ),
        }
    }
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VerifyReport {
    /// Lines that parse as records.
    pub records: u64,
    /// Problems in file order; empty means the log is intact.
    pub problems: Vec<Problem>,
}

/// A parsed line.
struct Entry {
    line: u64,
    seq: u64,
    prev: Option<[u8; 32]>,
    hash: Option<[u8; 32]>,
    intact: bool,
}

/// Problems with where they belong in the report: (line, rank within the line).
struct Found(Vec<(u64, u8, Problem)>);

impl Found {
    fn push(&mut self, line: u64, rank: u8, p: Problem) {
        self.0.push((line, rank, p));
    }
}

/// Verifies the log at `path` and, when there is one, its anchor (`<log>.head`). Reads the log
/// as a stream; memory grows with the number of records (about 100 bytes each), not their size.
pub fn verify(path: &Path) -> Result<VerifyReport, AuditError> {
    verify_chain(path).map(|(report, _)| report)
}

/// The hashes of the chain's intact records, by seq, as [`verify`] picked them.
pub(crate) type ChainHashes = BTreeMap<u64, [u8; 32]>;

/// [`verify`], and the chain it found.
pub(crate) fn verify_chain(path: &Path) -> Result<(VerifyReport, ChainHashes), AuditError> {
    let io = AuditError::io(path);
    let mut reader = BufReader::new(File::open(path).map_err(&io)?);
    let mut found = Found(Vec::new());
    let mut entries = Vec::new();
    let mut malformed_lines = Vec::new();
    let mut buf = Vec::new();
    let mut line = 0u64;
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf).map_err(&io)? == 0 {
            break;
        }
        line += 1;
        let text = buf.strip_suffix(b"\n").unwrap_or(&buf);
        let parsed = if text.is_empty() {
            Err("empty line".to_string())
        } else {
            check_line(text)
        };
        match parsed {
            Ok(c) => {
                if !c.intact {
                    found.push(line, 1, Problem::Edited { line, seq: c.seq });
                }
                entries.push(Entry {
                    line,
                    seq: c.seq,
                    prev: c.prev,
                    hash: c.hash,
                    intact: c.intact,
                });
            }
            Err(error) => {
                malformed_lines.push(line);
                found.push(line, 1, Problem::Malformed { line, error });
            }
        }
    }

    let genuine = chain_members(&entries, &mut found);
    check_gaps_and_links(&entries, &genuine, &malformed_lines, &mut found);
    check_anchor(path, &entries, &genuine, &mut found);

    let hashes = genuine
        .iter()
        .filter_map(|(seq, i)| {
            let e = &entries[*i];
            e.hash.filter(|_| e.intact).map(|h| (*seq, h))
        })
        .collect();
    let mut problems = found.0;
    problems.sort_by_key(|(line, rank, _)| (*line, *rank));
    let report = VerifyReport {
        records: entries.len() as u64,
        problems: problems.into_iter().map(|(_, _, p)| p).collect(),
    };
    Ok((report, hashes))
}

/// Picks the one record per seq that belongs to the chain, reporting the others as inserted and
/// chain records out of place as reordered. Returns seq → index into `entries`.
fn chain_members(entries: &[Entry], found: &mut Found) -> BTreeMap<u64, usize> {
    let mut genuine = one_per_seq(entries, found);
    drop_out_of_order(entries, &mut genuine, found);
    genuine
}

/// The indexes into `entries` of the records claiming each seq, in file order.
type BySeq = BTreeMap<u64, Vec<usize>>;

/// The genuine record of each seq (see [`pick_genuine`]); the other records claiming a seq are
/// reported as inserted.
fn one_per_seq(entries: &[Entry], found: &mut Found) -> BTreeMap<u64, usize> {
    let mut by_seq: BySeq = BTreeMap::new();
    for (i, e) in entries.iter().enumerate() {
        by_seq.entry(e.seq).or_default().push(i);
    }
    let mut genuine: BTreeMap<u64, usize> = BTreeMap::new();
    for (seq, idxs) in &by_seq {
        let pick = if let [only] = idxs.as_slice() {
            *only
        } else {
            pick_genuine(entries, &by_seq, *seq, idxs)
        };
        for i in idxs.iter().filter(|i| **i != pick) {
            let line = entries[*i].line;
            found.push(line, 2, Problem::Inserted { line });
        }
        genuine.insert(*seq, pick);
    }
    genuine
}

/// Among records claiming one seq, the genuine one is linked to by its successor, else links
/// to its predecessor, else is the first intact one (else the first one).
fn pick_genuine(entries: &[Entry], by_seq: &BySeq, seq: u64, idxs: &[usize]) -> usize {
    let hashes_at = |seq: Option<u64>| -> Vec<[u8; 32]> {
        let Some(seq) = seq else {
            return vec![[0; 32]];
        };
        by_seq
            .get(&seq)
            .into_iter()
            .flatten()
            .filter_map(|i| entries[*i].hash)
            .collect()
    };
    let prevs_at = |seq: u64| -> Vec<[u8; 32]> {
        by_seq
            .get(&seq)
            .into_iter()
            .flatten()
            .filter_map(|i| entries[*i].prev)
            .collect()
    };
    let next_prevs = seq.checked_add(1).map(prevs_at).unwrap_or_default();
    let pred_hashes = hashes_at(seq.checked_sub(1));
    let intact = || idxs.iter().copied().filter(|i| entries[*i].intact);
    intact()
        .find(|i| entries[*i].hash.is_some_and(|h| next_prevs.contains(&h)))
        .or_else(|| intact().find(|i| entries[*i].prev.is_some_and(|p| pred_hashes.contains(&p))))
        .or_else(|| intact().next())
        .unwrap_or(idxs[0])
}

/// File order should be seq order. Keep a longest increasing run; of the rest, a record that
/// links to a neighbour in the chain was moved (reported as reordered), one that links to
/// nothing was inserted (reported, and dropped from `genuine`).
fn drop_out_of_order(entries: &[Entry], genuine: &mut BTreeMap<u64, usize>, found: &mut Found) {
    let order: Vec<usize> = {
        let mut v: Vec<usize> = genuine.values().copied().collect();
        v.sort_unstable();
        v
    };
    let in_order = longest_increasing(&order, |i| entries[i].seq);
    let mut inserted = Vec::new();
    for (k, i) in order.iter().enumerate() {
        if in_order[k] {
            continue;
        }
        let e = &entries[*i];
        if linked(entries, genuine, *i) {
            found.push(
                e.line,
                3,
                Problem::Reordered {
                    line: e.line,
                    seq: e.seq,
                },
            );
        } else {
            found.push(e.line, 2, Problem::Inserted { line: e.line });
            inserted.push(e.seq);
        }
    }
    for seq in inserted {
        genuine.remove(&seq);
    }
}

/// Whether `entries[i]` links to its predecessor or its successor in the chain.
fn linked(entries: &[Entry], genuine: &BTreeMap<u64, usize>, i: usize) -> bool {
    let e = &entries[i];
    let from_pred = match e.seq.checked_sub(1) {
        None => e.prev == Some([0; 32]),
        Some(p) => genuine
            .get(&p)
            .is_some_and(|j| entries[*j].hash.is_some() && entries[*j].hash == e.prev),
    };
    let to_succ = e
        .seq
        .checked_add(1)
        .and_then(|s| genuine.get(&s))
        .is_some_and(|j| e.hash.is_some() && entries[*j].prev == e.hash);
    from_pred || to_succ
}

/// Marks the elements of a longest strictly increasing subsequence of `key` over `items`.
fn longest_increasing(items: &[usize], key: impl Fn(usize) -> u64) -> Vec<bool> {
    // tails[k]: position of the smallest last element of an increasing run of length k+1.
    let mut tails: Vec<usize> = Vec::new();
    let mut back: Vec<Option<usize>> = vec![None; items.len()];
    for (pos, item) in items.iter().enumerate() {
        let k = key(*item);
        let at = tails.partition_point(|t| key(items[*t]) < k);
        back[pos] = at.checked_sub(1).map(|a| tails[a]);
        if at == tails.len() {
            tails.push(pos);
        } else {
            tails[at] = pos;
        }
    }
    let mut keep = vec![false; items.len()];
    let mut cur = tails.last().copied();
    while let Some(pos) = cur {
        keep[pos] = true;
        cur = back[pos];
    }
    keep
}

/// Reports missing seqs and records that do not link to their predecessor.
fn check_gaps_and_links(
    entries: &[Entry],
    genuine: &BTreeMap<u64, usize>,
    malformed_lines: &[u64],
    found: &mut Found,
) {
    let line_of = |seq: u64| genuine.get(&seq).map(|i| entries[*i].line);
    let mut expected = 0u64;
    for (seq, i) in genuine {
        let e = &entries[*i];
        if *seq > expected {
            let after_seq = expected.checked_sub(1);
            // Lines that did not parse between the two records held some of the missing seqs.
            let from = after_seq.and_then(line_of).unwrap_or(0);
            let unreadable = if from < e.line {
                let lo = malformed_lines.partition_point(|l| *l <= from);
                let hi = malformed_lines.partition_point(|l| *l < e.line);
                (hi - lo) as u64
            } else {
                0
            };
            let missing = (seq - expected).saturating_sub(unreadable);
            if missing > 0 {
                found.push(e.line, 0, Problem::Deleted { after_seq, missing });
            }
        }
        expected = seq.saturating_add(1);

        let want = match seq.checked_sub(1) {
            None => Some([0; 32]),
            Some(p) => genuine.get(&p).and_then(|j| entries[*j].hash),
        };
        if e.intact && want.is_some() && e.prev != want {
            found.push(
                e.line,
                4,
                Problem::BrokenChain {
                    line: e.line,
                    seq: *seq,
                },
            );
        }
    }
}

/// Compares the end of the chain with the anchor, when there is one.
fn check_anchor(path: &Path, entries: &[Entry], genuine: &BTreeMap<u64, usize>, found: &mut Found) {
    let Some((anchor_seq, anchor_hash)) = read_anchor(path) else {
        return;
    };
    let last = genuine.keys().next_back().copied();
    if last.is_none_or(|l| l < anchor_seq) {
        found.push(
            u64::MAX,
            0,
            Problem::Truncated {
                expected_last_seq: anchor_seq,
                found_last_seq: last,
            },
        );
    } else if let Some(e) = genuine.get(&anchor_seq).map(|i| &entries[*i]) {
        if e.intact && e.hash != Some(anchor_hash) {
            found.push(
                e.line,
                5,
                Problem::AnchorMismatch {
                    line: e.line,
                    seq: e.seq,
                },
            );
        }
    }
}
