//! The real binary: it prints where the playground is, serves, and on SIGTERM drains and exits
//! within the configured bound even with a WebSocket left open; the exit status says whether
//! the drain had to cut requests off. Bad durations stop it at start-up with a clear error.

mod limits;
mod per_core;

use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;

use crate::support::process::{start, terminate};
use crate::support::ws;

#[tokio::test]
async fn the_binary_serves_then_exits_on_sigterm_within_the_drain_bound() {
    let (child, addr) = start(&["--shutdown-timeout", "1"]);
    let health = reqwest::get(format!("http://{addr}/healthz"))
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
    let page = reqwest::get(format!("http://{addr}/"))
        .await
        .expect("playground");
    assert_eq!(page.status(), 200);

    // An open WebSocket would keep a naive graceful shutdown waiting forever.
    let _socket = ws::connect(addr.parse().expect("an address"), "graphql-transport-ws").await;

    let (exit, log) = terminate(child).await;
    assert!(exit.success(), "a clean drain exits 0: {exit:?}\n{log}");
    assert!(log.contains("shutting down"), "{log}");
    assert!(log.contains("every request finished"), "{log}");
}

#[tokio::test]
async fn a_drain_that_cuts_a_request_off_exits_non_zero_and_says_so() {
    assert_a_cut_off_drain_exits_3(&[]).await;
}

/// Starts the binary with `extra` flags and one request whose body never completes (it holds
/// the only in-flight permit, on whichever thread accepted it), then SIGTERM: the drain gives
/// up on it, says so and exits 3.
pub(crate) async fn assert_a_cut_off_drain_exits_3(extra: &[&str]) {
    let mut args = vec![
        "--shutdown-timeout=500ms",
        "--body-read-timeout=60s",
        "--request-timeout=60s",
        "--max-in-flight=1",
    ];
    args.extend_from_slice(extra);
    let (child, addr) = start(&args);
    let mut stalled = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connects");
    stalled
        .write_all(
            b"POST /graphql HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{\"query\":",
        )
        .await
        .expect("sends");
    // It holds the only in-flight permit once the gateway serves it: wait for that.
    let client = reqwest::Client::new();
    let started = Instant::now();
    loop {
        let status = client
            .post(format!("http://{addr}/graphql"))
            .json(&serde_json::json!({ "query": "{ __typename }" }))
            .send()
            .await
            .expect("an answer")
            .status();
        if status == 503 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the stalled request never got in flight"
        );
    }

    let (exit, log) = terminate(child).await;
    assert_eq!(exit.code(), Some(3), "{exit:?}\n{log}");
    assert!(log.contains("drain time is up"), "{log}");
    drop(stalled);
}

/// Runs the binary with `args` and `env`, which must make it refuse to start.
fn refused_start(args: &[&str], env: &[(&str, &str)]) -> (ExitStatus, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_gpo-gateway"))
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs");
    (
        output.status,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn absurd_durations_stop_the_binary_at_start_up_with_a_clear_error() {
    for (args, env, flag) in [
        (&["--keepalive", "inf"][..], &[][..], "--keepalive"),
        (
            &[][..],
            &[("GPO_GATEWAY_GRAPH_TIMEOUT", "1e20")][..],
            "--graph-timeout",
        ),
        (
            &["--shutdown-timeout", "2h"][..],
            &[][..],
            "--shutdown-timeout",
        ),
    ] {
        let (status, stderr) = refused_start(args, env);
        assert_eq!(status.code(), Some(2), "{args:?} {env:?}: {stderr}");
        assert!(stderr.contains(flag), "{stderr}");
        assert!(
            stderr.contains("not a duration") || stderr.contains("out of range"),
            "{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}
