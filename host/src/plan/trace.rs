//! A run's trace: every state transition as a typed event, one JSON line each, under
//! `<home>/runs/<run-id>/trace.jsonl`, written as it happens so a crash keeps what happened.

use super::budget::Budget;
use super::step::Step;
use super::verdict::{Critique, Verdict};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Every step was accepted.
    Done,
    /// A step failed with nothing left to try.
    Failed,
    /// A budget ran out.
    BudgetExhausted,
    /// Stopped from outside before it ended (a sub-agent whose parent stopped or was
    /// cancelled).
    Cancelled,
}

/// One state transition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum TraceEvent {
    /// The plan changed: either this run re-plans an earlier, failed run (`previous_run`), or
    /// the model revised the steps not yet started after `after_step` ended.
    PlanRevised {
        /// The run whose plan this one revises.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        previous_run: Option<String>,
        /// The step after which the plan was revised during this run.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after_step: Option<String>,
        /// Why, in the model's words.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        reason: String,
        /// Steps that are new.
        added: Vec<String>,
        /// Steps that were dropped.
        removed: Vec<String>,
        /// Steps whose tool, arguments, dependencies or expectations changed.
        changed: Vec<String>,
        /// For a revision during the run: the steps that now follow (new and changed ones).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        steps: Vec<Step>,
    },
    /// The model proposed a revision that does not fit the run so far; the plan is unchanged.
    RevisionRejected {
        /// The step after which it was asked.
        after_step: String,
        /// What was wrong.
        reason: String,
    },
    /// The model corrected a step's arguments from the critic's feedback before a retry.
    ArgsCorrected {
        /// Step id.
        step: String,
        /// The attempt that uses them.
        attempt: u32,
        /// The new arguments.
        args: serde_json::Value,
        /// The feedback they answer.
        feedback: String,
        /// Another tool the correction calls, when it changes the tool.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tool: Option<String>,
    },
    /// The run began.
    Started {
        /// Run id.
        run: String,
        /// The goal.
        goal: String,
        /// The plan (as given).
        plan: serde_json::Value,
    },
    /// Lessons from earlier runs were used for this run (see `spud memory show ID`).
    LessonsUsed {
        /// Lesson ids.
        ids: Vec<i64>,
        /// Their texts.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        lessons: Vec<String>,
        /// Steps whose alternatives were reordered so the one that worked before goes first.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        reordered: Vec<String>,
    },
    /// A step's call begins (attempt 0 is the plan's own call).
    StepStarted {
        /// Step id.
        step: String,
        /// Attempt number within the step.
        attempt: u32,
        /// Which alternative (0 = the step itself).
        alternative: usize,
        /// Tool.
        tool: String,
        /// Arguments after references were resolved.
        args: serde_json::Value,
    },
    /// A call returned.
    StepFinished {
        /// Step id.
        step: String,
        /// Attempt.
        attempt: u32,
        /// Outcome kind.
        outcome: String,
        /// Result or message, cut to a few KiB.
        output: String,
        /// Fuel used.
        fuel: u64,
        /// Duration, µs.
        duration_us: u64,
        /// Budget left after this call.
        #[serde(default)]
        left: BudgetLeft,
    },
    /// The critic's verdict.
    Critiqued {
        /// Step id.
        step: String,
        /// Attempt.
        attempt: u32,
        /// The critique.
        critique: Critique,
        /// What the loop does next.
        verdict: Verdict,
        /// For a correction (retry or alternative): the score before it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        previous_score: Option<f64>,
    },
    /// A step kept an earlier, better attempt: a later one scored lower, or a judge vetoed the
    /// earlier one (its checks passed) and nothing after it did better.
    BestKept {
        /// Step id.
        step: String,
        /// The attempt kept.
        attempt: u32,
        /// Its score.
        score: f64,
        /// The score of the last attempt, which was not kept.
        over_score: f64,
    },
    /// A step failed before its call (e.g. a reference could not be resolved).
    StepBlocked {
        /// Step id.
        step: String,
        /// Why.
        reason: String,
    },
    /// The goal is worked on by tool calling instead of a plan, and why (the model could not
    /// produce a valid plan).
    LoopFallback {
        /// Why.
        reason: String,
    },
    /// One turn of the tool-calling loop: what the model said and which tools it called.
    ModelTurn {
        /// Turn number, from 1.
        turn: u32,
        /// Its text, cut.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        text: String,
        /// The tools it called, as it named them.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        calls: Vec<String>,
        /// Prompt tokens (the provider's usage fields).
        input_tokens: u64,
        /// Answer tokens.
        output_tokens: u64,
        /// The model that answered, when a failover chain is in use.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        model: Option<String>,
    },
    /// The conversation was compacted before a request that would overflow the model's
    /// context: older tool outputs were cut.
    Compacted {
        /// The turn about to be asked.
        turn: u32,
        /// The request's estimated prompt tokens before compacting.
        estimated_tokens: u64,
        /// The prompt tokens allowed (the context less room for the answer).
        limit: u64,
        /// Tool outputs cut.
        outputs_cut: u64,
        /// Estimated tokens saved.
        saved_tokens: u64,
    },
    /// A failover chain moved on to its next model, which continues the run.
    ModelSwitched {
        /// The model that failed.
        from: String,
        /// The model that continues.
        to: String,
        /// Why.
        reason: String,
    },
    /// Streaming was turned off for a model for the rest of the run (`stream = "auto"`): its
    /// server could not stream a request, which was asked again without streaming.
    StreamingOff {
        /// The model, as its API knows it.
        model: String,
        /// What showed the server cannot stream.
        reason: String,
    },
    /// A tool name the model gave was resolved to a callable tool (`list` → `fs.list`).
    ToolResolved {
        /// The step the call became.
        step: String,
        /// The name the model gave.
        asked: String,
        /// The tool called.
        tool: String,
    },
    /// A tool call was not made: unknown or ambiguous tool, arguments that are not a JSON
    /// object. The reason went back to the model.
    CallRejected {
        /// The turn.
        turn: u32,
        /// The name the model gave.
        tool: String,
        /// Why, with the candidates.
        reason: String,
    },
    /// The tool-calling loop ended with the model's answer.
    Answered {
        /// The answer, cut.
        text: String,
    },
    /// A budget ran out.
    BudgetExhausted {
        /// Which budget.
        budget: String,
        /// Used so far.
        used: u64,
        /// The limit.
        limit: u64,
    },
    /// A sub-agent got its slot and started.
    SubAgentStarted {
        /// The parent's step.
        step: String,
        /// The sub-agent's run id.
        run: String,
        /// Its priority.
        priority: i64,
        /// How long it waited for a slot, ms.
        queued_ms: u64,
        /// The budget it was given.
        budget: Budget,
    },
    /// A sub-agent ended.
    SubAgentFinished {
        /// The parent's step.
        step: String,
        /// The sub-agent's run id.
        run: String,
        /// How.
        status: RunStatus,
        /// Tool calls it made.
        steps: u64,
        /// Fuel it used.
        fuel: u64,
        /// Its wall time, ms.
        wall_ms: u64,
    },
    /// A sub-agent asked for more than its parent holds and was refused.
    SubAgentDenied {
        /// The parent's step.
        step: String,
        /// What was asked and not held.
        missing: Vec<String>,
    },
    /// A step's final output carried registered secrets; they were redacted before it left.
    OutputRedacted {
        /// The step.
        step: String,
    },
    /// An event that was no longer valid JSON once its registered secrets were redacted (a
    /// pattern spanning a quote, say): its redacted text, never the event itself.
    Redacted {
        /// The event's JSON with its secrets redacted.
        text: String,
    },
    /// The run ended.
    Finished {
        /// How.
        status: RunStatus,
        /// Tool calls made.
        steps: u64,
        /// Retries.
        retries: u64,
        /// Backtracks to alternatives.
        backtracks: u64,
        /// Total fuel.
        fuel: u64,
        /// Wall time, ms.
        wall_ms: u64,
    },
}

