//! On whose behalf a call runs ([`Caller`]) and the failures that stop a call before it reaches
//! a sandbox ([`SpudError`]).

use crate::runtime::RegistryError;
use std::sync::Arc;

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
    /// The plugin's registered digest is not approved, or not the one the policy pins: calls
    /// are denied until the operator approves it.
    #[error("denied: {message}")]
    NotApproved {
        /// The plugin.
        plugin: String,
        /// Why, and the command or policy change that allows it.
        message: String,
    },
    /// The lock file (`spud.lock`) cannot be read or written.
    #[error(transparent)]
    Lock(#[from] spud_trust::LockError),
    /// The per-call temporary scratch directory could not be created.
    #[error("cannot create a temporary scratch directory: {0}")]
    Scratch(std::io::Error),
    /// The call was handed to another process (a worker of the cluster) and did not come back
    /// with an outcome: the task could not be stored or answered in time, or the worker could
    /// not run it (a component digest it refuses, say).
    #[error("{0}")]
    Elsewhere(String),
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
