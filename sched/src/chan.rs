//! Channels with Go's semantics, over the scheduler's park/ready (Go's `chan.go`).
//!
//! # Types
//! - [`Chan`]: the channel; [`Send`] and [`Recv`]: its blocking operations, as futures.
//! - [`Sudog`] and [`WaitQ`]: a blocked operation, and the queues it waits in (see *Wait queues*).
//! - [`Buffer`]: a locked channel opened for the wasm side's cycle collector, which must see what buffers
//!   hold and empty the buffers of channels no G can reach.
//!
//! # Invariants (under the channel's lock)
//! - At most one of `sendq` and `recvq` holds live waiters, except for one G blocked in a `select` that
//!   both sends to and receives from the same unbuffered channel (as in Go).
//! - `buf.len() <= cap`. For `cap == 0` the buffer stays empty: every message goes hand to hand.
//! - A waiter in `sendq` for a buffered channel means the buffer is full; in `recvq`, that it is empty.
//! - Once `closed`, both queues are empty and stay empty.
//! - A queue holds, besides live waiters, only *stale* entries: those of a select completed on another
//!   channel whose G has not yet run pass 3 (see `select.rs`), or has been dropped and is running its
//!   `Drop`. Each such G takes its own entries out before it returns, so a queue never holds more entries
//!   than there are Gs blocked on the channel plus Gs on their way out: selecting on a channel in a loop
//!   (a timeout, a quit channel) does not make it grow.
//!
//! A waiter (Go's `sudog`, here [`Sudog`]) may sit in several queues at once when its G blocks in a
//! `select`. Whoever wants to complete it must first win [`Sudog::claim`]; losers drop the stale entry and
//! look at the next one. The winner writes the outcome into the sudog, releases the channel lock, and only
//! then readies the G (Go's `goready` after `unlock`), so the woken G never waits on our lock.
//!
//! # Wait queues
//! A [`WaitQ`] is Go's `waitq`: FIFO, and any entry can be unlinked in O(1). Go links sudogs through their
//! own `prev`/`next` pointers; here the links live in a slab owned by the queue, and `push_back` returns
//! the entry's slab index, its *key*, which the blocked operation keeps (one per case of a select). A
//! select woken by one case removes its entries on the other channels by key (Go's `dequeueSudoG`); a
//! search by sudog (a `retain` over the queue) would make every wake-up cost as much as the number of Gs
//! waiting on the same channel, and 10,000 Gs selecting on one channel quadratic.
//!
//! A key outlives its entry when someone else pops the entry (a sender completing the select pops it from
//! the head): the slot may then be reused by another waiter. So removal checks that the slot still holds
//! this sudog's entry for this case; a `(sudog, case)` pair is enqueued once per select, so the check is
//! exact. When a queue empties, its slab is reset, so it holds no more memory than its largest number of
//! simultaneous entries since it was last empty.
//!
//! Message order: the buffer and both queues are FIFO, so messages leave in the order their sends completed
//! and blocked Gs are served in arrival order. Nothing is dropped or copied: a message moves from sender to
//! buffer or receiver exactly once, and on `close` only messages of senders that then panic are dropped;
//! [`Buffer::take`] drops the buffered messages of a channel only once no G can reach it.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use parking_lot::{Mutex, MutexGuard};

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
    pub(crate) recvq: WaitQ<RecvWaiter<T>>,
    pub(crate) sendq: WaitQ<SendWaiter<T>>,
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

/// The slab index of an entry in a [`WaitQ`], returned by [`WaitQ::push_back`]. It may outlive the entry
/// (see *Wait queues* in the module comment).
pub(crate) type WaitKey = usize;

/// No entry: the end of a list.
const NIL: usize = usize::MAX;

/// A slab once a queue empties: a larger one is freed rather than kept, so a channel that once had many
/// waiters does not hold their memory for the rest of its life.
const WAITQ_KEEP_SLOTS: usize = 64;

/// A FIFO wait queue with O(1) removal by key (Go's `waitq`; see *Wait queues* in the module comment).
/// Under the channel's lock only, like everything in [`Inner`].
pub(crate) struct WaitQ<W> {
    /// The slab: live entries are linked from `head` to `tail` through `prev`/`next`, free slots from
    /// `free` through `next`.
    nodes: Vec<Node<W>>,
    head: usize,
    tail: usize,
    free: usize,
    len: usize,
    /// Entries looked at by removals: the test that removal does not search the queue counts them.
    #[cfg(test)]
    pub(crate) examined: usize,
}

