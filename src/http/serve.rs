//! The serving loop: accepts TCP connections and runs HTTP/1.1 on them with the limits
//! `axum::serve` cannot set, so a slow or hostile client costs a bounded amount.
//!
//! - Headers must arrive within the header read timeout (which also closes idle keep-alive
//!   connections), a body within the body read timeout (else 408 and the connection closes).
//! - Open connections are capped in total and per client IP address; one over the cap gets 503
//!   with `Retry-After` and is closed. A connection's slot is held by its socket, so a WebSocket
//!   holds one for as long as it is open.
//! - Each request carries `ConnectInfo<SocketAddr>` for handlers that need the client address.
//! - On shutdown the listener closes, idle connections close, requests in flight get the drain
//!   time to finish; [`Drained`] says whether any had to be cut off.
//!
//! `main.rs` and the tests run exactly this loop. HTTP/2 is not offered: in clear text no
//! browser speaks it, and a TLS-terminating proxy in front can.

mod conn;
mod pending;
mod per_core;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, header};
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tower::ServiceExt;

use super::flowing::LateBody;
use super::handlers::caller_from;
use super::negotiation::Negotiated;
use super::response::Rejection;
use crate::config::ConnectionConfig;
use crate::refusal::Refusal;
use crate::telemetry::metrics::Metrics;
use conn::{Admitted, Counted, DeadlineBody, Tally};
pub(crate) use pending::AnswerBytes;
use pending::PendingBytes;
pub use per_core::{bind_per_core, serve_per_core};

/// How the drain after shutdown ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drained {
    /// Every HTTP request in flight finished (WebSockets are not waited for).
    Clean,
    /// The drain time ran out with this many connections still serving a request.
    CutOff {
        /// Connections whose requests were cut off unfinished.
        connections: usize,
    },
}

/// The connection caps and the budget of answer bytes of one gateway, and where its serving
/// loops count their refusals. Clones share the counts, so serving loops on several listeners
/// (one per thread) hold one total between them.
#[derive(Clone)]
pub struct SharedLimits {
    tally: Tally,
    pending: PendingBytes,
    limits: Arc<ConnectionConfig>,
    metrics: Metrics,
}

