//! Where a component comes from: a local file, an OCI artifact (`oci://HOST[:PORT]/REPO:TAG`
//! or `…@sha256:DIGEST`) or an `https://` URL (with the digest it must have).

use crate::is_sha256_digest;
use std::fmt;

/// A source that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefError {
    /// Not `oci://HOST[:PORT]/REPO[:TAG][@sha256:DIGEST]`.
    #[error("`{reference}` is not an OCI reference: {why}; write oci://HOST[:PORT]/REPO:TAG or oci://HOST[:PORT]/REPO@sha256:DIGEST")]
    Oci {
        /// What was given.
        reference: String,
        /// What is wrong.
        why: String,
    },
    /// An `https://` URL without `--sha256`, or with a malformed one.
    #[error("`{url}` needs the digest it must have: pass --sha256 HEX (64 hex digits)")]
    HttpsDigest {
        /// The URL.
        url: String,
    },
    /// Plain `http://` (only loopback registries speak plain HTTP, and only over `oci://`).
    #[error("`{0}`: plain http:// is not accepted; use https:// with --sha256, or oci://")]
    PlainHttp(String),
}

/// An OCI reference: registry, repository, and a tag and/or a digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OciRef {
    /// `HOST[:PORT]`.
    pub registry: String,
    /// `path/to/repo` (lower-case, `a-z0-9._-/`).
    pub repository: String,
    /// The tag, if one was named.
    pub tag: Option<String>,
    /// `sha256:…`, if one was named.
    pub digest: Option<String>,
}

impl OciRef {
    /// Parses `oci://HOST[:PORT]/REPO[:TAG][@sha256:DIGEST]` (the `oci://` is optional).
    pub fn parse(text: &str) -> Result<OciRef, RefError> {
        let bad = |why: &str| RefError::Oci {
            reference: text.to_string(),
            why: why.to_string(),
        };
        let rest = text.strip_prefix("oci://").unwrap_or(text);
        let (rest, digest) = match rest.split_once('@') {
            Some((r, d)) if is_sha256_digest(d) => (r, Some(d.to_string())),
            Some(_) => {
                return Err(bad(
                    "the digest must be sha256: and 64 lower-case hex digits",
                ))
            }
            None => (rest, None),
        };
        let (registry, path) = rest
            .split_once('/')
            .ok_or_else(|| bad("no repository after the registry"))?;
        if registry.is_empty()
            || !registry
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        {
            return Err(bad("the registry must be HOST or HOST:PORT"));
        }
        let (repository, tag) = match path.rsplit_once(':') {
            Some((r, t)) => (r, Some(t.to_string())),
            None => (path, None),
        };
        if let Some(t) = &tag {
            let ok = !t.is_empty()
                && t.len() <= 128
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
            if !ok {
                return Err(bad("a tag is letters, digits, `.`, `_` and `-`"));
            }
        }
        let repo_ok = !repository.is_empty()
            && repository.split('/').all(|c| {
                !c.is_empty()
                    && c.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b)
                    })
            });
        if !repo_ok {
            return Err(bad(
                "the repository is lower-case letters, digits, `.`, `_`, `-` and `/`",
            ));
        }
        if tag.is_none() && digest.is_none() {
            return Err(bad("name a tag (`:TAG`) or a digest (`@sha256:…`)"));
        }
        Ok(OciRef {
            registry: registry.to_string(),
            repository: repository.to_string(),
            tag,
            digest,
        })
    }

    /// Whether the registry is on this machine (`127.0.0.1`, `localhost`, `[::1]`): only then is
    /// plain HTTP spoken.
    pub fn is_loopback(&self) -> bool {
        let host = match self.registry.rsplit_once(':') {
            Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => self.registry.as_str(),
        };
        host == "localhost" || host == "[::1]" || host.starts_with("127.")
    }

    /// The same artifact pinned at `digest` (the tag kept for the record).
    pub fn at_digest(&self, digest: &str) -> OciRef {
        OciRef {
            digest: Some(digest.to_string()),
            ..self.clone()
        }
    }

    /// The same repository at another tag (no digest).
    pub fn with_tag(&self, tag: &str) -> OciRef {
        OciRef {
            tag: Some(tag.to_string()),
            digest: None,
            ..self.clone()
        }
    }

    /// `HOST[:PORT]/REPO`, the identity a signature names.
    pub fn repository_name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }
}

