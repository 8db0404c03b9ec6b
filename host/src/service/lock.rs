//! The lock file `spud.lock` on disk: read it, write it atomically, and the small helpers the
//! approval and install paths share.

use super::caller::SpudError;
use crate::home::Home;
use spud_trust::{LockError, LockFile};

/// Reads `spud.lock` (empty when there is none).
pub(super) fn load_lock(home: &Home) -> Result<LockFile, LockError> {
    let file = home.lock_file();
    match std::fs::read_to_string(&file) {
        Ok(s) => LockFile::parse(&s, &file.display().to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(LockFile::default()),
        Err(e) => Err(LockError::Malformed {
            file: file.display().to_string(),
            reason: e.to_string(),
        }),
    }
}

/// Writes `spud.lock` atomically.
pub(super) fn save_lock(home: &Home, lock: &LockFile) -> Result<(), SpudError> {
    let file = home.lock_file();
    let tmp = file.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, lock.to_toml()).map_err(anyhow::Error::from)?;
    std::fs::rename(&tmp, &file).map_err(anyhow::Error::from)?;
    Ok(())
}

/// `sha256:` + a registry entry's hex digest.
pub(super) fn prefixed(hex: &str) -> String {
    format!("sha256:{hex}")
}

pub(super) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
