//! The executor of one step: call the tool in a fresh sandbox, have the critic score the result,
//! and act on the verdict — accept, retry (with arguments the model corrected from the critic's
//! feedback, when a model is at hand), backtrack to the next alternative, or fail.

use super::call::{self, Called};
use super::context::{Ctx, StepEnd};
use super::critic;
use crate::orchestrator::scheduler::Ticket;
use crate::plan::refs;
use crate::plan::TraceEvent;
use crate::plan::{Critique, Verdict};
use crate::plan::{Expectation, Step, SubAgent};
use crate::sandbox::Outcome;
use serde_json::Value;
use std::collections::BTreeMap;

/// Runs `step` until it is accepted or fails. `results` are the accepted results so far.
/// A sub-agent step brings its place in the scheduler's line, taken when it became ready.
pub(super) async fn execute(
    ctx: &Ctx,
    step: &Step,
    results: &BTreeMap<String, Value>,
    ticket: Option<Ticket>,
) -> StepEnd {
    let mut alternative = 0usize;
    if let (Some(agent), Some(ticket)) = (&step.agent, ticket) {
        match delegate_with_retries(ctx, step, agent, ticket).await {
            StepEnd::Failed(why) if !step.alternatives.is_empty() => {
                // The sub-agent failed: backtrack to the step's alternatives (tool calls).
                ctx.emit(TraceEvent::StepBlocked {
                    step: step.id.clone(),
                    reason: format!("sub-agent failed ({why}); trying the alternatives"),
                });
                if let Ok(mut l) = ctx.ledger.lock() {
                    l.backtracks += 1;
                }
                alternative = 1;
            }
            end => return end,
        }
    }
    call_until_decided(ctx, step, results, alternative).await
}

/// Where a step's calls stand.
#[derive(Default)]
struct Tries {
    /// The way being tried: 0 is the step itself, n its n-th alternative.
    alternative: usize,
    attempt: u32,
    retries: u32,
    backtracks: u32,
    /// The score of the previous attempt.
    previous: Option<f64>,
    /// Arguments the model corrected for the current alternative's next attempt.
    corrected: Option<Value>,
    /// Another tool the model named with its correction.
    corrected_tool: Option<String>,
    /// The best attempt so far whose deterministic checks passed.
    best: Option<Best>,
}

/// An attempt worth keeping: its checks passed (a judge may have scored it low).
struct Best {
    attempt: u32,
    score: f64,
    value: Value,
}

impl Tries {
    /// Keeps attempt `outcome` if its checks passed and it scored higher than the best so far.
    fn keep_if_best(&mut self, outcome: &Outcome, checks_passed: bool, score: f64) {
        let Outcome::Ok { value } = outcome else {
            return;
        };
        if checks_passed && self.best.as_ref().is_none_or(|b| score > b.score) {
            self.best = Some(Best {
                attempt: self.attempt,
                score,
                value: value.clone(),
            });
        }
    }
}

/// Calls the step's tool, from way `alternative` on, until the critic accepts a result or
/// nothing is left to try.
async fn call_until_decided(
    ctx: &Ctx,
    step: &Step,
    results: &BTreeMap<String, Value>,
    alternative: usize,
) -> StepEnd {
    let settings = ctx.plan.critic;
    let mut t = Tries {
        alternative,
        ..Tries::default()
    };
    loop {
        let (planned, args, expect) = way(step, t.alternative);
        let tool = t
            .corrected_tool
            .clone()
            .unwrap_or_else(|| resolved(ctx, step, planned));
        let tool = tool.as_str();
        let args = match t
            .corrected
            .clone()
            .map_or_else(|| refs::resolve(args, results), Ok)
        {
            Ok(a) => a,
            Err(e) => return blocked(ctx, step, format!("cannot build the arguments: {e}")),
        };
        let Some(Called { outcome, output }) =
            call::call(ctx, step, tool, &args, t.attempt, t.alternative).await
        else {
            return StepEnd::Budget;
        };
        let (critique, checks_passed) = critique(ctx, step, &outcome, expect, results).await;
        let left = step.alternatives.len() - t.alternative;
        let verdict = critic::decide(&critique, &settings, t.retries, t.backtracks, left);
        let score = critique.score;
        ctx.emit(TraceEvent::Critiqued {
            step: step.id.clone(),
            attempt: t.attempt,
            critique: critique.clone(),
            verdict,
            previous_score: t.previous,
        });
        t.keep_if_best(&outcome, checks_passed, score);
        match verdict {
            Verdict::Accept | Verdict::Fail => {
                return settle(ctx, step, &mut t, verdict, outcome, critique)
            }
            Verdict::Retry => retry(ctx, step, &mut t, tool, &args, &critique, &output).await,
            Verdict::Backtrack => {
                t.alternative += 1;
                t.backtracks += 1;
                t.corrected = None;
                t.corrected_tool = None;
                if let Ok(mut l) = ctx.ledger.lock() {
                    l.backtracks += 1;
                }
            }
        }
        t.previous = Some(score);
        t.attempt += 1;
    }
}

