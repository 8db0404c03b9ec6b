//! The agent loop: a plan (from a plan file, or made by a model from a goal) runs step by step —
//! execute, critique, accept / retry / backtrack / revise — with sub-agents delegated to the
//! orchestrator's scheduler, budgets held by a ledger, and every transition traced.
//!
//! Files, bottom up: `ledger`, `critic`, `judge`, `prompts` → `revise` → `options` →
//! `context`, `progress` → `planner`, `settle`, `share`, `call` → `admission`, `child` →
//! `delegate` → `step` → `report` → `finish` → `run` → `watch` → `converse` → `goal`; `callable`
//! (the tools a model may call, and how the names it gives resolve) sits beside `prompts`.

mod admission;
mod call;
pub mod callable;
mod child;
pub mod compact;
mod context;
pub mod converse;
pub mod critic;
mod delegate;
mod finish;
pub mod goal;
pub mod judge;
mod ledger;
pub mod options;
pub mod planner;
mod progress;
pub mod prompts;
pub mod report;
pub mod revise;
pub mod run;
mod settle;
mod share;
pub mod step;
pub mod watch;

pub use converse::{converse, Conversation};
pub use goal::{run_goal, GoalOptions, GoalReport};
pub use options::{AgentError, Dispatch, RemoteChild, RemoteRun, RunOptions, RunReport};
pub use planner::PlannerError;
pub use prompts::DEFAULT_OUTPUT_BYTES;
pub use revise::Reviser;
pub use run::{run_plan, run_with};
pub use watch::{Live, LiveText};
