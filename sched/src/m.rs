//! M: an OS thread running Gs — Go's `schedule` / `findRunnable` / `execute` loop.
//!
//! # One round of the loop
//! 1. `find_runnable` (order in the crate comment) returns a G and whether it inherits the current time
//!    slice (it came from `runnext`), or parks the M until it gets a P, or returns None when the program ends.
//! 2. If the M was spinning, it stops; if it was the last spinner it calls `wakep` (see *Spinning Ms* in
//!    `idle.rs`), since where there was one runnable G there may be more.
//! 3. `execute` polls the G's future once, with the thread-local [`Current`] pointing at the G and the P so
//!    that code inside the poll (channels, spawn, the epoch check) can reach them.
//! 4. After the poll, by what the G asked for:
//!    - `Ready`: the G is dead; forget it.
//!    - it set `yielded` (Gosched, preemption): it waits behind everyone runnable, due timers' Gs included
//!      (`requeue_yielded`: the global queue as in Go, or this P's tail while the global queue is empty).
//!    - else it parks (`PARKED`); if a waker came during the poll (`NOTIFIED`), it goes to the local tail.
//!    - a G that parked without saying why was inside some foreign future (a WASI call): it counts as
//!      `WaitReason::Syscall` until it runs again, which keeps `checkdead` quiet.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::ptr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::g::{GRef, WaitReason};
use crate::group::{Group, is_sleep};
use crate::idle::M;
use crate::metrics::Counters;
use crate::p::P;
use crate::sched::Sched;

/// How long a spinning M that finds nothing keeps looking before it parks, busy (see [`linger`]). Work
/// tends to come in bursts, and a spinner still around when the next G is readied spares the readier a
/// futex wake; at 1 P, a G waiting on a host thread that answers within microseconds is picked up without
/// the M ever parking.
const SPIN_HOT: Duration = Duration::from_micros(50);

/// How long it keeps looking in all, napping after `SPIN_HOT`, while another P is busy.
///
/// While an M spins, `wakep` finds a spinner and returns at once; once it parks, the next G readied on a
/// busy P pays a futex wake on that P's M, on the critical path. A ping-pong pair at 2 Ps readies a G
/// about every microsecond. With only `SPIN_HOT` it made 16,874 futex calls per 300,000 round trips, and a
/// round trip took ~3,400 ns against ~2,300 at 1 P; napping on to 1 ms, under 1,000 futex calls and
/// ~2,300 ns.
const SPIN_LINGER: Duration = Duration::from_millis(1);

/// A napping spinner's sleep between looks. The kernel's timer slack stretches it: 71 µs measured (p50 of
/// 2,000 `sleep(16 µs)` here), which is how late it may find work to steal; Go's spinner, sleeping
/// `usleep(3)` before it steals a `runnext`, meets the same slack. Napping instead of spinning to 1 ms,
/// the 2 P ping-pong used 1.09 CPUs instead of 1.82 (`perf stat` task-clock).
const SPIN_NAP: Duration = Duration::from_micros(16);

/// What a spinner that found nothing does next.
#[derive(Debug, PartialEq, Eq)]
enum Linger {
    /// Look again at once.
    Spin,
    /// Sleep `SPIN_NAP`, then look again.
    Nap,
    /// Give the P back and park.
    Park,
}

/// After `lingered` of finding nothing; `others_busy`: some other P is held by an M, so a G readied there
/// would pay for waking this M were it parked.
fn linger(lingered: Duration, others_busy: bool) -> Linger {
    if lingered < SPIN_HOT {
        Linger::Spin
    } else if lingered < SPIN_LINGER && others_busy {
        Linger::Nap
    } else {
        Linger::Park
    }
}

/// Every this many fresh slices, a P looks at the global queue before its own (Go's `schedtick % 61`):
/// a prime, so the check does not fall into step with a periodic workload.
const GLOBAL_FAIRNESS_TICK: u32 = 61;

/// What the thread-local context knows while an M polls a G (or runs timers and netpoll wake-ups): its
/// scheduler and the M's own state, as raw pointers. The M's stack frame owns [`MLocal`] and hands it over
/// for exactly the span of [`Current::enter`]: while the guard lives, the M does not touch `MLocal` itself,
/// so code running inside the poll on this thread (ready, spawn, blocking calls) is its only user.
#[derive(Clone, Copy)]
pub(crate) struct Current {
    sched: *const Sched,
    ml: *mut MLocal,
}

