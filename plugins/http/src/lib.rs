//! spud's first-party HTTP tool. It requests any HTTP(S) destination (`http://*:*`,
//! `https://*:*`), so what it can reach is exactly what the operator grants in the policy. Redirects are followed one hop at a time, so the host checks every hop.

pub use spud_sdk::http::{Request, Response, Scheme, SendError, Transport, Url, WasiTransport};
use spud_sdk::prelude::*;
use std::collections::BTreeMap;

const DEFAULT_MAX_BYTES: u64 = 1024 * 1024;
/// Most redirects followed for one fetch.
pub const MAX_REDIRECTS: usize = 5;
/// Headers that carry credentials; they are not forwarded to another origin.
const CREDENTIAL_HEADERS: [&str; 3] = ["authorization", "cookie", "proxy-authorization"];

spud_sdk::export_plugin! {
    name: "http",
    description: "Fetch URLs over HTTP(S); only hosts the operator grants are reachable.",
    requests: Requests::new().network("http://*:*").network("https://*:*").limits(
        Limits::new()
            .memory_mb(64)
            .fuel(5_000_000_000)
            .timeout_ms(30_000)
            .result_bytes(4 * 1024 * 1024),
    ),
    tools: [fetch],
}

/// Input of `fetch`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FetchInput {
    /// Absolute `http://` or `https://` URL.
    pub url: String,
    /// HTTP method (default `GET`).
    #[serde(default)]
    pub method: Option<String>,
    /// Request headers, by name.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Request body, sent as UTF-8.
    #[serde(default)]
    pub body: Option<String>,
    /// Read at most this many bytes of the response body (default 1048576).
    #[serde(default)]
    pub max_bytes: Option<u64>,
    /// Follow redirects, at most 5 (default true).
    #[serde(default)]
    pub follow_redirects: Option<bool>,
}

/// One redirect that was followed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Redirect {
    /// The URL that answered with a redirect.
    pub from: String,
    /// Its status code (301, 302, 303, 307 or 308).
    pub status: u16,
    /// Where it pointed.
    pub to: String,
}

/// Output of `fetch`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct FetchOutput {
    /// Status code of the final response.
    pub status: u16,
    /// Response headers, names in lowercase; repeated headers are joined with `, `.
    pub headers: BTreeMap<String, String>,
    /// Response body as text; bytes that are not UTF-8 become U+FFFD.
    pub body: String,
    /// Whether the body was longer than `max_bytes`.
    pub truncated: bool,
    /// URL of the final response, after redirects.
    pub final_url: String,
    /// Redirects followed, in order.
    pub redirects: Vec<Redirect>,
}

/// Fetches a URL and returns status, headers and body text. Follows up to 5 redirects
/// (each one is checked by the sandbox); only hosts the operator granted can be reached.
#[tool]
pub fn fetch(input: FetchInput) -> Result<FetchOutput, ToolError> {
    fetch_with(&mut WasiTransport, input)
}

/// [`fetch`] over any transport.
pub fn fetch_with(
    transport: &mut dyn Transport,
    input: FetchInput,
) -> Result<FetchOutput, ToolError> {
    let url = Url::parse(&input.url).map_err(|e| ToolError::new(format!("bad url: {e}")))?;
    let method = input
        .method
        .as_deref()
        .unwrap_or("GET")
        .trim()
        .to_ascii_uppercase();
    if method.is_empty() || !method.bytes().all(is_token_byte) {
        return Err(ToolError::new(format!(
            "`{method}` is not a valid HTTP method"
        )));
    }
    let max_bytes = input.max_bytes.unwrap_or(DEFAULT_MAX_BYTES);
    let follow = input.follow_redirects.unwrap_or(true);
    let mut request = Request {
        method,
        url,
        headers: input
            .headers
            .into_iter()
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v))
            .collect(),
        body: input.body.map(String::into_bytes),
    };
    // Without a length the body goes out chunked, which some servers do not read.
    if let Some(body) = &request.body {
        if !request.headers.iter().any(|(n, _)| n == "content-length") {
            request
                .headers
                .push(("content-length".to_string(), body.len().to_string()));
        }
    }
    let mut redirects: Vec<Redirect> = Vec::new();
    loop {
        let response = transport
            .send(&request, max_bytes)
            .map_err(|e| send_error(e, &request.url, redirects.last()))?;
        let location = match response.header("location") {
            Some(l) if follow && is_redirect(response.status) => l.to_string(),
            _ => return Ok(output(response, &request.url, redirects)),
        };
        let next = request.url.join(&location).map_err(|e| {
            ToolError::new(format!(
                "{} redirected ({}) to `{location}`, which cannot be followed: {e}",
                request.url, response.status
            ))
        })?;
        if redirects.len() == MAX_REDIRECTS {
            return Err(ToolError::new(format!(
                "gave up after {MAX_REDIRECTS} redirects starting at {}; the last one pointed to {next}",
                redirects.first().map_or(String::new(), |r| r.from.clone())
            )));
        }
        redirects.push(Redirect {
            from: request.url.to_string(),
            status: response.status,
            to: next.to_string(),
        });
        request = next_request(request, response.status, next);
    }
}

/// The request for the next hop, as browsers do it: 303 (and 301/302 after a POST) become a
/// body-less GET; credentials do not travel to another origin.
fn next_request(mut request: Request, status: u16, next: Url) -> Request {
    let to_get = status == 303 && request.method != "HEAD"
        || matches!(status, 301 | 302) && request.method == "POST";
    if to_get {
        request.method = "GET".to_string();
        request.body = None;
        request.headers.retain(|(n, _)| !n.starts_with("content-"));
    }
    if next.origin() != request.url.origin() {
        request
            .headers
            .retain(|(n, _)| !CREDENTIAL_HEADERS.contains(&n.as_str()));
    }
    request.url = next;
    request
}

fn output(response: Response, url: &Url, redirects: Vec<Redirect>) -> FetchOutput {
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in response.headers {
        headers
            .entry(name)
            .and_modify(|v| {
                v.push_str(", ");
                v.push_str(&value);
            })
            .or_insert(value);
    }
    FetchOutput {
        status: response.status,
        headers,
        body: String::from_utf8_lossy(&response.body).into_owned(),
        truncated: response.truncated,
        final_url: url.to_string(),
        redirects,
    }
}

fn send_error(e: SendError, url: &Url, via: Option<&Redirect>) -> ToolError {
    let message = e.describe(url);
    match via {
        Some(r) => ToolError::new(format!(
            "{message} (reached by a {} redirect from {})",
            r.status, r.from
        )),
        None => ToolError::new(message),
    }
}

fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// RFC 9110 `tchar`.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests;
