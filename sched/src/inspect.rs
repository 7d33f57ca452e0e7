//! Inspecting parked Gs: what a goroutine dump and the deadlock report show of each G beyond its wait
//! reason — its stack and what it holds — taken without the G's cooperation and without waking it.
//!
//! # The problem
//! A parked G's state lives inside its future: for the wasm side, a suspended fiber whose stack and whose
//! store (handle table included) only code running *inside* that future may read. Nothing outside may
//! touch the future while an M could poll it, and a parked G must not run: a dump that woke every G
//! would change the program it reports on, and at a deadlock there is no M left to run them.
//!
//! # Approaches rejected
//! - *Recording the stack whenever a G parks*: a backtrace costs microseconds, a park 0.2 µs.
//! - *Waking the G and letting it report from its next poll*: a spurious wake-up re-runs its wait (a
//!   channel operation that may now complete, on whichever M), and no M runs Gs at a deadlock.
//!
//! # The protocol: an inspection poll
//! 1. A future that can answer (the wasm side wraps every blocking ABI call in one) calls
//!    [`park_inspectable`] each time it returns `Pending`. An M clears the mark before every poll, so the
//!    mark says "parked in such a future" exactly while the G stays parked.
//! 2. The inspector takes the G as an M takes it to run it (`PARKED → RUNNING`): no waker can queue it and
//!    no M can poll it meanwhile. It re-reads the mark now that the G is its own.
//! 3. It polls the G once with [`inspecting`] true. The future sees that, hands over what it knows through
//!    [`inspected`] (the wasm side: its backtrace and the channels its store holds) and returns `Pending`
//!    *without* polling what it waits on: no channel operation happens, nothing is registered or lost.
//! 4. It puts the G back as an M parks it: parked again, or queued if a waker came while the inspector held
//!    it (that waker found it "running" and only marked it notified), or reaped if its group ended meanwhile.
//!
//! While the inspector holds the G it counts as awake (a waker that comes by only marks it notified, and
//! the inspector queues it in step 4), so no deadlock check sees a G asleep that a wake-up already reached;
//! step 4 puts it to sleep again as parking does. Its other accounting (a wait in a foreign future) is
//! untouched. Inspections are serialized
//! per scheduler, so two dumps never fight over a G; a G an M runs at that moment is shown without a stack,
//! as Go shows a goroutine running on another thread.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, Waker};

use crate::g::GRef;
use crate::m::Current;
use crate::sched::Sched;

/// What an inspection poll learned about a parked G.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inspection {
    /// Its stack, as the embedder formats it (the wasm side: one frame per line, the callee first).
    pub stack: String,
    /// The objects it holds, by id (the wasm side: every channel in its handle table): what the deadlock
    /// report needs to say who else could still complete a wait.
    pub holds: Vec<u64>,
    /// The objects its wait could complete on, by id (every case of a `select`; the wait reason names only
    /// the first).
    pub waits_on: Vec<u64>,
}

thread_local! {
    /// `Some` while this thread runs an inspection poll; the future being inspected fills it in.
    static INSPECTION: RefCell<Option<Option<Inspection>>> = const { RefCell::new(None) };
}

/// True while this thread polls a G only to inspect it (step 3): the future must answer through
/// [`inspected`] and return `Pending` without touching what it waits on.
pub fn inspecting() -> bool {
    INSPECTION.with(|i| i.borrow().is_some())
}

/// The inspected future's answer (step 3). Ignored outside an inspection poll.
pub fn inspected(found: Inspection) {
    INSPECTION.with(|i| {
        if let Some(slot) = i.borrow_mut().as_mut() {
            *slot = Some(found);
        }
    });
}

/// Called by a future each time it returns `Pending` (step 1): the G now parks in a future that answers an
/// inspection poll. Cheap: a thread-local read and a relaxed store.
pub fn park_inspectable() {
    Current::with_g(|g| g.inspectable.store(true, Ordering::Relaxed));
}

/// Clears [`INSPECTION`] on every exit from the poll, unwinding included.
struct Finish;

impl Drop for Finish {
    fn drop(&mut self) {
        INSPECTION.with(|i| *i.borrow_mut() = None);
    }
}

