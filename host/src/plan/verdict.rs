//! What the critic says about a step's result: the checks, a 0–1 score, feedback, and the
//! [`Verdict`] that decides what the loop does next. Recorded in traces; read by memory.

use serde::{Deserialize, Serialize};

/// One check and whether it passed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// What was checked.
    pub what: String,
    /// Whether it passed.
    pub passed: bool,
}

/// The critic's verdict on one result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Critique {
    /// passed checks ÷ checks.
    pub score: f64,
    /// The checks.
    pub checks: Vec<Check>,
    /// What went wrong, for a retry or the trace.
    pub feedback: String,
}

/// What the loop does with a step after the critique.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Good enough: the step is done.
    Accept,
    /// Try the same call again.
    Retry,
    /// Switch to the step's next alternative.
    Backtrack,
    /// Nothing left to try: the step failed.
    Fail,
}
