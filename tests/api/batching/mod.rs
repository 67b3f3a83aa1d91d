//! Lookup batches: the lookups of one execution step become one store call, or few Graph
//! `$batch` calls of at most 20 sub-requests, each key fetched once, each sub-response judged on
//! its own, and never mixing two callers.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use gpo_gateway::backend::Backend;
use serde_json::{Value, json};

use crate::support::backend::DelegatingBackend;
use crate::support::helpers::*;
use fake_graph::{Canned, FakeGraph, Match, Recorded};

mod graph_failures;
mod graph_mode;
mod store_mode;

/// One aliased lookup in a generated query.
struct Lookup {
    alias: String,
    id: String,
    selection: &'static str,
}

fn lookup(alias: impl Into<String>, id: &str, selection: &'static str) -> Lookup {
    Lookup {
        alias: alias.into(),
        id: id.to_owned(),
        selection,
    }
}

/// An aliased lookup `k<i>` of `selection` for each of `ids`.
fn aliased(ids: &[String], selection: &'static str) -> Vec<Lookup> {
    ids.iter()
        .enumerate()
        .map(|(i, id)| lookup(format!("k{i}"), id, selection))
        .collect()
}

/// Asserts that each alias `k<i>` of `data` is operation `ids[i]` with statusDetails
/// "details <i>".
fn assert_details(data: &Value, ids: &[String]) {
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(
            data[format!("k{i}")],
            json!({ "id": id, "statusDetails": format!("details {i}") }),
            "k{i}"
        );
    }
}

/// `query($f: ID!) { alias: groupPolicyOperation(definitionFileId: $f, id: "…") { … } … }`
fn lookups_query(lookups: &[Lookup]) -> String {
    let mut query = String::from("query Many($f: ID!) {\n");
    for l in lookups {
        query.push_str(&format!(
            "  {}: groupPolicyOperation(definitionFileId: $f, id: \"{}\") {{ {} }}\n",
            l.alias, l.id, l.selection
        ));
    }
    query.push('}');
    query
}

fn is_batch_post(r: &Recorded) -> bool {
    !r.in_batch
        && r.method == "POST"
        && (r.path.ends_with("/$batch") || r.path.eq_ignore_ascii_case("/beta/%24batch"))
}

/// The outer `POST /$batch` requests, in arrival order.
fn batch_posts(graph: &FakeGraph) -> Vec<Recorded> {
    graph.requests().into_iter().filter(is_batch_post).collect()
}

/// The sub-requests the fake unpacked from batches.
fn sub_requests(graph: &FakeGraph) -> Vec<Recorded> {
    graph
        .requests()
        .into_iter()
        .filter(|r| r.in_batch)
        .collect()
}

/// The operation id a recorded (sub-)request addressed: the path's last segment.
fn addressed_id(r: &Recorded) -> String {
    r.path.rsplit('/').next().unwrap_or_default().to_lowercase()
}

/// The operation ids an outer `$batch` POST carried, from its body.
fn batch_ids(r: &Recorded) -> Vec<String> {
    let body = r.body.as_ref().expect("a JSON $batch body");
    body["requests"]
        .as_array()
        .expect("a requests array")
        .iter()
        .map(|sub| {
            let url = sub["url"].as_str().expect("a url");
            assert!(!url.starts_with("http"), "absolute url {url}");
            let path = url.split('?').next().unwrap_or(url);
            path.rsplit('/').next().unwrap_or_default().to_lowercase()
        })
        .collect()
}

/// How many sub-requests addressed each id.
fn sub_counts(graph: &FakeGraph) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for r in sub_requests(graph) {
        assert_eq!(r.method, "GET", "{r:?}");
        *counts.entry(addressed_id(&r)).or_default() += 1;
    }
    counts
}

fn plain_gets(graph: &FakeGraph) -> usize {
    graph.count(&Match::method("GET").in_batch(false))
}

fn errors(body: &Value) -> Vec<Value> {
    body["errors"].as_array().cloned().unwrap_or_default()
}

/// Inserts `n` operations with `statusDetails` "details <i>" and a status cycling through
/// Graph's members; returns their ids.
fn insert_many(graph: &FakeGraph, file: &str, n: usize) -> Vec<String> {
    let statuses = ["unknown", "inProgress", "success", "failed"];
    (0..n)
        .map(|i| {
            graph.insert_op(
                file,
                "upload",
                statuses[i % statuses.len()],
                Some(&format!("details {i}")),
            )
        })
        .collect()
}

fn contract_status(graph_status: &str) -> &'static str {
    match graph_status {
        "unknown" => "UNKNOWN",
        "inProgress" => "IN_PROGRESS",
        "success" => "SUCCESS",
        "failed" => "FAILED",
        other => panic!("unexpected status {other}"),
    }
}
