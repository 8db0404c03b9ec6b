//! What a task carries to its worker and what comes back: the sub-agent's plan with the caller
//! it runs as ([`SubAgentTask`]) or one tool call ([`ToolCallTask`]), and the worker's
//! [`Answer`] with the child's report or the call's ([`CallAnswer`]).

use crate::agent::RunReport;
use crate::model::Usage;
use crate::orchestrator::figures::{DataFlow, Figures};
use crate::plan::{Corrections, Plan, RunStatus};
use crate::runtime::{CallReport, RegistryError};
use crate::service::{Caller, SpudError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// Whom a task's calls are made as: the caller's principal, narrowing and scopes, by name (a
/// worker looks the narrowing principal up in its own policy).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct WireCaller {
    /// The name its calls are recorded under (`PRINCIPAL/STEP` for a sub-agent).
    pub principal: String,
    /// The policy principal whose narrowing applies; `None`: the operator.
    pub narrowing: Option<String>,
    /// Its scopes, outermost first.
    pub scopes: Vec<spud_policy::Scope>,
}

impl WireCaller {
    /// `caller` as a task carries it.
    pub fn new(caller: &Caller) -> WireCaller {
        WireCaller {
            principal: caller.principal.clone(),
            narrowing: caller.narrowing.as_ref().map(|p| p.name.clone()),
            scopes: caller.scopes.iter().map(|s| (**s).clone()).collect(),
        }
    }

    /// The caller under `policy`; a principal the policy does not know is refused.
    pub fn caller(&self, policy: &spud_policy::Policy) -> Result<Caller, String> {
        let narrowing = match &self.narrowing {
            None => None,
            Some(name) => Some(Arc::new(policy.principals.get(name).cloned().ok_or_else(
                || format!("the task runs as principal `{name}`, which this worker's policy does not define"),
            )?)),
        };
        Ok(Caller {
            principal: self.principal.clone(),
            narrowing,
            scopes: self.scopes.iter().cloned().map(Arc::new).collect(),
        })
    }
}

/// A sub-agent's run: its plan (budget and deadline allocated) and whom it calls tools as.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct SubAgentTask {
    /// The plan.
    pub plan: Plan,
    /// Its caller.
    #[serde(flatten)]
    pub caller: WireCaller,
}

impl SubAgentTask {
    /// The task for `plan` run as `caller`.
    pub fn new(plan: Plan, caller: &Caller) -> SubAgentTask {
        SubAgentTask {
            plan,
            caller: WireCaller::new(caller),
        }
    }
}

/// A whole run (`spud run --nats --on-worker`): its plan and caller, as a sub-agent's, and
/// whether it uses the memory of past runs (the worker's, shared through `spud-lessons`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct RunTask {
    /// The plan and whom it calls tools as.
    #[serde(flatten)]
    pub run: SubAgentTask,
    /// Lessons before, reflection after (off with the submitter's `--no-memory`).
    #[serde(default)]
    pub memory: bool,
}

/// One tool call: the tool, its arguments and whom it is made as.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct ToolCallTask {
    /// The tool, `plugin.function`.
    pub tool: String,
    /// Its arguments.
    pub args: Value,
    /// Its caller.
    #[serde(flatten)]
    pub caller: WireCaller,
}

/// How a tool-call task ended on its worker: the call's report (whatever its outcome: a value,
/// a denial naming the grant that would allow it, a tool error, a trap, a limit), or the
/// refusal that stopped it before a sandbox, as the worker's `Spud` gave it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum CallAnswer {
    /// The call ran.
    Ran {
        /// Its report.
        report: Box<CallReport>,
        /// The run budget that stopped it, by name (a report does not read it back).
        budget_stop: Option<String>,
        /// The digest of the worker's policy it ran under (as on its audit record).
        policy_sha256: String,
    },
    /// It was refused before a sandbox.
    Refused(Refusal),
}

/// A [`SpudError`] as it travels: each refusal keeps its fields, so the submitter gives back
/// the very error (and message) a local call would.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "refusal", rename_all = "snake_case")]
pub(super) enum Refusal {
    /// No such tool.
    UnknownTool {
        /// The name asked for.
        name: String,
        /// Close names.
        known: Vec<String>,
    },
    /// The caller may not call it.
    NotAllowed {
        /// The principal.
        principal: String,
        /// The tool.
        tool: String,
    },
    /// Its plugin's digest is not approved.
    NotApproved {
        /// The plugin.
        plugin: String,
        /// Why.
        message: String,
    },
    /// Anything else, as its message.
    Other {
        /// The error's message.
        message: String,
    },
}

impl From<SpudError> for Refusal {
    fn from(e: SpudError) -> Refusal {
        match e {
            SpudError::Registry(RegistryError::Unknown { name, known }) => {
                Refusal::UnknownTool { name, known }
            }
            SpudError::NotAllowed { principal, tool } => Refusal::NotAllowed { principal, tool },
            SpudError::NotApproved { plugin, message } => Refusal::NotApproved { plugin, message },
            other => Refusal::Other {
                message: other.to_string(),
            },
        }
    }
}

impl From<Refusal> for SpudError {
    fn from(r: Refusal) -> SpudError {
        match r {
            Refusal::UnknownTool { name, known } => {
                SpudError::Registry(RegistryError::Unknown { name, known })
            }
            Refusal::NotAllowed { principal, tool } => SpudError::NotAllowed { principal, tool },
            Refusal::NotApproved { plugin, message } => SpudError::NotApproved { plugin, message },
            Refusal::Other { message } => SpudError::Elsewhere(message),
        }
    }
}

/// A worker's answer to a task.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Answer {
    /// The worker that ran it.
    pub worker: String,
    /// Which delivery of the task it ran.
    pub delivery: u64,
    /// Whether its calls may have run before (a redelivery).
    pub possibly_repeated: bool,
    /// The child's report as JSON, or why it did not run.
    pub outcome: Result<Value, String>,
}

/// The part of a child's report its parent reads, as the worker sent it.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Returned {
    status: Option<RunStatus>,
    steps: u64,
    retries: u64,
    backtracks: u64,
    revisions: u64,
    fuel: u64,
    net_bytes: u64,
    denied: u64,
    data: DataFlow,
    usage: Usage,
    wall_ms: u64,
    results: BTreeMap<String, Value>,
    failed: BTreeMap<String, String>,
    corrections: Corrections,
}

/// The run report of child `id` from the worker's report JSON.
pub(super) fn report_of(id: &str, worker: &str, json: Value) -> Result<RunReport, String> {
    let r: Returned =
        serde_json::from_value(json).map_err(|e| format!("its report does not parse: {e}"))?;
    Ok(RunReport {
        id: id.to_string(),
        status: r.status.unwrap_or(RunStatus::Failed),
        dir: PathBuf::from(format!("{worker}:runs/{id}")),
        steps: r.steps,
        retries: r.retries,
        backtracks: r.backtracks,
        revisions: r.revisions,
        fuel: r.fuel,
        net_bytes: r.net_bytes,
        denied: r.denied,
        data: r.data,
        usage: r.usage,
        wall_ms: r.wall_ms,
        results: r.results,
        failed: r.failed,
        superseded: Default::default(),
        subagents: Vec::new(),
        figures: Figures::default(),
        memory_warning: None,
        corrections: r.corrections,
        lessons: Vec::new(),
    })
}
