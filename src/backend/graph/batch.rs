//! Many lookups, few round trips: keys go to Graph as JSON `$batch` requests of at most 20,
//! sent in parallel. Each sub-response is judged on its own, exactly like a plain response;
//! throttled keys alone are retried in a later batch after their `Retry-After`.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

use futures_util::{StreamExt, stream};
use reqwest::Method;
use serde_json::{Value, json};

use super::GraphBackend;
use super::client::{self, GraphClient, Kind, Reply, Verdict};
use crate::backend::Caller;
use crate::error::{Code, Error};

/// Graph's cap on sub-requests per batch.
pub const MAX_BATCH: usize = 20;
/// Most `$batch` calls of one lookup in flight at once.
const MAX_PARALLEL_BATCHES: usize = 4;

/// Looks up `keys` (two or more) through `$batch`: `url` addresses a key's entity, `read`
/// turns its body into a value. A key absent from the answer does not exist.
pub async fn get_many<K, T>(
    backend: &GraphBackend,
    caller: &Caller,
    keys: &[K],
    url: impl Fn(&K) -> url::Url,
    read: impl Fn(&K, &Value) -> Result<T, Error>,
) -> HashMap<K, Result<T, Error>>
where
    K: Copy + Eq + Hash,
{
    let mut results = HashMap::new();
    let headers = match GraphClient::headers(caller) {
        Ok(headers) => headers,
        Err(e) => return keys.iter().map(|k| (*k, Err(e.clone()))).collect(),
    };
    let deadline = Instant::now() + backend.client.timeout();
    let mut pending = keys.to_vec();
    let mut attempt = 0;
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let batches: Vec<&[K]> = pending.chunks(MAX_BATCH).collect();
        tracing::debug!(
            keys = pending.len(),
            upstream_calls = batches.len(),
            attempt,
            "lookups batched into $batch calls"
        );
        // A few batches at a time: enough to answer a big page quickly, not so many that one
        // request spends the tenant's whole Intune budget at once.
        let calls: Vec<_> = batches
            .iter()
            .map(|chunk| {
                let urls: Vec<url::Url> = chunk.iter().map(&url).collect();
                send(backend, caller, &headers, chunk, urls, remaining)
            })
            .collect();
        let outcomes: Vec<_> = stream::iter(calls)
            .buffer_unordered(MAX_PARALLEL_BATCHES)
            .collect()
            .await;
        let mut retry = Vec::new();
        let mut wait: Option<Duration> = None;
        for (key, verdict) in outcomes.into_iter().flatten() {
            match verdict {
                Verdict::Done(Some(body)) => {
                    results.insert(key, read(&key, &body));
                }
                Verdict::Done(None) => {}
                Verdict::Fail(error) => {
                    results.insert(key, Err(error));
                }
                Verdict::Retry(after, error) => {
                    wait = wait.max(after);
                    retry.push((key, error));
                }
            }
        }
        if retry.is_empty() {
            return results;
        }
        let wait = wait.unwrap_or_else(|| client::backoff(attempt));
        if attempt >= client::MAX_RETRIES || Instant::now() + wait >= deadline {
            results.extend(retry.into_iter().map(|(key, error)| (key, Err(error))));
            return results;
        }
        tracing::debug!(keys = retry.len(), ?wait, "retrying throttled sub-requests");
        tokio::time::sleep(wait).await;
        attempt += 1;
        pending = retry.into_iter().map(|(key, _)| key).collect();
    }
}

/// Sends one batch (a GET of each URL) and judges each key's sub-response.
async fn send<K: Copy>(
    backend: &GraphBackend,
    caller: &Caller,
    headers: &reqwest::header::HeaderMap,
    chunk: &[K],
    urls: Vec<url::Url>,
    timeout: Duration,
) -> Vec<(K, Verdict)> {
    let client = &backend.client;
    let requests: Vec<Value> = urls
        .iter()
        .enumerate()
        .map(|(i, url)| {
            json!({
                "id": (i + 1).to_string(),
                "method": "GET",
                "url": client.relative(url),
                "headers": { "client-request-id": caller.client_request_id, "accept": "application/json" },
            })
        })
        .collect();
    let url = client.url(&["$batch"], &[]);
    let body = json!({ "requests": requests });
    let reply = client
        .send_once(
            &Method::POST,
            &url,
            headers.clone(),
            Some(&body),
            timeout,
            caller,
        )
        .await;
    let reply = match reply {
        Ok(reply) => reply,
        Err(error) => {
            return chunk
                .iter()
                .map(|k| (*k, Verdict::Fail(error.clone())))
                .collect();
        }
    };
    if reply.status != 200 {
        // The batch itself failed (malformed, throttled, down): every key it carried shares
        // that outcome, retried or failed like a plain read.
        return chunk
            .iter()
            .map(|k| (*k, share(client::judge(&reply, Kind::Read, caller))))
            .collect();
    }
    let mut by_id: HashMap<String, &Value> = HashMap::new();
    if let Some(responses) = reply.body.as_ref().and_then(|b| b["responses"].as_array()) {
        for response in responses {
            if let Some(id) = response["id"].as_str() {
                by_id.insert(id.to_owned(), response);
            }
        }
    }
    chunk
        .iter()
        .enumerate()
        .map(|(i, key)| {
            let verdict = match by_id.get(&(i + 1).to_string()) {
                Some(response) => client::judge(&sub_reply(response), Kind::Read, caller),
                None => Verdict::Fail(Error::upstream(
                    Code::UpstreamError,
                    "Microsoft Graph's $batch answer left out this lookup",
                )),
            };
            (*key, verdict)
        })
        .collect()
}

/// A verdict shared by every key of a failed batch.
fn share(verdict: Verdict) -> Verdict {
    match verdict {
        Verdict::Done(_) => Verdict::Fail(Error::upstream(
            Code::UpstreamError,
            "Microsoft Graph's $batch answer had no responses",
        )),
        other => other,
    }
}

/// A sub-response read like a plain HTTP reply.
fn sub_reply(response: &Value) -> Reply {
    let header = |name: &str| {
        response["headers"].as_object().and_then(|headers| {
            headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .and_then(|(_, v)| match v {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
        })
    };
    let body = match &response["body"] {
        Value::Null => None,
        body => Some(body.clone()),
    };
    Reply {
        status: response["status"]
            .as_u64()
            .and_then(|s| u16::try_from(s).ok())
            .unwrap_or(502),
        request_id: header("request-id"),
        retry_after: header("retry-after")
            .as_deref()
            .and_then(client::parse_retry_after),
        unreadable: body.as_ref().is_some_and(|b| !b.is_object()),
        body,
    }
}
