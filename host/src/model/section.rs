//! A model's section of spud's config file (`[model]`, `[models.NAME]`): provider, model,
//! connection settings and prices. The model layer owns it; `config` only reads the file.

use super::api::{ModelConfig, DEFAULT_BASE_URL};
use serde::{Deserialize, Serialize};

/// The `[model]` section.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSection {
    /// `openai`, `openai-responses` or `anthropic`.
    pub provider: String,
    /// Model name.
    pub model: String,
    /// API base URL.
    pub base_url: Option<String>,
    /// Variable holding the key.
    pub api_key_env: Option<String>,
    /// Per-request timeout, ms.
    pub timeout_ms: Option<u64>,
    /// Attempts for 429/5xx.
    pub max_attempts: Option<u32>,
    /// Price per million input tokens (any currency), for the run's cost figure.
    pub input_price_per_mtok: Option<f64>,
    /// Price per million output tokens.
    pub output_price_per_mtok: Option<f64>,
    /// Models (names under `[models]`) that continue a run, in order, when this one is out:
    /// failing after its retries, answering 5xx, or its context overflowing.
    #[serde(default)]
    pub fallback: Vec<String>,
    /// The model's context window in tokens: tool calling compacts the conversation before a
    /// request would overflow it.
    pub context_tokens: Option<u64>,
    /// Whether tool-calling turns are streamed: `true`, `false` or `"auto"` (the default).
    #[serde(default)]
    pub stream: super::chat::StreamMode,
}

impl ModelSection {
    /// `PROVIDER:MODEL`.
    pub fn spec(&self) -> String {
        format!("{}:{}", self.provider, self.model)
    }

    /// Its connection settings; flags, when given, override the section's.
    pub fn connection(
        section: Option<&ModelSection>,
        base_url: Option<&str>,
        api_key_env: Option<&str>,
    ) -> ModelConfig {
        ModelConfig {
            model: String::new(),
            base_url: base_url
                .map(str::to_string)
                .or_else(|| section.and_then(|m| m.base_url.clone()))
                .unwrap_or_else(|| DEFAULT_BASE_URL.into()),
            api_key_env: api_key_env
                .map(str::to_string)
                .or_else(|| section.and_then(|m| m.api_key_env.clone())),
            timeout_ms: section.and_then(|m| m.timeout_ms).unwrap_or(60_000),
            max_attempts: section.and_then(|m| m.max_attempts).unwrap_or(4),
            stream: section.map(|m| m.stream).unwrap_or_default(),
        }
    }

    /// The model's prices, when the section lists at least one.
    pub fn prices(&self) -> Option<Prices> {
        (self.input_price_per_mtok.is_some() || self.output_price_per_mtok.is_some()).then(|| {
            Prices {
                input_per_mtok: self.input_price_per_mtok.unwrap_or(0.0),
                output_per_mtok: self.output_price_per_mtok.unwrap_or(0.0),
            }
        })
    }
}

/// Model prices from the config's `[model]` section, in a currency per million tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Prices {
    /// Per million input tokens.
    pub input_per_mtok: f64,
    /// Per million output tokens.
    pub output_per_mtok: f64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::StreamMode;

    fn section(extra: &str) -> Result<ModelSection, toml::de::Error> {
        toml::from_str(&format!("provider = \"openai\"\nmodel = \"m\"\n{extra}"))
    }

    #[test]
    fn stream_is_true_false_or_auto() {
        let stream = |extra: &str| section(extra).map(|s| s.stream);
        assert_eq!(stream("").unwrap(), StreamMode::Auto);
        assert_eq!(stream("stream = true").unwrap(), StreamMode::On);
        assert_eq!(stream("stream = false").unwrap(), StreamMode::Off);
        assert_eq!(stream("stream = \"auto\"").unwrap(), StreamMode::Auto);
        let e = stream("stream = \"sometimes\"").unwrap_err().to_string();
        assert!(e.contains("true, false or \"auto\""), "{e}");
        let s = section("stream = false").unwrap();
        assert_eq!(
            ModelSection::connection(Some(&s), None, None).stream,
            StreamMode::Off
        );
    }
}
