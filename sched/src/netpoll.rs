//! The netpoller: Gs waiting for sockets park, and readiness from the OS makes them runnable (Go's
//! `netpoll.go`, on mio).
//!
//! # Types
//! - [`Netpoll`]: one `mio::Poll` per scheduler, its `Waker` (Go's `netpollBreak`), and the table from mio
//!   tokens to [`PollDesc`]s.
//! - [`PollDesc`]: one per registered socket (Go's `pollDesc`): for each direction a readiness sequence
//!   number and at most one parked waiter.
//! - [`IoWait`]: the future a G awaits after an operation said "would block".
//!
//! # No lost readiness (mio is edge-triggered)
//! 1. Before trying the operation, the G reads the direction's sequence number.
//! 2. The operation fails with `WouldBlock`; the G awaits [`IoWait`] with that number.
//! 3. Under the direction's lock, the wait completes at once if the number moved (an edge arrived between
//!    1 and 3), else it stores the G's waker.
//! 4. The poller, on an event, bumps the number and takes the waker under the same lock, then wakes it.
//!
//! # Who polls
//! - Any M whose P found no local or global work polls without blocking (`find_runnable`).
//! - At most one idle M at a time blocks in `poll`, until the earliest timer ([`Netpoll::blocked`]); adding an
//!   earlier timer, or ending the program, wakes it through the mio `Waker`.
//! - sysmon polls when nobody has for 10 ms, so a busy program still notices its sockets.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use mio::{Events, Interest, Token};
use parking_lot::{Condvar, Mutex};

use crate::g::WaitReason;

/// The token of the poller's own waker.
const WAKER_TOKEN: Token = Token(usize::MAX);
/// Events taken from the OS per poll; more wait for the next poll.
const EVENTS_PER_POLL: usize = 1024;
/// sysmon polls if no M has for this long (Go: 10 ms).
pub(crate) const FORCED_POLL_NS: u64 = 10_000_000;

/// A direction of readiness.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    /// Readable (or accept-able).
    Read = 0,
    /// Writable (or connected).
    Write = 1,
}

#[derive(Default)]
struct Side {
    seq: u64,
    /// Usually one G; several when Gs share a socket (each parks until the next edge, then retries).
    waiters: Vec<Waker>,
}

/// A registered socket's readiness state.
pub struct PollDesc {
    token: Token,
    sides: [Mutex<Side>; 2],
}

impl PollDesc {
    /// Step 1: the readiness sequence number of `dir`, read before an attempt.
    pub fn seq(&self, dir: Dir) -> u64 {
        self.sides[dir as usize].lock().seq
    }

    fn fire(&self, dir: Dir) -> Vec<Waker> {
        let mut s = self.sides[dir as usize].lock();
        s.seq = s.seq.wrapping_add(1);
        std::mem::take(&mut s.waiters)
    }
}

/// The scheduler's netpoller.
pub struct Netpoll {
    poll: Mutex<(mio::Poll, Events)>,
    registry: mio::Registry,
    waker: mio::Waker,
    descs: Mutex<Slab>,
    /// True while an M is blocked in `poll`.
    pub(crate) blocked: AtomicBool,
    /// That M's deadline (scheduler ns), `u64::MAX` for none.
    block_until: AtomicU64,
    /// Gs parked in [`IoWait`]: while any exists there is no deadlock.
    pub(crate) waiters: AtomicUsize,
    /// When some M last polled (scheduler ns).
    pub(crate) last_poll: AtomicU64,
    /// Where the blocked M sleeps instead when no G waits on a socket: epoll's timeout is whole
    /// milliseconds, a futex's is not, and a sleeper waiting only for a timer deserves the finer one.
    /// The flag is a pending wake-up (a break that came before the M went to sleep).
    timer_sleep: Mutex<bool>,
    timer_cv: Condvar,
    /// True while the blocked M sleeps on that futex, deaf to sockets: a G that starts waiting on a socket
    /// then breaks it, so that it blocks in epoll instead (see [`Netpoll::sleep_unless_sockets`]).
    deaf: AtomicBool,
}

#[derive(Default)]
struct Slab {
    entries: Vec<Option<Arc<PollDesc>>>,
    free: Vec<usize>,
}

