//! What a front door says about a run beyond spud's config file ([`Settings`]): flags such as
//! `--model`, `--judge`, `--no-memory`. Every field is optional; the config file, then spud's
//! defaults, fill in the rest.

use crate::plan::ReviseWhen;
use std::path::PathBuf;

/// Flags that override spud's config file for the runs a [`super::Launcher`] starts.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// spud's config file; `None`: `<home>/config.toml` when there is one.
    pub config: Option<PathBuf>,
    /// The planning model, `PROVIDER:MODEL`; default: the config's `[model]`.
    pub model: Option<String>,
    /// API base URL for `model` and `judge`; default: the config's, else OpenAI's.
    pub base_url: Option<String>,
    /// Environment variable holding the API key; default: the config's.
    pub api_key_env: Option<String>,
    /// A model that judges each successful step, `PROVIDER:MODEL`.
    pub judge: Option<String>,
    /// When the model may revise the plan during a run; default: the config's `[agent]`.
    pub revise: Option<ReviseWhen>,
    /// Re-plans after a failed run; default: the config's `[agent]`, else 2.
    pub max_replans: Option<u32>,
    /// Model tokens per goal; default: the config's `[agent]`, else 200000.
    pub max_tokens: Option<u64>,
    /// How goals are worked on (plan, tools, auto); default: the config's `[agent] loop`,
    /// else auto.
    pub loop_mode: Option<crate::plan::LoopMode>,
    /// Whether the planning model's tool-calling turns are streamed; default: its config
    /// section's `stream`, else auto.
    pub stream: Option<crate::model::StreamMode>,
    /// Neither use nor update the memory of past runs.
    pub no_memory: bool,
    /// The runs will be goals: a broken config file is an error even when nothing else
    /// needs it.
    pub goals: bool,
}
