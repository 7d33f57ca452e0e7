//! G: a green thread as the scheduler sees it — a future plus its bookkeeping.
//!
//! # Status, and who may change it
//! A G's status ([`GState`]) is one atomic byte. Exactly one party owns the G in each status:
//!
//! | status     | meaning                                   | owner, and who may change it            |
//! |------------|-------------------------------------------|-----------------------------------------|
//! | `RUNNABLE` | on exactly one run queue                  | the queue; the M that dequeues it (a waker only rewrites it, see `transition_to_runnable`) |
//! | `RUNNING`  | an M is polling its future                | that M; a waker may add `NOTIFIED`       |
//! | `NOTIFIED` | running, and readied during the poll      | that M, which requeues it after the poll |
//! | `PARKED`   | waiting; on no queue                      | nobody; the first waker makes it runnable, or the reaper of its ending group takes it (`RUNNING`) to drop it |
//! | `DEAD`     | its future finished                       | nobody                                  |
//!
//! **Invariant:** a G is on at most one run queue, and only in `RUNNABLE`. `ready` queues a G only when it
//! wins the `PARKED → RUNNABLE` transition, so a G woken twice is queued once; the M that finishes a poll
//! requeues a `NOTIFIED` G itself, so a wake-up that races with parking is never lost.
//!
//! # The future's cell
//! The future sits in an `UnsafeCell`: only the M that moved the G to `RUNNING` touches it, and only until it
//! moves the G out of `RUNNING`/`NOTIFIED`. Teardown drops futures after every M has stopped.

use std::cell::UnsafeCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::Wake;

use crate::group::Group;
use crate::loom::AtomicU8;
use crate::sched::Sched;

/// The future a G runs. When it completes, the G is dead.
pub type GFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A counted reference to a G: what run queues, channel wait queues and wakers hold.
pub type GRef = Arc<G>;

/// Why a parked G waits; shown in the deadlock report and in traces (Go's `waitReason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum WaitReason {
    /// Not waiting (running or runnable).
    None = 0,
    /// Blocked receiving from a channel.
    ChanReceive = 1,
    /// Blocked sending on a channel.
    ChanSend = 2,
    /// Blocked in a `select` with several cases.
    Select = 3,
    /// Blocked in a `select` with no cases: forever.
    SelectNoCases = 4,
    /// Parked inside a future the scheduler does not know (a host call such as a WASI read). Something
    /// outside the Gs may wake it, so a G waiting here never counts towards a deadlock.
    Syscall = 5,
    /// Sleeping on a timer.
    Sleep = 6,
    /// Waiting for a socket to become ready.
    IoWait = 7,
}

impl WaitReason {
    fn from_u8(v: u8) -> WaitReason {
        match v {
            1 => WaitReason::ChanReceive,
            2 => WaitReason::ChanSend,
            3 => WaitReason::Select,
            4 => WaitReason::SelectNoCases,
            5 => WaitReason::Syscall,
            6 => WaitReason::Sleep,
            7 => WaitReason::IoWait,
            _ => WaitReason::None,
        }
    }

    /// Go's words for the reason, as the deadlock report prints them.
    pub fn as_str(self) -> &'static str {
        match self {
            WaitReason::None => "runnable",
            WaitReason::ChanReceive => "chan receive",
            WaitReason::ChanSend => "chan send",
            WaitReason::Select => "select",
            WaitReason::SelectNoCases => "select (no cases)",
            WaitReason::Syscall => "syscall",
            WaitReason::Sleep => "sleep",
            WaitReason::IoWait => "IO wait",
        }
    }
}

const RUNNABLE: u8 = 0;
const RUNNING: u8 = 1;
const NOTIFIED: u8 = 2;
const PARKED: u8 = 3;
const DEAD: u8 = 4;

/// A G's status byte and its transitions; see the table in the module comment.
pub struct GState(AtomicU8);

impl GState {
    /// A new G is created runnable: its creator puts it on a queue.
    pub(crate) fn new() -> GState {
        GState(AtomicU8::new(RUNNABLE))
    }

