//! The provider interface every model backend implements ([`Provider`]): a system + user prompt
//! answered with a JSON document matching a schema, token [`Usage`], typed [`ModelError`]s, the
//! connection settings ([`ModelConfig`]) and the retry backoff.

pub use super::chat::Usage;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Why a model request failed.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The key was refused (401/403).
    #[error(
        "the model API refused the key (HTTP {status}); check the variable named by `api_key_env`"
    )]
    Auth {
        /// HTTP status.
        status: u16,
    },
    /// The model does not exist (404).
    #[error("the model API does not know model `{model}` (HTTP 404)")]
    UnknownModel {
        /// Model name.
        model: String,
    },
    /// The prompt is longer than the model's context.
    #[error("the prompt does not fit the model's context window: {0}")]
    ContextOverflow(String),
    /// Still rate-limited or failing after every retry.
    #[error("the model API kept failing after {attempts} attempts: {last}")]
    Exhausted {
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        last: String,
    },
    /// Any other HTTP error.
    #[error("the model API answered HTTP {status}: {body}")]
    Http {
        /// Status.
        status: u16,
        /// Body (cut).
        body: String,
    },
    /// The answer is not what the protocol says.
    #[error("unexpected answer from the model API: {0}")]
    Protocol(String),
    /// The key variable is not set.
    #[error("the environment variable `{0}` (api_key_env) is not set")]
    MissingKey(String),
    /// The provider does not offer what was asked (tool calling on the Responses API, say).
    #[error("this model provider does not support {0}")]
    Unsupported(String),
}

/// The API base of `openai` models when neither a flag nor the config names one.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";

/// Where and how to reach a model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// Model name as the API knows it.
    pub model: String,
    /// API base, e.g. `https://api.openai.com/v1` or `http://127.0.0.1:11434/v1`.
    pub base_url: String,
    /// Name of the environment variable holding the key (none for local servers).
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// Per-request timeout, ms.
    #[serde(default = "d_timeout")]
    pub timeout_ms: u64,
    /// Attempts for 429/5xx before giving up.
    #[serde(default = "d_attempts")]
    pub max_attempts: u32,
    /// Whether tool-calling turns are streamed.
    #[serde(default)]
    pub stream: super::chat::StreamMode,
}

fn d_timeout() -> u64 {
    60_000
}
fn d_attempts() -> u32 {
    4
}

/// A model that returns JSON for a prompt.
#[async_trait::async_trait]
pub trait Provider: Send + Sync {
    /// Asks for a JSON document matching `schema` (named `schema_name`).
    async fn complete_json(
        &self,
        system: &str,
        user: &str,
        schema_name: &str,
        schema: &serde_json::Value,
    ) -> Result<(serde_json::Value, Usage), ModelError>;

    /// One turn of a tool-calling conversation: the model answers with text and/or calls of
    /// `request.tools`. A streamed answer shows its text to `watch` as it arrives. Providers
    /// without tool calling say so.
    async fn chat(
        &self,
        request: &super::chat::ChatRequest,
        watch: &dyn super::chat::TurnWatch,
    ) -> Result<super::chat::ChatTurn, ModelError> {
        let _ = (request, watch);
        Err(ModelError::Unsupported("tool calling".into()))
    }

    /// For a failover chain (`[model] fallback`): the model in use, the switches so far and
    /// what each model did; `None` for a single model.
    fn failover(&self) -> Option<super::chat::FailoverLog> {
        None
    }
}

/// Backoff before attempt `n` (1-based retries): `Retry-After` when the server gave one —
/// seconds, or an HTTP-date — capped at 60 s, else 250 ms · 2ⁿ⁻¹.
pub fn backoff(n: u32, retry_after: Option<&str>) -> Duration {
    backoff_at(n, retry_after, std::time::SystemTime::now())
}

/// [`backoff`] as of `now` (an HTTP-date is a moment: the wait is what is left until it; one
/// already past is no wait).
pub fn backoff_at(n: u32, retry_after: Option<&str>, now: std::time::SystemTime) -> Duration {
    let cap = Duration::from_secs(60);
    if let Some(v) = retry_after.map(str::trim) {
        if let Ok(secs) = v.parse::<f64>() {
            return Duration::from_secs_f64(if secs.is_finite() {
                secs.clamp(0.0, 60.0)
            } else {
                0.0
            });
        }
        if let Ok(at) = httpdate::parse_http_date(v) {
            return at.duration_since(now).unwrap_or_default().min(cap);
        }
    }
    Duration::from_millis(250u64.saturating_mul(1 << n.saturating_sub(1).min(8)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_honors_retry_after() {
        assert_eq!(backoff(1, Some("2")), Duration::from_secs(2));
        assert_eq!(backoff(1, Some("0.5")), Duration::from_millis(500));
        assert_eq!(backoff(1, None), Duration::from_millis(250));
        assert_eq!(backoff(3, None), Duration::from_millis(1000));
        assert_eq!(backoff(1, Some("9999")), Duration::from_secs(60));
        assert_eq!(backoff(1, Some("NaN")), Duration::ZERO);
        assert_eq!(backoff(2, Some("soon")), Duration::from_millis(500));
    }

    #[test]
    fn backoff_honors_an_http_date() {
        let now = httpdate::parse_http_date("Wed, 02 Dec 2026 01:00:00 GMT").unwrap();
        let at = |v: &str| backoff_at(1, Some(v), now);
        assert_eq!(at("Wed, 02 Dec 2026 01:00:03 GMT"), Duration::from_secs(3));
        assert_eq!(at("Wed, 02 Dec 2026 00:59:00 GMT"), Duration::ZERO);
        assert_eq!(at("Wed, 02 Dec 2026 02:00:00 GMT"), Duration::from_secs(60));
        // The obsolete forms HTTP still allows.
        assert_eq!(
            at("Wednesday, 02-Dec-26 01:00:05 GMT"),
            Duration::from_secs(5)
        );
        assert_eq!(at("Wed Dec  2 01:00:07 2026"), Duration::from_secs(7));
    }
}
