//! [`Tool`]: a typed function made callable with JSON, and [`Plugin`]: a set of tools with
//! the manifest that describes them.

use crate::ToolError;
use crate::{Manifest, Requests, ToolInfo, MANIFEST_FORMAT};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

type Handler = Box<dyn Fn(&str) -> Result<String, String>>;

/// One tool: its name, description, schemas and a JSON-to-JSON entry point.
///
/// `#[spud_sdk::tool]` builds one for each annotated function; you rarely call
/// [`Tool::new`] yourself.
pub struct Tool {
    name: &'static str,
    description: &'static str,
    input_schema: fn() -> Value,
    output_schema: fn() -> Value,
    handler: Handler,
}

impl Tool {
    /// Wraps `f`, whose input is read from and whose output is written as JSON.
    pub fn new<I, O>(
        name: &'static str,
        description: &'static str,
        f: fn(I) -> Result<O, ToolError>,
    ) -> Self
    where
        I: DeserializeOwned + JsonSchema + 'static,
        O: Serialize + JsonSchema + 'static,
    {
        let handler = move |input: &str| -> Result<String, String> {
            let input: I = serde_json::from_str(input)
                .map_err(|e| format!("invalid input for tool `{name}`: {e}"))?;
            let output = f(input).map_err(String::from)?;
            serde_json::to_string(&output)
                .map_err(|e| format!("tool `{name}` produced output that is not valid JSON: {e}"))
        };
        Self {
            name,
            description,
            input_schema: schema_of::<I>,
            output_schema: schema_of::<O>,
            handler: Box::new(handler),
        }
    }

    /// The tool's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The tool's description.
    pub fn description(&self) -> &'static str {
        self.description
    }

    /// The tool's entry in the manifest.
    pub fn info(&self) -> ToolInfo {
        ToolInfo {
            name: self.name.to_string(),
            description: self.description.to_string(),
            input_schema: (self.input_schema)(),
            output_schema: Some((self.output_schema)()),
        }
    }

    /// Runs the tool on the JSON document `input`; returns its output as JSON, or a message
    /// saying why it failed.
    pub fn call(&self, input: &str) -> Result<String, String> {
        (self.handler)(input)
    }
}

impl std::fmt::Debug for Tool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tool")
            .field("name", &self.name)
            .field("description", &self.description)
            .finish_non_exhaustive()
    }
}

/// The JSON Schema (draft 2020-12) of `T`, as a JSON value.
pub fn schema_of<T: JsonSchema>() -> Value {
    schemars::generate::SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<T>()
        .into()
}

/// A component's tools and the manifest that describes them. `export_plugin!` builds one
/// and routes the component's `manifest` and `call` exports to it.
#[derive(Debug)]
pub struct Plugin {
    name: String,
    version: String,
    description: String,
    requests: Requests,
    tools: Vec<Tool>,
}

impl Plugin {
    /// A plugin named `name` with a one-line `description`, version `0.0.0`, no tools and
    /// no requests.
    pub fn new(name: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            version: "0.0.0".to_string(),
            description: description.into(),
            requests: Requests::default(),
            tools: Vec::new(),
        }
    }

    /// Sets the version (`export_plugin!` uses the crate's version).
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = version.into();
        self
    }

    /// Sets what the plugin asks the host for.
    pub fn requests(mut self, requests: Requests) -> Self {
        self.requests = requests;
        self
    }

    /// Adds a tool.
    pub fn tool(mut self, tool: Tool) -> Self {
        self.tools.push(tool);
        self
    }

    /// The plugin's tools, in the order they were added.
    pub fn tools(&self) -> &[Tool] {
        &self.tools
    }

    /// The manifest describing this plugin.
    pub fn manifest(&self) -> Manifest {
        Manifest {
            spud_manifest: Some(MANIFEST_FORMAT),
            name: Some(self.name.clone()),
            version: Some(self.version.clone()),
            description: (!self.description.is_empty()).then(|| self.description.clone()),
            requests: self.requests.clone(),
            wit: None,
            tools: self.tools.iter().map(Tool::info).collect(),
        }
    }

    /// The manifest as the JSON document `manifest()` returns.
    pub fn manifest_json(&self) -> String {
        // The manifest holds only strings, numbers and JSON values, which always serialize.
        serde_json::to_string(&self.manifest())
            .unwrap_or_else(|e| format!(r#"{{"spud_manifest":{MANIFEST_FORMAT},"error":"{e}"}}"#))
    }

    /// Runs the tool `name` on the JSON document `input`.
    pub fn call(&self, name: &str, input: &str) -> Result<String, String> {
        match self.tools.iter().find(|t| t.name == name) {
            Some(tool) => tool.call(input),
            None => {
                let known: Vec<&str> = self.tools.iter().map(|t| t.name).collect();
                Err(format!(
                    "unknown tool `{name}`: plugin `{}` provides {}",
                    self.name,
                    if known.is_empty() {
                        "no tools".to_string()
                    } else {
                        known.join(", ")
                    }
                ))
            }
        }
    }
}
