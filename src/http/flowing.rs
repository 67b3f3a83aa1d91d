//! A large body holds its slot only while it flows: each second it must bring at least the
//! minimum rate's bytes, or it fails, gives its slot back at once and marks the request late
//! (the serving loop answers 408 and closes the connection). Without this, a few connections
//! that declare a large body and send nothing would hold every slot and refuse every upload.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use http_body::{Frame, SizeHint};
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{Instant, Sleep};

/// How often the rate is measured.
pub(crate) const WINDOW: Duration = Duration::from_secs(1);

/// Set by a request's body when it arrived too late or too slowly; the serving loop puts one
/// in each request's extensions and answers 408 when it is set.
#[derive(Clone, Default)]
pub(crate) struct LateBody(pub(crate) Arc<AtomicBool>);

/// A large-body slot, given back by whichever comes first: the request's end or a stall.
pub(crate) type SharedSlot = Arc<Mutex<Option<OwnedSemaphorePermit>>>;

/// A body that must bring `min_per_window` bytes in every [`WINDOW`].
pub(crate) struct Flowing {
    inner: Body,
    min_per_window: usize,
    got: usize,
    window: Pin<Box<Sleep>>,
    slot: SharedSlot,
    late: Option<LateBody>,
}

impl Flowing {
    pub(crate) fn new(
        inner: Body,
        min_per_window: usize,
        slot: SharedSlot,
        late: Option<LateBody>,
    ) -> Self {
        Flowing {
            inner,
            min_per_window,
            got: 0,
            window: Box::pin(tokio::time::sleep(WINDOW)),
            slot,
            late,
        }
    }

    /// Ends each window that has passed; `false` when one brought too few bytes.
    fn kept_pace(&mut self, cx: &mut Context<'_>) -> bool {
        while self.window.as_mut().poll(cx).is_ready() {
            if self.got < self.min_per_window {
                return false;
            }
            self.got = 0;
            self.window.as_mut().reset(Instant::now() + WINDOW);
        }
        true
    }

    fn stalled(&mut self) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        self.slot.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(late) = &self.late {
            late.0.store(true, Ordering::SeqCst);
        }
        let error = format!(
            "the request body arrived slower than {} bytes per second",
            self.min_per_window
        );
        Poll::Ready(Some(Err(axum::Error::new(error))))
    }
}

impl http_body::Body for Flowing {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                this.got += frame.data_ref().map_or(0, Bytes::len);
                if !this.kept_pace(cx) {
                    return this.stalled();
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(other) => Poll::Ready(other),
            Poll::Pending if this.kept_pace(cx) => Poll::Pending,
            Poll::Pending => this.stalled(),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
