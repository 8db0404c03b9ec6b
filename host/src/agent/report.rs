//! The written report of a run (`report.md` next to its trace) and the plan-tree view used by
//! `spud runs show`: each step's calls, outcomes, critic scores and decisions, and how the
//! self-corrections went.

use super::plan::Plan;
use super::run::RunReport;
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
    pub verdict: Option<String>,
    /// Critic feedback.
    pub feedback: String,
}

/// A step in the tree.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StepView {
    /// Step id.
    pub id: String,
    /// Dependencies.
    pub after: Vec<String>,
    /// Calls made.
    pub attempts: Vec<AttemptView>,
    /// Why it could not run, if it could not.
    pub blocked: Option<String>,
}

/// Self-corrections (retries and backtracks) and whether they helped.
#[derive(Debug, Clone, Default, Serialize)]
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
}

/// Builds the tree from a trace.
pub fn view(lines: &[TraceLine]) -> RunView {
    let mut v = RunView::default();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for line in lines {
        match &line.event {
            TraceEvent::Started { run, goal, plan } => {
                v.run = run.clone();
                v.goal = goal.clone();
                if let Ok(p) = serde_json::from_value::<Plan>(plan.clone()) {
                    for s in p.steps {
                        index.insert(s.id.clone(), v.steps.len());
                        v.steps.push(StepView {
                            id: s.id,
                            after: s.after,
                            ..Default::default()
                        });
                    }
                }
            }
            TraceEvent::StepStarted {
                step,
                attempt,
                alternative,
                tool,
                ..
            } => {
                if let Some(s) = index.get(step).map(|i| &mut v.steps[*i]) {
                    s.attempts.push(AttemptView {
                        attempt: *attempt,
                        alternative: *alternative,
                        tool: tool.clone(),
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
                if let Some(a) = index
                    .get(step)
                    .and_then(|i| v.steps[*i].attempts.last_mut())
                {
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
            } => {
                if let Some(a) = index
                    .get(step)
                    .and_then(|i| v.steps[*i].attempts.last_mut())
                {
                    a.score = Some(critique.score);
                    a.verdict = Some(format!("{verdict:?}").to_lowercase());
                    a.feedback = critique.feedback.clone();
                }
                if let Some(prev) = previous_score {
                    v.corrections.total += 1;
                    if critique.score > *prev {
                        v.corrections.improved += 1;
                    } else if critique.score < *prev {
                        v.corrections.worsened += 1;
                    }
                }
            }
            TraceEvent::StepBlocked { step, reason } => {
                if let Some(s) = index.get(step).map(|i| &mut v.steps[*i]) {
                    s.blocked = Some(reason.clone());
                }
            }
            TraceEvent::BudgetExhausted { .. } => {}
            TraceEvent::PlanRevised {
                previous_run,
                added,
                removed,
                changed,
            } => {
                v.revises = Some(format!(
                    "revises run {previous_run}: added [{}], removed [{}], changed [{}]",
                    added.join(", "),
                    removed.join(", "),
                    changed.join(", ")
                ));
            }
            e @ TraceEvent::Finished { .. } => v.finished = Some(e.clone()),
        }
    }
    if v.corrections.total > 0 {
        v.corrections.worse_share = v.corrections.worsened as f64 / v.corrections.total as f64;
    }
    v
}

/// Renders the tree for people.
pub fn render(v: &RunView) -> String {
    let mut out = format!("run {}\ngoal: {}\n", v.run, v.goal);
    if let Some(r) = &v.revises {
        out.push_str(&format!("{r}\n"));
    }
    if let Some(TraceEvent::Finished {
        status,
        steps,
        retries,
        backtracks,
        fuel,
        wall_ms,
    }) = &v.finished
    {
        out.push_str(&format!(
            "status: {status:?}, {steps} tool calls, {retries} retries, {backtracks} backtracks, fuel {fuel}, {wall_ms} ms\n"
        ));
    } else {
        out.push_str("status: not finished (the trace ends early)\n");
    }
    let c = &v.corrections;
    out.push_str(&format!(
        "self-corrections: {} ({} improved the step's score, {} made it worse: {:.0}%)\n",
        c.total,
        c.improved,
        c.worsened,
        c.worse_share * 100.0
    ));
    for s in &v.steps {
        let after = if s.after.is_empty() {
            String::new()
        } else {
            format!(" (after {})", s.after.join(", "))
        };
        out.push_str(&format!("\n- {}{after}\n", s.id));
        if let Some(b) = &s.blocked {
            out.push_str(&format!("    blocked: {b}\n"));
        }
        for a in &s.attempts {
            let alt = if a.alternative > 0 {
                format!(" [alternative {}]", a.alternative)
            } else {
                String::new()
            };
            out.push_str(&format!(
                "    #{} {}{alt}: {} — score {} → {}\n",
                a.attempt,
                a.tool,
                a.outcome,
                a.score.map_or("-".into(), |s| format!("{s:.2}")),
                a.verdict.as_deref().unwrap_or("-")
            ));
            if !a.feedback.is_empty() {
                out.push_str(&format!("       critic: {}\n", a.feedback));
            }
            let mut shown: String = a.output.chars().take(160).collect();
            if shown.len() < a.output.len() {
                shown.push('…');
            }
            out.push_str(&format!("       output: {shown}\n"));
        }
    }
    out
}

/// Writes `report.md` into the run's folder.
pub fn write(report: &RunReport, plan: &Plan, lines: &[TraceLine]) -> std::io::Result<()> {
    let v = view(lines);
    let mut md = format!(
        "# Run {}\n\n**Goal:** {}\n\n**Status:** {:?}\n\n",
        report.id, plan.goal, report.status
    );
    md.push_str(&format!(
        "| tool calls | retries | backtracks | fuel | wall time |\n|---|---|---|---|---|\n| {} | {} | {} | {} | {} ms |\n\n",
        report.steps, report.retries, report.backtracks, report.fuel, report.wall_ms
    ));
    md.push_str("## Plan tree\n\n```\n");
    md.push_str(&render(&v));
    md.push_str("```\n\n## Results\n\n");
    for (id, value) in &report.results {
        let text = serde_json::to_string_pretty(value).unwrap_or_default();
        let text: String = text.chars().take(2000).collect();
        md.push_str(&format!("### {id}\n\n```json\n{text}\n```\n\n"));
    }
    for (id, why) in &report.failed {
        md.push_str(&format!("### {id} (failed)\n\n{why}\n\n"));
    }
    std::fs::write(report.dir.join("report.md"), md)
}
