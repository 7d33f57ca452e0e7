//! A G on the wasm side: one wasmtime `Store` with its own instance of the program, run by `call_async` on
//! a fiber, as the future the scheduler polls.
//!
//! # Types
//! - [`GData`]: the store's data — the G's WASI context, handle table, pending message, and a reference to
//!   its run ([`crate::run::RunShared`]).
//! - [`GKind`]: how a G starts: the main G calls `_start`; every other G calls `gmp_entry` with its spawn
//!   argument as its pending message.
//! - [`g_future`]: the future the scheduler runs: create the store, instantiate, call, report the ending.
//!
//! # Ending
//! A G ends one of five ways, decided in [`finish`]: returning (the main G's return exits the program with
//! status 0), `exit`/`proc_exit` (the program exits with that status), a limit of its run (reported as a
//! fatal error), a trap or guest panic (reported once, Go-style, status 2), or being stopped because the
//! program is ending (silently: killed, the deadline, another G's ending). Each ends the run through
//! `RunShared::end`, which keeps only the first.
//!
//! # Preemption
//! The store's epoch deadline is one tick ahead, always. At each tick the callback asks the scheduler: if
//! the program is ending, trap (the G stops at once); if the run's CPU time (its group's finished polls
//! plus this poll so far) is past its budget, trap with the limit; if sysmon flagged this G's slice, yield
//! to the global queue; otherwise carry on for another tick.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use wasmtime::{Memory, Store, UpdateDeadline, WasmBacktrace};
use wasmtime_wasi::I32Exit;
use wasmtime_wasi::p1::WasiP1Ctx;

use crate::engine::Slot;
use crate::handles::{HandleTable, Msg};
use crate::limits::{LimitExceeded, LimitKind, MemAccount};
use crate::run::{ExitKind, RunShared, Traceback};

/// The data of one G's store.
pub struct GData {
    /// Created on the G's first WASI call: most Gs only talk over channels, and a WASI context (arguments,
    /// environment, stdio, clocks, random, preopens) is kilobytes and a microsecond per G. Boxed, so that a
    /// G without one does not carry its 384 bytes inline in its store.
    wasi: Option<Box<WasiP1Ctx>>,
    /// The end of what the G wrote to stderr, once it has a WASI context (see `wasi.rs`).
    stderr_tail: Option<crate::wasi::StderrTail>,
    pub(crate) gid: u64,
    pub(crate) handles: HandleTable,
    /// A received message the G has not copied out yet (see `msg_take` in `wit/sched.wit`). Boxed: every G's
    /// store carries this field all its life, and most Gs hold a pending message only as they start.
    pub(crate) pending: Option<Box<Msg>>,
    /// The instance's `memory` export, set right after instantiation.
    pub(crate) memory: Option<Memory>,
    /// The store's resource limiter: the G's share of its program's linear memory (see `limits.rs`).
    mem_account: MemAccount,
    pub(crate) run: Arc<RunShared>,
}

impl GData {
    /// The G's id.
    pub fn gid(&self) -> u64 {
        self.gid
    }

    /// The channel counts of the G's run (live channels, channels the cycle collector freed), for tests and
    /// metrics; they stay readable after the run.
    pub fn chan_stats(&self) -> crate::gc::ChanStats {
        self.run.gc.stats()
    }

    /// The embedder's state for this run ([`crate::RunOptions::state`]), if it is a `T`. Host functions
    /// reach it through their `Caller`:
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use wasm_gmp::{Config, GData, Program, RunOptions, Runtime};
    ///
    /// struct Calls(AtomicU64);
    ///
    /// let rt = Runtime::new(Config::default())?;
    /// let program = Program::builder(&rt.config().engine)
    ///     .host_functions(|linker| {
    ///         linker.func_wrap("env", "count", |caller: wasmtime::Caller<'_, GData>| {
    ///             if let Some(calls) = caller.data().state::<Calls>() {
    ///                 calls.0.fetch_add(1, Ordering::Relaxed);
    ///             }
    ///         })?;
    ///         Ok(())
    ///     })
    ///     .bytes(br#"(module
    ///         (import "env" "count" (func $count))
    ///         (memory (export "memory") 1)
    ///         (func (export "_start") (call $count) (call $count))
    ///         (func (export "gmp_entry") (param i32 i32 i32)))"#)?;
    /// // Two runs of one compiled program, each with its own state.
    /// for _ in 0..2 {
    ///     let run = rt.start(&program, RunOptions::default().state(Calls(AtomicU64::new(0))))?;
    ///     assert!(run.wait().success());
    ///     assert_eq!(run.state::<Calls>().unwrap().0.load(Ordering::Relaxed), 2);
    /// }
    /// # Ok::<(), anyhow::Error>(())
    /// ```
    pub fn state<T: std::any::Any + Send + Sync>(&self) -> Option<&T> {
        self.run.opts.state.as_deref()?.downcast_ref::<T>()
    }