struct Node<W> {
    /// `None` for a free slot.
    entry: Option<W>,
    prev: usize,
    next: usize,
}

impl<W> Default for WaitQ<W> {
    fn default() -> Self {
        WaitQ {
            nodes: Vec::new(),
            head: NIL,
            tail: NIL,
            free: NIL,
            len: 0,
            #[cfg(test)]
            examined: 0,
        }
    }
}

impl<W> WaitQ<W> {
    /// Entries now, live and stale.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Slots in the slab, used or free: what the queue's memory is proportional to.
    #[cfg(test)]
    pub(crate) fn slots(&self) -> usize {
        self.nodes.len()
    }

    /// Append `w`; the key removes it again in O(1).
    pub(crate) fn push_back(&mut self, w: W) -> WaitKey {
        let node = Node { entry: Some(w), prev: self.tail, next: NIL };
        let key = if self.free != NIL {
            let k = self.free;
            self.free = self.nodes[k].next;
            self.nodes[k] = node;
            k
        } else {
            self.nodes.push(node);
            self.nodes.len() - 1
        };
        match self.tail {
            NIL => self.head = key,
            t => self.nodes[t].next = key,
        }
        self.tail = key;
        self.len += 1;
        key
    }

    /// Take the oldest entry.
    pub(crate) fn pop_front(&mut self) -> Option<W> {
        match self.head {
            NIL => None,
            k => Some(self.unlink(k)),
        }
    }

    /// Take the entry under `key` if `is_ours` recognizes it (O(1): no search). `None` when someone else
    /// took the entry first, whether or not its slot holds another entry by now.
    pub(crate) fn remove(&mut self, key: WaitKey, is_ours: impl FnOnce(&W) -> bool) -> Option<W> {
        #[cfg(test)]
        {
            self.examined += 1;
        }
        let ours = self.nodes.get(key).and_then(|n| n.entry.as_ref()).is_some_and(is_ours);
        ours.then(|| self.unlink(key))
    }

    /// Take every entry, oldest first (`close`).
    pub(crate) fn take_all(&mut self) -> impl Iterator<Item = W> + use<W> {
        let mut q = std::mem::take(self);
        std::iter::from_fn(move || q.pop_front())
    }

    /// Unlink the live entry at `k` and put its slot on the free list.
    fn unlink(&mut self, k: usize) -> W {
        let node = &mut self.nodes[k];
        let w = node.entry.take().expect("WaitQ::unlink: a free slot is linked");
        let (prev, next) = (node.prev, node.next);
        node.next = self.free;
        self.free = k;
        match prev {
            NIL => self.head = next,
            p => self.nodes[p].next = next,
        }
        match next {
            NIL => self.tail = prev,
            n => self.nodes[n].prev = prev,
        }
        self.len -= 1;
        if self.len == 0 {
            // Every slot is free: start over, releasing a slab grown by a crowd of waiters. Amortized O(1):
            // the clear visits slots that pushes created.
            if self.nodes.capacity() > WAITQ_KEEP_SLOTS {
                self.nodes = Vec::new();
            } else {
                self.nodes.clear();
            }
            (self.head, self.tail, self.free) = (NIL, NIL, NIL);
        }
        w
    }
}

/// A blocked G's stake in one or more wait queues (Go's `sudog`, one per blocking operation).
pub(crate) struct Sudog<T> {
    pub(crate) g: GRef,
    /// Won by whoever completes the operation (Go's `selectDone`), which then writes how it ended.
    outcome: Outcome<T>,
}

/// How a blocked operation ended, handed from the one party that completes it to its G: Go's
/// `selectDone` and the sudog's fields in one. A lock-free one-shot slot, because a mutex here cost two
/// locked instructions on each side of every blocking hand-off.
///
/// The protocol, on [`Outcome::state`]:
/// 1. `WAITING → CLAIMED` (`claim`, a compare-exchange): exactly one completer wins, under the lock of a channel whose
///    queue holds the sudog; the others drop their stale entry.
/// 2. The winner writes the outcome into the cell, then publishes `DONE` (Release); it never touches the
///    cell again. Between the two, the cell is the winner's alone: the G reads nothing before `DONE`.
/// 3. The G, when polled (a wake-up may come early or be spurious), takes the outcome only after seeing
///    `DONE` (Acquire): from then on the cell is the G's alone.
///
/// Modelled by `loom_outcome_is_handed_over_once` below.
pub(crate) struct Outcome<T> {
    state: crate::loom::AtomicU8,
    cell: crate::loom::UnsafeCell<Option<Done<T>>>,
}

