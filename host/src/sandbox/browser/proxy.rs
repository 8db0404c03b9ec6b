//! The per-session proxy. Chromium is started with `--proxy-server` pointing here and with
//! nothing bypassing it (not even loopback), so every request its pages make — documents,
//! subresources, fetch/XHR, each redirect hop, service-worker scripts, prefetches — and every
//! tunnel (`CONNECT`, for HTTPS and WebSockets) arrives here and is handed to the HTTP gate of
//! the call that is driving the browser ([`ProxyCtx::bind`]): the same grant patterns,
//! resolved-address rules, secret scan, audit decisions and network budget as a component's own
//! `wasi:http` requests. With no call bound (a page's timer between two calls), everything is
//! refused, counted against the session's budgets and kept as a `between calls` decision of
//! the plugin that last drove the browser, until the next call or the session's close records
//! it ([`ProxyCtx::take_between`]).

use crate::sandbox::http::HttpGate;
use crate::sandbox::http_wire::connect;
use crate::sandbox::journal::{Capability, Decision};
use bytes::Bytes;
use http_body::{Body, Frame};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use wasmtime_wasi_http::Error as HttpError;

type ProxyBody = http_body_util::combinators::UnsyncBoxBody<Bytes, HttpError>;

/// What the proxy checks requests with: the gate of the call driving the browser, and the
/// session's byte count against its cap.
#[derive(Default)]
pub struct ProxyCtx {
    gate: Mutex<Option<HttpGate>>,
    bytes: AtomicU64,
    max_bytes: AtomicU64,
    requests: AtomicU64,
    refused: Mutex<Vec<String>>,
    /// The plugin of the last call that drove the browser.
    last_plugin: Mutex<Option<String>>,
    /// Requests refused between calls, not yet recorded.
    between: Mutex<Vec<Decision>>,
    /// Requests refused between calls, in all.
    between_count: AtomicU64,
}

/// At most this many refusals between calls are kept until they are recorded; the rest are
/// counted only (and the count recorded).
const MAX_BETWEEN: usize = 1000;

impl ProxyCtx {
    /// A context whose pages may move at most `max_bytes`.
    pub fn new(max_bytes: u64) -> Arc<ProxyCtx> {
        let ctx = ProxyCtx::default();
        ctx.max_bytes.store(max_bytes, Ordering::Relaxed);
        Arc::new(ctx)
    }

    /// From now on, requests are checked by `gate` (a call's) and recorded in its journal.
    pub fn bind(&self, gate: HttpGate) {
        if let Ok(mut p) = self.last_plugin.lock() {
            *p = Some(gate.plugin().to_string());
        }
        if let Ok(mut g) = self.gate.lock() {
            *g = Some(gate);
        }
    }

    /// No call drives the browser: every request is refused.
    pub fn unbind(&self) {
        if let Ok(mut g) = self.gate.lock() {
            *g = None;
        }
    }

    /// The call whose gate is `gate` is over: its requests are refused from now on, unless
    /// another call (of the same run, in flight at once) has bound its own gate since.
    pub fn unbind_if(&self, gate: &HttpGate) {
        if let Ok(mut g) = self.gate.lock() {
            if g.as_ref()
                .is_some_and(|cur| Arc::ptr_eq(cur.journal(), gate.journal()))
            {
                *g = None;
            }
        }
    }

    fn current(&self) -> Option<HttpGate> {
        self.gate.lock().ok().and_then(|g| g.clone())
    }

    /// The URLs refused since the last call, and forgets them.
    pub fn take_refused(&self) -> Vec<String> {
        self.refused
            .lock()
            .map(|mut r| std::mem::take(&mut *r))
            .unwrap_or_default()
    }

    fn note_refused(&self, uri: String) {
        if let Ok(mut r) = self.refused.lock() {
            if r.len() < 1000 {
                r.push(uri);
            }
        }
    }

    /// The plugin of the last call that drove the browser, if one did.
    pub fn last_plugin(&self) -> Option<String> {
        self.last_plugin.lock().ok().and_then(|p| p.clone())
    }

