//! Timers: sleeping Gs, one-shot timers, tickers (Go's `time.go` timers, in the scheduler).
//!
//! # One heap, not one per P
//! Go keeps a timer heap per P so that thousands of cores never meet on one lock, and then needs timer
//! stealing so an idle P runs a busy P's overdue timers. We keep one heap for the whole scheduler:
//! - GOMAXPROCS is small here (a machine's cores), and a heap operation under the lock is a few dozen
//!   nanoseconds, so contention stays far below the cost of the wasm calls around it;
//! - every M sees every due timer at its next schedule, so no timer waits behind a busy P and nothing has
//!   to be stolen;
//! - the earliest deadline is one atomic ([`Timers::next_when`]) that idle Ms read to size their sleep.
//!
//! # Protocol
//! 1. [`Sched::add_timer`] pushes an entry and, if it is now the earliest, lowers `next_when` and then makes
//!    sure some M will look at it in time (Go's `wakeNetPoller`): it breaks the M blocked in the netpoller
//!    if that M would sleep past the new deadline, and if no M is blocked there it calls `wakep`, so an idle
//!    P gets an M that will find the timer and block until it. The M about to block claims the poller
//!    *before* it reads `next_when` (see `block_in_netpoll`), so one of the two always sees the other.
//! 2. Every M, at the top of `find_runnable`, runs the due timers when `next_when` has passed; an idle M
//!    blocks in the netpoller no longer than until `next_when`.
//! 3. Running a timer: a one-shot one is marked fired; a ticker is pushed again one period later (skipping
//!    periods it missed, as Go's ticker drops ticks for slow receivers). Its action runs after the heap lock
//!    is released: readying a G, or the embedder's callback (sending on a channel).
//! 4. [`Timer::stop`] marks the timer stopped; its heap entry is dropped lazily when it comes due, or when
//!    stopped entries outnumber live ones (see *Stopped entries*).
//!
//! # Stopped entries
//! A stopped timer's entry stays in the heap until its deadline (removing it at once would need its position
//! in the heap). A program that arms a long timeout and stops it, in a loop (Go's `time.NewTimer` with
//! `Stop`, or a select with a timeout case), would then fill the heap with dead entries, each holding its
//! timer's action and what that holds, for as long as the timeout: unbounded memory from a correct program.
//! So `stop` counts the entries it leaves behind, and when they are more than half of the heap (and more
//! than [`COMPACT_MIN`]) rebuilds the heap without them, as Go's `adjusttimers`/`cleantimers` drop deleted
//! timers. A rebuild costs the heap's size and comes only after half as many stops: amortized O(1) a stop.
//!
//! Stopped and fired timers do not count as pending ([`Timers::active`]): a program whose Gs all wait
//! while a timer is pending is not deadlocked, one whose only timers were stopped is.

use std::cmp::Ordering as CmpOrdering;
use std::collections::BinaryHeap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use parking_lot::Mutex;

use crate::g::{GRef, WaitReason};
use crate::group::Group;
use crate::loom::{AtomicU64, AtomicUsize};
use crate::m::Current;
use crate::sched::Sched;

/// Stopped entries the heap may hold before `stop` considers a rebuild (see *Stopped entries*): below
/// this, a rebuild costs more than the dead entries do.
const COMPACT_MIN: usize = 64;

/// What a timer does when it fires.
pub enum Action {
    /// Make a G runnable (a sleep).
    Ready(GRef),
    /// Call back (a timer or ticker channel: the wasm side sends the time on it). Returning false stops the
    /// timer: a ticker whose channel nobody holds any more stops itself this way.
    Call(Box<dyn Fn() -> bool + Send + Sync>),
}

const ARMED: u8 = 0;
const FIRED: u8 = 1;
const STOPPED: u8 = 2;

struct TimerInner {
    state: AtomicU8,
    /// 0 for a one-shot timer.
    period: u64,
    action: Action,
    /// The group whose G armed it: a pending timer is a wake-up source of that group (see `group.rs`),
    /// held from arming until it is stopped or a one-shot has fired.
    group: Option<Arc<Group>>,
}

impl TimerInner {
    /// The timer stopped pending (fired once, or stopped): uncount it, after its action ran.
    fn done(&self, sched: &Sched) {
        if crate::sched::dec(&sched.timers.active, "timers.active") == 1 {
            // The last pending timer is gone. If the Ms all parked while it was pending (this may be
            // sysmon or the poller's M, firing it after everyone else went to sleep), nobody else
            // would look again: every G may be blocked for good now (found by the schedule fuzzer).
            sched.checkdead_from_outside();
        }
        if let Some(g) = &self.group {
            g.release();
        }
    }
}

/// A timer in the heap; dropping it does not stop it (use [`Timer::stop`]).
#[derive(Clone)]
pub struct Timer {
    inner: Arc<TimerInner>,
    sched: Arc<Sched>,
}

struct Entry {
    when: u64,
    seq: u64,
    timer: Arc<TimerInner>,
}