impl Sched {
    /// Inspect `g` if it is parked in a future that answers inspection polls (see the module comment);
    /// None if it is running, queued, finished or parked elsewhere. Any thread that is not inside a G's
    /// fiber (an M between polls, the embedder's, the G's own future once its wasm call has returned).
    pub fn inspect(self: &Arc<Self>, g: &GRef) -> Option<Inspection> {
        self.inspect_then(g, || ()).0
    }

    /// [`Sched::inspect`], then `read` once the G is put back but before any other inspector may take it:
    /// what `read` sees of the G's state is its own, not that of another dump holding it at that moment
    /// (which would make a parked G look running).
    pub(crate) fn inspect_then<R>(self: &Arc<Self>, g: &GRef, read: impl FnOnce() -> R) -> (Option<Inspection>, R) {
        let _scope = scope();
        // While the inspector holds the G, a waker finds it "running" and only marks it notified: nothing
        // counted it runnable yet. The scheduler-wide check (the only one that reads no G's `asleep`) must
        // not call that a deadlock; a group's check sees the G awake (below) until it is parked again.
        let _hold = self.cfg.checkdead.then(|| self.hold());
        let one_at_a_time = self.inspecting.lock();
        // Step 2. The mark is re-read once the G is ours: before that, an M may be running it.
        if !g.inspectable.load(Ordering::Relaxed) || !g.state.take_parked() {
            return (None, read());
        }
        let was_asleep = g.asleep.load(Ordering::Relaxed);
        g.note_woken();
        let found = if g.inspectable.load(Ordering::Relaxed) && !g.group.is_exiting() {
            // Step 3. The waker is the G itself, as for any poll; an inspected future registers nothing.
            INSPECTION.with(|i| *i.borrow_mut() = Some(None));
            let _finish = Finish;
            let waker = Waker::from(g.clone());
            let polled =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| g.poll(&mut Context::from_waker(&waker))));
            match polled {
                Ok(Poll::Pending) => INSPECTION.with(|i| i.borrow_mut().take().flatten()),
                // A future that marked itself inspectable and then finished or panicked is a bug on the
                // embedder's side; the G is handled as an M handles the same poll result.
                Ok(Poll::Ready(())) => {
                    drop(one_at_a_time);
                    self.gexit(g);
                    return (None, read());
                }
                Err(_) => {
                    drop(one_at_a_time);
                    let message = "the G's future panicked in an inspection poll".to_string();
                    g.group.finish(crate::sched::Outcome::HostPanic { gid: g.id(), message });
                    return (None, read());
                }
            }
        } else {
            None
        };
        // Step 4, as `after_poll` parks a G (`asleep` is published with `PARKED`), still one at a time (see
        // `read`). What it may set off (a deadlock check once the G sleeps again, a reap) inspects nothing
        // from here: `scope` defers those checks to its end.
        g.asleep.store(was_asleep, Ordering::Relaxed);
        if !g.state.transition_to_parked() {
            g.asleep.store(false, Ordering::Relaxed);
            // Its waker found it "running" and recorded nothing: the trace's unblock is ours to record.
            if let Some(t) = &self.tracer {
                self.trace_here(t, |track, flow| {
                    g.trace_flow.store(flow, Ordering::Relaxed);
                    crate::trace::Ev::Unblock { track, g: g.id(), by: crate::trace::By::Dump, flow }
                });
            }
            self.ready(g.clone());
        } else {
            if was_asleep {
                g.group.g_slept();
            }
            if g.group.is_exiting() {
                crate::group::Group::reap_one(g);
            }
        }
        let seen = read();
        drop(one_at_a_time);
        (found, seen)
    }
}

thread_local! {
    /// How many inspections (or dumps made of them) this thread is inside.
    static DEPTH: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// While inside an inspection or a dump made of them: a group found deadlocked is checked again when the
/// outermost one ends (its report would inspect the Gs again from inside, for each G put back asleep).
pub(crate) fn in_scope() -> bool {
    DEPTH.with(|d| d.get() > 0)
}

/// Enter an inspection scope; see [`in_scope`].
pub(crate) fn scope() -> Scope {
    DEPTH.with(|d| d.set(d.get() + 1));
    Scope
}

pub(crate) struct Scope;

impl Drop for Scope {
    fn drop(&mut self) {
        let outermost = DEPTH.with(|d| {
            d.set(d.get() - 1);
            d.get() == 0
        });
        if outermost {
            crate::group::Group::check_owed_deaths();
        }
    }
}
