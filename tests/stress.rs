//! Many Gs at once: 10,000 Gs exchanging 100,000 messages with a checksum, 10,000 parked Gs held under
//! the kernel's default `vm.max_map_count`, and pools of copy-on-write slots that change modules.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use gmp_tests::{parker_wat, run};
use wasm_gmp::{Config, CowImages, EngineConfig, ExitKind, MAPS_PER_G_COW, Program, RunOptions, Runtime};

/// The child processes below: a wait for Gs that never come ends after 2 s of no progress.
const LIMIT: Duration = Duration::from_secs(120);

/// Both tests fill most of the engine's G pool, which every test in this process shares: one at a time.
static POOL: Mutex<()> = Mutex::new(());

#[test]
fn ten_thousand_gs_exchange_a_hundred_thousand_messages() {
    let _pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
    for procs in [1, 2] {
        let r = run("stress", procs, &["10000", "100000"]);
        assert_eq!(r.code, 0, "{r:?}");
        assert_eq!(r.stdout, "messages: 100000\nchecksum: 10000000000\nchecksum ok\n", "at {procs} Ps");
    }
}

#[test]
fn ten_thousand_parked_gs_fit_with_the_default_map_count() {
    let _pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
    let r = run("park_many", 2, &["10000"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.stdout, "parked: 10000\nall done\n");
}

/// A parked-G program whose memory image spans `image` (see [`parker_wat`]).
fn image_parker(engine: &EngineConfig, n: usize, image: (u32, u32)) -> Program {
    Program::from_bytes(engine, parker_wat(n as u32, Some(image)).as_bytes()).unwrap()
}

/// Two modules whose images lie one inside the other, so a slot that changes modules splits the most.
const IMAGE_A: (u32, u32) = (0x10000, 0x14000);
const IMAGE_B: (u32, u32) = (0x12000, 0x13000);

fn cow_engine(max_gs: Option<usize>) -> EngineConfig {
    EngineConfig { cow_images: CowImages::On, max_gs, ..EngineConfig::default() }
}

fn maps() -> usize {
    std::fs::read_to_string("/proc/self/maps").unwrap().lines().count()
}

/// Start `program` on `rt` and wait until its main and `n` Gs are alive and idle (each G is instantiated
/// when it first runs, and has written its pages once it parks), or nothing moved for 2 s (a spawn failed);
/// returns the Gs alive and the process's mappings then, after ending the program.
fn fill(rt: &Runtime, program: &Program, n: usize) -> (usize, usize) {
    let run = rt.start(program, RunOptions::default().stderr(wasm_gmp::Output::Null)).unwrap();
    let (mut last, mut since) = ((0, Duration::ZERO), Instant::now());
    loop {
        std::thread::sleep(Duration::from_millis(20));
        let now = (run.live_gs(), run.cpu_time());
        if run.is_finished() || now == last && (now.0 == n + 1 || since.elapsed() > Duration::from_secs(2)) {
            break;
        }
        if now != last {
            (last, since) = (now, Instant::now());
        }
    }
    let got = (run.live_gs(), maps());
    run.kill();
    let exit = run.wait();
    assert_eq!(exit.kind, ExitKind::Killed, "{:?}", exit.report);
    got
}

/// Copy-on-write images: a memory slot holds at most `MAPS_PER_G_COW` mappings, also after it changes
/// modules (4 with one module's image, 5 once a slot held another's: see `engine.rs`). The pool is sized
/// with that count; a slot holding more than it can run the process out of mappings (as CI once did, at
/// G 4739 of a 10,000-G program that followed another module's).
#[test]
fn a_cow_slot_that_changes_modules_holds_at_most_maps_per_g_cow() {
    let r = gmp_tests::isolated("a_cow_slot_that_changes_modules_holds_at_most_maps_per_g_cow", LIMIT, || {
        let n = 2_000;
        let engine = cow_engine(Some(n + 1));
        let rt = Runtime::new(Config { procs: 2, engine: engine.clone(), ..Config::default() }).unwrap();
        let (a, b) = (image_parker(&engine, n, IMAGE_A), image_parker(&engine, n, IMAGE_B));
        let base = maps();
        let mut out = String::new();
        for (round, p) in [&a, &b, &a, &b].into_iter().enumerate() {
            let (live, m) = fill(&rt, p, n);
            let per_g = (m - base) as f64 / n as f64;
            out += &format!("round {round}: {live} Gs alive, {per_g:.2} mappings per G\n");
            assert_eq!(live, n + 1, "{out}");
            assert!(per_g <= MAPS_PER_G_COW as f64 + 0.1, "more than MAPS_PER_G_COW:\n{out}");
            // Images in use: without them a slot holds 2.
            assert!(round > 0 || per_g >= 3.9, "no copy-on-write image in the slots?\n{out}");
        }
        gmp_tests::Run { code: 0, stdout: out, stderr: String::new(), report: None }
    });
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    print!("{}", r.stdout);
}

/// The failure itself: a pool with copy-on-write images, sized by the kernel's map count, filled by one
/// module, then by another, then by the first: every G of every round comes up (a pool sized for 4 mappings
/// per slot ran out of mappings in the second round).
#[test]
fn a_cow_pool_sized_by_the_map_count_takes_modules_in_turn() {
    let r = gmp_tests::isolated("a_cow_pool_sized_by_the_map_count_takes_modules_in_turn", LIMIT, || {
        let capacity = cow_engine(None).pool_capacity().unwrap();
        if capacity > 20_000 {
            let out = format!("vm.max_map_count is raised here (the pool holds {capacity}): not filled\n");
            return gmp_tests::Run { code: 0, stdout: out, stderr: String::new(), report: None };
        }
        let n = capacity - 1;
        let engine = cow_engine(None);
        let rt = Runtime::new(Config { procs: 2, engine: engine.clone(), ..Config::default() }).unwrap();
        let (a, b) = (image_parker(&engine, n, IMAGE_A), image_parker(&engine, n, IMAGE_B));
        let mut out = String::new();
        for (round, p) in [&a, &b, &a].into_iter().enumerate() {
            let (live, m) = fill(&rt, p, n);
            out += &format!("round {round}: {live} of {} Gs alive, {m} mappings\n", n + 1);
            assert_eq!(live, n + 1, "{out}");
        }
        gmp_tests::Run { code: 0, stdout: out, stderr: String::new(), report: None }
    });
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    print!("{}", r.stdout);
}

/// A process out of memory mappings (here: this one's own, used up by the test before the program starts)
/// cannot map a new G's memory. The program ends as Go ends when the runtime cannot get memory, a fatal
/// error naming the limit and how to raise it, not as a panic of the G it was creating; and no host panic.
#[test]
fn a_g_the_process_has_no_mappings_left_for_is_a_fatal_error_naming_the_map_count() {
    let test = "a_g_the_process_has_no_mappings_left_for_is_a_fatal_error_naming_the_map_count";
    let r = gmp_tests::isolated(test, LIMIT, || {
        // The host's own allocations must not need new mappings once they are gone, or malloc fails and
        // the child aborts before it can report: one malloc arena for every thread (a new arena is a new
        // mapping) and large blocks from the heap too, not from mmap.
        // SAFETY: glibc's documented tuning calls, made before this process starts any thread of its own.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 1);
            libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 30);
        }
        let engine = EngineConfig { cow_images: CowImages::Off, ..EngineConfig::default() };
        let rt = Runtime::new(Config { procs: 2, engine: engine.clone(), ..Config::default() }).unwrap();
        let parker = Program::from_bytes(&engine, parker_wat(2_000, None).as_bytes()).unwrap();
        // Start the runtime's threads (both Ms, WASI's tokio worker) while mappings are left for their stacks:
        // a thread started once they are gone dies at start (std maps its signal stack) and takes the
        // process with it.
        let warm_up = Program::from_bytes(
            &engine,
            br#"(module
                (import "gmp" "spawn" (func $spawn (param i32 i32 i32 i32 i32) (result i64)))
                (import "gmp" "yield" (func $yield))
                (import "gmp" "msg_take" (func $take (param i32 i32 i32 i32)))
                (memory (export "memory") 1)
                (func (export "_start")
                    (drop (call $spawn (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)))
                    (drop (call $spawn (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)))
                    (call $yield) (call $yield))
                (func (export "gmp_entry") (param i32 i32 i32)
                    (call $take (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))))"#,
        )
        .unwrap();
        assert_eq!(rt.run(&warm_up, RunOptions::default()).unwrap().code, 0);
        let limit = wasm_gmp::max_map_count().expect("/proc/sys/vm/max_map_count");
        if limit > 1_000_000 {
            // Using up millions of mappings takes longer than the test is worth.
            let out = format!("skipped: vm.max_map_count = {limit} is raised here\n");
            return gmp_tests::Run { code: 0, stdout: out, stderr: String::new(), report: None };
        }
        // Every other page of one reservation made readable: two mappings each (the page and the gap after
        // it), none merging. About 100 mappings are left, enough for the runtime's threads and a few dozen
        // Gs (2 mappings each).
        let spare = 100;
        let eat = limit.saturating_sub(maps() + spare) / 2;
        let len = 2 * eat * 4096;
        // SAFETY: a fresh private anonymous reservation, never read or written; only its protection changes.
        unsafe {
            let base =
                libc::mmap(std::ptr::null_mut(), len, libc::PROT_NONE, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS, -1, 0);
            assert_ne!(base, libc::MAP_FAILED, "mmap of {len} bytes");
            for i in 0..eat {
                let page = base.cast::<u8>().add(2 * i * 4096);
                assert_eq!(libc::mprotect(page.cast(), 4096, libc::PROT_READ), 0, "mprotect of page {i} of {eat}");
            }
        }
        let run = rt.start(&parker, RunOptions::default().stderr(wasm_gmp::Output::Null)).unwrap();
        let exit = run.wait();
        let out = format!("kind: {:?}\n{}", exit.kind, exit.report.unwrap_or_default());
        gmp_tests::Run { code: 0, stdout: out, stderr: String::new(), report: None }
    });
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    if r.stdout.contains("skipped: ") {
        print!("{}", r.stdout);
        return;
    }
    // After the test harness's own lines.
    assert!(r.stdout.contains("kind: Fatal\n"), "{}", r.stdout);
    let report = &r.stdout[r.stdout.find("kind: Fatal\n").unwrap_or_default() + 12..];
    assert!(report.starts_with("fatal error: runtime: goroutine "), "{report}");
    assert!(report.contains("vm.max_map_count") && report.contains("sysctl"), "{report}");
}

