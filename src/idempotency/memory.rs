//! Keys kept in this process: bounded in count and bytes, in total and per caller. With several
//! replicas each has its own table, so a retry that reaches another replica is not recognised.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

use async_trait::async_trait;
use tokio::time::Instant;

use super::{
    Answer, Claim, KEY_LIFETIME, KeyId, KeyStore, Limits, Notices, entry_bytes, full, unix_seconds,
};
use crate::error::Error;

struct Entry {
    fingerprint: String,
    /// Seconds since the epoch when it was claimed.
    created: u64,
    answer: Option<Answer>,
    bytes: usize,
    /// Claim order, for the age index.
    seq: u64,
}

#[derive(Default)]
struct Scope {
    bytes: usize,
    /// The scope's keys, oldest first.
    by_age: BTreeMap<u64, String>,
}

#[derive(Default)]
struct Table {
    entries: HashMap<KeyId, Entry>,
    scopes: HashMap<String, Scope>,
    /// Every key, oldest first (for expiry).
    by_age: BTreeMap<u64, KeyId>,
    bytes: usize,
    next_seq: u64,
}

impl Table {
    fn remove(&mut self, id: &KeyId) -> Option<Entry> {
        let entry = self.entries.remove(id)?;
        self.by_age.remove(&entry.seq);
        self.bytes -= entry.bytes;
        if let Some(scope) = self.scopes.get_mut(&id.scope) {
            scope.bytes -= entry.bytes;
            scope.by_age.remove(&entry.seq);
            if scope.by_age.is_empty() {
                self.scopes.remove(&id.scope);
            }
        }
        Some(entry)
    }

    fn insert(&mut self, id: KeyId, mut entry: Entry) {
        entry.seq = self.next_seq;
        self.next_seq += 1;
        self.bytes += entry.bytes;
        let scope = self.scopes.entry(id.scope.clone()).or_default();
        scope.bytes += entry.bytes;
        scope.by_age.insert(entry.seq, id.key.clone());
        self.by_age.insert(entry.seq, id.clone());
        self.entries.insert(id, entry);
    }

    /// Forgets keys older than their lifetime.
    fn purge(&mut self, now: u64) {
        while let Some((_, id)) = self.by_age.first_key_value() {
            let live = self
                .entries
                .get(id)
                .is_some_and(|e| now < e.created + KEY_LIFETIME.as_secs());
            if live {
                break;
            }
            let id = id.clone();
            self.remove(&id);
        }
    }

    /// The oldest key of `scope` that has an answer (running keys are never evicted).
    fn oldest_done(&self, scope: &str) -> Option<KeyId> {
        let keys = self.scopes.get(scope)?;
        keys.by_age.values().find_map(|key| {
            let id = KeyId {
                scope: scope.to_owned(),
                key: key.clone(),
            };
            self.entries.get(&id)?.answer.as_ref().map(|_| id)
        })
    }

    /// Makes room for `adding` bytes in `scope`: first by forgetting the scope's own oldest
    /// answers, then, when the whole table is full, those of the caller holding the most.
    fn make_room(&mut self, scope: &str, adding: usize, limits: &Limits) -> Result<(), Error> {
        let scope_bytes = |table: &Table| table.scopes.get(scope).map_or(0, |s| s.bytes);
        while scope_bytes(self) + adding > limits.max_scope_bytes {
            let id = self
                .oldest_done(scope)
                .ok_or_else(|| full("this caller's keys hold their quota in running requests"))?;
            self.remove(&id);
        }
        while self.bytes + adding > limits.max_bytes || self.entries.len() >= limits.max_keys {
            let largest = self
                .scopes
                .iter()
                .filter(|(name, _)| self.oldest_done(name).is_some())
                .max_by_key(|(_, s)| s.bytes)
                .map(|(name, _)| name.clone());
            let id = largest
                .and_then(|name| self.oldest_done(&name))
                .ok_or_else(|| full("every remembered key belongs to a running request"))?;
            self.remove(&id);
        }
        Ok(())
    }
}

/// Keys in this process (see the module header).
pub struct MemoryKeys {
    table: Mutex<Table>,
    limits: Limits,
    notices: Notices,
}

impl MemoryKeys {
    /// An empty store that keeps at most what `limits` allow.
    pub fn new(limits: Limits) -> Self {
        MemoryKeys {
            table: Mutex::default(),
            limits,
            notices: Notices::default(),
        }
    }

    fn table(&self) -> MutexGuard<'_, Table> {
        // Every change keeps the indexes whole before it can panic: a poisoned table is usable.
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Bytes held by all keys, and by `scope`'s.
    pub fn bytes(&self, scope: &str) -> (usize, usize) {
        let table = self.table();
        let of_scope = table.scopes.get(scope).map_or(0, |s| s.bytes);
        (table.bytes, of_scope)
    }

