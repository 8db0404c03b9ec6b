//! HTTP bodies that count the bytes they carry into their call's network counter and stop once
//! the call's network budget (what its run has left) is used up — a response gives the guest
//! the bytes that fit, then a body error; a request frame that does not fit is not sent — and
//! the journal gets a `limit` decision. So a run's `max_net_bytes` holds within a request too,
//! not only between calls.

use super::journal::{Capability, Journal};
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
    /// The request, as decisions show it.
    target: Arc<str>,
    way: Way,
    /// The budget ran out inside this body: the next poll ends it with an error.
    cut: bool,
}

impl<B> Metered<B> {
    /// Counts `inner`'s data as going `way` for the request `target`.
    pub(crate) fn new(inner: B, journal: Arc<Journal>, target: Arc<str>, way: Way) -> Self {
        Metered {
            inner,
            journal,
            target,
            way,
            cut: false,
        }
    }

    /// Records the stop and says why, in the guest's terms.
    fn stop(&mut self) -> HttpError {
        self.cut = true;
        let budget = self.journal.clone_counter().budget().unwrap_or(0);
        let what = match self.way {
            Way::Out => "request body",
            Way::In => "response body",
        };
        self.journal.deny(
            Capability::Limit,
            &self.target,
            format!("network budget: the {what} was cut at the {budget} bytes (in + out) the run had left; raise `max_net_bytes` in the plan's [budget] (or the sub-agent's share)"),
        );
        match self.way {
            Way::Out => HttpError::HttpRequestBodySize(Some(budget)),
            Way::In => HttpError::HttpResponseBodySize(Some(budget)),
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
            let budget = self.journal.clone_counter().budget().unwrap_or(0);
            return Poll::Ready(Some(Err(match self.way {
                Way::Out => HttpError::HttpRequestBodySize(Some(budget)),
                Way::In => HttpError::HttpResponseBodySize(Some(budget)),
            })));
        }
        let frame = match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => frame,
            other => return other,
        };
        let Some(n) = frame.data_ref().map(|d| d.len() as u64) else {
            return Poll::Ready(Some(Ok(frame)));
        };
        let counter = self.journal.clone_counter();
        if self.way == Way::Out {
            // A request is sent whole or not at all: half a body could pass for a whole one.
            if counter.admit_whole(true, n) {
                return Poll::Ready(Some(Ok(frame)));
            }
            return Poll::Ready(Some(Err(self.stop())));
        }
        let fit = counter.admit(false, n);
        if fit == n {
            return Poll::Ready(Some(Ok(frame)));
        }
        // What fits reaches the guest, then the error; the rest never does.
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
