//! HTTP for tools: an absolute `http(s)` [`Url`], one [`Request`] and its [`Response`], sent
//! through `wasi:http/outgoing-handler` by [`WasiTransport`] (or [`send`]). The host checks
//! every request against the plugin's `network` grant, scans it for secrets and adds the
//! policy's credentials; a refusal comes back as [`SendError::Denied`], distinct from a
//! failure. [`Transport`] is the seam for native unit tests: script the answers there.
//!
//! ```
//! use spud_sdk::http::{Request, Url};
//!
//! let url = Url::parse("https://hooks.example.com/services/T1").unwrap();
//! let request = Request::new("POST", url).json_body(&serde_json::json!({"text": "hi"}));
//! assert_eq!(request.header("content-type"), Some("application/json"));
//! assert_eq!(request.header("content-length"), Some("13"));
//! ```

mod transport;
mod url;

pub use transport::{Request, Response, SendError, Transport, WasiTransport};
pub use url::{Scheme, Url};

/// Sends `request` through `wasi:http` (checked by the host) and reads at most `max_bytes` of
/// the response body.
pub fn send(request: &Request, max_bytes: u64) -> Result<Response, SendError> {
    WasiTransport.send(request, max_bytes)
}
