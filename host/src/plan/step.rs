//! Steps: a tool call with its arguments, dependencies, expectations and alternatives — or a
//! sub-agent ([`SubAgent`]) that takes a sub-goal with its own steps, scope and budget share.

use super::budget::BudgetRequest;
use serde::{Deserialize, Serialize};

/// What a step's result must satisfy; the critic checks these.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// The result's JSON text contains this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contains: Option<String>,
    /// A JSONPath (RFC 9535) evaluated on the result...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// ...matches at least this many nodes (default 1 when `path` is set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<usize>,
    /// What the step is for, in words (shown in traces and reports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
}

/// Another way to do a step: a different tool and/or arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alternative {
    /// Tool (default: the step's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// Arguments (default: the step's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<serde_json::Value>,
    /// Expectations (default: the step's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<Expectation>,
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Unique id; later steps refer to its result as `${id.field}`.
    pub id: String,
    /// Sub-goal it belongs to (for the plan tree).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goal: Option<String>,
    /// Steps that must be accepted first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<String>,
    /// Tool to call, `plugin.function` (empty for a sub-agent step).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub tool: String,
    /// Delegates the step to a sub-agent instead of calling a tool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<Box<SubAgent>>,
    /// Arguments; strings may reference earlier results.
    #[serde(default = "empty_object")]
    pub args: serde_json::Value,
    /// What the result must satisfy.
    #[serde(default)]
    pub expect: Expectation,
    /// Tried in order when the step cannot be made to pass.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alternatives: Vec<Alternative>,
}

fn empty_object() -> serde_json::Value {
    serde_json::json!({})
}

/// The tool name through which a model (or a plan) delegates: a step calling `spawn_agent`
/// with the sub-agent's fields as arguments is the same as a step with `agent = {...}`.
pub const SPAWN_AGENT: &str = "spawn_agent";

/// Turns `spawn_agent` calls into sub-agent steps, at every depth; the error names the step
/// whose arguments are not a sub-agent.
pub fn lift_spawn_agents(steps: &mut [Step]) -> Result<(), String> {
    for s in steps.iter_mut() {
        if s.tool == SPAWN_AGENT {
            let agent: SubAgent = serde_json::from_value(s.args.clone()).map_err(|e| {
                format!(
                    "step `{}` calls `{SPAWN_AGENT}` with arguments that are not a sub-agent: {e}",
                    s.id
                )
            })?;
            s.agent = Some(Box::new(agent));
            s.tool.clear();
            s.args = empty_object();
        }
        if let Some(a) = s.agent.as_mut() {
            lift_spawn_agents(&mut a.steps)?;
        }
    }
    Ok(())
}

/// A sub-agent: `agent = { goal = …, steps = [...], … }` on a step, instead of `tool`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubAgent {
    /// Its sub-goal.
    pub goal: String,
    /// Higher runs first when sub-agents wait for a slot.
    #[serde(default)]
    pub priority: i64,
    /// It must finish within this many ms (and within what its parent has left).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_ms: Option<u64>,
    /// What it asks of its parent's budget; unset kinds get the allocation strategy's share.
    #[serde(default)]
    pub budget: BudgetRequest,
    /// Tools it may call (patterns; empty: its parent's) and per-plugin narrowed grants.
    #[serde(default, flatten)]
    pub scope: spud_policy::Scope,
    /// Its plan; empty: a model plans its goal when it starts (its own `model`, else its
    /// parent's planning model).
    #[serde(default)]
    pub steps: Vec<Step>,
    /// Its own model, for planning it and revising its plan: a name under `[models]` in
    /// spud's config, or `PROVIDER:MODEL`. Default: its parent's model, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}