    /// What the G's program holds now against its limits (memory, handles, message bytes, timers), for tests
    /// and metrics.
    pub fn limit_usage(&self) -> crate::limits::Usage {
        self.run.limits.usage()
    }

    /// The G's WASI context, created on first use.
    pub(crate) fn wasi(&mut self) -> &mut WasiP1Ctx {
        if self.wasi.is_none() {
            let (ctx, tail) = crate::wasi::ctx(&self.run);
            self.stderr_tail = Some(tail);
            self.wasi = Some(Box::new(ctx));
        }
        self.wasi.as_mut().expect("just made")
    }
}

/// How a G starts.
pub(crate) enum GKind {
    /// The program's `_start`.
    Main,
    /// `gmp_entry(entry, len, nhandles)` with `arg` as the pending message. Boxed: a G's future keeps room
    /// for its `GKind` all its life (an async fn's arguments stay in its state, moved out or not), and an
    /// inline `Msg` made that 3 × 80 bytes per parked G.
    Spawned { entry: u32, arg: Box<Msg> },
}

/// `exit(code)` from the guest: ends the G's call with this error, which ends the program.
#[derive(Debug)]
pub(crate) struct ExitRequest(pub i32);

impl std::fmt::Display for ExitRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit({})", self.0)
    }
}

impl std::error::Error for ExitRequest {}

