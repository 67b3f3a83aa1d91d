//! Real clients against a real socket: the Node tests in `tests/clients/` (Apollo Client 4 with
//! its HTTP, batch, persisted-query and WebSocket links; the playground in a headless
//! Chromium) run against a store-mode gateway with the demo data served on a TCP port.
//!
//! Needs Node.js and npm (`scripts/npm-install`, which states the version, installs
//! `tests/clients/node_modules` from the committed lockfile when it is missing or stale) and,
//! for the browser tests, Debian's Chromium (`apt-get install chromium`; `CHROMIUM_PATH`
//! points elsewhere) and a build with the playground bundle (`playground/build.sh`). `.ci/run`
//! sets all of that up; a missing piece fails the test with a message saying what to install:
//! these tests never skip.

mod conformance;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::support::helpers::{Mode, TestApp, serve_tcp};
use fake_graph::FakeGraph;

/// Time allowed for one `node --test` run; its own tests time out sooner.
const NODE_TIMEOUT: Duration = Duration::from_secs(180);
/// Time allowed for `scripts/npm-install` (an `npm ci` when the packages are stale).
const NPM_TIMEOUT: Duration = Duration::from_secs(300);
/// Serialises `npm ci` between the tests of this module, which run in parallel.
static NPM: Mutex<()> = Mutex::new(());

fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

fn chromium_path() -> PathBuf {
    std::env::var_os("CHROMIUM_PATH")
        .filter(|p| !p.is_empty())
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from)
}

/// What a finished (or killed) child printed.
struct Run {
    /// `None` when it ran out of time and was killed.
    status: Option<ExitStatus>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

impl Run {
    fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    fn describe(&self, what: &str, timeout: Duration) -> String {
        let outcome = match self.status {
            Some(status) => format!("exited with {status}"),
            None => format!(
                "did not finish within {} s and was killed",
                timeout.as_secs()
            ),
        };
        format!(
            "{what} {outcome} after {:.1} s\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.elapsed.as_secs_f64(),
            self.stdout,
            self.stderr
        )
    }
}

/// Runs `command` in its own process group, capturing its output; kills the whole group when
/// it takes longer than `timeout` (node runs each test file in a child process).
fn run(mut command: Command, timeout: Duration) -> std::io::Result<Run> {
    use std::os::unix::process::CommandExt;

    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()?;
    let stdout = drain(child.stdout.take().expect("piped stdout"));
    let stderr = drain(child.stderr.take().expect("piped stderr"));
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if started.elapsed() > timeout {
            // The group id is the child's pid (process_group(0)).
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(50));
    };
    // A grandchild that escaped the group could hold the pipes open: do not wait for it.
    let collect = |rx: mpsc::Receiver<String>| {
        rx.recv_timeout(Duration::from_secs(5))
            .unwrap_or_else(|_| "(output still open after the process ended)".to_owned())
    };
    Ok(Run {
        status,
        stdout: collect(stdout),
        stderr: collect(stderr),
        elapsed: started.elapsed(),
    })
}

/// Reads a pipe to its end on a thread; the text arrives on the returned channel.
fn drain(mut pipe: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        let _ = tx.send(String::from_utf8_lossy(&bytes).into_owned());
    });
    rx
}

/// Installs `tests/clients/node_modules` from the lockfile unless it is up to date.
fn ensure_node_modules() {
    let _guard = NPM.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut command = Command::new(root.join("scripts/npm-install"));
    command.arg(clients_dir()).current_dir(root);
    let result = run(command, NPM_TIMEOUT)
        .unwrap_or_else(|e| panic!("could not run scripts/npm-install: {e}"));
    assert!(
        result.succeeded(),
        "{}",
        result.describe("`scripts/npm-install tests/clients`", NPM_TIMEOUT)
    );
}

/// Runs one Node test file against `base_url` and fails with node's output unless it passes.
fn node_test(file: &str, base_url: &str) {
    node_test_with(file, base_url, &[]);
}

/// Like [`node_test`], with extra environment variables.
fn node_test_with(file: &str, base_url: &str, env: &[(&str, &str)]) {
    ensure_node_modules();
    let node = std::env::var("GPO_GATEWAY_NODE").unwrap_or_else(|_| "node".to_owned());
    let mut command = Command::new(&node);
    command
        .args(["--test", "--test-timeout=120000", file])
        .current_dir(clients_dir())
        .env("GATEWAY_URL", base_url)
        .env("CHROMIUM_PATH", chromium_path())
        .envs(env.iter().copied())
        .env_remove("NODE_OPTIONS");
    let result = match run(command, NODE_TIMEOUT) {
        Ok(result) => result,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            panic!(
                "`{node}` was not found: the client tests need Node.js (see scripts/npm-install)"
            )
        }
        Err(e) => panic!("could not run `{node} --test {file}`: {e}"),
    };
    let description = result.describe(&format!("`node --test {file}`"), NODE_TIMEOUT);
    assert!(result.succeeded(), "{description}");
    // Shown with --nocapture: how long it took and the runner's summary.
    eprintln!("{description}");
}

