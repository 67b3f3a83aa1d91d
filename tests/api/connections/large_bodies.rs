//! Bodies larger than `--max-body-bytes` (uploads, up to `--max-variables-bytes`): only a few
//! at once, each with a declared length, so the memory they take together stays bounded; a body
//! of unknown length is held to `--max-body-bytes`.

use std::net::SocketAddr;
use std::time::Instant;

use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::{BOUND, RawResponse, exchange, post_head, read_until_closed, served};
use crate::support::helpers::code;

const PLAIN: usize = 1_000;
const LIMIT: usize = 100_000;

/// A request of exactly `length` bytes whose bulk is in `variables`, `Connection: close`.
fn large_request(length: usize) -> String {
    let skeleton =
        json!({ "query": "query($pad: String) { __typename }", "variables": { "pad": "" } })
            .to_string();
    let pad = "x".repeat(length - skeleton.len());
    let body =
        json!({ "query": "query($pad: String) { __typename }", "variables": { "pad": pad } })
            .to_string();
    assert_eq!(body.len(), length);
    format!("{}{body}", post_head(length)).replacen(
        "Host: gateway",
        "Host: gateway\r\nConnection: close",
        1,
    )
}

async fn gateway() -> SocketAddr {
    served(|c| {
        c.http.max_body_bytes = PLAIN;
        c.http.max_variables_bytes = LIMIT;
        c.http.max_large_bodies = 1;
        // These tests hold a slot with a half-sent body on purpose.
        c.http.large_body_min_rate = 0;
    })
    .await
}

#[tokio::test]
async fn large_bodies_beyond_their_slots_get_503_and_a_freed_slot_is_reused() {
    let addr = gateway().await;
    let request = large_request(50_000);

    // One upload holds the only slot: its headers and half its body are sent, the rest waits.
    let (head, rest) = request.split_at(request.len() / 2);
    let mut holder = TcpStream::connect(addr).await.expect("connects");
    holder.write_all(head.as_bytes()).await.expect("sends");

    // Once the holder's request has taken the slot, another large body is refused at once.
    let started = Instant::now();
    let refused = loop {
        let (response, _) = exchange(addr, &request).await;
        if response.status == 503 {
            break response;
        }
        assert_eq!(response.status, 200, "{}", response.body);
        assert!(started.elapsed() < BOUND, "the holder never took its slot");
    };
    assert_eq!(refused.header("retry-after"), Some("1"), "{}", refused.head);
    assert_eq!(code(&refused.body), "LIMIT_EXCEEDED");
    assert!(
        refused.body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("1 requests with a body over 1000 bytes")),
        "{}",
        refused.body
    );
    // Small bodies need no slot.
    let small = json!({ "query": "{ __typename }" }).to_string();
    let (response, _) = exchange(
        addr,
        &format!("{}{small}", post_head(small.len())).replacen(
            "Host: gateway",
            "Host: gateway\r\nConnection: close",
            1,
        ),
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.body);

    // The holder finishes; its slot is free again.
    holder.write_all(rest.as_bytes()).await.expect("sends");
    let (bytes, _) = read_until_closed(&mut holder).await;
    assert_eq!(RawResponse::parse(&bytes).status, 200);
    let (response, _) = exchange(addr, &request).await;
    assert_eq!(response.status, 200, "{}", response.body);
}

#[tokio::test]
async fn a_body_of_unknown_length_is_held_to_max_body_bytes() {
    let addr = gateway().await;
    let chunked = |body: &str| {
        format!(
            "POST /graphql HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n\
             Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n\
             {:x}\r\n{body}\r\n0\r\n\r\n",
            body.len()
        )
    };
    let small = json!({ "query": "{ __typename }" }).to_string();
    let (response, _) = exchange(addr, &chunked(&small)).await;
    assert_eq!(response.status, 200, "{}", response.body);

    let large = json!({ "query": "query($pad: String) { __typename }", "variables": { "pad": "x".repeat(2 * PLAIN) } })
        .to_string();
    let (response, _) = exchange(addr, &chunked(&large)).await;
    assert_eq!(response.status, 413, "{}", response.body);
    assert_eq!(code(&response.body), "LIMIT_EXCEEDED");
}

#[tokio::test]
async fn large_bodies_that_stall_lose_their_slots_and_connections_within_two_seconds() {
    let addr = served(|c| {
        c.http.max_body_bytes = PLAIN;
        c.http.max_variables_bytes = 10_000_000;
        c.http.max_large_bodies = 4;
    })
    .await;
    // Four connections declare 8 MB and send nothing: every slot, were they kept.
    let mut stalled = Vec::new();
    for _ in 0..4 {
        let mut socket = TcpStream::connect(addr).await.expect("connects");
        socket
            .write_all(post_head(8_000_000).as_bytes())
            .await
            .expect("sends");
        stalled.push(socket);
    }
    let started = Instant::now();
    let upload = large_request(50_000);
    loop {
        let (response, _) = exchange(addr, &upload).await;
        if response.status == 200 {
            break;
        }
        assert_eq!(response.status, 503, "{}", response.body);
        assert!(
            started.elapsed() < BOUND,
            "the stalled bodies kept their slots"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let waited = started.elapsed();
    assert!(
        waited < std::time::Duration::from_secs(4),
        "the upload waited {waited:?} for stalled bodies' slots"
    );
    for mut socket in stalled {
        let (bytes, _) = read_until_closed(&mut socket).await;
        let response = RawResponse::parse(&bytes);
        assert_eq!(response.status, 408, "{}", response.head);
        assert_eq!(code(&response.body), "LIMIT_EXCEEDED");
    }
}
