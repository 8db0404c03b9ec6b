//! Captured stdout/stderr that keeps the first `limit` bytes and drops the rest, flagging the
//! truncation. Unlike a pipe that closes when full, the guest never sees an error, so a chatty
//! tool is cut short in its output, not crashed.

use bytes::Bytes;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

#[derive(Debug, Default)]
struct Buffer {
    kept: Vec<u8>,
    dropped: u64,
}

/// A bounded capture buffer; clones share it.
#[derive(Debug, Clone)]
pub struct Capture {
    limit: usize,
    buf: Arc<Mutex<Buffer>>,
}

impl Capture {
    /// Keeps at most `limit` bytes.
    pub fn new(limit: u64) -> Capture {
        Capture {
            limit: usize::try_from(limit).unwrap_or(usize::MAX),
            buf: Arc::default(),
        }
    }

    fn write_bytes(&self, bytes: &[u8]) {
        if let Ok(mut b) = self.buf.lock() {
            let room = self.limit.saturating_sub(b.kept.len());
            let take = room.min(bytes.len());
            b.kept.extend_from_slice(&bytes[..take]);
            b.dropped += (bytes.len() - take) as u64;
        }
    }

    /// (what was kept as lossy UTF-8, bytes dropped).
    pub fn finish(&self) -> (String, u64) {
        match self.buf.lock() {
            Ok(b) => (String::from_utf8_lossy(&b.kept).into_owned(), b.dropped),
            Err(_) => (String::new(), 0),
        }
    }
}

impl IsTerminal for Capture {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for Capture {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[async_trait::async_trait]
impl OutputStream for Capture {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.write_bytes(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        // Always accept: excess is discarded, never refused.
        Ok(64 * 1024)
    }
}

#[async_trait::async_trait]
impl Pollable for Capture {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for Capture {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.write_bytes(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_prefix_and_counts_the_rest() {
        let mut c = Capture::new(5);
        OutputStream::write(&mut c, Bytes::from_static(b"hello world")).unwrap();
        OutputStream::write(&mut c, Bytes::from_static(b"!")).unwrap();
        assert_eq!(c.finish(), ("hello".to_string(), 7));
    }
}
