//! Idle Ps and idle Ms: who sleeps, who is woken, and when the whole program is stuck.
//!
//! # Spinning Ms
//! Parking an M when its P runs dry and waking one for every new G would cost a futex round trip per G;
//! never parking would burn the CPU. Go's answer, kept here:
//! 1. An M that finds no local work becomes *spinning* (counted in `nmspinning`) and tries to steal. At most
//!    half as many Ms spin as there are busy Ps (`2 * nmspinning < procs - npidle`), so stealing stays cheap.
//!    One that finds nothing keeps looking a while before it parks, up to 1 ms while another P is busy
//!    (`linger` in `m.rs`): the wakes it spares are on the busy Ms' critical path.
//! 2. Whoever makes a G runnable calls [`Sched::wakep`]: if a P is idle and *no* M is spinning, it wakes (or
//!    starts) one M, which starts spinning. One spinner at a time is enough, because
//! 3. a spinner that finds work stops spinning and, if it was the last spinner, calls `wakep` itself, so the
//!    next batch of work again has someone looking for it. A spinner that stops *without* finding work
//!    (it gives its P up, or hands it to an M back from a blocking call) looks at the queues once more
//!    after it stops counting: readiers that saw it spinning skipped `wakep` and left their G to it.
//!
//! # The delicate dance (no lost wake-ups)
//! A submitter does: *push the G; then read `nmspinning`/`npidle`* (in `wakep`). An M giving its P up does:
//! *publish — `npidle` up (under the idle lock), and a spinner takes itself out of `nmspinning`; then
//! re-check* (in `find_runnable`): a spinner every queue, any M the global queue. Both pairs are SeqCst, so
//! at least one side sees the other: either the submitter sees the idle P and no spinner and wakes an M, or
//! the M sees the new G and takes a P back. Go's non-spinning M skips the re-check because its global queue
//! is pushed to under `sched.lock`; ours is a lock-free injector pushed to by timers, the poller and host
//! threads, so every M re-checks it. A G put on a P's *local* queue or `runnext` needs no such care: only the
//! M holding that P puts it there, and that M runs it (or a spinner steals it) — a delay, never a loss.
//!
//! # checkdead
//! With the idle lock held, when the last M goes idle: all Ps idle, all Ms parked, no queue holds a G, and
//! nothing outside the Gs may wake one (no G parked in a host future or on a socket, no pending timer, no
//! [`crate::sched::Hold`]): then every
//! live G is blocked forever — Go's "all goroutines are asleep". Any M that could run is either not yet parked
//! (so it is not counted idle) or was handed a P by `startm` (so it left the idle list), hence no false alarm.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::loom::{AtomicUsize, Condvar, Mutex};
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

/// The counters of *Spinning Ms* and *The delicate dance*, read without the idle lock (Go's
/// `sched.npidle` and `sched.nmspinning`). Every access is SeqCst: each pairs with a queue push or re-check
/// on the other side of the dance.
pub(crate) struct SpinCounts {
    procs: usize,
    /// Ps on the idle list. Changed only under the idle lock.
    npidle: AtomicUsize,
    /// Ms looking for work.
    nmspinning: AtomicUsize,
}

impl SpinCounts {
    pub(crate) fn new(procs: usize) -> SpinCounts {
        SpinCounts { procs, npidle: AtomicUsize::new(procs), nmspinning: AtomicUsize::new(0) }
    }

    pub(crate) fn npidle(&self) -> usize {
        self.npidle.load(Ordering::SeqCst)
    }

    pub(crate) fn nmspinning(&self) -> usize {
        self.nmspinning.load(Ordering::SeqCst)
    }

    /// The idle lock holder took a P off the idle list.
    pub(crate) fn p_taken(&self) {
        crate::sched::dec(&self.npidle, "npidle");
    }

    /// The idle lock holder put a P on the idle list.
    /// The caller re-checks the global queue next (the delicate dance).
    pub(crate) fn p_released(&self) {
        let prev = self.npidle.fetch_add(1, Ordering::SeqCst);
        debug_assert!(prev < self.procs, "p_released: npidle would exceed GOMAXPROCS");
        crate::loom::sc_fence();
    }