/// What remains of a run's budgets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetLeft {
    /// Tool calls.
    pub steps: u64,
    /// Fuel.
    pub fuel: u64,
    /// Network bytes.
    pub net_bytes: u64,
    /// Wall time, ms.
    pub wall_ms: u64,
}

/// One line of a trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceLine {
    /// ms since the run started.
    pub at_ms: u64,
    /// The event.
    #[serde(flatten)]
    pub event: TraceEvent,
}

/// Appends trace lines to a file.
pub struct TraceWriter {
    path: PathBuf,
    file: Mutex<std::fs::File>,
}

impl TraceWriter {
    /// Creates `<dir>/trace.jsonl`.
    pub fn create(dir: &Path) -> std::io::Result<TraceWriter> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join("trace.jsonl");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        Ok(TraceWriter {
            path,
            file: Mutex::new(file),
        })
    }

    /// The trace file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes one line (each line with one write, so lines never interleave).
    pub fn write(&self, line: &TraceLine) -> std::io::Result<()> {
        let mut bytes = serde_json::to_vec(line)?;
        bytes.push(b'\n');
        let mut f = self
            .file
            .lock()
            .map_err(|_| std::io::Error::other("trace writer poisoned"))?;
        f.write_all(&bytes)
    }
}

/// Reads a trace file (lines that do not parse are skipped).
pub fn read(path: &Path) -> std::io::Result<Vec<TraceLine>> {
    let text = std::fs::read_to_string(path)?;
    Ok(text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect())
}
