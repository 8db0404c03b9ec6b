//! The manifest a spud component carries: what it is, what it asks the host for, and its
//! tools. The guest SDK writes it (JSON, returned by the component's `manifest()` export) and
//! the host reads it, from that JSON or from a sidecar TOML file beside a component built
//! without the SDK. Both use these types, so a field cannot mean one thing to a plugin and
//! another to the host.
//!
//! This crate is the wire format only: plain data with serde, no validation. Network and
//! socket patterns are strings here; the host (`spud-policy`) checks them and turns the
//! requests into its capability types. It depends on `serde` and `serde_json` alone and builds
//! for `wasm32-wasip2` as well as natively.

#![warn(missing_docs)]

mod limits;
mod requests;

pub use limits::{LimitValue, Limits, Unset};
pub use requests::{Access, FileRequest, Requests, Sockets};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Version of the manifest format (the `spud_manifest` field) written by the SDK.
pub const MANIFEST_FORMAT: u32 = 1;

/// A component's self-description.
///
/// Every field is optional in the format: an SDK manifest sets `spud_manifest`, `name`,
/// `version` and `tools`; a sidecar manifest usually sets `name`, `description`, `requests`
/// and `wit`. Empty parts are left out when written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Format version of an SDK manifest ([`MANIFEST_FORMAT`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spud_manifest: Option<u32>,
    /// Default plugin name (the operator may register it under another one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Plugin version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// One-line description of the plugin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Capabilities the component asks for. The operator decides what it gets.
    #[serde(default, skip_serializing_if = "Requests::is_empty")]
    pub requests: Requests,
    /// WIT source of a plain component (file or folder, relative to the sidecar), read for the
    /// doc comments that become tool descriptions. Sidecar manifests only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wit: Option<String>,
    /// The tools the component provides (SDK components; plain components get theirs from
    /// their WIT exports).
    #[serde(default)]
    pub tools: Vec<ToolInfo>,
}

/// One tool as listed in the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolInfo {
    /// Tool name, unique inside the plugin, without `.`.
    pub name: String,
    /// What the tool does; the SDK takes it from the function's doc comment.
    #[serde(default)]
    pub description: String,
    /// JSON Schema (draft 2020-12) of the input document.
    #[serde(default)]
    pub input_schema: Value,
    /// JSON Schema (draft 2020-12) of the output document, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_schema: Option<Value>,
}

#[cfg(test)]
mod tests;
