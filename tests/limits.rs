//! Per-program limits against hostile guests: a WAT guest that loops creating one kind of object (channels,
//! handle duplicates, timers, buffered messages, linear memory) is stopped by the limit on that object, with
//! exit status 2 and a `fatal error:` report naming the limit and the flag that raises it, in seconds; and
//! what a program gives back (closed channels, collected cycles, ended Gs) stops counting against it.
//!
//! The loops with default limits run in a child process (see [`gmp_tests::isolated`]) that reports its
//! peak resident memory: before the limits they grew the host past 2 GiB in seconds, and never ended.

use std::time::Duration;

use gmp_tests::{Run, isolated, run_program};
use wasm_gmp::{EngineConfig, GData, Limits, Program};

/// The imports every scenario may use.
const IMPORTS: &str = r#"
    (import "gmp" "spawn" (func $spawn (param i32 i32 i32 i32 i32) (result i64)))
    (import "gmp" "sleep" (func $sleep (param i64)))
    (import "gmp" "exit" (func $exit (param i32)))
    (import "gmp" "chan_new" (func $chan_new (param i32) (result i32)))
    (import "gmp" "chan_try_send" (func $try_send (param i32 i32 i32 i32 i32) (result i32)))
    (import "gmp" "handle_dup" (func $dup (param i32) (result i32)))
    (import "gmp" "handle_close" (func $close (param i32)))
    (import "gmp" "timer_new" (func $timer_new (param i64 i64 i32) (result i32)))
    (import "gmp" "timer_after" (func $timer_after (param i64) (result i32)))
    (import "limits_test" "buffered" (func $buffered (result i64)))
"#;

/// An hour, in the nanoseconds `sleep` and `timer_new` take.
const HOUR: &str = "(i64.const 3600000000000)";

/// The module: [`IMPORTS`], `body` (its own imports first, then functions exporting `_start` and
/// `gmp_entry`), and one page of memory.
fn module(body: &str) -> Program {
    let wat = format!(r#"(module {IMPORTS} {body} (memory (export "memory") 1))"#);
    Program::builder(&EngineConfig::default())
        .host_functions(|linker| {
            // What the program's messages are charged now, for guests that check nothing stays counted.
            linker.func_wrap("limits_test", "buffered", |caller: wasmtime::Caller<'_, GData>| -> i64 {
                caller.data().limit_usage().buffered as i64
            })?;
            Ok(())
        })
        .bytes(wat.as_bytes())
        .unwrap_or_else(|e| panic!("{e:#}\n{wat}"))
}

/// Run `body` at `procs` Ps under `limits`.
fn run(name: &str, body: &str, procs: usize, limits: Limits) -> Run {
    let mut cfg = gmp_tests::config(name, procs, &[]);
    cfg.opts.limits = limits;
    run_program(name, module(body), cfg)
}

/// The run ended with status 2 and a fatal error report that contains each of `want`.
fn assert_fatal(r: &Run, want: &[&str]) {
    assert_eq!(r.code, 2, "{r:?}");
    let report = r.report.as_deref().unwrap_or_default();
    assert!(report.starts_with("fatal error: "), "{report}");
    assert!(report.contains("\ngoroutine "), "the report names the G: {report}");
    for w in want {
        assert!(report.contains(w), "{w:?} missing from:\n{report}");
    }
}

/// Peak resident memory of this process, in KiB (Linux's `VmHWM`).
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM in /proc/self/status");
    line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).expect("VmHWM's value")
}

/// Generous bounds for a hostile loop stopped by a default limit: the whole child (start, compilation, the
/// loop, the report) within this time, and the host under this much resident memory.
const HOSTILE_TIME: Duration = Duration::from_secs(30);
const HOSTILE_RSS_KIB: u64 = 3 << 19; // 1.5 GiB