thread_local! {
    static CURRENT: Cell<Current> = const { Cell::new(Current { sched: ptr::null(), ml: ptr::null_mut() }) };
    /// The running G: a pointer to the M's own reference to it, which outlives the poll (see
    /// [`Current::enter`]), so [`current`] hands out clones without the M paying a reference count for
    /// every poll.
    static CURRENT_G: Cell<*const GRef> = const { Cell::new(ptr::null()) };
    /// When the running G's poll began, for [`current_poll_time`].
    static POLL_START: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Restores the thread-local context on every exit from a poll, unwinding included.
struct Restore(Current, *const GRef);

impl Drop for Restore {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.0));
        CURRENT_G.with(|c| c.set(self.1));
    }
}

impl Current {
    /// Lend `ml` to the thread-local context until the guard drops; the caller must not use `ml` meanwhile
    /// (it holds the `&mut` only to lend it). `g`, if any, becomes [`current`]; the caller keeps that
    /// reference alive and in place until the guard drops (it is lent by address, not cloned).
    fn enter(sched: &Sched, ml: &mut MLocal, g: Option<&GRef>) -> Restore {
        let cur = Current { sched, ml };
        let prev = CURRENT.with(|c| c.replace(cur));
        let prev_g = CURRENT_G.with(|c| c.replace(g.map_or(ptr::null(), |g| g as *const GRef)));
        Restore(prev, prev_g)
    }

    /// Run `f` with the current P if this thread is an M of `sched` inside [`Current::enter`] and holds a P;
    /// returns false otherwise.
    pub(crate) fn with_p(sched: &Sched, f: impl FnOnce(&P)) -> bool {
        let cur = CURRENT.with(|c| c.get());
        if cur.ml.is_null() || !ptr::eq(cur.sched, sched) {
            return false;
        }
        // SAFETY: non-null means an `enter` guard is live on this thread; its caller lent us `MLocal` and does
        // not touch it until the guard drops, and nothing else on this thread holds a reference into it now
        // (references made here never outlive the closure).
        let ml = unsafe { &*cur.ml };
        match ml.p.as_deref() {
            Some(p) => {
                f(p);
                true
            }
            None => false,
        }
    }

    /// Run `f` with the scheduler and the M's state, if this thread is an M inside [`Current::enter`].
    pub(crate) fn with_ml<R>(f: impl FnOnce(&Sched, &mut MLocal) -> R) -> Option<R> {
        let cur = CURRENT.with(|c| c.get());
        if cur.ml.is_null() {
            return None;
        }
        // SAFETY: as in `with_p`; the `&mut` is the only reference into `MLocal` for the closure's span
        // (callers do not nest `with_p`/`with_ml` inside `f`). The scheduler outlives its Ms.
        Some(f(unsafe { &*cur.sched }, unsafe { &mut *cur.ml }))
    }

    /// [`Current::with_ml`], if this thread is an M of `sched` (a G of one scheduler may ready a G of
    /// another, through a host channel).
    pub(crate) fn with_ml_of<R>(sched: &Sched, f: impl FnOnce(&mut MLocal) -> R) -> Option<R> {
        let cur = CURRENT.with(|c| c.get());
        if cur.ml.is_null() || !ptr::eq(cur.sched, sched) {
            return None;
        }
        // SAFETY: as in `with_ml`.
        Some(f(unsafe { &mut *cur.ml }))
    }

    pub(crate) fn with_g<R>(f: impl FnOnce(&GRef) -> R) -> Option<R> {
        let g = CURRENT_G.with(|c| c.get());
        // SAFETY: non-null means an `enter` guard is live on this thread, and its caller keeps the reference
        // it lent alive and unmoved until the guard drops (`execute` holds it across the poll); `f` cannot
        // outlive this call.
        (!g.is_null()).then(|| f(unsafe { &*g }))
    }

    /// Count an event on the P this thread's M holds (see `metrics.rs`): one thread-local read and a branch
    /// when there is none (a host thread, a nested poll outside an M), a Relaxed load and store when there is.
    #[inline]
    pub(crate) fn count(f: impl FnOnce(&crate::metrics::Counters)) {
        if let Some(p) = Current::p_shared() {
            f(&p.stats);
        }
    }

    fn p_shared() -> Option<&'static crate::p::PShared> {
        let cur = CURRENT.with(|c| c.get());
        if cur.ml.is_null() {
            return None;
        }
        // SAFETY: as in `with_p`. `ps` lives as long as the scheduler, which outlives the poll; the 'static is
        // confined to `preempt_requested`, which reads one flag and lets go.
        unsafe {
            let id = (*cur.ml).p.as_ref()?.id;
            Some(&(*cur.sched).ps[id])
        }
    }
}

/// The G this thread is running, if it is an M inside a poll. Channels park the G they return.
pub fn current() -> Option<GRef> {
    Current::with_g(|g| g.clone())
}

/// True when sysmon has flagged the running G's time slice as used up. Cheap (a thread-local read and a
/// relaxed load): the wasm side's epoch callback asks this at every tick.
pub fn preempt_requested() -> bool {
    Current::p_shared().is_some_and(|p| p.preempt.load(Ordering::Relaxed))
}

