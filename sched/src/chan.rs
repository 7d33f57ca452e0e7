//! Channels with Go's semantics, over the scheduler's park/ready (Go's `chan.go`).
//!
//! # Invariants (under the channel's lock)
//! - At most one of `sendq` and `recvq` holds live waiters, except for one G blocked in a `select` that
//!   both sends to and receives from the same unbuffered channel (as in Go).
//! - `buf.len() <= cap`. For `cap == 0` the buffer stays empty: every message goes hand to hand.
//! - A waiter in `sendq` for a buffered channel means the buffer is full; in `recvq`, that it is empty.
//! - Once `closed`, both queues are empty and stay empty.
//!
//! A waiter (Go's `sudog`, here [`Sudog`]) may sit in several queues at once when its G blocks in a
//! `select`. Whoever wants to complete it must first win [`Sudog::claim`]; losers drop the stale entry and
//! look at the next one. The winner writes the outcome into the sudog, releases the channel lock, and only
//! then readies the G (Go's `goready` after `unlock`), so the woken G never waits on our lock.
//!
//! Message order: the buffer and both queues are FIFO, so messages leave in the order their sends completed
//! and blocked Gs are served in arrival order. Nothing is dropped or copied: a message moves from sender to
//! buffer or receiver exactly once, and on `close` only messages of senders that then panic are dropped.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};

use parking_lot::Mutex;

use crate::g::{GRef, WaitReason};

static NEXT_CHAN_ID: AtomicU64 = AtomicU64::new(1);

/// A channel carrying values of type `T`.
pub struct Chan<T> {
    id: u64,
    cap: usize,
    pub(crate) inner: Mutex<Inner<T>>,
}

pub(crate) struct Inner<T> {
    buf: VecDeque<T>,
    closed: bool,
    pub(crate) recvq: VecDeque<RecvWaiter<T>>,
    pub(crate) sendq: VecDeque<SendWaiter<T>>,
}

pub(crate) struct RecvWaiter<T> {
    pub(crate) sudog: Arc<Sudog<T>>,
    pub(crate) case: usize,
}

pub(crate) struct SendWaiter<T> {
    pub(crate) sudog: Arc<Sudog<T>>,
    pub(crate) case: usize,
    pub(crate) msg: T,
}

/// A blocked G's stake in one or more wait queues (Go's `sudog`, one per blocking operation).
pub(crate) struct Sudog<T> {
    pub(crate) g: GRef,
    /// Won by whoever completes the operation (Go's `selectDone`).
    claimed: AtomicBool,
    done: Mutex<Option<Done<T>>>,
}

/// How a blocked operation ended, written by whoever claimed the sudog.
pub(crate) enum Done<T> {
    /// Case `.0` received `.1`.
    Received(usize, T),
    /// Case `.0`'s message was taken.
    Sent(usize),
    /// Case `.0`'s channel was closed.
    Closed(usize),
}

impl<T> Sudog<T> {
    pub(crate) fn new(g: GRef) -> Arc<Sudog<T>> {
        Arc::new(Sudog { g, claimed: AtomicBool::new(false), done: Mutex::new(None) })
    }

    /// Under the lock of a channel whose queue holds this sudog. True for exactly one caller.
    fn claim(&self) -> bool {
        // AcqRel: the winner's later `complete` is ordered after every earlier enqueue of this sudog.
        !self.claimed.swap(true, Ordering::AcqRel)
    }

    /// The claimer: record the outcome; the caller readies the G after releasing the channel lock.
    fn complete(&self, d: Done<T>) -> GRef {
        *self.done.lock() = Some(d);
        self.g.clone()
    }

    /// The blocked G, when polled again: the outcome, if there is one yet (wake-ups may be spurious).
    pub(crate) fn take_done(&self) -> Option<Done<T>> {
        self.done.lock().take()
    }
}

/// The channel was closed (a receive found it closed and drained, or a send found it closed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed;

/// A failed non-blocking send; the message comes back.
#[derive(Debug, PartialEq, Eq)]
pub enum TrySendError<T> {
    /// No receiver waits and the buffer is full.
    Full(T),
    /// The channel is closed (a send on it would panic).
    Closed(T),
}

/// A failed non-blocking receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// Nothing to receive now.
    Empty,
    /// Closed and drained.
    Closed,
}

/// A blocking receive ended because the channel is closed and drained.
pub type RecvError = Closed;

/// Closing a closed channel (a guest panic in Go).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlreadyClosed;

