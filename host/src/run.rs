//! One run of a program: how it is started ([`RunOptions`]), watched and stopped ([`RunHandle`]), and how it
//! ended ([`Exit`], [`ExitKind`]).
//!
//! # What a run owns
//! A run is one program's Gs on its runtime's shared scheduler: a [`gmp_sched::Group`]. What every G of the
//! run shares lives in `RunShared`: the options, the channel cycle collector, the report sink, the
//! embedder's state, and how the run ended.
//!
//! # Ending, once
//! Many things may end a run at once: main returning, a G calling `exit`, a trap, a limit, `kill`, the
//! deadline, a deadlock, the runtime going away. [`RunShared::end`] takes the first under one lock: it
//! records the [`ExitKind`] and then ends the group with the status, so the kind and the status always
//! agree, and later endings change nothing. A deadlock is found by the scheduler, which ends the group
//! itself; its kind is read from the group's outcome.

use std::any::Any;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use gmp_sched::{Group, Outcome, Sched};
use parking_lot::Mutex;
use wasmtime_wasi::p2::OutputStream as _;
use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};

use crate::dump::Dump;
use crate::hostchan::{Chan, NamedChan};
use crate::limits::{LimitKind, LimitState, Limits};
use crate::net::NetPolicy;
use crate::program::Program;
use crate::stdin::SharedReader;

/// Where a stream of the program's output goes.
#[derive(Clone, Default)]
pub enum Output {
    /// The host process's own stdout/stderr.
    #[default]
    Inherit,
    /// An in-memory buffer (see [`Capture`]).
    Capture(Capture),
    /// The embedder's writer. Each write happens with the G's P handed off (a slow writer stops only the
    /// writing G, as a slow pipe does in Go), so it may block.
    Writer(SharedWriter),
    /// Nowhere.
    Null,
}

impl Output {
    /// Output into `w`, shared by every G of the run.
    pub fn writer(w: impl std::io::Write + Send + 'static) -> Output {
        Output::Writer(SharedWriter(Arc::new(Mutex::new(Box::new(w)))))
    }
}

/// An embedder's writer, shared by every G of a run (see [`Output::writer`]).
#[derive(Clone)]
pub struct SharedWriter(pub(crate) Arc<Mutex<Box<dyn std::io::Write + Send>>>);

/// Where the program's stdin comes from.
#[derive(Clone, Default)]
pub enum Input {
    /// The host process's stdin.
    Inherit,
    /// Nothing: reads see the end of the stream.
    #[default]
    Null,
    /// These bytes, then the end. Every G of the run reads from the same stream, as goroutines share
    /// `os.Stdin`.
    Bytes(bytes::Bytes),
    /// The embedder's reader (see [`Input::reader`]).
    Reader(SharedReader),
}

impl Input {
    /// Stdin read from `r`, shared by every G of the run, as goroutines share `os.Stdin`.
    ///
    /// A G reading stdin parks while a thread of the runtime's reads `r` for it (one thread per reader,
    /// started at the first read, reading only as much as the program asks for), so a slow or silent `r`
    /// stops only the Gs reading it, and `kill` still ends them at once. When `r` returns end of file, the
    /// program sees it; an error from `r` is returned to the read that gets it. Runs started with clones
    /// of these options share the stream.
    ///
    /// ```
    /// use wasm_gmp::{Input, RunOptions};
    ///
    /// let opts = RunOptions::default().stdin(Input::reader(std::io::Cursor::new(b"3 4\n".to_vec())));
    /// assert!(matches!(opts.stdin, Input::Reader(_)));
    /// ```
    pub fn reader(r: impl std::io::Read + Send + 'static) -> Input {
        Input::Reader(SharedReader::new(r))
    }
}

/// An in-memory output buffer, shared by every G of a run; read it with [`Capture::contents`].
#[derive(Clone)]
pub struct Capture(MemoryOutputPipe);

impl Capture {
    /// An empty buffer holding at most 64 MiB.
    pub fn new() -> Capture {
        Capture(MemoryOutputPipe::new(64 << 20))
    }

