//! Go by Example's concurrency chapters, ported to the guest SDK (`examples/gobyexample`, one `gbe_*` bin
//! per chapter), print what their doc comments say, at one and at two Ps. Where Go's output order depends on
//! scheduling, the checks compare the lines as a set and only the orders that the program guarantees; timing
//! is checked by the guests themselves, as lower bounds.

use std::time::{Duration, Instant};

use gmp_tests::run;

/// What guest `name` printed, run with `procs` Ps; it must have ended with status 0.
fn stdout(name: &str, procs: usize) -> String {
    let r = run(name, procs, &[]);
    assert_eq!(r.code, 0, "{name} at {procs} Ps: {r:?}");
    r.stdout
}

/// The lines of `out`, sorted.
fn sorted(out: &str) -> Vec<&str> {
    let mut lines: Vec<&str> = out.lines().collect();
    lines.sort();
    lines
}

/// The lines of `out` that start with `prefix`, in the order printed.
fn starting<'a>(out: &'a str, prefix: &str) -> Vec<&'a str> {
    out.lines().filter(|l| l.starts_with(prefix)).collect()
}

/// Asserts guest `name` prints exactly `want` at one and two Ps.
fn prints_exactly(name: &str, want: &str) {
    for procs in [1, 2] {
        assert_eq!(stdout(name, procs), want, "{name} at {procs} Ps");
    }
}

#[test]
fn goroutines_run_beside_the_direct_call() {
    for procs in [1, 2] {
        let out = stdout("gbe_goroutines", procs);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 8, "{out}");
        assert_eq!(lines[..3], ["direct : 0", "direct : 1", "direct : 2"], "{out}");
        assert_eq!(lines[7], "done", "main waits for both Gs: {out}");
        let mut gs = lines[3..7].to_vec();
        gs.sort();
        assert_eq!(gs, ["going", "goroutine : 0", "goroutine : 1", "goroutine : 2"], "{out}");
        assert_eq!(starting(&out, "goroutine"), ["goroutine : 0", "goroutine : 1", "goroutine : 2"], "{out}");
    }
}

#[test]
fn channels_pass_a_value() {
    prints_exactly("gbe_channels", "ping\n");
}

#[test]
fn channel_buffering_holds_two_values() {
    prints_exactly("gbe_channel_buffering", "buffered\nchannel\n");
}

#[test]
fn channel_synchronization_waits_for_the_worker() {
    prints_exactly("gbe_channel_synchronization", "working...done\n");
}

#[test]
fn channel_directions_pass_the_message_through() {
    prints_exactly("gbe_channel_directions", "passed message\n");
}

#[test]
fn select_receives_from_both_channels() {
    for procs in [1, 2] {
        let out = stdout("gbe_select", procs);
        assert_eq!(sorted(&out), ["received one", "received two"], "{out}");
    }
}

#[test]
fn timeouts_time_out_the_slow_call_and_not_the_fast_one() {
    // Compiled before the clock starts: only the run itself is timed.
    gmp_tests::program("gbe_timeouts");
    for procs in [1, 2] {
        let t0 = Instant::now();
        let out = stdout("gbe_timeouts", procs);
        let took = t0.elapsed();
        assert_eq!(out, "timeout 1\nresult 2\n");
        // The slow call's G sleeps 2 s; the program must not wait for it once main has returned.
        assert!(took < Duration::from_millis(1500), "took {took:?}: main's return did not end the program");
    }
}

#[test]
fn non_blocking_operations_fall_through_to_default() {
    prints_exactly("gbe_non_blocking", "no message received\nno message sent\nno activity\n");
}

#[test]
fn closing_channels_ends_the_worker() {
    for procs in [1, 2] {
        let out = stdout("gbe_closing_channels", procs);
        let want = [
            "received all jobs",
            "received job 1",
            "received job 2",
            "received job 3",
            "received more jobs: false",
            "sent all jobs",
            "sent job 1",
            "sent job 2",
            "sent job 3",
        ];
        assert_eq!(sorted(&out), want, "{out}");
        assert_eq!(starting(&out, "sent"), ["sent job 1", "sent job 2", "sent job 3", "sent all jobs"], "{out}");
        assert_eq!(
            starting(&out, "received"),
            ["received job 1", "received job 2", "received job 3", "received all jobs", "received more jobs: false"],
            "{out}"
        );
    }
}

