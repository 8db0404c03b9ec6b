//! Anthropic Messages (`POST {base}/messages`). The schema is offered as the one tool the
//! model must call; its input is the document. Tool-calling turns may be streamed
//! (`anthropic_stream`).

use super::anthropic_stream::AnthropicStream;
use super::api::{ModelConfig, ModelError, Provider};
use super::chat::{ChatRequest, ChatTurn, TurnWatch, Usage};
use super::transport::{json, Transport};
use serde_json::{json, Value};

/// The API version header spud speaks.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// A Messages client.
pub struct Anthropic(Transport);

impl Anthropic {
    /// A client for `config`.
    pub fn new(config: ModelConfig) -> Result<Anthropic, ModelError> {
        Ok(Anthropic(Transport::new(config)?))
    }
}

#[async_trait::async_trait]
impl Provider for Anthropic {
    async fn complete_json(
        &self,
        system: &str,
        user: &str,
        schema_name: &str,
        schema: &Value,
    ) -> Result<(Value, Usage), ModelError> {
        let body = json!({
            "model": self.0.config.model,
            "max_tokens": 8192,
            "system": system,
            "messages": [{"role": "user", "content": user}],
            "tools": [{"name": schema_name, "description": format!("Submit the {schema_name}."), "input_schema": schema}],
            "tool_choice": {"type": "tool", "name": schema_name},
        });
        let mut headers = vec![("anthropic-version", ANTHROPIC_VERSION.to_string())];
        if let Some(k) = self.0.key()? {
            headers.push(("x-api-key", k));
        }
        let v = json(&self.0.post("messages", &headers, &body).await?)?;
        let usage = Usage {
            input_tokens: v["usage"]["input_tokens"].as_u64().unwrap_or(0),
            output_tokens: v["usage"]["output_tokens"].as_u64().unwrap_or(0),
        };
        let input = v["content"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["type"] == "tool_use" && c["name"] == schema_name)
            .map(|c| c["input"].clone())
            .ok_or_else(|| {
                ModelError::Protocol(format!("no tool_use block for `{schema_name}`"))
            })?;
        Ok((input, usage))
    }

    async fn chat(
        &self,
        request: &ChatRequest,
        watch: &dyn TurnWatch,
    ) -> Result<ChatTurn, ModelError> {
        let body = super::anthropic_tools::body(&self.0.config.model, request);
        let mut headers = vec![("anthropic-version", ANTHROPIC_VERSION.to_string())];
        if let Some(k) = self.0.key()? {
            headers.push(("x-api-key", k));
        }
        let (body, headers) = (&body, &headers);
        let streamed = move || async move {
            let mut body = body.clone();
            body["stream"] = json!(true);
            let resp = self.0.send_streamed("messages", headers, &body).await?;
            super::sse::read(resp, watch, AnthropicStream::default()).await
        };
        let plain = move || async move {
            super::anthropic_tools::parse(&json(&self.0.post("messages", headers, body).await?)?)
        };
        let parse = |text: &str| super::anthropic_tools::parse(&json(text)?);
        super::streaming::turn(&self.0.config, true, request, watch, streamed, plain, parse).await
    }
}
