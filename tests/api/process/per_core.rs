//! `--runtime per-core`: the binary serves queries from a thread per core, each accepting on
//! its own SO_REUSEPORT listener, yet the total connection cap is the gateway's (not a
//! thread's), a closed connection frees its slot for whichever thread accepts next, and
//! SIGTERM drains every thread and exits 0.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::process::{start, terminate};

/// The cap in the test: the kernel spreads this many connections over the threads, so caps
/// counted per thread would let the one after it in (unless all landed on one thread, a
/// chance of 2^-15 on two cores).
const CAP: usize = 16;

/// A client of its own, so its connection stays open (kept alive) between requests.
fn own_connection() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("a client")
}

async fn query(client: &reqwest::Client, addr: &str) -> reqwest::Response {
    client
        .post(format!("http://{addr}/graphql"))
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .expect("an answer")
}

#[tokio::test]
async fn per_core_runtime_serves_under_one_connection_cap_and_drains_on_sigterm() {
    let cap = CAP.to_string();
    let (child, addr) = start(&[
        "--runtime",
        "per-core",
        "--max-connections",
        &cap,
        // Idle keep-alive connections must stay open (and counted) for the whole test.
        "--header-read-timeout",
        "60s",
        "--shutdown-timeout",
        "5s",
    ]);

    let mut held = Vec::new();
    for _ in 0..CAP {
        let client = own_connection();
        let answer = query(&client, &addr).await;
        assert_eq!(answer.status(), 200);
        let body: serde_json::Value = answer.json().await.expect("JSON");
        assert_eq!(body["data"]["__typename"], "Query", "{body}");
        held.push(client);
    }

    let over = query(&own_connection(), &addr).await;
    assert_eq!(over.status(), 503, "one connection over the total cap");
    assert!(over.headers().contains_key("retry-after"));

    // A closed connection gives its slot back to the shared count, whichever thread held it.
    drop(held.pop());
    let started = Instant::now();
    loop {
        if query(&own_connection(), &addr).await.status() == 200 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the closed connection's slot never came back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let (exit, log) = terminate(child).await;
    assert!(exit.success(), "a clean drain exits 0: {exit:?}\n{log}");
    assert!(log.contains("serving with a runtime per core"), "{log}");
    assert!(log.contains("every request finished"), "{log}");
    drop(held);
}

#[test]
fn an_unknown_runtime_is_refused_naming_the_choices() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_gpo-gateway"))
        .args(["--listen", "127.0.0.1:0", "--runtime", "fibers"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--runtime"), "{stderr}");
    assert!(stderr.contains("per-core"), "{stderr}");
}

#[tokio::test]
async fn per_core_runtime_keeps_the_exit_status_of_a_drain_that_cuts_a_request_off() {
    super::assert_a_cut_off_drain_exits_3(&["--runtime=per-core"]).await;
}
