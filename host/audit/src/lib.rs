//! spud's audit log: append-only JSON lines, each record chained to the previous one by
//! SHA-256, so that editing, deleting, inserting or reordering records is detectable.
//!
//! Record: `{"seq":N,"time":"…Z","prev":"<hex>","event":{…},"hash":"<hex>"}` where
//! `hash = sha256(canonical)` and `canonical` is the compact JSON of `{seq, time, prev, event}`
//! in that field order (objects inside raw payloads have sorted keys), so the hash is
//! reproducible from the line itself. The first record's `prev` is 64 zeros.
//!
//! **Durability.** [`Durability::Process`]: a record is written to the operating system with one
//! `write(2)` before `append` returns, so a crash of the process loses no acknowledged record;
//! the file is fsynced at most every 100 ms by the appender that notices, and on `flush`/drop.
//! [`Durability::Fsync`]: `append` returns after an fsync that covers the record; appenders
//! that wait at the same time share one fsync (group commit).
//!
//! **Anchor.** `<log>.head` holds the last record's seq and hash, rewritten (temp + rename) on
//! every fsync. Dropping records from the end of the log cannot be seen in the log itself; the
//! anchor shows it. For strong guarantees ship the anchor (or the log) off the machine.

mod event;
mod verify;

pub use event::{CallEvent, CapabilityEvent, Event, Payload, RegistryEvent};
pub use verify::{verify, Problem, VerifyReport};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// The `prev` of the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Audit log failures.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The log could not be read or written.
    #[error("audit log {file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// Why.
        source: std::io::Error,
    },
    /// A record could not be serialized.
    #[error("audit record cannot be serialized: {0}")]
    Encode(#[from] serde_json::Error),
    /// A lock was poisoned by a panicking writer.
    #[error("audit log writer is unusable after a panic")]
    Poisoned,
}

/// When an appended record counts as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// After `write(2)`: survives a crash of the process.
    #[default]
    Process,
    /// After `fsync`: survives power loss.
    Fsync,
}

/// One line of the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Position in the chain, from 0.
    pub seq: u64,
    /// RFC 3339 UTC time of the append.
    pub time: String,
    /// Hash of the previous record.
    pub prev: String,
    /// What happened.
    pub event: Event,
    /// sha256 of the canonical body.
    pub hash: String,
}

#[derive(Serialize)]
struct Body<'a> {
    seq: u64,
    time: &'a str,
    prev: &'a str,
    event: &'a Event,
}

impl Record {
    /// The hash this record's content implies.
    pub fn compute_hash(&self) -> Result<String, serde_json::Error> {
        let body = serde_json::to_vec(&Body {
            seq: self.seq,
            time: &self.time,
            prev: &self.prev,
            event: &self.event,
        })?;
        Ok(hex::encode(Sha256::digest(&body)))
    }
}

/// Returned by `append`: where the record landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// Its sequence number.
    pub seq: u64,
    /// Its hash.
    pub hash: String,
}

struct Writer {
    file: File,
    /// File length after our last write; a different length means another process appended.
    end: u64,
    next_seq: u64,
    prev: String,
    written_seq: Option<u64>,
    last_sync: Instant,
    line: Vec<u8>,
}

struct SyncState {
    synced_seq: Option<u64>,
}

struct Inner {
    path: PathBuf,
    durability: Durability,
    writer: Mutex<Writer>,
    sync: Mutex<SyncState>,
}

/// An open audit log. Cheap to clone; safe to share between threads.
#[derive(Clone)]
pub struct AuditLog {
    inner: Arc<Inner>,
}

const PERIODIC_SYNC: Duration = Duration::from_millis(100);

impl AuditLog {
    /// Opens (or creates) the log, recovering from a torn final line left by a crash.
    pub fn open(path: &Path, durability: Durability) -> Result<AuditLog, AuditError> {
        let io = |source| AuditError::Io {
            file: path.display().to_string(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(io)?;
        file.lock().map_err(io)?;
        let recovered = recover_tail(path, &mut file);
        let end = file.metadata().map(|m| m.len());
        file.unlock().map_err(io)?;
        let (next_seq, prev) = recovered.map_err(io)?;
        let writer = Writer {
            file,
            end: end.map_err(io)?,
            next_seq,
            prev,
            written_seq: next_seq.checked_sub(1),
            last_sync: Instant::now(),
            line: Vec::with_capacity(1024),
        };
        Ok(AuditLog {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                durability,
                writer: Mutex::new(writer),
                sync: Mutex::new(SyncState {
                    synced_seq: next_seq.checked_sub(1),
                }),
            }),
        })
    }

