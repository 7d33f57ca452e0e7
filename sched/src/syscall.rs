//! Blocking calls: a G in a call that blocks its thread does not hold up the Gs queued on its P (Go's
//! `entersyscall` / `exitsyscall` / `retake` / `handoffp`).
//!
//! # When this is needed
//! Most waiting is done by parking the G (channels, timers, sockets, and WASI calls that wasmtime-wasi runs
//! on its own threads). Some calls still block the M's OS thread: a write to a full pipe, an embedder's sync
//! host function. Threads in such calls must not count against GOMAXPROCS. [`blocking`] wraps them.
//!
//! # Protocol
//! 1. `entersyscall`: the M parks its P in the P's `syscall_p` slot, marks it `P_SYSCALL` and notes the time.
//!    The M keeps no reference to the P while it blocks.
//! 2. sysmon, every 20 µs while any P is in a syscall (`retake`): a P in `P_SYSCALL` for more than
//!    [`RETAKE_NS`] is taken out of its slot and handed off: to a new or idle M if it has queued Gs (or the
//!    global queue has), else to the idle list.
//! 3. `exitsyscall`, fast path: the P is still in its slot; take it back and carry on.
//! 4. Slow path: take any idle P; if there is none, wait in `Idle::msyscall`. Such an M is work like a
//!    runnable G: the next P given up anywhere goes to it first, and an M about to schedule gives its P
//!    over (`yield_p_to_syscall_waiter`) — otherwise a P kept busy by a G that never blocks (a spinner
//!    preempted again and again) would keep the returning G off the CPU forever. The G then continues on
//!    that P.
//!
//! At teardown an M still blocked after a grace period is left behind; should its call ever return, it
//! parks for good rather than run wasm that nothing could stop any more.
//!
//! Step 4 differs from Go, which puts the G on the global queue and lets another M resume it: our G is in
//! the middle of a poll on this M's stack (its fiber), so it continues here, on the next free P.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::m::Current;
use crate::p::{P, P_RUNNING, P_SYSCALL};
use crate::sched::Sched;

/// How long a P may sit in a blocking call before sysmon hands it to another M (Go: one sysmon tick, 20 µs
/// at the fastest): shorter calls keep their P and cost only two uncontended locks.
pub const RETAKE_NS: u64 = 20_000;

/// Run `f`, which may block its thread, without holding up the Gs queued on this M's P. Outside an M (or in
/// a nested `blocking`) it just runs `f`.
pub fn blocking<R>(f: impl FnOnce() -> R) -> R {
    let entered = Current::with_ml(|sched, ml| ml.p.take().map(|p| sched.entersyscall(p))).flatten();
    let r = f();
    if let Some(id) = entered {
        Current::with_ml(|sched, ml| ml.p = sched.exitsyscall(id, &ml.m));
    }
    r
}

impl Sched {
    /// Step 1. Returns the P's id.
    fn entersyscall(&self, p: Box<P>) -> usize {
        let id = p.id;
        let ps = &self.ps[id];
        let mut slot = ps.syscall_p.lock();
        *slot = Some(p);
        ps.syscall_since.store(self.now_ns(), Ordering::Relaxed);
        ps.status.store(P_SYSCALL, Ordering::SeqCst);
        drop(slot);
        self.sysmon.on_syscall();
        id
    }

    /// Steps 3 and 4: a P to continue with; None only when the program is ending and none is free (the G
    /// then runs on alone until its next epoch check stops it).
    fn exitsyscall(&self, id: usize, m: &Arc<crate::idle::M>) -> Option<Box<P>> {
        if self.sysmon.stopped() {
            // Back after teardown gave up on this M: nothing may run any more, and no epoch tick would stop
            // the G. Keep the thread parked for good (the embedder's process goes on without it).
            loop {
                std::thread::park();
            }
        }
        let ps = &self.ps[id];
        if let Some(p) = ps.syscall_p.lock().take() {
            ps.status.store(P_RUNNING, Ordering::SeqCst);
            return Some(p);
        }
        {
            let mut idle = self.idle.lock();
            if let Some(p) = self.pidle_get(&mut idle) {
                // The G blocked, so it goes on with a fresh slice on the P it found.
                self.ps[p.id].begin_run(true);
                return Some(p);
            }
            if self.exiting.load(Ordering::SeqCst) {
                return None;
            }
            idle.msyscall.push(m.clone());
            self.nmsyscall.fetch_add(1, Ordering::SeqCst);
        }
        let mut h = m.hand.lock();
        loop {
            if let Some(p) = h.nextp.take() {
                self.ps[p.id].begin_run(true);
                return Some(p);
            }
            if self.exiting.load(Ordering::SeqCst) {
                drop(h);
                let mut idle = self.idle.lock();
                let before = idle.msyscall.len();
                idle.msyscall.retain(|x| !Arc::ptr_eq(x, m));
                if idle.msyscall.len() < before {
                    crate::sched::dec(&self.nmsyscall, "nmsyscall");
                }
                drop(idle);
                // A P may have been handed over between the check and the removal.
                return m.hand.lock().nextp.take();
            }
            m.cv.wait(&mut h);
        }
    }

    /// An M about to schedule: if an M back from a blocking call waits for a P, hand it ours (it runs the G
    /// it is in the middle of) and report true; the caller then has no P and parks.
    pub(crate) fn yield_p_to_syscall_waiter(&self, p: &mut Option<Box<P>>) -> bool {
        if self.nmsyscall.load(Ordering::Relaxed) == 0 {
            return false;
        }
        let mut idle = self.idle.lock();
        let Some(m) = idle.msyscall.pop() else { return false };
        crate::sched::dec(&self.nmsyscall, "nmsyscall");
        let p = p.take().expect("yield_p_to_syscall_waiter: M without a P");
        self.ps[p.id].status.store(P_RUNNING, Ordering::SeqCst);
        drop(idle);
        let mut h = m.hand.lock();
        h.nextp = Some(p);
        m.cv.notify_one();
        true
    }

    /// Step 2, called by sysmon. Returns true if some P is (still) in a blocking call.
    pub(crate) fn retake(self: &Arc<Self>, now: u64) -> bool {
        let mut any = false;
        for ps in self.ps.iter() {
            if ps.status.load(Ordering::SeqCst) != P_SYSCALL {
                continue;
            }
            any = true;
            if now.saturating_sub(ps.syscall_since.load(Ordering::Relaxed)) < RETAKE_NS {
                continue;
            }
            let p = {
                let mut slot = ps.syscall_p.lock();
                let p = slot.take();
                if p.is_some() {
                    ps.status.store(crate::p::P_IDLE, Ordering::SeqCst);
                }
                p
            };
            if let Some(p) = p {
                self.handoff_p(p);
            }
        }
        any
    }

    /// Give a P taken from a blocking call to whoever can use it (Go's `handoffp`).
    fn handoff_p(self: &Arc<Self>, p: Box<P>) {
        if !p.runq.is_empty() || self.ps[p.id].has_work() || !self.global.is_empty() {
            self.ps[p.id].status.store(P_RUNNING, Ordering::SeqCst);
            self.startm(Some(p), false);
            return;
        }
        let mut idle = self.idle.lock();
        self.pidle_put(&mut idle, p);
    }
}
