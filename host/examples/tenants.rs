//! A multi-tenant runner: six untrusted programs start at once on one runtime, each with the limit that
//! stops it, and the runner prints how each ended (its `ExitKind`, exit status and the first line of the
//! runtime's report) in the order they end. One is well behaved; the others spin, spawn without end,
//! allocate without end, deadlock, and sleep past their deadline, and none of them disturbs the rest.
//! Exits with status 0 when each ended as its limit says it should.
//!
//! The tenants are tiny programs in the wasm text format, written here against the `gmp` ABI (`wit/`), so
//! the example needs no guest build:
//!
//! ```sh
//! cargo run -p wasm-gmp --example tenants
//! ```

use std::time::{Duration, Instant};

use wasm_gmp::{ExitKind, LimitKind, Limits, Output, Program, RunOptions, Runtime};

/// Every G but main starts in `gmp_entry`; a tenant that spawns nothing leaves it empty.
const NO_ENTRY: &str = r#"(func (export "gmp_entry") (param i32 i32 i32))"#;

/// Returns at once.
const WELL_BEHAVED: &str = r#"(func (export "_start"))"#;

/// A loop with no calls: only an epoch check can stop it.
const SPINNER: &str = r#"(func (export "_start") (loop (br 0)))"#;

/// Spawns Gs without end, each waiting forever on a channel of its own.
const SPAWNER: &str = r#"
    (import "gmp" "spawn" (func $spawn (param i32 i32 i32 i32 i32) (result i64)))
    (import "gmp" "chan_new" (func $chan_new (param i32) (result i32)))
    (import "gmp" "chan_recv" (func $recv (param i32 i32 i32 i32 i32 i32) (result i32)))
    (import "gmp" "msg_take" (func $take (param i32 i32 i32 i32)))
    (func (export "_start")
        (loop (drop (call $spawn (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))) (br 0)))
    (func (export "gmp_entry") (param i32 i32 i32)
        (call $take (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))
        (drop (call $recv (call $chan_new (i32.const 0)) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 16))))"#;

/// Grows its memory 1 MiB at a time for as long as growing succeeds.
const HOG: &str = r#"(func (export "_start")
        (loop (br_if 0 (i32.ne (memory.grow (i32.const 16)) (i32.const -1)))))"#;

/// Receives on a channel nobody else holds.
const DEADLOCK: &str = r#"
    (import "gmp" "chan_new" (func $chan_new (param i32) (result i32)))
    (import "gmp" "chan_recv" (func $recv (param i32 i32 i32 i32 i32 i32) (result i32)))
    (func (export "_start")
        (drop (call $recv (call $chan_new (i32.const 0)) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 16))))"#;

/// Sleeps an hour: it uses no CPU and is not deadlocked (a timer will wake it), so only a deadline ends it.
const SLEEPER: &str = r#"
    (import "gmp" "sleep" (func $sleep (param i64)))
    (func (export "_start") (call $sleep (i64.const 3600000000000)))"#;

/// One tenant: its name, its code, its options, and how it should end.
struct Tenant {
    name: &'static str,
    code: &'static str,
    opts: RunOptions,
    expect: ExitKind,
}

fn tenants() -> Vec<Tenant> {
    let t = |name, code, opts, expect| Tenant { name, code, opts, expect };
    let memory = Limits { max_memory_total: 16 << 20, ..Limits::default() };
    vec![
        t("well-behaved", WELL_BEHAVED, RunOptions::default(), ExitKind::Returned),
        t(
            "spinner",
            SPINNER,
            RunOptions::default().cpu_time(Duration::from_millis(100)),
            ExitKind::Limit(LimitKind::CpuTime),
        ),
        t("spawner", SPAWNER, RunOptions::default().max_gs(100), ExitKind::Limit(LimitKind::Gs)),
        t("hog", HOG, RunOptions::default().limits(memory), ExitKind::Limit(LimitKind::MemoryTotal)),
        t("deadlock", DEADLOCK, RunOptions::default(), ExitKind::Deadlock),
        t("sleeper", SLEEPER, RunOptions::default().deadline(Duration::from_millis(300)), ExitKind::Deadline),
    ]
}

fn main() -> anyhow::Result<std::process::ExitCode> {
    let rt = Runtime::new(wasm_gmp::Config { procs: 2, ..wasm_gmp::Config::default() })?;
    let tenants = tenants();
    println!("{} tenants on one runtime of {} Ps", tenants.len(), rt.config().procs);

    // 1. Compile and start every tenant; its reports go to its Exit, not to our stderr.
    let t0 = Instant::now();
    let mut runs = Vec::new();
    for t in &tenants {
        let entry = if t.code.contains("gmp_entry") { "" } else { NO_ENTRY };
        // Imports come first in a module, so the memory goes after the tenant's code.
        let wat = format!(r#"(module {} (memory (export "memory") 1) {entry})"#, t.code);
        let program = Program::from_bytes(&rt.config().engine, wat.as_bytes())?;
        let opts = t.opts.clone().args([t.name]).stdout(Output::Null).stderr(Output::Null);
        runs.push(rt.start(&program, opts)?);
    }

    // 2. Wait for all of them at once, a thread each, and print each ending as it comes.
    let (tx, rx) = std::sync::mpsc::channel();
    let mut as_expected = 0;
    std::thread::scope(|s| {
        for (i, run) in runs.iter().enumerate() {
            let tx = tx.clone();
            s.spawn(move || tx.send((i, run.wait(), t0.elapsed())));
        }
        drop(tx);
        for (i, exit, took) in rx {
            let t = &tenants[i];
            let report = exit.report.as_deref().and_then(|r| r.lines().next()).unwrap_or("-");
            let ok = exit.kind == t.expect;
            as_expected += usize::from(ok);
            println!(
                "tenant {}: {:?}, status {}, after {} ms{}: {report}",
                t.name,
                exit.kind,
                exit.code,
                took.as_millis(),
                if ok { "" } else { " (UNEXPECTED)" }
            );
        }
    });
    println!("summary: {as_expected} of {} tenants ended as their limits say", tenants.len());
    Ok(if as_expected == tenants.len() { std::process::ExitCode::SUCCESS } else { std::process::ExitCode::FAILURE })
}
