//! HTTP bodies that count the bytes they carry into their call's network counter and, when
//! the caller has a live budget ([`Meter`]), draw them from it: once it is dry a response gives
//! the guest the bytes that fit, then a body error, and a request frame that does not fit is
//! not sent; the journal gets a `limit` decision. So a run's `max_net_bytes` holds within a
//! request, and across its calls in flight.

use super::journal::{Capability, Journal};
use super::meter::{Meter, Metered as Kind};
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use wasmtime_wasi_http::Error as HttpError;

/// Which way a body goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Way {
    /// A request body, sent.
    Out,
    /// A response body, received.
    In,
}

/// `inner`, counted.
pub(crate) struct Metered<B> {
    inner: B,
    journal: Arc<Journal>,
    meter: Option<Arc<dyn Meter>>,
    /// The request, as decisions show it.
    target: Arc<str>,
    way: Way,
    /// The budget ran out inside this body: the next poll ends it with an error.
    cut: bool,
}

impl<B> Metered<B> {
    /// Counts `inner`'s data as going `way` for the request `target`, drawn from `meter`.
    pub(crate) fn new(
        inner: B,
        journal: Arc<Journal>,
        meter: Option<Arc<dyn Meter>>,
        target: Arc<str>,
        way: Way,
    ) -> Self {
        Metered {
            inner,
            journal,
            meter,
            target,
            way,
            cut: false,
        }
    }

    fn error(&self) -> HttpError {
        match self.way {
            Way::Out => HttpError::HttpRequestBodySize(None),
            Way::In => HttpError::HttpResponseBodySize(None),
        }
    }

    /// Records the stop and says why, in the guest's terms.
    fn stop(&mut self) -> HttpError {
        self.cut = true;
        let what = match self.way {
            Way::Out => "request body was not sent on",
            Way::In => "response body was cut",
        };
        self.journal.deny(
            Capability::Limit,
            &self.target,
            format!("network budget: the {what} when the bytes (in + out) the run had left ran out; raise `max_net_bytes` in the plan's [budget] (or the sub-agent's share)"),
        );
        self.error()
    }

    /// Counts `n` bytes that go through.
    fn count(&self, n: u64) {
        let c = self.journal.clone_counter();
        match self.way {
            Way::Out => c.add_out(n),
            Way::In => c.add_in(n),
        }
    }
}

impl<B> Body for Metered<B>
where
    B: Body<Data = Bytes, Error = HttpError> + Unpin,
{
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
        if self.cut {
            return Poll::Ready(Some(Err(self.error())));
        }
        let frame = match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => frame,
            other => return other,
        };
        let Some(n) = frame.data_ref().map(|d| d.len() as u64) else {
            return Poll::Ready(Some(Ok(frame)));
        };
        // A request frame goes whole or not at all: half a body could pass for a whole one.
        let fit = match &self.meter {
            None => n,
            Some(m) => m.take(Kind::Net, n, self.way == Way::Out),
        };
        self.count(fit);
        if fit == n {
            return Poll::Ready(Some(Ok(frame)));
        }
        // What fits of a response reaches the guest, then the error; the rest never does.
        let e = self.stop();
        match frame.into_data() {
            Ok(data) if fit > 0 => {
                let keep = usize::try_from(fit).unwrap_or(usize::MAX);
                Poll::Ready(Some(Ok(Frame::data(data.slice(..keep)))))
            }
            _ => Poll::Ready(Some(Err(e))),
        }
    }

    fn is_end_stream(&self) -> bool {
        // A cut body is not at its end: the next poll says why it stopped.
        !self.cut && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
