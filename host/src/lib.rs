//! wasm-gmp runs a WebAssembly program's green threads the way Go's runtime runs goroutines: every G is its
//! own wasmtime instance on a fiber, multiplexed onto OS threads (M) through `GOMAXPROCS` processors (P) with
//! local run queues, work stealing, and 10 ms preemption; Gs talk through Go-style channels and `select`.
//! The scheduler itself lives in the wasm-independent crate [`gmp_sched`]; this crate is the wasm side.
//!
//! # Embedding
//! One [`Runtime`] is one scheduler; start as many programs on it as you like, each with its own
//! [`RunOptions`] (arguments, output, limits, deadline, the embedder's state), and wait for each with its
//! [`RunHandle`], blocking or as a future:
//!
//! ```
//! use std::time::Duration;
//! use wasm_gmp::{Config, ExitKind, Program, RunOptions, Runtime};
//!
//! let rt = Runtime::new(Config { procs: 2, ..Config::default() })?;
//! // Usually `rt.load("app.wasm")?`, a program built with the guest SDK; here, two tiny ones in WAT.
//! let engine = &rt.config().engine;
//! let quick = Program::from_bytes(engine, br#"(module (memory (export "memory") 1)
//!     (func (export "_start")) (func (export "gmp_entry") (param i32 i32 i32)))"#)?;
//! let spin = Program::from_bytes(engine, br#"(module (memory (export "memory") 1)
//!     (func (export "_start") (loop (br 0))) (func (export "gmp_entry") (param i32 i32 i32)))"#)?;
//!
//! let runaway = rt.start(&spin, RunOptions::default().deadline(Duration::from_millis(50)))?;
//! let fine = rt.start(&quick, RunOptions::default())?;
//! assert_eq!(fine.wait().kind, ExitKind::Returned);
//! let exit = runaway.wait();
//! assert_eq!((exit.kind, exit.code), (ExitKind::Deadline, 124));
//! # Ok::<(), anyhow::Error>(())
//! ```
//!
//! # Glossary
//! - **G**: a green thread: a `Store` + instance of the program, run by `call_async` ([`gstore`]).
//! - **M**: an OS thread running Gs; **P**: the right to run Gs, `GOMAXPROCS` of them ([`gmp_sched`]).
//! - **handle**: a G-local number for a channel, like a file descriptor ([`handles`]).
//! - **cycle collector**: frees channels that only other channels' buffers reach ([`gc`]).
//! - **the ABI**: the `gmp` imports a guest calls, written down in `wit/` ([`abi`]).

#![warn(missing_docs)]

mod abi;
#[doc(hidden)]
pub mod cli;
mod dump;
mod engine;
mod gc;
mod gstore;
mod handles;
mod hostchan;
mod limits;
mod metrics;
mod net;
mod program;
mod run;
mod runtime;
mod stdin;
mod trace;
mod wasi;

pub use dump::Dump;
pub use engine::{
    CowImages, DEFAULT_MAX_GS, EngineConfig, LimitError, MAPS_PER_G, MAPS_PER_G_COW, MAPS_PER_STACK_SLOT,
    MAPS_RESERVED, MAX_MEMORY, MEMORY_GUARD, WASM_PAGE, default_cache_dir, map_count_for, max_gs_for_map_count,
    max_map_count,
};
pub use gc::ChanStats;
pub use gmp_message as message;
pub use gmp_message::{Message, message};
/// The scheduler's metrics ([`Runtime::metrics`], [`Metrics::sched`]).
pub use gmp_sched::Metrics as SchedMetrics;
pub use gmp_sched::{GDump, GStatus, Inspection, PMetrics, WaitReason, blocking};
pub use gstore::GData;
pub use hostchan::{Chan, NamedChan, RecvError, SendError, TryRecvError, TrySendError};
pub use limits::{LimitExceeded, LimitKind, Limits, MSG_OVERHEAD, OBJ_OVERHEAD, Usage};
pub use metrics::{Metrics, ProgramMetrics};
pub use net::NetPolicy;
pub use program::{LARGE_SHADOW_STACK, MAX_MODULE_FILE, Program, ProgramBuilder};
pub use run::{Capture, Exit, ExitKind, Input, Output, RunHandle, RunOptions, SharedWriter, Traceback};
pub use runtime::{Config, MAX_PERIOD, MAX_PROCS, Runtime};
pub use stdin::SharedReader;
pub use trace::TraceOutput;
