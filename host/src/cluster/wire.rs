//! What a task carries to its worker and what comes back: the sub-agent's plan with the caller
//! it runs as ([`SubAgentTask`]), and the worker's [`Answer`] with the child's report.

use crate::agent::RunReport;
use crate::model::Usage;
use crate::orchestrator::figures::{DataFlow, Figures};
use crate::plan::{Corrections, Plan, RunStatus};
use crate::service::Caller;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// A sub-agent's run: its plan (budget and deadline allocated) and whom it calls tools as.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct SubAgentTask {
    /// The plan.
    pub plan: Plan,
    /// The name its calls are recorded under (`PRINCIPAL/STEP`).
    pub principal: String,
    /// The policy principal whose narrowing applies; `None`: the operator.
    pub narrowing: Option<String>,
    /// Its scopes, outermost first.
    pub scopes: Vec<spud_policy::Scope>,
}

impl SubAgentTask {
    /// The task for `plan` run as `caller`.
    pub fn new(plan: Plan, caller: &Caller) -> SubAgentTask {
        SubAgentTask {
            plan,
            principal: caller.principal.clone(),
            narrowing: caller.narrowing.as_ref().map(|p| p.name.clone()),
            scopes: caller.scopes.iter().map(|s| (**s).clone()).collect(),
        }
    }

    /// The caller it runs as under `policy`; a principal the policy does not know is refused.
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