/// Run `body` with the default limits in a child process (the caller's test is `test`); check it is stopped
/// with a report containing each of `want`, in bounded time and memory.
fn stopped_by_a_default_limit(test: &str, body: &str, want: &[&str]) {
    let r = isolated(test, Duration::from_secs(120), || {
        let mut r = run(test, body, 2, Limits::default());
        r.stdout.push_str(&format!("peak_rss_kib={}\n", peak_rss_kib()));
        r
    });
    assert_eq!(r.code, 2, "{r:?}");
    for w in want {
        assert!(r.stderr.contains(w), "{w:?} missing from:\n{}", r.stderr);
    }
    // The harness's `test … ` may precede the line.
    let rss: u64 = r
        .stdout
        .split_once("peak_rss_kib=")
        .and_then(|(_, n)| n.lines().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no peak_rss_kib line: {r:?}"));
    println!("{test}: stopped in {:?}, peak RSS {} MiB", r.elapsed, rss >> 10);
    assert!(r.elapsed < HOSTILE_TIME, "{test} took {:?}", r.elapsed);
    assert!(rss < HOSTILE_RSS_KIB, "{test}: the host reached {} MiB", rss >> 10);
}

const CHAN_NEW_LOOP: &str = r#"
    (func (export "_start") (loop $l (drop (call $chan_new (i32.const 0))) (br $l)))
    (func (export "gmp_entry") (param i32 i32 i32))"#;

#[test]
fn a_chan_new_loop_is_stopped_by_the_default_handle_limit() {
    stopped_by_a_default_limit(
        "a_chan_new_loop_is_stopped_by_the_default_handle_limit",
        CHAN_NEW_LOOP,
        &["fatal error: gmp.chan_new: G 1 holds 100000 handles, the limit per G (Limits::max_handles_per_g, \
           --max-handles-per-g)\n\ngoroutine 1 [running]:"],
    );
}

#[test]
fn a_handle_dup_loop_is_stopped_by_the_default_handle_limit() {
    stopped_by_a_default_limit(
        "a_handle_dup_loop_is_stopped_by_the_default_handle_limit",
        r#"
        (func (export "_start") (local $h i32)
            (local.set $h (call $chan_new (i32.const 0)))
            (loop $l (drop (call $dup (local.get $h))) (br $l)))
        (func (export "gmp_entry") (param i32 i32 i32))"#,
        &["fatal error: gmp.handle_dup: G 1 holds 100000 handles", "--max-handles-per-g"],
    );
}

/// Timers whose handles are closed stay in the timer heap until they fire: an hour from now.
/// One-hour `time.After`s in a loop: each stays pending with no handle (closing its channel's handle does
/// not stop it), so only the timer limit stops the loop. (A `timer_new` loop closing its handles would
/// not: the last handle closed stops a timer.)
const TIMER_LOOP: &str = r#"
    (func (export "_start")
        (loop $l
            (call $close (call $timer_after (i64.const 3600000000000)))   ;; the timer's channel
            (br $l)))
    (func (export "gmp_entry") (param i32 i32 i32))"#;

#[test]
fn a_timer_new_loop_is_stopped_by_the_default_timer_limit() {
    stopped_by_a_default_limit(
        "a_timer_new_loop_is_stopped_by_the_default_timer_limit",
        TIMER_LOOP,
        &["fatal error: gmp.timer_after: the program has 1000000 timers, the limit for the program (G 1 asked) \
           (Limits::max_timers, --max-timers)"],
    );
}

/// Empty messages into a channel of the largest capacity: each costs its overhead, so they are bounded too.
#[test]
fn empty_messages_are_stopped_by_the_default_buffered_limit() {
    stopped_by_a_default_limit(
        "empty_messages_are_stopped_by_the_default_buffered_limit",
        r#"
        (func (export "_start") (local $h i32)
            (local.set $h (call $chan_new (i32.const 0x7fffffff)))
            (loop $l (drop (call $try_send (local.get $h) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)))
                (br $l)))
        (func (export "gmp_entry") (param i32 i32 i32))"#,
        &["fatal error: gmp.chan_try_send: the program's messages would hold 107374", "--max-buffered"],
    );
}

/// Gs each growing to the largest memory a G may have: the program's total stops them.
#[test]
fn gs_growing_memory_are_stopped_by_the_default_total() {
    stopped_by_a_default_limit(
        "gs_growing_memory_are_stopped_by_the_default_total",
        r#"
        (func (export "_start")
            (loop $l (drop (call $spawn (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)))
                (br $l)))
        (func (export "gmp_entry") (param i32 i32 i32)
            (drop (memory.grow (i32.const 1023)))   ;; to 64 MiB, all a G may have
            (call $sleep (i64.const 3600000000000)))"#,
        &["would bring the program's linear memory to", "(Limits::max_memory_total, --max-memory-total)"],
    );
}

