//! A bounded cache of parsed documents, so a query the gateway has seen before is not
//! tokenised and parsed again: clients send the same few documents over and over, and parsing
//! was a large share of a small request's CPU.
//!
//! The guard ([`super::guard`]) is its only user: on a hit it skips counting, parsing and the
//! document's variable-independent checks, and still measures the operation with the
//! request's variables (`first: $n` prices differently per request). Persisted queries share
//! it: an APQ hit turns a hash into the remembered text, and that text finds its parsed
//! document here, so a hash-only request is never parsed again either.
//!
//! Entries are keyed by the query text itself, in a map with a randomly seeded fast hash
//! (foldhash, `lru`'s default): a hit compares the whole text, so two texts never share an
//! entry, and the seed keeps clients from choosing colliding texts. Bounded in entries and in
//! (estimated) bytes; least recently used entries go first.
//!
//! Each entry also remembers async-graphql's validation result per operation name the document
//! defines ([`Validations`]), so the guard can spare a document that passed validation before
//! from being validated again (see the guard's module header for when it may).

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_graphql::ValidationResult;
use async_graphql::parser::types::ExecutableDocument;
use lru::LruCache;

use crate::telemetry::metrics::Metrics;

/// Estimated bytes a parsed document takes per token of its text (nodes, names, positions).
pub(crate) const BYTES_PER_TOKEN: usize = 96;

/// How big the cache may grow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocumentCacheSize {
    /// Most documents kept; 0 turns the cache off.
    pub entries: usize,
    /// Most estimated bytes kept (text plus [`BYTES_PER_TOKEN`] per token).
    pub bytes: usize,
}

/// What the cache has done so far (its tests read it).
#[cfg(test)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct DocumentCacheStats {
    /// Lookups that found their document.
    pub hits: u64,
    /// Lookups that had to parse.
    pub misses: u64,
    /// Documents held now.
    pub entries: usize,
    /// Estimated bytes held now.
    pub bytes: usize,
}

/// Parsed documents by their text.
pub(crate) struct DocumentCache {
    cache: Option<Mutex<Cache>>,
    max_bytes: usize,
    hits: AtomicU64,
    misses: AtomicU64,
    metrics: Metrics,
}

struct Cache {
    entries: LruCache<Arc<str>, Entry>,
    bytes: usize,
}

struct Entry {
    document: Arc<ExecutableDocument>,
    validations: Arc<Validations>,
    weight: usize,
}

/// A document found in the cache, with what is remembered of its validation.
pub(crate) struct Cached {
    /// The parsed document, the caller's own copy.
    pub document: ExecutableDocument,
    /// Validation results remembered for it.
    pub validations: Arc<Validations>,
}

/// Most validation results remembered per document: one per operation name is the most a
/// document can use (the guard remembers only names the document defines), this caps it anyway.
const MAX_VALIDATIONS: usize = 16;

/// async-graphql's validation results for one document, by the operation name requested (none
/// for an anonymous or only operation). Only successes are kept: a refusal is worked out anew.
#[derive(Default)]
pub(crate) struct Validations(Mutex<Vec<(Option<String>, ValidationResult)>>);

impl Validations {
    fn results(&self) -> MutexGuard<'_, Vec<(Option<String>, ValidationResult)>> {
        // Nothing panics while holding the lock; a poisoned one still holds consistent data.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The result remembered for `operation`, if validation passed for it before.
    pub(crate) fn get(&self, operation: Option<&str>) -> Option<ValidationResult> {
        self.results()
            .iter()
            .find(|(name, _)| name.as_deref() == operation)
            .map(|(_, result)| *result)
    }

    /// Remembers that validation passed for `operation` with `result`.
    pub(crate) fn remember(&self, operation: Option<&str>, result: ValidationResult) {
        let mut results = self.results();
        if results.len() < MAX_VALIDATIONS
            && !results.iter().any(|(name, _)| name.as_deref() == operation)
        {
            results.push((operation.map(str::to_owned), result));
        }
    }
}

impl DocumentCache {
    /// A cache within `size`.
    pub(crate) fn new(size: DocumentCacheSize, metrics: Metrics) -> Self {
        DocumentCache {
            cache: NonZeroUsize::new(size.entries).map(|entries| {
                Mutex::new(Cache {
                    entries: LruCache::new(entries),
                    bytes: 0,
                })
            }),
            max_bytes: size.bytes,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            metrics,
        }
    }

