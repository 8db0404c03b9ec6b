//! OpenAI's two wire formats: Chat Completions (`POST {base}/chat/completions`, which also
//! covers Ollama, vLLM, llama.cpp's server and LM Studio) and Responses (`POST
//! {base}/responses`). Both use function calling: the schema is offered as the one function the
//! model must call, and its arguments are the document. Servers that ignore `tool_choice` and
//! answer with plain JSON text are understood too. Tool-calling turns on Chat Completions may
//! be streamed (`openai_stream`).

use super::api::{ModelConfig, ModelError, Provider};
use super::chat::{ChatRequest, ChatTurn, TurnWatch, Usage};
use super::openai_stream::OpenAiStream;
use super::transport::{json, Transport};
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

/// The function the model is asked to call, described for its `tools` list.
fn description(schema_name: &str) -> String {
    format!("Submit the {schema_name}.")
}

/// The arguments of the call to `name` among `calls` (`(name, arguments text)`), or an error
/// naming the functions the model called instead.
fn arguments_of<'a>(
    name: &str,
    mut calls: impl Iterator<Item = (&'a str, &'a str)>,
) -> Option<Result<Value, ModelError>> {
    let mut others = Vec::new();
    for (called, args) in calls.by_ref() {
        if called == name {
            return Some(document(args));
        }
        others.push(called.to_string());
    }
    (!others.is_empty()).then(|| {
        Err(ModelError::Protocol(format!(
            "the model called {others:?} instead of `{name}`"
        )))
    })
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
            "tools": [{"type": "function", "function": {"name": schema_name, "description": description(schema_name), "parameters": schema}}],
            "tool_choice": {"type": "function", "function": {"name": schema_name}},
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
        let message = &v["choices"][0]["message"];
        let calls = message["tool_calls"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                (
                    c["function"]["name"].as_str().unwrap_or(""),
                    c["function"]["arguments"].as_str().unwrap_or(""),
                )
            });
        if let Some(doc) = arguments_of(schema_name, calls) {
            return Ok((doc?, usage));
        }
        let content = message["content"].as_str().ok_or_else(|| {
            ModelError::Protocol("no choices[0].message.tool_calls or content".into())
        })?;
        Ok((document(content)?, usage))
    }

    async fn chat(
        &self,
        request: &ChatRequest,
        watch: &dyn TurnWatch,
    ) -> Result<ChatTurn, ModelError> {
        let body = &super::openai_tools::body(&self.0.config.model, request);
        let headers = &bearer(&self.0)?;
        let streamed = move || async move {
            let mut body = body.clone();
            body["stream"] = json!(true);
            body["stream_options"] = json!({"include_usage": true});
            let resp = self
                .0
                .send_streamed("chat/completions", headers, &body)
                .await?;
            super::sse::read(resp, watch, OpenAiStream::default()).await
        };
        let plain = move || async move {
            let text = self.0.post("chat/completions", headers, body).await?;
            super::openai_tools::parse(&json(&text)?)
        };
        let parse = |text: &str| super::openai_tools::parse(&json(text)?);
        let config = &self.0.config;
        let tools_stream = official(&config.base_url);
        super::streaming::turn(config, tools_stream, request, watch, streamed, plain, parse).await
    }
}

/// Whether `base_url` is OpenAI's own API, whose streamed tool calls work (other servers that
/// speak its protocol often cannot stream them).
fn official(base_url: &str) -> bool {
    base_url.trim_end_matches('/') == super::api::DEFAULT_BASE_URL
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
            "tools": [{"type": "function", "name": schema_name, "description": description(schema_name), "parameters": schema, "strict": false}],
            "tool_choice": {"type": "function", "name": schema_name},
        });
        let v = json(&self.0.post("responses", &bearer(&self.0)?, &body).await?)?;
        let usage = Usage {
            input_tokens: v["usage"]["input_tokens"].as_u64().unwrap_or(0),
            output_tokens: v["usage"]["output_tokens"].as_u64().unwrap_or(0),
        };
        let output = v["output"].as_array().into_iter().flatten();
        let calls = output
            .clone()
            .filter(|item| item["type"] == "function_call")
            .map(|item| {
                (
                    item["name"].as_str().unwrap_or(""),
                    item["arguments"].as_str().unwrap_or(""),
                )
            });
        if let Some(doc) = arguments_of(schema_name, calls) {
            return Ok((doc?, usage));
        }
        let text = output
            .filter(|item| item["type"] == "message")
            .flat_map(|item| item["content"].as_array().cloned().unwrap_or_default())
            .find(|c| c["type"] == "output_text")
            .and_then(|c| c["text"].as_str().map(str::to_string))
            .ok_or_else(|| {
                ModelError::Protocol("no function_call or output message with output_text".into())
            })?;
        Ok((document(&text)?, usage))
    }
}