#[test]
fn a_g_growing_past_its_memory_limit_traps_naming_the_limit() {
    let body = r#"
        (func (export "_start") (loop $l (drop (memory.grow (i32.const 16))) (br $l)))
        (func (export "gmp_entry") (param i32 i32 i32))"#;
    let r = run("memory_per_g", body, 1, Limits::default());
    assert_fatal(
        &r,
        &["fatal error: memory.grow: G 1 would grow its linear memory to 64.1 MiB (67174400 bytes), over the \
           limit per G of 64.0 MiB (Limits::max_memory_per_g, --max-memory)"],
    );
    // A lower limit than the engine's reservation is the limit.
    let r = run("memory_per_g", body, 1, Limits { max_memory_per_g: 1 << 20, ..Limits::default() });
    assert_fatal(&r, &["G 1 would grow its linear memory to 1.1 MiB", "limit per G of 1.0 MiB"]);
}

/// A G whose first page would cross the total fails at instantiation, with the same error, not wasmtime's.
#[test]
fn a_g_whose_initial_memory_crosses_the_total_fails_naming_the_limit() {
    let body = format!(
        r#"
        (func (export "_start")
            (loop $l (drop (call $spawn (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)))
                (br $l)))
        (func (export "gmp_entry") (param i32 i32 i32) (call $sleep {HOUR}))"#
    );
    // 4 pages: main and 3 Gs. (Which G is the fifth to start is up to the scheduler: `runnext` first.)
    let limits = Limits { max_memory_total: 4 << 16, ..Limits::default() };
    for procs in [1, 2] {
        let r = run("memory_total_instantiation", &body, procs, limits.clone());
        assert_fatal(
            &r,
            &[
                "fatal error: instantiation: G ",
                "would bring the program's linear memory to 0.3 MiB (327680 bytes), over the limit for the program of \
                 0.2 MiB",
                "(Limits::max_memory_total, --max-memory-total)",
            ],
        );
    }
}

/// Memory of Gs that ended is given back: 50 Gs that each grow to 8 MiB and exit, one after another, never
/// cross a 32 MiB total.
#[test]
fn memory_of_ended_gs_stops_counting() {
    let body = r#"
        (import "gmp" "chan_recv" (func $recv (param i32 i32 i32 i32 i32 i32) (result i32)))
        (import "gmp" "chan_send" (func $send (param i32 i32 i32 i32 i32)))
        (import "gmp" "msg_take" (func $msg_take (param i32 i32 i32 i32)))
        (func (export "_start") (local $done i32) (local $i i32)
            (local.set $done (call $chan_new (i32.const 0)))
            (i32.store (i32.const 0) (local.get $done))
            (loop $l
                (drop (call $spawn (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 1)))
                (drop (call $recv (local.get $done) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 16)))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br_if $l (i32.lt_u (local.get $i) (i32.const 50)))))
        (func (export "gmp_entry") (param i32 i32 i32)
            (call $msg_take (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 1))
            (drop (memory.grow (i32.const 127)))   ;; to 8 MiB
            (call $send (i32.load (i32.const 0)) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)))"#;
    // A G may linger a moment after its send wakes main, so up to three may be alive at once.
    let limits = Limits { max_memory_total: 32 << 20, ..Limits::default() };
    let r = run("memory_given_back", body, 2, limits);
    assert_eq!((r.code, r.report), (0, None));
}

#[test]
fn gs_holding_handles_together_are_stopped_by_the_total() {
    let body = r#"
        (func (export "_start")
            (drop (call $spawn (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)))
            (drop (call $spawn (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)))
            (call $sleep (i64.const 3600000000000)))
        (func (export "gmp_entry") (param i32 i32 i32) (local $i i32)
            (loop $l   ;; 600 handles each: the second G crosses the total
                (drop (call $chan_new (i32.const 0)))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br_if $l (i32.lt_u (local.get $i) (i32.const 600))))
            (call $sleep (i64.const 3600000000000)))"#;
    let limits = Limits { max_handles_per_g: 700, max_handles_total: 1000, ..Limits::default() };
    for procs in [1, 2] {
        let r = run("handles_total", body, procs, limits.clone());
        assert_fatal(
            &r,
            &[
                "fatal error: gmp.chan_new: the program's Gs hold 1000 handles, the limit for the program",
                "(Limits::max_handles_total, --max-handles)",
            ],
        );
    }
}

