//! GraphQL over WebSocket on `/graphql`: both `graphql-transport-ws` (graphql-ws) and the legacy
//! `graphql-ws` (subscriptions-transport-ws) protocols, with the caller's token taken from
//! `connection_init`, limits on live subscriptions, and WebSocket pings as keep-alive.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql::{Data, Executor, Request as GqlRequest, Response as GqlResponse, ServerError};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, Request};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::stream::BoxStream;
use futures_util::{SinkExt, StreamExt, stream};

use super::{AppState, caller_from};
use crate::backend::{BearerToken, Caller};
use crate::error::Code;
use crate::graphql::{FileLoader, GatewaySchema, OperationLoader, ensure_code, finish_errors};

/// Whether a GET asks to become a WebSocket.
pub fn is_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// Counts live subscriptions against a cap; a slot is released when its guard drops.
#[derive(Clone)]
pub struct SubscriptionCounter {
    live: Arc<AtomicUsize>,
    cap: usize,
}

/// A held subscription slot.
pub struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl SubscriptionCounter {
    /// A counter allowing `cap` live subscriptions.
    pub fn new(cap: usize) -> Self {
        SubscriptionCounter {
            live: Arc::new(AtomicUsize::new(0)),
            cap,
        }
    }

    /// Takes a slot, or `None` when all are in use.
    pub fn acquire(&self) -> Option<Slot> {
        self.live
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < self.cap).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot(Arc::clone(&self.live)))
    }
}

/// Runs operations of one connection, holding each subscription to the per-connection and
/// global caps.
#[derive(Clone)]
struct LimitedExecutor {
    schema: GatewaySchema,
    connection: SubscriptionCounter,
    global: SubscriptionCounter,
}

impl Executor for LimitedExecutor {
    async fn execute(&self, request: GqlRequest) -> GqlResponse {
        self.schema.execute(request).await
    }

    fn execute_stream(
        &self,
        request: GqlRequest,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, GqlResponse> {
        let slots = self
            .connection
            .acquire()
            .and_then(|own| Some((own, self.global.acquire()?)));
        let Some(slots) = slots else {
            let mut error = ServerError::new(
                "Too many live subscriptions; complete some before starting another",
                None,
            );
            ensure_code(&mut error, Code::LimitExceeded);
            return stream::once(async move { GqlResponse::from_errors(vec![error]) }).boxed();
        };
        self.schema
            .execute_stream_with_session_data(request, session_data.unwrap_or_default())
            .map(move |mut response| {
                let _held = &slots;
                finish_errors(&mut response);
                response
            })
            .boxed()
    }
}

/// The caller of a WebSocket connection: the token from `connection_init`'s
/// `Authorization` (any case), else from the upgrade request's header.
fn caller_from_init(payload: &serde_json::Value, fallback: &Caller) -> Caller {
    let token = payload
        .as_object()
        .and_then(|fields| {
            fields
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case("authorization"))
        })
        .and_then(|(_, value)| value.as_str())
        .and_then(BearerToken::from_authorization);
    Caller {
        token: token.or_else(|| fallback.token.clone()),
        client_request_id: fallback.client_request_id.clone(),
    }
}

/// Upgrades a GET on `/graphql` to a GraphQL WebSocket.
pub async fn upgrade(state: AppState, request: Request) -> Response {
    let (mut parts, _body) = request.into_parts();
    let protocol = match GraphQLProtocol::from_request_parts(&mut parts, &()).await {
        Ok(protocol) => protocol,
        Err(_) => {
            return (
                StatusCode::BAD_REQUEST,
                "Sec-WebSocket-Protocol must be graphql-transport-ws or graphql-ws",
            )
                .into_response();
        }
    };
    let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    let fallback = caller_from(&parts.headers);
    let inner = Arc::clone(&state.inner);
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        // The request body limit applies to WebSocket messages too.
        .max_message_size(inner.config.max_body_bytes)
        .on_upgrade(move |socket| async move {
            let executor = LimitedExecutor {
                schema: inner.schema.clone(),
                connection: SubscriptionCounter::new(inner.config.max_subscriptions_per_connection),
                global: inner.subscriptions.clone(),
            };
            let backend = Arc::clone(&inner.backend);
            serve(
                socket,
                executor,
                protocol,
                inner.config.keepalive,
                move |payload| {
                    let caller = caller_from_init(&payload, &fallback);
                    let mut data = Data::default();
                    data.insert(Arc::new(OperationLoader::per_request(
                        Arc::clone(&backend),
                        caller.clone(),
                    )));
                    data.insert(Arc::new(FileLoader::per_request(backend, caller.clone())));
                    data.insert(caller);
                    data
                },
            )
            .await;
        })
}

/// Serves one connection; a side task sends a WebSocket ping every `keepalive` so idle
/// connections survive proxies and dead peers are noticed.
async fn serve(
    socket: WebSocket,
    executor: LimitedExecutor,
    protocol: GraphQLProtocol,
    keepalive: Duration,
    on_init: impl FnOnce(serde_json::Value) -> Data + Send + 'static,
) {
    let (mut socket_sink, socket_stream) = socket.split();
    let (tx, mut rx) = futures_channel::mpsc::channel::<Message>(64);
    let graphql = GraphQLWebSocket::new_with_pair(tx, socket_stream, executor, protocol)
        .on_connection_init(move |payload| async move { Ok(on_init(payload)) })
        .serve();
    let forward = async move {
        let mut ticker = tokio::time::interval(keepalive);
        ticker.tick().await;
        loop {
            let message = tokio::select! {
                next = rx.next() => match next {
                    Some(message) => message,
                    None => break,
                },
                _ = ticker.tick() => Message::Ping(Default::default()),
            };
            if socket_sink.send(message).await.is_err() {
                break;
            }
        }
        let _ = socket_sink.close().await;
    };
    tokio::join!(graphql, forward);
}