    /// Lowers or raises the session's byte cap (the grant of the call driving it).
    pub fn set_max_bytes(&self, max_bytes: u64) {
        self.max_bytes.store(max_bytes, Ordering::Relaxed);
    }

    /// The requests refused between calls since the last time, as decisions to record (at
    /// most 1000 are kept; each one's reason says how many were refused so far), and forgets
    /// them.
    pub fn take_between(&self) -> Vec<Decision> {
        self.between
            .lock()
            .map(|mut b| std::mem::take(&mut *b))
            .unwrap_or_default()
    }

    /// Requests refused between calls, in all.
    pub fn refused_between(&self) -> u64 {
        self.between_count.load(Ordering::Relaxed)
    }

    /// A request that arrived with no call in flight: refused, its head counted against the
    /// session's bytes, kept as a decision of the plugin that last drove the browser.
    fn note_between(&self, target: &str, head_bytes: u64) {
        self.bytes.fetch_add(head_bytes, Ordering::Relaxed);
        let n = self.between_count.fetch_add(1, Ordering::Relaxed) + 1;
        let plugin = self.last_plugin().unwrap_or_else(|| "the plugin".into());
        let reason = format!(
            "between calls: no call of {plugin} was in flight; a page's requests are allowed only while a call of its plugin drives the browser (request {n} refused between calls in this session)"
        );
        if let Ok(mut b) = self.between.lock() {
            if b.len() < MAX_BETWEEN {
                b.push(Decision {
                    capability: Capability::Http,
                    target: target.to_string(),
                    allowed: false,
                    reason,
                });
            }
        }
    }

    /// Bytes the session's pages moved (in + out).
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Requests and tunnels the proxy let through.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    fn over_cap(&self, gate: &HttpGate, target: &str) -> bool {
        let max = self.max_bytes.load(Ordering::Relaxed);
        if self.bytes() < max {
            return false;
        }
        gate.journal().deny(
            Capability::Limit,
            target,
            format!("the browser session moved its {max} bytes (in + out); a new session (the next run) starts from zero"),
        );
        true
    }
}

/// A running proxy on 127.0.0.1.
pub struct Proxy {
    /// Where it listens.
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts a proxy on a free port of 127.0.0.1 that checks with `ctx`.
pub async fn start(ctx: Arc<ProxyCtx>) -> std::io::Result<Proxy> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        let mut conns = tokio::task::JoinSet::new();
        while let Ok((stream, _)) = listener.accept().await {
            let ctx = ctx.clone();
            conns.spawn(async move {
                let service = service_fn(move |req| handle(ctx.clone(), req));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .with_upgrades()
                    .await;
            });
            while conns.try_join_next().is_some() {}
        }
    });
    Ok(Proxy { addr, task })
}

/// One request from the browser.
async fn handle(
    ctx: Arc<ProxyCtx>,
    req: http::Request<Incoming>,
) -> Result<http::Response<ProxyBody>, std::convert::Infallible> {
    let target = format!("{} {}", req.method(), req.uri());
    let Some(gate) = ctx.current() else {
        tracing::debug!("browser proxy: {target} refused, no call drives the browser");
        ctx.note_refused(req.uri().to_string());
        ctx.note_between(&target, head_bytes(&req));
        return Ok(refused("between calls: no call of the plugin is in flight"));
    };
    if ctx.over_cap(&gate, &target) {
        ctx.note_refused(req.uri().to_string());
        return Ok(refused("the browser session's byte cap is used up"));
    }
    if req.method() == http::Method::CONNECT {
        return Ok(tunnel(ctx, gate, req).await);
    }
    Ok(forward(ctx, gate, req).await)
}

