//! Why the memory store cannot be used ([`MemoryError`]); never a reason to fail a run.

use std::path::PathBuf;

/// Why the memory could not be used.
#[derive(Debug, thiserror::Error)]
pub enum MemoryError {
    /// The file is not a SQLite database (or is damaged).
    #[error("memory database {path} is corrupt; move it away or delete it (spud starts a new one), or run with --no-memory")]
    Corrupt {
        /// The file.
        path: PathBuf,
    },
    /// Another process holds the database longer than the busy timeout.
    #[error("memory database {path} is locked by another process; retry when it is done, or run with --no-memory")]
    Locked {
        /// The file.
        path: PathBuf,
    },
    /// The file or its folder cannot be used.
    #[error("cannot use memory database {path}: {reason}; check the folder's permissions")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Any other SQLite failure.
    #[error("memory database {path}: {reason}; run `spud memory forget --all` or delete the file if this persists")]
    Sqlite {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The run's trace could not be read for the reflection.
    #[error("cannot read the run's trace {path}: {reason}")]
    Trace {
        /// The trace.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}
