//! Sending one HTTP request. [`Transport`] is the seam between a tool's logic (pure, tested
//! natively) and `wasi:http/outgoing-handler` (only on the guest target).

use super::url::Url;

/// One request, as sent on one hop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Upper-case method, e.g. `GET`.
    pub method: String,
    /// Where to send it.
    pub url: Url,
    /// Header names (lowercase) and values, in order.
    pub headers: Vec<(String, String)>,
    /// Body, if any.
    pub body: Option<Vec<u8>>,
}

/// What came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Header names (lowercase) and values, in order; repeated names appear repeatedly.
    pub headers: Vec<(String, String)>,
    /// Up to `max_bytes` of the body.
    pub body: Vec<u8>,
    /// Whether the body was longer than `max_bytes`.
    pub truncated: bool,
}

impl Request {
    /// A request without headers or body; `method` is upper-cased.
    pub fn new(method: &str, url: Url) -> Request {
        Request {
            method: method.trim().to_ascii_uppercase(),
            url,
            headers: Vec::new(),
            body: None,
        }
    }

    /// Adds a header (its name lowercased).
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Request {
        self.headers
            .push((name.trim().to_ascii_lowercase(), value.into()));
        self
    }

    /// Sets the body and its `content-length` (without a length the body goes out chunked,
    /// which some servers do not read).
    pub fn with_body(mut self, body: Vec<u8>) -> Request {
        self.headers.retain(|(n, _)| n != "content-length");
        self.headers
            .push(("content-length".into(), body.len().to_string()));
        self.body = Some(body);
        self
    }

    /// `value` as a JSON body, with `content-type: application/json`.
    pub fn json_body(self, value: &serde_json::Value) -> Request {
        let body = value.to_string().into_bytes();
        self.with_header("content-type", "application/json")
            .with_body(body)
    }

    /// The first value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

impl Response {
    /// The body as text; bytes that are not UTF-8 become U+FFFD.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The first value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Why a request produced no response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// The host's sandbox refused the destination.
    Denied,
    /// Anything else, described for the caller.
    Failed(String),
}

impl SendError {
    /// What went wrong with a request to `url`, for a tool error: a denial names the grant
    /// that would allow it.
    pub fn describe(&self, url: &Url) -> String {
        match self {
            SendError::Denied => format!(
                "request to {url} was denied by the sandbox: no network grant allows it \
                 (`network = [\"{}\"]` under this tool's [tools.NAME] in the policy would)",
                url.origin_string()
            ),
            SendError::Failed(reason) => format!("request to {url} failed: {reason}"),
        }
    }
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Denied => f.write_str("the sandbox denied the request"),
            SendError::Failed(reason) => f.write_str(reason),
        }
    }
}

impl std::error::Error for SendError {}

/// Sends requests.
pub trait Transport {
    /// Sends `request` and reads at most `max_bytes` of the response body.
    fn send(&mut self, request: &Request, max_bytes: u64) -> Result<Response, SendError>;
}

/// The transport of the guest target: `wasi:http/outgoing-handler`.
#[cfg(target_arch = "wasm32")]
pub use wasi_transport::WasiTransport;

/// Stand-in on native targets, where there is no `wasi:http` host: every request fails.
#[cfg(not(target_arch = "wasm32"))]
pub struct WasiTransport;

#[cfg(not(target_arch = "wasm32"))]
impl Transport for WasiTransport {
    fn send(&mut self, _request: &Request, _max_bytes: u64) -> Result<Response, SendError> {
        Err(SendError::Failed(
            "HTTP needs the wasi:http host; build this plugin for wasm32-wasip2".into(),
        ))
    }
}

#[cfg(target_arch = "wasm32")]
mod wasi_transport {
    use super::{Request, Response, SendError, Transport};
    use crate::http::url::Scheme as UrlScheme;
    use wasip2::http::outgoing_handler;
    use wasip2::http::types::{
        ErrorCode, Fields, HeaderError, IncomingResponse, Method, OutgoingBody, OutgoingRequest,
        Scheme,
    };
    use wasip2::io::streams::StreamError;

    /// Sends requests through `wasi:http/outgoing-handler`, one blocking request at a time.
    pub struct WasiTransport;

    impl Transport for WasiTransport {
        fn send(&mut self, request: &Request, max_bytes: u64) -> Result<Response, SendError> {
            let response = start(request)?;
            read_response(&response, max_bytes)
        }
    }

