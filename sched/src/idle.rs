//! Idle Ps and idle Ms: who sleeps, who is woken, and when the whole program is stuck.
//!
//! # Spinning Ms
//! Parking an M when its P runs dry and waking one for every new G would cost a futex round trip per G;
//! never parking would burn the CPU. Go's answer, kept here:
//! 1. An M that finds no local work becomes *spinning* (counted in `nmspinning`) and tries to steal. At most
//!    half as many Ms spin as there are busy Ps (`2 * nmspinning < procs - npidle`), so stealing stays cheap.
//! 2. Whoever makes a G runnable calls [`Sched::wakep`]: if a P is idle and *no* M is spinning, it wakes (or
//!    starts) one M, which starts spinning. One spinner at a time is enough, because
//! 3. a spinner that finds work stops spinning and, if it was the last spinner, calls `wakep` itself, so the
//!    next batch of work again has someone looking for it.
//!
//! # The delicate dance (no lost wake-ups)
//! A submitter does: *push the G; then read `nmspinning`/`npidle`* (in `wakep`). A spinner giving up does:
//! *decrement `nmspinning`; then re-check every queue* (in `find_runnable`). Both pairs are SeqCst, so at
//! least one side sees the other: either the submitter sees no spinner and wakes an M, or the spinner sees
//! the new G and takes a P back. An M that was not spinning parks without re-checking: any G queued after it
//! released its P will find `npidle > 0` in `wakep`.
//!
//! # checkdead
//! With the idle lock held, when the last M goes idle: all Ps idle, all Ms parked, no queue holds a G, and
//! nothing outside the Gs may wake one (no G parked in a host future or on a socket, no pending timer, no
//! [`crate::sched::Hold`]): then every
//! live G is blocked forever — Go's "all goroutines are asleep". Any M that could run is either not yet parked
//! (so it is not counted idle) or was handed a P by `startm` (so it left the idle list), hence no false alarm.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use parking_lot::{Condvar, Mutex};

use crate::p::P;
use crate::sched::{Outcome, Sched};

/// State guarded by `Sched::idle` (Go's `sched.lock` for `pidle`/`midle`).
#[allow(clippy::vec_box, reason = "a P travels between Ms as a box: one pointer moves, never the P")]
pub struct Idle {
    /// Ps no M holds. Their local queues are empty: an M releases its P only after finding nothing to run.
    pub(crate) pidle: Vec<Box<P>>,
    /// Ms parked for lack of a P.
    pub(crate) midle: Vec<Arc<M>>,
    /// Ms back from a blocking call whose P was taken, waiting in the middle of a G for any P: the next P
    /// released goes to them first (see `syscall.rs`).
    pub(crate) msyscall: Vec<Arc<M>>,
    /// Ms created so far (they never exit before teardown).
    pub(crate) nthreads: usize,
}

impl Idle {
    #[allow(clippy::vec_box, reason = "see the struct")]
    pub(crate) fn new(ps: Vec<Box<P>>) -> Idle {
        Idle { pidle: ps, midle: Vec::new(), msyscall: Vec::new(), nthreads: 0 }
    }
}

/// An M's parking place: where `startm` hands it a P.
pub struct M {
    pub(crate) hand: Mutex<Handoff>,
    pub(crate) cv: Condvar,
}

#[derive(Default)]
pub(crate) struct Handoff {
    pub(crate) nextp: Option<Box<P>>,
    pub(crate) spinning: bool,
}

impl M {
    pub(crate) fn new() -> Arc<M> {
        Arc::new(M { hand: Mutex::new(Handoff::default()), cv: Condvar::new() })
    }
}

