//! Where registered secrets may go, pure: a [`LeakGuard`] finds the secrets an outbound message
//! (URL, headers, body) carries and says which of them may not go to its destination. Named
//! secrets (environment variables) may go only where `[secrets.allow]` lists; secrets matched by
//! a pattern may go nowhere.
//!
//! ```toml
//! [secrets]
//! env = ["GITHUB_TOKEN"]
//! patterns = ["sk-[A-Za-z0-9]{20,}"]
//! [secrets.allow]
//! GITHUB_TOKEN = ["https://api.github.com"]
//! ```
//!
//! A guard also redacts what it finds, so a refused URL never reaches a log or a trace. Values
//! are found as written and in the encodings listed in [`Scanner`] (base64, hex,
//! percent-encoding, JSON escapes, reversed), by the same scanner that redacts outputs and
//! traces.

use crate::caps::EnvGrant;
use crate::network::{NetPattern, Scheme};
use crate::policy::Policy;
use crate::scan::Scanner;
use crate::secrets::{OnLeak, MIN_VALUE_LEN, REDACTED};

/// One named secret and where it may go.
#[derive(Debug, Clone)]
struct Named {
    name: String,
    value: String,
    allowed: Vec<NetPattern>,
    credential: bool,
}

/// A secret an outbound message carries where it may not go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The secret's name: its environment variable, or `pattern <regex>`.
    pub secret: String,
    /// Where it may go (`scheme://host[:port]` patterns); empty: nowhere.
    pub allowed: Vec<String>,
    /// Whether it is a `[credentials.NAME]` value (its `destinations` say where it may go),
    /// not a `[secrets]` one (`[secrets.allow]` does).
    pub credential: bool,
}

/// Finds secrets in outbound messages.
#[derive(Debug, Clone, Default)]
pub struct LeakGuard {
    named: Vec<Named>,
    /// The named values' scanner (index = index in `named`).
    scanner: Scanner,
    patterns: Vec<(String, regex::Regex)>,
    /// Block or only record.
    pub on_leak: OnLeak,
    /// The most of a request body scanned; a larger one is refused.
    pub max_scan_bytes: u64,
}

impl LeakGuard {
    /// The guard for `policy`: its `[secrets]` env names and every environment variable granted
    /// to a tool (values from `lookup` for passed-through ones), and its patterns.
    pub fn new(policy: &Policy, lookup: impl Fn(&str) -> Option<String>) -> LeakGuard {
        let section = &policy.secrets;
        let patterns = section
            .patterns
            .iter()
            .filter_map(|p| regex::Regex::new(p).ok().map(|r| (p.clone(), r)))
            .collect();
        let mut guard = LeakGuard {
            named: Vec::new(),
            scanner: Scanner::default(),
            patterns,
            on_leak: section.on_leak,
            max_scan_bytes: section.max_scan_bytes,
        };
        for n in &section.env {
            if let Some(v) = lookup(n) {
                guard = guard.with_named(n, v, policy);
            }
        }
        for t in policy.tools.values() {
            for g in &t.caps.env {
                let (name, value) = match g {
                    EnvGrant::Fixed(n, v) => (n, Some(v.clone())),
                    EnvGrant::Pass(n) => (n, lookup(n)),
                };
                if let Some(v) = value {
                    guard = guard.with_named(name, v, policy);
                }
            }
        }
        for (name, c) in &policy.credentials {
            if let crate::credentials::CredentialSource::Env(n) = &c.source {
                if let Some(v) = lookup(n) {
                    guard = guard.with_allowed(name, v, c.destinations.clone());
                }
            }
        }
        guard
    }

    /// Adds a credential's value (`[credentials.NAME]`): it may go only to `allowed`, its
    /// destinations.
    pub fn with_allowed(self, name: &str, value: String, allowed: Vec<NetPattern>) -> Self {
        self.add(name, value, allowed, true)
    }

    fn add(
        mut self,
        name: &str,
        value: String,
        allowed: Vec<NetPattern>,
        credential: bool,
    ) -> Self {
        let known = self
            .named
            .iter()
            .any(|n| n.name == name && n.value == value);
        if value.len() >= MIN_VALUE_LEN && !known {
            self.named.push(Named {
                name: name.to_string(),
                value,
                allowed,
                credential,
            });
            let values: Vec<&str> = self.named.iter().map(|n| n.value.as_str()).collect();
            self.scanner = Scanner::new(&values);
        }
        self
    }

    /// The secrets `text` carries that may not go to `scheme://host:port`.
    pub fn leaks(&self, text: &str, scheme: Scheme, host: &str, port: u16) -> Vec<Finding> {
        let mut out: Vec<Finding> = Vec::new();
        for n in self
            .scanner
            .found(text)
            .into_iter()
            .filter_map(|i| self.named.get(i))
        {
            if n.allowed.iter().any(|p| p.matches(scheme, host, port))
                || out.iter().any(|f| f.secret == n.name)
            {
                continue;
            }
            out.push(Finding {
                secret: n.name.clone(),
                allowed: n.allowed.iter().map(ToString::to_string).collect(),
                credential: n.credential,
            });
        }
        out.extend(
            self.patterns
                .iter()
                .filter(|(_, r)| r.is_match(text))
                .map(|(p, _)| Finding {
                    secret: format!("pattern {p}"),
                    allowed: Vec::new(),
                    credential: false,
                }),
        );
        out
    }

