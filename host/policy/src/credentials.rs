//! Credentials the guest never holds: the `[credentials.NAME]` policy sections, and what the
//! host's HTTP gate adds to a request going to one of a credential's destinations.
//!
//! ```toml
//! [credentials.github]
//! value_env = "GITHUB_TOKEN"               # or value_file = "keys/github.token" (policy folder)
//! inject = "bearer"                        # "header:NAME", "query:NAME", "basic" ("user:password"),
//!                                          # "hmac-sha256:NAME" (the body signed into header NAME)
//!                                          # or "sigv4:REGION:SERVICE" ("KEY_ID:SECRET": AWS SigV4)
//! destinations = ["https://api.github.com"]
//! tools = ["http"]                         # the plugins whose requests get it
//! ```
//!
//! The value is read by the host, registered as a secret (scanned, redacted, allowed to go only
//! to `destinations`) and never given to the component: the gate adds it to a request of a
//! listed plugin only when the request's `scheme://host:port` matches one of `destinations`.
//! Pure: reading the values (environment, files) is the host's job.

use crate::network::{NetPattern, Scheme};
use base64::Engine;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::{Deserialize, Serialize};
use toml::Spanned;

/// How a credential goes into a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Inject {
    /// `Authorization: Bearer VALUE`.
    Bearer,
    /// `Authorization: Basic base64(VALUE)`, the value written `user:password`.
    Basic,
    /// A header of this name carries the value.
    Header(String),
    /// A query parameter of this name carries the value (replacing one the guest set).
    Query(String),
    /// The value is a key: a header of this name carries `sha256=HEX`, the HMAC-SHA256 of the
    /// request body under it (a signed webhook); the key itself never leaves the host.
    HmacSha256(String),
    /// The value is an AWS key pair `ACCESS_KEY_ID:SECRET_ACCESS_KEY`: the request is signed
    /// with Signature Version 4 for this region and service (`Authorization`, `x-amz-date`,
    /// `x-amz-content-sha256`); the secret never leaves the host.
    SigV4 {
        /// e.g. `us-east-1`.
        region: String,
        /// e.g. `s3`.
        service: String,
    },
}

impl std::fmt::Display for Inject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Inject::Bearer => f.write_str("bearer"),
            Inject::Basic => f.write_str("basic"),
            Inject::Header(n) => write!(f, "header:{n}"),
            Inject::Query(n) => write!(f, "query:{n}"),
            Inject::HmacSha256(n) => write!(f, "hmac-sha256:{n}"),
            Inject::SigV4 { region, service } => write!(f, "sigv4:{region}:{service}"),
        }
    }
}

impl std::str::FromStr for Inject {
    type Err = String;

    fn from_str(s: &str) -> Result<Inject, String> {
        let token = |n: &str| !n.is_empty() && n.bytes().all(is_token_byte);
        let aws = |n: &str| {
            !n.is_empty()
                && n.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        };
        if let Some(rest) = s.strip_prefix("sigv4:") {
            return match rest.split_once(':') {
                Some((region, service)) if aws(region) && aws(service) => Ok(Inject::SigV4 {
                    region: region.into(),
                    service: service.into(),
                }),
                _ => Err(format!(
                    "inject `{s}`: write \"sigv4:REGION:SERVICE\", e.g. \"sigv4:us-east-1:s3\" (lower-case letters, digits, `-`)"
                )),
            };
        }
        match s.split_once(':') {
            None if s == "bearer" => Ok(Inject::Bearer),
            None if s == "basic" => Ok(Inject::Basic),
            Some(("header", n)) if token(n) => Ok(Inject::Header(n.to_ascii_lowercase())),
            Some(("query", n)) if token(n) => Ok(Inject::Query(n.to_string())),
            Some(("hmac-sha256", n)) if token(n) => Ok(Inject::HmacSha256(n.to_ascii_lowercase())),
            _ => Err(format!(
                "inject `{s}` is not one of \"bearer\", \"basic\", \"header:NAME\", \"query:NAME\", \"hmac-sha256:NAME\", \"sigv4:REGION:SERVICE\""
            )),
        }
    }
}