    /// `wakep`'s half of the dance; the caller just queued a G. True if it must start an M on an idle P,
    /// which this call already counted as spinning (only one `wakep` at a time wins it).
    pub(crate) fn claim_wakep(&self) -> bool {
        crate::loom::sc_fence();
        self.npidle.load(Ordering::SeqCst) != 0
            && self.nmspinning.load(Ordering::SeqCst) == 0
            && self.nmspinning.compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst).is_ok()
    }

    /// An M with a P and nothing local to run: may it spin? Only while fewer than half the busy Ps have a
    /// spinner (Go: `2*nmspinning < gomaxprocs-npidle`). True if it now counts as spinning.
    pub(crate) fn try_spin(&self) -> bool {
        let busy = self.procs - self.npidle.load(Ordering::SeqCst);
        if 2 * self.nmspinning.load(Ordering::SeqCst) >= busy {
            return false;
        }
        self.nmspinning.fetch_add(1, Ordering::SeqCst);
        true
    }

    /// An M counts as spinning again (its re-check found work and it took a P back).
    pub(crate) fn spin_again(&self) {
        self.nmspinning.fetch_add(1, Ordering::SeqCst);
    }

    /// An M stops spinning. True if it was the last spinner: if it found work, it must `wakep`, since
    /// where there was one G there may be more.
    pub(crate) fn stop_spinning(&self) -> bool {
        let last = crate::sched::dec(&self.nmspinning, "nmspinning") == 1;
        crate::loom::sc_fence(); // the caller re-checks the queues next (the delicate dance)
        last
    }

    /// A spinning M stops spinning with no P left to look with (it gave its P to an M back from a blocking
    /// call). Readiers that found it spinning skipped `wakep` and left their G to it, so as the last
    /// spinner it looks once more (`work`: the queues), as one giving its P up does; true if it found work
    /// and must `wakep` for it. Without this look, a G readied just then sat on the global queue with
    /// every M asleep.
    pub(crate) fn stop_spinning_without_p(&self, work: impl FnOnce() -> bool) -> bool {
        self.stop_spinning() && work()
    }
}

/// An M's parking place: where `startm` (or a P given up, for an M back from a blocking call) hands it a P.
/// The handing side writes `nextp` and notifies under the lock; the parked side checks under the lock before
/// each wait, so a hand-over or wake that comes before the M sleeps is never missed.
pub struct M {
    hand: Mutex<Handoff>,
    cv: Condvar,
}

#[derive(Default)]
struct Handoff {
    nextp: Option<Box<P>>,
    spinning: bool,
}

impl M {
    pub(crate) fn new() -> Arc<M> {
        Arc::new(M { hand: Mutex::new(Handoff::default()), cv: Condvar::new() })
    }

    /// Give this parked M a P (and say whether it counts as spinning), and wake it.
    pub(crate) fn hand_p(&self, p: Box<P>, spinning: bool) {
        let mut h = self.hand.lock();
        debug_assert!(h.nextp.is_none(), "hand_p: the M already has a P");
        h.nextp = Some(p);
        h.spinning = spinning;
        self.cv.notify_one();
    }

    /// The M itself, after putting itself on an idle list: sleep until handed a P (returned with its
    /// spinning flag), or until `exiting()` holds (None).
    pub(crate) fn wait_for_p(&self, exiting: impl Fn() -> bool) -> Option<(Box<P>, bool)> {
        let mut h = self.hand.lock();
        loop {
            if let Some(p) = h.nextp.take() {
                return Some((p, h.spinning));
            }
            if exiting() {
                return None;
            }
            self.cv.wait(&mut h);
        }
    }

    /// The M itself, after leaving the idle lists for good: a P handed over in the meantime.
    pub(crate) fn take_p(&self) -> Option<Box<P>> {
        self.hand.lock().nextp.take()
    }

    /// Wake the M so it looks at `exiting`. Taking its lock orders this after its check (no lost wake-up).
    pub(crate) fn wake(&self) {
        let _h = self.hand.lock();
        self.cv.notify_one();
    }
}

