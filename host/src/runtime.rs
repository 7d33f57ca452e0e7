//! `Runtime`, `Config`, `Program`: loading a guest, running it to its end, and saying how it ended.
//!
//! # Types
//! - [`Config`]: everything a run is configured with (the CLI's flags map onto it one to one).
//! - [`Program`]: a compiled, checked guest: module, linker, `InstancePre`, and the export indices every G
//!   needs. Compile once, run many times.
//! - [`Runtime`]: runs a program: starts a scheduler, spawns the main G, waits for the program's end.
//! - [`Exit`]: the exit status and, when the program failed, the report the runtime printed.
//! - `RunShared` (crate-private): what every G of one run shares: the scheduler, the program, the WASI
//!   settings, the report sink, the counters of the program's limits.
//!
//! # A run, step by step
//! 1. Start the scheduler with a tick hook that advances the engine epoch (see `gstore.rs`, *Preemption*).
//! 2. Spawn the main G (`_start`).
//! 3. Wait for the outcome: an exit status (main returned, `exit`, a panic) or a deadlock, which is
//!    reported here as Go reports it.
//! 4. Shut the scheduler down: running Gs stop at their next epoch check, parked ones are dropped.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use gmp_sched::{GDump, Hooks, Outcome, Sched, WaitReason};
use parking_lot::Mutex;
use wasmtime::{ExternType, Instance, InstancePre, Linker, Memory, Module, ModuleExport, Store, TypedFunc, ValType};
use wasmtime_wasi::p2::OutputStream as _;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;

use crate::engine::{self, EngineConfig, SharedEngine};
use crate::gstore::{GData, GKind, g_future};
use crate::limits::{LimitState, Limits};
use crate::net::NetPolicy;

/// Where a stream of the program goes.
#[derive(Clone, Default)]
pub enum Output {
    /// The host process's own stdout/stderr.
    #[default]
    Inherit,
    /// An in-memory buffer (see [`Capture`]).
    Capture(Capture),
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

/// Most Ps a run may have: each P can keep an OS thread busy, so more than this is a typo, not a machine
/// (Go's limit, `_MaxGomaxprocs`, was the same until Go 1.10).
pub const MAX_PROCS: usize = 1024;

/// Longest timeslice or schedtrace period: an hour. Longer is a typo rather than a setting, and sysmon keeps
/// periods as nanoseconds in a `u64` (a timeslice of `u64::MAX` seconds would wrap to a few).
pub const MAX_PERIOD: Duration = Duration::from_secs(3600);

/// How a run is configured. `Config::default()` is what `wasm-gmp run` does without flags.
#[derive(Clone)]
pub struct Config {
    /// GOMAXPROCS: Ps running Gs in parallel. Default: the number of CPUs.
    pub procs: usize,
    /// How long a G runs before it is preempted. Default 10 ms, as Go.
    pub timeslice: Duration,
    /// Print a `GODEBUG=schedtrace`-style line this often.
    pub schedtrace: Option<Duration>,
    /// The program's arguments, `argv[0]` first.
    pub args: Vec<String>,
    /// The program's environment.
    pub env: Vec<(String, String)>,
    /// Host directories the program may use: (host path, path the guest sees).
    pub dirs: Vec<(PathBuf, String)>,
    /// The program's limits: memory, handles, message bytes, timers, message size (see `limits.rs`).
    pub limits: Limits,
    /// The engine: memory per G, stack size, G limit, compilation cache.
    pub engine: EngineConfig,
    /// Which addresses the program may listen on and connect to (`--net`). Default: loopback only.
    pub net: NetPolicy,
    /// Where the program's stdout goes.
    pub stdout: Output,
    /// Where the program's stderr and the runtime's reports (panic, deadlock, schedtrace) go.
    pub stderr: Output,
}

impl Config {
    /// Check every setting against its range (the engine's are checked when its engine is made).
    ///
    /// # Errors
    /// The first setting out of range, named with its `wasm-gmp run` flag, and the range.
    pub fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            (1..=MAX_PROCS).contains(&self.procs),
            "procs (--procs) is {}; it must be 1 to {MAX_PROCS}",
            self.procs
        );
        let period_ok = |d: Duration| !d.is_zero() && d <= MAX_PERIOD;
        anyhow::ensure!(
            period_ok(self.timeslice),
            "timeslice (--timeslice) is {:?}; it must be more than 0 and at most {MAX_PERIOD:?}",
            self.timeslice
        );
        if let Some(d) = self.schedtrace {
            anyhow::ensure!(
                period_ok(d),
                "schedtrace (--schedtrace) is {d:?}; it must be more than 0 and at most {MAX_PERIOD:?}"
            );
        }
        self.limits.check()
    }
}

