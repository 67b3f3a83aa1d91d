//! One WebSocket connection from upgrade to close: client messages are checked (see
//! [`protocol`](super::protocol)) and handed to async-graphql's protocol state machine; its
//! answers go through an outgoing queue bounded in bytes to a writer that also sends a
//! WebSocket ping every keep-alive interval.
//!
//! A client must send `connection_init` within the configured time or the connection closes
//! with 4408. A client that stops reading cannot make the gateway hold its answers: when more
//! than the queue's bytes wait for it, the connection stops producing answers until the client
//! catches up, and if it does not within the stall timeout, the connection is dropped and
//! everything it held (subscriptions, their slots, buffers) is given back. The same timeout
//! bounds each single send, so one large answer a client never reads is dropped too.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_graphql::Data;
use async_graphql::http::{
    WebSocket as ProtocolMachine, WebSocketProtocols as Protocols, WsMessage,
};
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, Stream, StreamExt, stream};
use tokio::sync::{Notify, mpsc, watch};
use tokio::time::Instant;

use super::executor::ConnectionExecutor;
use super::protocol::{Action, Checker, close};
use crate::refusal::Refusal;
use crate::telemetry::metrics::Metrics;

/// How long a closing handshake may take once the gateway has said goodbye.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Settings of one connection.
pub(crate) struct Settings {
    pub protocol: Protocols,
    pub keepalive: Duration,
    pub init_timeout: Duration,
    pub max_queued_bytes: usize,
    pub stall_timeout: Duration,
    /// Where the connection's refusals are counted.
    pub metrics: Metrics,
}

/// Serves one connection until either side ends it. `on_init` receives the payload of
/// `connection_init`.
pub(crate) async fn serve(
    socket: WebSocket,
    executor: ConnectionExecutor,
    settings: Settings,
    on_init: impl FnOnce(serde_json::Value) + Send + 'static,
) {
    let (sink, source) = socket.split();
    let checker = Checker::new(settings.protocol);
    let initialised = checker.initialised();
    let (closing_tx, closing) = watch::channel(None);
    let input = checked(source, checker, closing_tx);
    let machine = ProtocolMachine::from_message_stream(executor, input, settings.protocol)
        .on_connection_init(move |payload| async move {
            on_init(payload);
            Ok(Data::default())
        });
    let metrics = settings.metrics;
    let (queue, queued) = outgoing(
        settings.max_queued_bytes,
        settings.stall_timeout,
        metrics.clone(),
    );
    let produce = produce(machine, queue, closing, initialised, settings.init_timeout);
    let write = write(
        sink,
        queued,
        (settings.keepalive, settings.stall_timeout),
        metrics,
    );
    tokio::pin!(write);
    tokio::select! {
        ended = produce => match ended {
            // What is queued still goes out, if the client reads it in time.
            Ended::Done => {
                let _ = tokio::time::timeout(settings.stall_timeout, write).await;
            }
            Ended::NotReading => tracing::info!("closed a WebSocket whose client does not read"),
        },
        () = &mut write => {}
    }
}

/// Client messages as the protocol library wants them; a message that breaks the protocol
/// records why in `closing` and ends the stream, which ends the connection.
fn checked(
    source: impl Stream<Item = Result<Message, axum::Error>> + Unpin + Send + 'static,
    checker: Checker,
    closing: watch::Sender<Option<(u16, String)>>,
) -> impl Stream<Item = serde_json::Result<async_graphql::http::ClientMessage>> + Send + 'static {
    stream::unfold(
        (source, checker, closing),
        |(mut source, mut checker, closing)| async move {
            loop {
                let message = source.next().await?.ok()?;
                match checker.check(&message) {
                    Action::Pass(parsed) => return Some((*parsed, (source, checker, closing))),
                    Action::Skip => {}
                    Action::Close(code, reason) => {
                        closing.send_replace(Some((code, reason)));
                        return None;
                    }
                }
            }
        },
    )
}

/// How the producing side ended.
enum Ended {
    /// The protocol ended (either side closed); what is queued is still worth sending.
    Done,
    /// The client let too many bytes wait: drop the connection now.
    NotReading,
}

/// Moves the protocol machine's answers to the outgoing queue, and closes with 4408 when
/// `connection_init` does not arrive in time.
async fn produce(
    machine: impl Stream<Item = WsMessage>,
    queue: Outgoing,
    closing: watch::Receiver<Option<(u16, String)>>,
    mut initialised: watch::Receiver<bool>,
    init_timeout: Duration,
) -> Ended {
    let init_deadline = async move {
        let in_time = tokio::time::timeout(init_timeout, async {
            initialised.wait_for(|seen| *seen).await.is_ok()
        })
        .await;
        if in_time.is_ok() {
            // Initialised in time (or the input ended first): this deadline never fires.
            std::future::pending::<()>().await;
        }
    };
    tokio::pin!(machine, init_deadline);
    loop {
        let message = tokio::select! {
            next = machine.next() => match next {
                Some(WsMessage::Text(text)) => Message::Text(text.into()),
                Some(WsMessage::Close(code, reason)) => close_frame(code, reason),
                None => break,
            },
            () = &mut init_deadline => {
                queue.metrics.refused(&Refusal::WsInitTimeout);
                close_frame(close::INIT_TIMEOUT, Refusal::WsInitTimeout.to_string())
            }
        };
        let last = matches!(message, Message::Close(_));
        if queue.push(message).await.is_err() {
            return Ended::NotReading;
        }
        if last {
            return Ended::Done;
        }
    }
    let reason = closing.borrow().clone();
    if let Some((code, reason)) = reason
        && queue.push(close_frame(code, reason)).await.is_err()
    {
        return Ended::NotReading;
    }
    Ended::Done
}

