//! A sub-agent's child run: its plan (planned by a model first when it has only a goal), its
//! narrowed caller, its model, its place in the tree, and running it under an outer deadline —
//! here, or elsewhere when the run has a [`Dispatch`](super::options::Dispatch).

use super::context::Ctx;
use super::options::{AgentError, RemoteChild, RunOptions};
use super::revise::Reviser;
use super::settle::ChildResult;
use crate::model::{Provider, Usage};
use crate::orchestrator::scheduler::Slot;
use crate::orchestrator::TreeContext;
use crate::plan::{Budget, Plan, ReviseWhen, Step, SubAgent};
use crate::service::Caller;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A child run, ready to start.
pub(super) struct Child {
    pub plan: Plan,
    pub options: RunOptions,
    /// The model that plans (when it has no steps) and revises it, if any.
    pub reviser: Option<Arc<Reviser>>,
}

/// Whom a sub-agent of `step` calls tools as: `parent`, narrowed to the sub-agent's scope.
pub(super) fn narrowed(parent: &Caller, step: &Step, agent: &SubAgent) -> Caller {
    parent.within(
        &format!("{}/{}", parent.principal, step.id),
        Arc::new(agent.scope.clone()),
    )
}

/// The child run of sub-agent `child_id`, with `budget`, in `slot`: the sub-agent's plan, run
/// as `caller` (see [`narrowed`]).
pub(super) fn prepare(
    ctx: &Ctx,
    agent: &SubAgent,
    caller: Caller,
    own_model: Option<Arc<dyn Provider>>,
    budget: Budget,
    child_id: &str,
    slot: &Arc<Slot>,
) -> Child {
    let plan = Plan {
        goal: agent.goal.clone(),
        budget,
        critic: ctx.plan.critic,
        steps: agent.steps.clone(),
        agents: ctx.plan.agents,
    };
    let reviser = reviser(ctx, own_model, plan.steps.is_empty(), &caller);
    let options = RunOptions {
        reviser: reviser.clone(),
        judge: ctx.judge.clone(),
        caller: Some(caller),
        tree: Some(TreeContext {
            tree: ctx.tree.clone(),
            id: child_id.to_string(),
            depth: ctx.depth + 1,
            slot: Some(slot.clone()),
        }),
        prices: ctx.prices,
        // The parent's model (when the child uses it) switched before: traced by the parent.
        switches_traced: ctx.switches.load(std::sync::atomic::Ordering::SeqCst),
        ..RunOptions::default()
    };
    Child {
        plan,
        options,
        reviser,
    }
}

/// The sub-agent's model — its own, else (to plan a goal-only sub-agent, one `without_steps`)
/// its parent's — shown only the sub-agent's tools: it plans the sub-agent when it has no
/// steps and revises its plan as it runs.
fn reviser(
    ctx: &Ctx,
    own_model: Option<Arc<dyn Provider>>,
    without_steps: bool,
    caller: &Caller,
) -> Option<Arc<Reviser>> {
    let provider = match (own_model, &ctx.reviser) {
        (Some(p), _) => Some(p),
        (None, Some(r)) if without_steps => Some(r.provider()),
        (None, _) => None,
    };
    let when = ctx
        .reviser
        .as_ref()
        .map_or_else(ReviseWhen::default, |r| r.when);
    provider.map(|p| {
        Arc::new(
            Reviser::new(p, when)
                .for_caller(Some(caller.clone()))
                .output_bytes(ctx.output_bytes),
        )
    })
}

/// Runs `child` (planning it first when it has no steps), stopped at `limit` if it cannot
/// even stop by itself. Returns how it ended and what planning it cost.
pub(super) async fn run(ctx: &Ctx, child: Child, limit: Duration) -> (ChildResult, Usage) {
    let planning = Mutex::new(Usage::default());
    let Child {
        mut plan,
        options,
        reviser,
    } = child;
    let run = async {
        if plan.steps.is_empty() {
            plan_goal(ctx, reviser.as_deref(), &options, &mut plan, &planning).await?;
        }
        match (&ctx.dispatch, &options.caller, &options.tree) {
            (Some(d), Some(caller), Some(tree)) => {
                let child = RemoteChild {
                    id: tree.id.clone(),
                    root: ctx.run_id.clone(),
                    plan,
                    caller: caller.clone(),
                    // Only a root run hands out sub-agents: its plan's budget is the root's.
                    root_budget: ctx.plan.budget,
                };
                d.dispatch(child).await
            }
            _ => (ctx.run_child)(ctx.spud.clone(), plan, options).await,
        }
    };
    let result = tokio::time::timeout(limit, run).await;
    let planned = planning.lock().map(|u| *u).unwrap_or_default();
    (result, planned)
}

/// Plans a goal-only sub-agent with `reviser`'s model: its steps, and its token budget less
/// what planning used (kept in `planning`).
async fn plan_goal(
    ctx: &Ctx,
    reviser: Option<&Reviser>,
    options: &RunOptions,
    plan: &mut Plan,
    planning: &Mutex<Usage>,
) -> Result<(), AgentError> {
    let Some(r) = reviser else {
        return Err(AgentError::Planning(
            "it has no steps and no model is at hand to plan it; give it `steps` or a `model`, or run a goal with a model".into(),
        ));
    };
    if plan.budget.max_tokens == 0 {
        return Err(AgentError::Planning(
            "its share of model tokens is 0, so it cannot be planned; raise the parent's `max_tokens` or give it `steps`".into(),
        ));
    }
    let (planned, usage) = super::planner::plan(
        r.provider().as_ref(),
        &ctx.spud,
        options.caller.as_ref(),
        &plan.goal,
        "",
        plan.budget,
    )
    .await
    .map_err(|e| AgentError::Planning(e.to_string()))?;
    if let Ok(mut u) = planning.lock() {
        *u = usage;
    }
    plan.steps = planned.steps;
    plan.budget.max_tokens = plan
        .budget
        .max_tokens
        .saturating_sub(usage.input_tokens + usage.output_tokens);
    Ok(())
}