impl Default for Config {
    fn default() -> Self {
        let sched = gmp_sched::Config::default();
        Config {
            procs: sched.procs,
            timeslice: sched.timeslice,
            schedtrace: None,
            args: Vec::new(),
            env: Vec::new(),
            dirs: Vec::new(),
            limits: Limits::default(),
            engine: EngineConfig::default(),
            net: NetPolicy::default(),
            stdout: Output::Inherit,
            stderr: Output::Inherit,
        }
    }
}

/// How a program ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exit {
    /// The exit status: 0 when main returned, the code of `exit`, 2 after a panic or deadlock.
    pub code: i32,
    /// The panic or deadlock report the runtime printed, if it printed one.
    pub report: Option<String>,
}

/// A compiled guest, checked to have what every G needs. Cheap to clone.
#[derive(Clone)]
pub struct Program {
    inner: Arc<ProgramInner>,
}

struct ProgramInner {
    engine_cfg: EngineConfig,
    engine: Arc<SharedEngine>,
    pre: InstancePre<GData>,
    start: ModuleExport,
    entry: ModuleExport,
    memory: ModuleExport,
}

impl Program {
    /// Compile the module at `path` for the engine `cfg` describes.
    ///
    /// # Errors
    /// When the file cannot be read (or is a device, a directory, or larger than [`MAX_MODULE_FILE`]), is
    /// not a valid wasm module (binary or text), needs more memory than `cfg.max_memory`, or is not a
    /// wasm-gmp program (missing `_start`, `gmp_entry` or `memory` exports of the right types, or imports
    /// the runtime does not provide).
    pub fn from_file(cfg: &EngineConfig, path: impl AsRef<Path>) -> anyhow::Result<Program> {
        Program::builder(cfg).file(path)
    }

    /// Compile `bytes` (a wasm binary, or WAT text).
    ///
    /// # Errors
    /// As [`Program::from_file`].
    pub fn from_bytes(cfg: &EngineConfig, bytes: &[u8]) -> anyhow::Result<Program> {
        Program::builder(cfg).bytes(bytes)
    }

    /// A builder, to add the embedder's own host functions before compiling.
    pub fn builder(cfg: &EngineConfig) -> ProgramBuilder {
        ProgramBuilder { cfg: cfg.clone(), host: Vec::new() }
    }

    fn build(cfg: &EngineConfig, bytes: &[u8], host: Vec<HostFns>) -> anyhow::Result<Program> {
        let binary = to_binary(bytes)?;
        let engine = engine::shared(cfg)?;
        check_memories(&binary, cfg.max_memory)?;
        let module = Module::from_binary(engine.engine(), &binary)
            .map_err(|e| anyhow!("not a valid WebAssembly module: {e}"))?;
        let start = export(&module, "_start", &[])?;
        let entry = export(&module, "gmp_entry", &[ValType::I32, ValType::I32, ValType::I32])?;
        let memory = match module.get_export("memory") {
            Some(ExternType::Memory(_)) => module.get_export_index("memory").expect("export listed but not indexed"),
            _ => bail!("not a wasm-gmp program: it exports no `memory`"),
        };
        let mut linker: Linker<GData> = Linker::new(engine.engine());
        wasmtime_wasi::p1::add_to_linker_async(&mut linker, |d: &mut GData| d.wasi())
            .map_err(|e| anyhow!("linking WASI: {e}"))?;
        crate::abi::add_to_linker(&mut linker).map_err(|e| anyhow!("linking the gmp ABI: {e}"))?;
        for add in host {
            add(&mut linker).map_err(|e| anyhow!("adding the embedder's host functions: {e}"))?;
        }
        let pre = linker.instantiate_pre(&module).map_err(|e| anyhow!("cannot link the program: {e}"))?;
        Ok(Program { inner: Arc::new(ProgramInner { engine_cfg: cfg.clone(), engine, pre, start, entry, memory }) })
    }

    pub(crate) fn engine(&self) -> &wasmtime::Engine {
        self.inner.engine.engine()
    }

    pub(crate) fn shared_engine(&self) -> &Arc<SharedEngine> {
        &self.inner.engine
    }

    pub(crate) fn pre(&self) -> &InstancePre<GData> {
        &self.inner.pre
    }