const WAITING: u8 = 0;
const CLAIMED: u8 = 1;
const DONE: u8 = 2;

// SAFETY: the cell is only touched by the one completer between its claim and `DONE`, and by the G after
// `DONE` (see the protocol above), so sharing `Outcome` shares no unsynchronized access; what it holds moves
// between threads, hence `T: Send`.
unsafe impl<T: std::marker::Send> Sync for Outcome<T> {}

impl<T> Outcome<T> {
    pub(crate) fn new() -> Outcome<T> {
        Outcome { state: crate::loom::AtomicU8::new(WAITING), cell: crate::loom::UnsafeCell::new(None) }
    }

    /// Step 1. True for exactly one caller.
    pub(crate) fn claim(&self) -> bool {
        // A load first: a claimed sudog met again (a select's other entries) costs no locked instruction.
        // A compare-exchange, not a swap: a loser's swap could overwrite a winner's `DONE`, losing the
        // outcome (the loom model below caught exactly that). AcqRel: the winner's later write is ordered
        // after every earlier enqueue of the sudog.
        self.state.load(Ordering::Relaxed) == WAITING
            && self.state.compare_exchange(WAITING, CLAIMED, Ordering::AcqRel, Ordering::Relaxed).is_ok()
    }

    /// Step 2, by the winner of `claim` only.
    pub(crate) fn complete(&self, d: Done<T>) {
        debug_assert_eq!(self.state.load(Ordering::Relaxed), CLAIMED, "Outcome::complete: not claimed");
        // SAFETY: the caller won `claim`, and the G reads the cell only after `DONE`, which is stored below:
        // until then the cell is ours alone (step 2).
        self.cell.with_mut(|c| unsafe { *c = Some(d) });
        // Release: pairs with `take`'s Acquire, so the G sees the outcome written above.
        self.state.store(DONE, Ordering::Release);
    }

    /// Step 3, by the G only: the outcome, if it has been handed over (it is taken once).
    pub(crate) fn take(&self) -> Option<Done<T>> {
        if self.state.load(Ordering::Acquire) != DONE {
            return None;
        }
        // SAFETY: `DONE` was published after the completer's last touch of the cell (step 2), and only this
        // G takes it, from its own poll: the cell is ours alone now.
        self.cell.with_mut(|c| unsafe { (*c).take() })
    }
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
        Arc::new(Sudog { g, outcome: Outcome::new() })
    }

    /// Under the lock of a channel whose queue holds this sudog. True for exactly one caller.
    fn claim(&self) -> bool {
        self.outcome.claim()
    }

    /// The claimer: record the outcome; the caller readies the G after releasing the channel lock.
    fn complete(&self, d: Done<T>) -> GRef {
        // The G first: once the outcome is published the G may run, finish and let go of the sudog (our queue
        // entry's reference keeps it alive, but the G's reference is what we ready).
        let g = self.g.clone();
        self.outcome.complete(d);
        g
    }

    /// The blocked G, when polled again: the outcome, if there is one yet (wake-ups may be spurious).
    pub(crate) fn take_done(&self) -> Option<Done<T>> {
        self.outcome.take()
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

    /// Take a case's entry out of its queue if nobody took it yet (after the operation was completed
    /// elsewhere, or abandoned). A send case's message comes back, for the caller to drop after unlocking.
    pub(crate) fn dequeue(&mut self, sudog: &Arc<Sudog<T>>, at: Enqueued) -> Option<T> {
        // A `(sudog, case)` pair is enqueued once, so this recognizes exactly our entry.
        if at.is_send {
            self.sendq.remove(at.key, |w| Arc::ptr_eq(&w.sudog, sudog) && w.case == at.case).map(|w| w.msg)
        } else {
            self.recvq.remove(at.key, |w| Arc::ptr_eq(&w.sudog, sudog) && w.case == at.case);
            None
        }
    }
}

