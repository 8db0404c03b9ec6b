//! [`Spud`] itself: home, policy, registry, runtime, audit log and secrets, opened once; plugins
//! loaded on first use and kept with the grant they were loaded under.

use super::caller::{Caller, SpudError};
use crate::home::Home;
use crate::runtime::{Entry, Plugin, Registry, RegistryError, Runtime};
use crate::sandbox::{self, Resolver};
use spud_audit::{AuditLog, CheckpointKey, Event, KeySource, RegistryEvent};
use spud_policy::{effective, Effective, Grant, Policy};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

impl Drop for Spud {
    /// Closes the audit log here and now — fsync, anchor, the signed `close` checkpoint —
    /// rather than whenever the last handle goes (the log's background thread may hold one
    /// for a moment, and the process may exit before it lets go).
    fn drop(&mut self) {
        if let Err(e) = self.audit.close() {
            tracing::warn!("audit log: closing failed: {e}");
        }
    }
}

/// A plugin ready to call, with the registry entry and grant it was loaded under.
pub struct Loaded {
    /// The plugin.
    pub plugin: Plugin,
    /// Its effective grant under the policy in force.
    pub grant: Grant,
    /// Its registry entry.
    pub entry: Entry,
}

/// How to open spud.
#[derive(Debug, Clone, Default)]
pub struct SpudOptions {
    /// Home folder (`--home`, `SPUD_HOME`).
    pub home: Option<PathBuf>,
    /// Policy file (`--policy`); none means nothing is granted.
    pub policy: Option<PathBuf>,
    /// Who is calling, for the audit log.
    pub principal: Option<String>,
}

/// An open spud: home, policy, registry, runtime and audit log.
pub struct Spud {
    home: Home,
    policy: Policy,
    pub(super) runtime: Runtime,
    pub(super) registry: Mutex<Arc<Registry>>,
    pub(super) audit: AuditLog,
    pub(super) plugins: Mutex<HashMap<String, Arc<Loaded>>>,
    pub(super) lock: Mutex<Arc<spud_trust::LockFile>>,
    pub(super) resolver: Arc<dyn Resolver>,
    pub(super) principal: String,
    pub(super) guard: Arc<spud_policy::LeakGuard>,
    secrets: Arc<spud_policy::Secrets>,
    /// `[credentials.NAME]` with their values, for the HTTP gate only.
    pub(super) credentials: Arc<[sandbox::HeldCredential]>,
}

impl Spud {
    /// Opens spud's state.
    pub fn open(options: SpudOptions) -> Result<Spud, SpudError> {
        let home = Home::resolve(options.home.as_deref());
        home.ensure().map_err(anyhow::Error::from)?;
        let policy = match &options.policy {
            Some(p) => Policy::load(p)?,
            None => Policy::deny_all(),
        };
        let (key, source) =
            CheckpointKey::resolve(&home.audit_key_file()).map_err(spud_audit::AuditError::from)?;
        let fresh = matches!(source, KeySource::Created(_));
        let audit = AuditLog::open_keyed(&home.audit_file(), policy.audit.durability, key, fresh)?;
        let registry = Registry::load(&home)?;
        let lock = super::lock::load_lock(&home)?;
        let (guard, secrets, credentials) = secrets_of(&policy)?;
        Ok(Spud {
            credentials: credentials.into(),
            lock: Mutex::new(Arc::new(lock)),
            guard,
            secrets,
            runtime: Runtime::new(&home)?,
            home,
            policy,
            registry: Mutex::new(Arc::new(registry)),
            audit,
            plugins: Mutex::new(HashMap::new()),
            resolver: sandbox::system_resolver(),
            principal: options.principal.unwrap_or_else(|| "cli".into()),
        })
    }

    /// Replaces name resolution for HTTP (tests pin names to loopback with it).
    pub fn with_resolver(mut self, resolver: Arc<dyn Resolver>) -> Spud {
        self.resolver = resolver;
        self
    }

    /// The registered secrets (policy `[secrets]` and granted environment values), to redact
    /// what leaves spud: tool outputs shown to a model, final outputs, stored memory.
    pub fn secrets(&self) -> Arc<spud_policy::Secrets> {
        self.secrets.clone()
    }

