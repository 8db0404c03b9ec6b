//! What a component asks for: its [`Manifest`], embedded by the SDK (JSON) or in a sidecar
//! file next to the `.wasm` (`NAME.spud.toml`) for components built without it.

use crate::network::{NetPattern, SocketPattern};
use crate::Limits;
use serde::{Deserialize, Serialize};

/// File access level. `ReadOnly < ReadWrite`, so the smaller of two is their intersection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Access {
    /// Read files and list directories.
    ReadOnly,
    /// Also create, write, rename and delete.
    ReadWrite,
}

impl std::fmt::Display for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Access::ReadOnly => "read-only",
            Access::ReadWrite => "read-write",
        })
    }
}

/// A directory the component wants to see at a guest path. The operator decides which host
/// directory (if any) backs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRequest {
    /// Absolute guest path, e.g. `/data`.
    pub guest: String,
    /// Access wanted.
    pub access: Access,
    /// Why the tool needs it (shown to the operator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

/// Raw socket requests. HTTP goes through `network` instead.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SocketRequests {
    /// `ip:port` destinations for raw TCP connects.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tcp_connect: Vec<SocketPattern>,
    /// Whether the component wants DNS lookups.
    #[serde(default)]
    pub dns: bool,
}

/// Everything a component requests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requests {
    /// Directories.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileRequest>,
    /// Outbound HTTP(S) destinations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub network: Vec<NetPattern>,
    /// Names of environment variables.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
    /// Raw sockets and DNS.
    #[serde(default)]
    pub sockets: SocketRequests,
    /// Limits the component asks for (it gets at most what the operator allows).
    #[serde(default)]
    pub limits: Limits,
}

/// A tool as described by an SDK manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolDescriptor {
    /// Tool name inside the plugin.
    pub name: String,
    /// What it does (from the function's doc comment).
    #[serde(default)]
    pub description: String,
    /// JSON Schema of the input.
    #[serde(default)]
    pub input_schema: serde_json::Value,
    /// JSON Schema of the output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_schema: Option<serde_json::Value>,
}

/// A component's self-description.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Format version of an SDK manifest (1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spud_manifest: Option<u32>,
    /// Default plugin name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Plugin version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// One-line description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// What the component asks for.
    #[serde(default)]
    pub requests: Requests,
    /// WIT source of a plain component (file or folder, relative to the sidecar), read for the
    /// doc comments that become tool descriptions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wit: Option<String>,
    /// Tools (SDK components only; plain components get theirs from WIT).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ToolDescriptor>,
}

/// A manifest that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// Sidecar TOML did not parse; names file, line and column.
    #[error(transparent)]
    Toml(#[from] crate::Located),
    /// The JSON a component returned from `manifest()` did not parse.
    #[error("the component's embedded manifest is invalid: {0}")]
    Json(#[from] serde_json::Error),
    /// A field has a value the host cannot accept.
    #[error("manifest: {0}")]
    Invalid(String),
}

impl Manifest {
    /// Parses a sidecar manifest; `file` is used in error messages.
    pub fn from_toml(src: &str, file: &str) -> Result<Manifest, ManifestError> {
        let m: Manifest = toml::from_str(src)
            .map_err(|e| ManifestError::Toml(crate::Located::toml(src, file, &e)))?;
        m.validate()?;
        Ok(m)
    }

    /// Parses the JSON an SDK component returns from `manifest()`.
    pub fn from_json(src: &str) -> Result<Manifest, ManifestError> {
        let m: Manifest = serde_json::from_str(src)?;
        m.validate()?;
        Ok(m)
    }

    fn validate(&self) -> Result<(), ManifestError> {
        for f in &self.requests.files {
            if !f.guest.starts_with('/') || f.guest.split('/').any(|c| c == "..") {
                return Err(ManifestError::Invalid(format!(
                    "guest path `{}` must be absolute and must not contain `..`",
                    f.guest
                )));
            }
        }
        for t in &self.tools {
            if t.name.is_empty() || t.name.contains('.') {
                return Err(ManifestError::Invalid(format!(
                    "tool name `{}` must be non-empty and contain no `.`",
                    t.name
                )));
            }
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for NetPattern {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl Serialize for NetPattern {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SocketPattern {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl Serialize for SocketPattern {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sidecar_errors_have_line_and_column() {
        let src = "name = \"x\"\n[requests]\nnetwork = [\"ftp://nope\"]\n";
        let e = Manifest::from_toml(src, "x.spud.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("x.spud.toml:3:"), "{e}");
        assert!(e.contains("ftp"), "{e}");
    }

    #[test]
    fn sdk_json_parses() {
        let m = Manifest::from_json(
            r#"{"spud_manifest":1,"name":"fs","requests":{"files":[{"guest":"/data","access":"read-write"}],
               "limits":{"fuel":5}},"tools":[{"name":"read","description":"d","input_schema":{}}]}"#,
        )
        .unwrap();
        assert_eq!(m.requests.files[0].access, Access::ReadWrite);
        assert_eq!(m.tools[0].name, "read");
        assert!(Manifest::from_json(
            r#"{"requests":{"files":[{"guest":"data","access":"read-only"}]}}"#
        )
        .is_err());
    }
}
