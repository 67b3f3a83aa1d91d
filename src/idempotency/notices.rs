//! Wake-ups for requests waiting on a key another request of this process holds, so a waiter
//! sleeps until the outcome instead of asking the store again and again.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use super::{Claim, KeyId};
use crate::error::Error;

/// The longest a waiter sleeps without asking the store again: a key held by another process
/// sharing the database (or a lost wake-up) is noticed this late at most.
const RECHECK: Duration = Duration::from_millis(500);

/// Channels of the keys someone waits on; an entry lives from the first waiter until the
/// key's request ends, so there are never more than the requests waiting.
#[derive(Default)]
pub struct Notices {
    waiting: Mutex<HashMap<KeyId, watch::Sender<()>>>,
}

impl Notices {
    fn listen(&self, id: &KeyId) -> watch::Receiver<()> {
        let mut waiting = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
        waiting
            .entry(id.clone())
            .or_insert_with(|| watch::channel(()).0)
            .subscribe()
    }

    /// The request holding `id` ended: every waiter wakes.
    pub fn notify(&self, id: &KeyId) {
        let sender = self
            .waiting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
        // Dropping the sender ends every receiver's `changed()`.
        drop(sender);
    }

    /// Claims `id` with `claim` until it is no longer running or `until` passes, sleeping
    /// between attempts until notified.
    pub async fn wait<F, Fut>(
        &self,
        id: &KeyId,
        until: Instant,
        mut claim: F,
    ) -> Result<Claim, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Claim, Error>>,
    {
        loop {
            // Listening before looking, so an end between the two is not missed.
            let mut ended = self.listen(id);
            let found = claim().await?;
            let now = Instant::now();
            if !matches!(found, Claim::Running { same_body: true }) || now >= until {
                if !matches!(found, Claim::Running { .. }) {
                    // Nobody needs the channel of a key that is not running.
                    self.notify(id);
                }
                return Ok(found);
            }
            let nap = (until - now).min(RECHECK);
            let _ = tokio::time::timeout(nap, ended.changed()).await;
        }
    }
}
