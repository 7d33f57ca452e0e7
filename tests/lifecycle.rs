//! How programs end, as in Go: main's return, exit codes, panics, deadlock, and bad modules.

use gmp_tests::{run, run_with};
use wasm_gmp::{EngineConfig, Program};

#[test]
fn main_returning_exits_zero_with_other_gs_alive() {
    for procs in [1, 2] {
        let r = run("main_exit", procs, &[]);
        assert_eq!((r.code, r.stdout.as_str()), (0, "main done\n"), "{r:?}");
        assert_eq!(r.report, None);
    }
}

#[test]
fn exit_from_any_g_sets_the_status() {
    assert_eq!(run("exit_code", 2, &[]).code, 3);
    assert_eq!(run("proc_exit", 2, &[]).code, 4);
}

#[test]
fn a_trap_prints_a_go_panic_with_the_g_and_backtrace() {
    let r = run("trap", 2, &[]);
    assert_eq!((r.code, r.stdout.as_str()), (2, "G about to trap\n"), "{r:?}");
    let report = r.report.unwrap();
    assert!(
        report.starts_with("panic: wasm trap: wasm `unreachable` instruction executed\n\ngoroutine 2 [running]:\n"),
        "{report}"
    );
    // The G's own frame, by name, and none of the SDK's spawn machinery below it.
    assert!(report.contains("\ntrap::trap_here\n\t"), "the backtrace must show the G's frames: {report}");
    assert!(!report.contains("gmp_entry"), "{report}");
    assert!(r.stderr.contains(&report));
}

/// A Rust panic reads as Go's: `panic: <message>`, then the G's stack from the function that panicked with
/// the panic's location under it; none of std's panic machinery, no `thread '<unnamed>' panicked`, and the
/// same text in `Exit::report` as on stderr.
#[test]
fn a_rust_panic_is_reported_as_go_reports_a_panic() {
    for (args, gid, first, location) in [
        (&[][..], 2, "panic_report::", "panic_report.rs:7:9"),
        (&["main"][..], 1, "panic_report::main\n", "panic_report.rs:14:17"),
    ] {
        let r = run("panic_report", 2, args);
        assert_eq!(r.code, 2, "{r:?}");
        let report = r.report.clone().unwrap();
        let want = if gid == 2 { "boom 7: the answer was wrong" } else { "main wanted a value" };
        let head = format!("panic: {want}\n\ngoroutine {gid} [running]:\n{first}");
        assert!(report.starts_with(&head), "{args:?}: {report}");
        let second = report.lines().nth(4).unwrap_or_default();
        assert!(second.starts_with('\t') && second.ends_with(location), "{args:?}: the location: {report}");
        for machinery in ["panicking", "rust_begin_unwind", "abort", "gmp::panic", "lang_start", "gmp_entry", "_ZN"] {
            assert!(!report.contains(machinery), "{args:?}: {machinery} in {report}");
        }
        assert!(!r.stderr.contains("thread '"), "{args:?}: std's own report: {}", r.stderr);
        assert!(r.stderr.contains(&report), "{args:?}");
    }
}

#[test]
fn gomaxprocs_and_goid_are_visible_to_the_guest() {
    let r = run("gmaxprocs", 2, &[]);
    assert_eq!(r.stdout, "gomaxprocs: 2\ngoid: 1\nchild goid differs\n", "{r:?}");
}

/// More short-lived Gs than the pool holds, spawned in a burst: the spawner waits for places instead of
/// failing, at one P (where only preemption and yielding let the children run) and at two.
#[test]
fn a_burst_beyond_the_g_limit_waits_for_places() {
    for procs in [1, 2] {
        let mut cfg = gmp_tests::config("spawn_many", procs, &["5000"]);
        cfg.rt.engine = EngineConfig { max_gs: Some(64), ..EngineConfig::default() };
        let r = run_with("spawn_many", cfg);
        assert_eq!((r.code, r.stdout.as_str()), (0, "spawned: 5000\nsum: 12497500\n"), "{r:?}");
    }
}

/// When every live G is blocked, no place can free up: the spawn fails and says which limit and how to
/// raise it.
#[test]
fn the_g_limit_stops_a_spawn_with_an_error_naming_it() {
    let mut cfg = gmp_tests::config("park_many", 2, &["100"]);
    cfg.rt.engine = EngineConfig { max_gs: Some(50), ..EngineConfig::default() };
    let r = run_with("park_many", cfg);
    assert_eq!(r.code, 2, "{r:?}");
    let report = r.report.unwrap();
    assert!(
        report.contains("gmp.spawn: cannot start another G: 50 Gs are alive, the limit is 50 (set by --max-gs"),
        "{report}"
    );
}

