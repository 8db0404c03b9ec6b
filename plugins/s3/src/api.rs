//! Requests to an S3-compatible server, through the SDK's HTTP: the host checks each against
//! the network grant and signs it (a `sigv4` credential), so the component never holds the
//! secret key. A refusal is a typed [`S3Error`] that says what to do next.

use crate::xml;
use spud_sdk::http::{Request, Response, Url};

/// Why an S3 request did not give what was asked.
#[derive(Debug, thiserror::Error)]
pub enum S3Error {
    /// A bad argument.
    #[error("{0}")]
    Input(String),
    /// The sandbox refused the request, or it failed on the way.
    #[error("{0}")]
    Send(String),
    /// The bucket does not exist.
    #[error("{url} answered NoSuchBucket: there is no such bucket; check the bucket URL (path style: https://HOST/BUCKET/, or https://BUCKET.HOST/)")]
    NoSuchBucket {
        /// The request's URL.
        url: String,
    },
    /// No object under that key.
    #[error("{url} answered NoSuchKey: no object under that key; list the bucket with s3.list and a `prefix` to find it")]
    NoSuchKey {
        /// The request's URL.
        url: String,
    },
    /// The signature, or the key pair, was refused.
    #[error("{url} answered {code} (HTTP 403): the server refused the signature. The host signs for the component: a [credentials.X] section with inject = \"sigv4:REGION:s3\" (the bucket's region), the value `ACCESS_KEY_ID:SECRET_ACCESS_KEY`, destinations = [\"{origin}\"] and tools = [\"s3\"]")]
    Signature {
        /// The request's URL.
        url: String,
        /// `SignatureDoesNotMatch`, `InvalidAccessKeyId`, ….
        code: String,
        /// Its origin.
        origin: String,
    },
    /// The request was refused (no right to do this, or not signed at all).
    #[error("{method} {url} answered HTTP 403{code}: the key pair the host signs with has no right to do this here, or no credential signs requests to {origin} (a [credentials.X] with inject = \"sigv4:REGION:s3\" and tools = [\"s3\"])")]
    Denied {
        /// The method.
        method: String,
        /// The URL.
        url: String,
        /// ` (CODE: message)`, when the server said.
        code: String,
        /// The origin.
        origin: String,
    },
    /// Any other answer outside 2xx.
    #[error("{method} {url} answered HTTP {status}{code}")]
    Status {
        /// The method.
        method: String,
        /// The URL.
        url: String,
        /// The status.
        status: u16,
        /// ` (CODE: message)`, when the server said.
        code: String,
    },
}

/// A bucket, by the URL of its root (path style `https://HOST/BUCKET/`, or virtual-hosted
/// `https://BUCKET.HOST/`).
#[derive(Debug, Clone)]
pub struct Bucket {
    /// The root URL, ending in `/`.
    pub root: Url,
}

/// Percent-encodes everything but RFC 3986's unreserved characters (and `/` in a key).
pub fn encode(s: &str, keep_slash: bool) -> String {
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

impl Bucket {
    /// The bucket at `url`; `field` names the input, for errors.
    pub fn new(url: &str, field: &str) -> Result<Bucket, S3Error> {
        let bad = |e: String| S3Error::Input(format!("{field}: {e}"));
        let mut root = Url::parse(url).map_err(bad)?;
        if root.path_and_query.contains('?') {
            return Err(bad(format!("`{url}` has a query; give the bucket's URL")));
        }
        if !root.path_and_query.ends_with('/') {
            root.path_and_query.push('/');
        }
        Ok(Bucket { root })
    }

    /// The URL of the object under `key`.
    pub fn object(&self, key: &str) -> Result<Url, S3Error> {
        if key.is_empty() || key.starts_with('/') {
            return Err(S3Error::Input(format!(
                "key: `{key}` is not an object key (e.g. `reports/2026-11.csv`, no leading `/`)"
            )));
        }
        Ok(Url {
            path_and_query: format!("{}{}", self.root.path_and_query, encode(key, true)),
            ..self.root.clone()
        })
    }

    /// The bucket's URL with `query` (pairs, encoded here).
    pub fn with_query(&self, query: &[(&str, &str)]) -> Url {
        let q: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k, false), encode(v, false)))
            .collect();
        Url {
            path_and_query: format!("{}?{}", self.root.path_and_query, q.join("&")),
            ..self.root.clone()
        }
    }
}

