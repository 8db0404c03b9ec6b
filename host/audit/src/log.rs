//! The writer: appends, group commit, background fsync.

use crate::file::{anchor_path, recover_tail, write_anchor, Head};
use crate::key::CheckpointKey;
use crate::record::encode_line;
use crate::signer::Checkpointer;
use crate::{AuditError, Durability, Event, Receipt};
use std::fmt::Write as _;
use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::{Duration, SystemTime};

/// In [`Durability::Process`] mode, the longest an acknowledged record waits for its fsync.
pub const SYNC_INTERVAL: Duration = Duration::from_millis(100);

/// Chain state, guarded by one mutex so that seqs and links are assigned in write order.
struct Writer {
    /// File length after our last write; a different length means another process appended.
    end: u64,
    next_seq: u64,
    prev: [u8; 32],
    /// Reused buffers: the batch's lines and the timestamp.
    line: Vec<u8>,
    time: String,
}

/// What has been fsynced, guarded by the group-commit mutex.
struct SyncState {
    /// Seq and hash of the last fsynced record.
    synced: Option<(u64, [u8; 32])>,
}

struct Inner {
    path: PathBuf,
    durability: Durability,
    /// Opened for append: every write lands at the end, whoever else appends.
    file: File,
    writer: Mutex<Writer>,
    sync: Mutex<SyncState>,
    /// The background fsync thread (Process mode, or with checkpoints), woken on drop so
    /// that it exits.
    syncer: OnceLock<std::thread::Thread>,
    /// Signs checkpoints, when the log was opened with a key.
    checkpointer: Option<Mutex<Checkpointer>>,
}

/// An open audit log. Cheap to clone (an `Arc` inside); safe to share between threads.
#[derive(Clone)]
pub struct AuditLog {
    inner: Arc<Inner>,
}

impl AuditLog {
    /// Opens (or creates, with its parent directories) the log at `path`. Reads the end of the
    /// file to continue the chain; a torn final line left by a crash is moved aside to
    /// `<log>.torn-<n>` with a warning (see the crate docs).
    pub fn open(path: &Path, durability: Durability) -> Result<AuditLog, AuditError> {
        AuditLog::open_with(path, durability, None)
    }

    /// [`AuditLog::open`], and signs checkpoints of the chain head with `key` into
    /// `<log>.checkpoints`: on open (or the first record), every
    /// [`crate::CHECKPOINT_EVERY_RECORDS`] records or [`crate::CHECKPOINT_EVERY`], and on
    /// close. `fresh_key`: the key was created just now, so a log without checkpoints is not
    /// reported as having lost them.
    pub fn open_keyed(
        path: &Path,
        durability: Durability,
        key: CheckpointKey,
        fresh_key: bool,
    ) -> Result<AuditLog, AuditError> {
        AuditLog::open_with(path, durability, Some((key, fresh_key)))
    }