/// The benchmark's smallest parked G (`bench/guests/park_min.wat`, the runtime's own cost per G in the
/// suite) does what the suite reads it for: N Gs parked, then its line, then an end on a line of stdin that
/// takes every G with it.
#[test]
fn the_smallest_parked_g_speaks_the_benchmark_protocol() {
    let _pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
    let program = Program::from_file(&EngineConfig::default(), gmp_tests::root().join("bench/guests/park_min.wat"))
        .expect("park_min.wat compiles");
    let rt = Runtime::new(Config { procs: 2, ..Config::default() }).unwrap();
    let out = wasm_gmp::Capture::new();
    let opts = RunOptions::default()
        .args(["park_min.wat", "2000"])
        .stdin(wasm_gmp::Input::reader(std::io::Cursor::new(b"\n".to_vec())))
        .stdout(wasm_gmp::Output::Capture(out.clone()));
    let exit = rt.run(&program, opts).unwrap();
    assert_eq!(exit.code, 0, "{exit:?}");
    let line = out.contents();
    let ns: f64 = line
        .strip_prefix("parked=2000 ns_per_spawn=")
        .and_then(|rest| rest.strip_suffix('\n'))
        .and_then(|ns| ns.parse().ok())
        .unwrap_or_else(|| panic!("not the protocol's line: {line:?}"));
    assert!(ns > 0.0, "{line:?}");
    assert_eq!(rt.live_gs(), 0, "the parked Gs outlived their program");
}
