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
}