    /// spud's home.
    pub fn home(&self) -> &Home {
        &self.home
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The audit log.
    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    /// A snapshot of the registry (cheap: shared until the next change).
    pub fn registry(&self) -> Arc<Registry> {
        self.registry.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Registers a component file. The caller is the operator: a new digest under an existing
    /// name is approved at once (as `spud tools add FILE --yes` would), and the `registry` record
    /// says by whom and from where.
    pub async fn add(
        &self,
        path: &Path,
        name: Option<&str>,
        manifest: Option<&Path>,
    ) -> Result<Entry, SpudError> {
        let _lock = Registry::lock(&self.home)?;
        let mut reg = Registry::load(&self.home)?;
        let added = reg
            .add(&self.home, &self.runtime, path, name, manifest)
            .await;
        let entry = match added {
            Ok(entry) => entry,
            Err(e) => {
                self.audit_rebuilds("(not registered)")?;
                return Err(e.into());
            }
        };
        self.audit_rebuilds(&entry.name)?;
        self.record_approved(&entry, None, None)?;
        self.audit
            .append(self.registry_event("add", &entry, Some(true)))?;
        if let Ok(mut r) = self.registry.lock() {
            *r = Arc::new(reg);
        }
        if let Ok(mut p) = self.plugins.lock() {
            p.remove(&entry.name);
        }
        Ok(entry)
    }

    /// Unregisters a plugin.
    pub fn remove(&self, plugin: &str) -> Result<Entry, SpudError> {
        let _lock = Registry::lock(&self.home)?;
        let mut reg = Registry::load(&self.home)?;
        let entry = reg.remove(&self.home, &self.runtime, plugin)?;
        self.forget_lock(plugin)?;
        self.audit
            .append(self.registry_event("remove", &entry, None))?;
        if let Ok(mut r) = self.registry.lock() {
            *r = Arc::new(reg);
        }
        if let Ok(mut p) = self.plugins.lock() {
            p.remove(plugin);
        }
        Ok(entry)
    }

    /// A `registry` record of `action` on `entry`, by this principal, from its source.
    fn registry_event(&self, action: &str, entry: &Entry, approved: Option<bool>) -> Event {
        Event::registry_change(RegistryEvent {
            action: action.into(),
            plugin: entry.name.clone(),
            digest: entry.digest.clone(),
            by: Some(self.principal.clone()),
            source: Some(entry.source.clone()),
            signer: None,
            approved,
        })
    }

    /// Whether a model (the planner, tool calling) is offered `entry`'s tools: not when the
    /// plugin needs a browser its grant does not have — every call would be denied — and
    /// always otherwise.
    pub fn offered_to_models(&self, entry: &Entry) -> bool {
        !entry.manifest.requests.browser || self.effective(entry).grant.browser
    }

    /// requested ∩ granted for a registered plugin.
    pub fn effective(&self, entry: &Entry) -> Effective {
        effective(&entry.name, &entry.manifest.requests, &self.policy)
    }

    /// The loaded plugin with its entry and effective grant (loaded on first use, then kept).
    /// A plugin whose digest is not approved (lock file) or not the one the policy pins is
    /// refused here, on every call path, with the command that approves it.
    pub fn loaded(&self, name: &str) -> Result<Arc<Loaded>, SpudError> {
        if let Some(p) = self.plugins.lock().ok().and_then(|m| m.get(name).cloned()) {
            self.check_approved(&p.entry)?;
            return Ok(p);
        }
        let entry = self.registry().get(name)?.clone();
        self.check_approved(&entry)?;
        let plugin = self.runtime.load(&self.home, &entry);
        self.audit_rebuilds(&entry.name)?;
        let plugin = plugin.map_err(RegistryError::from)?;
        let grant = self.effective(&entry).grant;
        let loaded = Arc::new(Loaded {
            plugin,
            grant,
            entry,
        });
        if let Ok(mut m) = self.plugins.lock() {
            m.insert(name.to_string(), loaded.clone());
        }
        Ok(loaded)
    }

    /// Records each precompiled cache entry the runtime rebuilt (it failed its MAC or could not
    /// be loaded) as a `cache` audit record of `plugin`.
    fn audit_rebuilds(&self, plugin: &str) -> Result<(), SpudError> {
        let events: Vec<Event> = self
            .runtime
            .take_rebuilds()
            .into_iter()
            .map(|r| Event::cache_rebuilt(plugin, &r.digest, r.reason.as_str()))
            .collect();
        if !events.is_empty() {
            self.audit.append_many(events)?;
        }
        Ok(())
    }

    /// Re-reads the registry file (another process may have added or removed tools) and drops
    /// loaded plugins whose entry changed. Returns whether anything changed.
    pub fn refresh_registry(&self) -> Result<bool, SpudError> {
        let fresh = Registry::load(&self.home)?;
        let digests = |r: &Registry| -> Vec<(String, String)> {
            r.plugins
                .values()
                .map(|e| (e.name.clone(), e.digest.clone()))
                .collect()
        };
        let lock = super::lock::load_lock(&self.home)?;
        let lock_changed = self.lock.lock().is_ok_and(|l| **l != lock);
        if let Ok(mut l) = self.lock.lock() {
            *l = Arc::new(lock);
        }
        let old = self.registry();
        if digests(&old) == digests(&fresh) {
            return Ok(lock_changed);
        }
        if let Ok(mut p) = self.plugins.lock() {
            p.retain(|name, loaded| {
                fresh
                    .plugins
                    .get(name)
                    .is_some_and(|e| e.digest == loaded.entry.digest)
            });
        }
        if let Ok(mut r) = self.registry.lock() {
            *r = Arc::new(fresh);
        }
        Ok(true)
    }

    /// The grant a call to `plugin` runs under for `caller`: the plugin's effective grant,
    /// narrowed by the caller's principal, then by each sub-agent scope.
    pub fn grant_for(&self, caller: &Caller, loaded: &Loaded) -> Grant {
        let plugin = &loaded.entry.name;
        caller
            .scopes
            .iter()
            .fold(self.principal_grant(caller, loaded), |g, s| {
                s.grant_for(plugin, &g)
            })
    }

    /// The plugin's effective grant narrowed by the caller's principal (not its scopes).
    fn principal_grant(&self, caller: &Caller, loaded: &Loaded) -> Grant {
        match &caller.narrowing {
            None => loaded.grant.clone(),
            Some(p) => p.grant_for(
                &loaded.entry.name,
                &loaded.entry.manifest.requests,
                &loaded.grant,
                &self.policy,
            ),
        }
    }

    /// The operator as a caller (every tool, full effective grants), under spud's principal.
    pub fn operator(&self) -> Caller {
        Caller::operator(&self.principal)
    }
}

/// The outbound guard, the redactor and the held credentials.
type Secured = (
    Arc<spud_policy::LeakGuard>,
    Arc<spud_policy::Secrets>,
    Vec<sandbox::HeldCredential>,
);

/// The policy's registered secrets, as an outbound guard and a redactor: `[secrets]` patterns,
/// env values, granted env values, and the contents of secret files (which must be readable:
/// a secret spud cannot read is one it cannot protect); and the credentials, whose values are
/// secrets too.
fn secrets_of(policy: &Policy) -> Result<Secured, SpudError> {
    let lookup = |n: &str| std::env::var(n).ok();
    let mut guard = spud_policy::LeakGuard::new(policy, lookup);
    let mut values = Vec::new();
    let base = policy
        .source
        .as_deref()
        .and_then(std::path::Path::parent)
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    for (name, path) in policy.secret_files(&base) {
        let text = std::fs::read_to_string(&path).map_err(|e| {
            anyhow::anyhow!(
                "secret file {} (`files` under [secrets] in {}) cannot be read: {e}",
                path.display(),
                policy.source_name()
            )
        })?;
        let value = text.trim_end_matches(['\n', '\r']).to_string();
        guard = guard.with_named(&name, value.clone(), policy);
        values.push(value);
    }
    let (guard, held) =
        super::credentials::held_credentials(policy, &base, lookup, guard, &mut values)?;
    let secrets = policy.secrets(lookup).with_values(values);
    Ok((Arc::new(guard), Arc::new(secrets), held))
}
