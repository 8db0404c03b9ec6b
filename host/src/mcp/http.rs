//! Streamable HTTP: a hyper server in front of rmcp's `StreamableHttpService`. Each request to
//! the MCP path is checked before rmcp sees it:
//! 1. `Authorization: Bearer TOKEN` must name a principal of the policy, else 401 with
//!    `WWW-Authenticate: Bearer` (recorded as `auth_failed`, without the token);
//! 2. the principal's request rate (token bucket), else 429 with `Retry-After` — at the HTTP
//!    layer because the client's HTTP stack understands it and nothing has been parsed yet;
//! 3. a declared body over the size limit, else 413 (rmcp also enforces the limit while the
//!    body streams, whatever `Content-Length` said).
//!
//! The authenticated [`Caller`] rides in the request's extensions to the handler, which
//! applies the principal's tool list, narrowed grants and concurrency limit per call.

use super::auth::Tokens;
use super::options::{ServeError, Shutdown};
use super::server::SpudServer;
use super::shared::Shared;
use crate::service::Caller;
use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Where and how to serve HTTP.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Address to bind (default 127.0.0.1:8080; port 0 picks a free port).
    pub bind: SocketAddr,
    /// Largest request body, bytes.
    pub max_body_bytes: usize,
    /// Extra `Host` header values to accept besides loopback names (for a non-loopback bind).
    pub allowed_hosts: Vec<String>,
}

/// The MCP endpoint's path.
pub const PATH: &str = "/mcp";

type Body = BoxBody<Bytes, Infallible>;

fn plain(status: StatusCode, text: String) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from(text)).boxed());
    *r.status_mut() = status;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

struct Front {
    shared: Arc<Shared>,
    tokens: Tokens,
    mcp: StreamableHttpService<SpudServer, LocalSessionManager>,
    max_body: usize,
}

impl Front {
    async fn handle(&self, mut req: Request<Incoming>, peer: SocketAddr) -> Response<Body> {
        if req.uri().path() != PATH {
            return plain(
                StatusCode::NOT_FOUND,
                format!("spud serves MCP at {PATH}\n"),
            );
        }
        let caller = match Tokens::bearer(req.headers().get(http::header::AUTHORIZATION))
            .and_then(|t| self.tokens.authenticate(t))
        {
            Some(c) => c,
            None => {
                let presented = req.headers().contains_key(http::header::AUTHORIZATION);
                let why = if presented {
                    "invalid token"
                } else {
                    "no bearer token"
                };
                self.shared
                    .access("anonymous", "auth_failed", &format!("{why} from {peer}"));
                let mut r = plain(
                    StatusCode::UNAUTHORIZED,
                    format!("{why}: send `Authorization: Bearer TOKEN` with the token of a principal of spud's policy ([principals.NAME])\n"),
                );
                r.headers_mut().insert(
                    http::header::WWW_AUTHENTICATE,
                    http::HeaderValue::from_static(
                        "Bearer realm=\"spud\", error=\"invalid_token\"",
                    ),
                );
                return r;
            }
        };
        if let Err(limited) = self.shared.limiters.check_rate(&caller) {
            self.shared
                .access(&caller.principal, "rate_limited", &limited.to_string());
            let mut r = plain(StatusCode::TOO_MANY_REQUESTS, format!("{limited}\n"));
            if let Ok(v) = http::HeaderValue::from_str(&limited.retry_after_s.to_string()) {
                r.headers_mut().insert(http::header::RETRY_AFTER, v);
            }
            return r;
        }
        let declared = req
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > self.max_body as u64) {
            return plain(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "request body over {} bytes (`spud serve --max-body-bytes`)\n",
                    self.max_body
                ),
            );
        }
        req.extensions_mut().insert::<Caller>(caller);
        self.mcp.handle(req).await
    }
}

/// A running HTTP server.
pub struct HttpServer {
    /// The address it listens on (with the real port when bound to port 0).
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<Result<(), ServeError>>,
    stop: CancellationToken,
}

impl HttpServer {
    /// Asks the server to shut down gracefully.
    pub fn stop(&self) {
        self.stop.cancel();
    }

    /// Waits for the server to end.
    pub async fn wait(self) -> Result<(), ServeError> {
        self.task
            .await
            .map_err(|e| ServeError::Transport(e.to_string()))?
    }
}

