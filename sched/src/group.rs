//! Groups: the Gs of one program, when one scheduler runs many programs (as one Go process runs all its
//! goroutines, and the embedder wants each program's ending, deadlock and kill for itself).
//!
//! A [`Group`] owns what "the program" means at run time: which Gs are its own, how it ended
//! ([`Outcome`]), whether it is ending (its running Gs stop at their next safe point, its parked ones are
//! dropped at once), the CPU time its Gs used, and its own deadlock detection. Every G belongs to exactly
//! one group for its whole life: a G spawned by a G joins its spawner's group; a G spawned from outside
//! joins the group it is spawned into ([`Sched::spawn_in`]) or the scheduler's default group.
//!
//! # Deadlock, per group ([`Liveness`])
//! The scheduler-wide *checkdead* (`idle.rs`) needs every M asleep, which never happens while some other
//! program runs. A group instead counts its **awake** Gs: every G that is not parked on a channel (running,
//! queued, or parked where something outside the Gs may wake it: a sleep, a socket, a host call). Parking on
//! a channel or in a `select` puts a G to sleep; being readied from there wakes it. **Holds** count the
//! group's other wake-up sources: pending timers armed by its Gs, and what the embedder registers
//! ([`Group::hold`]: a host end of a channel, say). The group is deadlocked when no G is awake and no hold
//! is left, while some G lives. Two rules keep the check from lying:
//! - a source lets go of its hold only *after* readying what it readies (as for the scheduler-wide count);
//! - the awake count carries a count of wake-ups in its high bits, and the checker reads it, then the holds,
//!   then it again, and believes "dead" only if nothing changed: no G was readied or parked in between, so
//!   no G was awake to arm a new hold either (`loom_group_liveness_*` below).
//!
//! Whoever makes the last change (the M parking the last awake G, the last hold dropped) runs the check
//! after its change, so a deadlock is never missed.
//!
//! # Ending a group
//! [`Group::finish`] records the first outcome and raises `exiting`. Then its parked Gs are *reaped*: each
//! is taken from `PARKED` the way an M takes a G to run it (so a racing waker cannot queue it), and its
//! future is dropped, which releases everything the G held. A G that is queued is dropped by the M that
//! dequeues it, without being polled; a running G stops at its next safe point (the embedder's epoch hook
//! asks [`crate::exiting`]) and one that parks after the reap is reaped by its own M. Reaping drops wasm
//! stores, which must not happen on a G's own stack: asked from inside a poll, it is deferred until that
//! poll returns. [`Group::wait`] returns once the outcome is known and every G is gone (or, for a G stuck
//! in a blocking host call, once no G has gone away for [`STUCK_G_GRACE`]: a reap of a million Gs takes
//! seconds, and is slow, not stuck).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::g::{GRef, GStatus, WaitReason};
use crate::sched::{GDump, Outcome, Registry, Sched};

/// How long [`Group::wait`] waits, after the outcome and then after each G that goes away, for a G stuck in
/// a blocking host call before it returns without it (the same grace the scheduler's teardown gives an M
/// that makes no progress).
pub const STUCK_G_GRACE: Duration = Duration::from_secs(1);

/// A wait reason that only another G of the group can end (so a G parked for it is asleep).
pub(crate) fn is_sleep(reason: WaitReason) -> bool {
    matches!(reason, WaitReason::ChanReceive | WaitReason::ChanSend | WaitReason::Select | WaitReason::SelectNoCases)
}

/// The awake count, the wake-up count and the holds of one group; see *Deadlock, per group*. Its own type
/// so the loom models below run on the real protocol.
pub(crate) struct Liveness {
    /// Low 32 bits: awake Gs. High 32 bits: wake-ups so far (wrapping), so a checker sees any change.
    state: crate::loom::AtomicU64,
    holds: crate::loom::AtomicUsize,
}

const AWAKE: u64 = 1;
const WOKEN: u64 = 1 << 32;

impl Liveness {
    pub(crate) fn new() -> Liveness {
        Liveness { state: crate::loom::AtomicU64::new(0), holds: crate::loom::AtomicUsize::new(0) }
    }

    /// A G became awake (spawned, or readied from a channel wait). Before the waker can do anything else.
    pub(crate) fn wake(&self) {
        self.state.fetch_add(AWAKE + WOKEN, Ordering::SeqCst);
    }

