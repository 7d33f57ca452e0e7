//! The netpoller: Gs waiting for sockets park, and readiness from the OS makes them runnable (Go's
//! `netpoll.go`, on mio).
//!
//! # Types
//! - [`Netpoll`]: one `mio::Poll` per scheduler, its `Waker` (Go's `netpollBreak`), and the table from mio
//!   tokens to [`PollDesc`]s.
//! - [`PollDesc`]: one per registered socket (Go's `pollDesc`): for each direction a readiness sequence
//!   number and at most one parked waiter.
//! - [`IoWait`]: the future a G awaits after an operation said "would block".
//! - `PollerClaim`: which M, if any, is blocked in the poller and until when — the handshake with timer
//!   adders and socket waiters that must never lose a wake-up (model-checked with loom).
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
//! - At most one idle M at a time blocks in `poll`, until the earliest timer (`PollerClaim`); adding an
//!   earlier timer, or ending the program, wakes it through the mio `Waker`.
//! - sysmon polls when nobody has for 10 ms, so a busy program still notices its sockets.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use mio::{Events, Interest, Token};
use parking_lot::{Condvar, Mutex};

use crate::g::WaitReason;
use crate::loom::{AtomicBool, AtomicU64, AtomicUsize};

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
    /// Which M is blocked in the poller, and until when.
    pub(crate) claim: PollerClaim,
    /// Gs parked in [`IoWait`]: while any exists there is no deadlock.
    pub(crate) waiters: AtomicUsize,
    /// When some M last polled (scheduler ns).
    pub(crate) last_poll: std::sync::atomic::AtomicU64,
    /// Where the blocked M sleeps instead when no G waits on a socket: epoll's timeout is whole
    /// milliseconds, a futex's is not, and a sleeper waiting only for a timer deserves the finer one.
    /// The flag is a pending wake-up (a break that came before the M went to sleep).
    timer_sleep: parking_lot::Mutex<bool>,
    timer_cv: Condvar,
}

/// The M blocked in the poller, if any (Go's `sched.lastpoll == 0` and `sched.pollUntil`).
///
/// # The handshakes
/// 1. *Claim vs. a new earliest timer.* The M about to block claims (`blocked`), then reads the next
///    timer's time and publishes it (`block_until`). A timer adder stores the new `next_when`, then asks
///    [`PollerClaim::on_earlier_timer`]: if an M is blocked and would sleep past the timer, break it; if
///    none is, `wakep` so that one comes. SeqCst on both sides: the adder sees the claim, or the M sees the
///    new time. While the claimer has not yet published, `block_until` reads `u64::MAX` and any timer
///    breaks it.
/// 2. *Deaf sleep vs. a new socket waiter.* With no G waiting on a socket, the blocked M sleeps on a futex
///    (µs precision) where sockets cannot reach it. It raises `deaf`, then reads the socket waiter count;
///    a G that starts waiting raises the count, then reads `deaf` and breaks a deaf sleeper.
pub(crate) struct PollerClaim {
    blocked: AtomicBool,
    /// The claimer's deadline (scheduler ns), `u64::MAX` for none or not yet published.
    block_until: AtomicU64,
    deaf: AtomicBool,
}

/// What a timer adder must do, by [`PollerClaim::on_earlier_timer`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TimerWake {
    /// Break the M blocked in the poller: it would sleep past the new timer.
    Break,
    /// No M is blocked in the poller: `wakep`, so that an M comes to find the timer.
    Wakep,
    /// The blocked M wakes in time by itself.
    Nothing,
}

impl PollerClaim {
    pub(crate) fn new() -> PollerClaim {
        PollerClaim {
            blocked: AtomicBool::new(false),
            block_until: AtomicU64::new(u64::MAX),
            deaf: AtomicBool::new(false),
        }
    }

    /// True while an M is blocked in the poller (or about to be).
    pub(crate) fn is_blocked(&self) -> bool {
        self.blocked.load(Ordering::SeqCst)
    }

    /// Become the M blocked in the poller, unless another is (false). The claimer then reads the next
    /// timer and publishes its deadline with [`PollerClaim::set_block_until`].
    pub(crate) fn try_claim(&self) -> bool {
        let claimed = !self.blocked.swap(true, Ordering::SeqCst);
        crate::loom::sc_fence(); // the claimer reads `next_when` next
        claimed
    }

    /// The claimer: it will sleep until `until` (scheduler ns, `u64::MAX` for no timer).
    pub(crate) fn set_block_until(&self, until: u64) {
        self.block_until.store(until, Ordering::SeqCst);
    }

