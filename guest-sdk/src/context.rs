//! [`Context`]: Go's `context` for Gs that share no memory — cancellation, deadlines and timeouts that a
//! tree of Gs can watch in [`select!`](crate::select!).
//!
//! # How it is built
//! A cancellable context is three runtime objects, so every copy (cloned, or sent to other Gs) is the same
//! context: a channel that is closed when the context is done ([`Context::done`]), an atomic holding why
//! ([`Context::err`]), and its deadline. Cancelling is a compare-and-swap of the reason, then closing the
//! channel, so only the first cancel closes it however many Gs cancel at once.
//!
//! A context derived from a cancellable parent, or with a deadline, has a *watcher* G: it waits on the
//! parent's `done`, the deadline's timer and the child's own `done`, cancels the child for the first of the
//! first two, and ends as soon as the child is done. (Go propagates through the parent's list of children in
//! shared memory, or through a goroutine for contexts it does not know; here there is no shared memory.)
//! [`Context::background`] is never done, and its [`done`](Context::done) is `None`: a nil channel, never
//! ready in a `select!`.

use std::fmt;
use std::time::Duration;

use crate::sync::AtomicU64;
use crate::time::Instant;
use crate::{DecodeError, Decoder, Encoder, Message, Receiver, Sender, chan, go_with, select};

const ACTIVE: u64 = 0;
const CANCELED: u64 = 1;
const EXPIRED: u64 = 2;

/// Why a context is done: Go's `context.Canceled` and `context.DeadlineExceeded`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Error {
    /// Its cancel function (or an ancestor's) was called.
    Canceled,
    /// Its deadline (or an ancestor's) passed.
    DeadlineExceeded,
}

impl Error {
    fn code(self) -> u64 {
        match self {
            Error::Canceled => CANCELED,
            Error::DeadlineExceeded => EXPIRED,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::Canceled => "context canceled",
            Error::DeadlineExceeded => "context deadline exceeded",
        })
    }
}

impl std::error::Error for Error {}

/// A deadline and a cancellation signal for a tree of work, passable to Gs (it is a [`Message`]).
///
/// ```
/// use std::time::Duration;
/// use gmp::context::{Context, Error};
///
/// let (ctx, _cancel) = Context::background().with_timeout(Duration::from_millis(20));
/// let (results, got) = gmp::chan::<String>(0);
/// let worker_ctx = ctx.clone(); // the same context, through new handles
/// gmp::go!(worker_ctx, results => {
///     let ctx = worker_ctx;
///     // A worker that would take a second, unless its context is done first.
///     gmp::select! {
///         recv(gmp::time::after(Duration::from_secs(1))) -> _ => results.send("finished".into()),
///         recv(ctx.done()) -> _ => results.send("gave up".into()),
///     }
/// });
/// assert_eq!(got.recv().as_deref(), Some("gave up"));
/// assert_eq!(ctx.err(), Some(Error::DeadlineExceeded));
/// ```
#[derive(Clone, Default)]
pub struct Context {
    inner: Option<Inner>,
}

#[derive(Clone)]
struct Inner {
    done: Receiver<()>,
    state: AtomicU64,
    deadline: Option<Instant>,
}

/// Cancels the context [`Context::with_cancel`] (or `with_timeout`, `with_deadline`) made, and every
/// context derived from it. Like Go's `CancelFunc`, call it when the work is over, even if it finished
/// on its own: that ends the context's watcher G. Clones, and copies sent to other Gs, cancel the same
/// context.
#[derive(Clone)]
pub struct CancelFunc {
    done: Sender<()>,
    state: AtomicU64,
}

impl CancelFunc {
    /// Cancels the context with [`Error::Canceled`]; nothing happens if it is already done.
    pub fn cancel(&self) {
        self.cancel_with(Error::Canceled);
    }

    fn cancel_with(&self, why: Error) {
        if self.state.compare_and_swap(ACTIVE, why.code()) {
            self.done.close();
        }
    }
}

impl Context {
    /// The root context: never cancelled, no deadline (Go's `context.Background()`).
    pub fn background() -> Context {
        Context { inner: None }
    }