impl Netpoll {
    pub(crate) fn new() -> io::Result<Netpoll> {
        let poll = mio::Poll::new()?;
        let registry = poll.registry().try_clone()?;
        let waker = mio::Waker::new(poll.registry(), WAKER_TOKEN)?;
        Ok(Netpoll {
            poll: Mutex::new((poll, Events::with_capacity(EVENTS_PER_POLL))),
            registry,
            waker,
            descs: Mutex::new(Slab::default()),
            blocked: AtomicBool::new(false),
            block_until: AtomicU64::new(u64::MAX),
            waiters: AtomicUsize::new(0),
            last_poll: AtomicU64::new(0),
            timer_sleep: Mutex::new(false),
            timer_cv: Condvar::new(),
            deaf: AtomicBool::new(false),
        })
    }

    /// Register a socket for both directions (edge-triggered).
    ///
    /// # Errors
    /// As `mio::Registry::register`.
    pub fn register(&self, src: &mut impl mio::event::Source) -> io::Result<Arc<PollDesc>> {
        let mut slab = self.descs.lock();
        let idx = slab.free.pop().unwrap_or_else(|| {
            slab.entries.push(None);
            slab.entries.len() - 1
        });
        let pd = Arc::new(PollDesc { token: Token(idx), sides: Default::default() });
        if let Err(e) = self.registry.register(src, pd.token, Interest::READABLE | Interest::WRITABLE) {
            slab.free.push(idx);
            return Err(e);
        }
        slab.entries[idx] = Some(pd.clone());
        Ok(pd)
    }

    /// Deregister a socket before it is closed. Its waiters (if any) are woken to see the closed socket.
    pub fn deregister(&self, src: &mut impl mio::event::Source, pd: &PollDesc) {
        let _ = self.registry.deregister(src);
        let mut slab = self.descs.lock();
        if slab.entries.get(pd.token.0).is_some_and(|e| e.as_ref().is_some_and(|e| std::ptr::eq(&**e, pd))) {
            slab.entries[pd.token.0] = None;
            slab.free.push(pd.token.0);
        }
        drop(slab);
        for dir in [Dir::Read, Dir::Write] {
            for w in pd.fire(dir) {
                w.wake();
            }
        }
    }

    /// Poll once, waiting at most `timeout`, and return the wakers of the Gs whose sockets became ready.
    /// With `blocking` false, gives up at once if another M is polling.
    pub(crate) fn poll(&self, timeout: Option<Duration>, now: u64, blocking: bool) -> Vec<Waker> {
        let mut guard = if blocking {
            self.poll.lock()
        } else {
            match self.poll.try_lock() {
                Some(g) => g,
                None => return Vec::new(),
            }
        };
        let (poll, events) = &mut *guard;
        if let Err(e) = poll.poll(events, timeout)
            && e.kind() != io::ErrorKind::Interrupted
        {
            eprintln!("wasm-gmp: netpoll: {e}");
        }
        self.last_poll.store(now.max(1), Ordering::Relaxed);
        let mut wake = Vec::new();
        let slab = self.descs.lock();
        for ev in events.iter() {
            if ev.token() == WAKER_TOKEN {
                continue;
            }
            let Some(Some(pd)) = slab.entries.get(ev.token().0) else {
                continue;
            };
            let broken = ev.is_error() || ev.is_read_closed() || ev.is_write_closed();
            if ev.is_readable() || broken {
                wake.extend(pd.fire(Dir::Read));
            }
            if ev.is_writable() || broken {
                wake.extend(pd.fire(Dir::Write));
            }
        }
        wake
    }

    /// Become the M blocked in the poller, unless another is. Returns false if another is. The claimer then
    /// reads the next timer and publishes its deadline with [`Netpoll::set_block_until`]; until it does, a
    /// new timer breaks it whatever its deadline (`block_until` is `u64::MAX` while unclaimed).
    pub(crate) fn try_claim_blocking(&self) -> bool {
        // SeqCst: the claim is ordered before the claimer's read of `next_when`, and a timer's adder
        // stores `next_when` before it reads `blocked` (see `Sched::wake_netpoller`).
        !self.blocked.swap(true, Ordering::SeqCst)
    }

    /// The claimer: it will sleep until `until` (scheduler ns, `u64::MAX` for no timer).
    pub(crate) fn set_block_until(&self, until: u64) {
        self.block_until.store(until, Ordering::SeqCst);
    }

    pub(crate) fn release_blocking(&self) {
        self.block_until.store(u64::MAX, Ordering::SeqCst);
        self.blocked.store(false, Ordering::SeqCst);
    }

    /// Wake the M blocked in the poller if it would sleep past `when` (Go's `netpollBreak`).
    pub(crate) fn break_before(&self, when: u64) {
        if self.blocked.load(Ordering::SeqCst) && when < self.block_until.load(Ordering::SeqCst) {
            self.kick();
        }
    }

