//! Several replicas: what Redis adds to a request (the shared tenant budget's Lua round trip,
//! the persisted-query tier), and how many Graph requests two replicas send in a budget
//! window under subscribers and a dashboard's lookups, against the tenant budget.
//!
//! Needs `redis-server` (the Debian package); skipped with a note when it is missing.

use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header;
use axum::routing::{get, post};
use futures_util::SinkExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::procs::Server;
use crate::wrk::{self, Measured};
use crate::{FILE, OP, apq_get, by_id};

/// A `redis-server` child on a free port, killed when dropped.
struct Redis(Child, u16);

impl Redis {
    fn start() -> Option<Redis> {
        let port = TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .ok()?;
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if started.elapsed() > Duration::from_secs(10) {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Some(Redis(child, port))
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.1)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A Graph that counts what it receives as Intune counts it (each `$batch` sub-request is
/// one) and whose operations stay in progress, so subscription pollers keep polling.
fn counting_graph(count: Arc<AtomicU64>) -> SocketAddr {
    let app = Router::new()
        .route(
            "/beta/deviceManagement/groupPolicyUploadedDefinitionFiles/{file}",
            get(|State(count): State<Arc<AtomicU64>>, Path(file): Path<String>| async move {
                count.fetch_add(1, Ordering::Relaxed);
                ([(header::CONTENT_TYPE, "application/json")], expanded_file(&file).to_string())
            }),
        )
        .route(
            "/beta/deviceManagement/groupPolicyUploadedDefinitionFiles/{file}/groupPolicyOperations/{id}",
            get(|State(count): State<Arc<AtomicU64>>, Path((_f, id)): Path<(String, String)>| async move {
                count.fetch_add(1, Ordering::Relaxed);
                ([(header::CONTENT_TYPE, "application/json")], in_progress(&id).to_string())
            }),
        )
        .route(
            "/beta/$batch",
            post(|State(count): State<Arc<AtomicU64>>, body: Bytes| async move {
                let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let subs = request["requests"].as_array().cloned().unwrap_or_default();
                count.fetch_add(subs.len() as u64, Ordering::Relaxed);
                let responses: Vec<Value> = subs
                    .iter()
                    .map(|sub| {
                        let url = sub["url"].as_str().unwrap_or_default();
                        let id = url.split('?').next().unwrap_or_default().rsplit('/').next();
                        let id = id.unwrap_or_default();
                        // A file read with its operations (the gateway's default), or one
                        // operation (with --graph-navigation-reads).
                        let body = if url.contains("expand") { expanded_file(id) } else { in_progress(id) };
                        json!({ "id": sub["id"], "status": 200, "body": body })
                    })
                    .collect();
                ([(header::CONTENT_TYPE, "application/json")], json!({ "responses": responses }).to_string())
            }),
        )
        .with_state(count);
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("a port");
            sender
                .send(listener.local_addr().expect("an address"))
                .expect("sent");
            axum::serve(listener, app).await.expect("serves");
        });
    });
    receiver.recv().expect("the counting Graph started")
}

/// A definition file with `$expand=groupPolicyOperations`: the benchmark's lookup and the
/// fifty watched operations, all in progress.
fn expanded_file(id: &str) -> Value {
    let operations: Vec<Value> = std::iter::once(in_progress(OP))
        .chain((0..50).map(|i| in_progress(&format!("00000000-0000-4000-8000-{i:012}"))))
        .collect();
    json!({ "id": id, "displayName": "Contoso Browser", "status": "available",
            "lastModifiedDateTime": "2025-09-07T08:32:57Z", "languageCodes": [],
            "groupPolicyUploadedLanguageFiles": [], "groupPolicyOperations": operations })
}

fn in_progress(id: &str) -> Value {
    json!({ "id": id, "operationType": "upload", "operationStatus": "inProgress",
            "statusDetails": null, "lastModifiedDateTime": "2025-09-07T08:32:57Z" })
}

fn gateway(name: &'static str, graph: SocketAddr, extra: &[&str]) -> Server {
    let url = format!("http://{graph}/beta");
    let mut args = vec!["--backend", "graph", "--graph-url", &url];
    args.extend_from_slice(extra);
    Server::gateway(name, &args)
}

