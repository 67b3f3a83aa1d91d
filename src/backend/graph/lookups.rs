//! The one way the Graph backend looks entities up by key, whatever the resource: a single key
//! is one plain GET (retried by the client's policy), two or more go through Graph `$batch`
//! (see [`batch`](super::batch)). Either way a key Graph says does not exist is left out of
//! the answer, and each other key gets its own outcome.

use std::collections::HashMap;
use std::hash::Hash;

use super::api::GraphApi;
use super::batch;
use super::client::GraphRequest;
use super::envelope::{Body, read};
use crate::backend::Caller;
use crate::error::Error;

/// Looks up `keys`: `url` addresses a key's entity, which Graph answers as `E`, and `map`
/// turns that into the value the caller wants.
pub(crate) async fn by_key<K, E, T>(
    api: &GraphApi,
    caller: &Caller,
    keys: &[K],
    url: impl Fn(&K) -> url::Url + Sync,
    map: impl Fn(&K, E) -> Result<T, Error> + Sync,
) -> HashMap<K, Result<T, Error>>
where
    K: Copy + Eq + Hash + Send + Sync,
    E: Body,
    T: Send,
{
    if let [key] = keys {
        tracing::debug!(keys = 1, upstream_calls = 1, "lookup as a plain GET");
        let answer = api
            .client()
            .call(caller, &GraphRequest::get(url(key)))
            .await;
        return match answer.map(|answer| answer.entity()) {
            Ok(Some(entity)) => [(*key, map(key, entity))].into_iter().collect(),
            Ok(None) => HashMap::new(),
            Err(e) => [(*key, Err(e))].into_iter().collect(),
        };
    }
    batch::get_many(api, caller, keys, url, |key, body| map(key, read(body)?)).await
}
