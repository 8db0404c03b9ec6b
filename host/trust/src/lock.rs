//! `spud.lock`: per plugin, where it came from, what it resolved to, who signed it and which
//! digest the operator approved. TOML, one table per plugin, so a change reads as a diff:
//!
//! ```toml
//! version = 1
//!
//! [plugins.fs]
//! source = "oci://127.0.0.1:5000/acme/fs:1.0"
//! digest = "sha256:…"            # the component
//! manifest_digest = "sha256:…"   # the OCI manifest the tag resolved to
//! signer = "acme"
//! approval = { digest = "sha256:…", by = "cli", unix_ms = 1764638400000 }
//! ```

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A lock file that cannot be used, or a pull it refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LockError {
    /// The file does not parse.
    #[error("the lock file {file} is malformed: {reason}")]
    Malformed {
        /// The file.
        file: String,
        /// The parser's message.
        reason: String,
    },
    /// `--locked` and the digest differs from the lock.
    #[error("`{plugin}` is locked at {locked} but {origin} resolves to {got}: refused under --locked (drop --locked and approve the new digest with `spud tools approve {plugin} {got}` to move on)")]
    Differs {
        /// The plugin.
        plugin: String,
        /// The source that was resolved.
        origin: String,
        /// The locked digest.
        locked: String,
        /// The new digest.
        got: String,
    },
    /// `--locked` and the plugin has no lock record.
    #[error("`{plugin}` has no record in the lock file: refused under --locked")]
    NotLocked {
        /// The plugin.
        plugin: String,
    },
}

/// Who approved which digest, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    /// The component digest approved (`sha256:…`).
    pub digest: String,
    /// Who approved it (the principal that ran the command).
    pub by: String,
    /// When, ms since the Unix epoch.
    pub unix_ms: u64,
}

/// One plugin's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockEntry {
    /// Where it came from (a file path, `oci://…`, `https://…`).
    pub source: String,
    /// The registered component's digest (`sha256:…`).
    pub digest: String,
    /// The OCI manifest digest the source resolved to, for OCI sources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest_digest: Option<String>,
    /// The policy key name whose signature verified, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
    /// The approved digest; when it differs from `digest`, calls are denied until approved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<Approval>,
}

impl LockEntry {
    /// Whether the registered digest is the approved one.
    pub fn approved(&self) -> bool {
        self.approval
            .as_ref()
            .is_some_and(|a| a.digest == self.digest)
    }
}

/// A tag that now resolves to another artifact than the lock recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    /// The source.
    pub source: String,
    /// What the lock recorded.
    pub old: String,
    /// What it resolves to now.
    pub new: String,
}

impl std::fmt::Display for Moved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} moved: {} -> {}", self.source, self.old, self.new)
    }
}

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockFile {
    /// Format version (1).
    #[serde(default = "one")]
    pub version: u32,
    /// Records by plugin name.
    #[serde(default)]
    pub plugins: BTreeMap<String, LockEntry>,
}

fn one() -> u32 {
    1
}

impl LockFile {
    /// Parses the file's text; `file` names it in errors.
    pub fn parse(src: &str, file: &str) -> Result<LockFile, LockError> {
        toml::from_str(src).map_err(|e| LockError::Malformed {
            file: file.to_string(),
            reason: e.to_string(),
        })
    }

    /// The file's text.
    pub fn to_toml(&self) -> String {
        let mut out = String::from("# spud.lock: written by spud; what each plugin resolved to and which digest was approved.\n");
        // Serializing plain strings, numbers and tables cannot fail.
        let versioned = LockFile {
            version: self.version.max(1),
            plugins: self.plugins.clone(),
        };
        out.push_str(&toml::to_string_pretty(&versioned).unwrap_or_default());
        out
    }

