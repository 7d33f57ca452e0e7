//! sysmon: the scheduler's watchdog thread (Go's `sysmon`). It holds no P and runs no G.
//!
//! # Preemption
//! wasm code cannot be stopped at an arbitrary instruction, but wasmtime's epoch checks (at every loop
//! back-edge and function entry) are safe points. So preemption is cooperative underneath and forced on top:
//! 1. Each tick ([`Config::tick`], 1 ms) while some P is busy, sysmon calls the embedder's `tick` hook, which
//!    advances the engine epoch: every running G reaches its epoch deadline within one tick.
//! 2. Sysmon flags each P whose current slice started more than [`Config::timeslice`] ago (`preempt`).
//! 3. The G's epoch callback asks [`crate::preempt_requested`]; if flagged, it awaits [`crate::yield_now`]
//!    and its M puts it on the global queue. A loop with no calls at all still has back-edges, so it stops.
//!
//! Slices are measured from the start of a P's slice, not of a G's run: a G taken from `runnext` inherits
//! the slice of the G that woke it, so two Gs ping-ponging cannot keep a P forever.
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

    /// True once teardown stopped sysmon.
    pub(crate) fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
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
        while !self.sysmon.stop.load(Ordering::SeqCst) {
            let all_idle = self.npidle.load(Ordering::SeqCst) == self.cfg.procs && !self.is_exiting();
            if all_idle {
                let mut l = self.sysmon.lock.lock();
                self.sysmon.sleeping.store(true, Ordering::SeqCst);
                if self.npidle.load(Ordering::SeqCst) == self.cfg.procs && !self.sysmon.stop.load(Ordering::SeqCst) {
                    match next_trace {
                        Some(t) => {
                            self.sysmon.cv.wait_until(&mut l, t);
                        }
                        None => self.sysmon.cv.wait(&mut l),
                    }
                }
                self.sysmon.sleeping.store(false, Ordering::SeqCst);
                next_tick = Instant::now();
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
                    self.flag_overlong_slices();
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
            || np.blocked.load(Ordering::SeqCst)
            || now.saturating_sub(np.last_poll.load(Ordering::Relaxed)) < crate::netpoll::FORCED_POLL_NS
        {
            return;
        }
        for w in np.poll(Some(Duration::ZERO), now, false) {
            w.wake();
        }
    }

    /// Step 2 of *Preemption*.
    fn flag_overlong_slices(&self) {
        let now = self.now_ns();
        let slice = self.cfg.timeslice.as_nanos() as u64;
        for p in self.ps.iter() {
            let start = p.slice_start.load(Ordering::Relaxed);
            if start != 0 && now.saturating_sub(start) >= slice {
                p.preempt.store(true, Ordering::Relaxed);
            }
        }
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
            self.npidle.load(Ordering::Relaxed),
            threads + 1, // sysmon is a thread too, as in Go's count
            self.nmspinning.load(Ordering::Relaxed),
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
