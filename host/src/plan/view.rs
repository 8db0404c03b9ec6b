//! The plan-tree view of a run read back from its trace, used by `spud runs show`, the written
//! report and memory: each step's calls, outcomes, critic scores and decisions, and how the
//! self-corrections went.

use super::spec::Plan;
use super::step::Step;
use super::trace::{TraceEvent, TraceLine};
use serde::Serialize;
use std::collections::BTreeMap;

/// One call of a step, as the trace tells it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AttemptView {
    /// Attempt number.
    pub attempt: u32,
    /// Alternative used (0 = the step itself).
    pub alternative: usize,
    /// Tool.
    pub tool: String,
    /// Outcome kind.
    pub outcome: String,
    /// Output (cut).
    pub output: String,
    /// Critic score.
    pub score: Option<f64>,
    /// Critic verdict.
    pub verdict: Option<super::verdict::Verdict>,
    /// Critic feedback.
    pub feedback: String,
    /// Arguments the model corrected for this attempt, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub corrected_args: Option<serde_json::Value>,
}

/// A step in the tree.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StepView {
    /// Step id.
    pub id: String,
    /// Sub-goal it belongs to.
    pub goal: Option<String>,
    /// Added by a revision during the run (after this step).
    pub added_after: Option<String>,
    /// Dropped by a revision before it started.
    pub removed: bool,
    /// Dependencies.
    pub after: Vec<String>,
    /// Calls made.
    pub attempts: Vec<AttemptView>,
    /// Why it could not run, if it could not.
    pub blocked: Option<String>,
}

/// The share of self-corrections that made a long task worse in the reference design spud
/// implements (6%), shown beside spud's own share.
pub const REFERENCE_WORSE_SHARE: f64 = 0.06;

/// Self-corrections (retries and backtracks) and whether they helped.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Corrections {
    /// How many.
    pub total: u64,
    /// Raised the step's score.
    pub improved: u64,
    /// Lowered it.
    pub worsened: u64,
    /// worsened ÷ total (0 when there were none).
    pub worse_share: f64,
}

/// A run as a plan tree.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunView {
    /// Run id.
    pub run: String,
    /// Goal.
    pub goal: String,
    /// Steps in plan order.
    pub steps: Vec<StepView>,
    /// Self-corrections.
    pub corrections: Corrections,
    /// The final event (status and totals), if the run finished.
    pub finished: Option<TraceEvent>,
    /// For a re-plan: which run it revises and how the plan changed.
    pub revises: Option<String>,
    /// Revisions of the plan during the run (and proposals rejected), in order.
    pub revisions: Vec<String>,
    /// A budget that ran out: name, used, limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exhausted: Option<(String, u64, u64)>,
    /// Lessons from earlier runs that were used, and steps they reordered.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lessons: Vec<String>,
    /// The model's answer, when the run was worked on by tool calling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
}

/// Builds the tree from a trace.
pub fn view(lines: &[TraceLine]) -> RunView {
    let mut b = Builder::default();
    for line in lines {
        b.apply(&line.event);
    }
    let mut v = b.v;
    if v.corrections.total > 0 {
        v.corrections.worse_share = v.corrections.worsened as f64 / v.corrections.total as f64;
    }
    v
}

/// The tree as it is built, event by event.
#[derive(Default)]
struct Builder {
    v: RunView,
    /// Where each step is in `v.steps`.
    index: BTreeMap<String, usize>,
    /// Corrected arguments wait here for the attempt that uses them.
    corrections: BTreeMap<String, serde_json::Value>,
}

impl Corrections {
    /// Adds `other`'s counts (for a share across runs).
    pub fn add(&mut self, other: &Corrections) {
        self.total += other.total;
        self.improved += other.improved;
        self.worsened += other.worsened;
        self.worse_share = if self.total == 0 {
            0.0
        } else {
            self.worsened as f64 / self.total as f64
        };
    }
}