#[test]
fn bad_modules_are_refused_with_one_clear_error() {
    let cfg = EngineConfig::default();
    let err = |bytes: &[u8]| format!("{:#}", Program::from_bytes(&cfg, bytes).err().expect("must be refused"));
    assert!(err(b"hello, I am not wasm").contains("not a WebAssembly module"));
    assert!(err(b"\0asm\x01\0\0\0garbage").contains("not a valid WebAssembly module"));
    let no_start = br#"(module (memory (export "memory") 1) (func (export "gmp_entry") (param i32 i32 i32)))"#;
    assert!(err(no_start).contains("does not export the function `_start`"), "{}", err(no_start));
    let no_memory = br#"(module (func (export "_start")))"#;
    assert!(err(no_memory).contains("exports no `memory`"), "{}", err(no_memory));
    let wrong_type = br#"(module (memory (export "memory") 1) (func (export "_start"))
        (func (export "gmp_entry") (param i32)))"#;
    assert!(err(wrong_type).contains("its export `gmp_entry` has type"), "{}", err(wrong_type));
    let unknown_import = br#"(module (import "gmp" "no_such_call" (func)) (memory (export "memory") 1)
        (func (export "_start")) (func (export "gmp_entry") (param i32 i32 i32)))"#;
    assert!(err(unknown_import).contains("no_such_call"), "{}", err(unknown_import));
    let missing = Program::from_file(&cfg, "/no/such/app.wasm").err().unwrap();
    assert!(format!("{missing:#}").contains("/no/such/app.wasm: cannot read"), "{missing:#}");
}

/// A minimal guest in WAT, no SDK: its main spawns a G that traps with a divide by zero.
#[test]
fn a_trap_in_a_wat_guest_is_reported_with_its_g() {
    let wat = br#"(module
        (import "gmp" "spawn" (func $spawn (param i32 i32 i32 i32 i32) (result i64)))
        (import "gmp" "chan_new" (func $chan_new (param i32) (result i32)))
        (import "gmp" "chan_recv" (func $recv (param i32 i32 i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (func (export "_start")
            (drop (call $spawn (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)))
            ;; block forever: the trap must end the program, not a deadlock
            (drop (call $recv (call $chan_new (i32.const 0)) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 16))))
        (func (export "gmp_entry") (param i32 i32 i32)
            (drop (i32.div_u (i32.const 1) (local.get 1)))) ;; arg_len is 0: divide by zero
    )"#;
    let program = Program::from_bytes(&EngineConfig::default(), wat).unwrap();
    let (out, err) = (wasm_gmp::Capture::new(), wasm_gmp::Capture::new());
    let rt = wasm_gmp::Runtime::new(wasm_gmp::Config { procs: 1, ..Default::default() }).unwrap();
    let opts =
        wasm_gmp::RunOptions::default().stdout(wasm_gmp::Output::Capture(out)).stderr(wasm_gmp::Output::Capture(err));
    let exit = rt.run(&program, opts).unwrap();
    assert_eq!(exit.code, 2);
    let report = exit.report.unwrap();
    assert!(report.starts_with("panic: wasm trap: integer divide by zero\n\ngoroutine 2 [running]:"), "{report}");
}

/// A Rust program that aborts says why on stderr, then traps in `abort`: the report (and so an embedder's
/// `Exit::report`) starts with what it said. Here a WAT guest writes std's words, as a program out of memory
/// does, or as one without the SDK's panic hook does when it panics, and traps; with output discarded
/// (`Output::Null`) too, and not for a trap after some unrelated line.
#[test]
fn an_abort_reports_what_the_program_said_on_stderr() {
    let said_oom = "memory allocation of 1073741824 bytes failed\n";
    let said_panic =
        "thread 'main' (1) panicked at src/main.rs:4:5:\nboom\nsecond line\nnote: run with `RUST_BACKTRACE=1`\n";
    for (said, stderr, want) in [
        (said_oom, true, "panic: memory allocation of 1073741824 bytes failed [wasm trap: wasm `unreachable`"),
        (said_oom, false, "panic: memory allocation of 1073741824 bytes failed [wasm trap: wasm `unreachable`"),
        (said_panic, true, "panic: boom\nsecond line [wasm trap: wasm `unreachable`"),
        ("just a log line\n", true, "panic: wasm trap: wasm `unreachable`"),
    ] {
        let data: String = said.bytes().map(|b| format!("\\{b:02x}")).collect();
        let wat = format!(
            r#"(module
                (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
                (memory (export "memory") 1)
                (data (i32.const 64) "{data}")
                (func (export "_start")
                    (i32.store (i32.const 0) (i32.const 64))
                    (i32.store (i32.const 4) (i32.const {len}))
                    (drop (call $write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8)))
                    (unreachable)))"#,
            len = said.len()
        );
        let program = Program::from_bytes(&EngineConfig::default(), wat.as_bytes()).unwrap();
        let err = wasm_gmp::Capture::new();
        let out = if stderr { wasm_gmp::Output::Capture(err.clone()) } else { wasm_gmp::Output::Null };
        let rt = wasm_gmp::Runtime::new(wasm_gmp::Config { procs: 1, ..Default::default() }).unwrap();
        let exit = rt.run(&program, wasm_gmp::RunOptions::default().stderr(out)).unwrap();
        assert_eq!(exit.code, 2);
        let report = exit.report.unwrap();
        assert!(report.starts_with(want), "{said:?}: {report}");
        if said == said_panic {
            assert!(report.contains("\n\tsrc/main.rs:4:5\n"), "the location under the first frame: {report}");
        }
        if stderr {
            assert!(err.contents().contains(&report), "stderr has the report too");
        }
    }
}

