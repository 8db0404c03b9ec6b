//! Model providers behind one trait. A provider answers a system + user prompt with a JSON
//! document that matches a JSON Schema (the planner's plan), and reports token usage.
//!
//! Providers: OpenAI-compatible Chat Completions (`openai`: OpenAI, Ollama, vLLM, llama.cpp's
//! server, LM Studio through `base_url`), the OpenAI Responses API (`openai-responses`) and
//! Anthropic Messages (`anthropic`). Requests time out; 429 and 5xx are retried with
//! exponential backoff that honors `Retry-After`; bad keys, unknown models and context
//! overflow are distinct errors. API keys are read from the environment variable the config
//! names and never logged or written to traces. Tool-calling turns are streamed (server-sent
//! events) where the server can (`stream`, `streaming`, `sse`, `*_stream`).

mod anthropic;
mod anthropic_stream;
mod anthropic_tools;
mod api;
pub mod catalog;
pub mod chat;
pub mod failover;
mod openai;
mod openai_stream;
mod openai_tools;
pub mod section;
mod select;
mod sse;
mod streaming;
mod transport;

pub use anthropic::Anthropic;
pub use api::{backoff, ModelConfig, ModelError, Provider, DEFAULT_BASE_URL};
pub use catalog::{ModelCatalog, Models};
pub use chat::Usage;
pub use chat::{
    ChatMessage, ChatRequest, ChatTurn, FailoverLog, ModelUse, QuietWatch, StreamMode, Switch,
    ToolCall, ToolSpec, TurnWatch,
};
pub use failover::Failover;
pub use openai::{OpenAiChat, OpenAiResponses};
pub use section::{ModelSection, Prices};
pub use select::provider;
