//! Answers waiting for slow readers, bounded in bytes over all connections. An answer counts
//! from when the router returns it until its last bytes are handed to the socket (or its
//! connection closes, at the latest when the write timeout fires): a client that asks for a
//! large answer and never reads holds that memory, so only so much of it may be held at once.
//! Beyond the budget a new large answer is dropped and replaced by 503 with `Retry-After`.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use http_body::Body as _;
use http_body::{Frame, SizeHint};

/// Answers up to this size are never shed (refusing them saves nothing).
pub(super) const SMALL_ANSWER_BYTES: usize = 64 * 1024;
/// The most bytes handed to the connection at once; the rest waits here, counted.
const SLICE_BYTES: usize = 64 * 1024;

/// The size of an answer as its handler wrote it, in the response's extensions: compression
/// hides it from the body's size hint, yet the uncompressed bytes are held until sent.
#[derive(Clone, Copy)]
pub(crate) struct AnswerBytes(pub(crate) usize);

/// The budget of bytes waiting for slow readers.
#[derive(Clone)]
pub(super) struct PendingBytes {
    held: Arc<AtomicUsize>,
    max: usize,
}

impl PendingBytes {
    pub(super) fn new(max: usize) -> Self {
        PendingBytes {
            held: Arc::default(),
            max,
        }
    }

    /// Counts `body` (written as `written` bytes, when known) as pending, or hands it back
    /// when it is large and does not fit.
    pub(super) fn admit(&self, body: Body, written: Option<AnswerBytes>) -> Result<Body, Body> {
        let hinted = usize::try_from(body.size_hint().lower()).unwrap_or(usize::MAX);
        let size = hinted.max(written.map_or(0, |w| w.0));
        let before = self.held.fetch_add(size, Ordering::SeqCst);
        if size > SMALL_ANSWER_BYTES && before.saturating_add(size) > self.max {
            self.held.fetch_sub(size, Ordering::SeqCst);
            return Err(body);
        }
        Ok(Body::new(Pending {
            inner: body,
            rest: Bytes::new(),
            counted: size,
            held: Arc::clone(&self.held),
        }))
    }
}

/// A body counted in the budget until it has been handed over, in slices, so that the
/// connection never takes much more than it can write.
struct Pending {
    inner: Body,
    /// The part of the current frame not yet handed over.
    rest: Bytes,
    counted: usize,
    held: Arc<AtomicUsize>,
}

impl Pending {
    fn uncount(&mut self, bytes: usize) {
        let bytes = bytes.min(self.counted);
        self.counted -= bytes;
        self.held.fetch_sub(bytes, Ordering::SeqCst);
    }
}

impl http_body::Body for Pending {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if this.rest.is_empty() {
            match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => this.rest = data,
                    Err(frame) => return Poll::Ready(Some(Ok(frame))),
                },
                other => return other,
            }
        }
        let slice = this.rest.split_to(this.rest.len().min(SLICE_BYTES));
        // A compressed answer is uncounted by what it sends, and in full once it ends.
        this.uncount(slice.len());
        Poll::Ready(Some(Ok(Frame::data(slice))))
    }

    fn is_end_stream(&self) -> bool {
        self.rest.is_empty() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        let mut hint = self.inner.size_hint();
        let rest = self.rest.len() as u64;
        hint.set_lower(hint.lower() + rest);
        if let Some(upper) = hint.upper() {
            hint.set_upper(upper + rest);
        }
        hint
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        let counted = self.counted;
        self.uncount(counted);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn large_answers_over_the_budget_are_refused_and_handed_over_ones_free_it() {
        let pending = PendingBytes::new(300 * 1024);
        let Ok(first) = pending.admit(Body::from(vec![0u8; 200 * 1024]), None) else {
            panic!("fits");
        };
        assert!(
            pending
                .admit(Body::from(vec![0u8; 200 * 1024]), None)
                .is_err()
        );
        assert!(
            pending.admit(Body::from(vec![0u8; 1024]), None).is_ok(),
            "small ones pass"
        );
        let bytes = first.collect().await.expect("a body").to_bytes();
        assert_eq!(bytes.len(), 200 * 1024);
        assert!(
            pending
                .admit(Body::from(vec![0u8; 200 * 1024]), None)
                .is_ok()
        );
    }

    #[tokio::test]
    async fn an_answer_is_counted_at_its_written_size_when_compression_hides_it() {
        let pending = PendingBytes::new(300 * 1024);
        let streamed =
            Body::from_stream(futures_util::stream::empty::<Result<Bytes, axum::Error>>());
        assert!(
            pending
                .admit(streamed, Some(AnswerBytes(400 * 1024)))
                .is_err()
        );
    }

    #[tokio::test]
    async fn a_dropped_answer_gives_its_bytes_back() {
        let pending = PendingBytes::new(300 * 1024);
        let Ok(held) = pending.admit(Body::from(vec![0u8; 200 * 1024]), None) else {
            panic!("fits");
        };
        drop(held);
        assert_eq!(pending.held.load(Ordering::SeqCst), 0);
    }
}
