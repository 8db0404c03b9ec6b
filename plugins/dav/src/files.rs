//! Files and folders on a WebDAV server (RFC 4918, class 1): a folder's listing from
//! `PROPFIND` at depth 1, and `GET`, `PUT`, `MKCOL`, `MOVE` and `DELETE` on any URL of the
//! client's origin. Every request goes through [`Client::send`], so it is checked and logged in
//! by the host like the calendar's, and a refusal is a typed [`DavError`].

use crate::client::{Client, DavError};
use crate::multistatus::Entry;
use spud_sdk::http::{Request, Response, Url};

/// The properties a listing asks for.
const FILE_PROPS: &str = "<D:resourcetype/><D:getcontentlength/><D:getlastmodified/>\
                          <D:getcontenttype/><D:getetag/>";

/// One file or folder, as a listing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// Its absolute URL (a folder's ends in `/`).
    pub url: String,
    /// Its last path segment, percent-decoded.
    pub name: String,
    /// Whether it is a folder (a collection).
    pub is_dir: bool,
    /// A file's size in bytes, when the server says.
    pub size: Option<u64>,
    /// When it last changed, RFC 3339 UTC (`2026-12-02T17:37:04Z`), when the server says.
    pub modified: Option<String>,
    /// A file's media type, when the server says.
    pub content_type: Option<String>,
    /// Its ETag, when the server gives one.
    pub etag: Option<String>,
}

/// Parses the URL of a file or folder: absolute `http(s)`, no query; `field` names the input.
pub fn target(url: &str, field: &str) -> Result<Url, DavError> {
    let bad = |e: String| DavError::Input(format!("{field}: {e}"));
    let parsed = Url::parse(url).map_err(bad)?;
    if parsed.path_and_query.contains('?') {
        return Err(bad(format!(
            "`{url}` has a query; give the file's or folder's URL"
        )));
    }
    Ok(parsed)
}

/// The folder that holds `url` (`None` for the origin's root).
pub fn parent(url: &Url) -> Option<Url> {
    let path = url.path_and_query.trim_end_matches('/');
    let cut = path.rfind('/')?;
    if path.is_empty() {
        return None;
    }
    Some(Url {
        path_and_query: path[..=cut].to_string(),
        ..url.clone()
    })
}

/// The last path segment of `path`, percent-decoded (a folder's without its `/`).
pub fn name_of(path: &str) -> String {
    let path = path.split('?').next().unwrap_or_default();
    percent_decode(
        path.trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or_default(),
    )
}

/// Decodes `%XX` escapes (invalid ones stay as they are; bytes that are not UTF-8 become U+FFFD).
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An HTTP date (`Wed, 02 Dec 2026 17:37:04 GMT`, RFC 9110's IMF-fixdate) as RFC 3339 UTC;
/// any other form is kept as the server wrote it.
pub fn http_date_to_rfc3339(date: &str) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let parts: Vec<&str> = date.split_whitespace().collect();
    if let [_, day, month, year, time, "GMT"] = parts.as_slice() {
        let month = MONTHS.iter().position(|m| m == month);
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
        if let Some(m) = month {
            if digits(day, 2) && digits(year, 4) && time.len() == 8 {
                return format!("{year}-{:02}-{day}T{time}Z", m + 1);
            }
        }
    }
    date.to_string()
}

impl Resource {
    /// The resource a multistatus entry describes; `client` resolves its href.
    pub fn from_entry(client: &Client, e: &Entry) -> Resource {
        let is_dir = e.is("collection");
        let text = |name: &str| {
            e.prop(name)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        Resource {
            url: client.resolve(&e.href),
            name: name_of(&e.href),
            is_dir,
            size: if is_dir {
                None
            } else {
                text("getcontentlength").and_then(|s| s.parse().ok())
            },
            modified: text("getlastmodified").map(|d| http_date_to_rfc3339(&d)),
            content_type: if is_dir { None } else { text("getcontenttype") },
            etag: text("getetag"),
        }
    }
}

/// Whether two request paths name the same resource (trailing `/` and escapes aside).
fn same_path(a: &str, b: &str) -> bool {
    percent_decode(a.trim_end_matches('/')) == percent_decode(b.trim_end_matches('/'))
}

impl Client {
    /// A client for any URL of `url`'s origin (its base is the origin's root).
    pub fn for_origin(url: &Url, tool: &'static str) -> Client {
        Client {
            base: Url {
                path_and_query: "/".into(),
                ..url.clone()
            },
            tool,
        }
    }

