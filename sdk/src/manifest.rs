//! The manifest a component returns from `manifest()`: what it is, what it asks the host
//! for, and the tools it provides. The format is documented in `sdk/README.md`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Version of the manifest format this SDK writes (`spud_manifest` field).
pub const MANIFEST_FORMAT: u32 = 1;

/// A component's self-description, serialized as JSON by `manifest()`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Manifest format version; always [`MANIFEST_FORMAT`] when written by this SDK.
    pub spud_manifest: u32,
    /// Default plugin name (the operator may register it under another one).
    pub name: String,
    /// Plugin version.
    pub version: String,
    /// One-line description of the plugin.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Capabilities the component asks for. The operator decides what it gets.
    #[serde(default, skip_serializing_if = "Requests::is_empty")]
    pub requests: Requests,
    /// The tools the component provides.
    #[serde(default)]
    pub tools: Vec<ToolInfo>,
}

/// One tool as listed in the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolInfo {
    /// Tool name, unique inside the plugin.
    pub name: String,
    /// What the tool does; taken from the function's doc comment.
    #[serde(default)]
    pub description: String,
    /// JSON Schema (draft 2020-12) of the input document.
    pub input_schema: Value,
    /// JSON Schema (draft 2020-12) of the output document.
    pub output_schema: Value,
}

/// How much access a component wants to a directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Access {
    /// Read files and list directories.
    ReadOnly,
    /// Also create, modify and delete.
    ReadWrite,
}

/// A directory the component wants to see at a guest path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRequest {
    /// Absolute path inside the sandbox, e.g. `/data`.
    pub guest: String,
    /// Access wanted.
    pub access: Access,
    /// Why the component needs it; shown to the operator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

/// Raw socket requests. Plain HTTP(S) goes through [`Requests::network`] instead.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sockets {
    /// `host:port` destinations for raw TCP connections.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tcp_connect: Vec<String>,
    /// Whether the component wants to resolve host names.
    #[serde(default)]
    pub dns: bool,
}

/// Resource limits a component asks for; it gets at most what the operator allows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Linear memory ceiling, MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_mb: Option<u64>,
    /// Fuel per call (about one unit per wasm instruction).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fuel: Option<u64>,
    /// Wall-clock deadline per call, milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// Bytes of stdout kept per call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdout_bytes: Option<u64>,
    /// Bytes of stderr kept per call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stderr_bytes: Option<u64>,
    /// Largest result, in bytes of JSON, a call may return.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_bytes: Option<u64>,
}

impl Limits {
    /// No limits requested: the host's defaults apply.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks for a linear memory ceiling of `mb` MiB.
    pub fn memory_mb(mut self, mb: u64) -> Self {
        self.memory_mb = Some(mb);
        self
    }

    /// Asks for `fuel` units of fuel per call.
    pub fn fuel(mut self, fuel: u64) -> Self {
        self.fuel = Some(fuel);
        self
    }

    /// Asks for a per-call deadline of `ms` milliseconds.
    pub fn timeout_ms(mut self, ms: u64) -> Self {
        self.timeout_ms = Some(ms);
        self
    }

    /// Asks to keep `bytes` of stdout per call.
    pub fn stdout_bytes(mut self, bytes: u64) -> Self {
        self.stdout_bytes = Some(bytes);
        self
    }

    /// Asks to keep `bytes` of stderr per call.
    pub fn stderr_bytes(mut self, bytes: u64) -> Self {
        self.stderr_bytes = Some(bytes);
        self
    }

    /// Asks to return results of up to `bytes` bytes of JSON.
    pub fn result_bytes(mut self, bytes: u64) -> Self {
        self.result_bytes = Some(bytes);
        self
    }

    fn is_empty(&self) -> bool {
        *self == Limits::default()
    }
}

/// Everything a component asks for. Every part is optional; an empty `Requests` asks for
/// nothing, which is the best default for a tool that only computes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requests {
    /// Directories, by guest path.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileRequest>,
    /// Outbound HTTP(S) destinations as `scheme://host[:port]` patterns
    /// (`*` matches a host label or any port).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub network: Vec<String>,
    /// Names of environment variables the component wants to read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
    /// Raw sockets and DNS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sockets: Option<Sockets>,
    /// Resource limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<Limits>,
}

impl Requests {
    /// Asks for nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks for the directory `guest` with `access`; `why` is shown to the operator.
    pub fn file(
        mut self,
        guest: impl Into<String>,
        access: Access,
        why: impl Into<String>,
    ) -> Self {
        let why = why.into();
        self.files.push(FileRequest {
            guest: guest.into(),
            access,
            why: (!why.is_empty()).then_some(why),
        });
        self
    }

    /// Asks for HTTP(S) access to destinations matching `pattern`, e.g. `https://*.example.com`.
    pub fn network(mut self, pattern: impl Into<String>) -> Self {
        self.network.push(pattern.into());
        self
    }

    /// Asks to read the environment variable `name`.
    pub fn env(mut self, name: impl Into<String>) -> Self {
        self.env.push(name.into());
        self
    }

    /// Asks for raw TCP connections to `host:port`.
    pub fn tcp_connect(mut self, destination: impl Into<String>) -> Self {
        self.sockets
            .get_or_insert_with(Sockets::default)
            .tcp_connect
            .push(destination.into());
        self
    }

    /// Asks for DNS lookups.
    pub fn dns(mut self) -> Self {
        self.sockets.get_or_insert_with(Sockets::default).dns = true;
        self
    }

    /// Asks for resource limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = (!limits.is_empty()).then_some(limits);
        self
    }

    /// Whether nothing at all is requested.
    pub fn is_empty(&self) -> bool {
        *self == Requests::default()
    }
}
