//! `Runtime` and `Config`: one scheduler running many programs, each started with its own options.
//!
//! # Types
//! - [`Config`]: the runtime's settings: GOMAXPROCS, the timeslice, schedtrace, and the engine. (What one
//!   run sees, its arguments, output and limits, is [`RunOptions`].)
//! - [`Runtime`]: one scheduler (Ps, Ms, sysmon, netpoller, timers) shared by every program it runs, as one
//!   Go process runs all its goroutines. [`Runtime::start`] starts a program as a group of Gs on it and
//!   returns its [`RunHandle`]; [`Runtime::run`] starts and waits. The CLI is the one-program case.
//!
//! # A run, step by step
//! 1. Check the options, make the run's group and its `RunShared`, arm its deadline.
//! 2. Spawn the main G (`_start`) into the group.
//! 3. The group ends (main returned, `exit`, a panic, a limit, a kill, the deadline, a deadlock): its parked
//!    Gs are dropped at once and its running ones stop at their next epoch check (see `gstore.rs`).
//! 4. [`RunHandle::wait`] (or awaiting the handle) turns the group's outcome into the [`Exit`].
//!
//! Dropping the `Runtime` kills every run still going and shuts the scheduler down. It returns once every G
//! is dropped, however long that takes while Gs keep going away (a million parked Gs: seconds). An M that
//! stops making progress for a second is left behind: one in a blocking call with the other Gs dropped, one
//! anywhere else (a host function that blocks outside [`crate::blocking`], a G compiled without epoch checks)
//! with what is left leaked rather than freed under it.

use std::path::Path;
use std::sync::{Arc, Weak};
use std::time::Duration;

use gmp_sched::{Hooks, Sched};
use parking_lot::Mutex;

use crate::engine::EngineConfig;
use crate::gstore::{GKind, g_future};
use crate::program::Program;
use crate::run::{Exit, ExitKind, RunHandle, RunOptions, RunShared};

/// Most Ps a runtime may have: each P can keep an OS thread busy, so more than this is a typo, not a
/// machine (Go's limit, `_MaxGomaxprocs`, was the same until Go 1.10).
pub const MAX_PROCS: usize = 1024;

/// Longest timeslice or schedtrace period: an hour. Longer is a typo rather than a setting, and sysmon keeps
/// periods as nanoseconds in a `u64` (a timeslice of `u64::MAX` seconds would wrap to a few).
pub const MAX_PERIOD: Duration = Duration::from_secs(3600);

/// How a runtime is configured. `Config::default()` is what `wasm-gmp run` does without flags.
#[derive(Clone, Debug)]
pub struct Config {
    /// GOMAXPROCS: Ps running Gs in parallel, shared by every program of the runtime. Default: the number
    /// of CPUs.
    pub procs: usize,
    /// How long a G runs before it is preempted. Default 10 ms, as Go.
    pub timeslice: Duration,
    /// Print a `GODEBUG=schedtrace`-style line to stderr this often.
    pub schedtrace: Option<Duration>,
    /// The engine: memory per G, stack size, G limit, compilation cache.
    pub engine: EngineConfig,
    /// Record an execution trace of everything the runtime runs and write it here, as Trace Event Format
    /// JSON, when the runtime is dropped (see `trace.rs` for why it is the runtime's). Default: none.
    pub trace: Option<crate::trace::TraceOutput>,
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
        Ok(())
    }
}

impl Default for Config {
    fn default() -> Self {
        let sched = gmp_sched::Config::default();
        Config {
            procs: sched.procs,
            timeslice: sched.timeslice,
            schedtrace: None,
            engine: EngineConfig::default(),
            trace: None,
        }
    }
}

/// Runs programs: one scheduler, shared by every program started on it. `Send` and `Sync`: share it
/// between threads (or tasks) with an `Arc`.
///
/// ```
/// use wasm_gmp::{Capture, Config, Output, Program, RunOptions, Runtime};
///
/// let rt = Runtime::new(Config { procs: 2, ..Config::default() })?;
/// // Any wasm-gmp program; this one, in the text format, writes to stdout through WASI.
/// let hello = Program::from_bytes(&rt.config().engine, br#"(module
///     (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
///     (memory (export "memory") 1)
///     (data (i32.const 16) "hello\n")
///     (data (i32.const 0) "\10\00\00\00\06\00\00\00")
///     (func (export "_start") (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 32))))
///     (func (export "gmp_entry") (param i32 i32 i32)))"#)?;
/// let out = Capture::new();
/// let exit = rt.run(&hello, RunOptions::default().stdout(Output::Capture(out.clone())))?;
/// assert!(exit.success());
/// assert_eq!(out.contents(), "hello\n");
/// # Ok::<(), anyhow::Error>(())
/// ```
pub struct Runtime {
    cfg: Config,
    sched: Arc<Sched>,
    /// Runs started and maybe still going, for the runtime's teardown.
    runs: Mutex<Vec<Weak<RunShared>>>,
}