    /// A child that is done when `cancel` is called or this context is done (Go's `WithCancel`).
    pub fn with_cancel(&self) -> (Context, CancelFunc) {
        self.derive(None)
    }

    /// A child that is also done `d` from now (Go's `WithTimeout`).
    pub fn with_timeout(&self, d: Duration) -> (Context, CancelFunc) {
        self.derive(Instant::now().checked_add(d))
    }

    /// A child that is also done at `at` (Go's `WithDeadline`).
    pub fn with_deadline(&self, at: Instant) -> (Context, CancelFunc) {
        self.derive(Some(at))
    }

    /// A channel closed when the context is done, for `select!`: `recv(ctx.done()) -> _ => ...`. `None` for
    /// a context that can never be done ([`background`](Context::background)), which `select!` treats as
    /// Go's nil channel.
    pub fn done(&self) -> Option<&Receiver<()>> {
        self.inner.as_ref().map(|i| &i.done)
    }

    /// Why the context is done, or `None` while it is not (Go's `Err`).
    pub fn err(&self) -> Option<Error> {
        match self.inner.as_ref()?.state.load() {
            CANCELED => Some(Error::Canceled),
            EXPIRED => Some(Error::DeadlineExceeded),
            _ => None,
        }
    }

    /// When the context will be done by itself, if ever: the earliest deadline of it and its ancestors.
    pub fn deadline(&self) -> Option<Instant> {
        self.inner.as_ref()?.deadline
    }

    fn derive(&self, deadline: Option<Instant>) -> (Context, CancelFunc) {
        // A deadline no earlier than the parent's needs no timer of its own: the parent's ends both (and
        // the child then reports the parent's reason, as in Go).
        let own = deadline.filter(|&d| self.deadline().is_none_or(|p| d < p));
        let deadline = own.or(self.deadline());
        let (tx, rx) = chan::<()>(0);
        let state = AtomicU64::new(ACTIVE);
        let child = Context { inner: Some(Inner { done: rx, state: state.clone(), deadline }) };
        let cancel = CancelFunc { done: tx, state };
        if let Some(why) = self.err() {
            cancel.cancel_with(why);
        } else if self.inner.is_some() || own.is_some() {
            go_with((self.clone(), child.clone(), cancel.clone(), own), watch);
        }
        (child, cancel)
    }
}

/// The watcher G of a derived context (see *How it is built*); `own` is the child's deadline when it is
/// earlier than its parent's.
fn watch((parent, child, cancel, own): (Context, Context, CancelFunc, Option<Instant>)) {
    let timer = own.map(|at| crate::time::after(at.duration_since(Instant::now())));
    select! {
        recv(parent.done()) -> _ => cancel.cancel_with(parent.err().unwrap_or(Error::Canceled)),
        recv(timer) -> _ => cancel.cancel_with(Error::DeadlineExceeded),
        recv(child.done()) -> _ => {}
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            None => f.write_str("Context::background()"),
            Some(_) => f.debug_struct("Context").field("err", &self.err()).field("deadline", &self.deadline()).finish(),
        }
    }
}

impl fmt::Debug for CancelFunc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelFunc").finish_non_exhaustive()
    }
}

/// A context travels as its channel, its atomic and its deadline; the receiving G sees the same context.
impl Message for Context {
    fn encode(&self, enc: &mut Encoder) {
        match &self.inner {
            None => false.encode(enc),
            Some(i) => {
                true.encode(enc);
                i.done.encode(enc);
                i.state.encode(enc);
                i.deadline.encode(enc);
            }
        }
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        let inner = match bool::decode(dec)? {
            false => None,
            true => Some(Inner {
                done: Receiver::decode(dec)?,
                state: AtomicU64::decode(dec)?,
                deadline: Option::<Instant>::decode(dec)?,
            }),
        };
        Ok(Context { inner })
    }
}

impl Message for CancelFunc {
    fn encode(&self, enc: &mut Encoder) {
        self.done.encode(enc);
        self.state.encode(enc);
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(CancelFunc { done: Sender::decode(dec)?, state: AtomicU64::decode(dec)? })
    }
}
