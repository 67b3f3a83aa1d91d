//! Schema evolution of the store database: a database written by the previous schema version
//! (built here with that version's SQL) opens, is migrated and keeps its data; one from a
//! newer gateway is refused with a clear message.

use serde_json::json;

use crate::support::helpers::{GET, Mode, TestApp, config, temp_store_path};

/// Version 1 of the schema, as the first durable gateway wrote it.
const VERSION_1: &str = "
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO schema_version (version) VALUES (1);
CREATE TABLE files (id TEXT PRIMARY KEY, seq INTEGER NOT NULL UNIQUE, record TEXT NOT NULL);
CREATE TABLE sources (file_id TEXT PRIMARY KEY REFERENCES files(id) ON DELETE CASCADE,
    admx_name TEXT, admx BLOB, default_language TEXT);
CREATE TABLE language_files (file_id TEXT NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    file_name TEXT NOT NULL, language_code TEXT NOT NULL, content BLOB NOT NULL,
    last_modified TEXT NOT NULL);
CREATE TABLE operations (id TEXT PRIMARY KEY,
    file_id TEXT NOT NULL REFERENCES files(id) ON DELETE CASCADE, seq INTEGER NOT NULL UNIQUE,
    operation_type TEXT NOT NULL, operation_status TEXT NOT NULL, status_details TEXT,
    last_modified TEXT NOT NULL);
INSERT INTO files VALUES ('11111111-2222-4333-8444-555555555555', 0,
    '{\"displayName\":null,\"description\":null,\"fileName\":\"old.admx\",\"languageCodes\":[],
      \"targetPrefix\":null,\"targetNamespace\":null,\"policyType\":\"admxIngested\",
      \"revision\":null,\"status\":\"available\",\"uploadDateTime\":null,
      \"lastModified\":\"2024-01-02T03:04:05Z\",\"defaultLanguageCode\":null,
      \"languageFiles\":[]}');
INSERT INTO operations VALUES ('aaaaaaaa-2222-4333-8444-555555555555',
    '11111111-2222-4333-8444-555555555555', 1, 'upload', 'success', 'from version 1',
    '2024-01-02T03:04:05Z');
";

#[tokio::test]
async fn a_version_1_database_opens_and_keeps_its_data() {
    let path = temp_store_path();
    let conn = rusqlite::Connection::open(&path).expect("a database");
    conn.execute_batch(VERSION_1).expect("version 1 written");
    drop(conn);
    let mut config = config();
    config.store.store_path = Some(path.clone());
    let app = TestApp::with_config(Mode::Store, config).await;
    let read = app
        .data(
            GET,
            json!({ "f": "11111111-2222-4333-8444-555555555555", "id": "aaaaaaaa-2222-4333-8444-555555555555" }),
        )
        .await;
    assert_eq!(
        read["groupPolicyOperation"]["statusDetails"],
        "from version 1"
    );
    assert_eq!(read["groupPolicyOperation"]["operationStatus"], "SUCCESS");
    let created = app
        .gql(
            crate::support::helpers::CREATE,
            json!({ "f": "11111111-2222-4333-8444-555555555555", "input": { "operationType": "UPLOAD", "operationStatus": "SUCCESS" } }),
        )
        .await;
    assert!(created.get("errors").is_none(), "{created}");
    let conn = rusqlite::Connection::open(&path).expect("a database");
    let version: i64 = conn
        .query_row("SELECT version FROM schema_version", [], |row| row.get(0))
        .expect("a version");
    assert_eq!(version, 4);
    let _ = std::fs::remove_file(&path);
}

#[tokio::test]
async fn a_database_from_a_newer_gateway_is_refused_with_a_clear_message() {
    let path = temp_store_path();
    let conn = rusqlite::Connection::open(&path).expect("a database");
    conn.execute_batch(
        "CREATE TABLE schema_version (version INTEGER NOT NULL);
         INSERT INTO schema_version (version) VALUES (99);",
    )
    .expect("written");
    drop(conn);
    let mut config = config();
    config.store.store_path = Some(path.clone());
    let err = gpo_gateway::store(&config)
        .err()
        .expect("a newer database is refused");
    assert!(err.contains("schema version 99"), "{err}");
    assert!(err.contains("newer gateway"), "{err}");
    let _ = std::fs::remove_file(&path);
}
