//! GraphQL over WebSocket on `/graphql`: `graphql-transport-ws` (spoken by the `graphql-ws` npm
//! package) and the older `subscriptions-transport-ws` protocol (subprotocol name `graphql-ws`),
//! with the caller's token taken from `connection_init`. A browser page may upgrade only from
//! an origin `--cors-origins` allows (see [`super::cors`]).
//!
//! What one client can hold is bounded: open WebSockets in total and per client address (503
//! with `Retry-After` at the upgrade), live subscriptions per connection and in total, the time
//! to `connection_init`, and the bytes waiting for a client that does not read (see
//! [`connection`]). Each operation gets its own request data (see [`executor`]).

mod connection;
mod executor;
mod protocol;
mod slots;

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_graphql::http::{ALL_WEBSOCKET_PROTOCOLS, WebSocketProtocols};
use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, FromRequestParts, Request};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::handlers::caller_from;
use super::negotiation::ResponseMedia;
use super::response::Rejection;
use super::{AppState, Inner};
use crate::backend::{BearerToken, Caller};
use crate::error::Error;
use crate::refusal::Refusal;
use executor::ConnectionExecutor;
use slots::{AddressSlot, AddressSlots, Slot};

pub(crate) use slots::Slots;

/// Limits of the WebSocket endpoint.
#[derive(Debug, Clone)]
pub struct WebSocketLimits {
    /// Time a client has to send `connection_init` before the socket is closed with 4408.
    pub init_timeout: Duration,
    /// Most open WebSockets in total; more get 503 with `Retry-After`.
    pub max_total: usize,
    /// Most open WebSockets from one client IP address; more get 503 with `Retry-After`.
    pub max_per_address: usize,
    /// Most bytes waiting to be sent to one client before the connection pauses for it.
    pub max_queued_bytes: usize,
    /// Time a client may leave more than `max_queued_bytes` unread before it is disconnected.
    pub stall_timeout: Duration,
}

impl WebSocketLimits {
    /// The WebSocket limits among the HTTP layer's `flags`.
    pub fn new(flags: &crate::config::HttpFlags) -> Self {
        WebSocketLimits {
            init_timeout: flags.ws_init_timeout,
            max_total: flags.max_websockets,
            max_per_address: flags.max_websockets_per_address,
            max_queued_bytes: flags.ws_max_queued_bytes,
            stall_timeout: flags.ws_stall_timeout,
        }
    }
}

/// The open WebSockets, counted in total and per client address.
pub(crate) struct OpenWebSockets {
    total: Slots,
    per_address: AddressSlots,
}

/// What an open WebSocket holds until it closes.
struct Admitted {
    _total: Slot,
    _address: Option<AddressSlot>,
}

impl OpenWebSockets {
    /// Counters for `limits`.
    pub(crate) fn new(limits: &WebSocketLimits) -> Self {
        OpenWebSockets {
            total: Slots::new(limits.max_total),
            per_address: AddressSlots::new(limits.max_per_address),
        }
    }

    /// Admits one more WebSocket from `peer` (unknown when the server does not say), or says
    /// which cap is full.
    fn admit(&self, peer: Option<IpAddr>) -> Result<Admitted, Refusal> {
        let total = self.total.acquire().ok_or(Refusal::Websockets {
            limit: self.total.cap(),
        })?;
        let address = match peer {
            None => None,
            Some(peer) => Some(self.per_address.acquire(peer).ok_or(
                Refusal::WebsocketsPerAddress {
                    limit: self.per_address.cap(),
                },
            )?),
        };
        Ok(Admitted {
            _total: total,
            _address: address,
        })
    }
}

impl AppState {
    /// WebSocket connections open now.
    pub fn open_websockets(&self) -> usize {
        self.inner.websockets.total.live()
    }

    /// Subscriptions (and WebSocket operations) running now, over all connections.
    pub fn live_subscriptions(&self) -> usize {
        self.inner.subscriptions.live()
    }
}

/// Whether a GET asks to become a WebSocket.
pub(crate) fn is_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// The first GraphQL protocol the client offers, as axum picks it for the answer.
fn protocol_of(headers: &HeaderMap) -> Option<WebSocketProtocols> {
    headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)?
        .to_str()
        .ok()?
        .split(',')
        .find_map(|offered| offered.trim().parse().ok())
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
        ..fallback.clone()
    }
}

/// Upgrades a GET on `/graphql` to a GraphQL WebSocket, if the caps allow another.
pub(crate) async fn upgrade(state: AppState, request: Request) -> Response {
    let (mut parts, _body) = request.into_parts();
    let fallback = caller_from(&parts.headers);
    // Browsers do not preflight WebSockets: without this, any site a developer visits could
    // run operations here with the developer's token or the store's data.
    if !state.inner.config.origins.allows_websocket(&parts.headers) {
        let error = Error::Forbidden(
            "This page's origin may not open a WebSocket to this gateway; allow it with \
             --cors-origins"
                .to_owned(),
        );
        return Rejection::new(StatusCode::FORBIDDEN, error, ResponseMedia::Json, &fallback)
            .into_response();
    }
    let Some(protocol) = protocol_of(&parts.headers) else {
        return (
            StatusCode::BAD_REQUEST,
            "Sec-WebSocket-Protocol must be graphql-transport-ws or graphql-ws",
        )
            .into_response();
    };
    let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    // Absent when the server was not built with connect info (as in `oneshot` tests): then
    // only the total cap applies.
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip());
    let inner = Arc::clone(&state.inner);
    let admitted = match inner.websockets.admit(peer) {
        Ok(admitted) => admitted,
        Err(refusal) => {
            let media = ResponseMedia::Json;
            return Rejection::over_limit(&inner.metrics, refusal, media, &fallback)
                .into_response();
        }
    };
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        // The request body limit applies to WebSocket messages too.
        .max_message_size(inner.config.max_body_bytes)
        .on_upgrade(move |socket| async move {
            let _admitted = admitted;
            run(socket, &inner, protocol, fallback).await;
        })
}

/// Serves an upgraded connection with the gateway's schema, backend and limits.
async fn run(socket: WebSocket, inner: &Inner, protocol: WebSocketProtocols, fallback: Caller) {
    let caller = Arc::new(OnceLock::new());
    let executor = ConnectionExecutor {
        schema: inner.schema.clone(),
        backend: Arc::clone(&inner.backend),
        budget: inner.config.graph_request_budget,
        caller: Arc::clone(&caller),
        fallback: fallback.clone(),
        connection: Slots::new(inner.config.max_subscriptions_per_connection),
        global: inner.subscriptions.clone(),
        metrics: inner.metrics.clone(),
    };
    let limits = &inner.config.websocket;
    let settings = connection::Settings {
        protocol,
        keepalive: inner.config.keepalive,
        init_timeout: limits.init_timeout,
        max_queued_bytes: limits.max_queued_bytes,
        stall_timeout: limits.stall_timeout,
        metrics: inner.metrics.clone(),
    };
    connection::serve(socket, executor, settings, move |payload| {
        let _ = caller.set(caller_from_init(&payload, &fallback));
    })
    .await;
}
