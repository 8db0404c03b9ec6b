//! The executor of one step: call the tool in a fresh sandbox, have the critic score the result,
//! and act on the verdict — accept, retry (with arguments the model corrected from the critic's
//! feedback, when a model is at hand), backtrack to the next alternative, or fail.

use super::context::{Ctx, StepEnd};
use super::critic;
use crate::plan::refs;
use crate::plan::TraceEvent;
use crate::plan::Verdict;
use crate::plan::{Expectation, Step};
use crate::sandbox::Outcome;
use serde_json::Value;
use std::collections::BTreeMap;

/// Runs `step` until it is accepted or fails. `results` are the accepted results so far.
/// A sub-agent step brings its place in the scheduler's line, taken when it became ready.
pub(super) async fn execute(
    ctx: &Ctx,
    step: &Step,
    results: &BTreeMap<String, Value>,
    ticket: Option<crate::orchestrator::scheduler::Ticket>,
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
    let settings = ctx.plan.critic;
    let (mut attempt, mut retries, mut backtracks) = (0u32, 0u32, 0u32);
    let mut previous: Option<f64> = None;
    // Arguments the model corrected for the current alternative's next attempt.
    let mut corrected: Option<Value> = None;
    loop {
        let (tool, args, expect): (&str, &Value, &Expectation) = match alternative {
            0 => (&step.tool, &step.args, &step.expect),
            n => {
                let alt = &step.alternatives[n - 1];
                (
                    alt.tool.as_deref().unwrap_or(&step.tool),
                    alt.args.as_ref().unwrap_or(&step.args),
                    alt.expect.as_ref().unwrap_or(&step.expect),
                )
            }
        };
        let args = match corrected
            .clone()
            .map_or_else(|| refs::resolve(args, results), Ok)
        {
            Ok(a) => a,
            Err(e) => {
                let reason = format!("cannot build the arguments: {e}");
                ctx.emit(TraceEvent::StepBlocked {
                    step: step.id.clone(),
                    reason: reason.clone(),
                });
                return StepEnd::Failed(reason);
            }
        };
        let reserved = ctx
            .ledger
            .lock()
            .map_err(|_| ())
            .and_then(|mut l| l.reserve(&ctx.plan.budget).map_err(|_| ()));
        if reserved.is_err() {
            return StepEnd::Budget;
        }
        ctx.emit(TraceEvent::StepStarted {
            step: step.id.clone(),
            attempt,
            alternative,
            tool: tool.to_string(),
            args: args.clone(),
        });
        // Tool errors, denials and limits are information for the critic, not crashes. A call
        // gets no more fuel and time than the run has left, so no run overspends its budget.
        let left = ctx.available();
        let meter = super::ledger::CallMeter::new(ctx.ledger.clone(), ctx.plan.budget);
        let options = crate::service::CallOptions::default().within(
            left.max_fuel,
            left.max_wall_ms,
            meter.clone(),
        );
        let caller = ctx.caller.clone().unwrap_or_else(|| ctx.spud.operator());
        let called = ctx.spud.call_as(&caller, tool, &args, options).await;
        let landed = called.is_ok();
        let (outcome, fuel, duration_us, data, refused, stop) = match called {
            Ok(r) => {
                let data = flow(&r);
                let stop = r.budget_stop;
                // A budget stop is a limit, not a permission the grant refused.
                let denied = matches!(&r.outcome, Outcome::Denied { denial } if denial.capability != crate::sandbox::Capability::Limit);
                (r.outcome, r.fuel_used, r.duration_us, data, denied, stop)
            }
            Err(e @ crate::service::SpudError::NotAllowed { .. }) => (
                Outcome::InvalidInput {
                    message: if ctx.depth > 0 {
                        format!("`{tool}` is not among this sub-agent's tools (`tools` in its step, within its parent's): call one of those")
                    } else {
                        e.to_string()
                    },
                },
                0,
                0,
                Default::default(),
                true,
                None,
            ),
            Err(e) => (
                Outcome::InvalidInput {
                    message: e.to_string(),
                },
                0,
                0,
                Default::default(),
                false,
                None,
            ),
        };
        if let Ok(mut l) = ctx.ledger.lock() {
            // A call without a report (cancelled, unrecordable) is charged what it drew.
            let (drawn_fuel, drawn_net) = meter.settle(&mut l);
            let (fuel, net) = match landed {
                true => (fuel, data.bytes_in + data.bytes_out),
                false => (drawn_fuel, drawn_net),
            };
            l.fuel += fuel;
            l.net += net;
            l.data.add(&data);
            if refused {
                l.denied += 1;
            }
        }
        let output = ctx.cut(&match &outcome {
            Outcome::Ok { value } => value.to_string(),
            other => other.message(),
        });
        ctx.emit(TraceEvent::StepFinished {
            step: step.id.clone(),
            attempt,
            outcome: outcome.kind().to_string(),
            output: output.clone(),
            fuel,
            duration_us,
            left: ctx.left(),
        });
        // Stopped by the run's own remainder (not by the tool's grant): the budget is spent.
        let b = &ctx.plan.budget;
        let spent = stop.map(|kind| {
            let limit = match kind {
                "max_fuel" => b.max_fuel,
                "max_net_bytes" => b.max_net_bytes,
                _ => b.max_wall_ms,
            };
            (kind, limit)
        });
        if let Some((kind, limit)) = spent {
            if let Ok(mut l) = ctx.ledger.lock() {
                let used = match kind {
                    "max_fuel" => l.fuel + l.live_fuel + l.reserved.fuel,
                    "max_net_bytes" => l.net + l.live_net + l.reserved.net,
                    _ => ctx.start.elapsed().as_millis() as u64,
                };
                l.exhausted.get_or_insert((kind.to_string(), used, limit));
            }
            return StepEnd::Budget;
        }
        let mut critique = critic::critique(&outcome, expect);
        if let (Some(judge), true, Outcome::Ok { value }) = (
            &ctx.judge,
            settings.judge && settings.enabled && ctx.tokens_left(),
            &outcome,
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
        let left = step.alternatives.len() - alternative;
        let verdict = critic::decide(&critique, &settings, retries, backtracks, left);
        let score = critique.score;
        ctx.emit(TraceEvent::Critiqued {
            step: step.id.clone(),
            attempt,
            critique: critique.clone(),
            verdict,
            previous_score: previous,
        });
        match verdict {
            Verdict::Accept => {
                let surprising = attempt > 0 || score < 1.0;
                return StepEnd::Accepted {
                    value: match outcome {
                        Outcome::Ok { value } => value,
                        _ => Value::Null,
                    },
                    surprising,
                };
            }
            Verdict::Retry => {
                retries += 1;
                if let Ok(mut l) = ctx.ledger.lock() {
                    l.retries += 1;
                }
                // With a model at hand, the retry carries arguments corrected from the critic's
                // feedback; without one it repeats the call (transient failures).
                if let (Some(reviser), true) = (&ctx.reviser, ctx.tokens_left()) {
                    let (fixed, usage) = reviser
                        .fix_args(
                            &ctx.spud,
                            &ctx.plan.goal,
                            &step.id,
                            tool,
                            &args,
                            &critique.feedback,
                            &output,
                        )
                        .await;
                    ctx.spend(usage);
                    if let Some(new) = fixed.filter(|new| *new != args) {
                        ctx.emit(TraceEvent::ArgsCorrected {
                            step: step.id.clone(),
                            attempt: attempt + 1,
                            args: new.clone(),
                            feedback: critique.feedback.clone(),
                        });
                        corrected = Some(new);
                    }
                }
            }
            Verdict::Backtrack => {
                alternative += 1;
                backtracks += 1;
                corrected = None;
                if let Ok(mut l) = ctx.ledger.lock() {
                    l.backtracks += 1;
                }
            }
            Verdict::Fail => return StepEnd::Failed(critique.feedback),
        }
        previous = Some(score);
        attempt += 1;
    }
}

/// Runs a sub-agent step; one that ran and failed (or missed its deadline) is run again, up
/// to the critic's `max_retries`, each time as a new sub-agent with a fresh share.
async fn delegate_with_retries(
    ctx: &Ctx,
    step: &Step,
    agent: &crate::plan::SubAgent,
    ticket: crate::orchestrator::scheduler::Ticket,
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

/// What one call moved, leaked and stored.
fn flow(r: &crate::runtime::CallReport) -> crate::orchestrator::figures::DataFlow {
    let reached = r.leaks.iter().filter(|l| !l.blocked).count() as u64;
    crate::orchestrator::figures::DataFlow {
        bytes_in: r.net_bytes_in,
        bytes_out: r.net_bytes_out,
        transfers: r.requests_out,
        leaks_blocked: r.leaks.iter().filter(|l| l.blocked).count() as u64,
        leaks_reached: reached,
        leaky_calls: u64::from(reached > 0),
        outputs_redacted: 0,
        storage_bytes: r.storage_bytes,
    }
}
