//! Bearer tokens → principals. Tokens are read once at start (from the variables the policy
//! names) and kept only as SHA-256 digests; a presented token is hashed and compared with every
//! principal's digest in constant time. Tokens are never logged.

use super::options::ServeError;
use crate::service::Caller;
use sha2::{Digest, Sha256};
use spud_policy::{Policy, Principal, TokenSource};
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// The principals of a policy with their token digests.
pub struct Tokens {
    entries: Vec<([u8; 32], Arc<Principal>)>,
}

impl Tokens {
    /// Resolves every principal's token. `env` looks a variable up (the process environment in
    /// `spud serve`).
    pub fn from_policy(
        policy: &Policy,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Tokens, ServeError> {
        let mut entries: Vec<([u8; 32], Arc<Principal>)> = Vec::new();
        for p in policy.principals.values() {
            let digest = match &p.token {
                TokenSource::Sha256(d) => *d,
                TokenSource::Env(var) => match env(var).filter(|t| !t.is_empty()) {
                    Some(token) => Sha256::digest(token.as_bytes()).into(),
                    None => {
                        return Err(ServeError::MissingToken {
                            principal: p.name.clone(),
                            variable: var.clone(),
                        })
                    }
                },
            };
            if let Some((_, other)) = entries.iter().find(|(d, _)| *d == digest) {
                return Err(ServeError::SharedToken(other.name.clone(), p.name.clone()));
            }
            entries.push((digest, Arc::new(p.clone())));
        }
        Ok(Tokens { entries })
    }

    /// How many principals can authenticate.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no principal can authenticate.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The principal whose token this is. Every digest is compared, whatever matches.
    pub fn authenticate(&self, token: &str) -> Option<Caller> {
        let presented: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let mut found = None;
        for (digest, principal) in &self.entries {
            if bool::from(digest.ct_eq(&presented)) {
                found = Some(principal.clone());
            }
        }
        found.map(Caller::principal)
    }

    /// The token in an `Authorization: Bearer TOKEN` header value.
    pub fn bearer(header: Option<&http::HeaderValue>) -> Option<&str> {
        let value = header?.to_str().ok()?;
        let (scheme, token) = value.split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim())
            .filter(|t| !t.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn tokens_map_to_principals() {
        let hash = hex::encode(Sha256::digest(b"s3cret-b"));
        let src = format!(
            "[principals.a]\ntoken_env = \"TOKEN_A\"\ntools = [\"*\"]\n[principals.b]\ntoken_sha256 = \"{hash}\"\n"
        );
        let policy = Policy::parse(&src, "p.toml", Path::new("/"), false).unwrap();
        let env = |v: &str| (v == "TOKEN_A").then(|| "s3cret-a".to_string());
        let tokens = Tokens::from_policy(&policy, env).unwrap();
        assert_eq!(tokens.authenticate("s3cret-a").unwrap().principal, "a");
        assert_eq!(tokens.authenticate("s3cret-b").unwrap().principal, "b");
        assert!(tokens.authenticate("s3cret-c").is_none());
        assert!(tokens.authenticate("").is_none());

        let missing = Tokens::from_policy(&policy, |_| None)
            .err()
            .unwrap()
            .to_string();
        assert!(
            missing.contains("TOKEN_A") && missing.contains("`a`"),
            "{missing}"
        );
        let same = Tokens::from_policy(&policy, |_| Some("s3cret-b".into()))
            .err()
            .unwrap()
            .to_string();
        assert!(same.contains("same token"), "{same}");
    }

    #[test]
    fn bearer_header() {
        let h = |s: &str| http::HeaderValue::from_str(s).unwrap();
        assert_eq!(Tokens::bearer(Some(&h("Bearer abc"))), Some("abc"));
        assert_eq!(Tokens::bearer(Some(&h("bearer  abc "))), Some("abc"));
        assert_eq!(Tokens::bearer(Some(&h("Basic abc"))), None);
        assert_eq!(Tokens::bearer(Some(&h("Bearer "))), None);
        assert_eq!(Tokens::bearer(None), None);
    }
}