    /// The log file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Appends one record.
    pub fn append(&self, event: Event) -> Result<Receipt, AuditError> {
        let mut r = self.append_many(vec![event])?;
        r.pop().ok_or(AuditError::Poisoned)
    }

    /// Appends records atomically with respect to other appenders (consecutive seqs).
    pub fn append_many(&self, events: Vec<Event>) -> Result<Vec<Receipt>, AuditError> {
        let io = |source| AuditError::Io {
            file: self.inner.path.display().to_string(),
            source,
        };
        let time = humantime::format_rfc3339_micros(SystemTime::now()).to_string();
        let (receipts, last, due) = {
            let mut w = self.inner.writer.lock().map_err(|_| AuditError::Poisoned)?;
            let w = &mut *w;
            // Other processes (another `spud call`) append to the same log: an exclusive file
            // lock orders the writers, and a log that grew since our last write means we must
            // continue the chain from its new last record.
            w.file.lock().map_err(io)?;
            let result = Self::write_batch(w, events, &time, &self.inner.path);
            let unlocked = w.file.unlock();
            let (receipts, last) = result?;
            unlocked.map_err(io)?;
            if receipts.is_empty() {
                return Ok(receipts);
            }
            let due = w.last_sync.elapsed() >= PERIODIC_SYNC;
            if due {
                w.last_sync = Instant::now();
            }
            (receipts, last, due)
        };
        if self.inner.durability == Durability::Fsync || due {
            self.sync_through(last)?;
        }
        Ok(receipts)
    }

    /// Writes a batch; called with the file lock held.
    fn write_batch(
        w: &mut Writer,
        events: Vec<Event>,
        time: &str,
        path: &Path,
    ) -> Result<(Vec<Receipt>, u64), AuditError> {
        let io = |source| AuditError::Io {
            file: path.display().to_string(),
            source,
        };
        let mut len = w.file.metadata().map_err(io)?.len();
        if len != w.end {
            let (next_seq, prev) = recover_tail(path, &mut w.file).map_err(io)?;
            w.next_seq = next_seq;
            w.prev = prev;
            len = w.file.metadata().map_err(io)?.len();
        }
        {
            w.line.clear();
            let mut receipts = Vec::with_capacity(events.len());
            let (mut seq, mut prev) = (w.next_seq, w.prev.clone());
            for event in events {
                let mut rec = Record {
                    seq,
                    time: time.to_string(),
                    prev,
                    event,
                    hash: String::new(),
                };
                rec.hash = rec.compute_hash()?;
                serde_json::to_writer(&mut w.line, &rec)?;
                w.line.push(b'\n');
                receipts.push(Receipt {
                    seq,
                    hash: rec.hash.clone(),
                });
                prev = rec.hash;
                seq += 1;
            }
            if receipts.is_empty() {
                return Ok((receipts, 0));
            }
            // One write for the whole batch: the records reach the OS together or not at all
            // (a torn tail is repaired on the next open).
            w.file.write_all(&w.line).map_err(io)?;
            w.end = len + w.line.len() as u64;
            w.next_seq = seq;
            w.prev = prev;
            w.written_seq = Some(seq - 1);
            Ok((receipts, seq - 1))
        }
    }

    /// Group commit: one fsync covers every record written before it.
    fn sync_through(&self, seq: u64) -> Result<(), AuditError> {
        let io = |source| AuditError::Io {
            file: self.inner.path.display().to_string(),
            source,
        };
        let mut s = self.inner.sync.lock().map_err(|_| AuditError::Poisoned)?;
        if s.synced_seq.is_some_and(|done| done >= seq) {
            return Ok(());
        }
        let (file, written, head) = {
            let w = self.inner.writer.lock().map_err(|_| AuditError::Poisoned)?;
            (
                w.file.try_clone().map_err(io)?,
                w.written_seq,
                (w.next_seq, w.prev.clone()),
            )
        };
        file.sync_data().map_err(io)?;
        s.synced_seq = written;
        if head.0 > 0 {
            write_anchor(&self.inner.path, head.0 - 1, &head.1).map_err(io)?;
        }
        Ok(())
    }