    fn claim_now(&self, id: &KeyId, fingerprint: &str) -> Result<Claim, Error> {
        let now = unix_seconds(SystemTime::now());
        let mut table = self.table();
        table.purge(now);
        if let Some(entry) = table.entries.get(id) {
            let same_body = entry.fingerprint == fingerprint;
            return Ok(match &entry.answer {
                None => Claim::Running { same_body },
                Some(answer) => Claim::Done {
                    same_body,
                    answer: answer.clone(),
                },
            });
        }
        let bytes = entry_bytes(id, fingerprint, None);
        table.make_room(&id.scope, bytes, &self.limits)?;
        let entry = Entry {
            fingerprint: fingerprint.to_owned(),
            created: now,
            answer: None,
            bytes,
            seq: 0,
        };
        table.insert(id.clone(), entry);
        Ok(Claim::New)
    }
}

#[async_trait]
impl KeyStore for MemoryKeys {
    async fn claim(&self, id: &KeyId, fingerprint: &str) -> Result<Claim, Error> {
        self.claim_now(id, fingerprint)
    }

    async fn wait(&self, id: &KeyId, fingerprint: &str, until: Instant) -> Result<Claim, Error> {
        self.notices
            .wait(id, until, || async { self.claim_now(id, fingerprint) })
            .await
    }

    async fn complete(&self, id: &KeyId, mut answer: Answer) -> Result<(), Error> {
        if answer
            .body
            .as_ref()
            .is_some_and(|b| b.len() > self.limits.max_answer_bytes)
        {
            answer.body = None;
        }
        {
            let mut table = self.table();
            if let Some(mut entry) = table.remove(id) {
                let with_body = entry_bytes(id, &entry.fingerprint, Some(&answer));
                if table.make_room(&id.scope, with_body, &self.limits).is_err() {
                    // Remembered as done without its body: a retry is refused, never rerun.
                    answer.body = None;
                }
                entry.bytes = entry_bytes(id, &entry.fingerprint, Some(&answer));
                entry.answer = Some(answer);
                table.insert(id.clone(), entry);
            }
        }
        self.notices.notify(id);
        Ok(())
    }

    async fn release(&self, id: &KeyId) -> Result<(), Error> {
        self.table().remove(id);
        self.notices.notify(id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            max_keys: 1000,
            max_bytes: 10_000,
            max_scope_bytes: 4_000,
            max_answer_bytes: 2_000,
        }
    }

    fn id(scope: &str, key: usize) -> KeyId {
        KeyId {
            scope: scope.to_owned(),
            key: format!("k{key}"),
        }
    }

    fn answer(bytes: usize) -> Answer {
        Answer {
            status: 200,
            content_type: None,
            body: Some(vec![b'x'; bytes]),
        }
    }

    #[tokio::test]
    async fn one_caller_over_its_quota_loses_only_its_own_oldest_answers() {
        let keys = MemoryKeys::new(limits());
        assert_eq!(keys.claim(&id("victim", 0), "f").await.unwrap(), Claim::New);
        keys.complete(&id("victim", 0), answer(500)).await.unwrap();
        for n in 0..100 {
            assert_eq!(keys.claim(&id("greedy", n), "f").await.unwrap(), Claim::New);
            keys.complete(&id("greedy", n), answer(1_000))
                .await
                .unwrap();
        }
        let (total, greedy) = keys.bytes("greedy");
        assert!(greedy <= 4_000 && total <= 10_000, "{greedy} {total}");
        let victim = keys.claim(&id("victim", 0), "f").await.unwrap();
        assert!(
            matches!(
                victim,
                Claim::Done {
                    same_body: true,
                    ..
                }
            ),
            "{victim:?}"
        );
        let first = keys.claim(&id("greedy", 0), "f").await.unwrap();
        assert_eq!(
            first,
            Claim::New,
            "the greedy caller's oldest key was forgotten"
        );
    }

    #[tokio::test]
    async fn running_keys_are_never_evicted_and_a_full_table_refuses_new_ones() {
        let keys = MemoryKeys::new(limits());
        let mut n = 0;
        let refused = loop {
            match keys.claim(&id("a", n), "f").await {
                Ok(claim) => assert_eq!(claim, Claim::New),
                Err(e) => break e,
            }
            n += 1;
        };
        assert_eq!(refused.code().as_str(), "LIMIT_EXCEEDED");
        assert!(matches!(
            keys.claim(&id("a", 0), "f").await.unwrap(),
            Claim::Running { same_body: true }
        ));
    }

    #[tokio::test]
    async fn a_waiter_wakes_when_the_key_is_released_and_takes_it() {
        let keys = std::sync::Arc::new(MemoryKeys::new(limits()));
        assert_eq!(keys.claim(&id("a", 1), "f").await.unwrap(), Claim::New);
        let waiter = {
            let keys = std::sync::Arc::clone(&keys);
            let until = Instant::now() + std::time::Duration::from_secs(30);
            tokio::spawn(async move { keys.wait(&id("a", 1), "f", until).await })
        };
        tokio::task::yield_now().await;
        keys.release(&id("a", 1)).await.unwrap();
        let started = std::time::Instant::now();
        let claim = waiter.await.unwrap().unwrap();
        assert_eq!(claim, Claim::New);
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }
}