    /// Everything written so far, as text (invalid UTF-8 replaced).
    pub fn contents(&self) -> String {
        String::from_utf8_lossy(&self.0.contents()).into_owned()
    }

    pub(crate) fn pipe(&self) -> MemoryOutputPipe {
        self.0.clone()
    }
}

impl Default for Capture {
    fn default() -> Self {
        Capture::new()
    }
}

/// How one run is started: what the program sees, where its output goes, how long it may run, and the
/// embedder's state for its host functions. `RunOptions::default()` runs with no arguments but the
/// program's name, an empty environment, no directories, stdin closed and output inherited.
///
/// ```
/// use std::time::Duration;
/// use wasm_gmp::{Capture, Output, RunOptions};
///
/// let out = Capture::new();
/// let opts = RunOptions::default()
///     .args(["app.wasm", "--verbose"])
///     .env("LANG", "C")
///     .stdout(Output::Capture(out.clone()))
///     .deadline(Duration::from_secs(5));
/// assert_eq!(opts.args[1], "--verbose");
/// ```
#[derive(Clone)]
pub struct RunOptions {
    /// The program's arguments, `argv[0]` first. Empty: just the program's name.
    pub args: Vec<String>,
    /// The program's environment.
    pub env: Vec<(String, String)>,
    /// Host directories the program may use: (host path, path the guest sees).
    pub dirs: Vec<(PathBuf, String)>,
    /// Which addresses the program may listen on and connect to (`--net`). Default: it may listen on
    /// loopback and connect only to its own listeners; nothing else on the machine or beyond.
    pub net: NetPolicy,
    /// Where the program's stdin comes from.
    pub stdin: Input,
    /// Where the program's stdout goes.
    pub stdout: Output,
    /// Where the program's stderr and the runtime's reports about it (panic, deadlock) go.
    pub stderr: Output,
    /// The program's limits (memory, handles, buffered bytes, timers, message size, Gs, CPU time). Past
    /// one, the run ends with [`ExitKind::Limit`] and a report naming it.
    pub limits: Limits,
    /// Wall-clock time the run may take from its start; then it ends as if killed, with
    /// [`ExitKind::Deadline`].
    pub deadline: Option<Duration>,
    /// The embedder's state for this run (see [`RunOptions::state`](RunOptions::state())).
    pub state: Option<Arc<dyn Any + Send + Sync>>,
    /// Host channels the program finds by name (see [`RunOptions::chan`](RunOptions::chan())).
    pub chans: Vec<NamedChan>,
    /// Which Gs a panic report shows (Go's `GOTRACEBACK`). Default: the one that panicked.
    pub traceback: Traceback,
}

/// Which Gs a panic or fatal error report shows, as Go's `GOTRACEBACK` says (`wasm-gmp run` reads that
/// variable). A deadlock report always shows every G.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Traceback {
    /// The message alone, no stack (`GOTRACEBACK=none`).
    None,
    /// The G that panicked, with its stack (`single`, Go's default).
    #[default]
    Single,
    /// Every G of the program: the one that panicked, then a dump of the others (`all`; Go's `system` and
    /// `crash` mean the same here).
    All,
}

impl Traceback {
    /// Go's `GOTRACEBACK` value (`none`/`0`, `single`/`1`, `all`/`2`, `system`, `crash`); None if unknown.
    pub fn parse(v: &str) -> Option<Traceback> {
        match v.trim() {
            "none" | "0" => Some(Traceback::None),
            "single" | "1" | "" => Some(Traceback::Single),
            "all" | "2" | "system" | "crash" => Some(Traceback::All),
            _ => None,
        }
    }
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            args: Vec::new(),
            env: Vec::new(),
            dirs: Vec::new(),
            net: NetPolicy::default(),
            stdin: Input::Null,
            stdout: Output::Inherit,
            stderr: Output::Inherit,
            limits: Limits::default(),
            deadline: None,
            state: None,
            chans: Vec::new(),
            traceback: Traceback::Single,
        }
    }
}

