//! Clients that ask for large answers and never read them (issue 16, finding 2): the answers
//! waiting for them are bounded in bytes, their connections close once the write timeout
//! passes, and other clients keep being served meanwhile. Runs the real binary so that its
//! memory (VmRSS) is measured alone.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::support::helpers::assert_healthy;
use crate::support::process::{start, terminate};

const CLIENTS: usize = 64;
const OPERATIONS: usize = 100;
const DETAILS: usize = 6_400;

/// A seed with one file of 100 operations of 6.4 kB each: a batch of ten lists of it
/// answers about 6.5 MB.
fn seed() -> std::path::PathBuf {
    let mut seed: Value =
        serde_json::from_str(gpo_gateway::backend::store::DEMO_SEED).expect("the demo seed");
    let files = seed["definitionFiles"].as_array_mut().expect("files");
    files.truncate(1);
    let template = files[0]["operations"][0].clone();
    let operations: Vec<Value> = (0..OPERATIONS)
        .map(|n| {
            let mut op = template.clone();
            op["id"] = json!(format!("0c9e4b7a-1d2f-4a6b-8e3c-{n:012}"));
            op["statusDetails"] = json!("x".repeat(DETAILS));
            op
        })
        .collect();
    files[0]["operations"] = json!(operations);
    let path = crate::support::helpers::temp_store_path().with_extension("seed.json");
    std::fs::write(&path, seed.to_string()).expect("the seed is written");
    path
}

fn batch_request() -> String {
    let file = crate::support::helpers::DEMO_FILE;
    let list = format!(
        "{{ groupPolicyOperations(definitionFileId: \"{file}\", first: {OPERATIONS}) \
         {{ nodes {{ id statusDetails }} }} }}"
    );
    let body = json!(vec![json!({ "query": list }); 10]).to_string();
    format!(
        "POST /graphql HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn rss_bytes(pid: u32) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the status");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .expect("VmRSS");
    let kb: usize = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("a number");
    kb * 1024
}

/// A client that sends the batch and reads nothing (with a small receive buffer, so the
/// answer stays with the gateway rather than in the kernel).
async fn non_reader(addr: &str, request: &str) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("a socket");
    socket.set_recv_buffer_size(4096).expect("a small buffer");
    let mut stream = socket
        .connect(addr.parse().expect("an address"))
        .await
        .expect("connects");
    stream.write_all(request.as_bytes()).await.expect("sends");
    stream
}

/// Reads what the gateway sent until it closed the connection: the status and the bytes.
async fn drain(mut stream: TcpStream) -> (u16, usize) {
    let mut received = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match tokio::time::timeout(Duration::from_secs(60), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => received.extend_from_slice(&buf[..n]),
            Err(_) => panic!("the connection is still open"),
        }
    }
    let head = String::from_utf8_lossy(&received[..received.len().min(12)]).into_owned();
    let status = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, received.len())
}

#[tokio::test]
async fn clients_that_never_read_are_bounded_in_memory_closed_on_time_and_others_served() {
    let seed = seed();
    let (child, addr) = start(&[
        "--seed",
        seed.to_str().expect("a path"),
        // Long enough that several answers are held at once even when a loaded machine takes
        // over a second to build each, so the pending-bytes budget is reached and sheds.
        "--write-timeout=10s",
        "--max-pending-response-bytes=16777216",
        "--max-connections-per-address=256",
    ]);
    let pid = child.id();
    let request = batch_request();
    let url = format!("http://{addr}/graphql");
    let body = request.split("\r\n\r\n").nth(1).expect("a body").to_owned();
    let client = reqwest::Client::new();
    // One batch read in full first, so the baseline includes a warmed-up allocator.
    let answer = client
        .post(&url)
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await
        .expect("answers");
    assert_eq!(answer.status(), 200);
    let full = answer.bytes().await.expect("a body").len();
    assert!(full > 6_000_000, "the batch answers {full} bytes");
    let baseline = rss_bytes(pid);

    // One after another: each client is answered (it has bytes to read) before the next asks,
    // so what is measured is the memory answers hold while nobody reads them. Answers being
    // built at the same moment are bounded by the in-flight cap and the cost cap instead, and
    // how many overlap depends on how loaded the machine is.
    let mut clients = Vec::new();
    let mut probe = [0u8; 1];
    for _ in 0..CLIENTS {
        let client = non_reader(&addr, &request).await;
        tokio::time::timeout(Duration::from_secs(60), client.peek(&mut probe))
            .await
            .expect("answered within a minute")
            .expect("peeks");
        clients.push(client);
    }
    let answered = Instant::now();
    let grown = rss_bytes(pid).saturating_sub(baseline);
    // Meanwhile another client is served.
    assert_healthy(&client, addr).await;
    let small = client
        .post(&url)
        .header("content-type", "application/json")
        .body(r#"{"query":"{ __typename }"}"#)
        .send()
        .await
        .expect("a small query");
    assert_eq!(small.status(), 200);
    assert!(
        grown <= 64 * 1024 * 1024,
        "{CLIENTS} non-reading clients added {} MiB",
        grown / (1024 * 1024)
    );

    // After the write timeout, the held ones were closed: reading now gets part of the
    // answer, then the end of the connection.
    tokio::time::sleep_until((answered + Duration::from_secs(12)).into()).await;
    let (mut shed, mut cut) = (0, 0);
    for stream in clients {
        match drain(stream).await {
            (503, _) => shed += 1,
            (200, received) => {
                assert!(
                    received < full,
                    "a held answer was sent whole: {received} bytes"
                );
                cut += 1;
            }
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert_eq!(shed + cut, CLIENTS);
    assert!(cut >= 1 && shed >= 1, "{cut} cut off, {shed} shed");
    let (exit, log) = terminate(child).await;
    assert!(exit.success(), "{log}");
    let _ = std::fs::remove_file(&seed);
    eprintln!(
        "{CLIENTS} non-reading clients: {} MiB more, {cut} cut off, {shed} shed",
        grown / (1024 * 1024)
    );
}
