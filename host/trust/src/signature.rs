//! Keyed signatures in the cosign layout: an ECDSA P-256 key pair in PEM files, a
//! "simple signing" JSON payload that names the signed OCI manifest's digest, the signature
//! (DER, base64) in the annotation [`SIGNATURE_ANNOTATION`] of the payload's layer, and that
//! signature artifact stored in the same repository at the tag [`signature_tag`]
//! (`sha256-<hex>.sig`). Verification needs only the public keys: it is offline.

use base64::Engine;
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{DerSignature, Signature, SigningKey, VerifyingKey};
use p256::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};
use serde::{Deserialize, Serialize};

/// The layer annotation that holds the base64 signature.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
/// The media type of the payload layer.
pub const SIMPLE_SIGNING_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
const SIGNATURE_TYPE: &str = "cosign container image signature";

/// A key that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Not a PEM P-256 public key (`-----BEGIN PUBLIC KEY-----`).
    #[error("not a P-256 public key in PEM (-----BEGIN PUBLIC KEY-----): {0}")]
    Public(String),
    /// Not a PEM PKCS#8 P-256 private key (`-----BEGIN PRIVATE KEY-----`).
    #[error("not a P-256 private key in PEM (-----BEGIN PRIVATE KEY-----, as `spud keys generate` writes): {0}")]
    Private(String),
}

/// A component whose signature is missing or does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No signature is stored for the artifact.
    #[error("{reference} is not signed: no signature found at its signature tag; expected one by {}", keys_text(.expected))]
    Missing {
        /// The artifact.
        reference: String,
        /// The keys the policy trusts for it.
        expected: Vec<String>,
    },
    /// Signatures exist, but none verifies with a trusted key.
    #[error("the signature of {reference} does not verify with {}: it was made with another key, or the payload was altered", keys_text(.expected))]
    DoesNotVerify {
        /// The artifact.
        reference: String,
        /// The keys tried.
        expected: Vec<String>,
    },
    /// A signature verifies, but for another artifact (swapped after signing).
    #[error("the signature found for {reference} verifies with key `{key}` but was made for {signed}, not for {got}: the artifact was swapped after signing")]
    OtherArtifact {
        /// The artifact.
        reference: String,
        /// The key that verified.
        key: String,
        /// The digest the signature names.
        signed: String,
        /// The digest pulled.
        got: String,
    },
}

fn keys_text(keys: &[String]) -> String {
    let quoted: Vec<String> = keys.iter().map(|k| format!("key `{k}`")).collect();
    if quoted.is_empty() {
        "a trusted key (no key named in the policy was readable)".into()
    } else {
        quoted.join(" or ")
    }
}

/// A new key pair as PEM text.
#[derive(Clone)]
pub struct KeyPair {
    /// PKCS#8 private key (keep it 0600).
    pub private_pem: String,
    /// SubjectPublicKeyInfo public key (publish it).
    pub public_pem: String,
}

/// A trusted public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// Parses a PEM public key.
    pub fn from_pem(text: &str) -> Result<PublicKey, KeyError> {
        VerifyingKey::from_public_key_pem(text.trim())
            .map(PublicKey)
            .map_err(|e| KeyError::Public(e.to_string()))
    }
}

/// Generates a P-256 key pair.
pub fn generate() -> Result<KeyPair, KeyError> {
    let key = SigningKey::random(&mut rand_core::OsRng);
    let private_pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| KeyError::Private(e.to_string()))?
        .to_string();
    let public_pem = key
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| KeyError::Public(e.to_string()))?;
    Ok(KeyPair {
        private_pem,
        public_pem,
    })
}

/// The simple-signing payload (the part cosign verifies).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimpleSigning {
    /// What is signed.
    pub critical: Critical,
    /// Free annotations (null).
    pub optional: Option<serde_json::Value>,
}

/// The payload's `critical` part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Critical {
    /// The repository signed for.
    pub identity: Identity,
    /// The manifest digest signed.
    pub image: Image,
    /// `cosign container image signature`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// `critical.identity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// `HOST[:PORT]/REPO`.
    #[serde(rename = "docker-reference")]
    pub docker_reference: String,
}

/// `critical.image`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    /// `sha256:…` of the OCI manifest.
    #[serde(rename = "docker-manifest-digest")]
    pub docker_manifest_digest: String,
}

/// A signature ready to store: the payload blob and the annotation value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// The simple-signing JSON.
    pub payload: Vec<u8>,
    /// base64 of the DER ECDSA signature over `payload`.
    pub signature: String,
}

/// `sha256-<hex>.sig`: the tag the signature of manifest `digest` is stored at.
pub fn signature_tag(digest: &str) -> String {
    format!("{}.sig", digest.replacen(':', "-", 1))
}

