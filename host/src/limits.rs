//! Per-program limits: everything a guest can make the host allocate is bounded, and crossing a bound ends
//! the G that crossed it with a [`LimitExceeded`] naming the limit, the value reached, and the setting that
//! raises it.
//!
//! # The problem
//! A hostile guest is a normal input. Without bounds, one G looping `chan_new`, `handle_dup` or `timer_new`
//! grew the host past 2 GiB in 3–5 s, and Gs each growing their linear memory to 64 MiB reached 4 GiB in 12 s.
//! Every object a guest creates must therefore be counted where it is created and uncounted where the host
//! lets go of it, and the counts are per *program*: one run's `RunShared`, shared by all its Gs.
//!
//! # Types
//! - [`Limits`]: the bounds, part of `Config`; its defaults are explained field by field.
//! - [`LimitKind`]: which bound, with the `Limits` field and the CLI flag that raise it.
//! - [`LimitExceeded`]: the error a G ends with (the trap of its ABI call or of its memory growth).
//! - [`LimitState`] (crate-private): the program's counters, one per bound, held by `RunShared`.
//! - [`MsgCharge`], [`TimerCharge`]: drop guards that give back what a message or a timer was counted as.
//! - [`MemAccount`]: a G's wasmtime `ResourceLimiter`: its share of the program's linear memory.
//!
//! # Where each bound is enforced, and when a count goes down
//! | bound | counted | uncounted |
//! |---|---|---|
//! | `max_memory_per_g`, `max_memory_total` | `MemAccount::memory_growing`: instantiation (the initial size) and every `memory.grow` | the G's store dropped (`MemAccount`'s drop) |
//! | `max_handles_per_g`, `max_handles_total` | `HandleTable::insert` (every way a handle is made) | `HandleTable::remove`, the table dropped with its G |
//! | `max_buffered_bytes` | `read_msg`: the bytes are copied out of the sender's memory | the message dropped, wherever: delivered, unchosen select case, closed channel, freed buffer ([`MsgCharge`]'s drop) |
//! | `max_timers` | `timer_new`, `timer_after` | the scheduler and every handle let go of the timer ([`TimerCharge`], owned by the timer's action) |
//! | `max_message` | `read_msg` | — |
//!
//! A message is counted from the moment the host holds a copy, not only while it sits in a buffer: a
//! `select` with 4,096 send cases holds 4,096 copies before any is chosen, a blocked sender's message is
//! queued host side, and a received message that did not fit stays pending in its G. All of that is host
//! memory a guest controls, so all of it is counted, once (the charge moves with the message and is given
//! back exactly once, by its drop). A freed channel frees its buffer, so nothing stays counted after its
//! channel is gone, whether a G or the cycle collector (`gc.rs`) freed it.
//!
//! # Why the G ends, and how it is reported
//! A limit is a property of the program, not a condition a Go program can handle (Go has no error for "too
//! many channels"; it runs out of memory and dies with `fatal error: runtime: out of memory`). So crossing
//! one ends the G with a trap, and `gstore.rs`'s `finish` reports it as Go reports a fatal error:
//! `fatal error: <the limit>` with the G's backtrace, exit status 2. Memory growth past a limit traps too
//! (the limiter returns `Err`) instead of returning -1: a guest allocator that sees -1 aborts with a less
//! useful message, or worse, keeps trying.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::engine::{EngineConfig, MAX_MEMORY, WASM_PAGE};

/// What a message costs besides its payload: its slot in a channel's buffer (a `Msg`, 80 bytes), twice over
/// because a buffer grows by doubling. Counting it makes a flood of empty messages as bounded as a flood of
/// large ones: 10 million empty messages are 10 million times this, not 0. (`handles.rs` checks at compile
/// time that a `Msg` still fits.)
pub const MSG_OVERHEAD: u64 = 192;

/// What each object attached to a message costs: its reference in the message, and, when the message holds
/// the last reference, the object itself (a channel is about 200 bytes), which then lives only in buffers.
pub const OBJ_OVERHEAD: u64 = 256;

