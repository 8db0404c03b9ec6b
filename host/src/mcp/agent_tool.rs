//! `run_agent`: the agent loop as an MCP tool. It runs a plan (the plan-file format, as TOML
//! text or as a JSON object) on the same executor, critic and budgets as `spud run --plan`,
//! or — when the server was started with a model — plans a `goal` like `spud run GOAL`. Every
//! step (and the model's view of the tools) is limited to the caller's tools and grants; each
//! trace event is streamed as a progress notification when the client asked for progress.

use super::shared::Shared;
use crate::launch::Job;
use crate::plan::{Budget, Plan, RunStatus, TraceEvent, TraceLine};
use crate::service::Caller;
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
            "goal": {
                "type": "string",
                "description": "A goal in plain words, planned into steps by the server's model (only when the server runs with a model; otherwise give a `plan`)."
            },
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
                    "max_net_bytes": { "type": "integer", "minimum": 0, "description": "Network bytes over all calls." },
                    "max_tokens": { "type": "integer", "minimum": 0, "description": "Model tokens (planning, revisions, judging)." },
                    "max_storage_bytes": { "type": "integer", "minimum": 0, "description": "Bytes written to storage over all calls." }
                },
                "additionalProperties": false
            }
        },
        "oneOf": [{ "required": ["plan"] }, { "required": ["goal"] }],
        "additionalProperties": false
    });
    let schema: JsonObject = match schema {
        Value::Object(m) => m,
        _ => JsonObject::new(),
    };
    Tool::new(
        NAME,
        "Runs spud's agent loop on a plan (or on a goal the server's model plans): steps run as soon as their dependencies are accepted (concurrently when independent), a critic scores each result against its expectations, retries and backtracks to alternatives, within a budget. Every step calls a tool with your own tools and grants. Progress notifications report each step; the result is the run's report (status, accepted results, failed steps).",
        Arc::new(schema),
    )
}

fn invalid(message: String) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(format!(
        "invalid input: {message}"
    ))])
}

/// Parses the arguments into a job with the budget caps applied.
pub fn job_of(args: &Value) -> Result<Job, String> {
    if let Some(extra) = args.as_object().and_then(|o| {
        o.keys()
            .find(|k| !["plan", "goal", "budget"].contains(&k.as_str()))
    }) {
        return Err(format!(
            "$.{extra}: unknown field; expected `plan` or `goal`, and optional `budget`"
        ));
    }
    let caps = caps_of(args)?;
    match (args.get("goal"), args.get("plan")) {
        (Some(_), Some(_)) => Err("give either `plan` or `goal`, not both".into()),
        (Some(Value::String(goal)), None) if !goal.trim().is_empty() => {
            let mut budget = Budget::default();
            caps.apply(&mut budget);
            Ok(Job::Goal {
                goal: goal.clone(),
                budget,
                max_tokens: caps.max_tokens,
            })
        }
        (Some(_), None) => Err("$.goal: expected a non-empty string".into()),
        (None, _) => {
            let mut plan = plan_of(args)?;
            caps.apply(&mut plan.budget);
            Ok(Job::Plan(plan))
        }
    }
}

/// Budget caps from `$.budget`: they lower, never raise.
#[derive(Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Caps {
    max_steps: Option<u64>,
    max_wall_ms: Option<u64>,
    max_fuel: Option<u64>,
    max_net_bytes: Option<u64>,
    max_tokens: Option<u64>,
    max_storage_bytes: Option<u64>,
}

impl Caps {
    fn apply(&self, budget: &mut Budget) {
        let Budget {
            max_steps,
            max_wall_ms,
            max_fuel,
            max_net_bytes,
            max_tokens,
            max_storage_bytes,
        } = budget;
        for (field, cap) in [
            (max_steps, self.max_steps),
            (max_wall_ms, self.max_wall_ms),
            (max_fuel, self.max_fuel),
            (max_net_bytes, self.max_net_bytes),
            (max_tokens, self.max_tokens),
            (max_storage_bytes, self.max_storage_bytes),
        ] {
            if let Some(c) = cap {
                *field = (*field).min(c);
            }
        }
    }
}

