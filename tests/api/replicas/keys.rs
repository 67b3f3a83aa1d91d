//! The primitives of idempotency keys in Redis, against a real Redis: one claim wins, the
//! others see its state, the answer is kept for its TTL, a release frees the key, waiters see
//! the answer, and an unreachable Redis is an error (never a free key) and a 503.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use gpo_gateway::shared_state::keys::{Claim, KeyState, RedisKeys, StoredAnswer};
use gpo_gateway::shared_state::{Redis, Unavailable};

use super::*;
use crate::support::helpers::AllBytes;

fn keys(redis: &RedisServer) -> (Arc<Redis>, RedisKeys) {
    let shared = redis_connection(redis);
    (Arc::clone(&shared), RedisKeys::new(shared))
}

fn answer(text: &str) -> StoredAnswer {
    StoredAnswer {
        status: 200,
        content_type: Some("application/json".into()),
        body: Some(text.as_bytes().to_vec()),
    }
}

const LEASE: Duration = Duration::from_secs(30);

#[tokio::test]
async fn one_claim_wins_and_the_others_see_it_running_then_done() {
    let redis = RedisServer::start();
    let (_, keys) = keys(&redis);
    let claims = futures_util::future::join_all(
        (0..8).map(|_| keys.claim("caller-1", "key-1", "fp-1", LEASE)),
    )
    .await;
    let owners: Vec<_> = claims
        .iter()
        .filter_map(|c| match c {
            Ok(Claim::Won(owner)) => Some(owner.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(owners.len(), 1, "exactly one of 8 concurrent claims wins");
    for claim in &claims {
        if let Ok(Claim::Taken(state)) = claim {
            assert_eq!(
                *state,
                KeyState::Running {
                    fingerprint: "fp-1".into()
                }
            );
        }
    }
    // The same key in another scope is another key.
    assert!(matches!(
        keys.claim("caller-2", "key-1", "fp-1", LEASE).await,
        Ok(Claim::Won(_))
    ));

    let waiter = keys.wait_for("caller-1", "key-1", Duration::from_secs(10));
    let store = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        keys.store(
            "caller-1",
            "key-1",
            &owners[0],
            "fp-1",
            answer("{\"data\":1}"),
            Duration::from_secs(60),
        )
        .await
    };
    let (waited, stored) = tokio::join!(waiter, store);
    assert_eq!(stored, Ok(true));
    let done = KeyState::Done {
        fingerprint: "fp-1".into(),
        answer: answer("{\"data\":1}"),
    };
    assert_eq!(waited, Ok(Some(done.clone())), "the waiter saw the answer");
    assert_eq!(
        keys.claim("caller-1", "key-1", "fp-1", LEASE).await,
        Ok(Claim::Taken(done))
    );

    let mut connection = redis.client().await;
    let ttls: Vec<i64> = {
        let names: Vec<String> = redis::cmd("KEYS")
            .arg("gpo-gateway:idem:*")
            .query_async(&mut connection)
            .await
            .expect("KEYS");
        assert!(
            names
                .iter()
                .all(|n| !n.contains("caller") && !n.contains("key-1")),
            "hashed names: {names:?}"
        );
        let mut ttls = Vec::new();
        for name in names {
            ttls.push(
                redis::cmd("PTTL")
                    .arg(name)
                    .query_async(&mut connection)
                    .await
                    .expect("PTTL"),
            );
        }
        ttls
    };
    assert!(
        ttls.iter().any(|t| (50_000..=60_000).contains(t)),
        "the answer is kept for its TTL: {ttls:?}"
    );
}

#[tokio::test]
async fn only_the_owner_stores_or_releases_and_a_release_frees_the_key() {
    let redis = RedisServer::start();
    let (_, keys) = keys(&redis);
    let Ok(Claim::Won(owner)) = keys.claim("s", "k", "fp", LEASE).await else {
        panic!("a free key is claimed");
    };
    let Ok(Claim::Won(other)) = keys.claim("s", "k2", "fp", LEASE).await else {
        panic!("a free key is claimed");
    };
    assert_eq!(keys.release("s", "k", &other).await, Ok(false));
    assert_eq!(
        keys.store("s", "k", &other, "fp", answer("x"), LEASE).await,
        Ok(false)
    );
    assert_eq!(keys.release("s", "k", &owner).await, Ok(true));
    assert_eq!(keys.state("s", "k").await, Ok(None));
    assert!(matches!(
        keys.claim("s", "k", "fp", LEASE).await,
        Ok(Claim::Won(_))
    ));
    // A claim whose lease ran out is free again.
    let Ok(Claim::Won(_)) = keys
        .claim("s", "short", "fp", Duration::from_millis(100))
        .await
    else {
        panic!("claimed");
    };
    let state = keys
        .wait_for("s", "short", Duration::from_secs(5))
        .await
        .expect("Redis answers");
    assert_eq!(state, None, "the lease expired");
}

#[tokio::test]
async fn while_redis_is_unreachable_keys_fail_and_a_keyed_request_gets_503() {
    let mut redis = RedisServer::start();
    let (shared, keys) = keys(&redis);
    redis.kill();
    assert_eq!(
        keys.claim("s", "k", "fp", LEASE).await,
        Err(Unavailable),
        "never a free key"
    );
    assert!(shared.degraded());
    let response = gpo_gateway::shared_state::keys::unavailable(&HeaderMap::new());
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["retry-after"], "1");
    let body = response.into_body().all_bytes().await;
    let body: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("Idempotency-Key")),
        "{body}"
    );

    redis.restart();
    let claimed = async {
        loop {
            if let Ok(claim) = keys.claim("s", "k", "fp", LEASE).await {
                return claim;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let claim = tokio::time::timeout(Duration::from_secs(15), claimed)
        .await
        .expect("reconnected by itself");
    assert!(matches!(claim, Claim::Won(_)));
    assert!(!shared.degraded());
}
