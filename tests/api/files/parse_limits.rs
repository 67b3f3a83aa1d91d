//! Definition files built to make the XML parser work quadratically or recurse (the second
//! security review's files) end `UPLOAD_FAILED` with a reason within about a second, and while
//! they are processed the gateway keeps answering: `/healthz` probes sent throughout all come
//! back fast, because files are read off the async workers and outside the store's lock.

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::support::files::{get_file, sample, upload, upload_file};
use crate::support::helpers::{Mode, TestApp, assert_healthy, config, serve_tcp, temp_store_path};

/// A probe slower than this means a worker was blocked (the review measured 20 s).
const PROBE_BOUND: Duration = Duration::from_millis(100);
/// Probes may be slow now and then on a loaded machine; a blocked worker makes them all slow.
const SLOW_PROBES_ALLOWED: usize = 2;

/// An ADMX whose root carries `attributes` distinct attributes (about 9 bytes each).
fn many_attributes(attributes: usize) -> String {
    let mut text = String::from("<policyDefinitions revision=\"1.0\"");
    for i in 0..attributes {
        text.push_str(&format!(" a{i:0>4x}=\"\""));
    }
    text.push_str(
        "><policyNamespaces><target prefix=\"p\" namespace=\"P.Policies\"/>\
                   </policyNamespaces></policyDefinitions>",
    );
    text
}

/// An ADMX whose root declares `declarations` namespaces.
fn many_namespaces(declarations: usize) -> String {
    let mut text = String::from("<policyDefinitions revision=\"1.0\"");
    for i in 0..declarations {
        text.push_str(&format!(" xmlns:p{i}=\"u\""));
    }
    text.push_str("/>");
    text
}

/// An ADMX with `depth` nested elements.
fn deeply_nested(depth: usize) -> String {
    format!(
        "<policyDefinitions revision=\"1.0\">{}{}</policyDefinitions>",
        "<a>".repeat(depth),
        "</a>".repeat(depth)
    )
}

fn upload_input(admx: &str) -> Value {
    json!({
        "fileName": "hostile.admx",
        "content": STANDARD.encode(admx),
        "defaultLanguageCode": "en-US",
        "groupPolicyUploadedLanguageFiles": [{
            "fileName": "contoso-browser.adml", "languageCode": "en-US",
            "content": sample("en-US/contoso-browser.adml")
        }]
    })
}

/// What probing `/healthz` while the work ran showed.
struct Probes {
    count: usize,
    slow: Vec<Duration>,
}

