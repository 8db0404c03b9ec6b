//! The writer's side of checkpoints: when to write one, and the state between them.

use crate::checkpoint::{self, checkpoints_path, CheckpointKind, Request};
use crate::file::sibling;
use crate::key::CheckpointKey;
use crate::record::check_line;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::time::Instant;

/// One open log handle's checkpoint state.
pub(crate) struct Checkpointer {
    key: CheckpointKey,
    writer: String,
    /// No other writer had the log open when this one opened it.
    sole: bool,
    /// The checkpoints were missing at open although the key already existed.
    lost: bool,
    /// Whether this writer has written its `open` checkpoint.
    opened: bool,
    log_id: Option<[u8; 32]>,
    last_seq: Option<u64>,
    last_at: Instant,
    /// Held shared while the log is open; whoever gets it exclusively at open is the only
    /// writer. Never read: the lock lives as long as the file.
    _writers: File,
}

impl Checkpointer {
    /// Registers a writer of `log`. `log_has_records` and `fresh_key` decide whether a missing
    /// checkpoints file counts as lost.
    pub fn new(
        log: &Path,
        key: CheckpointKey,
        fresh_key: bool,
        log_has_records: bool,
    ) -> std::io::Result<Checkpointer> {
        let writers = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(sibling(log, ".writers"))?;
        let sole = writers.try_lock().is_ok();
        // flock converts an exclusive lock to a shared one in place.
        writers.lock_shared()?;
        let no_checkpoints = checkpoint::read_lines(&checkpoints_path(log))?.is_empty();
        let mut id = [0u8; 8];
        getrandom::getrandom(&mut id).map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(Checkpointer {
            key,
            writer: hex::encode(id),
            sole,
            lost: log_has_records && no_checkpoints && !fresh_key,
            opened: false,
            log_id: None,
            last_seq: None,
            last_at: Instant::now(),
            _writers: writers,
        })
    }

    /// Which checkpoint is due now that record `seq` is durable, if any.
    pub fn due(&self, seq: u64, closing: bool) -> Option<CheckpointKind> {
        if closing {
            // Nothing to close when nothing was opened (or it was closed already).
            return self.opened.then_some(CheckpointKind::Close);
        }
        if !self.opened {
            // The first record, or the first one after a close.
            return (self.last_seq != Some(seq)).then_some(CheckpointKind::Open);
        }
        let new = self.last_seq.is_none_or(|l| seq > l);
        let many = self
            .last_seq
            .is_none_or(|l| seq.saturating_sub(l) >= checkpoint::CHECKPOINT_EVERY_RECORDS);
        let old = self.last_at.elapsed() >= checkpoint::CHECKPOINT_EVERY;
        (new && (many || old)).then_some(CheckpointKind::Periodic)
    }

    /// Writes a checkpoint of kind `kind` over record `seq` with hash `head`.
    pub fn write(
        &mut self,
        log: &Path,
        kind: CheckpointKind,
        seq: u64,
        head: [u8; 32],
    ) -> std::io::Result<()> {
        let log_id = match self.log_id {
            Some(id) => id,
            None => {
                let id = first_hash(log)?;
                self.log_id = Some(id);
                id
            }
        };
        let cp = checkpoint::append(
            log,
            &Request {
                key: &self.key,
                writer: &self.writer,
                kind,
                sole: self.sole && kind == CheckpointKind::Open,
                lost: self.lost && kind == CheckpointKind::Open,
                log_id,
                seq,
                head,
            },
        )?;
        // `sole` and `lost` describe the first open only; after a close, the next record
        // opens again.
        if kind == CheckpointKind::Open {
            (self.sole, self.lost) = (false, false);
        }
        self.opened = kind != CheckpointKind::Close;
        self.last_seq = Some(cp.seq);
        self.last_at = Instant::now();
        Ok(())
    }
}

/// The hash of record 0: the log's identity.
fn first_hash(log: &Path) -> std::io::Result<[u8; 32]> {
    let mut line = Vec::new();
    BufReader::new(File::open(log)?).read_until(b'\n', &mut line)?;
    let line = line.strip_suffix(b"\n").unwrap_or(&line);
    check_line(line)
        .ok()
        .filter(|c| c.seq == 0)
        .and_then(|c| c.hash)
        .ok_or_else(|| std::io::Error::other("the log's first line is not record 0"))
}