/// The per-program bounds. `Limits::default()` is what `wasm-gmp run` does without flags.
///
/// The defaults are sized so that one hostile program cannot take down a machine of a few GiB upwards
/// (24 GiB was the machine they were tested on), while a Go-style program (thousands of Gs, channels and
/// timers, megabytes of messages in flight) never meets them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Linear memory one G may grow to, in bytes. A G's memory cannot grow past the engine's
    /// `EngineConfig::max_memory` (the pool's reservation per G) in any case, so a larger value means that
    /// reservation. Default: `u64::MAX`, that is the reservation itself, whatever the engine is configured
    /// with (64 MiB by default: a G is a goroutine, and 64 MiB is a thousand times what one usually needs).
    pub max_memory_per_g: u64,
    /// Linear memory summed over the program's live Gs, in bytes. Default: half of the machine's memory (the
    /// smaller of `MemTotal` in `/proc/meminfo` and the cgroup's `memory.max`), or 4 GiB when neither can
    /// be read. Half, because linear memory is by far the largest thing a guest can make the host hold, and
    /// the other half is for everything else (the host's own structures, other processes); a program that
    /// legitimately needs more is a program to give its own flag.
    pub max_memory_total: u64,
    /// Handles one G may hold at once. Default 100,000: a G is one strand of a program, and a strand
    /// holding more than a hundred thousand channels, timers and sockets at once is a leak (Linux gives a
    /// process 1,024 file descriptors by default). At about 250 bytes a handle (a table slot plus, at worst,
    /// its own channel) that is some 25 MiB of host memory.
    pub max_handles_per_g: usize,
    /// Handles all the program's Gs may hold together. Default 1,000,000: 70 per G at the ~15,000 Gs the
    /// pool allows by default, and at most some 250 MiB of host memory.
    pub max_handles_total: usize,
    /// Bytes of messages the host may hold for the program: in channel buffers, queued with blocked
    /// senders, in send cases of selects, pending in receivers; each message counted as its payload plus
    /// [`MSG_OVERHEAD`] plus [`OBJ_OVERHEAD`] per attached handle. Default 1 GiB: 64 messages of the
    /// largest size (16 MiB), or some 5 million small ones, in flight at once.
    pub max_buffered_bytes: u64,
    /// Timers and tickers of the program that the host still holds: created by `timer_new` or `timer_after`
    /// and not yet both done (fired, or stopped and dropped from the timer heap) and closed (closing the last
    /// handle of a `timer_new` timer stops it). Default 1,000,000: a timer
    /// costs about 350 bytes with its channel, so at most some 350 MiB; Go-style code that calls `after`
    /// in a loop keeps a timer per iteration until it fires (its handles closed), so this is ten times the
    /// handle limit per G.
    pub max_timers: usize,
    /// Largest message a channel carries, in bytes. Default 16 MiB.
    pub max_message: usize,
    /// Gs of the program alive at once. The engine's pool is shared by every program of a runtime; this is
    /// the program's own share. A spawn at the limit waits for one of the program's Gs to exit, as one at
    /// the pool's limit does, and fails when none can. Default: none but the pool's.
    pub max_gs: Option<usize>,
    /// CPU time the program's Gs may use together, checked at their preemption points (about every
    /// millisecond of running). Default: none.
    pub cpu_time: Option<std::time::Duration>,
}

/// Linear memory for the whole program when the machine's memory cannot be read.
const FALLBACK_MEMORY_TOTAL: u64 = 4 << 30;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_memory_per_g: u64::MAX,
            max_memory_total: machine_memory().map_or(FALLBACK_MEMORY_TOTAL, |m| (m / 2).max(WASM_PAGE)),
            max_handles_per_g: 100_000,
            max_handles_total: 1_000_000,
            max_buffered_bytes: 1 << 30,
            max_timers: 1_000_000,
            max_message: 16 << 20,
            max_gs: None,
            cpu_time: None,
        }
    }
}

