//! wasm-gmp runs a WebAssembly program's green threads the way Go's runtime runs goroutines: every G is its
//! own wasmtime instance on a fiber, multiplexed onto OS threads (M) through `GOMAXPROCS` processors (P) with
//! local run queues, work stealing, and 10 ms preemption; Gs talk through Go-style channels and `select`.
//! The scheduler itself lives in the wasm-independent crate [`gmp_sched`]; this crate is the wasm side.
//!
//! # Embedding
//! ```no_run
//! use wasm_gmp::{Config, Runtime};
//!
//! let mut cfg = Config::default();
//! cfg.procs = 2;
//! cfg.args = vec!["sieve.wasm".into(), "100".into()];
//! let rt = Runtime::new(cfg);
//! let program = rt.load("sieve.wasm")?;
//! let exit = rt.run(&program)?;
//! std::process::exit(exit.code);
//! # Ok::<(), anyhow::Error>(())
//! ```
//!
//! # Glossary
//! - **G**: a green thread: a `Store` + instance of the program, run by `call_async` ([`gstore`]).
//! - **M**: an OS thread running Gs; **P**: the right to run Gs, `GOMAXPROCS` of them ([`gmp_sched`]).
//! - **handle**: a G-local number for a channel, like a file descriptor ([`handles`]).
//! - **cycle collector**: frees channels that only other channels' buffers reach ([`gc`]).
//! - **the ABI**: the `gmp` imports a guest calls, written down in `wit/` ([`abi`]).

pub mod abi;
pub mod cli;
pub mod engine;
pub mod gc;
pub mod gstore;
pub mod handles;
pub mod limits;
pub mod net;
pub mod runtime;
pub mod wasi;

pub use engine::EngineConfig;
pub use gmp_sched::blocking;
pub use gstore::GData;
pub use limits::{LimitExceeded, LimitKind, Limits};
pub use net::NetPolicy;
pub use runtime::{Capture, Config, Exit, Output, Program, ProgramBuilder, Runtime};
