//! spud's audit log: append-only JSON lines, each record chained to the previous one by
//! SHA-256, so that editing, deleting, inserting or reordering records is detectable.
//!
//! # Record format
//!
//! One JSON object per line:
//! `{"seq":N,"time":"2026-11-24T11:50:00.123456Z","prev":"<hex>","event":{…},"hash":"<hex>"}`.
//! The first record's `prev` is [`GENESIS`] (64 zeros); every other record's `prev` is the
//! previous record's `hash`.
//!
//! **Canonical body and hash.** The *body* of a record is the compact `serde_json` encoding of
//! `{seq, time, prev, event}` in that field order, the event encoded from the typed structs of
//! [`Event`] (fields in declaration order, optional fields omitted when absent). The line is the
//! body with `,"hash":"<hex>"` inserted before its closing brace, so the body can be recovered
//! from the line byte for byte. Then
//!
//! ```text
//! hash = sha256(prev as 32 raw bytes || body bytes)
//! ```
//!
//! [`verify`] checks the hash against the exact bytes of the line rather than re-encoding the
//! parsed record, so it does not depend on how a JSON parser rounds floats or orders object keys
//! inside raw payloads; any byte change to a record, even whitespace, is reported as an edit.
//!
//! # Durability
//!
//! [`Durability::Process`]: a batch of records reaches the operating system in one `write(2)`
//! before `append` returns, so a crash of the process loses no acknowledged record; a background
//! thread fsyncs at least every [`SYNC_INTERVAL`] when there is something to sync, and `flush`
//! and drop fsync too. [`Durability::Fsync`]: `append` returns after an fsync that covers its
//! records; appenders waiting at the same time share one fsync (group commit).
//!
//! Several processes may append to one file: an exclusive file lock orders their writes, and a
//! writer that finds the file grown since its own last write continues the chain from the file's
//! new last record.
//!
//! # Anchor
//!
//! `<log>.head` holds the seq and hash of the last fsynced record, replaced atomically (a temp
//! file renamed over it) after every fsync. Records cut from the end of a log leave no trace in the log
//! itself; the anchor shows them ([`Problem::Truncated`]), and a log rewritten from some record on
//! no longer matches it ([`Problem::AnchorMismatch`]). Someone who can rewrite the log can
//! rewrite the anchor too: for strong guarantees ship the anchor (or the whole log) off the
//! machine, e.g. to a log collector, and verify against that copy.
//!
//! # Checkpoints
//!
//! A log opened with [`AuditLog::open_keyed`] also signs checkpoints of its head with an
//! Ed25519 key kept outside the log ([`CheckpointKey`]) into `<log>.checkpoints`: when a writer
//! opens it, periodically, and when it closes. [`verify_keyed`] holds the log against them with
//! only the public key: a tail appended while no writer had the log open, a log cut back behind
//! a checkpoint, a rewritten chain, a deleted anchor or deleted checkpoints all show, and the
//! report says which records are covered and which are not yet. See the `checkpoint` module
//! docs for the format.
//!
//! # Crash recovery
//!
//! A crash can leave a torn last line (no trailing newline, or not a record). [`AuditLog::open`]
//! moves everything after the last complete record into `<log>.torn-<n>`, truncates the log
//! there and warns through `tracing`; it never chains onto garbage. Torn bytes were never
//! acknowledged, so no acknowledged record is lost.

#![warn(missing_docs)]

mod checkpoint;
mod coverage;
mod event;
pub mod export;
mod file;
mod key;
mod log;
mod record;
mod signer;
mod verify;

pub use checkpoint::{
    checkpoints_path, read_checkpoints, Checkpoint, CheckpointKind, CHECKPOINT_EVERY,
    CHECKPOINT_EVERY_RECORDS,
};
pub use coverage::{verify_keyed, CheckpointProblem, Coverage, KeyedReport, Note};
pub use event::{
    AccessEvent, CacheEvent, CallEvent, CapabilityEvent, Event, Payload, RegistryEvent,
};
pub use file::{anchor_path, read_all, tail};
pub use key::{CheckpointKey, KeyError, KeySource, PublicKey, KEY_ENV, KEY_FILE_ENV};
pub use log::{AuditLog, SYNC_INTERVAL};
pub use record::{Receipt, Record, GENESIS};
pub use verify::{verify, Problem, VerifyReport};

/// Audit log failures.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The log (or its anchor) could not be read or written.
    #[error("audit log {file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// An event could not be encoded as JSON.
    #[error("audit record cannot be serialized: {0}")]
    Encode(#[from] serde_json::Error),
    /// A `prev` or `hash` field is not 64 hex digits, so no hash can be computed from it.
    #[error("audit record field `{field}` is not a sha256 hex digest: {value:?}")]
    NotAHash {
        /// Which field.
        field: &'static str,
        /// What it held.
        value: String,
    },
    /// The checkpoint key cannot be used.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The log's last record claims the largest seq there is, so nothing can follow it: the
    /// log was tampered with (`spud audit verify` says how); start a new log.
    #[error(
        "audit log {file}: its last record claims the largest possible seq, so no record can \
         follow it; the log was tampered with: run `spud audit verify` and start a new log"
    )]
    SeqExhausted {
        /// The file.
        file: String,
    },
    /// A thread panicked while holding the writer, so the chain state is unknown.
    #[error("audit log writer is unusable after a panic in another thread")]
    Poisoned,
}

impl AuditError {
    pub(crate) fn io(path: &std::path::Path) -> impl Fn(std::io::Error) -> AuditError + '_ {
        move |source| AuditError::Io {
            file: path.display().to_string(),
            source,
        }
    }
}

/// When an appended record counts as written. The one definition: the policy file's
/// `[audit] durability = "process" | "fsync"` reads it too (`spud-policy` re-exports it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Durability {
    /// Acknowledged after `write(2)`: survives a crash of the process, the operating system may
    /// lose it on power loss. fsync happens on `flush`, on drop and in the background at least
    /// every [`SYNC_INTERVAL`].
    #[default]
    Process,
    /// Acknowledged after `fsync`: survives power loss. Concurrent appenders share one fsync
    /// (group commit).
    Fsync,
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_export;
#[cfg(test)]
mod tests_keyed;
#[cfg(test)]
mod tests_tamper;
