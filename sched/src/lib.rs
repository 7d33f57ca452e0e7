//! The scheduler core of wasm-gmp: Go's G/M/P scheduler and Go's channels, over plain futures.
//!
//! This crate knows nothing of WebAssembly. A **G** is "a future plus its bookkeeping"; the wasm side
//! (`wasm-gmp`) makes each G's future the `call_async` of a wasmtime instance, but everything here is tested
//! with ordinary futures, and the lock-free parts with loom (`RUSTFLAGS="--cfg gmp_loom"`). Keeping it a crate
//! of its own lets loom build it in seconds and lets the compiler enforce that independence.
//!
//! # The problem
//! Run many green threads on few OS threads, with Go's semantics: a blocked G costs no thread, a runnable G
//! runs soon, a G that computes forever cannot starve the others, and idle threads sleep instead of spinning.
//!
//! # Approaches rejected
//! - *One global queue under a lock* (a classic thread pool): every spawn and wake-up contends on one lock.
//! - *A work-stealing executor with thread-per-core and no P* (tokio's shape): workable, but a thread that
//!   blocks in a host call takes its queue with it. Go separates the queue (**P**) from the thread (**M**) so a
//!   P can be handed to another M; we keep that split so blocking host calls can give their P away.
//! - *Preempting by signals*: wasm code cannot be interrupted safely at arbitrary points; wasmtime's epoch
//!   checks at loop back-edges and function entries give safe points for free, so sysmon only has to tick the
//!   epoch and flag the P whose G overstayed (see *Preemption* in [`sysmon`]).
//!
//! # The model
//! - [`G`] — a green thread: its future, its status ([`g::GState`]), what it waits on ([`WaitReason`]).
//! - **P** ([`p`]) — a processor: a bounded local run queue, a `runnext` slot, a scheduling tick. `GOMAXPROCS`
//!   of them. Only the M holding a P runs Gs. The parts others may touch (the steal end of the queue, `runnext`,
//!   the preemption flag) live in [`p::PShared`].
//! - **M** ([`m`]) — an OS thread. It holds at most one P, runs `schedule` → `find_runnable` → `execute`, and
//!   parks when there is nothing to do.
//! - The global run queue ([`runq::GlobalQueue`]) takes overflow from full local queues, preempted and yielding
//!   Gs (unless it is empty and their P's queue is not), and Gs readied from outside any M.
//! - **sysmon** ([`sysmon`]) — a thread that ticks the engine epoch, flags overlong slices, prints schedtrace.
//! - Channels ([`chan`], [`select`]) park and ready Gs through [`current`] and [`G::ready`].
//! - Timers ([`timers`]) and the netpoller ([`netpoll`]) ready Gs when time passes or sockets become ready;
//!   an idle M sleeps in the netpoller until the next timer.
//! - Blocking calls ([`syscall`]) give their P away so the Gs queued behind them keep running.
//! - The execution trace ([`trace`]): per-M event buffers, written as Trace Event Format JSON at the end.
//! - Metrics ([`metrics`]): counters kept per P by its holder, summed when read ([`Sched::metrics`]).
//!
//! # Scheduling, in Go's order (`find_runnable`, see [`m`])
//! 1. Every 61st tick of the P, the global queue first, so a busy local queue cannot starve it.
//! 2. `runnext`, then the local queue.
//! 3. The global queue (a batch of `len / GOMAXPROCS + 1`).
//! 4. The netpoller, without blocking, if some G waits on a socket (due timers run before step 1).
//! 5. Stealing: four rounds over the other Ps in random order, taking half a victim's queue; the last round
//!    may take a victim's `runnext`. Only a bounded number of Ms spin (see *Spinning Ms* in [`idle`]).
//! 6. Nothing: release the P, re-check every queue once more (the *delicate dance*), then block in the
//!    netpoller until the next timer if anything may come from there, else park the M.
//!
//! A G readied by another G goes to the waker's `runnext` and inherits the rest of its time slice, so a
//! ping-pong pair runs back to back without letting the pair starve others: the slice still ends after
//! `timeslice` and the preempted G queues behind everyone runnable.
//!
//! # Who wakes whom
//! Every way a G becomes runnable, against every way an M goes to sleep: who is responsible for an M
//! running it, and what keeps that wake-up from being lost. A rule that must hold on every path (preemption,
//! the deadlock report) is stated on what every path shares, never patched into one.
//!
//! | a G becomes runnable by | it goes to | who makes sure an M runs it |
//! |---|---|---|
//! | `spawn` from a G, a channel / select completing, `ready` from a G | the waker's P: `runnext` (inheriting the slice) | that P's M, when the waker parks or yields; `wakep` starts a spinner to steal if a P is idle |
//! | `spawn` or `ready` from outside any M (host thread, embedder) | global queue | `wakep`; every M giving its P up re-checks the global queue (*delicate dance*, `idle.rs`) |
//! | a timer, fired by an M at the top of `find_runnable` | that M's P | that M |
//! | a timer, fired by the M blocked in the poller or by sysmon | the M's new P, or the global queue | that M, or `wakep`; with no P idle, sysmon preempts the oldest slice for it |
//! | the netpoller (non-blocking poll in `find_runnable`, the blocked M, sysmon every 10 ms) | as for timers | as for timers |
//! | preemption or `yield_now` | global queue, or its P's tail while the global queue is empty and that P has work (timers already due fired first) | `wakep`; the 61st-tick check keeps it from starving |
//! | a steal | the thief's P | the thief; a spinner that finds work and was the last spinner calls `wakep` |
//! | an inspection (a goroutine dump) while the G was held | as for the waker's path: the waker found it "running" and only marked it notified | the inspector, putting it back (`Sched::inspect`, step 4; `wake_racing_an_inspection_queues_exactly_once`) |
//! | return from a blocking call | continues on its M: the P kept in the syscall slot, an idle P, or the next P anyone gives up (`Idle::msyscall`) | `exitsyscall`; `pidle_put` and `yield_p_to_syscall_waiter` serve waiting Ms first |
//!
//! | an M sleeps by | woken by | the handshake that loses no wake-up (model) |
//! |---|---|---|
//! | `stopm`: on the idle list, waiting on its `M` | `startm` (from `wakep`), the program's end | lock-then-check vs. lock-then-hand (`loom_stopm_vs_startm_vs_exit_never_strands_an_m`) |
//! | spinning, then giving its P up | — (it re-checks) | `nmspinning`/`npidle` vs. the queue (`loom_spinner_giving_up_sees_a_ready_or_is_woken`, `loom_idle_m_parking_sees_an_outside_ready_or_is_woken`, `loom_concurrent_wakeps_start_one_spinner`) |
//! | blocked in the poller (epoll) until the next timer | a socket, the timeout, a new earlier timer, the program's end | claim before reading `next_when` (`loom_poller_claim_vs_added_timer_never_oversleeps`) |
//! | blocked in the poller on the futex (no socket waiter; µs precision) | the timeout, a new earlier timer, a new socket waiter, the end | `deaf` vs. the waiter count (`loom_deaf_sleeper_vs_new_socket_waiter`) |
//! | back from a blocking call, waiting for a P (`Idle::msyscall`) | the next P given up, an M about to schedule, the end | slot lock (`loom_exitsyscall_vs_retake_hands_the_p_to_exactly_one`, `loom_m_back_from_a_syscall_always_gets_the_retaken_p`) |
//! | sysmon, with every P idle | the first P to get busy, the next schedtrace line | `sleeping` vs. `npidle` (see `sysmon.rs`) |
//!
//! A G's own wake-up has its models in `g.rs` and `chan.rs`: a waker against the M parking the G
//! (`wake_racing_park_queues_exactly_once`), against the M about to poll a G it finds queued
//! (`a_poll_after_a_wake_of_a_runnable_g_sees_what_the_waker_published`: both sides write the status, so
//! the poll sees the waker's outcome), and two completers of one blocked operation
//! (`loom_outcome_is_handed_over_once`).
//!
//! And the one "sleep" that must not happen: *checkdead* calls the program deadlocked only when nothing can
//! wake a G. Sources outside the Gs (pending timers, socket waiters, `Hold`s, Gs in foreign futures) are
//! uncounted only *after* the G they ready is queued, and checkdead reads the counts before the queues
//! (`loom_checkdead_vs_outside_wake_never_reports_a_readied_g`). Every future of ours re-states its wait
//! reason on each `Pending`, so a spurious re-poll never passes for a foreign future.
//!
//! # Lock order
//! A lock may be taken while holding only locks above it in this list; none is held across a poll of a G.
//! 1. A channel's lock (several: in address order, as `select` takes them). A sudog's outcome is a lock-free
//!    one-shot slot (`chan.rs`). Gs are readied only after every channel lock is released.
//! 2. `Sched::idle` (idle Ps, idle Ms, syscall waiters), then: an `M`'s hand-off lock, the outcome lock,
//!    a registry shard (the deadlock dump), sysmon's lock (`on_p_busy`).
//! 3. The netpoller's poll lock, then its descriptor table, then a descriptor side's lock.
//! 4. `Sched::inspecting`, held across one inspection poll (a dump): under it, only the locks a parked G's
//!    future takes to answer (the wasm side's name cache). The G is put back after it is released.
//! 5. Leaves, never held while taking another: the timer heap (actions run after it is released), a P's
//!    syscall slot, the poller's futex flag, the thread list, the tracer's buffers (see `trace.rs`).
//!
//! # Termination
//! The embedder decides what ends a program (the wasm side exits when the main G returns) and calls
//! [`Sched::exit`]. The scheduler itself detects only one ending: every G blocked with nothing that could
//! wake one (see *checkdead* in [`idle`]), reported as [`Outcome::Deadlock`].
//!
//! # Many programs on one scheduler
//! An embedder that runs several programs at once (as one Go process runs all its goroutines) gives each
//! its [`Group`]: the group ends on its own ([`Group::finish`] drops its parked Gs at once and stops its
//! running ones at their next safe point), reports its own deadlock (counted per group, since the Ms never
//! all sleep while another program runs; see [`group`]), and sums its CPU time. Such an embedder turns the
//! scheduler-wide check off ([`Config::checkdead`]). A G readied on any path wakes in its group by the one
//! `PARKED → RUNNABLE` transition every path shares (`G::ready`).

#![warn(missing_docs)]

pub mod chan;
pub mod g;
pub mod group;
pub mod idle;
pub mod inspect;
mod loom;
pub mod m;
pub mod metrics;
pub mod netpoll;
pub mod p;
pub mod runq;
pub mod sched;
pub mod select;
mod steal;
pub mod syscall;
pub mod sysmon;
pub mod timers;
pub mod trace;

pub use chan::{Chan, Closed, RecvError, TryRecvError, TrySendError};
pub use g::{G, GFuture, GRef, GStatus, WaitReason};
pub use group::{Group, GroupHold};
pub use inspect::{Inspection, inspected, inspecting, park_inspectable};
pub use m::{current, current_poll_time, exiting, preempt_requested, preempt_yield, yield_now};
pub use metrics::{Metrics, PMetrics};
pub use netpoll::{Dir, Netpoll, PollDesc, io_wait};
pub use sched::{Config, GDump, Hooks, Outcome, Sched};
pub use select::{Case, Select, Selected, select};
pub use syscall::blocking;
pub use timers::{Action, Timer, sleep};
pub use trace::Trace;
