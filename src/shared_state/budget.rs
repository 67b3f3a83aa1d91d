//! The tenant budgets and pauses in Redis, so every replica counts against one window.
//!
//! One Lua script per decision, so the check and the grant are one atomic round trip: it
//! reads the tenant's pause, drops grants older than the window from each bucket's sorted set
//! (score: Redis' own clock in ms, so the replicas' clocks do not matter), and either adds the
//! new grants or answers how long until the oldest ones leave the window. The same
//! sliding-window log as [`window`](crate::backend::tenant_budget::window), for the same reason.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use redis::Script;

use super::{Redis, Unavailable};
use crate::backend::tenant_budget::{Ask, Decision};

/// KEYS[1]: the pause; KEYS[2..]: the buckets. ARGV: count, window ms, a unique member
/// prefix, then per bucket its cap and its limit. Returns {granted, wait ms, slots left}.
const TAKE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local paused = redis.call('PTTL', KEYS[1])
if paused > 0 then return {0, paused, -1} end
local n = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local wait = 0
local left = -1
for i = 2, #KEYS do
  local cap = tonumber(ARGV[2 + (i - 1) * 2])
  local limit = tonumber(ARGV[3 + (i - 1) * 2])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window)
  local used = redis.call('ZCARD', KEYS[i])
  if i == 2 then left = limit - used - n end
  if used + n > cap then
    local w = window
    if n <= cap then
      local oldest = redis.call('ZRANGE', KEYS[i], used + n - cap - 1, used + n - cap - 1, 'WITHSCORES')
      w = tonumber(oldest[2]) + window - now
    end
    if w < 1 then w = 1 end
    if w > wait then wait = w end
  end
end
if wait > 0 then return {0, wait, left} end
for i = 2, #KEYS do
  local members = {}
  for j = 1, n do
    members[#members + 1] = now
    members[#members + 1] = ARGV[3] .. ':' .. j
  end
  redis.call('ZADD', KEYS[i], unpack(members))
  redis.call('PEXPIRE', KEYS[i], window)
end
if left < 0 then left = 0 end
return {1, 0, left}
";

/// KEYS[1]: the pause; ARGV[1]: ms. A longer pause already set stands.
const PAUSE: &str = r"
local ms = tonumber(ARGV[1])
if ms <= 0 then return 0 end
if redis.call('PTTL', KEYS[1]) < ms then
  redis.call('SET', KEYS[1], '1', 'PX', ms)
end
return 1
";

/// The tenant budgets in Redis.
pub(crate) struct SharedLedger {
    redis: Arc<Redis>,
    window: Duration,
    take: Script,
    pause: Script,
    /// This process' id and a counter: every grant a unique member of its sorted set.
    replica: String,
    grants: AtomicU64,
}

impl SharedLedger {
    /// Budgets counted over `window` in `redis`.
    pub(crate) fn new(redis: Arc<Redis>, window: Duration) -> Self {
        SharedLedger {
            redis,
            window,
            take: Script::new(TAKE),
            pause: Script::new(PAUSE),
            replica: uuid::Uuid::new_v4().simple().to_string(),
            grants: AtomicU64::new(0),
        }
    }

    fn tenant_key(&self, tenant: &str, what: &str) -> String {
        // Braces: one hash slot per tenant, should the Redis be a cluster.
        self.redis
            .key(&format!("budget:{{{}}}:{what}", safe(tenant)))
    }

    /// Grants `ask` or says how long to wait, in one atomic round trip.
    pub(crate) async fn take(&self, ask: &Ask<'_>) -> Result<Decision, Unavailable> {
        let mut invocation = self.take.prepare_invoke();
        invocation.key(self.tenant_key(ask.tenant, "pause"));
        for bucket in &ask.buckets {
            invocation.key(self.tenant_key(ask.tenant, bucket.kind.as_str()));
        }
        let member = format!(
            "{}-{}",
            self.replica,
            self.grants.fetch_add(1, Ordering::Relaxed)
        );
        invocation
            .arg(ask.count)
            .arg(self.window.as_millis() as u64)
            .arg(member);
        for bucket in &ask.buckets {
            invocation.arg(bucket.cap).arg(bucket.limit);
        }
        let (granted, wait, left): (i64, i64, i64) = self
            .redis
            .run(|mut connection| async move { invocation.invoke_async(&mut connection).await })
            .await?;
        Ok(if granted == 1 {
            Decision::Granted {
                left: u32::try_from(left.max(0)).unwrap_or(u32::MAX),
            }
        } else {
            Decision::Wait(Duration::from_millis(wait.max(1) as u64))
        })
    }

    /// Pauses `tenant` for `wait` on every replica.
    pub(crate) async fn pause(&self, tenant: &str, wait: Duration) -> Result<(), Unavailable> {
        let mut invocation = self.pause.prepare_invoke();
        invocation
            .key(self.tenant_key(tenant, "pause"))
            .arg(wait.as_millis() as u64);
        self.redis
            .run(|mut connection| async move {
                invocation.invoke_async::<i64>(&mut connection).await
            })
            .await
            .map(|_| ())
    }
}

/// A tenant key as it may appear in a Redis key: as is when short and plain, else hashed.
fn safe(tenant: &str) -> String {
    let plain = tenant.len() <= 100
        && tenant
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_:.".contains(&b));
    if plain {
        tenant.to_owned()
    } else {
        use sha2::{Digest, Sha256};
        format!("{:x}", Sha256::digest(tenant.as_bytes()))
    }
}
