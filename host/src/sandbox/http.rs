//! Outbound HTTP gate. wasi-http connects from the host, so wasi:sockets rules do not apply to
//! it: every request a guest sends is checked here against the grant's `scheme://host:port`
//! patterns, the name is resolved by the host, each address is checked (a public name must not
//! reach loopback, private or link-local space unless the pattern names that address), and the
//! connection goes to the address that was checked — never to a second lookup's answer.
//! Redirects are followed by the guest, so each hop is a new request that passes through here.
//!
//! When the policy registers secrets, the URL, headers and body (held back up to
//! `[secrets] max_scan_bytes`) are scanned before anything is sent: a secret going where the
//! policy does not allow it is refused and recorded as a prevented leak.
//!
//! Credentials (`[credentials.NAME]`) are added by the host, after every check, to requests
//! going to their destinations only (`http_creds`): the guest never holds them.

use super::http_creds::{inject, HeldCredential};
use super::http_scan::{origin, scan};
use super::http_wire::{connect, finished, open};
use super::journal::{Capability, Journal};
use super::meter::Meter;
use super::metered::{Metered, Way};
use http_body_util::BodyExt;
use spud_policy::{LeakGuard, NetPattern, Scheme};
use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

type SendResult = wasmtime_wasi_http::Result<(
    http::Response<WasiBody>,
    Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
)>;

/// Name resolution used by the gate. The system resolver in production; tests may pin names to
/// loopback addresses to prove that such answers are refused.
pub trait Resolver: Send + Sync {
    /// Addresses for `host`.
    fn resolve(
        &self,
        host: &str,
        port: u16,
    ) -> std::pin::Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>>;
}

/// Resolves with the operating system's resolver.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemResolver;

impl Resolver for SystemResolver {
    fn resolve(
        &self,
        host: &str,
        port: u16,
    ) -> std::pin::Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>> {
        let target = format!("{host}:{port}");
        Box::pin(async move {
            Ok(tokio::net::lookup_host(target)
                .await?
                .map(|a| a.ip())
                .collect())
        })
    }
}

/// Resolves names from a fixed table (everything else fails), e.g. to pin a test name.
#[derive(Debug, Default, Clone)]
pub struct StaticResolver(pub std::collections::HashMap<String, Vec<IpAddr>>);

impl Resolver for StaticResolver {
    fn resolve(
        &self,
        host: &str,
        _port: u16,
    ) -> std::pin::Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>> {
        let r = self
            .0
            .get(&host.to_ascii_lowercase())
            .cloned()
            .ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("no address for {host}"),
                )
            });
        Box::pin(async move { r })
    }
}

/// The per-call HTTP hook. A browser session's proxy holds a clone of the current call's gate,
/// so the pages' requests are checked by this very code.
#[derive(Clone)]
pub struct HttpGate {
    pub(crate) patterns: Arc<[NetPattern]>,
    pub(crate) resolver: Arc<dyn Resolver>,
    pub(crate) journal: Arc<Journal>,
    pub(crate) plugin: Arc<str>,
    pub(crate) guard: Arc<LeakGuard>,
    /// The caller's live network budget, if it has one.
    pub(crate) meter: Option<Arc<dyn Meter>>,
    /// The credentials the host holds (each says which plugins and destinations get it).
    pub(crate) credentials: Arc<[HeldCredential]>,
}

impl WasiHttpHooks for HttpGate {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> Box<dyn Future<Output = SendResult> + Send> {
        let patterns = self.patterns.clone();
        let resolver = self.resolver.clone();
        let journal = self.journal.clone();
        let plugin = self.plugin.clone();
        let guard = self.guard.clone();
        let meter = self.meter.clone();
        let credentials = self.credentials.clone();
        Box::new(async move {
            let gate = Gate {
                patterns: &patterns,
                resolver: &*resolver,
                journal: &journal,
                plugin: &plugin,
                guard: &guard,
                meter,
                credentials: &credentials,
            };
            send(request, options, gate).await
        })
    }
}

impl HttpGate {
    /// A gate for `plugin` allowing `patterns`, recording in `journal` (outside a call: a
    /// benchmark or a test driving a browser session directly). It holds no credentials.
    pub fn new(
        plugin: &str,
        patterns: Vec<NetPattern>,
        resolver: Arc<dyn Resolver>,
        journal: Arc<Journal>,
        guard: Arc<LeakGuard>,
        meter: Option<Arc<dyn Meter>>,
    ) -> HttpGate {
        HttpGate {
            patterns: patterns.into(),
            resolver,
            journal,
            plugin: plugin.into(),
            guard,
            meter,
            credentials: Vec::new().into(),
        }
    }