/// A guest panic raised by the runtime on the guest's behalf, worded as Go words it ("send on closed
/// channel"), as opposed to an ABI misuse, which names the call.
#[derive(Debug)]
pub(crate) struct GuestPanic(pub &'static str);

impl std::fmt::Display for GuestPanic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for GuestPanic {}

/// A panic in guest code, with the program's own message and where it was raised, for Go's `panic: <message>`
/// report instead of the trap that follows a Rust panic: the error of `gmp.panic`, which the guest SDK's panic
/// hook calls, or the context of a trap in `abort`, read from what the program printed to stderr.
#[derive(Debug)]
pub(crate) struct GuestPanicMessage {
    pub message: String,
    /// `file:line:column`, or empty.
    pub location: String,
}

/// The most of a panic message (and of its location) the report keeps.
pub(crate) const MAX_PANIC_TEXT: usize = 16 << 10;

impl std::fmt::Display for GuestPanicMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for GuestPanicMessage {}

/// The future of one G. `slot` is its reserved place in the engine's pool, freed when the future ends.
pub(crate) fn g_future(run: Arc<RunShared>, gid: u64, kind: GKind, slot: Slot) -> gmp_sched::GFuture {
    Box::pin(async move {
        let is_main = matches!(kind, GKind::Main);
        let result = run_g(&run, gid, kind).await;
        // The G's table and pending message are gone: collect if that left channel cycles behind.
        run.gc.poll();
        finish(&run, gid, is_main, result);
        // The program's place first: a spawner woken by the pool's free must find it (see `reserve_slot`).
        run.release_own_place();
        drop(slot);
    })
}

async fn run_g(run: &Arc<RunShared>, gid: u64, kind: GKind) -> wasmtime::Result<()> {
    let data = GData {
        wasi: None,
        stderr_tail: None,
        gid,
        handles: HandleTable::new(run.limits.clone()),
        pending: None,
        memory: None,
        mem_account: MemAccount::new(run.limits.clone(), gid),
        run: run.clone(),
    };
    let mut store = Store::new(run.program.engine(), data);
    store.limiter(|d| &mut d.mem_account);
    if run.program.engine_config().preemption {
        let budget = run.opts.limits.cpu_time;
        let run2 = run.clone();
        store.epoch_deadline_callback(move |_| {
            if gmp_sched::exiting() {
                return Ok(UpdateDeadline::Interrupt);
            }
            if let Some(budget) = budget {
                let used = run2.group.cpu_time() + gmp_sched::current_poll_time();
                if used > budget {
                    let (used, budget) = (used.as_nanos() as u64, budget.as_nanos() as u64);
                    let e = LimitExceeded::new(LimitKind::CpuTime, used, budget).at("epoch check", gid);
                    return Err(e.into());
                }
            }
            Ok(if gmp_sched::preempt_requested() {
                UpdateDeadline::YieldCustom(1, Box::pin(gmp_sched::preempt_yield()))
            } else {
                UpdateDeadline::Continue(1)
            })
        });
        store.set_epoch_deadline(1);
    }
    // Boxed: its future is 1,120 bytes, and a future is as large as its largest await point, so awaiting it
    // in place made every parked G's future (held all its life) carry those bytes for a step that lasts
    // microseconds. Boxed, a parked G holds 0.7 KiB less heap (`gmp-bench heap`: 11.9 -> 11.2 KiB).
    let instance = Box::pin(instantiate(run, &mut store)).await?;
    store.data_mut().mem_account.instantiated();
    store.data_mut().memory = Some(run.program.memory(&instance, &mut store)?);
    let result = match kind {
        GKind::Main => {
            let func = run.program.start(&instance, &mut store)?;
            func.call_async(&mut store, ()).await
        }
        GKind::Spawned { entry, arg } => {
            let (len, nh) = (arg.bytes.len() as i32, arg.objs.len() as i32);
            store.data_mut().pending = Some(arg);
            // Bound first, so the `?`'s temporary is not kept across the call (64 bytes of every parked G).
            let func = run.program.entry(&instance, &mut store)?;
            func.call_async(&mut store, (entry as i32, len, nh)).await
        }
    };
    result.map_err(|e| {
        // A Rust program that aborts said why on stderr just before (see `wasi::StderrTail`).
        if e.downcast_ref::<wasmtime::Trap>() != Some(&wasmtime::Trap::UnreachableCodeReached) {
            return e;
        }
        let said = store.data().stderr_tail.as_ref().and_then(|t| abort_message(&String::from_utf8_lossy(&t.lock())));
        match said {
            Some(said) => e.context(said),
            None => e,
        }
    })
}

/// What a Rust program printed to stderr before aborting, read back from the end of its stderr: std's own
/// panic report (`thread '..' panicked at LOCATION:` and the message, from a module without the SDK's hook),
/// an allocation failure (`memory allocation of N bytes failed`) or another of std's fatal errors.
fn abort_message(tail: &str) -> Option<GuestPanicMessage> {
    let lines: Vec<&str> = tail.lines().collect();
    let (i, line) = lines.iter().enumerate().rev().find(|(_, l)| {
        l.starts_with("memory allocation of ")
            || l.starts_with("fatal runtime error: ")
            || (l.starts_with("thread '") && l.contains(" panicked at "))
    })?;
    let Some((_, at)) = line.split_once(" panicked at ") else {
        return Some(GuestPanicMessage { message: line.to_string(), location: String::new() });
    };
    let message: Vec<&str> = lines[i + 1..].iter().take_while(|l| !l.starts_with("note: ")).copied().collect();
    let message = message.join("\n");
    let location = at.strip_suffix(':').unwrap_or(at).to_string();
    Some(GuestPanicMessage { message: if message.is_empty() { "(no message)".into() } else { message }, location })
}

/// How often a G retries an instantiation the pool refused for want of a free slot (see [`instantiate`]).
const POOL_RACE_RETRIES: u32 = 1_000;

/// Instantiate the G's instance. The G already holds a place in the pool (its `Slot`), so the pool has a
/// free slot for it — but wasmtime hands freed slots back through decommit queues, and a thread that flushes
/// a queue takes it whole out of its lock before decommitting, so another thread allocating meanwhile can
/// find neither a free slot nor a queued one and fail with `PoolConcurrencyLimitError` (seen with two
/// spawners at the G limit on a loaded machine). The slot is a few microseconds from free: give way and
/// try again. Only if that never succeeds is the error the G's.
async fn instantiate(run: &RunShared, store: &mut Store<GData>) -> wasmtime::Result<wasmtime::Instance> {
    let mut tries = 0;
    loop {
        match run.program.pre().instantiate_async(&mut *store).await {
            Err(e)
                if e.downcast_ref::<wasmtime::PoolConcurrencyLimitError>().is_some() && tries < POOL_RACE_RETRIES =>
            {
                tries += 1;
                gmp_sched::yield_now().await;
            }
            // An `mmap` or `mprotect` refused with ENOMEM while the machine has memory to spare is nearly
            // always the process's map count: say which limit, instead of a bare "Cannot allocate memory".
            Err(e)
                if e.chain()
                    .any(|c| c.downcast_ref::<std::io::Error>().and_then(|io| io.raw_os_error()) == Some(12)) =>
            {
                let maps = crate::engine::max_map_count().map_or("unknown".into(), |n| n.to_string());
                return Err(wasmtime::Error::new(RuntimeFatal(format!(
                    "cannot map the G's memory ({}): the process is likely out of memory mappings \
                     (vm.max_map_count = {maps}; raise it with `sudo sysctl -w vm.max_map_count=N`, or hold \
                     fewer Gs with --max-gs)",
                    e.root_cause()
                ))));
            }
            r => return r,
        }
    }
}

/// The runtime, not the program, could not go on: a G could not be given what it needs to exist. Reported
/// as Go reports a failed allocation of its own, `fatal error: runtime: …`, not as the G's panic.
#[derive(Debug)]
pub(crate) struct RuntimeFatal(String);

impl std::fmt::Display for RuntimeFatal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RuntimeFatal {}

/// See *Ending* in the module comment.
fn finish(run: &RunShared, gid: u64, is_main: bool, result: wasmtime::Result<()>) {
    let err = match result {
        Ok(()) => {
            if is_main {
                run.end(ExitKind::Returned);
            }
            return;
        }
        Err(e) => e,
    };
    if run.group.is_exiting() {
        return; // stopped by the program's end: nothing to report
    }
    if let Some(I32Exit(code)) = err.downcast_ref::<I32Exit>() {
        run.end(ExitKind::Exit(*code));
        return;
    }
    if let Some(ExitRequest(code)) = err.downcast_ref::<ExitRequest>() {
        run.end(ExitKind::Exit(*code));
        return;
    }
    let (kind, report) = match (err.downcast_ref::<LimitExceeded>(), err.downcast_ref::<RuntimeFatal>()) {
        (Some(limit), _) => (ExitKind::Limit(limit.kind), fatal_report(gid, limit, &err)),
        // The G never ran: it has no stack to show.
        (None, Some(fatal)) => (ExitKind::Fatal, format!("fatal error: runtime: goroutine {gid}: {fatal}\n")),
        (None, None) => (ExitKind::Panic, panic_report(gid, &err)),
    };
    if !run.reported.swap(true, Ordering::SeqCst) {
        run.report(&with_traceback(run, gid, report));
    }
    run.end(kind);
}

/// A panic report as `GOTRACEBACK` asks: cut to its first line (`none`), as it is (`single`), or followed
/// by every other G of the program (`all`), inspected while they are still parked. This G's wasm call has
/// returned, so inspecting the others from inside its future resumes no fiber within a fiber.
fn with_traceback(run: &RunShared, gid: u64, report: String) -> String {
    match run.opts.traceback {
        Traceback::Single => report,
        Traceback::None => {
            let first = report.lines().next().unwrap_or_default();
            format!(
                "{first}

[goroutine stack traces omitted: GOTRACEBACK=none]
"
            )
        }
        Traceback::All => {
            let others: Vec<_> = run.group.dump_inspected().into_iter().filter(|g| g.id != gid).collect();
            let mut s = report;
            for g in &others {
                s.push('\n');
                s.push_str(&crate::dump::goroutine(g, None));
            }
            s
        }
    }
}

/// Go's panic report: the message, the G, and the wasm backtrace.
pub(crate) fn panic_report(gid: u64, err: &wasmtime::Error) -> String {
    let root = err.root_cause();
    let said = err.downcast_ref::<GuestPanicMessage>();
    let msg = match said {
        // Read from stderr before a trap: the message, then the trap it ended in.
        Some(p) if root.downcast_ref::<GuestPanicMessage>().is_none() => format!("{} [{root}]", p.message),
        Some(p) => p.message.clone(),
        None => root.to_string(),
    };
    let location = said.map(|p| p.location.as_str());
    with_backtrace(format!("panic: {msg}\n\ngoroutine {gid} [running]:\n"), err, location)
}

/// A G that crossed a limit: reported as Go reports running out of memory, a fatal error (nothing a
/// program could recover from), with the G's backtrace.
fn fatal_report(gid: u64, limit: &LimitExceeded, err: &wasmtime::Error) -> String {
    with_backtrace(format!("fatal error: {limit}\n\ngoroutine {gid} [running]:\n"), err, None)
}

/// `s` followed by the wasm backtrace of `err` as Go prints a goroutine's stack: one frame per line, the
/// callee first, each followed by an indented line saying where. The frames of a Rust panic's machinery
/// (the panic hook, `core::panicking`, `std::panicking`, the abort) and of the program's startup come off
/// both ends, so the stack starts at the function that panicked; `location`, where the panic was raised,
/// goes under that first frame.
fn with_backtrace(mut s: String, err: &wasmtime::Error, location: Option<&str>) -> String {
    let Some(bt) = err.downcast_ref::<WasmBacktrace>().filter(|bt| !bt.frames().is_empty()) else {
        s.push_str("    (no wasm frames)\n");
        return s;
    };
    let frames = frames(bt);
    // Whatever is above the panic's core frames is its hook (ours, or a harness's that wraps it) or the
    // abort; below them come the helpers that raised it (`expect_failed`, `handle_alloc_error`...).
    let core = frames.iter().rposition(|(name, _)| is_panic_core(name)).map_or(0, |i| i + 1);
    let top = core + frames[core..].iter().take_while(|(name, _)| is_panic_machinery(name)).count();
    let bottom = frames.iter().rev().take_while(|(name, _)| is_startup(name)).count();
    // A stack that is nothing but machinery or startup is shown whole rather than not at all.
    let shown = if top + bottom < frames.len() { &frames[top..frames.len() - bottom] } else { &frames[..] };
    for (i, (name, source)) in shown.iter().enumerate() {
        let source = match location {
            Some(loc) if i == 0 && !loc.is_empty() => loc,
            _ => source,
        };
        s.push_str(&format!("{name}\n\t{source}\n"));
    }
    s
}

/// Each frame of `bt` as (function, where): the demangled name (or the function's index), and the source
/// line from the module's debug info (or the module and offset).
pub(crate) fn frames(bt: &WasmBacktrace) -> Vec<(String, String)> {
    bt.frames().iter().map(|f| (frame_name(f), frame_source(f))).collect()
}

/// A frame's function: its demangled name, or its index in a module without names.
pub(crate) fn frame_name(f: &wasmtime::FrameInfo) -> String {
    f.func_name().map_or_else(|| format!("<wasm function {}>", f.func_index()), clean_symbol)
}

/// Where a frame is: the source line from the module's debug info, or the module and offset.
pub(crate) fn frame_source(f: &wasmtime::FrameInfo) -> String {
    let source = f.symbols().iter().find_map(|sym| {
        let file = sym.file()?;
        Some(match (sym.line(), sym.column()) {
            (Some(l), Some(c)) => format!("{file}:{l}:{c}"),
            (Some(l), None) => format!("{file}:{l}"),
            _ => file.to_string(),
        })
    });
    source.unwrap_or_else(|| {
        let module = f.module().name().unwrap_or("<module>");
        let at = f.module_offset().map_or_else(String::new, |o| format!(" +{o:#x}"));
        format!("{module}{at}")
    })
}

/// A symbol as a reader wants it: demangled, without the hashes that only tell builds apart
/// (`_ZN3app4main17hc9ed297bf364748eE` → `app::main`).
pub(crate) fn clean_symbol(name: &str) -> String {
    format!("{:#}", rustc_demangle::demangle(name))
}

/// The frames every Rust panic passes through, whatever hook it runs.
fn is_panic_core(name: &str) -> bool {
    ["core::panicking::", "std::panicking::", "__rustc::rust_begin_unwind", "rust_begin_unwind"]
        .iter()
        .any(|p| name.starts_with(p))
}

/// Frames a Rust panic passes through between the panicking function and the trap.
fn is_panic_machinery(name: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "gmp::panic::",
        "core::panicking::",
        "std::panicking::",
        "std::panic::",
        "__rustc::",
        "__rust_",
        "rust_begin_unwind",
        "rust_panic",
        "std::sys::backtrace::__rust_end_short_backtrace",
        "std::sys::pal::",
        "std::process::abort",
        "std::alloc::",
        "alloc::alloc::handle_alloc_error",
        "alloc::raw_vec::handle_error",
        "core::result::unwrap_failed",
        "core::option::unwrap_failed",
        "core::option::expect_failed",
        "core::cell::panic_already",
        "abort",
    ];
    PREFIXES.iter().any(|p| name.starts_with(p))
}

/// Frames of the program's startup below `main`, or of the SDK's spawn below a G's function.
pub(crate) fn is_startup(name: &str) -> bool {
    const EXACT: &[&str] = &["_start", "__main_void", "__original_main", "main", "gmp_entry"];
    const PREFIXES: &[&str] = &[
        "std::rt::lang_start",
        "std::sys::backtrace::__rust_begin_short_backtrace",
        "core::ops::function::",
        "<fn",
        "gmp::spawn::",
    ];
    EXACT.contains(&name) || PREFIXES.iter().any(|p| name.starts_with(p))
}
