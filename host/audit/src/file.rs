//! Reading the log file: its last lines, crash recovery, the anchor file.

use crate::record::{check_line, decode_hash};
use crate::{AuditError, Record};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// How much is read at a time when walking a file backwards.
const CHUNK: u64 = 16 * 1024;

/// Reads `[start, end)` of `file`.
fn read_range(mut file: &File, start: u64, end: u64) -> std::io::Result<Vec<u8>> {
    let len = usize::try_from(end - start).map_err(std::io::Error::other)?;
    let mut buf = vec![0; len];
    file.seek(SeekFrom::Start(start))?;
    file.read_exact(&mut buf)?;
    Ok(buf)
}

/// Offset just after the last `\n` before `end` (0 when there is none): where the line that
/// ends at `end` starts. Reads backwards, so a long log costs only its tail.
fn line_start(mut file: &File, end: u64) -> std::io::Result<u64> {
    let mut buf = [0u8; CHUNK as usize];
    let mut pos = end;
    while pos > 0 {
        let n = pos.min(CHUNK);
        pos -= n;
        let chunk = &mut buf[..n as usize];
        file.seek(SeekFrom::Start(pos))?;
        file.read_exact(chunk)?;
        if let Some(i) = chunk.iter().rposition(|b| *b == b'\n') {
            return Ok(pos + i as u64 + 1);
        }
    }
    Ok(0)
}

/// Complete lines of `file` (those ending in `\n`), newest first, newline stripped.
pub(crate) struct Backwards<'a> {
    file: &'a File,
    /// End of the next line to return, just past its newline.
    end: u64,
}

impl<'a> Backwards<'a> {
    /// Starts at the end of the file, skipping a final line that lacks its newline.
    pub(crate) fn new(file: &'a File) -> std::io::Result<Self> {
        let len = file.metadata()?.len();
        let end = if len == 0 || read_range(file, len - 1, len)? == b"\n" {
            len
        } else {
            line_start(file, len)?
        };
        Ok(Backwards { file, end })
    }

    /// The next older complete line and where it starts.
    pub(crate) fn next_line(&mut self) -> std::io::Result<Option<(u64, Vec<u8>)>> {
        if self.end == 0 {
            return Ok(None);
        }
        let start = line_start(self.file, self.end - 1)?;
        let mut line = read_range(self.file, start, self.end)?;
        line.pop();
        self.end = start;
        Ok(Some((start, line)))
    }
}

/// Where the chain continues: the next seq and the last record's hash.
pub(crate) struct Head {
    pub next_seq: u64,
    pub prev: [u8; 32],
}

/// Finds the last complete record of the log; moves anything after it (a torn line from a
/// crash, or lines that are not records) into `<log>.torn-<n>` and truncates the log there.
pub(crate) fn recover_tail(path: &Path, file: &File) -> std::io::Result<Head> {
    let len = file.metadata()?.len();
    let mut lines = Backwards::new(file)?;
    let mut good_end = 0;
    let mut head = Head {
        next_seq: 0,
        prev: [0; 32],
    };
    while let Some((start, line)) = lines.next_line()? {
        if let Ok(c) = check_line(&line) {
            if let (Some(hash), Some(next_seq)) = (c.hash, c.seq.checked_add(1)) {
                good_end = start + line.len() as u64 + 1;
                head = Head {
                    next_seq,
                    prev: hash,
                };
                break;
            }
        }
    }
    if good_end < len {
        set_aside(path, file, good_end, len)?;
    }
    Ok(head)
}

/// Copies `[keep, len)` of the log into a fresh `<log>.torn-<n>`, then truncates the log.
fn set_aside(path: &Path, file: &File, keep: u64, len: u64) -> std::io::Result<()> {
    let torn = read_range(file, keep, len)?;
    let mut n = 0u32;
    let (aside, mut out) = loop {
        let p = sibling(path, &format!(".torn-{n}"));
        match File::options().write(true).create_new(true).open(&p) {
            Ok(f) => break (p, f),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => n += 1,
            Err(e) => return Err(e),
        }
    };
    out.write_all(&torn)?;
    // The copy must be on disk before the bytes leave the log.
    out.sync_all()?;
    file.set_len(keep)?;
    file.sync_all()?;
    tracing::warn!(
        "audit log {} ended in {} bytes that are not a complete record (a crash during a write?); \
         moved them to {} and continued the chain from the last complete record",
        path.display(),
        torn.len(),
        aside.display()
    );
    Ok(())
}

/// `<log><suffix>` next to the log.
pub(crate) fn sibling(log: &Path, suffix: &str) -> PathBuf {
    let mut name = log
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(suffix);
    log.with_file_name(name)
}

/// Path of the anchor file of a log: `<log>.head`.
pub fn anchor_path(log: &Path) -> PathBuf {
    sibling(log, ".head")
}

#[derive(Serialize, Deserialize)]
struct Anchor {
    seq: u64,
    hash: String,
}

/// Replaces the anchor with `(seq, hash)` unless it already names a later record (another
/// process appending to the same log may have anchored further).
pub(crate) fn write_anchor(log: &Path, seq: u64, hash: &[u8; 32]) -> std::io::Result<()> {
    if read_anchor(log).is_some_and(|(s, _)| s > seq) {
        return Ok(());
    }
    let path = anchor_path(log);
    // A temp name of its own: two writers (processes, or handles in one process) anchoring at
    // once must not rename each other's file away.
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let tmp = sibling(log, &format!(".head.{}-{n}.tmp", std::process::id()));
    let text = serde_json::to_vec(&Anchor {
        seq,
        hash: hex::encode(hash),
    })?;
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, &path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// The anchor's seq and hash, when there is a readable anchor.
pub(crate) fn read_anchor(log: &Path) -> Option<(u64, [u8; 32])> {
    let text = std::fs::read(anchor_path(log)).ok()?;
    let a: Anchor = serde_json::from_slice(&text).ok()?;
    Some((a.seq, decode_hash("hash", &a.hash).ok()?))
}

/// Every record of the log, in file order. Lines that are not records (see [`crate::verify`])
/// are skipped.
pub fn read_all(path: &Path) -> Result<Vec<Record>, AuditError> {
    let io = AuditError::io(path);
    let mut reader = BufReader::new(File::open(path).map_err(&io)?);
    let mut records = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).map_err(&io)? == 0 {
            return Ok(records);
        }
        if let Ok(r) = serde_json::from_slice(&line) {
            records.push(r);
        }
    }
}

/// The last `n` records of the log, oldest first; reads only the end of the file. A missing log
/// has none. Lines that are not records, and a torn final line, are skipped.
pub fn tail(path: &Path, n: usize) -> Result<Vec<Record>, AuditError> {
    let io = AuditError::io(path);
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(io(e)),
    };
    let mut lines = Backwards::new(&file).map_err(&io)?;
    let mut records = Vec::with_capacity(n.min(1024));
    while records.len() < n {
        let Some((_, line)) = lines.next_line().map_err(&io)? else {
            break;
        };
        if let Ok(r) = serde_json::from_slice(&line) {
            records.push(r);
        }
    }
    records.reverse();
    Ok(records)
}