/// True when the G running on this thread should stop: its group (program) is ending, or its whole
/// scheduler is shutting down.
pub fn exiting() -> bool {
    Current::with_g(|g| g.group.is_exiting() || g.sched.is_exiting()).unwrap_or(false)
}

/// How long the G running on this thread has been in its current poll (zero outside a poll). With
/// [`crate::Group::cpu_time`], which counts finished polls, this is the CPU time of a program up to now:
/// what an embedder's epoch hook checks a CPU budget against.
pub fn current_poll_time() -> Duration {
    POLL_START.with(|s| s.get()).map_or(Duration::ZERO, |t| t.elapsed())
}

/// True while this thread polls a G (reaping a group must wait until the poll returns; see `group.rs`).
pub(crate) fn in_poll() -> bool {
    CURRENT_G.with(|c| !c.get().is_null())
}

/// Gosched: a future that puts the running G on the global queue once and then completes. Also how a
/// preempted G leaves its M (the epoch callback awaits it).
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false, preempted: false }
}

/// [`yield_now`] for a G whose slice sysmon flagged ([`preempt_requested`]): the same, counted as a
/// preemption in the metrics (and the trace). The wasm side's epoch callback awaits it.
pub fn preempt_yield() -> YieldNow {
    YieldNow { yielded: false, preempted: true }
}

/// See [`yield_now`].
pub struct YieldNow {
    yielded: bool,
    preempted: bool,
}

impl Future for YieldNow {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        match Current::with_g(|g| g.yielded.store(true, Ordering::Relaxed)) {
            Some(()) => {
                self.yielded = true;
                if self.preempted {
                    Current::count(|c| crate::metrics::Counters::bump(&c.preemptions, 1));
                    Current::with_ml(|sched, ml| {
                        if let (Some(t), Some(p), Some(g)) = (&sched.tracer, &ml.p, Current::with_g(|g| g.id())) {
                            let ev = crate::trace::Ev::Preempt { p: p.id as u32, g };
                            ml.trace(t, sched.now_ns(), ev);
                        }
                    });
                }
                Poll::Pending
            }
            // Not inside a G: nothing to yield to.
            None => Poll::Ready(()),
        }
    }
}

impl Sched {
    /// The body of an M thread: run Gs until the program ends, then give the P back.
    pub(crate) fn mstart(self: Arc<Self>, m: Arc<M>, id: u32, p: Box<P>, spinning: bool) {
        let mut ml = MLocal::new(m, id, Some(p), spinning);
        while let Some((g, inherit)) = self.find_runnable(&mut ml) {
            ml.stop_lingering();
            if ml.spinning {
                self.reset_spinning(&mut ml);
            }
            self.execute(&mut ml, g, inherit);
        }
        if let Some(p) = ml.p.take() {
            while p.runq.pop().is_some() {}
            let mut idle = self.idle.lock();
            self.pidle_put(&mut idle, p);
        }
        if ml.spinning {
            self.spin.stop_spinning();
        }
        if let Some(t) = &self.tracer {
            t.hand_in(&mut ml.trace);
        }
    }

    fn reset_spinning(self: &Arc<Self>, ml: &mut MLocal) {
        ml.spinning = false;
        if self.spin.stop_spinning() {
            self.wakep();
        }
    }

