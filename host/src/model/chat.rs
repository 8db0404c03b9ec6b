//! Tool calling, turn by turn: the provider-neutral conversation ([`ChatRequest`],
//! [`ChatMessage`]), the functions a model may call ([`ToolSpec`]) and one answer
//! ([`ChatTurn`]: text, tool calls, [`Usage`]). Each provider turns these into its own wire
//! format. Whether answers are streamed ([`StreamMode`]) and who watches a turn as it streams
//! ([`TurnWatch`]). And what a failover chain did ([`FailoverLog`]): plain data, shared by the
//! provider interface and the chain.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::sync::Mutex;

/// Whether a model's tool-calling turns are streamed (server-sent events): `stream` in its
/// config section, `true`, `false` or `"auto"`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "StreamSetting", into = "StreamSetting")]
pub enum StreamMode {
    /// Never (`false`).
    Off,
    /// Always; a server that cannot stream is an error (`true`).
    On,
    /// Stream, except a request with tools to an OpenAI-compatible server other than OpenAI's
    /// own (sent unstreamed); when the model's server cannot (it refuses a streamed request, or does not
    /// answer with events), ask again without streaming and stay so with that model for the
    /// rest of the run (`"auto"`, the default).
    #[default]
    Auto,
}

/// `stream` as written: a boolean or a word.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum StreamSetting {
    Flag(bool),
    Word(String),
}

impl TryFrom<StreamSetting> for StreamMode {
    type Error = String;
    fn try_from(s: StreamSetting) -> Result<StreamMode, String> {
        match s {
            StreamSetting::Flag(true) => Ok(StreamMode::On),
            StreamSetting::Flag(false) => Ok(StreamMode::Off),
            StreamSetting::Word(w) => w.parse(),
        }
    }
}

impl From<StreamMode> for StreamSetting {
    fn from(m: StreamMode) -> StreamSetting {
        match m {
            StreamMode::On => StreamSetting::Flag(true),
            StreamMode::Off => StreamSetting::Flag(false),
            StreamMode::Auto => StreamSetting::Word("auto".into()),
        }
    }
}

impl std::str::FromStr for StreamMode {
    type Err = String;
    fn from_str(s: &str) -> Result<StreamMode, String> {
        match s {
            "true" | "on" => Ok(StreamMode::On),
            "false" | "off" => Ok(StreamMode::Off),
            "auto" => Ok(StreamMode::Auto),
            other => Err(format!(
                "`stream` is true, false or \"auto\", not `{other}`"
            )),
        }
    }
}

/// Who watches a tool-calling turn while it is asked: the model's text as it streams in, and
/// which models' servers cannot stream (in `auto`, streaming stays off with them for the rest
/// of the run).
pub trait TurnWatch: Send + Sync {
    /// A piece of the model's text, as it arrived.
    fn text(&self, piece: &str);
    /// Whether streaming was turned off for `model` in this run.
    fn streaming_off(&self, model: &str) -> bool;
    /// `model`'s server cannot stream (`reason`): no more streaming with it in this run.
    fn turn_off(&self, model: &str, reason: &str);
}

/// A [`TurnWatch`] that shows nothing and only remembers which models cannot stream.
#[derive(Debug, Default)]
pub struct QuietWatch {
    off: Mutex<BTreeSet<String>>,
}

impl TurnWatch for QuietWatch {
    fn text(&self, _piece: &str) {}

    fn streaming_off(&self, model: &str) -> bool {
        self.off
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(model)
    }

    fn turn_off(&self, model: &str, _reason: &str) {
        self.off
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(model.to_string());
    }
}

/// Tokens one request used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Completion tokens.
    pub output_tokens: u64,
}

/// A function the model may call: a name its API accepts, a description and a JSON Schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    /// The function's name on the wire (letters, digits, `_` and `-`).
    pub name: String,
    /// What it does.
    pub description: String,
    /// The JSON Schema of its arguments.
    pub parameters: serde_json::Value,
}

/// One function call the model made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The call's id (the provider's, or `call_N` when it gave none).
    pub id: String,
    /// The function it named, as the model spelled it.
    pub name: String,
    /// Its arguments as the model wrote them: JSON text, perhaps malformed.
    pub arguments: String,
}

/// A message of the conversation after the system prompt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ChatMessage {
    /// The user's words (the goal).
    User(String),
    /// The model's turn: its text and the calls it made.
    Assistant {
        /// Text (empty when it only called tools).
        text: String,
        /// Tool calls.
        calls: Vec<ToolCall>,
    },
    /// The result of one call, for the model.
    Tool {
        /// The call it answers.
        call_id: String,
        /// The function's name as the model called it.
        name: String,
        /// The result or the error, as text.
        content: String,
    },
}

/// One request of a tool-calling conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    /// The system prompt.
    pub system: String,
    /// The conversation so far.
    pub messages: Vec<ChatMessage>,
    /// The functions the model may call.
    pub tools: Vec<ToolSpec>,
    /// The most tokens the answer may have (`None`: the provider's default).
    pub max_tokens: Option<u32>,
}

/// One answer: text, tool calls (none: the model answered), and the tokens it used.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatTurn {
    /// Text.
    pub text: String,
    /// The calls it made, in order.
    pub calls: Vec<ToolCall>,
    /// Tokens, from the provider's usage fields.
    pub usage: Usage,
}

/// A switch from one model to the next.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Switch {
    /// The model that failed.
    pub from: String,
    /// The model that continues.
    pub to: String,
    /// Why.
    pub reason: String,
}

/// What one model of a chain did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelUse {
    /// The model.
    pub model: String,
    /// Requests it answered.
    pub requests: u64,
    /// Its tokens.
    pub usage: Usage,
    /// Their price, when the model has prices.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<f64>,
}

/// What a chain did so far: the model in use, the switches, each model's use.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FailoverLog {
    /// The model in use now.
    pub current: String,
    /// The switches, in order.
    pub switches: Vec<Switch>,
    /// What each model did, in chain order.
    pub models: Vec<ModelUse>,
}
