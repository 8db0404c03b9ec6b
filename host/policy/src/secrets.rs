//! Registered secrets: the optional `[secrets]` policy section and a [`Secrets`] redactor.
//!
//! ```toml
//! [secrets]
//! patterns = ["sk-[A-Za-z0-9]{20,}", "ghp_[A-Za-z0-9]{36}"]  # regular expressions
//! env = ["DB_PASSWORD"]                                     # values of these variables
//! files = ["keys/deploy.key"]                               # contents of these files
//! ```
//!
//! The values of environment variables granted to tools are secrets too; the host adds them
//! with [`Secrets::with_values`]. [`Secrets::redact`] is pure, so it can guard anything that
//! leaves spud: stored memory, outbound requests, logs. Values are found as written and in
//! common encodings, by the one [`Scanner`] outbound requests are scanned with too.

use crate::scan::Scanner;
use serde::{Deserialize, Serialize};

/// What replaces a secret.
pub const REDACTED: &str = "[REDACTED]";

/// Values shorter than this are not redacted as literal values (they would match everywhere).
pub const MIN_VALUE_LEN: usize = 4;

/// The `[secrets]` section as written (patterns are checked when the policy is parsed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretsSection {
    /// Regular expressions (Rust `regex` syntax) whose matches are secrets.
    #[serde(default)]
    pub patterns: Vec<String>,
    /// Environment variables whose values are secrets.
    #[serde(default)]
    pub env: Vec<String>,
    /// Files whose contents (without a trailing newline) are secrets, e.g. key files; relative
    /// paths are taken from the policy's folder. A secret file is named by its path as written.
    #[serde(default)]
    pub files: Vec<String>,
    /// Per secret name (an environment variable), the `scheme://host[:port]` patterns it may
    /// be sent to; secrets not listed may be sent nowhere.
    #[serde(default)]
    pub allow: std::collections::BTreeMap<String, Vec<String>>,
    /// What happens to an outbound request that carries a secret where it may not go.
    #[serde(default)]
    pub on_leak: OnLeak,
    /// The most of a request body held back and scanned before it is sent; a larger body is
    /// refused while secrets are registered (it cannot be scanned). Default 8 MiB.
    #[serde(default = "default_scan_bytes")]
    pub max_scan_bytes: u64,
}

impl Default for SecretsSection {
    fn default() -> Self {
        SecretsSection {
            patterns: Vec::new(),
            env: Vec::new(),
            files: Vec::new(),
            allow: Default::default(),
            on_leak: OnLeak::default(),
            max_scan_bytes: default_scan_bytes(),
        }
    }
}

fn default_scan_bytes() -> u64 {
    8 << 20
}

/// `[secrets] on_leak`: block the request (default), or let it go and record the leak (to
/// observe a new policy before enforcing it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnLeak {
    /// Refuse the request; it is recorded as a prevented leak.
    #[default]
    Block,
    /// Send it; it is recorded as a leak that reached its destination.
    Record,
}

/// A pattern that is not a valid regular expression.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("secret pattern `{pattern}` is not a valid regular expression ({reason}); fix or remove it in [secrets] patterns")]
pub struct SecretPatternError {
    /// The pattern.
    pub pattern: String,
    /// The regex error.
    pub reason: String,
}

/// Compiled secrets: patterns and literal values, replaced by [`REDACTED`].
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    patterns: Vec<regex::Regex>,
    values: Vec<String>,
    scanner: Scanner,
}

impl Secrets {
    /// Compiles `patterns`.
    pub fn new(patterns: &[String]) -> Result<Secrets, SecretPatternError> {
        let mut compiled = Vec::with_capacity(patterns.len());
        for p in patterns {
            compiled.push(regex::Regex::new(p).map_err(|e| SecretPatternError {
                pattern: p.clone(),
                reason: e.to_string(),
            })?);
        }
        Ok(Secrets {
            patterns: compiled,
            values: Vec::new(),
            scanner: Scanner::default(),
        })
    }

