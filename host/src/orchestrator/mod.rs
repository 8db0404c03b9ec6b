//! Sub-agent orchestration shared by a whole tree of runs: the priority [`scheduler`] (with its
//! pure [`queue`]), the record of every sub-agent, and the run's [`figures`] computed from it.
//! The plan-file side (the `agent` step, `[agents]` settings, budget shares) is in
//! `plan::budget` and `plan::step`; running a sub-agent is `agent::delegate`.

pub mod approval;
pub mod figures;
mod flow;
pub mod prometheus;
pub mod queue;
pub mod scheduler;
mod tree;

pub use tree::{SubAgentRecord, Tree, TreeContext};