impl SharedLimits {
    /// Counts starting at zero, capped as `limits` says; refusals counted in `metrics` (the
    /// served gateway's).
    pub fn new(limits: ConnectionConfig, metrics: Metrics) -> Self {
        SharedLimits {
            tally: Tally::new(limits.max_connections, limits.max_connections_per_address),
            pending: PendingBytes::new(limits.max_pending_response_bytes),
            limits: Arc::new(limits),
            metrics,
        }
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then drains for at most `drain`;
/// the loop's refusals count in `metrics` (the served gateway's).
pub async fn serve<F>(
    listener: TcpListener,
    router: Router,
    limits: ConnectionConfig,
    shutdown: F,
    drain: Duration,
    metrics: Metrics,
) -> Drained
where
    F: Future<Output = ()> + Send,
{
    let shared = SharedLimits::new(limits, metrics);
    serve_sharing(listener, router, shared, shutdown, drain).await
}

/// [`serve`] with caps shared with other serving loops: each loop drains only its own
/// connections.
pub async fn serve_sharing<F>(
    listener: TcpListener,
    router: Router,
    shared: SharedLimits,
    shutdown: F,
    drain: Duration,
) -> Drained
where
    F: Future<Output = ()> + Send,
{
    let SharedLimits {
        tally,
        pending,
        limits,
        metrics,
    } = shared;
    // Dropping `stop` asks every connection to finish; `close` is dropped by each connection
    // task when it ends, so `closed()` tells when all have.
    let (stop, stop_rx) = watch::channel(());
    let (close, close_rx) = watch::channel(());
    let mut shutdown = pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        match tally.admit(peer.ip()) {
            Admitted::Serve(slot) => {
                let io = TokioIo::new(Counted::new(
                    stream,
                    slot,
                    limits.write_timeout,
                    metrics.clone(),
                ));
                let connection = serve_connection(
                    io,
                    peer,
                    (router.clone(), pending.clone(), metrics.clone()),
                    Arc::clone(&limits),
                    stop_rx.clone(),
                );
                tokio::spawn(hold_until_done(connection, close_rx.clone()));
            }
            Admitted::Refuse(slot) => {
                tracing::warn!(%peer, "connection refused: too many open connections");
                metrics.refused(&Refusal::Connections);
                let io = TokioIo::new(Counted::new(
                    stream,
                    slot,
                    limits.header_read_timeout,
                    metrics.clone(),
                ));
                tokio::spawn(refuse_connection(io, limits.header_read_timeout));
            }
            Admitted::Drop => {
                metrics.refused(&Refusal::Connections);
                drop(stream);
            }
        }
    }
    drop(listener);
    drop(close_rx);
    drop(stop);
    match tokio::time::timeout(drain, close.closed()).await {
        Ok(()) => Drained::Clean,
        Err(_) => Drained::CutOff {
            connections: close.receiver_count(),
        },
    }
}

/// Runs `connection`, holding `close` (a drain token) until it ends.
async fn hold_until_done(connection: impl Future<Output = ()>, close: watch::Receiver<()>) {
    connection.await;
    drop(close);
}

/// Serves one admitted connection; it finishes gracefully once `stop` changes or closes.
async fn serve_connection(
    io: TokioIo<Counted<TcpStream>>,
    peer: SocketAddr,
    (router, pending, metrics): (Router, PendingBytes, Metrics),
    limits: Arc<ConnectionConfig>,
    mut stop: watch::Receiver<()>,
) {
    let body_timeout = limits.body_read_timeout;
    let service = service_fn(move |request| {
        handle(
            (router.clone(), pending.clone(), metrics.clone()),
            peer,
            body_timeout,
            request,
        )
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let mut connection = pin!(builder.serve_connection(io, service).with_upgrades());
    tokio::select! {
        result = connection.as_mut() => log_end(result),
        _ = stop.changed() => {
            connection.as_mut().graceful_shutdown();
            log_end(connection.await);
        }
    }
}

fn log_end(result: Result<(), hyper::Error>) {
    if let Err(e) = result {
        tracing::debug!(error = %e, "connection ended");
    }
}

/// One request: give it the client's address and a body that must arrive in time.
async fn handle(
    (router, pending, metrics): (Router, PendingBytes, Metrics),
    peer: SocketAddr,
    body_timeout: Duration,
    request: Request<Incoming>,
) -> Result<Response, Infallible> {
    let (mut parts, body) = request.into_parts();
    parts.extensions.insert(ConnectInfo(peer));
    let late = LateBody::default();
    parts.extensions.insert(late.clone());
    let expired = late.0;
    let body = Body::new(DeadlineBody::new(body, body_timeout, Arc::clone(&expired)));
    // Kept for a refusal: the request itself moves into the router.
    let headers = parts.headers.clone();
    let response = router.oneshot(Request::from_parts(parts, body)).await?;
    if !expired.load(Ordering::SeqCst) {
        return Ok(shed_if_unsendable(response, &pending, &headers, &metrics));
    }
    tracing::warn!(%peer, "request body not received in time");
    let refusal = Refusal::BodyReadTimeout {
        timeout: body_timeout,
    };
    let mut response = refuse_counted(&metrics, &headers, refusal);
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    Ok(response)
}

/// The answer, counted among those waiting for readers; a large one beyond the budget is
/// replaced by 503 with `Retry-After` (its bytes are freed at once).
fn shed_if_unsendable(
    response: Response,
    pending: &PendingBytes,
    headers: &axum::http::HeaderMap,
    metrics: &Metrics,
) -> Response {
    let (parts, body) = response.into_parts();
    let written = parts.extensions.get::<AnswerBytes>().copied();
    match pending.admit(body, written) {
        Ok(body) => Response::from_parts(parts, body),
        Err(_) => refuse_counted(metrics, headers, Refusal::PendingResponseBytes),
    }
}

/// The answer to a refusal of the serving loop, counted in `metrics`.
fn refuse_counted(
    metrics: &Metrics,
    headers: &axum::http::HeaderMap,
    refusal: Refusal,
) -> Response {
    metrics.refused(&refusal);
    let media = Negotiated::of(headers).response;
    Rejection::answering(refusal, media, &caller_from(headers)).into_response()
}

/// Answers every request on an over-capacity connection with 503 and closes it; the whole
/// exchange is bounded by the header read timeout.
async fn refuse_connection(io: TokioIo<Counted<TcpStream>>, timeout: Duration) {
    // Counted once, when the connection was refused, not once per request on it.
    let service = service_fn(|request: Request<Incoming>| async move {
        let headers = request.headers();
        let media = Negotiated::of(headers).response;
        let answer = Rejection::answering(Refusal::Connections, media, &caller_from(headers));
        Ok::<_, Infallible>(answer.into_response())
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(timeout)
        .keep_alive(false);
    let connection = builder.serve_connection(io, service);
    if let Ok(result) = tokio::time::timeout(timeout, connection).await {
        log_end(result);
    }
}

/// Accept errors other than a client giving up (the process out of file descriptors, say)
/// are logged and slow the loop down so it does not spin.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "cannot accept connections");
    tokio::time::sleep(Duration::from_millis(250)).await;
}
