//! Idempotency keys in the store's database, so that with `--store-path` a retry after a
//! restart is still recognised. A key whose request was running when the gateway stopped is
//! kept as interrupted: its outcome is unknown, so a retry is refused rather than run twice.

use std::time::SystemTime;

use rusqlite::{OptionalExtension, params};

use super::{Db, sql};
use crate::http::idempotency::{Answer, Claim, KEY_LIFETIME, KeyId, unix_seconds};

/// `status` of a key whose request was cut off by a stop.
pub const INTERRUPTED: i64 = 0;

fn seconds(now: SystemTime) -> i64 {
    i64::try_from(unix_seconds(now)).unwrap_or(i64::MAX)
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

    /// Claims `id` unless a live key has it; keeps at most `capacity` keys (oldest go first).
    pub(in crate::backend::store) fn claim_key(
        &mut self,
        id: &KeyId,
        fingerprint: &str,
        now: SystemTime,
        capacity: usize,
    ) -> Result<Claim, String> {
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
                match status {
                    None => Claim::Running { same_body },
                    Some(status) => Claim::Done {
                        same_body,
                        answer: Answer {
                            status: u16::try_from(status).unwrap_or(0),
                            content_type,
                            body,
                        },
                    },
                }
            }
            None => {
                tx.execute(
                    "INSERT INTO idempotency_keys (scope, key, fingerprint, created) \
                     VALUES (?1, ?2, ?3, ?4)",
                    params![id.scope, id.key, fingerprint, now],
                )
                .map_err(sql)?;
                let keep = i64::try_from(capacity).unwrap_or(i64::MAX);
                tx.execute(
                    "DELETE FROM idempotency_keys WHERE rowid IN (SELECT rowid FROM \
                     idempotency_keys ORDER BY created DESC, rowid DESC LIMIT -1 OFFSET ?1)",
                    [keep],
                )
                .map_err(sql)?;
                Claim::New
            }
        };
        tx.commit().map_err(sql)?;
        Ok(claim)
    }

    pub(in crate::backend::store) fn complete_key(
        &self,
        id: &KeyId,
        answer: &Answer,
    ) -> Result<(), String> {
        self.conn
            .execute(
                "UPDATE idempotency_keys SET status = ?3, content_type = ?4, body = ?5 \
                 WHERE scope = ?1 AND key = ?2",
                params![
                    id.scope,
                    id.key,
                    i64::from(answer.status),
                    answer.content_type,
                    answer.body
                ],
            )
            .map_err(sql)?;
        Ok(())
    }

    pub(in crate::backend::store) fn release_key(&self, id: &KeyId) -> Result<(), String> {
        self.conn
            .execute(
                "DELETE FROM idempotency_keys WHERE scope = ?1 AND key = ?2",
                params![id.scope, id.key],
            )
            .map_err(sql)?;
        Ok(())
    }
}
