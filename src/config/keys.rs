//! The flags of `Idempotency-Key` records, a group of their own so the layer that keeps the
//! keys is handed exactly what it needs.

use std::time::Duration;

use clap::Args;

use super::duration::between;

/// How many `Idempotency-Key` records are kept, how large, and how long a repeat waits.
#[derive(Debug, Clone, Args)]
pub struct IdempotencyConfig {
    /// Most idempotency keys remembered (per process in Graph mode and for the in-memory
    /// store, in the database with --store-path; with --redis-url in Graph mode, the keys each
    /// replica is running); the least recently used go first.
    #[arg(
        long = "idempotency-max-keys",
        env = "GPO_GATEWAY_IDEMPOTENCY_MAX_KEYS",
        default_value_t = 10_000
    )]
    pub max_keys: usize,

    /// Largest answer kept for replaying an Idempotency-Key, in bytes; a repeat of a request
    /// whose answer was larger is refused with CONFLICT instead of being run again.
    #[arg(long = "idempotency-max-answer-bytes", env = "GPO_GATEWAY_IDEMPOTENCY_MAX_ANSWER_BYTES", default_value_t = 256 * 1024)]
    pub max_answer_bytes: usize,

    /// How long a repeat of a still running request with the same Idempotency-Key waits for
    /// its answer before it is refused with CONFLICT (0 to 10m).
    #[arg(long = "idempotency-wait", env = "GPO_GATEWAY_IDEMPOTENCY_WAIT", default_value = "10s",
          value_name = "DURATION", value_parser = between(Duration::ZERO, Duration::from_secs(600)))]
    pub wait: Duration,

    /// Most bytes all idempotency keys hold (keys, fingerprints, kept answers); when full, the
    /// oldest answers of the caller holding the most are forgotten first.
    #[arg(long = "idempotency-max-bytes", env = "GPO_GATEWAY_IDEMPOTENCY_MAX_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub max_bytes: usize,

    /// Most bytes one caller's idempotency keys hold; over it the caller's own oldest answers
    /// are forgotten, never another caller's.
    #[arg(long = "idempotency-max-caller-bytes", env = "GPO_GATEWAY_IDEMPOTENCY_MAX_CALLER_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub max_caller_bytes: usize,
}

impl IdempotencyConfig {
    /// What the key store may hold, as these flags set it (at least one key).
    pub fn limits(&self) -> crate::idempotency::Limits {
        crate::idempotency::Limits {
            max_keys: self.max_keys.max(1),
            max_bytes: self.max_bytes,
            max_scope_bytes: self.max_caller_bytes,
            max_answer_bytes: self.max_answer_bytes,
        }
    }
}