    /// The M about to block (handshake 1): claim the poller, read `next_when()` and publish it; return the
    /// deadline to sleep until, holding the claim. None when another M holds the claim (it wakes for every
    /// timer and socket) or when nothing would wake a sleeper (see [`PollerClaim::worth_sleeping`]): the M
    /// parks instead. `counts()` gives the pending timers and the socket waiters, read after the claim;
    /// `exiting()` says the program is ending.
    pub(crate) fn claim_for_sleep(
        &self,
        next_when: impl Fn() -> u64,
        counts: impl Fn() -> (usize, usize),
        exiting: impl Fn() -> bool,
    ) -> Option<u64> {
        let worth = |until| !exiting() && Self::worth_sleeping(until, counts());
        loop {
            if !self.try_claim() {
                return None;
            }
            let until = next_when();
            self.set_block_until(until);
            if worth(until) {
                return Some(until);
            }
            self.release();
            // A timer added while we held the claim only tried to break us; with the claim gone, look once
            // more (a timer added from here on sees no blocked M and calls `wakep`).
            if !worth(next_when()) {
                return None;
            }
        }
    }

    /// Whether something will end a sleep until `until` given `(pending timers, socket waiters)`: a socket
    /// waiter (epoll wakes for it), or a pending timer *and a deadline*. A pending timer with `next_when` at
    /// MAX is one in flight — being added (its adder breaks us or calls `wakep`) or already firing on another
    /// M (which runs what it readies) — and no reason to sleep with no deadline: nothing would end that
    /// sleep, and an M that never parks keeps checkdead from ever seeing every M asleep.
    fn worth_sleeping(until: u64, (timers, socket_waiters): (usize, usize)) -> bool {
        socket_waiters > 0 || (timers > 0 && until != u64::MAX)
    }

    /// The claimer, awake again.
    pub(crate) fn release(&self) {
        self.block_until.store(u64::MAX, Ordering::SeqCst);
        self.blocked.store(false, Ordering::SeqCst);
        crate::loom::sc_fence(); // `claim_for_sleep` re-checks the timers next
    }

    /// A timer adder, after storing the new earliest deadline `when` (handshake 1).
    pub(crate) fn on_earlier_timer(&self, when: u64) -> TimerWake {
        crate::loom::sc_fence();
        if !self.blocked.load(Ordering::SeqCst) {
            TimerWake::Wakep
        } else if when < self.block_until.load(Ordering::SeqCst) {
            TimerWake::Break
        } else {
            TimerWake::Nothing
        }
    }

    /// The claimer, before a futex sleep (handshake 2): true if it may sleep deaf to sockets; false if a
    /// G waits on a socket and it must poll epoll instead. A true must be followed by [`PollerClaim::hear`].
    pub(crate) fn go_deaf(&self, socket_waiters: &AtomicUsize) -> bool {
        self.deaf.store(true, Ordering::SeqCst);
        crate::loom::sc_fence();
        if socket_waiters.load(Ordering::SeqCst) > 0 {
            self.deaf.store(false, Ordering::SeqCst);
            return false;
        }
        true
    }

    /// The claimer, after its futex sleep.
    pub(crate) fn hear(&self) {
        self.deaf.store(false, Ordering::SeqCst);
    }

    /// A G that just raised the socket waiter count (handshake 2): true if it must break the sleeper.
    pub(crate) fn sleeper_is_deaf(&self) -> bool {
        crate::loom::sc_fence();
        self.deaf.load(Ordering::SeqCst)
    }
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
            claim: PollerClaim::new(),
            waiters: AtomicUsize::new(0),
            last_poll: std::sync::atomic::AtomicU64::new(0),
            timer_sleep: parking_lot::Mutex::new(false),
            timer_cv: Condvar::new(),
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

    /// Wake the M blocked in the poller, whatever its deadline.
    pub(crate) fn break_now(&self) {
        if self.claim.is_blocked() {
            self.kick();
        }
    }

    pub(crate) fn kick(&self) {
        let _ = self.waker.wake();
        *self.timer_sleep.lock() = true;
        self.timer_cv.notify_one();
    }

