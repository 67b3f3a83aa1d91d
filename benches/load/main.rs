//! The load benchmark: how close the gateway comes to the HTTP floor and to calling Graph
//! directly, measured in one run on one machine.
//!
//! Run: `bash benches/load.sh` (installs `wrk` and the Apollo Server comparison's locked npm
//! packages, then runs `cargo bench --bench load`). `LOAD_SECONDS` sets each run's length
//! (default 5). Every server runs on loopback; every answer is checked to be a 200 without
//! GraphQL errors (a run with any other answer fails the benchmark).

mod graph_only;
mod peers;
mod procs;
mod replicas;
mod wrk;

use std::net::SocketAddr;
use std::time::Duration;

use sha2::{Digest, Sha256};
use wrk::{Measured, Shot};

const FILE: &str = "a1f5c3d2-7b64-4e0f-9c21-3d8e5f6a7b01";
const OP: &str = "0c9e4b7a-1d2f-4a6b-8e3c-5f7a9b1c2d01";
const BY_ID: &str = "query Op($f: ID!, $id: ID!) { groupPolicyOperation(definitionFileId: $f, id: $id) { id operationType operationStatus statusDetails lastModifiedDateTime } }";
const CREATE: &str = "mutation New($f: ID!) { createGroupPolicyOperation(definitionFileId: $f, input: { operationType: UPLOAD, operationStatus: IN_PROGRESS, statusDetails: \"bench\" }) { id operationStatus } }";
const LIST: &str = "query List($f: ID!) { groupPolicyOperations(definitionFileId: $f, first: 100) { nodes { id operationType operationStatus statusDetails lastModifiedDateTime } pageInfo { hasNextPage endCursor } } }";
/// A demo definition file; the benchmark adds 100 operations to it to list.
const LIST_FILE: &str = "b2e6d4c3-8c75-4f1a-8d32-4e9f6a7b8c02";
const FILE_WITH_OPERATIONS: &str = "query File($id: ID!) { groupPolicyUploadedDefinitionFile(id: $id) { id displayName status languageCodes groupPolicyOperations(first: 10) { nodes { id operationType operationStatus } } } }";

fn post(query: &str, variables: serde_json::Value) -> Shot {
    Shot {
        method: "POST",
        path: "/graphql".into(),
        headers: vec![
            ("Content-Type", "application/json".into()),
            ("Authorization", "Bearer benchmark-token".into()),
        ],
        body: Some(serde_json::json!({ "query": query, "variables": variables }).to_string()),
    }
}

fn by_id(file: &str, id: &str) -> Shot {
    post(BY_ID, serde_json::json!({ "f": file, "id": id }))
}

fn aliased_lookups(file: &str, count: usize) -> Shot {
    let fields: String = (0..count)
        .map(|i| {
            format!(
                "o{i}: groupPolicyOperation(definitionFileId: \"{file}\", id: \"{}\") {{ id operationStatus }} ",
                numbered_id(i)
            )
        })
        .collect();
    post(&format!("{{ {fields} }}"), serde_json::json!({}))
}

