//! The shared key store's own rules: a key whose request ran nothing is freed for the request
//! waiting on the other replica, which runs it; the limits of one process's table hold (a
//! caller's running keys within its quota, answers over the cap kept without their body).

use axum::http::StatusCode;
use gpo_gateway::idempotency::{Answer, Claim, KeyId, KeyStore, Limits};
use gpo_gateway::shared_state::key_store::SharedKeys;
use gpo_gateway::shared_state::keys::RedisKeys;

use super::*;
use crate::idempotency::{create_body, send_keyed};
use crate::support::helpers::guid;
use fake_graph::{Canned, Match};

#[tokio::test]
async fn a_key_freed_on_one_replica_is_run_by_the_request_waiting_on_the_other() {
    let redis = RedisServer::start();
    let (graph, a, b) = two_replicas(&redis, |_| {}).await;
    let file = guid();
    graph.insert_file(&file);
    graph.set_delay(Match::method("POST"), Duration::from_millis(500));
    // The first write is refused by Graph: nothing ran, so its key is freed.
    graph.inject(
        Match::method("POST"),
        Canned::graph_error(403, "Forbidden", "not allowed"),
        1,
    );
    let body = create_body(&file, "second time lucky");
    let key = guid();
    let posts = || graph.count(&Match::method("POST"));

    let first = send_keyed(&a, &key, &body);
    let repeat = async {
        let deadline = Instant::now() + Duration::from_secs(15);
        while posts() == 0 {
            assert!(Instant::now() < deadline, "A's write reaches Graph");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        send_keyed(&b, &key, &body).await
    };
    let (first, repeat) = tokio::join!(first, repeat);
    assert_eq!(
        crate::support::helpers::code(&first.1),
        "FORBIDDEN",
        "A was refused: {}",
        first.1
    );
    assert_eq!(repeat.0, StatusCode::OK);
    assert!(!repeat.2, "B ran it rather than replaying the refusal");
    assert!(
        repeat.1["data"]["createGroupPolicyOperation"]["id"].is_string(),
        "{}",
        repeat.1
    );
    assert_eq!(posts(), 2);
    let (status, again, replayed) = send_keyed(&a, &key, &body).await;
    assert_eq!(
        (status, &again, replayed),
        (StatusCode::OK, &repeat.1, true)
    );
}

fn store(redis: &RedisServer, limits: Limits) -> SharedKeys {
    SharedKeys::new(RedisKeys::new(redis_connection(redis)), limits)
}

fn id(scope: &str, key: usize) -> KeyId {
    KeyId {
        scope: scope.to_owned(),
        key: format!("k{key}"),
    }
}

#[tokio::test]
async fn the_limits_of_one_process_hold_for_the_shared_store() {
    let redis = RedisServer::start();
    let limits = Limits {
        max_keys: 1000,
        max_bytes: 100_000,
        max_scope_bytes: 1_000,
        max_answer_bytes: 100,
    };
    let keys = store(&redis, limits);
    // One caller's running keys fill its quota, then its next key is refused.
    let mut n = 0;
    let refused = loop {
        match keys.claim(&id("greedy", n), "fp").await {
            Ok(claim) => assert_eq!(claim, Claim::New),
            Err(e) => break e,
        }
        n += 1;
        assert!(n < 100, "the quota refuses at some point");
    };
    assert_eq!(refused.code().as_str(), "LIMIT_EXCEEDED");
    assert!(n >= 3, "a few keys fit in 1,000 bytes: {n}");
    // The refused key was given back, and another caller is not affected.
    let other = store(&redis, limits);
    assert_eq!(
        other.claim(&id("greedy", n), "fp").await.unwrap(),
        Claim::New
    );
    assert_eq!(
        keys.claim(&id("modest", 0), "fp").await.unwrap(),
        Claim::New
    );
    // Ending a running key makes room again.
    keys.release(&id("greedy", 0)).await.expect("released");
    assert_eq!(
        keys.claim(&id("greedy", 0), "fp").await.unwrap(),
        Claim::New
    );

    // An answer over the cap is kept as done, without its body; a small one in full.
    let answer = |bytes: usize| Answer {
        status: 200,
        content_type: Some("application/json".into()),
        body: Some(vec![b'x'; bytes]),
    };
    keys.complete(&id("modest", 0), answer(101))
        .await
        .expect("kept");
    let found = other.claim(&id("modest", 0), "fp").await.unwrap();
    let Claim::Done {
        same_body: true,
        answer: kept,
    } = found
    else {
        panic!("done: {found:?}");
    };
    assert_eq!((kept.status, kept.body), (200, None));
    assert_eq!(
        keys.claim(&id("modest", 1), "fp").await.unwrap(),
        Claim::New
    );
    keys.complete(&id("modest", 1), answer(100))
        .await
        .expect("kept");
    let found = other.claim(&id("modest", 1), "other body").await.unwrap();
    assert_eq!(
        found,
        Claim::Done {
            same_body: false,
            answer: answer(100)
        }
    );
}
