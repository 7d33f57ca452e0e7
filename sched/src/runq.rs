//! Run queues: the mechanism only. The only module that touches crossbeam-deque.
//!
//! In crossbeam's words: a P's local queue is a [`Worker`] (its owner pushes and pops), other Ps take from it
//! through its [`Stealer`], and the global queue is an [`Injector`]. `runnext` ([`RunNext`]) is a one-G slot in
//! front of the local queue, ours, lock-free and checked with loom.
//!
//! The local queue is bounded at [`RUNQ_CAP`] as Go's is: when it is full, its owner moves half of it to the
//! global queue ([`LocalQueue::push`] hands that half back to the caller), so one P cannot hoard thousands of
//! Gs that idle Ps would have to steal one batch at a time.
//!
//! Policy (when to look where, whom to rob) lives in `m.rs` and `steal.rs`.

use std::marker::PhantomData;
use std::ptr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use crossbeam_deque::{Injector, Steal, Stealer, Worker};

use crate::g::GRef;
use crate::loom::AtomicPtr;

/// Capacity of a P's local run queue (Go: 256). Large enough that a burst of spawns stays local; small enough
/// that overflow reaches the global queue, where idle Ps find it, before a P hoards a backlog.
pub const RUNQ_CAP: usize = 256;

/// A P's local run queue, owner side.
pub struct LocalQueue {
    worker: Worker<GRef>,
}

/// What a full local queue hands back for the global queue: the oldest half plus the G being pushed.
pub struct Overflow(pub Vec<GRef>);

impl LocalQueue {
    /// A new empty queue and the handle other Ps steal through.
    pub fn new() -> (LocalQueue, Stealer<GRef>) {
        let worker = Worker::new_fifo();
        let stealer = worker.stealer();
        (LocalQueue { worker }, stealer)
    }

    /// Owner P only. Push at the tail; when the queue is full, take out its oldest half (Go's
    /// `runqputslow`) and return it with `g` for the global queue.
    pub fn push(&self, g: GRef) -> Option<Overflow> {
        if self.worker.len() < RUNQ_CAP {
            self.worker.push(g);
            return None;
        }
        let mut batch = Vec::with_capacity(RUNQ_CAP / 2 + 1);
        while batch.len() < RUNQ_CAP / 2 {
            match self.worker.pop() {
                Some(old) => batch.push(old),
                None => break,
            }
        }
        batch.push(g);
        Some(Overflow(batch))
    }

    /// Owner P only. Pop from the head (FIFO: the oldest runnable G runs first).
    pub fn pop(&self) -> Option<GRef> {
        self.worker.pop()
    }

    /// Owner P only.
    pub fn len(&self) -> usize {
        self.worker.len()
    }

    /// Owner P only.
    pub fn is_empty(&self) -> bool {
        self.worker.is_empty()
    }

    /// Any P, with `victim` another P's stealer. Take half of the victim's queue (at most half the capacity)
    /// into this queue and return one G of it to run (Go's `runqsteal`).
    pub fn steal_half_from(&self, victim: &Stealer<GRef>) -> Option<GRef> {
        loop {
            match victim.steal_batch_with_limit_and_pop(&self.worker, RUNQ_CAP / 2) {
                Steal::Success(g) => return Some(g),
                Steal::Empty => return None,
                Steal::Retry => continue,
            }
        }
    }

    /// Owner P only. Take up to `limit` Gs from the global queue into this queue and return one to run
    /// (Go's `globrunqget`).
    pub fn refill_from(&self, global: &GlobalQueue, limit: usize) -> Option<GRef> {
        loop {
            match global.injector.steal_batch_with_limit_and_pop(&self.worker, limit.max(1)) {
                Steal::Success(g) => return Some(g),
                Steal::Empty => return None,
                Steal::Retry => continue,
            }
        }
    }
}

/// The global run queue. Any thread.
#[derive(Default)]
pub struct GlobalQueue {
    injector: Injector<GRef>,
}

impl GlobalQueue {
    /// Any thread.
    pub fn push(&self, g: GRef) {
        self.injector.push(g);
    }

    /// Any thread: take one G.
    pub fn pop(&self) -> Option<GRef> {
        loop {
            match self.injector.steal() {
                Steal::Success(g) => return Some(g),
                Steal::Empty => return None,
                Steal::Retry => continue,
            }
        }
    }

    /// Any thread.
    pub fn len(&self) -> usize {
        self.injector.len()
    }

    /// Any thread.
    pub fn is_empty(&self) -> bool {
        self.injector.is_empty()
    }
}

/// A one-element slot holding an `Arc<T>`: a P's `runnext`. The owner puts and takes; stealers take.
///
/// Every operation is a single atomic swap of the pointer, so each `Arc` put in is taken out exactly once,
/// by whoever swaps it out first.
pub struct RunNext<T = crate::g::G> {
    slot: AtomicPtr<T>,
    _owns: PhantomData<Arc<T>>,
}

