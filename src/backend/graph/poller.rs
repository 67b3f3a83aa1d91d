//! Live updates in Graph mode: Graph has no push for these resources, so the gateway polls.
//! Subscribers watching the same operation (or definition file) with the same token share one
//! poller (one upstream GET per interval however many watch); it stops when the last one
//! leaves, or once what it follows is settled or disappears.
//!
//! Pollers are the tenant budget's lowest priority (see
//! [`tenant_budget`](crate::backend::tenant_budget)): they take slots only from their share and
//! stand aside while a person's request waits. Throttled, a poller waits what Graph asked
//! (`Retry-After`, or the SDKs' 3 s x 2^n backoff); the tenant's pause holds every other
//! poller of the tenant as well.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use sha2::{Digest, Sha256};
use tokio::sync::watch;
use tokio_stream::wrappers::WatchStream;

use super::api::GraphApi;
use super::client::GraphRequest;
use super::expand::expand_url;
use super::files::wire::{FileEntity, file_with_operations};
use super::operations::wire::OperationEntity;
use super::pacing::throttle_backoff;
use crate::backend::{Caller, RequestBudget};
use crate::domain::files::{DefinitionFile, file_not_found};
use crate::domain::{Guid, Operation, OperationKey, OperationStatus};
use crate::error::{Code, Error};

/// What a poller follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Target {
    Operation(OperationKey),
    /// A definition file with its operations (`$expand`, one call for both).
    File(Guid),
}

/// One state of what a poller follows.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Snapshot {
    Operation(Operation),
    File(Box<DefinitionFile>, Vec<Operation>),
}

impl Snapshot {
    /// Nothing more will change without new work: a final operation status, or a file with a
    /// final status and no operation in progress.
    fn is_settled(&self) -> bool {
        match self {
            Snapshot::Operation(op) => op.operation_status.is_final(),
            Snapshot::File(file, ops) => {
                file.status.is_final()
                    && ops
                        .iter()
                        .all(|op| op.operation_status != OperationStatus::InProgress)
            }
        }
    }
}

impl Target {
    fn not_found(self) -> Error {
        match self {
            Target::Operation(key) => key.not_found(),
            Target::File(id) => file_not_found(id),
        }
    }

    /// The state now, read with `request` (see [`Target::url`]); `None` when it is gone, or
    /// when an expanded file no longer holds the operation.
    async fn read(
        self,
        api: &GraphApi,
        caller: &Caller,
        request: &GraphRequest,
    ) -> Result<Option<Snapshot>, Error> {
        let client = api.client();
        if let Target::Operation(key) = self
            && api.navigation_reads()
        {
            let answer = client.call::<OperationEntity>(caller, request).await?;
            return answer
                .entity()
                .map(|op| op.into_operation(key.definition_file_id))
                .transpose()
                .map(|op| op.map(Snapshot::Operation));
        }
        let Some(entity) = client.call::<FileEntity>(caller, request).await?.entity() else {
            return Ok(None);
        };
        let (file, ops) = file_with_operations(entity)?;
        Ok(match self {
            Target::Operation(key) => ops
                .into_iter()
                .find(|op| op.id == key.id)
                .map(Snapshot::Operation),
            Target::File(_) => Some(Snapshot::File(Box::new(file), ops)),
        })
    }

    /// What a poll reads: the file with `$expand` (an operation too, unless
    /// `--graph-navigation-reads`).
    fn url(self, api: &GraphApi) -> url::Url {
        match self {
            Target::Operation(key) if api.navigation_reads() => api.operation(key),
            Target::Operation(key) => expand_url(api, key.definition_file_id),
            Target::File(id) => expand_url(api, id),
        }
    }
}

/// A live view of what a poller follows: each state, `None` once it is gone.
pub(crate) type Snapshots = BoxStream<'static, Result<Option<Snapshot>, Error>>;

/// `snapshots` as the values `pick` takes from each state; a state it does not take is
/// skipped, the end (`None`) and errors pass as they are.
pub(crate) fn picked<T: Send + 'static>(
    snapshots: Snapshots,
    pick: impl Fn(Snapshot) -> Option<T> + Send + 'static,
) -> BoxStream<'static, Result<Option<T>, Error>> {
    snapshots
        .filter_map(move |state| {
            std::future::ready(match state {
                Ok(Some(snapshot)) => pick(snapshot).map(|value| Ok(Some(value))),
                Ok(None) => Some(Ok(None)),
                Err(e) => Some(Err(e)),
            })
        })
        .boxed()
}

/// What a poller has seen: nothing yet, then each state (`None` once deleted) or the error
/// that ended it.
type State = Option<Result<Option<Snapshot>, Error>>;

/// Identifies a shared poller: a token fingerprint (never the token itself) and the target.
type PollerKey = ([u8; 32], Target);

/// The running pollers by key; each entry lives while its poller's sender does.
type RunningPollers = Arc<Mutex<HashMap<PollerKey, Weak<watch::Sender<State>>>>>;

/// Starts pollers and lets subscribers of the same token and target share one.
pub(crate) struct PollerRegistry {
    api: Arc<GraphApi>,
    interval: Duration,
    running: RunningPollers,
}