impl PartialEq for Entry {
    fn eq(&self, o: &Self) -> bool {
        (self.when, self.seq) == (o.when, o.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(o))
    }
}
impl Ord for Entry {
    /// Reversed: `BinaryHeap` is a max-heap and we want the earliest first; `seq` keeps equal deadlines FIFO.
    fn cmp(&self, o: &Self) -> CmpOrdering {
        (o.when, o.seq).cmp(&(self.when, self.seq))
    }
}

/// The scheduler's timers.
pub struct Timers {
    heap: Mutex<BinaryHeap<Entry>>,
    /// The earliest deadline in the heap (ns since the scheduler started), `u64::MAX` when empty. A hint read
    /// without the lock; written only under it.
    next_when: AtomicU64,
    /// Timers armed and neither fired (one-shot) nor stopped.
    active: AtomicUsize,
    /// Entries `stop` left in the heap since the last rebuild; changed only under the heap lock. An upper
    /// bound: an entry popped when it came due after being stopped stays counted until the next rebuild.
    stopped: std::sync::atomic::AtomicUsize,
    seq: AtomicU64,
    /// Gs readied by timers since sysmon last took the count (see `preempt_for_woken` in sysmon.rs).
    readied: AtomicUsize,
}

impl Default for Timers {
    fn default() -> Self {
        Timers {
            heap: Mutex::new(BinaryHeap::new()),
            next_when: AtomicU64::new(u64::MAX),
            active: AtomicUsize::new(0),
            stopped: std::sync::atomic::AtomicUsize::new(0),
            seq: AtomicU64::new(0),
            readied: AtomicUsize::new(0),
        }
    }
}

impl Timers {
    /// Gs readied by timers since the last call (sysmon's).
    pub(crate) fn take_readied(&self) -> usize {
        self.readied.swap(0, Ordering::Relaxed)
    }

    /// The earliest deadline, or `u64::MAX`.
    pub fn next_when(&self) -> u64 {
        self.next_when.load(Ordering::SeqCst)
    }

    /// Pending timers (armed, not stopped, one-shots not yet fired).
    pub fn active(&self) -> usize {
        self.active.load(Ordering::SeqCst)
    }

    /// Entries in the heap, stopped ones included until they come due.
    pub fn len(&self) -> usize {
        self.heap.lock().len()
    }

    /// True when the heap is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `stop` left an entry in the heap: count it, and rebuild the heap without stopped entries once they
    /// are more than half of it (see *Stopped entries*).
    fn left_stopped(&self) {
        let dead = {
            let mut heap = self.heap.lock();
            // Relaxed: changed only under the heap lock, which orders it.
            let n = self.stopped.load(Ordering::Relaxed) + 1;
            if n <= COMPACT_MIN || n <= heap.len() / 2 {
                self.stopped.store(n, Ordering::Relaxed);
                return;
            }
            self.stopped.store(0, Ordering::Relaxed);
            // Every entry left is armed: the earliest deadline can only have moved later, and `next_when`
            // may stay early (an M that wakes for nothing finds nothing due).
            let (live, dead): (Vec<Entry>, Vec<Entry>) =
                std::mem::take(&mut *heap).into_iter().partition(|e| e.timer.state.load(Ordering::SeqCst) == ARMED);
            *heap = BinaryHeap::from(live);
            dead
        };
        drop(dead); // after the lock: an action may hold things whose drop takes other locks
    }

    /// Teardown: drop every entry (and what its action holds); no timer fires after this.
    pub(crate) fn clear(&self) {
        let entries = std::mem::take(&mut *self.heap.lock());
        self.next_when.store(u64::MAX, Ordering::SeqCst);
        drop(entries); // after the lock: an action may hold things whose drop takes other locks
    }
}

impl Sched {
    /// Arm a timer firing at `when_ns` (scheduler time, see [`Sched::now`]), then every `period` if given.
    /// Any thread. Armed by a G, it counts as a wake-up source of the G's group while pending.
    pub fn add_timer(self: &Arc<Self>, when_ns: u64, period: Option<Duration>, action: Action) -> Timer {
        let group = crate::current().filter(|g| std::ptr::eq(&*g.sched, &**self)).map(|g| g.group.clone());
        self.add_timer_for(group, when_ns, period, action)
    }

    /// [`Sched::add_timer`] as a wake-up source of `group` (or of none).
    pub fn add_timer_for(
        self: &Arc<Self>,
        group: Option<Arc<Group>>,
        when_ns: u64,
        period: Option<Duration>,
        action: Action,
    ) -> Timer {
        if let Some(g) = &group {
            g.liveness.hold();
        }
        let inner = Arc::new(TimerInner {
            state: AtomicU8::new(ARMED),
            period: period.map_or(0, |p| (p.as_nanos() as u64).max(1)),
            action,
            group,
        });
        self.timers.active.fetch_add(1, Ordering::SeqCst);
        self.push_timer(when_ns, inner.clone());
        Timer { inner, sched: self.clone() }
    }