    /// The blocked M: if no G waits on a socket, sleep on the futex until `timeout` passes or a break comes,
    /// and return true; else return false at once (the caller polls epoll instead). See handshake 2 of
    /// [`PollerClaim`].
    pub(crate) fn sleep_unless_sockets(&self, timeout: Option<Duration>) -> bool {
        if !self.claim.go_deaf(&self.waiters) {
            return false;
        }
        self.sleep(timeout);
        self.claim.hear();
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
        match self.netpoll.claim.on_earlier_timer(when) {
            TimerWake::Break => self.netpoll.kick(),
            // No M blocked in the poller: get one to an idle P; it finds the timer and blocks until it.
            // With no idle P, every P's M passes `find_runnable`'s timer check within a slice, and sysmon
            // fires overdue timers meanwhile.
            TimerWake::Wakep => self.wakep(),
            TimerWake::Nothing => {}
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
            let np = &self.sched.netpoll;
            if crate::sched::dec(&np.waiters, "netpoll.waiters") == 1 {
                // The last socket waiter left: an M blocked in epoll with no timer would otherwise sleep for
                // good, never idle, and keep checkdead from ever seeing every M asleep.
                np.break_now();
            }
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
            if np.claim.sleeper_is_deaf() {
                np.kick(); // handshake 2 of `PollerClaim`
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

#[cfg(all(test, gmp_loom))]
mod loom_tests {
    //! The poller's handshakes, on the real [`PollerClaim`].
    use super::*;
    use loom::sync::Arc as LArc;
    use loom::thread;

    /// An M about to block in the poller (`claim_for_sleep`, as `block_in_netpoll` calls it) against a G
    /// adding a timer that becomes the earliest (`add_timer`: count it, store `next_when`, then
    /// `on_earlier_timer`). Whatever the interleaving, the M sleeps no later than the timer, or is broken,
    /// or parks while the adder calls `wakep`.
    #[test]
    fn loom_poller_claim_vs_added_timer_never_oversleeps() {
        loom::model(|| {
            const WHEN: u64 = 10;
            let claim = LArc::new(PollerClaim::new());
            let next_when = LArc::new(AtomicU64::new(u64::MAX));
            let active = LArc::new(AtomicUsize::new(0));
            let (c2, n2, a2) = (claim.clone(), next_when.clone(), active.clone());
            let adder = thread::spawn(move || {
                a2.fetch_add(1, Ordering::SeqCst);
                n2.store(WHEN, Ordering::SeqCst);
                c2.on_earlier_timer(WHEN)
            });
            let slept = claim.claim_for_sleep(
                || next_when.load(Ordering::SeqCst),
                || (active.load(Ordering::SeqCst), 0),
                || false,
            );
            let wake = adder.join().unwrap();
            match slept {
                Some(until) => {
                    assert!(until <= WHEN || wake == TimerWake::Break, "oversleeps: {until} {wake:?}");
                    assert_ne!(until, u64::MAX, "sleeps with no deadline and no socket waiter");
                }
                None => assert_eq!(wake, TimerWake::Wakep, "the M parked and nobody was woken for the timer"),
            }
        });
    }

    /// An M about to block in the poller against another M firing the only timer (`run_timers`: pop it and
    /// lower `next_when` under the heap lock, run its action, then uncount it). The sleeper must not block
    /// with no deadline on the strength of a timer that is already gone: nobody would ever break it, and an
    /// M that never parks keeps checkdead from reporting a deadlock (found by the schedule fuzzer).
    #[test]
    fn loom_poller_claim_vs_fired_timer_never_sleeps_for_good() {
        loom::model(|| {
            let claim = LArc::new(PollerClaim::new());
            let next_when = LArc::new(AtomicU64::new(10));
            let active = LArc::new(AtomicUsize::new(1));
            let (n2, a2) = (next_when.clone(), active.clone());
            let firer = thread::spawn(move || {
                n2.store(u64::MAX, Ordering::SeqCst);
                crate::sched::dec(&a2, "active");
            });
            let slept = claim.claim_for_sleep(
                || next_when.load(Ordering::SeqCst),
                || (active.load(Ordering::SeqCst), 0),
                || false,
            );
            firer.join().unwrap();
            if let Some(until) = slept {
                assert_eq!(until, 10, "sleeps past the timer or for good: {until}");
            }
        });
    }

    /// A deaf (futex) sleeper against a G that starts waiting on a socket: the sleeper hears epoll
    /// instead, or the G breaks it.
    #[test]
    fn loom_deaf_sleeper_vs_new_socket_waiter() {
        loom::model(|| {
            let claim = LArc::new(PollerClaim::new());
            let waiters = LArc::new(AtomicUsize::new(0));
            let (c2, w2) = (claim.clone(), waiters.clone());
            let g = thread::spawn(move || {
                w2.fetch_add(1, Ordering::SeqCst);
                c2.sleeper_is_deaf()
            });
            let deaf = claim.go_deaf(&waiters);
            let broke = g.join().unwrap();
            assert!(!deaf || broke, "the sleeper went deaf and the socket waiter did not break it");
        });
    }
}
