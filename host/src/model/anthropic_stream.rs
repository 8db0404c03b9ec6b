//! A streamed Messages answer (`"stream": true`): `message_start` (with the input tokens),
//! then per content block a `content_block_start` (a text block, or a `tool_use` block with
//! its id and name), `content_block_delta`s (`text_delta` pieces of text, `input_json_delta`
//! fragments of a tool's input) and `content_block_stop`; `message_delta` with the output
//! tokens so far, and `message_stop`. The turn assembled is the one the same answer unstreamed
//! gives.

use super::api::ModelError;
use super::chat::{ChatTurn, ToolCall, Usage};
use super::sse::{data_json, stream_error, Assembler};
use serde_json::Value;
use std::collections::BTreeMap;

/// One content block as its pieces arrive.
#[derive(Debug)]
enum Block {
    Text(String),
    Tool {
        id: Option<String>,
        name: String,
        /// The input `content_block_start` gave (`{}` when it comes in fragments).
        input: Value,
        /// Its fragments (`input_json_delta`).
        json: String,
    },
    Other,
}

/// Assembles a Messages stream.
#[derive(Debug, Default)]
pub(super) struct AnthropicStream {
    blocks: BTreeMap<u64, Block>,
    usage: Usage,
    done: bool,
}

impl AnthropicStream {
    fn start(&mut self, v: &Value) {
        let b = &v["content_block"];
        let block = match b["type"].as_str() {
            Some("text") => Block::Text(b["text"].as_str().unwrap_or("").to_string()),
            Some("tool_use") => Block::Tool {
                id: b["id"].as_str().map(str::to_string),
                name: b["name"].as_str().unwrap_or("").to_string(),
                input: b["input"].clone(),
                json: String::new(),
            },
            _ => Block::Other,
        };
        self.blocks.insert(v["index"].as_u64().unwrap_or(0), block);
    }

    /// Takes in a delta; returns the piece of text it carried.
    fn delta(&mut self, v: &Value) -> Option<String> {
        let d = &v["delta"];
        let block = self.blocks.get_mut(&v["index"].as_u64().unwrap_or(0))?;
        match (block, d["type"].as_str()) {
            (Block::Text(text), Some("text_delta")) => {
                let piece = d["text"].as_str().unwrap_or("");
                text.push_str(piece);
                Some(piece.to_string())
            }
            (Block::Tool { json, .. }, Some("input_json_delta")) => {
                json.push_str(d["partial_json"].as_str().unwrap_or(""));
                None
            }
            _ => None,
        }
    }

    fn count(&mut self, usage: &Value) {
        if let Some(n) = usage["input_tokens"].as_u64() {
            self.usage.input_tokens = n;
        }
        if let Some(n) = usage["output_tokens"].as_u64() {
            self.usage.output_tokens = n;
        }
    }
}

impl Assembler for AnthropicStream {
    fn feed(&mut self, _event: &str, data: &str) -> Result<Option<String>, ModelError> {
        let v = data_json(data)?;
        match v["type"].as_str() {
            Some("message_start") => self.count(&v["message"]["usage"]),
            Some("content_block_start") => self.start(&v),
            Some("content_block_delta") => return Ok(self.delta(&v)),
            Some("message_delta") => self.count(&v["usage"]),
            Some("message_stop") => self.done = true,
            Some("error") => return Err(stream_error(&v["error"])),
            _ => {}
        }
        Ok(None)
    }

    fn done(&self) -> bool {
        self.done
    }

    fn finish(self) -> Result<ChatTurn, ModelError> {
        let mut turn = ChatTurn {
            usage: self.usage,
            ..ChatTurn::default()
        };
        for (i, block) in self.blocks.into_values().enumerate() {
            match block {
                Block::Text(t) => turn.text.push_str(&t),
                Block::Tool {
                    id,
                    name,
                    input,
                    json,
                } => turn.calls.push(ToolCall {
                    id: id.unwrap_or_else(|| format!("call_{i}")),
                    name,
                    arguments: arguments(input, &json),
                }),
                Block::Other => {}
            }
        }
        Ok(turn)
    }
}

/// A tool's input as the unstreamed answer gives it (compact JSON): from its fragments when
/// there were some (as written when they are not valid JSON), else from its start.
fn arguments(input: Value, json: &str) -> String {
    if json.trim().is_empty() {
        return if input.is_null() {
            "{}".into()
        } else {
            input.to_string()
        };
    }
    serde_json::from_str::<Value>(json).map_or_else(|_| json.to_string(), |v| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_and_tool_use_are_assembled_as_unstreamed() {
        let events = [
            json!({"type": "message_start", "message": {"usage": {"input_tokens": 31, "output_tokens": 1}}}),
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
            json!({"type": "ping"}),
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Look"}}),
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "ing."}}),
            json!({"type": "content_block_stop", "index": 0}),
            json!({"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "u1", "name": "fs__list", "input": {}}}),
            json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "{\"pa"}}),
            json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "th\": \"/data\"}"}}),
            json!({"type": "content_block_stop", "index": 1}),
            json!({"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 12}}),
            json!({"type": "message_stop"}),
        ];
        let mut s = AnthropicStream::default();
        let mut pieces = Vec::new();
        for e in &events {
            pieces.extend(s.feed("", &e.to_string()).unwrap());
        }
        assert!(s.done());
        assert_eq!(pieces, vec!["Look", "ing."]);
        let unstreamed = super::super::anthropic_tools::parse(&json!({
            "content": [{"type": "text", "text": "Looking."},
                {"type": "tool_use", "id": "u1", "name": "fs__list", "input": {"path": "/data"}}],
            "usage": {"input_tokens": 31, "output_tokens": 12}}))
        .unwrap();
        assert_eq!(s.finish().unwrap(), unstreamed);
    }

    #[test]
    fn inputs_without_fragments_and_errors() {
        assert_eq!(arguments(json!({"a": 1}), ""), "{\"a\":1}");
        assert_eq!(arguments(Value::Null, " "), "{}");
        assert_eq!(arguments(json!({}), "{\"a\": "), "{\"a\": ");
        let mut s = AnthropicStream::default();
        let e = s
            .feed("error", r#"{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}"#)
            .unwrap_err();
        assert!(matches!(e, ModelError::Exhausted { .. }), "{e}");
    }
}
