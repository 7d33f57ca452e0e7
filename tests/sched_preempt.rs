//! Preemption: a G in a loop with no calls at all cannot keep other Gs from running, whatever made it
//! runnable.

use std::time::{Duration, Instant};

use gmp_tests::run;
use wasm_gmp::{EngineConfig, GData, Program};
use wasmtime::Linker;

/// At one P, `spin` starts a G that loops forever without a single call, then main does channel work and
/// returns: only preemption through the epoch lets main run again.
#[test]
fn a_call_free_loop_is_preempted_at_one_p() {
    let t0 = Instant::now();
    let r = run("spin", 1, &[]);
    assert_eq!((r.code, r.stdout.as_str()), (0, "main finished while a G spins\n"), "{r:?}");
    assert!(t0.elapsed() < Duration::from_secs(30), "took {:?}", t0.elapsed());
}

/// A short timeslice still lets everybody finish; a long one too. (Behaviour only: timing is measured in
/// the benchmarks, not asserted here.)
#[test]
fn timeslice_setting_is_honoured_both_ways() {
    for slice in [Duration::from_millis(1), Duration::from_millis(50)] {
        let mut cfg = gmp_tests::config("spin", 1, &[]);
        cfg.timeslice = slice;
        let r = gmp_tests::run_with("spin", cfg);
        assert_eq!(r.code, 0, "slice {slice:?}: {r:?}");
    }
}

// ---------------------------------------------------------------------------------------------------------
// Gs that spin after being made runnable: whatever woke them, sysmon must still take their Ps away after a
// slice. Each scenario is a WAT program whose main makes one G per P (or more) runnable by one path, then
// sleeps and returns (status 0); the Gs spin in a call-free loop. Main's return needs a P back, and every P
// is busy, so only preemption ends the program. Each runs at one P and at two, in a child process killed
// after `LIMIT`: a spinner that is never preempted fails its test instead of hanging the suite.

/// Runs of each program per test. The wake paths race with sysmon and the poller (who fires a timer, who
/// takes the woken G), and a bug may sit on only one side of a race: measured against the scheduler before
/// its fix, one run of the channel scenario at one P hung one time in three, five runs in a row hang
/// nearly always.
const ROUNDS: usize = 5;

/// Generous: the rounds need about half a second; the rest is process start and compilation on a busy
/// machine.
const LIMIT: Duration = Duration::from_secs(10);

/// Imports every scenario shares (before its own: the text format wants imports first).
const IMPORTS: &str = r#"
    (import "gmp" "spawn" (func $spawn (param i32 i32 i32 i32 i32) (result i64)))
    (import "gmp" "gomaxprocs" (func $procs (result i32)))
    (import "gmp" "sleep" (func $sleep (param i64)))
    (import "gmp" "msg_take" (func $msg_take (param i32 i32 i32 i32)))
"#;

