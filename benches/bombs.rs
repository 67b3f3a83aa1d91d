//! How long the gateway takes to refuse each query bomb of issue 8 (fragment fan-outs,
//! introspection cycles, aliases, directives, variables, nesting, a batch of bombs), sent
//! through the real router with the default limits, store mode with the demo data.
//!
//! Run: `cargo bench --bench bombs`. It prints, per bomb, the request size, the median and
//! the slowest refusal time over `RUNS` runs (after one warm-up), and whether the median
//! meets the 5 ms target. Each refusal is also checked to carry the expected code.

#[path = "../tests/api/support/bombs.rs"]
mod bombs;

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, header};
use gpo_gateway::Config;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

const RUNS: usize = 31;
const TARGET: Duration = Duration::from_millis(5);
/// The demo data's definition file.
const DEMO_FILE: &str = "a1f5c3d2-7b64-4e0f-9c21-3d8e5f6a7b01";

async fn refuse(router: &axum::Router, body: &[u8]) -> (Duration, Value) {
    let request = Request::post("/graphql")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_vec()))
        .expect("request");
    let started = Instant::now();
    let response = router.clone().oneshot(request).await.expect("answer");
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let elapsed = started.elapsed();
    (elapsed, serde_json::from_slice(&bytes).expect("JSON"))
}

fn codes(answer: &Value) -> Vec<&str> {
    let answers = match answer {
        Value::Array(answers) => answers.iter().collect(),
        single => vec![single],
    };
    answers
        .into_iter()
        .map(|a| {
            a["errors"][0]["extensions"]["code"]
                .as_str()
                .unwrap_or("none")
        })
        .collect()
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let router = gpo_gateway::app(&Config::defaults())
        .expect("gateway")
        .router;
    println!("| bomb | request | median | slowest | <= 5 ms |");
    println!("|---|---:|---:|---:|:---:|");
    let mut missed = 0;
    for bomb in bombs::all(DEMO_FILE) {
        let body = bomb.body.to_string().into_bytes();
        let (_, answer) = refuse(&router, &body).await;
        let found = codes(&answer);
        assert!(
            found.iter().all(|code| *code == bomb.code),
            "{}: expected {}, got {found:?}",
            bomb.name,
            bomb.code
        );
        let mut times = Vec::with_capacity(RUNS);
        for _ in 0..RUNS {
            times.push(refuse(&router, &body).await.0);
        }
        times.sort();
        let median = times[RUNS / 2];
        let met = median <= TARGET;
        missed += usize::from(!met);
        println!(
            "| {} | {:.1} KB | {:.2} ms | {:.2} ms | {} |",
            bomb.name,
            body.len() as f64 / 1024.0,
            median.as_secs_f64() * 1e3,
            times[RUNS - 1].as_secs_f64() * 1e3,
            if met { "yes" } else { "NO" }
        );
    }
    println!("\n{missed} bomb(s) over the {TARGET:?} target (median of {RUNS} runs).");
}