/// Binds and starts serving; returns at once with the bound address.
pub async fn start(shared: Arc<Shared>, options: HttpOptions) -> Result<HttpServer, ServeError> {
    let policy_name = shared.spud.policy().source_name();
    let tokens = Tokens::from_policy(shared.spud.policy(), |v| std::env::var(v).ok())?;
    if tokens.is_empty() {
        return Err(ServeError::NoPrincipals(policy_name));
    }
    let (listener, addr) = bind(options.bind).await?;
    let sessions_stop = CancellationToken::new();
    let mcp = mcp_service(&shared, &options, addr, sessions_stop.clone());
    let front = Arc::new(Front {
        shared: shared.clone(),
        tokens,
        mcp,
        max_body: options.max_body_bytes,
    });
    let stop = CancellationToken::new();
    let stopped = stop.clone();
    shared.access(
        "operator",
        "serve_start",
        &format!("http {addr} ({} principals)", front.tokens.len()),
    );
    let task = tokio::spawn(run(listener, addr, front, shared, stopped, sessions_stop));
    Ok(HttpServer { addr, task, stop })
}

/// The listener on `bind`, and the address it got (the real port when `bind` asked for 0).
async fn bind(bind: SocketAddr) -> Result<(tokio::net::TcpListener, SocketAddr), ServeError> {
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|source| ServeError::Bind {
            addr: bind.to_string(),
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| ServeError::Bind {
        addr: bind.to_string(),
        source,
    })?;
    Ok((listener, addr))
}

/// rmcp's Streamable HTTP service: loopback names, the bound address and the extra allowed
/// hosts as `Host` values, the body limit, and one [`SpudServer`] per session.
fn mcp_service(
    shared: &Arc<Shared>,
    options: &HttpOptions,
    addr: SocketAddr,
    sessions_stop: CancellationToken,
) -> StreamableHttpService<SpudServer, LocalSessionManager> {
    let mut hosts: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
    hosts.push(addr.ip().to_string());
    hosts.extend(options.allowed_hosts.iter().cloned());
    let config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(hosts)
        .with_max_request_body_bytes(options.max_body_bytes)
        .with_cancellation_token(sessions_stop);
    let factory_shared = shared.clone();
    StreamableHttpService::new(
        move || Ok(SpudServer::new(factory_shared.clone(), None)),
        Arc::new(LocalSessionManager::default()),
        config,
    )
}

/// The server's task: accepts connections until `stopped`, then shuts down gracefully — calls
/// in flight drain, connections close, then the sessions and their browsers — and records
/// `serve_stop`.
async fn run(
    listener: tokio::net::TcpListener,
    addr: SocketAddr,
    front: Arc<Front>,
    shared: Arc<Shared>,
    stopped: CancellationToken,
    sessions_stop: CancellationToken,
) -> Result<(), ServeError> {
    let watch = super::watch::spawn(shared.clone());
    let connections = tokio_util::task::TaskTracker::new();
    loop {
        tokio::select! {
            () = stopped.cancelled() => break,
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(x) => x,
                    Err(e) => {
                        tracing::warn!("accept failed: {e}");
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                connections.spawn(connection(front.clone(), stream, peer, stopped.clone()));
            }
        }
    }
    drop(listener);
    // Calls in flight finish (or are cancelled after the grace period); their responses
    // are written before the sessions and their long-lived streams are closed.
    shared.drain().await;
    connections.close();
    let secs = std::time::Duration::from_secs;
    let _ = tokio::time::timeout(secs(2), connections.wait()).await;
    sessions_stop.cancel();
    let _ = tokio::time::timeout(secs(3), connections.wait()).await;
    shared.browsers.close_all(&shared.spud).await;
    drop(watch);
    shared.access("operator", "serve_stop", &format!("http {addr}"));
    shared.spud.audit().flush()?;
    Ok(())
}

/// One HTTP/1 connection through the [`Front`]; when the server stops, it is shut down
/// gracefully (given 15 s).
async fn connection(
    front: Arc<Front>,
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    conn_stop: CancellationToken,
) {
    let service = hyper::service::service_fn(move |req| {
        let front = front.clone();
        async move { Ok::<_, Infallible>(front.handle(req, peer).await) }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                tracing::debug!("connection from {peer}: {e}");
            }
        }
        () = conn_stop.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(std::time::Duration::from_secs(15), conn).await;
        }
    }
}

/// Serves HTTP until SIGINT or SIGTERM, then shuts down gracefully. `ready` is told the bound
/// address once listening.
pub async fn serve(
    shared: Arc<Shared>,
    options: HttpOptions,
    ready: impl FnOnce(SocketAddr),
) -> Result<(), ServeError> {
    let server = start(shared, options).await?;
    // Listening before the address is told: a SIGTERM right after start still shuts down
    // gracefully.
    let signals = Shutdown::listen();
    ready(server.addr);
    let stop = server.stop.clone();
    tokio::spawn(async move {
        signals.wait().await;
        stop.cancel();
    });
    server.wait().await
}
