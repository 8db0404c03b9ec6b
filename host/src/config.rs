//! spud's own configuration file (`--config FILE`, `SPUD_CONFIG`, or `<home>/config.toml`):
//! which model to plan with and the agent's defaults. Errors name file, line and column.
//!
//! ```toml
//! [model]
//! provider = "openai"            # openai | openai-responses | anthropic
//! model = "gpt-4.1"
//! base_url = "https://api.openai.com/v1"
//! api_key_env = "OPENAI_API_KEY" # the key's variable, never the key
//! timeout_ms = 60000
//! max_attempts = 4
//!
//! [models.cheap]               # models sub-agents may name (`model = "cheap"`)
//! provider = "openai"
//! model = "gpt-4.1-mini"
//! base_url = "https://api.openai.com/v1"
//!
//! [agent]
//! max_replans = 2
//! max_tokens = 200000
//! revise = "on-surprise"         # never | on-surprise | each-step
//! memory = true                  # use and update the memory of past runs
//! loop = "auto"                  # plan | tools | auto
//!
//! [memory]
//! retain_days = 90               # forget runs and lessons older than this (0: never)
//! ```

use crate::model::{ModelCatalog, ModelSection};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The `[agent]` section.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentSection {
    /// Re-plans after a failed run.
    pub max_replans: Option<u32>,
    /// Model token budget of a goal.
    pub max_tokens: Option<u64>,
    /// When the plan is revised during a run.
    pub revise: Option<crate::plan::ReviseWhen>,
    /// Bytes of each tool output handed to the model (and kept in traces); default 4096.
    pub model_output_bytes: Option<usize>,
    /// Use and update the memory of past runs (default true).
    pub memory: Option<bool>,
    /// How goals are worked on: `plan`, `tools` (tool calling) or `auto` (default: plan
    /// first, tool calling when the model cannot produce a valid plan).
    #[serde(rename = "loop")]
    pub loop_mode: Option<crate::plan::LoopMode>,
}

/// The `[memory]` section.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemorySection {
    /// Runs and lessons older than this many days are forgotten (default 90; 0: never).
    pub retain_days: Option<u32>,
}

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Model settings.
    pub model: Option<ModelSection>,
    /// Other models, by name, that sub-agents may name.
    #[serde(default)]
    pub models: BTreeMap<String, ModelSection>,
    /// Agent defaults.
    #[serde(default)]
    pub agent: AgentSection,
    /// Memory of past runs.
    #[serde(default)]
    pub memory: MemorySection,
    /// Run retention.
    #[serde(default)]
    pub runs: RunsSection,
}

/// The `[runs]` section.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunsSection {
    /// Runs (traces, reports, tool outputs) older than this many days are removed by
    /// `spud runs prune`.
    pub retain_days: Option<u64>,
}

/// A config file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Unreadable.
    #[error("cannot read config {file}: {source}")]
    Read {
        /// File.
        file: String,
        /// Why.
        source: std::io::Error,
    },
    /// Bad content, with position.
    #[error(transparent)]
    At(#[from] spud_policy::Located),
}

impl Config {
    /// Reads `path`; a missing file at the default location is an empty config.
    pub fn load(path: &Path, must_exist: bool) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let src = match std::fs::read_to_string(path) {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !must_exist => {
                return Ok(Config::default())
            }
            Err(source) => return Err(ConfigError::Read { file, source }),
        };
        Config::parse(&src, &file)
    }

    /// Parses config text; `file` is used in messages.
    pub fn parse(src: &str, file: &str) -> Result<Config, ConfigError> {
        toml::from_str(src).map_err(|e| ConfigError::At(spud_policy::Located::toml(src, file, &e)))
    }
}

impl ModelCatalog {
    /// The `[models]` and `[model]` sections of `config`.
    pub fn from_config(config: &Config) -> ModelCatalog {
        ModelCatalog::new(config.models.clone(), config.model.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_locates_errors() {
        let c = Config::parse(
            "[model]\nprovider = \"anthropic\"\nmodel = \"m\"\n[agent]\nmax_replans = 1\n",
            "c.toml",
        )
        .unwrap();
        assert_eq!(c.model.unwrap().provider, "anthropic");
        assert_eq!(c.agent.max_replans, Some(1));
        let m = Config::parse(
            "[agent]\nmemory = false\n[memory]\nretain_days = 7\n",
            "c.toml",
        )
        .unwrap();
        assert_eq!(
            (m.agent.memory, m.memory.retain_days),
            (Some(false), Some(7))
        );
        let e = Config::parse("[model]\nprovider = \"openai\"\nmodle = \"m\"\n", "c.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("c.toml:3:1:"), "{e}");
        let n = Config::parse(
            "[models.cheap]\nprovider = \"openai\"\nmodel = \"small\"\nbase_url = \"http://127.0.0.1:9/v1\"\n",
            "c.toml",
        )
        .unwrap();
        assert_eq!(n.models["cheap"].spec(), "openai:small");
    }
}
