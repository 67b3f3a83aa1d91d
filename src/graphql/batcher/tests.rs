use std::collections::HashMap;
use std::pin::pin;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

use futures_util::future::{join, join_all};

use super::{Batcher, Load};

/// Doubles each key and records the keys of every call.
#[derive(Default)]
struct Doubler {
    calls: Mutex<Vec<Vec<u32>>>,
}

impl Doubler {
    fn calls(&self) -> Vec<Vec<u32>> {
        let mut calls = self.calls.lock().expect("not poisoned").clone();
        for call in &mut calls {
            call.sort_unstable();
        }
        calls
    }
}

impl Load for Doubler {
    type Key = u32;
    type Value = u32;

    async fn load(&self, keys: &[u32]) -> HashMap<u32, u32> {
        self.calls.lock().expect("not poisoned").push(keys.to_vec());
        // Odd keys "do not exist".
        keys.iter()
            .filter(|k| k.is_multiple_of(2))
            .map(|k| (*k, k * 2))
            .collect()
    }
}

/// A runtime without a time driver: a batcher that slept would panic here.
fn run<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime")
        .block_on(future)
}

#[test]
fn lookups_across_nested_lists_in_one_step_are_one_load() {
    let batcher = Batcher::new(Doubler::default());
    // Lists of lists of lookups, as a query with aliases and nested list fields resolves
    // them, with repeated keys; more than 30 items so `join_all` uses its unordered set.
    let outer = (0..4u32).map(|i| {
        let batcher = &batcher;
        async move { join_all((0..40u32).map(|j| batcher.load_one((i * 40 + j) % 100))).await }
    });
    let single = batcher.load_one(2);
    let (lists, one) = run(join(join_all(outer), single));
    assert_eq!(batcher.loader().calls(), vec![(0..100).collect::<Vec<_>>()]);
    assert_eq!(one, Some(4));
    for (i, list) in lists.iter().enumerate() {
        for (j, value) in list.iter().enumerate() {
            let key = (i as u32 * 40 + j as u32) % 100;
            let expected = key.is_multiple_of(2).then_some(key * 2);
            assert_eq!(*value, expected, "key {key}");
        }
    }
}

#[test]
fn lookups_of_the_next_step_make_the_next_batch() {
    let batcher = Batcher::new(Doubler::default());
    let step = |keys: Vec<u32>| {
        let batcher = &batcher;
        async move { join_all(keys.into_iter().map(|k| batcher.load_one(k))).await }
    };
    let results = run(async {
        let first = step(vec![2, 4, 6]).await;
        let second = step(vec![8, 2]).await;
        (first, second)
    });
    assert_eq!(
        results,
        (vec![Some(4), Some(8), Some(12)], vec![Some(16), Some(4)])
    );
    assert_eq!(batcher.loader().calls(), vec![vec![2, 4, 6], vec![2, 8]]);
}

#[test]
fn waiters_of_a_cancelled_leader_load_in_a_batch_of_their_own() {
    let batcher = Batcher::new(Doubler::default());
    let mut cx = Context::from_waker(Waker::noop());
    let mut leader = Box::pin(batcher.load_one(2));
    let mut waiter = pin!(batcher.load_one(4));
    // The leader opens the batch and yields; the waiter joins it.
    assert!(leader.as_mut().poll(&mut cx).is_pending());
    assert!(waiter.as_mut().poll(&mut cx).is_pending());
    drop(leader);
    let value = run(waiter);
    assert_eq!(value, Some(8));
    assert_eq!(batcher.loader().calls(), vec![vec![4]]);
    // The batcher still works afterwards.
    assert_eq!(run(batcher.load_one(6)), Some(12));
}

#[test]
fn a_repolled_waiter_keeps_one_slot() {
    let batcher = Batcher::new(Doubler::default());
    let mut cx = Context::from_waker(Waker::noop());
    let mut leader = pin!(batcher.load_one(2));
    let mut waiter = pin!(batcher.load_one(4));
    assert!(leader.as_mut().poll(&mut cx).is_pending());
    for _ in 0..10 {
        assert!(waiter.as_mut().poll(&mut cx).is_pending());
    }
    let open = batcher.open.lock().expect("not poisoned").clone();
    let batch = open.expect("an open batch");
    assert_eq!(batch.state().waiters.len(), 1);
    // Two passes without growth and the leader loads.
    loop {
        if let Poll::Ready(value) = leader.as_mut().poll(&mut cx) {
            assert_eq!(value, Some(4));
            break;
        }
    }
    assert_eq!(waiter.as_mut().poll(&mut cx), Poll::Ready(Some(8)));
}

/// Keeps its first call in flight for ever (a backend call that never answers); answers later
/// calls at once.
#[derive(Default)]
struct FirstCallHangs {
    calls: Mutex<Vec<Vec<u32>>>,
}

impl Load for FirstCallHangs {
    type Key = u32;
    type Value = u32;

    async fn load(&self, keys: &[u32]) -> HashMap<u32, u32> {
        let first = {
            let mut calls = self.calls.lock().expect("not poisoned");
            calls.push(keys.to_vec());
            calls.len() == 1
        };
        if first {
            std::future::pending::<()>().await;
        }
        keys.iter().map(|k| (*k, k * 2)).collect()
    }
}

#[test]
fn a_lookup_cancelled_while_its_batch_loads_leaves_the_others_a_fresh_load() {
    let batcher = Batcher::new(FirstCallHangs::default());
    let mut cx = Context::from_waker(Waker::noop());
    let mut first = Box::pin(batcher.load_one(2));
    let mut second = pin!(batcher.load_one(4));
    // Poll both until the batch of both keys is being loaded.
    while batcher
        .loader()
        .calls
        .lock()
        .expect("not poisoned")
        .is_empty()
    {
        assert!(first.as_mut().poll(&mut cx).is_pending());
        assert!(second.as_mut().poll(&mut cx).is_pending());
    }
    // The lookup that loads goes away (its field was cancelled): the other is loaded again.
    drop(first);
    assert_eq!(run(second), Some(8));
    let calls = batcher.loader().calls.lock().expect("not poisoned").clone();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[1], vec![4]);
}
