//! Where definition files are read: never under the store's lock and never on an async
//! worker, but on Tokio's blocking pool behind a small semaphore, so at most [`PARSERS`]
//! files are parsed at once whatever is uploaded, and `/healthz`, reads and the drain on
//! shutdown never wait for a parse. Each read has a time budget; past it the work is failed
//! (the thread finishes on its own, still holding its place in the pool, so the pool stays
//! bounded).

use std::time::Duration;

use tokio::sync::Semaphore;

/// Files parsed at once, across the process.
pub(crate) const PARSERS: usize = 2;
/// Time one set of files may take to read before its work is failed.
pub(crate) const BUDGET: Duration = Duration::from_secs(10);

static POOL: Semaphore = Semaphore::const_new(PARSERS);

/// Runs `work` on the bounded pool; `Err` with the reason when it overran `budget` or failed.
pub(crate) async fn run<T: Send + 'static>(
    budget: Duration,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    // The semaphore is never closed.
    let permit = POOL
        .acquire()
        .await
        .map_err(|_| "the parsing pool is closed".to_owned())?;
    let permit = permit_owned(permit);
    let task = tokio::task::spawn_blocking(move || {
        let _held = permit;
        work()
    });
    match tokio::time::timeout(budget, task).await {
        Ok(Ok(done)) => Ok(done),
        Ok(Err(e)) => Err(format!("reading the files failed: {e}")),
        Err(_) => Err(format!(
            "Reading the files took longer than {} s, the processing time budget \
             (ContentParsingException)",
            budget.as_secs_f64()
        )),
    }
}

/// A permit of the static pool that can move to the blocking thread.
fn permit_owned(permit: tokio::sync::SemaphorePermit<'static>) -> Permit {
    permit.forget();
    Permit
}

/// One place in the pool, given back when dropped.
struct Permit;

impl Drop for Permit {
    fn drop(&mut self) {
        POOL.add_permits(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn work_over_its_budget_is_failed_and_the_pool_stays_bounded() {
        let slow = run(Duration::from_millis(50), || {
            std::thread::sleep(Duration::from_millis(400))
        });
        let err = slow.await.expect_err("over budget");
        assert!(err.contains("processing time budget"), "{err}");
        // The overrunning thread still holds its place until it ends (other tests may hold
        // places too, never more than the pool has).
        assert!(POOL.available_permits() < PARSERS);
        assert_eq!(run(BUDGET, || 7).await, Ok(7));
        let started = std::time::Instant::now();
        while POOL.available_permits() < PARSERS {
            assert!(started.elapsed() < Duration::from_secs(10));
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}
