//! One tool-calling turn, streamed or not ([`StreamMode`]). `Off` asks plainly. `On` streams
//! and reports every failure. `Auto` sends a request with tools unstreamed to a server whose
//! streamed tool calls are not known to work (any OpenAI-compatible server other than OpenAI's
//! own: llama.cpp's Python server answers them with an empty stream, and a tool-calling run
//! against it slowed from 4 s to 180 s a turn), and says so once. Otherwise it streams, and
//! when the server says it cannot — a body that
//! is not server-sent events, a stream without a single event, a 4xx, or a 5xx on a request
//! with tools (llama.cpp's Python server refuses to stream tool calls) — asks the same request
//! again without streaming; once that answers, streaming stays off with the model for the rest
//! of the run (the watch remembers it and the run traces it).
//!
//! A stream that reports no usage (llama.cpp's Python server sends none) is counted by
//! estimate, four bytes a token of what was sent and answered, so token budgets still hold.

use super::api::{ModelConfig, ModelError};
use super::chat::{ChatMessage, ChatRequest, ChatTurn, StreamMode, TurnWatch, Usage};
use super::sse::Streamed;
use std::future::Future;

/// Asks for one turn as `config.stream` says: `streamed` sends the request streamed, `plain`
/// unstreamed, and `parse` reads an unstreamed answer's body. `tools_stream`: whether `Auto`
/// streams a request that carries tools to this server.
pub(super) async fn turn<S, SF, P, PF>(
    config: &ModelConfig,
    tools_stream: bool,
    request: &ChatRequest,
    watch: &dyn TurnWatch,
    streamed: S,
    plain: P,
    parse: impl FnOnce(&str) -> Result<ChatTurn, ModelError>,
) -> Result<ChatTurn, ModelError>
where
    S: FnOnce() -> SF,
    SF: Future<Output = Result<Streamed, ModelError>>,
    P: FnOnce() -> PF,
    PF: Future<Output = Result<ChatTurn, ModelError>>,
{
    let (mode, model) = (config.stream, config.model.as_str());
    if mode == StreamMode::Off || (mode == StreamMode::Auto && watch.streaming_off(model)) {
        return plain().await;
    }
    if mode == StreamMode::Auto && !tools_stream && !request.tools.is_empty() {
        watch.turn_off(model, UNSTREAMED_TOOLS);
        return plain().await;
    }
    let why = match streamed().await {
        Ok(Streamed::Turn(mut t)) => {
            if t.usage == Usage::default() {
                t.usage = estimate(request, &t);
            }
            return Ok(t);
        }
        Ok(Streamed::NotSse { content_type, body }) => {
            let why = format!(
                "the server answered a streamed request with `{content_type}`, not server-sent events"
            );
            if mode == StreamMode::On {
                return Err(ModelError::Protocol(why));
            }
            // The answer itself, unstreamed: no need to ask again.
            if let Ok(t) = parse(&body) {
                watch.turn_off(model, &why);
                return Ok(t);
            }
            why
        }
        Ok(Streamed::Empty(why)) if mode == StreamMode::On => {
            return Err(ModelError::Protocol(why))
        }
        Ok(Streamed::Empty(why)) => why,
        Err(e) if mode == StreamMode::Auto && refuses(&e, !request.tools.is_empty()) => {
            format!("a streamed request failed: {e}")
        }
        Err(e) => return Err(e),
    };
    let t = plain().await?;
    watch.turn_off(model, &why);
    Ok(t)
}

/// Why `Auto` sent a request with tools unstreamed.
pub(super) const UNSTREAMED_TOOLS: &str = "requests with tools go unstreamed to an \
    OpenAI-compatible server under `stream = \"auto\"` (`stream = true` streams them)";

/// Whether `e`, the answer to a streamed request (`with_tools` or not), says the server cannot
/// stream it: a 4xx other than a refused key, an unknown model or an overflow (those are
/// their own errors), or with tools a 5xx.
fn refuses(e: &ModelError, with_tools: bool) -> bool {
    match e {
        ModelError::Http { status, .. } => (400..500).contains(status) || with_tools,
        ModelError::Exhausted { last, .. } => with_tools && last.starts_with("HTTP 5"),
        _ => false,
    }
}

/// Tokens by estimate, four bytes a token: the request's system prompt, messages and tools,
/// and the turn's text and calls.
fn estimate(request: &ChatRequest, turn: &ChatTurn) -> Usage {
    let tokens = |bytes: usize| (bytes as u64).div_ceil(4);
    let messages: usize = request
        .messages
        .iter()
        .map(|m| match m {
            ChatMessage::User(t) => t.len(),
            ChatMessage::Assistant { text, calls } => {
                text.len()
                    + calls
                        .iter()
                        .map(|c| c.name.len() + c.arguments.len())
                        .sum::<usize>()
            }
            ChatMessage::Tool { name, content, .. } => name.len() + content.len(),
        })
        .sum();
    let tools: usize = request
        .tools
        .iter()
        .map(|t| t.name.len() + t.description.len() + t.parameters.to_string().len())
        .sum();
    let answer: usize = turn.text.len()
        + turn
            .calls
            .iter()
            .map(|c| c.name.len() + c.arguments.len())
            .sum::<usize>();
    Usage {
        input_tokens: tokens(request.system.len() + messages + tools),
        output_tokens: tokens(answer).max(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_says_a_server_cannot_stream() {
        let http = |status| ModelError::Http {
            status,
            body: String::new(),
        };
        assert!(refuses(&http(400), false));
        assert!(refuses(&http(422), true));
        assert!(!refuses(&http(500), false));
        assert!(refuses(&http(501), true));
        let out = |last: &str| ModelError::Exhausted {
            attempts: 2,
            last: last.into(),
        };
        assert!(refuses(&out("HTTP 500: boom"), true));
        assert!(!refuses(&out("HTTP 500: boom"), false));
        assert!(!refuses(&out("HTTP 429: slow down"), true));
        assert!(!refuses(&out("request timed out"), true));
        assert!(!refuses(&ModelError::Auth { status: 401 }, true));
        assert!(!refuses(&ModelError::ContextOverflow("x".into()), true));
    }

    #[test]
    fn usage_is_estimated_from_what_was_sent_and_answered() {
        let request = ChatRequest {
            system: "s".repeat(40),
            messages: vec![ChatMessage::User("u".repeat(40))],
            tools: Vec::new(),
            max_tokens: None,
        };
        let turn = ChatTurn {
            text: "t".repeat(8),
            ..ChatTurn::default()
        };
        let u = estimate(&request, &turn);
        assert_eq!((u.input_tokens, u.output_tokens), (20, 2));
    }
}
