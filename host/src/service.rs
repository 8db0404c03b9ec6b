//! [`Spud`]: the one path every entry point (CLI, agent, MCP) takes to a tool.
//! Registry lookup → effective grant (requested ∩ granted) → fresh sandbox → typed outcome →
//! audit records, in that order, for every call.

use crate::home::Home;
use crate::runtime::{Entry, Plugin, Registry, RegistryError, Runtime};
use crate::sandbox::{self, CallEnv, CallReport, Capability, Decision, Outcome, Resolver};
use spud_audit::{AuditLog, Event, Payload};
use spud_policy::{effective, Effective, Grant, Payloads, Policy};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Failures that stop a call before it reaches a sandbox (as opposed to [`Outcome`]s).
#[derive(Debug, thiserror::Error)]
pub enum SpudError {
    /// Registry problem (unknown tool, corrupt registry, load failure).
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// Policy file problem.
    #[error(transparent)]
    Policy(#[from] spud_policy::PolicyError),
    /// Audit log problem: calls are refused when they cannot be recorded.
    #[error("audit log: {0}")]
    Audit(#[from] spud_audit::AuditError),
    /// The caller's principal may not call this tool.
    #[error("principal `{principal}` may not call `{tool}`: add it to `tools` under [principals.{principal}] in the policy")]
    NotAllowed {
        /// The principal.
        principal: String,
        /// The tool.
        tool: String,
    },
    /// The call was cancelled before it finished (its sandbox was dropped; recorded as
    /// `cancelled` in the audit log).
    #[error("the call to `{tool}` was cancelled after {elapsed_ms} ms")]
    Cancelled {
        /// The tool.
        tool: String,
        /// How long it had run.
        elapsed_ms: u64,
    },
    /// The per-call temporary scratch directory could not be created.
    #[error("cannot create a temporary scratch directory: {0}")]
    Scratch(std::io::Error),
    /// Anything else.
    #[error("{0:#}")]
    Other(#[from] anyhow::Error),
}

/// On whose behalf a call runs.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The name the audit log records.
    pub principal: String,
    /// The policy principal whose tool list and narrowing grants apply; `None` for the
    /// operator (the CLI, or `spud serve` over stdio without `--principal`): every tool with
    /// its full effective grant.
    pub narrowing: Option<Arc<spud_policy::Principal>>,
    /// Sub-agent scopes, outermost first: each narrows what the ones before it allow.
    pub scopes: Vec<Arc<spud_policy::Scope>>,
}

impl Caller {
    /// The operator, recorded under `name`.
    pub fn operator(name: &str) -> Caller {
        Caller {
            principal: name.to_string(),
            narrowing: None,
            scopes: Vec::new(),
        }
    }

    /// A policy principal.
    pub fn principal(p: Arc<spud_policy::Principal>) -> Caller {
        Caller {
            principal: p.name.clone(),
            narrowing: Some(p),
            scopes: Vec::new(),
        }
    }

    /// Whether this caller may see and call `tool`.
    pub fn sees(&self, tool: &str) -> bool {
        self.narrowing.as_ref().is_none_or(|p| p.sees(tool))
            && self.scopes.iter().all(|s| s.sees(tool))
    }

    /// This caller further narrowed by a sub-agent's `scope`, recorded as `name`.
    pub fn within(&self, name: &str, scope: Arc<spud_policy::Scope>) -> Caller {
        let mut c = self.clone();
        c.principal = name.to_string();
        c.scopes.push(scope);
        c
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
    runtime: Runtime,
    registry: Mutex<Arc<Registry>>,
    audit: AuditLog,
    plugins: Mutex<HashMap<String, Arc<Loaded>>>,
    resolver: Arc<dyn Resolver>,
    principal: String,
    guard: Arc<spud_policy::LeakGuard>,
    secrets: Arc<spud_policy::Secrets>,
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
        let durability = match policy.audit.durability {
            spud_policy::Durability::Process => spud_audit::Durability::Process,
            spud_policy::Durability::Fsync => spud_audit::Durability::Fsync,
        };
        let audit = AuditLog::open(&home.audit_file(), durability)?;
        let registry = Registry::load(&home)?;
        let (guard, secrets) = secrets_of(&policy)?;
        Ok(Spud {
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

    /// Registers a component file.
    pub async fn add(
        &self,
        path: &Path,
        name: Option<&str>,
        manifest: Option<&Path>,
    ) -> Result<Entry, SpudError> {
        let _lock = Registry::lock(&self.home)?;
        let mut reg = Registry::load(&self.home)?;
        let entry = reg
            .add(&self.home, &self.runtime, path, name, manifest)
            .await?;
        self.audit
            .append(Event::registry("add", &entry.name, &entry.digest))?;
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
        self.audit
            .append(Event::registry("remove", &entry.name, &entry.digest))?;
        if let Ok(mut r) = self.registry.lock() {
            *r = Arc::new(reg);
        }
        if let Ok(mut p) = self.plugins.lock() {
            p.remove(plugin);
        }
        Ok(entry)
    }

    /// requested ∩ granted for a registered plugin.
    pub fn effective(&self, entry: &Entry) -> Effective {
        effective(&entry.name, &entry.manifest.requests, &self.policy)
    }

    /// The loaded plugin with its entry and effective grant (loaded on first use, then kept).
    pub fn loaded(&self, name: &str) -> Result<Arc<Loaded>, SpudError> {
        if let Some(p) = self.plugins.lock().ok().and_then(|m| m.get(name).cloned()) {
            return Ok(p);
        }
        let entry = self.registry().get(name)?.clone();
        let plugin = self
            .runtime
            .load(&self.home, &entry)
            .map_err(RegistryError::from)?;
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
        let old = self.registry();
        if digests(&old) == digests(&fresh) {
            return Ok(false);
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

    /// Calls `tool` (`plugin.function`) with JSON `input` and records it in the audit log.
    pub async fn call(
        &self,
        tool: &str,
        input: &serde_json::Value,
    ) -> Result<CallReport, SpudError> {
        let caller = Caller::operator(&self.principal);
        self.call_as(&caller, tool, input, crate::CallOptions::default())
            .await
    }

    /// Calls `tool` on behalf of `caller` (its tool list and narrowed grant apply), with the
    /// limits lowered to `options`' caps. When `options.cancel` fires first — or when this
    /// future is dropped — the sandbox is dropped and the call recorded as `cancelled` (then
    /// [`SpudError::Cancelled`] is returned). A tool the caller may not call is refused and
    /// recorded as an `access` denial.
    pub async fn call_as(
        &self,
        caller: &Caller,
        tool: &str,
        input: &serde_json::Value,
        options: crate::CallOptions,
    ) -> Result<CallReport, SpudError> {
        if !caller.sees(tool) {
            let detail = format!("call to {tool} refused: not among the caller's tools");
            self.audit
                .append(Event::access(&caller.principal, "tool_denied", &detail))?;
            return Err(SpudError::NotAllowed {
                principal: caller.principal.clone(),
                tool: tool.to_string(),
            });
        }
        let unknown = || {
            SpudError::from(self.registry().find_tool(tool).err().unwrap_or(
                RegistryError::Unknown {
                    name: tool.into(),
                    known: vec![],
                },
            ))
        };
        let plugin_name = tool.split_once('.').map(|(p, _)| p).ok_or_else(unknown)?;
        if self.registry().get(plugin_name).is_err() {
            return Err(unknown());
        }
        let loaded = self.loaded(plugin_name)?;
        let info = loaded
            .entry
            .tools
            .iter()
            .find(|t| t.name == tool)
            .ok_or_else(unknown)?;
        let tool_def = loaded
            .plugin
            .tools
            .get(&info.function)
            .ok_or_else(unknown)?;
        let env = CallEnv {
            plugin: &loaded.entry.name,
            resolver: self.resolver.clone(),
            guard: self.guard.clone(),
            meter: options.meter.clone(),
        };
        let mut grant = self.grant_for(caller, &loaded);
        let binding = options.cap(&mut grant.limits);
        // A requested `/scratch` the policy does not map: a fresh temporary directory for this
        // call only, removed when `_scratch` drops (also when the call is cancelled).
        let (_scratch, scratch_decision) =
            match spud_policy::temp_scratch(&loaded.entry.manifest.requests, &grant) {
                Some(guest) => {
                    let (dir, decision) = temp_scratch_dir(guest)?;
                    grant.files.push(spud_policy::FileGrant {
                        host: dir.0.clone(),
                        guest: guest.to_string(),
                        access: spud_policy::Access::ReadWrite,
                    });
                    (Some(dir), Some(decision))
                }
                None => (None, None),
            };
        // Storage: growth of the granted read-write directories across the call.
        let written: Vec<&std::path::Path> = grant
            .files
            .iter()
            .filter(|f| f.access == spud_policy::Access::ReadWrite)
            .filter(|f| _scratch.as_ref().is_none_or(|t| t.0 != f.host))
            .map(|f| f.host.as_path())
            .collect();
        let before = crate::storage::snapshot(written.iter().copied());
        let mut flight = crate::calls::InFlight {
            spud: self,
            caller,
            tool,
            entry: &loaded.entry,
            input,
            started: std::time::Instant::now(),
            landed: false,
        };
        let call = sandbox::call(&loaded.plugin, tool_def, input, &grant, &env);
        let report = match options.cancel {
            None => call.await,
            Some(token) => tokio::select! {
                r = call => r,
                () = token.cancelled() => {
                    let elapsed_ms = flight.elapsed_ms();
                    flight.landed = true;
                    self.record_cancelled(caller, tool, &loaded.entry, input, elapsed_ms)?;
                    return Err(SpudError::Cancelled { tool: tool.to_string(), elapsed_ms });
                }
            },
        };
        flight.landed = true;
        let mut report = report;
        binding.stop(&mut report);
        report.storage_bytes = crate::storage::growth(written.iter().copied(), &before)
            + _scratch
                .as_ref()
                .and_then(|t| crate::storage::dir_bytes(&t.0))
                .unwrap_or(0);
        if let Some(d) = scratch_decision {
            report.decisions.insert(0, d);
        }
        self.record(caller, tool, &loaded.entry, input, &report, grant.payloads)?;
        Ok(report)
    }

    pub(crate) fn record_cancelled(
        &self,
        caller: &Caller,
        tool: &str,
        entry: &Entry,
        input: &serde_json::Value,
        elapsed_ms: u64,
    ) -> Result<(), SpudError> {
        let args = serde_json::to_vec(input).unwrap_or_default();
        self.audit.append(Event::call(spud_audit::CallEvent {
            call_id: new_call_id(),
            tool: tool.to_string(),
            digest: entry.digest.clone(),
            principal: caller.principal.clone(),
            outcome: "cancelled".into(),
            message: Some(format!("cancelled by the caller after {elapsed_ms} ms")),
            bytes_in: args.len() as u64,
            bytes_out: 0,
            fuel_used: 0,
            duration_us: elapsed_ms * 1000,
            args: Payload::digest_of(&args),
            result: Payload::digest_of(b"null"),
        }))?;
        Ok(())
    }

    fn record(
        &self,
        caller: &Caller,
        tool: &str,
        entry: &Entry,
        input: &serde_json::Value,
        r: &CallReport,
        payloads: Payloads,
    ) -> Result<(), SpudError> {
        let call_id = new_call_id();
        let mut events: Vec<Event> = r
            .decisions
            .iter()
            .map(|d| {
                Event::capability(
                    &call_id,
                    tool,
                    &entry.digest,
                    d.capability.as_str(),
                    &d.target,
                    d.allowed,
                    &d.reason,
                )
            })
            .collect();
        let args = serde_json::to_vec(input).unwrap_or_default();
        let (result_json, message) = match &r.outcome {
            Outcome::Ok { value } => (value.clone(), None),
            Outcome::ToolError { error } => (error.clone(), Some(r.outcome.message())),
            other => (serde_json::Value::Null, Some(other.message())),
        };
        let result = serde_json::to_vec(&result_json).unwrap_or_default();
        let (args_p, result_p) = match payloads {
            Payloads::Digest => (Payload::digest_of(&args), Payload::digest_of(&result)),
            Payloads::Raw => (
                Payload::with_raw(input.clone()),
                Payload::with_raw(result_json),
            ),
        };
        events.push(Event::call(spud_audit::CallEvent {
            call_id,
            tool: tool.to_string(),
            digest: entry.digest.clone(),
            principal: caller.principal.clone(),
            outcome: r.outcome.kind().to_string(),
            message,
            bytes_in: args.len() as u64,
            bytes_out: result.len() as u64,
            fuel_used: r.fuel_used,
            duration_us: r.duration_us,
            args: args_p,
            result: result_p,
        }));
        self.audit.append_many(events)?;
        Ok(())
    }
}

/// The policy's registered secrets, as an outbound guard and a redactor: `[secrets]` patterns,
/// env values, granted env values, and the contents of secret files (which must be readable:
/// a secret spud cannot read is one it cannot protect).
fn secrets_of(
    policy: &Policy,
) -> Result<(Arc<spud_policy::LeakGuard>, Arc<spud_policy::Secrets>), SpudError> {
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
    let secrets = policy.secrets(lookup).with_values(values);
    Ok((Arc::new(guard), Arc::new(secrets)))
}

/// A directory created for one call and removed (with everything in it) when dropped.
struct TempDir(PathBuf);

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
fn temp_scratch_dir(guest: &str) -> Result<(TempDir, Decision), SpudError> {
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

fn new_call_id() -> String {
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