/// Where one case of a blocked operation waits: which queue, under which key.
#[derive(Clone, Copy)]
pub(crate) struct Enqueued {
    pub(crate) is_send: bool,
    pub(crate) case: usize,
    pub(crate) key: WaitKey,
}

/// Count a send on the current P (see `metrics.rs`; operations outside any M are not counted).
#[inline]
fn count_send() {
    crate::m::Current::count(|c| crate::metrics::Counters::bump(&c.chan_sends, 1));
}

/// Count a receive on the current P.
#[inline]
fn count_recv() {
    crate::m::Current::count(|c| crate::metrics::Counters::bump(&c.chan_recvs, 1));
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
                recvq: WaitQ::default(),
                sendq: WaitQ::default(),
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
        count_send();
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
        count_recv();
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
            for w in inner.recvq.take_all() {
                if w.sudog.claim() {
                    wake.push(w.sudog.complete(Done::Closed(w.case)));
                }
            }
            // The blocked senders' messages are dropped: those senders panic.
            for w in inner.sendq.take_all() {
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

/// A locked channel, opened for a collector that must see what the buffer holds and empty the buffer of a
/// channel no G can reach (the wasm side's cycle collector). Unlocks when dropped.
pub struct Buffer<'a, T> {
    inner: MutexGuard<'a, Inner<T>>,
}

impl<T> Chan<T> {
    /// Lock the channel to look at its buffer. To hold several at once, lock them in order of address (of the
    /// `Chan`), as [`select`](crate::select()) does, or two lockers may deadlock each other.
    pub fn lock_buffer(&self) -> Buffer<'_, T> {
        Buffer { inner: self.inner.lock() }
    }
}

impl<T> Buffer<'_, T> {
    /// The buffered messages, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.inner.buf.iter()
    }

    /// True if either wait queue has an entry: a G blocked on the channel, or one on its way out of a select.
    pub fn has_waiters(&self) -> bool {
        !self.inner.recvq.is_empty() || !self.inner.sendq.is_empty()
    }

    /// Empty the buffer, for a channel no G can reach.
    ///
    /// # Panics
    /// If a G waits on the channel: such a channel is reachable, and a blocked sender's message belongs in the
    /// buffer it is waiting for (see the invariants in the module comment).
    pub fn take(&mut self) -> VecDeque<T> {
        assert!(!self.has_waiters(), "Buffer::take: a G waits on the channel");
        std::mem::take(&mut self.inner.buf)
    }
}

