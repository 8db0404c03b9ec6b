//! The capability types: one directory type ([`Dir`]), one socket type ([`Sockets`]), one
//! environment type ([`EnvGrant`]), the shared [`Limits`], and [`Caps`], a set of them. A
//! component's requests, an operator's policy section, a principal's narrowing, a sub-agent's
//! scope and the grant a call runs under are all a [`Caps`]; they differ only in what their
//! type parameters say a side may leave open:
//!
//! | alias | directories | limits | payload mode |
//! | --- | --- | --- | --- |
//! | [`Grant`] = `Caps` | mounted (`PathBuf`) | decided (`u64`) | decided |
//! | [`Section`] (policy, principal) | mounted | ceilings, may be unset | may be unset |
//! | [`Asked`] (requests, sub-agents) | by guest path ([`Unmounted`]) | may be unset | none |
//!
//! [`Caps::meet`] (module `meet`) computes what two of them both allow.

use crate::browser::BrowserLimits;
use crate::limits::{LimitValue, Limits, Unset};
use crate::network::{NetPattern, SocketPattern};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};

pub use spud_manifest::Access;

/// Where a directory is on the host, as one side knows it: a `PathBuf` once mounted,
/// [`Unmounted`] when the side names the directory by its guest path only.
pub trait Mount: Clone + PartialEq + fmt::Debug {
    /// The host directory, if this side names one.
    fn host_path(&self) -> Option<&Path>;

    /// Whether this side names no host directory (then it is not written out).
    fn is_unmounted(&self) -> bool {
        self.host_path().is_none()
    }
}

impl Mount for PathBuf {
    fn host_path(&self) -> Option<&Path> {
        Some(self)
    }
}

/// The host side of a directory named by its guest path only (a request, a sub-agent's
/// scope): it is whatever the side it meets mounts there. It is never read from text, so a
/// sub-agent cannot name a host directory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Unmounted;

impl Mount for Unmounted {
    fn host_path(&self) -> Option<&Path> {
        None
    }
}

impl Unset for Unmounted {
    fn unset() -> Self {
        Unmounted
    }
}

impl<'de> Deserialize<'de> for Unmounted {
    fn deserialize<D: serde::Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
        Err(serde::de::Error::custom(
            "`host` cannot be given here: name the directory by its guest path; the host \
             directory is the one the grant being narrowed mounts there",
        ))
    }
}

/// A directory: the host directory `host` seen at `guest` with `access`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(
    deny_unknown_fields,
    bound(
        serialize = "H: Serialize + Mount",
        deserialize = "H: Deserialize<'de> + Unset"
    )
)]
pub struct Dir<H = PathBuf> {
    /// Host directory ([`Unmounted`]: whichever the other side mounts at `guest`).
    #[serde(default = "Unset::unset", skip_serializing_if = "Mount::is_unmounted")]
    pub host: H,
    /// Absolute guest path, without a trailing `/`.
    pub guest: String,
    /// Access.
    pub access: Access,
}

impl Dir<Unmounted> {
    /// The directory at `guest`, whichever host directory backs it.
    pub fn unmounted(guest: impl Into<String>, access: Access) -> Dir<Unmounted> {
        Dir {
            host: Unmounted,
            guest: guest.into(),
            access,
        }
    }
}

/// Raw sockets and DNS.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sockets {
    /// Allowed TCP destinations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tcp_connect: Vec<SocketPattern>,
    /// DNS lookups allowed.
    #[serde(default)]
    pub dns: bool,
}

/// An environment variable a tool may see.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub enum EnvGrant {
    /// `NAME`: passed through from spud's own environment, when set there. A request for a
    /// variable is this too: the side it meets supplies the value.
    Pass(String),
    /// `NAME=value`: set to a fixed value.
    Fixed(String, String),
}

impl EnvGrant {
    /// The variable's name.
    pub fn name(&self) -> &str {
        match self {
            EnvGrant::Pass(n) | EnvGrant::Fixed(n, _) => n,
        }
    }
}

/// How much of a call's arguments and results the audit log keeps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Payloads {
    /// SHA-256 and size only (data minimization).
    #[default]
    Digest,
    /// The JSON itself as well.
    Raw,
}

