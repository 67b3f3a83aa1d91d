//! Operation names reach the metrics bounded in length and in total: a hundred operations
//! named with a megabyte each (the review's attack added 332 MiB for good and made each scrape
//! 200 MB) leave `/metrics` small, with none of the names in it.

use axum::body::Body;
use axum::http::{Request, header};
use serde_json::json;
use tower::ServiceExt;

use crate::support::helpers::AllBytes;
use crate::support::helpers::config;

async fn text(router: &axum::Router, request: Request<Body>) -> String {
    let response = router.clone().oneshot(request).await.expect("an answer");
    let body = response.into_body().all_bytes().await;
    String::from_utf8_lossy(&body).into_owned()
}

#[tokio::test]
async fn a_hundred_one_megabyte_operation_names_leave_the_metrics_small() {
    let config = config();
    let store = gpo_gateway::store(&config).expect("a store");
    let app = gpo_gateway::app_with_store(&config, store);
    let tail = "x".repeat(1_000_000);
    for i in 0..100 {
        let query = format!("query N{i:03}{tail} {{ __typename }}");
        let request = Request::post("/graphql")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(json!({ "query": query }).to_string()))
            .expect("a request");
        let answer = text(&app.router, request).await;
        assert!(answer.contains("\"__typename\":\"Query\""), "{answer:.300}");
    }
    let metrics = text(
        &app.metrics,
        Request::get("/metrics")
            .body(Body::empty())
            .expect("a request"),
    )
    .await;
    assert!(metrics.len() < 256 * 1024, "{} bytes", metrics.len());
    assert!(
        !metrics.contains(&"x".repeat(100)),
        "a long name is in the metrics"
    );
    // The first names are kept, cut and marked; later ones fold into the overflow label
    // once the names' bytes are spent (the registry is shared with other tests).
    let kept = format!("N000{}__truncated", "x".repeat(44));
    assert!(
        metrics.contains(&kept) || metrics.contains("operation_name=\"__other\""),
        "{metrics}"
    );
}
