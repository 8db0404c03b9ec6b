//! A `[tools.NAME]`-shaped section of the policy file: what the operator grants one plugin, or
//! what a principal may use of it (`[principals.P.grants.NAME]`, same keys). Parsed from the
//! raw TOML with positions for errors, and resolved into the ceiling [`Grant`] that requests
//! meet.

use crate::browser::BrowserLimits;
use crate::caps::{Access, Caps, Dir, EnvGrant, Grant, Payloads, Section, Sockets};
use crate::limits::{self, Limits};
use crate::located::Located;
use crate::network::NetPattern;
use serde::{Deserialize, Serialize};
use std::path::Path;
use toml::Spanned;

/// A policy file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The file could not be read.
    #[error("cannot read policy file {file}: {source}")]
    Read {
        /// The file.
        file: String,
        /// Why.
        source: std::io::Error,
    },
    /// Syntax or a bad value; with position.
    #[error(transparent)]
    At(#[from] Located),
}

/// Turns a byte offset and message into a positioned error.
pub(crate) type At<'a> = dyn Fn(usize, String) -> PolicyError + 'a;

/// What the operator grants one plugin.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ToolPolicy {
    /// Directories, network, environment, sockets, limit ceilings and payload mode.
    #[serde(flatten)]
    pub caps: Section,
    /// A sub-agent that may call this plugin's tools starts only once approved (by the person
    /// at the terminal; denied when nobody can be asked).
    pub approval: bool,
    /// Keys (names under `[keys]`) one of which must have signed the component; empty: the
    /// `[trust]` default applies.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub signed_by: Vec<String>,
    /// The one component digest (`sha256:…`) this grant is for; another digest gets nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

impl ToolPolicy {
    /// What this section allows a call at most: its directories, patterns and variables, its
    /// limits (else `defaults`, else the built-in ones) and payload mode (else `payloads`).
    pub fn ceiling(&self, defaults: Limits, payloads: Payloads) -> Grant {
        let c = &self.caps;
        Caps {
            files: c.files.clone(),
            network: c.network.clone(),
            env: c.env.clone(),
            sockets: c.sockets.clone(),
            limits: limits::ceilings(c.limits, defaults),
            payloads: c.payloads.unwrap_or(payloads),
            browser: c.browser,
            browser_limits: c.browser_limits.ceilings(),
            browser_profile: c.browser_profile.clone(),
        }
    }

