//! `select` over any mix of send and receive cases (Go's `select.go`).
//!
//! 1. **Pass 0.** Draw a random *poll order* (a permutation of the cases) and compute the *lock order*
//!    (the distinct channels sorted by address, so two selects over the same channels cannot deadlock).
//! 2. **Pass 1.** With every channel locked, look at the cases in poll order and complete the first that can
//!    proceed. A random order makes the choice uniform among ready cases, as Go promises. With no ready case
//!    and no blocking wanted, return [`Selected::Default`].
//! 3. **Pass 2.** Enqueue one shared [`Sudog`] on every case's channel (a waiter per case, carrying that
//!    case's message for sends) and keep each entry's key, unlock, park.
//! 4. **Pass 3.** Woken: whoever completed a case claimed the sudog first, so every other entry is stale;
//!    take them out by their keys, locking each channel once, before returning. Leaving them would make a
//!    channel that is selected on in a loop (a timeout, a quit channel) grow a queue without bound; finding
//!    them by search would make each wake-up cost as much as the number of Gs waiting on the same channel
//!    (see *Wait queues* in `chan.rs`).

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::chan::{Chan, Closed, Done, Enqueued, Inner, RecvWaiter, SendWaiter, Sudog, TryRecvError, TrySendError};
use crate::g::{GRef, WaitReason};

/// One case of a select.
pub enum Case<'a, T> {
    /// Receive from the channel.
    Recv(&'a Chan<T>),
    /// Send the message on the channel.
    Send(&'a Chan<T>, T),
}

/// Which case a select completed.
#[derive(Debug, PartialEq, Eq)]
pub enum Selected<T> {
    /// Receive case `.0` got a message, or found its channel closed and drained.
    Recv(usize, Result<T, Closed>),
    /// Send case `.0` delivered its message.
    Sent(usize),
    /// Send case `.0` found its channel closed (a panic in Go). Its message was dropped.
    SendClosed(usize),
    /// Nothing was ready and the select does not block.
    Default,
}

struct Slot<'a, T> {
    chan: &'a Chan<T>,
    is_send: bool,
    msg: Option<T>,
    /// Where pass 2 enqueued this case.
    at: Option<Enqueued>,
}

enum State<T> {
    Start,
    Waiting(Arc<Sudog<T>>),
    /// `select {}`: blocked forever.
    Forever,
    Finished,
}

/// The future of [`select`].
pub struct Select<'a, T> {
    slots: Vec<Slot<'a, T>>,
    block: bool,
    /// Indices of `slots` sorted by channel address: runs of cases on the same channel are adjacent.
    caseorder: Vec<usize>,
    /// Indices of `slots`, one per distinct channel, in lock order.
    lockorder: Vec<usize>,
    state: State<T>,
}

impl<T> Unpin for Select<'_, T> {}

