//! Many lookups, few round trips: a lookup batch goes to Graph as Graph `$batch` calls of at
//! most 20 sub-requests, a few in parallel. Each sub-response is read on its own, exactly like
//! a plain response; throttled keys alone are retried in a later Graph `$batch` after their
//! `Retry-After`.
//!
//! Each sub-request (and each retried one) is paid from the caller's budget and takes a slot
//! from the tenant's budget before its Graph `$batch` is sent, as Intune counts it; keys the
//! budgets cannot pay for are never sent. A throttled sub-request pauses the tenant.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

use futures_util::{StreamExt, stream};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::Value;

use super::api::GraphApi;
use super::client::{self, GraphClient, GraphRequest};
use super::envelope::{
    BatchRequest, BatchResponse, SubRequest, SubRequestHeaders, SubResponse, to_value,
};
use super::pacing;
use super::reply::{Reply, ReplyOutcome};
use crate::backend::Caller;
use crate::error::{Code, Error};

/// Graph's cap on sub-requests per Graph `$batch`.
const MAX_SUB_REQUESTS: usize = 20;
/// Most Graph `$batch` calls of one lookup batch in flight at once: five, so a query of 100
/// lookups (five full `$batch` calls) costs one round trip; the request's Graph budget, not
/// this, bounds how much one request can spend.
const MAX_GRAPH_BATCHES_IN_FLIGHT: usize = 5;

/// What each key's outcome is, once its lookups are done.
type Outcomes<K, T> = HashMap<K, Result<T, Error>>;

/// Looks up `keys` (a lookup batch of two or more) through Graph `$batch`: `url` addresses a key's entity, `read`
/// turns its body into a value. A key absent from the answer does not exist.
pub(crate) async fn get_many<K, T>(
    api: &GraphApi,
    caller: &Caller,
    keys: &[K],
    url: impl Fn(&K) -> url::Url + Sync,
    read: impl Fn(&K, &Value) -> Result<T, Error> + Sync,
) -> Outcomes<K, T>
where
    K: Copy + Eq + Hash + Send + Sync,
    T: Send,
{
    let mut results = Outcomes::new();
    let headers = match GraphClient::headers(caller) {
        Ok(headers) => headers,
        Err(e) => return keys.iter().map(|k| (*k, Err(e.clone()))).collect(),
    };
    let deadline = Instant::now() + api.client().timeout();
    // Each key still to send, with the answer that stands if it cannot be sent (again).
    let mut pending: Vec<(K, Option<Error>)> = keys.iter().map(|k| (*k, None)).collect();
    let mut attempt = 0;
    loop {
        let granted = caller.budget.spend_up_to(pending.len());
        for (key, last_answer) in pending.split_off(granted) {
            let error =
                last_answer.unwrap_or_else(|| caller.budget.exhausted(api.client().figures()));
            results.insert(key, Err(error));
        }
        if pending.is_empty() {
            return results;
        }
        let remaining = deadline.saturating_duration_since(Instant::now());
        let keys: Vec<K> = pending.iter().map(|(key, _)| *key).collect();
        let round = Round {
            api,
            caller,
            headers: &headers,
            url: &url,
            read: &read,
            timeout: remaining,
        };
        let (retry, wait) = round.send_all(&keys, attempt, &mut results).await;
        if retry.is_empty() {
            return results;
        }
        let throttled = retry.iter().any(|(_, e)| e.code() == Code::Throttled);
        let wait = wait.unwrap_or_else(|| match throttled {
            true => pacing::throttle_backoff(attempt),
            false => client::backoff(attempt),
        });
        if throttled {
            api.client().pause_tenant(caller, wait).await;
        }
        if attempt >= client::MAX_RETRIES || Instant::now() + wait >= deadline {
            results.extend(retry.into_iter().map(|(key, error)| (key, Err(error))));
            return results;
        }
        tracing::debug!(keys = retry.len(), ?wait, "retrying throttled sub-requests");
        api.client()
            .figures()
            .graph_retries(retry.len().div_ceil(MAX_SUB_REQUESTS));
        tokio::time::sleep(wait).await;
        attempt += 1;
        pending = retry
            .into_iter()
            .map(|(key, error)| (key, Some(error)))
            .collect();
    }
}

/// One round of Graph `$batch` calls: everything one needs but its keys.
struct Round<'a, K, T> {
    api: &'a GraphApi,
    caller: &'a Caller,
    headers: &'a reqwest::header::HeaderMap,
    url: &'a (dyn Fn(&K) -> url::Url + Sync),
    read: &'a (dyn Fn(&K, &Value) -> Result<T, Error> + Sync),
    timeout: Duration,
}