/// Where a blocking operation is.
enum OpState<T> {
    /// Not tried yet (holding the message, for a send).
    Start(Option<T>),
    /// Parked on the channel.
    Waiting(Arc<Sudog<T>>, Enqueued),
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
                count_send();
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
                        let key = inner.sendq.push_back(SendWaiter { sudog: sudog.clone(), case: 0, msg });
                        self.state = OpState::Waiting(sudog, Enqueued { is_send: true, case: 0, key });
                        Poll::Pending
                    }
                }
            }
            OpState::Waiting(sudog, at) => match sudog.take_done() {
                Some(Done::Sent(_)) => Poll::Ready(Ok(())),
                Some(Done::Closed(_)) => Poll::Ready(Err(Closed)),
                Some(Done::Received(..)) => {
                    unreachable!("chan::send: a send completed as a receive")
                }
                None => {
                    // A spurious wake-up: park again, saying why (see `execute` in m.rs).
                    sudog.g.set_wait(WaitReason::ChanSend, chan.id);
                    self.state = OpState::Waiting(sudog, at);
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
                count_recv();
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
                        let key = inner.recvq.push_back(RecvWaiter { sudog: sudog.clone(), case: 0 });
                        self.state = OpState::Waiting(sudog, Enqueued { is_send: false, case: 0, key });
                        Poll::Pending
                    }
                }
            }
            OpState::Waiting(sudog, at) => match sudog.take_done() {
                Some(Done::Received(_, m)) => Poll::Ready(Ok(m)),
                Some(Done::Closed(_)) => Poll::Ready(Err(Closed)),
                Some(Done::Sent(_)) => unreachable!("chan::recv: a receive completed as a send"),
                None => {
                    // A spurious wake-up: park again, saying why (see `execute` in m.rs).
                    sudog.g.set_wait(WaitReason::ChanReceive, chan.id);
                    self.state = OpState::Waiting(sudog, at);
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
    if let OpState::Waiting(sudog, at) = std::mem::replace(state, OpState::Finished) {
        let unsent = chan.inner.lock().dequeue(&sudog, at);
        drop(unsent);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Entries as (owner, case): enough to tell whose an entry is.
    type Q = WaitQ<(u32, usize)>;

    fn drain(q: &mut Q) -> Vec<(u32, usize)> {
        std::iter::from_fn(|| q.pop_front()).collect()
    }

    #[test]
    fn removal_from_the_middle_keeps_fifo_order() {
        let mut q = Q::default();
        let keys: Vec<WaitKey> = (0..10).map(|i| q.push_back((i, 0))).collect();
        for i in [0, 4, 9, 5] {
            assert_eq!(q.remove(keys[i as usize], |w| *w == (i, 0)), Some((i, 0)));
        }
        assert_eq!(q.len(), 6);
        let late = q.push_back((10, 0)); // reuses a freed slot, still goes to the tail
        assert!(late < 10, "a freed slot is reused");
        assert_eq!(drain(&mut q), [1, 2, 3, 6, 7, 8, 10].map(|i| (i, 0)));
    }

    /// A key whose entry was popped by someone else may name another waiter's entry by now: removal leaves
    /// that one alone.
    #[test]
    fn a_stale_key_removes_nothing() {
        let mut q = Q::default();
        let a = q.push_back((1, 0));
        q.push_back((2, 0));
        assert_eq!(q.pop_front(), Some((1, 0)));
        let b = q.push_back((3, 0));
        assert_eq!(a, b, "the popped slot is reused");
        assert_eq!(q.remove(a, |w| *w == (1, 0)), None);
        assert_eq!(q.remove(usize::MAX, |_| true), None);
        assert_eq!(drain(&mut q), [(2, 0), (3, 0)]);
    }

    /// A queue that once held many waiters gives their memory back when it empties, whatever the order of
    /// removal.
    #[test]
    fn an_emptied_queue_releases_its_slab() {
        let mut q = Q::default();
        let keys: Vec<WaitKey> = (0..10_000).map(|i| q.push_back((i, 0))).collect();
        for (i, &k) in keys.iter().enumerate().rev().step_by(2) {
            assert!(q.remove(k, |w| w.0 == i as u32).is_some());
        }
        assert_eq!(drain(&mut q).len(), 5_000);
        assert!(q.is_empty());
        assert_eq!((q.slots(), q.nodes.capacity()), (0, 0));
        assert_eq!(q.examined, 5_000, "one entry looked at per removal");
    }

    #[test]
    fn take_all_yields_oldest_first_and_empties() {
        let mut q = Q::default();
        for i in 0..5 {
            q.push_back((i, 1));
        }
        q.remove(2, |_| true);
        assert_eq!(q.take_all().collect::<Vec<_>>(), [0, 1, 3, 4].map(|i| (i, 1)));
        assert!(q.is_empty() && q.pop_front().is_none());
    }
}

#[cfg(all(test, gmp_loom))]
mod loom_tests {
    use super::*;
    use loom::sync::Arc;

    /// Two completers race for one blocked operation (a select readied by two channels at once) while its G
    /// is polled early (a spurious wake-up): exactly one outcome reaches the G, whole and once, and the loser
    /// leaves it alone.
    #[test]
    fn loom_outcome_is_handed_over_once() {
        loom::model(|| {
            let o = Arc::new(Outcome::<Box<usize>>::new());
            let completers: Vec<_> = (0..2)
                .map(|i| {
                    let o = o.clone();
                    loom::thread::spawn(move || {
                        let won = o.claim();
                        if won {
                            o.complete(Done::Received(i, Box::new(i)));
                        }
                        won
                    })
                })
                .collect();
            let early = o.take();
            let winners = completers.into_iter().map(|t| t.join().unwrap()).filter(|&w| w).count();
            assert_eq!(winners, 1, "exactly one completer wins the claim");
            match early.or_else(|| o.take()) {
                Some(Done::Received(i, v)) => assert_eq!(*v, i, "the outcome arrives whole"),
                _ => panic!("the outcome was lost"),
            }
            assert!(o.take().is_none(), "the outcome is taken once");
        });
    }
}
