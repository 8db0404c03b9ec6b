//! Just enough URL handling for HTTP(S): parsing absolute URLs, resolving a redirect's
//! `Location` against the URL it came from, and nothing the fetch tool does not need.

use std::fmt;

/// `http` or `https`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Plain HTTP.
    Http,
    /// HTTP over TLS.
    Https,
}

/// An absolute `http(s)` URL without fragment or credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// The scheme.
    pub scheme: Scheme,
    /// Host name or IP literal (IPv6 in brackets), lowercase.
    pub host: String,
    /// Explicit port, if any.
    pub port: Option<u16>,
    /// Path and query, starting with `/`.
    pub path_and_query: String,
}

impl Url {
    /// Parses an absolute URL, e.g. `https://example.com:8443/a?b=c`.
    pub fn parse(input: &str) -> Result<Url, String> {
        let input = input.trim();
        let (scheme, rest) = input.split_once("://").ok_or_else(|| {
            format!("`{input}` is not an absolute URL (expected http://... or https://...)")
        })?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            other => {
                return Err(format!(
                    "only http and https URLs are supported, not `{other}`"
                ))
            }
        };
        let rest = rest.split('#').next().unwrap_or_default();
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(split);
        if authority.contains('@') {
            return Err(
                "credentials in URLs are not supported; send an `Authorization` header instead"
                    .into(),
            );
        }
        let (host, port) = split_host_port(authority)?;
        let path = if path.starts_with('/') {
            path.to_string()
        } else {
            format!("/{path}")
        };
        Ok(Url {
            scheme,
            host,
            port,
            path_and_query: percent_encode_unsafe(&path),
        })
    }

    /// `host[:port]`, as sent in the request's authority.
    pub fn authority(&self) -> String {
        match self.port {
            Some(port) => format!("{}:{port}", self.host),
            None => self.host.clone(),
        }
    }

    /// Scheme, host and effective port: requests to the same origin may share credentials.
    pub fn origin(&self) -> (Scheme, &str, u16) {
        let default = match self.scheme {
            Scheme::Http => 80,
            Scheme::Https => 443,
        };
        (self.scheme, &self.host, self.port.unwrap_or(default))
    }

    /// Resolves `location` (absolute, scheme-relative, absolute-path, relative or query-only)
    /// against this URL, as a browser follows a redirect.
    pub fn join(&self, location: &str) -> Result<Url, String> {
        let location = location.trim();
        let location = location.split('#').next().unwrap_or_default();
        if has_scheme(location) {
            return Url::parse(location);
        }
        if let Some(rest) = location.strip_prefix("//") {
            return Url::parse(&format!("{}://{rest}", self.scheme_str()));
        }
        let current_path = self.path_and_query.split('?').next().unwrap_or("/");
        let joined = if location.is_empty() {
            self.path_and_query.clone()
        } else if location.starts_with('/') {
            location.to_string()
        } else if location.starts_with('?') {
            format!("{current_path}{location}")
        } else {
            let dir = &current_path[..current_path.rfind('/').map_or(0, |i| i + 1)];
            format!("{dir}{location}")
        };
        Ok(Url {
            path_and_query: percent_encode_unsafe(&remove_dot_segments(&joined)),
            ..self.clone()
        })
    }

    /// `scheme://host[:port]`, as the policy's `network` patterns write a destination.
    pub fn origin_string(&self) -> String {
        format!("{}://{}", self.scheme_str(), self.authority())
    }

    fn scheme_str(&self) -> &'static str {
        match self.scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}://{}{}",
            self.scheme_str(),
            self.authority(),
            self.path_and_query
        )
    }
}

fn has_scheme(s: &str) -> bool {
    match s.find(':') {
        Some(i) => {
            let scheme = &s[..i];
            scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        }
        None => false,
    }
}

fn split_host_port(authority: &str) -> Result<(String, Option<u16>), String> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (ip, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("unclosed `[` in host `{authority}`"))?;
        if !ip
            .chars()
            .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        {
            return Err(format!("`[{ip}]` is not an IPv6 address"));
        }
        let port = match after {
            "" => None,
            p => Some(
                p.strip_prefix(':')
                    .ok_or_else(|| format!("unexpected `{p}` after `[{ip}]`"))?,
            ),
        };
        (format!("[{ip}]"), port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (authority.to_string(), None),
        }
    };
    if host.is_empty() {
        return Err("the URL has no host".into());
    }
    if !host.is_ascii() {
        return Err(format!(
            "host `{host}` must be ASCII; write internationalized names in punycode (xn--...)"
        ));
    }
    if !host.starts_with('[')
        && !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c))
    {
        return Err(format!("`{host}` is not a valid host name"));
    }
    let port = match port {
        None | Some("") => None,
        Some(p) => Some(
            p.parse::<u16>()
                .map_err(|_| format!("`{p}` is not a valid port"))?,
        ),
    };
    Ok((host.to_ascii_lowercase(), port))
}

/// Applies RFC 3986 dot-segment removal to the path part of `path_and_query`.
fn remove_dot_segments(path_and_query: &str) -> String {
    let (path, query) = match path_and_query.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path_and_query, None),
    };
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let mut out: Vec<&str> = Vec::new();
    for (i, seg) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        match *seg {
            "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
        // `a/.` and `a/..` name a directory, so keep the trailing slash.
        if last && (*seg == "." || *seg == "..") {
            out.push("");
        }
    }
    let mut result = format!("/{}", out.join("/"));
    if let Some(q) = query {
        result.push('?');
        result.push_str(q);
    }
    result
}

/// Percent-encodes bytes that may not appear in a request target (spaces, controls,
/// non-ASCII, a few delimiters); everything else, including existing `%XX`, stays.
fn percent_encode_unsafe(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_graphic() && !b"\"<>\\^`{|}".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