    /// Step 1 of the loop: see the crate comment for the order.
    fn find_runnable(self: &Arc<Self>, ml: &mut MLocal) -> Option<(GRef, bool)> {
        'top: loop {
            if self.exiting.load(Ordering::SeqCst) {
                return None;
            }
            if ml.p.is_none() || self.yield_p_to_syscall_waiter(&mut ml.p) {
                ml.stamp = None;
                // Without a P (back from a blocking call at shutdown, or we just gave ours to an M back from
                // one): wait for one.
                if ml.spinning {
                    ml.spinning = false;
                    if self
                        .spin
                        .stop_spinning_without_p(|| !self.global.is_empty() || self.ps.iter().any(|p| p.has_work()))
                    {
                        self.wakep();
                    }
                }
                let (p, spinning) = self.stopm(&ml.m)?;
                ml.p = Some(p);
                ml.spinning = spinning;
            }
            // Due timers first (Go's checkTimers): the Gs they ready go to this P.
            if self.timers.next_when() != u64::MAX {
                let now = ml.stamp.map_or_else(|| self.now_ns(), |t| self.ns_at(t));
                let _cur = Current::enter(self, ml, None);
                self.run_timers(now);
            }
            let p = ml.p.as_mut().expect("find_runnable: M without a P");
            if self.ps[p.id].schedtick.load(Ordering::Relaxed).is_multiple_of(GLOBAL_FAIRNESS_TICK)
                && !self.global.is_empty()
                && let Some(g) = self.global.pop()
            {
                return Some((g, false));
            }
            if let Some(g) = self.ps[p.id].runnext.take() {
                return Some((g, true));
            }
            if let Some(g) = p.runq.pop() {
                return Some((g, false));
            }
            if let Some(g) = p.runq.refill_from(&self.global, self.global_batch()) {
                return Some((g, false));
            }
            // From here on the M may wait: the next poll reads the clock afresh.
            ml.stamp = None;
            // Sockets, without blocking, when some G waits on one and no M is blocked in the poller.
            if self.netpoll.waiters.load(Ordering::SeqCst) > 0 && !self.netpoll.claim.is_blocked() {
                let woken = self.netpoll.poll(Some(Duration::ZERO), self.now_ns(), false);
                if !woken.is_empty() {
                    Counters::bump(&self.ps[p.id].stats.netpoll_wakes, woken.len() as u64);
                    if let Some(t) = &self.tracer {
                        let ev = crate::trace::Ev::NetpollWake { track: ml.track(), n: woken.len() as u32 };
                        ml.trace(t, self.now_ns(), ev);
                    }
                    let _cur = Current::enter(self, ml, None);
                    let _by = crate::trace::WakingAs::new(self, crate::trace::By::Poller);
                    woken.into_iter().for_each(Waker::wake);
                    continue 'top;
                }
            }
            let p = ml.p.as_mut().expect("find_runnable: M without a P");
            if ml.spinning || self.spin.try_spin() {
                ml.spinning = true;
                if let Some((g, victim, n)) = self.steal_work(p) {
                    if let Some(t) = &self.tracer {
                        let ev = crate::trace::Ev::Steal { p: ml.track_p(), victim: victim as u32, n: n as u32 };
                        ml.trace(t, self.now_ns(), ev);
                    }
                    return Some((g, false));
                }
                // Nothing to steal: look again in a while, or park (see `linger`).
                let now = Instant::now();
                let since = *ml.spin_since.get_or_insert(now);
                let others_busy = self.spin.npidle() + 1 < self.cfg.procs;
                match linger(now - since, others_busy) {
                    _ if self.exiting.load(Ordering::Relaxed) => {}
                    Linger::Spin => {
                        std::hint::spin_loop();
                        continue 'top;
                    }
                    Linger::Nap => {
                        std::thread::sleep(SPIN_NAP);
                        continue 'top;
                    }
                    Linger::Park => {}
                }
            }
            ml.stop_lingering();

            // Nothing to run: give the P back (Go: releasep + pidleput).
            {
                let mut idle = self.idle.lock();
                if self.exiting.load(Ordering::SeqCst) {
                    return None;
                }
                if let Some(g) = self.global.pop() {
                    return Some((g, false));
                }
                let p = ml.p.take().expect("find_runnable: P vanished");
                self.pidle_put(&mut idle, p);
            }
            let was_spinning = ml.spinning;
            if was_spinning {
                ml.spinning = false;
                self.spin.stop_spinning();
            }
            // Published (P idle, not spinning); now re-check: the delicate dance (idle.rs). The global queue
            // is pushed to without the idle lock, so even a non-spinning M looks once more.
            if !self.global.is_empty() || (was_spinning && self.ps.iter().any(|p| p.has_work())) {
                let mut idle = self.idle.lock();
                if let Some(p) = self.pidle_get(&mut idle) {
                    drop(idle);
                    ml.p = Some(p);
                    if was_spinning {
                        ml.spinning = true;
                        self.spin.spin_again();
                    }
                    continue 'top;
                }
            }
            if self.block_in_netpoll(ml) {
                continue 'top;
            }
            let (p, spinning) = self.stopm(&ml.m)?;
            ml.p = Some(p);
            ml.spinning = spinning;
        }
    }

    /// An M without a P, about to park: if a timer or a socket may still ready a G and no other M is
    /// blocked in the poller, block there until the earliest timer, then take a P for what it readied.
    /// Returns true if the M holds a P again.
    fn block_in_netpoll(self: &Arc<Self>, ml: &mut MLocal) -> bool {
        // Nothing pending at all: park without touching the poller's claim (idle transitions are frequent
        // when Gs hand work back and forth across Ps). A timer added after this look finds no M in the
        // poller and calls `wakep` (handshake 1 of `PollerClaim`), so parking loses nothing.
        if self.timers.active() == 0 && self.netpoll.waiters.load(Ordering::SeqCst) == 0 {
            return false;
        }
        let Some(until) = self.netpoll.claim.claim_for_sleep(
            || self.timers.next_when(),
            || (self.timers.active(), self.netpoll.waiters.load(Ordering::SeqCst)),
            || self.exiting.load(Ordering::SeqCst),
        ) else {
            return false;
        };
        let now = self.now_ns();
        let timeout = (until != u64::MAX).then(|| Duration::from_nanos(until.saturating_sub(now)));
        let woken = if self.exiting.load(Ordering::SeqCst) {
            Vec::new()
        } else if self.netpoll.sleep_unless_sockets(timeout) {
            // Only timers to wait for: a futex sleep, precise to microseconds where epoll's is whole ms.
            Vec::new()
        } else {
            self.netpoll.poll(timeout, now, true)
        };
        if !woken.is_empty() {
            Counters::add_shared(&self.outside.netpoll_wakes, woken.len() as u64);
            if let Some(t) = &self.tracer {
                ml.trace(t, self.now_ns(), crate::trace::Ev::NetpollWake { track: ml.track(), n: woken.len() as u32 });
            }
        }
        let _by = crate::trace::WakingAs::new(self, crate::trace::By::Poller);
        self.netpoll.claim.release();
        let p = {
            let mut idle = self.idle.lock();
            self.pidle_get(&mut idle)
        };
        match p {
            Some(p) => {
                ml.p = Some(p);
                // The wake-ups go to this P; its timers run at the top of `find_runnable`.
                let _cur = Current::enter(self, ml, None);
                woken.into_iter().for_each(Waker::wake);
                true
            }
            None => {
                // Every P is busy: what we readied goes to the global queue for them.
                woken.into_iter().for_each(Waker::wake);
                self.run_timers(self.now_ns());
                false
            }
        }
    }

    /// How many Gs one look at the global queue takes: a fair share per P (Go's `globrunqget`).
    fn global_batch(&self) -> usize {
        (self.global.len() / self.cfg.procs + 1).min(crate::runq::RUNQ_CAP / 2)
    }

    /// Step 3 and 4 of the loop.
    fn execute(self: &Arc<Self>, ml: &mut MLocal, g: GRef, inherit: bool) {
        let p = ml.p.as_ref().expect("execute: M without a P");
        self.ps[p.id].begin_run(!inherit);
        g.state.transition_to_running();
        if g.wait().0 == WaitReason::Syscall {
            crate::sched::dec(&self.nsyscall_wait, "nsyscall_wait");
        }
        g.set_wait(WaitReason::None, 0);
        // Only a future that answers inspection polls may mark the G again, as it parks in it.
        g.inspectable.store(false, Ordering::Relaxed);
        if g.group.is_exiting() {
            // Its program is ending: the G is dropped, never polled again (see *Ending a group*).
            self.gexit(&g);
            return;
        }
        let waker = crate::g::waker_ref(&g);
        let mut cx = Context::from_waker(&waker);
        // One clock read per poll (see *CPU time* in `MLocal::stamp`).
        let (pid, start) = (p.id, ml.stamp.take().unwrap_or_else(Instant::now));
        // While tracing: the flow from whoever readied the G ends at this slice, which a blocking call inside
        // the poll may cut in two (see `blocking`).
        // The clock is read afresh for it: `start` may be the end of this M's previous poll (see *CPU time*),
        // earlier than the wake-up that queued this G, and a slice must not begin before its arrow does.
        if self.tracer.is_some() {
            ml.slice = (self.now_ns(), g.trace_flow.swap(0, Ordering::Relaxed));
        }
        let poll = {
            let _restore = Current::enter(self, ml, Some(&g));
            POLL_START.with(|s| s.set(Some(start)));
            let poll = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| g.poll(&mut cx)));
            POLL_START.with(|s| s.set(None));
            poll
        };
        let end = Instant::now();
        let busy = end.saturating_duration_since(start).as_nanos() as u64;
        g.group.add_cpu(pid, busy);
        // On the P held now: a blocking call inside the poll may have handed the first one to another M,
        // which writes that P's counters from then on.
        if let Some(p) = ml.p.as_deref() {
            Counters::bump(&self.ps[p.id].stats.busy_ns, busy);
        }
        ml.stamp = Some(end);
        if let Some(t) = &self.tracer {
            use crate::trace::{End, Ev};
            let end_how = match &poll {
                Err(_) => End::Panic,
                Ok(Poll::Ready(())) => End::Exit,
                Ok(Poll::Pending) if g.yielded.load(Ordering::Relaxed) => End::Yield,
                Ok(Poll::Pending) => End::Pending,
            };
            // The slice since the poll began, or since it came back from a blocking call, on the P it holds
            // now (maybe another; none if it lost its P at shutdown).
            let (from, flow) = std::mem::take(&mut ml.slice);
            if let Some(p) = ml.p.as_deref() {
                let ts = self.ns_at(end);
                let ev =
                    Ev::Slice { p: p.id as u32, m: ml.id, g: g.id(), dur: ts.saturating_sub(from), flow, end: end_how };
                ml.trace(t, from, ev);
            }
        }
        self.after_poll(ml, g, poll);
        Group::reap_owed_here();
    }

    /// Step 4: what the G asked for.
    fn after_poll(self: &Arc<Self>, ml: &mut MLocal, g: GRef, poll: std::thread::Result<Poll<()>>) {
        let poll = match poll {
            Ok(p) => p,
            Err(payload) => {
                let message = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a panic without a message".into());
                // The G's future is in an unknown state: it is never polled again, and stays `RUNNING` (so no
                // reap touches it) until teardown. Its program ends; with the scheduler-wide deadlock check
                // on (one program per scheduler), the whole scheduler does, as before groups existed.
                let outcome = crate::sched::Outcome::HostPanic { gid: g.id(), message };
                if self.cfg.checkdead {
                    self.finish(outcome.clone());
                }
                g.group.finish(outcome);
                return;
            }
        };
        match poll {
            Poll::Ready(()) => self.gexit(&g),
            Poll::Pending => {
                // Owner M only (see `G::yielded`): a load first, as the flag is almost always down.
                if g.yielded.load(Ordering::Relaxed) {
                    g.yielded.store(false, Ordering::Relaxed);
                    g.state.transition_to_requeued();
                    self.requeue_yielded(ml, g);
                    return;
                }
                let reason = g.wait().0;
                if reason == WaitReason::None {
                    // No future of ours said why it parks, so it is inside a foreign one (a WASI call) that
                    // something outside the Gs may complete. Every future of ours states its reason on
                    // *every* `Pending`, spurious re-polls included: a re-poll that left `None` here would
                    // count as a syscall and switch the deadlock report off for good.
                    // Counted before the G can be woken and run (which uncounts it).
                    g.set_wait(WaitReason::Syscall, 0);
                    self.nsyscall_wait.fetch_add(1, Ordering::SeqCst);
                }
                if let Some(end) = ml.stamp {
                    g.parked_at.store(self.ns_at(end), Ordering::Relaxed);
                }
                // Published with `PARKED` below, so the waker that wins the G sees it (see `G::asleep`).
                let sleeping = is_sleep(reason);
                g.asleep.store(sleeping, Ordering::Relaxed);
                if !g.state.transition_to_parked() {
                    g.asleep.store(false, Ordering::Relaxed);
                    match ml.p.as_deref() {
                        Some(p) => self.runq_put(p, g, false),
                        // The P was lost in a blocking call at shutdown.
                        None => self.global.push(g),
                    }
                    return;
                }
                if let (Some(t), Some(p)) = (&self.tracer, ml.p.as_deref()) {
                    let ts = ml.stamp.map_or_else(|| self.now_ns(), |t| self.ns_at(t));
                    let ev = crate::trace::Ev::Block { p: p.id as u32, g: g.id(), reason, obj: g.wait().1 };
                    ml.trace(t, ts, ev);
                }
                if sleeping {
                    g.group.g_slept();
                }
                // Parked after its group's reaper looked (SeqCst, pairs with `Group::finish`): reap it here.
                if g.group.is_exiting() {
                    Group::reap_one(&g);
                }
            }
        }
    }
}