    /// Any thread (a waker). Returns true if the caller won `PARKED → RUNNABLE` and must now queue the G.
    pub(crate) fn transition_to_runnable(&self) -> bool {
        // Acquire/Release: pairs with `transition_to_parked`'s Release, so a waker that queues the G sees
        // everything the G did before parking; its own writes (a message handed over) travel to the next
        // poll through the run queue's synchronization, or through `NOTIFIED` or the rewritten `RUNNABLE`
        // below.
        let mut cur = self.0.load(Ordering::Acquire);
        loop {
            let next = match cur {
                PARKED => RUNNABLE,
                RUNNING => NOTIFIED,
                // Queued and not yet polled: nothing to queue, but the coming poll must see what the caller
                // published, and a load cannot promise that (the M stores `RUNNING` and reads, the caller
                // stored and read: store buffering). A write of the same value can: the M's swap in
                // `transition_to_running` reads it, or comes first and this finds `RUNNING` (see
                // `a_poll_after_a_wake_of_a_runnable_g_sees_what_the_waker_published`).
                RUNNABLE => RUNNABLE,
                _ => return false,
            };
            match self.0.compare_exchange_weak(cur, next, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return cur == PARKED,
                Err(actual) => cur = actual,
            }
        }
    }

    /// The M that dequeued the G, before polling it.
    pub(crate) fn transition_to_running(&self) {
        // A swap, not a store, though nobody else moves a RUNNABLE G: a waker that found it RUNNABLE wrote
        // it back (see `transition_to_runnable`), and reading that write is what orders this poll after
        // the waker's outcome. A store would let the poll miss the outcome while the waker missed
        // `RUNNING`, a lost wake-up that loom finds in one step.
        let prev = self.0.swap(RUNNING, Ordering::AcqRel);
        debug_assert_eq!(prev, RUNNABLE, "transition_to_running: G was not runnable");
    }

    /// The polling M, after `Pending`. Returns true if the G is parked now; false if it was readied during
    /// the poll (`NOTIFIED`), in which case it is `RUNNABLE` again and the caller must queue it.
    pub(crate) fn transition_to_parked(&self) -> bool {
        // Release pairs with the waker's Acquire in `transition_to_runnable`; Acquire on failure makes the
        // waker's writes visible to the next poll of this M.
        match self.0.compare_exchange(RUNNING, PARKED, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => true,
            Err(actual) => {
                debug_assert_eq!(actual, NOTIFIED, "transition_to_parked: G was neither running nor notified");
                self.0.store(RUNNABLE, Ordering::Release);
                false
            }
        }
    }

    /// Reaping an ending group: take a parked G as an M takes a queued one, so no waker can queue it any
    /// more. Returns true if it was parked (and is now the caller's, in `RUNNING`).
    pub(crate) fn take_parked(&self) -> bool {
        self.0.compare_exchange(PARKED, RUNNING, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }

    /// The polling M, when the G asked to go to the global queue (Gosched, preemption): it stays ours and
    /// becomes `RUNNABLE` whether or not a waker came by meanwhile.
    pub(crate) fn transition_to_requeued(&self) {
        self.0.store(RUNNABLE, Ordering::Release);
    }

    /// The polling M, when the future completed.
    pub(crate) fn transition_to_dead(&self) {
        self.0.store(DEAD, Ordering::Release);
    }

    /// True while an M polls the G.
    pub(crate) fn is_running(&self) -> bool {
        matches!(self.0.load(Ordering::Acquire), RUNNING | NOTIFIED)
    }

    /// The status as a dump shows it; a snapshot, stale as soon as it is read.
    pub(crate) fn status(&self) -> GStatus {
        match self.0.load(Ordering::Acquire) {
            RUNNABLE => GStatus::Runnable,
            RUNNING | NOTIFIED => GStatus::Running,
            PARKED => GStatus::Waiting,
            _ => GStatus::Dead,
        }
    }
}

/// A G's status as a goroutine dump shows it (Go's `_Grunnable`, `_Grunning`, `_Gwaiting`, `_Gdead`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GStatus {
    /// On a run queue, waiting for an M.
    Runnable,
    /// An M is polling it.
    Running,
    /// Parked; its [`WaitReason`] says on what.
    Waiting,
    /// Finished.
    Dead,
}

