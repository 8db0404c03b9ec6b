//! A run's tree of sub-agents: the shared scheduler, the records of every sub-agent that ran
//! (or was refused), and where one run sits in it.

use super::approval;
use super::flow::DataFlow;
use super::scheduler::{Scheduler, Slot};
use crate::plan::{AgentSettings, Budget, RunStatus};
use serde::Serialize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How one sub-agent went.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct SubAgentRecord {
    /// Its run id (`parent.step`).
    pub run: String,
    /// The parent's run id.
    pub parent: String,
    /// The parent's step.
    pub step: String,
    /// Nesting depth (the root's children are 1).
    pub depth: u32,
    /// Priority.
    pub priority: i64,
    /// How it ended; `None` when it was refused before starting.
    pub status: Option<RunStatus>,
    /// When it asked for a slot, ms since the tree started.
    pub requested_ms: u64,
    /// Time waiting for a slot, ms.
    pub queued_ms: u64,
    /// Time running, ms.
    pub busy_ms: u64,
    /// Budget it was given.
    pub allocated: Budget,
    /// What it used of it (`max_wall_ms` = wall time).
    pub used: Budget,
    /// Capabilities it asked for (tool patterns and grant items).
    pub capability_requests: u64,
    /// Those its parent did not hold.
    pub violations: Vec<String>,
    /// Its tool calls (and its sub-agents') that a grant denied.
    #[serde(default)]
    pub denied_calls: u64,
    /// Data it (and its sub-agents) moved, leaked and stored.
    #[serde(default)]
    pub data: DataFlow,
}

/// What every run of one tree shares.
pub struct Tree {
    /// Sub-agent slots.
    pub scheduler: Arc<Scheduler>,
    /// The root plan's settings.
    pub settings: AgentSettings,
    /// Who approves sub-agents that need it; `None`: such requests are denied.
    pub approver: Option<Arc<dyn approval::Approver>>,
    /// The models sub-agents may name; `None`: naming one refuses the sub-agent.
    pub models: Option<Arc<dyn crate::model::Models>>,
    records: Mutex<Vec<SubAgentRecord>>,
    origin: Instant,
}

impl Tree {
    /// A tree for a root plan with `settings`.
    pub fn new(
        settings: AgentSettings,
        approver: Option<Arc<dyn approval::Approver>>,
        models: Option<Arc<dyn crate::model::Models>>,
    ) -> Arc<Tree> {
        Arc::new(Tree {
            scheduler: Scheduler::new(
                settings.max_parallel,
                Duration::from_millis(settings.aging_ms),
            ),
            settings,
            approver,
            models,
            records: Mutex::new(Vec::new()),
            origin: Instant::now(),
        })
    }

    /// ms since the tree started.
    pub fn now_ms(&self) -> u64 {
        self.origin.elapsed().as_millis() as u64
    }

    /// Adds a sub-agent's record.
    pub fn record(&self, r: SubAgentRecord) {
        if let Ok(mut v) = self.records.lock() {
            v.push(r);
        }
    }

    /// Every record below run `run` (its sub-agents at any depth), in order of request.
    pub fn records_under(&self, run: &str) -> Vec<SubAgentRecord> {
        let prefix = format!("{run}.");
        let mut v: Vec<SubAgentRecord> = self
            .records
            .lock()
            .map(|v| {
                v.iter()
                    .filter(|r| r.run.starts_with(&prefix))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        v.sort_by(|a, b| a.requested_ms.cmp(&b.requested_ms).then(a.run.cmp(&b.run)));
        v
    }
}

/// Where a run sits in its tree; given to [`crate::agent::run_with`] through
/// [`crate::agent::RunOptions::tree`] by the orchestrator (a root run makes its own).
#[derive(Clone)]
pub struct TreeContext {
    pub(crate) tree: Arc<Tree>,
    pub(crate) id: String,
    pub(crate) depth: u32,
    pub(crate) slot: Option<Arc<Slot>>,
}
