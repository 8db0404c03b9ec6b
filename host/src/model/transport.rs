//! The HTTP part every provider shares: POST JSON, retry 429/5xx with backoff that honors
//! `Retry-After`, and turn failures into typed errors.

use super::api::{backoff, ModelConfig, ModelError};
use std::time::Duration;

/// A configured HTTP client for one model.
pub struct Transport {
    /// The model's configuration.
    pub config: ModelConfig,
    client: reqwest::Client,
    /// For streamed requests: their connections are not kept for another request (a server
    /// may close one after a stream that ended abnormally, as llama.cpp's does).
    streams: reqwest::Client,
}

impl Transport {
    /// A client with the config's timeout.
    pub fn new(config: ModelConfig) -> Result<Transport, ModelError> {
        let build = |idle: usize| {
            reqwest::Client::builder()
                .timeout(Duration::from_millis(config.timeout_ms))
                .pool_max_idle_per_host(idle)
                .build()
                .map_err(|e| ModelError::Protocol(format!("cannot build the HTTP client: {e}")))
        };
        let (client, streams) = (build(usize::MAX)?, build(0)?);
        Ok(Transport {
            config,
            client,
            streams,
        })
    }

    /// The API key from the configured environment variable, if one is configured.
    pub fn key(&self) -> Result<Option<String>, ModelError> {
        match &self.config.api_key_env {
            None => Ok(None),
            Some(var) => std::env::var(var)
                .map(Some)
                .map_err(|_| ModelError::MissingKey(var.clone())),
        }
    }

    /// POSTs `body` to `{base_url}/{path}` with `headers`; returns the 2xx body.
    pub async fn post(
        &self,
        path: &str,
        headers: &[(&str, String)],
        body: &serde_json::Value,
    ) -> Result<String, ModelError> {
        let resp = self.send_on(&self.client, path, headers, body).await?;
        Ok(resp.text().await.unwrap_or_default())
    }

    /// POSTs `body` as [`Transport::post`] does, for a streamed answer: returns the 2xx
    /// response with its body unread, on a connection of its own.
    pub async fn send_streamed(
        &self,
        path: &str,
        headers: &[(&str, String)],
        body: &serde_json::Value,
    ) -> Result<reqwest::Response, ModelError> {
        self.send_on(&self.streams, path, headers, body).await
    }

    /// POSTs `body` to `{base_url}/{path}` with `headers` on `client`, retrying 429 and 5xx;
    /// returns the 2xx response with its body unread.
    async fn send_on(
        &self,
        client: &reqwest::Client,
        path: &str,
        headers: &[(&str, String)],
        body: &serde_json::Value,
    ) -> Result<reqwest::Response, ModelError> {
        let url = format!("{}/{path}", self.config.base_url.trim_end_matches('/'));
        let attempts = self.config.max_attempts.max(1);
        let mut last = String::new();
        for attempt in 1..=attempts {
            let mut req = client.post(&url).json(body);
            for (k, v) in headers {
                req = req.header(*k, v);
            }
            let resp = match req.send().await {
                Ok(r) => r,
                Err(e) => {
                    last = if e.is_timeout() {
                        "request timed out".into()
                    } else {
                        format!("request failed: {e}")
                    };
                    if attempt < attempts {
                        tokio::time::sleep(backoff(attempt, None)).await;
                    }
                    continue;
                }
            };
            let status = resp.status().as_u16();
            if (200..=299).contains(&status) {
                return Ok(resp);
            }
            let retry_after = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let text = resp.text().await.unwrap_or_default();
            match status {
                401 | 403 => return Err(ModelError::Auth { status }),
                404 => {
                    return Err(ModelError::UnknownModel {
                        model: self.config.model.clone(),
                    })
                }
                400 | 413 if is_overflow(&text) => {
                    return Err(ModelError::ContextOverflow(cut(&text)))
                }
                429 | 500..=599 => {
                    last = format!("HTTP {status}: {}", cut(&text));
                    if attempt < attempts {
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
        Err(ModelError::Exhausted { attempts, last })
    }
}

fn is_overflow(text: &str) -> bool {
    [
        "context_length_exceeded",
        "maximum context length",
        "prompt is too long",
        "too many tokens",
    ]
    .iter()
    .any(|p| text.contains(p))
}

/// The first 300 characters of an error body.
pub fn cut(s: &str) -> String {
    s.chars().take(300).collect()
}

/// Parses a JSON body.
pub fn json(text: &str) -> Result<serde_json::Value, ModelError> {
    serde_json::from_str(text).map_err(|e| ModelError::Protocol(format!("not JSON: {e}")))
}
