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

use super::journal::{Capability, Journal, Leak};
use super::metered::{Metered, Way};
use bytes::Bytes;
use http_body_util::BodyExt;
use spud_policy::{LeakGuard, NetPattern, OnLeak, Scheme};
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use wasmtime_wasi_http::io::TokioIo;
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

/// The per-call HTTP hook.
pub struct HttpGate {
    pub(crate) patterns: Arc<[NetPattern]>,
    pub(crate) resolver: Arc<dyn Resolver>,
    pub(crate) journal: Arc<Journal>,
    pub(crate) plugin: Arc<str>,
    pub(crate) guard: Arc<LeakGuard>,
    /// The caller's live network budget, if it has one.
    pub(crate) meter: Option<Arc<dyn super::meter::Meter>>,
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
        Box::new(async move {
            let gate = Gate {
                patterns: &patterns,
                resolver: &*resolver,
                journal: &journal,
                plugin: &plugin,
                guard: &guard,
                meter,
            };
            send(request, options, gate).await
        })
    }
}

/// What one request is checked against.
struct Gate<'a> {
    patterns: &'a [NetPattern],
    resolver: &'a dyn Resolver,
    journal: &'a Arc<Journal>,
    plugin: &'a str,
    guard: &'a LeakGuard,
    meter: Option<Arc<dyn super::meter::Meter>>,
}

async fn send(
    mut request: http::Request<WasiBody>,
    options: Option<RequestOptions>,
    gate: Gate<'_>,
) -> SendResult {
    let Gate {
        patterns,
        resolver,
        journal,
        plugin,
        guard,
        meter,
    } = gate;
    let uri = request.uri().clone();
    // The URL may itself carry a secret: what is recorded never does.
    let target = guard.redact(&format!("{} {}", request.method(), uri));
    let scheme = match uri.scheme_str().and_then(Scheme::parse) {
        Some(s) => s,
        None => {
            journal.deny(
                Capability::Http,
                &target,
                "only http and https URLs can be granted".into(),
            );
            return Err(HttpError::HttpRequestDenied);
        }
    };
    let host = uri
        .host()
        .unwrap_or_default()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = uri.port_u16().unwrap_or(scheme.default_port());
    let Some(pattern) = patterns.iter().find(|p| p.matches(scheme, &host, port)) else {
        let shown = if port == scheme.default_port() {
            format!("{scheme}://{host}")
        } else {
            format!("{scheme}://{host}:{port}")
        };
        journal.deny(
            Capability::Http,
            &target,
            format!("no network grant allows {shown}; it needs `network = [\"{shown}\"]` under [tools.{plugin}] in the policy (and requested by the tool)"),
        );
        return Err(HttpError::HttpRequestDenied);
    };
    if !guard.is_empty() {
        request = scan(request, guard, (scheme, &host, port), &target, journal).await?;
    }
    // The caller's network budget (in + out), shared with its other calls in flight.
    if meter
        .as_ref()
        .is_some_and(|m| m.left(super::meter::Metered::Net) == 0)
    {
        journal.deny(
            Capability::Limit,
            &target,
            "network budget: the bytes (in + out) the run had left are used up; raise `max_net_bytes` in the plan's [budget] (or the sub-agent's share)".to_string(),
        );
        return Err(HttpError::HttpRequestDenied);
    }

    let addrs = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => {
            match tokio::time::timeout(Duration::from_secs(10), resolver.resolve(&host, port)).await
            {
                Ok(Ok(a)) if !a.is_empty() => a,
                Ok(Ok(_)) | Ok(Err(_)) => {
                    journal.deny(Capability::Http, &target, format!("{host} did not resolve"));
                    return Err(HttpError::DnsError {
                        rcode: Some("NXDOMAIN".into()),
                        info_code: None,
                    });
                }
                Err(_) => {
                    journal.deny(
                        Capability::Http,
                        &target,
                        format!("resolving {host} timed out"),
                    );
                    return Err(HttpError::DnsTimeout);
                }
            }
        }
    };
    let allowed: Vec<IpAddr> = addrs
        .iter()
        .copied()
        .filter(|a| pattern.permits_address(*a))
        .collect();
    if allowed.is_empty() {
        let shown: Vec<String> = addrs.iter().map(ToString::to_string).collect();
        journal.deny(
            Capability::Http,
            &target,
            format!(
                "{host} resolved to {} (not a public address); pattern {pattern} allows public addresses only — a grant must name the address itself, e.g. `{scheme}://{}:{port}`",
                shown.join(", "),
                fmt_host(addrs[0])
            ),
        );
        return Err(HttpError::DestinationIpProhibited);
    }
    journal.allow(Capability::Http, &target, format!("granted by {pattern}"));

    let connect_timeout = options
        .and_then(|o| o.connect_timeout)
        .unwrap_or(Duration::from_secs(30));
    let first_byte_timeout = options
        .and_then(|o| o.first_byte_timeout)
        .unwrap_or(Duration::from_secs(60));
    let stream = connect(&allowed, port, connect_timeout).await?;
    journal.clone_counter().add_request();

    // The guest's request carries scheme and authority; on the wire only the path goes.
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
    *request.uri_mut() = http::Uri::builder()
        .path_and_query(path)
        .build()
        .map_err(|_| HttpError::HttpRequestUriInvalid)?;

    let target: Arc<str> = target.into();
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

    let (mut sender, conn) = match scheme {
        Scheme::Http => handshake(TokioIo::new(stream), connect_timeout).await?,
        Scheme::Https => {
            let tls = tls_connect(&host, stream).await?;
            handshake(TokioIo::new(tls), connect_timeout).await?
        }
    };
    let conn = tokio::spawn(conn);
    let response = tokio::time::timeout(first_byte_timeout, sender.send_request(request))
        .await
        .map_err(|_| HttpError::ConnectionReadTimeout)?
        .map_err(HttpError::from)?;
    let response = response.map(|body| {
        Metered::new(
            body.map_err(HttpError::from).boxed_unsync(),
            journal.clone(),
            meter.clone(),
            target.clone(),
            Way::In,
        )
        .boxed_unsync()
    });
    let io = Box::new(async move {
        match conn.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(HttpError::from(e)),
            Err(_) => Err(HttpError::ConnectionTerminated),
        }
    }) as Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>;
    Ok((response, io))
}