    pub(crate) fn start(&self, i: &Instance, s: &mut Store<GData>) -> wasmtime::Result<TypedFunc<(), ()>> {
        func(i, s, &self.inner.start)?.typed(&*s)
    }

    pub(crate) fn entry(&self, i: &Instance, s: &mut Store<GData>) -> wasmtime::Result<TypedFunc<(i32, i32, i32), ()>> {
        func(i, s, &self.inner.entry)?.typed(&*s)
    }

    pub(crate) fn memory(&self, i: &Instance, s: &mut Store<GData>) -> wasmtime::Result<Memory> {
        i.get_module_export(&mut *s, &self.inner.memory)
            .and_then(|e| e.into_memory())
            .ok_or_else(|| wasmtime::Error::msg("the instance has no memory"))
    }
}

/// Largest module file [`ProgramBuilder::file`] reads: 256 MiB, ten times the largest real programs
/// (browsers, language runtimes compiled to wasm are 20–50 MiB), so a runaway input ends with an error
/// instead of eating the host's memory.
pub const MAX_MODULE_FILE: u64 = 256 << 20;

/// Read a module file: a regular file or a pipe (`<(cat app.wasm)`), never more than [`MAX_MODULE_FILE`]
/// bytes. Devices, sockets and directories are refused before reading: `/dev/zero` never ends.
fn read_module_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    use std::io::Read as _;
    use std::os::unix::fs::FileTypeExt as _;
    let file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    let ty = meta.file_type();
    let kind = if ty.is_dir() {
        Some("a directory")
    } else if ty.is_char_device() {
        Some("a character device")
    } else if ty.is_block_device() {
        Some("a block device")
    } else if ty.is_socket() {
        Some("a socket")
    } else {
        None
    };
    if let Some(kind) = kind {
        bail!("it is {kind}, not a file");
    }
    let too_big = || anyhow!("the file is larger than the {} MiB a module may have", MAX_MODULE_FILE >> 20);
    if meta.len() > MAX_MODULE_FILE {
        return Err(too_big());
    }
    // A pipe's length is unknown, and a file may grow while read: stop one byte past the limit.
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_MODULE_FILE + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_MODULE_FILE {
        return Err(too_big());
    }
    Ok(bytes)
}

/// The wasm binary in `bytes`: the bytes themselves if they start with the binary format's `\0asm`, else
/// their translation from the text format. Anything but a binary is tried as text, so comments before the
/// `(module` are fine; the error then says why it is neither, on one line.
fn to_binary(bytes: &[u8]) -> anyhow::Result<std::borrow::Cow<'_, [u8]>> {
    if bytes.starts_with(b"\0asm") {
        return Ok(bytes.into());
    }
    if std::str::from_utf8(bytes).is_err() {
        bail!("not a WebAssembly module: no `\\0asm` header, and not text (not UTF-8)");
    }
    wat::parse_bytes(bytes).map_err(|e| {
        // wat's message spans lines (the source line, a caret); keep the message and where.
        let text = e.to_string();
        let mut lines = text.lines();
        let what = lines.next().unwrap_or("unreadable");
        let at = lines.find_map(|l| l.trim().strip_prefix("--> <anon>:")).and_then(|lc| lc.split_once(':'));
        let at = at.map(|(line, col)| format!(" at line {line}, column {col}")).unwrap_or_default();
        anyhow!("not a WebAssembly module: no `\\0asm` header, and not valid WebAssembly text: {what}{at}")
    })
}

/// Every memory the module defines must start within `max_memory`, or no G could ever be instantiated.
/// Checked on the binary before compiling it, because the pooling allocator refuses such a module while
/// compiling, in its own words ("module memory does not fit in pooling allocator requirements") that name
/// neither the flag nor the sizes. (Imported memories need no check: nothing here provides one, so such a
/// module fails to link.) A binary too malformed to read is left to the compiler, which says what is wrong.
fn check_memories(binary: &[u8], max_memory: u64) -> anyhow::Result<()> {
    use wasmparser::{Parser, Payload};
    for payload in Parser::new(0).parse_all(binary) {
        let memories = match payload {
            Ok(Payload::MemorySection(memories)) => memories,
            Ok(Payload::CodeSectionStart { .. }) | Err(_) => break, // memories come before code
            Ok(_) => continue,
        };
        for ty in memories.into_iter().map_while(Result::ok) {
            let page = 1u64 << ty.page_size_log2.unwrap_or(16);
            let min = ty.initial.saturating_mul(page);
            if min > max_memory {
                bail!(
                    "the module's memory starts at {} pages ({} KiB), more than the {} KiB a G may have \
                     (--max-memory / EngineConfig::max_memory)",
                    ty.initial,
                    min >> 10,
                    max_memory >> 10
                );
            }
        }
    }
    Ok(())
}

