//! A registered plugin as the registry records it ([`Entry`]).

use super::plugin::ToolInfo;
use serde::{Deserialize, Serialize};
use spud_policy::Manifest;

/// A registered plugin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Plugin name; its tools are `name.function`.
    pub name: String,
    /// sha256 of the component.
    pub digest: String,
    /// Where it was registered from.
    pub source: String,
    /// Registration time, ms since the Unix epoch.
    pub added_unix_ms: u64,
    /// Built with the spud SDK.
    pub sdk: bool,
    /// What it requests, and its description.
    pub manifest: Manifest,
    /// Its tools.
    pub tools: Vec<ToolInfo>,
    /// For an OpenAPI action group (`spud tools add openapi:…`): the base URL and operations
    /// the generic `openapi` component serves under this name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openapi: Option<OpenApiBinding>,
}

/// The operations of an OpenAPI document registered under one plugin name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenApiBinding {
    /// The API's base URL (`--base-url`).
    pub base_url: String,
    /// Its operations; tool `NAME.ID` is the operation with that id.
    pub operations: Vec<spud_openapi::Operation>,
}
