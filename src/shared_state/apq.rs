//! The second tier of the persisted-query cache: a query registered on one replica is known
//! to all, so Apollo Client does not have to send the full text again each time its request
//! lands on another replica. Entries expire after a day of not being registered again; a text
//! read back is hashed again before it is used, so nobody who can write to Redis can make a
//! hash stand for another query.

use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::Redis;

/// How long a registered query is kept in Redis.
const TTL: Duration = Duration::from_secs(24 * 3600);
/// Longest query text kept in Redis; longer ones stay in the local tier only.
pub(crate) const MAX_QUERY_BYTES: usize = 256 * 1024;

/// Persisted queries in Redis, by their SHA-256 (lowercase hex).
pub struct SharedQueries {
    redis: Arc<Redis>,
}

impl SharedQueries {
    pub fn new(redis: Arc<Redis>) -> Self {
        SharedQueries { redis }
    }

    fn key(&self, hash: &str) -> String {
        self.redis.key(&format!("apq:{hash}"))
    }

    /// The query of `hash`, if a replica registered it; `None` too when Redis is unreachable.
    pub async fn get(&self, hash: &str) -> Option<String> {
        let key = self.key(hash);
        let text: Option<String> = self
            .redis
            .run(|mut c| async move { redis::cmd("GET").arg(key).query_async(&mut c).await })
            .await
            .ok()
            .flatten();
        text.filter(|text| format!("{:x}", Sha256::digest(text.as_bytes())) == hash)
    }

    /// Registers `query` under its verified `hash` for every replica (best effort).
    pub async fn put(&self, hash: &str, query: &str) {
        if query.len() > MAX_QUERY_BYTES {
            return;
        }
        let key = self.key(hash);
        let _ = self
            .redis
            .run(|mut c| async move {
                redis::cmd("SET")
                    .arg(key)
                    .arg(query)
                    .arg("EX")
                    .arg(TTL.as_secs())
                    .query_async::<()>(&mut c)
                    .await
            })
            .await;
    }
}
