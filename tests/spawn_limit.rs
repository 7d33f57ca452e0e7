//! The G limit under hostile spawn patterns: a spawn that can never succeed fails with the limit error,
//! whatever the other Gs are doing — never a livelock, never a hang.

use std::time::{Duration, Instant};

use gmp_tests::run_with;
use wasm_gmp::EngineConfig;

/// Runs `spawn_hopeless SHAPE` with a G limit of `max_gs` at 1 and 2 Ps: it must end, within a generous
/// bound, with the spawn's limit error. (Runtimes with equal engine settings share one G pool, so each
/// test has a limit of its own: tests run in parallel.)
fn hopeless_spawns_fail_with_the_limit_error(shape: &str, max_gs: usize) {
    for procs in [1, 2] {
        let mut cfg = gmp_tests::config("spawn_hopeless", procs, &[shape]);
        cfg.rt.engine = EngineConfig { max_gs: Some(max_gs), ..EngineConfig::default() };
        let t0 = Instant::now();
        let r = run_with("spawn_hopeless", cfg);
        let took = t0.elapsed();
        assert_eq!(r.code, 2, "{shape} at {procs} Ps: {r:?}");
        let report = r.report.unwrap_or_default();
        assert!(report.contains("gmp.spawn: cannot start another G"), "{shape} at {procs} Ps: {report}");
        assert!(took < Duration::from_secs(20), "{shape} at {procs} Ps took {took:?}");
    }
}

/// Two spawners at the limit, each waiting for a place the other's children will never free: before, each
/// gave way to the other for ever.
#[test]
fn two_spawners_at_the_limit_fail_instead_of_livelocking() {
    hopeless_spawns_fail_with_the_limit_error("two", 100);
}

/// A pending one-hour timer does not keep a hopeless spawn waiting for an hour.
#[test]
fn a_pending_timer_does_not_keep_a_hopeless_spawn_waiting() {
    hopeless_spawns_fail_with_the_limit_error("timer", 101);
}

/// A spawn tree whose every G blocks: the spawns still running fail.
#[test]
fn a_blocked_spawn_tree_fails_at_the_limit() {
    hopeless_spawns_fail_with_the_limit_error("tree", 102);
}