/// Go's `select`: complete one ready case chosen uniformly at random, or block until one is ready (with
/// `block`), or return [`Selected::Default`] at once (without). The same channel may appear in several cases.
///
/// # Panics
/// The future panics if it must block outside a G of a running scheduler.
pub fn select<T>(cases: Vec<Case<'_, T>>, block: bool) -> Select<'_, T> {
    let slots: Vec<Slot<'_, T>> = cases
        .into_iter()
        .map(|c| match c {
            Case::Recv(chan) => Slot { chan, is_send: false, msg: None, at: None },
            Case::Send(chan, m) => Slot { chan, is_send: true, msg: Some(m), at: None },
        })
        .collect();
    let mut caseorder: Vec<usize> = (0..slots.len()).collect();
    caseorder.sort_by_key(|&i| slots[i].chan as *const Chan<T> as usize);
    let mut lockorder = caseorder.clone();
    lockorder.dedup_by_key(|i| slots[*i].chan as *const Chan<T> as usize);
    Select { slots, block, caseorder, lockorder, state: State::Start }
}

impl<'a, T> Select<'a, T> {
    /// Index into `lockorder` of the channel of case `i`.
    fn lock_index(&self, i: usize) -> usize {
        let key = self.slots[i].chan as *const Chan<T> as usize;
        self.lockorder
            .binary_search_by_key(&key, |&j| self.slots[j].chan as *const Chan<T> as usize)
            .expect("select: case channel missing from the lock order")
    }

    fn start(&mut self) -> Poll<Selected<T>> {
        crate::m::Current::count(|c| crate::metrics::Counters::bump(&c.selects, 1));
        let n = self.slots.len();
        if n == 0 {
            if !self.block {
                return Poll::Ready(Selected::Default);
            }
            let g = crate::current().expect("select: blocking outside a G");
            g.set_wait(WaitReason::SelectNoCases, 0);
            self.state = State::Forever;
            return Poll::Pending;
        }
        let lock_of: Vec<usize> = (0..n).map(|i| self.lock_index(i)).collect();
        let chans: Vec<&'a Chan<T>> = self.lockorder.iter().map(|&i| self.slots[i].chan).collect();
        let mut guards: Vec<_> = chans.iter().map(|c| c.inner.lock()).collect();

        // Pass 1.
        let mut wake: Option<GRef> = None;
        for i in poll_order(n) {
            let inner: &mut Inner<T> = &mut guards[lock_of[i]];
            let cap = self.slots[i].chan.cap();
            let done = if self.slots[i].is_send {
                let msg = self.slots[i].msg.take().expect("select: send case without its message");
                match inner.try_send(cap, msg, &mut wake) {
                    Ok(()) => Some(Selected::Sent(i)),
                    Err(TrySendError::Closed(_)) => Some(Selected::SendClosed(i)),
                    Err(TrySendError::Full(m)) => {
                        self.slots[i].msg = Some(m);
                        None
                    }
                }
            } else {
                match inner.try_recv(cap, &mut wake) {
                    Ok(m) => Some(Selected::Recv(i, Ok(m))),
                    Err(TryRecvError::Closed) => Some(Selected::Recv(i, Err(Closed))),
                    Err(TryRecvError::Empty) => None,
                }
            };
            if let Some(sel) = done {
                drop(guards);
                if let Some(g) = wake {
                    g.ready();
                }
                self.state = State::Finished;
                return Poll::Ready(sel);
            }
        }
        if !self.block {
            self.state = State::Finished;
            return Poll::Ready(Selected::Default);
        }

        // Pass 2.
        let g = crate::current().expect("select: blocking outside a G");
        g.set_wait(WaitReason::Select, self.slots[0].chan.id());
        let sudog = Sudog::new(g);
        for (i, slot) in self.slots.iter_mut().enumerate() {
            let inner: &mut Inner<T> = &mut guards[lock_of[i]];
            let key = if slot.is_send {
                let msg = slot.msg.take().expect("select: send case without its message");
                inner.sendq.push_back(SendWaiter { sudog: sudog.clone(), case: i, msg })
            } else {
                inner.recvq.push_back(RecvWaiter { sudog: sudog.clone(), case: i })
            };
            slot.at = Some(Enqueued { is_send: slot.is_send, case: i, key });
        }
        drop(guards);
        self.state = State::Waiting(sudog);
        Poll::Pending
    }

    /// Pass 3, and the clean-up of an abandoned select: O(1) per case, one lock per channel. The messages
    /// of send cases left in queues are dropped after unlocking.
    fn dequeue_all(&self, sudog: &Arc<Sudog<T>>) {
        let mut unsent = Vec::new();
        for run in self.caseorder.chunk_by(|&i, &j| std::ptr::eq(self.slots[i].chan, self.slots[j].chan)) {
            let mut inner = self.slots[run[0]].chan.inner.lock();
            for &i in run {
                if let Some(at) = self.slots[i].at {
                    unsent.extend(inner.dequeue(sudog, at));
                }
            }
        }
        drop(unsent);
    }
}

impl<T> Future for Select<'_, T> {
    type Output = Selected<T>;
    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Selected<T>> {
        match std::mem::replace(&mut self.state, State::Finished) {
            State::Start => self.start(),
            State::Waiting(sudog) => match sudog.take_done() {
                None => {
                    // A spurious wake-up: park again, saying why (see `execute` in m.rs).
                    sudog.g.set_wait(WaitReason::Select, self.slots[0].chan.id());
                    self.state = State::Waiting(sudog);
                    Poll::Pending
                }
                Some(done) => {
                    self.dequeue_all(&sudog);
                    Poll::Ready(match done {
                        Done::Received(i, m) => Selected::Recv(i, Ok(m)),
                        Done::Sent(i) => Selected::Sent(i),
                        Done::Closed(i) if self.slots[i].is_send => Selected::SendClosed(i),
                        Done::Closed(i) => Selected::Recv(i, Err(Closed)),
                    })
                }
            },
            State::Forever => {
                if let Some(g) = crate::current() {
                    g.set_wait(WaitReason::SelectNoCases, 0);
                }
                self.state = State::Forever;
                Poll::Pending
            }
            State::Finished => panic!("select: polled after completion"),
        }
    }
}

