//! The real binary: it prints where the playground is, serves, and on SIGTERM drains and exits
//! within the configured bound even with a WebSocket left open.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[tokio::test]
async fn the_binary_serves_then_exits_on_sigterm_within_the_drain_bound() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gpo-gateway"))
        .args(["--listen", "127.0.0.1:0", "--shutdown-timeout", "1"])
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let banner = lines.next().expect("a banner").expect("text");
    assert!(banner.starts_with("gpo-gateway"), "{banner}");
    let playground = lines.next().expect("a line").expect("text");
    let url = playground
        .split_whitespace()
        .last()
        .expect("the playground URL")
        .to_owned();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with('/'),
        "{playground}"
    );
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();

    let health = reqwest::get(format!("http://{addr}/healthz"))
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
    let page = reqwest::get(&url).await.expect("playground");
    assert_eq!(page.status(), 200);

    // An open WebSocket would keep a naive graceful shutdown waiting forever.
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(format!(
            "ws://{addr}/graphql"
        ))
        .expect("request");
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().expect("header"),
    );
    let (_socket, _) = tokio_tungstenite::connect_async(request).await.expect("ws");

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let started = Instant::now();
    let exit = loop {
        if let Some(exit) = child.try_wait().expect("wait") {
            break exit;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "still running 10 s after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "{exit:?}");
    let mut log = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut log)
        .expect("log");
    assert!(log.contains("shutting down"), "{log}");
}
