//! Host channels: channels the embedder creates, holds and uses from its own threads or async tasks, and
//! hands to programs, whose Gs use them as any channel (send, receive, select, close, pass to other Gs).
//!
//! # One channel, two kinds of users
//! A [`Chan`] is the same scheduler channel a guest's `chan_new` makes; the host's end is a reference to it
//! plus what the host side needs. Values cross in the guest SDK's format ([`gmp_message`]), so a `Job` the
//! host sends is the `Job` a guest receives. A channel end the host sends travels as a handle, and one a
//! guest sends the host arrives as a [`Chan`].
//!
//! # Never holding an M
//! Only a G can wait in a channel's queue. A host operation that cannot complete at once (`try_*` first)
//! therefore hands the operation to a small *proxy G* (a plain future, no wasm instance) that waits in the
//! queue for it and reports back through a one-shot slot; the host's future (or thread, for the blocking
//! forms) waits on the slot. So channel semantics (FIFO waiters, close, select fairness on the guest's side)
//! are the scheduler's own, and no M is ever blocked by the host. Proxies live in the scheduler's default
//! group, which reports no deadlock of its own.
//!
//! # Invariants
//! - *Nothing sent is lost by a cancelled receive*: a `recv` future dropped after its proxy took a message
//!   leaves the message in the channel end's stash, and the next receive through any clone of the end
//!   takes it first. A dropped `send` future does not withdraw its value: the proxy delivers it.
//! - *A held channel keeps its programs alive*: while the host holds an end, every run it was handed to
//!   holds a `GroupHold`, so a G waiting on it is never reported deadlocked; when the host lets go of its
//!   last end, the holds go and a deadlock (if that is what is left) is reported.
//! - *The cycle collector sees the host*: a host end counts as holding the channel, as a table entry does.

use std::collections::VecDeque;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use gmp_message::{DecodeError, Message};
use gmp_sched::{Group, GroupHold, Sched};
use parking_lot::Mutex;

use crate::handles::{ChanRef, HostChan, Msg, Object};

/// What every clone of one host end shares.
pub(crate) struct Side {
    pub(crate) ch: ChanRef,
    sched: Arc<Sched>,
    /// One per run the channel was handed to, while the host holds the end (see *Invariants*).
    holds: Mutex<Vec<GroupHold>>,
    /// Messages a cancelled receive's proxy took (see *Invariants*).
    stash: Mutex<VecDeque<Msg>>,
}

impl Side {
    fn new(ch: ChanRef, sched: Arc<Sched>) -> Arc<Side> {
        ch.host_hold();
        Arc::new(Side { ch, sched, holds: Mutex::new(Vec::new()), stash: Mutex::new(VecDeque::new()) })
    }

    /// The channel is handed to `group` (a run about to start): hold the group alive while the host holds
    /// the channel. Holds of runs that ended are dropped here, so a long-lived channel handed to many runs
    /// keeps one hold per live run.
    pub(crate) fn hold_for(&self, group: &Arc<Group>) {
        let mut holds = self.holds.lock();
        holds.retain(|h| !h.group().is_exiting());
        holds.push(group.hold());
    }
}

impl Drop for Side {
    fn drop(&mut self) {
        // The holds go with the struct, after the channel stops counting the host as a holder.
        HostChan::host_release(&self.ch);
    }
}

/// A channel the embedder holds: both ends in one value, as Go's `chan T`. Clone it for another user;
/// hand it to a program with [`crate::RunOptions::chan`], where a G finds it with `gmp::host_chan(name)`.
///
/// Values are encoded in the guest SDK's message format, so any [`Message`] type the guest also uses (an
/// SDK `message!` struct, a `Serde<T>`) crosses unchanged.
///
/// ```
/// use wasm_gmp::{Config, Runtime};
///
/// let rt = Runtime::new(Config::default())?;
/// let ch = rt.chan::<String>(1);
/// ch.try_send("ready".to_string()).unwrap();
/// assert_eq!(ch.recv_blocking().unwrap(), "ready");
/// ch.close();
/// assert!(ch.recv_blocking().is_err());
/// # Ok::<(), anyhow::Error>(())
/// ```
pub struct Chan<T> {
    pub(crate) side: Arc<Side>,
    _type: PhantomData<fn(T) -> T>,
}

impl<T> Clone for Chan<T> {
    fn clone(&self) -> Self {
        Chan { side: self.side.clone(), _type: PhantomData }
    }
}

impl<T> std::fmt::Debug for Chan<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Chan(#{})", self.side.ch.id())
    }
}

