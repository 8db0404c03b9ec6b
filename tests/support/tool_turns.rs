//! Scripted tool-calling turns for the tests of the tool-calling loop: a Chat Completions
//! answer that calls tools, the tool results spud sent back, a goal run's trace.

use crate::{ModelRequest, ScriptedReply};
use serde_json::{json, Value};
use spud::agent::GoalReport;
use spud::plan::TraceEvent;

/// A Chat Completions answer that calls `calls` (name, arguments text) with `text`.
pub fn turn(calls: &[(&str, &str)], text: &str) -> ScriptedReply {
    turn_counted(calls, text, 100)
}

/// [`turn`], the server counting `prompt_tokens` for the request.
pub fn turn_counted(calls: &[(&str, &str)], text: &str, prompt_tokens: u64) -> ScriptedReply {
    let tool_calls: Vec<Value> = calls
        .iter()
        .enumerate()
        .map(|(i, (name, args))| json!({"id": format!("call_{i}"), "type": "function", "function": {"name": name, "arguments": args}}))
        .collect();
    let message = if tool_calls.is_empty() {
        json!({"role": "assistant", "content": text})
    } else {
        json!({"role": "assistant", "content": null, "tool_calls": tool_calls})
    };
    let body = json!({"choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                      "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": 10}});
    (200, vec![], body.to_string())
}

/// The events of a goal's first run.
pub fn trace(report: &GoalReport) -> Vec<TraceEvent> {
    spud::plan::read_trace(&report.runs[0].dir.join("trace.jsonl"))
        .unwrap()
        .into_iter()
        .map(|l| l.event)
        .collect()
}

/// The `role: tool` messages of a request, as (tool_call_id, content).
pub fn tool_results(r: &ModelRequest) -> Vec<(String, String)> {
    r.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| {
            (
                m["tool_call_id"].as_str().unwrap().to_string(),
                m["content"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}