/// A function that adds host functions to a program's linker.
type HostFns = Box<dyn FnOnce(&mut Linker<GData>) -> wasmtime::Result<()>>;

/// Builds a [`Program`] with the embedder's own host functions next to WASI and the `gmp` ABI.
///
/// A host function that may block its thread (a database call, a lock) should do so inside
/// [`crate::blocking`], so the Gs queued behind it keep running on another thread, as Go's syscalls do:
///
/// ```no_run
/// use wasm_gmp::{EngineConfig, Program};
///
/// let program = Program::builder(&EngineConfig::default())
///     .host_functions(|linker| {
///         linker.func_wrap("env", "slow_lookup", |key: i32| -> i32 {
///             wasm_gmp::blocking(|| {
///                 std::thread::sleep(std::time::Duration::from_millis(50));
///                 key * 2
///             })
///         })?;
///         Ok(())
///     })
///     .file("app.wasm")?;
/// # Ok::<(), anyhow::Error>(())
/// ```
pub struct ProgramBuilder {
    cfg: EngineConfig,
    host: Vec<HostFns>,
}

impl ProgramBuilder {
    /// Add host functions: `add` gets the program's wasmtime `Linker`, with WASI and `gmp` already in it.
    pub fn host_functions(mut self, add: impl FnOnce(&mut Linker<GData>) -> wasmtime::Result<()> + 'static) -> Self {
        self.host.push(Box::new(add));
        self
    }

    /// Compile the module at `path`.
    ///
    /// # Errors
    /// As [`Program::from_file`], and whatever the host-function closures return.
    pub fn file(self, path: impl AsRef<Path>) -> anyhow::Result<Program> {
        let path = path.as_ref();
        let bytes = read_module_file(path).with_context(|| format!("{}: cannot read", path.display()))?;
        self.bytes(&bytes).with_context(|| path.display().to_string())
    }

    /// Compile `bytes` (a wasm binary, or WAT text).
    ///
    /// # Errors
    /// As [`ProgramBuilder::file`].
    pub fn bytes(self, bytes: &[u8]) -> anyhow::Result<Program> {
        Program::build(&self.cfg, bytes, self.host)
    }
}

fn func(i: &Instance, s: &mut Store<GData>, idx: &ModuleExport) -> wasmtime::Result<wasmtime::Func> {
    i.get_module_export(&mut *s, idx).and_then(|e| e.into_func()).ok_or_else(|| wasmtime::Error::msg("export vanished"))
}

/// Check that `module` exports a function `name` with `params` and no results.
fn export(module: &Module, name: &str, params: &[ValType]) -> anyhow::Result<ModuleExport> {
    let hint = "build it with the gmp guest SDK (guest-sdk/)";
    let Some(ExternType::Func(ty)) = module.get_export(name) else {
        bail!("not a wasm-gmp program: it does not export the function `{name}`; {hint}");
    };
    let ok = ty.results().len() == 0
        && ty.params().len() == params.len()
        && ty.params().zip(params).all(|(a, b)| ValType::eq(&a, b));
    if !ok {
        bail!("not a wasm-gmp program: its export `{name}` has type {ty}, expected ({params:?}) -> (); {hint}");
    }
    Ok(module.get_export_index(name).expect("export listed but not indexed"))
}

/// Runs programs.
pub struct Runtime {
    cfg: Config,
}

