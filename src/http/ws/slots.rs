//! Counted allowances: live subscriptions (per connection and in total) and open WebSockets
//! (in total and per client address). A slot is taken before the work starts and given back
//! when its guard drops, however the work ends.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Counts holders of a slot against a cap.
#[derive(Clone)]
pub(crate) struct Slots {
    live: Arc<AtomicUsize>,
    cap: usize,
}

/// A held slot, given back on drop.
pub(crate) struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Slots {
    /// Allows `cap` holders at once.
    pub(crate) fn new(cap: usize) -> Self {
        Slots {
            live: Arc::new(AtomicUsize::new(0)),
            cap,
        }
    }

    /// Takes a slot, or `None` when all are in use.
    pub(crate) fn acquire(&self) -> Option<Slot> {
        self.live
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < self.cap).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot(Arc::clone(&self.live)))
    }

    /// Slots held now.
    pub(crate) fn live(&self) -> usize {
        self.live.load(Ordering::SeqCst)
    }

    /// The cap.
    pub(crate) fn cap(&self) -> usize {
        self.cap
    }
}

type Counts = Arc<Mutex<HashMap<IpAddr, usize>>>;

/// Counts holders per client address against a cap for each address.
pub(crate) struct AddressSlots {
    live: Counts,
    cap: usize,
}

/// A held slot of one address, given back on drop (the address is forgotten at zero, so the
/// map only ever holds addresses with an open connection).
pub(crate) struct AddressSlot {
    live: Counts,
    address: IpAddr,
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = live.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                live.remove(&self.address);
            }
        }
    }
}

impl AddressSlots {
    /// Allows `cap` holders per address.
    pub(crate) fn new(cap: usize) -> Self {
        AddressSlots {
            live: Counts::default(),
            cap,
        }
    }

    /// Takes a slot for `address`, or `None` when that address holds all it may.
    pub(crate) fn acquire(&self, address: IpAddr) -> Option<AddressSlot> {
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        let count = live.entry(address).or_default();
        if *count >= self.cap {
            if *count == 0 {
                live.remove(&address);
            }
            return None;
        }
        *count += 1;
        Some(AddressSlot {
            live: Arc::clone(&self.live),
            address,
        })
    }

    /// The cap per address.
    pub(crate) fn cap(&self) -> usize {
        self.cap
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_capped_and_given_back_on_drop() {
        let slots = Slots::new(2);
        let a = slots.acquire().expect("first");
        let _b = slots.acquire().expect("second");
        assert!(slots.acquire().is_none());
        drop(a);
        assert_eq!(slots.live(), 1);
        assert!(slots.acquire().is_some());
    }

    #[test]
    fn each_address_has_its_own_allowance_and_is_forgotten_at_zero() {
        let slots = AddressSlots::new(1);
        let one: IpAddr = [10, 0, 0, 1].into();
        let two: IpAddr = [10, 0, 0, 2].into();
        let held = slots.acquire(one).expect("first of one");
        assert!(slots.acquire(one).is_none());
        let other = slots.acquire(two).expect("another address");
        drop(held);
        drop(other);
        assert!(slots.live.lock().expect("lock").is_empty());
        assert!(slots.acquire(one).is_some());
        let none_allowed = AddressSlots::new(0);
        assert!(none_allowed.acquire(one).is_none());
        assert!(none_allowed.live.lock().expect("lock").is_empty());
    }
}