impl Sched {
    /// A G that yielded or was preempted waits behind every G that was runnable before its slice ended.
    ///
    /// Go puts it on the global queue, behind everyone there, but a P serves the global queue every 61st
    /// slice even while its own queue is full: a spinner preempted just as its P's timers readied a batch
    /// of sleepers would cut back in ahead of most of them, for a second whole slice. So timers already
    /// due are fired first (their Gs join this P), and then the G goes behind them on this P when the
    /// global queue is empty, or behind the global queue as in Go when it is not.
    fn requeue_yielded(self: &Arc<Self>, ml: &mut MLocal, g: GRef) {
        if self.timers.next_when() != u64::MAX {
            let now = self.now_ns();
            let _cur = Current::enter(self, ml, None);
            self.run_timers(now);
        }
        match ml.p.as_deref() {
            Some(p) if self.global.is_empty() && self.ps[p.id].has_work() => self.runq_put(p, g, false),
            _ => self.global.push(g),
        }
        // Either way there is more than one G to run: an idle P may take some.
        self.wakep();
    }
}

/// The M's own state, on its thread's stack.
pub(crate) struct MLocal {
    pub(crate) m: Arc<M>,
    /// The M's number (its thread is `gmp-m{id}`), for the trace.
    pub(crate) id: u32,
    /// Trace events not yet handed to the tracer (empty unless tracing; see `trace.rs`).
    pub(crate) trace: Vec<crate::trace::Event>,
    /// The last flow id this M made (see `trace.rs`).
    pub(crate) trace_seq: u64,
    /// While tracing, during a poll: when the current part of the G's run slice began, and the flow that
    /// ends at it (0 once a first part has taken it). A blocking call ends a part (see `syscall.rs`).
    pub(crate) slice: (u64, u64),
    pub(crate) p: Option<Box<P>>,
    pub(crate) spinning: bool,
    /// While spinning without finding work: since when (see [`linger`]).
    pub(crate) spin_since: Option<Instant>,
    /// When the last poll on this M ended, while the M has gone straight from poll to poll since.
    ///
    /// # CPU time
    /// A program's CPU time is what its polls took, each charged to its group. Reading the clock on both
    /// sides of every poll cost 15% of a ping-pong round trip at 1 P, so an M reads it once, after each
    /// poll: that reading ends one poll and starts the next, which is charged for the scheduling in between
    /// (a few hundred ns of the M's own work, as the thread's CPU time would count it). Whenever the M may
    /// wait (spin, steal, poll the network, park, lose its P) the stamp is dropped and the next poll reads
    /// the clock afresh, so waiting is never charged. Due timers use the stamp as "now" as well.
    pub(crate) stamp: Option<Instant>,
    /// Inside [`crate::blocking`] (the outermost one): counted in `Sched::blocked`.
    pub(crate) blocking: bool,
}