/// A green thread.
pub struct G {
    id: u64,
    pub(crate) state: GState,
    /// Set by the G itself, during its poll, to ask its M for the global queue instead of parking (Gosched
    /// and preemption). Owner M only.
    pub(crate) yielded: AtomicBool,
    /// A [`WaitReason`] as a byte. Written by the G while it parks, read by the deadlock report (under the
    /// idle lock, when no M runs), so Relaxed is enough.
    wait_reason: std::sync::atomic::AtomicU8,
    /// What it waits on, for the report: a channel id, or 0.
    wait_obj: AtomicU64,
    /// When it last parked, in scheduler nanoseconds: the dump's "for how long". Written by the parking M.
    pub(crate) parked_at: AtomicU64,
    /// Parked in a future that answers inspection polls (see `inspect.rs`). Set by that future as it
    /// returns `Pending`, cleared by the M before every poll.
    pub(crate) inspectable: AtomicBool,
    /// The G that spawned it, or 0 if it was spawned from outside any G (Go's "created by").
    created_by: u64,
    future: UnsafeCell<Option<GFuture>>,
    pub(crate) sched: Arc<Sched>,
    /// The program it belongs to, for life (see `group.rs`).
    pub(crate) group: Arc<Group>,
    /// Parked on a channel: asleep in its group's count until readied. Written by the parking M before it
    /// publishes `PARKED` (Release), cleared by the waker that wins `PARKED → RUNNABLE` (Acquire).
    pub(crate) asleep: AtomicBool,
    /// While tracing: the id of the flow from whoever made the G runnable to its next run slice (0: none).
    /// Written by the waker that queued it, taken by the M that runs it; the run queue orders the two.
    pub(crate) trace_flow: AtomicU64,
}

// SAFETY: every field but `future` is Sync. `future` is only touched by the one M that owns the G in status
// RUNNING/NOTIFIED (see "The future's cell"), or by teardown once every M has stopped, so it is never
// accessed from two threads at once, and the future itself is `Send`.
unsafe impl Sync for G {}

impl G {
    pub(crate) fn new(id: u64, created_by: u64, future: GFuture, sched: Arc<Sched>, group: Arc<Group>) -> G {
        G {
            parked_at: AtomicU64::new(0),
            inspectable: AtomicBool::new(false),
            created_by,
            group,
            asleep: AtomicBool::new(false),
            trace_flow: AtomicU64::new(0),
            id,
            state: GState::new(),
            yielded: AtomicBool::new(false),
            wait_reason: std::sync::atomic::AtomicU8::new(WaitReason::None as u8),
            wait_obj: AtomicU64::new(0),
            future: UnsafeCell::new(Some(future)),
            sched,
        }
    }

    /// The G's id: 1 for the first G a program spawns, then counting up, as Go numbers goroutines.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The G that spawned this one, or 0 if it was spawned from outside any G.
    pub fn created_by(&self) -> u64 {
        self.created_by
    }

    /// Make a parked G runnable (Go's `goready`). Any thread. Waking a G that is not parked only marks it
    /// notified (if it is running) or does nothing, so spurious and repeated wake-ups are harmless.
    ///
    /// From inside a G of the same scheduler the woken G goes to that M's P `runnext`; from anywhere else, to
    /// the global queue. Either way an idle P gets an M if none is looking for work.
    pub fn ready(self: &Arc<Self>) {
        if self.state.transition_to_runnable() {
            self.note_woken();
            if let Some(t) = &self.sched.tracer {
                let by = Sched::trace_waker();
                self.sched.trace_here(t, |track, flow| {
                    self.trace_flow.store(flow, Ordering::Relaxed);
                    crate::trace::Ev::Unblock { track, g: self.id, by, flow }
                });
            }
            self.sched.ready(self.clone());
        }
    }

    /// The G left `PARKED` for good: if it slept on a channel, it is awake in its group again. Before the
    /// waker does anything else (see *Deadlock, per group* in `group.rs`).
    pub(crate) fn note_woken(&self) {
        // Every caller has just taken the G out of `PARKED` (a waker's `transition_to_runnable`, a reaper's
        // `take_parked`, an inspector), which makes it the flag's only user, and its Acquire saw the flag as
        // the parking M left it: a load and a store, no locked instruction.
        if self.asleep.load(Ordering::Relaxed) {
            self.asleep.store(false, Ordering::Relaxed);
            self.group.liveness.wake();
        }
    }

    /// The program (group) the G belongs to.
    pub fn group(&self) -> &Arc<Group> {
        &self.group
    }