/// The memory this process may use: the machine's (`MemTotal`), or its cgroup's limit if that is lower.
fn machine_memory() -> Option<u64> {
    let total = std::fs::read_to_string("/proc/meminfo").ok().and_then(|s| {
        let line = s.lines().find(|l| l.starts_with("MemTotal:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib.saturating_mul(1024))
    });
    // cgroup v2; "max" (no limit) does not parse and is ignored.
    let cgroup = std::fs::read_to_string("/sys/fs/cgroup/memory.max").ok().and_then(|s| s.trim().parse::<u64>().ok());
    match (total, cgroup) {
        (Some(t), Some(c)) => Some(t.min(c)),
        (t, c) => t.or(c),
    }
}

impl Limits {
    /// Check every bound against its range.
    ///
    /// # Errors
    /// The first bound out of range, named with its field and its `wasm-gmp run` flag.
    pub fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.max_memory_per_g >= WASM_PAGE,
            "max_memory_per_g (--max-memory) is {} bytes; it must be at least one wasm page (64 KiB)",
            self.max_memory_per_g,
        );
        anyhow::ensure!(
            self.max_memory_total >= WASM_PAGE,
            "max_memory_total (--max-memory-total) is {} bytes; it must be at least one wasm page (64 KiB)",
            self.max_memory_total
        );
        anyhow::ensure!(
            (1..=u32::MAX as usize).contains(&self.max_handles_per_g),
            "max_handles_per_g (--max-handles-per-g) is {}; it must be 1 to {} (handles are u32s)",
            self.max_handles_per_g,
            u32::MAX
        );
        anyhow::ensure!(self.max_handles_total >= 1, "max_handles_total (--max-handles) is 0; it must be at least 1");
        anyhow::ensure!(
            self.max_message as u64 <= MAX_MEMORY,
            "max_message (--max-message) is {} bytes; it must be at most 4 GiB (no G's memory holds more)",
            self.max_message
        );
        anyhow::ensure!(self.max_gs != Some(0), "max_gs is 0; a program needs at least its main G");
        // Otherwise a message of the largest allowed size could never be sent.
        let largest = self.max_message as u64 + MSG_OVERHEAD;
        anyhow::ensure!(
            self.max_buffered_bytes >= largest,
            "max_buffered_bytes (--max-buffered) is {} bytes; it must hold at least one message of the \
             largest size (max_message + {MSG_OVERHEAD} = {largest} bytes)",
            self.max_buffered_bytes
        );
        Ok(())
    }
}

impl Limits {
    /// These limits as they apply on `engine`: a G's memory bounded by the engine's reservation too.
    pub fn within(&self, engine: &EngineConfig) -> Limits {
        Limits { max_memory_per_g: self.max_memory_per_g.min(engine.max_memory), ..self.clone() }
    }
}

/// Which limit was crossed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LimitKind {
    /// [`Limits::max_memory_per_g`].
    MemoryPerG,
    /// [`Limits::max_memory_total`].
    MemoryTotal,
    /// [`Limits::max_handles_per_g`].
    HandlesPerG,
    /// [`Limits::max_handles_total`].
    HandlesTotal,
    /// [`Limits::max_buffered_bytes`].
    BufferedBytes,
    /// [`Limits::max_timers`].
    Timers,
    /// [`Limits::max_message`].
    Message,
    /// [`Limits::max_gs`].
    Gs,
    /// [`Limits::cpu_time`].
    CpuTime,
}

impl LimitKind {
    /// The [`Limits`] field that sets it.
    pub fn field(self) -> &'static str {
        match self {
            LimitKind::MemoryPerG => "Limits::max_memory_per_g",
            LimitKind::MemoryTotal => "Limits::max_memory_total",
            LimitKind::HandlesPerG => "Limits::max_handles_per_g",
            LimitKind::HandlesTotal => "Limits::max_handles_total",
            LimitKind::BufferedBytes => "Limits::max_buffered_bytes",
            LimitKind::Timers => "Limits::max_timers",
            LimitKind::Message => "Limits::max_message",
            LimitKind::Gs => "Limits::max_gs",
            LimitKind::CpuTime => "Limits::cpu_time",
        }
    }

    /// The `wasm-gmp run` flag that sets it.
    pub fn flag(self) -> &'static str {
        match self {
            LimitKind::MemoryPerG => "--max-memory",
            LimitKind::MemoryTotal => "--max-memory-total",
            LimitKind::HandlesPerG => "--max-handles-per-g",
            LimitKind::HandlesTotal => "--max-handles",
            LimitKind::BufferedBytes => "--max-buffered",
            LimitKind::Timers => "--max-timers",
            LimitKind::Message => "--max-message",
            LimitKind::Gs => "--max-gs-per-program",
            LimitKind::CpuTime => "--cpu-time",
        }
    }
}

/// A G crossed a limit; it ends with this error (see *Why the G ends* in the module comment).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitExceeded {
    /// Which limit.
    pub kind: LimitKind,
    /// What was refused: an ABI call (`gmp.chan_new`), `memory.grow`, or `instantiation`.
    pub call: String,
    /// The G that crossed it.
    pub gid: u64,
    /// The value reached: what the G or program holds (handles, timers), or would hold had the request been
    /// granted (bytes of memory or messages).
    pub reached: u64,
    /// The limit.
    pub limit: u64,
}