/// Why a send did not happen: the channel is closed (Go's sender would panic). The value comes back.
#[derive(Debug, PartialEq, Eq)]
pub struct SendError<T>(pub T);

impl<T> std::fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("send on closed channel")
    }
}

impl<T: std::fmt::Debug> std::error::Error for SendError<T> {}

/// Why a `try_send` did not happen.
#[derive(Debug, PartialEq, Eq)]
pub enum TrySendError<T> {
    /// The send would have to wait. The value comes back.
    Full(T),
    /// The channel is closed. The value comes back.
    Closed(T),
}

/// Why a receive returned no value.
#[derive(Debug, PartialEq, Eq)]
pub enum RecvError {
    /// The channel is closed and drained (Go's `v, ok := <-c` with `ok == false`).
    Closed,
    /// The message does not decode as the channel's type: the sender (a guest, which the host must not
    /// trust) sent something else. The message is consumed.
    Decode(DecodeError),
}

impl std::fmt::Display for RecvError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecvError::Closed => f.write_str("receive from closed channel"),
            RecvError::Decode(e) => write!(f, "the message does not decode: {e}"),
        }
    }
}

impl std::error::Error for RecvError {}

/// Why a `try_recv` returned no value.
#[derive(Debug, PartialEq, Eq)]
pub enum TryRecvError {
    /// Nothing to receive now.
    Empty,
    /// Closed and drained, or a message that does not decode (as [`RecvError`]).
    Recv(RecvError),
}

impl<T: Message + Send + 'static> Chan<T> {
    pub(crate) fn new(cap: usize, sched: &Arc<Sched>) -> Chan<T> {
        let ch = HostChan::new(cap, &Arc::default());
        Chan { side: Side::new(ch, sched.clone()), _type: PhantomData }
    }

    /// Send without waiting: into the buffer, or to a receiver waiting now.
    ///
    /// # Errors
    /// [`TrySendError::Full`] if it would have to wait, [`TrySendError::Closed`] if the channel is closed.
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        match self.side.ch.try_send(to_msg(&value)) {
            Ok(()) => Ok(()),
            Err(gmp_sched::TrySendError::Full(_)) => Err(TrySendError::Full(value)),
            Err(gmp_sched::TrySendError::Closed(_)) => Err(TrySendError::Closed(value)),
        }
    }

    /// Send, waiting (without blocking the thread that polls it) until a receiver takes the value or there
    /// is room in the buffer. Dropping the future does not withdraw the value (see the module comment).
    ///
    /// # Errors
    /// [`SendError`] with the value if the channel is or gets closed.
    pub fn send(&self, value: T) -> impl Future<Output = Result<(), SendError<T>>> + Send + 'static {
        let msg = to_msg(&value);
        let side = self.side.clone();
        let op = match side.ch.try_send(msg) {
            Ok(()) => None,
            Err(gmp_sched::TrySendError::Closed(_)) => return SendOp::Done(Some(Err(SendError(value)))),
            Err(gmp_sched::TrySendError::Full(msg)) => Some(proxy(&side, move |side, slot| {
                Box::pin(async move {
                    let r = side.ch.send(msg).await.is_ok();
                    slot.complete(r, |_| {});
                })
            })),
        };
        match op {
            None => SendOp::Done(Some(Ok(()))),
            Some(op) => SendOp::Waiting(op, Some(value)),
        }
    }

    /// [`Chan::send`], blocking the calling thread. Called from a host function (inside a G), the G's P
    /// is handed off while it blocks, as for any blocking host call.
    ///
    /// # Errors
    /// As [`Chan::send`].
    pub fn send_blocking(&self, value: T) -> Result<(), SendError<T>> {
        block_on(self.send(value))
    }

    /// Receive without waiting.
    ///
    /// # Errors
    /// [`TryRecvError::Empty`] if nothing is there now; otherwise as [`Chan::recv`].
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        let stashed = self.side.stash.lock().pop_front();
        let msg = match stashed {
            Some(m) => m,
            None => match self.side.ch.try_recv() {
                Ok(m) => m,
                Err(gmp_sched::TryRecvError::Empty) => return Err(TryRecvError::Empty),
                Err(gmp_sched::TryRecvError::Closed) => return Err(TryRecvError::Recv(RecvError::Closed)),
            },
        };
        from_msg(msg, &self.side.sched).map_err(|e| TryRecvError::Recv(RecvError::Decode(e)))
    }

    /// Receive, waiting (without blocking the thread that polls it) until a value arrives. Cancel-safe:
    /// dropping the future loses no message.
    ///
    /// # Errors
    /// [`RecvError::Closed`] once the channel is closed and drained; [`RecvError::Decode`] for a message
    /// that is not a `T`.
    pub fn recv(&self) -> impl Future<Output = Result<T, RecvError>> + Send + 'static {
        let side = self.side.clone();
        match self.try_recv() {
            Ok(v) => return RecvOp::Done(Some(Ok(v))),
            Err(TryRecvError::Recv(e)) => return RecvOp::Done(Some(Err(e))),
            Err(TryRecvError::Empty) => {}
        }
        let op = proxy(&side, move |side, slot| {
            Box::pin(async move {
                match side.ch.recv().await {
                    // A receive nobody waits for any more keeps its message for the next one.
                    Ok(m) => slot.complete(Some(m), |m| side.stash.lock().extend(m)),
                    Err(_) => slot.complete(None, |_| {}),
                }
            })
        });
        RecvOp::Waiting(op, side)
    }

    /// [`Chan::recv`], blocking the calling thread (handing the P off when called inside a G).
    ///
    /// # Errors
    /// As [`Chan::recv`].
    pub fn recv_blocking(&self) -> Result<T, RecvError> {
        block_on(self.recv())
    }

    /// Close the channel: receivers drain the buffer, then see it closed; senders fail. Returns false if it
    /// was already closed.
    pub fn close(&self) -> bool {
        self.side.ch.close().is_ok()
    }

    /// Messages in the buffer.
    pub fn len(&self) -> usize {
        self.side.ch.len() + self.side.stash.lock().len()
    }

    /// True when the buffer is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The buffer's capacity.
    pub fn cap(&self) -> usize {
        self.side.ch.cap()
    }
}

