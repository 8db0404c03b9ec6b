//! Reflection by rules: a run's trace digested into what happened per step, and the
//! deterministic lessons drawn from it. Pure: no I/O, same trace → same lessons.

use crate::plan::Verdict;
use crate::plan::{TraceEvent, TraceLine};
use serde::{Deserialize, Serialize};

/// What a lesson is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LessonKind {
    /// A step's first way failed and a later alternative worked.
    Alternative,
    /// A step was denied: it needs a grant.
    Grant,
    /// A step's output was larger than its limit.
    OutputTooLarge,
    /// A run budget ran out.
    Budget,
    /// A step failed with nothing left to try.
    Failure,
    /// Written by the model from the run's summary.
    Model,
}

impl LessonKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            LessonKind::Alternative => "alternative",
            LessonKind::Grant => "grant",
            LessonKind::OutputTooLarge => "output_too_large",
            LessonKind::Budget => "budget",
            LessonKind::Failure => "failure",
            LessonKind::Model => "model",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<LessonKind> {
        Some(match s {
            "alternative" => LessonKind::Alternative,
            "grant" => LessonKind::Grant,
            "output_too_large" => LessonKind::OutputTooLarge,
            "budget" => LessonKind::Budget,
            "failure" => LessonKind::Failure,
            "model" => LessonKind::Model,
            _ => return None,
        })
    }
}

/// A lesson before it is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewLesson {
    /// What it is about.
    pub kind: LessonKind,
    /// The step it concerns (empty for run-wide lessons).
    pub step: String,
    /// Tools involved, space-separated.
    pub tools: String,
    /// Errors involved (outcome kinds and messages, cut).
    pub errors: String,
    /// For [`LessonKind::Alternative`]: the alternative that worked (0 = the step itself).
    pub worked: Option<usize>,
    /// For [`LessonKind::Alternative`]: the call that worked, `{"tool", "args"}` as planned.
    pub call: Option<serde_json::Value>,
    /// The lesson in words.
    pub text: String,
}

/// One call of a step, from the trace.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    /// Attempt number.
    pub attempt: u32,
    /// Alternative (0 = the step itself).
    pub alternative: usize,
    /// Tool called.
    pub tool: String,
    /// Outcome kind (`ok`, `denied`, ...), empty if the call never returned.
    pub outcome: String,
    /// Output or message, cut.
    pub output: String,
    /// Critic's verdict, if any.
    pub verdict: Option<Verdict>,
    /// Critic's feedback.
    pub feedback: String,
}

/// A step's attempts, in order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StepDigest {
    /// Step id.
    pub step: String,
    /// Calls.
    pub attempts: Vec<Attempt>,
    /// Why it was blocked before any call, if it was.
    pub blocked: Option<String>,
}

impl StepDigest {
    /// The accepted attempt, if any.
    pub fn accepted(&self) -> Option<&Attempt> {
        self.attempts
            .iter()
            .find(|a| a.verdict == Some(Verdict::Accept))
    }
}

/// What a run did, from its trace.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunDigest {
    /// Run id.
    pub run: String,
    /// Goal.
    pub goal: String,
    /// Steps that ran or were blocked, in plan order.
    pub steps: Vec<StepDigest>,
    /// A budget that ran out: name, used, limit.
    pub exhausted: Option<(String, u64, u64)>,
    /// Final status (`done`, `failed`, `budget_exhausted`), empty if the run did not finish.
    pub status: String,
    /// Tool calls.
    pub calls: u64,
    /// Retries.
    pub retries: u64,
    /// Backtracks.
    pub backtracks: u64,
    /// Fuel.
    pub fuel: u64,
    /// Wall time, ms.
    pub wall_ms: u64,
}

