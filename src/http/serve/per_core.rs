//! The serving loop laid out one per core: each thread runs a current-thread runtime and
//! accepts on a listener of its own, all bound to one address with SO_REUSEPORT so the kernel
//! spreads connections between them. It is there to be measured against the one multi-thread
//! runtime (`--runtime per-core`): fewer wake-ups and no work stealing, at the price of a
//! thread that cannot hand its load to an idle one.
//!
//! The router and the connection caps are shared by every thread, so the total and
//! per-address counts are the gateway's, not a thread's. Shutdown reaches all threads at once;
//! the gateway drained cleanly only if every thread did.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::{oneshot, watch};

use super::{Drained, SharedLimits, serve_sharing};

/// Pending connections each listener lets the kernel queue (as `TcpListener::bind` does).
const BACKLOG: u32 = 1024;

/// Time given to blocking work on a thread's runtime once its loop has drained.
const THREAD_EXIT_GRACE: Duration = Duration::from_millis(500);

/// `count` listeners on `address` with SO_REUSEPORT (at least one), and the address they
/// share: with port 0 the first picks a free port and the others take the same. They listen
/// before this returns, so a client told the address is never refused. Call it from within a
/// tokio runtime; each listener is moved to its serving thread's runtime afterwards.
pub fn bind_per_core(
    address: SocketAddr,
    count: usize,
) -> io::Result<(Vec<std::net::TcpListener>, SocketAddr)> {
    let first = reusing(address)?;
    let bound = first.local_addr()?;
    let mut sockets = vec![first];
    for _ in 1..count.max(1) {
        sockets.push(reusing(bound)?);
    }
    let listeners = sockets
        .into_iter()
        .map(|socket| socket.listen(BACKLOG)?.into_std())
        .collect::<io::Result<_>>()?;
    Ok((listeners, bound))
}

fn reusing(address: SocketAddr) -> io::Result<TcpSocket> {
    let socket = if address.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    #[cfg(unix)]
    socket.set_reuseport(true)?;
    #[cfg(not(unix))]
    return Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "--runtime per-core needs SO_REUSEPORT (Unix only)",
    ));
    socket.bind(address)?;
    Ok(socket)
}

/// Serves `router` on each of `listeners` (from [`bind_per_core`]) from a thread of its own until `shutdown` completes,
/// then lets each thread drain for at most `drain`. Connections refused by the caps count
/// against all threads together.
pub async fn serve_per_core<F>(
    listeners: Vec<std::net::TcpListener>,
    router: Router,
    limits: SharedLimits,
    shutdown: F,
    drain: Duration,
) -> io::Result<Drained>
where
    F: Future<Output = ()> + Send,
{
    tracing::info!(threads = listeners.len(), "serving with a runtime per core");
    let (stop, stopped) = watch::channel(false);
    let mut ends = Vec::with_capacity(listeners.len());
    for (index, listener) in listeners.into_iter().enumerate() {
        let (end, ended) = oneshot::channel();
        let (router, limits, mut stopped) = (router.clone(), limits.clone(), stopped.clone());
        std::thread::Builder::new()
            .name(format!("gpo-serve-{index}"))
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        let _ = end.send(Err(e));
                        return;
                    }
                };
                let served = runtime.block_on(async move {
                    let listener = TcpListener::from_std(listener)?;
                    let shutdown = async move {
                        let _ = stopped.wait_for(|stopping| *stopping).await;
                    };
                    Ok(serve_sharing(listener, router, limits, shutdown, drain).await)
                });
                // Told first: WebSockets and blocking work left on this runtime are the
                // thread's to drop, not a reason to hold the process' exit.
                let _ = end.send(served);
                runtime.shutdown_timeout(THREAD_EXIT_GRACE);
            })?;
        ends.push(ended);
    }
    drop(stopped);
    let stop_all = async {
        shutdown.await;
        let _ = stop.send(true);
        std::future::pending::<Infallible>().await
    };
    let gather = async {
        let mut cut_off = 0;
        let mut failed = None;
        let mut ends: FuturesUnordered<_> = ends.into_iter().collect();
        while let Some(ended) = ends.next().await {
            let ended =
                ended.unwrap_or_else(|_| Err(io::Error::other("a serving thread ended abruptly")));
            match ended {
                Ok(Drained::Clean) => {}
                Ok(Drained::CutOff { connections }) => cut_off += connections,
                Err(e) => {
                    // One thread that cannot serve stops the others rather than leave the
                    // gateway on part of its cores.
                    let _ = stop.send(true);
                    failed = Some(e);
                }
            }
        }
        match (failed, cut_off) {
            (Some(e), _) => Err(e),
            (None, 0) => Ok(Drained::Clean),
            (None, connections) => Ok(Drained::CutOff { connections }),
        }
    };
    tokio::select! {
        ended = gather => ended,
        never = stop_all => match never {},
    }
}
