//! The store kept in SQLite (`--store-path`): what survives a restart or a crash.
//!
//! Memory stays the read path; this module writes each change through to the database before
//! the change becomes visible (see [`super::Store::write`]) and loads the whole store back at
//! start-up. The database runs in WAL mode with `synchronous=FULL`, so a committed transaction
//! is on disk (the WAL file is fsynced) when `commit` returns: nothing acknowledged to a client
//! can be lost by a crash of the process or of the machine.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use super::simulate::{LanguageSource, Sources};
use super::{Change, Data, File};
use crate::domain::files::{FileContent, FileStatus};
use crate::domain::{GraphMember, Guid, Operation, OperationStatus, OperationType};

mod keys;
pub(super) mod record;
mod schema;

use record::{StoredRecord, stamp, wire};

/// How long a write waits for the database's lock (held by another process) before failing.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// An open store database.
pub(crate) struct Db {
    conn: Connection,
}

fn sql(e: rusqlite::Error) -> String {
    format!("store database: {e}")
}

fn guid(text: &str) -> Result<Guid, String> {
    Guid::parse("id", text).map_err(|e| format!("the store database holds a bad id: {e}"))
}

impl Db {
    /// Opens (or creates) the database at `path`, migrating it to [`SCHEMA_VERSION`]. A
    /// database written by a newer gateway is refused.
    pub(crate) fn open(path: &Path) -> Result<Db, String> {
        let conn = Connection::open(path)
            .map_err(|e| format!("cannot open the store database {}: {e}", path.display()))?;
        Db::from_connection(conn)
    }

    fn from_connection(mut conn: Connection) -> Result<Db, String> {
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(sql)?;
        // FULL in WAL mode fsyncs the WAL on every commit: a commit that returned is durable.
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(sql)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(sql)?;
        // How long a write waits for another process holding the database's lock before it
        // fails; the store's reads do not wait for it (see `reads`).
        conn.busy_timeout(BUSY_TIMEOUT).map_err(sql)?;
        schema::migrate(&mut conn)?;
        Ok(Db { conn })
    }

    /// Whether the seed decision was never made for this database (a seed applies only
    /// then): a marker row written with the seed, never inferred from what the tables hold.
    pub(crate) fn never_seeded(&self) -> Result<bool, String> {
        let seeded: Option<String> = self
            .conn
            .query_row(
                "SELECT value FROM store_meta WHERE name = 'seeded'",
                [],
                |row| row.get(0),
            )
            .optional()
            .map_err(sql)?;
        Ok(seeded.is_none())
    }

    /// Starts a write: takes the database's write lock, waiting up to [`BUSY_TIMEOUT`] for
    /// another process holding it. Called before the store's data lock is taken, so readers
    /// never wait while SQLite does.
    pub(crate) fn begin(&mut self) -> Result<Transaction<'_>, String> {
        self.conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)
    }

    /// Writes what `changes` did to `data` in `tx` and commits; returns once it is durable
    /// (on an error the transaction is rolled back).
    pub(crate) fn commit(
        tx: Transaction<'_>,
        data: &Data,
        changes: &[Change],
        sources: &[Guid],
    ) -> Result<(), String> {
        for change in changes {
            match change {
                Change::Operation { key, state } => {
                    match (state, data.files.get(&key.definition_file_id)) {
                        (Some(op), Some(file)) => {
                            if let Some(seq) = file.seq_of.get(&op.id) {
                                put_operation(&tx, op, *seq)?;
                            }
                        }
                        _ => {
                            tx.execute(
                                "DELETE FROM operations WHERE id = ?1",
                                [key.id.to_string()],
                            )
                            .map_err(sql)?;
                        }
                    }
                }
                Change::File(id) => match data.files.get(id) {
                    Some(file) => put_file(&tx, file)?,
                    None => {
                        // Operations, sources and language files go with it (ON DELETE CASCADE).
                        tx.execute("DELETE FROM files WHERE id = ?1", [id.to_string()])
                            .map_err(sql)?;
                    }
                },
            }
        }
        for id in sources {
            if let Some(file) = data.files.get(id) {
                put_sources(&tx, *id, &file.sources)?;
            }
        }
        if data.mark_seeded {
            tx.execute(
                "INSERT OR REPLACE INTO store_meta (name, value) VALUES ('seeded', ?1)",
                [crate::domain::Timestamp::now().as_str()],
            )
            .map_err(sql)?;
        }
        tx.commit().map_err(sql)
    }

    /// Reads the whole store back.
    pub(crate) fn load(&self) -> Result<Data, String> {
        let mut data = Data::default();
        let mut files = self
            .conn
            .prepare("SELECT id, seq, record, status_before_work FROM files ORDER BY seq")
            .map_err(sql)?;
        let rows = files
            .query_map([], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, Option<String>>(3)?,
                ))
            })
            .map_err(sql)?;
        for row in rows {
            let (id, seq, record, before) = row.map_err(sql)?;
            let id = guid(&id)?;
            let stored: StoredRecord = serde_json::from_str(&record)
                .map_err(|e| format!("the store database holds a bad file record: {e}"))?;
            let seq = u64::try_from(seq).map_err(|_| "negative sequence".to_owned())?;
            data.order.insert(seq, id);
            data.next_seq = data.next_seq.max(seq + 1);
            data.files.insert(
                id,
                File {
                    record: stored.into_record(id)?,
                    seq,
                    sources: self.sources(id)?,
                    by_seq: BTreeMap::new(),
                    seq_of: HashMap::new(),
                    status_before_work: before.map(|s| FileStatus::from_graph(&s)),
                },
            );
        }
        self.load_operations(&mut data)?;
        data.bytes = data.count_bytes();
        Ok(data)
    }

    fn load_operations(&self, data: &mut Data) -> Result<(), String> {
        let mut ops = self
            .conn
            .prepare(
                "SELECT id, file_id, seq, operation_type, operation_status, status_details, \
                 last_modified FROM operations ORDER BY seq",
            )
            .map_err(sql)?;
        let rows = ops
            .query_map([], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, i64>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, String>(4)?,
                    row.get::<_, Option<String>>(5)?,
                    row.get::<_, String>(6)?,
                ))
            })
            .map_err(sql)?;
        for row in rows {
            let (id, file_id, seq, kind, status, details, modified) = row.map_err(sql)?;
            let op = Operation {
                id: guid(&id)?,
                definition_file_id: guid(&file_id)?,
                operation_type: OperationType::from_graph(&kind),
                operation_status: OperationStatus::from_graph(&status),
                status_details: details,
                last_modified: stamp(&modified)?,
            };
            let seq = u64::try_from(seq).map_err(|_| "negative sequence".to_owned())?;
            data.next_seq = data.next_seq.max(seq + 1);
            if let Some(file) = data.files.get_mut(&op.definition_file_id) {
                file.seq_of.insert(op.id, seq);
                file.by_seq.insert(seq, op);
                data.len += 1;
            }
        }
        Ok(())
    }

    fn sources(&self, id: Guid) -> Result<Sources, String> {
        let key = id.to_string();
        let head = self
            .conn
            .query_row(
                "SELECT admx_name, admx, default_language FROM sources WHERE file_id = ?1",
                [&key],
                |row| {
                    Ok((
                        row.get::<_, Option<String>>(0)?,
                        row.get::<_, Option<Vec<u8>>>(1)?,
                        row.get::<_, Option<String>>(2)?,
                    ))
                },
            )
            .optional()
            .map_err(sql)?;
        let Some((admx_name, admx, default_language)) = head else {
            return Ok(Sources::default());
        };
        let mut sources = Sources {
            admx: admx_name
                .zip(admx)
                .map(|(n, b)| (n, FileContent::from_bytes(b))),
            default_language,
            ..Sources::default()
        };
        let mut admls = self
            .conn
            .prepare(
                "SELECT file_name, language_code, content, last_modified FROM language_files \
                 WHERE file_id = ?1",
            )
            .map_err(sql)?;
        let rows = admls
            .query_map([&key], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, Vec<u8>>(2)?,
                    row.get::<_, String>(3)?,
                ))
            })
            .map_err(sql)?;
        for row in rows {
            let (file_name, language_code, content, modified) = row.map_err(sql)?;
            sources.admls.insert(
                language_code.to_ascii_lowercase(),
                LanguageSource {
                    file_name,
                    language_code,
                    content: FileContent::from_bytes(content),
                    last_modified: stamp(&modified)?,
                    summary: None,
                },
            );
        }
        Ok(sources)
    }
}