/// Signs manifest `digest` of `repository` (`HOST[:PORT]/REPO`) with a PEM private key.
pub fn sign(private_pem: &str, repository: &str, digest: &str) -> Result<Signed, KeyError> {
    let key = SigningKey::from_pkcs8_pem(private_pem.trim())
        .map_err(|e| KeyError::Private(e.to_string()))?;
    let payload = SimpleSigning {
        critical: Critical {
            identity: Identity {
                docker_reference: repository.to_string(),
            },
            image: Image {
                docker_manifest_digest: digest.to_string(),
            },
            kind: SIGNATURE_TYPE.to_string(),
        },
        optional: None,
    };
    // A struct of strings always serializes.
    let payload = serde_json::to_vec(&payload).unwrap_or_default();
    let sig: DerSignature = key.sign(&payload);
    Ok(Signed {
        signature: base64::engine::general_purpose::STANDARD.encode(sig.as_bytes()),
        payload,
    })
}

/// Verifies the signatures found for `reference` (manifest `digest`) against the trusted
/// `keys` (name, key): the name of the first key that verifies a signature over a payload naming
/// `digest`. `signatures` are (payload, base64 signature) pairs; none at all is
/// [`SignatureError::Missing`].
pub fn verify(
    keys: &[(String, PublicKey)],
    reference: &str,
    digest: &str,
    signatures: &[Signed],
) -> Result<String, SignatureError> {
    let expected: Vec<String> = keys.iter().map(|(n, _)| n.clone()).collect();
    if signatures.is_empty() {
        return Err(SignatureError::Missing {
            reference: reference.to_string(),
            expected,
        });
    }
    let mut other = None;
    for s in signatures {
        let Some(key) = keys.iter().find(|(_, k)| verifies(k, s)).map(|(n, _)| n) else {
            continue;
        };
        let signed = serde_json::from_slice::<SimpleSigning>(&s.payload)
            .map(|p| p.critical.image.docker_manifest_digest)
            .unwrap_or_default();
        if signed == digest {
            return Ok(key.clone());
        }
        other.get_or_insert((key.clone(), signed));
    }
    Err(match other {
        Some((key, signed)) => SignatureError::OtherArtifact {
            reference: reference.to_string(),
            key,
            signed,
            got: digest.to_string(),
        },
        None => SignatureError::DoesNotVerify {
            reference: reference.to_string(),
            expected,
        },
    })
}

fn verifies(key: &PublicKey, s: &Signed) -> bool {
    let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(s.signature.trim()) else {
        return false;
    };
    let sig = Signature::from_der(&raw).or_else(|_| Signature::from_slice(&raw));
    sig.is_ok_and(|sig| key.0.verify(&s.payload, &sig).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

    fn keys() -> (KeyPair, Vec<(String, PublicKey)>) {
        let pair = generate().unwrap();
        let public = PublicKey::from_pem(&pair.public_pem).unwrap();
        (pair, vec![("acme".to_string(), public)])
    }

    #[test]
    fn a_signature_verifies_with_its_key_only() {
        let (pair, trusted) = keys();
        let s = sign(&pair.private_pem, "127.0.0.1:5000/fs", D1).unwrap();
        assert_eq!(
            verify(&trusted, "r", D1, std::slice::from_ref(&s)).unwrap(),
            "acme"
        );
        let (_, others) = keys();
        let e = verify(&others, "r", D1, &[s]).unwrap_err();
        assert!(matches!(e, SignatureError::DoesNotVerify { .. }));
        assert!(e.to_string().contains("key `acme`"), "{e}");
    }

    #[test]
    fn missing_altered_and_swapped_are_told_apart() {
        let (pair, trusted) = keys();
        assert!(matches!(
            verify(&trusted, "r", D1, &[]),
            Err(SignatureError::Missing { .. })
        ));
        let s = sign(&pair.private_pem, "h/fs", D1).unwrap();
        let mut altered = s.clone();
        altered.payload = String::from_utf8(s.payload.clone())
            .unwrap()
            .replace(D1, D2)
            .into_bytes();
        assert!(matches!(
            verify(&trusted, "r", D2, &[altered]),
            Err(SignatureError::DoesNotVerify { .. })
        ));
        let e = verify(&trusted, "r", D2, &[s]).unwrap_err();
        assert!(
            matches!(e, SignatureError::OtherArtifact { ref signed, .. } if signed == D1),
            "{e}"
        );
    }

    #[test]
    fn the_layout_is_cosign_s() {
        assert_eq!(signature_tag(D1), format!("sha256-{}.sig", &D1[7..]));
        let (pair, _) = keys();
        let s = sign(&pair.private_pem, "h:1/acme/fs", D1).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&s.payload).unwrap();
        assert_eq!(v["critical"]["image"]["docker-manifest-digest"], D1);
        assert_eq!(v["critical"]["identity"]["docker-reference"], "h:1/acme/fs");
        assert_eq!(v["critical"]["type"], "cosign container image signature");
        assert!(pair.public_pem.starts_with("-----BEGIN PUBLIC KEY-----"));
        assert!(pair.private_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    }

    #[test]
    fn bad_keys_are_typed_errors() {
        assert!(matches!(
            PublicKey::from_pem("nope"),
            Err(KeyError::Public(_))
        ));
        assert!(matches!(sign("nope", "r", D1), Err(KeyError::Private(_))));
    }
}