impl Builder {
    /// Takes in one event; every kind of event is named here, each group handled by one
    /// method.
    fn apply(&mut self, event: &TraceEvent) {
        match event {
            TraceEvent::Started { run, goal, plan } => self.started(run, goal, plan),
            TraceEvent::StepStarted { .. }
            | TraceEvent::StepFinished { .. }
            | TraceEvent::Critiqued { .. }
            | TraceEvent::OutputRedacted { .. } => self.attempt(event),
            TraceEvent::SubAgentStarted { .. }
            | TraceEvent::SubAgentFinished { .. }
            | TraceEvent::SubAgentDenied { .. } => self.sub_agent(event),
            TraceEvent::PlanRevised { .. } | TraceEvent::RevisionRejected { .. } => {
                self.revision(event)
            }
            TraceEvent::StepBlocked { step, reason } => {
                if let Some(s) = self.step(step) {
                    s.blocked = Some(reason.clone());
                }
            }
            TraceEvent::ArgsCorrected { step, args, .. } => {
                self.corrections.insert(step.clone(), args.clone());
            }
            TraceEvent::LessonsUsed {
                ids,
                lessons,
                reordered,
            } => self.lessons(ids, lessons, reordered),
            TraceEvent::BudgetExhausted {
                budget,
                used,
                limit,
            } => self.v.exhausted = Some((budget.clone(), *used, *limit)),
            e @ TraceEvent::Finished { .. } => self.v.finished = Some(e.clone()),
            TraceEvent::LoopFallback { reason } => {
                self.v.revisions.push(format!("worked on by tool calling: {reason}"))
            }
            TraceEvent::CallRejected { turn, tool, reason } => self
                .v
                .revisions
                .push(format!("turn {turn}: call of `{tool}` not made: {reason}")),
            TraceEvent::Answered { text } => self.v.answer = Some(text.clone()),
            TraceEvent::BestKept {
                step,
                attempt,
                score,
                over_score,
            } => self.v.revisions.push(format!(
                "{step}: attempt {attempt} kept (score {score:.2}) over the last one ({over_score:.2})"
            )),
            TraceEvent::ModelSwitched { from, to, reason } => self
                .v
                .revisions
                .push(format!("model `{from}` out ({reason}); `{to}` continues")),
            TraceEvent::StreamingOff { model, reason } => self
                .v
                .revisions
                .push(format!("streaming off for `{model}`: {reason}")),
            TraceEvent::Compacted {
                turn,
                estimated_tokens,
                limit,
                outputs_cut,
                ..
            } => self.v.revisions.push(format!(
                "before turn {turn}: {outputs_cut} older tool outputs cut ({estimated_tokens} tokens estimated, {limit} allowed)"
            )),
            TraceEvent::ModelTurn { .. } | TraceEvent::ToolResolved { .. } => {}
            // What it was cannot be told without its secrets: it stays out of the view.
            TraceEvent::Redacted { .. } => {}
        }
    }

    /// Step `id`, if the plan has it.
    fn step(&mut self, id: &str) -> Option<&mut StepView> {
        self.index.get(id).map(|i| &mut self.v.steps[*i])
    }

    /// The last call of step `id`, if it made one.
    fn last_attempt(&mut self, id: &str) -> Option<&mut AttemptView> {
        self.index
            .get(id)
            .and_then(|i| self.v.steps[*i].attempts.last_mut())
    }

    /// Adds step `s` (unless it is there), `added_after` a step when a revision added it.
    fn add_step(&mut self, s: Step, added_after: Option<String>) {
        if self.index.contains_key(&s.id) {
            return;
        }
        self.index.insert(s.id.clone(), self.v.steps.len());
        self.v.steps.push(StepView {
            id: s.id,
            goal: s.goal,
            added_after,
            after: s.after,
            ..Default::default()
        });
    }

    /// The run's start: its id, goal and planned steps.
    fn started(&mut self, run: &str, goal: &str, plan: &serde_json::Value) {
        self.v.run = run.to_string();
        self.v.goal = goal.to_string();
        if let Ok(p) = serde_json::from_value::<Plan>(plan.clone()) {
            for s in p.steps {
                self.add_step(s, None);
            }
        }
    }

    /// A step's call: started, finished, critiqued, or its output redacted.
    fn attempt(&mut self, event: &TraceEvent) {
        match event {
            TraceEvent::StepStarted {
                step,
                attempt,
                alternative,
                tool,
                ..
            } => {
                if !self.index.contains_key(step) {
                    // Tool calling: each call is a step of its own, not in the plan.
                    if let Ok(s) = serde_json::from_value::<Step>(serde_json::json!({"id": step})) {
                        self.add_step(s, None);
                    }
                }
                if let Some(&i) = self.index.get(step) {
                    self.v.steps[i].attempts.push(AttemptView {
                        attempt: *attempt,
                        alternative: *alternative,
                        tool: tool.clone(),
                        corrected_args: self.corrections.remove(step),
                        ..Default::default()
                    });
                }
            }
            TraceEvent::StepFinished {
                step,
                outcome,
                output,
                ..
            } => {
                if let Some(a) = self.last_attempt(step) {
                    a.outcome = outcome.clone();
                    a.output = output.clone();
                }
            }
            TraceEvent::Critiqued {
                step,
                critique,
                verdict,
                previous_score,
                ..
            } => self.critiqued(step, critique, *verdict, *previous_score),
            TraceEvent::OutputRedacted { step } => {
                if let Some(a) = self.last_attempt(step) {
                    a.output
                        .push_str(" (registered secrets redacted from the final output)");
                }
            }
            _ => {}
        }
    }