/// Handles a G closes, and the handles of Gs that ended, stop counting.
#[test]
fn closed_handles_and_those_of_ended_gs_stop_counting() {
    let body = r#"
        (import "gmp" "chan_recv" (func $recv (param i32 i32 i32 i32 i32 i32) (result i32)))
        (import "gmp" "chan_send" (func $send (param i32 i32 i32 i32 i32)))
        (import "gmp" "msg_take" (func $msg_take (param i32 i32 i32 i32)))
        (func (export "_start") (local $done i32) (local $i i32)
            (local.set $done (call $chan_new (i32.const 0)))
            (i32.store (i32.const 0) (local.get $done))
            (loop $l   ;; 10 Gs, one after another, each leaving 50 handles behind when it ends
                (drop (call $spawn (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 1)))
                (drop (call $recv (local.get $done) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 16)))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br_if $l (i32.lt_u (local.get $i) (i32.const 10))))
            (local.set $i (i32.const 0))
            (loop $l   ;; 500 channels made and closed
                (call $close (call $chan_new (i32.const 0)))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br_if $l (i32.lt_u (local.get $i) (i32.const 500)))))
        (func (export "gmp_entry") (param i32 i32 i32) (local $i i32)
            (call $msg_take (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 1))
            (loop $l
                (drop (call $chan_new (i32.const 0)))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br_if $l (i32.lt_u (local.get $i) (i32.const 50))))
            (call $send (i32.load (i32.const 0)) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)))"#;
    // A G may linger a moment after its send wakes main, so up to three may hold their 51 at once.
    let limits = Limits { max_handles_per_g: 60, max_handles_total: 200, ..Limits::default() };
    let r = run("handles_given_back", body, 2, limits);
    assert_eq!((r.code, r.report), (0, None));
}

#[test]
fn timers_are_stopped_by_their_limit() {
    let r = run("timers", TIMER_LOOP, 1, Limits { max_timers: 1000, ..Limits::default() });
    assert_fatal(&r, &["fatal error: gmp.timer_after: the program has 1000 timers", "--max-timers"]);
    // Timers held by their handles count as well.
    let held = r#"
        (func (export "_start")
            (loop $l
                (drop (call $timer_new (i64.const 3600000000000) (i64.const 0) (i32.const 0)))
                (br $l)))
        (func (export "gmp_entry") (param i32 i32 i32))"#;
    let r = run("timers_held", held, 1, Limits { max_timers: 1000, ..Limits::default() });
    assert_fatal(&r, &["fatal error: gmp.timer_new: the program has 1000 timers", "--max-timers"]);
}

/// Closing a timer's last handle stops it, and it stops counting: 5,000 one-hour timers made and closed one
/// at a time, under a limit of 1,000.
#[test]
fn closed_timers_stop_counting() {
    let body = r#"
        (func (export "_start") (local $i i32)
            (loop $l
                (call $close (call $timer_new (i64.const 3600000000000) (i64.const 0) (i32.const 0)))
                (call $close (i32.load (i32.const 0)))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br_if $l (i32.lt_u (local.get $i) (i32.const 5000)))))
        (func (export "gmp_entry") (param i32 i32 i32))"#;
    let r = run("timers_closed", body, 1, Limits { max_timers: 1000, ..Limits::default() });
    assert_eq!((r.code, r.report), (0, None));
}

/// Timers that fired stop counting: 2,000 immediate `time.After`s, one at a time, under a limit of 10.
#[test]
fn fired_and_closed_timers_stop_counting() {
    let body = r#"
        (import "gmp" "chan_recv" (func $recv (param i32 i32 i32 i32 i32 i32) (result i32)))
        (func (export "_start") (local $i i32) (local $ch i32)
            (loop $l
                (local.set $ch (call $timer_after (i64.const 0)))
                (drop (call $recv (local.get $ch) (i32.const 16) (i32.const 8) (i32.const 0) (i32.const 0) (i32.const 32)))
                (call $close (local.get $ch))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br_if $l (i32.lt_u (local.get $i) (i32.const 2000)))))
        (func (export "gmp_entry") (param i32 i32 i32))"#;
    let r = run("timers_given_back", body, 2, Limits { max_timers: 10, ..Limits::default() });
    assert_eq!((r.code, r.report), (0, None));
}

/// Long timeouts armed, stopped and closed in a loop (Go's `NewTimer` then `Stop`) stop counting well
/// before their deadline: 5,000 one-hour timers, one at a time, under a limit of 1,000.
#[test]
fn stopped_and_closed_timers_stop_counting_before_their_deadline() {
    let body = r#"
        (import "gmp" "timer_stop" (func $timer_stop (param i32) (result i32)))
        (func (export "_start") (local $i i32) (local $t i32)
            (loop $l
                (local.set $t (call $timer_new (i64.const 3600000000000) (i64.const 0) (i32.const 0)))
                (drop (call $timer_stop (local.get $t)))
                (call $close (local.get $t))
                (call $close (i32.load (i32.const 0)))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br_if $l (i32.lt_u (local.get $i) (i32.const 5000)))))
        (func (export "gmp_entry") (param i32 i32 i32))"#;
    let r = run("timers_stopped", body, 1, Limits { max_timers: 1000, ..Limits::default() });
    assert_eq!((r.code, r.report), (0, None));
}

