//! Picks the backend a `PROVIDER:MODEL` spec names.

use super::anthropic::Anthropic;
use super::api::{ModelConfig, ModelError, Provider};
use super::openai::{OpenAiChat, OpenAiResponses};

/// Builds the provider named by `spec` (`openai:MODEL`, `openai-responses:MODEL`,
/// `anthropic:MODEL`) with `config`'s other settings.
pub fn provider(spec: &str, mut config: ModelConfig) -> Result<Box<dyn Provider>, ModelError> {
    let (kind, model) = spec.split_once(':').ok_or_else(|| {
        ModelError::Protocol(format!(
            "`{spec}` is not provider:model (openai, openai-responses, anthropic)"
        ))
    })?;
    config.model = model.to_string();
    Ok(match kind {
        "openai" => Box::new(OpenAiChat::new(config)?),
        "openai-responses" => Box::new(OpenAiResponses::new(config)?),
        "anthropic" => Box::new(Anthropic::new(config)?),
        other => {
            return Err(ModelError::Protocol(format!(
                "unknown provider `{other}` (openai, openai-responses, anthropic)"
            )))
        }
    })
}