impl LimitExceeded {
    pub(crate) fn new(kind: LimitKind, reached: u64, limit: u64) -> LimitExceeded {
        LimitExceeded { kind, call: String::new(), gid: 0, reached, limit }
    }

    /// The same error, said of `call` in G `gid` (the counters do not know who asks).
    pub(crate) fn at(mut self, call: &str, gid: u64) -> LimitExceeded {
        call.clone_into(&mut self.call);
        self.gid = gid;
        self
    }
}

/// Bytes as MiB with one decimal, for memory-sized values.
fn mib(b: u64) -> String {
    format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64)
}

impl std::fmt::Display for LimitExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let LimitExceeded { kind, call, gid, reached, limit } = self;
        write!(f, "{call}: ")?;
        match kind {
            LimitKind::MemoryPerG => write!(
                f,
                "G {gid} would grow its linear memory to {} ({reached} bytes), over the limit per G of {}",
                mib(*reached),
                mib(*limit)
            )?,
            LimitKind::MemoryTotal => write!(
                f,
                "G {gid} would bring the program's linear memory to {} ({reached} bytes), over the limit for \
                 the program of {}",
                mib(*reached),
                mib(*limit)
            )?,
            LimitKind::HandlesPerG => write!(f, "G {gid} holds {reached} handles, the limit per G")?,
            LimitKind::HandlesTotal => {
                write!(f, "the program's Gs hold {reached} handles, the limit for the program (G {gid} asked)")?
            }
            LimitKind::BufferedBytes => write!(
                f,
                "the program's messages would hold {reached} bytes ({}), over the limit for the program of \
                 {limit} bytes (G {gid} sending)",
                mib(*reached)
            )?,
            LimitKind::Timers => {
                write!(f, "the program has {reached} timers, the limit for the program (G {gid} asked)")?
            }
            LimitKind::Message => write!(f, "a message of {reached} bytes exceeds the limit of {limit} bytes")?,
            LimitKind::Gs => write!(f, "cannot start another G: the program has {reached} Gs alive, its limit")?,
            LimitKind::CpuTime => write!(
                f,
                "the program used {:.1} ms of CPU time, over its limit of {:.1} ms (G {gid} running)",
                *reached as f64 / 1e6,
                *limit as f64 / 1e6
            )?,
        }
        write!(f, " ({}, {})", kind.field(), kind.flag())
    }
}

impl std::error::Error for LimitExceeded {}

/// The limit `err` (a G's ending) reports, if it is a [`LimitExceeded`].
#[cfg(test)]
pub(crate) fn limit_of(err: &wasmtime::Error) -> Option<LimitKind> {
    err.downcast_ref::<LimitExceeded>().map(|l| l.kind)
}

/// The program's counters, one per bound, and the bounds themselves. Every counter is a plain count that
/// publishes no other data, so its operations are `Relaxed`: a check may race with a concurrent change and
/// let the count pass the limit by the changes in flight (at most one request per running G), never more.
///
/// # Cache lines
/// Every message sent is charged here by its sender and given back by whoever drops it, usually a G on
/// another P, and every message clones the `Arc` around this. So the bounds (read on every charge) and the
/// message count (written on every send and delivery) each have a line of their own, apart from each other
/// and from the `Arc`'s reference count: on one line, a sender's read of `max_message` missed whenever the
/// receiver had just given bytes back (measured with perf on the buffered-channel benchmark at 2 Ps: the
/// stall at that read was the largest single cost in `read_msg`).
pub(crate) struct LimitState {
    pub(crate) limits: Line<Limits>,
    /// Bytes of linear memory of the program's live Gs.
    memory: AtomicU64,
    /// Handle-table entries of the program's live Gs.
    handles: AtomicUsize,
    /// Bytes charged for messages the host holds (see [`MsgCharge`]), and the most they have been.
    msgs: Line<MsgCount>,
    /// Timers the host holds (see [`TimerCharge`]).
    timers: AtomicUsize,
    /// The most `memory` has been, for the metrics: raised after a successful charge, by a load first (so a
    /// counter that is not at its peak costs no extra locked instruction). `MsgCount::peak` likewise.
    memory_peak: AtomicU64,
}

/// What [`LimitState`] keeps on a cache line of its own (see *Cache lines* there); 128 bytes, as adjacent
/// lines are fetched in pairs on x86.
#[repr(align(128))]
pub(crate) struct Line<T>(T);