impl Sched {
    /// Any thread. If there is an idle P and nobody is looking for work, get an M spinning on it.
    pub(crate) fn wakep(self: &Arc<Self>) {
        if self.spin.claim_wakep() {
            self.startm(None, true);
        }
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
                        self.spin.stop_spinning();
                    }
                    return;
                }
            },
        };
        if let Some(m) = idle.midle.pop() {
            drop(idle);
            m.hand_p(p, spinning);
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
                    sched.mstart(M::new(), id as u32, p, spinning);
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
                    self.spin.stop_spinning();
                }
                self.checkdead(&idle);
            }
        }
    }

    /// With the idle lock held: take an idle P.
    pub(crate) fn pidle_get(&self, idle: &mut Idle) -> Option<Box<P>> {
        let p = idle.pidle.pop()?;
        self.spin.p_taken();
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
            m.hand_p(p, false);
            return;
        }
        debug_assert!(p.runq.is_empty(), "pidle_put: P{} still has Gs", p.id);
        ps.status.store(crate::p::P_IDLE, Ordering::SeqCst);
        idle.pidle.push(p);
        self.spin.p_released();
    }

    /// Park the calling M until it is handed a P (returned with its spinning flag) or the program ends
    /// (None). Checks for deadlock when it is the last M to go idle.
    pub(crate) fn stopm(self: &Arc<Self>, m: &Arc<M>) -> Option<(Box<P>, bool)> {
        {
            let mut idle = self.idle.lock();
            idle.midle.push(m.clone());
            self.checkdead(&idle);
        }
        m.wait_for_p(|| self.exiting.load(Ordering::SeqCst))
    }

    /// Wake every parked M so it sees `exiting` and returns.
    pub(crate) fn wake_all_ms(&self) {
        let idle = self.idle.lock();
        for m in idle.midle.iter().chain(&idle.msyscall) {
            m.wake();
        }
    }

    /// See *checkdead* in the module comment. Idle lock held.
    pub(crate) fn checkdead(&self, idle: &Idle) {
        if !self.cfg.checkdead || self.exiting.load(Ordering::SeqCst) || idle.midle.len() != idle.nthreads {
            return;
        }
        if self.spin.npidle() != self.cfg.procs
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
        // A dump's inspector holds the G it inspects as if running it, under a hold taken before and
        // released after its lock: with that lock free and no hold, no G is held by one, and none can be
        // while we read the Gs (a new inspector takes a hold first, then waits for the lock). A busy lock
        // means a hold whose release checks again. Only tried: an inspector readies Gs (the idle lock, which
        // we hold) while it has its lock.
        let Some(no_inspector) = self.inspecting.try_lock() else { return };
        if self.nholds.load(Ordering::SeqCst) != 0 {
            return;
        }
        let dump = self.dump();
        drop(no_inspector);
        // As for a group (`Group::check_dead`): a G woken since the checks above is not deadlocked yet; the
        // M that runs it goes idle again afterwards and checks again.
        if dump.is_empty() || dump.iter().any(|d| d.status != crate::GStatus::Waiting) {
            return;
        }
        if self.record_outcome(Outcome::Deadlock(dump)) {
            // `wake_all_ms` would take the idle lock we hold: wake the parked Ms through their own locks here.
            for m in &idle.midle {
                m.wake();
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

#[cfg(all(test, gmp_loom))]
mod loom_tests {
    //! The wake/sleep handshakes of this module, on the real [`SpinCounts`] and [`M`]. A run queue is a
    //! SeqCst counter here: what crossbeam's injector gives at the points the dance uses (push, is_empty).
    use super::*;
    use crate::loom::AtomicBool;
    use loom::sync::Arc as LArc;
    use loom::thread;

    /// Two busy Ps. P0's M readies a G (global queue, then `wakep`) while P1's spinning M finds nothing and
    /// gives up: releases its P, stops spinning, re-checks. Either it sees the G or `wakep` starts an M.
    #[test]
    fn loom_spinner_giving_up_sees_a_ready_or_is_woken() {
        loom::model(|| {
            let counts = LArc::new(SpinCounts::new(2));
            counts.p_taken();
            counts.p_taken();
            assert!(counts.try_spin());
            let queue = LArc::new(AtomicUsize::new(0));
            let (c2, q2) = (counts.clone(), queue.clone());
            let readier = thread::spawn(move || {
                q2.fetch_add(1, Ordering::SeqCst);
                c2.claim_wakep()
            });
            counts.p_released();
            counts.stop_spinning();
            let saw = queue.load(Ordering::SeqCst) > 0;
            let woke = readier.join().unwrap();
            assert!(saw || woke, "a G was queued and no M will look for it");
        });
    }

    /// The same for an M that was not spinning (no spinner at all): a G pushed to the global queue from
    /// outside any M (a timer fired by sysmon, the poller, a host thread) while the M gives its P up.
    #[test]
    fn loom_idle_m_parking_sees_an_outside_ready_or_is_woken() {
        loom::model(|| {
            let counts = LArc::new(SpinCounts::new(1));
            counts.p_taken();
            let queue = LArc::new(AtomicUsize::new(0));
            let (c2, q2) = (counts.clone(), queue.clone());
            let outside = thread::spawn(move || {
                q2.fetch_add(1, Ordering::SeqCst);
                c2.claim_wakep()
            });
            counts.p_released();
            let saw = queue.load(Ordering::SeqCst) > 0;
            let woke = outside.join().unwrap();
            assert!(saw || woke, "a G was queued and no M will look for it");
        });
    }

    /// A spinning M hands its P to an M back from a blocking call (`yield_p_to_syscall_waiter`), which runs
    /// its G, finds nothing and gives the P up; meanwhile a G is readied from outside, whose `wakep` may find
    /// the first M still counted as spinning and leave the G to it. Either the M that gave the P up sees
    /// the G, or the readier starts an M, or the former spinner, stopping, sees it and does. (Found by the
    /// schedule fuzzer at 1 P, about once in 20,000 seeds: the G stayed queued with both Ms asleep.)
    #[test]
    fn loom_spinner_giving_its_p_to_a_syscall_waiter_leaves_no_ready_behind() {
        loom::model(|| {
            let counts = LArc::new(SpinCounts::new(1));
            counts.p_taken();
            assert!(counts.try_spin());
            let queue = LArc::new(AtomicUsize::new(0));
            // The M back from its call, now holding the P: gives it up, then re-checks (`find_runnable`).
            let (c1, q1) = (counts.clone(), queue.clone());
            let back = thread::spawn(move || {
                c1.p_released();
                q1.load(Ordering::SeqCst) > 0
            });
            let (c2, q2) = (counts.clone(), queue.clone());
            let outside = thread::spawn(move || {
                q2.fetch_add(1, Ordering::SeqCst);
                c2.claim_wakep()
            });
            // The former spinner, without a P.
            let woke_here = counts.stop_spinning_without_p(|| queue.load(Ordering::SeqCst) > 0) && counts.claim_wakep();
            let saw = back.join().unwrap();
            let woke = outside.join().unwrap();
            assert!(saw || woke || woke_here, "a G was queued and no M will look for it");
        });
    }

    /// At most one `wakep` among concurrent readiers starts an M (the others rely on that spinner).
    #[test]
    fn loom_concurrent_wakeps_start_one_spinner() {
        loom::model(|| {
            let counts = LArc::new(SpinCounts::new(2));
            let c2 = counts.clone();
            let other = thread::spawn(move || c2.claim_wakep());
            let mine = counts.claim_wakep();
            let theirs = other.join().unwrap();
            assert!(mine ^ theirs, "exactly one wakep must win: {mine} {theirs}");
            assert_eq!(counts.nmspinning(), 1);
        });
    }

    /// `stopm` (an M puts itself on the idle list, then waits) against `startm` (pops an idle M, hands it a
    /// P) and the program's end (raise `exiting`, wake every idle M): the parked M gets the P exactly when it
    /// was handed one, and never sleeps through either.
    #[test]
    fn loom_stopm_vs_startm_vs_exit_never_strands_an_m() {
        loom::model(|| {
            let midle = LArc::new(Mutex::new(Vec::<Arc<M>>::new()));
            let exiting = LArc::new(AtomicBool::new(false));
            let m = M::new();
            let (mi, ex) = (midle.clone(), exiting.clone());
            let parker = thread::spawn(move || {
                mi.lock().push(m.clone());
                m.wait_for_p(|| ex.load(Ordering::SeqCst)).map(|(p, spinning)| (p.id, spinning))
            });
            let (p, _) = P::new(0);
            let popped = midle.lock().pop();
            let handed = match popped {
                Some(m) => {
                    m.hand_p(p, true);
                    true
                }
                None => false, // `startm` would start a thread instead
            };
            exiting.store(true, Ordering::SeqCst);
            for m in midle.lock().iter() {
                m.wake();
            }
            let got = parker.join().unwrap();
            assert_eq!(got.is_some(), handed, "the M must get the P it was handed, and only that");
            if let Some((id, spinning)) = got {
                assert_eq!((id, spinning), (0, true));
            }
        });
    }

    /// checkdead against a wake-up from outside the Ms (a timer firing, a `Hold` dropped): the waker makes
    /// the G runnable *then* uncounts its source (`run_timers` readies before `timers.active` goes down;
    /// a hold is dropped after its work); checkdead reads the source counts *before* the queues. So if
    /// checkdead finds no source left, it finds the G. (The order lives in `checkdead` and `run_timers`;
    /// this model pins the reasoning, the stress test `sched/tests/sched_outside_wake.rs` the code.)
    #[test]
    fn loom_checkdead_vs_outside_wake_never_reports_a_readied_g() {
        loom::model(|| {
            let sources = LArc::new(AtomicUsize::new(1)); // one pending timer
            let queue = LArc::new(AtomicUsize::new(0));
            let (s2, q2) = (sources.clone(), queue.clone());
            let timer = thread::spawn(move || {
                q2.fetch_add(1, Ordering::SeqCst); // the action: ready the G
                crate::sched::dec(&s2, "sources"); // then uncount the timer
            });
            let dead = sources.load(Ordering::SeqCst) == 0 && queue.load(Ordering::SeqCst) == 0;
            timer.join().unwrap();
            assert!(!dead, "checkdead reported a deadlock while a timer readied a G");
        });
    }
}