/// RFC 9110 token characters (header names, and what we allow as a query parameter name).
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Where a credential's value comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialSource {
    /// An environment variable of spud's process.
    Env(String),
    /// A file (relative paths from the policy's folder), without a trailing newline.
    File(String),
}

/// One `[credentials.NAME]` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Credential {
    /// Where the value comes from.
    pub source: CredentialSource,
    /// How it goes into a request.
    pub inject: Inject,
    /// Where it may go (`scheme://host[:port]` patterns); requests elsewhere never get it.
    pub destinations: Vec<NetPattern>,
    /// The plugins whose requests get it.
    pub tools: Vec<String>,
}

impl Credential {
    /// Whether a request of `plugin` to `scheme://host:port` gets this credential.
    pub fn applies(&self, plugin: &str, scheme: Scheme, host: &str, port: u16) -> bool {
        self.tools.iter().any(|t| t == plugin)
            && self
                .destinations
                .iter()
                .any(|d| d.matches(scheme, host, port))
    }

    /// What the value, added to a request this way, looks like: the header (name, value) or
    /// the query parameter (name, value).
    pub fn injection(&self, value: &CredentialValue) -> Injection {
        let v = value.expose();
        match &self.inject {
            Inject::Bearer => Injection::Header("authorization".into(), format!("Bearer {v}")),
            Inject::Basic => Injection::Header(
                "authorization".into(),
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(v)
                ),
            ),
            Inject::Header(n) => Injection::Header(n.clone(), v.to_string()),
            Inject::Query(n) => Injection::Query(n.clone(), v.to_string()),
            Inject::HmacSha256(n) => Injection::SignBody(n.clone()),
            Inject::SigV4 { region, service } => Injection::SigV4 {
                region: region.clone(),
                service: service.clone(),
            },
        }
    }
}

/// `sha256=HEX`: the HMAC-SHA256 of `body` under the credential's value, as a signed webhook's
/// receiver checks it (the value of an `inject = "hmac-sha256:NAME"` header). `None` only if
/// the HMAC implementation refused the key, which it does for no length.
pub fn body_signature(key: &CredentialValue, body: &[u8]) -> Option<String> {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.expose().as_bytes()).ok()?;
    mac.update(body);
    Some(format!(
        "sha256={}",
        hex::encode(mac.finalize().into_bytes())
    ))
}

/// A credential as it goes into one request.
#[derive(Clone, PartialEq, Eq)]
pub enum Injection {
    /// Set this header (replacing the guest's).
    Header(String, String),
    /// Set this query parameter (replacing the guest's).
    Query(String, String),
    /// Set this header to the body's signature ([`body_signature`]), once the body is known.
    SignBody(String),
    /// Sign the whole request with AWS Signature V4 ([`crate::sigv4`]) for this region and
    /// service, once the body is known.
    SigV4 {
        /// The region.
        region: String,
        /// The service.
        service: String,
    },
}

impl std::fmt::Debug for Injection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Injection::Header(n, _) => write!(f, "Header({n}: [REDACTED])"),
            Injection::Query(n, _) => write!(f, "Query({n}=[REDACTED])"),
            Injection::SignBody(n) => write!(f, "SignBody({n})"),
            Injection::SigV4 { region, service } => write!(f, "SigV4({region}/{service})"),
        }
    }
}

/// A credential's value: never shown by `Debug`, never serialized.
#[derive(Clone, PartialEq, Eq)]
pub struct CredentialValue(String);

impl std::fmt::Debug for CredentialValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CredentialValue([REDACTED])")
    }
}

/// A value that cannot go into a request as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialValueError {
    /// Empty (after the trailing newline is cut).
    #[error("credential {0}: the value is empty")]
    Empty(String),
    /// A control character (a line break, say) would break the header.
    #[error("credential {0}: the value holds a control character (a line break?), which cannot go into a request")]
    Control(String),
    /// `inject = "basic"` needs `user:password`.
    #[error("credential {0}: inject = \"basic\" needs the value written `user:password`")]
    NotUserPassword(String),
    /// `inject = "sigv4:…"` needs `ACCESS_KEY_ID:SECRET_ACCESS_KEY`.
    #[error("credential {0}: inject = \"sigv4:…\" needs the value written `ACCESS_KEY_ID:SECRET_ACCESS_KEY`")]
    NotKeyPair(String),
}