impl RunOptions {
    /// Set the arguments, `argv[0]` first.
    pub fn args<S: Into<String>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        self.args = args.into_iter().map(Into::into).collect();
        self
    }

    /// Add an environment variable.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Give the program the host directory `host`, seen as `guest`.
    pub fn dir(mut self, host: impl Into<PathBuf>, guest: impl Into<String>) -> Self {
        self.dirs.push((host.into(), guest.into()));
        self
    }

    /// Set where stdin comes from.
    pub fn stdin(mut self, input: Input) -> Self {
        self.stdin = input;
        self
    }

    /// Set where stdout goes.
    pub fn stdout(mut self, out: Output) -> Self {
        self.stdout = out;
        self
    }

    /// Set where stderr (and the runtime's reports about the run) go.
    pub fn stderr(mut self, out: Output) -> Self {
        self.stderr = out;
        self
    }

    /// Which Gs a panic report shows (see [`Traceback`]).
    pub fn traceback(mut self, t: Traceback) -> Self {
        self.traceback = t;
        self
    }

    /// End the run after `d` of wall-clock time (see [`RunOptions::deadline`](RunOptions#structfield.deadline)).
    pub fn deadline(mut self, d: Duration) -> Self {
        self.deadline = Some(d);
        self
    }

    /// Limit the CPU time of all the program's Gs together ([`Limits::cpu_time`]).
    pub fn cpu_time(mut self, d: Duration) -> Self {
        self.limits.cpu_time = Some(d);
        self
    }

    /// Limit the program's live Gs ([`Limits::max_gs`]).
    pub fn max_gs(mut self, n: usize) -> Self {
        self.limits.max_gs = Some(n);
        self
    }

    /// Set every limit.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The embedder's state for this run, which its host functions reach with [`crate::GData::state`]
    /// (as wasmtime's `Store` data, but one value shared by every G of the run: share mutable parts
    /// through a `Mutex` or atomics).
    pub fn state<T: Any + Send + Sync>(mut self, state: T) -> Self {
        self.state = Some(Arc::new(state));
        self
    }

    /// Hand the program the host channel `chan` under `name`: any of its Gs gets its own handle to it with
    /// `gmp::host_chan::<T>(name)`. While the host holds an end of it, a G waiting on it is not counted as
    /// deadlocked (the host may still send). A later channel of the same name replaces an earlier one.
    pub fn chan<T>(mut self, name: impl Into<String>, chan: &Chan<T>) -> Self {
        let name = name.into();
        self.chans.retain(|c| c.name != name);
        self.chans.push(NamedChan { name, ch: chan.side.ch.clone(), side: Arc::downgrade(&chan.side) });
        self
    }

    /// Check the options a run cannot start without.
    pub(crate) fn check(&self) -> anyhow::Result<()> {
        for (host, _) in &self.dirs {
            anyhow::ensure!(host.is_dir(), "--dir {}: not a directory", host.display());
        }
        self.limits.check()
    }
}

/// How a run ended, as a type. [`Exit::code`] is the matching exit status.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExitKind {
    /// The main G returned: status 0.
    Returned,
    /// A G called `exit` (WASI's `proc_exit` or `gmp::exit`) with this status.
    Exit(i32),
    /// A G panicked or trapped: status 2, and [`Exit::report`] says where.
    Panic,
    /// Every G was blocked with nothing that could wake one: status 2, and the report names each G.
    Deadlock,
    /// [`RunHandle::kill`], or the runtime went away: status 137 (a shell's status after `SIGKILL`).
    Killed,
    /// [`RunOptions::deadline`](RunOptions#structfield.deadline) passed: status 124 (as `timeout(1)`).
    Deadline,
    /// A limit was exceeded: status 2, and the report names the limit.
    Limit(LimitKind),
    /// Host code (wasm-gmp's, wasmtime's, or an embedder's host function) panicked while running a G:
    /// status 2. A bug outside the program.
    HostPanic,
    /// The runtime could not give a new G what it needs to exist (the process ran out of memory mappings):
    /// status 2, and the report names the resource and how to raise it. Go's `fatal error: runtime: …`.
    Fatal,
}

