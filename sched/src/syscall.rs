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

use crate::loom::{AtomicU8, AtomicU64, Mutex};
use crate::m::Current;
use crate::p::{P, P_IDLE, P_RUNNING, P_SYSCALL};
use crate::sched::Sched;

/// How long a P may sit in a blocking call before sysmon hands it to another M (Go: one sysmon tick, 20 µs
/// at the fastest): shorter calls keep their P and cost only two uncontended locks.
pub const RETAKE_NS: u64 = 20_000;

/// Run `f`, which may block its thread, without holding up the Gs queued on this M's P. Outside an M (or in
/// a nested `blocking`) it just runs `f`.
pub fn blocking<R>(f: impl FnOnce() -> R) -> R {
    // Counted as blocked (for teardown) from here until the M is back, whether or not it holds a P.
    let counted = Current::with_ml(|sched, ml| {
        (!ml.blocking).then(|| {
            ml.blocking = true;
            sched.blocked.lock().ms += 1;
            Counted
        })
    })
    .flatten();
    let entered = Current::with_ml(|sched, ml| {
        let traced = sched.tracer.as_ref().map(|t| {
            // The G's run slice on this P ends here: the P may run other Gs while this one blocks.
            let now = sched.now_ns();
            if let (Some(p), Some(g)) = (ml.p.as_deref(), Current::with_g(|g| g.id())) {
                let (from, flow) = std::mem::take(&mut ml.slice);
                let end = crate::trace::End::Syscall;
                let ev =
                    crate::trace::Ev::Slice { p: p.id as u32, m: ml.id, g, dur: now.saturating_sub(from), flow, end };
                ml.trace(t, from, ev);
            }
            now
        });
        ml.p.take().map(|p| (sched.entersyscall(p), traced))
    })
    .flatten();
    let r = f();
    drop(counted);
    if let Some((id, traced)) = entered {
        Current::with_ml(|sched, ml| {
            ml.p = sched.exitsyscall(id, &ml.m);
            if let (Some(t), Some(start)) = (&sched.tracer, traced) {
                let now = sched.now_ns();
                ml.trace(t, start, crate::trace::Ev::Syscall { m: ml.id, dur: now.saturating_sub(start) });
                // The rest of the slice, from now, on whichever P the M holds now.
                ml.slice = (now, 0);
            }
        });
    }
    r
}

/// An M counted in `Sched::blocked` while this lives: dropped when its call returns, or unwinds.
struct Counted;

impl Drop for Counted {
    fn drop(&mut self) {
        Current::with_ml(|sched, ml| {
            ml.blocking = false;
            sched.back_from_blocking();
        });
    }
}

/// A P parked by its M for the length of a blocking call (Go's P in `_Psyscall`), and the race for it:
/// the M coming back ([`SyscallSlot::reclaim`], step 3) and sysmon ([`SyscallSlot::retake`], step 2) both
/// take it under the slot's lock, so exactly one of them gets it, and the P's status moves with it under
/// the same lock: whoever sees `P_SYSCALL` outside the lock finds the P in the slot, or finds it gone.
pub(crate) struct SyscallSlot {
    p: Mutex<Option<Box<P>>>,
    /// When the current blocking call began (scheduler ns).
    since: AtomicU64,
}

impl Default for SyscallSlot {
    fn default() -> Self {
        SyscallSlot { p: Mutex::new(None), since: AtomicU64::new(0) }
    }
}

impl SyscallSlot {
    /// Step 1: the M parks its P here before it blocks.
    pub(crate) fn park(&self, p: Box<P>, status: &AtomicU8, now: u64) {
        let mut slot = self.p.lock();
        debug_assert!(slot.is_none(), "SyscallSlot::park: the slot is taken");
        *slot = Some(p);
        self.since.store(now, Ordering::Relaxed);
        status.store(P_SYSCALL, Ordering::SeqCst);
    }

    /// Step 3: the M, back from its call, takes its P back if sysmon has not taken it.
    pub(crate) fn reclaim(&self, status: &AtomicU8) -> Option<Box<P>> {
        let mut slot = self.p.lock();
        let p = slot.take()?;
        status.store(P_RUNNING, Ordering::SeqCst);
        Some(p)
    }

    /// Step 2: sysmon takes the P if its call has lasted [`RETAKE_NS`] by `now`; the P is then idle until
    /// handed off.
    pub(crate) fn retake(&self, status: &AtomicU8, now: u64) -> Option<Box<P>> {
        if now.saturating_sub(self.since.load(Ordering::Relaxed)) < RETAKE_NS {
            return None;
        }
        let mut slot = self.p.lock();
        let p = slot.take()?;
        status.store(P_IDLE, Ordering::SeqCst);
        Some(p)
    }
}

impl Sched {
    /// Step 1. Returns the P's id.
    fn entersyscall(&self, p: Box<P>) -> usize {
        let id = p.id;
        let ps = &self.ps[id];
        // Counted while we still hold the P (its counters are its holder's to write).
        crate::metrics::Counters::bump(&ps.stats.syscalls, 1);
        ps.syscall.park(p, &ps.status, self.now_ns());
        self.sysmon.on_syscall();
        id
    }