    fn push_timer(self: &Arc<Self>, when: u64, timer: Arc<TimerInner>) {
        let t = &self.timers;
        let seq = t.seq.fetch_add(1, Ordering::Relaxed);
        let earliest = {
            let mut heap = t.heap.lock();
            heap.push(Entry { when, seq, timer });
            let earliest = when < t.next_when.load(Ordering::SeqCst);
            if earliest {
                t.next_when.store(when, Ordering::SeqCst);
            }
            earliest
        };
        if earliest {
            self.wake_netpoller(when);
        }
    }

    /// Run every timer due at `now` (step 3 of the protocol). Returns how many fired.
    pub(crate) fn run_timers(&self, now: u64) -> usize {
        let t = &self.timers;
        if t.next_when.load(Ordering::SeqCst) > now {
            return 0;
        }
        let mut due = Vec::new();
        {
            let mut heap = t.heap.lock();
            while heap.peek().is_some_and(|e| e.when <= now) {
                let e = heap.pop().expect("peeked");
                if e.timer.state.load(Ordering::SeqCst) != ARMED {
                    continue; // stopped: dropped lazily here
                }
                if let Some(missed) = (now - e.when).checked_div(e.timer.period) {
                    // A ticker. Skip the periods already missed: one tick per period at most, as Go's ticker.
                    let next = e.when + (missed + 1) * e.timer.period;
                    let seq = t.seq.fetch_add(1, Ordering::Relaxed);
                    heap.push(Entry { when: next, seq, timer: e.timer.clone() });
                    due.push((e.timer, false));
                } else if e.timer.state.compare_exchange(ARMED, FIRED, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
                    due.push((e.timer, true));
                }
            }
            t.next_when.store(heap.peek().map_or(u64::MAX, |e| e.when), Ordering::SeqCst);
        }
        let n = due.len();
        if n > 0 {
            // On the P of the M that fires them, else (sysmon, an M in the poller without a P) the shared set.
            let fired = |c: &crate::metrics::Counters| crate::metrics::Counters::bump(&c.timers_fired, n as u64);
            if !Current::with_p(self, |p| fired(&self.ps[p.id].stats)) {
                crate::metrics::Counters::add_shared(&self.outside.timers_fired, n as u64);
            }
        }
        let mut readied = 0;
        let _by = crate::trace::WakingAs::new(self, crate::trace::By::Timer);
        for (timer, one_shot) in due {
            let keep = match &timer.action {
                Action::Ready(g) => {
                    g.ready();
                    readied += 1;
                    true
                }
                Action::Call(f) => f(),
            };
            let stopped_itself = !keep
                && !one_shot
                && timer.state.compare_exchange(ARMED, STOPPED, Ordering::SeqCst, Ordering::SeqCst).is_ok();
            if one_shot || stopped_itself {
                // Uncounted only now, after the action: a G it readied is on a queue before the count can let
                // `checkdead` call everything asleep. SeqCst pairs with `checkdead`'s load.
                timer.done(self);
            }
        }
        if readied > 0 {
            t.readied.fetch_add(readied, Ordering::Relaxed);
        }
        n
    }

    /// Entries in the timer heap, stopped ones not yet dropped included: what its memory is proportional to.
    pub fn timer_entries(&self) -> usize {
        self.timers.len()
    }

    /// Nanoseconds since the scheduler started: the clock timers are set on.
    pub fn now(&self) -> u64 {
        self.now_ns()
    }
}

impl Timer {
    /// Stop the timer. Returns true if it was pending (a one-shot timer that had not fired, or a ticker).
    pub fn stop(&self) -> bool {
        let stopped = self.inner.state.compare_exchange(ARMED, STOPPED, Ordering::SeqCst, Ordering::SeqCst).is_ok();
        if stopped {
            self.sched.timers.left_stopped();
            // The last pending timer going away may leave every G blocked for good.
            self.inner.done(&self.sched);
        }
        stopped
    }

    /// True once a one-shot timer has fired.
    pub fn fired(&self) -> bool {
        self.inner.state.load(Ordering::SeqCst) == FIRED
    }
}

/// Park the current G for `d` (Go's `time.Sleep`). Outside a G it completes at once.
pub fn sleep(d: Duration) -> Sleep {
    Sleep { d, timer: None }
}

/// The future of [`sleep`].
pub struct Sleep {
    d: Duration,
    timer: Option<Timer>,
}

impl Future for Sleep {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        match &self.timer {
            Some(t) => {
                if t.fired() {
                    return Poll::Ready(());
                }
                // Polled again before the timer fired (a spurious wake-up): say again what we wait for,
                // or the M would take this G for one parked in a foreign future (see `execute`).
                if let Some(g) = crate::current() {
                    g.set_wait(WaitReason::Sleep, 0);
                }
                Poll::Pending
            }
            None => {
                let Some(g) = crate::current() else {
                    return Poll::Ready(());
                };
                if self.d.is_zero() {
                    return Poll::Ready(());
                }
                let sched = g.sched.clone();
                let when = sched.now_ns().saturating_add(self.d.as_nanos() as u64);
                g.set_wait(WaitReason::Sleep, 0);
                self.timer = Some(sched.add_timer(when, None, Action::Ready(g)));
                Poll::Pending
            }
        }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some(t) = self.timer.take() {
            t.stop();
        }
    }
}
