//! The operator's policy file (TOML): what each plugin is granted, default limits, audit
//! settings. Errors name the file, line and column.
//!
//! ```toml
//! [defaults]                # limits for every tool unless its section says otherwise
//! timeout_ms = 5000
//!
//! [audit]
//! payloads = "digest"       # or "raw": store arguments and results verbatim
//! durability = "process"    # or "fsync": fsync every record before the call returns
//!
//! [tools.fs]
//! files = [{ host = "sample", guest = "/data", access = "read-only" }]
//! network = ["https://*.example.com"]
//! env = ["LANG", "MODE=fast"]   # pass LANG from spud's environment; set MODE to "fast"
//! sockets = { tcp_connect = ["127.0.0.1:5432"], dns = false }
//! limits = { fuel = 100_000_000, memory_mb = 32 }
//! ```

use crate::manifest::{Access, SocketRequests};
use crate::network::NetPattern;
use crate::Limits;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
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
    At(#[from] crate::Located),
}

/// How much of a call's arguments and results the audit log keeps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Payloads {
    /// SHA-256 and size only (data minimization).
    #[default]
    Digest,
    /// The JSON itself as well.
    Raw,
}

/// When an audit record counts as written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Durability {
    /// Written to the OS before the call returns (survives a crash of spud); fsynced in groups.
    #[default]
    Process,
    /// fsynced before the call returns (survives power loss).
    Fsync,
}

/// The `[audit]` section.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSettings {
    /// Default payload mode.
    #[serde(default)]
    pub payloads: Payloads,
    /// Flush strategy.
    #[serde(default)]
    pub durability: Durability,
}

/// An environment variable a tool may see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum EnvGrant {
    /// `NAME`: passed through from spud's own environment, when set there.
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

/// A directory grant in the policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DirGrant {
    /// Host directory (made absolute against the policy file's folder).
    pub host: PathBuf,
    /// Guest path it appears at.
    pub guest: String,
    /// Access granted.
    pub access: Access,
}

/// What the operator grants one plugin.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ToolPolicy {
    /// Directories.
    pub files: Vec<DirGrant>,
    /// Outbound HTTP(S) destinations.
    pub network: Vec<NetPattern>,
    /// Environment variables.
    pub env: Vec<EnvGrant>,
    /// Raw sockets and DNS.
    pub sockets: SocketRequests,
    /// Limit ceilings.
    pub limits: Limits,
    /// Payload mode for this plugin's audit records (else the `[audit]` default).
    pub payloads: Option<Payloads>,
    /// A sub-agent that may call this plugin's tools starts only once approved (by the person
    /// at the terminal; denied when nobody can be asked).
    pub approval: bool,
}

/// A parsed policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Policy {
    /// Where it was read from, if from a file.
    pub source: Option<PathBuf>,
    /// Limits for tools whose section sets none.
    pub defaults: Limits,
    /// Audit settings.
    pub audit: AuditSettings,
    /// Per plugin name.
    pub tools: BTreeMap<String, ToolPolicy>,
    /// Who may call tools over MCP's HTTP transport (and as whom `spud serve --principal`
    /// serves stdio), by name.
    pub principals: BTreeMap<String, crate::Principal>,
    /// Registered secrets (`[secrets]`): never stored or sent out.
    pub secrets: crate::SecretsSection,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    #[serde(default)]
    defaults: Limits,
    #[serde(default)]
    audit: AuditSettings,
    #[serde(default)]
    tools: BTreeMap<String, RawTool>,
    #[serde(default)]
    principals: BTreeMap<String, Spanned<crate::principals::RawPrincipal>>,
    #[serde(default)]
    secrets: crate::SecretsSection,
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
    sockets: SocketRequests,
    #[serde(default)]
    limits: Limits,
    #[serde(default)]
    payloads: Option<Payloads>,
    #[serde(default)]
    approval: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDir {
    host: Spanned<String>,
    guest: Spanned<String>,
    access: Access,
}

/// Turns a byte offset and message into a positioned error.
pub(crate) type At<'a> = dyn Fn(usize, String) -> PolicyError + 'a;

impl RawTool {
    /// Validates one `[tools.NAME]`-shaped section (also used for a principal's narrowing
    /// grants). Relative host paths are taken from `base`.
    pub(crate) fn resolve(
        self,
        at: &At<'_>,
        base: &Path,
        check_dirs: bool,
    ) -> Result<ToolPolicy, PolicyError> {
        let t = self;
        let mut files = Vec::new();
        for d in t.files {
            let guest = d.guest.get_ref();
            if !guest.starts_with('/') || guest.split('/').any(|c| c == "..") {
                return Err(at(
                    d.guest.span().start,
                    format!("guest path `{guest}` must be absolute and must not contain `..`"),
                ));
            }
            let host = base.join(d.host.get_ref());
            if check_dirs && !host.is_dir() {
                return Err(at(
                    d.host.span().start,
                    format!("host directory `{}` does not exist", host.display()),
                ));
            }
            let host = std::fs::canonicalize(&host).unwrap_or(host);
            files.push(DirGrant {
                host,
                guest: guest.trim_end_matches('/').to_string(),
                access: d.access,
            });
        }
        let mut network = Vec::new();
        for n in t.network {
            network.push(
                n.get_ref()
                    .parse::<NetPattern>()
                    .map_err(|e| at(n.span().start, e.to_string()))?,
            );
        }
        let mut env = Vec::new();
        for e in t.env {
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
            env.push(grant);
        }
        Ok(ToolPolicy {
            files,
            network,
            env,
            sockets: t.sockets,
            limits: t.limits,
            payloads: t.payloads,
            approval: t.approval,
        })
    }
}

