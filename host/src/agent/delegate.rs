//! Running a sub-agent step: check that it asks no more than its parent holds (else refuse it,
//! audit the violation and tell the parent), give it a budget share, wait for a slot by
//! priority, run its plan (or, for a goal-only sub-agent, one the model makes) as a child run
//! under a narrowed caller and a deadline, and charge
//! what it used to the parent.

use super::context::{Ctx, StepEnd};
use super::options::{AgentError, RunOptions};
use super::revise::Reviser;
use crate::model::Usage;
use crate::orchestrator::scheduler::Slot;
use crate::orchestrator::{SubAgentRecord, TreeContext};
use crate::plan::ReviseWhen;
use crate::plan::{allocate, share, SubAgent};
use crate::plan::{Budget, Plan, Step};
use crate::plan::{RunStatus, TraceEvent};
use crate::service::Caller;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the sub-agent asked for that its parent (as `parent`) does not hold, and how many
/// capability items it asked for.
fn violations(ctx: &Ctx, parent: &Caller, agent: &SubAgent) -> (Vec<String>, u64) {
    let mut missing = Vec::new();
    let mut asked = agent.scope.tools.len() as u64;
    let registry = ctx.spud.registry();
    let tools: Vec<String> = registry
        .plugins
        .values()
        .flat_map(|e| e.tools.iter().map(|t| t.name.clone()))
        .collect();
    for pattern in &agent.scope.tools {
        let probe = spud_policy::Scope {
            tools: vec![pattern.clone()],
            ..Default::default()
        };
        let matching: Vec<&String> = tools.iter().filter(|t| probe.sees(t)).collect();
        if matching.is_empty() {
            missing.push(format!("tool {pattern} (no such tool)"));
        }
        for t in matching {
            if !parent.sees(t) {
                missing.push(format!("tool {t}"));
            }
        }
    }
    for (plugin, wanted) in &agent.scope.grants {
        asked += (wanted.files.len() + wanted.network.len() + wanted.env.len()) as u64;
        match ctx.spud.loaded(plugin) {
            Ok(loaded) => {
                let held = ctx.spud.grant_for(parent, &loaded);
                let (_, not) = wanted.narrow(&held);
                missing.extend(not.iter().map(|n| format!("{plugin}: {n}")));
            }
            Err(e) => missing.push(format!("{plugin}: {e}")),
        }
    }
    (missing, asked)
}

/// Plugins the policy marks `approval = true` whose tools the sub-agent could call.
fn needing_approval(ctx: &Ctx, parent: &Caller, agent: &SubAgent) -> Vec<String> {
    let policy = ctx.spud.policy();
    ctx.spud
        .registry()
        .plugins
        .values()
        .filter(|e| policy.tool(&e.name).approval)
        .filter(|e| {
            e.tools
                .iter()
                .any(|t| parent.sees(&t.name) && agent.scope.sees(&t.name))
        })
        .map(|e| e.name.clone())
        .collect()
}

fn zero() -> Budget {
    Budget {
        max_steps: 0,
        max_wall_ms: 0,
        max_fuel: 0,
        max_net_bytes: 0,
        max_tokens: 0,
        max_storage_bytes: 0,
    }
}

/// How a sub-agent step ended, and whether running it again could help (a refusal cannot).
pub(super) struct Delegated {
    pub end: StepEnd,
    pub ran: bool,
}

/// Writes a sub-agent's record as `cancelled` when its future is dropped before it ends (its
/// parent stopped or was cancelled), so that no sub-agent vanishes from the figures.
struct OnCancel<'a> {
    tree: &'a crate::orchestrator::Tree,
    /// The record so far, since when it waits (no slot) or runs (with its slot).
    armed: Option<(SubAgentRecord, Instant, Option<Arc<Slot>>)>,
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

/// Budget kinds a sub-agent asked for beyond its parent's whole budget: refused, since no
/// share could ever cover them (asking beyond what is *left* is capped to it instead).
/// Also how many budget kinds it asked for (capability requests, for the figures).
fn over_budget(ctx: &Ctx, agent: &SubAgent) -> (Vec<String>, u64) {
    let b = &ctx.plan.budget;
    let r = &agent.budget;
    [
        ("max_steps", r.max_steps, b.max_steps),
        ("max_fuel", r.max_fuel, b.max_fuel),
        ("max_net_bytes", r.max_net_bytes, b.max_net_bytes),
        ("max_tokens", r.max_tokens, b.max_tokens),
        (
            "max_storage_bytes",
            r.max_storage_bytes,
            b.max_storage_bytes,
        ),
        ("deadline_ms", agent.deadline_ms, b.max_wall_ms),
    ]
    .into_iter()
    .filter(|(_, asked, _)| asked.is_some())
    .fold((Vec::new(), 0), |(mut over, n), (k, asked, held)| {
        if let Some(a) = asked.filter(|a| *a > held) {
            over.push(format!(
                "budget {k} = {a} (the parent's whole budget is {held})"
            ));
        }
        (over, n + 1)
    })
}

