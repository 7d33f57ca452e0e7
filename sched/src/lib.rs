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
//!   Gs, and Gs readied from outside any M.
//! - **sysmon** ([`sysmon`]) — a thread that ticks the engine epoch, flags overlong slices, prints schedtrace.
//! - Channels ([`chan`], [`select`]) park and ready Gs through [`current`] and [`G::ready`].
//! - Timers ([`timers`]) and the netpoller ([`netpoll`]) ready Gs when time passes or sockets become ready;
//!   an idle M sleeps in the netpoller until the next timer.
//! - Blocking calls ([`syscall`]) give their P away so the Gs queued behind them keep running.
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
//! `timeslice` and the preempted G goes to the global queue.
//!
//! # Termination
//! The embedder decides what ends a program (the wasm side exits when the main G returns) and calls
//! [`Sched::exit`]. The scheduler itself detects only one ending: every G blocked with nothing that could
//! wake one (see *checkdead* in [`idle`]), reported as [`Outcome::Deadlock`].

#![warn(missing_docs)]

pub mod chan;
pub mod g;
pub mod idle;
mod loom;
pub mod m;
pub mod netpoll;
pub mod p;
pub mod runq;
pub mod sched;
pub mod select;
mod steal;
pub mod syscall;
pub mod sysmon;
pub mod timers;

pub use chan::{Chan, Closed, RecvError, TryRecvError, TrySendError};
pub use g::{G, GFuture, GRef, WaitReason};
pub use m::{current, exiting, preempt_requested, yield_now};
pub use netpoll::{Dir, Netpoll, PollDesc, io_wait};
pub use sched::{Config, GDump, Hooks, Outcome, Sched};
pub use select::{Case, Select, Selected, select};
pub use syscall::blocking;
pub use timers::{Action, Timer, sleep};
