//! The store database's schema and its history: each migration takes a database from one
//! version to the next, and start-up runs those it has not had yet, in one transaction each.
//! The version lives in the `schema_version` table; a database from a newer gateway is
//! refused rather than guessed at.

use rusqlite::{Connection, OptionalExtension};

/// The schema this gateway writes.
pub(crate) const SCHEMA_VERSION: i64 = 4;

/// Migration `i` takes a database from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 0 -> 1: files, their bytes and their operations.
    "CREATE TABLE files (
        id TEXT PRIMARY KEY,
        seq INTEGER NOT NULL UNIQUE,
        record TEXT NOT NULL
    );
    CREATE TABLE sources (
        file_id TEXT PRIMARY KEY REFERENCES files(id) ON DELETE CASCADE,
        admx_name TEXT,
        admx BLOB,
        default_language TEXT
    );
    CREATE TABLE language_files (
        file_id TEXT NOT NULL REFERENCES files(id) ON DELETE CASCADE,
        file_name TEXT NOT NULL,
        language_code TEXT NOT NULL,
        content BLOB NOT NULL,
        last_modified TEXT NOT NULL
    );
    CREATE INDEX language_files_by_file ON language_files(file_id);
    CREATE TABLE operations (
        id TEXT PRIMARY KEY,
        file_id TEXT NOT NULL REFERENCES files(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL UNIQUE,
        operation_type TEXT NOT NULL,
        operation_status TEXT NOT NULL,
        status_details TEXT,
        last_modified TEXT NOT NULL
    );
    CREATE INDEX operations_by_file ON operations(file_id, seq);",
    // 1 -> 2: the status a file returns to when an interrupted action is failed at start-up.
    "ALTER TABLE files ADD COLUMN status_before_work TEXT;",
    // 2 -> 3: idempotency keys (see `crate::idempotency`); `status` NULL while running.
    "CREATE TABLE idempotency_keys (
        scope TEXT NOT NULL,
        key TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        created INTEGER NOT NULL,
        status INTEGER,
        content_type TEXT,
        body BLOB,
        PRIMARY KEY (scope, key)
    );
    CREATE INDEX idempotency_keys_by_age ON idempotency_keys(created);",
    // 3 -> 4: facts about the database itself; the row `seeded` says the seed decision was
    // made (see `SEEDED_BEFORE_4` for databases this migration finds).
    "CREATE TABLE store_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);",
];

/// What migration 3 -> 4 records for a database that existed before it: whatever was or was
/// not seeded then, no seed applies to it now.
const SEEDED_BEFORE_4: &str =
    "INSERT INTO store_meta (name, value) VALUES ('seeded', 'before schema version 4')";

fn sql(e: rusqlite::Error) -> String {
    format!("store database: {e}")
}

/// The database's version (0 for a new one).
pub(crate) fn version(conn: &Connection) -> Result<i64, String> {
    conn.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        .map_err(sql)?;
    let version: Option<i64> = conn
        .query_row("SELECT MAX(version) FROM schema_version", [], |row| {
            row.get(0)
        })
        .optional()
        .map_err(sql)?
        .flatten();
    Ok(version.unwrap_or(0))
}

/// Brings the database to [`SCHEMA_VERSION`].
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), String> {
    let mut current = version(conn)?;
    let existed = current > 0;
    if current > SCHEMA_VERSION {
        return Err(format!(
            "the store database has schema version {current}, written by a newer gateway; \
             this gateway knows versions up to {SCHEMA_VERSION}: upgrade the gateway or use \
             another --store-path"
        ));
    }
    while current < SCHEMA_VERSION {
        let step = usize::try_from(current).map_err(|_| "bad schema version".to_owned())?;
        let tx = conn.transaction().map_err(sql)?;
        tx.execute_batch(MIGRATIONS[step]).map_err(sql)?;
        if step == 3 && existed {
            tx.execute(SEEDED_BEFORE_4, []).map_err(sql)?;
        }
        tx.execute("DELETE FROM schema_version", []).map_err(sql)?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES (?1)",
            [current + 1],
        )
        .map_err(sql)?;
        tx.commit().map_err(sql)?;
        current += 1;
    }
    Ok(())
}