/// Runs the sub-agent of `step` to its end; `attempt` counts earlier tries of it (a retry
/// runs as `PARENT.STEP~N`).
pub(super) async fn run(
    ctx: &Ctx,
    step: &Step,
    agent: &SubAgent,
    ticket: crate::orchestrator::scheduler::Ticket,
    attempt: u32,
) -> Delegated {
    let refused = |end| Delegated { end, ran: false };
    let child_id = match attempt {
        0 => format!("{}.{}", ctx.run_id, step.id),
        n => format!("{}.{}~{}", ctx.run_id, step.id, n + 1),
    };
    let parent = ctx.caller.clone().unwrap_or_else(|| ctx.spud.operator());
    let requested_ms = ctx.tree.now_ms();
    let mut record = SubAgentRecord {
        run: child_id.clone(),
        parent: ctx.run_id.clone(),
        step: step.id.clone(),
        depth: ctx.depth + 1,
        priority: agent.priority,
        status: None,
        requested_ms,
        queued_ms: 0,
        busy_ms: 0,
        allocated: zero(),
        used: zero(),
        capability_requests: 0,
        violations: Vec::new(),
        denied_calls: 0,
        data: Default::default(),
    };
    if ctx.depth + 1 > ctx.tree.settings.max_depth {
        let why = format!(
            "sub-agents may nest {} deep (`max_depth` under [agents] in the plan)",
            ctx.tree.settings.max_depth
        );
        ctx.tree.record(record);
        return refused(StepEnd::Failed(why));
    }
    let (mut missing, asked) = violations(ctx, &parent, agent);
    let (over, budget_asks) = over_budget(ctx, agent);
    missing.extend(over);
    let needs = needing_approval(ctx, &parent, agent);
    // Each plugin needing approval is a capability asked for; a refused approval a violation.
    record.capability_requests = asked + budget_asks + needs.len() as u64;
    let own_model = match (&agent.model, &ctx.tree.models) {
        (None, _) => None,
        (Some(name), Some(models)) => match models.get(name) {
            Ok(p) => Some(p),
            Err(e) => {
                ctx.tree.record(record);
                return refused(StepEnd::Failed(format!("sub-agent refused: {e}")));
            }
        },
        (Some(name), None) => {
            ctx.tree.record(record);
            return refused(StepEnd::Failed(format!(
                "sub-agent refused: it names model `{name}`, but no models are configured for sub-agents here ([model] / [models] in spud's config)"
            )));
        }
    };
    let mut cancel = OnCancel {
        tree: &ctx.tree,
        armed: None,
    };
    if missing.is_empty() && !needs.is_empty() {
        let request = crate::orchestrator::approval::ApprovalRequest {
            sub_agent: child_id.clone(),
            goal: agent.goal.clone(),
            principal: parent.principal.clone(),
            plugins: needs.clone(),
        };
        cancel.armed = Some((record.clone(), Instant::now(), None));
        let approved = match &ctx.tree.approver {
            Some(a) => a.approve(&request).await,
            None => false,
        };
        cancel.armed = None;
        let action = if approved {
            "approval_granted"
        } else {
            "approval_denied"
        };
        let event = spud_audit::Event::access(&parent.principal, action, &request.to_string());
        if let Err(e) = ctx.spud.audit().append(event) {
            tracing::error!("audit: cannot record an approval decision: {e}");
        }
        if !approved {
            let how = if ctx.tree.approver.is_some() {
                "denied at the terminal"
            } else {
                "nobody to ask: spud is not interactive"
            };
            missing.extend(
                needs
                    .iter()
                    .map(|p| format!("{p}: needs approval (`approval = true` under [tools.{p}] in the policy), {how}")),
            );
        }
    }
    if !missing.is_empty() {
        let detail = format!("sub-agent {child_id} asked for {}", missing.join("; "));
        let event = spud_audit::Event::access(&parent.principal, "permission_violation", &detail);
        if let Err(e) = ctx.spud.audit().append(event) {
            tracing::error!("audit: cannot record a permission violation: {e}");
        }
        ctx.emit(TraceEvent::SubAgentDenied {
            step: step.id.clone(),
            missing: missing.clone(),
        });
        let why = format!(
            "sub-agent refused: it asks for more than its parent holds ({}); a sub-agent can only narrow its parent's tools, grants and budget",
            missing.join("; ")
        );
        record.violations = missing;
        ctx.tree.record(record);
        return refused(StepEnd::Failed(why));
    }

    // Budget: a share of the run's budget (on demand: of what is left), never more than what
    // is left less what running siblings hold; reserved until the sub-agent ends.
    let available = ctx.available();
    let mut siblings: Vec<i64> = ctx
        .plan
        .steps
        .iter()
        .filter_map(|s| s.agent.as_ref().map(|a| a.priority))
        .collect();
    // A parent with tool steps of its own keeps a share for them (as its lowest-priority
    // sibling), so its own calls are not starved by what its sub-agents hold.
    if ctx.plan.steps.iter().any(|s| s.agent.is_none()) {
        siblings.push(siblings.iter().copied().min().unwrap_or(agent.priority));
    }
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
    let unreserve = |budget: &Budget| {
        if let Ok(mut l) = ctx.ledger.lock() {
            l.reserved.apply(budget, false);
        }
    };

    // A slot, by priority; a parent waiting for its own sub-agent gives its slot back meanwhile.
    if let Some(s) = &ctx.slot {
        s.suspend();
    }
    let queued_at = Instant::now();
    cancel.armed = Some((record.clone(), queued_at, None));
    let slot = Arc::new(ticket.slot().await);
    record.queued_ms = queued_at.elapsed().as_millis() as u64;
    // Its deadline counts from its start and never passes what the parent has left then.
    let wall_left = ctx.available().max_wall_ms;
    if wall_left == 0 {
        // Nothing to run it in: not the sub-agent's failure, and not worth a retry.
        cancel.armed = None;
        drop(slot);
        if let Some(s) = &ctx.slot {
            s.resume().await;
        }
        unreserve(&budget);
        ctx.tree.record(record);
        return refused(StepEnd::Failed(format!(
            "sub-agent {child_id} did not start: its parent had no time left for it"
        )));
    }
    budget.max_wall_ms = agent.deadline_ms.map_or(wall_left, |d| d.min(wall_left));
    record.allocated = budget;
    ctx.emit(TraceEvent::SubAgentStarted {
        step: step.id.clone(),
        run: child_id.clone(),
        priority: agent.priority,
        queued_ms: record.queued_ms,
        budget,
    });
    let plan = Plan {
        goal: agent.goal.clone(),
        budget,
        critic: ctx.plan.critic,
        steps: agent.steps.clone(),
        agents: ctx.plan.agents,
    };
    let caller = parent.within(
        &format!("{}/{}", parent.principal, step.id),
        Arc::new(agent.scope.clone()),
    );
    // Its model — its own, else (to plan a goal-only sub-agent) its parent's — is shown only
    // the sub-agent's tools, plans it when it has no steps and revises its plan as it runs.
    let provider = match (own_model, &ctx.reviser) {
        (Some(p), _) => Some(p),
        (None, Some(r)) if plan.steps.is_empty() => Some(r.provider()),
        (None, _) => None,
    };
    let when = ctx
        .reviser
        .as_ref()
        .map_or_else(ReviseWhen::default, |r| r.when);
    let reviser = provider.map(|p| {
        Arc::new(
            Reviser::new(p, when)
                .for_caller(Some(caller.clone()))
                .output_bytes(ctx.output_bytes),
        )
    });
    let options = RunOptions {
        reviser: reviser.clone(),
        judge: ctx.judge.clone(),
        caller: Some(caller),
        tree: Some(TreeContext {
            tree: ctx.tree.clone(),
            id: child_id.clone(),
            depth: ctx.depth + 1,
            slot: Some(slot.clone()),
        }),
        prices: ctx.prices,
        ..RunOptions::default()
    };
    let started = Instant::now();
    cancel.armed = Some((record.clone(), started, Some(slot.clone())));
    // The child enforces its own deadline; this outer one only guards against a child that
    // cannot even stop (a grace second later).
    let limit = Duration::from_millis(budget.max_wall_ms.saturating_add(1000));
    let planning = std::sync::Mutex::new(Usage::default());
    let child = async {
        let mut plan = plan;
        if plan.steps.is_empty() {
            let Some(r) = &reviser else {
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
        }
        (ctx.run_child)(ctx.spud.clone(), plan, options).await
    };
    let result = tokio::time::timeout(limit, child).await;
    // The model's planning of the sub-agent is the sub-agent's spending.
    let planned = planning.lock().map(|u| *u).unwrap_or_default();
    ctx.spend(planned);
    record.used.max_tokens += planned.input_tokens + planned.output_tokens;
    // Busy is the time it held a slot: not the time it gave its slot back to its own
    // sub-agents (theirs is counted in their records).
    record.busy_ms = started
        .elapsed()
        .saturating_sub(slot.suspended_for())
        .as_millis() as u64;
    record.used.max_wall_ms = started.elapsed().as_millis() as u64;
    // Ended: whatever happens to this future from here, its record is the real one.
    cancel.armed = None;
    drop(slot);
    if let Some(s) = &ctx.slot {
        s.resume().await;
    }
    let end = match result {
        Ok(Ok(report)) => {
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
            ctx.emit(TraceEvent::SubAgentFinished {
                step: step.id.clone(),
                run: child_id.clone(),
                status: report.status,
                steps: report.steps,
                fuel: report.fuel,
                wall_ms: report.wall_ms,
            });
            match report.status {
                RunStatus::Done => StepEnd::Accepted {
                    value: json!({ "run": child_id, "results": report.results }),
                    surprising: false,
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
    };
    unreserve(&budget);
    ctx.tree.record(record);
    Delegated { end, ran: true }
}
