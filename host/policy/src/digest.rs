//! [`PolicyDigest`]: the sha256 of the policy in force, computed once when the policy is read
//! and recorded on every call record of the audit log.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// The digest of the deny-all policy in force when no policy file is given: the sha256 of no
/// bytes at all, which is also the digest of an empty policy file (that grants nothing either).
pub const DENY_ALL_DIGEST: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// The hex sha256 of a policy file's bytes as loaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct PolicyDigest(String);

impl PolicyDigest {
    /// The digest of policy text.
    pub fn of(bytes: &[u8]) -> PolicyDigest {
        PolicyDigest(hex::encode(Sha256::digest(bytes)))
    }

    /// As 64 lowercase hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for PolicyDigest {
    /// [`DENY_ALL_DIGEST`].
    fn default() -> PolicyDigest {
        PolicyDigest(DENY_ALL_DIGEST.to_string())
    }
}

impl std::fmt::Display for PolicyDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Policy;
    use std::path::Path;

    #[test]
    fn deny_all_is_the_digest_of_no_bytes() {
        assert_eq!(PolicyDigest::of(b"").as_str(), DENY_ALL_DIGEST);
        assert_eq!(Policy::deny_all().digest().as_str(), DENY_ALL_DIGEST);
        let empty = Policy::parse("", "p.toml", Path::new("."), false).unwrap();
        assert_eq!(empty.digest(), Policy::deny_all().digest());
    }

    #[test]
    fn the_digest_is_of_the_bytes_and_changes_with_them() {
        let src = "[defaults]\ntimeout_ms = 5000\n";
        let p = Policy::parse(src, "p.toml", Path::new("."), false).unwrap();
        assert_eq!(p.digest(), &PolicyDigest::of(src.as_bytes()));
        // Even a change that means the same (a comment) is another policy file.
        let q = Policy::parse(&format!("# v2\n{src}"), "p.toml", Path::new("."), false).unwrap();
        assert_ne!(p.digest(), q.digest());
    }

    #[test]
    fn a_loaded_file_has_the_digest_of_its_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("policy.toml");
        let src = "[audit]\npayloads = \"raw\"\n";
        std::fs::write(&path, src).unwrap();
        let p = Policy::load(&path).unwrap();
        assert_eq!(
            p.digest().as_str(),
            PolicyDigest::of(src.as_bytes()).as_str()
        );
    }
}
