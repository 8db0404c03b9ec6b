//! One WebDAV client per call, rooted at the collection URL the tool was given. Every request
//! goes through the SDK's HTTP, so the host checks it against the plugin's network grant and
//! adds the login (a `basic` credential) itself.

use crate::multistatus::{self, Entry};
use spud_sdk::http::{Request, Response, Url};

/// The most of an answer read (16 MiB).
pub const MAX_ANSWER: u64 = 16 << 20;

/// Why a WebDAV request did not give what was asked.
#[derive(Debug, thiserror::Error)]
pub enum DavError {
    /// A bad argument (a collection name that is not one path segment, …).
    #[error("{0}")]
    Input(String),
    /// The sandbox refused the request, or it failed on the way.
    #[error("{0}")]
    Send(String),
    /// The server refused the login.
    #[error("{url} answered HTTP {status}: the server wants a login. The host sends it for the component: a [credentials.X] section with inject = \"basic\", the value `user:password` (value_env or value_file), destinations = [\"{origin}\"] and tools = [\"{tool}\"]")]
    Login {
        /// The request's URL.
        url: String,
        /// 401.
        status: u16,
        /// Its origin.
        origin: String,
        /// The plugin.
        tool: &'static str,
    },
    /// The login is fine but the server refuses this request on that resource (a read-only
    /// folder, no rights there).
    #[error("{method} {url} answered HTTP 403: the server refuses this to the login the host sends for {origin}")]
    Forbidden {
        /// The method.
        method: String,
        /// The request's URL.
        url: String,
        /// Its origin.
        origin: String,
    },
    /// Nothing is at that URL.
    #[error("{method} {url} answered HTTP 404: nothing is there")]
    NotFound {
        /// The method.
        method: String,
        /// The URL.
        url: String,
    },
    /// The request conflicts with the server's state: for PUT, MKCOL, MOVE and COPY, a parent
    /// folder is missing (RFC 4918, 9.7.1, 9.3.1, 9.9.4).
    #[error("{method} {url} answered HTTP 409: {body}")]
    Conflict {
        /// The method.
        method: String,
        /// The URL.
        url: String,
        /// The start of the body.
        body: String,
    },
    /// `If-None-Match: *` failed: something is already at that URL.
    #[error("{0} exists already; nothing was changed")]
    Exists(String),
    /// Another precondition failed (for MOVE with `Overwrite: F`: the destination exists).
    #[error("{method} {url} answered HTTP 412: a precondition failed; nothing was changed")]
    Precondition {
        /// The method.
        method: String,
        /// The URL.
        url: String,
    },
    /// The resource is locked by someone else.
    #[error("{method} {url} answered HTTP 423: it is locked")]
    Locked {
        /// The method.
        method: String,
        /// The URL.
        url: String,
    },
    /// The server has no room left (quota or disk).
    #[error("{method} {url} answered HTTP 507: the server has no room left for it")]
    InsufficientStorage {
        /// The method.
        method: String,
        /// The URL.
        url: String,
    },
    /// Any other answer outside 2xx.
    #[error("{method} {url} answered HTTP {status}: {body}")]
    Status {
        /// The method.
        method: String,
        /// The URL.
        url: String,
        /// The status.
        status: u16,
        /// The start of the body.
        body: String,
    },
    /// The answer is not the multistatus expected.
    #[error("{url}: {reason}")]
    Answer {
        /// The URL.
        url: String,
        /// What is wrong.
        reason: String,
    },
}

/// A client rooted at one collection URL.
#[derive(Debug, Clone)]
pub struct Client {
    /// The collection URL, ending in `/`.
    pub base: Url,
    /// The plugin's name, for messages.
    pub tool: &'static str,
}

impl Client {
    /// Rooted at the collection `url` (a `/` is added at the end if missing); `field` names the
    /// input it came from, for errors.
    pub fn new(url: &str, field: &str, tool: &'static str) -> Result<Client, DavError> {
        let bad = |e: String| DavError::Input(format!("{field}: {e}"));
        let mut base = Url::parse(url).map_err(bad)?;
        if base.path_and_query.contains('?') {
            return Err(bad(format!(
                "`{url}` has a query; give the collection's URL"
            )));
        }
        if !base.path_and_query.ends_with('/') {
            base.path_and_query.push('/');
        }
        Ok(Client { base, tool })
    }

    /// The URL of an object named `name` (one path segment, e.g. `e1.ics`) in the collection.
    pub fn child(&self, name: &str) -> Url {
        Url {
            path_and_query: format!("{}{name}", self.base.path_and_query),
            ..self.base.clone()
        }
    }

    /// The absolute URL of an `href` the server answered (a path, usually).
    pub fn resolve(&self, href: &str) -> String {
        self.base
            .join(href)
            .map(|u| u.to_string())
            .unwrap_or_else(|_| href.to_string())
    }

