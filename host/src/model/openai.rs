//! OpenAI's two wire formats: Chat Completions (`POST {base}/chat/completions`, which also
//! covers Ollama, vLLM, llama.cpp's server and LM Studio) and Responses (`POST
//! {base}/responses`), both with a JSON Schema response format.

use super::transport::{json, Transport};
use super::{ModelConfig, ModelError, Provider, Usage};
use serde_json::{json, Value};

fn bearer(t: &Transport) -> Result<Vec<(&'static str, String)>, ModelError> {
    Ok(t.key()?
        .map(|k| vec![("authorization", format!("Bearer {k}"))])
        .unwrap_or_default())
}

fn document(content: &str) -> Result<Value, ModelError> {
    serde_json::from_str(content)
        .map_err(|e| ModelError::Protocol(format!("the model's answer is not JSON: {e}")))
}

/// Chat Completions.
pub struct OpenAiChat(Transport);

impl OpenAiChat {
    /// A client for `config`.
    pub fn new(config: ModelConfig) -> Result<OpenAiChat, ModelError> {
        Ok(OpenAiChat(Transport::new(config)?))
    }
}

#[async_trait::async_trait]
impl Provider for OpenAiChat {
    async fn complete_json(
        &self,
        system: &str,
        user: &str,
        schema_name: &str,
        schema: &Value,
    ) -> Result<(Value, Usage), ModelError> {
        let body = json!({
            "model": self.0.config.model,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
            "response_format": {"type": "json_schema", "json_schema": {"name": schema_name, "schema": schema, "strict": false}},
        });
        let v = json(
            &self
                .0
                .post("chat/completions", &bearer(&self.0)?, &body)
                .await?,
        )?;
        let usage = Usage {
            input_tokens: v["usage"]["prompt_tokens"].as_u64().unwrap_or(0),
            output_tokens: v["usage"]["completion_tokens"].as_u64().unwrap_or(0),
        };
        let content = v["choices"][0]["message"]["content"]
            .as_str()
            .ok_or_else(|| ModelError::Protocol("no choices[0].message.content".into()))?;
        Ok((document(content)?, usage))
    }
}

/// The Responses API.
pub struct OpenAiResponses(Transport);

impl OpenAiResponses {
    /// A client for `config`.
    pub fn new(config: ModelConfig) -> Result<OpenAiResponses, ModelError> {
        Ok(OpenAiResponses(Transport::new(config)?))
    }
}

#[async_trait::async_trait]
impl Provider for OpenAiResponses {
    async fn complete_json(
        &self,
        system: &str,
        user: &str,
        schema_name: &str,
        schema: &Value,
    ) -> Result<(Value, Usage), ModelError> {
        let body = json!({
            "model": self.0.config.model,
            "instructions": system,
            "input": [{"role": "user", "content": user}],
            "text": {"format": {"type": "json_schema", "name": schema_name, "schema": schema, "strict": false}},
        });
        let v = json(&self.0.post("responses", &bearer(&self.0)?, &body).await?)?;
        let usage = Usage {
            input_tokens: v["usage"]["input_tokens"].as_u64().unwrap_or(0),
            output_tokens: v["usage"]["output_tokens"].as_u64().unwrap_or(0),
        };
        let text = v["output"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|item| item["type"] == "message")
            .flat_map(|item| item["content"].as_array().cloned().unwrap_or_default())
            .find(|c| c["type"] == "output_text")
            .and_then(|c| c["text"].as_str().map(str::to_string))
            .ok_or_else(|| ModelError::Protocol("no output message with output_text".into()))?;
        Ok((document(&text)?, usage))
    }
}