    /// Under `--locked`: `digest` must be the one recorded for `plugin`.
    pub fn check_locked(&self, plugin: &str, source: &str, digest: &str) -> Result<(), LockError> {
        let rec = self
            .plugins
            .get(plugin)
            .ok_or_else(|| LockError::NotLocked {
                plugin: plugin.to_string(),
            })?;
        if rec.digest != digest {
            return Err(LockError::Differs {
                plugin: plugin.to_string(),
                origin: source.to_string(),
                locked: rec.digest.clone(),
                got: digest.to_string(),
            });
        }
        Ok(())
    }

    /// The same source now resolving to another OCI manifest (or, for other sources, another
    /// component digest) than recorded for `plugin`.
    pub fn moved(&self, plugin: &str, source: &str, resolved: &str) -> Option<Moved> {
        let rec = self.plugins.get(plugin)?;
        let old = rec.manifest_digest.as_deref().unwrap_or(&rec.digest);
        (rec.source == source && old != resolved).then(|| Moved {
            source: source.to_string(),
            old: old.to_string(),
            new: resolved.to_string(),
        })
    }

    /// Whether calls to `plugin` at `digest` are approved: `None` when the lock has no record
    /// of the plugin (registered before spud kept a lock).
    pub fn approved(&self, plugin: &str, digest: &str) -> Option<bool> {
        let rec = self.plugins.get(plugin)?;
        Some(rec.digest == digest && rec.approved())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(c: char) -> String {
        format!("sha256:{}", c.to_string().repeat(64))
    }

    fn sample() -> LockFile {
        let mut l = LockFile {
            version: 1,
            ..LockFile::default()
        };
        l.plugins.insert(
            "fs".into(),
            LockEntry {
                source: "oci://127.0.0.1:5000/acme/fs:1".into(),
                digest: d('a'),
                manifest_digest: Some(d('m')),
                signer: Some("acme".into()),
                approval: Some(Approval {
                    digest: d('a'),
                    by: "cli".into(),
                    unix_ms: 7,
                }),
            },
        );
        l
    }

    #[test]
    fn round_trips_as_readable_toml() {
        let l = sample();
        let text = l.to_toml();
        assert!(text.contains("[plugins.fs]"), "{text}");
        assert!(text.contains("signer = \"acme\""), "{text}");
        assert_eq!(LockFile::parse(&text, "spud.lock").unwrap(), l);
        assert!(matches!(
            LockFile::parse("plugins = 3", "spud.lock"),
            Err(LockError::Malformed { .. })
        ));
    }

    #[test]
    fn locked_refuses_another_digest_and_an_unknown_plugin() {
        let l = sample();
        assert!(l.check_locked("fs", "s", &d('a')).is_ok());
        let e = l.check_locked("fs", "s", &d('b')).unwrap_err();
        assert!(
            e.to_string()
                .contains(&format!("spud tools approve fs {}", d('b'))),
            "{e}"
        );
        assert!(matches!(
            l.check_locked("x", "s", &d('a')),
            Err(LockError::NotLocked { .. })
        ));
    }

    #[test]
    fn a_moved_tag_is_reported_old_to_new() {
        let l = sample();
        let src = "oci://127.0.0.1:5000/acme/fs:1";
        assert_eq!(l.moved("fs", src, &d('m')), None);
        let m = l.moved("fs", src, &d('n')).unwrap();
        assert_eq!(
            (m.old.as_str(), m.new.as_str()),
            (d('m').as_str(), d('n').as_str())
        );
        assert_eq!(l.moved("fs", "other", &d('n')), None);
    }

    #[test]
    fn approval_follows_the_digest() {
        let mut l = sample();
        assert_eq!(l.approved("fs", &d('a')), Some(true));
        assert_eq!(l.approved("fs", &d('b')), Some(false));
        assert_eq!(l.approved("nope", &d('a')), None);
        if let Some(r) = l.plugins.get_mut("fs") {
            r.digest = d('b');
        }
        assert_eq!(l.approved("fs", &d('b')), Some(false));
    }
}
