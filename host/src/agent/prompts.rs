//! What the model is shown: the JSON Schemas of plans, steps and sub-agents, the tools a caller
//! may use, the planner's system prompt, and tool output cut to size.

use crate::service::{Caller, Spud};
use serde_json::{json, Value};

/// The JSON Schema of a sub-agent: an `agent` on a step, or the arguments of `spawn_agent`.
/// Its steps have the shape of a plan's (not spelled out again, to keep the schema finite);
/// without steps, a model plans its goal.
pub fn agent_schema() -> Value {
    json!({"type": "object", "required": ["goal"], "additionalProperties": false,
    "properties": {
        "goal": {"type": "string"},
        "priority": {"type": "integer"},
        "deadline_ms": {"type": "integer", "minimum": 1},
        "tools": {"type": "array", "items": {"type": "string"}},
        "model": {"type": "string", "description": "a model for this sub-agent (a name from spud's config, or PROVIDER:MODEL); default: yours"},
        "budget": {"type": "object", "additionalProperties": false, "properties": {
            "max_steps": {"type": "integer", "minimum": 0}, "max_fuel": {"type": "integer", "minimum": 0},
            "max_net_bytes": {"type": "integer", "minimum": 0}, "max_tokens": {"type": "integer", "minimum": 0},
            "max_storage_bytes": {"type": "integer", "minimum": 0}}},
        "steps": {"type": "array", "items": {"type": "object"}}
    }})
}

/// The JSON Schema of one step (shared by plans and revisions).
pub fn step_schema() -> Value {
    let expect = json!({"type": "object", "properties": {
        "contains": {"type": "string"}, "path": {"type": "string"}, "min": {"type": "integer", "minimum": 0},
        "outcome": {"type": "string"}}, "additionalProperties": false});
    let agent = agent_schema();
    json!({
        "type": "object",
        "required": ["id"],
        "additionalProperties": false,
        "properties": {
            "id": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"},
            "goal": {"type": "string"},
            "after": {"type": "array", "items": {"type": "string"}},
            "tool": {"type": "string"},
            "agent": agent,
            "args": {"type": "object"},
            "expect": expect,
            "alternatives": {"type": "array", "items": {"type": "object", "additionalProperties": false,
                "properties": {"tool": {"type": "string"}, "args": {"type": "object"}, "expect": expect}}}
        }
    })
}

/// The JSON Schema plans must match.
pub fn plan_schema() -> Value {
    json!({
        "type": "object",
        "required": ["steps"],
        "additionalProperties": false,
        "properties": {
            "goal": {"type": "string"},
            "steps": {"type": "array", "minItems": 1, "items": step_schema()}
        }
    })
}

/// The tools `caller` may use (name, description, input schema), for a model's prompt; `None`:
/// every tool.
pub fn tools_prompt(spud: &Spud, caller: Option<&Caller>) -> String {
    let reg = spud.registry();
    let tools: Vec<Value> = reg
        .plugins
        .values()
        .filter(|e| spud.offered_to_models(e))
        .flat_map(|e| e.tools.iter())
        .filter(|t| t.unavailable.is_none())
        .filter(|t| caller.is_none_or(|c| c.sees(&t.name)))
        .map(|t| json!({"name": t.name, "description": t.description, "input_schema": t.input_schema}))
        .chain(std::iter::once(json!({
            "name": crate::plan::SPAWN_AGENT,
            "description": "Delegate a sub-goal to a sub-agent that runs in parallel with the other steps, with its own steps (or, without steps, planned by the model), a subset of your tools and grants, a priority, a deadline and a budget share. Its result is {run, results}.",
            "input_schema": agent_schema(),
        })))
        .collect();
    format!(
        "Tools:\n{}",
        serde_json::to_string_pretty(&tools).unwrap_or_default()
    )
}

pub(super) fn system_prompt(spud: &Spud, caller: Option<&Caller>) -> String {
    format!(
        "You are the planner of spud, an agent that runs sandboxed tools. Split the user's goal into steps. \
Each step calls one tool with arguments matching its input schema. Steps run as soon as the steps in `after` are done, \
so independent steps run in parallel. An argument string \"${{id.field}}\" is replaced by that field of step `id`'s result \
(add `|json` to parse a string as JSON); list `id` in `after`. Give each step an `expect` the result must meet \
(`contains` text, or a JSONPath `path` with at least `min` matches) and `alternatives` to try when it does not. \
Group steps under sub-goals with `goal`. A step may instead delegate a sub-goal to a sub-agent by calling the `spawn_agent` tool (or with `agent`): its `goal`, its own `steps` (leave them out to have it planned separately), optional `priority`, `deadline_ms`, `tools` it may use and a `budget` share; independent sub-agents run in parallel and get no more tools or grants than you have. Answer with the plan as JSON only.\n\n{}",
        tools_prompt(spud, caller)
    )
}

/// How much of a tool's output traces and model prompts carry by default.
pub const DEFAULT_OUTPUT_BYTES: usize = 4096;

/// Cuts text to `max` bytes (at a character boundary), saying how long it was.
pub fn cut_to(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes in all)", &s[..end], s.len())
}