    fn open_with(
        path: &Path,
        durability: Durability,
        key: Option<(CheckpointKey, bool)>,
    ) -> Result<AuditLog, AuditError> {
        let io = AuditError::io(path);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(&io)?;
        }
        let file = File::options()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(&io)?;
        // Another process may be appending: recover under its lock.
        file.lock().map_err(&io)?;
        let recovered = recover_tail(path, &file).and_then(|head| Ok((head, file_len(&file)?)));
        let unlocked = file.unlock();
        let (head, end) = recovered.map_err(&io)?;
        unlocked.map_err(&io)?;
        let last = head.next_seq.checked_sub(1).map(|seq| (seq, head.prev));
        let checkpointer = key
            .map(|(key, fresh)| Checkpointer::new(path, key, fresh, last.is_some()))
            .transpose()
            .map_err(&io)?;
        let keyed = checkpointer.is_some();
        let inner = Arc::new(Inner {
            path: path.to_path_buf(),
            durability,
            file,
            writer: Mutex::new(Writer {
                end,
                next_seq: head.next_seq,
                prev: head.prev,
                line: Vec::with_capacity(4096),
                time: String::with_capacity(32),
            }),
            // What was in the file before we opened it counts as synced: recovery synced it
            // if it changed anything, and an earlier writer synced it at exit.
            sync: Mutex::new(SyncState { synced: last }),
            syncer: OnceLock::new(),
            checkpointer: checkpointer.map(Mutex::new),
        });
        if let (Some((seq, hash)), true) = (last, keyed) {
            // What a crashed writer left may not be on disk yet: sync before signing it.
            inner.file.sync_data().map_err(&io)?;
            inner.checkpoint(seq, hash, false);
        }
        if durability == Durability::Process || keyed {
            spawn_syncer(&inner).map_err(&io)?;
        }
        Ok(AuditLog { inner })
    }

    /// The log file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Appends one record; returns once it is durable as [`Durability`] says.
    pub fn append(&self, event: Event) -> Result<Receipt, AuditError> {
        let (_, last) = self.write(&event, &[])?;
        self.commit(last.seq)?;
        Ok(last)
    }

    /// Appends records with consecutive seqs (no other appender's record lands between them),
    /// in one write; returns once they are durable as [`Durability`] says.
    pub fn append_many(&self, events: Vec<Event>) -> Result<Vec<Receipt>, AuditError> {
        let Some((first, rest)) = events.split_first() else {
            return Ok(vec![]);
        };
        let (mut receipts, last) = self.write(first, rest)?;
        self.commit(last.seq)?;
        receipts.push(last);
        Ok(receipts)
    }

    /// fsyncs everything appended so far (by this handle) and updates the anchor.
    pub fn flush(&self) -> Result<(), AuditError> {
        let last = lock(&self.inner.writer)?.next_seq.checked_sub(1);
        match last {
            Some(seq) => self.inner.sync_through(seq),
            None => Ok(()),
        }
    }

    /// fsyncs, updates the anchor and, with a key, writes the `close` checkpoint. Dropping the
    /// last handle does the same; this makes it happen now, and reports a failed fsync.
    /// Records appended afterwards open the log again.
    pub fn close(&self) -> Result<(), AuditError> {
        let inner = &*self.inner;
        let mut s = lock(&inner.sync)?;
        inner.sync_locked(&mut s)?;
        if let Some((seq, hash)) = s.synced {
            inner.checkpoint(seq, hash, true);
        }
        Ok(())
    }

    fn commit(&self, last: u64) -> Result<(), AuditError> {
        match self.inner.durability {
            Durability::Fsync => self.inner.sync_through(last),
            Durability::Process => Ok(()),
        }
    }

    /// Encodes and writes a batch (`first`, then `rest`) under the writer mutex and the file
    /// lock; returns the receipts of all but the last record, and the last one's.
    fn write(&self, first: &Event, rest: &[Event]) -> Result<(Vec<Receipt>, Receipt), AuditError> {
        let inner = &*self.inner;
        let io = AuditError::io(&inner.path);
        let mut guard = lock(&inner.writer)?;
        let w = &mut *guard;
        inner.file.lock().map_err(&io)?;
        let result = inner.write_locked(w, first, rest);
        let unlocked = inner.file.unlock();
        let written = result?;
        unlocked.map_err(&io)?;
        Ok(written)
    }
}

impl Inner {
    /// The part of `write` that runs with the file lock held.
    fn write_locked(
        &self,
        w: &mut Writer,
        first: &Event,
        rest: &[Event],
    ) -> Result<(Vec<Receipt>, Receipt), AuditError> {
        let io = AuditError::io(&self.path);
        let mut len = file_len(&self.file).map_err(&io)?;
        if len != w.end {
            // Another process appended (or crashed mid-write): continue from the file's end.
            let Head { next_seq, prev } = recover_tail(&self.path, &self.file).map_err(&io)?;
            w.next_seq = next_seq;
            w.prev = prev;
            len = file_len(&self.file).map_err(&io)?;
        }
        // Taken under the lock so that times follow the chain's order (unless the clock jumps).
        w.time.clear();
        let now = humantime::format_rfc3339_micros(SystemTime::now());
        write!(w.time, "{now}").map_err(|e| io(std::io::Error::other(e)))?;
        w.line.clear();
        let mut receipts = Vec::with_capacity(rest.len());
        let mut encode = |seq: u64, prev: &[u8; 32], event: &Event| {
            encode_line(&mut w.line, seq, &w.time, prev, event).map(|hash| (seq, hash))
        };
        // A log whose last record claims a seq near u64::MAX (only a forged one can) cannot be
        // continued: refused before anything is written.
        let exhausted = || AuditError::SeqExhausted {
            file: self.path.display().to_string(),
        };
        let mut last = encode(w.next_seq, &w.prev, first)?;
        for event in rest {
            let next = encode(last.0.checked_add(1).ok_or_else(exhausted)?, &last.1, event)?;
            receipts.push(receipt(last));
            last = next;
        }
        let next_seq = last.0.checked_add(1).ok_or_else(exhausted)?;
        // One write for the batch: its records reach the OS together; a crash part-way leaves
        // a torn tail that the next open sets aside.
        (&self.file).write_all(&w.line).map_err(&io)?;
        w.end = len + w.line.len() as u64;
        (w.next_seq, w.prev) = (next_seq, last.1);
        Ok((receipts, receipt(last)))
    }