    /// The critic's score and verdict on a step's last call; a correction (an attempt after
    /// an earlier one, scored `previous`) counted as it went.
    fn critiqued(
        &mut self,
        step: &str,
        critique: &super::verdict::Critique,
        verdict: super::verdict::Verdict,
        previous: Option<f64>,
    ) {
        if let Some(a) = self.last_attempt(step) {
            a.score = Some(critique.score);
            a.verdict = Some(verdict);
            a.feedback = critique.feedback.clone();
        }
        if let Some(prev) = previous {
            let c = &mut self.v.corrections;
            c.total += 1;
            if critique.score > prev {
                c.improved += 1;
            } else if critique.score < prev {
                c.worsened += 1;
            }
        }
    }

    /// A sub-agent of a step: started, finished, or denied.
    fn sub_agent(&mut self, event: &TraceEvent) {
        match event {
            TraceEvent::SubAgentStarted {
                step,
                run,
                priority,
                queued_ms,
                ..
            } => {
                if let Some(s) = self.step(step) {
                    s.attempts.push(AttemptView {
                        tool: format!(
                            "sub-agent {run} (priority {priority}, queued {queued_ms} ms)"
                        ),
                        ..Default::default()
                    });
                }
            }
            TraceEvent::SubAgentFinished {
                step,
                status,
                steps,
                wall_ms,
                ..
            } => {
                if let Some(a) = self.last_attempt(step) {
                    a.outcome = format!("{status:?}").to_lowercase();
                    a.output = format!("{steps} tool calls in {wall_ms} ms");
                }
            }
            TraceEvent::SubAgentDenied { step, missing } => {
                if let Some(s) = self.step(step) {
                    s.attempts.push(AttemptView {
                        tool: "sub-agent".into(),
                        outcome: "denied".into(),
                        output: format!(
                            "asks for more than its parent holds: {}",
                            missing.join("; ")
                        ),
                        ..Default::default()
                    });
                }
            }
            _ => {}
        }
    }

    /// A change of plan: a re-plan of an earlier run, a revision during this one, or a
    /// proposal rejected.
    fn revision(&mut self, event: &TraceEvent) {
        match event {
            TraceEvent::PlanRevised {
                previous_run: Some(previous_run),
                added,
                removed,
                changed,
                ..
            } => {
                self.v.revises = Some(format!(
                    "revises run {previous_run}: added [{}], removed [{}], changed [{}]",
                    added.join(", "),
                    removed.join(", "),
                    changed.join(", ")
                ));
            }
            TraceEvent::PlanRevised {
                previous_run: None,
                after_step,
                reason,
                added,
                removed,
                changed,
                steps,
            } => {
                let after = after_step.clone().unwrap_or_default();
                self.v.revisions.push(format!(
                    "after {after}: added [{}], removed [{}], changed [{}] — {reason}",
                    added.join(", "),
                    removed.join(", "),
                    changed.join(", ")
                ));
                self.revised(after_step, removed, steps);
            }
            TraceEvent::RevisionRejected { after_step, reason } => self
                .v
                .revisions
                .push(format!("after {after_step}: proposal rejected — {reason}")),
            _ => {}
        }
    }

    /// The steps a revision during the run dropped (`removed`) and gave (`steps`): new ones
    /// added after `after_step`, known ones with their new dependencies and sub-goal.
    fn revised(&mut self, after_step: &Option<String>, removed: &[String], steps: &[Step]) {
        for id in removed {
            if let Some(s) = self.step(id) {
                s.removed = true;
            }
        }
        for s in steps {
            if let Some(old) = self.step(&s.id) {
                old.after = s.after.clone();
                old.goal = s.goal.clone();
            } else {
                self.add_step(s.clone(), after_step.clone());
            }
        }
    }

    /// Lessons from earlier runs that were used, and the steps they reordered.
    fn lessons(&mut self, ids: &[i64], lessons: &[String], reordered: &[String]) {
        for (i, id) in ids.iter().enumerate() {
            let text = lessons.get(i).map_or("", String::as_str);
            self.v.lessons.push(format!("lesson {id}: {text}"));
        }
        if !reordered.is_empty() {
            self.v.lessons.push(format!(
                "alternatives reordered for: {}",
                reordered.join(", ")
            ));
        }
    }
}