/// Holds the body back (up to the guard's cap) and looks for registered secrets in the URL,
/// headers and body. Secrets going where they may not are refused, or recorded and let through
/// under `on_leak = "record"`.
async fn scan(
    request: http::Request<WasiBody>,
    guard: &LeakGuard,
    (scheme, host, port): (Scheme, &str, u16),
    target: &str,
    journal: &Journal,
) -> wasmtime_wasi_http::Result<http::Request<WasiBody>> {
    let (parts, body) = request.into_parts();
    let cap = usize::try_from(guard.max_scan_bytes).unwrap_or(usize::MAX);
    let body = match http_body_util::Limited::new(body, cap).collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            journal.deny(
                Capability::Secret,
                target,
                format!("the request body is over {cap} bytes, too large to scan for registered secrets; raise `[secrets] max_scan_bytes` in the policy"),
            );
            return Err(HttpError::HttpRequestDenied);
        }
        Err(e) => {
            return Err(match e.downcast::<HttpError>() {
                Ok(e) => *e,
                Err(e) => HttpError::InternalError(Some(e.to_string())),
            })
        }
    };
    let mut text = parts.uri.to_string();
    for (name, value) in &parts.headers {
        text.push('\n');
        text.push_str(name.as_str());
        text.push_str(": ");
        text.push_str(&String::from_utf8_lossy(value.as_bytes()));
    }
    text.push('\n');
    text.push_str(&String::from_utf8_lossy(&body));
    let found = guard.leaks(&text, scheme, host, port);
    let destination = if port == scheme.default_port() {
        format!("{scheme}://{host}")
    } else {
        format!("{scheme}://{host}:{port}")
    };
    let blocked = guard.on_leak == OnLeak::Block;
    for f in &found {
        journal.leak(Leak {
            secret: f.secret.clone(),
            destination: destination.clone(),
            blocked,
        });
    }
    if let Some(f) = found.first() {
        let names: Vec<&str> = found.iter().map(|f| f.secret.as_str()).collect();
        let allowed = if f.allowed.is_empty() {
            "it may be sent nowhere".to_string()
        } else {
            format!("it may go only to {}", f.allowed.join(", "))
        };
        let fix = if f.secret.starts_with("pattern ") {
            "secrets matched by a pattern are never sent out".to_string()
        } else {
            format!(
                "`[secrets.allow] {} = [\"{destination}\"]` in the policy would allow it",
                f.secret
            )
        };
        if blocked {
            journal.deny(
                Capability::Secret,
                target,
                format!(
                    "the request carries the registered secret {} to {destination}; {allowed}; {fix}",
                    names.join(", ")
                ),
            );
            return Err(HttpError::HttpRequestDenied);
        }
        journal.allow(
            Capability::Secret,
            target,
            format!(
                "leak recorded, not blocked ([secrets] on_leak = \"record\"): {} went to {destination}; {allowed}",
                names.join(", ")
            ),
        );
    }
    let body = http_body_util::Full::new(body)
        .map_err(|never| match never {})
        .boxed_unsync();
    Ok(http::Request::from_parts(parts, body))
}