impl Runtime {
    /// A runtime with this configuration: its scheduler starts now (no thread runs Gs until the first
    /// program starts).
    ///
    /// # Errors
    /// When a setting is out of range ([`Config::check`]).
    pub fn new(cfg: Config) -> anyhow::Result<Runtime> {
        cfg.check()?;
        let engine = crate::engine::shared(&cfg.engine)?.engine().clone();
        let hooks = Hooks {
            tick: Box::new(move || engine.increment_epoch()),
            trace: Box::new(move |line| crate::run::write_out(&crate::run::Output::Inherit, &format!("{line}\n"))),
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
                // Each program reports its own deadlock; one program's must not end the others.
                checkdead: false,
                trace: cfg.trace.is_some(),
                ..gmp_sched::Config::default()
            },
            hooks,
        );
        Ok(Runtime { cfg, sched, runs: Mutex::new(Vec::new()) })
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

    /// Start `program` with `opts`: its main G is queued at once, and the returned handle waits for it,
    /// kills it, or is awaited as a future.
    ///
    /// # Errors
    /// When the program cannot be started at all: a directory in `opts.dirs` that does not exist, no room
    /// in the engine's pool for the main G, a program compiled for another engine configuration. How the
    /// program itself ended is the [`Exit`].
    pub fn start(&self, program: &Program, mut opts: RunOptions) -> anyhow::Result<RunHandle> {
        anyhow::ensure!(
            program.engine_config() == &self.cfg.engine,
            "the program was compiled for another engine configuration than this runtime's"
        );
        opts.check()?;
        if opts.args.is_empty() {
            opts.args.push(program.name().to_string());
        }
        let group = self.sched.new_group();
        let deadline = opts.deadline;
        let run = Arc::new(RunShared::new(self.sched.clone(), group.clone(), program.clone(), opts));
        run.reserve_own_place().map_err(|_| anyhow::anyhow!("max_gs must be at least 1"))?;
        let slot = program.shared_engine().reserve()?;
        if let Some(d) = deadline {
            let weak = Arc::downgrade(&run);
            let when = self.sched.now().saturating_add(d.as_nanos().min(u64::MAX as u128) as u64);
            let action = gmp_sched::Action::Call(Box::new(move || {
                if let Some(run) = weak.upgrade() {
                    run.end(ExitKind::Deadline);
                }
                false
            }));
            *run.deadline.lock() = Some(self.sched.add_timer_for(None, when, None, action));
        }
        for c in &run.opts.chans {
            c.hold_for(&group);
        }
        let r2 = run.clone();
        let main_gid = self
            .sched
            .spawn_in(&group, move |gid| g_future(r2, gid, GKind::Main, slot))
            .expect("a new group is not ending");
        run.gcounts.spawned(group.live());
        self.sched.trace_label(main_gid, || "main".to_string());
        let mut runs = self.runs.lock();
        runs.retain(|r| r.strong_count() > 0);
        runs.push(Arc::downgrade(&run));
        Ok(RunHandle { run })
    }

    /// Run `program` until it ends: [`Runtime::start`], then [`RunHandle::wait`].
    ///
    /// # Errors
    /// As [`Runtime::start`].
    pub fn run(&self, program: &Program, opts: RunOptions) -> anyhow::Result<Exit> {
        Ok(self.start(program, opts)?.wait())
    }

    /// Load and run the module at `path`.
    ///
    /// # Errors
    /// As [`Runtime::load`] and [`Runtime::start`].
    pub fn run_file(&self, path: impl AsRef<Path>, opts: RunOptions) -> anyhow::Result<Exit> {
        let program = self.load(path)?;
        self.run(&program, opts)
    }

    /// A host channel with a buffer of `cap` values (0: unbuffered), for the embedder's threads and tasks
    /// and for the programs it is handed to ([`RunOptions::chan`]).
    pub fn chan<T: crate::Message + Send + 'static>(&self, cap: usize) -> crate::Chan<T> {
        crate::Chan::new(cap, &self.sched)
    }

    pub(crate) fn sched(&self) -> &Arc<Sched> {
        &self.sched
    }

    /// Gs alive now, over every program of the runtime.
    pub fn live_gs(&self) -> usize {
        self.sched.live()
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        let runs: Vec<Arc<RunShared>> = self.runs.lock().iter().filter_map(Weak::upgrade).collect();
        for run in &runs {
            run.end(ExitKind::Killed);
        }
        self.sched.exit(0);
        self.sched.shutdown();
        if let (Some(out), Some(trace)) = (&self.cfg.trace, self.sched.take_trace())
            && let Err(e) = out.write(&trace)
        {
            eprintln!("wasm-gmp: cannot write the trace to {out:?}: {e}");
        }
    }
}