fn close_frame(code: u16, reason: String) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}

/// Sends queued messages, and a ping every `keepalive` so idle connections survive proxies
/// and dead peers are noticed. Ends after a close frame, when the client is gone, or when one
/// send waits `patience` for a client that does not read (even a single large answer).
async fn write(
    mut sink: SplitSink<WebSocket, Message>,
    mut queued: Queued,
    (keepalive, patience): (Duration, Duration),
    metrics: Metrics,
) {
    let mut ticker = tokio::time::interval(keepalive);
    ticker.tick().await;
    loop {
        let message = tokio::select! {
            next = queued.pop() => match next {
                Some(message) => message,
                None => break,
            },
            _ = ticker.tick() => Message::Ping(Default::default()),
        };
        let last = matches!(message, Message::Close(_));
        match tokio::time::timeout(patience, sink.send(message)).await {
            Ok(Ok(())) if !last => {}
            Ok(_) => break,
            Err(_) => {
                metrics.refused(&Refusal::WsStallTimeout);
                tracing::info!("closed a WebSocket whose client does not read");
                // Dropping the sink drops the connection: a goodbye would not be read either.
                return;
            }
        }
    }
    let _ = tokio::time::timeout(CLOSE_GRACE, sink.close()).await;
}

/// The producing end of a connection's outgoing queue.
struct Outgoing {
    sender: mpsc::UnboundedSender<Message>,
    bytes: Arc<AtomicUsize>,
    taken: Arc<Notify>,
    cap: usize,
    patience: Duration,
    metrics: Metrics,
}

/// The writer's end of the queue.
struct Queued {
    receiver: mpsc::UnboundedReceiver<Message>,
    bytes: Arc<AtomicUsize>,
    taken: Arc<Notify>,
}

/// The client has not read what it was sent.
struct Stalled;

/// A queue that holds at most `cap` bytes of messages waiting for the socket (yet always takes
/// one message when it is empty, so a single large answer still reaches a client that reads).
/// A push that does not fit waits up to `patience` for the writer to make room.
fn outgoing(cap: usize, patience: Duration, metrics: Metrics) -> (Outgoing, Queued) {
    let (sender, receiver) = mpsc::unbounded_channel();
    let bytes = Arc::new(AtomicUsize::new(0));
    let taken = Arc::new(Notify::new());
    (
        Outgoing {
            sender,
            bytes: Arc::clone(&bytes),
            taken: Arc::clone(&taken),
            cap,
            patience,
            metrics,
        },
        Queued {
            receiver,
            bytes,
            taken,
        },
    )
}

impl Outgoing {
    async fn push(&self, message: Message) -> Result<(), Stalled> {
        let size = size_of(&message);
        let deadline = Instant::now() + self.patience;
        // One producer: only the writer lowers the count meanwhile, and each time it does it
        // leaves a permit in `taken`, so no wake-up is lost between the check and the wait.
        loop {
            let waiting = self.bytes.load(Ordering::SeqCst);
            if waiting == 0 || waiting + size <= self.cap {
                break;
            }
            let room = tokio::time::timeout_at(deadline, self.taken.notified()).await;
            if room.is_err() {
                self.metrics.refused(&Refusal::WsStallTimeout);
                return Err(Stalled);
            }
        }
        self.bytes.fetch_add(size, Ordering::SeqCst);
        // The writer gone means the connection is ending anyway.
        let _ = self.sender.send(message);
        Ok(())
    }
}

impl Queued {
    async fn pop(&mut self) -> Option<Message> {
        let message = self.receiver.recv().await?;
        self.bytes.fetch_sub(size_of(&message), Ordering::SeqCst);
        self.taken.notify_one();
        Some(message)
    }
}

fn size_of(message: &Message) -> usize {
    match message {
        Message::Text(text) => text.len(),
        Message::Binary(bytes) | Message::Ping(bytes) | Message::Pong(bytes) => bytes.len(),
        Message::Close(frame) => 2 + frame.as_ref().map_or(0, |f| f.reason.len()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;

    use super::*;

    fn text(size: usize) -> Message {
        Message::Text("x".repeat(size).into())
    }

    #[tokio::test]
    async fn the_queue_refuses_past_its_bytes_once_its_patience_runs_out() {
        let patience = Duration::from_millis(50);
        let (queue, mut queued) = outgoing(100, patience, Metrics::new());
        assert!(
            queue.push(text(500)).await.is_ok(),
            "an empty queue takes any message"
        );
        let start = Instant::now();
        assert!(queue.push(text(1)).await.is_err(), "500 bytes already wait");
        assert!(start.elapsed() >= patience, "refused only after waiting");
        assert!(queued.pop().await.is_some());
        assert!(queue.push(text(60)).await.is_ok());
        assert!(queue.push(text(40)).await.is_ok(), "exactly the cap");
        assert!(queue.push(text(1)).await.is_err(), "one byte over");
    }

    #[tokio::test]
    async fn a_push_that_does_not_fit_waits_for_the_writer_to_make_room() {
        let (queue, mut queued) = outgoing(100, Duration::from_secs(60), Metrics::new());
        assert!(queue.push(text(100)).await.is_ok());
        let pushed = AtomicBool::new(false);
        let push = async {
            let outcome = queue.push(text(100)).await;
            pushed.store(true, Ordering::SeqCst);
            outcome
        };
        let writer = async {
            tokio::task::yield_now().await;
            assert!(!pushed.load(Ordering::SeqCst), "the push waits for room");
            queued.pop().await
        };
        let (outcome, popped) = tokio::join!(push, writer);
        assert!(outcome.is_ok() && popped.is_some());
    }
}
