//! A sub-agent's record, from the moment it is asked for to its end: opened empty, written as
//! `cancelled` if its future is dropped ([`OnCancel`]), and settled when its child run ends —
//! what it used charged to the parent, its end traced, and the step's end ([`StepEnd`]) read
//! from the child's report.

use super::context::{Ctx, StepEnd};
use super::options::{AgentError, RunReport};
use crate::model::Usage;
use crate::orchestrator::scheduler::Slot;
use crate::orchestrator::SubAgentRecord;
use crate::plan::{Budget, RunStatus, Step, SubAgent, TraceEvent};
use serde_json::json;
use std::sync::Arc;
use std::time::Instant;

/// How a child run ended: its report, why it could not start, or stopped by the outer deadline.
pub(super) type ChildResult = Result<Result<RunReport, AgentError>, tokio::time::error::Elapsed>;

/// The record of sub-agent `child_id` of `step`, asked for now: nothing allocated or used yet.
pub(super) fn opened(ctx: &Ctx, step: &Step, agent: &SubAgent, child_id: &str) -> SubAgentRecord {
    SubAgentRecord {
        run: child_id.to_string(),
        parent: ctx.run_id.clone(),
        step: step.id.clone(),
        depth: ctx.depth + 1,
        priority: agent.priority,
        status: None,
        requested_ms: ctx.tree.now_ms(),
        queued_ms: 0,
        busy_ms: 0,
        allocated: Budget::zero(),
        used: Budget::zero(),
        capability_requests: 0,
        violations: Vec::new(),
        denied_calls: 0,
        data: Default::default(),
    }
}

/// Writes a sub-agent's record as `cancelled` when its future is dropped before it ends (its
/// parent stopped or was cancelled), so that no sub-agent vanishes from the figures.
pub(super) struct OnCancel<'a> {
    tree: &'a crate::orchestrator::Tree,
    /// The record so far, since when it waits (no slot) or runs (with its slot).
    armed: Option<(SubAgentRecord, Instant, Option<Arc<Slot>>)>,
}

impl<'a> OnCancel<'a> {
    /// A guard that writes nothing until it is armed.
    pub fn new(tree: &'a crate::orchestrator::Tree) -> Self {
        OnCancel { tree, armed: None }
    }

    /// From now on a drop writes `record` as cancelled, timed from `since`.
    pub fn arm(&mut self, record: SubAgentRecord, since: Instant, slot: Option<Arc<Slot>>) {
        self.armed = Some((record, since, slot));
    }

    /// A drop writes nothing any more.
    pub fn disarm(&mut self) {
        self.armed = None;
    }
}

impl Drop for OnCancel<'_> {
    fn drop(&mut self) {
        if let Some((mut r, since, slot)) = self.armed.take() {
            let elapsed = since.elapsed();
            match slot {
                // Busy is slot time, as for a sub-agent that ended.
                Some(s) => {
                    r.busy_ms = elapsed.saturating_sub(s.suspended_for()).as_millis() as u64;
                }
                None => r.queued_ms = elapsed.as_millis() as u64,
            }
            r.status = Some(RunStatus::Cancelled);
            self.tree.record(r);
        }
    }
}

/// Charges the model's planning of the sub-agent (the sub-agent's spending) and records the
/// time it ran since `started`: busy is the time it held `slot`, not the time it gave its slot
/// back to its own sub-agents (theirs is counted in their records).
pub(super) fn ran_for(
    ctx: &Ctx,
    record: &mut SubAgentRecord,
    planned: Usage,
    started: Instant,
    slot: &Slot,
) {
    ctx.spend(planned);
    record.used.max_tokens += planned.input_tokens + planned.output_tokens;
    record.busy_ms = started
        .elapsed()
        .saturating_sub(slot.suspended_for())
        .as_millis() as u64;
    record.used.max_wall_ms = started.elapsed().as_millis() as u64;
}

/// The step's end from how sub-agent `child_id` ended, with its record and the parent's
/// ledger updated; `budget` is what it was given, `planned` what planning it cost.
pub(super) fn settle(
    ctx: &Ctx,
    step: &Step,
    child_id: &str,
    budget: &Budget,
    planned: Usage,
    result: ChildResult,
    record: &mut SubAgentRecord,
) -> StepEnd {
    match result {
        Ok(Ok(report)) => finished(ctx, step, child_id, budget, planned, report, record),
        Ok(Err(e)) => {
            record.status = Some(RunStatus::Failed);
            StepEnd::Failed(format!("sub-agent {child_id} could not start: {e}"))
        }
        Err(_) => {
            record.status = Some(RunStatus::BudgetExhausted);
            StepEnd::Failed(format!(
                "sub-agent {child_id} missed its deadline of {} ms and was stopped",
                budget.max_wall_ms
            ))
        }
    }
}

/// A child run that ended with a report: its use recorded and charged, its end traced.
fn finished(
    ctx: &Ctx,
    step: &Step,
    child_id: &str,
    budget: &Budget,
    planned: Usage,
    report: RunReport,
    record: &mut SubAgentRecord,
) -> StepEnd {
    record.status = Some(report.status);
    record.used = Budget {
        max_steps: report.steps,
        max_wall_ms: report.wall_ms,
        max_fuel: report.fuel,
        max_net_bytes: report.net_bytes,
        max_tokens: report.usage.input_tokens + report.usage.output_tokens,
        max_storage_bytes: report.data.storage_bytes,
    };
    record.denied_calls = report.denied;
    record.data = report.data;
    let own_tokens = record.used.max_tokens;
    record.used.max_tokens += planned.input_tokens + planned.output_tokens;
    charge(ctx, &report, own_tokens);
    ctx.emit(TraceEvent::SubAgentFinished {
        step: step.id.clone(),
        run: child_id.to_string(),
        status: report.status,
        steps: report.steps,
        fuel: report.fuel,
        wall_ms: report.wall_ms,
    });
    end_of(report, child_id, budget)
}

/// Adds what the child used (`own_tokens`: its tokens, without its planning, already spent)
/// to the parent's ledger.
fn charge(ctx: &Ctx, report: &RunReport, own_tokens: u64) {
    if let Ok(mut l) = ctx.ledger.lock() {
        l.calls += report.steps;
        l.fuel += report.fuel;
        l.net += report.net_bytes;
        l.tokens += own_tokens;
        l.denied += report.denied;
        l.data.add(&report.data);
        l.usage.input_tokens += report.usage.input_tokens;
        l.usage.output_tokens += report.usage.output_tokens;
    }
}

/// The step's end from the child's status: its results when done, else why it failed.
fn end_of(report: RunReport, child_id: &str, budget: &Budget) -> StepEnd {
    match report.status {
        RunStatus::Done => StepEnd::Accepted {
            value: json!({ "run": child_id, "results": report.results }),
            surprising: false,
            note: String::new(),
        },
        RunStatus::BudgetExhausted if report.wall_ms >= budget.max_wall_ms => {
            StepEnd::Failed(format!(
                "sub-agent {child_id} missed its deadline of {} ms",
                budget.max_wall_ms
            ))
        }
        status => StepEnd::Failed(format!(
            "sub-agent {child_id} ended {status:?}: {}",
            report
                .failed
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join("; ")
        )),
    }
}
