//! The model planner: asks a model for a plan (JSON Schema enforced) from the goal and the
//! tools' names, descriptions and input schemas; an invalid plan goes back once with the reason.

use super::options::AgentError;
use super::prompts::{plan_schema, system_prompt};
use crate::model::{ModelError, Provider, Usage};
use crate::plan::{Budget, Plan, Step};
use crate::service::{Caller, Spud};
use serde_json::Value;

/// Why a goal could not be run.
#[derive(Debug, thiserror::Error)]
pub enum PlannerError {
    /// The model could not be asked.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The model's plans kept being invalid.
    #[error("the model's plan is invalid: {0}")]
    InvalidPlan(String),
    /// The run could not be traced.
    #[error(transparent)]
    Agent(#[from] AgentError),
}

/// Asks for a plan; an invalid plan is sent back once with the reason.
pub async fn plan(
    provider: &dyn Provider,
    spud: &Spud,
    caller: Option<&Caller>,
    goal: &str,
    context: &str,
    budget: Budget,
) -> Result<(Plan, Usage), PlannerError> {
    let (planned, usage) = plan_counted(provider, spud, caller, goal, context, budget).await;
    planned.map(|p| (p, usage))
}

/// [`plan`], with the tokens spent whether a plan came of it or not.
pub async fn plan_counted(
    provider: &dyn Provider,
    spud: &Spud,
    caller: Option<&Caller>,
    goal: &str,
    context: &str,
    budget: Budget,
) -> (Result<Plan, PlannerError>, Usage) {
    let system = system_prompt(spud, caller);
    let toolbox = super::callable::Toolbox::new(spud, caller);
    let mut user = format!("Goal: {goal}\n{context}");
    let mut usage = Usage::default();
    for _ in 0..2 {
        let (doc, u) = match provider
            .complete_json(&system, &user, "plan", &plan_schema())
            .await
        {
            Ok(x) => x,
            Err(e) => return (Err(e.into()), usage),
        };
        usage.input_tokens += u.input_tokens;
        usage.output_tokens += u.output_tokens;
        let mut doc = doc;
        if let Value::Object(m) = &mut doc {
            m.entry("goal")
                .or_insert_with(|| Value::String(goal.to_string()));
        }
        let checked = serde_json::from_value::<Plan>(doc.clone())
            .map_err(|e| e.to_string())
            .and_then(|mut p| {
                p.budget = budget;
                crate::plan::lift_spawn_agents(&mut p.steps)?;
                resolve_tools(&toolbox, &mut p.steps)?;
                p.validate().map(|()| p)
            });
        match checked {
            Ok(p) => return (Ok(p), usage),
            Err(e) => user = format!("Goal: {goal}\n{context}\nYour previous plan was invalid: {e}\nPrevious plan: {doc}"),
        }
    }
    (Err(PlannerError::InvalidPlan(user)), usage)
}

/// Resolves each step's (and alternative's) tool name: a short name that matches exactly one
/// tool becomes that tool; an unknown or ambiguous one makes the plan invalid, with the
/// candidates, so the model can name another tool.
pub fn resolve_tools(toolbox: &super::callable::Toolbox, steps: &mut [Step]) -> Result<(), String> {
    for s in steps.iter_mut() {
        if !s.tool.is_empty() {
            s.tool = toolbox
                .resolve(&s.tool)
                .map_err(|e| format!("step `{}`: {e}", s.id))?
                .tool()
                .to_string();
        }
        for a in s.alternatives.iter_mut() {
            if let Some(t) = a.tool.as_mut() {
                *t = toolbox
                    .resolve(t)
                    .map_err(|e| format!("step `{}`, an alternative: {e}", s.id))?
                    .tool()
                    .to_string();
            }
        }
    }
    Ok(())
}
