//! sysmon: the scheduler's watchdog thread (Go's `sysmon`). It holds no P and runs no G.
//!
//! # Preemption
//! wasm code cannot be stopped at an arbitrary instruction, but wasmtime's epoch checks (at every loop
//! back-edge and function entry) are safe points. So preemption is cooperative underneath and forced on top:
//! 1. Each tick ([`Config::tick`], 1 ms) while some P is busy, sysmon calls the embedder's `tick` hook, which
//!    advances the engine epoch: every running G reaches its epoch deadline within one tick.
//! 2. sysmon keeps, per P, what it last saw (Go's `sysmontick`): the P's `schedtick` and when it first saw
//!    that value. A P that holds an M and shows the same tick for a whole [`Config::timeslice`] has run one
//!    slice too long: sysmon raises its `preempt` flag (Go's `retake` → `preemptone`).
//! 3. The G's epoch callback asks [`crate::preempt_requested`]; if flagged, it awaits [`crate::yield_now`]
//!    and its M queues it behind every runnable G (`requeue_yielded` in `m.rs`). A loop with no calls at
//!    all still has back-edges, so it stops.
//!
//! # Sleepers do not wait out whole slices
//! A G its timer wakes while every P is busy waits in a queue until some running G's slice ends: up to a
//! whole slice, however short its own work (behind a spinner it may even be queued after the spinner's next
//! turn). Go lets it wait; one runtime hosting many programs must not (a spinner in one would make every
//! sleeper in the others up to 10 ms late). So for each G a timer readied (whoever fired it), while no P
//! is idle and some G waits in a queue, sysmon asks the P with the oldest slice to yield, if that slice has
//! run at least [`WAKE_MIN_SLICE_DIVISOR`]th of a slice: a woken sleeper waits a tick or two, and a spinner
//! still keeps the P for a tenth of a slice per wake-up at least. Only timer wake-ups do this; Gs that are
//! runnable because they were preempted wait their turn as in Go, so CPU-bound Gs keep whole slices.
//!
//! Why observe instead of having the running M publish "my slice started at t": the rule then rests on one
//! fact that every way onto a P shares — running a G on a fresh slice moves the tick (`PShared::begin_run`),
//! inheriting one (`runnext`) does not — and not on a value each entry path must remember to set. A G that
//! became runnable by spawn, a channel, a timer, the poller, a steal, the global queue or a syscall return
//! is preempted by the same observation. What it costs: a G inheriting the slice of a P that sat idle
//! is judged from when sysmon last saw that P idle (an idle P's observation restarts every tick), so it
//! gets at least what was left of a slice, never less than nothing and never more than one.
//!
//! A request is cleared whenever the P runs a G (`begin_run`): a request for a G that parked before seeing
//! it must not hit the next one. sysmon flags, then re-reads the tick and withdraws the flag if a fresh slice
//! began meanwhile. The owner's side is Relaxed (it runs on every hand-off), so a request can still, rarely,
//! reach a slice that has just begun: that G yields once, early, which is all a preemption ever costs.
//!
//! # Other duties, every tick
//! - Take the P of an M stuck in a blocking call (`retake`, see `syscall.rs`); while any P is in one,
//!   sysmon looks every 20 µs instead of every tick.
//! - Poll the network if no M has for 10 ms, and fire overdue timers, so a program whose Ps are all busy
//!   with long slices still notices sockets and time.
//!
//! # Sleeping when idle
//! With every P idle there is nothing to tick: sysmon waits on its condvar (woken by the first P to get
//! busy, see [`SysmonState::on_p_busy`], or for the next schedtrace line) instead of waking 1000 times a
//! second for nothing. The flag/condvar pair follows the delicate-dance pattern: sysmon raises `sleeping`
//! then re-reads `npidle`; an M lowers `npidle` then reads `sleeping` (all SeqCst).
//!
//! [`Config::tick`]: crate::Config::tick
//! [`Config::timeslice`]: crate::Config::timeslice

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::sched::Sched;

/// How often sysmon looks for Ps stuck in blocking calls while there are any (Go's sysmon: 20 µs at its
/// busiest).
const SYSCALL_POLL: Duration = Duration::from_micros(20);

/// A sleeper woken while every P is busy preempts a slice at least this fraction of
/// [`Config::timeslice`](crate::Config::timeslice) old (1 ms of the default 10).
const WAKE_MIN_SLICE_DIVISOR: u32 = 10;