fn numbered_id(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

/// An APQ GET that carries only the hash (the query was registered before the run).
fn apq_get() -> Shot {
    let hash = format!("{:x}", Sha256::digest(BY_ID.as_bytes()));
    let extensions = format!(r#"{{"persistedQuery":{{"version":1,"sha256Hash":"{hash}"}}}}"#);
    let variables = format!(r#"{{"f":"{FILE}","id":"{OP}"}}"#);
    Shot {
        method: "GET",
        path: format!(
            "/graphql?extensions={}&variables={}",
            url::form_urlencoded::byte_serialize(extensions.as_bytes()).collect::<String>(),
            url::form_urlencoded::byte_serialize(variables.as_bytes()).collect::<String>()
        ),
        headers: vec![],
        body: None,
    }
}

/// The POST that registers [`apq_get`]'s query.
fn register_apq() -> Shot {
    let hash = format!("{:x}", Sha256::digest(BY_ID.as_bytes()));
    let mut register = by_id(FILE, OP);
    register.body = Some(
        serde_json::json!({
            "query": BY_ID,
            "variables": { "f": FILE, "id": OP },
            "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash } },
        })
        .to_string(),
    );
    register
}

/// One row of the table.
struct Row {
    name: String,
    connections: u32,
    measured: Measured,
    baseline: Option<&'static str>,
}

struct Bench {
    seconds: u32,
    rows: Vec<Row>,
}

impl Bench {
    fn run(&mut self, name: &str, target: SocketAddr, shot: &Shot, baseline: Option<&'static str>) {
        for connections in [1, 32] {
            // A short warm-up so connection set-up and first-use costs stay out of the figures.
            wrk::run(target, shot, connections, 1);
            let measured = wrk::run(target, shot, connections, self.seconds);
            assert_eq!(
                measured.bad, 0,
                "{name} at {connections} connections: {} of {} answers were not a 200 without errors; the first: {} (summary.errors.status counts too)",
                measured.bad, measured.requests, measured.first_bad
            );
            eprintln!(
                "{name:<44} c={connections:<3} {:>9.0} req/s  p50 {:.3} ms  p99 {:.3} ms",
                measured.requests_per_second, measured.p50_ms, measured.p99_ms
            );
            self.rows.push(Row {
                name: name.to_owned(),
                connections,
                measured,
                baseline,
            });
        }
    }

    fn find(&self, name: &str, connections: u32) -> &Measured {
        &self
            .rows
            .iter()
            .find(|row| row.name == name && row.connections == connections)
            .unwrap_or_else(|| panic!("no row {name} at {connections}"))
            .measured
    }

    fn print(&self) {
        println!("| scenario | conns | req/s | p50 ms | p99 ms | vs baseline |");
        println!("|---|---:|---:|---:|---:|---|");
        for row in &self.rows {
            let m = &row.measured;
            let versus = row.baseline.map_or_else(String::new, |base| {
                let b = self.find(base, row.connections);
                format!(
                    "{:.0}% of {base}'s req/s, p50 {:+.3} ms, p99 {:+.3} ms",
                    100.0 * m.requests_per_second / b.requests_per_second,
                    m.p50_ms - b.p50_ms,
                    m.p99_ms - b.p99_ms
                )
            });
            println!(
                "| {} | {} | {:.0} | {:.3} | {:.3} | {versus} |",
                row.name, row.connections, m.requests_per_second, m.p50_ms, m.p99_ms
            );
        }
    }
}

fn check(label: &str, ok: bool, figure: String) {
    println!("- {} {label}: {figure}", if ok { "MET " } else { "MISS" });
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let seconds = std::env::var("LOAD_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let client = reqwest::Client::new();
    // LOAD_ONLY=replicas: the replica scenarios alone (they need redis-server); graph: graph mode.
    match std::env::var("LOAD_ONLY").as_deref() {
        Ok("replicas") => return replicas::run(seconds).await,
        Ok("graph") => return graph_only::run(seconds),
        _ => {}
    }

    let operations = graph_only::operations();
    let fast_graph = peers::upstream(Duration::ZERO, &operations);
    let slow_graph = peers::upstream(Duration::from_millis(25), &operations);
    let mut store = procs::Server::gateway("store", &[]);
    let mut creates = procs::Server::gateway("store (creates)", &["--store-capacity", "10000000"]);
    let mut graph = procs::Server::gateway(
        "graph",
        &[
            "--backend",
            "graph",
            "--graph-url",
            &format!("http://{fast_graph}/beta"),
            // The gateway's own cost is measured here, not the tenant's Intune budget.
            "--tenant-read-budget",
            "1000000",
        ],
    );
    let mut slow = procs::Server::gateway(
        "graph, 25 ms upstream",
        &[
            "--backend",
            "graph",
            "--graph-url",
            &format!("http://{slow_graph}/beta"),
            // The gateway's own cost is measured here, not the tenant's Intune budget.
            "--tenant-read-budget",
            "1000000",
        ],
    );
    let apollo = procs::Server::apollo();

    // The floor answers exactly what the store gateway answers for the by-id query.
    let lookup = by_id(FILE, OP);
    let expected = procs::send(&client, store.address, &lookup).await;
    let floor = peers::floor(expected.clone().into());
    // Setup through the API itself: 100 operations to list, one APQ registration.
    for _ in 0..100 {
        procs::send(
            &client,
            store.address,
            &post(CREATE, serde_json::json!({ "f": LIST_FILE })),
        )
        .await;
    }
    procs::send(&client, store.address, &register_apq()).await;
    let idle = [&mut store, &mut creates, &mut graph, &mut slow].map(|s| (s.name, s.rss_kib()));

    let mut bench = Bench {
        seconds,
        rows: Vec::new(),
    };
    bench.run("floor (axum, same bytes)", floor, &lookup, None);
    bench.run(
        "store: by id",
        store.address,
        &lookup,
        Some("floor (axum, same bytes)"),
    );
    bench.run_per_core(&lookup);
    bench.run(
        "store: { __typename }",
        store.address,
        &post("{ __typename }", serde_json::json!({})),
        Some("floor (axum, same bytes)"),
    );
    if let Some(apollo) = &apollo {
        bench.run("Apollo Server 5, Map: by id", apollo.address, &lookup, None);
    }
    bench.run(
        "store: APQ hash-only GET",
        store.address,
        &apq_get(),
        Some("floor (axum, same bytes)"),
    );
    bench.run(
        "store: create",
        creates.address,
        &post(CREATE, serde_json::json!({ "f": FILE })),
        Some("floor (axum, same bytes)"),
    );
    bench.run(
        "store: list first 100",
        store.address,
        &post(LIST, serde_json::json!({ "f": LIST_FILE })),
        Some("floor (axum, same bytes)"),
    );
    bench.run(
        "store: definition file with its operations",
        store.address,
        &post(FILE_WITH_OPERATIONS, serde_json::json!({ "id": FILE })),
        Some("floor (axum, same bytes)"),
    );
    let direct = Shot {
        method: "GET",
        // The read a graph-mode lookup makes: the file with its operations.
        path: format!(
            "/beta/deviceManagement/groupPolicyUploadedDefinitionFiles/{FILE}?$expand=groupPolicyOperations"
        ),
        headers: vec![],
        body: None,
    };
    bench.run(
        "upstream direct: GET file, $expand",
        fast_graph,
        &direct,
        None,
    );
    bench.run(
        "graph: by id",
        graph.address,
        &lookup,
        Some("upstream direct: GET file, $expand"),
    );
    bench.run(
        "graph: 100 aliased lookups",
        graph.address,
        &aliased_lookups(FILE, 100),
        Some("upstream direct: GET file, $expand"),
    );

    // Latency-bound: with 25 ms per upstream HTTP request, 100 lookups must cost about one.
    let single = wrk::run(slow.address, &lookup, 1, seconds);
    let hundred = wrk::run(slow.address, &aliased_lookups(FILE, 100), 1, seconds);
    assert_eq!(
        single.bad + hundred.bad,
        0,
        "25 ms upstream runs had failed answers"
    );

    println!("\n## Load benchmark ({seconds} s per run, wrk -t1)\n");
    bench.print();
    println!(
        "\nWith a 25 ms upstream, 1 connection: one lookup p50 {:.1} ms, 100 aliased lookups p50 {:.1} ms ({:.2}x).",
        single.p50_ms,
        hundred.p50_ms,
        hundred.p50_ms / single.p50_ms
    );
    println!("\n| process | idle RSS MiB | peak RSS MiB |\n|---|---:|---:|");
    let mut peak_max = 0.0f64;
    let mut idle_max = 0.0f64;
    for (server, (_, idle_kib)) in [&store, &creates, &graph, &slow].iter().zip(idle) {
        let peak = server.peak_rss_kib() as f64 / 1024.0;
        let idle = idle_kib as f64 / 1024.0;
        if server.name != "store (creates)" {
            peak_max = peak_max.max(peak);
        }
        idle_max = idle_max.max(idle);
        println!("| gateway, {} | {idle:.1} | {peak:.1} |", server.name);
    }
    if let Some(apollo) = &apollo {
        println!(
            "| Apollo Server 5 | {:.1} | {:.1} |",
            apollo.rss_kib() as f64 / 1024.0,
            apollo.peak_rss_kib() as f64 / 1024.0
        );
    }

    println!("\n### Targets (issue 21)\n");
    let floor32 = bench
        .find("floor (axum, same bytes)", 32)
        .requests_per_second;
    let store32 = bench.find("store: by id", 32).requests_per_second;
    check(
        "store by id >= 30% of the floor at 32 connections",
        store32 >= 0.3 * floor32,
        format!("{:.0}%", 100.0 * store32 / floor32),
    );
    if apollo.is_some() {
        let apollo32 = bench
            .find("Apollo Server 5, Map: by id", 32)
            .requests_per_second;
        check(
            "store by id >= 6x Apollo Server at 32 connections",
            store32 >= 6.0 * apollo32,
            format!("{:.1}x", store32 / apollo32),
        );
    }
    let typename32 = bench.find("store: { __typename }", 32).requests_per_second;
    check(
        "{ __typename } >= 40% of the floor at 32 connections",
        typename32 >= 0.4 * floor32,
        format!("{:.0}%", 100.0 * typename32 / floor32),
    );
    let list1 = bench.find("store: list first 100", 1);
    check(
        "a page of 100 p50 <= 0.30 ms at 1 connection",
        list1.p50_ms <= 0.30,
        format!("{:.3} ms", list1.p50_ms),
    );
    let (graph1, direct1) = (
        bench.find("graph: by id", 1),
        bench.find("upstream direct: GET file, $expand", 1),
    );
    check(
        "graph adds <= 0.25 ms p50 at 1 connection",
        graph1.p50_ms - direct1.p50_ms <= 0.25,
        format!("{:+.3} ms", graph1.p50_ms - direct1.p50_ms),
    );
    check(
        "graph adds <= 1 ms p99 at 1 connection",
        graph1.p99_ms - direct1.p99_ms <= 1.0,
        format!("{:+.3} ms", graph1.p99_ms - direct1.p99_ms),
    );
    check(
        "100 lookups <= 2x one lookup with a 25 ms upstream",
        hundred.p50_ms <= 2.0 * single.p50_ms,
        format!("{:.2}x", hundred.p50_ms / single.p50_ms),
    );
    check(
        "idle RSS <= 20 MB",
        idle_max <= 20.0 * 1e6 / 1048576.0,
        format!("{idle_max:.1} MiB"),
    );
    check(
        "peak RSS <= 48 MB (read scenarios)",
        peak_max <= 48.0 * 1e6 / 1048576.0,
        format!("{peak_max:.1} MiB"),
    );
    drop((store, creates, graph, slow));
    replicas::run(seconds).await;
}
