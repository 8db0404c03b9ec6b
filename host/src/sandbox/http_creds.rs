//! Credentials the guest never holds: after a request has passed its grant, its secret scan and
//! its address check, the gate adds each `[credentials.NAME]` granted to the plugin whose
//! destinations match the request's `scheme://host:port` — a header, or a query parameter —
//! replacing whatever the guest wrote there, or a signature of the body under a key. A request
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

/// Sets header `name` to the signature of the request's body under `key` (the body is held
/// back to be signed, then sent as it was).
async fn sign(
    request: &mut http::Request<WasiBody>,
    name: &str,
    key: &CredentialValue,
    credential: &str,
) -> Result<(), HttpError> {
    let empty = http_body_util::Empty::<Bytes>::new()
        .map_err(|never| match never {})
        .boxed_unsync();
    let body = std::mem::replace(request.body_mut(), empty);
    let bytes = match http_body_util::Limited::new(body, MAX_SIGNED_BYTES)
        .collect()
        .await
    {
        Ok(c) => c.to_bytes(),
        Err(e) => {
            return Err(match e.downcast::<HttpError>() {
                Ok(e) => *e,
                Err(e) => HttpError::InternalError(Some(format!(
                    "the body cannot be signed for credential {credential}: {e}"
                ))),
            })
        }
    };
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
    *request.body_mut() = http_body_util::Full::new(bytes)
        .map_err(|never| match never {})
        .boxed_unsync();
    Ok(())
}