fn caps_of(args: &Value) -> Result<Caps, String> {
    match args.get("budget") {
        None => Ok(Caps::default()),
        Some(b) => serde_json::from_value(b.clone()).map_err(|e| format!("$.budget: {e}")),
    }
}

/// Parses `$.plan` (TOML text or a JSON object) into a validated plan.
fn plan_of(args: &Value) -> Result<Plan, String> {
    let plan = match args.get("plan") {
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
        TraceEvent::SubAgentStarted { step, run, .. } => format!("{step}: sub-agent {run} started"),
        TraceEvent::SubAgentFinished { step, status, .. } => {
            format!("{step}: sub-agent ended {status:?}")
        }
        TraceEvent::SubAgentDenied { step, missing } => {
            format!("{step}: sub-agent refused: {}", missing.join("; "))
        }
        TraceEvent::ArgsCorrected { step, .. } => format!("{step}: arguments corrected"),
        TraceEvent::OutputRedacted { step } => format!("{step}: secrets redacted from the output"),
        TraceEvent::Redacted { .. } => "an event with secrets redacted".to_string(),
        TraceEvent::LessonsUsed { ids, .. } => {
            format!("{} lessons from earlier runs used", ids.len())
        }
        TraceEvent::Finished { status, steps, .. } => {
            format!("finished: {status:?} after {steps} tool calls")
        }
        TraceEvent::LoopFallback { reason } => format!("tool calling instead of a plan: {reason}"),
        TraceEvent::ModelTurn { turn, calls, .. } => {
            format!("turn {turn}: the model called [{}]", calls.join(", "))
        }
        TraceEvent::ToolResolved { step, asked, tool } => {
            format!("{step}: `{asked}` resolved to `{tool}`")
        }
        TraceEvent::CallRejected { tool, reason, .. } => {
            format!("call of `{tool}` not made: {reason}")
        }
        TraceEvent::Answered { .. } => "the model answered".to_string(),
        TraceEvent::Compacted {
            turn, outputs_cut, ..
        } => {
            format!("compacted before turn {turn}: {outputs_cut} tool outputs cut")
        }
        TraceEvent::ModelSwitched { from, to, .. } => {
            format!("model `{from}` out; `{to}` continues")
        }
        TraceEvent::BestKept { step, attempt, .. } => format!("{step}: attempt {attempt} kept"),
        TraceEvent::StreamingOff { model, .. } => format!("streaming off for `{model}`"),
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
    let job = match job_of(args) {
        Ok(j) => j,
        Err(e) => return Ok(invalid(e)),
    };
    if let (Job::Goal { .. }, None) = (&job, &shared.options.launcher.planner) {
        return Ok(invalid(
            "$.goal: this server has no model to plan goals with (start it with `spud serve --model PROVIDER:MODEL` or a [model] section in its config); give a `plan` instead".into(),
        ));
    }
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
    let spud = shared.spud.clone();
    let launcher = &shared.options.launcher;
    let run = async move {
        launcher
            .launch(spud, job, Some(caller.clone()), observer)
            .await
            .map(|f| (f.status, f.report))
            .map_err(|e| e.to_string())
    };
    let report = tokio::select! {
        r = run => r,
        () = cancel.cancelled() => {
            let _ = forward.await;
            return Err(McpError::internal_error("run_agent was cancelled", None));
        }
    };
    let _ = forward.await;
    match report {
        Ok((status, mut value)) => {
            // Run folders are paths on the server: not the client's business.
            hide_dirs(&mut value);
            let text = value.to_string();
            Ok(match status {
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

/// Removes the run folders (paths on the server) from a run or goal report.
fn hide_dirs(value: &mut Value) {
    if let Value::Object(m) = value {
        m.remove("dir");
        if let Some(Value::Array(runs)) = m.get_mut("runs") {
            for run in runs {
                if let Value::Object(r) = run {
                    r.remove("dir");
                }
            }
        }
    }
}