impl Policy {
    /// An empty policy: nothing granted, built-in limits.
    pub fn deny_all() -> Policy {
        Policy::default()
    }

    /// Reads and validates a policy file. Relative host paths are taken from the file's folder;
    /// every granted host directory must exist.
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let src = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
            file: path.display().to_string(),
            source,
        })?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let base = std::fs::canonicalize(&base).unwrap_or(base);
        let mut p = Policy::parse(&src, &path.display().to_string(), &base, true)?;
        p.source = Some(path.to_path_buf());
        Ok(p)
    }

    /// Parses policy text. `file` is used in messages, `base` resolves relative host paths;
    /// with `check_dirs`, host directories must exist (the only I/O here).
    pub fn parse(
        src: &str,
        file: &str,
        base: &Path,
        check_dirs: bool,
    ) -> Result<Policy, PolicyError> {
        let at = |offset: usize, message: String| {
            PolicyError::At(crate::Located::at(src, file, offset, message))
        };
        let raw: RawPolicy = toml::from_str(src)
            .map_err(|e| at(e.span().map_or(0, |s| s.start), e.message().to_string()))?;
        let mut tools = BTreeMap::new();
        for (name, t) in raw.tools {
            tools.insert(name, t.resolve(&at, base, check_dirs)?);
        }
        let principals = crate::principals::parse(raw.principals, &at, base, check_dirs)?;
        if let Err(e) = crate::Secrets::new(&raw.secrets.patterns) {
            let offset = src.find("[secrets]").unwrap_or(0);
            return Err(at(offset, e.to_string()));
        }
        for (name, patterns) in &raw.secrets.allow {
            for p in patterns {
                if let Err(e) = p.parse::<crate::NetPattern>() {
                    let offset = src.find(p.as_str()).unwrap_or(0);
                    return Err(at(
                        offset,
                        format!("[secrets.allow] {name}: `{p}` is not a destination pattern ({e}); write `scheme://host[:port]`, e.g. \"https://api.example.com\""),
                    ));
                }
            }
        }
        Ok(Policy {
            source: None,
            defaults: raw.defaults,
            audit: raw.audit,
            tools,
            principals,
            secrets: raw.secrets,
        })
    }

    /// The secret files of `[secrets] files`: (name as written, path from `base`).
    pub fn secret_files(&self, base: &Path) -> Vec<(String, std::path::PathBuf)> {
        self.secrets
            .files
            .iter()
            .map(|f| (f.clone(), base.join(f)))
            .collect()
    }

    /// The registered secrets: `[secrets]` patterns and `env` values, plus the values of
    /// every environment variable granted to a tool (`NAME=value` and passed-through `NAME`).
    pub fn secrets(&self, lookup: impl Fn(&str) -> Option<String>) -> crate::Secrets {
        let mut values = Vec::new();
        for t in self.tools.values() {
            for g in &t.env {
                match g {
                    EnvGrant::Fixed(_, v) => values.push(v.clone()),
                    EnvGrant::Pass(n) => values.extend(lookup(n)),
                }
            }
        }
        values.extend(self.secrets.env.iter().filter_map(|n| lookup(n)));
        // Patterns were checked when the policy was parsed.
        crate::Secrets::new(&self.secrets.patterns)
            .unwrap_or_default()
            .with_values(values)
    }

    /// The section for `plugin`, or an empty one (nothing granted).
    pub fn tool(&self, plugin: &str) -> ToolPolicy {
        self.tools.get(plugin).cloned().unwrap_or_default()
    }

    /// Where this policy lives, for messages that tell the operator what to edit.
    pub fn source_name(&self) -> String {
        self.source.as_ref().map_or_else(
            || "the policy file (--policy)".to_string(),
            |p| p.display().to_string(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(src: &str) -> Result<Policy, PolicyError> {
        Policy::parse(src, "policy.toml", Path::new("/tmp"), false)
    }

    #[test]
    fn parses_a_full_policy() {
        let p = parse(
            r#"
[defaults]
timeout_ms = 5000
[audit]
payloads = "raw"
[tools.fs]
files = [{ host = "sample", guest = "/data/", access = "read-only" }]
network = ["https://*.example.com"]
env = ["LANG", "MODE=fast"]
limits = { fuel = 100 }
"#,
        )
        .unwrap();
        let fs = p.tool("fs");
        assert_eq!(fs.files[0].guest, "/data");
        assert_eq!(fs.files[0].host, Path::new("/tmp/sample"));
        assert_eq!(fs.env[1], EnvGrant::Fixed("MODE".into(), "fast".into()));
        assert_eq!(fs.limits.fuel, Some(100));
        assert_eq!(p.audit.payloads, Payloads::Raw);
        assert_eq!(p.tool("other"), ToolPolicy::default());
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = parse("[tools.fs]\nnetwork = [\"https://ok.com\",\n  \"gopher://x\"]\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("policy.toml:3:3:"), "{e}");
        let e = parse("[tools.fs]\nfilez = []\n").unwrap_err().to_string();
        assert!(
            e.starts_with("policy.toml:2:1:") && e.contains("filez"),
            "{e}"
        );
        let e = parse(
            "[tools.fs]\nfiles = [{ host = \"a\", guest = \"data\", access = \"read-only\" }]\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("policy.toml:2:") && e.contains("absolute"),
            "{e}"
        );
        let e = parse("[tools.fs]\nenv = [\"BAD NAME\"]")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("policy.toml:2:8:"), "{e}");
        let e = Policy::parse("[tools.fs]\nfiles = [{ host = \"nope-missing\", guest = \"/d\", access = \"read-only\" }]", "p.toml", Path::new("/nonexistent"), true)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("p.toml:2:19:") && e.contains("does not exist"),
            "{e}"
        );
    }
}