/// A set of capabilities. `H`: how directories name their host side; `V`: a limit's value;
/// `P`: the audit payload mode (not a capability: a setting that travels with the grant).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(bound(serialize = "H: Serialize + Mount, V: Serialize + LimitValue, P: Serialize"))]
pub struct Caps<H = PathBuf, V = u64, P = Payloads> {
    /// Directories.
    pub files: Vec<Dir<H>>,
    /// Outbound HTTP(S).
    pub network: Vec<NetPattern>,
    /// Environment variables.
    pub env: Vec<EnvGrant>,
    /// Raw sockets and DNS.
    pub sockets: Sockets,
    /// Per-call limits.
    pub limits: Limits<V>,
    /// Whether audit records keep raw arguments and results.
    pub payloads: P,
    /// A headless browser (the `spud:browser` host capability); its pages reach only what
    /// `network` allows.
    pub browser: bool,
    /// The limits of the browser session (`browser_limits`).
    pub browser_limits: BrowserLimits<V>,
    /// The directory the browser keeps its profile in (cookies, storage, history) from one
    /// session to the next (`browser_profile`); `None`: a fresh profile each session, removed
    /// when it closes. A request holds [`Unmounted`] here when it would use whichever profile
    /// the operator grants; a sub-agent's scope never does, so a profile is not inherited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub browser_profile: Option<H>,
}

/// Everything one call may use. Built by `effective` and narrowed by [`Caps::meet`]; nothing
/// else makes one but [`Grant::none`].
pub type Grant = Caps;

/// What a side asks for: directories by guest path, limits it may leave unset, no payload
/// mode (a component's requests, a sub-agent's scope).
pub type Asked = Caps<Unmounted, Option<u64>, ()>;

/// What an operator's section grants: mounted directories, limit ceilings it may leave to the
/// defaults, a payload mode it may leave to `[audit]` (a `[tools.NAME]` section, a principal's
/// `grants.NAME`).
pub type Section = Caps<PathBuf, Option<u64>, Option<Payloads>>;

/// A directory in a grant or a policy section.
pub type FileGrant = Dir;

impl<H, V, P: Default> Default for Caps<H, V, P>
where
    Limits<V>: Default,
    BrowserLimits<V>: Default,
{
    fn default() -> Self {
        Caps {
            files: Vec::new(),
            network: Vec::new(),
            env: Vec::new(),
            sockets: Sockets::default(),
            limits: Limits::default(),
            payloads: P::default(),
            browser: false,
            browser_limits: BrowserLimits::default(),
            browser_profile: None,
        }
    }
}

impl Grant {
    /// Nothing but built-in limits.
    pub fn none() -> Grant {
        Caps {
            files: vec![],
            network: vec![],
            env: vec![],
            sockets: Sockets::default(),
            limits: Limits::DEFAULT,
            payloads: Payloads::Digest,
            browser: false,
            browser_limits: BrowserLimits::DEFAULT,
            browser_profile: None,
        }
    }

    /// The first network pattern allowing `scheme://host:port`, if any.
    pub fn network_match(
        &self,
        scheme: crate::network::Scheme,
        host: &str,
        port: u16,
    ) -> Option<&NetPattern> {
        self.network.iter().find(|p| p.matches(scheme, host, port))
    }
}

/// A capability one side asks for and the other does not hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NotGranted {
    /// A directory (or the requested access to it).
    File {
        /// Guest path.
        guest: String,
        /// Access requested.
        access: Access,
    },
    /// An HTTP destination.
    Network {
        /// Pattern requested.
        pattern: String,
    },
    /// An environment variable.
    Env {
        /// Its name.
        name: String,
    },
    /// A TCP destination.
    TcpConnect {
        /// Pattern requested.
        pattern: String,
    },
    /// DNS lookups.
    Dns,
    /// A browser.
    Browser,
    /// A per-call limit above the one held (a sub-agent asking more than its parent).
    Limit {
        /// The limit (`fuel`, `memory_mb`, …).
        name: String,
        /// The value asked for.
        wanted: u64,
        /// The value held.
        held: u64,
    },
}

impl NotGranted {
    /// Its place when violations are listed by kind: files, network, environment, TCP, DNS,
    /// browser, limits.
    pub fn kind_order(&self) -> u8 {
        match self {
            NotGranted::File { .. } => 0,
            NotGranted::Network { .. } => 1,
            NotGranted::Env { .. } => 2,
            NotGranted::TcpConnect { .. } => 3,
            NotGranted::Dns => 4,
            NotGranted::Browser => 5,
            NotGranted::Limit { .. } => 6,
        }
    }
}

impl fmt::Display for NotGranted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotGranted::File { guest, access } => write!(f, "{access} access to {guest}"),
            NotGranted::Network { pattern } => write!(f, "network {pattern}"),
            NotGranted::Env { name } => write!(f, "environment variable {name}"),
            NotGranted::TcpConnect { pattern } => write!(f, "TCP connect to {pattern}"),
            NotGranted::Dns => f.write_str("DNS lookups"),
            NotGranted::Browser => f.write_str("a browser"),
            NotGranted::Limit { name, wanted, held } => {
                write!(f, "limit {name} = {wanted} (at most {held} is held)")
            }
        }
    }
}