impl fmt::Display for OciRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "oci://{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// Where a component is taken from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A file on this machine.
    File(String),
    /// An OCI artifact.
    Oci(OciRef),
    /// An `https://` URL and the `sha256:…` digest its body must have.
    Https {
        /// The URL.
        url: String,
        /// `sha256:…`.
        digest: String,
    },
}

impl Source {
    /// Parses what `spud tools add` was given: `oci://…`, `https://…` (with `sha256`, the hex
    /// digest it must have) or a file path.
    pub fn parse(text: &str, sha256: Option<&str>) -> Result<Source, RefError> {
        if text.starts_with("oci://") {
            return OciRef::parse(text).map(Source::Oci);
        }
        if text.starts_with("http://") {
            return Err(RefError::PlainHttp(text.to_string()));
        }
        if text.starts_with("https://") {
            let digest = sha256
                .map(|h| {
                    let h = h.strip_prefix("sha256:").unwrap_or(h);
                    format!("sha256:{h}")
                })
                .filter(|d| is_sha256_digest(d))
                .ok_or_else(|| RefError::HttpsDigest {
                    url: text.to_string(),
                })?;
            return Ok(Source::Https {
                url: text.to_string(),
                digest,
            });
        }
        Ok(Source::File(text.to_string()))
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::File(p) => write!(f, "{p}"),
            Source::Oci(r) => write!(f, "{r}"),
            Source::Https { url, .. } => write!(f, "{url}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn parses_tags_digests_and_ports() {
        let r = OciRef::parse("oci://127.0.0.1:5000/acme/fs:1.0").unwrap();
        assert_eq!(r.registry, "127.0.0.1:5000");
        assert_eq!(r.repository, "acme/fs");
        assert_eq!(r.tag.as_deref(), Some("1.0"));
        assert!(r.is_loopback());
        let r = OciRef::parse(&format!("oci://reg.example.com/fs@{D}")).unwrap();
        assert_eq!(r.digest.as_deref(), Some(D));
        assert_eq!(r.tag, None);
        assert!(!r.is_loopback());
        assert_eq!(r.to_string(), format!("oci://reg.example.com/fs@{D}"));
        let r = OciRef::parse(&format!("oci://localhost:80/a/b:v2@{D}")).unwrap();
        assert_eq!(r.to_string(), format!("oci://localhost:80/a/b:v2@{D}"));
        assert!(r.is_loopback());
    }

    #[test]
    fn refuses_malformed_references() {
        for bad in [
            "oci://host",
            "oci://host/Repo:1",
            "oci://host/repo",
            "oci://host/repo@sha256:12",
            "oci:///repo:1",
            "oci://host/repo:bad tag",
            "oci://host//repo:1",
        ] {
            assert!(OciRef::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn https_needs_a_digest_and_plain_http_is_refused() {
        assert!(matches!(
            Source::parse("https://x.test/a.wasm", None),
            Err(RefError::HttpsDigest { .. })
        ));
        assert!(matches!(
            Source::parse("https://x.test/a.wasm", Some("12")),
            Err(RefError::HttpsDigest { .. })
        ));
        let hex = &D["sha256:".len()..];
        assert_eq!(
            Source::parse("https://x.test/a.wasm", Some(hex)).unwrap(),
            Source::Https {
                url: "https://x.test/a.wasm".into(),
                digest: D.into()
            }
        );
        assert!(matches!(
            Source::parse("http://x.test/a.wasm", Some(hex)),
            Err(RefError::PlainHttp(_))
        ));
        assert_eq!(
            Source::parse("plugins/fs.wasm", None).unwrap(),
            Source::File("plugins/fs.wasm".into())
        );
    }
}
