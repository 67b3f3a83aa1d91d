//! Automatic persisted queries, Apollo's protocol: a client may send only
//! `extensions.persistedQuery.sha256Hash`; on a miss it gets `PERSISTED_QUERY_NOT_FOUND` and
//! resends with the query, whose hash is verified before it is remembered.
//!
//! The cache is bounded both in entries and in bytes, so clients cannot grow it without limit.
//! Behind it, replicas may share a second tier in Redis ([`PersistedQueries::share_through`]).

use crate::telemetry::metrics::{self, Metrics};
use std::num::NonZeroUsize;
use std::sync::{Mutex, OnceLock};

use async_graphql::Value;
use lru::LruCache;
use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::shared_state::apq::SharedQueries;

/// Remembered queries by their SHA-256 hash (lowercase hex).
pub struct PersistedQueries {
    cache: Mutex<Cache>,
    max_bytes: usize,
    shared: OnceLock<SharedQueries>,
    metrics: Metrics,
}

struct Cache {
    entries: LruCache<String, String>,
    bytes: usize,
}

impl PersistedQueries {
    /// A cache of at most `max_entries` queries and `max_bytes` of query text.
    pub fn new(max_entries: usize, max_bytes: usize, metrics: Metrics) -> Self {
        PersistedQueries {
            metrics,
            cache: Mutex::new(Cache {
                entries: LruCache::new(
                    NonZeroUsize::new(max_entries.max(1)).expect("at least one"),
                ),
                bytes: 0,
            }),
            max_bytes,
            shared: OnceLock::new(),
        }
    }

    /// Adds the replicas' shared tier behind this cache (once; later calls are ignored).
    pub fn share_through(&self, shared: SharedQueries) {
        let _ = self.shared.set(shared);
    }

    /// [`resolve`](Self::resolve), with the shared tier: a local miss is looked up there, and
    /// a query registered here is registered there too. Without the tier, the same as `resolve`.
    pub async fn resolve_shared(&self, request: &mut async_graphql::Request) -> Result<(), Error> {
        let Some(shared) = self.shared.get() else {
            return self.resolve(request);
        };
        let hash = match request.extensions.get("persistedQuery") {
            Some(Value::Object(fields)) => match fields.get("sha256Hash") {
                Some(Value::String(hash)) => Some(hash.to_ascii_lowercase()),
                _ => None,
            },
            _ => None,
        };
        let registering = !request.query.is_empty();
        match (self.resolve(request), hash) {
            (Err(Error::PersistedQueryNotFound), Some(hash)) => {
                let query = shared
                    .get(&hash)
                    .await
                    .ok_or(Error::PersistedQueryNotFound)?;
                self.remember(hash, query.clone());
                request.query = query;
                Ok(())
            }
            (Ok(()), Some(hash)) if registering => {
                shared.put(&hash, &request.query).await;
                Ok(())
            }
            (outcome, _) => outcome,
        }
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Resolves the persisted-query extension of `request`, if any: fills in the query from
    /// the cache, or verifies and remembers the query the client sent.
    pub fn resolve(&self, request: &mut async_graphql::Request) -> Result<(), Error> {
        let Some(extension) = request.extensions.remove("persistedQuery") else {
            return Ok(());
        };
        let Value::Object(fields) = extension else {
            return Err(Error::bad_input(
                "`extensions.persistedQuery` must be an object",
            ));
        };
        match fields.get("version") {
            Some(Value::Number(n)) if n.as_i64() == Some(1) => {}
            _ => {
                return Err(Error::bad_input(
                    "Only persisted query version 1 is supported",
                ));
            }
        }
        let hash = match fields.get("sha256Hash") {
            Some(Value::String(hash))
                if hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) =>
            {
                hash.to_ascii_lowercase()
            }
            _ => {
                return Err(Error::bad_input(
                    "`extensions.persistedQuery.sha256Hash` must be 64 hex digits",
                ));
            }
        };
        if request.query.is_empty() {
            let found = self.cache().entries.get(&hash).cloned();
            self.metrics
                .cache_lookup(metrics::Cache::Apq, found.is_some());
            request.query = found.ok_or(Error::PersistedQueryNotFound)?;
            return Ok(());
        }
        let actual = format!("{:x}", Sha256::digest(request.query.as_bytes()));
        if actual != hash {
            return Err(Error::bad_input("provided sha does not match query"));
        }
        self.remember(hash, request.query.clone());
        Ok(())
    }

    fn remember(&self, hash: String, query: String) {
        if query.len() > self.max_bytes {
            return;
        }
        let mut cache = self.cache();
        if let Some(old) = cache.entries.pop(&hash) {
            cache.bytes -= old.len();
        }
        while cache.entries.len() >= cache.entries.cap().get()
            || cache.bytes + query.len() > self.max_bytes
        {
            match cache.entries.pop_lru() {
                Some((_, dropped)) => cache.bytes -= dropped.len(),
                None => break,
            }
        }
        cache.bytes += query.len();
        cache.entries.put(hash, query);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_pq(query: &str, hash: &str) -> async_graphql::Request {
        let mut request = async_graphql::Request::new(query);
        let mut ext = async_graphql::indexmap::IndexMap::new();
        ext.insert(async_graphql::Name::new("version"), Value::from(1));
        ext.insert(async_graphql::Name::new("sha256Hash"), Value::from(hash));
        request
            .extensions
            .insert("persistedQuery".into(), Value::Object(ext));
        request
    }

    #[test]
    fn miss_then_register_then_hit() {
        let apq = PersistedQueries::new(10, 1 << 20, Metrics::new());
        let query = "{ __typename }";
        let hash = format!("{:x}", Sha256::digest(query));
        let err = apq.resolve(&mut with_pq("", &hash)).expect_err("miss");
        assert!(matches!(err, Error::PersistedQueryNotFound));
        apq.resolve(&mut with_pq(query, &hash)).expect("register");
        let mut hit = with_pq("", &hash.to_uppercase());
        apq.resolve(&mut hit).expect("hit");
        assert_eq!(hit.query, query);
    }

    #[test]
    fn a_wrong_hash_is_refused_and_not_remembered() {
        let apq = PersistedQueries::new(10, 1 << 20, Metrics::new());
        let wrong = "0".repeat(64);
        let err = apq
            .resolve(&mut with_pq("{ __typename }", &wrong))
            .expect_err("mismatch");
        assert_eq!(err.code(), crate::error::Code::BadUserInput);
        assert!(matches!(
            apq.resolve(&mut with_pq("", &wrong)),
            Err(Error::PersistedQueryNotFound)
        ));
    }

    #[test]
    fn the_cache_stays_within_its_byte_budget() {
        let apq = PersistedQueries::new(100, 64, Metrics::new());
        for i in 0..20 {
            let query = format!("{{ a{i}: __typename }}");
            let hash = format!("{:x}", Sha256::digest(&query));
            apq.resolve(&mut with_pq(&query, &hash)).expect("register");
        }
        let cache = apq.cache();
        assert!(cache.bytes <= 64, "{}", cache.bytes);
        assert!(cache.entries.len() < 20);
    }
}
