//! Principals: who calls tools through `spud serve`. Each has a bearer token (read from an
//! environment variable when the server starts, or given as its SHA-256), the tools it may see,
//! how many calls it may run at once and how fast, and optional grants that narrow what each
//! plugin may use on its behalf. A principal never gets more than the plugin's effective grant.
//!
//! ```toml
//! [principals.ci]
//! token_env = "SPUD_TOKEN_CI"      # or token_sha256 = "<64 hex digits>"
//! tools = ["fs.*", "json.query"]   # "*" = every tool; "run_agent" = the agent tool
//! max_concurrent = 4               # calls in flight at once (default 8)
//! rate_per_minute = 600            # requests per minute, sustained (default 1200)
//! burst = 50                       # requests at once above the rate (default 100)
//!
//! [principals.ci.grants.fs]        # same keys as [tools.fs]; narrows, never widens
//! files = [{ host = "sample/public", guest = "/data", access = "read-only" }]
//! limits = { fuel = 50_000_000 }
//! ```

use crate::section::{At, PolicyError, RawTool, ToolPolicy};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use toml::Spanned;

/// Default number of calls one principal may have in flight.
pub const DEFAULT_MAX_CONCURRENT: u32 = 8;
/// Default sustained request rate per principal, per minute.
pub const DEFAULT_RATE_PER_MINUTE: u32 = 1200;
/// Default burst (token bucket size) per principal.
pub const DEFAULT_BURST: u32 = 100;

/// Where a principal's bearer token comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenSource {
    /// Read from this environment variable when the server starts.
    Env(String),
    /// The SHA-256 of the token (so the policy file holds no secret).
    #[serde(skip)]
    Sha256([u8; 32]),
}

/// One principal of the policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    /// Its name (as in audit records).
    pub name: String,
    /// Its bearer token.
    pub token: TokenSource,
    /// Tool patterns it may see and call: `*`, `plugin.*`, `plugin.function`, `run_agent`.
    pub tools: Vec<String>,
    /// Calls in flight at once.
    pub max_concurrent: u32,
    /// Sustained requests per minute.
    pub rate_per_minute: u32,
    /// Requests at once above the sustained rate.
    pub burst: u32,
    /// Per plugin, what it may use at most (narrowing the plugin's effective grant).
    pub grants: BTreeMap<String, ToolPolicy>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPrincipal {
    #[serde(default)]
    token_env: Option<Spanned<String>>,
    #[serde(default)]
    token_sha256: Option<Spanned<String>>,
    #[serde(default)]
    tools: Vec<Spanned<String>>,
    #[serde(default)]
    max_concurrent: Option<Spanned<u32>>,
    #[serde(default)]
    rate_per_minute: Option<Spanned<u32>>,
    #[serde(default)]
    burst: Option<Spanned<u32>>,
    #[serde(default)]
    grants: BTreeMap<String, RawTool>,
}

/// Whether the tool pattern `p` (`*`, `plugin.*`, `plugin.function`, `run_agent`) covers
/// `tool`; `*` covers every plugin tool but not `run_agent`, which must be named.
pub(crate) fn pattern_matches(p: &str, tool: &str) -> bool {
    p == tool
        || (p == "*" && tool != "run_agent")
        || p.strip_suffix(".*")
            .is_some_and(|plugin| tool.split_once('.').is_some_and(|(tp, _)| tp == plugin))
}

fn valid_pattern(p: &str) -> bool {
    let name_ok = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    match p.split_once('.') {
        None => p == "*" || p == "run_agent",
        Some((plugin, f)) => name_ok(plugin) && (f == "*" || name_ok(f)),
    }
}

fn nonzero(v: &Option<Spanned<u32>>, what: &str, at: &At<'_>) -> Result<(), PolicyError> {
    match v {
        Some(n) if *n.get_ref() == 0 => {
            Err(at(n.span().start, format!("`{what}` must be at least 1")))
        }
        _ => Ok(()),
    }
}

/// Where the token of principal `name` (whose section starts at `start`) comes from.
fn token(
    name: &str,
    start: usize,
    env: Option<Spanned<String>>,
    sha256: Option<Spanned<String>>,
    at: &At<'_>,
) -> Result<TokenSource, PolicyError> {
    match (env, sha256) {
        (Some(env), None) => {
            let v = env.get_ref();
            if v.is_empty() || !v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                let message = format!("`{v}` is not an environment variable name");
                return Err(at(env.span().start, message));
            }
            Ok(TokenSource::Env(v.clone()))
        }
        (None, Some(hash)) => {
            let text = hash.get_ref();
            let mut bytes = [0u8; 32];
            let ok = text.len() == 64
                && text.is_ascii()
                && (0..32).all(|i| {
                    u8::from_str_radix(&text[2 * i..2 * i + 2], 16)
                        .map(|b| bytes[i] = b)
                        .is_ok()
                });
            if !ok {
                let message =
                    "`token_sha256` must be 64 hexadecimal digits (the SHA-256 of the token)";
                return Err(at(hash.span().start, message.into()));
            }
            Ok(TokenSource::Sha256(bytes))
        }
        (Some(env), Some(_)) => {
            let message =
                format!("principal `{name}`: give `token_env` or `token_sha256`, not both");
            Err(at(env.span().start, message))
        }
        (None, None) => {
            let message = format!("principal `{name}` has no token: add `token_env = \"VARIABLE\"` or `token_sha256 = \"…\"`");
            Err(at(start, message))
        }
    }
}

/// Validates the `[principals.*]` sections.
pub(crate) fn parse(
    raw: BTreeMap<String, Spanned<RawPrincipal>>,
    at: &At<'_>,
    base: &Path,
    check_dirs: bool,
) -> Result<BTreeMap<String, Principal>, PolicyError> {
    let mut out = BTreeMap::new();
    for (name, spanned) in raw {
        let start = spanned.span().start;
        let r = spanned.into_inner();
        let token = token(&name, start, r.token_env, r.token_sha256, at)?;
        let mut tools = Vec::new();
        for t in r.tools {
            if !valid_pattern(t.get_ref()) {
                let message = format!("`{}` is not a tool pattern: use `*`, `plugin.*`, `plugin.function` or `run_agent`", t.get_ref());
                return Err(at(t.span().start, message));
            }
            tools.push(t.into_inner());
        }
        nonzero(&r.max_concurrent, "max_concurrent", at)?;
        nonzero(&r.rate_per_minute, "rate_per_minute", at)?;
        nonzero(&r.burst, "burst", at)?;
        let mut grants = BTreeMap::new();
        for (plugin, g) in r.grants {
            grants.insert(plugin, g.resolve(at, base, check_dirs)?);
        }
        out.insert(
            name.clone(),
            Principal {
                name,
                token,
                tools,
                max_concurrent: r
                    .max_concurrent
                    .map_or(DEFAULT_MAX_CONCURRENT, Spanned::into_inner),
                rate_per_minute: r
                    .rate_per_minute
                    .map_or(DEFAULT_RATE_PER_MINUTE, Spanned::into_inner),
                burst: r.burst.map_or(DEFAULT_BURST, Spanned::into_inner),
                grants,
            },
        );
    }
    Ok(out)
}

impl Principal {
    /// Whether this principal may see and call `tool` (`plugin.function`, or `run_agent`).
    pub fn sees(&self, tool: &str) -> bool {
        self.tools.iter().any(|p| pattern_matches(p, tool))
    }
}
