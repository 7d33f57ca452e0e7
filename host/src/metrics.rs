//! Runtime metrics for an embedder ([`RunHandle::metrics`], [`Runtime::metrics`]) and for `wasm-gmp run
//! --stats`: the scheduler's counters and gauges ([`gmp_sched::Metrics`], kept per P and summed when read;
//! see `gmp_sched::metrics`) plus what one program holds on the wasm side.
//!
//! # Two scopes
//! The scheduler is the runtime's, shared by every program it runs (as one Go process's runtime is shared by
//! all its goroutines), so its numbers — queues, steals, preemptions, busy time per P, channel operations —
//! are the runtime's. What belongs to one program — its Gs, its CPU time, the linear memory of its Gs, the
//! message bytes the host holds for it, its channels — is read from that run: the same counters its limits
//! are checked against (`limits.rs`), so the numbers and the limits cannot disagree. With one program per
//! runtime (the CLI) the two scopes coincide.
//!
//! # Names
//! Each value has a name in the shape of Go's `runtime/metrics` (`/path:unit`): Go's own name where Go has
//! that metric (`/sched/goroutines:goroutines`, `/sched/gomaxprocs:threads`,
//! `/sched/goroutines-created:goroutines`, `/cpu/classes/user:cpu-seconds`), else one under `/gmp/`.
//! [`Metrics::named`] lists them; `--stats` prints that list.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::limits::Usage;
use crate::run::{RunHandle, RunShared};
use crate::runtime::Runtime;

/// One program's share: what its Gs did and what the host holds for it now.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProgramMetrics {
    /// Gs the program started, its main G included. `/gmp/program/goroutines-created:goroutines`.
    pub gs_started: u64,
    /// Its Gs alive now. `/gmp/program/goroutines:goroutines`.
    pub gs_live: u64,
    /// The most of its Gs alive at once (as seen at each spawn). `/gmp/program/goroutines-peak:goroutines`.
    pub gs_peak: u64,
    /// CPU time its Gs used (finished polls). `/gmp/program/cpu:cpu-seconds`.
    pub cpu_time: Duration,
    /// What it holds against its limits now: the linear memory of its live Gs
    /// (`/gmp/program/memory/linear:bytes`), message bytes held by the host in buffers, blocked senders and
    /// select cases (`/gmp/program/memory/messages:bytes`), handles (`/gmp/program/handles:handles`) and
    /// pending timers (`/gmp/program/timers:timers`).
    pub usage: Usage,
    /// The most linear memory its live Gs held at once. `/gmp/program/memory/linear-peak:bytes`.
    pub memory_peak: u64,
    /// The most message bytes the host held for it at once. `/gmp/program/memory/messages-peak:bytes`.
    pub buffered_peak: u64,
    /// Its channels alive now. `/gmp/program/channels:channels`.
    pub chans_live: u64,
    /// Channels its cycle collector freed. `/gmp/program/channels-collected:channels`.
    pub chans_collected: u64,
}

/// The runtime's scheduler metrics and one program's (see the module comment for the two scopes).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Metrics {
    /// The scheduler's: shared by every program of the runtime.
    pub sched: gmp_sched::Metrics,
    /// The program's own.
    pub program: ProgramMetrics,
}

impl Metrics {
    /// Every value under its name (Go's where Go has the metric), scheduler first, in a fixed order.
    pub fn named(&self) -> Vec<(String, String)> {
        let p = &self.program;
        let mut v = self.sched.named();
        v.extend(
            [
                ("/gmp/program/goroutines-created:goroutines", p.gs_started.to_string()),
                ("/gmp/program/goroutines:goroutines", p.gs_live.to_string()),
                ("/gmp/program/goroutines-peak:goroutines", p.gs_peak.to_string()),
                ("/gmp/program/cpu:cpu-seconds", format!("{:.6}", p.cpu_time.as_secs_f64())),
                ("/gmp/program/memory/linear:bytes", p.usage.memory.to_string()),
                ("/gmp/program/memory/linear-peak:bytes", p.memory_peak.to_string()),
                ("/gmp/program/memory/messages:bytes", p.usage.buffered.to_string()),
                ("/gmp/program/memory/messages-peak:bytes", p.buffered_peak.to_string()),
                ("/gmp/program/handles:handles", p.usage.handles.to_string()),
                ("/gmp/program/timers:timers", p.usage.timers.to_string()),
                ("/gmp/program/channels:channels", p.chans_live.to_string()),
                ("/gmp/program/channels-collected:channels", p.chans_collected.to_string()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v)),
        );
        v
    }

    /// What `--stats` prints: one `name value` line per metric, values aligned.
    pub fn report(&self) -> String {
        let named = self.named();
        let w = named.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        named.iter().map(|(k, v)| format!("{k:<w$}  {v}\n")).collect()
    }
}

/// A program's G counts, kept by its run: bumped at each spawn (never on a channel path).
#[derive(Default)]
pub(crate) struct GCounts {
    started: AtomicU64,
    peak: AtomicU64,
}

impl GCounts {
    /// A G of the program was just spawned; `live` counts it.
    pub(crate) fn spawned(&self, live: usize) {
        self.started.fetch_add(1, Ordering::Relaxed);
        self.peak.fetch_max(live as u64, Ordering::Relaxed);
    }
}

impl RunShared {
    pub(crate) fn metrics(&self) -> ProgramMetrics {
        let chans = self.gc.stats();
        let gs_live = self.group.live() as u64;
        let usage = self.limits.usage();
        let (memory_peak, buffered_peak) = self.limits.peaks();
        ProgramMetrics {
            gs_started: self.gcounts.started.load(Ordering::Relaxed),
            gs_live,
            gs_peak: self.gcounts.peak.load(Ordering::Relaxed).max(gs_live),
            cpu_time: self.group.cpu_time(),
            usage,
            memory_peak: memory_peak.max(usage.memory),
            buffered_peak: buffered_peak.max(usage.buffered),
            chans_live: chans.live() as u64,
            chans_collected: chans.collected(),
        }
    }
}

impl RunHandle {
    /// The runtime's scheduler metrics and this program's own, now (see [`Metrics`]). Any time, from any
    /// thread, during the run or after it; it reads counters and never stops a G.
    ///
    /// ```
    /// use wasm_gmp::{Config, Program, RunOptions, Runtime};
    ///
    /// let rt = Runtime::new(Config::default())?;
    /// let quick = Program::from_bytes(&rt.config().engine, br#"(module (memory (export "memory") 1)
    ///     (func (export "_start")) (func (export "gmp_entry") (param i32 i32 i32)))"#)?;
    /// let run = rt.start(&quick, RunOptions::default())?;
    /// run.wait();
    /// let m = run.metrics();
    /// assert_eq!((m.program.gs_started, m.program.gs_live), (1, 0));
    /// assert!(m.sched.gs_started >= 1);
    /// # Ok::<(), anyhow::Error>(())
    /// ```
    pub fn metrics(&self) -> Metrics {
        Metrics { sched: self.run.sched.metrics(), program: self.run.metrics() }
    }
}

impl Runtime {
    /// The scheduler's metrics: every program of the runtime together (see [`gmp_sched::Metrics`]).
    pub fn metrics(&self) -> gmp_sched::Metrics {
        self.sched().metrics()
    }
}
