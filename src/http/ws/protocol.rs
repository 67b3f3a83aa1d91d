//! The rules of `graphql-transport-ws` that async-graphql 7.2 does not enforce itself, checked
//! on each client message before it reaches the library:
//!
//! - a message that is not one of the protocol's closes the socket with 4400;
//! - `subscribe` before `connection_init` closes it with 4401;
//! - `subscribe` with the id of a live operation closes it with 4409.
//!
//! The library already closes with 4429 on a second `connection_init`. The legacy `graphql-ws`
//! protocol has no such codes: its messages pass as the library expects them (it answers bad
//! ones with 1002, and a repeated id replaces the older operation, as that protocol's server
//! did). For both, the connection notes when `connection_init` arrived (see
//! [`Checker::initialised`]), for the 4408 time-out.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use async_graphql::http::{ClientMessage, WebSocketProtocols as Protocols};
use axum::extract::ws::Message;
use tokio::sync::watch;

/// Close codes and reasons of the `graphql-transport-ws` protocol.
pub(crate) mod close {
    pub(crate) const MALFORMED: u16 = 4400;
    pub(crate) const UNAUTHORIZED: u16 = 4401;
    pub(crate) const INIT_TIMEOUT: u16 = 4408;
    pub(crate) const DUPLICATE_ID: u16 = 4409;
}

/// Longest operation id quoted in a close reason (a reason must fit in 123 bytes).
const MAX_QUOTED_ID: usize = 64;

/// What to do with one incoming WebSocket message.
pub(crate) enum Action {
    /// Hand it to the protocol library (boxed: a request is large, a skip is not).
    Pass(Box<serde_json::Result<ClientMessage>>),
    /// Not a GraphQL message (ping, pong, a client's close frame): nothing to do.
    Skip,
    /// Close the connection with this code and reason.
    Close(u16, String),
}

/// The ids of the connection's live operations.
type Ids = Arc<Mutex<HashSet<String>>>;

/// Holds an operation id while its operation lives; the id is free again once every holder
/// (the request's data and the running stream) has dropped it.
pub(crate) struct ActiveId {
    ids: Ids,
    id: String,
}

impl Drop for ActiveId {
    fn drop(&mut self) {
        self.ids
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.id);
    }
}

/// Checks the messages of one connection.
pub(crate) struct Checker {
    protocol: Protocols,
    initialised: watch::Sender<bool>,
    active: Ids,
}

impl Checker {
    /// A checker for a connection speaking `protocol`.
    pub(crate) fn new(protocol: Protocols) -> Self {
        Checker {
            protocol,
            initialised: watch::Sender::new(false),
            active: Ids::default(),
        }
    }

    /// Becomes true when `connection_init` arrives.
    pub(crate) fn initialised(&self) -> watch::Receiver<bool> {
        self.initialised.subscribe()
    }

    /// Judges one message.
    pub(crate) fn check(&mut self, message: &Message) -> Action {
        let bytes: &[u8] = match message {
            Message::Text(text) => text.as_bytes(),
            Message::Binary(bytes) => bytes,
            _ => return Action::Skip,
        };
        let strict = self.protocol == Protocols::GraphQLWS;
        let parsed = match ClientMessage::from_bytes(bytes) {
            Ok(parsed) => parsed,
            Err(_) if strict => {
                return Action::Close(close::MALFORMED, "Invalid message received".into());
            }
            Err(error) => return Action::Pass(Box::new(Err(error))),
        };
        match parsed {
            ClientMessage::ConnectionInit { .. } => {
                self.initialised.send_replace(true);
            }
            ClientMessage::Start { id, payload } if strict => {
                if !*self.initialised.borrow() {
                    return Action::Close(close::UNAUTHORIZED, "Unauthorized".into());
                }
                let Some(held) = self.claim(&id) else {
                    return Action::Close(
                        close::DUPLICATE_ID,
                        format!("Subscriber for {} already exists", quoted(&id)),
                    );
                };
                let payload = payload.data(Arc::new(held));
                return Action::Pass(Box::new(Ok(ClientMessage::Start { id, payload })));
            }
            _ => {}
        }
        Action::Pass(Box::new(Ok(parsed)))
    }

    fn claim(&self, id: &str) -> Option<ActiveId> {
        let mut ids = self.active.lock().unwrap_or_else(|p| p.into_inner());
        ids.insert(id.to_owned()).then(|| ActiveId {
            ids: Arc::clone(&self.active),
            id: id.to_owned(),
        })
    }
}

/// `id`, shortened on a character boundary to fit a close reason.
fn quoted(id: &str) -> &str {
    let mut end = id.len().min(MAX_QUOTED_ID);
    while !id.is_char_boundary(end) {
        end -= 1;
    }
    &id[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quoted_id_fits_a_close_reason_and_keeps_whole_characters() {
        let long = "é".repeat(100);
        let quoted = quoted(&long);
        assert_eq!(quoted.len(), MAX_QUOTED_ID);
        assert!(quoted.chars().all(|c| c == 'é'));
        let reason = format!("Subscriber for {quoted} already exists");
        assert!(reason.len() <= 123, "{}", reason.len());
        assert_eq!(super::quoted("short"), "short");
    }
}
