//! Test support for the integration tests: build the guest programs once per test run, compile each
//! module once per test process, and run programs in-process (output captured) or through the CLI.
//!
//! The guests (`examples/*`, `tests/guests`) are built with the workspace's own cargo, for wasm32-wasip1,
//! into `target/wasm`, a target directory of their own so the build does not wait on the outer `cargo test`.
//! A missing wasm32-wasip1 target is installed with rustup first.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use wasm_gmp::{Capture, Config, EngineConfig, Output, Program, Runtime};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

fn cargo() -> Command {
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

/// A configuration for `procs` Ps and these program arguments, output captured.
pub fn config(name: &str, procs: usize, args: &[&str]) -> Config {
    Config {
        procs,
        args: std::iter::once(format!("{name}.wasm")).chain(args.iter().map(|a| a.to_string())).collect(),
        ..Config::default()
    }
}

/// Run guest `name` in-process with `procs` Ps.
pub fn run(name: &str, procs: usize, args: &[&str]) -> Run {
    run_with(name, config(name, procs, args))
}

/// Run guest `name` in-process with `cfg` (its stdout/stderr are replaced by captures). Fails the test if
/// the program has not ended after two minutes, rather than hanging the suite.
pub fn run_with(name: &str, mut cfg: Config) -> Run {
    let (out, err) = (Capture::new(), Capture::new());
    cfg.stdout = Output::Capture(out.clone());
    cfg.stderr = Output::Capture(err.clone());
    let program = if cfg.engine == EngineConfig::default() {
        program(name)
    } else {
        Program::from_file(&cfg.engine, wasm(name)).expect("guest does not compile")
    };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(Runtime::new(cfg).run(&program));
    });
    let exit = rx
        .recv_timeout(Duration::from_secs(120))
        .unwrap_or_else(|_| panic!("{name} did not end within 2 minutes; stdout so far:\n{}", out.contents()))
        .expect("the runtime could not start the program");
    Run { code: exit.code, stdout: out.contents(), stderr: err.contents(), report: exit.report }
}

/// The `wasm-gmp` binary, built if this test run has not built it.
pub fn bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        // target/debug/deps/<test binary> → target/debug/wasm-gmp
        let exe = std::env::current_exe().expect("test binary path");
        let dir = exe.parent().and_then(Path::parent).expect("test binary in target/<profile>/deps");
        let bin = dir.join("wasm-gmp");
        if !bin.exists() {
            let st = cargo().current_dir(root()).args(["build", "-p", "wasm-gmp", "--bin", "wasm-gmp"]).status();
            assert!(st.is_ok_and(|s| s.success()), "cannot build the wasm-gmp binary");
        }
        bin
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
