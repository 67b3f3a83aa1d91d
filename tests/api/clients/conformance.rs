//! GraphQL over HTTP as its spec says: the spec's own conformance suite (the `graphql-http`
//! package's server audits, `tests/http-audit/`) against a store-mode gateway on a TCP port.
//! Every audit must pass: a SHOULD (a warning in the audit) fails this test like a MUST.
//! Needs Node.js and npm, as the client tests do.

use std::path::Path;

use crate::clients::{blocking, demo_gateway, node_script};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_graphql_over_http_audit_passes_every_check() {
    let base_url = demo_gateway().await;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/http-audit");
    blocking(move || node_script(&dir, "audit.mjs", &base_url)).await;
}
