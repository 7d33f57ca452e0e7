//! Preemption: a G in a loop with no calls at all cannot keep other Gs from running, whatever made it
//! runnable, and the timeslice setting decides how long it runs first.

use std::time::Duration;

use wasm_gmp::{EngineConfig, GData, Program};
use wasmtime::Linker;

/// Two Gs spin at one P for `RUN` (both until the same instant), each counting the switches it sees: the
/// program's exit status is their sum (at most 125). Switches are seen through a baton, a channel of
/// capacity 1 holding the id of the G that ran last: each turn of a G's loop takes it and puts back its
/// own id, two host calls with no epoch check between them, so no switch can split them.
const SWITCH_COUNTER: &str = r#"(module
    (import "gmp" "spawn" (func $spawn (param i32 i32 i32 i32 i32) (result i64)))
    (import "gmp" "now" (func $now (result i64)))
    (import "gmp" "exit" (func $exit (param i32)))
    (import "gmp" "msg_take" (func $msg_take (param i32 i32 i32 i32)))
    (import "gmp" "chan_new" (func $chan_new (param i32) (result i32)))
    (import "gmp" "chan_send" (func $send (param i32 i32 i32 i32 i32)))
    (import "gmp" "chan_recv" (func $recv (param i32 i32 i32 i32 i32 i32) (result i32)))
    (import "gmp" "chan_try_send" (func $try_send (param i32 i32 i32 i32 i32) (result i32)))
    (import "gmp" "chan_try_recv" (func $try_recv (param i32 i32 i32 i32 i32 i32) (result i32)))
    (memory (export "memory") 1)
    ;; 0: the baton's handle, 4: the result channel's handle, 16: receive info, 32: a message, 40: the
    ;; instant both stop (ns, sent to the G as its spawn argument)
    (func $spin_counting_switches (param $me i32) (result i32) (local $seen i32)
        (loop $turn
            (if (i32.eqz (call $try_recv (i32.load (i32.const 0))
                    (i32.const 32) (i32.const 4) (i32.const 0) (i32.const 0) (i32.const 16)))
                (then (if (i32.ne (i32.load (i32.const 32)) (local.get $me))
                    (then (local.set $seen (i32.add (local.get $seen) (i32.const 1)))))))  ;; the other G ran
            (i32.store (i32.const 32) (local.get $me))
            (drop (call $try_send (i32.load (i32.const 0)) (i32.const 32) (i32.const 4) (i32.const 0) (i32.const 0)))
            (br_if $turn (i64.lt_u (call $now) (i64.load (i32.const 40)))))
        (local.get $seen))
    (func (export "_start") (local $total i32)
        (i32.store (i32.const 0) (call $chan_new (i32.const 1)))
        (i32.store (i32.const 4) (call $chan_new (i32.const 1)))
        (i64.store (i32.const 40) (i64.add (call $now) (i64.const RUN_NS)))
        (i32.store (i32.const 32) (i32.const 1))
        (drop (call $try_send (i32.load (i32.const 0)) (i32.const 32) (i32.const 4) (i32.const 0) (i32.const 0)))
        (drop (call $spawn (i32.const 0) (i32.const 40) (i32.const 8) (i32.const 0) (i32.const 2)))
        (local.set $total (call $spin_counting_switches (i32.const 1)))
        (drop (call $recv (i32.load (i32.const 4))
            (i32.const 32) (i32.const 4) (i32.const 0) (i32.const 0) (i32.const 16)))
        (local.set $total (i32.add (local.get $total) (i32.load (i32.const 32))))
        (call $exit (select (local.get $total) (i32.const 125) (i32.lt_u (local.get $total) (i32.const 125)))))
    (func (export "gmp_entry") (param i32 i32 i32)
        (call $msg_take (i32.const 40) (i32.const 8) (i32.const 0) (i32.const 2))
        (i32.store (i32.const 32) (call $spin_counting_switches (i32.const 2)))
        (call $send (i32.load (i32.const 4)) (i32.const 32) (i32.const 4) (i32.const 0) (i32.const 0))))
"#;

/// How long the two Gs of [`SWITCH_COUNTER`] spin.
const RUN: Duration = Duration::from_millis(300);

/// The switches two spinning Gs see in [`RUN`] at one P with this timeslice.
fn switches(slice: Duration) -> i32 {
    let wat = SWITCH_COUNTER.replace("RUN_NS", &RUN.as_nanos().to_string());
    let program = Program::from_bytes(&EngineConfig::default(), wat.as_bytes()).unwrap();
    let mut cfg = gmp_tests::config("switch_counter", 1, &[]);
    cfg.rt.timeslice = slice;
    let r = gmp_tests::run_program("switch_counter", program, cfg);
    assert_eq!(r.report, None, "slice {slice:?}: {r:?}");
    r.code
}

/// A long timeslice is long: with 50 ms slices, 300 ms hold at most 300/50 + 2 switches (slices are
/// measured on the wall clock, so no load on the machine can make them shorter). A short one is short: with
/// 1 ms slices there are more than that (about 300 on an idle machine; the bound leaves room for a loaded
/// one). Either bound fails if the setting is ignored.
#[test]
fn timeslice_setting_is_honoured_both_ways() {
    let most_with_long = (RUN.as_millis() / 50) as i32 + 2;
    let long = switches(Duration::from_millis(50));
    assert!((1..=most_with_long).contains(&long), "50 ms slices: {long} switches in {RUN:?}");
    let short = switches(Duration::from_millis(1));
    assert!(short > most_with_long, "1 ms slices: only {short} switches in {RUN:?}");
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
        (drop (call $recv (i32.load (i32.const 0))
            (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 16)))
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
