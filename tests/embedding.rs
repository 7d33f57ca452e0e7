//! The embedding API with real programs: many runs on one runtime, each ending, limited, killed and awaited
//! on its own.

use std::sync::Arc;
use std::time::{Duration, Instant};

use gmp_tests::program;
use wasm_gmp::{Capture, Config, EngineConfig, ExitKind, LimitKind, Output, Program, RunOptions, Runtime};

/// A program whose main G spins forever in a loop with no calls: only its epoch checks can stop it.
fn spinner() -> Program {
    Program::from_bytes(
        &EngineConfig::default(),
        br#"(module (memory (export "memory") 1)
            (func (export "_start") (loop (br 0)))
            (func (export "gmp_entry") (param i32 i32 i32)))"#,
    )
    .unwrap()
}

/// A program whose main G spawns `n` Gs that each wait forever on a channel of their own, then sleeps an
/// hour (a sleeping G can be woken, so the program is not deadlocked): parked Gs for `kill` to end.
fn parker(n: u32) -> Program {
    Program::from_bytes(&EngineConfig::default(), gmp_tests::parker_wat(n, None).as_bytes()).unwrap()
}

fn runtime(procs: usize) -> Runtime {
    Runtime::new(Config { procs, ..Config::default() }).unwrap()
}

/// Options with these arguments (after the program's name) and captured output.
fn opts(name: &str, args: &[&str]) -> (RunOptions, Capture, Capture) {
    let (out, err) = (Capture::new(), Capture::new());
    let o = RunOptions::default()
        .args(std::iter::once(format!("{name}.wasm")).chain(args.iter().map(|a| a.to_string())))
        .stdout(Output::Capture(out.clone()))
        .stderr(Output::Capture(err.clone()));
    (o, out, err)
}

/// `kill` ends a program whose G spins in a tight loop at its next epoch check, and one whose Gs are all
/// parked at once; each releases its Gs, and the runtime runs the next program as if nothing happened.
#[test]
fn kill_ends_spinning_and_parked_programs_and_releases_their_gs() {
    for procs in [1, 2] {
        let rt = runtime(procs);
        let spin = rt.start(&spinner(), RunOptions::default()).unwrap();
        std::thread::sleep(Duration::from_millis(30));
        let t0 = Instant::now();
        spin.kill();
        let exit = spin.wait();
        let took = t0.elapsed();
        assert_eq!((exit.kind, exit.code), (ExitKind::Killed, 137), "at {procs} Ps");
        assert!(took < Duration::from_secs(1), "kill took {took:?} at {procs} Ps");

        let parked = rt.start(&parker(200), RunOptions::default()).unwrap();
        let t0 = Instant::now();
        while parked.live_gs() < 201 {
            assert!(t0.elapsed() < Duration::from_secs(30), "the parker never parked its Gs");
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(20));
        parked.kill();
        assert_eq!(parked.wait().kind, ExitKind::Killed);
        assert_eq!(parked.live_gs(), 0, "a killed program's Gs are gone when wait returns");
        assert_eq!(rt.live_gs(), 0);

        let (o, out, _) = opts("park_many", &["50"]);
        assert_eq!(rt.run(&program("park_many"), o).unwrap().kind, ExitKind::Returned);
        assert!(out.contents().contains("all done"));
    }
}

/// A deadline ends a run by itself, as `kill` would, with its own kind and status.
#[test]
fn a_deadline_ends_a_runaway_program() {
    let rt = runtime(1);
    let t0 = Instant::now();
    let exit = rt.run(&spinner(), RunOptions::default().deadline(Duration::from_millis(100))).unwrap();
    assert_eq!((exit.kind, exit.code), (ExitKind::Deadline, 124));
    assert!(t0.elapsed() >= Duration::from_millis(100) && t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
    // A run that ends first is not touched by its deadline.
    let (o, _, _) = opts("park_many", &["10"]);
    assert_eq!(rt.run(&program("park_many"), o.deadline(Duration::from_secs(60))).unwrap().kind, ExitKind::Returned);
}

/// Per-program limits end the program with a typed exit and a report naming the limit.
#[test]
fn cpu_time_and_g_limits_end_the_program_naming_the_limit() {
    let rt = runtime(2);
    let t0 = Instant::now();
    let exit =
        rt.run(&spinner(), RunOptions::default().cpu_time(Duration::from_millis(50)).stderr(Output::Null)).unwrap();
    assert_eq!((exit.kind.clone(), exit.code), (ExitKind::Limit(LimitKind::CpuTime), 2), "{exit:?}");
    assert!(exit.report.as_deref().unwrap_or("").contains("Limits::cpu_time"), "{exit:?}");
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());

    // 100 Gs that stay parked, in a program allowed 20: the spawn cannot wait for a place nobody frees.
    let (o, _, _) = opts("park_many", &["100"]);
    let exit = rt.run(&program("park_many"), o.max_gs(20)).unwrap();
    assert_eq!(exit.kind, ExitKind::Limit(LimitKind::Gs), "{exit:?}");
    assert!(exit.report.as_deref().unwrap_or("").contains("its limit (Limits::max_gs"), "{exit:?}");
    // The same program within its limit.
    let (o, _, _) = opts("park_many", &["100"]);
    assert_eq!(rt.run(&program("park_many"), o.max_gs(101)).unwrap().kind, ExitKind::Returned);
}