impl<T> std::ops::Deref for Line<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// The message bytes the host holds for a program, and their peak.
struct MsgCount {
    buffered: AtomicU64,
    peak: AtomicU64,
}

/// Raise `peak` to `v` if `v` is higher.
fn raise(peak: &AtomicU64, v: u64) {
    if v > peak.load(Ordering::Relaxed) {
        peak.fetch_max(v, Ordering::Relaxed);
    }
}

impl LimitState {
    pub(crate) fn new(limits: Limits) -> Arc<LimitState> {
        Arc::new(LimitState {
            limits: Line(limits),
            memory: AtomicU64::new(0),
            handles: AtomicUsize::new(0),
            msgs: Line(MsgCount { buffered: AtomicU64::new(0), peak: AtomicU64::new(0) }),
            timers: AtomicUsize::new(0),
            memory_peak: AtomicU64::new(0),
        })
    }

    /// One more handle for a G that holds `held` now.
    pub(crate) fn add_handle(&self, held: usize) -> Result<(), LimitExceeded> {
        let l = &self.limits;
        if held >= l.max_handles_per_g {
            return Err(LimitExceeded::new(LimitKind::HandlesPerG, held as u64, l.max_handles_per_g as u64));
        }
        let prev = self.handles.fetch_add(1, Ordering::Relaxed);
        if prev >= l.max_handles_total {
            self.handles.fetch_sub(1, Ordering::Relaxed);
            return Err(LimitExceeded::new(LimitKind::HandlesTotal, prev as u64, l.max_handles_total as u64));
        }
        Ok(())
    }

    /// `n` handles gone (a handle closed, or a G's table dropped).
    pub(crate) fn remove_handles(&self, n: usize) {
        let prev = self.handles.fetch_sub(n, Ordering::Relaxed);
        debug_assert!(prev >= n, "LimitState::remove_handles: {n} handles removed, {prev} counted");
    }

    /// Charge a message of `len` payload bytes carrying `nobjs` objects; checks `max_message` first.
    pub(crate) fn charge_msg(self: &Arc<Self>, len: usize, nobjs: usize) -> Result<MsgCharge, LimitExceeded> {
        let l = &self.limits;
        if len > l.max_message {
            return Err(LimitExceeded::new(LimitKind::Message, len as u64, l.max_message as u64));
        }
        let bytes = len as u64 + MSG_OVERHEAD + nobjs as u64 * OBJ_OVERHEAD;
        let prev = self.msgs.buffered.fetch_add(bytes, Ordering::Relaxed);
        if prev + bytes > l.max_buffered_bytes {
            self.msgs.buffered.fetch_sub(bytes, Ordering::Relaxed);
            return Err(LimitExceeded::new(LimitKind::BufferedBytes, prev + bytes, l.max_buffered_bytes));
        }
        raise(&self.msgs.peak, prev + bytes);
        Ok(MsgCharge { state: Some(self.clone()), bytes })
    }

    /// Count one more timer.
    pub(crate) fn charge_timer(self: &Arc<Self>) -> Result<TimerCharge, LimitExceeded> {
        let max = self.limits.max_timers;
        let prev = self.timers.fetch_add(1, Ordering::Relaxed);
        if prev >= max {
            self.timers.fetch_sub(1, Ordering::Relaxed);
            return Err(LimitExceeded::new(LimitKind::Timers, prev as u64, max as u64));
        }
        Ok(TimerCharge(self.clone()))
    }

    /// The most linear memory and message bytes the program has held at once (for metrics).
    pub(crate) fn peaks(&self) -> (u64, u64) {
        (self.memory_peak.load(Ordering::Relaxed), self.msgs.peak.load(Ordering::Relaxed))
    }

    /// The counts now: linear memory bytes, handles, message bytes, timers (for tests and metrics).
    pub(crate) fn usage(&self) -> Usage {
        Usage {
            memory: self.memory.load(Ordering::Relaxed),
            handles: self.handles.load(Ordering::Relaxed),
            buffered: self.msgs.buffered.load(Ordering::Relaxed),
            timers: self.timers.load(Ordering::Relaxed),
        }
    }
}

/// A program's counts at one moment (see [`crate::GData::limit_usage`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Bytes of linear memory of the live Gs.
    pub memory: u64,
    /// Handles held by the live Gs.
    pub handles: usize,
    /// Bytes charged for messages the host holds.
    pub buffered: u64,
    /// Timers the host holds.
    pub timers: usize,
}

