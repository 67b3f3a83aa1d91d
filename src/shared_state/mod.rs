//! What replicas share through Redis (`--redis-url`): the tenant budgets and pauses
//! ([`budget`]), a second tier of the persisted-query cache ([`apq`]), and idempotency keys
//! (the primitives in [`keys`], the key store over them in [`key_store`]).
//!
//! Redis is a help, never a dependency of serving: every command has a short timeout
//! (`--redis-timeout`), a [`breaker`] makes the gateway stop asking after a failure and probe
//! again a moment later, and each caller has an answer for "unreachable" (the budget falls back
//! to a local share, a persisted query misses, a keyed request gets 503). The connection is
//! the `redis` crate's `ConnectionManager`, which reconnects by itself.

pub(crate) mod apq;
pub(crate) mod breaker;
pub(crate) mod budget;
pub mod key_store;
pub mod keys;

use std::future::Future;
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::sync::OnceLock;

use crate::config::cluster::RedisConfig;
use crate::telemetry::budget_metrics::BudgetFigures;
use breaker::Breaker;

/// How long the breaker waits after a failure before it lets a probe through.
const COOL_DOWN: Duration = Duration::from_millis(500);

/// Redis could not answer (down, slow, or the breaker is open); the caller falls back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable;

/// The shared Redis connection of one process.
pub struct Redis {
    client: redis::Client,
    manager: OnceLock<ConnectionManager>,
    timeout: Duration,
    prefix: String,
    breaker: Breaker,
    /// Where Redis' commands count (also the tenant budget's figures when it shares through
    /// this Redis).
    figures: BudgetFigures,
}

impl Redis {
    /// Where this connection counts (see [`counting_in`](Redis::counting_in)).
    pub fn figures(&self) -> &BudgetFigures {
        &self.figures
    }

    /// The Redis `config` names, if any; nothing is connected until the first command.
    pub fn new(config: &RedisConfig) -> Result<Option<std::sync::Arc<Redis>>, String> {
        Redis::counting_in(config, BudgetFigures::default())
    }

    /// The Redis `config` names, if any, counting its state and commands in `figures`.
    pub fn counting_in(
        config: &RedisConfig,
        figures: BudgetFigures,
    ) -> Result<Option<std::sync::Arc<Redis>>, String> {
        let Some(url) = &config.redis_url else {
            return Ok(None);
        };
        let client = redis::Client::open(url.0.as_str())
            .map_err(|e| format!("--redis-url is not a Redis URL: {e}"))?;
        Ok(Some(std::sync::Arc::new(Redis {
            client,
            manager: OnceLock::new(),
            timeout: config.redis_timeout,
            prefix: config.redis_prefix.clone(),
            breaker: Breaker::new(COOL_DOWN, figures.clone()),
            figures,
        })))
    }

    /// `prefix` + `rest`: every key the gateway writes.
    pub fn key(&self, rest: &str) -> String {
        format!("{}{rest}", self.prefix)
    }

    /// True while the breaker keeps Redis out of the way.
    pub fn degraded(&self) -> bool {
        self.breaker.is_open()
    }

    fn manager(&self) -> Result<ConnectionManager, Unavailable> {
        if let Some(manager) = self.manager.get() {
            return Ok(manager.clone());
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout.max(Duration::from_millis(50))))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(500));
        let manager = ConnectionManager::new_lazy_with_config(self.client.clone(), config)
            .map_err(|_| Unavailable)?;
        // Two first commands may race to build one; either manager is as good.
        Ok(self.manager.get_or_init(|| manager).clone())
    }

    /// Runs `command` on the connection within the command timeout, through the breaker.
    pub async fn run<T, F, Fut>(&self, command: F) -> Result<T, Unavailable>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        if !self.breaker.allow() {
            return Err(Unavailable);
        }
        let Ok(manager) = self.manager() else {
            self.breaker.failed("cannot set up the connection");
            return Err(Unavailable);
        };
        let started = Instant::now();
        let outcome = tokio::time::timeout(self.timeout, command(manager)).await;
        self.figures.redis_command(started.elapsed());
        match outcome {
            Ok(Ok(value)) => {
                self.breaker.succeeded();
                Ok(value)
            }
            Ok(Err(e)) => {
                self.breaker.failed(&e.to_string());
                Err(Unavailable)
            }
            Err(_) => {
                self.breaker.failed("timed out");
                Err(Unavailable)
            }
        }
    }
}