impl MLocal {
    pub(crate) fn new(m: Arc<M>, id: u32, p: Option<Box<P>>, spinning: bool) -> MLocal {
        MLocal {
            m,
            id,
            trace: Vec::new(),
            trace_seq: 0,
            slice: (0, 0),
            p,
            spinning,
            spin_since: None,
            stamp: None,
            blocking: false,
        }
    }

    /// It found work, or gives up looking: the next search for work starts a linger afresh.
    fn stop_lingering(&mut self) {
        self.spin_since = None;
    }

    /// The id of the P this M holds, for trace events on its track. Only while it holds one.
    fn track_p(&self) -> u32 {
        self.p.as_ref().map_or(u32::MAX, |p| p.id as u32)
    }
}

#[cfg(all(test, not(gmp_loom)))]
mod tests {
    use super::*;
    use crate::g::G;
    use crate::sched::{Config, Hooks};

    fn sched(procs: usize) -> Arc<Sched> {
        Sched::start(Config { procs, ..Config::default() }, Hooks::default())
    }

    fn dummy(s: &Arc<Sched>, id: u64) -> GRef {
        Arc::new(G::new(id, 0, Box::pin(async {}), s.clone(), s.default_group().clone()))
    }

    fn teardown(s: &Arc<Sched>, ml: MLocal) {
        let p = ml.p.expect("test M lost its P");
        while p.runq.pop().is_some() {}
        s.pidle_put(&mut s.idle.lock(), p);
        s.exit(0);
        s.shutdown();
    }

