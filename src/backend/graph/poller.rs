//! Live updates in Graph mode: Graph has no push for these operations, so the gateway polls.
//! Subscribers watching the same operation with the same token share one poller (one upstream
//! GET per interval however many watch); it stops when the last one leaves, or once the
//! operation reaches a final status or disappears.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::Method;
use sha2::{Digest, Sha256};
use tokio::sync::watch;
use tokio_stream::wrappers::WatchStream;

use super::client::{GraphClient, Kind};
use super::{GraphBackend, select, wire};
use crate::backend::{Caller, RequestBudget, Watch};
use crate::domain::{Fields, Operation, OperationKey};
use crate::error::{Code, Error};

/// What a poller has seen: nothing yet, then each state (`None` once deleted) or the error
/// that ended it.
type State = Option<Result<Option<Operation>, Error>>;

/// Identifies a shared poller: a token fingerprint (never the token itself) and the key.
type HubKey = ([u8; 32], OperationKey);

/// The live pollers.
pub struct Pollers {
    client: Arc<GraphClient>,
    interval: Duration,
    hubs: Arc<Mutex<HashMap<HubKey, Weak<watch::Sender<State>>>>>,
}

impl Pollers {
    /// Pollers that fetch every `interval` (jittered).
    pub fn new(client: Arc<GraphClient>, interval: Duration) -> Self {
        Pollers {
            client,
            interval,
            hubs: Arc::default(),
        }
    }

    /// Subscribes `caller` to `key`, joining the poller of the same token and key if one runs.
    pub async fn watch(
        &self,
        backend: &GraphBackend,
        caller: &Caller,
        key: OperationKey,
    ) -> Result<Watch, Error> {
        let token = caller.token.as_ref().ok_or_else(|| {
            Error::Unauthenticated(
                "Send {\"Authorization\": \"Bearer <token>\"} in connection_init to subscribe"
                    .into(),
            )
        })?;
        let hub: HubKey = (Sha256::digest(token.expose().as_bytes()).into(), key);
        let receiver = {
            let mut hubs = self.hubs.lock().unwrap_or_else(|p| p.into_inner());
            hubs.retain(|_, sender| sender.strong_count() > 0);
            match hubs.get(&hub).and_then(Weak::upgrade) {
                Some(sender) => sender.subscribe(),
                None => {
                    let (sender, receiver) = watch::channel(None);
                    let sender = Arc::new(sender);
                    hubs.insert(hub, Arc::downgrade(&sender));
                    let url = backend.entity(key, &[("$select", select(Fields::ALL))]);
                    tokio::spawn(poll(
                        Poller {
                            client: Arc::clone(&self.client),
                            url,
                            // Shared by every subscriber, so no request's budget pays
                            // for it; the poll interval paces it instead.
                            caller: caller.with_budget(RequestBudget::unmetered()),
                            key,
                            interval: self.interval,
                            hubs: Arc::clone(&self.hubs),
                            hub,
                        },
                        sender,
                    ));
                    receiver
                }
            }
        };
        Ok(WatchStream::new(receiver)
            .filter_map(std::future::ready)
            .boxed())
    }
}

/// Consecutive transient failures (5xx, timeouts) a poller rides out before reporting one.
const MAX_TRANSIENT_FAILURES: u32 = 5;

type Hubs = Arc<Mutex<HashMap<HubKey, Weak<watch::Sender<State>>>>>;

/// What one poller needs.
struct Poller {
    client: Arc<GraphClient>,
    url: url::Url,
    caller: Caller,
    key: OperationKey,
    interval: Duration,
    hubs: Hubs,
    hub: HubKey,
}

impl Poller {
    /// Unregisters this poller, so the next subscriber starts a fresh one.
    fn unregister(&self, sender: &Arc<watch::Sender<State>>) {
        let mut hubs = self.hubs.lock().unwrap_or_else(|p| p.into_inner());
        let ours = hubs
            .get(&self.hub)
            .is_some_and(|registered| Weak::ptr_eq(registered, &Arc::downgrade(sender)));
        if ours {
            hubs.remove(&self.hub);
        }
    }

    /// Sleeps `delay`, waking early if every subscriber leaves; true when nobody watches any
    /// more. The check and the unregistering happen under the registry's lock, so nobody can
    /// join a poller that is about to stop.
    async fn wait(&self, sender: &Arc<watch::Sender<State>>, delay: Duration) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = sender.closed() => {}
        }
        let mut hubs = self.hubs.lock().unwrap_or_else(|p| p.into_inner());
        if sender.receiver_count() > 0 {
            return false;
        }
        hubs.remove(&self.hub);
        true
    }
}

/// Polls one operation until it is final, gone, failing for good, or nobody watches.
async fn poll(poller: Poller, sender: Arc<watch::Sender<State>>) {
    let key = poller.key;
    let mut seen = false;
    let mut delay = poller.interval;
    let mut failures = 0;
    tracing::debug!(operation = %key.id, "poller started");
    let _running = crate::telemetry::metrics::poller_running();
    loop {
        let fetched = poller
            .client
            .call(
                &poller.caller,
                Method::GET,
                poller.url.clone(),
                None,
                Kind::Read,
            )
            .await
            .and_then(|body| {
                body.map(|b| wire::operation(key.definition_file_id, &b, Fields::ALL))
                    .transpose()
            });
        let (state, stop) = match fetched {
            Ok(Some(op)) => {
                seen = true;
                let stop = op.operation_status.is_final();
                (Ok(Some(op)), stop)
            }
            Ok(None) if seen => (Ok(None), true),
            Ok(None) => (Err(key.not_found()), true),
            // Throttled, or a passing 5xx or timeout, after the client's own retries: slow
            // down instead of ending everyone's subscription.
            Err(e) if rides_out(&e, failures) => {
                failures += 1;
                delay = (delay * 2).min(Duration::from_secs(60));
                tracing::debug!(?delay, code = e.code().as_str(), "poller backing off");
                if poller.wait(&sender, delay).await {
                    break;
                }
                continue;
            }
            Err(e) => (Err(e), true),
        };
        failures = 0;
        delay = poller.interval;
        sender.send_if_modified(|current| {
            let changed = current.as_ref().is_none_or(|old| !same(old, &state));
            if changed {
                *current = Some(state);
            }
            changed
        });
        if stop {
            poller.unregister(&sender);
            break;
        }
        if poller.wait(&sender, jittered(delay)).await {
            break;
        }
    }
    tracing::debug!(operation = %key.id, "poller stopped");
}

/// Throttling never ends a subscription; other passing failures do after a few in a row.
fn rides_out(error: &Error, failures: u32) -> bool {
    match error.code() {
        Code::Throttled => true,
        Code::UpstreamError | Code::UpstreamTimeout => failures < MAX_TRANSIENT_FAILURES,
        _ => false,
    }
}

fn same(a: &Result<Option<Operation>, Error>, b: &Result<Option<Operation>, Error>) -> bool {
    matches!((a, b), (Ok(x), Ok(y)) if x == y)
}

fn jittered(interval: Duration) -> Duration {
    interval.mul_f64(0.8 + 0.4 * fastrand::f64())
}
