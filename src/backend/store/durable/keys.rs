//! Idempotency keys in the store's database, so that with `--store-path` a retry after a
//! restart is still recognised. A key whose request was running when the gateway stopped is
//! kept as interrupted: its outcome is unknown, so a retry is refused rather than run twice.
//! The keys' bytes count against `--store-max-bytes` with the data they protect.

use std::time::SystemTime;

use rusqlite::{OptionalExtension, Transaction, params};

use super::{Db, sql};
use crate::backend::store::keys::Held;
use crate::idempotency::{
    Answer, Claim, ENTRY_OVERHEAD_BYTES, KEY_LIFETIME, KeyId, Limits, unix_seconds,
};

/// `status` of a key whose request was cut off by a stop.
pub(crate) const INTERRUPTED: i64 = 0;

/// A row's bytes, as [`crate::idempotency::entry_bytes`] counts them.
const ROW_BYTES: &str = "(length(scope) + length(key) + length(fingerprint) + \
     coalesce(length(body), 0) + coalesce(length(content_type), 0))";

fn seconds(now: SystemTime) -> i64 {
    i64::try_from(unix_seconds(now)).unwrap_or(i64::MAX)
}

fn count(value: i64) -> usize {
    usize::try_from(value).unwrap_or(0)
}

/// Bytes held by the keys of `scope` (all keys when `None`), and how many keys.
fn held(tx: &Transaction<'_>, scope: Option<&str>) -> Result<(usize, usize), String> {
    let (bytes, keys): (i64, i64) = tx
        .query_row(
            &format!(
                "SELECT coalesce(sum({ROW_BYTES}), 0) + count(*) * {ENTRY_OVERHEAD_BYTES}, count(*) \
                 FROM idempotency_keys WHERE ?1 IS NULL OR scope = ?1"
            ),
            [scope],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .map_err(sql)?;
    Ok((count(bytes), count(keys)))
}

/// Forgets the oldest answered key of `scope` (of the scope holding the most when `None`);
/// `false` when there is none (running keys are never forgotten).
fn forget_oldest(tx: &Transaction<'_>, scope: Option<&str>) -> Result<bool, String> {
    let scope = match scope {
        Some(scope) => Some(scope.to_owned()),
        None => tx
            .query_row(
                &format!(
                    "SELECT scope FROM idempotency_keys WHERE status IS NOT NULL GROUP BY scope \
                     ORDER BY sum({ROW_BYTES}) DESC LIMIT 1"
                ),
                [],
                |row| row.get::<_, String>(0),
            )
            .optional()
            .map_err(sql)?,
    };
    let Some(scope) = scope else {
        return Ok(false);
    };
    let removed = tx
        .execute(
            "DELETE FROM idempotency_keys WHERE rowid = (SELECT rowid FROM idempotency_keys \
             WHERE scope = ?1 AND status IS NOT NULL ORDER BY created, rowid LIMIT 1)",
            [scope],
        )
        .map_err(sql)?;
    Ok(removed > 0)
}

/// Makes room for `adding` bytes in `scope` within `limits` and `room` (what the store leaves
/// for keys); `false` when only running keys are left to forget.
fn make_room(
    tx: &Transaction<'_>,
    scope: &str,
    adding: usize,
    limits: &Limits,
    room: usize,
) -> Result<bool, String> {
    while held(tx, Some(scope))?.0 + adding > limits.max_scope_bytes {
        if !forget_oldest(tx, Some(scope))? {
            return Ok(false);
        }
    }
    let cap = limits.max_bytes.min(room);
    loop {
        let (bytes, keys) = held(tx, None)?;
        if bytes + adding <= cap && keys < limits.max_keys {
            return Ok(true);
        }
        if !forget_oldest(tx, None)? {
            return Ok(false);
        }
    }
}

impl Db {
    /// Marks the keys of requests that were running when the gateway stopped.
    pub(in crate::backend::store) fn interrupt_running_keys(&self) -> Result<(), String> {
        self.conn
            .execute(
                "UPDATE idempotency_keys SET status = ?1 WHERE status IS NULL",
                [INTERRUPTED],
            )
            .map_err(sql)?;
        Ok(())
    }

    /// Bytes all keys hold.
    pub(in crate::backend::store) fn key_bytes(&mut self) -> Result<usize, String> {
        let tx = self.conn.transaction().map_err(sql)?;
        Ok(held(&tx, None)?.0)
    }

    /// Claims `id` unless a live key has it, forgetting expired keys first; `None` when the
    /// key cannot be held within `limits` and `room`.
    pub(in crate::backend::store) fn claim_key(
        &mut self,
        id: &KeyId,
        fingerprint: &str,
        now: SystemTime,
        limits: &Limits,
        room: usize,
    ) -> Result<Held<Option<Claim>>, String> {
        let now = seconds(now);
        let oldest_live = now.saturating_sub(i64::try_from(KEY_LIFETIME.as_secs()).unwrap_or(0));
        let tx = self.conn.transaction().map_err(sql)?;
        tx.execute(
            "DELETE FROM idempotency_keys WHERE created <= ?1",
            [oldest_live],
        )
        .map_err(sql)?;
        let found = tx
            .query_row(
                "SELECT fingerprint, status, content_type, body FROM idempotency_keys \
                 WHERE scope = ?1 AND key = ?2",
                params![id.scope, id.key],
                |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, Option<i64>>(1)?,
                        row.get::<_, Option<String>>(2)?,
                        row.get::<_, Option<Vec<u8>>>(3)?,
                    ))
                },
            )
            .optional()
            .map_err(sql)?;
        let claim = match found {
            Some((print, status, content_type, body)) => {
                let same_body = print == fingerprint;
                Some(match status {
                    None => Claim::Running { same_body },
                    Some(status) => Claim::Done {
                        same_body,
                        answer: Answer {
                            status: u16::try_from(status).unwrap_or(0),
                            content_type,
                            body,
                        },
                    },
                })
            }
            None => {
                let adding = crate::idempotency::entry_bytes(id, fingerprint, None);
                if make_room(&tx, &id.scope, adding, limits, room)? {
                    tx.execute(
                        "INSERT INTO idempotency_keys (scope, key, fingerprint, created) \
                         VALUES (?1, ?2, ?3, ?4)",
                        params![id.scope, id.key, fingerprint, now],
                    )
                    .map_err(sql)?;
                    Some(Claim::New)
                } else {
                    None
                }
            }
        };
        let bytes = held(&tx, None)?.0;
        tx.commit().map_err(sql)?;
        Ok(Held {
            outcome: claim,
            bytes,
        })
    }

    /// Records `answer` for `id`, without its body when that does not fit.
    pub(in crate::backend::store) fn complete_key(
        &mut self,
        id: &KeyId,
        answer: &Answer,
        limits: &Limits,
        room: usize,
    ) -> Result<Held<()>, String> {
        let tx = self.conn.transaction().map_err(sql)?;
        let body = answer.body.as_deref().filter(|body| {
            body.len() <= limits.max_answer_bytes
                && make_room(&tx, &id.scope, body.len(), limits, room).unwrap_or(false)
        });
        tx.execute(
            "UPDATE idempotency_keys SET status = ?3, content_type = ?4, body = ?5 \
             WHERE scope = ?1 AND key = ?2",
            params![
                id.scope,
                id.key,
                i64::from(answer.status),
                answer.content_type,
                body
            ],
        )
        .map_err(sql)?;
        let bytes = held(&tx, None)?.0;
        tx.commit().map_err(sql)?;
        Ok(Held { outcome: (), bytes })
    }

    pub(in crate::backend::store) fn release_key(
        &mut self,
        id: &KeyId,
    ) -> Result<Held<()>, String> {
        let tx = self.conn.transaction().map_err(sql)?;
        tx.execute(
            "DELETE FROM idempotency_keys WHERE scope = ?1 AND key = ?2",
            params![id.scope, id.key],
        )
        .map_err(sql)?;
        let bytes = held(&tx, None)?.0;
        tx.commit().map_err(sql)?;
        Ok(Held { outcome: (), bytes })
    }
}