    /// The gate's checks for one request, borrowing its parts.
    fn gate(&self) -> Gate<'_> {
        Gate {
            patterns: &self.patterns,
            resolver: &*self.resolver,
            journal: &self.journal,
            plugin: &self.plugin,
            guard: &self.guard,
            meter: self.meter.clone(),
            credentials: &self.credentials,
        }
    }

    /// Checks a tunnel to `host:port` (an HTTP `CONNECT`, which is how a browser reaches an
    /// HTTPS origin or a WebSocket through its proxy) exactly like a request: a pattern for
    /// `https://host:port` or `http://host:port`, the network budget, the resolved addresses.
    /// Returns the addresses it may connect to. The tunnel's bytes cannot be scanned for
    /// secrets (they are TLS, or a WebSocket's frames).
    pub(super) async fn tunnel(
        &self,
        host: &str,
        port: u16,
        target: &str,
    ) -> Result<Vec<IpAddr>, HttpError> {
        let gate = self.gate();
        let dest = gate.grant_tunnel(host, port, target)?;
        gate.check_budget(target)?;
        let addrs = gate.resolve(&dest.host, port, target).await?;
        gate.check_addresses(&dest, &addrs, target)
    }

    /// The journal decisions go to.
    pub(super) fn journal(&self) -> &Arc<Journal> {
        &self.journal
    }

    /// The plugin whose grant this is.
    pub(super) fn plugin(&self) -> &str {
        &self.plugin
    }
}

/// What one request is checked against.
struct Gate<'a> {
    patterns: &'a [NetPattern],
    resolver: &'a dyn Resolver,
    journal: &'a Arc<Journal>,
    plugin: &'a str,
    guard: &'a LeakGuard,
    meter: Option<Arc<dyn Meter>>,
    credentials: &'a [HeldCredential],
}

/// Where a request may go: the URL's scheme, host (without IPv6 brackets) and port, and the
/// grant's pattern that allows them.
struct Destination<'a> {
    scheme: Scheme,
    host: String,
    port: u16,
    pattern: &'a NetPattern,
}

/// Checks one request — scheme and grant, secrets, the network budget, the resolved addresses,
/// in that order — then sends it to an address that was checked, its bodies metered both ways.
/// The wire side (TCP, TLS, handshake) is in `http_wire`, the secret scan in `http_scan`.
async fn send(
    mut request: http::Request<WasiBody>,
    options: Option<RequestOptions>,
    gate: Gate<'_>,
) -> SendResult {
    let uri = request.uri().clone();
    // The URL may itself carry a secret: what is recorded never does.
    let target = gate.guard.redact(&format!("{} {}", request.method(), uri));
    let dest = gate.grant(&uri, &target)?;
    let (scheme, port) = (dest.scheme, dest.port);
    if !gate.guard.is_empty() {
        let to = (scheme, dest.host.as_str(), port);
        request = scan(request, gate.guard, to, &target, gate.journal).await?;
    }
    gate.check_budget(&target)?;
    let addrs = gate.resolve(&dest.host, port, &target).await?;
    let allowed = gate.check_addresses(&dest, &addrs, &target)?;
    let journal = gate.journal;
    let to = (scheme, dest.host.as_str(), port);
    let uri = inject(
        &mut request,
        &uri,
        to,
        gate.credentials,
        gate.plugin,
        journal,
        &target,
    )
    .await?;
    let (connect_timeout, first_byte_timeout) = timeouts(options);
    let stream = connect(&allowed, port, connect_timeout).await?;
    journal.clone_counter().add_request();

    // The guest's request carries scheme and authority; on the wire only the path goes.
    *request.uri_mut() = path_only(&uri)?;

    let target: Arc<str> = target.into();
    let meter = gate.meter;
    let request = request.map(|body| {
        Metered::new(
            body,
            journal.clone(),
            meter.clone(),
            target.clone(),
            Way::Out,
        )
        .boxed_unsync()
    });
    let (mut sender, conn) = open(scheme, &dest.host, stream, connect_timeout).await?;
    let conn = tokio::spawn(conn);
    let response = tokio::time::timeout(first_byte_timeout, sender.send_request(request))
        .await
        .map_err(|_| HttpError::ConnectionReadTimeout)?
        .map_err(HttpError::from)?;
    let response = response.map(|body| {
        let body = body.map_err(HttpError::from).boxed_unsync();
        Metered::new(
            body,
            journal.clone(),
            meter.clone(),
            target.clone(),
            Way::In,
        )
        .boxed_unsync()
    });
    Ok((response, finished(conn)))
}

/// The connect and first-byte timeouts: the guest's, or 30 s and 60 s.
fn timeouts(options: Option<RequestOptions>) -> (Duration, Duration) {
    let connect_timeout = options
        .and_then(|o| o.connect_timeout)
        .unwrap_or(Duration::from_secs(30));
    let first_byte_timeout = options
        .and_then(|o| o.first_byte_timeout)
        .unwrap_or(Duration::from_secs(60));
    (connect_timeout, first_byte_timeout)
}

/// The URI as it goes on the wire: path and query only (`/` when there is none).
fn path_only(uri: &http::Uri) -> Result<http::Uri, HttpError> {
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
    http::Uri::builder()
        .path_and_query(path)
        .build()
        .map_err(|_| HttpError::HttpRequestUriInvalid)
}

