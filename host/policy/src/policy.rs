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

use crate::caps::{EnvGrant, Payloads};
use crate::credentials::{Credential, CredentialSource, RawCredential};
use crate::digest::PolicyDigest;
use crate::limits::Limits;
use crate::located::Located;
use crate::network::NetPattern;
use crate::principals::{self, Principal, RawPrincipal};
use crate::secrets::{Secrets, SecretsSection};
use crate::section::{PolicyError, RawTool, ToolPolicy};
use crate::trust::{self, RawKey, RawTrust, TrustSection, TrustedKey};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// When an audit record counts as written (`[audit] durability`); defined by the audit log.
pub use spud_audit::Durability;

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
    pub principals: BTreeMap<String, Principal>,
    /// Registered secrets (`[secrets]`): never stored or sent out.
    pub secrets: SecretsSection,
    /// sha256 of the policy text (see [`Policy::digest`]).
    digest: PolicyDigest,
    /// Trusted publisher keys (`[keys.NAME]`).
    pub keys: BTreeMap<String, TrustedKey>,
    /// The default signers (`[trust]`).
    pub trust: TrustSection,
    /// Credentials the host injects into requests (`[credentials.NAME]`).
    pub credentials: BTreeMap<String, Credential>,
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
    principals: BTreeMap<String, Spanned<RawPrincipal>>,
    #[serde(default)]
    secrets: SecretsSection,
    #[serde(default)]
    keys: BTreeMap<String, RawKey>,
    #[serde(default)]
    trust: RawTrust,
    #[serde(default)]
    credentials: BTreeMap<String, Spanned<RawCredential>>,
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
            PolicyError::At(Located::at(src, file, offset, message))
        };
        let raw: RawPolicy = toml::from_str(src)
            .map_err(|e| at(e.span().map_or(0, |s| s.start), e.message().to_string()))?;
        let keys = trust::resolve_keys(raw.keys, &at, base, check_dirs)?;
        let trust = trust::resolve_trust(raw.trust, &keys, &at)?;
        let mut tools = BTreeMap::new();
        for (name, t) in raw.tools {
            trust::check_signers(t.signers(), &keys, &at, &format!("[tools.{name}]"))?;
            tools.insert(name, t.resolve(&at, base, check_dirs)?);
        }
        let principals = principals::parse(raw.principals, &at, base, check_dirs)?;
        if let Err(e) = Secrets::new(&raw.secrets.patterns) {
            let offset = src.find("[secrets]").unwrap_or(0);
            return Err(at(offset, e.to_string()));
        }
        for (name, patterns) in &raw.secrets.allow {
            for p in patterns {
                if let Err(e) = p.parse::<NetPattern>() {
                    let offset = src.find(p.as_str()).unwrap_or(0);
                    return Err(at(
                        offset,
                        format!("[secrets.allow] {name}: `{p}` is not a destination pattern ({e}); write `scheme://host[:port]`, e.g. \"https://api.example.com\""),
                    ));
                }
            }
        }
        let mut credentials = BTreeMap::new();
        for (name, c) in raw.credentials {
            let start = c.span().start;
            let c = c
                .into_inner()
                .resolve(&name, start)
                .map_err(|(offset, message)| at(offset, message))?;
            credentials.insert(name, c);
        }
        Ok(Policy {
            source: None,
            defaults: raw.defaults,
            audit: raw.audit,
            tools,
            principals,
            secrets: raw.secrets,
            digest: PolicyDigest::of(src.as_bytes()),
            keys,
            trust,
            credentials,
        })
    }

    /// The sha256 of the policy file's bytes as loaded, computed once when it was read;
    /// [`DENY_ALL_DIGEST`](crate::DENY_ALL_DIGEST) for the deny-all default.
    pub fn digest(&self) -> &PolicyDigest {
        &self.digest
    }

    /// The key names one of which must have signed `plugin`: its section's `signed_by`, else
    /// `[trust] signed_by`; empty when no signature is required.
    pub fn signers_for(&self, plugin: &str) -> Vec<String> {
        match self.tools.get(plugin) {
            Some(t) if !t.signed_by.is_empty() => t.signed_by.clone(),
            _ => self.trust.signed_by.clone(),
        }
    }

    /// The public keys of `names` that were read (name, key).
    pub fn trusted_keys(&self, names: &[String]) -> Vec<(String, spud_trust::PublicKey)> {
        names
            .iter()
            .filter_map(|n| {
                let k = self.keys.get(n)?.key.clone()?;
                Some((n.clone(), k))
            })
            .collect()
    }

    /// The secret files of `[secrets] files`: (name as written, path from `base`).
    pub fn secret_files(&self, base: &Path) -> Vec<(String, PathBuf)> {
        self.secrets
            .files
            .iter()
            .map(|f| (f.clone(), base.join(f)))
            .collect()
    }

    /// The registered secrets: `[secrets]` patterns and `env` values, plus the values of
    /// every environment variable granted to a tool (`NAME=value` and passed-through `NAME`)
    /// and of every `value_env` credential (file credentials are added by the host).
    pub fn secrets(&self, lookup: impl Fn(&str) -> Option<String>) -> Secrets {
        let mut values = Vec::new();
        for t in self.tools.values() {
            for g in &t.caps.env {
                match g {
                    EnvGrant::Fixed(_, v) => values.push(v.clone()),
                    EnvGrant::Pass(n) => values.extend(lookup(n)),
                }
            }
        }
        values.extend(self.secrets.env.iter().filter_map(|n| lookup(n)));
        values.extend(self.credentials.values().filter_map(|c| match &c.source {
            CredentialSource::Env(n) => lookup(n),
            CredentialSource::File(_) => None,
        }));
        // Patterns were checked when the policy was parsed.
        Secrets::new(&self.secrets.patterns)
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
    use crate::principals::{TokenSource, DEFAULT_RATE_PER_MINUTE};

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
        assert_eq!(fs.caps.files[0].guest, "/data");
        assert_eq!(fs.caps.files[0].host, Path::new("/tmp/sample"));
        assert_eq!(
            fs.caps.env[1],
            EnvGrant::Fixed("MODE".into(), "fast".into())
        );
        assert_eq!(fs.caps.limits.fuel, Some(100));
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

    // Moved from `principals.rs`: principals as the policy parses them.
    #[test]
    fn parses_principals_and_names_errors_by_position() {
        let p = parse(
            r#"
[principals.ci]
token_env = "SPUD_TOKEN_CI"
tools = ["fs.*", "json.query", "run_agent"]
max_concurrent = 2
[principals.ci.grants.fs]
limits = { fuel = 10 }
[principals.ops]
token_sha256 = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
tools = ["*"]
"#,
        )
        .unwrap();
        let ci = &p.principals["ci"];
        assert_eq!(ci.token, TokenSource::Env("SPUD_TOKEN_CI".into()));
        assert_eq!(ci.max_concurrent, 2);
        assert_eq!(ci.rate_per_minute, DEFAULT_RATE_PER_MINUTE);
        assert!(ci.sees("fs.read") && ci.sees("json.query") && ci.sees("run_agent"));
        assert!(!ci.sees("json.format") && !ci.sees("fsx.read") && !ci.sees("http.fetch"));
        let ops = &p.principals["ops"];
        assert!(ops.sees("http.fetch") && !ops.sees("run_agent"));
        assert!(matches!(ops.token, TokenSource::Sha256(b) if b[1] == 0x11));

        let e = parse("[principals.x]\ntools = [\"*\"]\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("policy.toml:") && e.contains("has no token"),
            "{e}"
        );
        let e = parse("[principals.x]\ntoken_sha256 = \"abc\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("policy.toml:2:16:") && e.contains("64 hexadecimal"),
            "{e}"
        );
        let e = parse("[principals.x]\ntoken_env = \"T\"\ntools = [\"fs.read\", \"fs..x\"]\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("policy.toml:3:21:") && e.contains("tool pattern"),
            "{e}"
        );
        let e = parse("[principals.x]\ntoken_env = \"T\"\nmax_concurrent = 0\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("policy.toml:3:18:"), "{e}");
        let e = parse("[principals.x]\ntoken_env = \"T\"\ntokens = 1\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("tokens"), "{e}");
    }

    #[test]
    fn browser_limits_are_parsed_met_and_named_by_position() {
        let p = parse(
            "[tools.web]\nbrowser = true\nbrowser_limits = { pages = 2, snapshot_bytes = 1000 }\n\
             [principals.ci]\ntoken_env = \"T\"\ntools = [\"*\"]\n\
             [principals.ci.grants.web]\nbrowser_limits = { pages = 1, action_ms = 500 }\n",
        )
        .unwrap();
        let section = p.tool("web");
        let g = section.ceiling(p.defaults, p.audit.payloads);
        assert_eq!(g.browser_limits.pages, 2);
        assert_eq!(g.browser_limits.snapshot_bytes, 1000);
        assert_eq!(
            g.browser_limits.action_ms,
            crate::BrowserLimits::DEFAULT.action_ms
        );
        let requests = crate::Requests::new().browser();
        let narrowed = p.principals["ci"].grant_for("web", &requests, &g, &p);
        assert_eq!(narrowed.browser_limits.pages, 1);
        assert_eq!(narrowed.browser_limits.action_ms, 500);
        assert_eq!(narrowed.browser_limits.snapshot_bytes, 1000);

        let e = parse("[tools.web]\nbrowser = true\nbrowser_limits = { pages = 0 }\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("policy.toml:3:18:") && e.contains("browser_limits.pages = 0"),
            "{e}"
        );
        let e = parse("[tools.web]\nbrowser_limits = { pages = 99 }\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("policy.toml:2:") && e.contains("at most 8"),
            "{e}"
        );
        let e = parse("[tools.web]\nbrowser_limits = { tabs = 2 }\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("policy.toml:2:") && e.contains("tabs"), "{e}");
    }

    #[test]
    fn a_browser_profile_is_granted_by_the_section_and_never_inherited() {
        let p = parse(
            "[tools.web]\nbrowser = true\nbrowser_profile = \"profiles/web\"\n\
             [principals.ci]\ntoken_env = \"T\"\ntools = [\"*\"]\n\
             [principals.ci.grants.web]\nbrowser = true\n\
             [principals.ops]\ntoken_env = \"U\"\ntools = [\"*\"]\n\
             [principals.ops.grants.web]\nbrowser = true\nbrowser_profile = \"profiles/web\"\n",
        )
        .unwrap();
        let profile = Path::new("/tmp/profiles/web");
        let requests = crate::Requests::new().browser();
        let g = crate::effective("web", &requests, &p).grant;
        assert_eq!(g.browser_profile.as_deref(), Some(profile));
        // A tool that does not ask for the browser gets no profile either.
        let plain = crate::effective("web", &crate::Requests::new(), &p).grant;
        assert_eq!(plain.browser_profile, None);
        // A principal keeps it only when its own section grants the same directory.
        let ci = p.principals["ci"].grant_for("web", &requests, &g, &p);
        assert!(ci.browser && ci.browser_profile.is_none());
        let ops = p.principals["ops"].grant_for("web", &requests, &g, &p);
        assert_eq!(ops.browser_profile.as_deref(), Some(profile));
        // A sub-agent's scope never carries it, listed or not.
        let scope: crate::Scope =
            toml::from_str("tools = [\"*\"]\n[grants.web]\nnetwork = []\n").unwrap();
        assert_eq!(scope.grant_for("web", &g).browser_profile, None);
        assert_eq!(scope.grant_for("other", &g).browser_profile, None);

        let e = parse("[tools.web]\nbrowser_profile = \"p\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("policy.toml:2:19:") && e.contains("needs `browser = true`"),
            "{e}"
        );
        let e = parse("[tools.web]\nbrowser = true\nbrowser_profile = \"../p\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("policy.toml:3:") && e.contains("`..`"), "{e}");
    }

    // Moved from `secrets.rs`: the `[secrets]` section as the policy parses it.
    #[test]
    fn policy_section_and_granted_env_values() {
        let base = std::path::Path::new(".");
        let p = Policy::parse(
            "[secrets]\npatterns = [\"sk-[a-z]{4}\"]\nenv = [\"S_ENV\"]\n[tools.fs]\nenv = [\"K=fixedvalue\", \"PASS\"]\n",
            "p.toml",
            base,
            false,
        )
        .unwrap();
        let s = p.secrets(|n| match n {
            "PASS" => Some("passvalue".into()),
            "S_ENV" => Some("envvalue".into()),
            _ => None,
        });
        assert_eq!(
            s.redact("sk-abcd fixedvalue passvalue envvalue ok"),
            "[REDACTED] [REDACTED] [REDACTED] [REDACTED] ok"
        );
        let e = Policy::parse("[secrets]\npatterns = [\"(\"]\n", "p.toml", base, false)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("p.toml:1:1:") && e.contains("[secrets]"),
            "{e}"
        );
    }
}