impl Sched {
    /// Any thread. If there is an idle P and nobody is looking for work, get an M spinning on it.
    pub(crate) fn wakep(self: &Arc<Self>) {
        // SeqCst: the second half of the delicate dance (the caller just queued a G).
        if self.npidle.load(Ordering::SeqCst) == 0 {
            return;
        }
        if self.nmspinning.load(Ordering::SeqCst) != 0
            || self.nmspinning.compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst).is_err()
        {
            return;
        }
        self.startm(None, true);
    }

    /// Run an M on `p` (or on an idle P, if `p` is None): wake a parked M or start a new thread. With
    /// `spinning`, the caller already counted the M in `nmspinning`; if no P is idle that count is undone.
    pub(crate) fn startm(self: &Arc<Self>, p: Option<Box<P>>, spinning: bool) {
        let mut idle = self.idle.lock();
        let p = match p {
            Some(p) => p,
            None => match self.pidle_get(&mut idle) {
                Some(p) => p,
                None => {
                    drop(idle);
                    if spinning {
                        crate::sched::dec(&self.nmspinning, "nmspinning");
                    }
                    return;
                }
            },
        };
        if let Some(m) = idle.midle.pop() {
            drop(idle);
            let mut h = m.hand.lock();
            debug_assert!(h.nextp.is_none(), "startm: idle M already has a P");
            h.nextp = Some(p);
            h.spinning = spinning;
            m.cv.notify_one();
            return;
        }
        let id = idle.nthreads;
        idle.nthreads += 1;
        drop(idle);
        let sched = self.clone();
        // The P travels to the new thread through this slot, so that it is still ours if the thread cannot
        // be started (`spawn` drops its closure on failure).
        let slot = Arc::new(Mutex::new(Some(p)));
        let theirs = slot.clone();
        let spawned = std::thread::Builder::new().name(format!("gmp-m{id}")).spawn(move || {
            let hooks_of = sched.clone();
            let p = theirs.lock().take().expect("startm: the new M's P was taken back");
            let mut body = Some((sched, p));
            (hooks_of.hooks.m_context)(&mut || {
                if let Some((sched, p)) = body.take() {
                    sched.mstart(M::new(), p, spinning);
                }
            });
        });
        match spawned {
            Ok(h) => self.threads.lock().push(h),
            Err(e) => {
                let p = slot.lock().take().expect("startm: a thread that never started took its P");
                // Out of threads. Undo what the M would have owned, as if it had started and found nothing:
                // the P goes back to the idle list (a P lost here would be a processor gone for good, and
                // `npidle` would never again reach `procs`, silencing checkdead), the thread count and the
                // caller's spinning count go back down. The Gs already running keep going; the next `wakep`
                // tries again.
                eprintln!("wasm-gmp: cannot start another M thread: {e}");
                let mut idle = self.idle.lock();
                idle.nthreads -= 1;
                // `pidle_put` insists on an empty queue; a P handed off with Gs keeps them on the global queue.
                while let Some(g) = p.runq.pop() {
                    self.global.push(g);
                }
                self.pidle_put(&mut idle, p);
                if spinning {
                    crate::sched::dec(&self.nmspinning, "nmspinning");
                }
                self.checkdead(&idle);
            }
        }
    }

    /// With the idle lock held: take an idle P.
    pub(crate) fn pidle_get(&self, idle: &mut Idle) -> Option<Box<P>> {
        let p = idle.pidle.pop()?;
        // SeqCst: read by `wakep` without the lock.
        crate::sched::dec(&self.npidle, "npidle");
        self.ps[p.id].status.store(crate::p::P_RUNNING, Ordering::SeqCst);
        self.sysmon.on_p_busy(self);
        Some(p)
    }

    /// With the idle lock held: give up a P. An M waiting to return from a blocking call gets it; otherwise
    /// it goes on the idle list, and then its local queue must be empty.
    pub(crate) fn pidle_put(&self, idle: &mut Idle, p: Box<P>) {
        let ps = &self.ps[p.id];
        if let Some(m) = idle.msyscall.pop() {
            crate::sched::dec(&self.nmsyscall, "nmsyscall");
            ps.status.store(crate::p::P_RUNNING, Ordering::SeqCst);
            let mut h = m.hand.lock();
            h.nextp = Some(p);
            m.cv.notify_one();
            return;
        }
        debug_assert!(p.runq.is_empty(), "pidle_put: P{} still has Gs", p.id);
        ps.status.store(crate::p::P_IDLE, Ordering::SeqCst);
        idle.pidle.push(p);
        let prev = self.npidle.fetch_add(1, Ordering::SeqCst);
        debug_assert!(prev < self.cfg.procs, "pidle_put: npidle would exceed GOMAXPROCS");
    }

    /// Park the calling M until it is handed a P (returned with its spinning flag) or the program ends
    /// (None). Checks for deadlock when it is the last M to go idle.
    pub(crate) fn stopm(self: &Arc<Self>, m: &Arc<M>) -> Option<(Box<P>, bool)> {
        {
            let mut idle = self.idle.lock();
            idle.midle.push(m.clone());
            self.checkdead(&idle);
        }
        let mut h = m.hand.lock();
        loop {
            if let Some(p) = h.nextp.take() {
                return Some((p, h.spinning));
            }
            if self.exiting.load(Ordering::SeqCst) {
                return None;
            }
            m.cv.wait(&mut h);
        }
    }

    /// Wake every parked M so it sees `exiting` and returns.
    pub(crate) fn wake_all_ms(&self) {
        let idle = self.idle.lock();
        for m in idle.midle.iter().chain(&idle.msyscall) {
            // Taking the M's lock orders this notify after its `exiting` check (no lost wake-up).
            let _h = m.hand.lock();
            m.cv.notify_one();
        }
    }

    /// See *checkdead* in the module comment. Idle lock held.
    pub(crate) fn checkdead(&self, idle: &Idle) {
        if self.exiting.load(Ordering::SeqCst) || idle.midle.len() != idle.nthreads {
            return;
        }
        if self.npidle.load(Ordering::SeqCst) != self.cfg.procs
            || self.nsyscall_wait.load(Ordering::SeqCst) != 0
            || self.nholds.load(Ordering::SeqCst) != 0
            || self.timers.active() != 0
            || self.netpoll.waiters.load(Ordering::SeqCst) != 0
            || self.live.load(Ordering::SeqCst) == 0
            || !self.global.is_empty()
            || self.ps.iter().any(|p| p.has_work())
        {
            return;
        }
        let dump = self.dump();
        if dump.is_empty() {
            return;
        }
        if self.record_outcome(Outcome::Deadlock(dump)) {
            // `wake_all_ms` would take the idle lock we hold: wake the parked Ms through their own locks here.
            for m in &idle.midle {
                let _h = m.hand.lock();
                m.cv.notify_one();
            }
            self.sysmon.wake();
            self.netpoll.break_now();
        }
    }

    /// `checkdead` for a caller that is not an M (a [`crate::sched::Hold`] or the last timer going away).
    /// An M blocked in the netpoller is not idle, so it is woken to re-check for itself.
    pub(crate) fn checkdead_from_outside(&self) {
        let idle = self.idle.lock();
        self.checkdead(&idle);
        drop(idle);
        self.netpoll.break_now();
    }
}
