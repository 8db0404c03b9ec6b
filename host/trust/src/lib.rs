//! spud's trust chain, the pure part: where a component comes from ([`Source`], [`OciRef`]),
//! what was pinned and approved ([`LockFile`], `spud.lock` in the home), and keyed signatures
//! laid out as cosign lays them out ([`sign`], [`verify`]).
//!
//! No network and no file I/O here: the host pulls and pushes, this crate decides.
//!
//! # Module order
//!
//! 1. `reference`: `oci://` and `https://` sources;
//! 2. `lock`: the lock file and what a pull is checked against;
//! 3. `signature`: keys, the simple-signing payload, sign and verify.

#![warn(missing_docs)]

mod lock;
mod reference;
mod signature;

pub use lock::{Approval, LockEntry, LockError, LockFile, Moved};
pub use reference::{OciRef, RefError, Source};
pub use signature::{
    generate, sign, signature_tag, verify, KeyError, KeyPair, PublicKey, SignatureError, Signed,
    SimpleSigning, SIGNATURE_ANNOTATION, SIMPLE_SIGNING_MEDIA_TYPE,
};

/// `sha256:` + the hex sha256 of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

/// Whether `s` is `sha256:` followed by 64 lower-case hex digits.
pub fn is_sha256_digest(s: &str) -> bool {
    s.strip_prefix("sha256:").is_some_and(|h| {
        h.len() == 64
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}
