//! `https://` downloads: the body must have the digest the operator named.

use super::error::{error_chain, DistError};

/// Largest component accepted over HTTPS (256 MiB).
const MAX_BYTES: usize = 256 << 20;

/// Downloads `url` and checks that its sha256 is `digest` (`sha256:…`).
pub async fn download(url: &str, digest: &str) -> Result<Vec<u8>, DistError> {
    let unreachable = |e: reqwest::Error| DistError::Unreachable {
        target: url.to_string(),
        reason: error_chain(&e),
    };
    let client = reqwest::Client::builder()
        .https_only(true)
        .connect_timeout(std::time::Duration::from_secs(30))
        .timeout(std::time::Duration::from_secs(300))
        .build()
        .map_err(unreachable)?;
    let response = client.get(url).send().await.map_err(unreachable)?;
    let status = response.status();
    if status == reqwest::StatusCode::NOT_FOUND {
        return Err(DistError::NotFound {
            reference: url.to_string(),
        });
    }
    if !status.is_success() {
        return Err(DistError::Other {
            reference: url.to_string(),
            reason: format!("the server answered {status}"),
        });
    }
    let bytes = response.bytes().await.map_err(unreachable)?;
    if bytes.len() > MAX_BYTES {
        return Err(DistError::Garbage {
            reference: url.to_string(),
            reason: format!(
                "{} bytes is more than a component may be ({MAX_BYTES})",
                bytes.len()
            ),
        });
    }
    let actual = spud_trust::sha256_digest(&bytes);
    if actual != digest {
        return Err(DistError::DigestMismatch {
            what: url.to_string(),
            expected: digest.to_string(),
            actual,
        });
    }
    Ok(bytes.to_vec())
}