/// Probes `/healthz` at `addr` until `file` is settled; returns the probes and the file.
async fn probe_until_settled(
    app: &TestApp,
    addr: std::net::SocketAddr,
    file: &str,
) -> (Probes, Value) {
    let client = reqwest::Client::new();
    let mut probes = Probes {
        count: 0,
        slow: Vec::new(),
    };
    let started = Instant::now();
    loop {
        let sent = Instant::now();
        assert_healthy(&client, addr).await;
        let took = sent.elapsed();
        probes.count += 1;
        if took > PROBE_BOUND {
            probes.slow.push(took);
        }
        let read = app.data(&get_file(), json!({ "id": file })).await;
        let state = read["groupPolicyUploadedDefinitionFile"].clone();
        let busy = state["status"]
            .as_str()
            .is_some_and(|s| s.ends_with("_IN_PROGRESS"));
        if !busy {
            return (probes, state);
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "still processing after 20 s: {state}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn app() -> TestApp {
    let mut config = config();
    config.store.store_processing_delay = Duration::from_millis(100);
    TestApp::with_config(Mode::Store, config).await
}

/// Uploads `admx`; checks that it ends `UPLOAD_FAILED` with `reason` within about a second of
/// processing starting, and that `/healthz` stayed fast meanwhile.
async fn refused_quickly(admx: &str, reason: &str) {
    let app = app().await;
    let addr = serve_tcp(app.router.clone()).await;
    let uploaded = app
        .data(&upload(), json!({ "input": upload_input(admx) }))
        .await;
    let accepted = Instant::now();
    let id = uploaded["uploadGroupPolicyDefinitionFile"]["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    let (probes, file) = probe_until_settled(&app, addr, &id).await;
    let took = accepted.elapsed();
    assert_eq!(file["status"], "UPLOAD_FAILED", "{file}");
    let op = &file["groupPolicyOperations"]["nodes"][0];
    assert_eq!(op["operationStatus"], "FAILED", "{op}");
    let details = op["statusDetails"].as_str().expect("a reason");
    assert!(details.contains(reason), "{details}");
    assert!(details.ends_with("(ContentParsingException)"), "{details}");
    // The processing delay is 100 ms; "about a second" after it, with room for a loaded machine.
    assert!(took < Duration::from_secs(2), "settled after {took:?}");
    assert!(probes.count >= 1);
    assert!(
        probes.slow.len() <= SLOW_PROBES_ALLOWED,
        "{} of {} probes took over {PROBE_BOUND:?}: {:?}",
        probes.slow.len(),
        probes.count,
        probes.slow
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admx_with_110_000_root_attributes_fails_fast_and_never_blocks_healthz() {
    let admx = many_attributes(110_000);
    assert!((900_000..1_048_576).contains(&admx.len()), "{}", admx.len());
    refused_quickly(&admx, "more than 32 attributes").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admx_declaring_11_000_namespaces_fails_fast_and_never_blocks_healthz() {
    let admx = many_namespaces(11_000);
    assert!((170_000..190_000).contains(&admx.len()), "{}", admx.len());
    refused_quickly(&admx, "more than 32 attributes").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admx_nested_5_000_deep_fails_without_overflowing_the_stack() {
    refused_quickly(&deeply_nested(5_000), "nested more than 64 deep").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespaces_spread_over_elements_are_counted_in_all() {
    let spread: String = (0..40).map(|i| format!("<e xmlns:q{i}=\"u\"/>")).collect();
    let admx = format!("<policyDefinitions revision=\"1.0\">{spread}</policyDefinitions>");
    refused_quickly(&admx, "declares more than 32 namespaces").await;
}

/// A seed holding one AVAILABLE file whose ADMX has 110,000 root attributes, as a gateway
/// without the limits would have stored it after a 20 s parse.
fn pathological_seed(file: &str) -> std::path::PathBuf {
    let seed = json!({ "definitionFiles": [{
        "id": file,
        "status": "available",
        "contents": {
            "fileName": "hostile.admx",
            "content": STANDARD.encode(many_attributes(110_000)),
            "defaultLanguageCode": "en-US",
            "languageFiles": [{
                "fileName": "contoso-browser.adml", "languageCode": "en-US",
                "content": sample("en-US/contoso-browser.adml"),
                "lastModifiedDateTime": "2024-01-01T00:00:00Z"
            }]
        },
        "operations": []
    }]});
    let path = temp_store_path().with_extension("json");
    std::fs::write(&path, seed.to_string()).expect("the seed is written");
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_action_on_a_stored_pathological_file_fails_fast_and_never_blocks_healthz() {
    let file = "7d3b5a4e-1111-4222-8333-444455556666";
    let seed = pathological_seed(file);
    let mut config = config();
    config.store.store_processing_delay = Duration::from_millis(100);
    config.store.no_seed = false;
    config.store.seed = Some(seed.clone());
    let app = TestApp::with_config(Mode::Store, config).await;
    let addr = serve_tcp(app.router.clone()).await;
    let body = json!({
        "query": "mutation($id: ID!, $f: [GroupPolicyUploadedLanguageFileInput!]!) { \
                  addGroupPolicyLanguageFiles(definitionFileId: $id, languageFiles: $f) { id } }",
        "variables": { "id": file, "f": [{ "fileName": "x.adml", "languageCode": "de-DE",
            "content": STANDARD.encode("<policyDefinitionResources/>") }] }
    });
    assert!(body.to_string().len() < 600, "{}", body.to_string().len());
    let (status, _, answer) = app.post(body).await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer.get("errors").is_none(), "{answer}");
    let accepted = Instant::now();
    let (probes, state) = probe_until_settled(&app, addr, file).await;
    assert!(
        accepted.elapsed() < Duration::from_secs(2),
        "{:?}",
        accepted.elapsed()
    );
    // An action that fails leaves the file as it was.
    assert_eq!(state["status"], "AVAILABLE", "{state}");
    let op = &state["groupPolicyOperations"]["nodes"][0];
    assert_eq!(op["operationType"], "ADD_LANGUAGE_FILES", "{op}");
    assert_eq!(op["operationStatus"], "FAILED", "{op}");
    let details = op["statusDetails"].as_str().expect("a reason");
    assert!(details.contains("more than 32 attributes"), "{details}");
    assert!(
        probes.slow.len() <= SLOW_PROBES_ALLOWED,
        "{:?}",
        probes.slow
    );
    let _ = std::fs::remove_file(&seed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_valid_file_still_reads() {
    // Within every limit: 7,000 policies of six attributes, about 850 KB.
    let policies: String = (0..7_000)
        .map(|i| {
            format!(
                "<policy name=\"P{i}\" class=\"Machine\" displayName=\"$(string.S)\" \
                 explainText=\"$(string.S)\" key=\"Software\\P\" valueName=\"V{i}\"/>"
            )
        })
        .collect();
    let admx = format!(
        "<policyDefinitions revision=\"1.0\"><policyNamespaces>\
         <target prefix=\"p\" namespace=\"P.Policies\"/></policyNamespaces>\
         <policies>{policies}</policies></policyDefinitions>"
    );
    assert!(admx.len() < 1_048_576, "{}", admx.len());
    let adml = "<policyDefinitionResources revision=\"1.0\"><resources><stringTable>\
                <string id=\"S\">s</string></stringTable></resources></policyDefinitionResources>";
    let app = app().await;
    let addr = serve_tcp(app.router.clone()).await;
    let mut input = upload_input(&admx);
    input["groupPolicyUploadedLanguageFiles"][0]["content"] = json!(STANDARD.encode(adml));
    let id = upload_file(&app, input).await;
    let (_, file) = probe_until_settled(&app, addr, &id).await;
    assert_eq!(file["status"], "AVAILABLE", "{file}");
    let details = file["groupPolicyOperations"]["nodes"][0]["statusDetails"]
        .as_str()
        .expect("details")
        .to_owned();
    assert!(details.contains("7000 policies"), "{details}");
}
