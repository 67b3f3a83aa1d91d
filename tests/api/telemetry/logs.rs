//! What the gateway writes for its operator besides metrics: JSON log lines that carry the
//! request's ids, and the schema printed by the `schema` subcommand without serving.

use super::*;

#[tokio::test]
async fn json_logs_parse_line_by_line_and_carry_the_request_ids() {
    let (child, addr) = start(&["--log-format", "json"]);
    let client_request_id = guid();
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let answer = reqwest::Client::new()
        .post(format!("http://{addr}/graphql"))
        .bearer_auth(TOKEN)
        .header("client-request-id", &client_request_id)
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .expect("an answer");
    assert_eq!(answer.status(), 200);
    let (_, log) = terminate(child).await;
    let lines: Vec<Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let finished = lines
        .iter()
        .find(|line| {
            line["fields"]["message"] == "request finished" && line["span"]["path"] == "/graphql"
        })
        .unwrap_or_else(|| panic!("no request line in {log}"));
    assert_eq!(
        finished["span"]["client_request_id"],
        json!(client_request_id),
        "{finished}"
    );
    assert_eq!(finished["span"]["trace_id"], json!(trace_id), "{finished}");
    assert_eq!(finished["fields"]["status"], 200, "{finished}");
    assert!(!log.contains(TOKEN), "the token is in the log");
}

#[test]
fn the_schema_command_prints_schema_graphql_without_serving() {
    let run = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_gpo-gateway"))
            .args(args)
            .output()
            .expect("the binary runs");
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout).expect("UTF-8")
    };
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema.graphql");
    let snapshot = std::fs::read_to_string(path).expect("schema.graphql");
    assert_eq!(run(&["schema"]), snapshot);
    let federation = run(&["schema", "--federation"]);
    assert!(
        federation.contains("type GroupPolicyOperation @key(fields: \"definitionFileId id\")"),
        "{federation}"
    );
    assert!(federation.contains("extend schema @link("), "{federation}");
    // The server's own flags still parse next to the subcommand.
    assert_eq!(run(&["--production", "schema"]), snapshot);
}
