//! `run_agent`: the agent loop as an MCP tool. It runs a plan (the plan-file format, as TOML
//! text or as a JSON object) on the same executor, critic and budgets as `spud run --plan`,
//! with the caller's tools and grants for every step, and streams each trace event as a
//! progress notification when the client asked for progress.

use super::Shared;
use crate::agent::plan::Budget;
use crate::agent::{run_with, Plan, RunOptions, RunStatus, TraceEvent, TraceLine};
use crate::Caller;
use rmcp::model::{
    CallToolResult, ContentBlock, JsonObject, ProgressNotificationParam, ProgressToken, Tool,
};
use rmcp::{ErrorData as McpError, Peer, RoleServer};
use serde_json::{json, Value};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The tool's name.
pub const NAME: &str = "run_agent";

/// The tool's description and input schema.
pub fn tool() -> Tool {
    let schema = json!({
        "type": "object",
        "properties": {
            "plan": {
                "description": "The plan, in spud's plan-file format: TOML text, or the same structure as a JSON object. `goal` (string), optional `budget` and `critic`, and `steps`: each with an `id`, the `tool` to call and its `args`, the steps it comes `after`, what its result must satisfy (`expect`: `contains`, or a JSONPath `path` with at least `min` matches) and `alternatives`. Arguments may refer to earlier results: \"${step.field|json}\".",
                "anyOf": [{ "type": "string" }, { "type": "object" }]
            },
            "budget": {
                "type": "object",
                "description": "Caps that lower the plan's own budget (never raise it).",
                "properties": {
                    "max_steps": { "type": "integer", "minimum": 0, "description": "Tool calls." },
                    "max_wall_ms": { "type": "integer", "minimum": 0, "description": "Wall time, ms." },
                    "max_fuel": { "type": "integer", "minimum": 0, "description": "Total fuel over all calls." },
                    "max_net_bytes": { "type": "integer", "minimum": 0, "description": "Network bytes over all calls." }
                },
                "additionalProperties": false
            }
        },
        "required": ["plan"],
        "additionalProperties": false
    });
    let schema: JsonObject = match schema {
        Value::Object(m) => m,
        _ => JsonObject::new(),
    };
    Tool::new(
        NAME,
        "Runs spud's agent loop on a plan: steps run as soon as their dependencies are accepted (concurrently when independent), a critic scores each result against its expectations, retries and backtracks to alternatives, within a budget. Every step calls a tool with your own tools and grants. Progress notifications report each step; the result is the run's report (status, accepted results, failed steps).",
        Arc::new(schema),
    )
}

fn invalid(message: String) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(format!(
        "invalid input: {message}"
    ))])
}

/// Parses the arguments into a plan with the budget caps applied.
pub fn plan_of(args: &Value) -> Result<Plan, String> {
    let mut plan = match args.get("plan") {
        Some(Value::String(text)) => Plan::parse(text, "plan").map_err(|e| e.to_string())?,
        Some(obj @ Value::Object(_)) => {
            let p: Plan =
                serde_json::from_value(obj.clone()).map_err(|e| format!("$.plan: {e}"))?;
            p.validate().map_err(|e| format!("$.plan: {e}"))?;
            p
        }
        Some(_) => return Err("$.plan: expected plan TOML text or a JSON object".into()),
        None => return Err("$.plan is required".into()),
    };
    if let Some(b) = args.get("budget") {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Caps {
            max_steps: Option<u64>,
            max_wall_ms: Option<u64>,
            max_fuel: Option<u64>,
            max_net_bytes: Option<u64>,
        }
        let caps: Caps = serde_json::from_value(b.clone()).map_err(|e| format!("$.budget: {e}"))?;
        let Budget {
            max_steps,
            max_wall_ms,
            max_fuel,
            max_net_bytes,
            ..
        } = &mut plan.budget;
        for (field, cap) in [
            (max_steps, caps.max_steps),
            (max_wall_ms, caps.max_wall_ms),
            (max_fuel, caps.max_fuel),
            (max_net_bytes, caps.max_net_bytes),
        ] {
            if let Some(c) = cap {
                *field = (*field).min(c);
            }
        }
    }
    if let Some(extra) = args
        .as_object()
        .and_then(|o| o.keys().find(|k| *k != "plan" && *k != "budget"))
    {
        return Err(format!(
            "$.{extra}: unknown field; expected `plan` and optional `budget`"
        ));
    }
    Ok(plan)
}