/// Programs are isolated on one runtime: one deadlocks and is reported with its own Gs while another keeps
/// running, and a program spinning on the only P delays another's sleepers by no more than preemption
/// allows.
#[test]
fn programs_on_one_runtime_end_on_their_own() {
    let rt = runtime(1);
    let spin = rt.start(&spinner(), RunOptions::default()).unwrap();
    let deadlocking = Program::from_bytes(
        &EngineConfig::default(),
        br#"(module
            (import "gmp" "chan_new" (func $chan_new (param i32) (result i32)))
            (import "gmp" "chan_recv" (func $recv (param i32 i32 i32 i32 i32 i32) (result i32)))
            (memory (export "memory") 1)
            (func (export "_start")
                (drop (call $recv (call $chan_new (i32.const 0)) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 16))))
            (func (export "gmp_entry") (param i32 i32 i32)))"#,
    )
    .unwrap();
    let (o, _, err) = opts("deadlock", &[]);
    let exit = rt.run(&deadlocking, o).unwrap();
    assert_eq!((exit.kind.clone(), exit.code), (ExitKind::Deadlock, 2), "{exit:?}");
    assert!(err.contents().starts_with("fatal error: all goroutines are asleep - deadlock!"), "{}", err.contents());

    // 200 sleepers of 100 ms each, next to the spinner on the one P.
    let (o, out, _) = opts("sleepers", &["200"]);
    assert_eq!(rt.run(&program("sleepers"), o).unwrap().kind, ExitKind::Returned);
    let elapsed: u64 = out
        .contents()
        .lines()
        .find_map(|l| l.strip_prefix("elapsed_ms: "))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no elapsed_ms in {}", out.contents()));
    assert!(elapsed < 100 + 500, "sleepers took {elapsed} ms next to a spinner");
    assert!(!spin.is_finished(), "the spinner ended with the others");
    spin.kill();
    assert_eq!(spin.wait().kind, ExitKind::Killed);
}

/// Two runs of one compiled program at once, each with its own arguments and output.
#[test]
fn concurrent_runs_keep_their_own_arguments_and_output() {
    let rt = runtime(2);
    let runs: Vec<_> = (0..4)
        .map(|i| {
            let n = (10 * (i + 1)).to_string();
            let (o, out, _) = opts("park_many", &[&n]);
            (rt.start(&program("park_many"), o).unwrap(), out, n)
        })
        .collect();
    for (run, out, n) in runs {
        assert_eq!(run.wait().kind, ExitKind::Returned);
        assert_eq!(out.contents(), format!("parked: {n}\nall done\n"));
    }
}