/// A panic in host code (here an embedder's host function) stops the program with a report and status 2;
/// it does not leave the program hanging or take the embedding process down.
#[test]
fn a_panicking_host_function_stops_the_program_cleanly() {
    let wat = br#"(module
        (import "test_host" "boom" (func $boom))
        (memory (export "memory") 1)
        (func (export "_start") (call $boom))
        (func (export "gmp_entry") (param i32 i32 i32)))"#;
    let program = Program::builder(&EngineConfig::default())
        .host_functions(|linker| {
            linker.func_wrap("test_host", "boom", || -> () { panic!("boom from the host") })?;
            Ok(())
        })
        .bytes(wat)
        .unwrap();
    let err = wasm_gmp::Capture::new();
    let rt = wasm_gmp::Runtime::new(wasm_gmp::Config { procs: 1, ..Default::default() }).unwrap();
    let exit =
        rt.run(&program, wasm_gmp::RunOptions::default().stderr(wasm_gmp::Output::Capture(err.clone()))).unwrap();
    assert_eq!(exit.code, 2);
    let report = exit.report.unwrap();
    assert!(
        report.starts_with("fatal error: the host panicked while running goroutine 1: boom from the host"),
        "{report}"
    );
    assert!(err.contents().contains(&report));
}

/// A WAT guest whose main calls `gmp.exit(code)`, run at one P.
fn exit_with(code: i32) -> wasm_gmp::Exit {
    let wat = format!(
        r#"(module
            (import "gmp" "exit" (func $exit (param i32)))
            (memory (export "memory") 1)
            (func (export "_start") (call $exit (i32.const {code})))
            (func (export "gmp_entry") (param i32 i32 i32)))"#
    );
    let program = Program::from_bytes(&EngineConfig::default(), wat.as_bytes()).unwrap();
    let rt = wasm_gmp::Runtime::new(wasm_gmp::Config { procs: 1, ..Default::default() }).unwrap();
    rt.run(&program, wasm_gmp::RunOptions::default().stderr(wasm_gmp::Output::Capture(wasm_gmp::Capture::new())))
        .unwrap()
}

/// `exit` takes WASI's statuses, 0 to 125. Anything else would be truncated by the host process (256 would
/// exit 0, success), so it is a guest panic naming the call: status 2.
#[test]
fn exit_statuses_outside_zero_to_125_are_a_panic_not_a_truncated_status() {
    for code in [0, 1, 125] {
        let exit = exit_with(code);
        assert_eq!((exit.code, exit.report), (code, None));
    }
    for code in [126, 255, 256, -1, i32::MIN] {
        let exit = exit_with(code);
        assert_eq!(exit.code, 2, "exit({code})");
        let report = exit.report.unwrap();
        assert!(report.starts_with(&format!("panic: gmp.exit: exit status {code} is outside 0..126")), "{report}");
    }
}