    /// This section, with limits and payload mode it leaves unset taken from `base`.
    pub fn over(&self, base: &ToolPolicy) -> ToolPolicy {
        let mut out = self.clone();
        out.caps.limits = self.caps.limits.or(base.caps.limits);
        out.caps.payloads = self.caps.payloads.or(base.caps.payloads);
        out.caps.browser_limits = self.caps.browser_limits.or(base.caps.browser_limits);
        out
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTool {
    #[serde(default)]
    files: Vec<RawDir>,
    #[serde(default)]
    network: Vec<Spanned<String>>,
    #[serde(default)]
    env: Vec<Spanned<String>>,
    #[serde(default)]
    sockets: Sockets,
    #[serde(default)]
    limits: Limits,
    #[serde(default)]
    payloads: Option<Payloads>,
    #[serde(default)]
    approval: bool,
    #[serde(default)]
    browser: bool,
    #[serde(default)]
    browser_limits: Option<Spanned<BrowserLimits<Option<u64>>>>,
    #[serde(default)]
    browser_profile: Option<Spanned<String>>,
    #[serde(default)]
    signed_by: Vec<Spanned<String>>,
    #[serde(default)]
    digest: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDir {
    host: Spanned<String>,
    guest: Spanned<String>,
    access: Access,
}

impl RawTool {
    /// The `signed_by` key names with their positions, to check against `[keys]`.
    pub(crate) fn signers(&self) -> &[Spanned<String>] {
        &self.signed_by
    }

    /// Validates one section. Relative host paths are taken from `base`; with `check_dirs`,
    /// host directories must exist.
    pub(crate) fn resolve(
        self,
        at: &At<'_>,
        base: &Path,
        check_dirs: bool,
    ) -> Result<ToolPolicy, PolicyError> {
        let mut files = Vec::new();
        for d in self.files {
            files.push(d.resolve(at, base, check_dirs)?);
        }
        let mut network = Vec::new();
        for n in self.network {
            network.push(
                n.get_ref()
                    .parse::<NetPattern>()
                    .map_err(|e| at(n.span().start, e.to_string()))?,
            );
        }
        let mut env = Vec::new();
        for e in self.env {
            env.push(env_grant(&e, at)?);
        }
        let browser_limits = match self.browser_limits {
            Some(b) => {
                if let Some((name, v, why)) = b.get_ref().out_of_range() {
                    return Err(at(
                        b.span().start,
                        format!("browser_limits.{name} = {v} must be {why}"),
                    ));
                }
                b.into_inner()
            }
            None => BrowserLimits::NONE,
        };
        let browser_profile = match &self.browser_profile {
            Some(p) => Some(profile_dir(p, self.browser, at, base)?),
            None => None,
        };
        let caps = Caps {
            files,
            network,
            env,
            sockets: self.sockets,
            limits: self.limits,
            payloads: self.payloads,
            browser: self.browser,
            browser_limits,
            browser_profile,
        };
        if let Some(d) = &self.digest {
            if !spud_trust::is_sha256_digest(d.get_ref()) {
                return Err(at(
                    d.span().start,
                    format!("digest `{}` must be `sha256:` and 64 lower-case hex digits (as `spud grants` shows it)", d.get_ref()),
                ));
            }
        }
        Ok(ToolPolicy {
            caps,
            approval: self.approval,
            signed_by: self.signed_by.iter().map(|s| s.get_ref().clone()).collect(),
            digest: self.digest.map(Spanned::into_inner),
        })
    }
}

/// `browser_profile`: a host directory (relative to `base`), for a section that grants the
/// browser. It need not exist yet: the first session creates it.
fn profile_dir(
    p: &Spanned<String>,
    browser: bool,
    at: &At<'_>,
    base: &Path,
) -> Result<std::path::PathBuf, PolicyError> {
    let fail = |why: String| at(p.span().start, why);
    if !browser {
        return Err(fail(
            "`browser_profile` needs `browser = true` in the same section".into(),
        ));
    }
    if p.get_ref().trim().is_empty() || p.get_ref().split(['/', '\\']).any(|c| c == "..") {
        return Err(fail(format!(
            "browser_profile `{}` must name a directory without `..`",
            p.get_ref()
        )));
    }
    let dir = base.join(p.get_ref());
    if dir.exists() && !dir.is_dir() {
        return Err(fail(format!(
            "browser_profile `{}` is not a directory",
            dir.display()
        )));
    }
    Ok(std::fs::canonicalize(&dir).unwrap_or(dir))
}

impl RawDir {
    fn resolve(self, at: &At<'_>, base: &Path, check_dirs: bool) -> Result<Dir, PolicyError> {
        let guest = self.guest.get_ref();
        if !guest.starts_with('/') || guest.split('/').any(|c| c == "..") {
            return Err(at(
                self.guest.span().start,
                format!("guest path `{guest}` must be absolute and must not contain `..`"),
            ));
        }
        let host = base.join(self.host.get_ref());
        if check_dirs && !host.is_dir() {
            return Err(at(
                self.host.span().start,
                format!("host directory `{}` does not exist", host.display()),
            ));
        }
        let host = std::fs::canonicalize(&host).unwrap_or(host);
        Ok(Dir {
            host,
            guest: guest.trim_end_matches('/').to_string(),
            access: self.access,
        })
    }
}

/// `NAME` or `NAME=value`.
fn env_grant(e: &Spanned<String>, at: &At<'_>) -> Result<EnvGrant, PolicyError> {
    let text = e.get_ref();
    let grant = match text.split_once('=') {
        Some((n, v)) => EnvGrant::Fixed(n.to_string(), v.to_string()),
        None => EnvGrant::Pass(text.clone()),
    };
    let n = grant.name();
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(at(
            e.span().start,
            format!("`{text}` is not `NAME` or `NAME=value`"),
        ));
    }
    Ok(grant)
}
