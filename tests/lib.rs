//! Test support for the integration tests: build the guest programs once per test run, compile each
//! module once per test process, and run programs in-process (output captured) or through the CLI.
//!
//! The guests (`examples/*`, `tests/guests`) are built with the workspace's own cargo, for wasm32-wasip1,
//! into `target/wasm`, a target directory of their own so the build does not wait on the outer `cargo test`.
//! A missing wasm32-wasip1 target is installed with rustup first.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use wasm_gmp::{Capture, Config, EngineConfig, Output, Program, RunOptions, Runtime};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

/// The cargo that runs the tests (`$CARGO`), to build with the same toolchain.
pub fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

fn ensure_wasm_target() {
    let installed = Command::new("rustup").args(["target", "list", "--installed"]).output();
    if let Ok(out) = installed
        && String::from_utf8_lossy(&out.stdout).lines().any(|l| l.trim() == "wasm32-wasip1")
    {
        return;
    }
    let st = Command::new("rustup").args(["target", "add", "wasm32-wasip1"]).status();
    assert!(st.is_ok_and(|s| s.success()), "cannot install the wasm32-wasip1 target with rustup");
}

/// Build every guest (once per process; cargo makes later builds no-ops) and return the folder of the
/// `.wasm` files.
pub fn wasm_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        ensure_wasm_target();
        let target = root().join("target/wasm");
        let out = cargo()
            .current_dir(root())
            .args(["build", "--release", "--target", "wasm32-wasip1", "--target-dir"])
            .arg(&target)
            .args([
                "--workspace",
                "--exclude",
                "wasm-gmp",
                "--exclude",
                "gmp-tests",
                "--exclude",
                "gmp-sched",
                "--exclude",
                "gmp-bench",
            ])
            .output()
            .expect("cannot run cargo to build the guests");
        assert!(out.status.success(), "building the guests failed:\n{}", String::from_utf8_lossy(&out.stderr));
        target.join("wasm32-wasip1/release")
    })
}

/// The path of guest `name` (an example or a test guest).
pub fn wasm(name: &str) -> PathBuf {
    let p = wasm_dir().join(format!("{name}.wasm"));
    assert!(p.exists(), "no guest named {name} at {}", p.display());
    p
}

/// Guest `name` compiled for the default engine, once per test process.
pub fn program(name: &str) -> Program {
    static CACHE: OnceLock<Mutex<HashMap<String, Program>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(p) = cache.lock().unwrap().get(name) {
        return p.clone();
    }
    let p = Program::from_file(&EngineConfig::default(), wasm(name)).expect("guest does not compile");
    cache.lock().unwrap().entry(name.to_string()).or_insert(p).clone()
}

/// What a run printed and how it ended.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub report: Option<String>,
}

/// A runtime configuration and a run's options: what a test runs a guest with.
pub struct Setup {
    pub rt: Config,
    pub opts: RunOptions,
}

/// A runtime of `procs` Ps and a run with these program arguments.
pub fn config(name: &str, procs: usize, args: &[&str]) -> Setup {
    Setup {
        rt: Config { procs, ..Config::default() },
        opts: RunOptions::default()
            .args(std::iter::once(format!("{name}.wasm")).chain(args.iter().map(|a| a.to_string()))),
    }
}

/// Run guest `name` in-process with `procs` Ps.
pub fn run(name: &str, procs: usize, args: &[&str]) -> Run {
    run_with(name, config(name, procs, args))
}

/// Run guest `name` in-process with `cfg` (its stdout/stderr are replaced by captures). Fails the test if
/// the program has not ended after two minutes, rather than hanging the suite.
pub fn run_with(name: &str, cfg: Setup) -> Run {
    let program = if cfg.rt.engine == EngineConfig::default() {
        program(name)
    } else {
        Program::from_file(&cfg.rt.engine, wasm(name)).expect("guest does not compile")
    };
    run_program(name, program, cfg)
}

/// Run `program` in-process with `cfg`, as [`run_with`] does; `name` is for the failure message.
pub fn run_program(name: &str, program: Program, mut cfg: Setup) -> Run {
    let (out, err) = (Capture::new(), Capture::new());
    cfg.opts.stdout = Output::Capture(out.clone());
    cfg.opts.stderr = Output::Capture(err.clone());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(Runtime::new(cfg.rt).and_then(|rt| rt.run(&program, cfg.opts)));
    });
    let exit = rx
        .recv_timeout(Duration::from_secs(120))
        .unwrap_or_else(|_| panic!("{name} did not end within 2 minutes; stdout so far:\n{}", out.contents()))
        .expect("the runtime could not start the program");
    Run { code: exit.code, stdout: out.contents(), stderr: err.contents(), report: exit.report }
}

/// The `wasm-gmp` binary, built once per test process: `cargo test -p gmp-tests` does not build another
/// package's binaries, and a binary left over from an earlier build would test old code. (A no-op when it
/// is up to date.)
pub fn bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        // target/debug/deps/<test binary> → target/debug/wasm-gmp
        let exe = std::env::current_exe().expect("test binary path");
        let dir = exe.parent().and_then(Path::parent).expect("test binary in target/<profile>/deps");
        let st = cargo().current_dir(root()).args(["build", "-p", "wasm-gmp", "--bin", "wasm-gmp"]).status();
        assert!(st.is_ok_and(|s| s.success()), "cannot build the wasm-gmp binary");
        dir.join("wasm-gmp")
    })
    .clone()
}