    fn take_m(s: &Arc<Sched>) -> MLocal {
        let p = s.pidle_get(&mut s.idle.lock()).unwrap();
        MLocal::new(M::new(), 0, Some(p), false)
    }

    /// With a local queue that never runs dry, a G on the global queue still runs within 61 fresh slices.
    #[test]
    fn global_queue_is_served_every_61st_tick() {
        let s = sched(1);
        let mut ml = take_m(&s);
        for i in 0..200 {
            ml.p.as_ref().unwrap().runq.push(dummy(&s, 1000 + i));
        }
        s.global.push(dummy(&s, 1));
        let tick = &s.ps[ml.p.as_ref().unwrap().id].schedtick;
        tick.store(1, Ordering::Relaxed);
        let mut picked_at = None;
        for n in 0..100 {
            let (g, inherit) = s.find_runnable(&mut ml).unwrap();
            assert!(!inherit);
            if g.id() == 1 {
                picked_at = Some(n);
                break;
            }
            s.ps[ml.p.as_ref().unwrap().id].begin_run(true); // what `execute` does for a fresh slice
        }
        assert_eq!(picked_at, Some(60), "the global G must run at schedtick 61, not before or after");
        teardown(&s, ml);
    }

    /// A spinner that finds nothing spins for `SPIN_HOT`, then naps until `SPIN_LINGER` only while another P
    /// is busy, then parks.
    #[test]
    fn a_spinner_spins_then_naps_only_beside_a_busy_p() {
        let us = Duration::from_micros;
        assert_eq!(linger(us(0), false), Linger::Spin);
        assert_eq!(linger(SPIN_HOT - us(1), true), Linger::Spin);
        assert_eq!(linger(SPIN_HOT, true), Linger::Nap);
        assert_eq!(linger(SPIN_LINGER - us(1), true), Linger::Nap);
        assert_eq!(linger(SPIN_LINGER, true), Linger::Park);
        assert_eq!(linger(SPIN_HOT, false), Linger::Park, "alone, nobody's wake is saved by napping");
    }

