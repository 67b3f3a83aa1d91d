//! Automatic persisted queries across replicas: registered on one, answered by the other.

use sha2::{Digest, Sha256};

use super::*;
use crate::support::helpers::code;

#[tokio::test]
async fn an_apq_hash_registered_on_replica_a_is_answered_by_replica_b_without_the_text() {
    let redis = RedisServer::start();
    let (_graph, a, b) = two_replicas(&redis, |_| {}).await;
    let query = "query Shared { __typename }";
    let hash = format!("{:x}", Sha256::digest(query));

    let (_, _, missed) = b.post(with_hash(None, &hash)).await;
    assert_eq!(code(&missed), "PERSISTED_QUERY_NOT_FOUND", "{missed}");
    let (_, _, registered) = a.post(with_hash(Some(query), &hash)).await;
    assert_eq!(registered["data"]["__typename"], "Query", "{registered}");
    let (_, _, answered) = b.post(with_hash(None, &hash)).await;
    assert_eq!(answered["data"]["__typename"], "Query", "{answered}");
}

#[tokio::test]
async fn a_query_altered_in_redis_is_never_run_under_the_hash() {
    let redis = RedisServer::start();
    let (_graph, a, b) = two_replicas(&redis, |_| {}).await;
    let query = "query Honest { __typename }";
    let hash = format!("{:x}", Sha256::digest(query));
    a.post(with_hash(Some(query), &hash)).await;
    let mut connection = redis.client().await;
    let key = format!("gpo-gateway:apq:{hash}");
    let stored: Option<String> = redis::cmd("GET")
        .arg(&key)
        .query_async(&mut connection)
        .await
        .expect("GET");
    assert_eq!(stored.as_deref(), Some(query), "registered in Redis");
    let _: () = redis::cmd("SET")
        .arg(&key)
        .arg("query Evil { __schema { types { name } } }")
        .query_async(&mut connection)
        .await
        .expect("SET");
    let (_, _, body) = b.post(with_hash(None, &hash)).await;
    assert_eq!(code(&body), "PERSISTED_QUERY_NOT_FOUND", "{body}");
}
