//! A sub-agent's budget: its share of the run's budget (on demand: of what is left), never
//! more than what is left less what running siblings hold, reserved in the parent's ledger
//! until the sub-agent ends; and its deadline.

use super::context::Ctx;
use crate::plan::{allocate, share, Budget, SubAgent};

/// The sub-agent's budget share, reserved in the ledger (give it back with [`unreserve`]).
/// Its `max_wall_ms` is set when it starts ([`deadline`]).
pub(super) fn reserve(ctx: &Ctx, agent: &SubAgent) -> Budget {
    let available = ctx.available();
    let siblings = sibling_priorities(ctx, agent);
    let settings = &ctx.tree.settings;
    let mut budget = allocate(
        settings,
        &available,
        &agent.budget,
        &share(
            settings,
            match settings.allocation {
                crate::plan::Allocation::OnDemand => &available,
                _ => &ctx.plan.budget,
            },
            &siblings,
            agent.priority,
        ),
    );
    if let Ok(mut l) = ctx.ledger.lock() {
        // Calls in flight may have drawn since `available` was read: never hold more than is
        // left now.
        let b = &ctx.plan.budget;
        budget.max_fuel = budget
            .max_fuel
            .min(l.left(b, crate::sandbox::Metered::Fuel));
        budget.max_net_bytes = budget
            .max_net_bytes
            .min(l.left(b, crate::sandbox::Metered::Net));
        l.reserved.apply(&budget, true);
    }
    budget
}

/// Gives a reserved share back to the parent's ledger.
pub(super) fn unreserve(ctx: &Ctx, budget: &Budget) {
    if let Ok(mut l) = ctx.ledger.lock() {
        l.reserved.apply(budget, false);
    }
}

/// The priorities the run's budget is shared among: every sub-agent step's, and — for a
/// parent with tool steps of its own — a share kept for them (as its lowest-priority
/// sibling), so its own calls are not starved by what its sub-agents hold.
fn sibling_priorities(ctx: &Ctx, agent: &SubAgent) -> Vec<i64> {
    let mut siblings: Vec<i64> = ctx
        .plan
        .steps
        .iter()
        .filter_map(|s| s.agent.as_ref().map(|a| a.priority))
        .collect();
    if ctx.plan.steps.iter().any(|s| s.agent.is_none()) {
        siblings.push(siblings.iter().copied().min().unwrap_or(agent.priority));
    }
    siblings
}

/// A sub-agent's deadline counts from its start and never passes what the parent has left
/// then (`wall_left`).
pub(super) fn deadline(agent: &SubAgent, wall_left: u64) -> u64 {
    agent.deadline_ms.map_or(wall_left, |d| d.min(wall_left))
}