    /// An M back from a blocking call, before it touches anything: no longer counted as blocked, or, if
    /// teardown already gave up on it, parked for good (teardown is dropping the Gs and queues it would
    /// touch, and no epoch tick would stop its G any more; the embedder's process goes on without it).
    fn back_from_blocking(&self) {
        let mut blocked = self.blocked.lock();
        if blocked.abandoned {
            drop(blocked);
            loop {
                std::thread::park();
            }
        }
        blocked.ms -= 1;
    }

    /// Steps 3 and 4: a P to continue with; None only when the program is ending and none is free (the G
    /// then runs on alone until its next epoch check stops it).
    fn exitsyscall(&self, id: usize, m: &Arc<crate::idle::M>) -> Option<Box<P>> {
        let ps = &self.ps[id];
        if let Some(p) = ps.syscall.reclaim(&ps.status) {
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
        if let Some((p, _)) = m.wait_for_p(|| self.exiting.load(Ordering::SeqCst)) {
            self.ps[p.id].begin_run(true);
            return Some(p);
        }
        // Exiting: leave the waiters' list, then take a P that may have been handed over in between.
        let mut idle = self.idle.lock();
        let before = idle.msyscall.len();
        idle.msyscall.retain(|x| !Arc::ptr_eq(x, m));
        if idle.msyscall.len() < before {
            crate::sched::dec(&self.nmsyscall, "nmsyscall");
        }
        drop(idle);
        m.take_p()
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
        m.hand_p(p, false);
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
            let p = ps.syscall.retake(&ps.status, now);
            if let Some(p) = p {
                crate::metrics::Counters::add_shared(&self.outside.handoffs, 1);
                if let Some(t) = &self.tracer {
                    self.trace_here(t, |_, _| crate::trace::Ev::Handoff { p: p.id as u32 });
                }
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

#[cfg(all(test, gmp_loom))]
mod loom_tests {
    //! The syscall slot's race, on the real [`SyscallSlot`] and [`crate::idle::M`].
    use super::*;
    use loom::sync::Arc as LArc;
    use loom::thread;

    /// The M back from its call (`reclaim`) against sysmon (`retake`): exactly one gets the P, and the
    /// status says who.
    #[test]
    fn loom_exitsyscall_vs_retake_hands_the_p_to_exactly_one() {
        loom::model(|| {
            let (p, ps) = P::new(0);
            let ps = LArc::new(ps);
            ps.syscall.park(p, &ps.status, 0);
            let ps2 = ps.clone();
            let sysmon = thread::spawn(move || ps2.syscall.retake(&ps2.status, RETAKE_NS).is_some());
            let back = ps.syscall.reclaim(&ps.status).is_some();
            let retaken = sysmon.join().unwrap();
            assert!(back ^ retaken, "the P must go to exactly one: back {back}, retaken {retaken}");
            let want = if back { P_RUNNING } else { P_IDLE };
            assert_eq!(ps.status.load(Ordering::SeqCst), want);
        });
    }

    /// The slow path: the P was retaken, so the M waits among the syscall waiters; sysmon's hand-off gives
    /// the P to a waiting M first (as `pidle_put` does) or leaves it idle, where the M's own look finds it.
    /// The M always ends up with the P, whichever of the two locks the idle lists first.
    #[test]
    fn loom_m_back_from_a_syscall_always_gets_the_retaken_p() {
        loom::model(|| {
            // (idle Ps, Ms back from a syscall waiting for a P), under one lock as in `Idle`.
            type Lists = (Vec<Box<P>>, Vec<Arc<crate::idle::M>>);
            let idle: LArc<Mutex<Lists>> = LArc::new(Mutex::new((Vec::new(), Vec::new())));
            let (p, ps) = P::new(0);
            let ps = LArc::new(ps);
            ps.syscall.park(p, &ps.status, 0);
            let (ps2, idle2) = (ps.clone(), idle.clone());
            let sysmon = thread::spawn(move || {
                let Some(p) = ps2.syscall.retake(&ps2.status, RETAKE_NS) else {
                    return; // the M was back first and kept its P
                };
                let mut l = idle2.lock();
                match l.1.pop() {
                    Some(m) => {
                        drop(l);
                        m.hand_p(p, false);
                    }
                    None => l.0.push(p),
                }
            });
            let m = crate::idle::M::new();
            let got = 'back: {
                if let Some(p) = ps.syscall.reclaim(&ps.status) {
                    break 'back p; // sysmon has not retaken it
                }
                let mut l = idle.lock();
                if let Some(p) = l.0.pop() {
                    break 'back p;
                }
                l.1.push(m.clone());
                drop(l);
                m.wait_for_p(|| false).expect("not exiting").0
            };
            sysmon.join().unwrap();
            assert_eq!(got.id, 0);
        });
    }
}
