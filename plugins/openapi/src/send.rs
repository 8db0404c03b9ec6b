//! Sending one operation's request through the SDK's `wasi:http` transport (the host checks
//! it against the network grant, scans it and adds credentials).

use spud_sdk::http::{Request, Url};

/// What came back.
pub struct Response {
    /// Status code.
    pub status: u16,
    /// `content-type`, if any.
    pub content_type: Option<String>,
    /// Up to the asked number of bytes of the body.
    pub body: Vec<u8>,
    /// Whether the body was longer.
    pub truncated: bool,
}

/// The SDK's request for `request` (its URL parsed and checked).
pub fn to_http(request: &spud_openapi::Request) -> Result<Request, String> {
    let url = Url::parse(&request.url)?;
    let mut out = Request::new(&request.method, url);
    for (name, value) in &request.headers {
        out = out.with_header(name, value.clone());
    }
    if let Some(body) = &request.body {
        out = out.with_body(body.clone());
    }
    Ok(out)
}

/// Sends `request` and reads at most `max` bytes of the answer.
pub fn send(request: &spud_openapi::Request, max: u64) -> Result<Response, String> {
    let request = to_http(request)?;
    let response = spud_sdk::http::send(&request, max).map_err(|e| e.describe(&request.url))?;
    Ok(Response {
        status: response.status,
        content_type: response.header("content-type").map(str::to_string),
        body: response.body,
        truncated: response.truncated,
    })
}

#[cfg(test)]
mod tests {
    use super::to_http;

    #[test]
    fn an_operation_request_becomes_an_http_request() {
        let r = to_http(&spud_openapi::Request {
            method: "POST".into(),
            url: "http://127.0.0.1:8/items?x=1".into(),
            headers: vec![("x-trace".into(), "a".into())],
            body: Some(b"{}".to_vec()),
        })
        .unwrap();
        assert_eq!(r.url.to_string(), "http://127.0.0.1:8/items?x=1");
        assert_eq!(r.header("x-trace"), Some("a"));
        assert_eq!(r.header("content-length"), Some("2"));
        let bad = spud_openapi::Request {
            method: "GET".into(),
            url: "ftp://h/x".into(),
            headers: Vec::new(),
            body: None,
        };
        assert!(to_http(&bad).is_err());
    }
}