    fn start(request: &Request) -> Result<IncomingResponse, SendError> {
        let entries: Vec<(String, Vec<u8>)> = request
            .headers
            .iter()
            .map(|(n, v)| (n.clone(), v.clone().into_bytes()))
            .collect();
        let headers = Fields::from_list(&entries).map_err(|e| header_error(e, &request.headers))?;
        let outgoing = OutgoingRequest::new(headers);
        let method = match request.method.as_str() {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            "CONNECT" => Method::Connect,
            "OPTIONS" => Method::Options,
            "TRACE" => Method::Trace,
            "PATCH" => Method::Patch,
            other => Method::Other(other.to_string()),
        };
        let url = &request.url;
        let scheme = match url.scheme {
            UrlScheme::Http => Scheme::Http,
            UrlScheme::Https => Scheme::Https,
        };
        let set = outgoing
            .set_method(&method)
            .and_then(|()| outgoing.set_scheme(Some(&scheme)))
            .and_then(|()| outgoing.set_authority(Some(&url.authority())))
            .and_then(|()| outgoing.set_path_with_query(Some(&url.path_and_query)));
        if set.is_err() {
            return Err(SendError::Failed(format!(
                "the host rejected the request line `{} {url}`",
                request.method
            )));
        }
        let body = outgoing
            .body()
            .map_err(|()| SendError::Failed("the request body was already taken".into()))?;
        let future = outgoing_handler::handle(outgoing, None).map_err(error_code)?;
        if let Some(bytes) = &request.body {
            write_body(&body, bytes)?;
        }
        OutgoingBody::finish(body, None).map_err(error_code)?;
        future.subscribe().block();
        match future.get() {
            Some(Ok(Ok(response))) => Ok(response),
            Some(Ok(Err(code))) => Err(error_code(code)),
            Some(Err(())) | None => Err(SendError::Failed(
                "the host lost the response to this request".into(),
            )),
        }
    }

    fn write_body(body: &OutgoingBody, bytes: &[u8]) -> Result<(), SendError> {
        let stream = body
            .write()
            .map_err(|()| SendError::Failed("the request body stream was already taken".into()))?;
        // `blocking-write-and-flush` takes at most 4096 bytes per call.
        for chunk in bytes.chunks(4096) {
            stream
                .blocking_write_and_flush(chunk)
                .map_err(stream_error)?;
        }
        Ok(())
    }

    fn read_response(response: &IncomingResponse, max_bytes: u64) -> Result<Response, SendError> {
        let status = response.status();
        let headers = response
            .headers()
            .entries()
            .into_iter()
            .map(|(n, v)| {
                (
                    n.to_ascii_lowercase(),
                    String::from_utf8_lossy(&v).into_owned(),
                )
            })
            .collect();
        let incoming = response
            .consume()
            .map_err(|()| SendError::Failed("the response body was already taken".into()))?;
        let stream = incoming
            .stream()
            .map_err(|()| SendError::Failed("the response body stream was already taken".into()))?;
        let mut body = Vec::new();
        let mut truncated = false;
        loop {
            let room = max_bytes.saturating_sub(body.len() as u64);
            // With the budget spent, one more byte tells whether the body is longer.
            let want = room.clamp(1, 64 * 1024);
            match stream.blocking_read(want) {
                Ok(chunk) if room == 0 => {
                    if !chunk.is_empty() {
                        truncated = true;
                        break;
                    }
                }
                Ok(chunk) => body.extend_from_slice(&chunk),
                Err(StreamError::Closed) => break,
                Err(e) => return Err(stream_error(e)),
            }
        }
        // Children before parents: the stream belongs to the body.
        drop(stream);
        drop(incoming);
        Ok(Response {
            status,
            headers,
            body,
            truncated,
        })
    }

    fn header_error(e: HeaderError, headers: &[(String, String)]) -> SendError {
        let names: Vec<&str> = headers.iter().map(|(n, _)| n.as_str()).collect();
        SendError::Failed(match e {
            HeaderError::Forbidden => format!(
                "one of the headers {names:?} may not be set from inside the sandbox \
                 (host, connection, transfer-encoding, upgrade and similar are managed by the host)"
            ),
            HeaderError::InvalidSyntax => {
                format!("one of the headers {names:?} has an invalid name or value")
            }
            HeaderError::Immutable => "the request headers could not be set".to_string(),
        })
    }

    fn stream_error(e: StreamError) -> SendError {
        match e {
            StreamError::Closed => SendError::Failed("the connection closed early".into()),
            StreamError::LastOperationFailed(err) => {
                match wasip2::http::types::http_error_code(&err) {
                    Some(code) => error_code(code),
                    None => SendError::Failed(format!(
                        "the connection failed: {}",
                        err.to_debug_string()
                    )),
                }
            }
        }
    }

    fn error_code(code: ErrorCode) -> SendError {
        let message = match code {
            ErrorCode::HttpRequestDenied => return SendError::Denied,
            ErrorCode::DnsTimeout | ErrorCode::DnsError(_) | ErrorCode::DestinationNotFound => {
                "the host name could not be resolved".to_string()
            }
            ErrorCode::ConnectionRefused => "the connection was refused".to_string(),
            ErrorCode::ConnectionTimeout
            | ErrorCode::ConnectionReadTimeout
            | ErrorCode::ConnectionWriteTimeout
            | ErrorCode::HttpResponseTimeout => "the server did not answer in time".to_string(),
            ErrorCode::TlsCertificateError => {
                "the server's TLS certificate is not trusted".to_string()
            }
            ErrorCode::TlsProtocolError | ErrorCode::TlsAlertReceived(_) => {
                "the TLS handshake failed".to_string()
            }
            ErrorCode::HttpRequestUriInvalid => "the URL is not valid".to_string(),
            other => format!("the request failed: {other}"),
        };
        SendError::Failed(message)
    }
}