    /// fsyncs everything appended so far and updates the anchor.
    pub fn flush(&self) -> Result<(), AuditError> {
        let written = self
            .inner
            .writer
            .lock()
            .map_err(|_| AuditError::Poisoned)?
            .written_seq;
        match written {
            Some(seq) => self.sync_through(seq),
            None => Ok(()),
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Ok(w) = self.writer.lock() {
            let _ = w.file.sync_data();
            if w.next_seq > 0 {
                let _ = write_anchor(&self.path, w.next_seq - 1, &w.prev);
            }
        }
    }
}

/// Path of the anchor file of a log.
pub fn anchor_path(log: &Path) -> PathBuf {
    let mut name = log
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".head");
    log.with_file_name(name)
}

#[derive(Serialize, Deserialize)]
struct Anchor {
    seq: u64,
    hash: String,
}

fn write_anchor(log: &Path, seq: u64, hash: &str) -> std::io::Result<()> {
    let path = anchor_path(log);
    let tmp = path.with_extension("head.tmp");
    std::fs::write(
        &tmp,
        serde_json::to_vec(&Anchor {
            seq,
            hash: hash.to_string(),
        })?,
    )?;
    std::fs::rename(&tmp, &path)
}

fn read_anchor(log: &Path) -> Option<(u64, String)> {
    let text = std::fs::read_to_string(anchor_path(log)).ok()?;
    let a: Anchor = serde_json::from_str(&text).ok()?;
    Some((a.seq, a.hash))
}

/// Finds the last complete record; moves a torn or garbled tail aside.
fn recover_tail(path: &Path, file: &mut File) -> std::io::Result<(u64, String)> {
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok((0, GENESIS.to_string()));
    }
    let window = len.min(1 << 20);
    file.seek(SeekFrom::Start(len - window))?;
    let mut tail = Vec::with_capacity(window as usize);
    file.read_to_end(&mut tail)?;
    // Walk back over lines until one parses; whatever follows it is torn.
    let mut end = tail.len();
    loop {
        let body = &tail[..end];
        let trimmed = body.strip_suffix(b"\n").unwrap_or(body);
        let start = trimmed
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |p| p + 1);
        let line = &trimmed[start..];
        let complete = end < tail.len() || tail.ends_with(b"\n");
        if complete && !line.is_empty() {
            if let Ok(rec) = serde_json::from_slice::<Record>(line) {
                let good_len = len - window + end as u64;
                if good_len < len {
                    set_aside(path, file, good_len, &tail[end..])?;
                }
                return Ok((rec.seq + 1, rec.hash));
            }
        }
        if start == 0 {
            if window < len {
                return Err(std::io::Error::other(
                    "the last megabyte of the log holds no valid record",
                ));
            }
            set_aside(path, file, 0, &tail)?;
            return Ok((0, GENESIS.to_string()));
        }
        end = start;
    }
}

fn set_aside(path: &Path, file: &mut File, keep: u64, torn: &[u8]) -> std::io::Result<()> {
    let mut n = 0;
    let aside = loop {
        let mut name = path
            .file_name()
            .map(|s| s.to_os_string())
            .unwrap_or_default();
        name.push(format!(".torn-{n}"));
        let p = path.with_file_name(name);
        if !p.exists() {
            break p;
        }
        n += 1;
    };
    std::fs::write(&aside, torn)?;
    file.set_len(keep)?;
    file.sync_all()?;
    tracing::warn!(
        "audit log {} ended in an incomplete record ({} bytes, from a crash?); moved it to {}",
        path.display(),
        torn.len(),
        aside.display()
    );
    Ok(())
}

/// Every record of the log, in file order (lines that do not parse are skipped).
pub fn read_all(path: &Path) -> Result<Vec<Record>, AuditError> {
    let text = std::fs::read_to_string(path).map_err(|source| AuditError::Io {
        file: path.display().to_string(),
        source,
    })?;
    Ok(text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect())
}

/// The last `n` records.
pub fn tail(path: &Path, n: usize) -> Result<Vec<Record>, AuditError> {
    if !path.exists() {
        return Ok(vec![]);
    }
    let mut all = read_all(path)?;
    let skip = all.len().saturating_sub(n);
    Ok(all.split_off(skip))
}

#[cfg(test)]
mod tests;