/// A plain request (absolute-form URI): the gate checks and sends it.
async fn forward(
    ctx: Arc<ProxyCtx>,
    mut gate: HttpGate,
    req: http::Request<Incoming>,
) -> http::Response<ProxyBody> {
    if req.headers().contains_key(http::header::UPGRADE) {
        return refused("upgrades go through CONNECT");
    }
    let uri = req.uri().to_string();
    let mut req = req.map(|b| b.map_err(HttpError::from).boxed_unsync());
    for h in [
        "proxy-connection",
        "proxy-authorization",
        "connection",
        "keep-alive",
    ] {
        req.headers_mut().remove(h);
    }
    let counted = ctx.clone();
    let req = req.map(|b| {
        Counted {
            inner: b,
            ctx: counted,
        }
        .boxed_unsync()
    });
    use wasmtime_wasi_http::WasiHttpHooks as _;
    let sent = gate.send_request(req, None, Box::new(async { Ok::<(), HttpError>(()) }));
    match Box::into_pin(sent).await {
        Ok((response, finished)) => {
            ctx.requests.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(Box::into_pin(finished));
            response.map(|b| Counted { inner: b, ctx }.boxed_unsync())
        }
        Err(e) => {
            ctx.note_refused(uri);
            refused(&format!("{e:?}"))
        }
    }
}

/// `CONNECT host:port`: checked by the gate, then the bytes are passed both ways, counted.
async fn tunnel(
    ctx: Arc<ProxyCtx>,
    gate: HttpGate,
    req: http::Request<Incoming>,
) -> http::Response<ProxyBody> {
    let Some(authority) = req.uri().authority().cloned() else {
        return refused("CONNECT without host:port");
    };
    let host = authority.host().to_string();
    let port = authority.port_u16().unwrap_or(443);
    let target = format!("CONNECT {host}:{port}");
    let addrs = match gate.tunnel(&host, port, &target).await {
        Ok(a) => a,
        Err(e) => return refused(&format!("{e:?}")),
    };
    let upstream = match connect(&addrs, port, Duration::from_secs(30)).await {
        Ok(s) => s,
        Err(e) => return bad_gateway(&format!("{e:?}")),
    };
    gate.journal().clone_counter().add_request();
    ctx.requests.fetch_add(1, Ordering::Relaxed);
    tokio::spawn(async move {
        let Ok(upgraded) = hyper::upgrade::on(req).await else {
            return;
        };
        let mut client = TokioIo::new(upgraded);
        let mut upstream = upstream;
        if let Ok((a, b)) = tokio::io::copy_bidirectional(&mut client, &mut upstream).await {
            ctx.bytes.fetch_add(a + b, Ordering::Relaxed);
        }
    });
    http::Response::new(empty())
}

/// The bytes of a request's head as it came in (request line and headers).
fn head_bytes<B>(req: &http::Request<B>) -> u64 {
    let line = req.method().as_str().len() + req.uri().to_string().len() + 12;
    let headers: usize = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    (line + headers) as u64
}

fn empty() -> ProxyBody {
    Full::new(Bytes::new())
        .map_err(|never| match never {})
        .boxed_unsync()
}

fn text(status: http::StatusCode, why: &str) -> http::Response<ProxyBody> {
    let body = Full::new(Bytes::from(format!("spud: {why}\n")))
        .map_err(|never| match never {})
        .boxed_unsync();
    let mut r = http::Response::new(body);
    *r.status_mut() = status;
    r
}

/// 403 with why; the decision itself is in the call's journal.
fn refused(why: &str) -> http::Response<ProxyBody> {
    text(http::StatusCode::FORBIDDEN, &format!("refused: {why}"))
}

fn bad_gateway(why: &str) -> http::Response<ProxyBody> {
    text(http::StatusCode::BAD_GATEWAY, why)
}

/// A body whose data frames are counted against the session's bytes.
struct Counted<B> {
    inner: B,
    ctx: Arc<ProxyCtx>,
}

impl<B: Body<Data = Bytes> + Unpin> Body for Counted<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(data) = frame.data_ref() {
                self.ctx
                    .bytes
                    .fetch_add(data.len() as u64, Ordering::Relaxed);
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