    fn cache(&self) -> Option<MutexGuard<'_, Cache>> {
        // Nothing panics while holding the lock; a poisoned one still holds consistent data.
        let cache = self.cache.as_ref()?;
        Some(cache.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// The parsed document of `query`, if it is cached (counted as a hit or a miss).
    pub(crate) fn get(&self, query: &str) -> Option<Cached> {
        // The lock is held only to find the entry; the copy is made outside it.
        let found = self.cache().and_then(|mut cache| {
            let entry = cache.entries.get(query)?;
            Some((Arc::clone(&entry.document), Arc::clone(&entry.validations)))
        });
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        let document = crate::telemetry::metrics::Cache::Document;
        self.metrics.cache_lookup(document, found.is_some());
        found.map(|(document, validations)| Cached {
            document: ExecutableDocument::clone(&document),
            validations,
        })
    }

    /// Remembers the parsed `document` of `query` (which has `tokens` tokens), dropping the
    /// least recently used documents to stay within the bounds. The validation memory of the
    /// new entry, or `None` when the document is not kept.
    pub(crate) fn insert(
        &self,
        query: &str,
        tokens: usize,
        document: &ExecutableDocument,
    ) -> Option<Arc<Validations>> {
        let weight = query
            .len()
            .saturating_add(tokens.saturating_mul(BYTES_PER_TOKEN));
        if weight > self.max_bytes || self.cache.is_none() {
            return None;
        }
        let validations = Arc::new(Validations::default());
        let entry = Entry {
            document: Arc::new(document.clone()),
            validations: Arc::clone(&validations),
            weight,
        };
        let mut cache = self.cache()?;
        if let Some(old) = cache.entries.pop(query) {
            cache.bytes -= old.weight;
        }
        while cache.entries.len() >= cache.entries.cap().get()
            || cache.bytes + weight > self.max_bytes
        {
            match cache.entries.pop_lru() {
                Some((_, dropped)) => cache.bytes -= dropped.weight,
                None => break,
            }
        }
        cache.bytes += weight;
        cache.entries.put(Arc::from(query), entry);
        Some(validations)
    }

    /// Hits, misses and size so far.
    #[cfg(test)]
    pub(crate) fn stats(&self) -> DocumentCacheStats {
        let (entries, bytes) = self
            .cache()
            .map_or((0, 0), |cache| (cache.entries.len(), cache.bytes));
        DocumentCacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            entries,
            bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::parse_query;

    fn cache(entries: usize, bytes: usize) -> DocumentCache {
        DocumentCache::new(DocumentCacheSize { entries, bytes }, Metrics::new())
    }

    fn put(cache: &DocumentCache, query: &str) {
        let document = parse_query(query).expect("parses");
        cache.insert(query, 4, &document);
    }

    #[test]
    fn a_remembered_document_is_a_hit_and_others_are_misses() {
        let cache = cache(10, 1 << 20);
        assert!(cache.get("{ a }").is_none());
        put(&cache, "{ a }");
        let found = cache.get("{ a }").expect("a hit");
        assert_eq!(found.document.operations.iter().count(), 1);
        // Same hash bucket or not, a different text is never served the document.
        assert!(cache.get("{ a  }").is_none());
        let stats = cache.stats();
        assert_eq!((stats.hits, stats.misses, stats.entries), (1, 2, 1));
        assert_eq!(stats.bytes, "{ a }".len() + 4 * BYTES_PER_TOKEN);
    }

    #[test]
    fn the_least_recently_used_document_goes_first_when_entries_run_out() {
        let cache = cache(2, 1 << 20);
        put(&cache, "{ a }");
        put(&cache, "{ b }");
        assert!(cache.get("{ a }").is_some());
        put(&cache, "{ c }");
        assert!(cache.get("{ b }").is_none(), "b was least recently used");
        assert!(cache.get("{ a }").is_some());
        assert!(cache.get("{ c }").is_some());
        assert_eq!(cache.stats().entries, 2);
    }

    #[test]
    fn the_cache_stays_within_its_byte_budget() {
        let weight = "{ a0 }".len() + 4 * BYTES_PER_TOKEN;
        let cache = cache(100, 3 * weight);
        for i in 0..10 {
            put(&cache, &format!("{{ a{i} }}"));
        }
        let stats = cache.stats();
        assert_eq!(stats.entries, 3);
        assert_eq!(stats.bytes, 3 * weight);
        assert!(cache.get("{ a9 }").is_some());
        assert!(cache.get("{ a0 }").is_none());
        // A document bigger than the whole budget is not kept (and evicts nothing).
        let big = cache_with_one_over();
        assert_eq!(big.stats().entries, 0);
    }

    fn cache_with_one_over() -> DocumentCache {
        let cache = cache(100, 4 * BYTES_PER_TOKEN + 4);
        put(&cache, "{ abcd }");
        cache
    }

    #[test]
    fn size_zero_turns_the_cache_off() {
        let cache = cache(0, 1 << 20);
        put(&cache, "{ a }");
        assert!(cache.get("{ a }").is_none());
        assert_eq!(cache.stats().entries, 0);
    }
}