type Connection = std::pin::Pin<Box<dyn Future<Output = Result<(), hyper::Error>> + Send>>;

async fn handshake<S>(
    io: TokioIo<S>,
    timeout: Duration,
) -> wasmtime_wasi_http::Result<(
    hyper::client::conn::http1::SendRequest<
        http_body_util::combinators::UnsyncBoxBody<Bytes, HttpError>,
    >,
    Connection,
)>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let (sender, conn) = tokio::time::timeout(timeout, hyper::client::conn::http1::handshake(io))
        .await
        .map_err(|_| HttpError::ConnectionTimeout)?
        .map_err(HttpError::from)?;
    Ok((sender, Box::pin(conn)))
}

async fn connect(
    addrs: &[IpAddr],
    port: u16,
    timeout: Duration,
) -> wasmtime_wasi_http::Result<TcpStream> {
    let mut last = HttpError::ConnectionRefused;
    for ip in addrs {
        match tokio::time::timeout(timeout, TcpStream::connect(SocketAddr::new(*ip, port))).await {
            Ok(Ok(s)) => return Ok(s),
            Ok(Err(e)) => last = HttpError::Connect(e),
            Err(_) => last = HttpError::ConnectionTimeout,
        }
    }
    Err(last)
}

async fn tls_connect(
    host: &str,
    stream: TcpStream,
) -> wasmtime_wasi_http::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    use rustls::pki_types::ServerName;
    static CONFIG: std::sync::OnceLock<Option<Arc<rustls::ClientConfig>>> =
        std::sync::OnceLock::new();
    let config = CONFIG.get_or_init(|| {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.into(),
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .ok()
            .map(|b| Arc::new(b.with_root_certificates(roots).with_no_client_auth()))
    });
    let config = config.as_ref().ok_or(HttpError::TlsProtocolError)?;
    let name = match host.parse::<IpAddr>() {
        Ok(ip) => ServerName::from(ip),
        Err(_) => {
            ServerName::try_from(host.to_string()).map_err(|_| HttpError::HttpRequestUriInvalid)?
        }
    };
    tokio_rustls::TlsConnector::from(config.clone())
        .connect(name, stream)
        .await
        .map_err(HttpError::Tls)
}

fn fmt_host(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}
