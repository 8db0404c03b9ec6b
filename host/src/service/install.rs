//! `spud tools add SOURCE` and `spud tools update NAME`: fetch a component from a file, an OCI
//! registry or an HTTPS URL; verify its signature when the policy asks for one; check it
//! against the lock file; register it — approved when it is new (or `--yes`), pending when an
//! existing plugin's digest changes — and record who did what, from where, in the audit log.

use super::caller::SpudError;
use super::lock::{prefixed, save_lock};
use super::spud::Spud;
use crate::distribution::{self, DistError, Oci};
use crate::runtime::{Entry, Registry, RegistryError};
use spud_audit::{Event, RegistryEvent};
use spud_trust::{LockEntry, LockError, Moved, OciRef, RefError, SignatureError, Source};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Exit code: a signature the policy requires is missing.
pub const EXIT_UNSIGNED: i32 = 5;
/// Exit code: a signature does not verify with the expected key(s) or signs another artifact.
pub const EXIT_BAD_SIGNATURE: i32 = 6;
/// Exit code: the digest differs from the lock file under `--locked`.
pub const EXIT_LOCKED: i32 = 7;

/// Why a component was not registered. The installed-tools registry is untouched.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// The source is not a usable reference.
    #[error(transparent)]
    Source(#[from] RefError),
    /// Pulling or downloading failed.
    #[error(transparent)]
    Distribution(#[from] DistError),
    /// The signature is missing or does not verify.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// `--locked` and the digest is not the locked one.
    #[error(transparent)]
    Locked(#[from] LockError),
    /// The component itself, the registry or the audit log.
    #[error(transparent)]
    Spud(#[from] SpudError),
}

impl From<RegistryError> for InstallError {
    fn from(e: RegistryError) -> InstallError {
        InstallError::Spud(e.into())
    }
}

impl InstallError {
    /// The exit code: 5 unsigned, 6 bad signature, 7 refused under `--locked`, else 2.
    pub fn exit_code(&self) -> i32 {
        match self {
            InstallError::Signature(SignatureError::Missing { .. }) => EXIT_UNSIGNED,
            InstallError::Signature(_) => EXIT_BAD_SIGNATURE,
            InstallError::Locked(LockError::Differs { .. } | LockError::NotLocked { .. }) => {
                EXIT_LOCKED
            }
            _ => 2,
        }
    }
}

/// What to install.
#[derive(Debug, Clone, Default)]
pub struct Install {
    /// A file, `oci://…` or `https://…`.
    pub source: String,
    /// For `https://`: the hex sha256 the download must have.
    pub sha256: Option<String>,
    /// Plugin name (default: the manifest's, else the file or repository name).
    pub name: Option<String>,
    /// A sidecar manifest file.
    pub manifest: Option<PathBuf>,
    /// Refuse a digest other than the lock file's.
    pub locked: bool,
    /// Approve a changed digest at once.
    pub yes: bool,
    /// Registry credentials file.
    pub auth_file: Option<PathBuf>,
}

/// What was registered.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Installed {
    /// `add` (a new name), `update` (a changed digest) or `unchanged`.
    pub action: String,
    /// The registry entry.
    pub entry: Entry,
    /// The OCI manifest digest, for OCI sources.
    pub manifest_digest: Option<String>,
    /// The key whose signature verified.
    pub signer: Option<String>,
    /// Whether calls may run (else pending `spud tools approve`).
    pub approved: bool,
    /// The digest registered before, for an update.
    pub previous: Option<String>,
    /// What the new version requests beyond the old one.
    pub grant_diff: Vec<String>,
    /// A tag that resolves to another artifact than the lock recorded.
    pub moved: Option<String>,
}

/// A component fetched into a folder of the home, removed when dropped.
struct Fetched {
    dir: PathBuf,
    file: PathBuf,
    manifest_digest: Option<String>,
    oci: Option<(Oci, OciRef)>,
}

impl Drop for Fetched {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Spud {
    /// Fetches, verifies, checks and registers a component (see the module docs).
    pub async fn install(&self, req: &Install) -> Result<Installed, InstallError> {
        let source = Source::parse(&req.source, req.sha256.as_deref())?;
        let _lock = Registry::lock(self.home())?;
        let fetched = self.fetch(&source, req).await?;
        // A pulled sidecar lies beside the pulled file, where `describe` looks by default.
        let (mut entry, bytes) = Registry::describe(
            &self.runtime,
            &fetched.file,
            req.name.as_deref(),
            req.manifest.as_deref(),
        )
        .await?;
        if !matches!(source, Source::File(_)) {
            entry.source = req.source.clone();
        }
        let signer = self.verify_signer(&source, &fetched, &entry.name).await?;
        self.commit(req, entry, &bytes, fetched.manifest_digest.clone(), signer)
    }

    /// Pulls or downloads into the home's downloads folder; a file is used where it is.
    async fn fetch(&self, source: &Source, req: &Install) -> Result<Fetched, InstallError> {
        let dir = self.home().downloads_dir().join(format!(
            "{}-{}",
            std::process::id(),
            super::lock::now_ms()
        ));
        let mut fetched = Fetched {
            dir: dir.clone(),
            file: PathBuf::new(),
            manifest_digest: None,
            oci: None,
        };
        let write = |name: &str, bytes: &[u8]| -> Result<PathBuf, InstallError> {
            std::fs::create_dir_all(&dir).map_err(|e| SpudError::Other(e.into()))?;
            let p = dir.join(name);
            std::fs::write(&p, bytes).map_err(|e| SpudError::Other(e.into()))?;
            Ok(p)
        };
        match source {
            Source::File(p) => fetched.file = PathBuf::from(p),
            Source::Https { url, digest } => {
                let bytes = distribution::download(url, digest).await?;
                let stem = url.rsplit('/').next().and_then(|f| f.strip_suffix(".wasm"));
                fetched.file = write(&format!("{}.wasm", stem.unwrap_or("component")), &bytes)?;
            }
            Source::Oci(r) => {
                let creds = distribution::credentials(&r.registry, req.auth_file.as_deref())?;
                let oci = Oci::new(r, creds);
                let pulled = oci.pull(r).await?;
                let stem = r
                    .repository
                    .rsplit('/')
                    .next()
                    .unwrap_or("component")
                    .replace('.', "-");
                fetched.file = write(&format!("{stem}.wasm"), &pulled.component)?;
                if let Some(s) = &pulled.sidecar {
                    write(&format!("{stem}.spud.toml"), s)?;
                }
                fetched.manifest_digest = Some(pulled.manifest_digest);
                fetched.oci = Some((oci, r.clone()));
            }
        }
        Ok(fetched)
    }

    /// The key whose signature verifies: required when the policy names signers for `plugin`
    /// (missing or not verifying is an error); otherwise recorded when one happens to verify.
    async fn verify_signer(
        &self,
        source: &Source,
        fetched: &Fetched,
        plugin: &str,
    ) -> Result<Option<String>, InstallError> {
        let expected = self.policy().signers_for(plugin);
        let (Some((oci, r)), Some(digest)) = (&fetched.oci, &fetched.manifest_digest) else {
            if expected.is_empty() {
                return Ok(None);
            }
            return Err(SignatureError::Missing {
                reference: format!("{source} (only oci:// artifacts carry signatures)"),
                expected,
            }
            .into());
        };
        let signatures = oci.signatures(r, digest).await?;
        let shown = r.at_digest(digest).to_string();
        if expected.is_empty() {
            let all: Vec<String> = self.policy().keys.keys().cloned().collect();
            let keys = self.policy().trusted_keys(&all);
            return Ok(spud_trust::verify(&keys, &shown, digest, &signatures).ok());
        }
        let keys = self.policy().trusted_keys(&expected);
        let signer = spud_trust::verify(&keys, &shown, digest, &signatures)?;
        Ok(Some(signer))
    }

    /// Lock checks, approval, registration, lock record and audit record.
    pub(super) fn commit(
        &self,
        req: &Install,
        mut entry: Entry,
        bytes: &[u8],
        manifest_digest: Option<String>,
        signer: Option<String>,
    ) -> Result<Installed, InstallError> {
        let lock = (*self.lock_file()).clone();
        let digest = prefixed(&entry.digest);
        let resolved = manifest_digest.clone().unwrap_or_else(|| digest.clone());
        let moved: Option<Moved> = lock.moved(&entry.name, &req.source, &resolved);
        if req.locked {
            lock.check_locked(&entry.name, &req.source, &digest)?;
        }
        let mut reg = Registry::load(self.home())?;
        let previous = reg.plugins.get(&entry.name).cloned();
        let old_rec = lock.plugins.get(&entry.name);
        let (action, approved) = match &previous {
            None => ("add", true),
            Some(p) if p.digest == entry.digest => (
                "unchanged",
                req.yes || old_rec.is_none_or(LockEntry::approved),
            ),
            Some(_) => ("update", req.yes),
        };
        let grant_diff = previous
            .as_ref()
            .map(|p| spud_policy::requests_beyond(&p.manifest.requests, &entry.manifest.requests))
            .unwrap_or_default();
        if let Some(p) = &previous {
            if action == "unchanged" {
                entry.added_unix_ms = p.added_unix_ms;
            }
        }
        reg.insert(self.home(), entry.clone(), bytes)?;
        let approval = if approved {
            Some(self.approval_of(&digest))
        } else {
            old_rec.and_then(|r| r.approval.clone())
        };
        let mut lock = lock.clone();
        lock.plugins.insert(
            entry.name.clone(),
            LockEntry {
                source: req.source.clone(),
                digest: digest.clone(),
                manifest_digest: manifest_digest.clone(),
                signer: signer.clone(),
                approval,
            },
        );
        save_lock(self.home(), &lock)?;
        self.adopt(reg, lock, &entry.name);
        self.audit
            .append(Event::registry_change(RegistryEvent {
                action: action.into(),
                plugin: entry.name.clone(),
                digest: entry.digest.clone(),
                by: Some(self.principal.clone()),
                source: Some(req.source.clone()),
                signer: signer.clone(),
                approved: Some(approved),
            }))
            .map_err(SpudError::from)?;
        Ok(Installed {
            action: action.into(),
            previous: previous
                .filter(|p| p.digest != entry.digest)
                .map(|p| prefixed(&p.digest)),
            entry,
            manifest_digest,
            signer,
            approved,
            grant_diff,
            moved: moved.map(|m| m.to_string()),
        })
    }

    /// Takes a changed registry and lock file in, dropping the loaded copy of `plugin`.
    fn adopt(&self, reg: Registry, lock: spud_trust::LockFile, plugin: &str) {
        if let Ok(mut r) = self.registry.lock() {
            *r = Arc::new(reg);
        }
        if let Ok(mut l) = self.lock.lock() {
            *l = Arc::new(lock);
        }
        if let Ok(mut p) = self.plugins.lock() {
            p.remove(plugin);
        }
    }

    /// `spud tools update NAME`: installs the recorded source of `plugin` again (a tag is
    /// resolved anew; a pinned digest is dropped so the tag is followed), as `plugin`.
    pub async fn update(
        &self,
        plugin: &str,
        yes: bool,
        auth_file: Option<PathBuf>,
    ) -> Result<Installed, InstallError> {
        let entry = self.registry().get(plugin)?.clone();
        let source = self
            .lock_file()
            .plugins
            .get(plugin)
            .map_or(entry.source.clone(), |r| r.source.clone());
        let source = match OciRef::parse(&source) {
            Ok(r) if source.starts_with("oci://") && r.tag.is_some() => {
                OciRef { digest: None, ..r }.to_string()
            }
            _ => source,
        };
        let req = Install {
            source,
            name: Some(plugin.to_string()),
            yes,
            auth_file,
            ..Install::default()
        };
        self.install(&req).await
    }

    /// `spud tools push FILE oci://…`: publishes a component (and its sidecar manifest, given
    /// or beside it, when it has no embedded one); returns the manifest digest.
    pub async fn push(
        &self,
        file: &Path,
        target: &str,
        manifest: Option<&Path>,
        auth_file: Option<&Path>,
    ) -> Result<String, InstallError> {
        let r = OciRef::parse(target)?;
        if r.tag.is_none() || r.digest.is_some() {
            return Err(RefError::Oci {
                reference: target.to_string(),
                why: "push to a tag (oci://HOST/REPO:TAG)".into(),
            }
            .into());
        }
        let (entry, bytes) = Registry::describe(&self.runtime, file, None, manifest).await?;
        let sidecar = match (entry.sdk, manifest) {
            (true, _) => None,
            (false, Some(m)) => Some(m.to_path_buf()),
            (false, None) => Some(file.with_extension("spud.toml")).filter(|p| p.exists()),
        };
        let sidecar = match sidecar {
            Some(p) => Some(std::fs::read(&p).map_err(|e| {
                SpudError::Other(anyhow::anyhow!("cannot read {}: {e}", p.display()))
            })?),
            None => None,
        };
        let oci = Oci::new(&r, distribution::credentials(&r.registry, auth_file)?);
        Ok(oci.push(&r, bytes, sidecar).await?)
    }

    /// `spud tools sign REF --key FILE`: signs the artifact `reference` resolves to and stores
    /// the signature beside it; returns the signed manifest digest.
    pub async fn sign(
        &self,
        reference: &str,
        private_pem: &str,
        auth_file: Option<&Path>,
    ) -> Result<String, InstallError> {
        let r = OciRef::parse(reference)?;
        let oci = Oci::new(&r, distribution::credentials(&r.registry, auth_file)?);
        let (_, digest) = oci.manifest(&r).await?;
        let signed = spud_trust::sign(private_pem, &r.repository_name(), &digest)
            .map_err(|e| SpudError::Other(e.into()))?;
        oci.push_signature(&r, &digest, signed).await?;
        Ok(digest)
    }
}