/// What sysmon last saw of one P (Go's `sysmontick`); owned by the sysmon thread alone.
#[derive(Clone, Copy, Debug)]
struct Seen {
    schedtick: u32,
    /// When sysmon first saw `schedtick` (scheduler ns).
    since: u64,
}

/// sysmon's sleeping place and stop switch.
#[derive(Default)]
pub struct SysmonState {
    lock: Mutex<()>,
    cv: Condvar,
    sleeping: AtomicBool,
    stop: AtomicBool,
    pub(crate) handle: Mutex<Option<JoinHandle<()>>>,
}

impl SysmonState {
    /// An M just took a P: if sysmon sleeps for want of busy Ps, wake it.
    pub(crate) fn on_p_busy(&self, _sched: &Sched) {
        if self.sleeping.load(Ordering::SeqCst) {
            self.wake();
        }
    }

    /// An M entered a blocking call: sysmon should look every 20 µs now (see `syscall.rs`). A wake-up lost
    /// here only delays that by one tick.
    pub(crate) fn on_syscall(&self) {
        self.cv.notify_one();
    }

    pub(crate) fn wake(&self) {
        let _l = self.lock.lock();
        self.cv.notify_one();
    }

    /// Teardown: stop the thread and wait for it.
    pub(crate) fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.wake();
        if let Some(h) = self.handle.lock().take() {
            let _ = h.join();
        }
    }
}

impl Sched {
    pub(crate) fn sysmon_loop(self: &Arc<Self>) {
        let mut next_trace = self.cfg.schedtrace.map(|d| Instant::now() + d);
        let mut next_tick = Instant::now() + self.cfg.tick;
        let mut in_syscall = false;
        // Gs woken by timers that may still wait for a P (see `preempt_for_woken`).
        let mut owed = 0;
        let mut seen = self.observe_afresh(self.now_ns());
        while !self.sysmon.stop.load(Ordering::SeqCst) {
            let all_idle = self.spin.npidle() == self.cfg.procs && !self.is_exiting();
            if all_idle {
                let mut l = self.sysmon.lock.lock();
                self.sysmon.sleeping.store(true, Ordering::SeqCst);
                if self.spin.npidle() == self.cfg.procs && !self.sysmon.stop.load(Ordering::SeqCst) {
                    match next_trace {
                        Some(t) => {
                            self.sysmon.cv.wait_until(&mut l, t);
                        }
                        None => self.sysmon.cv.wait(&mut l),
                    }
                }
                self.sysmon.sleeping.store(false, Ordering::SeqCst);
                next_tick = Instant::now();
                // Nothing ran while sysmon slept: judge every slice from now on.
                seen = self.observe_afresh(self.now_ns());
            } else {
                let wake_at = if in_syscall { Instant::now() + SYSCALL_POLL } else { next_tick };
                {
                    let mut l = self.sysmon.lock.lock();
                    if !self.sysmon.stop.load(Ordering::SeqCst) {
                        self.sysmon.cv.wait_until(&mut l, wake_at);
                    }
                }
                let now = Instant::now();
                if now >= next_tick {
                    (self.hooks.tick)();
                    self.preempt_long_slices(&mut seen, self.now_ns());
                    next_tick = now + self.cfg.tick;
                }
                let now_ns = self.now_ns();
                in_syscall = self.retake(now_ns);
                self.sysmon_netpoll(now_ns);
                // Overdue timers while every P is busy with long slices: fire them here (Go's sysmon starts
                // an M for them); the Gs they ready go to the global queue.
                if self.timers.next_when() <= now_ns {
                    self.run_timers(now_ns);
                }
                owed = self.preempt_for_woken(&seen, now_ns, owed + self.timers.take_readied());
            }
            if let Some(t) = next_trace
                && Instant::now() >= t
            {
                (self.hooks.trace)(&self.schedtrace_line());
                next_trace = self.cfg.schedtrace.map(|d| t.max(Instant::now() - d) + d);
            }
        }
    }

