//! Secret scanning of an outbound request, before anything is sent: the body is held back (up
//! to `[secrets] max_scan_bytes`), the URL, headers and body are searched for registered
//! secrets, and every secret found going where the policy does not allow it is recorded as a
//! leak — then refused, or let through under `on_leak = "record"`.

use super::journal::{Capability, Journal, Leak};
use bytes::Bytes;
use http_body_util::BodyExt;
use spud_policy::{Finding, LeakGuard, OnLeak, Scheme};
use wasmtime_wasi_http::{Error as HttpError, WasiBody};

/// `scheme://host`, with `:port` unless it is the scheme's default: a destination as decisions
/// and messages show it.
pub(super) fn origin(scheme: Scheme, host: &str, port: u16) -> String {
    if port == scheme.default_port() {
        format!("{scheme}://{host}")
    } else {
        format!("{scheme}://{host}:{port}")
    }
}

/// Holds the body back (up to the guard's cap) and looks for registered secrets in the URL,
/// headers and body. Secrets going where they may not are refused, or recorded and let through
/// under `on_leak = "record"`.
pub(super) async fn scan(
    request: http::Request<WasiBody>,
    guard: &LeakGuard,
    (scheme, host, port): (Scheme, &str, u16),
    target: &str,
    journal: &Journal,
) -> wasmtime_wasi_http::Result<http::Request<WasiBody>> {
    let (parts, body) = request.into_parts();
    let body = hold_back(body, guard, target, journal).await?;
    let text = scanned_text(&parts, &body);
    let found = guard.leaks(&text, scheme, host, port);
    let destination = origin(scheme, host, port);
    let blocked = guard.on_leak == OnLeak::Block;
    for f in &found {
        journal.leak(Leak {
            secret: f.secret.clone(),
            destination: destination.clone(),
            blocked,
        });
    }
    if let Some(f) = found.first() {
        let names: Vec<&str> = found.iter().map(|f| f.secret.as_str()).collect();
        let (allowed, fix) = where_it_may_go(f, &destination);
        if blocked {
            journal.deny(
                Capability::Secret,
                target,
                format!(
                    "the request carries the registered secret {} to {destination}; {allowed}; {fix}",
                    names.join(", ")
                ),
            );
            return Err(HttpError::HttpRequestDenied);
        }
        journal.allow(
            Capability::Secret,
            target,
            format!(
                "leak recorded, not blocked ([secrets] on_leak = \"record\"): {} went to {destination}; {allowed}",
                names.join(", ")
            ),
        );
    }
    let body = http_body_util::Full::new(body)
        .map_err(|never| match never {})
        .boxed_unsync();
    Ok(http::Request::from_parts(parts, body))
}

/// The whole body, read up to the guard's cap; a larger body cannot be scanned and is refused.
async fn hold_back(
    body: WasiBody,
    guard: &LeakGuard,
    target: &str,
    journal: &Journal,
) -> wasmtime_wasi_http::Result<Bytes> {
    let cap = usize::try_from(guard.max_scan_bytes).unwrap_or(usize::MAX);
    match http_body_util::Limited::new(body, cap).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            journal.deny(
                Capability::Secret,
                target,
                format!("the request body is over {cap} bytes, too large to scan for registered secrets; raise `[secrets] max_scan_bytes` in the policy"),
            );
            Err(HttpError::HttpRequestDenied)
        }
        Err(e) => Err(match e.downcast::<HttpError>() {
            Ok(e) => *e,
            Err(e) => HttpError::InternalError(Some(e.to_string())),
        }),
    }
}

/// What is searched for secrets: the URL, one line per header, then the body (lossy UTF-8).
fn scanned_text(parts: &http::request::Parts, body: &Bytes) -> String {
    let mut text = parts.uri.to_string();
    for (name, value) in &parts.headers {
        text.push('\n');
        text.push_str(name.as_str());
        text.push_str(": ");
        text.push_str(&String::from_utf8_lossy(value.as_bytes()));
    }
    text.push('\n');
    text.push_str(&String::from_utf8_lossy(body));
    text
}

/// For the first secret found: where it may go, and what in the policy would let it go to
/// `destination` (nothing, for a secret matched by a pattern; a credential's `destinations`,
/// for a credential).
fn where_it_may_go(f: &Finding, destination: &str) -> (String, String) {
    let secret = &f.secret;
    let allowed = if f.allowed.is_empty() {
        "it may be sent nowhere".to_string()
    } else {
        format!("it may go only to {}", f.allowed.join(", "))
    };
    let fix = if secret.starts_with("pattern ") {
        "secrets matched by a pattern are never sent out".to_string()
    } else if f.credential {
        format!(
            "adding \"{destination}\" to `destinations` under [credentials.{secret}] in the policy \
             would allow it (and have the host inject it there itself)"
        )
    } else {
        format!("`[secrets.allow] {secret} = [\"{destination}\"]` in the policy would allow it")
    };
    (allowed, fix)
}
