//! The pieces of the serving loop that hold a connection to its limits: the tally of open
//! connections, the socket that gives its slot back when it closes and fails writes its
//! client does not read, and the request body that must arrive before its deadline.

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use crate::refusal::Refusal;
use crate::telemetry::metrics::Metrics;

/// Open connections, in total and per client address, plus refusals being written.
#[derive(Clone)]
pub(super) struct Tally {
    counts: Arc<Mutex<Counts>>,
    max_open: usize,
    max_per_address: usize,
}

#[derive(Default)]
struct Counts {
    open: usize,
    per_address: HashMap<IpAddr, usize>,
    refusing: usize,
}

/// What to do with a new connection.
pub(super) enum Admitted {
    /// Serve it; the slot is given back when the connection closes.
    Serve(Slot),
    /// Answer 503 and close it.
    Refuse(Slot),
    /// Close it at once: even the refusals are at their cap (as many as open connections).
    Drop,
}

impl Tally {
    pub(super) fn new(max_open: usize, max_per_address: usize) -> Self {
        Tally {
            counts: Arc::default(),
            max_open,
            max_per_address,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Counts> {
        // The counts stay consistent under any panic (each change is one statement).
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes a slot for a connection from `address`.
    pub(super) fn admit(&self, address: IpAddr) -> Admitted {
        let mut counts = self.lock();
        let from_address = counts.per_address.get(&address).copied().unwrap_or(0);
        if counts.open < self.max_open && from_address < self.max_per_address {
            counts.open += 1;
            *counts.per_address.entry(address).or_default() += 1;
            return Admitted::Serve(Slot {
                tally: self.clone(),
                address: Some(address),
            });
        }
        if counts.refusing < self.max_open {
            counts.refusing += 1;
            return Admitted::Refuse(Slot {
                tally: self.clone(),
                address: None,
            });
        }
        Admitted::Drop
    }
}

/// A connection's place in the tally; dropping it gives the place back.
pub(super) struct Slot {
    tally: Tally,
    /// `None` for a connection being refused.
    address: Option<IpAddr>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.tally.lock();
        let Some(address) = self.address else {
            counts.refusing -= 1;
            return;
        };
        counts.open -= 1;
        if let Some(n) = counts.per_address.get_mut(&address) {
            *n -= 1;
            if *n == 0 {
                counts.per_address.remove(&address);
            }
        }
    }
}

/// A socket holding its connection's slot: the slot goes back when the socket is dropped,
/// also after it was handed to a WebSocket. A write that makes no progress for the write
/// timeout fails, which closes the connection (its client does not read).
pub(super) struct Counted<T> {
    io: T,
    _slot: Slot,
    write_timeout: Duration,
    /// Counts a write that timed out.
    metrics: Metrics,
    /// Armed while a write waits for the client to read.
    stalled: Option<Pin<Box<Sleep>>>,
}

impl<T> Counted<T> {
    pub(super) fn new(io: T, slot: Slot, write_timeout: Duration, metrics: Metrics) -> Self {
        Counted {
            io,
            _slot: slot,
            write_timeout,
            metrics,
            stalled: None,
        }
    }

    /// Passes a write's outcome through, failing it once the socket has taken nothing for
    /// the write timeout.
    fn deadline<R>(
        &mut self,
        cx: &mut Context<'_>,
        outcome: Poll<io::Result<R>>,
    ) -> Poll<io::Result<R>> {
        if outcome.is_ready() {
            self.stalled = None;
            return outcome;
        }
        let timeout = self.write_timeout;
        let timer = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        if timer.as_mut().poll(cx).is_ready() {
            self.metrics.refused(&Refusal::WriteTimeout);
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                Refusal::WriteTimeout.to_string(),
            )));
        }
        Poll::Pending
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Counted<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Counted<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let outcome = Pin::new(&mut self.io).poll_write(cx, buf);
        self.deadline(cx, outcome)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let outcome = Pin::new(&mut self.io).poll_flush(cx);
        self.deadline(cx, outcome)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let outcome = Pin::new(&mut self.io).poll_shutdown(cx);
        self.deadline(cx, outcome)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let outcome = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.deadline(cx, outcome)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

/// A request body that fails, and marks `expired`, when it has not been fully received by
/// its deadline (counted from when the request's headers arrived).
pub(super) struct DeadlineBody {
    inner: Incoming,
    deadline: Instant,
    /// Started on the first read, so bodiless requests never arm a timer.
    timer: Option<Pin<Box<Sleep>>>,
    expired: Arc<AtomicBool>,
}

impl DeadlineBody {
    pub(super) fn new(inner: Incoming, limit: Duration, expired: Arc<AtomicBool>) -> Self {
        DeadlineBody {
            inner,
            deadline: Instant::now() + limit,
            timer: None,
            expired,
        }
    }
}

impl Body for DeadlineBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        let deadline = this.deadline;
        let timer = this
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if timer.as_mut().poll(cx).is_ready() {
            this.expired.store(true, Ordering::SeqCst);
            return Poll::Ready(Some(Err("the request body did not arrive in time".into())));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    #[test]
    fn the_tally_caps_per_address_and_in_total_then_refuses_then_drops() {
        let tally = Tally::new(3, 2);
        let a1 = tally.admit(ip(1));
        let a2 = tally.admit(ip(1));
        assert!(matches!(a1, Admitted::Serve(_)) && matches!(a2, Admitted::Serve(_)));
        assert!(
            matches!(tally.admit(ip(1)), Admitted::Refuse(_)),
            "per address"
        );
        let b1 = tally.admit(ip(2));
        assert!(matches!(b1, Admitted::Serve(_)));
        // Three open: the total cap refuses every address, as long as refusals are available.
        let refusals: Vec<_> = (0..3).map(|_| tally.admit(ip(3))).collect();
        assert!(refusals.iter().all(|r| matches!(r, Admitted::Refuse(_))));
        assert!(matches!(tally.admit(ip(3)), Admitted::Drop));
        drop(refusals);
        drop(a1);
        assert!(matches!(tally.admit(ip(3)), Admitted::Serve(_)));
    }

    #[test]
    fn closed_connections_leave_nothing_behind() {
        let tally = Tally::new(1000, 1000);
        let slots: Vec<_> = (0..=255).map(|n| tally.admit(ip(n))).collect();
        assert_eq!(tally.lock().per_address.len(), 256);
        drop(slots);
        let counts = tally.lock();
        assert_eq!((counts.open, counts.refusing), (0, 0));
        assert!(
            counts.per_address.is_empty(),
            "no entry per past client is kept"
        );
    }
}
