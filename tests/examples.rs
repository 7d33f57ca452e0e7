//! Every example in `examples/` prints what its doc comment promises.

use gmp_tests::run;

#[test]
fn hello_prints_the_greeting_from_another_g() {
    for procs in [1, 2] {
        let r = run("hello", procs, &[]);
        assert_eq!((r.code, r.stdout.as_str()), (0, "hello from G 2\nhello, world\n"), "{r:?}");
    }
}

#[test]
fn pingpong_reports_its_round_trips() {
    for procs in [1, 2] {
        let r = run("pingpong", procs, &["1000"]);
        assert_eq!((r.code, r.stdout.as_str()), (0, "pingpong: 1000 round trips\n"), "{r:?}");
    }
}

fn primes(n: usize) -> Vec<u64> {
    let mut ps = Vec::new();
    let mut x = 2;
    while ps.len() < n {
        if ps.iter().all(|p| x % p != 0) {
            ps.push(x);
        }
        x += 1;
    }
    ps
}

#[test]
fn sieve_prints_the_first_n_primes() {
    for (procs, n) in [(1, None), (2, Some(250))] {
        let args: Vec<String> = n.iter().map(|n: &usize| n.to_string()).collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = run("sieve", procs, &args);
        let want: String = primes(n.unwrap_or(100)).iter().map(|p| format!("{p}\n")).collect();
        assert_eq!(r.code, 0, "{r:?}");
        assert_eq!(r.stdout, want);
    }
}

#[test]
fn workers_fan_out_and_in_with_a_stable_checksum() {
    let one = run("workers", 1, &["2000", "16"]);
    let two = run("workers", 2, &["2000", "16"]);
    assert_eq!(one.code, 0, "{one:?}");
    assert!(one.stdout.starts_with("checksum: ") && one.stdout.ends_with("jobs: 2000\n"), "{one:?}");
    assert_eq!(one.stdout, two.stdout, "the checksum must not depend on scheduling");
}

#[test]
fn spin_does_not_keep_main_from_finishing_at_one_p() {
    let r = run("spin", 1, &[]);
    assert_eq!((r.code, r.stdout.as_str()), (0, "main finished while a G spins\n"), "{r:?}");
}

#[test]
fn parallel_gives_the_same_result_at_one_and_two_ps() {
    let one = run("parallel", 1, &["4"]);
    let two = run("parallel", 2, &["4"]);
    assert_eq!(one.code, 0, "{one:?}");
    assert!(one.stdout.starts_with("result: "), "{one:?}");
    assert_eq!(one.stdout, two.stdout);
}

#[test]
fn deadlock_shows_the_fatal_report() {
    let r = run("deadlock", 1, &[]);
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(r.stdout, "about to deadlock\n");
    let report = r.report.expect("a deadlock report");
    assert!(report.starts_with("fatal error: all goroutines are asleep - deadlock!\n"), "{report}");
    assert!(report.contains("goroutine 1 [chan receive]:") && report.contains("goroutine 2 [chan send]:"), "{report}");
    assert!(r.stderr.contains(&report), "the report must be printed on stderr");
}

/// The guest example in README.md (kept as tests/guests/src/bin/readme.rs) runs as the README says.
#[test]
fn the_readme_example_runs() {
    let r = run("readme", 2, &[]);
    assert_eq!((r.code, r.stdout.as_str()), (0, "0\n1\n2\n3\n4\n"), "{r:?}");
}

#[test]
fn timeouts_shows_a_select_timing_out() {
    for procs in [1, 2] {
        let r = run("timeouts", procs, &[]);
        assert_eq!((r.code, r.stdout.as_str()), (0, "round 1: got answer\nround 2: timed out\n"), "{r:?}");
    }
}

#[test]
fn ticker_ticks_three_times_then_stops() {
    let r = run("ticker", 1, &[]);
    assert_eq!((r.code, r.stdout.as_str()), (0, "tick 1\ntick 2\ntick 3\nstopped\n"), "{r:?}");
}
