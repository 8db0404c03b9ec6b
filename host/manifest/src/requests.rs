//! What a component asks for: directories, network destinations, environment variables, raw
//! sockets and limits. Builders let a plugin write `Requests::new().file(…).network(…)`.

use crate::Limits;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Access to a directory. `ReadOnly < ReadWrite`, so the smaller of two is what both allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Access {
    /// Read files and list directories.
    ReadOnly,
    /// Also create, modify, rename and delete.
    ReadWrite,
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Access::ReadOnly => "read-only",
            Access::ReadWrite => "read-write",
        })
    }
}

/// A directory the component wants to see at a guest path. The operator decides which host
/// directory, if any, backs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
#[serde(deny_unknown_fields)]
pub struct Sockets {
    /// `ip:port` (or `ip:*`, `[v6]:port`) destinations for raw TCP connections.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tcp_connect: Vec<String>,
    /// Whether the component wants to resolve host names.
    #[serde(default)]
    pub dns: bool,
}

impl Sockets {
    /// Whether no socket is asked for.
    pub fn is_empty(&self) -> bool {
        self.tcp_connect.is_empty() && !self.dns
    }
}

/// Everything a component asks for. Every part is optional; an empty `Requests` asks for
/// nothing, which is the best default for a tool that only computes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requests {
    /// Directories, by guest path.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileRequest>,
    /// Outbound HTTP(S) destinations as `scheme://host[:port]` patterns (`*.` before a domain
    /// matches its subdomains, `*` any host or any port).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub network: Vec<String>,
    /// Names of environment variables the component wants to read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
    /// Raw sockets and DNS.
    #[serde(default, skip_serializing_if = "Sockets::is_empty")]
    pub sockets: Sockets,
    /// Resource limits; the component gets at most what the operator allows.
    #[serde(default, skip_serializing_if = "Limits::is_empty")]
    pub limits: Limits,
    /// Whether the component wants a browser (the `spud:browser` host capability). Its pages'
    /// traffic is checked against [`Requests::network`] like the component's own requests.
    #[serde(default, skip_serializing_if = "is_false")]
    pub browser: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Requests {
    /// Asks for nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks for the directory `guest` with `access`; `why` (if not empty) is shown to the
    /// operator.
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

    /// Asks for raw TCP connections to `destination` (`ip:port`).
    pub fn tcp_connect(mut self, destination: impl Into<String>) -> Self {
        self.sockets.tcp_connect.push(destination.into());
        self
    }

    /// Asks for DNS lookups.
    pub fn dns(mut self) -> Self {
        self.sockets.dns = true;
        self
    }

    /// Asks for a browser (the `spud:browser` host capability).
    pub fn browser(mut self) -> Self {
        self.browser = true;
        self
    }

    /// Asks for resource limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Whether nothing at all is asked for.
    pub fn is_empty(&self) -> bool {
        *self == Requests::default()
    }
}
