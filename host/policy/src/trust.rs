//! Who the operator trusts to publish components: `[keys.NAME] public_key = "FILE"` (a PEM
//! public key, relative to the policy file) and `[trust] signed_by = ["NAME", …]`, the default
//! for plugins whose `[tools.NAME]` section names no `signed_by` of its own.
//!
//! ```toml
//! [keys.acme]
//! public_key = "keys/acme.pub"
//!
//! [trust]
//! signed_by = ["acme"]
//! ```

use crate::section::{At, PolicyError};
use serde::{Deserialize, Serialize};
use spud_trust::PublicKey;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// A trusted publisher key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrustedKey {
    /// The public key file.
    pub file: PathBuf,
    /// The key (read when the policy is loaded from a file).
    #[serde(skip)]
    pub key: Option<PublicKey>,
}

/// The `[trust]` section.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TrustSection {
    /// Keys one of which must have signed every component whose section names none.
    pub signed_by: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawKey {
    public_key: Spanned<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTrust {
    #[serde(default)]
    signed_by: Vec<Spanned<String>>,
}

/// Reads every `[keys.NAME]` file (with `check_files`): unreadable or malformed is an error at
/// its `public_key` line.
pub(crate) fn resolve_keys(
    raw: BTreeMap<String, RawKey>,
    at: &At<'_>,
    base: &Path,
    check_files: bool,
) -> Result<BTreeMap<String, TrustedKey>, PolicyError> {
    let mut keys = BTreeMap::new();
    for (name, k) in raw {
        let file = base.join(k.public_key.get_ref());
        let offset = k.public_key.span().start;
        let key = if check_files {
            let text = std::fs::read_to_string(&file).map_err(|e| {
                at(
                    offset,
                    format!(
                        "[keys.{name}] public key file `{}` cannot be read: {e}",
                        file.display()
                    ),
                )
            })?;
            let key = PublicKey::from_pem(&text).map_err(|e| {
                at(
                    offset,
                    format!(
                        "[keys.{name}] public key file `{}` is malformed: {e}",
                        file.display()
                    ),
                )
            })?;
            Some(key)
        } else {
            None
        };
        keys.insert(name, TrustedKey { file, key });
    }
    Ok(keys)
}

/// `[trust]`, its key names checked against `[keys]`.
pub(crate) fn resolve_trust(
    raw: RawTrust,
    keys: &BTreeMap<String, TrustedKey>,
    at: &At<'_>,
) -> Result<TrustSection, PolicyError> {
    check_signers(&raw.signed_by, keys, at, "[trust]")?;
    Ok(TrustSection {
        signed_by: raw.signed_by.into_iter().map(Spanned::into_inner).collect(),
    })
}

/// Every name in a `signed_by` list must be a `[keys.NAME]`.
pub(crate) fn check_signers(
    names: &[Spanned<String>],
    keys: &BTreeMap<String, TrustedKey>,
    at: &At<'_>,
    section: &str,
) -> Result<(), PolicyError> {
    for n in names {
        if !keys.contains_key(n.get_ref()) {
            return Err(at(
                n.span().start,
                format!(
                    "{section} signed_by names key `{0}`, which no [keys.{0}] section defines; add `[keys.{0}] public_key = \"FILE.pub\"`",
                    n.get_ref()
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::{Policy, PolicyError};
    use std::path::Path;

    fn parse_in(dir: &Path, src: &str) -> Result<Policy, PolicyError> {
        Policy::parse(src, "policy.toml", dir, true)
    }

    #[test]
    fn keys_are_read_and_signers_resolved() {
        let dir = std::env::temp_dir().join(format!("spud-policy-keys-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("keys")).unwrap();
        let pair = spud_trust::generate().unwrap();
        std::fs::write(dir.join("keys/acme.pub"), &pair.public_pem).unwrap();
        std::fs::write(dir.join("keys/bad.pub"), "junk").unwrap();
        let ok = "[keys.acme]\npublic_key = \"keys/acme.pub\"\n[trust]\nsigned_by = [\"acme\"]\n[tools.fs]\n[tools.x]\nsigned_by = [\"acme\"]\ndigest = \"sha256:".to_string() + &"a".repeat(64) + "\"\n";
        let p = parse_in(&dir, &ok).unwrap();
        assert_eq!(p.signers_for("fs"), vec!["acme"]);
        assert_eq!(p.trusted_keys(&p.signers_for("x")).len(), 1);
        assert!(p.tools["x"].digest.is_some());
        let e = parse_in(&dir, "[keys.bad]\npublic_key = \"keys/bad.pub\"\n").unwrap_err();
        assert!(
            e.to_string().starts_with("policy.toml:2:14:") && e.to_string().contains("malformed"),
            "{e}"
        );
        let e = parse_in(&dir, "[keys.gone]\npublic_key = \"keys/gone.pub\"\n").unwrap_err();
        assert!(e.to_string().contains("cannot be read"), "{e}");
        let e = parse_in(&dir, "[tools.fs]\nsigned_by = [\"nobody\"]\n").unwrap_err();
        assert!(
            e.to_string().starts_with("policy.toml:2:") && e.to_string().contains("[keys.nobody]"),
            "{e}"
        );
        let e = parse_in(&dir, "[tools.fs]\ndigest = \"md5:1\"\n").unwrap_err();
        assert!(e.to_string().contains("sha256:"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
