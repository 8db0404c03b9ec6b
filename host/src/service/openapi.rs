//! OpenAPI action groups: `spud tools add openapi:SPEC --name NAME --base-url URL` registers
//! the first-party `openapi` component (registered first, as `openapi`) once more under
//! `NAME`, with one tool `NAME.operationId` per operation of the document (its JSON Schema from
//! the parameters and request body, by `spud-openapi`) and a request for the base URL's origin
//! only. A call of `NAME.ID` reaches the component as its `invoke` tool with the operation,
//! the base URL and the call's arguments; the request it sends passes the host's network
//! grant, secret scan and credential injection like any other.

use super::install::{Install, InstallError, Installed};
use super::spud::Spud;
use crate::runtime::{Entry, OpenApiBinding, Registry, Tool, ToolInfo};
use std::borrow::Cow;
use std::path::Path;

/// The plugin name the generic component must be registered under.
pub const OPENAPI_PLUGIN: &str = "openapi";

/// The source prefix of an OpenAPI document.
pub const OPENAPI_SOURCE: &str = "openapi:";

/// Why a document was not added.
#[derive(Debug, thiserror::Error)]
pub enum OpenApiAddError {
    /// The document cannot be read.
    #[error("cannot read the OpenAPI document {file}: {source}")]
    Read {
        /// The file.
        file: String,
        /// Why.
        source: std::io::Error,
    },
    /// The document is not usable.
    #[error("{file}: {source}")]
    Document {
        /// The file.
        file: String,
        /// What is wrong.
        source: spud_openapi::OpenApiError,
    },
    /// `--name` or `--base-url` is missing or wrong.
    #[error("{0}")]
    Usage(String),
    /// The generic component is not registered.
    #[error("the generic `openapi` component is not registered; register it first: `spud tools add openapi.wasm` (built by scripts/build-guests.sh)")]
    NoComponent,
    /// Registering failed.
    #[error(transparent)]
    Install(#[from] InstallError),
}

impl Spud {
    /// Registers the operations of the OpenAPI document `spec` as plugin `name`, calling
    /// `base_url`.
    pub fn add_openapi(
        &self,
        spec: &Path,
        name: &str,
        base_url: &str,
    ) -> Result<Installed, OpenApiAddError> {
        let file = spec.display().to_string();
        let text = std::fs::read_to_string(spec).map_err(|source| OpenApiAddError::Read {
            file: file.clone(),
            source,
        })?;
        let doc_err = |source| OpenApiAddError::Document {
            file: file.clone(),
            source,
        };
        let doc = spud_openapi::parse_document(&text).map_err(doc_err)?;
        let operations = spud_openapi::operations(&doc).map_err(doc_err)?;
        let origin = origin(base_url)?;
        let _lock = Registry::lock(self.home()).map_err(InstallError::from)?;
        let reg = Registry::load(self.home()).map_err(InstallError::from)?;
        let generic = reg
            .plugins
            .get(OPENAPI_PLUGIN)
            .ok_or(OpenApiAddError::NoComponent)?;
        let wasm = self
            .home()
            .components_dir()
            .join(format!("{}.wasm", generic.digest));
        let bytes = std::fs::read(&wasm).map_err(|source| OpenApiAddError::Read {
            file: wasm.display().to_string(),
            source,
        })?;
        let title = doc["info"]["title"].as_str().unwrap_or(name).to_string();
        let entry = entry_for(generic, name, &file, title, origin, base_url, operations)?;
        let req = Install {
            source: format!("{OPENAPI_SOURCE}{file}"),
            name: Some(name.to_string()),
            yes: true,
            ..Install::default()
        };
        Ok(self.commit(&req, entry, &bytes, None, None)?)
    }
}

/// `scheme://host[:port]` of the base URL: what the plugin requests (nothing wider).
fn origin(base_url: &str) -> Result<String, OpenApiAddError> {
    let bad = || {
        OpenApiAddError::Usage(format!(
            "--base-url `{base_url}` must be an absolute http:// or https:// URL"
        ))
    };
    let (scheme, rest) = base_url.split_once("://").ok_or_else(bad)?;
    if scheme != "http" && scheme != "https" {
        return Err(bad());
    }
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || host.contains('@') {
        return Err(bad());
    }
    Ok(format!("{scheme}://{host}"))
}

/// The registry entry: the generic component's, named `name`, requesting only `origin`, with
/// one tool per operation.
fn entry_for(
    generic: &Entry,
    name: &str,
    file: &str,
    title: String,
    origin: String,
    base_url: &str,
    operations: Vec<spud_openapi::Operation>,
) -> Result<Entry, OpenApiAddError> {
    let mut m: spud_policy::spud_manifest::Manifest = generic.manifest.clone().into();
    m.name = Some(name.to_string());
    m.description = Some(format!("{title} (OpenAPI operations at {base_url})"));
    m.requests.network = vec![origin];
    let manifest = spud_policy::Manifest::try_from(m)
        .map_err(|e| OpenApiAddError::Usage(format!("the plugin's manifest: {e}")))?;
    let tools = operations
        .iter()
        .map(|o| ToolInfo {
            name: format!("{name}.{}", o.id),
            function: o.id.clone(),
            description: format!("{} ({} {})", o.description, o.method, o.path),
            input_schema: o.input_schema.clone(),
            output_schema: None,
            unavailable: None,
        })
        .collect();
    Ok(Entry {
        name: name.to_string(),
        digest: generic.digest.clone(),
        source: format!("{OPENAPI_SOURCE}{file}"),
        added_unix_ms: generic.added_unix_ms,
        sdk: true,
        manifest,
        tools,
        openapi: Some(OpenApiBinding {
            base_url: base_url.to_string(),
            operations,
        }),
    })
}

/// For a tool of an OpenAPI plugin: the component's `invoke` tool and its input (the
/// operation, the base URL and the call's arguments); any other tool as it is.
pub(super) fn bind<'t>(
    entry: &Entry,
    tool: &'t Tool,
    input: &'t serde_json::Value,
) -> (Cow<'t, Tool>, Cow<'t, serde_json::Value>) {
    let Some(binding) = &entry.openapi else {
        return (Cow::Borrowed(tool), Cow::Borrowed(input));
    };
    let Some(op) = binding
        .operations
        .iter()
        .find(|o| o.id == tool.info.function)
    else {
        return (Cow::Borrowed(tool), Cow::Borrowed(input));
    };
    let mut invoke = tool.clone();
    invoke.info.function = "invoke".to_string();
    let wrapped = serde_json::json!({
        "operation": op,
        "base_url": binding.base_url,
        "arguments": input,
    });
    (Cow::Owned(invoke), Cow::Owned(wrapped))
}

#[cfg(test)]
mod tests {
    use super::origin;

    #[test]
    fn the_request_is_the_base_urls_origin_only() {
        assert_eq!(
            origin("http://127.0.0.1:8000/api/v1").unwrap(),
            "http://127.0.0.1:8000"
        );
        assert_eq!(
            origin("https://api.example.com").unwrap(),
            "https://api.example.com"
        );
        assert!(origin("ftp://x").is_err());
        assert!(origin("api.example.com").is_err());
        assert!(origin("https://user@evil.test").is_err());
    }
}