    /// `runnext` runs before the local queue, inheriting the slice; a displaced runnext goes to the tail.
    #[test]
    fn runnext_runs_first_and_the_displaced_g_goes_to_the_tail() {
        let s = sched(1);
        let mut ml = take_m(&s);
        s.ps[ml.p.as_ref().unwrap().id].schedtick.store(1, Ordering::Relaxed);
        let p: &P = ml.p.as_ref().unwrap();
        s.runq_put(p, dummy(&s, 1), false);
        s.runq_put(p, dummy(&s, 2), true);
        s.runq_put(p, dummy(&s, 3), true); // displaces 2 to the tail
        let order: Vec<(u64, bool)> =
            (0..3).map(|_| s.find_runnable(&mut ml).map(|(g, i)| (g.id(), i)).unwrap()).collect();
        assert_eq!(order, vec![(3, true), (1, false), (2, false)]);
        teardown(&s, ml);
    }

    /// A full local queue moves its oldest half, plus the new G, to the global queue.
    #[test]
    fn full_local_queue_spills_half_to_global() {
        let s = sched(1);
        let ml = take_m(&s);
        let p: &P = ml.p.as_ref().unwrap();
        for i in 0..crate::runq::RUNQ_CAP as u64 + 1 {
            s.runq_put(p, dummy(&s, i), false);
        }
        assert_eq!(p.runq.len(), crate::runq::RUNQ_CAP / 2);
        assert_eq!(s.global.len(), crate::runq::RUNQ_CAP / 2 + 1);
        assert_eq!(s.global.pop().unwrap().id(), 0, "the oldest G spills first");
        teardown(&s, ml);
    }

    /// Stealing takes half of the victim's queue.
    #[test]
    fn steal_takes_half() {
        let s = sched(2);
        let mut victim = take_m(&s);
        let mut thief = take_m(&s);
        for i in 0..100 {
            victim.p.as_ref().unwrap().runq.push(dummy(&s, i));
        }
        let (got, victim_id, n) = s.steal_work(thief.p.as_mut().unwrap()).expect("nothing stolen");
        assert_eq!((victim_id, n), (victim.p.as_ref().unwrap().id, 50));
        let thief_p = thief.p.as_ref().unwrap();
        assert_eq!(thief_p.runq.len() + 1, 50, "thief holds half");
        assert_eq!(victim.p.as_ref().unwrap().runq.len(), 50, "victim keeps half");
        assert_eq!(got.id(), 0, "the oldest Gs are stolen");
        let p = thief.p.take().unwrap();
        while p.runq.pop().is_some() {}
        s.pidle_put(&mut s.idle.lock(), p);
        victim.p.as_mut().unwrap();
        teardown(&s, victim);
    }

    /// Stress the crossbeam queues as we use them: one owner pushing and popping, thieves stealing halves;
    /// every G comes out exactly once.
    #[test]
    fn queues_under_stealing_hand_out_each_g_once() {
        use std::sync::atomic::AtomicUsize;
        const N: u64 = 50_000;
        let s = sched(1);
        let gs: Vec<GRef> = (0..N).map(|i| dummy(&s, i)).collect();
        let seen: Arc<Vec<AtomicUsize>> = Arc::new((0..N).map(|_| AtomicUsize::new(0)).collect());
        let (owner, stealer) = crate::runq::LocalQueue::new();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let thieves: Vec<_> = (0..2)
            .map(|_| {
                let (stealer, seen, stop) = (stealer.clone(), seen.clone(), stop.clone());
                std::thread::spawn(move || {
                    let (mine, _) = crate::runq::LocalQueue::new();
                    while !stop.load(Ordering::Acquire) || !stealer.is_empty() {
                        if let Some(g) = mine.steal_half_from(&stealer) {
                            seen[g.id() as usize].fetch_add(1, Ordering::Relaxed);
                        }
                        while let Some(g) = mine.pop() {
                            seen[g.id() as usize].fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        for (i, g) in gs.into_iter().enumerate() {
            if let Some(over) = owner.push(g) {
                for g in over.0 {
                    seen[g.id() as usize].fetch_add(1, Ordering::Relaxed);
                }
            }
            if i % 3 == 0
                && let Some(g) = owner.pop()
            {
                seen[g.id() as usize].fetch_add(1, Ordering::Relaxed);
            }
        }
        stop.store(true, Ordering::Release);
        for t in thieves {
            t.join().unwrap();
        }
        while let Some(g) = owner.pop() {
            seen[g.id() as usize].fetch_add(1, Ordering::Relaxed);
        }
        assert!(seen.iter().all(|c| c.load(Ordering::Relaxed) == 1), "a G was lost or handed out twice");
        s.exit(0);
        s.shutdown();
    }
}