/// The handle is a future: awaited on tokio's current-thread executor it never blocks that thread, so a
/// ticker on the same thread keeps ticking while the program runs on the runtime's own threads.
#[test]
fn a_ticker_keeps_ticking_while_a_run_is_awaited() {
    let rt = Arc::new(runtime(2));
    let sleepers = program("sleepers"); // compiled here: compiling inside the executor would block it
    let tokio = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    let (ticks, took) = tokio.block_on(async {
        let count = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let c2 = count.clone();
        let ticker = tokio::spawn(async move {
            let mut iv = tokio::time::interval(Duration::from_millis(10));
            loop {
                iv.tick().await;
                c2.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        });
        let (o, _, _) = opts("sleepers", &["100"]);
        let t0 = Instant::now();
        let exit = rt.start(&sleepers, o).unwrap().await;
        assert_eq!(exit.kind, ExitKind::Returned);
        let took = t0.elapsed();
        ticker.abort();
        (count.load(std::sync::atomic::Ordering::Relaxed), took)
    });
    // A blocked executor thread would show one or two ticks for the whole run.
    let expected = (took.as_millis() / 10) as u32;
    assert!(ticks * 2 >= expected && ticks >= 5, "{ticks} ticks in {took:?}");
}

/// Dropping the runtime kills what still runs on it; a waiting handle sees `Killed`.
#[test]
fn dropping_the_runtime_kills_its_runs() {
    let rt = runtime(1);
    let run = rt.start(&spinner(), RunOptions::default()).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    drop(rt);
    assert_eq!(run.wait().kind, ExitKind::Killed);
}

/// Every kind of ending, as a type.
#[test]
fn each_ending_has_its_kind() {
    let rt = runtime(2);
    let run = |name: &str, args: &[&str]| {
        let (o, _, _) = opts(name, args);
        rt.run(&program(name), o).unwrap()
    };
    assert_eq!(run("park_many", &["1"]).kind, ExitKind::Returned);
    let e = run("exit_code", &[]);
    assert!(matches!(e.kind, ExitKind::Exit(c) if c == e.code && c != 0), "{e:?}");
    let e = run("trap", &[]);
    assert_eq!((e.kind.clone(), e.code), (ExitKind::Panic, 2), "{e:?}");
}

/// An embedder's reader, for stdin: `data` in reads of uneven sizes (some slow), then `end` (`None` for the
/// end of the stream, `Some(e)` for a failed read). A `gate` makes it wait before its first read until the
/// test sends on (or drops) the gate's sender, as a silent pipe does.
struct Feed {
    data: Vec<u8>,
    at: usize,
    reads: usize,
    end: Option<std::io::Error>,
    gate: Option<std::sync::mpsc::Receiver<()>>,
}

impl std::io::Read for Feed {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if let Some(gate) = self.gate.take() {
            let _ = gate.recv();
        }
        self.reads += 1;
        if self.reads.is_multiple_of(16) {
            std::thread::sleep(Duration::from_millis(1));
        }
        if self.at == self.data.len() {
            return self.end.take().map_or(Ok(0), Err);
        }
        // 1 to 9,000 bytes: chunks that end in the middle of whatever a G is reading.
        let n = (1 + self.reads * 7919 % 9000).min(buf.len()).min(self.data.len() - self.at);
        buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

fn feed(len: usize, end: Option<std::io::Error>) -> (Feed, u64) {
    let data: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
    let sum = data.iter().map(|&b| u64::from(b)).sum();
    (Feed { data, at: 0, reads: 0, end, gate: None }, sum)
}

/// Several Gs reading an embedder's reader at once get every byte once, whatever the chunks; a failed read
/// reaches exactly one G, after all the bytes before it.
#[test]
fn gs_reading_an_embedders_reader_get_every_byte_once() {
    let rt = runtime(2);
    let readers = program("stdin_readers");
    for (n, fail) in [(1, false), (8, false), (8, true)] {
        let len = 1 << 20;
        let (f, sum) = feed(len, fail.then(|| std::io::Error::other("the disk is on fire")));
        let (o, out, err) = opts("stdin_readers", &[&n.to_string()]);
        let o = o.stdin(wasm_gmp::Input::reader(f)).deadline(Duration::from_secs(60));
        let exit = rt.run(&readers, o).unwrap();
        let out = out.contents();
        assert!(exit.success(), "{n} readers: {exit:?}\n{out}{}", err.contents());
        assert!(out.contains(&format!("bytes={len} sum={sum} errors={}\n", u8::from(fail))), "{n} readers: {out}");
        assert_eq!(out.matches("read error").count(), usize::from(fail), "{out}");
    }
}

/// A G waiting on a silent reader holds no P (at 1 P, the other Gs run and main returns), and `kill` ends a
/// program whose Gs all wait on one at once.
#[test]
fn a_silent_reader_stops_only_the_gs_reading_it() {
    let rt = runtime(1);
    let (tx, gate) = std::sync::mpsc::channel();
    let (mut f, _) = feed(10, None);
    f.gate = Some(gate);
    let (o, out, _) = opts("stdin_blocked", &[]);
    let run = rt.start(&program("stdin_blocked"), o.stdin(wasm_gmp::Input::reader(f))).unwrap();
    let exit = run.wait_timeout(Duration::from_secs(30)).expect("a G waiting on stdin stopped the others");
    assert_eq!(exit.kind, ExitKind::Returned, "{exit:?}");
    assert_eq!(out.contents(), "workers done: 4950\n");

    let (tx2, gate) = std::sync::mpsc::channel::<()>();
    let (mut f, _) = feed(10, None);
    f.gate = Some(gate);
    let (o, _, _) = opts("stdin_readers", &["50"]);
    let run = rt.start(&program("stdin_readers"), o.stdin(wasm_gmp::Input::reader(f))).unwrap();
    let t0 = Instant::now();
    while run.live_gs() < 51 {
        assert!(t0.elapsed() < Duration::from_secs(30), "the readers never started");
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(20));
    let t0 = Instant::now();
    run.kill();
    let exit = run.wait_timeout(Duration::from_secs(30)).expect("kill did not end Gs waiting on stdin");
    assert_eq!(exit.kind, ExitKind::Killed);
    assert!(t0.elapsed() < Duration::from_secs(1), "kill took {:?}", t0.elapsed());
    assert_eq!(rt.live_gs(), 0);
    // The reader threads wait in the gates until now; they exit once their reads return.
    drop((tx, tx2));
}

/// Gs parked in a host call whose pending future takes `DROP_MS` to drop, so that dropping `n` of them (the
/// reap when main returns) takes `n * DROP_MS`: a reap as slow as a million plain parked Gs', scaled down.
/// Counts the drops, and whether any happened off the scheduler's threads: while Ms still reap the Gs, teardown
/// (on the thread dropping the runtime) must not drop any itself. (Two Ms may drop two Gs at once: the reaper,
/// and the M of a G that parks just after the reap looked, which reaps it itself.)
struct SlowDrops {
    /// Gs that called `hang` so far.
    hung: std::sync::atomic::AtomicUsize,
    dropped: std::sync::atomic::AtomicUsize,
    off_the_ms: std::sync::atomic::AtomicBool,
}

const DROP_MS: u64 = 10;

struct SlowDrop(Arc<SlowDrops>);

impl Drop for SlowDrop {
    fn drop(&mut self) {
        use std::sync::atomic::Ordering::SeqCst;
        if !std::thread::current().name().is_some_and(|n| n.starts_with("gmp-m")) {
            self.0.off_the_ms.store(true, SeqCst);
        }
        std::thread::sleep(Duration::from_millis(DROP_MS));
        self.0.dropped.fetch_add(1, SeqCst);
    }
}

/// A program whose main spawns `n` Gs, each parked for good in `test_host.hang` (holding a [`SlowDrop`]),
/// yields until every one has called it, and returns.
fn slow_reap(n: u32) -> (Program, Arc<SlowDrops>) {
    let drops =
        Arc::new(SlowDrops { hung: Default::default(), dropped: Default::default(), off_the_ms: Default::default() });
    let (d, h) = (drops.clone(), drops.clone());
    let wat = format!(
        r#"(module
            (import "gmp" "spawn" (func $spawn (param i32 i32 i32 i32 i32) (result i64)))
            (import "gmp" "yield" (func $yield))
            (import "gmp" "msg_take" (func $take (param i32 i32 i32 i32)))
            (import "test_host" "hang" (func $hang))
            (import "test_host" "hung" (func $hung (result i32)))
            (memory (export "memory") 1)
            (func (export "_start") (local $i i32)
                (loop $spawn_all
                    (drop (call $spawn (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)))
                    (local.set $i (i32.add (local.get $i) (i32.const 1)))
                    (br_if $spawn_all (i32.lt_u (local.get $i) (i32.const {n}))))
                (loop $wait
                    (call $yield)
                    (br_if $wait (i32.lt_u (call $hung) (i32.const {n})))))
            (func (export "gmp_entry") (param i32 i32 i32)
                (call $take (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))
                (call $hang)))"#
    );
    let program = Program::builder(&EngineConfig::default())
        .host_functions(move |linker| {
            linker.func_wrap_async(
                "test_host",
                "hang",
                move |_caller: wasmtime::Caller<'_, wasm_gmp::GData>, (): ()| {
                    let guard = SlowDrop(d.clone());
                    d.hung.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    Box::new(async move {
                        let _guard = guard;
                        std::future::pending::<()>().await;
                        Ok(())
                    })
                },
            )?;
            linker.func_wrap("test_host", "hung", move || h.hung.load(std::sync::atomic::Ordering::SeqCst) as u32)?;
            Ok(())
        })
        .bytes(wat.as_bytes())
        .unwrap();
    (program, drops)
}