    /// Poll the network if some G waits on it and no M has polled for 10 ms (Go's sysmon does the same).
    fn sysmon_netpoll(&self, now: u64) {
        let np = &self.netpoll;
        if np.waiters.load(Ordering::SeqCst) == 0
            || np.claim.is_blocked()
            || now.saturating_sub(np.last_poll.load(Ordering::Relaxed)) < crate::netpoll::FORCED_POLL_NS
        {
            return;
        }
        let woken = np.poll(Some(Duration::ZERO), now, false);
        crate::metrics::Counters::add_shared(&self.outside.netpoll_wakes, woken.len() as u64);
        if let Some(t) = &self.tracer
            && !woken.is_empty()
        {
            let n = woken.len() as u32;
            self.trace_here(t, |track, _| crate::trace::Ev::NetpollWake { track, n });
        }
        let _by = crate::trace::WakingAs::new(self, crate::trace::By::Poller);
        for w in woken {
            w.wake();
        }
    }

    fn observe_afresh(&self, now: u64) -> Vec<Seen> {
        self.ps.iter().map(|p| Seen { schedtick: p.schedtick.load(Ordering::SeqCst), since: now }).collect()
    }

    /// Step 2 of *Preemption*.
    fn preempt_long_slices(&self, seen: &mut [Seen], now: u64) {
        let slice = self.cfg.timeslice.as_nanos() as u64;
        for (p, s) in self.ps.iter().zip(seen.iter_mut()) {
            let tick = p.schedtick.load(Ordering::SeqCst);
            let held = matches!(p.status.load(Ordering::SeqCst), crate::p::P_RUNNING | crate::p::P_SYSCALL);
            if !held || tick != s.schedtick {
                *s = Seen { schedtick: tick, since: now };
                continue;
            }
            if now.saturating_sub(s.since) >= slice {
                request_preempt(p, tick);
            }
        }
    }

    /// `owed` Gs woken by timers may still wait in a queue with no P idle: ask that many of the Ps running
    /// the oldest slices (at least a tenth of a slice old) to yield, so those Gs run within a tick or two
    /// (see *Sleepers do not wait out whole slices*). Returns how many are still owed: a P whose slice began
    /// after sysmon last looked cannot be judged yet, so the debt waits for the next tick; it is forgiven
    /// once no G waits in any queue or a P idles. A yield may go to a P whose queue holds none of the woken
    /// Gs; that costs one early yield.
    fn preempt_for_woken(&self, seen: &[Seen], now: u64, owed: usize) -> usize {
        let waiting = || !self.global.is_empty() || self.ps.iter().any(|p| p.has_work());
        if owed == 0 || self.spin.npidle() > 0 || !waiting() {
            return 0;
        }
        let min = (self.cfg.timeslice / WAKE_MIN_SLICE_DIVISOR).as_nanos() as u64;
        let mut old: Vec<(u64, usize)> = (self.ps.iter().zip(seen).enumerate())
            .filter(|(_, (p, s))| {
                p.status.load(Ordering::SeqCst) == crate::p::P_RUNNING
                    && p.schedtick.load(Ordering::SeqCst) == s.schedtick
                    && now.saturating_sub(s.since) >= min
            })
            .map(|(i, (_, s))| (s.since, i))
            .collect();
        old.sort_unstable();
        old.truncate(owed);
        for &(_, i) in &old {
            request_preempt(&self.ps[i], seen[i].schedtick);
        }
        owed - old.len()
    }

    /// One line in the shape of Go's `GODEBUG=schedtrace`.
    pub fn schedtrace_line(&self) -> String {
        let (threads, idlethreads) = {
            let idle = self.idle.lock();
            (idle.nthreads, idle.midle.len())
        };
        let mut line = format!(
            "SCHED {}ms: gomaxprocs={} idleprocs={} threads={} spinningthreads={} idlethreads={} runqueue={} [",
            self.epoch.elapsed().as_millis(),
            self.cfg.procs,
            self.spin.npidle(),
            threads + 1, // sysmon is a thread too, as in Go's count
            self.spin.nmspinning(),
            idlethreads,
            self.global.len(),
        );
        for (i, p) in self.ps.iter().enumerate() {
            let sep = if i == 0 { "" } else { " " };
            let _ = write!(line, "{sep}{}", p.runq_len());
        }
        line.push(']');
        line
    }

    /// For tests: the configured tick.
    pub fn tick(&self) -> Duration {
        self.cfg.tick
    }
}

/// Raise `p`'s preempt flag for the slice at `tick`, then re-read the tick and withdraw the flag if a fresh
/// slice began meanwhile (see the last paragraph of *Preemption*).
fn request_preempt(p: &crate::p::PShared, tick: u32) {
    p.preempt.store(true, Ordering::SeqCst);
    if p.schedtick.load(Ordering::SeqCst) != tick {
        p.preempt.store(false, Ordering::SeqCst);
    }
}
