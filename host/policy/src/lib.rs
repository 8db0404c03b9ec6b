//! spud's capability model.
//!
//! A component *requests* capabilities in its [`Manifest`] (embedded by the SDK or in a sidecar
//! file); the operator *grants* them in a [`Policy`] file; what a call may actually use is the
//! [`Grant`] computed by [`effective`]: requested ∩ granted, nothing by default. The same
//! intersection narrows a parent's grant for a child ([`Grant::narrow`]).
//!
//! Everything here is pure data and logic: no wasmtime, no sockets, no clocks. The sandbox turns
//! a [`Grant`] into a WASI context and asks this crate whether each action is allowed.

mod effective;
mod leaks;
mod limits;
mod located;
mod manifest;
mod network;
mod policy;
mod principals;
mod scope;
mod scratch;
mod secrets;

pub use effective::{effective, Effective, FileGrant, Grant, NotGranted, SocketGrant};
pub use leaks::{Finding, LeakGuard};
pub use limits::{Limits, ResolvedLimits};
pub use located::{line_col, Located};
pub use manifest::{Access, FileRequest, Manifest, ManifestError, Requests, SocketRequests};
pub use network::{
    is_public_address, HostPattern, NetPattern, PatternError, PortPattern, Scheme, SocketPattern,
};
pub use policy::{AuditSettings, Durability, EnvGrant, Payloads, Policy, PolicyError, ToolPolicy};
pub use principals::{
    Principal, TokenSource, DEFAULT_BURST, DEFAULT_MAX_CONCURRENT, DEFAULT_RATE_PER_MINUTE,
};
pub use scope::{ChildFile, ChildGrant, Scope};
pub use scratch::{temp_scratch, SCRATCH_DIR};
pub use secrets::{OnLeak, SecretPatternError, Secrets, SecretsSection, REDACTED};
