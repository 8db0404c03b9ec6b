//! The models sub-agents may name. `model = "NAME"` on a sub-agent picks `[models.NAME]` of
//! spud's config; `model = "PROVIDER:MODEL"` is another model at `[model]`'s endpoint (its base
//! URL and key), so only for `[model]`'s provider. Nothing else is reachable: a plan (perhaps
//! written by a model) cannot send a goal, tools or results to an endpoint the operator did not
//! configure. Providers are built once and shared by every sub-agent naming them.

use super::api::{ModelConfig, Provider};
use super::section::ModelSection;
use super::select::provider;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// Gives a sub-agent the model it names.
pub trait Models: Send + Sync {
    /// The provider for `name`, or why there is none (the sub-agent is then refused).
    fn get(&self, name: &str) -> Result<Arc<dyn Provider>, String>;
}

/// [`Models`] from spud's config file.
pub struct ModelCatalog {
    named: BTreeMap<String, ModelSection>,
    default: Option<ModelSection>,
    built: Mutex<HashMap<String, Arc<dyn Provider>>>,
}

impl ModelCatalog {
    /// A catalog of the `named` models (`[models.NAME]`) and the `default` endpoint
    /// (`[model]`) whose provider `PROVIDER:MODEL` names may use.
    pub fn new(
        named: BTreeMap<String, ModelSection>,
        default: Option<ModelSection>,
    ) -> ModelCatalog {
        ModelCatalog {
            named,
            default,
            built: Mutex::new(HashMap::new()),
        }
    }

    /// The spec and connection `name` resolves to.
    fn resolve(&self, name: &str) -> Result<(String, ModelConfig), String> {
        if let Some(s) = self.named.get(name) {
            return Ok((s.spec(), ModelSection::connection(Some(s), None, None)));
        }
        let Some((kind, _)) = name.split_once(':') else {
            let known: Vec<&str> = self.named.keys().map(String::as_str).collect();
            return Err(format!(
                "no model `{name}`: name one under [models] in spud's config (known: {}), or give PROVIDER:MODEL",
                if known.is_empty() { "none".to_string() } else { known.join(", ") }
            ));
        };
        match self.default.as_ref().filter(|d| d.provider == kind) {
            Some(d) => Ok((
                name.to_string(),
                ModelSection::connection(Some(d), None, None),
            )),
            None => Err(format!(
                "`{name}`: spud's config configures no `{kind}` endpoint ([model] is {}); name it under [models.NAME] with its base_url and api_key_env",
                self.default.as_ref().map_or("not set".to_string(), |d| format!("`{}`", d.provider))
            )),
        }
    }
}

impl Models for ModelCatalog {
    fn get(&self, name: &str) -> Result<Arc<dyn Provider>, String> {
        let mut built = self.built.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(p) = built.get(name) {
            return Ok(p.clone());
        }
        let (spec, connection) = self.resolve(name)?;
        let p: Arc<dyn Provider> =
            Arc::from(provider(&spec, connection).map_err(|e| format!("model `{name}`: {e}"))?);
        built.insert(name.to_string(), p.clone());
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `[model]` and `[models]` sections of a config file's text.
    #[derive(serde::Deserialize)]
    struct Sections {
        model: Option<ModelSection>,
        #[serde(default)]
        models: BTreeMap<String, ModelSection>,
    }

    fn catalog(text: &str) -> ModelCatalog {
        let s: Sections = toml::from_str(text).unwrap();
        ModelCatalog::new(s.models, s.model)
    }

    #[test]
    fn names_and_specs_resolve_to_their_endpoints() {
        let c = catalog(
            "[model]\nprovider = \"anthropic\"\nmodel = \"big\"\nbase_url = \"http://127.0.0.1:1/v1\"\napi_key_env = \"K\"\n\
             [models.cheap]\nprovider = \"openai\"\nmodel = \"small\"\nbase_url = \"http://127.0.0.1:2/v1\"\n",
        );
        let (spec, conn) = c.resolve("cheap").unwrap();
        assert_eq!(
            (spec.as_str(), conn.base_url.as_str()),
            ("openai:small", "http://127.0.0.1:2/v1")
        );
        let (spec, conn) = c.resolve("anthropic:other").unwrap();
        assert_eq!(spec, "anthropic:other");
        assert_eq!(conn.base_url, "http://127.0.0.1:1/v1");
        assert_eq!(conn.api_key_env.as_deref(), Some("K"));
        let e = c.resolve("openai-responses:x").unwrap_err();
        assert!(e.contains("[models.NAME]"), "{e}");
        let e = c.resolve("nosuch").unwrap_err();
        assert!(e.contains("known: cheap"), "{e}");
        assert!(c.get("cheap").is_ok());
        assert!(
            Arc::ptr_eq(&c.get("cheap").unwrap(), &c.get("cheap").unwrap()),
            "built once"
        );
    }
}
