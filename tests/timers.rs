//! Timers from real guests: ordering, generous accuracy bounds, select timeouts, tickers, std's sleep, and
//! how pending and stopped timers count for deadlock.

use std::time::{Duration, Instant};

use gmp_tests::run;

#[test]
fn timers_order_fire_and_stop() {
    for procs in [1, 2] {
        let r = run("timers", procs, &[]);
        assert_eq!(r.code, 0, "{r:?}");
        assert_eq!(
            r.stdout,
            "order: 25 50 75 100 125\nafter: ok\nselect timeout: ok\nselect value: 7\nticks: 3\nthread sleep: ok\nstop: ok\n",
            "at {procs} Ps"
        );
    }
}

/// Sleepers share the timer heap: ten thousand Gs sleeping 100 ms take about 100 ms in all, not
/// 10,000 × 100 ms. (The bound is generous for a loaded machine; it only has to rule out serial sleeping.)
#[test]
fn ten_thousand_sleepers_sleep_at_once() {
    let t0 = Instant::now();
    let r = run("sleepers", 2, &["10000"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.starts_with("slept: 10000\nelapsed_ms: "), "{r:?}");
    let ms: u64 = r.stdout.lines().nth(1).unwrap().trim_start_matches("elapsed_ms: ").parse().unwrap();
    assert!((100..5_000).contains(&ms), "10,000 sleepers of 100 ms took {ms} ms");
    assert!(t0.elapsed() < Duration::from_secs(60));
}

/// A hundred thousand sleepers: more than the default G pool holds at once (vm.max_map_count), so the
/// spawner waits for sleepers to wake and leave; it must still finish, in waves, not serially.
#[test]
fn a_hundred_thousand_sleepers_finish() {
    let r = run("sleepers", 2, &["100000"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.starts_with("slept: 100000\nelapsed_ms: "), "{r:?}");
    let ms: u64 = r.stdout.lines().nth(1).unwrap().trim_start_matches("elapsed_ms: ").parse().unwrap();
    assert!(ms < 30_000, "100,000 sleepers of 100 ms took {ms} ms");
}

#[test]
fn waiting_on_a_pending_timer_is_not_a_deadlock() {
    let r = run("pending_timer", 1, &[]);
    assert_eq!((r.code, r.stdout.as_str()), (0, "fired\n"), "{r:?}");
}

/// A timer stopped with `stop`, or by dropping every copy of it (the runtime stops a timer no G holds), is
/// no longer a wake-up source.
#[test]
fn waiting_on_a_stopped_timer_is_a_deadlock() {
    for args in [&[][..], &["drop"]] {
        let r = run("stopped_timer", 1, args);
        assert_eq!((r.code, r.stdout.as_str()), (2, "stopped\n"), "{args:?}: {r:?}");
        assert!(r.report.unwrap().starts_with("fatal error: all goroutines are asleep - deadlock!"), "{args:?}");
    }
}

/// `Timer` and `Ticker` are messages: sent, cloned, stopped from another G, stopped once no G holds one.
#[test]
fn timers_are_values_shared_by_gs() {
    for procs in [1, 2] {
        let r = run("timer_values", procs, &[]);
        assert_eq!(r.code, 0, "{r:?}");
        assert_eq!(r.stdout, "sent: fired\nclone: ticking\ndropped: stopped\nremote stop: ok\n", "at {procs} Ps");
    }
}