    /// Group commit: returns once record `seq` is fsynced. Waiters queue on the sync mutex; the
    /// first one fsyncs everything written so far, and those behind it find their record
    /// already covered.
    fn sync_through(&self, seq: u64) -> Result<(), AuditError> {
        let mut s = lock(&self.sync)?;
        if s.synced.is_some_and(|(done, _)| done >= seq) {
            return Ok(());
        }
        self.sync_locked(&mut s)
    }

    /// fsyncs whatever is written and anchors it; called with the sync mutex held.
    fn sync_locked(&self, s: &mut SyncState) -> Result<(), AuditError> {
        let io = AuditError::io(&self.path);
        // Records written after this snapshot may or may not be covered; only claim these.
        let head = {
            let w = lock(&self.writer)?;
            w.next_seq.checked_sub(1).map(|seq| (seq, w.prev))
        };
        let Some((seq, hash)) = head else {
            return Ok(());
        };
        if s.synced != Some((seq, hash)) {
            self.file.sync_data().map_err(&io)?;
            s.synced = Some((seq, hash));
            // The records are durable whatever happens to the anchor: a failed anchor update
            // only weakens truncation detection, so it is reported, not returned.
            if let Err(e) = write_anchor(&self.path, seq, &hash) {
                tracing::warn!(
                    "audit log: cannot update the anchor {}: {e}",
                    anchor_path(&self.path).display()
                );
            }
        }
        self.checkpoint(seq, hash, false);
        Ok(())
    }

    /// Writes the checkpoint that is due for durable record `seq`, if any (`closing`: the
    /// log is being closed). Like the anchor, a failure is reported, not returned.
    fn checkpoint(&self, seq: u64, hash: [u8; 32], closing: bool) {
        let Some(c) = &self.checkpointer else {
            return;
        };
        let Ok(mut c) = c.lock() else {
            return;
        };
        if let Some(kind) = c.due(seq, closing) {
            if let Err(e) = c.write(&self.path, kind, seq, hash) {
                tracing::warn!(
                    "audit log: cannot write a checkpoint to {}: {e}",
                    crate::checkpoints_path(&self.path).display()
                );
            }
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(t) = self.syncer.get() {
            t.unpark();
        }
        if let Ok(mut s) = self.sync.lock() {
            if let Err(e) = self.sync_locked(&mut s) {
                tracing::warn!("audit log: final fsync failed: {e}");
            } else if let Some((seq, hash)) = s.synced {
                self.checkpoint(seq, hash, true);
            }
        }
    }
}

/// Starts the thread that fsyncs a Process-mode log every [`SYNC_INTERVAL`]. It holds only a
/// weak reference, so it never keeps the log open, and exits once the log is dropped.
fn spawn_syncer(inner: &Arc<Inner>) -> std::io::Result<()> {
    let weak: Weak<Inner> = Arc::downgrade(inner);
    let handle = std::thread::Builder::new()
        .name("spud-audit-sync".into())
        .spawn(move || loop {
            std::thread::park_timeout(SYNC_INTERVAL);
            let Some(inner) = weak.upgrade() else {
                return;
            };
            let result = lock(&inner.sync).and_then(|mut s| inner.sync_locked(&mut s));
            if let Err(e) = result {
                tracing::warn!("audit log: background fsync failed: {e}");
            }
        })?;
    // Set once, right after creation: cannot already be set.
    let _ = inner.syncer.set(handle.thread().clone());
    Ok(())
}

fn receipt((seq, hash): (u64, [u8; 32])) -> Receipt {
    Receipt {
        seq,
        hash: hex::encode(hash),
    }
}

fn lock<T>(m: &Mutex<T>) -> Result<MutexGuard<'_, T>, AuditError> {
    m.lock().map_err(|_| AuditError::Poisoned)
}

fn file_len(file: &File) -> std::io::Result<u64> {
    Ok(file.metadata()?.len())
}
