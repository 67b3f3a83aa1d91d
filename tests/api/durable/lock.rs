//! The durable store when its database refuses a write: another process holding SQLite's write
//! lock makes a create fail with a contract code while `/healthz` and reads stay fast; once the
//! lock is gone, creates and uploads work again with the bytes counted right (the review saw
//! the byte counter wrap below zero and refuse every write until a restart). And the demo seed
//! never comes back to a database that was seeded once, even with every file deleted.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::files::{contoso_input, get_file, upload_file};
use crate::support::helpers::{
    CREATE, Mode, TestApp, assert_healthy, code, config, serve_tcp, temp_store_path,
};

/// What one operation counts besides its statusDetails (the README's figure).
const OPERATION_BYTES: usize = 128;

/// Holds the database's write lock from another connection for `hold`; returns once it is
/// held, and a receiver that says when it was let go.
fn hold_write_lock(path: &std::path::Path, hold: Duration) -> mpsc::Receiver<()> {
    let (held_tx, held_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel();
    let path = path.to_owned();
    std::thread::spawn(move || {
        let conn = rusqlite::Connection::open(&path).expect("a second connection");
        conn.execute_batch("BEGIN IMMEDIATE")
            .expect("the write lock");
        held_tx.send(()).expect("the test waits");
        std::thread::sleep(hold);
        conn.execute_batch("ROLLBACK").expect("let go");
        let _ = done_tx.send(());
    });
    held_rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the lock is taken");
    done_rx
}

async fn create(app: &TestApp, file: &str, details: &str) -> Value {
    app.gql(
        CREATE,
        json!({ "f": file, "input": { "operationType": "UPLOAD", "operationStatus": "SUCCESS", "statusDetails": details } }),
    )
    .await
}

async fn wait_for_status(app: &TestApp, file: &str, status: &str) -> Value {
    let started = Instant::now();
    loop {
        let read = app.data(&get_file(), json!({ "id": file })).await;
        let state = read["groupPolicyUploadedDefinitionFile"].clone();
        if state["status"] == status {
            return state;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "not {status} in 30 s: {state}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// Long on purpose: one database through a lock held by another connection and after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_lock_held_elsewhere_fails_a_create_cleanly_and_nothing_stalls_or_drifts() {
    let path = temp_store_path();
    let mut config = config();
    config.store.store_path = Some(path.clone());
    config.store.store_processing_delay = Duration::from_millis(300);
    let app = TestApp::with_config(Mode::Store, config).await;
    let addr = serve_tcp(app.router.clone()).await;
    let file = app.new_file().await;
    assert!(create(&app, &file, "before").await.get("errors").is_none());
    // An upload whose processing ends while the lock is held: its outcome is recorded after.
    let busy_file = upload_file(&app, contoso_input()).await;

    let released = hold_write_lock(&path, Duration::from_secs(4));
    let blocked = {
        let (app_router, file) = (app.router.clone(), file.clone());
        tokio::spawn(async move {
            let app = TestApp {
                router: app_router,
                mode: Mode::Store,
                graph: None,
                store: None,
                token: None,
            };
            let started = Instant::now();
            (create(&app, &file, "during").await, started.elapsed())
        })
    };
    // Meanwhile probes and reads are answered at once (the create waits 2 s, SQLite's busy
    // timeout, for the lock).
    let client = reqwest::Client::new();
    let mut probes = Vec::new();
    while !blocked.is_finished() {
        let sent = Instant::now();
        assert_healthy(&client, addr).await;
        probes.push(sent.elapsed());
        // Reads do not wait for the database either.
        let sent = Instant::now();
        let read = app.data(&get_file(), json!({ "id": file })).await;
        assert_eq!(
            read["groupPolicyUploadedDefinitionFile"]["id"],
            file.as_str()
        );
        probes.push(sent.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (during, took) = blocked.await.expect("the create ends");
    assert_eq!(code(&during), "INTERNAL_SERVER_ERROR", "{during}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert!(
        took >= Duration::from_secs(1),
        "the create did not wait: {took:?}"
    );
    assert!(probes.len() >= 10, "{probes:?}");
    // None waited for the lock (2 s); all but a few (a loaded machine) took under 100 ms.
    assert!(
        probes.iter().all(|p| *p < Duration::from_secs(1)),
        "{probes:?}"
    );
    let slow = probes
        .iter()
        .filter(|p| **p > Duration::from_millis(100))
        .count();
    assert!(
        slow <= probes.len() / 4,
        "probes and reads over 100 ms: {probes:?}"
    );

    released
        .recv_timeout(Duration::from_secs(20))
        .expect("the lock is let go");
    // The byte count was not thrown off: creates and uploads work again...
    let after = create(&app, &file, "after").await;
    assert!(after.get("errors").is_none(), "{after}");
    let settled = wait_for_status(&app, &busy_file, "AVAILABLE").await;
    assert_eq!(settled["displayName"], "Contoso Browser");
    let again = upload_file(&app, contoso_input()).await;
    wait_for_status(&app, &again, "AVAILABLE").await;
    // ...and the limit still counts exactly what is held: a new store over the same
    // database with room for one more operation of 10 bytes of details accepts it and
    // refuses 11.
    let store = app.store.as_ref().expect("a store");
    let held = store.bytes_held();
    drop(app);
    let mut config = crate::support::helpers::config();
    config.store.store_path = Some(path.clone());
    config.store.store_max_bytes = held + OPERATION_BYTES + 10;
    let reopened = TestApp::with_config(Mode::Store, config).await;
    let over = create(&reopened, &file, "eleven byte").await;
    assert_eq!(code(&over), "LIMIT_EXCEEDED", "{over}");
    let fits = create(&reopened, &file, "ten bytes!").await;
    assert!(fits.get("errors").is_none(), "{fits}");
    let _ = std::fs::remove_file(&path);
}

#[tokio::test]
async fn deleting_every_file_of_a_seeded_database_does_not_bring_the_seed_back() {
    let path = temp_store_path();
    let mut seeded = config();
    seeded.store.store_path = Some(path.clone());
    seeded.store.no_seed = false;
    let list = "{ groupPolicyUploadedDefinitionFiles(first: 100) { nodes { id } } }";
    {
        let app = TestApp::with_config(Mode::Store, seeded.clone()).await;
        let files = app.data(list, json!({})).await;
        let ids: Vec<String> = files["groupPolicyUploadedDefinitionFiles"]["nodes"]
            .as_array()
            .expect("files")
            .iter()
            .map(|f| f["id"].as_str().expect("an id").to_owned())
            .collect();
        assert!(ids.len() >= 2, "the demo seed was loaded: {files}");
        for id in ids {
            let deleted = app
                .gql(
                    "mutation D($id: ID!) { deleteGroupPolicyUploadedDefinitionFile(id: $id) }",
                    json!({ "id": id }),
                )
                .await;
            assert!(deleted.get("errors").is_none(), "{deleted}");
        }
    }
    let app = TestApp::with_config(Mode::Store, seeded).await;
    let files = app.data(list, json!({})).await;
    assert_eq!(
        files["groupPolicyUploadedDefinitionFiles"]["nodes"],
        json!([]),
        "the seed came back"
    );
    let _ = std::fs::remove_file(&path);
}

#[tokio::test]
async fn a_database_started_without_a_seed_never_gets_one_later() {
    let path = temp_store_path();
    let mut empty = config();
    empty.store.store_path = Some(path.clone());
    drop(TestApp::with_config(Mode::Store, empty.clone()).await);
    empty.store.no_seed = false;
    let app = TestApp::with_config(Mode::Store, empty).await;
    let files = app
        .data(
            "{ groupPolicyUploadedDefinitionFiles(first: 10) { nodes { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        files["groupPolicyUploadedDefinitionFiles"]["nodes"],
        json!([])
    );
    let _ = std::fs::remove_file(&path);
}