/// Main's return ends the program, and its parked Gs are dropped (the reap) on the M that ran main. A reap
/// takes as long as it takes (a million parked Gs: seconds), and none of those Gs is stuck: `run` returns
/// only once every one is gone, not after the grace for Gs stuck in blocking calls.
#[test]
fn run_returns_after_a_slow_reap_has_dropped_every_g() {
    let n = 200; // 2 s of drops, twice the grace
    let (program, drops) = slow_reap(n);
    let rt = runtime(2);
    let exit = rt.run(&program, RunOptions::default()).unwrap();
    assert_eq!(exit.code, 0, "{exit:?}");
    let dropped = drops.dropped.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(dropped, n as usize, "run returned with Gs of the program not yet dropped");
    assert!(!drops.off_the_ms.load(std::sync::atomic::Ordering::SeqCst), "a G was dropped off the Ms");
}

/// Dropping the runtime while an M is still reaping a program that ended: teardown waits for that M (it is
/// not stuck in a blocking call, only slow) instead of leaving it behind after its grace and dropping the
/// same Gs itself at the same time. That race crashed the process at the end of a million-G program.
#[test]
fn dropping_the_runtime_during_a_slow_reap_waits_for_it() {
    use std::sync::atomic::Ordering::SeqCst;
    let n = 200;
    let (program, drops) = slow_reap(n);
    let rt = runtime(2);
    let _run = rt.start(&program, RunOptions::default()).unwrap();
    let start = Instant::now();
    while drops.dropped.load(SeqCst) == 0 {
        assert!(start.elapsed() < Duration::from_secs(60), "the reap never started");
        std::thread::sleep(Duration::from_millis(1));
    }
    drop(rt);
    let dropped = drops.dropped.load(SeqCst);
    assert!(!drops.off_the_ms.load(SeqCst), "teardown dropped Gs while the M reaping them was still at it");
    assert_eq!(dropped, n as usize, "the runtime's drop returned with Gs of the program not yet dropped");
}

