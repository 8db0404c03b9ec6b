//! Network patterns: `scheme://host[:port]` for HTTP(S) and `host:port` for raw sockets.
//!
//! Hosts are exact names, `*.suffix` (any subdomain of `suffix`, not `suffix` itself) or IP
//! literals (`[v6]` in brackets). Ports are a number, `*`, or omitted (the scheme's default).
//! Matching is on the request's scheme, host and port; the sandbox additionally checks the
//! addresses a name resolves to with [`NetPattern::permits_address`].

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// A pattern that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid network pattern `{pattern}`: {reason}")]
pub struct PatternError {
    /// The pattern as written.
    pub pattern: String,
    /// What is wrong with it.
    pub reason: String,
}

fn bad(pattern: &str, reason: impl Into<String>) -> PatternError {
    PatternError {
        pattern: pattern.to_string(),
        reason: reason.into(),
    }
}

/// URL scheme of an HTTP pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scheme {
    /// `http://`
    Http,
    /// `https://`
    Https,
}

impl Scheme {
    /// The port a URL of this scheme uses when it names none.
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }

    /// Parses `http` or `https` (case-insensitive).
    pub fn parse(s: &str) -> Option<Scheme> {
        match s.to_ascii_lowercase().as_str() {
            "http" => Some(Scheme::Http),
            "https" => Some(Scheme::Https),
            _ => None,
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        })
    }
}

/// The host part of a pattern.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HostPattern {
    /// One name, lower-case, no trailing dot.
    Exact(String),
    /// `*.suffix`: any name ending in `.suffix` (the suffix itself is not included).
    Subdomains(String),
    /// An IP literal.
    Ip(IpAddr),
    /// `*`: any host. Meant for manifests ("whatever the operator grants"); in a policy it
    /// grants every public address, since non-public ones still need to be named.
    Any,
}

impl HostPattern {
    fn parse(pattern: &str, host: &str) -> Result<HostPattern, PatternError> {
        if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            return inner
                .parse::<Ipv6Addr>()
                .map(|ip| HostPattern::Ip(IpAddr::V6(ip)))
                .map_err(|_| bad(pattern, "bracketed host is not an IPv6 address"));
        }
        if let Ok(ip) = host.parse::<Ipv4Addr>() {
            return Ok(HostPattern::Ip(IpAddr::V4(ip)));
        }
        let host = normalize_name(host);
        if host == "*" {
            return Ok(HostPattern::Any);
        }
        if let Some(suffix) = host.strip_prefix("*.") {
            check_name(pattern, suffix)?;
            return Ok(HostPattern::Subdomains(suffix.to_string()));
        }
        if host.contains('*') {
            return Err(bad(pattern, "`*` is only allowed as a leading `*.` label"));
        }
        check_name(pattern, &host)?;
        Ok(HostPattern::Exact(host))
    }

    /// Whether a request host (a name, or an IP literal without brackets) matches.
    pub fn matches(&self, host: &str) -> bool {
        let host_ip = parse_ip_host(host);
        match (self, host_ip) {
            (HostPattern::Any, _) => true,
            (HostPattern::Ip(ip), Some(h)) => *ip == h,
            (HostPattern::Ip(_), None) | (_, Some(_)) => false,
            (HostPattern::Exact(name), None) => *name == normalize_name(host),
            (HostPattern::Subdomains(suffix), None) => {
                let host = normalize_name(host);
                host.len() > suffix.len() + 1
                    && host.ends_with(suffix.as_str())
                    && host.as_bytes()[host.len() - suffix.len() - 1] == b'.'
            }
        }
    }

    /// The pattern matching exactly the hosts both match, if any.
    pub fn intersect(&self, other: &HostPattern) -> Option<HostPattern> {
        use HostPattern::*;
        match (self, other) {
            (Any, x) | (x, Any) => Some(x.clone()),
            (Ip(a), Ip(b)) => (a == b).then_some(Ip(*a)),
            (Ip(_), _) | (_, Ip(_)) => None,
            (Exact(a), Exact(b)) => (a == b).then(|| Exact(a.clone())),
            (Exact(a), s @ Subdomains(_)) | (s @ Subdomains(_), Exact(a)) => {
                s.matches(a).then(|| Exact(a.clone()))
            }
            (Subdomains(a), Subdomains(b)) => {
                if a == b || Subdomains(b.clone()).matches(a) {
                    Some(Subdomains(a.clone()))
                } else if Subdomains(a.clone()).matches(b) {
                    Some(Subdomains(b.clone()))
                } else {
                    None
                }
            }
        }
    }

    /// Whether this pattern names `addr` itself, which is what it takes to reach a
    /// non-public address: the IP literal, or `localhost` for loopback.
    pub fn names_address(&self, addr: IpAddr) -> bool {
        match self {
            HostPattern::Ip(ip) => canonical_ip(*ip) == canonical_ip(addr),
            HostPattern::Exact(name) => name == "localhost" && canonical_ip(addr).is_loopback(),
            HostPattern::Subdomains(_) | HostPattern::Any => false,
        }
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostPattern::Exact(n) => f.write_str(n),
            HostPattern::Subdomains(s) => write!(f, "*.{s}"),
            HostPattern::Ip(IpAddr::V4(ip)) => write!(f, "{ip}"),
            HostPattern::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
            HostPattern::Any => f.write_str("*"),
        }
    }
}

