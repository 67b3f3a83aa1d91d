//! The request line at INFO: every request by default, and with `--request-log-sample N` one
//! ordinary request in N while every error status is still logged.

use crate::support::helpers::TOKEN;
use crate::support::process::{start, terminate};

/// Sends seven good requests and one malformed body to a gateway started with `args`; returns
/// how many request lines it logged for answers of 200 and of 400.
async fn lines_logged(args: &[&str]) -> (usize, usize) {
    let (child, addr) = start(args);
    let client = reqwest::Client::new();
    let url = format!("http://{addr}/graphql");
    for _ in 0..7 {
        let response = client
            .post(&url)
            .bearer_auth(TOKEN)
            .json(&serde_json::json!({ "query": "{ __typename }" }))
            .send()
            .await
            .expect("the gateway answers");
        assert_eq!(response.status(), 200);
    }
    let response = client
        .post(&url)
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body("{ not json")
        .send()
        .await
        .expect("the gateway answers");
    assert_eq!(response.status(), 400);
    let (_, log) = terminate(child).await;
    let finished = |status: &str| {
        log.lines()
            .filter(|line| line.contains("request finished") && line.contains(status))
            .count()
    };
    (finished("status=200"), finished("status=400"))
}

#[tokio::test]
async fn every_request_line_is_logged_by_default() {
    assert_eq!(lines_logged(&[]).await, (7, 1));
}

#[tokio::test]
async fn a_sample_keeps_one_ordinary_line_in_n_and_every_error() {
    assert_eq!(lines_logged(&["--request-log-sample", "3"]).await, (3, 1));
}
