//! The tenant budget across two replicas sharing Redis: Graph never sees more than the budget
//! in a window, pollers leave people their part, and a 429 on one replica pauses the other.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use futures_util::future::join_all;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use super::*;
use crate::support::helpers::{GET, code, guid, serve_tcp};
use crate::support::ws::{CHANGED, eventually, next, ready, send};
use fake_graph::{Canned, Match};

/// What Graph received so far as Intune counts it: plain requests and `$batch` sub-requests,
/// not the `$batch` envelopes.
fn intune_count(graph: &FakeGraph) -> usize {
    graph
        .requests()
        .iter()
        .filter(|r| !(r.method == "POST" && !r.in_batch && r.path.contains("$batch")))
        .count()
}

/// Samples [`intune_count`] every few milliseconds until dropped.
struct Sampler {
    samples: Arc<Mutex<Vec<(Instant, usize)>>>,
    task: JoinHandle<()>,
}

impl Sampler {
    fn start(graph: &FakeGraph) -> Sampler {
        let samples = Arc::new(Mutex::new(vec![(Instant::now(), intune_count(graph))]));
        let task = tokio::spawn({
            let (graph, samples) = (graph.clone(), Arc::clone(&samples));
            async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    let sample = (Instant::now(), intune_count(&graph));
                    samples.lock().expect("samples").push(sample);
                }
            }
        });
        Sampler { samples, task }
    }

    /// The most requests Graph received between two samples at most `span` apart.
    fn most_within(&self, span: Duration) -> usize {
        let samples = self.samples.lock().expect("samples").clone();
        let mut most = 0;
        let mut j = 0;
        for (i, (start, before)) in samples.iter().enumerate() {
            j = j.max(i);
            while j + 1 < samples.len() && samples[j + 1].0 - *start <= span {
                j += 1;
            }
            most = most.max(samples[j].1 - before);
        }
        most
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn subscription(id: &str, file: &str, op: &str) -> Value {
    json!({ "id": id, "type": "subscribe",
            "payload": { "query": CHANGED, "variables": { "f": file, "id": op } } })
}

/// `ops.len()` subscriptions on one WebSocket of `addr`; the socket is returned to keep them.
async fn watch_all(addr: SocketAddr, file: &str, ops: &[String]) -> crate::support::ws::Socket {
    let mut socket = ready(
        addr,
        "graphql-transport-ws",
        json!({ "authorization": format!("Bearer {TOKEN}") }),
    )
    .await;
    for (i, op) in ops.iter().enumerate() {
        send(&mut socket, subscription(&i.to_string(), file, op)).await;
    }
    socket
}

const WINDOW: Duration = Duration::from_secs(2);

// Long on purpose: one scenario, two replicas under lookups and subscriptions at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_under_200_lookups_and_50_subscriptions_never_exceed_the_budget() {
    let redis = RedisServer::start();
    let (graph, a, b) = two_replicas(&redis, |config| {
        config.budget.tenant_read_budget = 40;
        config.budget.tenant_budget_window = WINDOW;
        config.budget.graph_budget_wait = Duration::from_secs(1);
        config.graph.poll_interval = Duration::from_millis(100);
    })
    .await;
    let file = guid();
    graph.insert_file(&file);
    let ops: Vec<String> = (0..50)
        .map(|_| graph.insert_op(&file, "upload", "inProgress", None))
        .collect();
    let sampler = Sampler::start(&graph);
    let (addr_a, addr_b) = (
        serve_tcp(a.router.clone()).await,
        serve_tcp(b.router.clone()).await,
    );
    let _watching_a = watch_all(addr_a, &file, &ops[..25]).await;
    let _watching_b = watch_all(addr_b, &file, &ops[25..]).await;

    let lookups = (0..200).map(|i| {
        let replica = if i % 2 == 0 { &a } else { &b };
        let op = &ops[i % ops.len()];
        replica.gql(GET, json!({ "f": file, "id": op }))
    });
    let answers = join_all(lookups).await;
    let mut throttled = 0;
    for body in &answers {
        if body["data"]["groupPolicyOperation"]["id"].is_string() {
            continue;
        }
        assert_eq!(code(body), "THROTTLED", "{body}");
        assert!(
            body["errors"][0]["extensions"]["retryAfter"].as_u64() <= Some(2),
            "{body}"
        );
        throttled += 1;
    }
    assert!(throttled > 0, "200 lookups cannot all fit a budget of 40");
    // Pollers keep polling through a further window.
    let until = Instant::now() + WINDOW;
    eventually(WINDOW * 3, "a further window", || Instant::now() >= until).await;

    // Arrival at the fake trails the grant (more so on a loaded machine), so windows are
    // measured 300 ms short.
    let most = sampler.most_within(WINDOW - Duration::from_millis(300));
    assert!(most <= 40, "Graph saw {most} requests in one window of 40");
    assert!(intune_count(&graph) >= 60, "both windows were used");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pollers_on_one_replica_leave_people_on_the_other_their_share() {
    let redis = RedisServer::start();
    let (graph, a, b) = two_replicas(&redis, |config| {
        config.budget.tenant_read_budget = 20;
        config.budget.tenant_budget_window = Duration::from_secs(20);
        config.budget.graph_budget_wait = Duration::ZERO;
        config.budget.poller_budget_share = 0.5;
        config.graph.poll_interval = Duration::from_millis(50);
    })
    .await;
    let file = guid();
    graph.insert_file(&file);
    let watched: Vec<String> = (0..20)
        .map(|_| graph.insert_op(&file, "upload", "inProgress", None))
        .collect();
    let looked_up = graph.insert_op(&file, "upload", "success", None);
    let addr = serve_tcp(a.router.clone()).await;
    let mut socket = watch_all(addr, &file, &watched).await;
    assert_eq!(
        next(&mut socket).await["type"],
        "next",
        "a poller's first state"
    );
    let polls = || intune_count(&graph);
    // Twenty pollers want a slot every 50 ms; they get the share of 10 and then wait.
    eventually(Duration::from_secs(10), "the pollers' share spent", || {
        polls() >= 10
    })
    .await;
    assert_eq!(polls(), 10);
    for _ in 0..10 {
        let body = b.gql(GET, json!({ "f": file, "id": looked_up })).await;
        assert_eq!(
            body["data"]["groupPolicyOperation"]["id"],
            json!(looked_up),
            "a person is served while pollers wait: {body}"
        );
    }
    assert_eq!(polls(), 20, "ten polls and ten lookups: the budget");
    let body = b.gql(GET, json!({ "f": file, "id": looked_up })).await;
    assert_eq!(code(&body), "THROTTLED", "{body}");
}

#[tokio::test]
async fn a_429_on_replica_a_pauses_replica_b() {
    let redis = RedisServer::start();
    let (graph, a, b) = two_replicas(&redis, |config| {
        config.graph.graph_timeout = Duration::from_secs(1);
    })
    .await;
    // Two files: a lookup reads its whole file (`$expand`), so each has its own Graph GET.
    let (file, file_b) = (guid(), guid());
    let on_a = graph.insert_op(&file, "upload", "success", None);
    let on_b = graph.insert_op(&file_b, "upload", "success", None);
    graph.inject(
        Match::method("GET").path_contains(&file),
        Canned::throttled("3"),
        1,
    );
    let body = a.gql(GET, json!({ "f": file, "id": on_a })).await;
    assert_eq!(code(&body), "THROTTLED", "{body}");
    let paused_at = Instant::now();

    let body = b.gql(GET, json!({ "f": file_b, "id": on_b })).await;
    assert_eq!(code(&body), "THROTTLED", "{body}");
    let retry_after = body["errors"][0]["extensions"]["retryAfter"].as_u64();
    assert!(matches!(retry_after, Some(1..=3)), "{body}");
    let sent_to_b = Match::method("GET").path_contains(&file_b);
    assert_eq!(graph.count(&sent_to_b), 0, "B sent nothing while paused");

    // Once the pause is over, B is served.
    let deadline = paused_at + Duration::from_secs(10);
    loop {
        let body = b.gql(GET, json!({ "f": file_b, "id": on_b })).await;
        if body["data"]["groupPolicyOperation"]["id"] == json!(on_b) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "B served after the pause: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(paused_at.elapsed() >= Duration::from_millis(2500));
}