    /// Record what the G is about to wait for. The G itself, just before it returns `Pending`.
    pub fn set_wait(&self, reason: WaitReason, obj: u64) {
        self.wait_reason.store(reason as u8, Ordering::Relaxed);
        self.wait_obj.store(obj, Ordering::Relaxed);
    }

    /// What the G waits for now, and on which object.
    pub fn wait(&self) -> (WaitReason, u64) {
        (WaitReason::from_u8(self.wait_reason.load(Ordering::Relaxed)), self.wait_obj.load(Ordering::Relaxed))
    }

    /// Poll the future once. Owner M only, in status RUNNING.
    pub(crate) fn poll(self: &Arc<Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        // SAFETY: the caller is the M that moved this G to RUNNING, which makes it the future's only user
        // (module comment, "The future's cell").
        let slot = unsafe { &mut *self.future.get() };
        match slot {
            Some(f) => f.as_mut().poll(cx),
            None => std::task::Poll::Ready(()),
        }
    }

    /// Drop the future (and with it the G's store, handles and wait-queue entries). Owner M after the future
    /// completed, or teardown after every M stopped.
    pub(crate) fn drop_future(&self) -> Option<GFuture> {
        // SAFETY: as for `poll`: the owner M of a dead G, or teardown with no M left, is the only user.
        unsafe { (*self.future.get()).take() }
    }
}

impl Wake for G {
    fn wake(self: Arc<Self>) {
        self.ready();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.ready();
    }
}

/// The waker of one poll of a G (see [`waker_ref`]); it borrows the M's reference to the G.
pub(crate) struct WakerRef<'a> {
    waker: std::task::Waker,
    _g: std::marker::PhantomData<&'a GRef>,
}

impl std::ops::Deref for WakerRef<'_> {
    type Target = std::task::Waker;
    fn deref(&self) -> &std::task::Waker {
        &self.waker
    }
}

/// A waker for `g` that lends the caller's reference instead of taking one: the M holds `g` across the
/// poll, so `Waker::from(g.clone())` would pay a locked increment and decrement on every hand-off for a
/// waker that is almost never kept. A future that keeps it clones it, which takes a reference of its own
/// (the owned vtable below), exactly as a waker made by `Waker::from` would.
pub(crate) fn waker_ref(g: &GRef) -> WakerRef<'_> {
    let raw = std::task::RawWaker::new(Arc::as_ptr(g).cast(), &BORROWED);
    // SAFETY: the vtables below uphold `RawWaker`'s contract for a pointer from `Arc::as_ptr` of a live `G`:
    // the borrowed one never releases the reference it does not own, and `WakerRef`'s lifetime keeps it
    // from outliving `g`.
    let waker = unsafe { std::task::Waker::from_raw(raw) };
    WakerRef { waker, _g: std::marker::PhantomData }
}

/// A waker that owns one strong count of the `Arc<G>` its pointer came from.
static OWNED: std::task::RawWakerVTable =
    std::task::RawWakerVTable::new(waker_clone, waker_wake_owned, waker_wake_by_ref, waker_drop_owned);
/// A waker that borrows a count some caller holds for the waker's whole life (see [`waker_ref`]).
static BORROWED: std::task::RawWakerVTable =
    std::task::RawWakerVTable::new(waker_clone, waker_wake_by_ref, waker_wake_by_ref, waker_drop_borrowed);

fn waker_clone(p: *const ()) -> std::task::RawWaker {
    // SAFETY: `p` came from `Arc::as_ptr` of a `G` that the cloned waker keeps alive (owned or borrowed),
    // so the count may be raised; the new waker owns what it raised.
    unsafe { Arc::increment_strong_count(p.cast::<G>()) };
    std::task::RawWaker::new(p, &OWNED)
}

fn waker_wake_owned(p: *const ()) {
    // SAFETY: an owned waker holds one strong count of this `Arc<G>`, which waking by value gives up.
    let g = unsafe { Arc::from_raw(p.cast::<G>()) };
    g.ready();
}

fn waker_wake_by_ref(p: *const ()) {
    // SAFETY: the waker (owned or borrowed) keeps the `G` alive for the call; `ManuallyDrop` leaves the count
    // as it was.
    let g = std::mem::ManuallyDrop::new(unsafe { Arc::from_raw(p.cast::<G>()) });
    g.ready();
}

