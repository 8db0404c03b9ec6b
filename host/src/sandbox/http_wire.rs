//! The wire side of the HTTP gate, once a request has passed every check: TCP to the checked
//! addresses, TLS for `https`, the HTTP/1 handshake, and the connection's own future.

use bytes::Bytes;
use spud_policy::Scheme;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::Error as HttpError;

/// The request side of an HTTP/1 connection, bodies boxed as the gate sends them.
pub(super) type Sender = hyper::client::conn::http1::SendRequest<
    http_body_util::combinators::UnsyncBoxBody<Bytes, HttpError>,
>;

/// An HTTP/1 connection over `stream` — through TLS for `https`, with `host` as the name the
/// certificate must carry.
pub(super) async fn open(
    scheme: Scheme,
    host: &str,
    stream: TcpStream,
    timeout: Duration,
) -> wasmtime_wasi_http::Result<(Sender, Connection)> {
    match scheme {
        Scheme::Http => handshake(TokioIo::new(stream), timeout).await,
        Scheme::Https => {
            let tls = tls_connect(host, stream).await?;
            handshake(TokioIo::new(tls), timeout).await
        }
    }
}

/// The future the guest awaits for the connection's end, from the spawned connection task.
pub(super) fn finished(
    conn: tokio::task::JoinHandle<Result<(), hyper::Error>>,
) -> Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send> {
    Box::new(async move {
        match conn.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(HttpError::from(e)),
            Err(_) => Err(HttpError::ConnectionTerminated),
        }
    })
}

pub(super) type Connection =
    std::pin::Pin<Box<dyn Future<Output = Result<(), hyper::Error>> + Send>>;

async fn handshake<S>(
    io: TokioIo<S>,
    timeout: Duration,
) -> wasmtime_wasi_http::Result<(Sender, Connection)>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let (sender, conn) = tokio::time::timeout(timeout, hyper::client::conn::http1::handshake(io))
        .await
        .map_err(|_| HttpError::ConnectionTimeout)?
        .map_err(HttpError::from)?;
    Ok((sender, Box::pin(conn)))
}

/// A TCP connection to the first of `addrs` that answers in time.
pub(super) async fn connect(
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