impl Runtime {
    /// A runtime with this configuration.
    pub fn new(cfg: Config) -> Runtime {
        Runtime { cfg }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Compile the module at `path` for this runtime's engine.
    ///
    /// # Errors
    /// As [`Program::from_file`].
    pub fn load(&self, path: impl AsRef<Path>) -> anyhow::Result<Program> {
        Program::from_file(&self.cfg.engine, path)
    }

    /// Load and run the module at `path`.
    ///
    /// # Errors
    /// As [`Runtime::load`] and [`Runtime::run`].
    pub fn run_file(&self, path: impl AsRef<Path>) -> anyhow::Result<Exit> {
        let program = self.load(path)?;
        self.run(&program)
    }

    /// Run `program` until it ends: main returns, a G exits or panics, or every G is blocked.
    ///
    /// # Errors
    /// When the program cannot be started at all (a `--dir` that does not exist, no room for the main G, a
    /// program compiled for another engine configuration). How the program itself ended is the [`Exit`].
    pub fn run(&self, program: &Program) -> anyhow::Result<Exit> {
        let cfg = &self.cfg;
        cfg.check()?;
        anyhow::ensure!(
            program.inner.engine_cfg == cfg.engine,
            "the program was compiled for another engine configuration than this runtime's"
        );
        for (host, _) in &cfg.dirs {
            anyhow::ensure!(host.is_dir(), "--dir {}: not a directory", host.display());
        }
        let slot = program.shared_engine().reserve()?;
        let engine = program.engine().clone();
        let trace_out = cfg.stderr.clone();
        let hooks = Hooks {
            tick: Box::new(move || engine.increment_epoch()),
            trace: Box::new(move |line| write_out(&trace_out, &format!("{line}\n"))),
            m_context: Box::new(|body| {
                let _tokio = crate::wasi::tokio_handle().enter();
                body()
            }),
        };
        let sched = Sched::start(
            gmp_sched::Config {
                procs: cfg.procs,
                timeslice: cfg.timeslice,
                schedtrace: cfg.schedtrace,
                ..gmp_sched::Config::default()
            },
            hooks,
        );
        let run = Arc::new(RunShared {
            gc: Arc::default(),
            limits: LimitState::new(cfg.limits.within(&cfg.engine)),
            sched: sched.clone(),
            program: program.clone(),
            cfg: cfg.clone(),
            reported: AtomicBool::new(false),
            report: Mutex::new(None),
        });
        sched.spawn(|gid| g_future(run.clone(), gid, GKind::Main, slot));
        let outcome = sched.wait();
        let code = match outcome {
            Outcome::Exited(code) => code,
            Outcome::HostPanic { gid, message } => {
                run.report(&format!(
                    "fatal error: the host panicked while running goroutine {gid}: {message}\n\
                     (a bug in wasm-gmp, wasmtime or an embedder's host function; the program was stopped)\n"
                ));
                2
            }
            Outcome::Deadlock(gs) => {
                run.report(&deadlock_report(&gs));
                2
            }
        };
        sched.shutdown();
        // Every G is gone: whatever channels their buffers still hold in cycles are garbage now.
        run.gc.collect_all();
        let report = run.report.lock().take();
        Ok(Exit { code, report })
    }
}

/// What every G of one run shares.
pub(crate) struct RunShared {
    pub(crate) sched: Arc<Sched>,
    /// The run's channel cycle collector (see `gc.rs`).
    pub(crate) gc: Arc<crate::gc::Collector>,
    /// The program's limits and what it holds against them (see `limits.rs`).
    pub(crate) limits: Arc<LimitState>,
    pub(crate) program: Program,
    pub(crate) cfg: Config,
    /// Set by the first G whose failure is reported; later failures stay quiet (Go reports one panic).
    pub(crate) reported: AtomicBool,
    report: Mutex<Option<String>>,
}

impl RunShared {
    /// Print a panic or deadlock report to the run's stderr and keep it for [`Exit::report`].
    pub(crate) fn report(&self, text: &str) {
        write_out(&self.cfg.stderr, text);
        let mut r = self.report.lock();
        if r.is_none() {
            *r = Some(text.to_string());
        }
    }
}

fn write_out(out: &Output, text: &str) {
    match out {
        Output::Inherit => {
            use std::io::Write;
            let mut e = std::io::stderr().lock();
            let _ = e.write_all(text.as_bytes());
            let _ = e.flush();
        }
        Output::Capture(c) => {
            let _ = c.0.clone().write(bytes::Bytes::copy_from_slice(text.as_bytes()));
        }
    }
}

/// Go's deadlock report: the fatal line, then each G with what it waits for.
pub(crate) fn deadlock_report(gs: &[GDump]) -> String {
    let mut s = String::from("fatal error: all goroutines are asleep - deadlock!\n");
    for g in gs {
        s.push_str(&format!("\ngoroutine {} [{}]:\n", g.id, g.reason.as_str()));
        match g.reason {
            WaitReason::ChanReceive | WaitReason::ChanSend => s.push_str(&format!("\twaiting on chan #{}\n", g.obj)),
            WaitReason::Select => s.push_str(&format!("\twaiting in a select (first case on chan #{})\n", g.obj)),
            WaitReason::SelectNoCases => s.push_str("\tblocked forever in an empty select\n"),
            _ => {}
        }
    }
    s
}