/// A host end inside a message: it travels as a handle, and the receiving G gets its own (as a guest's
/// `Sender`/`Receiver` would). Encoding one outside [`Chan::send`]/[`Chan::try_send`] attaches nothing.
impl<T> Message for Chan<T> {
    fn encode(&self, enc: &mut gmp_message::Encoder) {
        let i = ATTACH.with(|a| {
            let mut a = a.borrow_mut();
            a.push(Object::Chan(self.side.ch.clone()));
            a.len() - 1
        });
        enc.push_handle(i as u32);
    }

    fn decode(dec: &mut gmp_message::Decoder<'_>) -> Result<Self, DecodeError> {
        let i = dec.take_handle()? as usize;
        let got = RECEIVED.with(|r| {
            let r = r.borrow();
            let (objs, sched) = r.as_ref()?;
            match objs.get(i)? {
                Object::Chan(c) => Some((c.clone(), sched.clone())),
                _ => None,
            }
        });
        let (ch, sched) = got.ok_or(DecodeError::Invalid("a channel end"))?;
        Ok(Chan { side: Side::new(ch, sched), _type: PhantomData })
    }
}

thread_local! {
    /// Objects attached while encoding one message on this thread (see `to_msg`).
    static ATTACH: std::cell::RefCell<Vec<Object>> = const { std::cell::RefCell::new(Vec::new()) };
    /// The objects of the message being decoded on this thread (see `from_msg`).
    static RECEIVED: std::cell::RefCell<Option<(Vec<Object>, Arc<Sched>)>> = const { std::cell::RefCell::new(None) };
}

/// A value as a message: its bytes, and the host ends it contains as attached objects (handle `i` of the
/// encoding is object `i`).
fn to_msg<T: Message>(value: &T) -> Msg {
    ATTACH.with(|a| a.borrow_mut().clear());
    let (bytes, _handles) = gmp_message::encode(value).into_parts();
    let objs = ATTACH.with(|a| std::mem::take(&mut *a.borrow_mut()));
    Msg::from_host(bytes, objs)
}

/// A message as a value; a channel handle in it becomes a host end.
fn from_msg<T: Message>(mut msg: Msg, sched: &Arc<Sched>) -> Result<T, DecodeError> {
    let objs = msg.take_objs();
    let handles: Vec<u32> = (0..objs.len() as u32).collect();
    RECEIVED.with(|r| *r.borrow_mut() = Some((objs, sched.clone())));
    let v = gmp_message::decode::<T>(&msg.bytes, &handles);
    RECEIVED.with(|r| *r.borrow_mut() = None);
    v
}

/// The one-shot slot between a proxy G and the host future waiting for it.
pub(crate) struct Slot<R> {
    state: Mutex<SlotState<R>>,
}

