//! The agent loop. Offline, a plan file gives the goal, steps, tool calls, expectations and
//! alternatives; the same executor, critic and budgets run it with no model.

pub mod critic;
mod delegate;
pub mod judge;
mod ledger;
pub mod plan;
pub mod planner;
pub mod refs;
pub mod report;
pub mod revise;
pub mod run;
pub mod step;
pub mod subagent;
pub mod trace;

pub use plan::{Plan, PlanError};
pub use revise::{ReviseWhen, Reviser};
pub use run::{run_plan, run_with, AgentError, RunOptions, RunReport};
pub use trace::{RunStatus, TraceEvent, TraceLine};
