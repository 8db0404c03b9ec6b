//! A streamed Chat Completions answer (`"stream": true`): chunks whose `choices[0].delta`
//! carries pieces of text and of tool calls — each call by its `tool_calls[].index`, its id and
//! name in the first piece, its arguments in fragments — then, asked for with
//! `stream_options: {"include_usage": true}`, a last chunk with `usage`, and `data: [DONE]`.
//! The turn assembled is the one the same answer unstreamed gives.

use super::api::ModelError;
use super::chat::{ChatTurn, ToolCall, Usage};
use super::sse::{data_json, stream_error, Assembler};
use serde_json::Value;

/// One tool call as its pieces arrive.
#[derive(Debug, Default)]
struct Partial {
    index: u64,
    id: String,
    name: String,
    arguments: String,
}

/// Assembles a Chat Completions stream.
#[derive(Debug, Default)]
pub(super) struct OpenAiStream {
    text: String,
    calls: Vec<Partial>,
    usage: Option<Usage>,
    done: bool,
}

impl OpenAiStream {
    /// The call with `index`, started when it is new.
    fn call(&mut self, index: u64) -> &mut Partial {
        let at = match self.calls.iter().position(|c| c.index == index) {
            Some(at) => at,
            None => {
                self.calls.push(Partial {
                    index,
                    ..Partial::default()
                });
                self.calls.len() - 1
            }
        };
        &mut self.calls[at]
    }

    /// Takes in the tool-call pieces of one delta.
    fn take_calls(&mut self, pieces: &[Value]) {
        for (pos, c) in pieces.iter().enumerate() {
            let call = self.call(c["index"].as_u64().unwrap_or(pos as u64));
            if let Some(id) = c["id"].as_str().filter(|s| !s.is_empty()) {
                call.id = id.to_string();
            }
            // The name comes whole in the first piece; some servers repeat it in each.
            if let Some(name) = c["function"]["name"].as_str() {
                if name != call.name {
                    call.name.push_str(name);
                }
            }
            match &c["function"]["arguments"] {
                Value::String(s) => call.arguments.push_str(s),
                Value::Null => {}
                other => call.arguments.push_str(&other.to_string()),
            }
        }
    }
}

impl Assembler for OpenAiStream {
    fn feed(&mut self, _event: &str, data: &str) -> Result<Option<String>, ModelError> {
        if data.trim() == "[DONE]" {
            self.done = true;
            return Ok(None);
        }
        let v = data_json(data)?;
        if v["error"].is_object() {
            return Err(stream_error(&v["error"]));
        }
        if v["usage"].is_object() {
            self.usage = Some(Usage {
                input_tokens: v["usage"]["prompt_tokens"].as_u64().unwrap_or(0),
                output_tokens: v["usage"]["completion_tokens"].as_u64().unwrap_or(0),
            });
        }
        let delta = &v["choices"][0]["delta"];
        if let Some(pieces) = delta["tool_calls"].as_array() {
            self.take_calls(pieces);
        }
        let piece = delta["content"]
            .as_str()
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        if let Some(p) = &piece {
            self.text.push_str(p);
        }
        Ok(piece)
    }

    fn done(&self) -> bool {
        self.done
    }

    fn finish(mut self) -> Result<ChatTurn, ModelError> {
        self.calls.sort_by_key(|c| c.index);
        let calls = self
            .calls
            .into_iter()
            .enumerate()
            .map(|(i, c)| ToolCall {
                id: if c.id.is_empty() {
                    format!("call_{i}")
                } else {
                    c.id
                },
                name: c.name,
                arguments: c.arguments,
            })
            .collect();
        Ok(ChatTurn {
            text: self.text,
            calls,
            usage: self.usage.unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn feed_all(events: &[Value]) -> (ChatTurn, Vec<String>) {
        let mut s = OpenAiStream::default();
        let mut pieces = Vec::new();
        for e in events {
            if let Some(p) = s.feed("message", &e.to_string()).unwrap() {
                pieces.push(p);
            }
        }
        assert!(s.feed("message", "[DONE]").unwrap().is_none());
        assert!(s.done());
        (s.finish().unwrap(), pieces)
    }

    #[test]
    fn text_and_calls_are_assembled_from_deltas_as_unstreamed() {
        let delta = |d: Value| json!({"choices": [{"index": 0, "delta": d}]});
        let (turn, pieces) = feed_all(&[
            delta(json!({"role": "assistant", "content": ""})),
            delta(json!({"content": "Let me "})),
            delta(json!({"content": "look."})),
            delta(
                json!({"tool_calls": [{"index": 0, "id": "c1", "type": "function",
                "function": {"name": "fs__list", "arguments": ""}}]}),
            ),
            delta(json!({"tool_calls": [{"index": 1, "id": "c2",
                "function": {"name": "fs__read", "arguments": "{\"pa"}}]})),
            delta(json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"path\":"}}]})),
            delta(json!({"tool_calls": [{"index": 0, "function": {"arguments": " \"/data\"}"}}]})),
            delta(
                json!({"tool_calls": [{"index": 1, "function": {"arguments": "th\": \"/a\"}"}}]}),
            ),
            json!({"choices": [], "usage": {"prompt_tokens": 40, "completion_tokens": 9}}),
        ]);
        assert_eq!(pieces, vec!["Let me ", "look."]);
        let unstreamed = super::super::openai_tools::parse(&json!({
            "choices": [{"message": {"content": "Let me look.", "tool_calls": [
                {"id": "c1", "function": {"name": "fs__list", "arguments": "{\"path\": \"/data\"}"}},
                {"id": "c2", "function": {"name": "fs__read", "arguments": "{\"path\": \"/a\"}"}}]}}],
            "usage": {"prompt_tokens": 40, "completion_tokens": 9}}))
        .unwrap();
        assert_eq!(turn, unstreamed);
    }

    #[test]
    fn missing_ids_and_errors() {
        let (turn, _) = feed_all(&[json!({"choices": [{"delta": {"tool_calls": [
            {"function": {"name": "fs__list", "arguments": "{}"}}]}}]})]);
        assert_eq!(turn.calls[0].id, "call_0");
        assert_eq!(turn.usage, Usage::default());
        let mut s = OpenAiStream::default();
        let e = s
            .feed(
                "message",
                r#"{"error": {"type": "server_error", "message": "boom"}}"#,
            )
            .unwrap_err();
        assert!(matches!(e, ModelError::Exhausted { .. }), "{e}");
        assert!(matches!(
            s.feed("message", "not json"),
            Err(ModelError::Protocol(_))
        ));
    }
}
