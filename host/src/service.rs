//! [`Spud`]: the one path every entry point (CLI, agent, MCP) takes to a tool.
//! Registry lookup → effective grant (requested ∩ granted) → fresh sandbox → typed outcome →
//! audit records, in that order, for every call.

use crate::home::Home;
use crate::runtime::{Entry, Plugin, Registry, RegistryError, Runtime};
use crate::sandbox::{self, CallEnv, CallReport, Outcome, Resolver};
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
    /// Anything else.
    #[error("{0:#}")]
    Other(#[from] anyhow::Error),
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
        Ok(Spud {
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

    /// Calls `tool` (`plugin.function`) with JSON `input` and records it in the audit log.
    pub async fn call(
        &self,
        tool: &str,
        input: &serde_json::Value,
    ) -> Result<CallReport, SpudError> {
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
        };
        let report = sandbox::call(&loaded.plugin, tool_def, input, &loaded.grant, &env).await;
        self.record(tool, &loaded.entry, input, &report, loaded.grant.payloads)?;
        Ok(report)
    }

    fn record(
        &self,
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
            principal: self.principal.clone(),
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
