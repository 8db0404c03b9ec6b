//! One record: its encoding as a line and its hash (see the crate docs for the format).

use crate::{AuditError, Event};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The `prev` of the first record: 64 zeros.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One line of the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Position in the chain, from 0.
    pub seq: u64,
    /// RFC 3339 UTC time of the append, with microseconds.
    pub time: String,
    /// Hash of the previous record (hex), [`GENESIS`] for the first.
    pub prev: String,
    /// What happened.
    pub event: Event,
    /// `sha256(prev bytes || canonical body)`, hex.
    pub hash: String,
}

/// The hashed part of a record; field order is part of the format.
#[derive(Serialize)]
struct Body<'a, P: Serialize> {
    seq: u64,
    time: &'a str,
    prev: P,
    event: &'a Event,
}

/// A digest that serializes as lowercase hex without allocating.
struct Hex<'a>(&'a [u8; 32]);

impl Serialize for Hex<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl std::fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = hex32(self.0);
        f.write_str(std::str::from_utf8(&text).map_err(|_| std::fmt::Error)?)
    }
}

/// Lowercase hex digits of a digest.
fn hex32(bytes: &[u8; 32]) -> [u8; 64] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 64];
    for (i, b) in bytes.iter().enumerate() {
        out[2 * i] = DIGITS[usize::from(b >> 4)];
        out[2 * i + 1] = DIGITS[usize::from(b & 0xf)];
    }
    out
}

/// Returned by `append`: where the record landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// Its sequence number.
    pub seq: u64,
    /// Its hash (hex).
    pub hash: String,
}

impl Record {
    /// The hash this record's content implies. The line [`crate::AuditLog`] writes for a record
    /// is exactly `serde_json::to_string(&record)`, so this agrees with [`crate::verify`] for
    /// records that went through the writer or a compact serde_json encoding.
    pub fn compute_hash(&self) -> Result<String, AuditError> {
        let prev = decode_hash("prev", &self.prev)?;
        let body = serde_json::to_vec(&Body {
            seq: self.seq,
            time: &self.time,
            prev: &self.prev,
            event: &self.event,
        })?;
        Ok(hex::encode(chain_hash(&prev, &body)))
    }
}

/// `sha256(prev || body)`.
pub(crate) fn chain_hash(prev: &[u8; 32], body: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(body);
    h.finalize().into()
}

/// Parses a 64-digit hex digest.
pub(crate) fn decode_hash(field: &'static str, hex_text: &str) -> Result<[u8; 32], AuditError> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_text, &mut out).map_err(|_| AuditError::NotAHash {
        field,
        value: hex_text.chars().take(80).collect(),
    })?;
    Ok(out)
}

/// Appends the line of record `seq` (with its newline) to `out` and returns its hash.
/// Allocation-free apart from growing `out`, which callers reuse.
pub(crate) fn encode_line(
    out: &mut Vec<u8>,
    seq: u64,
    time: &str,
    prev: &[u8; 32],
    event: &Event,
) -> Result<[u8; 32], AuditError> {
    let start = out.len();
    let body = Body {
        seq,
        time,
        prev: Hex(prev),
        event,
    };
    if let Err(e) = serde_json::to_writer(&mut *out, &body) {
        out.truncate(start);
        return Err(e.into());
    }
    let hash = chain_hash(prev, &out[start..]);
    // Body ends in `}`: reopen it to add the hash field.
    out.pop();
    out.extend_from_slice(HASH_KEY);
    out.extend_from_slice(&hex32(&hash));
    out.extend_from_slice(b"\"}\n");
    Ok(hash)
}

const HASH_KEY: &[u8] = b",\"hash\":\"";
/// `,"hash":"` + 64 hex digits + `"}`.
const SUFFIX_LEN: usize = HASH_KEY.len() + 64 + 2;

/// The chain fields of a line, for recovery and verification. Other fields are skipped, so a
/// record with an event kind this version does not know still counts as a record.
#[derive(Deserialize)]
struct Link {
    seq: u64,
    prev: String,
    hash: String,
}

/// What a line holds, as far as the chain is concerned.
pub(crate) struct Checked {
    /// Its seq.
    pub seq: u64,
    /// Its `prev`, when that is a digest.
    pub prev: Option<[u8; 32]>,
    /// Its `hash`, when that is a digest.
    pub hash: Option<[u8; 32]>,
    /// Whether `hash` matches the line's bytes.
    pub intact: bool,
}

/// Parses one line (without its newline) and checks its hash against its exact bytes.
/// `Err` holds why the line is not a record at all.
pub(crate) fn check_line(line: &[u8]) -> Result<Checked, String> {
    let link: Link = serde_json::from_slice(line).map_err(|e| e.to_string())?;
    let prev = decode_hash("prev", &link.prev).ok();
    let hash = decode_hash("hash", &link.hash).ok();
    // The hash must be the exact lowercase hex of the digest, in the exact place the writer
    // puts it: a byte-for-byte check, so `A` for `a` counts as an edit too.
    let intact = match prev {
        Some(prev) if line.len() > SUFFIX_LEN => {
            let cut = line.len() - SUFFIX_LEN;
            let (body, suffix) = line.split_at(cut);
            let mut h = Sha256::new();
            h.update(prev);
            h.update(body);
            h.update(b"}");
            let want = hex32(&h.finalize().into());
            suffix.starts_with(HASH_KEY)
                && suffix.ends_with(b"\"}")
                && suffix[HASH_KEY.len()..HASH_KEY.len() + 64] == want
                && link.hash.as_bytes() == want
        }
        _ => false,
    };
    Ok(Checked {
        seq: link.seq,
        prev,
        hash,
        intact,
    })
}