/// Sends `request`, reading at most `max_bytes` of the answer; an answer outside 2xx is an
/// [`S3Error`].
pub fn send(request: &Request, max_bytes: u64) -> Result<Response, S3Error> {
    let response = spud_sdk::http::send(request, max_bytes)
        .map_err(|e| S3Error::Send(e.describe(&request.url)))?;
    if response.is_success() {
        return Ok(response);
    }
    Err(refusal(request, &response))
}

/// The typed error for an answer outside 2xx.
pub fn refusal(request: &Request, response: &Response) -> S3Error {
    let url = request.url.to_string();
    let method = request.method.clone();
    let origin = request.url.origin_string();
    let api = xml::api_error(&response.text());
    let said = api
        .as_ref()
        .map(|e| format!(" ({}: {})", e.code, e.message))
        .unwrap_or_default();
    match (response.status, api.as_ref().map(|e| e.code.as_str())) {
        (_, Some("NoSuchBucket")) => S3Error::NoSuchBucket { url },
        (404, Some("NoSuchKey")) | (404, None) if method != "DELETE" => S3Error::NoSuchKey { url },
        (
            403,
            Some(
                code @ ("SignatureDoesNotMatch"
                | "InvalidAccessKeyId"
                | "AuthorizationHeaderMalformed"),
            ),
        ) => S3Error::Signature {
            url,
            code: code.to_string(),
            origin,
        },
        (403, _) => S3Error::Denied {
            method,
            url,
            code: said,
            origin,
        },
        (status, _) => S3Error::Status {
            method,
            url,
            status,
            code: said,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_and_queries_are_encoded() {
        let b = Bucket::new("http://127.0.0.1:5000/reports", "bucket").unwrap();
        assert_eq!(b.root.to_string(), "http://127.0.0.1:5000/reports/");
        assert_eq!(
            b.object("2026/a b+c.csv").unwrap().to_string(),
            "http://127.0.0.1:5000/reports/2026/a%20b%2Bc.csv"
        );
        assert!(b.object("/x").is_err());
        assert_eq!(
            b.with_query(&[("list-type", "2"), ("prefix", "2026/11 &")])
                .path_and_query,
            "/reports/?list-type=2&prefix=2026%2F11%20%26"
        );
        assert!(Bucket::new("http://h/b?x=1", "bucket").is_err());
    }

    #[test]
    fn refusals_are_typed() {
        let req = Request::new("GET", Url::parse("http://h:1/b/k").unwrap());
        let answer = |status, body: &str| Response {
            status,
            headers: vec![],
            body: body.as_bytes().to_vec(),
            truncated: false,
        };
        let e = refusal(
            &req,
            &answer(
                404,
                "<Error><Code>NoSuchKey</Code><Message>m</Message></Error>",
            ),
        );
        assert!(matches!(e, S3Error::NoSuchKey { .. }), "{e}");
        let e = refusal(
            &req,
            &answer(
                403,
                "<Error><Code>SignatureDoesNotMatch</Code><Message>m</Message></Error>",
            ),
        );
        assert!(e.to_string().contains("sigv4:REGION:s3"), "{e}");
        let e = refusal(&req, &answer(403, ""));
        assert!(matches!(e, S3Error::Denied { .. }), "{e}");
        let e = refusal(
            &req,
            &answer(
                404,
                "<Error><Code>NoSuchBucket</Code><Message>m</Message></Error>",
            ),
        );
        assert!(e.to_string().contains("bucket URL"), "{e}");
        let e = refusal(
            &req,
            &answer(
                503,
                "<Error><Code>SlowDown</Code><Message>wait</Message></Error>",
            ),
        );
        assert_eq!(
            e.to_string(),
            "GET http://h:1/b/k answered HTTP 503 (SlowDown: wait)"
        );
    }
}