impl<K: Copy + Eq + Hash + Send + Sync, T: Send> Round<'_, K, T> {
    /// Sends `keys` in Graph `$batch` calls, records final outcomes in `results`, and returns the keys
    /// worth another try with the longest wait Graph asked for.
    async fn send_all(
        &self,
        keys: &[K],
        attempt: u32,
        results: &mut Outcomes<K, T>,
    ) -> (Vec<(K, Error)>, Option<Duration>) {
        let graph_batches: Vec<&[K]> = keys.chunks(MAX_SUB_REQUESTS).collect();
        tracing::debug!(
            keys = keys.len(),
            upstream_calls = graph_batches.len(),
            attempt,
            "lookups batched into $batch calls"
        );
        // A few Graph `$batch` calls at a time: enough to answer a big page quickly, not so many that one
        // request spends the tenant's whole Intune budget at once.
        let calls: Vec<_> = graph_batches
            .iter()
            .map(|chunk| self.send(chunk, attempt))
            .collect();
        let outcomes: Vec<_> = stream::iter(calls)
            .buffer_unordered(MAX_GRAPH_BATCHES_IN_FLIGHT)
            .collect()
            .await;
        let mut retry = Vec::new();
        let mut wait: Option<Duration> = None;
        for (key, outcome) in outcomes.into_iter().flatten() {
            match outcome {
                ReplyOutcome::Success(Some(body)) => {
                    results.insert(key, (self.read)(&key, &body));
                }
                ReplyOutcome::Success(None) => {}
                ReplyOutcome::Failure(error) => {
                    results.insert(key, Err(error));
                }
                ReplyOutcome::Retry(after, error) => {
                    wait = wait.max(after);
                    retry.push((key, error));
                }
            }
        }
        (retry, wait)
    }

    /// Sends one Graph `$batch` and reads each key's sub-response.
    async fn send(&self, chunk: &[K], attempt: u32) -> Vec<(K, ReplyOutcome)> {
        let client = self.api.client();
        let deadline = Instant::now() + self.timeout;
        let admitted = client
            .admit(self.caller, false, chunk.len(), deadline)
            .await;
        let reply = match admitted.and_then(|()| self.body(chunk)) {
            Ok(body) => {
                self.api.client().figures().graph_batch(chunk.len());
                let request = GraphRequest::post(self.api.batch(), Some(body));
                let headers = pacing::retry_headers(self.headers, attempt);
                let timeout = deadline.saturating_duration_since(Instant::now());
                client
                    .send_once(&request, headers, timeout, self.caller)
                    .await
            }
            Err(error) => Err(error),
        };
        let mut reply = match reply {
            Ok(reply) => reply,
            Err(error) => {
                return chunk
                    .iter()
                    .map(|k| (*k, ReplyOutcome::Failure(error.clone())))
                    .collect();
            }
        };
        if reply.status != StatusCode::OK {
            // The Graph `$batch` itself failed (malformed, throttled, down): every key it carried shares
            // that outcome, retried or failed like the plain GETs it carries.
            return chunk
                .iter()
                .map(|k| {
                    (
                        *k,
                        share(ReplyOutcome::of(&mut reply, &Method::GET, self.caller)),
                    )
                })
                .collect();
        }
        self.outcome_of_each(chunk, &reply)
    }

    /// The Graph `$batch` body for `chunk`: sub-request `i + 1` reads key `i`.
    fn body(&self, chunk: &[K]) -> Result<Value, Error> {
        let client = self.api.client();
        let requests = chunk
            .iter()
            .enumerate()
            .map(|(i, key)| SubRequest {
                id: (i + 1).to_string(),
                method: "GET",
                url: client.relative(&(self.url)(key)),
                headers: SubRequestHeaders {
                    client_request_id: &self.caller.client_request_id,
                    accept: "application/json",
                },
            })
            .collect();
        to_value(BatchRequest { requests })
    }

    /// Each key's outcome from its own sub-response of a successful Graph `$batch` answer.
    fn outcome_of_each(&self, chunk: &[K], reply: &Reply) -> Vec<(K, ReplyOutcome)> {
        let answer = reply
            .body
            .as_ref()
            .and_then(|body| BatchResponse::deserialize(body).ok());
        let mut by_id: HashMap<String, SubResponse> = answer
            .map(|a| a.responses.into_iter().map(|r| (r.id.clone(), r)).collect())
            .unwrap_or_default();
        chunk
            .iter()
            .enumerate()
            .map(|(i, key)| {
                let outcome = match by_id.remove(&(i + 1).to_string()) {
                    Some(response) => {
                        let route =
                            client::route_name(&self.api.client().relative(&(self.url)(key)));
                        let mut reply = sub_reply(response, format!("GET {route} (in $batch)"));
                        if reply.status == StatusCode::TOO_MANY_REQUESTS {
                            self.api
                                .client()
                                .figures()
                                .graph_throttled(reply.retry_after);
                        }
                        ReplyOutcome::of(&mut reply, &Method::GET, self.caller)
                    }
                    None => ReplyOutcome::Failure(Error::upstream(
                        Code::UpstreamError,
                        "Microsoft Graph's $batch answer left out this lookup",
                    )),
                };
                (*key, outcome)
            })
            .collect()
    }
}

/// An outcome shared by every key of a failed Graph `$batch`.
fn share(outcome: ReplyOutcome) -> ReplyOutcome {
    match outcome {
        ReplyOutcome::Success(_) => ReplyOutcome::Failure(Error::upstream(
            Code::UpstreamError,
            "Microsoft Graph's $batch answer had no responses",
        )),
        other => other,
    }
}

/// A sub-response read like a plain HTTP reply.
fn sub_reply(response: SubResponse, route: String) -> Reply {
    Reply {
        // A status HTTP cannot have is Graph failing, as a 502 would be.
        status: StatusCode::from_u16(response.status).unwrap_or(StatusCode::BAD_GATEWAY),
        request_id: response.header("request-id"),
        retry_after: response
            .header("retry-after")
            .as_deref()
            .and_then(client::parse_retry_after),
        unreadable: response.body.as_ref().is_some_and(|b| !b.is_object()),
        location: response.header("location"),
        route,
        shaped_by_user: false,
        body: response.body,
    }
}