    /// Sends one request; an answer outside 2xx (and 207) is an error.
    pub fn send(&self, request: &Request) -> Result<Response, DavError> {
        self.send_bounded(request, MAX_ANSWER)
    }

    /// Sends one request, reading at most `max_bytes` of the answer's body; an answer outside
    /// 2xx is an error.
    pub fn send_bounded(&self, request: &Request, max_bytes: u64) -> Result<Response, DavError> {
        let response = spud_sdk::http::send(request, max_bytes)
            .map_err(|e| DavError::Send(e.describe(&request.url)))?;
        if response.is_success() {
            return Ok(response);
        }
        Err(self.refusal(request, &response))
    }

    /// The typed error for an answer outside 2xx.
    pub fn refusal(&self, request: &Request, response: &Response) -> DavError {
        let url = request.url.to_string();
        let method = request.method.clone();
        match response.status {
            401 => DavError::Login {
                url,
                status: 401,
                origin: request.url.origin_string(),
                tool: self.tool,
            },
            403 => DavError::Forbidden {
                method,
                url,
                origin: request.url.origin_string(),
            },
            404 => DavError::NotFound { method, url },
            409 => DavError::Conflict {
                method,
                url,
                body: brief(response),
            },
            412 if request.header("if-none-match") == Some("*") => DavError::Exists(url),
            412 => DavError::Precondition { method, url },
            423 => DavError::Locked { method, url },
            507 => DavError::InsufficientStorage { method, url },
            status => DavError::Status {
                method,
                url,
                status,
                body: brief(response),
            },
        }
    }

    /// PROPFIND `url` at `depth` for the properties in `props` (XML elements, prefixes `D:`
    /// for DAV:, `C:` for CalDAV, `CR:` for CardDAV).
    pub fn propfind(&self, url: &Url, depth: u8, props: &str) -> Result<Vec<Entry>, DavError> {
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:propfind xmlns:D=\"DAV:\" {NS}><D:prop>{props}</D:prop></D:propfind>"
        );
        self.multistatus("PROPFIND", url, depth, body)
    }

    /// REPORT `body` (a complete XML document) on `url`.
    pub fn report(&self, url: &Url, depth: u8, body: String) -> Result<Vec<Entry>, DavError> {
        self.multistatus("REPORT", url, depth, body)
    }

    fn multistatus(
        &self,
        method: &str,
        url: &Url,
        depth: u8,
        body: String,
    ) -> Result<Vec<Entry>, DavError> {
        let request = Request::new(method, url.clone())
            .with_header("depth", depth.to_string())
            .with_header("content-type", "application/xml; charset=utf-8")
            .with_body(body.into_bytes());
        let response = self.send(&request)?;
        let answer = |reason: String| DavError::Answer {
            url: url.to_string(),
            reason,
        };
        if response.truncated {
            return Err(answer(format!("the answer is over {MAX_ANSWER} bytes")));
        }
        multistatus::parse(&response.text()).map_err(answer)
    }

    /// PUTs `body` at `url`; with `only_new`, fails with [`DavError::Exists`] rather than
    /// replace anything. Returns the new ETag, if the server gave one.
    pub fn put(
        &self,
        url: &Url,
        content_type: &str,
        body: String,
        only_new: bool,
    ) -> Result<Option<String>, DavError> {
        let mut request =
            Request::new("PUT", url.clone()).with_header("content-type", content_type);
        if only_new {
            request = request.with_header("if-none-match", "*");
        }
        let response = self.send(&request.with_body(body.into_bytes()))?;
        Ok(response.header("etag").map(str::to_string))
    }
}

/// The start of an error answer's body (500 characters), its markup left out.
fn brief(response: &Response) -> String {
    let text = response.text();
    let mut out = String::new();
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(500)
        .collect()
}

/// The namespace prefixes the request bodies use.
pub const NS: &str =
    "xmlns:C=\"urn:ietf:params:xml:ns:caldav\" xmlns:CR=\"urn:ietf:params:xml:ns:carddav\"";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_collection_url_ends_in_a_slash() {
        let c = Client::new("http://127.0.0.1:5232/shop", "url", "calendar").unwrap();
        assert_eq!(c.base.path_and_query, "/shop/");
        assert_eq!(
            c.child("e1.ics").to_string(),
            "http://127.0.0.1:5232/shop/e1.ics"
        );
        assert_eq!(c.resolve("/shop/team/"), "http://127.0.0.1:5232/shop/team/");
        let e = Client::new("ftp://x/", "calendar", "calendar").unwrap_err();
        assert!(e.to_string().starts_with("calendar: "), "{e}");
        assert!(Client::new("http://x/a?b=1", "url", "calendar").is_err());
    }
}