/// Digests a trace, from the same view of it the run's report is written from. Sub-agent
/// attempts are left out: a sub-agent's own run has its own digest.
pub fn digest(lines: &[TraceLine]) -> RunDigest {
    let v = crate::plan::view(lines);
    let (status, calls, retries, backtracks, fuel, wall_ms) = match &v.finished {
        Some(TraceEvent::Finished {
            status,
            steps,
            retries,
            backtracks,
            fuel,
            wall_ms,
        }) => (
            serde_json::to_value(status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            *steps,
            *retries,
            *backtracks,
            *fuel,
            *wall_ms,
        ),
        _ => Default::default(),
    };
    let steps = v
        .steps
        .into_iter()
        .map(|s| StepDigest {
            step: s.id,
            attempts: s
                .attempts
                .into_iter()
                .filter(|a| !a.tool.starts_with("sub-agent"))
                .map(|a| Attempt {
                    attempt: a.attempt,
                    alternative: a.alternative,
                    tool: a.tool,
                    outcome: a.outcome,
                    output: cut(&a.output, 300),
                    verdict: a.verdict,
                    feedback: cut(&a.feedback, 300),
                })
                .collect(),
            blocked: s.blocked,
        })
        .filter(|s| !s.attempts.is_empty() || s.blocked.is_some())
        .collect();
    RunDigest {
        run: v.run,
        goal: v.goal,
        steps,
        exhausted: v.exhausted,
        status,
        calls,
        retries,
        backtracks,
        fuel,
        wall_ms,
    }
}

/// `s` cut to `n` characters.
pub fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}

fn why(a: &Attempt) -> String {
    let detail = if a.outcome == "ok" || a.outcome.is_empty() {
        &a.feedback
    } else {
        &a.output
    };
    cut(&format!("{} ({})", a.outcome, detail), 200)
}

/// The deterministic lessons of a run: per step, what its calls ran into (a missing grant,
/// an output too large), then how it ended (an alternative that worked, or a failure); last,
/// a budget that ran out.
pub fn rules(d: &RunDigest) -> Vec<NewLesson> {
    let mut out = Vec::new();
    for s in &d.steps {
        out.extend(s.attempts.iter().filter_map(|a| call_lesson(s, a)));
        out.extend(end_lesson(s));
    }
    if let Some((budget, used, limit)) = &d.exhausted {
        out.push(lesson(
            LessonKind::Budget,
            "",
            String::new(),
            format!("budget {budget} exhausted"),
            format!(
                "the run exhausted its {budget} budget ({used} of {limit}); raise the budget or plan fewer, cheaper steps"
            ),
        ));
    }
    out
}

/// A lesson of `kind` about `step` that names no way of it.
fn lesson(kind: LessonKind, step: &str, tools: String, errors: String, text: String) -> NewLesson {
    NewLesson {
        kind,
        step: step.to_string(),
        tools,
        errors,
        worked: None,
        call: None,
        text,
    }
}

/// What call `a` of step `s` ran into: a grant it needs, or an output too large.
fn call_lesson(s: &StepDigest, a: &Attempt) -> Option<NewLesson> {
    match a.outcome.as_str() {
        "denied" => Some(lesson(
            LessonKind::Grant,
            &s.step,
            a.tool.clone(),
            cut(&a.output, 200),
            format!(
                "step `{}` needs a grant for tool {}: {}",
                s.step,
                a.tool,
                cut(&a.output, 200)
            ),
        )),
        "output_limit" => Some(lesson(
            LessonKind::OutputTooLarge,
            &s.step,
            a.tool.clone(),
            cut(&a.output, 200),
            format!(
                "step `{}`: the output of tool {} was too large for the budget; ask for less",
                s.step, a.tool
            ),
        )),
        _ => None,
    }
}

/// How step `s` ended, when it teaches something: accepted by an alternative after the
/// first way failed, or failed with nothing left to try.
fn end_lesson(s: &StepDigest) -> Option<NewLesson> {
    match s.accepted() {
        Some(ok) if ok.alternative > 0 => Some(alternative_lesson(s, ok)),
        Some(_) => None,
        None => {
            let last = s.attempts.last()?;
            (last.verdict == Some(Verdict::Fail)).then(|| {
                lesson(
                    LessonKind::Failure,
                    &s.step,
                    last.tool.clone(),
                    why(last),
                    format!(
                        "step `{}`: tool {} failed with {}; no alternative worked",
                        s.step,
                        last.tool,
                        why(last)
                    ),
                )
            })
        }
    }
}