/// Run `wasm-gmp` with `args`; compiled modules are cached under target/, never in the user's home.
pub fn cli(args: &[&str]) -> std::process::Output {
    Command::new(bin())
        .args(args)
        .env("GMP_CACHE_DIR", root().join("target/gmp-cache"))
        .env_remove("GMP_MAXPROCS")
        .output()
        .expect("cannot run wasm-gmp")
}

/// Wait for `child` to exit; if it has not within `limit`, kill it and return None. A hung program then
/// fails its test in bounded time instead of hanging the suite.
pub fn wait_or_kill(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let t0 = Instant::now();
    loop {
        if let Some(st) = child.try_wait().expect("cannot wait for a child process") {
            return Some(st);
        }
        if t0.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// How a scenario run by [`isolated`] ended.
#[derive(Debug)]
pub struct Isolated {
    /// The program's exit status.
    pub code: i32,
    /// From starting the child process to its end (process start and compilation included).
    pub elapsed: Duration,
    /// The child's stdout and stderr (the test harness's lines, then the program's).
    pub stdout: String,
    pub stderr: String,
}

/// The environment variable that tells a re-run test binary which test is the child of [`isolated`].
const CHILD_VAR: &str = "GMP_TEST_CHILD";

/// Run `scenario` in a process of its own and fail the test if it has not ended within `limit`.
///
/// The process is this test binary again, told to run only the test named `test` (which must be the
/// calling test's own name) with `GMP_TEST_CHILD=test`; there this call runs `scenario`, prints its output
/// and exits with its status. So the caller is the whole test body, run twice: as parent and as child.
/// Why not a thread: a hung scheduler cannot be stopped from outside (a G that is never preempted keeps
/// its OS thread), and threads left spinning in the test process would slow the tests that run after it;
/// a process can be killed.
pub fn isolated(test: &str, limit: Duration, scenario: impl FnOnce() -> Run) -> Isolated {
    if std::env::var(CHILD_VAR).is_ok_and(|t| t == test) {
        use std::io::Write;
        let r = scenario();
        print!("{}", r.stdout);
        eprint!("{}", r.stderr);
        let _ = std::io::stdout().flush();
        let _ = std::io::stderr().flush();
        std::process::exit(r.code);
    }
    let t0 = Instant::now();
    let mut child = Command::new(std::env::current_exe().expect("test binary path"))
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_VAR, test)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot re-run the test binary");
    // Drain both pipes while waiting, so a chatty child never blocks on a full pipe.
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = Vec::new();
            let _ = pipe.read_to_end(&mut s);
            String::from_utf8_lossy(&s).into_owned()
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("piped stdout")));
    let err = drain(Box::new(child.stderr.take().expect("piped stderr")));
    let status = wait_or_kill(&mut child, limit);
    let elapsed = t0.elapsed();
    let (stdout, stderr) = (out.join().unwrap_or_default(), err.join().unwrap_or_default());
    let Some(status) = status else {
        panic!("{test}: did not end within {limit:?}, killed; stdout:\n{stdout}\nstderr:\n{stderr}");
    };
    let code = status.code().unwrap_or_else(|| panic!("{test}: the child died of {status}; stderr:\n{stderr}"));
    Isolated { code, elapsed, stdout, stderr }
}

/// The smallest program that parks Gs, in WAT (no guest build needed): its main G spawns `n` Gs, each
/// waiting forever on a channel of its own that nobody sends on, then sleeps for an hour. The parked-G
/// tests and the embedding benchmark share it.
///
/// With `image = Some((start, end))`, the memory (2 pages) has a data image spanning `start..end` (a nonzero
/// byte at each end), and each G writes a page below the image and one above it before it waits, so both
/// parts of a copy-on-write slot are faulted in. Without, the memory is one page and a G writes nothing.
pub fn parker_wat(n: u32, image: Option<(u32, u32)>) -> String {
    let (pages, data, writes) = match image {
        Some((start, end)) => (
            2,
            format!(r#"(data (i32.const {start}) "x") (data (i32.const {}) "x")"#, end - 1),
            "(i32.store (i32.const 4096) (i32.const 1)) (i32.store (i32.const 126976) (i32.const 1))",
        ),
        None => (1, String::new(), ""),
    };
    format!(
        r#"(module
            (import "gmp" "spawn" (func $spawn (param i32 i32 i32 i32 i32) (result i64)))
            (import "gmp" "chan_new" (func $chan_new (param i32) (result i32)))
            (import "gmp" "chan_recv" (func $recv (param i32 i32 i32 i32 i32 i32) (result i32)))
            (import "gmp" "sleep" (func $sleep (param i64)))
            (import "gmp" "msg_take" (func $take (param i32 i32 i32 i32)))
            (memory (export "memory") {pages})
            {data}
            (func (export "_start") (local $i i32)
                (loop $spawn_all
                    (drop (call $spawn (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)))
                    (local.set $i (i32.add (local.get $i) (i32.const 1)))
                    (br_if $spawn_all (i32.lt_u (local.get $i) (i32.const {n}))))
                (call $sleep (i64.const 3600000000000)))
            (func (export "gmp_entry") (param i32 i32 i32)
                (call $take (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))
                {writes}
                (drop (call $recv (call $chan_new (i32.const 0)) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 16)))))"#
    )
}
