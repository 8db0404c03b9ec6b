//! spud's capability model.
//!
//! A component *requests* capabilities in its [`Manifest`] (embedded by the SDK or in a sidecar
//! file; the format is the `spud-manifest` crate's); the operator *grants* them in a
//! [`Policy`] file; what a call may actually use is the [`Grant`] computed by [`effective`]:
//! requested ∧ granted, nothing by default. Requests, policy sections, principals' sections,
//! sub-agent scopes and grants are all a [`Caps`] (one directory type [`Dir`], one socket type,
//! one [`Limits`]), and one operation, [`Caps::meet`], computes what two of them both allow:
//! for effective grants, for a principal's narrowing ([`Principal::grant_for`]) and for a
//! sub-agent's scope ([`ChildGrant::narrow`]).
//!
//! Everything here is pure data and logic: no wasmtime, no sockets, no clocks. The sandbox turns
//! a [`Grant`] into a WASI context and asks this crate whether each action is allowed.
//!
//! # Module order
//!
//! Each module uses only modules above it in this list (and none uses this root):
//!
//! 1. `located`: errors with file, line and column;
//! 2. `network`: network and socket patterns;
//! 3. `limits`: the shared [`Limits`], and how the host decides them;
//! 4. `browser`: the limits of a browser session ([`BrowserLimits`]);
//! 5. `caps`: the capability types ([`Dir`], [`Sockets`], [`EnvGrant`], [`Caps`], …);
//! 6. `meet`: the one operation, [`Meet`] and [`Caps::meet`];
//! 7. `manifest`: a checked [`Manifest`], and its requests as capabilities;
//! 8. `scan`: the one scanner for secret values and their encoded forms ([`Scanner`]);
//! 9. `secrets`: registered secrets and redaction;
//!    `pieces`: redacting a text that arrives in pieces ([`PieceRedactor`]);
//! 10. `credentials`: `[credentials.NAME]`, credentials the host injects ([`Credential`]);
//! 11. `section`: a `[tools.NAME]`-shaped policy section ([`ToolPolicy`]);
//! 12. `principals`: `[principals.NAME]` ([`Principal`]);
//! 13. `trust`: trusted publisher keys and the default signers ([`TrustedKey`]);
//! 14. `policy`: the policy file ([`Policy`]);
//! 15. `effective`: [`effective`] and [`Principal::grant_for`];
//! 16. `scope`: sub-agent scopes ([`Scope`]);
//! 17. `scratch`: the per-call `/scratch` directory;
//! 18. `leaks`: where secrets may go ([`LeakGuard`]);
//! 19. `laws` (tests only): property tests of the meet.

#![warn(missing_docs)]

mod browser;
mod caps;
mod credentials;
mod diff;
mod digest;
mod effective;
#[cfg(test)]
mod laws;
mod leaks;
mod limits;
mod located;
mod manifest;
mod meet;
mod network;
mod pieces;
mod policy;
mod principals;
mod scan;
mod scope;
mod scratch;
mod secrets;
mod section;
pub mod sigv4;
mod trust;

pub use browser::BrowserLimits;
pub use caps::{
    Access, Asked, Caps, Dir, EnvGrant, FileGrant, Grant, Mount, NotGranted, Payloads, Section,
    Sockets, Unmounted,
};
pub use credentials::{
    body_signature, with_query_param, Credential, CredentialSource, CredentialValue,
    CredentialValueError, Inject, Injection,
};
pub use diff::requests_beyond;
pub use digest::{PolicyDigest, DENY_ALL_DIGEST};
pub use effective::{effective, Effective};
pub use leaks::{Finding, LeakGuard};
pub use limits::{ceilings, LimitValue, Limits, ResolvedLimits, MAX_MEMORY_MB};
pub use located::{line_col, Located};
pub use manifest::{asked, Manifest, ManifestError};
pub use meet::Meet;
pub use network::{
    is_public_address, HostPattern, NetPattern, PatternError, PortPattern, Scheme, SocketPattern,
};
pub use pieces::PieceRedactor;
pub use policy::{AuditSettings, Durability, Policy};
pub use principals::{
    Principal, TokenSource, DEFAULT_BURST, DEFAULT_MAX_CONCURRENT, DEFAULT_RATE_PER_MINUTE,
};
pub use scan::{Encoding, Hit, Scanner};
pub use scope::{ChildFile, ChildGrant, Scope};
pub use scratch::{temp_scratch, SCRATCH_DIR};
pub use secrets::{OnLeak, SecretPatternError, Secrets, SecretsSection, REDACTED};
pub use section::{PolicyError, ToolPolicy};
/// The manifest's wire format, shared with the SDK.
pub use spud_manifest;
pub use spud_manifest::{FileRequest, Requests, ToolInfo};
pub use trust::{TrustSection, TrustedKey};

/// A directory granted by a policy section (same type as [`FileGrant`]).
pub type DirGrant = Dir;
/// Raw sockets and DNS in a grant (same type as [`Sockets`]).
pub type SocketGrant = Sockets;
/// Raw sockets and DNS in a policy section (same type as [`Sockets`]).
pub type SocketRequests = Sockets;
