//! Running a sub-agent step: admit it (else refuse it, audit the violation and tell the parent:
//! `admission`), give it a budget share (`share`), wait for a slot by priority, run its plan
//! (or, for a goal-only sub-agent, one the model makes) as a child run under a narrowed caller
//! and a deadline (`child`), and charge what it used to the parent (`settle`).

use super::admission::admit;
use super::child;
use super::context::{Ctx, StepEnd};
use super::settle::{self, OnCancel};
use super::share;
use crate::orchestrator::scheduler::{Slot, Ticket};
use crate::orchestrator::SubAgentRecord;
use crate::plan::{Budget, Step, SubAgent, TraceEvent};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How a sub-agent step ended, and whether running it again could help (a refusal cannot).
pub(super) struct Delegated {
    pub end: StepEnd,
    pub ran: bool,
}

/// Runs the sub-agent of `step` to its end; `attempt` counts earlier tries of it (a retry
/// runs as `PARENT.STEP~N`).
pub(super) async fn run(
    ctx: &Ctx,
    step: &Step,
    agent: &SubAgent,
    ticket: Ticket,
    attempt: u32,
) -> Delegated {
    let child_id = match attempt {
        0 => format!("{}.{}", ctx.run_id, step.id),
        n => format!("{}.{}~{}", ctx.run_id, step.id, n + 1),
    };
    let parent = ctx.caller.clone().unwrap_or_else(|| ctx.spud.operator());
    let mut record = settle::opened(ctx, step, agent, &child_id);
    let own_model = match admit(ctx, step, agent, &parent, &child_id, &mut record).await {
        Ok(model) => model,
        Err(end) => {
            ctx.tree.record(record);
            return Delegated { end, ran: false };
        }
    };
    let mut budget = share::reserve(ctx, agent);
    let mut cancel = OnCancel::new(&ctx.tree);
    let slot = wait_for_slot(ctx, ticket, &mut cancel, &mut record).await;
    let wall_left = ctx.available().max_wall_ms;
    if wall_left == 0 {
        // Nothing to run it in: not the sub-agent's failure, and not worth a retry.
        cancel.disarm();
        release(ctx, slot).await;
        share::unreserve(ctx, &budget);
        ctx.tree.record(record);
        let why = format!("sub-agent {child_id} did not start: its parent had no time left for it");
        return Delegated {
            end: StepEnd::Failed(why),
            ran: false,
        };
    }
    budget.max_wall_ms = share::deadline(agent, wall_left);
    started(ctx, step, agent, &child_id, budget, &mut record);
    let caller = child::narrowed(&parent, step, agent);
    let prepared = child::prepare(ctx, agent, caller, own_model, budget, &child_id, &slot);
    let started = Instant::now();
    cancel.arm(record.clone(), started, Some(slot.clone()));
    // The child enforces its own deadline; this outer one only guards against a child that
    // cannot even stop (a grace second later).
    let limit = Duration::from_millis(budget.max_wall_ms.saturating_add(1000));
    let (result, planned) = child::run(ctx, prepared, limit).await;
    settle::ran_for(ctx, &mut record, planned, started, &slot);
    // Ended: whatever happens to this future from here, its record is the real one.
    cancel.disarm();
    release(ctx, slot).await;
    let end = settle::settle(ctx, step, &child_id, &budget, planned, result, &mut record);
    share::unreserve(ctx, &budget);
    ctx.tree.record(record);
    Delegated { end, ran: true }
}

/// Waits for a slot, by priority; a parent waiting for its own sub-agent gives its slot back
/// meanwhile. A sub-agent cancelled while it waits is recorded as such.
async fn wait_for_slot(
    ctx: &Ctx,
    ticket: Ticket,
    cancel: &mut OnCancel<'_>,
    record: &mut SubAgentRecord,
) -> Arc<Slot> {
    if let Some(s) = &ctx.slot {
        s.suspend();
    }
    let queued_at = Instant::now();
    cancel.arm(record.clone(), queued_at, None);
    let slot = Arc::new(ticket.slot().await);
    record.queued_ms = queued_at.elapsed().as_millis() as u64;
    slot
}

/// Records the sub-agent's `budget` as allocated and traces its start.
fn started(
    ctx: &Ctx,
    step: &Step,
    agent: &SubAgent,
    child_id: &str,
    budget: Budget,
    record: &mut SubAgentRecord,
) {
    record.allocated = budget;
    ctx.emit(TraceEvent::SubAgentStarted {
        step: step.id.clone(),
        run: child_id.to_string(),
        priority: agent.priority,
        queued_ms: record.queued_ms,
        budget,
    });
}

/// Gives the sub-agent's slot back and takes the parent's own slot again.
async fn release(ctx: &Ctx, slot: Arc<Slot>) {
    drop(slot);
    if let Some(s) = &ctx.slot {
        s.resume().await;
    }
}