/// Runs `node SCRIPT` in `dir` (a folder with its own committed lockfile, installed first)
/// against `base_url`, and fails with its output unless it exits 0.
pub(crate) fn node_script(dir: &Path, script: &str, base_url: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    {
        let _guard = NPM.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut command = Command::new(root.join("scripts/npm-install"));
        command.arg(dir).current_dir(root);
        let result = run(command, NPM_TIMEOUT)
            .unwrap_or_else(|e| panic!("could not run scripts/npm-install: {e}"));
        assert!(
            result.succeeded(),
            "{}",
            result.describe("`scripts/npm-install`", NPM_TIMEOUT)
        );
    }
    let node = std::env::var("GPO_GATEWAY_NODE").unwrap_or_else(|_| "node".to_owned());
    let mut command = Command::new(&node);
    command
        .arg(script)
        .current_dir(dir)
        .env("GATEWAY_URL", base_url)
        .env_remove("NODE_OPTIONS");
    let result = run(command, NODE_TIMEOUT)
        .unwrap_or_else(|e| panic!("could not run `{node} {script}` (Node.js is needed): {e}"));
    let description = result.describe(&format!("`node {script}`"), NODE_TIMEOUT);
    assert!(result.succeeded(), "{description}");
    eprintln!("{description}");
}

/// Runs `f` off the runtime's threads (which keep serving the gateway), re-raising its panic.
pub(crate) async fn blocking(f: impl FnOnce() + Send + 'static) {
    if let Err(e) = tokio::task::spawn_blocking(f).await {
        match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("the client test task failed: {e}"),
        }
    }
}

/// A store-mode gateway with the demo data on a loopback port; returns its base URL.
pub(crate) async fn demo_gateway() -> String {
    let app = TestApp::demo().await;
    let addr = serve_tcp(app.router.clone()).await;
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apollo_client_4_against_the_store_gateway() {
    let base_url = demo_gateway().await;
    blocking(move || node_test("apollo.test.mjs", &base_url)).await;
}

/// A Graph-mode gateway over the fake Graph holding the demo data (polling fast, so live
/// updates arrive quickly); returns its base URL and the fake.
async fn demo_graph_gateway() -> (String, FakeGraph) {
    let mut config = crate::support::helpers::config();
    config.graph.poll_interval = std::time::Duration::from_millis(100);
    let app = TestApp::with_config(Mode::Graph, config).await;
    app.graph()
        .set_auto_process(std::time::Duration::from_millis(300));
    let seed: serde_json::Value =
        serde_json::from_str(gpo_gateway::backend::store::DEMO_SEED).expect("demo seed");
    for file in seed["definitionFiles"].as_array().expect("files") {
        let file_id = file["id"].as_str().expect("id");
        for op in file["operations"].as_array().expect("operations") {
            app.graph().insert(file_id, op.clone());
        }
    }
    let addr = serve_tcp(app.router.clone()).await;
    (format!("http://{addr}"), app.graph().clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apollo_client_4_against_the_graph_gateway() {
    let (base_url, graph) = demo_graph_gateway().await;
    blocking(move || {
        node_test_with(
            "apollo.test.mjs",
            &base_url,
            &[("GATEWAY_TOKEN", "apollo-user-token")],
        )
    })
    .await;
    let requests = graph.requests();
    assert!(requests.len() > 10, "the Apollo tests went through Graph");
    assert!(
        requests
            .iter()
            .all(|r| r.header("authorization") == Some("Bearer apollo-user-token")),
        "every Graph call carried the client's token"
    );
    // Each operation of an HTTP batch has its own loader (and lookup cap), so the batched
    // single lookups of BatchHttpLink's test go out as plain GETs, not one `$batch`.
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_playground_runs_an_example_in_chromium_without_external_requests() {
    crate::http::playground::require_bundle();
    let chromium = chromium_path();
    assert!(
        chromium.is_file(),
        "no Chromium at {}: the playground test needs Debian's Chromium \
         (`apt-get install -y chromium`), or CHROMIUM_PATH pointing at one",
        chromium.display()
    );
    let base_url = demo_gateway().await;
    blocking(move || node_test("browser.test.mjs", &base_url)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_playground_runs_an_example_in_chromium_against_the_graph_gateway() {
    crate::http::playground::require_bundle();
    let (base_url, graph) = demo_graph_gateway().await;
    blocking(move || {
        node_test_with(
            "browser.test.mjs",
            &base_url,
            &[("GATEWAY_TOKEN", "browser-user-token")],
        )
    })
    .await;
    assert!(
        graph
            .requests()
            .iter()
            .any(|r| r.header("authorization") == Some("Bearer browser-user-token")),
        "the example went through Graph with the page's token"
    );
}