/// Step `s` failed its other ways and alternative `ok` worked.
fn alternative_lesson(s: &StepDigest, ok: &Attempt) -> NewLesson {
    let failed: Vec<&Attempt> = s
        .attempts
        .iter()
        .filter(|a| a.alternative != ok.alternative)
        .collect();
    let mut tools: Vec<String> = failed.iter().map(|a| a.tool.clone()).collect();
    tools.push(ok.tool.clone());
    tools.dedup();
    let errors = failed.iter().map(|a| why(a)).collect::<Vec<_>>().join("; ");
    let first = failed.first().map_or_else(String::new, |a| {
        format!("tool {} failed with {}; ", a.tool, why(a))
    });
    NewLesson {
        worked: Some(ok.alternative),
        ..lesson(
            LessonKind::Alternative,
            &s.step,
            tools.join(" "),
            errors,
            format!(
                "step `{}`: {first}alternative {} (tool {}) succeeded",
                s.step, ok.alternative, ok.tool
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Critique;

    fn line(event: TraceEvent) -> TraceLine {
        TraceLine { at_ms: 0, event }
    }

    fn call(
        step: &str,
        attempt: u32,
        alt: usize,
        tool: &str,
        outcome: &str,
        v: Verdict,
    ) -> Vec<TraceLine> {
        vec![
            line(TraceEvent::StepStarted {
                step: step.into(),
                attempt,
                alternative: alt,
                tool: tool.into(),
                args: serde_json::json!({}),
            }),
            line(TraceEvent::StepFinished {
                step: step.into(),
                attempt,
                outcome: outcome.into(),
                output: format!("{outcome} output"),
                fuel: 1,
                duration_us: 1,
                left: Default::default(),
            }),
            line(TraceEvent::Critiqued {
                step: step.into(),
                attempt,
                critique: Critique {
                    score: 0.0,
                    checks: vec![],
                    feedback: "expected items".into(),
                },
                verdict: v,
                previous_score: None,
            }),
        ]
    }

    fn trace() -> Vec<TraceLine> {
        let mut t = vec![line(TraceEvent::Started {
            run: "r1".into(),
            goal: "restock".into(),
            plan: serde_json::json!({"goal": "restock", "steps": [
                {"id": "read", "tool": "fs.read", "alternatives": [{"tool": "fs.list"}]},
                {"id": "net", "tool": "http.get"}]}),
        })];
        t.extend(call(
            "read",
            0,
            0,
            "fs.read",
            "tool_error",
            Verdict::Backtrack,
        ));
        t.extend(call("read", 1, 1, "fs.list", "ok", Verdict::Accept));
        t.extend(call("net", 0, 0, "http.get", "denied", Verdict::Fail));
        t.push(line(TraceEvent::BudgetExhausted {
            budget: "max_steps".into(),
            used: 3,
            limit: 3,
        }));
        t
    }

    #[test]
    fn rules_find_alternative_grant_failure_and_budget() {
        let d = digest(&trace());
        assert_eq!(d.goal, "restock");
        let l = rules(&d);
        let kinds: Vec<_> = l.iter().map(|l| l.kind).collect();
        assert_eq!(
            kinds,
            vec![
                LessonKind::Alternative,
                LessonKind::Grant,
                LessonKind::Failure,
                LessonKind::Budget
            ]
        );
        assert_eq!(l[0].worked, Some(1));
        assert!(
            l[0].text.contains("tool fs.read failed with tool_error"),
            "{}",
            l[0].text
        );
        assert!(l[0].text.contains("alternative 1 (tool fs.list) succeeded"));
        assert!(l[1].text.contains("needs a grant"));
        assert_eq!(rules(&d), l, "deterministic");
    }
}