    /// What `url` is (PROPFIND at depth 0).
    pub fn stat(&self, url: &Url) -> Result<Resource, DavError> {
        let entries = self.propfind(url, 0, FILE_PROPS)?;
        entries
            .iter()
            .find(|e| same_path(&e.href, &url.path_and_query))
            .or(entries.first())
            .map(|e| Resource::from_entry(self, e))
            .ok_or_else(|| DavError::Answer {
                url: url.to_string(),
                reason: "the server's multistatus names no resource".into(),
            })
    }

    /// The folder at `url` (PROPFIND at depth 1): itself, and what it holds.
    pub fn list(&self, url: &Url) -> Result<(Resource, Vec<Resource>), DavError> {
        let entries = self.propfind(url, 1, FILE_PROPS)?;
        let mut this = None;
        let mut children = Vec::new();
        for e in &entries {
            let r = Resource::from_entry(self, e);
            if this.is_none() && same_path(&e.href, &url.path_and_query) {
                this = Some(r);
            } else {
                children.push(r);
            }
        }
        let this = this.ok_or_else(|| DavError::Answer {
            url: url.to_string(),
            reason: "the server's multistatus does not describe the folder itself".into(),
        })?;
        Ok((this, children))
    }

    /// GETs `url`, reading at most `max_bytes` of it (a `Range` asks the server for one byte
    /// more, which tells whether there is more).
    pub fn get(&self, url: &Url, max_bytes: u64) -> Result<Response, DavError> {
        let request =
            Request::new("GET", url.clone()).with_header("range", format!("bytes=0-{max_bytes}"));
        let response = self.send_bounded(&request, max_bytes)?;
        Ok(response)
    }

    /// GETs `url` without a range, reading at most `max_bytes` of it.
    pub fn get_whole(&self, url: &Url, max_bytes: u64) -> Result<Response, DavError> {
        self.send_bounded(&Request::new("GET", url.clone()), max_bytes)
    }

    /// PUTs `body` at `url`; with `only_new`, fails with [`DavError::Exists`] rather than
    /// replace a file. Returns whether it replaced one (204 rather than 201) and the new ETag,
    /// if the server gave one.
    pub fn put_bytes(
        &self,
        url: &Url,
        content_type: &str,
        body: Vec<u8>,
        only_new: bool,
    ) -> Result<(bool, Option<String>), DavError> {
        let mut request =
            Request::new("PUT", url.clone()).with_header("content-type", content_type);
        if only_new {
            request = request.with_header("if-none-match", "*");
        }
        let response = self.send(&request.with_body(body))?;
        Ok((
            response.status == 204,
            response.header("etag").map(str::to_string),
        ))
    }