/// A trace event in a few words, for progress messages.
fn describe(line: &TraceLine) -> String {
    match &line.event {
        TraceEvent::Started { run, goal, .. } => format!("run {run} started: {goal}"),
        TraceEvent::StepStarted {
            step,
            tool,
            attempt,
            ..
        } => format!("{step}: calling {tool} (attempt {attempt})"),
        TraceEvent::StepFinished { step, outcome, .. } => format!("{step}: {outcome}"),
        TraceEvent::Critiqued {
            step,
            critique,
            verdict,
            ..
        } => format!("{step}: score {:.2} → {verdict:?}", critique.score),
        TraceEvent::StepBlocked { step, reason } => format!("{step} blocked: {reason}"),
        TraceEvent::BudgetExhausted { budget, .. } => format!("budget exhausted: {budget}"),
        TraceEvent::PlanRevised {
            previous_run: Some(run),
            ..
        } => format!("re-planned after run {run}"),
        TraceEvent::PlanRevised {
            after_step, reason, ..
        } => format!(
            "plan revised after {}: {reason}",
            after_step.as_deref().unwrap_or("start")
        ),
        TraceEvent::RevisionRejected { reason, .. } => format!("revision rejected: {reason}"),
        TraceEvent::ArgsCorrected { step, .. } => format!("{step}: arguments corrected"),
        TraceEvent::LessonsUsed { ids, .. } => {
            format!("{} lessons from earlier runs used", ids.len())
        }
        TraceEvent::Finished { status, steps, .. } => {
            format!("finished: {status:?} after {steps} tool calls")
        }
    }
}

/// Runs the agent for `caller`; cancelled (the run's tasks dropped) when `cancel` fires.
pub async fn run(
    shared: &Arc<Shared>,
    caller: &Caller,
    args: &Value,
    cancel: CancellationToken,
    peer: Peer<RoleServer>,
    progress: Option<ProgressToken>,
) -> Result<CallToolResult, McpError> {
    let plan = match plan_of(args) {
        Ok(p) => p,
        Err(e) => return Ok(invalid(e)),
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let forward = tokio::spawn(async move {
        let mut n = 0.0;
        while let Some(message) = rx.recv().await {
            n += 1.0;
            if let Some(token) = &progress {
                let note = ProgressNotificationParam::new(token.clone(), n).with_message(message);
                let _ = peer.notify_progress(note).await;
            }
        }
    });
    let observer = move |line: &TraceLine| {
        let _ = tx.send(describe(line));
    };
    let options = RunOptions {
        judge: None,
        previous: None,
        reviser: None,
        caller: Some(caller.clone()),
        memory: None,
    };
    let run = run_with(shared.spud.clone(), plan, options, observer);
    let report = tokio::select! {
        r = run => r,
        () = cancel.cancelled() => {
            let _ = forward.await;
            return Err(McpError::internal_error("run_agent was cancelled", None));
        }
    };
    let _ = forward.await;
    match report {
        Ok(r) => {
            let mut value = serde_json::to_value(&r).unwrap_or_default();
            // The run's folder is a path on the server: not the client's business.
            if let Value::Object(m) = &mut value {
                m.remove("dir");
            }
            let text = value.to_string();
            Ok(match r.status {
                RunStatus::Done => CallToolResult::success(vec![ContentBlock::text(text)]),
                status => CallToolResult::error(vec![
                    ContentBlock::text(format!(
                        "the run ended {status:?}: see `failed` for each step's reason"
                    )),
                    ContentBlock::text(text),
                ]),
            })
        }
        Err(e) => Ok(CallToolResult::error(vec![ContentBlock::text(format!(
            "the run could not start: {e}"
        ))])),
    }
}