// SAFETY: the slot owns an `Arc<T>` (moved in and out whole by atomic swaps), so it is Send/Sync exactly when
// `Arc<T>` is.
unsafe impl<T: Send + Sync> Send for RunNext<T> {}
// SAFETY: as above.
unsafe impl<T: Send + Sync> Sync for RunNext<T> {}

impl<T> Default for RunNext<T> {
    fn default() -> Self {
        RunNext { slot: AtomicPtr::new(ptr::null_mut()), _owns: PhantomData }
    }
}

impl<T> RunNext<T> {
    /// Owner P only. Put `new` in the slot and return what it displaced (which goes to the local queue's tail).
    pub fn put(&self, new: Arc<T>) -> Option<Arc<T>> {
        // AcqRel: Release publishes `new` to whoever swaps it out; Acquire takes ownership of the old one.
        let old = self.slot.swap(Arc::into_raw(new) as *mut T, Ordering::AcqRel);
        Self::own(old)
    }

    /// Any P. Take what is in the slot.
    pub fn take(&self) -> Option<Arc<T>> {
        if self.slot.load(Ordering::Relaxed).is_null() {
            return None;
        }
        // AcqRel: Acquire pairs with `put`'s Release.
        Self::own(self.slot.swap(ptr::null_mut(), Ordering::AcqRel))
    }

    /// Any thread: a hint, for traces.
    pub fn is_occupied(&self) -> bool {
        !self.slot.load(Ordering::Relaxed).is_null()
    }

    fn own(raw: *mut T) -> Option<Arc<T>> {
        if raw.is_null() {
            None
        } else {
            // SAFETY: every non-null pointer in the slot came from `Arc::into_raw` in `put`, and the swap that
            // returned it removed it from the slot, so this is the only conversion back for that `into_raw`.
            Some(unsafe { Arc::from_raw(raw) })
        }
    }
}

impl<T> Drop for RunNext<T> {
    fn drop(&mut self) {
        drop(self.take());
    }
}

#[cfg(all(test, not(gmp_loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn runnext_put_returns_the_displaced_value() {
        let rn: RunNext<u32> = RunNext::default();
        assert!(rn.put(Arc::new(1)).is_none());
        assert_eq!(*rn.put(Arc::new(2)).unwrap(), 1);
        assert_eq!(*rn.take().unwrap(), 2);
        assert!(rn.take().is_none());
    }

    #[test]
    fn runnext_drop_releases_its_value() {
        let v = Arc::new(7u32);
        {
            let rn = RunNext::default();
            rn.put(v.clone());
            assert_eq!(Arc::strong_count(&v), 2);
        }
        assert_eq!(Arc::strong_count(&v), 1);
    }

    /// Stress for the slot outside loom: one owner putting, three stealers taking; every value comes out once.
    #[test]
    fn runnext_stress_every_value_taken_once() {
        const N: usize = 20_000;
        let rn = Arc::new(RunNext::<usize>::default());
        let seen: Arc<Vec<AtomicUsize>> = Arc::new((0..N).map(|_| AtomicUsize::new(0)).collect());
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stealers: Vec<_> = (0..3)
            .map(|_| {
                let (rn, seen, done) = (rn.clone(), seen.clone(), done.clone());
                std::thread::spawn(move || {
                    while !done.load(Ordering::Acquire) {
                        if let Some(v) = rn.take() {
                            seen[*v].fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        for i in 0..N {
            if let Some(v) = rn.put(Arc::new(i)) {
                seen[*v].fetch_add(1, Ordering::Relaxed);
            }
        }
        done.store(true, Ordering::Release);
        for s in stealers {
            s.join().unwrap();
        }
        if let Some(v) = rn.take() {
            seen[*v].fetch_add(1, Ordering::Relaxed);
        }
        assert!(seen.iter().all(|c| c.load(Ordering::Relaxed) == 1), "a value was lost or taken twice");
    }
}

#[cfg(all(test, gmp_loom))]
mod loom_tests {
    use super::*;

    /// The owner replaces the slot while a stealer takes from it: each value ends up owned exactly once.
    #[test]
    fn runnext_put_and_steal_race_hands_each_value_once() {
        loom::model(|| {
            let rn = loom::sync::Arc::new(RunNext::<u32>::default());
            assert!(rn.put(Arc::new(1)).is_none());
            let rn2 = rn.clone();
            let thief = loom::thread::spawn(move || rn2.take().map(|v| *v));
            let displaced = rn.put(Arc::new(2)).map(|v| *v);
            let stolen = thief.join().unwrap();
            let left = rn.take().map(|v| *v);
            let mut all: Vec<u32> = [displaced, stolen, left].into_iter().flatten().collect();
            all.sort();
            assert_eq!(all, vec![1, 2]);
        });
    }
}
