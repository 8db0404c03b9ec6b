//! Tool calling on Chat Completions: the request body (`tools`, `tool_choice: "auto"`, the
//! conversation with `tool_calls` and `role: tool` results) and the answer's text and calls.
//! An assistant turn that only calls tools carries `content: ""`, never `null`: some
//! OpenAI-compatible servers (llama.cpp's among them) refuse `null`.

use super::api::ModelError;
use super::chat::{ChatMessage, ChatRequest, ChatTurn, ToolCall, Usage};
use serde_json::{json, Value};

/// The request body for `model`.
pub(super) fn body(model: &str, request: &ChatRequest) -> Value {
    let mut messages = vec![json!({"role": "system", "content": request.system})];
    for m in &request.messages {
        messages.push(match m {
            ChatMessage::User(text) => json!({"role": "user", "content": text}),
            ChatMessage::Assistant { text, calls } if calls.is_empty() => {
                json!({"role": "assistant", "content": text})
            }
            ChatMessage::Assistant { text, calls } => json!({
                "role": "assistant",
                "content": text,
                "tool_calls": calls.iter().map(|c| json!({
                    "id": c.id, "type": "function",
                    "function": {"name": c.name, "arguments": c.arguments}
                })).collect::<Vec<_>>(),
            }),
            ChatMessage::Tool {
                call_id,
                name,
                content,
            } => json!({"role": "tool", "tool_call_id": call_id, "name": name, "content": content}),
        });
    }
    let tools: Vec<Value> = request
        .tools
        .iter()
        .map(|t| json!({"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}))
        .collect();
    let mut body =
        json!({"model": model, "messages": messages, "tools": tools, "tool_choice": "auto"});
    if let Some(n) = request.max_tokens {
        body["max_tokens"] = json!(n);
    }
    body
}

/// The answer's text, calls and usage.
pub(super) fn parse(v: &Value) -> Result<ChatTurn, ModelError> {
    let message = &v["choices"][0]["message"];
    if !message.is_object() {
        return Err(ModelError::Protocol("no choices[0].message".into()));
    }
    let calls = message["tool_calls"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, c)| ToolCall {
            id: c["id"]
                .as_str()
                .filter(|s| !s.is_empty())
                .map_or_else(|| format!("call_{i}"), str::to_string),
            name: c["function"]["name"].as_str().unwrap_or("").to_string(),
            arguments: match &c["function"]["arguments"] {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            },
        })
        .collect();
    Ok(ChatTurn {
        text: message["content"].as_str().unwrap_or("").to_string(),
        calls,
        usage: Usage {
            input_tokens: v["usage"]["prompt_tokens"].as_u64().unwrap_or(0),
            output_tokens: v["usage"]["completion_tokens"].as_u64().unwrap_or(0),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::chat::ToolSpec;

    #[test]
    fn tool_turns_send_empty_content_and_parse_calls() {
        let call = ToolCall {
            id: "c1".into(),
            name: "fs__list".into(),
            arguments: "{\"path\":\"/data\"}".into(),
        };
        let request = ChatRequest {
            system: "sys".into(),
            messages: vec![
                ChatMessage::User("goal".into()),
                ChatMessage::Assistant {
                    text: String::new(),
                    calls: vec![call.clone()],
                },
                ChatMessage::Tool {
                    call_id: "c1".into(),
                    name: "fs__list".into(),
                    content: "[]".into(),
                },
            ],
            tools: vec![ToolSpec {
                name: "fs__list".into(),
                description: "list".into(),
                parameters: json!({"type": "object"}),
            }],
            max_tokens: Some(64),
        };
        let b = body("m", &request);
        assert_eq!(b["messages"][2]["content"], json!(""));
        assert_eq!(b["messages"][2]["tool_calls"][0]["id"], "c1");
        assert_eq!(b["messages"][3]["role"], "tool");
        assert_eq!(b["tool_choice"], "auto");
        assert_eq!(b["max_tokens"], 64);
        let answer = json!({"choices": [{"message": {"content": null, "tool_calls": [
            {"function": {"name": "fs__list", "arguments": {"path": "/"}}}]}}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 2}});
        let turn = parse(&answer).unwrap();
        assert_eq!(turn.calls[0].id, "call_0");
        assert_eq!(turn.calls[0].arguments, "{\"path\":\"/\"}");
        assert_eq!(turn.usage.input_tokens, 5);
        assert!(parse(&json!({"choices": []})).is_err());
    }
}
