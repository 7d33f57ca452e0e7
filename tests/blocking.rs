//! Blocking calls do not stall the Gs queued on their P (Go's syscall handoff), at one P.

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use wasm_gmp::{Capture, Config, EngineConfig, Output, Program, RunOptions, Runtime};

/// Wait for `child` to exit, failing the test (and killing it) if that takes a minute.
fn wait_or_kill(child: &mut std::process::Child, what: &str) -> std::process::ExitStatus {
    gmp_tests::wait_or_kill(child, Duration::from_secs(60))
        .unwrap_or_else(|| panic!("the program did not finish {what}"))
}

/// One G blocks reading a pipe that never delivers (the test holds it open); the others finish and main's
/// return ends the program with status 0.
#[test]
fn a_g_blocked_on_stdin_does_not_stop_the_others() {
    let mut child = Command::new(gmp_tests::bin())
        .args(["run", "--procs", "1", gmp_tests::wasm("stdin_blocked").to_str().unwrap()])
        .env("GMP_CACHE_DIR", gmp_tests::root().join("target/gmp-cache"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let _stdin_held_open = child.stdin.take();
    let status = wait_or_kill(&mut child, "while one G was blocked on stdin");
    let mut out = String::new();
    child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    assert_eq!((status.code(), out.as_str()), (Some(0), "workers done: 4950\n"));
}

/// One G blocks writing to a stdout pipe that nobody reads (full after 64 KiB); at one P the workers
/// still finish, main's return ends the program, and the runtime does not wait for the stuck writer.
#[test]
fn a_g_blocked_on_a_full_stdout_pipe_does_not_stop_the_others() {
    let mut child = Command::new(gmp_tests::bin())
        .args(["run", "--procs", "1", gmp_tests::wasm("stdout_flood").to_str().unwrap()])
        .env("GMP_CACHE_DIR", gmp_tests::root().join("target/gmp-cache"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = wait_or_kill(&mut child, "while one G was blocked writing stdout");
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert_eq!((status.code(), err.as_str()), (Some(0), "workers done: 4950\n"));
}

/// An embedder's sync host function that blocks its thread until the guest calls `release`: at one P, the
/// workers (and main, which calls `release`) can only run if the blocked M gave its P away.
#[test]
fn a_blocking_host_function_hands_its_p_over() {
    let gate = Arc::new((Mutex::new(false), Condvar::new()));
    let (g1, g2) = (gate.clone(), gate.clone());
    let program = Program::builder(&EngineConfig::default())
        .host_functions(move |linker| {
            linker.func_wrap("test_host", "block", move || {
                wasm_gmp::blocking(|| {
                    let (m, cv) = &*g1;
                    let mut open = m.lock().unwrap();
                    while !*open {
                        let (o, timeout) = cv.wait_timeout(open, Duration::from_secs(60)).unwrap();
                        assert!(!timeout.timed_out(), "never released: the queued Gs never ran");
                        open = o;
                    }
                })
            })?;
            linker.func_wrap("test_host", "release", move || {
                let (m, cv) = &*g2;
                *m.lock().unwrap() = true;
                cv.notify_all();
            })?;
            Ok(())
        })
        .file(gmp_tests::wasm("blocking_host"))
        .unwrap();
    let out = Capture::new();
    let rt = Runtime::new(Config { procs: 1, ..Config::default() }).unwrap();
    let exit = rt.run(&program, RunOptions::default().stdout(Output::Capture(out.clone()))).unwrap();
    assert_eq!((exit.code, out.contents().as_str()), (0, "workers done: 4950\nreleased\n"), "{exit:?}");
}