impl CredentialValue {
    /// Checks `raw` (its trailing line breaks cut) for credential `name` injected as `inject`.
    pub fn new(name: &str, raw: &str, inject: &Inject) -> Result<Self, CredentialValueError> {
        let v = raw.trim_end_matches(['\n', '\r']);
        if v.is_empty() {
            return Err(CredentialValueError::Empty(name.into()));
        }
        if v.chars().any(char::is_control) {
            return Err(CredentialValueError::Control(name.into()));
        }
        if *inject == Inject::Basic && !v.contains(':') {
            return Err(CredentialValueError::NotUserPassword(name.into()));
        }
        if matches!(inject, Inject::SigV4 { .. })
            && !v
                .split_once(':')
                .is_some_and(|(id, secret)| !id.is_empty() && !secret.is_empty())
        {
            return Err(CredentialValueError::NotKeyPair(name.into()));
        }
        Ok(CredentialValue(v.to_string()))
    }

    /// The value itself: only for putting it into a request or registering it as a secret.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// An AWS key pair's two halves (`ACCESS_KEY_ID`, `SECRET_ACCESS_KEY`), for signing.
    pub fn key_pair(&self) -> Option<(&str, &str)> {
        self.0.split_once(':')
    }
}

/// Characters percent-encoded in a query value: everything but RFC 3986 unreserved ones.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `path_and_query` with parameter `name` set to `value` (percent-encoded): parameters of that
/// name the guest wrote are dropped, the credential's is appended.
pub fn with_query_param(path_and_query: &str, name: &str, value: &str) -> String {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let mut kept: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && p.split('=').next() != Some(name))
        .collect();
    let ours = format!("{name}={}", utf8_percent_encode(value, QUERY_VALUE));
    kept.push(&ours);
    format!("{path}?{}", kept.join("&"))
}

/// `[credentials.NAME]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCredential {
    value_env: Option<Spanned<String>>,
    value_file: Option<Spanned<String>>,
    inject: Spanned<String>,
    destinations: Vec<Spanned<String>>,
    #[serde(default)]
    tools: Vec<Spanned<String>>,
}

impl RawCredential {
    /// Checks one section; errors are a byte offset (0: the section's start is unknown here)
    /// and a message.
    pub(crate) fn resolve(self, name: &str, start: usize) -> Result<Credential, (usize, String)> {
        let source = match (self.value_env, self.value_file) {
            (Some(e), None) => CredentialSource::Env(e.into_inner()),
            (None, Some(f)) => CredentialSource::File(f.into_inner()),
            (Some(e), Some(_)) => {
                return Err((
                    e.span().start,
                    format!("[credentials.{name}] has both value_env and value_file; keep one"),
                ));
            }
            (None, None) => {
                return Err((start, format!("[credentials.{name}] has no value: add value_env = \"VAR\" or value_file = \"path\"")));
            }
        };
        let inject = self.inject.get_ref().parse::<Inject>().map_err(|e| {
            (
                self.inject.span().start,
                format!("[credentials.{name}]: {e}"),
            )
        })?;
        if self.destinations.is_empty() {
            return Err((start, format!("[credentials.{name}] lists no destinations; add destinations = [\"https://api.example.com\"]")));
        }
        let mut destinations = Vec::new();
        for d in &self.destinations {
            destinations.push(d.get_ref().parse::<NetPattern>().map_err(|e| {
                (
                    d.span().start,
                    format!("[credentials.{name}] destination `{}`: {e}", d.get_ref()),
                )
            })?);
        }
        let mut tools = Vec::new();
        for t in self.tools {
            let ok = !t.get_ref().is_empty()
                && t.get_ref()
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b));
            if !ok {
                return Err((
                    t.span().start,
                    format!(
                        "[credentials.{name}] tools: `{}` is not a plugin name",
                        t.get_ref()
                    ),
                ));
            }
            tools.push(t.into_inner());
        }
        Ok(Credential {
            source,
            inject,
            destinations,
            tools,
        })
    }
}

#[cfg(test)]
mod tests;