impl ExitKind {
    /// The exit status this ending gives the program.
    pub fn code(&self) -> i32 {
        match self {
            ExitKind::Returned => 0,
            ExitKind::Exit(c) => *c,
            ExitKind::Killed => 137,
            ExitKind::Deadline => 124,
            ExitKind::Panic | ExitKind::Deadlock | ExitKind::Limit(_) | ExitKind::HostPanic | ExitKind::Fatal => 2,
        }
    }
}

/// How a program ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exit {
    /// How, as a type.
    pub kind: ExitKind,
    /// The exit status: 0 when main returned, the code of `exit`, 2 after a panic, deadlock or limit, 137
    /// when killed, 124 at the deadline.
    pub code: i32,
    /// The panic, deadlock or limit report the runtime printed, if it printed one.
    pub report: Option<String>,
}

impl Exit {
    /// True when the program ended with status 0.
    pub fn success(&self) -> bool {
        self.code == 0
    }
}

/// What every G of one run shares.
pub(crate) struct RunShared {
    pub(crate) sched: Arc<Sched>,
    /// The run's Gs on the shared scheduler.
    pub(crate) group: Arc<Group>,
    /// The run's channel cycle collector (see `gc.rs`).
    pub(crate) gc: Arc<crate::gc::Collector>,
    pub(crate) program: Program,
    pub(crate) opts: RunOptions,
    /// The program's stdin, one stream for all its Gs.
    pub(crate) stdin: Option<MemoryInputPipe>,
    /// Set by the first G whose failure is reported; later failures stay quiet (Go reports one panic).
    pub(crate) reported: AtomicBool,
    report: Mutex<Option<String>>,
    /// How the run ended, set once by [`RunShared::end`].
    kind: Mutex<Option<ExitKind>>,
    /// The exit, made once from the group's outcome (see [`RunShared::exit`]).
    exit: OnceLock<Exit>,
    /// The deadline's timer, stopped when the run ends first.
    pub(crate) deadline: Mutex<Option<gmp_sched::Timer>>,
    /// Places for Gs the program holds (live Gs and spawns about to start), against `Limits::max_gs`.
    places: std::sync::atomic::AtomicUsize,
    /// The program's limits and what it holds against them (see `limits.rs`).
    pub(crate) limits: Arc<LimitState>,
    /// Its Gs started and the most alive at once, for [`RunHandle::metrics`] (see `metrics.rs`).
    pub(crate) gcounts: crate::metrics::GCounts,
    /// The addresses the program's listening sockets are bound to: it may connect to them without a
    /// `--net` rule (see `net.rs`).
    pub(crate) own_ports: Arc<crate::net::OwnPorts>,
    /// Demangled function names by index, filled by goroutine dumps (see `dump.rs`).
    pub(crate) frame_names: Mutex<std::collections::HashMap<u32, Arc<str>>>,
}

impl RunShared {
    pub(crate) fn new(sched: Arc<Sched>, group: Arc<Group>, program: Program, opts: RunOptions) -> RunShared {
        let limits = LimitState::new(opts.limits.within(program.engine_config()));
        let stdin = match &opts.stdin {
            Input::Bytes(b) => Some(MemoryInputPipe::new(b.clone())),
            _ => None,
        };
        RunShared {
            sched,
            group,
            gc: Arc::default(),
            program,
            opts,
            stdin,
            reported: AtomicBool::new(false),
            report: Mutex::new(None),
            kind: Mutex::new(None),
            exit: OnceLock::new(),
            deadline: Mutex::new(None),
            places: std::sync::atomic::AtomicUsize::new(0),
            limits,
            gcounts: Default::default(),
            own_ports: Arc::default(),
            frame_names: Mutex::default(),
        }
    }