impl PollerRegistry {
    /// A registry whose pollers fetch every `interval` (jittered).
    pub(crate) fn new(api: Arc<GraphApi>, interval: Duration) -> Self {
        PollerRegistry {
            api,
            interval,
            running: Arc::default(),
        }
    }

    /// Subscribes `caller` to `target`, joining the poller of the same token and target if
    /// one runs.
    pub(crate) async fn watch(&self, caller: &Caller, target: Target) -> Result<Snapshots, Error> {
        let token = caller.token.as_ref().ok_or_else(|| {
            Error::Unauthenticated(
                "Send {\"Authorization\": \"Bearer <token>\"} in connection_init to subscribe"
                    .into(),
            )
        })?;
        let key: PollerKey = (Sha256::digest(token.expose().as_bytes()).into(), target);
        let receiver = {
            let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
            running.retain(|_, sender| sender.strong_count() > 0);
            match running.get(&key).and_then(Weak::upgrade) {
                Some(sender) => sender.subscribe(),
                None => {
                    let (sender, receiver) = watch::channel(None);
                    let sender = Arc::new(sender);
                    running.insert(key, Arc::downgrade(&sender));
                    let url = target.url(&self.api);
                    tokio::spawn(poll(
                        PollTask {
                            api: Arc::clone(&self.api),
                            request: GraphRequest::get(url),
                            // Shared by every subscriber, so no request's budget pays
                            // for it; the interval and the tenant budget pace it.
                            caller: caller.with_budget(RequestBudget::poller()),
                            target,
                            interval: self.interval,
                            running: Arc::clone(&self.running),
                            key,
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

/// What one running poller needs.
struct PollTask {
    api: Arc<GraphApi>,
    request: GraphRequest,
    caller: Caller,
    target: Target,
    interval: Duration,
    running: RunningPollers,
    key: PollerKey,
}

impl PollTask {
    /// Unregisters this poller, so the next subscriber starts a fresh one.
    fn unregister(&self, sender: &Arc<watch::Sender<State>>) {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        let ours = running
            .get(&self.key)
            .is_some_and(|registered| Weak::ptr_eq(registered, &Arc::downgrade(sender)));
        if ours {
            running.remove(&self.key);
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
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        if sender.receiver_count() > 0 {
            return false;
        }
        running.remove(&self.key);
        true
    }
}

impl PollTask {
    /// One read of the target: `None` when Graph says it is gone.
    async fn fetch(&self, started_by: &str) -> Result<Option<Snapshot>, Error> {
        // A fresh id per poll, as Graph's SDKs send; the log ties it to the request that
        // started the poller.
        let caller = Caller {
            client_request_id: Guid::new_v4().to_string(),
            ..self.caller.clone()
        };
        tracing::debug!(client_request_id = %caller.client_request_id, %started_by, "poll");
        self.target.read(&self.api, &caller, &self.request).await
    }
}

/// Polls one target until it is settled, gone, failing for good, or nobody watches.
async fn poll(poller: PollTask, sender: Arc<watch::Sender<State>>) {
    let target = poller.target;
    let mut seen = false;
    let mut delay = poller.interval;
    let mut failures = 0;
    let started_by = poller.caller.client_request_id.clone();
    tracing::debug!(?target, %started_by, "poller started");
    let _running = poller.api.client().figures().poller_running();
    loop {
        let (state, stop) = match poller.fetch(&started_by).await {
            Ok(Some(snapshot)) => {
                seen = true;
                let stop = snapshot.is_settled();
                (Ok(Some(snapshot)), stop)
            }
            Ok(None) if seen => (Ok(None), true),
            Ok(None) => (Err(target.not_found()), true),
            // Throttled, or a passing 5xx or timeout, after the client's own retries: slow
            // down instead of ending everyone's subscription.
            Err(e) if rides_out(&e, failures) => {
                delay = backed_off(&e, delay, failures);
                failures += 1;
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
    tracing::debug!(?target, "poller stopped");
}

/// Throttling never ends a subscription; other passing failures do after a few in a row.
fn rides_out(error: &Error, failures: u32) -> bool {
    match error.code() {
        Code::Throttled => true,
        Code::UpstreamError | Code::UpstreamTimeout => failures < MAX_TRANSIENT_FAILURES,
        _ => false,
    }
}

/// The wait before the next poll after `error`: what a throttled answer asked for (never less
/// than the SDKs' backoff when it did not say), else twice the last delay, at most a minute.
fn backed_off(error: &Error, delay: Duration, failures: u32) -> Duration {
    match error {
        Error::Upstream {
            code: Code::Throttled,
            detail,
            ..
        } => match detail.retry_after {
            Some(wait) => wait.min(Duration::from_secs(3600)).max(delay),
            None => throttle_backoff(failures).max(delay),
        },
        _ => (delay * 2).min(Duration::from_secs(60)),
    }
}

fn same(a: &Result<Option<Snapshot>, Error>, b: &Result<Option<Snapshot>, Error>) -> bool {
    matches!((a, b), (Ok(x), Ok(y)) if x == y)
}

fn jittered(interval: Duration) -> Duration {
    interval.mul_f64(0.8 + 0.4 * fastrand::f64())
}