/// What a message was charged; dropping it (with the message) gives the bytes back. A message the host
/// makes itself (a timer's tick) carries none: timers are bounded by their own limit.
#[derive(Default)]
pub(crate) struct MsgCharge {
    state: Option<Arc<LimitState>>,
    bytes: u64,
}

impl Drop for MsgCharge {
    fn drop(&mut self) {
        if let Some(s) = &self.state {
            let prev = s.msgs.buffered.fetch_sub(self.bytes, Ordering::Relaxed);
            debug_assert!(prev >= self.bytes, "MsgCharge::drop: {} bytes given back, {prev} charged", self.bytes);
        }
    }
}

/// One timer's place in the count; owned by the timer's action, so it goes when the scheduler and every
/// handle have let go of the timer.
pub(crate) struct TimerCharge(Arc<LimitState>);

impl Drop for TimerCharge {
    fn drop(&mut self) {
        let prev = self.0.timers.fetch_sub(1, Ordering::Relaxed);
        debug_assert!(prev >= 1, "TimerCharge::drop: no timer counted");
    }
}

/// A G's share of the program's linear memory: its store's `ResourceLimiter`.
///
/// `counted` is what this G added to the program's total. Each call re-bases it on the size wasmtime
/// reports as current, so a growth that wasmtime failed after the limiter allowed it (an `mmap` failure)
/// is over-counted only until the G's next growth or its end.
pub(crate) struct MemAccount {
    state: Arc<LimitState>,
    gid: u64,
    counted: u64,
    /// Instantiation's call (from size 0) is reported as such, not as a `memory.grow`.
    instantiated: bool,
}

impl MemAccount {
    pub(crate) fn new(state: Arc<LimitState>, gid: u64) -> MemAccount {
        MemAccount { state, gid, counted: 0, instantiated: false }
    }

    /// Instantiation is over: later calls are the guest's own `memory.grow`.
    pub(crate) fn instantiated(&mut self) {
        self.instantiated = true;
    }

    fn exceeded(&self, kind: LimitKind, reached: u64, limit: u64) -> wasmtime::Error {
        let call = if self.instantiated { "memory.grow" } else { "instantiation" };
        wasmtime::Error::new(LimitExceeded::new(kind, reached, limit).at(call, self.gid))
    }
}

impl wasmtime::ResourceLimiter for MemAccount {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        // The module's own declared maximum is wasm semantics, not ours: `memory.grow` returns -1.
        if maximum.is_some_and(|m| desired > m) {
            return Ok(false);
        }
        let l = &self.state.limits;
        let (current, desired) = (current as u64, desired as u64);
        if desired > l.max_memory_per_g {
            return Err(self.exceeded(LimitKind::MemoryPerG, desired, l.max_memory_per_g));
        }
        // Re-base on what wasmtime says the memory is now, then add the growth.
        let total = &self.state.memory;
        if self.counted > current {
            total.fetch_sub(self.counted - current, Ordering::Relaxed);
        } else {
            total.fetch_add(current - self.counted, Ordering::Relaxed);
        }
        self.counted = current;
        let grow = desired - current;
        let prev = total.fetch_add(grow, Ordering::Relaxed);
        if prev + grow > l.max_memory_total {
            total.fetch_sub(grow, Ordering::Relaxed);
            return Err(self.exceeded(LimitKind::MemoryTotal, prev + grow, l.max_memory_total));
        }
        raise(&self.state.memory_peak, prev + grow);
        self.counted = desired;
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        // Tables are bounded by the pool's slot size (wasmtime refuses growth beyond it).
        Ok(maximum.is_none_or(|m| desired <= m))
    }
}