struct SlotState<R> {
    result: Option<R>,
    waker: Option<Waker>,
    /// The host future went away: the proxy's result goes to `orphan` instead.
    abandoned: bool,
}

impl<R> Slot<R> {
    /// The proxy's result; `orphan` takes it if nobody waits any more.
    fn complete(&self, r: R, orphan: impl FnOnce(R)) {
        let mut s = self.state.lock();
        if s.abandoned {
            drop(s);
            orphan(r);
            return;
        }
        s.result = Some(r);
        if let Some(w) = s.waker.take() {
            drop(s);
            w.wake();
        }
    }

    fn poll(&self, cx: &mut Context<'_>) -> Poll<R> {
        let mut s = self.state.lock();
        match s.result.take() {
            Some(r) => Poll::Ready(r),
            None => {
                s.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }

    /// The host future is dropped: a result already there is returned for the caller to keep.
    fn abandon(&self) -> Option<R> {
        let mut s = self.state.lock();
        s.abandoned = true;
        s.result.take()
    }
}

/// Start a proxy G running `body` for one operation on `side`'s channel; returns its slot.
fn proxy<R: Send + 'static>(
    side: &Arc<Side>,
    body: impl FnOnce(Arc<Side>, Arc<Slot<R>>) -> gmp_sched::GFuture,
) -> Arc<Slot<R>> {
    let slot = Arc::new(Slot { state: Mutex::new(SlotState { result: None, waker: None, abandoned: false }) });
    let fut = body(side.clone(), slot.clone());
    let sched = side.sched.clone();
    // Spawned into the default group, even from inside a G (a host function's blocking call), so the proxy
    // is never part of a program's own accounting.
    let _ = sched.spawn_in(&sched.default_group().clone(), move |_| fut);
    slot
}

enum SendOp<T> {
    Done(Option<Result<(), SendError<T>>>),
    Waiting(Arc<Slot<bool>>, Option<T>),
}

impl<T> Unpin for SendOp<T> {}

impl<T> Future for SendOp<T> {
    type Output = Result<(), SendError<T>>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut *self {
            SendOp::Done(r) => Poll::Ready(r.take().expect("SendOp polled after completion")),
            SendOp::Waiting(slot, value) => slot.poll(cx).map(|sent| {
                let v = value.take().expect("SendOp polled after completion");
                if sent { Ok(()) } else { Err(SendError(v)) }
            }),
        }
    }
}

enum RecvOp<T> {
    Done(Option<Result<T, RecvError>>),
    Waiting(Arc<Slot<Option<Msg>>>, Arc<Side>),
}

impl<T> Unpin for RecvOp<T> {}

impl<T: Message> Future for RecvOp<T> {
    type Output = Result<T, RecvError>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut *self {
            RecvOp::Done(r) => Poll::Ready(r.take().expect("RecvOp polled after completion")),
            RecvOp::Waiting(slot, side) => slot.poll(cx).map(|m| match m {
                Some(m) => from_msg(m, &side.sched).map_err(RecvError::Decode),
                None => Err(RecvError::Closed),
            }),
        }
    }
}

impl<T> Drop for RecvOp<T> {
    fn drop(&mut self) {
        if let RecvOp::Waiting(slot, side) = self
            && let Some(Some(m)) = slot.abandon()
        {
            // Received but never returned: the next receive gets it (see *Invariants*).
            side.stash.lock().push_front(m);
        }
    }
}

/// Run a future to completion on this thread; inside a G, with the P handed off meanwhile.
fn block_on<F: Future>(f: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let run = move || {
        let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
        let mut cx = Context::from_waker(&waker);
        let mut f = std::pin::pin!(f);
        loop {
            if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
            std::thread::park();
        }
    };
    if gmp_sched::current().is_some() { gmp_sched::blocking(run) } else { run() }
}

/// A host channel handed to a run under a name, whatever its type (see [`crate::RunOptions::chan`]). It
/// keeps the channel for the program to look up, but does not count as the host holding it: only the
/// embedder's own [`Chan`] ends do (see *Invariants*).
#[derive(Clone)]
pub struct NamedChan {
    pub(crate) name: String,
    pub(crate) ch: ChanRef,
    pub(crate) side: std::sync::Weak<Side>,
}

impl NamedChan {
    /// The run's group is about to start: hold it alive while the host holds the channel.
    pub(crate) fn hold_for(&self, group: &Arc<Group>) {
        if let Some(side) = self.side.upgrade() {
            side.hold_for(group);
        }
    }
}

impl std::fmt::Debug for NamedChan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} => chan #{}", self.name, self.ch.id())
    }
}
