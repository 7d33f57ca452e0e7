//! P: a processor, the right to run Gs. `GOMAXPROCS` of them exist for a scheduler's life.
//!
//! A P is split by who may touch it:
//! - [`P`], owned by value: the M holding it (or the idle list, when none does) is its only user. It holds the
//!   owner end of the local run queue and the P's random stream. Handing a P to another M moves the box, so
//!   "only the owner touches it" is enforced by the compiler, not by a comment.
//! - [`PShared`], in `Sched::ps`, readable by all: the steal end of the queue, `runnext`, and what sysmon
//!   watches to preempt (the scheduling tick, the preemption request; see *Preemption* in `sysmon.rs`).

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use crate::g::GRef;
use crate::loom::AtomicU8;
use crate::runq::{LocalQueue, RunNext};
use crate::syscall::SyscallSlot;
use crossbeam_deque::Stealer;
use crossbeam_utils::CachePadded;

use crate::metrics::Counters;

/// The owner's part of a P.
pub struct P {
    /// Index into `Sched::ps`.
    pub id: usize,
    /// The owner end of the local run queue.
    pub runq: LocalQueue,
    rng: u64,
}

impl P {
    pub(crate) fn new(id: usize) -> (Box<P>, PShared) {
        let (runq, stealer) = LocalQueue::new();
        // Any odd seed works for xorshift; mix the id so Ps pick different victims.
        let rng = 0x9E37_79B9_7F4A_7C15u64.wrapping_mul(id as u64 + 1) | 1;
        (Box::new(P { id, runq, rng }), PShared::new(stealer))
    }

    /// Owner only: the next number of the P's xorshift stream (victim order, nothing that needs quality).
    pub fn fastrand(&mut self) -> u32 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        (x >> 32) as u32
    }
}

/// The part of a P that other Ms and sysmon may touch.
pub struct PShared {
    /// How other Ps steal from this P's local queue.
    pub stealer: Stealer<GRef>,
    /// The G to run next, ahead of the local queue. Owner puts; owner and stealers take.
    pub runnext: RunNext,
    /// Time slices started on this P (Go's `schedtick`): moved by the owner each time it runs a G on a fresh
    /// slice, never by a G that inherits the slice (`runnext`). sysmon preempts when it sees the same tick for
    /// a whole timeslice, so this is the one fact the rule rests on, whatever path brought the G here.
    /// Every 61st tick the P also looks at the global queue first.
    pub schedtick: AtomicU32,
    /// Set by sysmon when the slice of the G on this P is used up; read by that G's epoch check
    /// (`preempt_requested`); cleared by the owner whenever it runs a G, so a request meant for a G that
    /// has since parked never hits the next one (sysmon asks again if the slice really is over).
    pub preempt: AtomicBool,
    /// [`P_IDLE`], [`P_RUNNING`] or [`P_SYSCALL`]. Changed by the holder of the P; into and out of
    /// `P_SYSCALL` only under the syscall slot's lock (see `SyscallSlot`).
    pub status: AtomicU8,
    /// While the holder is in a blocking call: the P itself, parked so that sysmon can hand it to another M.
    pub(crate) syscall: SyscallSlot,
    /// What happened on this P, for [`crate::Sched::metrics`]: written by the P's holder only, on a cache
    /// line of its own so that neither thieves reading `stealer` nor sysmon reading `schedtick` share it
    /// (see `metrics.rs`).
    pub(crate) stats: CachePadded<Counters>,
}

/// No M holds the P: it is in the idle list.
pub const P_IDLE: u8 = 0;
/// An M holds the P and runs Gs on it.
pub const P_RUNNING: u8 = 1;
/// The M holding the P is in a blocking call; sysmon may take the P.
pub const P_SYSCALL: u8 = 2;

impl PShared {
    fn new(stealer: Stealer<GRef>) -> PShared {
        PShared {
            stealer,
            runnext: RunNext::default(),
            schedtick: AtomicU32::new(0),
            preempt: AtomicBool::new(false),
            status: AtomicU8::new(P_IDLE),
            syscall: SyscallSlot::default(),
            stats: CachePadded::new(Counters::default()),
        }
    }

    /// Any thread: Gs waiting on this P (queue plus `runnext`), for traces and the dead-check.
    pub fn runq_len(&self) -> usize {
        self.stealer.len() + usize::from(self.runnext.is_occupied())
    }

    /// Any thread.
    pub fn has_work(&self) -> bool {
        !self.stealer.is_empty() || self.runnext.is_occupied()
    }

    /// Owner only: a G is about to run on this P; `fresh` when it starts a new time slice rather than
    /// inheriting the running one. Returns the tick now in force.
    ///
    /// Relaxed on purpose: this is on every hand-off, and a locked instruction here measurably slows
    /// channel traffic between two Ps. The price is that sysmon may, rarely, see a stale tick and flag a
    /// slice that has just begun (see `sysmon::preempt_long_slices`): that G yields once, early — what a
    /// preemption costs anyway, and what Go's `preemptone` risks too.
    pub(crate) fn begin_run(&self, fresh: bool) -> u32 {
        let mut tick = self.schedtick.load(Ordering::Relaxed);
        if fresh {
            tick = tick.wrapping_add(1);
            self.schedtick.store(tick, Ordering::Relaxed);
        }
        // A load first: the flag is almost always down.
        if self.preempt.load(Ordering::Relaxed) {
            self.preempt.store(false, Ordering::Relaxed);
        }
        tick
    }
}