/// The G's store is gone, and its memory with it.
impl Drop for MemAccount {
    fn drop(&mut self) {
        let prev = self.state.memory.fetch_sub(self.counted, Ordering::Relaxed);
        debug_assert!(prev >= self.counted, "MemAccount::drop: {} bytes given back, {prev} counted", self.counted);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Limits {
        Limits {
            max_memory_per_g: 4 * WASM_PAGE,
            max_memory_total: 5 * WASM_PAGE,
            max_handles_per_g: 3,
            max_handles_total: 4,
            max_buffered_bytes: 1000,
            max_timers: 2,
            max_message: 100,
            max_gs: None,
            cpu_time: None,
        }
    }

    #[test]
    fn memory_is_counted_per_g_and_in_total_and_given_back_when_a_g_ends() {
        use wasmtime::ResourceLimiter as _;
        let s = LimitState::new(small());
        let p = WASM_PAGE as usize;
        let mut a = MemAccount::new(s.clone(), 1);
        assert!(a.memory_growing(0, 2 * p, None).unwrap());
        a.instantiated();
        let e = a.memory_growing(2 * p, 5 * p, None).unwrap_err();
        assert_eq!(limit_of(&e), Some(LimitKind::MemoryPerG));
        assert!(e.to_string().starts_with("memory.grow: G 1 would grow its linear memory to 0.3 MiB"), "{e}");
        let mut b = MemAccount::new(s.clone(), 2);
        assert!(b.memory_growing(0, 3 * p, None).unwrap());
        let e = b.memory_growing(3 * p, 4 * p, None).unwrap_err();
        assert_eq!(limit_of(&e), Some(LimitKind::MemoryTotal));
        assert!(e.to_string().starts_with("instantiation: G 2 would bring"), "{e}");
        assert_eq!(s.usage().memory, 5 * WASM_PAGE, "a refused growth is not counted");
        assert!(!b.memory_growing(3 * p, 4 * p, Some(3 * p)).unwrap(), "the module's maximum is a -1");
        drop(a);
        assert!(b.memory_growing(3 * p, 4 * p, None).unwrap(), "a's memory was given back");
        // A growth wasmtime failed after we allowed it is re-based at the next call.
        assert!(b.memory_growing(3 * p, 4 * p, None).unwrap());
        assert_eq!(s.usage().memory, 4 * WASM_PAGE);
        drop(b);
        assert_eq!(s.usage().memory, 0);
    }

    #[test]
    fn message_charges_are_given_back_once_on_drop() {
        let s = LimitState::new(small());
        assert_eq!(s.charge_msg(101, 0).err().map(|e| e.kind), Some(LimitKind::Message));
        let a = s.charge_msg(100, 1).unwrap();
        assert_eq!(s.usage().buffered, 100 + MSG_OVERHEAD + OBJ_OVERHEAD);
        let b = s.charge_msg(100, 0).unwrap();
        let e = s.charge_msg(100, 0).err().unwrap();
        assert_eq!((e.kind, e.reached), (LimitKind::BufferedBytes, 3 * 100 + 3 * MSG_OVERHEAD + OBJ_OVERHEAD));
        drop((a, b));
        assert_eq!(s.usage().buffered, 0);
    }

    #[test]
    fn handles_and_timers_stop_at_their_limits() {
        let s = LimitState::new(small());
        assert_eq!(s.add_handle(3).err().map(|e| e.kind), Some(LimitKind::HandlesPerG));
        for _ in 0..4 {
            s.add_handle(0).unwrap();
        }
        let e = s.add_handle(0).err().unwrap().at("gmp.chan_new", 7);
        assert_eq!(
            e.to_string(),
            "gmp.chan_new: the program's Gs hold 4 handles, the limit for the program (G 7 asked) \
             (Limits::max_handles_total, --max-handles)"
        );
        s.remove_handles(4);
        let (t1, _t2) = (s.charge_timer().unwrap(), s.charge_timer().unwrap());
        assert_eq!(s.charge_timer().err().map(|e| e.kind), Some(LimitKind::Timers));
        drop(t1);
        assert!(s.charge_timer().is_ok());
        assert_eq!(s.usage().handles, 0);
    }

    #[test]
    fn defaults_pass_their_own_checks() {
        Limits::default().check().unwrap();
        let engine = EngineConfig { max_memory: 32 << 20, ..EngineConfig::default() };
        assert_eq!(Limits::default().within(&engine).max_memory_per_g, 32 << 20, "the reservation is the limit");
        let lower = Limits { max_memory_per_g: 1 << 20, ..Limits::default() };
        assert_eq!(lower.within(&engine).max_memory_per_g, 1 << 20);
        let e = Limits { max_memory_per_g: 0, ..Limits::default() }.check().unwrap_err().to_string();
        assert!(e.starts_with("max_memory_per_g (--max-memory)"), "{e}");
        let tight = Limits { max_buffered_bytes: 16 << 20, ..Limits::default() };
        assert!(tight.check().is_err(), "a largest message must fit");
    }
}
