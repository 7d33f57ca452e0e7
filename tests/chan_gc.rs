//! The channel cycle collector, in real guests (tests/guests/src/bin/chan_cycles.rs): channels that only
//! channel buffers reach are freed as the program runs, with whatever their messages carry, while a structure
//! that a live G can still reach through a buffer is left whole; and a run leaves no channel behind.

use std::sync::{Arc, Mutex};

use wasm_gmp::ChanStats;
use wasm_gmp::{Capture, EngineConfig, GData, Output, Program, Runtime};

/// Run `chan_cycles` with `args` at `procs` Ps, providing `gc_test.live_chans`. Returns the exit status, the
/// output, and the run's channel counts (kept from the guest's first `live_chans` call, read after the run).
fn run_cycles(procs: usize, args: &[&str]) -> (i32, String, ChanStats) {
    let stats: Arc<Mutex<Option<ChanStats>>> = Arc::default();
    let keep = stats.clone();
    let program = Program::builder(&EngineConfig::default())
        .host_functions(move |linker| {
            linker.func_wrap("gc_test", "live_chans", move |caller: wasmtime::Caller<'_, GData>| -> u32 {
                let s = caller.data().chan_stats();
                keep.lock().unwrap().get_or_insert_with(|| s.clone());
                s.live() as u32
            })?;
            Ok(())
        })
        .file(gmp_tests::wasm("chan_cycles"))
        .expect("chan_cycles compiles");
    let (out, err) = (Capture::new(), Capture::new());
    let mut cfg = gmp_tests::config("chan_cycles", procs, args);
    (cfg.opts.stdout, cfg.opts.stderr) = (Output::Capture(out.clone()), Output::Capture(err.clone()));
    // The `socket` case connects to its own listener after the collector freed it: with the listener gone
    // the port is no longer the program's own, so the connect needs a grant to reach the kernel's "refused".
    cfg.opts.net.add("connect=127.0.0.1:*").expect("a valid rule");
    let exit = Runtime::new(cfg.rt).and_then(|rt| rt.run(&program, cfg.opts)).expect("the run starts");
    assert_eq!(exit.code, 0, "{exit:?}\nstdout:\n{}\nstderr:\n{}", out.contents(), err.contents());
    let stats = stats.lock().unwrap().take().expect("the guest never called live_chans");
    (exit.code, out.contents(), stats)
}

/// The loop, scaled down: 100,000 channels each holding a message that carries the channel itself.
/// Without collection every one stays alive; with it, live channels stay at a handful throughout.
#[test]
fn self_referencing_channels_are_freed_as_the_loop_goes() {
    for procs in [1, 2] {
        let (_, out, stats) = run_cycles(procs, &["self", "100000"]);
        let max: usize = out.lines().next().and_then(|l| l.strip_prefix("max live: ")).unwrap().parse().unwrap();
        assert!(max <= 100, "live channels grew to {max} at {procs} Ps:\n{out}");
        assert!(out.ends_with("live: 0\n"), "{out}");
        assert_eq!((stats.live(), stats.collected()), (0, 100_000), "at {procs} Ps");
    }
}

/// A's buffer holds B and B's holds A: freed once the G drops both.
#[test]
fn a_two_channel_cycle_is_freed() {
    let (_, out, stats) = run_cycles(1, &["pair"]);
    assert_eq!(out, "live: 0\n");
    assert_eq!((stats.live(), stats.collected()), (0, 2));
}

/// Objects in a garbage buffer are released with it: a listener only such a buffer holds stops listening.
#[test]
fn a_listener_in_a_garbage_buffer_is_closed() {
    let (_, out, _) = run_cycles(1, &["socket"]);
    assert_eq!(out, "refused\n");
}

/// A cycle of 10,000 channels reachable only through a keeper channel, itself in flight to a new G as its
/// spawn argument while main makes garbage (every drop a candidate, trials running): nothing of the cycle is
/// collected, and the new G then finds every message in place.
#[test]
fn a_cycle_a_live_g_can_reach_is_left_whole() {
    for procs in [1, 2] {
        let (_, out, stats) = run_cycles(procs, &["chain", "10000"]);
        assert_eq!(out, "chain intact: 10000\n", "at {procs} Ps");
        assert_eq!(stats.live(), 0, "at {procs} Ps");
    }
}

/// A line of 20,000 channels, each buffered in the next, built by dropping each link after sending it:
/// every drop is a candidate reaching the whole line so far, so a trial per drop would scan 200 million
/// channels. Paced trials scan a bounded multiple of the line; and none of it is collected.
#[test]
fn rescanning_a_live_line_stays_linear() {
    const N: u64 = 20_000;
    let (_, out, stats) = run_cycles(1, &["line", &N.to_string()]);
    assert_eq!(out, format!("line intact: {N}\n"));
    assert!(stats.scanned() <= 100 * N, "{} channels scanned for a line of {N}", stats.scanned());
    assert_eq!((stats.live(), stats.collected()), (0, 0));
}

/// Main returns holding the last channel of a line of 20,000 and having just made channel cycles that the
/// pacing has not collected yet: the end of the run frees all of them, the line without a recursion 20,000
/// deep (which overflowed an M's stack and aborted the process).
#[test]
fn the_end_of_a_run_frees_every_channel() {
    let (_, out, stats) = run_cycles(1, &["leave", "20000"]);
    let live: usize = out.trim().strip_prefix("live: ").unwrap().parse().unwrap();
    assert!(live > 20_001, "the pending cycles were collected early; the test no longer covers the run's end: {out}");
    assert_eq!(stats.live(), 0);
}

/// Two Gs hand 20,000 two-channel cycles to two others through a shared buffered channel, dropping their own
/// handles at once: trials run on both Ps while the takers receive, and every cycle arrives whole.
#[test]
fn cycles_in_transit_between_gs_arrive_whole() {
    for procs in [1, 2] {
        let (_, out, stats) = run_cycles(procs, &["race", "10000"]);
        assert_eq!(out, "race intact: 20000\n", "at {procs} Ps");
        assert_eq!(stats.live(), 0, "at {procs} Ps");
    }
}
