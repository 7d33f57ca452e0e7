//! Metrics (`RunHandle::metrics`, `wasm-gmp run --stats`): a guest that does known numbers of things
//! (tests/guests metrics_counts: 21 spawns, 200 sends and receives, 5 selects, a sleep, a 60 ms spinner)
//! and the counts it must leave. The scheduler may add work of its own (a send of the SDK is one
//! operation, but a select may retry), so counts the program makes are at least what it did; what only the
//! program makes (Gs) is exact.

use std::time::Duration;

use gmp_tests::{cli, program, wasm};
use wasm_gmp::{Capture, Config, Output, RunOptions, Runtime};

const GS: u64 = 22; // main, the spinner, 20 senders
const OPS: u64 = 200;

#[test]
fn run_metrics_count_what_the_guest_did() {
    let rt = Runtime::new(Config { procs: 1, ..Config::default() }).unwrap();
    let out = Capture::new();
    let run = rt.start(&program("metrics_counts"), RunOptions::default().stdout(Output::Capture(out.clone()))).unwrap();
    let exit = run.wait_timeout(Duration::from_secs(60)).expect("metrics_counts did not end in a minute");
    assert!(exit.success(), "{exit:?}");
    assert_eq!(out.contents(), "done\n");
    let m = run.metrics();
    let (s, p) = (&m.sched, &m.program);
    assert_eq!((p.gs_started, p.gs_live), (GS, 0), "{m:#?}");
    assert_eq!((s.gs_started, s.gs_live), (GS, 0), "one program: the runtime's Gs are its Gs: {m:#?}");
    assert!(p.gs_peak >= 2 && p.gs_peak <= GS && s.gs_peak == p.gs_peak, "{m:#?}");
    assert!(s.chan_sends >= OPS && s.chan_recvs >= OPS, "{m:#?}");
    assert!(s.selects >= 5, "{m:#?}");
    assert!(s.timers_fired >= 1, "main's sleep: {m:#?}");
    assert!(s.preemptions >= 1, "a 60 ms spinner at a 10 ms slice: {m:#?}");
    assert_eq!(s.gomaxprocs, 1);
    assert!(s.busy >= Duration::from_millis(30), "the spinner alone ran 30 ms: {m:#?}");
    assert_eq!(s.busy, s.ps[0].busy);
    assert!(p.cpu_time >= Duration::from_millis(30));
    // Every G ended: the host holds nothing for the program any more, but it did while they lived.
    assert_eq!((p.usage.memory, p.usage.buffered, p.usage.handles), (0, 0, 0), "{m:#?}");
    assert!(p.memory_peak >= p.gs_peak * wasm_gmp::WASM_PAGE, "each live G has its own memory: {m:#?}");
    assert!(p.buffered_peak >= wasm_gmp::MSG_OVERHEAD, "a message was in flight: {m:#?}");
}

/// `--stats` prints every metric by name at exit, to stderr, after the program's own output.
#[test]
fn cli_stats_prints_named_metrics_at_exit() {
    let app = wasm("metrics_counts");
    let out = cli(&["run", "--stats", "--procs", "1", app.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "done\n");
    let err = String::from_utf8_lossy(&out.stderr);
    let get = |name: &str| -> f64 {
        let line = err.lines().find(|l| l.split_whitespace().next() == Some(name));
        let line = line.unwrap_or_else(|| panic!("no {name} in --stats output:\n{err}"));
        line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("bad line {line}"))
    };
    assert_eq!(get("/sched/goroutines-created:goroutines"), GS as f64);
    assert_eq!(get("/sched/goroutines:goroutines"), 0.0);
    assert_eq!(get("/sched/gomaxprocs:threads"), 1.0);
    assert!(get("/gmp/chan/sends:operations") >= OPS as f64);
    assert!(get("/gmp/sched/preemptions:goroutines") >= 1.0);
    assert!(get("/gmp/sched/p/0/busy:cpu-seconds") >= 0.030);
    assert!(get("/gmp/program/memory/linear-peak:bytes") > 0.0);
}

/// Without `--stats`, nothing but the program's output.
#[test]
fn cli_without_stats_prints_no_metrics() {
    let app = wasm("metrics_counts");
    let out = cli(&["run", "--procs", "1", app.to_str().unwrap()]);
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("/sched/"), "{}", String::from_utf8_lossy(&out.stderr));
}
