//! Reflection by rules: a run's trace digested into what happened per step, and the
//! deterministic lessons drawn from it. Pure: no I/O, same trace → same lessons.

use crate::plan::Verdict;
use crate::plan::{Alternative, Plan};
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

/// The deterministic lessons of a run.
pub fn rules(d: &RunDigest) -> Vec<NewLesson> {
    let mut out = Vec::new();
    for s in &d.steps {
        for a in &s.attempts {
            if a.outcome == "denied" {
                out.push(NewLesson {
                    kind: LessonKind::Grant,
                    step: s.step.clone(),
                    tools: a.tool.clone(),
                    errors: cut(&a.output, 200),
                    worked: None,
                    call: None,
                    text: format!(
                        "step `{}` needs a grant for tool {}: {}",
                        s.step,
                        a.tool,
                        cut(&a.output, 200)
                    ),
                });
            }
            if a.outcome == "output_limit" {
                out.push(NewLesson {
                    kind: LessonKind::OutputTooLarge,
                    step: s.step.clone(),
                    tools: a.tool.clone(),
                    errors: cut(&a.output, 200),
                    worked: None,
                    call: None,
                    text: format!(
                        "step `{}`: the output of tool {} was too large for the budget; ask for less",
                        s.step, a.tool
                    ),
                });
            }
        }
        let accepted = s.accepted();
        match accepted {
            Some(ok) if ok.alternative > 0 => {
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
                out.push(NewLesson {
                    kind: LessonKind::Alternative,
                    step: s.step.clone(),
                    tools: tools.join(" "),
                    errors,
                    worked: Some(ok.alternative),
                    call: None,
                    text: format!(
                        "step `{}`: {first}alternative {} (tool {}) succeeded",
                        s.step, ok.alternative, ok.tool
                    ),
                });
            }
            Some(_) => {}
            None => {
                if let Some(last) = s.attempts.last() {
                    if last.verdict == Some(Verdict::Fail) {
                        out.push(NewLesson {
                            kind: LessonKind::Failure,
                            step: s.step.clone(),
                            tools: last.tool.clone(),
                            errors: why(last),
                            worked: None,
                            call: None,
                            text: format!(
                                "step `{}`: tool {} failed with {}; no alternative worked",
                                s.step,
                                last.tool,
                                why(last)
                            ),
                        });
                    }
                }
            }
        }
    }
    if let Some((budget, used, limit)) = &d.exhausted {
        out.push(NewLesson {
            kind: LessonKind::Budget,
            step: String::new(),
            tools: String::new(),
            errors: format!("budget {budget} exhausted"),
            worked: None,
                    call: None,
            text: format!(
                "the run exhausted its {budget} budget ({used} of {limit}); raise the budget or plan fewer, cheaper steps"
            ),
        });
    }
    out
}

/// The call (tool and arguments, as written in the plan) of way `k` of step `id`: 0 is the
/// step itself, k > 0 its k-th alternative.
pub fn call_of(plan: &Plan, id: &str, k: usize) -> Option<serde_json::Value> {
    let step = plan.steps.iter().find(|s| s.id == id)?;
    let (tool, args) = if k == 0 {
        (step.tool.clone(), step.args.clone())
    } else {
        let alt = step.alternatives.get(k - 1)?;
        (
            alt.tool.clone().unwrap_or_else(|| step.tool.clone()),
            alt.args.clone().unwrap_or_else(|| step.args.clone()),
        )
    };
    Some(serde_json::json!({"tool": tool, "args": args}))
}

/// Fills in, for alternative lessons, the call that worked (from the plan as run).
pub fn attach_calls(lessons: &mut [NewLesson], plan: &Plan) {
    for l in lessons.iter_mut() {
        if let (LessonKind::Alternative, Some(k)) = (l.kind, l.worked) {
            l.call = call_of(plan, &l.step, k);
        }
    }
}

/// Moves, for each `(step id, call)`, the way of that step whose call (see [`call_of`]) equals
/// `call` to the front: it becomes the step's own call and the old call becomes the first
/// alternative. The first entry for a step wins. Returns the ids of the steps reordered.
pub fn reorder(plan: &mut Plan, worked: &[(String, serde_json::Value)]) -> Vec<String> {
    let mut changed = Vec::new();
    let mut seen = Vec::new();
    for (id, call) in worked {
        if seen.contains(id) {
            continue;
        }
        seen.push(id.clone());
        let Some(n) = plan
            .steps
            .iter()
            .find(|s| &s.id == id)
            .map(|s| s.alternatives.len())
        else {
            continue;
        };
        let Some(k) = (0..=n).find(|k| call_of(plan, id, *k).as_ref() == Some(call)) else {
            continue;
        };
        if k == 0 {
            continue;
        }
        let Some(step) = plan.steps.iter_mut().find(|s| &s.id == id) else {
            continue;
        };
        let alt = step.alternatives.remove(k - 1);
        let old = Alternative {
            tool: Some(step.tool.clone()),
            args: Some(step.args.clone()),
            expect: Some(step.expect.clone()),
        };
        if let Some(t) = alt.tool {
            step.tool = t;
        }
        if let Some(a) = alt.args {
            step.args = a;
        }
        if let Some(e) = alt.expect {
            step.expect = e;
        }
        step.alternatives.insert(0, old);
        changed.push(id.clone());
    }
    changed
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

    #[test]
    fn reorder_moves_the_working_alternative_first() {
        let mut plan: Plan = toml::from_str(
            "goal = \"g\"\n[[steps]]\nid = \"a\"\ntool = \"x.one\"\n[[steps.alternatives]]\ntool = \"x.two\"\n[[steps.alternatives]]\ntool = \"x.three\"\n",
        )
        .unwrap();
        let three = call_of(&plan, "a", 2).unwrap();
        assert_eq!(three["tool"], "x.three");
        let changed = reorder(
            &mut plan,
            &[
                ("a".into(), three.clone()),
                ("missing".into(), three.clone()),
            ],
        );
        assert_eq!(changed, vec!["a".to_string()]);
        let s = &plan.steps[0];
        assert_eq!(s.tool, "x.three");
        assert_eq!(s.alternatives[0].tool.as_deref(), Some("x.one"));
        assert_eq!(s.alternatives[1].tool.as_deref(), Some("x.two"));
        // Already first: nothing moves.
        assert!(reorder(&mut plan, &[("a".into(), three)]).is_empty());
        assert!(reorder(
            &mut plan,
            &[("a".into(), serde_json::json!({"tool": "nope"}))]
        )
        .is_empty());
    }
}