    /// A G went to sleep (parked on a channel) or exited. True if it was the last awake G: the caller must
    /// then run [`Liveness::dead`].
    pub(crate) fn sleep(&self) -> bool {
        let prev = self.state.fetch_sub(AWAKE, Ordering::SeqCst);
        debug_assert!(prev & 0xffff_ffff > 0, "Liveness::sleep: awake count went negative");
        prev & 0xffff_ffff == 1
    }

    pub(crate) fn hold(&self) {
        self.holds.fetch_add(1, Ordering::SeqCst);
    }

    /// A wake-up source went away, after readying whatever it readied. True if it was the last hold: the
    /// caller must then run [`Liveness::dead`].
    pub(crate) fn release(&self) -> bool {
        crate::sched::dec(&self.holds, "group holds") == 1
    }

    /// The check: no G awake and no hold, with nothing changing while we looked.
    pub(crate) fn dead(&self) -> bool {
        let before = self.state.load(Ordering::SeqCst);
        if before & 0xffff_ffff != 0 || self.holds.load(Ordering::SeqCst) != 0 {
            return false;
        }
        self.state.load(Ordering::SeqCst) == before
    }

    pub(crate) fn awake(&self) -> usize {
        (self.state.load(Ordering::SeqCst) & 0xffff_ffff) as usize
    }

    pub(crate) fn holds(&self) -> usize {
        self.holds.load(Ordering::SeqCst)
    }
}

/// The Gs of one program, and how it ended. See the module comment. (The scheduler's default group, of Gs
/// spawned from outside without a group, reports no deadlock of its own: its deadlock is the scheduler's,
/// [`crate::Config::checkdead`].)
pub struct Group {
    id: u64,
    sched: Weak<Sched>,
    /// This group's live Gs, by id (reaping and the deadlock report walk it). Sharded as the scheduler's own
    /// registry is: every spawn and exit of the program passes here, from every P.
    gs: Registry,
    live: std::sync::atomic::AtomicUsize,
    pub(crate) liveness: Liveness,
    exiting: AtomicBool,
    /// Set by `finish`; a reap still owed (it was asked for inside a poll).
    reap_owed: AtomicBool,
    end: Mutex<End>,
    end_cv: Condvar,
    /// Nanoseconds its Gs spent being polled, one counter per P (an M adds to its P's, so Ms running the
    /// same program do not fight over one cache line on every poll); [`Group::cpu_time`] sums them.
    cpu_ns: Box<[crossbeam_utils::CachePadded<AtomicU64>]>,
}

#[derive(Default)]
struct End {
    outcome: Option<Outcome>,
    /// When the outcome was recorded, or since then a G of the group last went away: the stuck-G grace counts
    /// from here.
    at: Option<Instant>,
    /// Every G is gone, or the grace ran out.
    done: bool,
    wakers: Vec<Waker>,
}

