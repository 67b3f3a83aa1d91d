//! The real binary against hostile configuration and input: an empty cursor secret and a seed
//! that never ends are refused at start-up with a clear message; SIGTERM with a hostile upload
//! being processed exits within the drain bound; a request path cannot forge a text log line.

use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::files::sample;
use crate::support::helpers::AnswerJson;
use crate::support::helpers::temp_store_path;
use crate::support::process::{start, terminate};

/// Runs the binary with `args` and `env`, which must make it stop at start-up within 10 s.
fn refused_start(args: &[&str], env: &[(&str, &str)]) -> (ExitStatus, String, Duration) {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_gpo-gateway"))
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("{args:?} {env:?}: still running after 10 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr)
        .expect("stderr");
    (status, stderr, started.elapsed())
}

#[test]
fn an_empty_cursor_secret_stops_the_binary_naming_the_flag() {
    for (args, env) in [
        (&["--cursor-secret", ""][..], &[][..]),
        (&[][..], &[("GPO_GATEWAY_CURSOR_SECRET", "")][..]),
        (&["--cursor-secret", "   "][..], &[][..]),
    ] {
        let (status, stderr, _) = refused_start(args, env);
        assert_eq!(status.code(), Some(2), "{args:?} {env:?}: {stderr}");
        assert!(stderr.contains("--cursor-secret"), "{stderr}");
        assert!(stderr.contains("must not be empty"), "{stderr}");
    }
}

#[test]
fn a_seed_that_is_not_a_bounded_regular_file_is_refused_at_once() {
    let (status, stderr, took) = refused_start(&["--seed", "/dev/zero"], &[]);
    assert!(!status.success(), "{stderr}");
    assert!(stderr.contains("not a regular file"), "{stderr}");
    assert!(took < Duration::from_secs(5), "{took:?}");

    // Sparse: 65 MiB long without writing it.
    let big = temp_store_path().with_extension("json");
    std::fs::File::create(&big)
        .expect("created")
        .set_len(65 * 1024 * 1024)
        .expect("sized");
    let (status, stderr, _) = refused_start(&["--seed", big.to_str().expect("a path")], &[]);
    assert!(!status.success(), "{stderr}");
    assert!(stderr.contains("larger than 67108864 bytes"), "{stderr}");
    let _ = std::fs::remove_file(&big);
}

/// The review's ADMX: 110,000 distinct attributes on its root (about 990 KB).
fn hostile_admx() -> String {
    let mut text = String::from("<policyDefinitions revision=\"1.0\"");
    for i in 0..110_000 {
        text.push_str(&format!(" a{i:0>4x}=\"\""));
    }
    text.push_str("/>");
    text
}

#[tokio::test]
async fn sigterm_with_a_hostile_upload_being_processed_exits_within_the_drain_bound() {
    let (child, addr) = start(&[
        "--shutdown-timeout",
        "3s",
        "--store-processing-delay",
        "200ms",
    ]);
    let input = json!({
        "fileName": "hostile.admx",
        "content": STANDARD.encode(hostile_admx()),
        "defaultLanguageCode": "en-US",
        "groupPolicyUploadedLanguageFiles": [{
            "fileName": "contoso-browser.adml", "languageCode": "en-US",
            "content": sample("en-US/contoso-browser.adml")
        }]
    });
    let answer: serde_json::Value = reqwest::Client::new()
        .post(format!("http://{addr}/graphql"))
        .json(&json!({
            "query": "mutation($i: UploadGroupPolicyDefinitionFileInput!) { uploadGroupPolicyDefinitionFile(input: $i) { status } }",
            "variables": { "i": input }
        }))
        .answer_json().await;
    assert_eq!(
        answer["data"]["uploadGroupPolicyDefinitionFile"]["status"], "UPLOAD_IN_PROGRESS",
        "{answer}"
    );
    let stopping = Instant::now();
    let (exit, log) = terminate(child).await;
    let took = stopping.elapsed();
    assert!(
        took < Duration::from_secs(5),
        "exited after {took:?}\n{log}"
    );
    assert!(exit.success(), "{exit:?}\n{log}");
}

#[tokio::test]
async fn a_request_path_cannot_forge_a_text_log_field() {
    let (child, addr) = start(&["--log-format", "text"]);
    let mut stream = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connects");
    stream
        .write_all(b"GET /graphql\"status=200 HTTP/1.1\r\nHost: g\r\nConnection: close\r\n\r\n")
        .await
        .expect("sent");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    assert!(
        String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 "),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    let (_, log) = terminate(child).await;
    let line = log
        .lines()
        .find(|line| line.contains("request finished") && line.contains("status=200"))
        .unwrap_or_else(|| panic!("no request line for the path in:\n{log}"));
    // The path is a quoted, escaped field (`otel.name` is only recorded when traces are on).
    assert!(line.contains(r#"path="/graphql\"status=200""#), "{line}");
    assert!(!line.contains(" status=200"), "{line}");
}