    /// Take one of the program's places for a G; `Err(limit)` when it holds all of them.
    pub(crate) fn reserve_own_place(&self) -> Result<(), usize> {
        use std::sync::atomic::Ordering::SeqCst;
        let prev = self.places.fetch_add(1, SeqCst);
        match self.opts.limits.max_gs {
            Some(max) if prev >= max => {
                self.places.fetch_sub(1, SeqCst);
                Err(max)
            }
            _ => Ok(()),
        }
    }

    /// Give a place back: before the pool's slot is freed, so a spawner woken by the free finds it.
    pub(crate) fn release_own_place(&self) {
        self.places.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// End the run as `kind` if nothing ended it yet (see *Ending, once*). Any thread.
    pub(crate) fn end(&self, kind: ExitKind) {
        let mut k = self.kind.lock();
        if k.is_some() || self.group.is_exiting() {
            return;
        }
        let code = kind.code();
        *k = Some(kind);
        self.group.finish(Outcome::Exited(code));
    }

    /// Print a panic or deadlock report to the run's stderr and keep it for [`Exit::report`].
    pub(crate) fn report(&self, text: &str) {
        write_out(&self.opts.stderr, text);
        let mut r = self.report.lock();
        if r.is_none() {
            *r = Some(text.to_string());
        }
    }

    /// The exit, once the group ended with `outcome`: made (and a deadlock reported) by whoever asks first.
    pub(crate) fn exit(&self, outcome: &Outcome) -> Exit {
        self.exit
            .get_or_init(|| {
                if let Some(t) = self.deadline.lock().take() {
                    t.stop();
                }
                let kind = match outcome {
                    Outcome::Deadlock(gs) => {
                        self.report(&crate::dump::deadlock_report(gs));
                        ExitKind::Deadlock
                    }
                    Outcome::HostPanic { gid, message } => {
                        self.report(&format!(
                            "fatal error: the host panicked while running goroutine {gid}: {message}\n\
                             (a bug in wasm-gmp, wasmtime or an embedder's host function; the program was \
                             stopped)\n"
                        ));
                        ExitKind::HostPanic
                    }
                    Outcome::Exited(code) => self.kind.lock().clone().unwrap_or(match code {
                        0 => ExitKind::Returned,
                        c => ExitKind::Exit(*c),
                    }),
                };
                if self.group.live() == 0 {
                    // Every G is gone: whatever channels their buffers still hold in cycles are garbage now.
                    self.gc.collect_all();
                }
                Exit { code: kind.code(), kind, report: self.report.lock().clone() }
            })
            .clone()
    }
}

/// A started run: wait for it (blocking, or as a future), kill it, read its CPU time.
///
/// Dropping the handle does not stop the run (as dropping a thread's `JoinHandle` does not); the runtime
/// going away does.
///
/// ```
/// use wasm_gmp::{Config, ExitKind, Program, RunOptions, Runtime};
///
/// let rt = Runtime::new(Config::default())?;
/// // A program whose main G spins forever.
/// let spin = Program::from_bytes(&rt.config().engine, br#"(module
///     (memory (export "memory") 1)
///     (func (export "_start") (loop (br 0)))
///     (func (export "gmp_entry") (param i32 i32 i32)))"#)?;
/// let run = rt.start(&spin, RunOptions::default())?;
/// run.kill();
/// assert_eq!(run.wait().kind, ExitKind::Killed);
/// # Ok::<(), anyhow::Error>(())
/// ```
pub struct RunHandle {
    pub(crate) run: Arc<RunShared>,
}

impl RunHandle {
    /// Block until the run has ended and its Gs are gone, and say how it ended. May be called again (and
    /// from several threads): every call returns the same [`Exit`].
    pub fn wait(&self) -> Exit {
        let outcome = self.run.group.wait();
        self.run.exit(&outcome)
    }

