//! Credentials the guest never holds: after a request has passed its grant, its secret scan and
//! its address check, the gate adds each `[credentials.NAME]` granted to the plugin whose
//! destinations match the request's `scheme://host:port` — a header, or a query parameter —
//! replacing whatever the guest wrote there. A request anywhere else is sent as the guest wrote
//! it. Every injection is a `credential` decision in the call's journal, naming the credential,
//! never its value.

use super::journal::{Capability, Journal};
use spud_policy::{with_query_param, Credential, CredentialValue, Injection, Scheme};
use wasmtime_wasi_http::{Error as HttpError, WasiBody};

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
pub(super) fn inject(
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