/// The memory and helper functions every scenario shares (after its own imports).
const HELPERS: &str = r#"
    (memory (export "memory") 1)
    (func $ms (param i32) (result i64) (i64.mul (i64.extend_i32_u (local.get 0)) (i64.const 1000000)))
    ;; a negative result is an error code (wit/net.wit): trap, so the test fails with the call's name
    (func $ok (param i32) (result i32) (if (i32.lt_s (local.get 0) (i32.const 0)) (then unreachable)) (local.get 0))
    (func $spin (loop $forever (br $forever)))          ;; no call at all: only an epoch check can stop it
    ;; spawn $count Gs; G i gets spawn entry i and the $nh handles at $hbase + i * $hstep
    (func $spawn_gs (param $count i32) (param $hbase i32) (param $hstep i32) (param $nh i32) (local $i i32)
        (loop $each
            (drop (call $spawn (local.get $i) (i32.const 0) (i32.const 0)
                (i32.add (local.get $hbase) (i32.mul (local.get $i) (local.get $hstep))) (local.get $nh)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $each (i32.lt_u (local.get $i) (local.get $count)))))
    ;; a spawned G's one handle, taken from its spawn message and stored at 0
    (func $take_handle (call $msg_take (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 1)))
"#;

/// Run `body` (module fields between [`IMPORTS`] and [`HELPERS`]) [`ROUNDS`] times at `procs` Ps in a child
/// process, with the embedder host functions `host` adds; assert every run ends with status 0, all within
/// [`LIMIT`].
fn ends_promptly(test: &str, procs: usize, body: &str, host: fn(&mut Linker<GData>) -> wasmtime::Result<()>) {
    let wat = format!("(module {IMPORTS} {body} {HELPERS})");
    let r = gmp_tests::isolated(test, LIMIT, || {
        let program = Program::builder(&EngineConfig::default())
            .host_functions(host)
            .bytes(wat.as_bytes())
            .unwrap_or_else(|e| panic!("{test}: {e:#}"));
        let run = || gmp_tests::run_program(test, program.clone(), gmp_tests::config(test, procs, &[]));
        (1..ROUNDS).fold(run(), |r, _| if r.code == 0 { run() } else { r })
    });
    assert_eq!(r.code, 0, "{test} at {procs} Ps: {r:?}");
    assert!(r.elapsed < LIMIT, "{test} at {procs} Ps took {:?}", r.elapsed);
}

fn no_host_functions(_: &mut Linker<GData>) -> wasmtime::Result<()> {
    Ok(())
}

/// Two tests for one scenario, at one P and at two (each must be its own test: [`gmp_tests::isolated`]
/// re-runs the test binary for a test by name).
macro_rules! at_one_and_two_ps {
    ($(#[$doc:meta])* $one:ident, $two:ident, $body:expr, $host:expr) => {
        $(#[$doc])*
        #[test]
        fn $one() {
            ends_promptly(stringify!($one), 1, $body, $host);
        }

        $(#[$doc])*
        #[test]
        fn $two() {
            ends_promptly(stringify!($two), 2, $body, $host);
        }
    };
}

at_one_and_two_ps!(
    /// The Gs were just spawned; they run from `runnext` and the queues, never having blocked.
    gs_spinning_from_their_start_are_preempted_at_one_p,
    gs_spinning_from_their_start_are_preempted_at_two_ps,
    r#"
    (func (export "_start")
        (call $spawn_gs (call $procs) (i32.const 0) (i32.const 0) (i32.const 0))
        (call $sleep (call $ms (i32.const 20))))
    (func (export "gmp_entry") (param i32 i32 i32)
        (call $spin))
    "#,
    no_host_functions
);

at_one_and_two_ps!(
    /// The Gs are woken by their own timers (a sleep), then spin: the issue's program.
    gs_spinning_after_their_own_timers_are_preempted_at_one_p,
    gs_spinning_after_their_own_timers_are_preempted_at_two_ps,
    r#"
    (func (export "_start")
        (call $spawn_gs (call $procs) (i32.const 0) (i32.const 0) (i32.const 0))
        (call $sleep (call $ms (i32.const 50))))
    (func (export "gmp_entry") (param i32 i32 i32)
        (call $sleep (call $ms (i32.const 20)))          ;; woken by its timer...
        (call $spin))                                    ;; ...then spins
    "#,
    no_host_functions
);

at_one_and_two_ps!(
    /// The Gs are woken by main's sends on an unbuffered channel they wait to receive from, then spin.
    gs_spinning_after_a_channel_send_are_preempted_at_one_p,
    gs_spinning_after_a_channel_send_are_preempted_at_two_ps,
    r#"
    (import "gmp" "chan_new" (func $chan_new (param i32) (result i32)))
    (import "gmp" "chan_send" (func $send (param i32 i32 i32 i32 i32)))
    (import "gmp" "chan_recv" (func $recv (param i32 i32 i32 i32 i32 i32) (result i32)))
    (func (export "_start") (local $i i32)
        (i32.store (i32.const 0) (call $chan_new (i32.const 0)))
        (call $spawn_gs (call $procs) (i32.const 0) (i32.const 0) (i32.const 1))   ;; every G gets the channel
        (call $sleep (call $ms (i32.const 20)))          ;; the Gs are parked in their receives by now
        (loop $each                                      ;; one send per G: each wakes one
            (call $send (i32.load (i32.const 0)) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $each (i32.lt_u (local.get $i) (call $procs))))
        (call $sleep (call $ms (i32.const 50))))
    (func (export "gmp_entry") (param i32 i32 i32)
        (call $take_handle)
        (drop (call $recv (i32.load (i32.const 0)) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 16)))
        (call $spin))
    "#,
    no_host_functions
);

at_one_and_two_ps!(
    /// The Gs are woken by the netpoller (each one's loopback connection turned readable), then spin.
    gs_spinning_after_their_sockets_turn_readable_are_preempted_at_one_p,
    gs_spinning_after_their_sockets_turn_readable_are_preempted_at_two_ps,
    r#"
    (import "gmp" "tcp_listen" (func $listen (param i32 i32 i32) (result i32)))
    (import "gmp" "sock_local_addr" (func $local_addr (param i32 i32 i32) (result i32)))
    (import "gmp" "tcp_connect" (func $connect (param i32 i32) (result i32)))
    (import "gmp" "tcp_accept" (func $accept (param i32 i32 i32 i32) (result i32)))
    (import "gmp" "sock_read" (func $read (param i32 i32 i32) (result i32)))
    (import "gmp" "sock_write" (func $write (param i32 i32 i32) (result i32)))
    (data (i32.const 64) "127.0.0.1:0")
    ;; 128: the listener's address; 512 + 4i: G i's end of connection i; 768 + 4i: main's end
    (func (export "_start") (local $l i32) (local $alen i32) (local $i i32)
        (local.set $l (call $ok (call $listen (i32.const 64) (i32.const 11) (i32.const 16))))
        (local.set $alen (call $ok (call $local_addr (local.get $l) (i32.const 128) (i32.const 64))))
        (loop $each
            (i32.store (i32.add (i32.const 768) (i32.shl (local.get $i) (i32.const 2)))
                (call $ok (call $connect (i32.const 128) (local.get $alen))))
            (i32.store (i32.add (i32.const 512) (i32.shl (local.get $i) (i32.const 2)))
                (call $ok (call $accept (local.get $l) (i32.const 0) (i32.const 0) (i32.const 8))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $each (i32.lt_u (local.get $i) (call $procs))))
        (call $spawn_gs (call $procs) (i32.const 512) (i32.const 4) (i32.const 1))
        (call $sleep (call $ms (i32.const 20)))          ;; the Gs are parked in their reads by now
        (local.set $i (i32.const 0))
        (loop $each                                      ;; one byte down each connection
            (drop (call $ok (call $write (i32.load (i32.add (i32.const 768) (i32.shl (local.get $i) (i32.const 2))))
                (i32.const 64) (i32.const 1))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $each (i32.lt_u (local.get $i) (call $procs))))
        (call $sleep (call $ms (i32.const 50))))
    (func (export "gmp_entry") (param i32 i32 i32)
        (call $take_handle)
        (drop (call $ok (call $read (i32.load (i32.const 0)) (i32.const 256) (i32.const 16))))
        (call $spin))
    "#,
    no_host_functions
);

/// `test_host.block_ms(ms)`: an embedder's host function that blocks its thread, inside `blocking()` as
/// the README says it should.
fn block_ms(linker: &mut Linker<GData>) -> wasmtime::Result<()> {
    linker.func_wrap("test_host", "block_ms", |ms: i32| {
        wasm_gmp::blocking(|| std::thread::sleep(Duration::from_millis(ms as u64)))
    })?;
    Ok(())
}

at_one_and_two_ps!(
    /// The Gs return from a blocking host call (their Ps were handed off meanwhile), then spin.
    gs_spinning_after_a_blocking_host_call_are_preempted_at_one_p,
    gs_spinning_after_a_blocking_host_call_are_preempted_at_two_ps,
    r#"
    (import "test_host" "block_ms" (func $block_ms (param i32)))
    (func (export "_start")
        (call $spawn_gs (call $procs) (i32.const 0) (i32.const 0) (i32.const 0))
        (call $sleep (call $ms (i32.const 50))))
    (func (export "gmp_entry") (param i32 i32 i32)
        (call $block_ms (i32.const 20))                  ;; blocks its thread, then comes back for a P...
        (call $spin))                                    ;; ...and spins on it
    "#,
    block_ms
);

at_one_and_two_ps!(
    /// Two more spinners than Ps, woken by their timers 5, 10, 15... ms in; main sleeps past all of them
    /// and still gets a P back.
    more_spinners_than_ps_are_all_preempted_at_one_p,
    more_spinners_than_ps_are_all_preempted_at_two_ps,
    r#"
    (func (export "_start")
        (call $spawn_gs (i32.add (call $procs) (i32.const 2)) (i32.const 0) (i32.const 0) (i32.const 0))
        (call $sleep (call $ms (i32.const 50))))
    (func (export "gmp_entry") (param $i i32) (param i32 i32)
        (call $sleep (call $ms (i32.mul (i32.add (local.get $i) (i32.const 1)) (i32.const 5))))
        (call $spin))
    "#,
    no_host_functions
);