impl<'a> Gate<'a> {
    /// The scheme must be http or https, and a pattern of the grant must match scheme, host
    /// and port; otherwise the request is denied.
    fn grant(&self, uri: &http::Uri, target: &str) -> Result<Destination<'a>, HttpError> {
        let Some(scheme) = uri.scheme_str().and_then(Scheme::parse) else {
            self.journal.deny(
                Capability::Http,
                target,
                "only http and https URLs can be granted".into(),
            );
            return Err(HttpError::HttpRequestDenied);
        };
        let host = uri
            .host()
            .unwrap_or_default()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = uri.port_u16().unwrap_or(scheme.default_port());
        let Some(pattern) = self
            .patterns
            .iter()
            .find(|p| p.matches(scheme, &host, port))
        else {
            let shown = origin(scheme, &host, port);
            let plugin = self.plugin;
            self.journal.deny(
                Capability::Http,
                target,
                format!("no network grant allows {shown}; it needs `network = [\"{shown}\"]` under [tools.{plugin}] in the policy (and requested by the tool)"),
            );
            return Err(HttpError::HttpRequestDenied);
        };
        Ok(Destination {
            scheme,
            host,
            port,
            pattern,
        })
    }

    /// A tunnel's destination: a pattern for `https://host:port` or `http://host:port`.
    fn grant_tunnel(
        &self,
        host: &str,
        port: u16,
        target: &str,
    ) -> Result<Destination<'a>, HttpError> {
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        for scheme in [Scheme::Https, Scheme::Http] {
            if let Some(pattern) = self
                .patterns
                .iter()
                .find(|p| p.matches(scheme, &host, port))
            {
                return Ok(Destination {
                    scheme,
                    host,
                    port,
                    pattern,
                });
            }
        }
        let shown = origin(Scheme::Https, &host, port);
        let plugin = self.plugin;
        self.journal.deny(
            Capability::Http,
            target,
            format!("no network grant allows {shown} (a tunnel, for HTTPS or a WebSocket); it needs `network = [\"{shown}\"]` (or the http:// pattern) under [tools.{plugin}] in the policy (and requested by the tool)"),
        );
        Err(HttpError::HttpRequestDenied)
    }

    /// The caller's network budget (in + out), shared with its other calls in flight, must
    /// have bytes left.
    fn check_budget(&self, target: &str) -> Result<(), HttpError> {
        if self
            .meter
            .as_ref()
            .is_some_and(|m| m.left(super::meter::Metered::Net) == 0)
        {
            self.journal.deny(
                Capability::Limit,
                target,
                "network budget: the bytes (in + out) the run had left are used up; raise `max_net_bytes` in the plan's [budget] (or the sub-agent's share)".to_string(),
            );
            return Err(HttpError::HttpRequestDenied);
        }
        Ok(())
    }

    /// The host's addresses: itself when it is an IP address, else what the resolver answers
    /// within 10 s (no answer is denied).
    async fn resolve(&self, host: &str, port: u16, target: &str) -> Result<Vec<IpAddr>, HttpError> {
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(vec![ip]);
        }
        let lookup = self.resolver.resolve(host, port);
        match tokio::time::timeout(Duration::from_secs(10), lookup).await {
            Ok(Ok(a)) if !a.is_empty() => Ok(a),
            Ok(Ok(_)) | Ok(Err(_)) => {
                self.journal
                    .deny(Capability::Http, target, format!("{host} did not resolve"));
                Err(HttpError::DnsError {
                    rcode: Some("NXDOMAIN".into()),
                    info_code: None,
                })
            }
            Err(_) => {
                self.journal.deny(
                    Capability::Http,
                    target,
                    format!("resolving {host} timed out"),
                );
                Err(HttpError::DnsTimeout)
            }
        }
    }

    /// The addresses the pattern permits (a public name must not reach loopback, private or
    /// link-local space unless the pattern names that address): none is denied, some is the
    /// request allowed, by that pattern.
    fn check_addresses(
        &self,
        dest: &Destination<'_>,
        addrs: &[IpAddr],
        target: &str,
    ) -> Result<Vec<IpAddr>, HttpError> {
        let Destination {
            scheme,
            host,
            port,
            pattern,
        } = dest;
        let allowed: Vec<IpAddr> = addrs
            .iter()
            .copied()
            .filter(|a| pattern.permits_address(*a))
            .collect();
        if allowed.is_empty() {
            let shown: Vec<String> = addrs.iter().map(ToString::to_string).collect();
            self.journal.deny(
                Capability::Http,
                target,
                format!(
                    "{host} resolved to {} (not a public address); pattern {pattern} allows public addresses only — a grant must name the address itself, e.g. `{scheme}://{}:{port}`",
                    shown.join(", "),
                    fmt_host(addrs[0])
                ),
            );
            return Err(HttpError::DestinationIpProhibited);
        }
        self.journal
            .allow(Capability::Http, target, format!("granted by {pattern}"));
        Ok(allowed)
    }
}

fn fmt_host(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}