    /// Adds a named secret (e.g. a secret file's contents) that may go where `[secrets.allow]`
    /// lists for `name`. A name may have several values (two tools granted the same variable
    /// with different values): each is scanned for.
    pub fn with_named(self, name: &str, value: String, policy: &Policy) -> LeakGuard {
        let allowed = policy
            .secrets
            .allow
            .get(name)
            .map(|v| v.iter().filter_map(|p| p.parse().ok()).collect())
            .unwrap_or_default();
        self.add(name, value, allowed, false)
    }

    /// `text` with every registered secret replaced by [`REDACTED`].
    pub fn redact(&self, text: &str) -> String {
        let mut out = self.scanner.redact(text, REDACTED);
        for (_, r) in &self.patterns {
            if let std::borrow::Cow::Owned(s) = r.replace_all(&out, REDACTED) {
                out = s;
            }
        }
        out
    }

    /// Whether nothing is registered.
    pub fn is_empty(&self) -> bool {
        self.named.is_empty() && self.patterns.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(src: &str) -> Policy {
        Policy::parse(src, "p.toml", std::path::Path::new("."), false).unwrap()
    }

    #[test]
    fn a_named_secret_goes_only_where_it_is_allowed() {
        let p = policy(
            "[secrets]\nenv = [\"TOKEN\"]\npatterns = [\"sk-[a-z]{6}\"]\n[secrets.allow]\nTOKEN = [\"https://api.example.com\"]\n[tools.http]\nenv = [\"KEY=fixed-key-1\"]\n",
        );
        let g = LeakGuard::new(&p, |n| (n == "TOKEN").then(|| "tok-123456".to_string()));
        let https = Scheme::Https;
        assert!(g
            .leaks(
                "Authorization: Bearer tok-123456",
                https,
                "api.example.com",
                443
            )
            .is_empty());
        let names = |v: Vec<Finding>| v.into_iter().map(|f| f.secret).collect::<Vec<_>>();
        let found = g.leaks("?t=tok-123456", https, "evil.test", 443);
        assert_eq!(found[0].allowed, ["https://api.example.com"]);
        assert_eq!(names(found), ["TOKEN"]);
        assert_eq!(
            names(g.leaks("body fixed-key-1", https, "api.example.com", 443)),
            ["KEY"]
        );
        assert_eq!(
            names(g.leaks("sk-abcdef", https, "api.example.com", 443)),
            ["pattern sk-[a-z]{6}"]
        );
        assert_eq!(
            g.redact("GET https://evil.test/?t=tok-123456&k=sk-abcdef"),
            "GET https://evil.test/?t=[REDACTED]&k=[REDACTED]"
        );
        assert_eq!(g.on_leak, OnLeak::Block);
        assert!(g
            .leaks("nothing secret", https, "evil.test", 443)
            .is_empty());
    }
}

#[cfg(test)]
mod value_tests {
    use super::*;

    #[test]
    fn every_value_of_a_name_is_scanned() {
        let p = Policy::parse(
            "[tools.a]\nenv = [\"KEY=first-value\"]\n[tools.b]\nenv = [\"KEY=second-value\"]\n",
            "p.toml",
            std::path::Path::new("."),
            false,
        )
        .unwrap();
        let g = LeakGuard::new(&p, |_| None);
        for value in ["first-value", "second-value"] {
            let found = g.leaks(&format!("x={value}"), Scheme::Https, "evil.test", 443);
            assert_eq!(found.len(), 1, "{value}: {found:?}");
            assert_eq!(found[0].secret, "KEY");
        }
        let both = g.leaks("first-value second-value", Scheme::Https, "evil.test", 443);
        assert_eq!(both.len(), 1, "one finding per name: {both:?}");
        assert_eq!(
            g.redact("first-value/second-value"),
            "[REDACTED]/[REDACTED]"
        );
    }

    #[test]
    fn an_encoded_value_is_found_and_redacted() {
        let p = Policy::parse(
            "[tools.a]\nenv = [\"KEY=tok-123456\"]\n",
            "p.toml",
            std::path::Path::new("."),
            false,
        )
        .unwrap();
        let g = LeakGuard::new(&p, |_| None);
        for text in [
            "?k=dG9rLTEyMzQ1Ng",
            "746f6b2d313233343536",
            "%74ok-123456",
            "654321-kot",
        ] {
            assert_eq!(
                g.leaks(text, Scheme::Https, "evil.test", 443).len(),
                1,
                "{text}"
            );
            assert!(g.redact(text).contains(REDACTED), "{text}");
        }
    }
}

#[cfg(test)]
mod parse_tests {
    use crate::policy::Policy;

    #[test]
    fn a_bad_allow_pattern_names_its_line() {
        let e = Policy::parse(
            "[secrets]\nenv = [\"T\"]\non_leak = \"record\"\n[secrets.allow]\nT = [\"ftp://x\"]\n",
            "p.toml",
            std::path::Path::new("."),
            false,
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("p.toml:5:"), "{e}");
        assert!(e.contains("[secrets.allow] T"), "{e}");
    }
}
