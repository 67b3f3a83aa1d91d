//! Flags of the tenant's Graph budget and of Redis, the state replicas share: one struct per
//! concern, flattened into [`Config`](super::Config) so every flag stays a top-level flag.

use std::time::Duration;

use clap::Args;
use clap::builder::RangedU64ValueParser;

use super::duration::between;

/// How much of the tenant's Intune budget the gateway may spend, and how it waits for it.
#[derive(Debug, Clone, Args)]
pub struct BudgetConfig {
    /// Graph mode: the tenant every request belongs to (single-tenant deployments). Unset: a
    /// token's `tid` claim once Graph has accepted that token, else the token itself.
    #[arg(long, env = "GPO_GATEWAY_TENANT_ID", value_name = "TENANT")]
    pub tenant_id: Option<String>,

    /// Graph mode: most Microsoft Graph requests (writes included) per tenant in any
    /// --tenant-budget-window, across all replicas sharing --redis-url (Intune: 1,000 per 20 s
    /// per app and tenant).
    #[arg(long, env = "GPO_GATEWAY_TENANT_READ_BUDGET", default_value_t = 1000,
          value_parser = RangedU64ValueParser::<u32>::new().range(1..=1_000_000))]
    pub tenant_read_budget: u32,

    /// Graph mode: most writes (POST, PATCH, DELETE) per tenant in any --tenant-budget-window
    /// (Intune: 100 per 20 s per app and tenant).
    #[arg(long, env = "GPO_GATEWAY_TENANT_WRITE_BUDGET", default_value_t = 100,
          value_parser = RangedU64ValueParser::<u32>::new().range(1..=1_000_000))]
    pub tenant_write_budget: u32,

    /// Graph mode: the window the tenant budgets count over (1s to 1h).
    #[arg(long, env = "GPO_GATEWAY_TENANT_BUDGET_WINDOW", default_value = "20s",
          value_name = "DURATION", value_parser = between(Duration::from_secs(1), Duration::from_secs(3600)))]
    pub tenant_budget_window: Duration,

    /// Graph mode: longest a Graph request waits in line for the tenant budget before its field
    /// fails with THROTTLED and a retryAfter (0 to 1m).
    #[arg(long, env = "GPO_GATEWAY_GRAPH_BUDGET_WAIT", default_value = "2s",
          value_name = "DURATION", value_parser = between(Duration::ZERO, Duration::from_secs(60)))]
    pub graph_budget_wait: Duration,

    /// Graph mode: share of each tenant budget subscription pollers may use (0.05 to 1); the
    /// rest is kept for interactive requests.
    #[arg(long, env = "GPO_GATEWAY_POLLER_BUDGET_SHARE", default_value_t = 0.5,
          value_parser = share)]
    pub poller_budget_share: f64,

    /// How many replicas share the budget: while Redis is unreachable each one spends at most
    /// 1/N of it on its own. Unset: the whole budget.
    #[arg(long, env = "GPO_GATEWAY_REPLICAS", value_name = "N",
          value_parser = RangedU64ValueParser::<u32>::new().range(1..=1000))]
    pub replicas: Option<u32>,
}

impl BudgetConfig {
    /// The defaults, as if started with no flags and no environment (for tests).
    pub fn defaults() -> Self {
        super::Config::defaults().budget
    }
}

/// Where replicas share state.
#[derive(Debug, Clone, Args)]
pub struct RedisConfig {
    /// Redis that replicas share (tenant budgets and pauses, persisted queries, idempotency
    /// keys), e.g. `redis://127.0.0.1:6379/0`. Unset: each process keeps its own.
    #[arg(
        long,
        env = "GPO_GATEWAY_REDIS_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub redis_url: Option<crate::config::Secret>,

    /// Longest one Redis command may take before Redis counts as unreachable (1ms to 10s).
    #[arg(long, env = "GPO_GATEWAY_REDIS_TIMEOUT", default_value = "100ms",
          value_name = "DURATION", value_parser = between(Duration::from_millis(1), Duration::from_secs(10)))]
    pub redis_timeout: Duration,

    /// Prefix of every key the gateway writes in Redis (several gateways may share one Redis).
    #[arg(long, env = "GPO_GATEWAY_REDIS_PREFIX", default_value = "gpo-gateway:",
          value_parser = prefix)]
    pub redis_prefix: String,
}

fn share(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number between 0.05 and 1"))?;
    if (0.05..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("`{text}` is not between 0.05 and 1"))
    }
}

fn prefix(text: &str) -> Result<String, String> {
    if text.len() <= 64
        && text
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'{' && b != b'}')
    {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "`{text}` must be at most 64 printable characters without spaces or braces"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_and_prefixes_are_bounded() {
        assert_eq!(share("0.5"), Ok(0.5));
        assert!(share("0").is_err());
        assert!(share("1.5").is_err());
        assert!(share("NaN").is_err());
        assert_eq!(prefix("gw:"), Ok("gw:".to_owned()));
        assert!(prefix("a {b}").is_err());
        assert!(prefix(&"x".repeat(65)).is_err());
    }
}
