//! What a run is asked to do ([`Job`]), what it gives back ([`Finished`]) and why it could not
//! start ([`LaunchError`]).

use crate::agent::{AgentError, PlannerError};
use crate::plan::{Budget, Plan, RunStatus};
use std::path::PathBuf;

/// What to run.
#[derive(Debug, Clone)]
pub enum Job {
    /// A plan (from a plan file, or given over MCP), with its own budget.
    Plan(Plan),
    /// A goal for the planning model.
    Goal {
        /// The goal, in plain words.
        goal: String,
        /// Budget of each run (the first plan, then each re-plan).
        budget: Budget,
        /// Model tokens for the whole goal when the caller capped them; never more than the
        /// launcher's own `max_tokens`.
        max_tokens: Option<u64>,
    },
}

/// How a launched run ended.
#[derive(Debug, Clone)]
pub struct Finished {
    /// Its status (a goal's: the last run's).
    pub status: RunStatus,
    /// The folder of its (last) run: trace, `report.md`, `report.json`.
    pub dir: PathBuf,
    /// The whole report: a run report for a plan, a goal report (every run) for a goal.
    pub report: serde_json::Value,
    /// Why memory was not used or updated, once per run that says so.
    pub memory_warnings: Vec<String>,
}

/// Why a run could not start, or stopped before it had a report. These go back to whoever
/// launched it (the terminal, the MCP client); they never abort spud.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// spud's config file, or a model it names, cannot be used.
    #[error("{0}")]
    Config(String),
    /// A goal needs a planning model and none was configured.
    #[error("a goal needs a planning model: give --model PROVIDER:MODEL or a [model] section in spud's config (or run a plan instead)")]
    NoModel,
    /// The run could not be traced or started.
    #[error(transparent)]
    Agent(#[from] AgentError),
    /// Planning failed before any run.
    #[error(transparent)]
    Planner(#[from] PlannerError),
}