impl<T> Inner<T> {
    /// Receive now if possible (Go's `chanrecv` without blocking). `wake` gets a G to ready after unlocking.
    pub(crate) fn try_recv(&mut self, cap: usize, wake: &mut Option<GRef>) -> Result<T, TryRecvError> {
        while let Some(w) = self.sendq.pop_front() {
            if !w.sudog.claim() {
                continue; // a select that completed elsewhere; its copy of the message is dropped
            }
            let msg = if cap == 0 {
                w.msg
            } else {
                // Buffer full with a sender waiting: take the head, move the sender's message to the tail.
                let head = self.buf.pop_front().expect("chan: sender waits but the buffer is empty");
                self.buf.push_back(w.msg);
                head
            };
            *wake = Some(w.sudog.complete(Done::Sent(w.case)));
            return Ok(msg);
        }
        if let Some(m) = self.buf.pop_front() {
            return Ok(m);
        }
        if self.closed { Err(TryRecvError::Closed) } else { Err(TryRecvError::Empty) }
    }

    /// Send now if possible (Go's `chansend` without blocking).
    pub(crate) fn try_send(&mut self, cap: usize, msg: T, wake: &mut Option<GRef>) -> Result<(), TrySendError<T>> {
        if self.closed {
            return Err(TrySendError::Closed(msg));
        }
        while let Some(w) = self.recvq.pop_front() {
            if w.sudog.claim() {
                *wake = Some(w.sudog.complete(Done::Received(w.case, msg)));
                return Ok(());
            }
        }
        if self.buf.len() < cap {
            self.buf.push_back(msg);
            return Ok(());
        }
        Err(TrySendError::Full(msg))
    }

    /// Take `sudog`'s entries out of both queues (after it was completed elsewhere, or abandoned).
    pub(crate) fn dequeue(&mut self, sudog: &Arc<Sudog<T>>) {
        self.recvq.retain(|w| !Arc::ptr_eq(&w.sudog, sudog));
        self.sendq.retain(|w| !Arc::ptr_eq(&w.sudog, sudog));
    }
}

fn ready(wake: Option<GRef>) {
    if let Some(g) = wake {
        g.ready();
    }
}

impl<T> Chan<T> {
    /// A channel with a buffer of `cap` messages; 0 makes it unbuffered (every send waits for a receiver).
    pub fn new(cap: usize) -> Chan<T> {
        Chan {
            id: NEXT_CHAN_ID.fetch_add(1, Ordering::Relaxed),
            cap,
            inner: Mutex::new(Inner {
                buf: VecDeque::new(),
                closed: false,
                recvq: VecDeque::new(),
                sendq: VecDeque::new(),
            }),
        }
    }

    /// A process-unique id, for reports ("chan #7").
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The buffer's capacity.
    pub fn cap(&self) -> usize {
        self.cap
    }

    /// Messages in the buffer now.
    pub fn len(&self) -> usize {
        self.inner.lock().buf.len()
    }

    /// True if the buffer is empty now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True once closed.
    pub fn is_closed(&self) -> bool {
        self.inner.lock().closed
    }

    /// Send without blocking: succeeds if a receiver waits or the buffer has room.
    ///
    /// # Errors
    /// [`TrySendError::Full`] if it would block, [`TrySendError::Closed`] if the channel is closed.
    pub fn try_send(&self, msg: T) -> Result<(), TrySendError<T>> {
        let mut wake = None;
        let r = self.inner.lock().try_send(self.cap, msg, &mut wake);
        ready(wake);
        r
    }

    /// Receive without blocking.
    ///
    /// # Errors
    /// [`TryRecvError::Empty`] if nothing is there, [`TryRecvError::Closed`] if closed and drained.
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        let mut wake = None;
        let r = self.inner.lock().try_recv(self.cap, &mut wake);
        ready(wake);
        r
    }

    /// Send, parking the current G until a receiver takes the message or there is buffer space.
    /// Resolves to `Err(Closed)` if the channel is or gets closed (the message is dropped; in Go the sender
    /// panics).
    ///
    /// # Panics
    /// When it must block outside a G of a running scheduler.
    pub fn send(&self, msg: T) -> Send<'_, T> {
        Send { chan: self, state: OpState::Start(Some(msg)) }
    }

    /// Receive, parking the current G until a message arrives; `Err(Closed)` once closed and drained.
    ///
    /// # Panics
    /// When it must block outside a G of a running scheduler.
    pub fn recv(&self) -> Recv<'_, T> {
        Recv { chan: self, state: OpState::Start(None) }
    }

    /// Close: blocked receivers get `Closed`, blocked senders get `Closed` (and panic in Go).
    ///
    /// # Errors
    /// [`AlreadyClosed`] if it was closed before.
    pub fn close(&self) -> Result<(), AlreadyClosed> {
        let mut wake = Vec::new();
        {
            let mut inner = self.inner.lock();
            if inner.closed {
                return Err(AlreadyClosed);
            }
            inner.closed = true;
            for w in std::mem::take(&mut inner.recvq) {
                if w.sudog.claim() {
                    wake.push(w.sudog.complete(Done::Closed(w.case)));
                }
            }
            // The blocked senders' messages are dropped: those senders panic.
            for w in std::mem::take(&mut inner.sendq) {
                if w.sudog.claim() {
                    wake.push(w.sudog.complete(Done::Closed(w.case)));
                }
            }
        }
        for g in wake {
            g.ready();
        }
        Ok(())
    }
}

