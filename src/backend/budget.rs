//! What one GraphQL request may spend upstream, so that no single request (or HTTP batch) can
//! use up the tenant's Intune throttling budget (2,000 requests per 20 s, shared by everyone).
//!
//! The budget rides on [`Caller`](super::Caller), so every backend call of the request sees it
//! without the backend knowing GraphQL. It counts as Intune counts: every request that reaches
//! Graph is one, whether a plain call, a Graph `$batch` sub-request, a list page or a retry. A call is
//! paid for before it is sent; when the budget cannot pay, the call is not made and the field
//! that wanted it gets `LIMIT_EXCEEDED`. The budget also remembers the list pages it paid for,
//! so asking for the same page twice in one request costs once.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use crate::domain::{Guid, Page};
use crate::error::Error;
use crate::telemetry::metrics::BackendFigures;

/// One list call, as far as its answer is concerned: the same file, page size and cursor
/// give the same page within one request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ListCall {
    /// The definition file whose operations are listed.
    pub definition_file_id: Guid,
    /// The page size asked for.
    pub first: usize,
    /// The cursor the page resumes after; `None` for the first page.
    pub after: Option<String>,
}

type Remembered = Arc<OnceCell<Result<Page, Error>>>;

struct Meter {
    limit: usize,
    spent: AtomicUsize,
    lists: Mutex<HashMap<ListCall, Remembered>>,
}

/// Who is waiting for the tenant's budget (see [`tenant_budget`](super::tenant_budget)): a
/// person's request, or a subscription poller that yields to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Priority {
    /// A client's GraphQL request: first in line.
    Interactive,
    /// A shared subscription poller: last in line, standing aside while a client's request waits.
    Poller,
}

/// The upstream requests one GraphQL request (an HTTP request, all operations of an HTTP batch
/// together, or one WebSocket operation) may still make. Clones share one count.
#[derive(Clone)]
pub struct RequestBudget(Option<Arc<Meter>>, Priority);

impl fmt::Debug for RequestBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(meter) => write!(f, "RequestBudget({}/{})", self.spent(), meter.limit),
            None => write!(f, "RequestBudget(unmetered, {:?})", self.1),
        }
    }
}

impl RequestBudget {
    /// A budget of `limit` upstream requests.
    pub fn new(limit: usize) -> Self {
        RequestBudget(
            Some(Arc::new(Meter {
                limit,
                spent: AtomicUsize::new(0),
                lists: Mutex::default(),
            })),
            Priority::Interactive,
        )
    }

    /// No budget: for work no request pays for.
    pub fn unmetered() -> Self {
        RequestBudget(None, Priority::Interactive)
    }

    /// No request's budget, and last in line for the tenant's: shared subscription pollers,
    /// paced by their interval and by the tenant budget's poller share.
    pub fn poller() -> Self {
        RequestBudget(None, Priority::Poller)
    }

    /// Where this work stands in line for the tenant's budget.
    pub fn priority(&self) -> Priority {
        self.1
    }

    /// Requests made (or reserved) so far.
    pub fn spent(&self) -> usize {
        self.0
            .as_ref()
            .map_or(0, |meter| meter.spent.load(Ordering::SeqCst))
    }

    /// Pays for `count` requests at once, or for none and says why (a refusal counted in
    /// `figures`).
    pub fn spend(&self, count: usize, figures: &BackendFigures) -> Result<(), Error> {
        match self.spend_up_to(count) {
            granted if granted == count => Ok(()),
            granted => {
                self.refund(granted);
                Err(self.exhausted(figures))
            }
        }
    }

    /// Pays for as many of `count` requests as the budget still allows; returns how many.
    pub fn spend_up_to(&self, count: usize) -> usize {
        let Some(meter) = &self.0 else {
            return count;
        };
        let mut granted = 0;
        // Never overshoots: concurrent fields race for what is left, and the losers are refused.
        let _ = meter
            .spent
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |spent| {
                granted = meter.limit.saturating_sub(spent).min(count);
                (granted > 0).then_some(spent + granted)
            });
        granted
    }

    fn refund(&self, count: usize) {
        if let Some(meter) = &self.0 {
            meter.spent.fetch_sub(count, Ordering::SeqCst);
        }
    }

    /// The error for a call the budget cannot pay for, counted as a refusal in `figures`.
    pub fn exhausted(&self, figures: &BackendFigures) -> Error {
        let limit = self.0.as_ref().map_or(0, |meter| meter.limit);
        let refusal = crate::refusal::Refusal::GraphRequestBudget { limit };
        figures.refused(&refusal);
        refusal.into()
    }

    /// The page `call` yields, fetched by `fetch` at most once per budget: identical list calls
    /// of one request, even concurrent ones, share the first one's answer.
    pub async fn list_once<F>(&self, call: ListCall, fetch: F) -> Result<Page, Error>
    where
        F: Future<Output = Result<Page, Error>>,
    {
        let Some(meter) = &self.0 else {
            return fetch.await;
        };
        let cell = {
            let mut lists = meter.lists.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(lists.entry(call).or_default())
        };
        cell.get_or_init(|| fetch).await.clone()
    }

    /// Forgets remembered pages: after a write, the same list call may answer differently.
    pub fn forget_lists(&self) {
        if let Some(meter) = &self.0 {
            meter
                .lists
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spending_stops_at_the_limit_and_all_or_nothing_refunds() {
        let budget = RequestBudget::new(5);
        assert!(budget.spend(3, &BackendFigures::default()).is_ok());
        assert_eq!(budget.spend_up_to(4), 2, "only two left");
        assert_eq!(budget.spent(), 5);
        assert_eq!(budget.spend_up_to(1), 0);
        let error = budget
            .spend(1, &BackendFigures::default())
            .expect_err("exhausted");
        assert_eq!(error.code(), crate::error::Code::LimitExceeded);
        assert!(error.to_string().contains("budget of 5"), "{error}");
        assert_eq!(budget.spent(), 5, "a refused spend costs nothing");

        let budget = RequestBudget::new(2);
        assert!(budget.spend(3, &BackendFigures::default()).is_err());
        assert_eq!(budget.spent(), 0, "all or nothing");
        let shared = budget.clone();
        assert!(shared.spend(2, &BackendFigures::default()).is_ok());
        assert_eq!(budget.spent(), 2, "clones share the count");
    }

    #[test]
    fn unmetered_never_refuses() {
        let budget = RequestBudget::unmetered();
        assert_eq!(budget.spend_up_to(1_000_000), 1_000_000);
        assert!(budget.spend(usize::MAX, &BackendFigures::default()).is_ok());
    }

    #[tokio::test]
    async fn identical_list_calls_are_fetched_once_until_a_write() {
        let budget = RequestBudget::new(10);
        let call = ListCall {
            definition_file_id: Guid::new_v4(),
            first: 5,
            after: None,
        };
        let fetches = AtomicUsize::new(0);
        let fetch = || async {
            fetches.fetch_add(1, Ordering::SeqCst);
            Ok(Page::default())
        };
        let (a, b) = tokio::join!(
            budget.list_once(call.clone(), fetch()),
            budget.list_once(call.clone(), fetch())
        );
        assert!(a.is_ok() && b.is_ok());
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        let other = ListCall {
            first: 6,
            ..call.clone()
        };
        budget.list_once(other, fetch()).await.expect("a page");
        assert_eq!(
            fetches.load(Ordering::SeqCst),
            2,
            "another page size is another call"
        );
        budget.forget_lists();
        budget.list_once(call, fetch()).await.expect("a page");
        assert_eq!(fetches.load(Ordering::SeqCst), 3);
    }
}