/// The port part of a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PortPattern {
    /// Exactly this port.
    Exact(u16),
    /// `*`: any port.
    Any,
}

impl PortPattern {
    fn parse(pattern: &str, port: &str) -> Result<PortPattern, PatternError> {
        if port == "*" {
            return Ok(PortPattern::Any);
        }
        port.parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .map(PortPattern::Exact)
            .ok_or_else(|| bad(pattern, format!("port `{port}` is not 1-65535 or `*`")))
    }

    /// Whether `port` matches.
    pub fn matches(self, port: u16) -> bool {
        match self {
            PortPattern::Exact(p) => p == port,
            PortPattern::Any => true,
        }
    }

    fn intersect(self, other: PortPattern) -> Option<PortPattern> {
        match (self, other) {
            (PortPattern::Any, p) | (p, PortPattern::Any) => Some(p),
            (PortPattern::Exact(a), PortPattern::Exact(b)) => (a == b).then_some(self),
        }
    }
}

impl fmt::Display for PortPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PortPattern::Exact(p) => write!(f, "{p}"),
            PortPattern::Any => f.write_str("*"),
        }
    }
}

/// An outbound HTTP(S) allowlist entry: `scheme://host[:port]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NetPattern {
    /// Required scheme.
    pub scheme: Scheme,
    /// Host or hosts allowed.
    pub host: HostPattern,
    /// Port or ports allowed.
    pub port: PortPattern,
}

impl FromStr for NetPattern {
    type Err = PatternError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (scheme, rest) = s.split_once("://").ok_or_else(|| {
            bad(
                s,
                "expected `scheme://host[:port]`, e.g. `https://api.example.com`",
            )
        })?;
        let scheme = Scheme::parse(scheme)
            .ok_or_else(|| bad(s, format!("scheme `{scheme}` is not `http` or `https`")))?;
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains('/') || rest.contains('?') || rest.contains('@') {
            return Err(bad(
                s,
                "a pattern names scheme, host and port only (no path, query or user)",
            ));
        }
        let (host, port) = split_host_port(rest);
        if host.is_empty() {
            return Err(bad(s, "host is empty"));
        }
        let host = HostPattern::parse(s, host)?;
        let port = match port {
            Some(p) => PortPattern::parse(s, p)?,
            None => PortPattern::Exact(scheme.default_port()),
        };
        Ok(NetPattern { scheme, host, port })
    }
}

impl fmt::Display for NetPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme, self.host)?;
        match self.port {
            PortPattern::Exact(p) if p == self.scheme.default_port() => Ok(()),
            p => write!(f, ":{p}"),
        }
    }
}

impl NetPattern {
    /// Whether a request to `scheme://host:port` matches (before address checks).
    pub fn matches(&self, scheme: Scheme, host: &str, port: u16) -> bool {
        self.scheme == scheme && self.port.matches(port) && self.host.matches(host)
    }

    /// Whether a connection matched by this pattern may go to `addr`, an address the host
    /// name resolved to: public addresses always, others only when the pattern names them.
    pub fn permits_address(&self, addr: IpAddr) -> bool {
        is_public_address(addr) || self.host.names_address(addr)
    }