/// Text is recognised as text whatever comes before `(module`; only `\0asm` means binary.
#[test]
fn wat_with_leading_comments_compiles() {
    let module = r#"(module (memory (export "memory") 1) (func (export "_start"))
        (func (export "gmp_entry") (param i32 i32 i32)))"#;
    for prefix in [";; a line comment\n", "(; a block comment ;)", "\n\t ;; two\n;; lines\n", ""] {
        let text = format!("{prefix}{module}");
        if let Err(e) = Program::from_bytes(&EngineConfig::default(), text.as_bytes()) {
            panic!("{text:?}: {e:#}");
        }
    }
    // Neither: the error says why, on one line.
    for junk in [&b"hello, I am not wasm"[..], b";; only a comment", b"\x7fELF\x02\x01\x01\0\0\0"] {
        let e = format!("{:#}", Program::from_bytes(&EngineConfig::default(), junk).err().expect("refused"));
        assert!(e.starts_with("not a WebAssembly module: no `\\0asm` header, and not"), "{e}");
        assert_eq!(e.lines().count(), 1, "{e}");
    }
}

/// A module whose memory starts larger than a G may have is refused when the program is built, naming the
/// flag, the module's size and the limit, not at its first spawn in the pool's words.
#[test]
fn a_module_needing_more_memory_than_the_limit_is_refused_naming_the_flag() {
    let cfg = EngineConfig { max_memory: 1 << 20, ..EngineConfig::default() };
    let wat = br#"(module (memory (export "memory") 17) (func (export "_start"))
        (func (export "gmp_entry") (param i32 i32 i32)))"#;
    let e = format!("{:#}", Program::from_bytes(&cfg, wat).err().expect("17 pages must not fit in 1 MiB"));
    assert_eq!(
        e,
        "the module's memory starts at 17 pages (1088 KiB), more than the 1024 KiB a G may have \
         (--max-memory / EngineConfig::max_memory)"
    );
    // 16 pages fit exactly.
    let wat = br#"(module (memory (export "memory") 16) (func (export "_start"))
        (func (export "gmp_entry") (param i32 i32 i32)))"#;
    let program = Program::from_bytes(&cfg, wat).unwrap();
    let rt = wasm_gmp::Runtime::new(wasm_gmp::Config { procs: 1, engine: cfg, ..Default::default() }).unwrap();
    assert_eq!(rt.run(&program, wasm_gmp::RunOptions::default()).unwrap().code, 0);
}

/// The smallest program: main returns at once.
const MINIMAL: &[u8] = br#"(module (memory (export "memory") 1) (func (export "_start"))
    (func (export "gmp_entry") (param i32 i32 i32)))"#;

/// Settings out of range are errors naming the setting, its flag and the range, never a wrapped value or a
/// host panic.
#[test]
fn out_of_range_settings_are_refused_naming_the_flag() {
    let program = Program::from_bytes(&EngineConfig::default(), MINIMAL).unwrap();
    let day = std::time::Duration::from_secs(86_400);
    let cases: [(wasm_gmp::Config, &str); 5] = [
        (wasm_gmp::Config { procs: 0, ..Default::default() }, "procs (--procs) is 0; it must be 1 to 1024"),
        (wasm_gmp::Config { procs: 1 << 40, ..Default::default() }, "it must be 1 to 1024"),
        (wasm_gmp::Config { timeslice: day, ..Default::default() }, "timeslice (--timeslice) is 86400s"),
        (wasm_gmp::Config { timeslice: std::time::Duration::ZERO, ..Default::default() }, "timeslice (--timeslice)"),
        (wasm_gmp::Config { schedtrace: Some(std::time::Duration::ZERO), ..Default::default() }, "(--schedtrace)"),
    ];
    for (cfg, want) in cases {
        let e = match wasm_gmp::Runtime::new(cfg) {
            Ok(rt) => format!("{:#}", rt.run(&program, Default::default()).expect_err("must be refused")),
            Err(e) => format!("{e:#}"),
        };
        assert!(e.contains(want), "{e}");
    }
    for (engine, want) in [
        (EngineConfig { max_memory: 0, ..Default::default() }, "max_memory (--max-memory) is 0 bytes"),
        (EngineConfig { max_memory: u64::MAX, ..Default::default() }, "it must be one wasm page (64 KiB) to 4 GiB"),
        (EngineConfig { max_gs: Some(0), ..Default::default() }, "max_gs (--max-gs) is 0; it must be 1 to"),
        (EngineConfig { max_gs: Some(usize::MAX), ..Default::default() }, "max_gs (--max-gs) is"),
    ] {
        let e = format!("{:#}", Program::from_bytes(&engine, MINIMAL).err().expect("must be refused"));
        assert!(e.contains(want), "{e}");
    }
}