thread_local! {
    /// Groups whose reap was asked for inside a poll on this thread; the M reaps them after the poll.
    static OWED: std::cell::RefCell<Vec<Arc<Group>>> = const { std::cell::RefCell::new(Vec::new()) };
    /// Groups found deadlocked inside a poll on this thread; the M reports them after the poll.
    static DEAD_OWED: std::cell::RefCell<Vec<Arc<Group>>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Group {
    pub(crate) fn new(id: u64, sched: &Arc<Sched>) -> Group {
        Group {
            id,
            sched: Arc::downgrade(sched),
            gs: Registry::new(),
            live: std::sync::atomic::AtomicUsize::new(0),
            liveness: Liveness::new(),
            exiting: AtomicBool::new(false),
            reap_owed: AtomicBool::new(false),
            end: Mutex::new(End::default()),
            end_cv: Condvar::new(),
            cpu_ns: (0..sched.cfg.procs).map(|_| Default::default()).collect(),
        }
    }

    /// The group's id (0 for a scheduler's default group).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Gs of this group alive now.
    pub fn live(&self) -> usize {
        self.live.load(Ordering::SeqCst)
    }

    /// CPU time the group's Gs have used so far: their polls, summed over every M.
    pub fn cpu_time(&self) -> Duration {
        Duration::from_nanos(self.cpu_ns.iter().map(|c| c.load(Ordering::Relaxed)).sum())
    }

    /// Add `ns` to the counter of the P with index `p`.
    pub(crate) fn add_cpu(&self, p: usize, ns: u64) {
        self.cpu_ns[p].fetch_add(ns, Ordering::Relaxed);
    }

    /// True once the group is ending: its running Gs should stop at their next safe point.
    pub fn is_exiting(&self) -> bool {
        // SeqCst: an M that parks a G reads this after publishing `PARKED` (see `finish`); a plain load on
        // x86 all the same.
        self.exiting.load(Ordering::SeqCst)
    }

    /// How the group ended, once it has.
    pub fn outcome(&self) -> Option<Outcome> {
        self.end.lock().outcome.clone()
    }

    /// End the group with `code` (see [`Group::finish`]).
    pub fn exit(self: &Arc<Self>, code: i32) {
        self.finish(Outcome::Exited(code));
    }

    /// End the group: record `outcome` if it is the first, raise `exiting`, and drop every parked G (see
    /// *Ending a group*). Any thread; returns true for the call whose outcome was recorded.
    pub fn finish(self: &Arc<Self>, outcome: Outcome) -> bool {
        {
            let mut end = self.end.lock();
            if end.outcome.is_some() {
                return false;
            }
            end.outcome = Some(outcome);
            end.at = Some(Instant::now());
            // SeqCst: pairs with the M that parks a G and then looks at `exiting` (see `reap_if_exiting`).
            self.exiting.store(true, Ordering::SeqCst);
        }
        if crate::m::in_poll() {
            self.reap_owed.store(true, Ordering::SeqCst);
            OWED.with(|o| o.borrow_mut().push(self.clone()));
        } else {
            self.reap();
        }
        self.check_done();
        if !self.end.lock().done {
            self.arm_grace();
        }
        true
    }

    /// Drop every parked G of the group (the group is exiting). Not from inside a poll.
    fn reap(&self) {
        self.reap_owed.store(false, Ordering::SeqCst);
        for g in self.gs.all() {
            Group::reap_one(&g);
        }
    }

    /// Take `g` if it is parked and drop it. Returns true if it was taken.
    pub(crate) fn reap_one(g: &GRef) -> bool {
        if !g.state.take_parked() {
            return false;
        }
        // Taken as an M takes a G to run it: undo what its parking counted.
        if g.wait().0 == WaitReason::Syscall {
            crate::sched::dec(&g.sched.nsyscall_wait, "nsyscall_wait");
        }
        g.note_woken();
        g.sched.gexit(g);
        true
    }

    /// The M, after a poll: reap the groups whose end was asked for inside it.
    pub(crate) fn reap_owed_here() {
        let owed = OWED.with(|o| std::mem::take(&mut *o.borrow_mut()));
        for g in owed {
            if g.reap_owed.load(Ordering::SeqCst) {
                g.reap();
            }
        }
        Group::check_owed_deaths();
    }

    /// Check again the groups found deadlocked while a check could not report (see `check_dead`).
    pub(crate) fn check_owed_deaths() {
        let dead = DEAD_OWED.with(|o| std::mem::take(&mut *o.borrow_mut()));
        for g in dead {
            g.check_dead();
        }
    }

    /// A G of this group was spawned. Counted before it is queued.
    pub(crate) fn add_g(&self, g: &GRef) {
        self.live.fetch_add(1, Ordering::SeqCst);
        self.liveness.wake();
        self.gs.insert(g.clone());
    }

    /// A G of this group ended (its future finished or was dropped).
    pub(crate) fn remove_g(self: &Arc<Self>, id: u64) {
        self.gs.remove(id);
        let last = self.live.fetch_sub(1, Ordering::SeqCst) == 1;
        if !last && self.is_exiting() {
            // Progress of the ending (a reap, Gs stopping): the grace for stuck Gs starts again.
            let mut end = self.end.lock();
            if end.at.is_some() && !end.done {
                end.at = Some(Instant::now());
            }
        }
        if self.liveness.sleep() && !last {
            self.check_dead();
        }
        if last {
            self.check_done();
        }
    }

    /// Teardown of the whole scheduler: drop the group's reference to a G without any accounting.
    pub(crate) fn forget(&self, id: u64) {
        self.gs.remove(id);
    }

    /// A G went to sleep on a channel; see *Deadlock, per group*.
    pub(crate) fn g_slept(self: &Arc<Self>) {
        if self.liveness.sleep() {
            self.check_dead();
        }
    }

    /// If the group is deadlocked, end it with [`Outcome::Deadlock`].
    pub(crate) fn check_dead(self: &Arc<Self>) {
        // The default group's deadlock is the scheduler's (`Config::checkdead`), reported as its outcome.
        if self.id == 0 || self.is_exiting() || self.live() == 0 || !self.liveness.dead() {
            return;
        }
        if crate::m::in_poll() || crate::inspect::in_scope() {
            // The report inspects every parked G (its stack, what it holds), which takes polling them: not
            // from inside another G's poll, nor once per G an inspection puts back to sleep. Checked again
            // once the poll or the outermost inspection is over; nothing can wake a deadlocked group
            // meanwhile.
            DEAD_OWED.with(|o| {
                let mut o = o.borrow_mut();
                if !o.iter().any(|g| Arc::ptr_eq(g, self)) {
                    o.push(self.clone());
                }
            });
            return;
        }
        // The scope lasts past `finish`, so the checks the inspections defer find the group ended.
        let _scope = crate::inspect::scope();
        let dump = self.dump_inspected();
        // A G woken since the check (a stale wake-up, which a deadlocked G may still get) shows as runnable:
        // not a report to make. That G parks again, and its park checks again.
        if !dump.is_empty() && dump.iter().all(|d| d.status == GStatus::Waiting) && self.liveness.dead() {
            self.finish(Outcome::Deadlock(dump));
        }
    }

    /// Register a wake-up source outside the group's Gs (the embedder's end of a channel, its async work):
    /// while the returned guard lives, the group is not reported deadlocked. Take it before the Gs it may
    /// wake start waiting (at start, or from one of the group's Gs), as a wake-up source that appears from
    /// nowhere after every G fell asleep comes too late.
    pub fn hold(self: &Arc<Self>) -> GroupHold {
        self.liveness.hold();
        GroupHold(self.clone())
    }

    pub(crate) fn release(self: &Arc<Self>) {
        if self.liveness.release() {
            self.check_dead();
        }
    }

    /// Every G of the group alive now, in id order, with what it waits for.
    pub fn dump(&self) -> Vec<GDump> {
        self.dump_with(false)
    }

    /// Like [`Group::dump`], with each parked G inspected (see [`Sched::inspect`]). Not from inside a G's
    /// fiber.
    pub fn dump_inspected(&self) -> Vec<GDump> {
        self.dump_with(true)
    }

    fn dump_with(&self, inspect: bool) -> Vec<GDump> {
        let _scope = inspect.then(crate::inspect::scope);
        let now = self.sched.upgrade().map_or(0, |s| s.now_ns());
        self.gs.all().iter().filter_map(|g| GDump::of(g, now, inspect)).collect()
    }

    /// Awake Gs and holds, for hang reports.
    pub fn internals(&self) -> String {
        format!(
            "group {}: live={} awake={} holds={} exiting={}",
            self.id,
            self.live(),
            self.liveness.awake(),
            self.liveness.holds(),
            self.is_exiting()
        )
    }

    /// Done once there is an outcome and no G left.
    fn check_done(&self) {
        let mut end = self.end.lock();
        if end.done || end.outcome.is_none() {
            if end.outcome.is_none() && self.live() == 0 && self.id != 0 {
                // Every G finished without anyone ending the group: it simply ran out of work. (Not the
                // default group: Gs keep being spawned into it from outside for the scheduler's whole life.)
                end.outcome = Some(Outcome::Exited(0));
                end.at = Some(Instant::now());
                self.exiting.store(true, Ordering::SeqCst);
            } else {
                return;
            }
        }
        if self.live() == 0 || end.at.is_some_and(|t| t.elapsed() >= STUCK_G_GRACE) {
            self.mark_done(&mut end);
        }
    }

    fn mark_done(&self, end: &mut End) {
        end.done = true;
        self.end_cv.notify_all();
        for w in end.wakers.drain(..) {
            w.wake();
        }
    }

    /// A timer that ends the wait for stuck Gs after [`STUCK_G_GRACE`].
    fn arm_grace(self: &Arc<Self>) {
        let Some(sched) = self.sched.upgrade() else { return };
        let weak = Arc::downgrade(self);
        let when = sched.now_ns().saturating_add(STUCK_G_GRACE.as_nanos() as u64);
        // A timer of no group: it must not count as a wake-up source of this one.
        sched.add_timer_for(
            None,
            when,
            None,
            crate::timers::Action::Call(Box::new(move || {
                if let Some(g) = weak.upgrade() {
                    g.check_done();
                    // Gs went away meanwhile, so the grace starts later: look again then.
                    if !g.end.lock().done {
                        g.arm_grace();
                    }
                }
                false
            })),
        );
    }

    /// Block until the group has ended and its Gs are gone (see *Ending a group*), and say how it ended.
    pub fn wait(&self) -> Outcome {
        let mut end = self.end.lock();
        loop {
            if end.done {
                return end.outcome.clone().expect("Group::wait: done without an outcome");
            }
            match end.at {
                Some(at) => {
                    // `at` moves on while Gs go away: done only once the grace from the latest has run out.
                    if self.end_cv.wait_until(&mut end, at + STUCK_G_GRACE).timed_out()
                        && !end.done
                        && end.at.is_some_and(|at| at.elapsed() >= STUCK_G_GRACE)
                    {
                        self.mark_done(&mut end);
                    }
                }
                None => self.end_cv.wait(&mut end),
            }
        }
    }

    /// Like [`Group::wait`], giving up after `timeout`.
    pub fn wait_timeout(&self, timeout: Duration) -> Option<Outcome> {
        let deadline = Instant::now() + timeout;
        let mut end = self.end.lock();
        while !end.done {
            let until = end.at.map_or(deadline, |at| deadline.min(at + STUCK_G_GRACE));
            if self.end_cv.wait_until(&mut end, until).timed_out() {
                if end.at.is_some_and(|at| at.elapsed() >= STUCK_G_GRACE) {
                    self.mark_done(&mut end);
                } else if Instant::now() >= deadline {
                    return None;
                }
            }
        }
        end.outcome.clone()
    }

    /// The wait as a future's poll: `Ready` once [`Group::wait`] would return.
    pub fn poll_wait(&self, cx: &mut Context<'_>) -> Poll<Outcome> {
        let mut end = self.end.lock();
        if !end.done && end.at.is_some_and(|at| at.elapsed() >= STUCK_G_GRACE) {
            self.mark_done(&mut end);
        }
        if end.done {
            return Poll::Ready(end.outcome.clone().expect("Group::poll_wait: done without an outcome"));
        }
        if !end.wakers.iter().any(|w| w.will_wake(cx.waker())) {
            end.wakers.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

/// A registered wake-up source of a group; see [`Group::hold`]. Dropping it unregisters.
pub struct GroupHold(Arc<Group>);

impl GroupHold {
    /// The group held.
    pub fn group(&self) -> &Arc<Group> {
        &self.0
    }
}

impl Drop for GroupHold {
    fn drop(&mut self) {
        self.0.release();
    }
}

impl std::fmt::Debug for Group {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.internals())
    }
}

#[cfg(all(test, gmp_loom))]
mod loom_tests {
    use super::*;
    use loom::sync::Arc;

    /// The false alarm the wake-up count exists for: a checker looks while the group's only G, asleep on
    /// timer 1's channel, is readied by that timer (which then lets go of its hold), arms timer 2 and
    /// falls asleep again. At no instant is the group dead (a hold or an awake G exists throughout), but a
    /// checker that saw "no G awake" before the wake-up, "no hold" between the two timers and "no G awake"
    /// after the second sleep would say it is, without the wake-up count.
    #[test]
    fn loom_group_liveness_never_calls_a_g_waiting_on_a_new_timer_dead() {
        loom::model(|| {
            let l = Arc::new(Liveness::new());
            l.wake(); // G1 spawned
            l.hold(); // timer 1 armed by G1
            assert!(l.sleep() && !l.dead()); // G1 sleeps on timer 1's channel; the hold keeps it alive
            let l2 = l.clone();
            let checker = loom::thread::spawn(move || l2.dead());
            l.wake(); // timer 1 fires: readies G1 ...
            let _ = l.release(); // ... then lets go of its hold
            l.hold(); // G1 arms timer 2
            let _ = l.sleep(); // and sleeps on its channel
            assert!(!checker.join().unwrap(), "reported a deadlock while a timer was pending");
        });
    }

    /// The last G falling asleep while the last hold goes away: exactly the situation of a real deadlock,
    /// and at least one of the two must see it.
    #[test]
    fn loom_group_liveness_never_misses_a_deadlock() {
        loom::model(|| {
            let l = Arc::new(Liveness::new());
            l.wake();
            l.hold();
            let l2 = l.clone();
            let source = loom::thread::spawn(move || l2.release() && l2.dead());
            let g_says = l.sleep() && l.dead();
            let source_says = source.join().unwrap();
            assert!(g_says || source_says, "nobody saw the deadlock");
        });
    }
}