/// The tool, arguments and expectation of way `alternative` of `step` (0: the step itself;
/// an alternative inherits what it does not set).
fn way(step: &Step, alternative: usize) -> (&str, &Value, &Expectation) {
    match alternative {
        0 => (&step.tool, &step.args, &step.expect),
        n => {
            let alt = &step.alternatives[n - 1];
            (
                alt.tool.as_deref().unwrap_or(&step.tool),
                alt.args.as_ref().unwrap_or(&step.args),
                alt.expect.as_ref().unwrap_or(&step.expect),
            )
        }
    }
}

/// The tool `planned` names: itself when it is registered, else the one tool a short name
/// matches (`list` → `fs.list`, traced), else itself (the call then says it does not exist).
fn resolved(ctx: &Ctx, step: &Step, planned: &str) -> String {
    if planned.is_empty() || ctx.spud.registry().find_tool(planned).is_ok() {
        return planned.to_string();
    }
    match super::callable::Toolbox::new(&ctx.spud, ctx.caller.as_ref()).resolve(planned) {
        Ok(super::callable::Resolved::Short(tool)) => {
            ctx.emit(TraceEvent::ToolResolved {
                step: step.id.clone(),
                asked: planned.to_string(),
                tool: tool.clone(),
            });
            tool
        }
        _ => planned.to_string(),
    }
}

/// The end of a step on an accepting or failing verdict. A better earlier attempt is kept
/// over a worse accepted one, and a step whose checks once passed does not fail because a
/// judge vetoed that attempt: the veto bought retries and alternatives, and when none did
/// better (or none was left) the best attempt stands.
fn settle(
    ctx: &Ctx,
    step: &Step,
    t: &mut Tries,
    verdict: Verdict,
    outcome: Outcome,
    critique: Critique,
) -> StepEnd {
    let score = critique.score;
    let better = t
        .best
        .take()
        .filter(|b| verdict == Verdict::Fail || b.score > score);
    match (verdict, better) {
        (_, Some(b)) => {
            ctx.emit(TraceEvent::BestKept {
                step: step.id.clone(),
                attempt: b.attempt,
                score: b.score,
                over_score: score,
            });
            StepEnd::Accepted {
                value: b.value,
                surprising: true,
                note: format!(
                    "attempt {} kept (score {:.2}); the last attempt scored {score:.2}: {}",
                    b.attempt, b.score, critique.feedback
                ),
            }
        }
        (Verdict::Accept, None) => {
            accepted(outcome, t.attempt > 0 || score < 1.0, critique.feedback)
        }
        _ => StepEnd::Failed(critique.feedback),
    }
}

/// A step that cannot run, traced with `reason`.
fn blocked(ctx: &Ctx, step: &Step, reason: String) -> StepEnd {
    ctx.emit(TraceEvent::StepBlocked {
        step: step.id.clone(),
        reason: reason.clone(),
    });
    StepEnd::Failed(reason)
}

/// The accepted end of a step, with the call's value and the critic's `note` on it.
fn accepted(outcome: Outcome, surprising: bool, note: String) -> StepEnd {
    StepEnd::Accepted {
        value: match outcome {
            Outcome::Ok { value } => value,
            _ => Value::Null,
        },
        surprising,
        note,
    }
}

