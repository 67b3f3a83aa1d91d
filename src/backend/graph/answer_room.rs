//! One budget for the bytes of Graph answers being read at once, across every request
//! (`--graph-answer-bytes-in-flight`). `--graph-max-body-bytes` bounds one answer; this bounds
//! them all together, so many concurrent large answers (expanded files, `$batch` answers of 20
//! entities) wait for room instead of growing the gateway's memory with their number.
//!
//! An answer that declares its length takes room for all of it before its first byte is read,
//! waiting in line (first come, first served) until its call's deadline. One of unknown length
//! takes room chunk by chunk and never waits while it holds some: two half-read answers each
//! waiting for the other's room would wait forever, so when no room is left it is refused at
//! once. Room is given back once the answer has been parsed.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// The budget shared by every call of one client.
pub(crate) struct AnswerBudget {
    room: Arc<Semaphore>,
    capacity: usize,
}

/// Why an answer could not have room.
#[derive(Debug, PartialEq)]
pub(crate) enum NoRoom {
    /// The answer alone is larger than the whole budget.
    Larger(usize),
    /// The budget is taken by other answers (none left at once, or none before the deadline).
    Taken(usize),
}

impl AnswerBudget {
    /// A budget of `bytes` (at most `u32::MAX`, the most a semaphore hands out at once).
    pub(crate) fn new(bytes: usize) -> Self {
        let capacity = bytes.min(u32::MAX as usize);
        AnswerBudget {
            room: Arc::new(Semaphore::new(capacity)),
            capacity,
        }
    }

    /// The room one answer holds, empty for now; given back when dropped.
    pub(crate) fn holding(&self) -> Holding {
        Holding {
            room: Arc::clone(&self.room),
            capacity: self.capacity,
            permit: None,
        }
    }

    /// Bytes no answer holds now.
    #[cfg(test)]
    pub(crate) fn available(&self) -> usize {
        self.room.available_permits()
    }
}

/// The room one answer holds.
pub(crate) struct Holding {
    room: Arc<Semaphore>,
    capacity: usize,
    permit: Option<OwnedSemaphorePermit>,
}

impl Holding {
    /// Bytes held.
    pub(crate) fn held(&self) -> usize {
        self.permit
            .as_ref()
            .map_or(0, OwnedSemaphorePermit::num_permits)
    }

    /// Room for `total` bytes in all, waiting in line until `deadline` when this answer holds
    /// nothing yet; otherwise as [`grow_to`](Self::grow_to).
    pub(crate) async fn wait_for(&mut self, total: usize, deadline: Instant) -> Result<(), NoRoom> {
        if self.held() > 0 {
            return self.grow_to(total);
        }
        let wanted = self.checked(total)?;
        if wanted == 0 {
            return Ok(());
        }
        let acquire = Arc::clone(&self.room).acquire_many_owned(wanted);
        match tokio::time::timeout_at(deadline, acquire).await {
            Ok(Ok(permit)) => {
                self.permit = Some(permit);
                Ok(())
            }
            // The semaphore is never closed; a timeout means the room stayed taken.
            _ => Err(NoRoom::Taken(self.capacity)),
        }
    }

    /// Room for `total` bytes in all, taken at once or refused, never waited for.
    pub(crate) fn grow_to(&mut self, total: usize) -> Result<(), NoRoom> {
        let wanted = self.checked(total)? as usize;
        let more = wanted.saturating_sub(self.held());
        if more == 0 {
            return Ok(());
        }
        let more = u32::try_from(more).map_err(|_| NoRoom::Larger(self.capacity))?;
        let permit = Arc::clone(&self.room)
            .try_acquire_many_owned(more)
            .map_err(|_| NoRoom::Taken(self.capacity))?;
        match &mut self.permit {
            Some(held) => held.merge(permit),
            None => self.permit = Some(permit),
        }
        Ok(())
    }

    fn checked(&self, total: usize) -> Result<u32, NoRoom> {
        if total > self.capacity {
            return Err(NoRoom::Larger(self.capacity));
        }
        u32::try_from(total).map_err(|_| NoRoom::Larger(self.capacity))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn room_is_never_handed_out_past_the_budget_and_comes_back_when_dropped() {
        let budget = AnswerBudget::new(100);
        let mut a = budget.holding();
        a.grow_to(60).expect("room");
        a.grow_to(40).expect("already held");
        assert_eq!(a.held(), 60);
        let mut b = budget.holding();
        assert_eq!(b.grow_to(50), Err(NoRoom::Taken(100)));
        assert_eq!(b.held(), 0, "a refusal takes nothing");
        b.grow_to(40).expect("the rest");
        assert_eq!(budget.available(), 0);
        assert_eq!(budget.holding().grow_to(101), Err(NoRoom::Larger(100)));
        drop(a);
        assert_eq!(budget.available(), 60);
        drop(b);
        assert_eq!(budget.available(), 100);
    }

    #[tokio::test]
    async fn an_answer_of_known_length_waits_in_line_until_its_deadline() {
        let budget = AnswerBudget::new(100);
        let mut first = budget.holding();
        first.grow_to(80).expect("room");
        let mut second = budget.holding();
        let soon = Instant::now() + Duration::from_millis(50);
        assert_eq!(second.wait_for(30, soon).await, Err(NoRoom::Taken(100)));
        let mut third = budget.holding();
        let later = Instant::now() + Duration::from_secs(30);
        let waiting =
            tokio::spawn(async move { third.wait_for(90, later).await.map(|()| third.held()) });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "no room while the first holds 80");
        drop(first);
        assert_eq!(waiting.await.expect("joined"), Ok(90));
        assert_eq!(budget.available(), 100, "the waiter's room came back");
    }
}