    /// Makes the folder `url` (MKCOL). `Ok(false)` when something is there already (405).
    pub fn mkcol(&self, url: &Url) -> Result<bool, DavError> {
        let mut folder = url.clone();
        if !folder.path_and_query.ends_with('/') {
            folder.path_and_query.push('/');
        }
        match self.send(&Request::new("MKCOL", folder)) {
            Ok(_) => Ok(true),
            Err(DavError::Status { status: 405, .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Makes the folder `url` and each missing folder above it (deepest existing one first
    /// found by walking up on 409); returns the folders made, topmost first.
    pub fn make_folders(&self, url: &Url) -> Result<Vec<String>, DavError> {
        let mut made = Vec::new();
        let mut pending = vec![url.clone()];
        // At most one level per path segment.
        let limit = url.path_and_query.matches('/').count() + 1;
        while let Some(folder) = pending.pop() {
            match self.mkcol(&folder) {
                Ok(true) => made.push(folder.to_string()),
                Ok(false) => {}
                Err(DavError::Conflict { .. }) if pending.len() < limit => {
                    let Some(up) = parent(&folder) else {
                        return Err(DavError::Input(format!(
                            "{folder}: the server refuses to make it, even at the top"
                        )));
                    };
                    pending.push(folder);
                    pending.push(up);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(made)
    }

    /// Moves `from` to `to` on the same server (MOVE); with `overwrite` false, an existing
    /// destination fails with [`DavError::Precondition`]. `Ok(true)` when it replaced one.
    pub fn move_to(&self, from: &Url, to: &Url, overwrite: bool) -> Result<bool, DavError> {
        let request = Request::new("MOVE", from.clone())
            .with_header("destination", to.to_string())
            .with_header("overwrite", if overwrite { "T" } else { "F" });
        let response = self.send(&request)?;
        // 201: a new resource; 204: an existing one was replaced.
        Ok(response.status == 204)
    }

    /// Deletes `url` (a folder with all it holds).
    pub fn delete(&self, url: &Url) -> Result<(), DavError> {
        self.send(&Request::new("DELETE", url.clone())).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parents_and_dates() {
        assert_eq!(name_of("/docs/a%20b.txt"), "a b.txt");
        assert_eq!(name_of("/docs/sub/"), "sub");
        assert_eq!(percent_decode("%E2%82%AC%zz%4"), "€%zz%4");
        let u = target("http://127.0.0.1:8/a/b/c.txt", "url").unwrap();
        assert_eq!(parent(&u).unwrap().to_string(), "http://127.0.0.1:8/a/b/");
        let d = target("http://127.0.0.1:8/a/b/", "url").unwrap();
        assert_eq!(parent(&d).unwrap().path_and_query, "/a/");
        assert!(parent(&target("http://h/", "url").unwrap()).is_none());
        assert!(target("http://h/a?x=1", "url").is_err());
        assert_eq!(
            http_date_to_rfc3339("Wed, 02 Dec 2026 17:37:04 GMT"),
            "2026-12-02T17:37:04Z"
        );
        assert_eq!(http_date_to_rfc3339("yesterday"), "yesterday");
        assert!(same_path("/a%20b/", "/a b"));
    }

    #[test]
    fn a_listing_entry_is_a_resource() {
        let xml = "<ns0:multistatus xmlns:ns0=\"DAV:\"><ns0:response><ns0:href>/docs/a%20b.txt</ns0:href>\
                   <ns0:propstat><ns0:prop><ns0:getcontentlength>5</ns0:getcontentlength>\
                   <ns0:getlastmodified>Wed, 02 Dec 2026 17:37:04 GMT</ns0:getlastmodified><ns0:resourcetype />\
                   <ns0:getcontenttype>text/plain</ns0:getcontenttype><ns0:getetag>\"e1\"</ns0:getetag></ns0:prop>\
                   <ns0:status>HTTP/1.1 200 OK</ns0:status></ns0:propstat></ns0:response></ns0:multistatus>";
        let e = &crate::multistatus::parse(xml).unwrap()[0];
        let c = Client::new("http://127.0.0.1:9/docs/", "url", "webdav").unwrap();
        let r = Resource::from_entry(&c, e);
        assert_eq!(r.url, "http://127.0.0.1:9/docs/a%20b.txt");
        assert_eq!(r.name, "a b.txt");
        assert!(!r.is_dir);
        assert_eq!(r.size, Some(5));
        assert_eq!(r.modified.as_deref(), Some("2026-12-02T17:37:04Z"));
        assert_eq!(r.etag.as_deref(), Some("\"e1\""));
    }
}
