//! AWS Signature Version 4 (the `sigv4:REGION:SERVICE` credential): the `Authorization` header
//! of one request, computed from its method, path, query, headers and the SHA-256 of its body
//! under a secret access key the component never holds. Pure: the caller supplies the time.
//!
//! Canonical request → string to sign → signing key derived from the secret, the date, the
//! region and the service → HMAC-SHA256, as AWS documents it. S3 paths are encoded once, other
//! services' twice.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// The algorithm's name in the header and the string to sign.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// One request as it will be signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigV4Request<'a> {
    /// Upper-case method.
    pub method: &'a str,
    /// The path as sent (percent-encoded or not).
    pub path: &'a str,
    /// The query string as sent, without `?` (may be empty).
    pub query: &'a str,
    /// The headers to sign: names (any case) and values; `host` and `x-amz-date` among them.
    pub headers: &'a [(String, String)],
    /// Hex SHA-256 of the body, or `UNSIGNED-PAYLOAD`.
    pub payload_hash: &'a str,
}

/// Where and when a signature is valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigV4Scope<'a> {
    /// `YYYYMMDDTHHMMSSZ`, as in `x-amz-date`.
    pub amz_date: &'a str,
    /// e.g. `us-east-1`.
    pub region: &'a str,
    /// e.g. `s3`.
    pub service: &'a str,
}

/// Hex SHA-256 of `bytes` (the `x-amz-content-sha256` of a body).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes a key of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// Percent-encodes everything but RFC 3986's unreserved characters (and `/` when
/// `keep_slash`), upper-case hex, as SigV4 wants.
fn uri_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) || (keep_slash && b == b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes (and, in a query, nothing else: `+` stays).
fn percent_decode(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        if bytes[i] == b'%' {
            if let (Some(h), Some(l)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            ) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// The canonical URI: the decoded path encoded strictly (S3), or encoded a second time (every
/// other service).
fn canonical_uri(path: &str, service: &str) -> String {
    let path = if path.is_empty() { "/" } else { path };
    let once = uri_encode(&String::from_utf8_lossy(&percent_decode(path)), true);
    if service == "s3" {
        once
    } else {
        uri_encode(&once, true)
    }
}

/// The canonical query: each parameter's name and value encoded strictly, sorted.
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let enc = |s: &str| uri_encode(&String::from_utf8_lossy(&percent_decode(s)), false);
            (enc(k), enc(v))
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The canonical headers block and the signed header names (`a;b;c`).
fn canonical_headers(headers: &[(String, String)]) -> (String, String) {
    let mut map: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (n, v) in headers {
        let value = v.split_whitespace().collect::<Vec<_>>().join(" ");
        map.entry(n.to_ascii_lowercase()).or_default().push(value);
    }
    let block: String = map
        .iter()
        .map(|(n, vs)| format!("{n}:{}\n", vs.join(",")))
        .collect();
    let names = map.keys().cloned().collect::<Vec<_>>().join(";");
    (block, names)
}

/// The canonical request and the signed header names.
pub fn canonical_request(r: &SigV4Request, service: &str) -> (String, String) {
    let (headers, signed) = canonical_headers(r.headers);
    let text = format!(
        "{}\n{}\n{}\n{headers}\n{signed}\n{}",
        r.method,
        canonical_uri(r.path, service),
        canonical_query(r.query),
        r.payload_hash
    );
    (text, signed)
}

/// `DATE/REGION/SERVICE/aws4_request`.
fn credential_scope(s: &SigV4Scope) -> String {
    let date = s.amz_date.get(..8).unwrap_or(s.amz_date);
    format!("{date}/{}/{}/aws4_request", s.region, s.service)
}

/// The string to sign for a canonical request.
pub fn string_to_sign(canonical: &str, s: &SigV4Scope) -> String {
    format!(
        "{ALGORITHM}\n{}\n{}\n{}",
        s.amz_date,
        credential_scope(s),
        sha256_hex(canonical.as_bytes())
    )
}

/// The signing key: the secret, HMAC'd with the date, region, service and `aws4_request`.
pub fn signing_key(secret: &str, s: &SigV4Scope) -> Vec<u8> {
    let date = s.amz_date.get(..8).unwrap_or(s.amz_date);
    let k = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k = hmac(&k, s.region.as_bytes());
    let k = hmac(&k, s.service.as_bytes());
    hmac(&k, b"aws4_request")
}

/// The `Authorization` header's value for request `r`, signed with the key pair
/// (`access_key`, `secret`) for `scope`.
pub fn authorization(access_key: &str, secret: &str, r: &SigV4Request, s: &SigV4Scope) -> String {
    let (canonical, signed) = canonical_request(r, s.service);
    let signature = hex::encode(hmac(
        &signing_key(secret, s),
        string_to_sign(&canonical, s).as_bytes(),
    ));
    format!(
        "{ALGORITHM} Credential={access_key}/{}, SignedHeaders={signed}, Signature={signature}",
        credential_scope(s)
    )
}

/// `YYYYMMDDTHHMMSSZ` for a time in seconds since 1970 (UTC), as `x-amz-date` wants.
pub fn amz_date(unix_seconds: u64) -> String {
    let days = (unix_seconds / 86_400) as i64;
    let secs = unix_seconds % 86_400;
    // Days to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests;