    /// The pattern that allows exactly what both allow, if anything.
    pub fn intersect(&self, other: &NetPattern) -> Option<NetPattern> {
        if self.scheme != other.scheme {
            return None;
        }
        Some(NetPattern {
            scheme: self.scheme,
            host: self.host.intersect(&other.host)?,
            port: self.port.intersect(other.port)?,
        })
    }
}

/// A raw TCP connect allowlist entry: `ip:port`, `ip:*`, `[v6]:port`, or `*:port` / `*:*` for
/// any address (what a generic client such as a database connector requests in its manifest,
/// so that the operator's grant of one `ip:port` is what it gets).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SocketPattern {
    /// Address allowed; `None`: any (`*`).
    pub ip: Option<IpAddr>,
    /// Port or ports allowed.
    pub port: PortPattern,
}

impl FromStr for SocketPattern {
    type Err = PatternError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (host, port) = split_host_port(s);
        let port = port.ok_or_else(|| bad(s, "expected `ip:port` or `ip:*`"))?;
        let ip = match host {
            "*" => None,
            _ => Some(parse_ip_host(host).ok_or_else(|| {
                bad(
                    s,
                    "socket grants name an IP address (or `*`), not a host name",
                )
            })?),
        };
        Ok(SocketPattern {
            ip,
            port: PortPattern::parse(s, port)?,
        })
    }
}

impl fmt::Display for SocketPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ip {
            None => write!(f, "*:{}", self.port),
            Some(IpAddr::V4(ip)) => write!(f, "{ip}:{}", self.port),
            Some(IpAddr::V6(ip)) => write!(f, "[{ip}]:{}", self.port),
        }
    }
}

impl SocketPattern {
    /// Whether a connection to `ip:port` is allowed.
    pub fn matches(&self, ip: IpAddr, port: u16) -> bool {
        self.ip.is_none_or(|a| canonical_ip(a) == canonical_ip(ip)) && self.port.matches(port)
    }

    /// The pattern allowing what both allow, if anything.
    pub fn intersect(&self, other: &SocketPattern) -> Option<SocketPattern> {
        let ip = match (self.ip, other.ip) {
            (None, ip) | (ip, None) => ip,
            (Some(a), Some(b)) if canonical_ip(a) == canonical_ip(b) => Some(a),
            _ => return None,
        };
        self.port
            .intersect(other.port)
            .map(|port| SocketPattern { ip, port })
    }
}

/// Patterns are written as their text (`"https://*.example.com"`, `"127.0.0.1:5432"`).
macro_rules! serde_as_text {
    ($($t:ty),+) => {$(
        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <String as serde::Deserialize>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }

        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
    )+};
}

serde_as_text!(NetPattern, SocketPattern);

/// Whether `addr` is a globally routable address: not loopback, private, link-local,
/// unique-local, shared (CGNAT), unspecified, broadcast, multicast or documentation space.
pub fn is_public_address(addr: IpAddr) -> bool {
    match canonical_ip(addr) {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            let seg = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg[0] & 0xfe00) == 0xfc00
                || (seg[0] & 0xffc0) == 0xfe80
                || (seg[0] == 0x2001 && seg[1] == 0xdb8)
                || (seg[0] == 0x64 && seg[1] == 0xff9b))
        }
    }
}

/// IPv4-mapped IPv6 addresses compare and classify as the IPv4 address they carry.
fn canonical_ip(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(addr),
        v4 => v4,
    }
}

fn parse_ip_host(host: &str) -> Option<IpAddr> {
    let inner = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    inner.parse::<IpAddr>().ok()
}

fn normalize_name(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

fn check_name(pattern: &str, name: &str) -> Result<(), PatternError> {
    let ok = !name.is_empty()
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if ok {
        Ok(())
    } else {
        Err(bad(pattern, format!("`{name}` is not a valid host name")))
    }
}

/// Splits `host:port`, `[v6]:port`, `host` or `[v6]`.
fn split_host_port(s: &str) -> (&str, Option<&str>) {
    if s.starts_with('[') {
        return match s.find(']') {
            Some(end) => {
                let (host, rest) = s.split_at(end + 1);
                (host, rest.strip_prefix(':'))
            }
            None => (s, None),
        };
    }
    match s.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (s, None),
    }
}

#[cfg(test)]
mod tests;
