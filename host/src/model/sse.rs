//! Reading a streamed answer: the response's server-sent events (`eventsource-stream` over
//! reqwest's byte stream) handed one by one to a provider's [`Assembler`], each piece of text
//! shown to the turn's watch as it arrives. What a streamed request gave is a [`Streamed`]: the
//! assembled turn, or what says the server did not stream.

use super::api::ModelError;
use super::chat::{ChatTurn, TurnWatch};
use super::transport::cut;
use eventsource_stream::{EventStreamError, Eventsource};
use futures::StreamExt;

/// Assembles one provider's turn from its stream's events.
pub(super) trait Assembler {
    /// Takes in one event (its `event:` name and its `data:`); returns the piece of the
    /// model's text it carried, if any.
    fn feed(&mut self, event: &str, data: &str) -> Result<Option<String>, ModelError>;
    /// Whether the stream said it is complete (`[DONE]`, `message_stop`).
    fn done(&self) -> bool;
    /// The turn the events made.
    fn finish(self) -> Result<ChatTurn, ModelError>;
}

/// What a streamed request gave.
#[derive(Debug)]
pub(super) enum Streamed {
    /// The turn, assembled from the events.
    Turn(ChatTurn),
    /// A 2xx answer that is not a stream of events: its content type and body.
    NotSse {
        /// The `content-type` it had.
        content_type: String,
        /// Its body.
        body: String,
    },
    /// A stream that ended, or broke off, before its first event (why).
    Empty(String),
}

/// Reads the events of `resp` into `acc`, showing each piece of text to `watch`.
pub(super) async fn read<A: Assembler>(
    resp: reqwest::Response,
    watch: &dyn TurnWatch,
    mut acc: A,
) -> Result<Streamed, ModelError> {
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    if !content_type
        .to_ascii_lowercase()
        .starts_with("text/event-stream")
    {
        let body = resp.text().await.unwrap_or_default();
        return Ok(Streamed::NotSse { content_type, body });
    }
    let mut events = std::pin::pin!(resp.bytes_stream().eventsource());
    let mut seen = 0u64;
    while let Some(next) = events.next().await {
        let event = match next {
            Ok(e) => e,
            Err(e) if seen == 0 => {
                return Ok(Streamed::Empty(format!(
                    "the stream broke off before its first event ({})",
                    broken(&e)
                )))
            }
            Err(e) => return Err(broke_off(&e)),
        };
        seen += 1;
        if let Some(piece) = acc.feed(&event.event, &event.data)? {
            if !piece.is_empty() {
                watch.text(&piece);
            }
        }
        if acc.done() {
            break;
        }
    }
    if seen == 0 {
        return Ok(Streamed::Empty(
            "the stream ended before its first event".into(),
        ));
    }
    acc.finish().map(Streamed::Turn)
}

/// What broke a stream, in words.
fn broken(e: &EventStreamError<reqwest::Error>) -> String {
    match e {
        EventStreamError::Transport(t) if t.is_timeout() => "request timed out".into(),
        EventStreamError::Transport(t) => format!("transport: {t}"),
        EventStreamError::Utf8(u) => format!("not UTF-8: {u}"),
        EventStreamError::Parser(p) => format!("not server-sent events: {p}"),
    }
}

/// A stream broken after some events: the connection or the time went (the model is out for
/// now, like a request that failed), or what came is not server-sent events.
fn broke_off(e: &EventStreamError<reqwest::Error>) -> ModelError {
    match e {
        EventStreamError::Transport(_) => ModelError::Exhausted {
            attempts: 1,
            last: format!("the answer's stream broke off: {}", broken(e)),
        },
        _ => ModelError::Protocol(format!("the answer's stream broke off: {}", broken(e))),
    }
}

/// An error a stream carried in an event (`{"error": {"type", "message"}}`): an overloaded or
/// failing server is out for now (the next model of a chain may answer), anything else is a
/// protocol error.
pub(super) fn stream_error(error: &serde_json::Value) -> ModelError {
    let kind = error["type"].as_str().unwrap_or("error");
    let message = error["message"].as_str().unwrap_or("");
    let last = format!("the stream carried an error: {kind}: {message}");
    match kind {
        "overloaded_error" | "api_error" | "server_error" => {
            ModelError::Exhausted { attempts: 1, last }
        }
        _ => ModelError::Protocol(last),
    }
}

/// Parses one event's data as JSON.
pub(super) fn data_json(data: &str) -> Result<serde_json::Value, ModelError> {
    serde_json::from_str(data).map_err(|e| {
        ModelError::Protocol(format!("a stream event is not JSON ({e}): {}", cut(data)))
    })
}