impl<T> Drop for Select<'_, T> {
    fn drop(&mut self) {
        if let State::Waiting(sudog) = std::mem::replace(&mut self.state, State::Finished) {
            self.dequeue_all(&sudog);
        }
    }
}

thread_local! {
    static RNG: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    // Distinct per thread: the address of a stack local mixed with the time.
    let local = 0u8;
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    (t ^ (&local as *const u8 as u64).rotate_left(32)) | 1
}

fn fastrand() -> u64 {
    RNG.with(|r| {
        let mut x = r.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        r.set(x);
        x
    })
}

/// A uniformly random permutation of `0..n` (Fisher–Yates).
fn poll_order(n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = (fastrand() % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
    order
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::{Config, Hooks, Outcome, Sched, yield_now};

    /// N Gs block in a select on `data` and `quit`; a sender then wakes each through `data`, and its pass 3
    /// takes its entry out of `quit`. Removal by key looks at one entry per case: N on each channel. A
    /// search of the queue (a `retain`) would look at about N²/2 entries of `quit` alone.
    #[test]
    fn waking_a_select_removes_its_other_entries_without_searching() {
        const N: usize = 1_000;
        let data = Arc::new(Chan::<usize>::new(0));
        let quit = Arc::new(Chan::<usize>::new(0));
        let s = Sched::start(Config { procs: 2, ..Config::default() }, Hooks::default());
        let (d, q, s2) = (data.clone(), quit.clone(), s.clone());
        s.spawn(move |_| {
            Box::pin(async move {
                let got = Arc::new(Chan::<usize>::new(N));
                for _ in 0..N {
                    let (d, q, got) = (d.clone(), q.clone(), got.clone());
                    s2.spawn(move |_| {
                        Box::pin(async move {
                            match select(vec![Case::Recv(&d), Case::Recv(&q)], true).await {
                                Selected::Recv(0, Ok(v)) => got.try_send(v).unwrap(),
                                other => panic!("{other:?}"),
                            }
                        })
                    });
                }
                while q.inner.lock().recvq.len() < N {
                    yield_now().await;
                }
                for i in 0..N {
                    d.send(i).await.unwrap();
                }
                let mut sum = 0;
                for _ in 0..N {
                    sum += got.recv().await.unwrap();
                }
                assert_eq!(sum, N * (N - 1) / 2);
                s2.exit(0);
            })
        });
        let outcome = s.wait_timeout(Duration::from_secs(60)).expect("the selects did not finish within 60 s");
        s.shutdown();
        assert_eq!(outcome, Outcome::Exited(0));
        let (d, q) = (data.inner.lock(), quit.inner.lock());
        assert!(q.recvq.is_empty() && d.recvq.is_empty(), "stale entries left behind");
        assert_eq!(q.recvq.examined, N, "entries of `quit` looked at to remove N entries");
        assert_eq!(d.recvq.examined, N, "entries of `data` looked at to remove N (already taken) entries");
    }
}