fn put_file(tx: &Transaction<'_>, file: &File) -> Result<(), String> {
    let record = serde_json::to_string(&StoredRecord::of(&file.record))
        .map_err(|e| format!("cannot encode a file record: {e}"))?;
    let before = file.status_before_work.map(wire);
    tx.execute(
        "INSERT INTO files (id, seq, record, status_before_work) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT(id) DO UPDATE SET record = excluded.record, \
         status_before_work = excluded.status_before_work",
        params![
            file.record.id.to_string(),
            seq_value(file.seq)?,
            record,
            before
        ],
    )
    .map_err(sql)?;
    Ok(())
}

fn put_sources(tx: &Transaction<'_>, id: Guid, sources: &Sources) -> Result<(), String> {
    let key = id.to_string();
    let (admx_name, admx) = match &sources.admx {
        Some((name, content)) => (Some(name.as_str()), Some(content.bytes())),
        None => (None, None),
    };
    tx.execute(
        "INSERT INTO sources (file_id, admx_name, admx, default_language) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT(file_id) DO UPDATE SET admx_name = excluded.admx_name, \
         admx = excluded.admx, default_language = excluded.default_language",
        params![key, admx_name, admx, sources.default_language],
    )
    .map_err(sql)?;
    tx.execute("DELETE FROM language_files WHERE file_id = ?1", [&key])
        .map_err(sql)?;
    for l in sources.admls.values() {
        tx.execute(
            "INSERT INTO language_files (file_id, file_name, language_code, content, \
             last_modified) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                key,
                l.file_name,
                l.language_code,
                l.content.bytes(),
                l.last_modified.as_str()
            ],
        )
        .map_err(sql)?;
    }
    Ok(())
}

fn put_operation(tx: &Transaction<'_>, op: &Operation, seq: u64) -> Result<(), String> {
    tx.execute(
        "INSERT INTO operations (id, file_id, seq, operation_type, operation_status, \
         status_details, last_modified) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
         ON CONFLICT(id) DO UPDATE SET operation_type = excluded.operation_type, \
         operation_status = excluded.operation_status, status_details = excluded.status_details, \
         last_modified = excluded.last_modified",
        params![
            op.id.to_string(),
            op.definition_file_id.to_string(),
            seq_value(seq)?,
            wire(op.operation_type),
            wire(op.operation_status),
            op.status_details,
            op.last_modified.as_str()
        ],
    )
    .map_err(sql)?;
    Ok(())
}

fn seq_value(seq: u64) -> Result<i64, String> {
    i64::try_from(seq).map_err(|_| "sequence out of range".to_owned())
}