    /// Wake the M blocked in the poller, whatever its deadline.
    pub(crate) fn break_now(&self) {
        if self.blocked.load(Ordering::SeqCst) {
            self.kick();
        }
    }

    fn kick(&self) {
        let _ = self.waker.wake();
        *self.timer_sleep.lock() = true;
        self.timer_cv.notify_one();
    }

    /// The blocked M: if no G waits on a socket, sleep on the futex until `timeout` passes or a break comes,
    /// and return true; else return false at once (the caller polls epoll instead).
    ///
    /// A G that starts waiting on a socket meanwhile must not go unheard for the whole sleep. The M raises
    /// `deaf`, then reads `waiters`; [`IoWait`] raises `waiters`, then reads `deaf` and breaks a deaf
    /// sleeper (all SeqCst): one of the two sees the other.
    pub(crate) fn sleep_unless_sockets(&self, timeout: Option<Duration>) -> bool {
        self.deaf.store(true, Ordering::SeqCst);
        if self.waiters.load(Ordering::SeqCst) > 0 {
            self.deaf.store(false, Ordering::SeqCst);
            return false;
        }
        self.sleep(timeout);
        self.deaf.store(false, Ordering::SeqCst);
        true
    }

    fn sleep(&self, timeout: Option<Duration>) {
        let mut kicked = self.timer_sleep.lock();
        if !*kicked {
            match timeout {
                Some(t) => {
                    self.timer_cv.wait_for(&mut kicked, t);
                }
                None => self.timer_cv.wait(&mut kicked),
            }
        }
        *kicked = false;
    }
}

impl crate::sched::Sched {
    /// A timer at `when` became the earliest: make sure an M looks at it in time (Go's `wakeNetPoller`).
    /// Any thread.
    pub(crate) fn wake_netpoller(self: &Arc<Self>, when: u64) {
        if self.netpoll.blocked.load(Ordering::SeqCst) {
            self.netpoll.break_before(when);
        } else {
            // No M blocked in the poller: get one to an idle P; it finds the timer and blocks until it.
            // With no idle P, every P's M passes `find_runnable`'s timer check within a slice, and sysmon
            // fires overdue timers meanwhile.
            self.wakep();
        }
    }

    /// The scheduler's netpoller, for registering sockets.
    pub fn netpoll(&self) -> &Netpoll {
        &self.netpoll
    }
}

/// Park the current G until `pd`'s `dir` readiness number moves past `seq` (step 2 and 3).
pub fn io_wait(sched: &Arc<crate::sched::Sched>, pd: &Arc<PollDesc>, dir: Dir, seq: u64) -> IoWait {
    IoWait { sched: sched.clone(), pd: pd.clone(), dir, seq, waker: None }
}

/// The future of [`io_wait`].
pub struct IoWait {
    sched: Arc<crate::sched::Sched>,
    pd: Arc<PollDesc>,
    dir: Dir,
    seq: u64,
    /// Our entry in the side's waiters, while parked (counted in `Netpoll::waiters`).
    waker: Option<Waker>,
}

impl IoWait {
    /// Leave the waiters: take our entry out and uncount it.
    fn unpark(&mut self) {
        if let Some(w) = self.waker.take() {
            self.pd.sides[self.dir as usize].lock().waiters.retain(|x| !x.will_wake(&w));
            crate::sched::dec(&self.sched.netpoll.waiters, "netpoll.waiters");
        }
    }
}

impl Future for IoWait {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let first = self.waker.is_none();
        let ready = {
            let mut side = self.pd.sides[self.dir as usize].lock();
            if side.seq != self.seq {
                true
            } else {
                if !side.waiters.iter().any(|w| w.will_wake(cx.waker())) {
                    side.waiters.push(cx.waker().clone());
                }
                false
            }
        };
        if ready {
            self.unpark();
            return Poll::Ready(());
        }
        if first {
            self.waker = Some(cx.waker().clone());
            let np = &self.sched.netpoll;
            np.waiters.fetch_add(1, Ordering::SeqCst);
            if np.deaf.load(Ordering::SeqCst) {
                np.kick(); // see `Netpoll::sleep_unless_sockets`
            }
        }
        if let Some(g) = crate::current() {
            g.set_wait(WaitReason::IoWait, 0);
        }
        Poll::Pending
    }
}

impl Drop for IoWait {
    fn drop(&mut self) {
        self.unpark();
    }
}
