//! Per-call temporary directories (a requested `/scratch` the policy does not map) and call ids.

use super::caller::SpudError;
use crate::sandbox::{Capability, Decision};
use std::path::PathBuf;

/// A directory created for one call and removed (with everything in it) when dropped.
pub(super) struct TempDir(pub(super) PathBuf);

impl TempDir {
    /// A new, empty directory `spud-scratch-*` under the system's temporary directory
    /// (`$TMPDIR`), readable only by this user.
    fn new() -> std::io::Result<TempDir> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let base = std::env::temp_dir();
        loop {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let name = format!(
                "spud-scratch-{}-{}-{nanos:x}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed)
            );
            let path = base.join(name);
            let mut builder = std::fs::DirBuilder::new();
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            match builder.create(&path) {
                Ok(()) => return Ok(TempDir(path)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.0) {
            tracing::warn!(
                "cannot remove the temporary scratch directory {}: {e}",
                self.0.display()
            );
        }
    }
}

/// A fresh temporary directory to mount at `guest` for one call, and the decision that says so
/// (recorded in the call report and the audit log).
pub(super) fn temp_scratch_dir(guest: &str) -> Result<(TempDir, Decision), SpudError> {
    let dir = TempDir::new().map_err(SpudError::Scratch)?;
    let decision = Decision {
        capability: Capability::File,
        target: format!("{guest} (read-write)"),
        allowed: true,
        reason: format!(
            "no host directory is mapped at {guest} in the policy: a fresh temporary directory was mounted for this call and removed after it"
        ),
    };
    Ok((dir, decision))
}

pub(super) fn new_call_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{:x}-{:x}-{}",
        now,
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}