/// Where a blocking operation is.
enum OpState<T> {
    /// Not tried yet (holding the message, for a send).
    Start(Option<T>),
    /// Parked on the channel.
    Waiting(Arc<Sudog<T>>),
    Finished,
}

fn current_g(op: &str) -> GRef {
    crate::current().unwrap_or_else(|| panic!("chan::{op}: a blocking channel operation outside a G"))
}

/// The future of [`Chan::send`].
pub struct Send<'a, T> {
    chan: &'a Chan<T>,
    state: OpState<T>,
}

impl<T> Unpin for Send<'_, T> {}

impl<T> Future for Send<'_, T> {
    type Output = Result<(), Closed>;
    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Self::Output> {
        let chan = self.chan;
        match std::mem::replace(&mut self.state, OpState::Finished) {
            OpState::Start(msg) => {
                let msg = msg.expect("chan::send: started without a message");
                let mut wake = None;
                let mut inner = chan.inner.lock();
                match inner.try_send(chan.cap, msg, &mut wake) {
                    Ok(()) => {
                        drop(inner);
                        ready(wake);
                        Poll::Ready(Ok(()))
                    }
                    Err(TrySendError::Closed(m)) => {
                        drop(inner);
                        drop(m);
                        Poll::Ready(Err(Closed))
                    }
                    Err(TrySendError::Full(msg)) => {
                        let g = current_g("send");
                        g.set_wait(WaitReason::ChanSend, chan.id);
                        let sudog = Sudog::new(g);
                        inner.sendq.push_back(SendWaiter { sudog: sudog.clone(), case: 0, msg });
                        self.state = OpState::Waiting(sudog);
                        Poll::Pending
                    }
                }
            }
            OpState::Waiting(sudog) => match sudog.take_done() {
                Some(Done::Sent(_)) => Poll::Ready(Ok(())),
                Some(Done::Closed(_)) => Poll::Ready(Err(Closed)),
                Some(Done::Received(..)) => {
                    unreachable!("chan::send: a send completed as a receive")
                }
                None => {
                    // A spurious wake-up: park again, saying why (see `execute` in m.rs).
                    sudog.g.set_wait(WaitReason::ChanSend, chan.id);
                    self.state = OpState::Waiting(sudog);
                    Poll::Pending
                }
            },
            OpState::Finished => panic!("chan::send: polled after completion"),
        }
    }
}

/// The future of [`Chan::recv`].
pub struct Recv<'a, T> {
    chan: &'a Chan<T>,
    state: OpState<T>,
}

impl<T> Unpin for Recv<'_, T> {}

impl<T> Future for Recv<'_, T> {
    type Output = Result<T, Closed>;
    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Self::Output> {
        let chan = self.chan;
        match std::mem::replace(&mut self.state, OpState::Finished) {
            OpState::Start(_) => {
                let mut wake = None;
                let mut inner = chan.inner.lock();
                match inner.try_recv(chan.cap, &mut wake) {
                    Ok(m) => {
                        drop(inner);
                        ready(wake);
                        Poll::Ready(Ok(m))
                    }
                    Err(TryRecvError::Closed) => Poll::Ready(Err(Closed)),
                    Err(TryRecvError::Empty) => {
                        let g = current_g("recv");
                        g.set_wait(WaitReason::ChanReceive, chan.id);
                        let sudog = Sudog::new(g);
                        inner.recvq.push_back(RecvWaiter { sudog: sudog.clone(), case: 0 });
                        self.state = OpState::Waiting(sudog);
                        Poll::Pending
                    }
                }
            }
            OpState::Waiting(sudog) => match sudog.take_done() {
                Some(Done::Received(_, m)) => Poll::Ready(Ok(m)),
                Some(Done::Closed(_)) => Poll::Ready(Err(Closed)),
                Some(Done::Sent(_)) => unreachable!("chan::recv: a receive completed as a send"),
                None => {
                    // A spurious wake-up: park again, saying why (see `execute` in m.rs).
                    sudog.g.set_wait(WaitReason::ChanReceive, chan.id);
                    self.state = OpState::Waiting(sudog);
                    Poll::Pending
                }
            },
            OpState::Finished => panic!("chan::recv: polled after completion"),
        }
    }
}

/// A G dropped while parked (teardown, or its future abandoned) leaves no entry behind: an entry left in a
/// queue would hand a message to, or take one from, a G that no longer exists.
fn abandon<T>(chan: &Chan<T>, state: &mut OpState<T>) {
    if let OpState::Waiting(sudog) = std::mem::replace(state, OpState::Finished) {
        chan.inner.lock().dequeue(&sudog);
    }
}

impl<T> Drop for Send<'_, T> {
    fn drop(&mut self) {
        abandon(self.chan, &mut self.state);
    }
}

impl<T> Drop for Recv<'_, T> {
    fn drop(&mut self) {
        abandon(self.chan, &mut self.state);
    }
}