    /// Like [`RunHandle::wait`], giving up after `timeout` (None: still running).
    pub fn wait_timeout(&self, timeout: Duration) -> Option<Exit> {
        self.run.group.wait_timeout(timeout).map(|o| self.run.exit(&o))
    }

    /// End the run now: every G stops, a parked G at once, a running one at its next preemption point
    /// (within a millisecond or so of running), and everything the program held is released. Ends as
    /// [`ExitKind::Killed`] unless it had already ended. The parked Gs are dropped on the calling thread
    /// before `kill` returns (each a suspended wasm stack to unwind: tens to hundreds of microseconds
    /// apiece); [`RunHandle::wait`] for the running ones.
    pub fn kill(&self) {
        self.run.end(ExitKind::Killed);
    }

    /// True once the run has ended and its Gs are gone ([`RunHandle::wait`] would not block).
    pub fn is_finished(&self) -> bool {
        self.run.group.wait_timeout(Duration::ZERO).is_some()
    }

    /// CPU time the run's Gs have used so far.
    pub fn cpu_time(&self) -> Duration {
        self.run.group.cpu_time()
    }

    /// The run's Gs alive now.
    pub fn live_gs(&self) -> usize {
        self.run.group.live()
    }

    /// The embedder's state given in [`RunOptions::state`](RunOptions::state()), if it is a `T`.
    pub fn state<T: Any + Send + Sync>(&self) -> Option<&T> {
        self.run.opts.state.as_deref()?.downcast_ref::<T>()
    }

    /// Every G of the run now, with its status, what it waits on and for how long, and the stack of each
    /// parked one, read from its suspended fiber without waking it (see [`Dump`]). The program runs on
    /// meanwhile. `to_string()` gives Go's traceback text, what `wasm-gmp run` prints on `SIGQUIT`.
    ///
    /// ```
    /// use wasm_gmp::{Config, Program, RunOptions, Runtime};
    ///
    /// let rt = Runtime::new(Config::default())?;
    /// // A main G that sleeps for a minute (`gmp.sleep`), in WAT.
    /// let sleeper = Program::from_bytes(&rt.config().engine, br#"(module
    ///     (import "gmp" "sleep" (func $sleep (param i64)))
    ///     (memory (export "memory") 1)
    ///     (func $nap (call $sleep (i64.const 60_000_000_000)))
    ///     (func $_start (export "_start") (call $nap))
    ///     (func (export "gmp_entry") (param i32 i32 i32)))"#)?;
    /// let run = rt.start(&sleeper, RunOptions::default())?;
    /// let dump = loop {
    ///     let d = run.dump();
    ///     if d.goroutines[0].inspection.is_some() {
    ///         break d.to_string();
    ///     }
    ///     std::thread::sleep(std::time::Duration::from_millis(1));
    /// };
    /// assert!(dump.starts_with("goroutine 1 [sleep]:\nnap\n\t"), "{dump}");
    /// run.kill();
    /// # Ok::<(), anyhow::Error>(())
    /// ```
    pub fn dump(&self) -> Dump {
        Dump { goroutines: self.run.group.dump_inspected() }
    }
}

/// The handle is a future of the run's [`Exit`]: it never blocks the thread that polls it, so it can be
/// awaited on any executor (tokio's current-thread one included) while the run's Gs run on the runtime's
/// own threads.
impl Future for RunHandle {
    type Output = Exit;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Exit> {
        self.run.group.poll_wait(cx).map(|o| self.run.exit(&o))
    }
}

pub(crate) fn write_out(out: &Output, text: &str) {
    use std::io::Write;
    match out {
        Output::Inherit => {
            let mut e = std::io::stderr().lock();
            let _ = e.write_all(text.as_bytes());
            let _ = e.flush();
        }
        Output::Capture(c) => {
            let _ = c.0.clone().write(bytes::Bytes::copy_from_slice(text.as_bytes()));
        }
        Output::Writer(w) => {
            let mut w = w.0.lock();
            let _ = w.write_all(text.as_bytes());
            let _ = w.flush();
        }
        Output::Null => {}
    }
}
