//! What a run is given ([`RunOptions`]), what it reports ([`RunReport`]), what stops it
//! before it starts ([`AgentError`]), and where its sub-agents may run instead of this process
//! ([`Dispatch`]).

use super::revise::Reviser;
use crate::model::{Provider, Usage};
use crate::plan::{Plan, RunStatus};
use crate::service::Caller;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

/// Failures that stop a run before it starts.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The run's folder or trace could not be written.
    #[error("cannot write the run's trace: {0}")]
    Trace(#[from] std::io::Error),
    /// A sub-agent without steps could not be planned.
    #[error("its goal could not be planned: {0}")]
    Planning(String),
    /// A sub-agent handed to another process (a cluster worker) did not come back with a
    /// report.
    #[error("it did not run remotely: {0}")]
    Remote(String),
}

/// What a finished run measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunReport {
    /// Run id.
    pub id: String,
    /// How it ended.
    pub status: RunStatus,
    /// Its folder (trace and report).
    pub dir: PathBuf,
    /// Tool calls made.
    pub steps: u64,
    /// Retries.
    pub retries: u64,
    /// Backtracks.
    pub backtracks: u64,
    /// Revisions of the plan during the run.
    pub revisions: u64,
    /// Total fuel.
    pub fuel: u64,
    /// Network bytes in + out.
    pub net_bytes: u64,
    /// Calls a grant denied.
    pub denied: u64,
    /// Data moved, leaks and storage, with sub-agents.
    #[serde(default)]
    pub data: crate::orchestrator::figures::DataFlow,
    /// Model tokens used for the run: its planning, and during it (judge, revisions,
    /// corrected arguments, sub-agents).
    pub usage: Usage,
    /// Wall time, ms.
    pub wall_ms: u64,
    /// Accepted results by step id.
    pub results: BTreeMap<String, Value>,
    /// Steps that failed, with why.
    pub failed: BTreeMap<String, String>,
    /// Failed steps whose work a later revision of the plan took over.
    #[serde(skip_serializing_if = "BTreeSet::is_empty")]
    pub superseded: BTreeSet<String>,
    /// Every sub-agent of the tree (root run only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subagents: Vec<crate::orchestrator::SubAgentRecord>,
    /// Coordination, scheduling, allocation, permission and cost figures (root run only).
    pub figures: crate::orchestrator::figures::Figures,
    /// Why the memory of past runs was not used or not updated (the run itself is unaffected).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_warning: Option<String>,
    /// Self-corrections (retries, alternatives) and how many made their step worse.
    pub corrections: crate::plan::Corrections,
    /// Lessons stored by this run's reflection.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lessons: Vec<i64>,
}

/// Optional parts of a run.
#[derive(Default, Clone)]
pub struct RunOptions {
    /// A model that judges each successful result (when the plan's critic has `judge = true`).
    pub judge: Option<Arc<dyn Provider>>,
    /// The run this one re-plans (its id and plan); the trace starts with the diff.
    pub previous: Option<(String, Plan)>,
    /// A model that revises the plan during the run and corrects arguments on retries.
    pub reviser: Option<Arc<Reviser>>,
    /// On whose behalf the steps call tools (an MCP principal's tools and grants); default:
    /// the operator.
    pub caller: Option<crate::service::Caller>,
    /// Where the run sits in a tree of sub-agents (set by the orchestrator for a sub-agent; a
    /// root run starts its own tree).
    pub tree: Option<crate::orchestrator::TreeContext>,
    /// Who approves sub-agents that may use plugins marked `approval = true` (root runs; a
    /// sub-agent's requests rise to its root). `None`: such sub-agents are refused.
    pub approver: Option<Arc<dyn crate::orchestrator::approval::Approver>>,
    /// The models sub-agents may name with `model = "…"` (root runs; shared by the tree).
    /// `None`: a sub-agent naming one is refused.
    pub models: Option<Arc<dyn crate::model::Models>>,
    /// Bytes of each tool output the model (judge, reviser) and the trace see; default 4096.
    pub model_output_bytes: Option<usize>,
    /// The memory of past runs: lessons before, reflection after (none: memory off).
    pub memory: Option<crate::memory::MemoryOptions>,
    /// Model prices for the cost figure (the config's `[model]` prices).
    pub prices: Option<crate::model::Prices>,
    /// Model tokens spent making this run's plan: part of its usage and cost, not of its
    /// budget (which the planner already lowered by them).
    pub planning: Usage,
    /// Failover switches of the goal's model already traced by earlier runs of the goal.
    pub switches_traced: usize,
    /// Where this run's sub-agents run instead of this process (`spud run --nats`: the
    /// cluster's workers); `None`: here. Only the run's own sub-agents are handed out: theirs
    /// run where they do.
    pub dispatch: Option<Arc<dyn Dispatch>>,
}

/// A sub-agent's run, ready to be run by another process. A root run given a [`Dispatch`]
/// (`spud run --nats`) hands each of its sub-agents' runs — admitted, funded and given a slot
/// here — to it; the root keeps the scheduler's order, the shares and the ledger, and the
/// sub-agent's plan runs under exactly the caller and budget it would have had locally.
#[derive(Debug, Clone)]
pub struct RemoteChild {
    /// Its run id (`PARENT.STEP`, `PARENT.STEP~N` for a retry).
    pub id: String,
    /// The root run it belongs to.
    pub root: String,
    /// Its plan, with its budget (deadline included) already allocated.
    pub plan: Plan,
    /// Whom it calls tools as: its parent narrowed by its scope.
    pub caller: Caller,
    /// The root run's whole budget: the limit of its ledger, which every sub-agent it hands
    /// out draws on.
    pub root_budget: crate::plan::Budget,
}

/// A remote run's future: the child's report, or why it could not run.
pub type RemoteRun = Pin<Box<dyn Future<Output = Result<RunReport, AgentError>> + Send>>;

/// Runs sub-agents' runs somewhere else (the cluster's workers).
pub trait Dispatch: Send + Sync {
    /// Runs `child` to its end elsewhere.
    fn dispatch(&self, child: RemoteChild) -> RemoteRun;
}
