//! Tool calling on Anthropic Messages: `tools` with `input_schema`, the model's `tool_use`
//! blocks, and results sent back as `tool_result` blocks of one user message per turn.

use super::api::ModelError;
use super::chat::{ChatMessage, ChatRequest, ChatTurn, ToolCall, Usage};
use serde_json::{json, Value};

/// The answer size asked for when the request sets none (the API requires one).
const DEFAULT_MAX_TOKENS: u32 = 4096;

/// The request body for `model`.
pub(super) fn body(model: &str, request: &ChatRequest) -> Value {
    let mut messages: Vec<Value> = Vec::new();
    for m in &request.messages {
        match m {
            ChatMessage::User(text) => messages.push(json!({"role": "user", "content": text})),
            ChatMessage::Assistant { text, calls } => {
                let mut content = Vec::new();
                if !text.is_empty() || calls.is_empty() {
                    content.push(json!({"type": "text", "text": text}));
                }
                for c in calls {
                    let input = serde_json::from_str::<Value>(&c.arguments)
                        .ok()
                        .filter(Value::is_object)
                        .unwrap_or_else(|| json!({}));
                    content.push(
                        json!({"type": "tool_use", "id": c.id, "name": c.name, "input": input}),
                    );
                }
                messages.push(json!({"role": "assistant", "content": content}));
            }
            ChatMessage::Tool {
                call_id, content, ..
            } => {
                let block =
                    json!({"type": "tool_result", "tool_use_id": call_id, "content": content});
                // The results of one turn go back together, in one user message.
                match messages.last_mut() {
                    Some(last) if last["role"] == "user" && last["content"].is_array() => {
                        if let Some(a) = last["content"].as_array_mut() {
                            a.push(block);
                        }
                    }
                    _ => messages.push(json!({"role": "user", "content": [block]})),
                }
            }
        }
    }
    let tools: Vec<Value> = request
        .tools
        .iter()
        .map(
            |t| json!({"name": t.name, "description": t.description, "input_schema": t.parameters}),
        )
        .collect();
    json!({
        "model": model,
        "max_tokens": request.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS),
        "system": request.system,
        "messages": messages,
        "tools": tools,
    })
}

/// The answer's text, `tool_use` calls and usage.
pub(super) fn parse(v: &Value) -> Result<ChatTurn, ModelError> {
    let blocks = v["content"]
        .as_array()
        .ok_or_else(|| ModelError::Protocol("no content blocks".into()))?;
    let mut turn = ChatTurn {
        usage: Usage {
            input_tokens: v["usage"]["input_tokens"].as_u64().unwrap_or(0),
            output_tokens: v["usage"]["output_tokens"].as_u64().unwrap_or(0),
        },
        ..ChatTurn::default()
    };
    for (i, b) in blocks.iter().enumerate() {
        match b["type"].as_str() {
            Some("text") => turn.text.push_str(b["text"].as_str().unwrap_or("")),
            Some("tool_use") => turn.calls.push(ToolCall {
                id: b["id"]
                    .as_str()
                    .map_or_else(|| format!("call_{i}"), str::to_string),
                name: b["name"].as_str().unwrap_or("").to_string(),
                arguments: b["input"].to_string(),
            }),
            _ => {}
        }
    }
    Ok(turn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_of_a_turn_go_back_in_one_user_message() {
        let calls: Vec<ToolCall> = (0..2)
            .map(|i| ToolCall {
                id: format!("t{i}"),
                name: "fs__list".into(),
                arguments: "{}".into(),
            })
            .collect();
        let mut messages = vec![
            ChatMessage::User("goal".into()),
            ChatMessage::Assistant {
                text: String::new(),
                calls: calls.clone(),
            },
        ];
        for c in &calls {
            messages.push(ChatMessage::Tool {
                call_id: c.id.clone(),
                name: c.name.clone(),
                content: "ok".into(),
            });
        }
        let request = ChatRequest {
            system: "s".into(),
            messages,
            tools: Vec::new(),
            max_tokens: None,
        };
        let b = body("m", &request);
        assert_eq!(b["messages"].as_array().unwrap().len(), 3);
        assert_eq!(b["messages"][2]["content"][1]["tool_use_id"], "t1");
        let turn = parse(&json!({"content": [{"type": "text", "text": "hi"},
            {"type": "tool_use", "id": "u1", "name": "fs__list", "input": {"path": "/"}}],
            "usage": {"input_tokens": 3, "output_tokens": 1}}))
        .unwrap();
        assert_eq!((turn.text.as_str(), turn.calls.len()), ("hi", 1));
    }
}