/// `count` subscriptions on one WebSocket to `gateway`, kept open until the task is dropped.
async fn subscribe(gateway: SocketAddr, ids: Vec<String>) -> tokio::task::JoinHandle<()> {
    let mut request = format!("ws://{gateway}/graphql")
        .into_client_request()
        .expect("a URL");
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().expect("a header"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("a WebSocket");
    let init = json!({ "type": "connection_init", "payload": { "Authorization": "Bearer benchmark-token" } });
    socket
        .send(Message::Text(init.to_string().into()))
        .await
        .expect("init");
    for (i, id) in ids.iter().enumerate() {
        let subscribe = json!({ "id": i.to_string(), "type": "subscribe", "payload": {
            "query": "subscription W($f: ID!, $id: ID!) { groupPolicyOperationChanged(definitionFileId: $f, id: $id) { id operationStatus } }",
            "variables": { "f": FILE, "id": id } } });
        socket
            .send(Message::Text(subscribe.to_string().into()))
            .await
            .expect("subscribe");
    }
    tokio::spawn(async move {
        use futures_util::StreamExt;
        while socket.next().await.is_some() {}
    })
}

fn row(name: &str, m: &Measured, base: Option<&Measured>) {
    let added = base.map_or_else(String::new, |b| {
        format!(
            "p50 {:+.3} ms, p99 {:+.3} ms",
            m.p50_ms - b.p50_ms,
            m.p99_ms - b.p99_ms
        )
    });
    println!(
        "| {name} | {:.0} | {:.3} | {:.3} | {added} |",
        m.requests_per_second, m.p50_ms, m.p99_ms
    );
}

/// A wrk run of `seconds` (after a one-second warm-up when `warm`).
async fn measure(
    target: SocketAddr,
    shot: &crate::wrk::Shot,
    connections: u32,
    seconds: u32,
    warm: bool,
) -> Measured {
    let shot = shot.clone();
    tokio::task::spawn_blocking(move || {
        if warm {
            wrk::run(target, &shot, connections, 1);
        }
        wrk::run(target, &shot, connections, seconds)
    })
    .await
    .expect("wrk ran")
}

/// Runs the replica scenarios and prints their section of the report.
pub(crate) async fn run(seconds: u32) {
    let Some(redis) = Redis::start() else {
        println!(
            "\n## Replicas\n\nskipped: `redis-server` is not installed (apt-get install redis-server)"
        );
        return;
    };
    let count = Arc::new(AtomicU64::new(0));
    let graph = counting_graph(Arc::clone(&count));
    let huge = ["--tenant-read-budget", "1000000"];
    let local = gateway("graph, local budget", graph, &huge);
    let url = redis.url();
    let shared = gateway(
        "graph, Redis budget",
        graph,
        &[huge[0], huge[1], "--redis-url", &url],
    );
    let lookup = by_id(FILE, OP);

    println!("\n## Replicas ({seconds} s per run, wrk -t1)\n");
    println!("| scenario | req/s | p50 ms | p99 ms | added by Redis |\n|---|---:|---:|---:|---|");
    for connections in [1, 32] {
        let base = measure(local.address, &lookup, connections, seconds, true).await;
        let with = measure(shared.address, &lookup, connections, seconds, true).await;
        row(
            &format!("graph by id, local budget, c={connections}"),
            &base,
            None,
        );
        row(
            &format!("graph by id, Redis budget, c={connections}"),
            &with,
            Some(&base),
        );
    }
    let store_local = Server::gateway("store", &[]);
    let store_shared = Server::gateway("store, Redis APQ tier", &["--redis-url", &url]);
    let client = reqwest::Client::new();
    for server in [&store_local, &store_shared] {
        crate::procs::send(&client, server.address, &crate::register_apq()).await;
    }
    let base = measure(store_local.address, &apq_get(), 1, seconds, true).await;
    let with = measure(store_shared.address, &apq_get(), 1, seconds, true).await;
    row("APQ hash-only GET, local cache, c=1", &base, None);
    row(
        "APQ hash-only GET, with the Redis tier, c=1",
        &with,
        Some(&base),
    );
    // A replica that never saw the hash: one lookup in Redis, then its local tier has it.
    let fresh = Server::gateway("store, Redis APQ tier (fresh)", &["--redis-url", &url]);
    let started = Instant::now();
    let answer = crate::procs::send(&client, fresh.address, &apq_get()).await;
    assert!(answer.contains("groupPolicyOperation"), "{answer}");
    println!(
        "\nA replica answering a hash registered on another: first request {:.3} ms (one Redis GET included).",
        started.elapsed().as_secs_f64() * 1000.0
    );

    // Two replicas, 50 subscribers (25 each, polling every 5 s), a dashboard's lookups.
    // Their own key prefix: the windows the latency runs above filled (a budget of a million)
    // are still in Redis, and would leave this default budget no room for a whole window.
    let fleet = ["--redis-url", &url, "--redis-prefix", "gpo-gateway-fleet:"];
    let a = gateway("replica A", graph, &fleet);
    let b = gateway("replica B", graph, &fleet);
    let ids: Vec<String> = (0..50)
        .map(|i| format!("00000000-0000-4000-8000-{i:012}"))
        .collect();
    let _watch_a = subscribe(a.address, ids[..25].to_vec()).await;
    let _watch_b = subscribe(b.address, ids[25..].to_vec()).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    count.store(0, Ordering::SeqCst);
    let window = 20;
    let (on_a, on_b) = tokio::join!(
        measure(a.address, &lookup, 4, window, false),
        measure(b.address, &lookup, 4, window, false)
    );
    let sent = count.load(Ordering::SeqCst);
    let answered = on_a.requests + on_b.requests - on_a.bad - on_b.bad;
    println!(
        "\nTwo replicas sharing Redis, 50 subscribers and 8 connections of lookups for {window} s: \
         Graph received {sent} requests (budget 1,000 per 20 s); {answered} lookups answered, \
         {} refused with THROTTLED.",
        on_a.bad + on_b.bad
    );
}
