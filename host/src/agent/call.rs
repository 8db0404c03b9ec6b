//! One tool call of a step: a step of the budget reserved, the call made in a fresh sandbox as
//! the run's caller with no more fuel and time than the run has left, what it used charged to
//! the ledger, its start and end traced, and a stop by the run's own remainder marked as the
//! budget running out.

use super::context::Ctx;
use super::ledger::CallMeter;
use crate::orchestrator::figures::DataFlow;
use crate::plan::{Step, TraceEvent};
use crate::runtime::CallReport;
use crate::sandbox::Outcome;
use crate::service::SpudError;
use serde_json::Value;
use std::sync::Arc;

/// A call that ended within the budget: its outcome, and its output as traces and the model
/// see it.
pub(super) struct Called {
    pub outcome: Outcome,
    pub output: String,
}

/// What a call did, whether it landed or not.
struct Used {
    outcome: Outcome,
    fuel: u64,
    duration_us: u64,
    data: DataFlow,
    /// A grant refused it (a budget stop is a limit, not a refusal).
    refused: bool,
    /// The budget whose remainder stopped it, if one did.
    stop: Option<&'static str>,
}

/// Calls `tool` with `args` as attempt `attempt` (way `alternative`) of `step`. `None` when
/// a budget ran out: before the call, or by it.
pub(super) async fn call(
    ctx: &Ctx,
    step: &Step,
    tool: &str,
    args: &Value,
    attempt: u32,
    alternative: usize,
) -> Option<Called> {
    let reserved = ctx
        .ledger
        .lock()
        .map_err(|_| ())
        .and_then(|mut l| l.reserve(&ctx.plan.budget).map_err(|_| ()));
    if reserved.is_err() {
        return None;
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
    let meter = CallMeter::new(ctx.ledger.clone(), ctx.plan.budget);
    let mut options = crate::service::CallOptions::default().within(
        left.max_fuel,
        left.max_wall_ms,
        meter.clone(),
    );
    options.browser = Some(ctx.browser.clone());
    let caller = ctx.caller.clone().unwrap_or_else(|| ctx.spud.operator());
    let called = ctx.spud.call_as(&caller, tool, args, options).await;
    let landed = called.is_ok();
    let used = used(ctx, tool, called);
    charge(ctx, &meter, landed, &used);
    let output = ctx.cut(&match &used.outcome {
        Outcome::Ok { value } => value.to_string(),
        other => other.message(),
    });
    ctx.emit(TraceEvent::StepFinished {
        step: step.id.clone(),
        attempt,
        outcome: used.outcome.kind().to_string(),
        output: output.clone(),
        fuel: used.fuel,
        duration_us: used.duration_us,
        left: ctx.left(),
    });
    if spent(ctx, used.stop) {
        return None;
    }
    Some(Called {
        outcome: used.outcome,
        output,
    })
}

/// What the call did, from its report or from why it could not be made.
fn used(ctx: &Ctx, tool: &str, called: Result<CallReport, SpudError>) -> Used {
    let failed = |message: String, refused: bool| Used {
        outcome: Outcome::InvalidInput { message },
        fuel: 0,
        duration_us: 0,
        data: Default::default(),
        refused,
        stop: None,
    };
    match called {
        Ok(r) => {
            let data = flow(&r);
            let stop = r.budget_stop;
            // A budget stop is a limit, not a permission the grant refused.
            let refused = matches!(&r.outcome, Outcome::Denied { denial } if denial.capability != crate::sandbox::Capability::Limit);
            Used {
                outcome: r.outcome,
                fuel: r.fuel_used,
                duration_us: r.duration_us,
                data,
                refused,
                stop,
            }
        }
        Err(e @ SpudError::NotAllowed { .. }) => failed(
            if ctx.depth > 0 {
                format!("`{tool}` is not among this sub-agent's tools (`tools` in its step, within its parent's): call one of those")
            } else {
                e.to_string()
            },
            true,
        ),
        Err(e) => failed(e.to_string(), false),
    }
}

/// Charges the call to the ledger: what it used when it `landed`, else what it drew.
fn charge(ctx: &Ctx, meter: &Arc<CallMeter>, landed: bool, used: &Used) {
    if let Ok(mut l) = ctx.ledger.lock() {
        // A call without a report (cancelled, unrecordable) is charged what it drew.
        let (drawn_fuel, drawn_net) = meter.settle(&mut l);
        let (fuel, net) = match landed {
            true => (used.fuel, used.data.bytes_in + used.data.bytes_out),
            false => (drawn_fuel, drawn_net),
        };
        l.fuel += fuel;
        l.net += net;
        l.data.add(&used.data);
        if used.refused {
            l.denied += 1;
        }
    }
}

/// Whether the call was stopped by the run's own remainder (not by the tool's grant) of
/// budget `stop`: then that budget is spent, and marked so in the ledger.
fn spent(ctx: &Ctx, stop: Option<&'static str>) -> bool {
    let b = &ctx.plan.budget;
    let Some(kind) = stop else {
        return false;
    };
    let limit = match kind {
        "max_fuel" => b.max_fuel,
        "max_net_bytes" => b.max_net_bytes,
        _ => b.max_wall_ms,
    };
    if let Ok(mut l) = ctx.ledger.lock() {
        let used = match kind {
            "max_fuel" => l.fuel + l.live_fuel + l.reserved.fuel,
            "max_net_bytes" => l.net + l.live_net + l.reserved.net,
            _ => ctx.start.elapsed().as_millis() as u64,
        };
        l.exhausted.get_or_insert((kind.to_string(), used, limit));
    }
    true
}

/// What one call moved, leaked and stored.
fn flow(r: &CallReport) -> DataFlow {
    let reached = r.leaks.iter().filter(|l| !l.blocked).count() as u64;
    DataFlow {
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