/// A channel of the largest capacity filled with 1,000-byte messages.
#[test]
fn buffered_messages_are_stopped_by_their_limit() {
    let body = r#"
        (func (export "_start") (local $h i32)
            (local.set $h (call $chan_new (i32.const 0x7fffffff)))
            (loop $l
                (drop (call $try_send (local.get $h) (i32.const 0) (i32.const 1000) (i32.const 0) (i32.const 0)))
                (br $l)))
        (func (export "gmp_entry") (param i32 i32 i32))"#;
    let limits = Limits { max_buffered_bytes: 1 << 20, max_message: 10_000, ..Limits::default() };
    let r = run("buffered", body, 1, limits);
    // 879 messages of 1,000 + 192 bytes fit in 1 MiB; the 880th would bring it to 1,048,960.
    assert_fatal(
        &r,
        &["fatal error: gmp.chan_try_send: the program's messages would hold 1048960 bytes (1.0 MiB), over the \
           limit for the program of 1048576 bytes (G 1 sending) (Limits::max_buffered_bytes, --max-buffered)"],
    );
}

/// Messages stop counting when they leave: received, dropped with a closed handle's channel, or freed by the
/// cycle collector with a channel whose buffer holds itself. Each loop moves 20 times the limit; at the end
/// nothing is counted.
#[test]
fn messages_stop_counting_when_received_freed_or_collected() {
    let body = r#"
        (import "gmp" "chan_try_recv" (func $try_recv (param i32 i32 i32 i32 i32 i32) (result i32)))
        (func $check (if (i64.ne (call $buffered) (i64.const 0)) (then (call $exit (i32.const 3)))))
        (func (export "_start") (local $i i32) (local $h i32)
            (local.set $h (call $chan_new (i32.const 4)))
            (loop $l   ;; received
                (drop (call $try_send (local.get $h) (i32.const 0) (i32.const 10000) (i32.const 0) (i32.const 0)))
                (drop (call $try_recv (local.get $h) (i32.const 0) (i32.const 10000) (i32.const 0) (i32.const 0) (i32.const 60000)))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br_if $l (i32.lt_u (local.get $i) (i32.const 2000))))
            (call $check)
            (local.set $i (i32.const 0))
            (loop $l   ;; dropped with their channel
                (local.set $h (call $chan_new (i32.const 4)))
                (drop (call $try_send (local.get $h) (i32.const 0) (i32.const 10000) (i32.const 0) (i32.const 0)))
                (drop (call $try_send (local.get $h) (i32.const 0) (i32.const 10000) (i32.const 0) (i32.const 0)))
                (call $close (local.get $h))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br_if $l (i32.lt_u (local.get $i) (i32.const 1000))))
            (call $check)
            (local.set $i (i32.const 0))
            (loop $l   ;; a channel whose buffer holds a message carrying the channel: only the collector frees it
                (local.set $h (call $chan_new (i32.const 1)))
                (i32.store (i32.const 60000) (local.get $h))
                (drop (call $try_send (local.get $h) (i32.const 0) (i32.const 10000) (i32.const 60000) (i32.const 1)))
                (call $close (local.get $h))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br_if $l (i32.lt_u (local.get $i) (i32.const 2000))))
            (call $check))
        (func (export "gmp_entry") (param i32 i32 i32))"#;
    let limits = Limits { max_buffered_bytes: 1 << 20, max_message: 10_000, ..Limits::default() };
    for procs in [1, 2] {
        let r = run("buffered_given_back", body, procs, limits.clone());
        assert_eq!((r.code, r.report), (0, None), "at {procs} Ps");
    }
}

/// A program that stays within its limits never hears of them: the stress guest (many Gs, channels,
/// selects, timers) runs to the end under the defaults.
#[test]
fn a_normal_program_is_unaffected_by_the_default_limits() {
    let r = gmp_tests::run("stress", 2, &[]);
    assert_eq!((r.code, r.report), (0, None), "{}", r.stderr);
}
