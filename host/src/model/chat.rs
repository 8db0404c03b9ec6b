//! Tool calling, turn by turn: the provider-neutral conversation ([`ChatRequest`],
//! [`ChatMessage`]), the functions a model may call ([`ToolSpec`]) and one answer
//! ([`ChatTurn`]: text, tool calls, usage). Each provider turns these into its own wire format.

use super::api::Usage;
use serde::{Deserialize, Serialize};

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
