//! The `wasm-gmp` command line: flags, exit statuses, and one-line errors.

use gmp_tests::{cli, wasm};

fn s(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn run_passes_arguments_and_exits_with_the_program() {
    let sieve = wasm("sieve");
    let out = cli(&["run", "--procs", "2", sieve.to_str().unwrap(), "--", "5"]);
    assert_eq!(out.status.code(), Some(0), "{}", s(&out.stderr));
    assert_eq!(s(&out.stdout), "2\n3\n5\n7\n11\n");
    let out = cli(&["run", wasm("exit_code").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn procs_comes_from_the_environment_too() {
    let out = std::process::Command::new(gmp_tests::bin())
        .args(["run", wasm("gmaxprocs").to_str().unwrap()])
        .env("GMP_MAXPROCS", "3")
        .output()
        .unwrap();
    assert!(s(&out.stdout).starts_with("gomaxprocs: 3\n"), "{}", s(&out.stdout));
}

#[test]
fn deadlock_and_panic_exit_two_with_the_report_on_stderr() {
    let out = cli(&["run", wasm("deadlock").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(s(&out.stderr).starts_with("fatal error: all goroutines are asleep - deadlock!"), "{}", s(&out.stderr));
    let out = cli(&["run", wasm("trap").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(s(&out.stderr).contains("panic: wasm trap:"), "{}", s(&out.stderr));
}

#[test]
fn env_and_dir_reach_the_guest() {
    let dir = std::env::temp_dir().join(format!("gmp-env-dir-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("hello.txt"), "hello from the host\n").unwrap();
    let guest = wasm("env_dir");
    let mapping = format!("{}::data", dir.display());
    let out = cli(&["run", "--env", "GREETING=hi there", "--dir", &mapping, guest.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", s(&out.stderr));
    assert_eq!(s(&out.stdout), "GREETING=hi there\nmain read: hello from the host\nG read: hello from the host\n");
    // Without the flags the guest sees neither.
    let out = cli(&["run", guest.to_str().unwrap()]);
    let stdout = s(&out.stdout);
    assert!(stdout.starts_with("GREETING=<unset>\nmain read: <"), "{stdout}");
    // A directory that does not exist is refused with one line.
    let out = cli(&["run", "--dir", "/no/such/dir", guest.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(s(&out.stderr), "wasm-gmp: --dir /no/such/dir: not a directory\n");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_files_give_one_line_and_exit_one() {
    let dir = std::env::temp_dir().join(format!("gmp-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let text = dir.join("notes.wasm");
    std::fs::write(&text, "not wasm at all").unwrap();
    for (path, want) in [
        (text.to_str().unwrap().to_string(), "not a WebAssembly module"),
        ("/no/such/app.wasm".to_string(), "cannot read"),
    ] {
        let out = cli(&["run", &path]);
        assert_eq!(out.status.code(), Some(1), "{path}");
        let err = s(&out.stderr);
        assert_eq!(err.lines().count(), 1, "one line, got: {err}");
        assert!(err.starts_with("wasm-gmp: ") && err.contains(want), "{err}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn schedtrace_prints_go_shaped_lines() {
    let out = cli(&["run", "--procs", "2", "--schedtrace", "5", wasm("parallel").to_str().unwrap(), "--", "2"]);
    assert_eq!(out.status.code(), Some(0));
    let err = s(&out.stderr);
    let line = err.lines().find(|l| l.starts_with("SCHED ")).unwrap_or_else(|| panic!("no SCHED line in {err}"));
    for field in ["gomaxprocs=2", "idleprocs=", "threads=", "spinningthreads=", "idlethreads=", "runqueue=", " ["] {
        assert!(line.contains(field), "{field} missing from {line}");
    }
}

#[test]
fn help_explains_every_flag() {
    let out = cli(&["run", "--help"]);
    let help = s(&out.stdout);
    for flag in [
        "--procs",
        "--timeslice",
        "--dir",
        "--env",
        "--schedtrace",
        "--allow-precompiled",
        "--max-message",
        "--max-gs",
        "--max-memory-total",
        "--max-handles-per-g",
        "--max-handles",
        "--max-buffered",
        "--max-timers",
        "--net",
        "GMP_MAXPROCS",
    ] {
        assert!(help.contains(flag), "--help does not mention {flag}");
    }
}

/// Malformed or out-of-range flags are usage errors (clap's status 2) naming the flag and the allowed range:
/// never a value wrapped into range (`--max-memory 17592186044417` is 2^44 + 1 MiB: shifted into bytes it
/// wrapped to 1 MiB, and ran), nor one that makes the host panic or spin (`--schedtrace 0`).
#[test]
fn bad_flags_are_usage_errors_naming_the_flag_and_range() {
    let hello = wasm("hello");
    for (flag, value, want) in [
        ("--max-memory", "17592186044417", "1..=4096"),
        ("--max-memory", "0", "1..=4096"),
        ("--procs", "0", "1..=1024"),
        ("--procs", "1000000000000", "1..=1024"),
        ("--schedtrace", "0", "1..=3600000"),
        ("--schedtrace", "18446744073709551615", "1..=3600000"),
        ("--max-gs", "0", "1.."),
        ("--max-memory-total", "0", "1..="),
        ("--max-handles-per-g", "0", "1..=4294967295"),
        ("--max-handles-per-g", "4294967296", "1..=4294967295"),
        ("--max-handles", "0", "1.."),
        ("--max-buffered", "0", "1..="),
        ("--max-message", "4294967297", "0..=4294967296"),
        ("--max-timers", "ten", "invalid"),
        ("--timeslice", "ten", "not a duration"),
        ("--timeslice", "0.1ns", "out of range"),
        ("--timeslice", "2h", "unknown unit"),
    ] {
        let out = cli(&["run", flag, value, hello.to_str().unwrap()]);
        let err = s(&out.stderr);
        assert_eq!(out.status.code(), Some(wasm_gmp::cli::EXIT_USAGE), "{flag} {value}: {err}");
        assert!(err.contains(flag) && err.contains(want), "{flag} {value}: {err}");
    }
    // GMP_MAXPROCS goes through the same check as --procs.
    let out = std::process::Command::new(gmp_tests::bin())
        .args(["run", hello.to_str().unwrap()])
        .env("GMP_MAXPROCS", "0")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(wasm_gmp::cli::EXIT_USAGE), "{}", s(&out.stderr));
    // In range but more Gs than fit in the address space: the engine refuses, naming the flag.
    let out = cli(&["run", "--max-gs", "1000000000000", hello.to_str().unwrap()]);
    let err = s(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(": max_gs (--max-gs) is 1000000000000; it must be 1 to "), "{err}");
    // Each in range, but together impossible: a message of the largest size could never be sent.
    let out = cli(&["run", "--max-buffered", "8", hello.to_str().unwrap()]);
    let err = s(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("max_buffered_bytes (--max-buffered) is 8388608 bytes; it must hold at least one"), "{err}");
}

/// The limit flags reach the run: a per-G handle limit of 3 stops a program that holds more, naming the flag.
#[test]
fn limit_flags_set_the_limits() {
    let dir = scratch("limit_flags");
    let wat = dir.join("chans.wat");
    std::fs::write(
        &wat,
        r#"(module
            (import "gmp" "chan_new" (func $chan_new (param i32) (result i32)))
            (memory (export "memory") 1)
            (func (export "_start") (loop $l (drop (call $chan_new (i32.const 0))) (br $l)))
            (func (export "gmp_entry") (param i32 i32 i32)))"#,
    )
    .unwrap();
    let out = cli(&["run", "--max-handles-per-g", "3", wat.to_str().unwrap()]);
    let err = s(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.starts_with("fatal error: gmp.chan_new: G 1 holds 3 handles, the limit per G"), "{err}");
    assert!(err.contains("--max-handles-per-g"), "{err}");
}

/// `exit(256)` must not become status 0 in the host process: it is a guest panic (status 2).
#[test]
fn exit_256_is_not_success() {
    let dir = scratch("exit256");
    let wat = dir.join("exit256.wat");
    std::fs::write(
        &wat,
        r#";; gmp.exit(256): the host's exit status would keep only the low 8 bits, 0
        (module
            (import "gmp" "exit" (func $exit (param i32)))
            (memory (export "memory") 1)
            (func (export "_start") (call $exit (i32.const 256)))
            (func (export "gmp_entry") (param i32 i32 i32)))"#,
    )
    .unwrap();
    let out = cli(&["run", wat.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", s(&out.stderr));
    assert!(s(&out.stderr).starts_with("panic: gmp.exit: exit status 256 is outside 0..126"), "{}", s(&out.stderr));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A module that needs more memory than `--max-memory` allows: one line naming the flag, status 1.
#[test]
fn max_memory_below_the_module_minimum_names_the_flag() {
    let dir = scratch("memory");
    let wat = dir.join("big.wat");
    std::fs::write(
        &wat,
        r#"(module (memory (export "memory") 17) (func (export "_start"))
            (func (export "gmp_entry") (param i32 i32 i32)))"#,
    )
    .unwrap();
    let out = cli(&["run", "--max-memory", "1", wat.to_str().unwrap()]);
    let err = s(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(
        err,
        format!(
            "wasm-gmp: {}: the module's memory starts at 17 pages (1088 KiB), more than the 1024 KiB a G may have \
             (--max-memory / EngineConfig::max_memory)\n",
            wat.display()
        )
    );
    let out = cli(&["run", "--max-memory", "2", wat.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", s(&out.stderr));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A module file is read with a bound: devices and directories are refused before reading (`/dev/zero`
/// never ends), a file above the limit is refused by its size. `/dev/zero` runs with its address space
/// limited to 1 GiB, so that if the check ever breaks, the test fails at once instead of filling the
/// machine's memory.
#[test]
fn endless_or_huge_module_files_are_refused_before_reading() {
    let dir = scratch("huge");
    let huge = dir.join("huge.wasm");
    let f = std::fs::File::create(&huge).unwrap();
    f.set_len(wasm_gmp::MAX_MODULE_FILE + 1).unwrap(); // sparse: no disk used
    drop(f);
    let bin = gmp_tests::bin();
    let limited = std::process::Command::new("sh")
        .args(["-c", r#"ulimit -v 1048576 && exec "$0" run /dev/zero"#])
        .arg(&bin)
        .output()
        .unwrap();
    for (out, want) in [
        (limited, "wasm-gmp: /dev/zero: cannot read: it is a character device, not a file\n".to_string()),
        (
            cli(&["run", dir.to_str().unwrap()]),
            format!("wasm-gmp: {}: cannot read: it is a directory, not a file\n", dir.display()),
        ),
        (
            cli(&["run", huge.to_str().unwrap()]),
            format!(
                "wasm-gmp: {}: cannot read: the file is larger than the 256 MiB a module may have\n",
                huge.display()
            ),
        ),
    ] {
        assert_eq!((out.status.code(), s(&out.stderr)), (Some(1), want));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("gmp-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `--cpu-time` ends a program that uses more CPU than allowed (here a main G that spins forever, past a
/// 20 ms budget) with a fatal error naming the flag; `--max-gs-per-program` refuses a spawn past the
/// program's share with one too.
#[test]
fn per_program_limit_flags_reach_the_run() {
    let dir = scratch("cpu_time");
    let spin = dir.join("spin.wat");
    std::fs::write(
        &spin,
        r#"(module (memory (export "memory") 1) (func (export "_start") (loop (br 0)))
            (func (export "gmp_entry") (param i32 i32 i32)))"#,
    )
    .unwrap();
    let out = cli(&["run", "--cpu-time", "20ms", spin.to_str().unwrap()]);
    let err = s(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.starts_with("fatal error: epoch check: the program used"), "{err}");
    assert!(err.contains("(Limits::cpu_time, --cpu-time)"), "{err}");
    let park = gmp_tests::wasm("park_many");
    let out = cli(&["run", "--max-gs-per-program", "10", park.to_str().unwrap(), "--", "100"]);
    let err = s(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("the program has 10 Gs alive, its limit (Limits::max_gs, --max-gs-per-program)"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Everything after APP goes to the program, flags included, as wasmtime does; a `--` right after APP is
/// dropped, so the older `APP -- ARGS` form keeps working. Flags before APP are ours.
#[test]
fn arguments_after_the_program_are_the_programs() {
    let echo = wasm("echo_args");
    let echo = echo.to_str().unwrap();
    for (args, want) in [
        (vec!["run", echo, "gs", "3"], "gs\n3\n"),
        (vec!["run", echo, "--procs", "2", "-x"], "--procs\n2\n-x\n"),
        (vec!["run", echo, "--", "a", "--", "b"], "a\n--\nb\n"),
        (vec!["run", "--procs", "1", echo, "--dir"], "--dir\n"),
        (vec!["run", echo], ""),
    ] {
        let out = cli(&args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", s(&out.stderr));
        assert_eq!(s(&out.stdout), want, "{args:?}");
    }
}

/// A command line that cannot be understood has an exit status of its own (not 2, a program's panic or
/// deadlock), as do bad `--env` and `--net` rules; `--help` and `--version` succeed and say what they
/// should.
#[test]
fn usage_errors_have_their_own_status() {
    let hello = wasm("readme");
    let hello = hello.to_str().unwrap();
    for args in [
        vec!["run", "--no-such-flag", hello],
        vec!["run"],
        vec!["frobnicate"],
        vec!["run", "--env", "NO_SUCH_VARIABLE_HOPEFULLY_42", hello],
        vec!["run", "--net", "listen=not-an-address", hello],
    ] {
        let out = cli(&args);
        assert_eq!(out.status.code(), Some(wasm_gmp::cli::EXIT_USAGE), "{args:?}: {}", s(&out.stderr));
        assert!(!s(&out.stderr).is_empty(), "{args:?} said nothing");
    }
    let out = cli(&["--version"]);
    assert_eq!((out.status.code(), s(&out.stdout)), (Some(0), format!("wasm-gmp {}\n", env!("CARGO_PKG_VERSION"))));
    let out = cli(&["run", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(s(&out.stdout).contains("Exit status: the program's own"), "{}", s(&out.stdout));
}

/// Go's `GOMAXPROCS` and `GODEBUG=schedtrace=MS` are read when the flags are not given; flags win, and a
/// `GOMAXPROCS` that is not a number is ignored with a warning.
#[test]
fn gomaxprocs_and_godebug_come_from_the_environment() {
    let run = |env: &[(&str, &str)], flags: &[&str], guest: &str, args: &[&str]| {
        let guest = wasm(guest);
        let mut cmd = std::process::Command::new(gmp_tests::bin());
        cmd.arg("run").args(flags).arg(&guest).args(args).env_remove("GMP_MAXPROCS").env_remove("GODEBUG");
        cmd.envs(env.iter().copied()).output().unwrap()
    };
    let procs = |out: std::process::Output| s(&out.stdout).lines().next().unwrap_or("").to_string();
    assert_eq!(procs(run(&[("GOMAXPROCS", "3")], &[], "gmaxprocs", &[])), "gomaxprocs: 3");
    assert_eq!(procs(run(&[("GOMAXPROCS", "3")], &["--procs", "2"], "gmaxprocs", &[])), "gomaxprocs: 2");
    assert_eq!(procs(run(&[("GOMAXPROCS", "3"), ("GMP_MAXPROCS", "1")], &[], "gmaxprocs", &[])), "gomaxprocs: 1");
    let out = run(&[("GOMAXPROCS", "many")], &[], "gmaxprocs", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", s(&out.stderr));
    assert!(s(&out.stderr).contains("GOMAXPROCS=many is not a number"), "{}", s(&out.stderr));

    let out = run(&[("GODEBUG", "gctrace=1,schedtrace=5")], &["--procs", "2"], "parallel", &["2"]);
    assert_eq!(out.status.code(), Some(0), "{}", s(&out.stderr));
    assert!(
        s(&out.stderr).lines().any(|l| l.starts_with("SCHED ") && l.contains("gomaxprocs=2")),
        "{}",
        s(&out.stderr)
    );
    let out = run(&[("GODEBUG", "schedtrace=0")], &[], "parallel", &["2"]);
    assert!(!s(&out.stderr).contains("SCHED"), "schedtrace=0 is off: {}", s(&out.stderr));
}

/// A plain WASI command (no `gmp_entry`, no gmp imports) runs as a program of one G; one that tries to
/// spawn anyway fails with an error naming the missing export.
#[test]
fn a_plain_wasi_command_runs_as_one_g() {
    let dir = scratch("wasi");
    let hello = dir.join("hello.wat");
    std::fs::write(
        &hello,
        r#"(module
            (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
            (memory (export "memory") 1)
            (data (i32.const 16) "hello from WASI\n")
            (func (export "_start")
                (i32.store (i32.const 0) (i32.const 16))   ;; iovec: the text
                (i32.store (i32.const 4) (i32.const 16))   ;; and its length
                (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#,
    )
    .unwrap();
    let out = cli(&["run", hello.to_str().unwrap()]);
    assert_eq!((out.status.code(), s(&out.stdout)), (Some(0), "hello from WASI\n".into()), "{}", s(&out.stderr));

    let spawner = dir.join("spawner.wat");
    std::fs::write(
        &spawner,
        r#"(module
            (import "gmp" "spawn" (func $spawn (param i32 i32 i32 i32 i32) (result i64)))
            (memory (export "memory") 1)
            (func (export "_start")
                (drop (call $spawn (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)))))"#,
    )
    .unwrap();
    let out = cli(&["run", spawner.to_str().unwrap()]);
    let err = s(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("gmp.spawn: the program does not export `gmp_entry`"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `compile` writes a .cwasm that `run` loads only with `--allow-precompiled`, runs like the .wasm, and
/// refuses (naming the flags) under a different engine configuration.
#[test]
fn compile_then_run_the_precompiled_program() {
    let dir = scratch("compile");
    let sieve = dir.join("sieve.wasm");
    std::fs::copy(wasm("sieve"), &sieve).unwrap();
    let out = cli(&["compile", sieve.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", s(&out.stderr));
    let cwasm = dir.join("sieve.cwasm");
    assert!(cwasm.is_file(), "compile wrote no {}", cwasm.display());
    let other = dir.join("other.cwasm");
    let out = cli(&["compile", "--no-preempt", "-o", other.to_str().unwrap(), sieve.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", s(&out.stderr));

    let out = cli(&["run", cwasm.to_str().unwrap(), "5"]);
    assert_eq!(out.status.code(), Some(wasm_gmp::cli::EXIT_CANNOT_START));
    assert!(s(&out.stderr).contains("--allow-precompiled"), "{}", s(&out.stderr));
    let out = cli(&["run", "--allow-precompiled", "--procs", "2", cwasm.to_str().unwrap(), "5"]);
    assert_eq!((out.status.code(), s(&out.stdout)), (Some(0), "2\n3\n5\n7\n11\n".into()), "{}", s(&out.stderr));
    let out = cli(&["run", "--allow-precompiled", other.to_str().unwrap(), "5"]);
    assert_eq!(out.status.code(), Some(wasm_gmp::cli::EXIT_CANNOT_START));
    assert!(s(&out.stderr).contains("cannot load the precompiled module"), "{}", s(&out.stderr));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A module with a large shadow stack (Rust's default 1 MiB) runs, with one warning that names the linker
/// flag; the stack pointer is found by name, or as the first mutable i32 global. The SDK's own guests
/// (64 KiB) are not warned about.
#[test]
fn a_large_shadow_stack_is_warned_about_once() {
    let dir = scratch("stack");
    for (name, global, warned) in [
        (
            "named",
            r#"(global $x (mut i32) (i32.const 1)) (global $__stack_pointer (mut i32) (i32.const 1048576))"#,
            Some("1024 KiB"),
        ),
        ("first", r#"(global (mut i32) (i32.const 2097152)) (global $x (mut i32) (i32.const 1))"#, Some("2048 KiB")),
        ("small", r#"(global $__stack_pointer (mut i32) (i32.const 65536))"#, None),
    ] {
        let wat = dir.join(format!("{name}.wat"));
        std::fs::write(&wat, format!(r#"(module {global} (memory (export "memory") 32) (func (export "_start")))"#))
            .unwrap();
        let out = cli(&["run", wat.to_str().unwrap()]);
        let err = s(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{name}: {err}");
        match warned {
            Some(size) => {
                assert_eq!(err.matches("warning").count(), 1, "{name}: {err}");
                assert!(err.contains(size) && err.contains("-zstack-size=65536"), "{name}: {err}");
            }
            None => assert_eq!(err, "", "{name}"),
        }
    }
    let out = cli(&["run", wasm("readme").to_str().unwrap()]);
    assert!(!s(&out.stderr).contains("warning"), "{}", s(&out.stderr));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `wasm-gmp new` makes a crate that `cargo run` builds for wasm32-wasip1, with the small shadow stack, and
/// runs under `wasm-gmp run` (the runner its config names); it refuses a folder that exists.
#[test]
fn new_makes_a_crate_that_cargo_runs_under_wasm_gmp() {
    let dir = scratch("new");
    let app = dir.join("hello-gmp");
    let new = std::process::Command::new(gmp_tests::bin()).arg("new").arg(&app).output().unwrap();
    assert!(new.status.success(), "{}", s(&new.stderr));
    let again = std::process::Command::new(gmp_tests::bin()).arg("new").arg(&app).output().unwrap();
    assert_eq!(again.status.code(), Some(1), "{}", s(&again.stderr));
    assert!(s(&again.stderr).contains("already exists"), "{}", s(&again.stderr));

    // `wasm-gmp` on PATH for the runner; the guests' target folder, whose dependencies it can reuse.
    let bin_dir = gmp_tests::bin().parent().unwrap().to_path_buf();
    let path =
        std::env::join_paths(std::iter::once(bin_dir).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())))
            .unwrap();
    let out = gmp_tests::cargo()
        .args(["run", "--quiet"])
        .current_dir(&app)
        .env("PATH", path)
        .env("CARGO_TARGET_DIR", gmp_tests::root().join("target/wasm"))
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", s(&out.stderr));
    assert_eq!(
        s(&out.stdout),
        "hello from G 2 (worker 1)\nhello from G 3 (worker 2)\nhello from G 4 (worker 3)\n",
        "{}",
        s(&out.stderr)
    );
    assert!(!s(&out.stderr).contains("shadow stack"), "the config sets the small stack: {}", s(&out.stderr));
    std::fs::remove_dir_all(&dir).unwrap();
}
