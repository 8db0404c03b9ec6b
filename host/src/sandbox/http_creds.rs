//! Credentials the guest never holds: after a request has passed its grant, its secret scan and
//! its address check, the gate adds each `[credentials.NAME]` granted to the plugin whose
//! destinations match the request's `scheme://host:port` — a header, or a query parameter —
//! replacing whatever the guest wrote there, a signature of the body under a key, or an AWS
//! Signature V4 of the whole request (`sigv4`, computed by `spud_policy::sigv4`). A request
//! anywhere else is sent as the guest wrote it. Every injection is a `credential` decision in the call's journal, naming the credential,
//! never its value.

use super::journal::{Capability, Journal};
use bytes::Bytes;
use http_body_util::BodyExt;
use spud_policy::{
    body_signature, with_query_param, Credential, CredentialValue, Injection, Scheme,
};
use wasmtime_wasi_http::{Error as HttpError, WasiBody};

/// The most of a body signed for an `hmac-sha256` credential (the secret scan, which runs
/// first whenever a credential has a value, caps it lower by default).
const MAX_SIGNED_BYTES: usize = 64 << 20;

/// A credential as the host holds it for calls: its policy section and its value, or why there
/// is none (its variable is not set).
#[derive(Debug, Clone)]
pub struct HeldCredential {
    /// The section's name (`[credentials.NAME]`).
    pub name: String,
    /// The section.
    pub credential: Credential,
    /// The value, or what is missing.
    pub value: Result<CredentialValue, String>,
}

/// Adds the plugin's credentials for `scheme://host:port` to `request`; returns the request's
/// URI (with a query credential in it, if any). A credential whose value is missing is
/// recorded as not injected and the request goes on without it.
pub(super) async fn inject(
    request: &mut http::Request<WasiBody>,
    uri: &http::Uri,
    (scheme, host, port): (Scheme, &str, u16),
    held: &[HeldCredential],
    plugin: &str,
    journal: &Journal,
    target: &str,
) -> Result<http::Uri, HttpError> {
    let mut uri = uri.clone();
    for h in held
        .iter()
        .filter(|h| h.credential.applies(plugin, scheme, host, port))
    {
        let value = match &h.value {
            Ok(v) => v,
            Err(missing) => {
                journal.deny(
                    Capability::Credential,
                    target,
                    format!("credential {} not injected: {missing} (see [credentials.{}] in the policy)", h.name, h.name),
                );
                continue;
            }
        };
        match h.credential.injection(value) {
            Injection::Header(name, v) => {
                // Both were checked when the policy was read; a failure here is a bug.
                let bad = || {
                    HttpError::InternalError(Some(format!(
                        "credential {} does not fit a header",
                        h.name
                    )))
                };
                let name = http::HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad())?;
                let mut v = http::HeaderValue::from_str(&v).map_err(|_| bad())?;
                v.set_sensitive(true);
                request.headers_mut().insert(name, v);
            }
            Injection::Query(name, v) => {
                let pq = uri.path_and_query().map_or("/", |p| p.as_str());
                let pq = with_query_param(pq, &name, &v);
                let mut parts = uri.into_parts();
                parts.path_and_query =
                    Some(pq.parse().map_err(|_| HttpError::HttpRequestUriInvalid)?);
                uri = http::Uri::from_parts(parts).map_err(|_| HttpError::HttpRequestUriInvalid)?;
            }
            Injection::SignBody(name) => sign(request, &name, value, &h.name).await?,
            Injection::SigV4 { region, service } => {
                let scope = (region.as_str(), service.as_str());
                sign_sigv4(request, &uri, scope, value, &h.name).await?
            }
        }
        journal.allow(
            Capability::Credential,
            target,
            format!(
                "credential {} injected ({}) by the host, granted to {plugin} for this destination by [credentials.{}]",
                h.name, h.credential.inject, h.name
            ),
        );
    }
    Ok(uri)
}

