//! Streamed answers (server-sent events) for the scripted model server, in the two wire formats
//! spud streams: Chat Completions chunks and Anthropic Messages events. A turn is given as its
//! text pieces and its tool calls, each call's arguments in fragments, so a test can split
//! text and arguments anywhere; the same turn unstreamed comes from [`openai_whole`] and
//! [`anthropic_whole`].

use crate::ScriptedReply;
use serde_json::{json, Value};

/// A tool call as a stream sends it: id, name, argument fragments.
pub type Call<'a> = (&'a str, &'a str, &'a [&'a str]);

/// `events` as a `text/event-stream` body (`event:` names when given), with `tail` after them.
fn body(events: &[(Option<&str>, Value)], tail: &str) -> String {
    let mut out = String::new();
    for (name, data) in events {
        if let Some(n) = name {
            out.push_str(&format!("event: {n}\n"));
        }
        out.push_str(&format!("data: {data}\n\n"));
    }
    out.push_str(tail);
    out
}

/// A Chat Completions stream: the text pieces, then each call's pieces (id and name first,
/// then the argument fragments), then the usage chunk and `[DONE]`.
pub fn openai_stream(text: &[&str], calls: &[Call], usage: (u64, u64)) -> ScriptedReply {
    let chunk = |delta: Value| {
        (
            None,
            json!({"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta, "finish_reason": null}]}),
        )
    };
    let mut events = vec![chunk(json!({"role": "assistant", "content": ""}))];
    events.extend(text.iter().map(|t| chunk(json!({"content": t}))));
    for (i, (id, name, fragments)) in calls.iter().enumerate() {
        events.push(chunk(
            json!({"tool_calls": [{"index": i, "id": id, "type": "function", "function": {"name": name, "arguments": ""}}]}),
        ));
        for f in fragments.iter() {
            events.push(chunk(
                json!({"tool_calls": [{"index": i, "function": {"arguments": f}}]}),
            ));
        }
    }
    events.push((
        None,
        json!({"object": "chat.completion.chunk", "choices": [],
               "usage": {"prompt_tokens": usage.0, "completion_tokens": usage.1}}),
    ));
    (200, vec![], body(&events, "data: [DONE]\n\n"))
}

/// The same turn as [`openai_stream`], unstreamed.
pub fn openai_whole(text: &[&str], calls: &[Call], usage: (u64, u64)) -> ScriptedReply {
    let tool_calls: Vec<Value> = calls
        .iter()
        .map(|(id, name, f)| json!({"id": id, "type": "function", "function": {"name": name, "arguments": f.concat()}}))
        .collect();
    let mut message = json!({"role": "assistant", "content": text.concat()});
    if !tool_calls.is_empty() {
        message["tool_calls"] = json!(tool_calls);
    }
    let body = json!({"choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                      "usage": {"prompt_tokens": usage.0, "completion_tokens": usage.1}});
    (200, vec![], body.to_string())
}

/// A Messages stream: a text block of the pieces (when there are some), a `tool_use` block per
/// call with its input in `input_json_delta` fragments, the usage in `message_start` and
/// `message_delta`.
pub fn anthropic_stream(text: &[&str], calls: &[Call], usage: (u64, u64)) -> ScriptedReply {
    let ev = |name: &'static str, data: Value| (Some(name), data);
    let mut events = vec![ev(
        "message_start",
        json!({"type": "message_start", "message": {"id": "msg_1", "role": "assistant", "content": [],
               "usage": {"input_tokens": usage.0, "output_tokens": 1}}}),
    )];
    let mut index = 0;
    if !text.is_empty() {
        events.push(ev("content_block_start", json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})));
        for t in text {
            events.push(ev("content_block_delta", json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": t}})));
        }
        events.push(ev(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ));
        index = 1;
    }
    for (id, name, fragments) in calls {
        events.push(ev(
            "content_block_start",
            json!({"type": "content_block_start", "index": index,
            "content_block": {"type": "tool_use", "id": id, "name": name, "input": {}}}),
        ));
        for f in fragments.iter() {
            events.push(ev(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": index,
                "delta": {"type": "input_json_delta", "partial_json": f}}),
            ));
        }
        events.push(ev(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": index}),
        ));
        index += 1;
    }
    events.push(ev("message_delta", json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": usage.1}})));
    events.push(ev("message_stop", json!({"type": "message_stop"})));
    (200, vec![], body(&events, ""))
}

/// The same turn as [`anthropic_stream`], unstreamed.
pub fn anthropic_whole(text: &[&str], calls: &[Call], usage: (u64, u64)) -> ScriptedReply {
    let mut content = Vec::new();
    if !text.is_empty() {
        content.push(json!({"type": "text", "text": text.concat()}));
    }
    for (id, name, fragments) in calls {
        let input: Value = serde_json::from_str(&fragments.concat()).expect("JSON input");
        content.push(json!({"type": "tool_use", "id": id, "name": name, "input": input}));
    }
    let body = json!({"id": "msg_1", "role": "assistant", "content": content, "stop_reason": "end_turn",
                      "usage": {"input_tokens": usage.0, "output_tokens": usage.1}});
    (200, vec![], body.to_string())
}

/// A `text/event-stream` answer without a single event, as llama.cpp's Python server gives
/// to a streamed request with tools.
pub fn empty_stream() -> ScriptedReply {
    // A comment line: the body is event-stream, yet no event comes.
    (200, vec![], "event: \n\n".to_string())
}
