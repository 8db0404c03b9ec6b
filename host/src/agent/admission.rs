//! Whether a sub-agent may run at all: not nested too deep, asking no more tools, grants or
//! budget than its parent holds, naming a model that is configured, and approved when it may
//! use plugins that need approval. A refusal is audited and traced, and tells the parent why.

use super::context::{Ctx, StepEnd};
use super::settle::OnCancel;
use crate::model::Provider;
use crate::orchestrator::SubAgentRecord;
use crate::plan::{Step, SubAgent, TraceEvent};
use crate::service::Caller;
use std::sync::Arc;
use std::time::Instant;

/// Admits sub-agent `child_id` of `step` under `parent`: its own model, if it names one, or
/// the step's end refusing it. `record` gets its capability requests and its violations.
pub(super) async fn admit(
    ctx: &Ctx,
    step: &Step,
    agent: &SubAgent,
    parent: &Caller,
    child_id: &str,
    record: &mut SubAgentRecord,
) -> Result<Option<Arc<dyn Provider>>, StepEnd> {
    if ctx.depth + 1 > ctx.tree.settings.max_depth {
        return Err(StepEnd::Failed(format!(
            "sub-agents may nest {} deep (`max_depth` under [agents] in the plan)",
            ctx.tree.settings.max_depth
        )));
    }
    let (mut missing, asked) = violations(ctx, parent, agent);
    let (over, budget_asks) = over_budget(ctx, agent);
    missing.extend(over);
    let needs = needing_approval(ctx, parent, agent);
    // Each plugin needing approval is a capability asked for; a refused approval a violation.
    record.capability_requests = asked + budget_asks + needs.len() as u64;
    let own_model = own_model(ctx, agent)?;
    if missing.is_empty() && !needs.is_empty() {
        missing.extend(approve(ctx, parent, agent, child_id, needs, record).await);
    }
    if !missing.is_empty() {
        return Err(deny(ctx, step, parent, child_id, missing, record));
    }
    Ok(own_model)
}

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

/// The sub-agent's own model, when it names one: refused when it is unknown or when no
/// models are configured for sub-agents.
fn own_model(ctx: &Ctx, agent: &SubAgent) -> Result<Option<Arc<dyn Provider>>, StepEnd> {
    match (&agent.model, &ctx.tree.models) {
        (None, _) => Ok(None),
        (Some(name), Some(models)) => match models.get(name) {
            Ok(p) => Ok(Some(p)),
            Err(e) => Err(StepEnd::Failed(format!("sub-agent refused: {e}"))),
        },
        (Some(name), None) => Err(StepEnd::Failed(format!(
            "sub-agent refused: it names model `{name}`, but no models are configured for sub-agents here ([model] / [models] in spud's config)"
        ))),
    }
}

/// Asks the tree's approver (nobody, when spud is not interactive) to let the sub-agent use
/// the plugins it `needs`, and audits the decision. Returns what a refusal leaves missing
/// (nothing when approved). A sub-agent cancelled while waiting is recorded as such.
async fn approve(
    ctx: &Ctx,
    parent: &Caller,
    agent: &SubAgent,
    child_id: &str,
    needs: Vec<String>,
    record: &SubAgentRecord,
) -> Vec<String> {
    let request = crate::orchestrator::approval::ApprovalRequest {
        sub_agent: child_id.to_string(),
        goal: agent.goal.clone(),
        principal: parent.principal.clone(),
        plugins: needs.clone(),
    };
    let mut cancel = OnCancel::new(&ctx.tree);
    cancel.arm(record.clone(), Instant::now(), None);
    let approved = match &ctx.tree.approver {
        Some(a) => a.approve(&request).await,
        None => false,
    };
    cancel.disarm();
    let action = if approved {
        "approval_granted"
    } else {
        "approval_denied"
    };
    let event = spud_audit::Event::access(&parent.principal, action, &request.to_string());
    if let Err(e) = ctx.spud.audit().append(event) {
        tracing::error!("audit: cannot record an approval decision: {e}");
    }
    if approved {
        return Vec::new();
    }
    let how = if ctx.tree.approver.is_some() {
        "denied at the terminal"
    } else {
        "nobody to ask: spud is not interactive"
    };
    needs
        .iter()
        .map(|p| {
            format!(
                "{p}: needs approval (`approval = true` under [tools.{p}] in the policy), {how}"
            )
        })
        .collect()
}

/// Refuses a sub-agent that asks for what its parent does not hold (`missing`): audited as a
/// permission violation, traced, and kept in its record. Returns the step's end.
fn deny(
    ctx: &Ctx,
    step: &Step,
    parent: &Caller,
    child_id: &str,
    missing: Vec<String>,
    record: &mut SubAgentRecord,
) -> StepEnd {
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
    StepEnd::Failed(why)
}
