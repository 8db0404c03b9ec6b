//! The vocabulary of a run, below the loop that uses it: plans and steps ([`spec`], [`step`]),
//! budgets and sub-agent shares ([`budget`]), argument references ([`refs`]), the critic's
//! verdicts ([`verdict`]), trace events ([`trace`]) and the run view read back from a trace
//! ([`view`]), rendered for people ([`show`]). `agent`, `orchestrator`, `memory`, `config`, `launch` and `mcp` import it; it
//! imports nothing of theirs. Pure data and logic, apart from writing and reading trace files.

pub mod budget;
pub mod refs;
pub mod show;
pub mod spec;
pub mod step;
pub mod trace;
pub mod verdict;
pub mod view;

pub use budget::{allocate, share, AgentSettings, Allocation, Budget, BudgetRequest};
pub use show::render;
pub use spec::{CriticSettings, LoopMode, Plan, PlanError, ReviseWhen};
pub use step::{lift_spawn_agents, Alternative, Expectation, Step, SubAgent, SPAWN_AGENT};
pub use trace::{read as read_trace, BudgetLeft, RunStatus, TraceEvent, TraceLine, TraceWriter};
pub use verdict::{Check, Critique, Verdict};
pub use view::{view, AttemptView, Corrections, RunView, StepView, REFERENCE_WORSE_SHARE};