/// The critic's view of a call's `outcome` against `expect`, reviewed by the judge model
/// when the plan asks for one and tokens are left; and whether the deterministic checks
/// alone accepted it.
async fn critique(
    ctx: &Ctx,
    step: &Step,
    outcome: &Outcome,
    expect: &Expectation,
    results: &BTreeMap<String, Value>,
) -> (Critique, bool) {
    let settings = ctx.plan.critic;
    let mut critique = critic::critique(outcome, expect);
    let checks_passed = critique.score >= settings.threshold;
    if let (Some(judge), true, Outcome::Ok { value }) = (
        &ctx.judge,
        settings.judge && settings.enabled && ctx.tokens_left(),
        outcome,
    ) {
        let earlier = ctx.cut(&serde_json::to_string(results).unwrap_or_default());
        let usage = super::judge::review(
            judge.as_ref(),
            &mut critique,
            &ctx.plan.goal,
            &step.id,
            expect.outcome.as_deref(),
            &ctx.cut(&value.to_string()),
            &earlier,
        )
        .await;
        ctx.spend(usage);
    }
    (critique, checks_passed)
}

/// Counts a retry. With a model at hand, the retry carries arguments corrected from the
/// critic's feedback; without one it repeats the call (transient failures).
async fn retry(
    ctx: &Ctx,
    step: &Step,
    t: &mut Tries,
    tool: &str,
    args: &Value,
    critique: &Critique,
    output: &str,
) {
    t.retries += 1;
    if let Ok(mut l) = ctx.ledger.lock() {
        l.retries += 1;
    }
    let (Some(reviser), true) = (&ctx.reviser, ctx.tokens_left()) else {
        return;
    };
    let (fixed, usage) = reviser
        .fix_args(
            &ctx.spud,
            &ctx.plan.goal,
            &step.id,
            tool,
            args,
            &critique.feedback,
            output,
        )
        .await;
    ctx.spend(usage);
    ctx.trace_switches(reviser.provider().as_ref());
    // A correction may name another tool: one a short name resolves to, or one that exists.
    let toolbox = super::callable::Toolbox::new(&ctx.spud, ctx.caller.as_ref());
    let fixed = fixed.map(|mut c| {
        c.tool = c
            .tool
            .and_then(|t| toolbox.resolve(&t).ok())
            .map(|r| r.tool().to_string())
            .filter(|t| t != tool);
        c
    });
    if let Some(new) = fixed.filter(|c| c.args != *args || c.tool.is_some()) {
        ctx.emit(TraceEvent::ArgsCorrected {
            step: step.id.clone(),
            attempt: t.attempt + 1,
            args: new.args.clone(),
            feedback: critique.feedback.clone(),
            tool: new.tool.clone(),
        });
        t.corrected = Some(new.args);
        if new.tool.is_some() {
            t.corrected_tool = new.tool;
        }
    }
}

/// Runs a sub-agent step; one that ran and failed (or missed its deadline) is run again, up
/// to the critic's `max_retries`, each time as a new sub-agent with a fresh share.
async fn delegate_with_retries(
    ctx: &Ctx,
    step: &Step,
    agent: &SubAgent,
    ticket: Ticket,
) -> StepEnd {
    let mut ticket = ticket;
    let mut attempt = 0u32;
    loop {
        let d = super::delegate::run(ctx, step, agent, ticket, attempt).await;
        match d.end {
            StepEnd::Failed(why)
                if d.ran && attempt < ctx.plan.critic.max_retries && ctx.can_go_on() =>
            {
                ctx.emit(TraceEvent::StepBlocked {
                    step: step.id.clone(),
                    reason: format!("sub-agent failed ({why}); running it again"),
                });
                if let Ok(mut l) = ctx.ledger.lock() {
                    l.retries += 1;
                }
                attempt += 1;
                ticket = ctx.tree.scheduler.enqueue(agent.priority);
            }
            end => return end,
        }
    }
}
