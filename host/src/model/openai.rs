//! OpenAI-compatible Chat Completions (`POST {base_url}/chat/completions`) with a JSON Schema
//! response format.

use super::{backoff, ModelConfig, ModelError, Provider, Usage};
use serde_json::{json, Value};
use std::time::Duration;

/// A Chat Completions client.
pub struct OpenAiChat {
    config: ModelConfig,
    client: reqwest::Client,
}

impl OpenAiChat {
    /// A client for `config`.
    pub fn new(config: ModelConfig) -> Result<OpenAiChat, ModelError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(config.timeout_ms))
            .build()
            .map_err(|e| ModelError::Protocol(format!("cannot build the HTTP client: {e}")))?;
        Ok(OpenAiChat { config, client })
    }

    fn key(&self) -> Result<Option<String>, ModelError> {
        match &self.config.api_key_env {
            None => Ok(None),
            Some(var) => std::env::var(var)
                .map(Some)
                .map_err(|_| ModelError::MissingKey(var.clone())),
        }
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
            "model": self.config.model,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
            "response_format": {"type": "json_schema", "json_schema": {"name": schema_name, "schema": schema, "strict": false}},
        });
        let url = format!(
            "{}/chat/completions",
            self.config.base_url.trim_end_matches('/')
        );
        let key = self.key()?;
        let mut last = String::new();
        for attempt in 1..=self.config.max_attempts.max(1) {
            let mut req = self.client.post(&url).json(&body);
            if let Some(k) = &key {
                req = req.bearer_auth(k);
            }
            let resp = match req.send().await {
                Ok(r) => r,
                Err(e) => {
                    last = if e.is_timeout() {
                        "request timed out".into()
                    } else {
                        format!("request failed: {e}")
                    };
                    tokio::time::sleep(backoff(attempt, None)).await;
                    continue;
                }
            };
            let status = resp.status().as_u16();
            let retry_after = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let text = resp.text().await.unwrap_or_default();
            match status {
                200..=299 => return parse(&text),
                401 | 403 => return Err(ModelError::Auth { status }),
                404 => {
                    return Err(ModelError::UnknownModel {
                        model: self.config.model.clone(),
                    })
                }
                400 if text.contains("context_length_exceeded")
                    || text.contains("maximum context length") =>
                {
                    return Err(ModelError::ContextOverflow(cut(&text)))
                }
                429 | 500..=599 => {
                    last = format!("HTTP {status}: {}", cut(&text));
                    if attempt < self.config.max_attempts {
                        tokio::time::sleep(backoff(attempt, retry_after.as_deref())).await;
                    }
                }
                _ => {
                    return Err(ModelError::Http {
                        status,
                        body: cut(&text),
                    })
                }
            }
        }
        Err(ModelError::Exhausted {
            attempts: self.config.max_attempts.max(1),
            last,
        })
    }
}

fn parse(text: &str) -> Result<(Value, Usage), ModelError> {
    let v: Value =
        serde_json::from_str(text).map_err(|e| ModelError::Protocol(format!("not JSON: {e}")))?;
    let usage = Usage {
        input_tokens: v["usage"]["prompt_tokens"].as_u64().unwrap_or(0),
        output_tokens: v["usage"]["completion_tokens"].as_u64().unwrap_or(0),
    };
    let content = v["choices"][0]["message"]["content"]
        .as_str()
        .ok_or_else(|| ModelError::Protocol("no choices[0].message.content".into()))?;
    let doc = serde_json::from_str(content)
        .map_err(|e| ModelError::Protocol(format!("the model's answer is not JSON: {e}")))?;
    Ok((doc, usage))
}

fn cut(s: &str) -> String {
    s.chars().take(300).collect()
}
