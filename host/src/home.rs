//! spud's home directory: everything spud keeps between runs lives under one folder
//! (`--home DIR`, `SPUD_HOME`, or `~/.spud`).

use std::path::{Path, PathBuf};

/// Paths inside spud's home.
#[derive(Debug, Clone)]
pub struct Home {
    root: PathBuf,
}

impl Home {
    /// The home at `root` (created on first use).
    pub fn new(root: impl Into<PathBuf>) -> Home {
        Home { root: root.into() }
    }

    /// `--home`, else `SPUD_HOME`, else `$HOME/.spud`, else `./.spud`.
    pub fn resolve(explicit: Option<&Path>) -> Home {
        if let Some(p) = explicit {
            return Home::new(p);
        }
        if let Some(p) = std::env::var_os("SPUD_HOME") {
            return Home::new(PathBuf::from(p));
        }
        match std::env::var_os("HOME") {
            Some(h) => Home::new(PathBuf::from(h).join(".spud")),
            None => Home::new(".spud"),
        }
    }

    /// The home folder itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The plugin registry (JSON).
    pub fn registry_file(&self) -> PathBuf {
        self.root.join("registry.json")
    }

    /// The lock file: per plugin, its source, resolved digest, signer and approval.
    pub fn lock_file(&self) -> PathBuf {
        self.root.join("spud.lock")
    }

    /// Downloads in progress (removed when registered or refused).
    pub fn downloads_dir(&self) -> PathBuf {
        self.root.join("downloads")
    }

    /// Copies of registered components, by digest.
    pub fn components_dir(&self) -> PathBuf {
        self.root.join("components")
    }

    /// Precompiled artifacts, keyed by component digest and engine compatibility.
    pub fn cache_dir(&self) -> PathBuf {
        self.root.join("cache")
    }

    /// The key that authenticates precompiled cache entries (32 bytes, mode 0600).
    pub fn cache_key_file(&self) -> PathBuf {
        self.root.join("keys").join("cache.key")
    }

    /// The audit log.
    pub fn audit_file(&self) -> PathBuf {
        self.root.join("audit").join("audit.jsonl")
    }

    /// The key that signs the audit log's checkpoints (mode 0600), kept outside `audit/` so
    /// that the log can be shipped without it. `SPUD_AUDIT_KEY_FILE` or `SPUD_AUDIT_KEY` replace
    /// it.
    pub fn audit_key_file(&self) -> PathBuf {
        self.root.join("keys").join("audit-checkpoint.key")
    }

    /// The memory of past runs (SQLite).
    pub fn memory_file(&self) -> PathBuf {
        self.root.join("memory.db")
    }

    /// Creates the folders spud writes to.
    pub fn ensure(&self) -> std::io::Result<()> {
        std::fs::create_dir_all(self.components_dir())?;
        std::fs::create_dir_all(self.cache_dir())?;
        std::fs::create_dir_all(self.root.join("audit"))?;
        Ok(())
    }
}