#[test]
fn range_over_channels_drains_a_closed_channel() {
    prints_exactly("gbe_range_over_channels", "one\ntwo\n");
}

#[test]
fn timers_fire_and_stop() {
    prints_exactly("gbe_timers", "Timer 1 fired\nTimer 2 stopped\n");
}

#[test]
fn tickers_tick_until_stopped() {
    for procs in [1, 2] {
        let out = stdout("gbe_tickers", procs);
        let lines: Vec<&str> = out.lines().collect();
        let (last, ticks) = lines.split_last().expect("some output");
        assert_eq!(*last, "Ticker stopped", "{out}");
        // How many ticks fit in 110 ms depends on the load; that they come numbered in order does not.
        assert!(!ticks.is_empty(), "no tick in 110 ms: {out}");
        let want: Vec<String> = (1..=ticks.len()).map(|n| format!("tick {n}")).collect();
        assert_eq!(ticks, want, "{out}");
    }
}

#[test]
fn worker_pools_do_every_job_once() {
    for procs in [1, 2] {
        let out = stdout("gbe_worker_pools", procs);
        let lines: Vec<&str> = out.lines().collect();
        let (last, events) = lines.split_last().expect("some output");
        assert_eq!(*last, "results: 2 4 6 8 10", "{out}");
        assert_eq!(events.len(), 10, "{out}");
        for job in 1..=5 {
            // Each job is started and finished once, by the same worker, in that order.
            let mine: Vec<&str> = events.iter().copied().filter(|l| l.ends_with(&format!(" job {job}"))).collect();
            assert_eq!(mine.len(), 2, "job {job}: {out}");
            let worker = mine[0].strip_suffix(&format!(" started job {job}")).expect("started first");
            assert!(["worker 1", "worker 2", "worker 3"].contains(&worker), "{out}");
            assert_eq!(mine[1], format!("{worker} finished job {job}"), "{out}");
        }
    }
}

#[test]
fn waitgroups_wait_for_every_worker() {
    for procs in [1, 2] {
        let out = stdout("gbe_waitgroups", procs);
        let mut want: Vec<String> =
            (1..=5).flat_map(|i| [format!("Worker {i} starting"), format!("Worker {i} done")]).collect();
        want.sort();
        assert_eq!(sorted(&out), want, "{out}");
        for i in 1..=5 {
            assert_eq!(
                starting(&out, &format!("Worker {i} ")),
                [format!("Worker {i} starting"), format!("Worker {i} done")],
                "{out}"
            );
        }
    }
}

#[test]
fn rate_limiting_spaces_the_requests() {
    let mut want: String = (1..=5).map(|i| format!("request {i}\n")).collect();
    want += "5 requests took at least 80 ms: ok\n";
    want.extend((1..=5).map(|i| format!("bursty request {i}\n")));
    want += "bursty: the 5th request waited at least 20 ms: ok\n";
    prints_exactly("gbe_rate_limiting", &want);
}

#[test]
fn atomic_counters_count_every_add() {
    prints_exactly("gbe_atomic_counters", "ops: 50000\n");
}

#[test]
fn mutexes_lose_no_increment() {
    prints_exactly("gbe_mutexes", "map[a:2000 b:1000]\n");
}

#[test]
fn stateful_goroutines_serve_every_request() {
    prints_exactly("gbe_stateful_goroutines", "readOps: 1000\nwriteOps: 100\nkeys: 5\n");
}

#[test]
fn context_cancels_and_times_out_work() {
    prints_exactly(
        "gbe_context",
        "worker: 1 -> 1\nworker: 2 -> 4\nworker: 3 -> 9\nworker: context canceled\n\
         fast request: hello\nslow request: context deadline exceeded\n",
    );
}