fn waker_drop_owned(p: *const ()) {
    // SAFETY: an owned waker holds one strong count, released here.
    drop(unsafe { Arc::from_raw(p.cast::<G>()) });
}

fn waker_drop_borrowed(_: *const ()) {}

#[cfg(all(test, gmp_loom))]
mod loom_tests {
    use super::*;
    use loom::sync::Arc;
    use loom::sync::atomic::AtomicUsize;

    /// A waker racing with the M that parks the G: the G ends up queued exactly once, or parked with nobody
    /// owing it a wake-up — never lost, never twice.
    #[test]
    fn wake_racing_park_queues_exactly_once() {
        loom::model(|| {
            let st = Arc::new(GState::new());
            let queued = Arc::new(AtomicUsize::new(0));
            st.transition_to_running();
            let (st2, q2) = (st.clone(), queued.clone());
            let waker = loom::thread::spawn(move || {
                if st2.transition_to_runnable() {
                    q2.fetch_add(1, Ordering::SeqCst);
                }
            });
            if !st.transition_to_parked() {
                queued.fetch_add(1, Ordering::SeqCst);
            }
            waker.join().unwrap();
            assert_eq!(queued.load(Ordering::SeqCst), 1, "the G must be queued exactly once");
        });
    }

    /// An inspector (`inspect.rs`) takes a parked G and puts it back while a waker readies it: the G is
    /// queued exactly once, by the waker or by the inspector putting it back — never lost, never twice.
    #[test]
    fn wake_racing_an_inspection_queues_exactly_once() {
        loom::model(|| {
            let st = Arc::new(GState::new());
            st.transition_to_running();
            assert!(st.transition_to_parked());
            let queued = Arc::new(AtomicUsize::new(0));
            let (st2, q2) = (st.clone(), queued.clone());
            let waker = loom::thread::spawn(move || {
                if st2.transition_to_runnable() {
                    q2.fetch_add(1, Ordering::SeqCst);
                }
            });
            if st.take_parked() && !st.transition_to_parked() {
                queued.fetch_add(1, Ordering::SeqCst);
            }
            waker.join().unwrap();
            assert_eq!(queued.load(Ordering::SeqCst), 1, "the G must be queued exactly once");
        });
    }

    /// A waker that finds the G `RUNNABLE` (queued, not yet polled: readied earlier by someone else, or put
    /// back by an inspector) queues nothing, since the G is about to be polled: that poll must then see what
    /// the waker published before waking it (a sudog's outcome). Otherwise the G parks on an operation that
    /// has completed, and nobody is left to wake it. Both sides publish, then read what the other
    /// published (store buffering), so both must do it through read-modify-writes of the status.
    #[test]
    fn a_poll_after_a_wake_of_a_runnable_g_sees_what_the_waker_published() {
        loom::model(|| {
            let st = Arc::new(GState::new());
            let published = Arc::new(loom::sync::atomic::AtomicBool::new(false));
            let queued = Arc::new(AtomicUsize::new(0));
            let (st2, p2, q2) = (st.clone(), published.clone(), queued.clone());
            let waker = loom::thread::spawn(move || {
                p2.store(true, Ordering::Release);
                if st2.transition_to_runnable() {
                    q2.fetch_add(1, Ordering::SeqCst);
                }
            });
            // The M that dequeued the G polls it: it completes if it sees the outcome, else parks.
            st.transition_to_running();
            let parked = !published.load(Ordering::Acquire) && st.transition_to_parked();
            waker.join().unwrap();
            if parked {
                assert_eq!(queued.load(Ordering::SeqCst), 1, "the G parked on a completed operation: lost");
            }
        });
    }

    /// Two wakers of a parked G: exactly one of them queues it.
    #[test]
    fn two_wakers_queue_once() {
        loom::model(|| {
            let st = Arc::new(GState::new());
            st.transition_to_running();
            assert!(st.transition_to_parked());
            let queued = Arc::new(AtomicUsize::new(0));
            let hs: Vec<_> = (0..2)
                .map(|_| {
                    let (st, q) = (st.clone(), queued.clone());
                    loom::thread::spawn(move || {
                        if st.transition_to_runnable() {
                            q.fetch_add(1, Ordering::SeqCst);
                        }
                    })
                })
                .collect();
            for h in hs {
                h.join().unwrap();
            }
            assert_eq!(queued.load(Ordering::SeqCst), 1);
        });
    }
}