    /// The section's patterns plus the values `lookup` gives for its `env` names.
    pub fn from_section(
        section: &SecretsSection,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Secrets, SecretPatternError> {
        let values = section.env.iter().filter_map(|n| lookup(n));
        Ok(Secrets::new(&section.patterns)?.with_values(values))
    }

    /// Adds literal secret values (empty and very short ones are ignored).
    pub fn with_values(mut self, values: impl IntoIterator<Item = String>) -> Secrets {
        self.values
            .extend(values.into_iter().filter(|v| v.len() >= MIN_VALUE_LEN));
        self.values.sort();
        self.values.dedup();
        self.scanner = Scanner::new(&self.values);
        self
    }

    /// True when nothing is registered.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty() && self.values.is_empty()
    }

    /// True when `text` contains a registered secret.
    pub fn contains_secret(&self, text: &str) -> bool {
        self.scanner.contains(text) || self.patterns.iter().any(|p| p.is_match(text))
    }

    /// `value` with its secrets redacted, or `None` when it carries none. A redaction that
    /// breaks the JSON (a pattern spanning a quote) gives the redacted text as a string.
    pub fn redact_json(&self, value: &serde_json::Value) -> Option<serde_json::Value> {
        if self.is_empty() {
            return None;
        }
        let text = value.to_string();
        if !self.contains_secret(&text) {
            return None;
        }
        let clean = self.redact(&text);
        Some(serde_json::from_str(&clean).unwrap_or(serde_json::Value::String(clean)))
    }

    /// Where `text` carries a registered secret: every value in every form, every pattern
    /// match (byte ranges on character boundaries, overlapping ones included).
    pub fn spans(&self, text: &str) -> Vec<std::ops::Range<usize>> {
        let mut out: Vec<std::ops::Range<usize>> = self
            .scanner
            .hits(text)
            .into_iter()
            .map(|h| h.span)
            .collect();
        for p in &self.patterns {
            out.extend(p.find_iter(text).map(|m| m.range()));
        }
        out
    }

    /// Bytes of the longest form of a registered value (0 with none).
    pub fn longest_value(&self) -> usize {
        self.scanner.longest()
    }

    /// True when patterns (regular expressions) are registered: their matches have no
    /// length limit.
    pub fn has_patterns(&self) -> bool {
        !self.patterns.is_empty()
    }

    /// `text` with every value (in any form the scanner knows; overlapping ones as one) and
    /// every pattern match replaced by [`REDACTED`].
    pub fn redact(&self, text: &str) -> String {
        let mut out = self.scanner.redact(text, REDACTED);
        for p in &self.patterns {
            if let std::borrow::Cow::Owned(s) = p.replace_all(&out, REDACTED) {
                out = s;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_patterns_and_values() {
        let s = Secrets::new(&["sk-[a-z0-9]{8,}".to_string()])
            .unwrap()
            .with_values(["hunter22".to_string(), "ab".to_string()]);
        assert_eq!(
            s.redact("key sk-abcdef123 pw hunter22 ab"),
            "key [REDACTED] pw [REDACTED] ab"
        );
        assert!(s.contains_secret("xx hunter22"));
        assert_eq!(
            s.redact_json(&serde_json::json!({"k": ["hunter22", 1]})),
            Some(serde_json::json!({"k": ["[REDACTED]", 1]}))
        );
        assert_eq!(s.redact_json(&serde_json::json!({"k": "ok"})), None);
        assert!(!s.contains_secret("nothing here"));
        assert_eq!(s.redact("plain"), "plain");
    }

    #[test]
    fn longest_value_first_and_env_lookup() {
        let section = SecretsSection {
            patterns: vec![],
            env: vec!["A".into(), "MISSING".into()],
            ..SecretsSection::default()
        };
        let s = Secrets::from_section(&section, |n| (n == "A").then(|| "secret".to_string()))
            .unwrap()
            .with_values(["secret-long".to_string()]);
        assert_eq!(s.redact("secret-long secret"), "[REDACTED] [REDACTED]");
    }

    #[test]
    fn bad_pattern_is_a_typed_error() {
        let e = Secrets::new(&["(".to_string()]).unwrap_err();
        assert_eq!(e.pattern, "(");
        assert!(e.to_string().contains("[secrets]"));
    }
}
