//! Approval of what runs: the lock file (`spud.lock`) says which digest of each plugin the
//! operator approved, the policy may pin one (`[tools.NAME] digest`); a plugin whose
//! registered digest is neither approved nor the pinned one is denied on every call path.

use super::caller::SpudError;
use super::lock::{load_lock, now_ms, prefixed, save_lock};
use super::spud::Spud;
use crate::runtime::Entry;
use spud_audit::{Event, RegistryEvent};
use spud_trust::{Approval, LockEntry, LockFile};
use std::sync::Arc;

impl Spud {
    /// The lock file in force.
    pub fn lock_file(&self) -> Arc<LockFile> {
        self.lock.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Replaces the lock file (on disk and in memory).
    pub(super) fn store_lock(&self, lock: LockFile) -> Result<(), SpudError> {
        save_lock(self.home(), &lock)?;
        if let Ok(mut l) = self.lock.lock() {
            *l = Arc::new(lock);
        }
        Ok(())
    }

    /// Whether calls to `entry` may run: the policy's digest pin, if any, must be its digest;
    /// else the lock's approval must be (a plugin the lock has no record of was registered
    /// before spud kept one, and stays callable).
    pub fn check_approved(&self, entry: &Entry) -> Result<(), SpudError> {
        let digest = prefixed(&entry.digest);
        let denied = |message: String| SpudError::NotApproved {
            plugin: entry.name.clone(),
            message,
        };
        if let Some(pin) = self
            .policy()
            .tools
            .get(&entry.name)
            .and_then(|t| t.digest.clone())
        {
            if pin != digest {
                return Err(denied(format!(
                    "`{}` is registered at {digest}, but [tools.{}] in {} pins digest = \"{pin}\"; register the pinned component, or change the pin to \"{digest}\"",
                    entry.name, entry.name, self.policy().source_name()
                )));
            }
            return Ok(());
        }
        if self.lock_file().approved(&entry.name, &digest) == Some(false) {
            return Err(denied(format!(
                "`{}` changed to {digest}, which is not approved; review it with `spud grants`, then approve it with `spud tools approve {} {digest}`",
                entry.name, entry.name
            )));
        }
        Ok(())
    }

    /// Records `entry` in the lock file as approved by this spud's principal.
    pub(super) fn record_approved(
        &self,
        entry: &Entry,
        manifest_digest: Option<String>,
        signer: Option<String>,
    ) -> Result<(), SpudError> {
        let mut lock = (*self.lock_file()).clone();
        let digest = prefixed(&entry.digest);
        lock.plugins.insert(
            entry.name.clone(),
            LockEntry {
                source: entry.source.clone(),
                approval: Some(self.approval_of(&digest)),
                digest,
                manifest_digest,
                signer,
            },
        );
        self.store_lock(lock)
    }

    pub(super) fn approval_of(&self, digest: &str) -> Approval {
        Approval {
            digest: digest.to_string(),
            by: self.principal.clone(),
            unix_ms: now_ms(),
        }
    }

    /// Drops `plugin`'s lock record.
    pub(super) fn forget_lock(&self, plugin: &str) -> Result<(), SpudError> {
        let mut lock = (*self.lock_file()).clone();
        if lock.plugins.remove(plugin).is_some() {
            self.store_lock(lock)?;
        }
        Ok(())
    }

    /// `spud tools approve NAME DIGEST`: accepts the registered digest of `plugin`, which must
    /// be `digest` (with or without `sha256:`), and records who approved it.
    pub fn approve(&self, plugin: &str, digest: &str) -> Result<LockEntry, SpudError> {
        let _lock = crate::runtime::Registry::lock(self.home())?;
        let entry = self.registry().get(plugin)?.clone();
        let registered = prefixed(&entry.digest);
        let asked = if digest.starts_with("sha256:") {
            digest.to_string()
        } else {
            prefixed(digest)
        };
        if asked != registered {
            return Err(anyhow::anyhow!(
                "`{plugin}` is registered at {registered}, not {asked}: nothing approved (approve what `spud grants` shows)"
            )
            .into());
        }
        let mut lock = load_lock(self.home())?;
        let rec = lock
            .plugins
            .entry(plugin.to_string())
            .or_insert_with(|| LockEntry {
                source: entry.source.clone(),
                digest: registered.clone(),
                manifest_digest: None,
                signer: None,
                approval: None,
            });
        rec.approval = Some(self.approval_of(&registered));
        let rec = rec.clone();
        self.store_lock(lock)?;
        self.audit.append(Event::registry_change(RegistryEvent {
            action: "approve".into(),
            plugin: plugin.into(),
            digest: entry.digest.clone(),
            by: Some(self.principal.clone()),
            source: Some(rec.source.clone()),
            signer: rec.signer.clone(),
            approved: Some(true),
        }))?;
        if let Ok(mut p) = self.plugins.lock() {
            p.remove(plugin);
        }
        Ok(rec)
    }
}