/// A G in a loop compiled without epoch checks (`preemption: false`, which is only for measuring) cannot be
/// stopped. When its program ends, dropping the runtime must not wait for it forever: its M is left behind
/// once nothing has moved for the grace, and what it might touch is left alone (leaked, not dropped under
/// it). The loop here asks a host flag, so the test can let the thread go afterwards.
#[test]
fn dropping_the_runtime_leaves_an_unstoppable_g_behind_instead_of_hanging() {
    use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
    let go_on = Arc::new(AtomicBool::new(true));
    let flag = go_on.clone();
    let engine = EngineConfig { preemption: false, ..EngineConfig::default() };
    let program = Program::builder(&engine)
        .host_functions(move |linker| {
            linker.func_wrap("test_host", "go_on", move || flag.load(SeqCst) as i32)?;
            Ok(())
        })
        .bytes(
            br#"(module
                (import "gmp" "spawn" (func $spawn (param i32 i32 i32 i32 i32) (result i64)))
                (import "gmp" "msg_take" (func $take (param i32 i32 i32 i32)))
                (import "gmp" "yield" (func $yield))
                (import "test_host" "go_on" (func $go_on (result i32)))
                (memory (export "memory") 1)
                (func (export "_start")
                    (drop (call $spawn (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)))
                    (call $yield))
                (func (export "gmp_entry") (param i32 i32 i32)
                    (call $take (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))
                    (loop $spin (br_if $spin (call $go_on)))))"#,
        )
        .unwrap();
    let rt = Runtime::new(Config { procs: 2, engine, ..Config::default() }).unwrap();
    let run = rt.start(&program, RunOptions::default()).unwrap();
    let exit = run.wait_timeout(Duration::from_secs(60));
    assert!(exit.as_ref().is_some_and(|e| e.code == 0), "main's return did not end the program: {exit:?}");
    let (done_tx, done) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        drop(rt);
        let _ = done_tx.send(());
    });
    let dropped = done.recv_timeout(Duration::from_secs(30));
    go_on.store(false, SeqCst);
    assert!(dropped.is_ok(), "dropping the runtime waited for a G that nothing can stop");
}