/// Takes the request's body, whole, to be signed (at most [`MAX_SIGNED_BYTES`]).
async fn take_body(
    request: &mut http::Request<WasiBody>,
    credential: &str,
) -> Result<Bytes, HttpError> {
    let empty = http_body_util::Empty::<Bytes>::new()
        .map_err(|never| match never {})
        .boxed_unsync();
    let body = std::mem::replace(request.body_mut(), empty);
    match http_body_util::Limited::new(body, MAX_SIGNED_BYTES)
        .collect()
        .await
    {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) => Err(match e.downcast::<HttpError>() {
            Ok(e) => *e,
            Err(e) => HttpError::InternalError(Some(format!(
                "the body cannot be signed for credential {credential}: {e}"
            ))),
        }),
    }
}

/// Puts a body taken by [`take_body`] back, byte for byte.
fn put_body(request: &mut http::Request<WasiBody>, bytes: Bytes) {
    *request.body_mut() = http_body_util::Full::new(bytes)
        .map_err(|never| match never {})
        .boxed_unsync();
}

/// Sets header `name` to the signature of the request's body under `key` (the body is held
/// back to be signed, then sent as it was).
async fn sign(
    request: &mut http::Request<WasiBody>,
    name: &str,
    key: &CredentialValue,
    credential: &str,
) -> Result<(), HttpError> {
    let bytes = take_body(request, credential).await?;
    let bad = || {
        HttpError::InternalError(Some(format!(
            "credential {credential}: the signature does not fit header {name}"
        )))
    };
    let signature = body_signature(key, &bytes).ok_or_else(bad)?;
    let name = http::HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad())?;
    request.headers_mut().insert(
        name,
        http::HeaderValue::from_str(&signature).map_err(|_| bad())?,
    );
    put_body(request, bytes);
    Ok(())
}

/// Signs the request with AWS Signature V4 under the key pair `key` for (region, service):
/// `x-amz-date`, `x-amz-content-sha256` (of the body, held back and sent as it was) and
/// `Authorization`, replacing any the guest set. Signed: `host`, `content-type`,
/// `content-md5` and every `x-amz-*` header.
async fn sign_sigv4(
    request: &mut http::Request<WasiBody>,
    uri: &http::Uri,
    (region, service): (&str, &str),
    key: &CredentialValue,
    credential: &str,
) -> Result<(), HttpError> {
    use spud_policy::sigv4;
    let bad = |what: &str| {
        HttpError::InternalError(Some(format!(
            "credential {credential}: the AWS signature {what}"
        )))
    };
    let (key_id, secret) = key.key_pair().ok_or_else(|| bad("has no key pair"))?;
    let bytes = take_body(request, credential).await?;
    let payload_hash = sigv4::sha256_hex(&bytes);
    put_body(request, bytes);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let amz_date = sigv4::amz_date(now);
    let headers = request.headers_mut();
    for name in ["authorization", "x-amz-security-token"] {
        headers.remove(name);
    }
    let set = |headers: &mut http::HeaderMap, name: &'static str, value: &str| {
        let value = http::HeaderValue::from_str(value).map_err(|_| bad("does not fit a header"))?;
        headers.insert(name, value);
        Ok::<(), HttpError>(())
    };
    set(headers, "x-amz-date", &amz_date)?;
    set(headers, "x-amz-content-sha256", &payload_hash)?;
    if !headers.contains_key(http::header::HOST) {
        let authority = uri.authority().map_or("", |a| a.as_str());
        set(headers, "host", authority)?;
    }
    let signed: Vec<(String, String)> = headers
        .iter()
        .filter(|(n, _)| {
            let n = n.as_str();
            n == "host" || n == "content-type" || n == "content-md5" || n.starts_with("x-amz-")
        })
        .filter_map(|(n, v)| Some((n.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    let r = sigv4::SigV4Request {
        method: request.method().as_str(),
        path: uri.path(),
        query: uri.query().unwrap_or(""),
        headers: &signed,
        payload_hash: &payload_hash,
    };
    let scope = sigv4::SigV4Scope {
        amz_date: &amz_date,
        region,
        service,
    };
    let mut value = http::HeaderValue::from_str(&sigv4::authorization(key_id, secret, &r, &scope))
        .map_err(|_| bad("does not fit a header"))?;
    value.set_sensitive(true);
    request
        .headers_mut()
        .insert(http::header::AUTHORIZATION, value);
    Ok(())
}
